"""The library in a notebook (session 39): reading an archive with a progress bar.

Every progress bar of the toolkit is ``tqdm.auto``'s (a widget in Jupyter,
text in a terminal) except the archive reader's, which used ``tqdm.tqdm``:
``load_imdb(..., progress=True)`` in a notebook printed a text bar into the
cell's output among the widgets of the other steps.
"""

from __future__ import annotations

import io
import tarfile

import tqdm.auto


def test_notebook_user_s39_archive_progress_is_tqdm_auto(tmp_path, monkeypatch):
    from toolkit.data.archives import iter_tar_files

    path = tmp_path / "reviews.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in [("train/pos/0_9.txt", b"a fine film"), ("train/neg/1_2.txt", b"a dull film")]:
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    made = []

    class Recorded(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **{**kwargs, "disable": True})

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorded)
    files = dict(iter_tar_files(path, progress=True))
    assert files == {"train/pos/0_9.txt": b"a fine film", "train/neg/1_2.txt": b"a dull film"}
    assert [bar["desc"] for bar in made] == ["reviews.tar.gz"]
    assert made[0]["total"] == path.stat().st_size

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


def test_notebook_user_s39_history_as_a_dataframe_is_plotted_like_its_dict(tmp_path):
    # pd.DataFrame(history.history) (the Keras idiom) and a CSVLogger file read back were a TypeError
    import numpy as np
    import pandas as pd

    from toolkit.plots import plot_history

    history = {"loss": [0.69, 0.52, 0.41], "accuracy": [0.55, 0.74, 0.83],
               "val_loss": [0.66, 0.55, 0.57], "val_accuracy": [0.6, 0.72, 0.71]}
    (tmp_path / "log.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n" + "".join(
        f"{e},{history['accuracy'][e]},{history['loss'][e]},{history['val_accuracy'][e]},{history['val_loss'][e]}\n"
        for e in range(3)))
    expected = plot_history(history)
    for frame in (pd.DataFrame(history), pd.read_csv(tmp_path / "log.csv")):
        fig = plot_history(frame)
        assert [ax.get_title() for ax in fig.axes] == [ax.get_title() for ax in expected.axes]
        for ax, ax_expected in zip(fig.axes, expected.axes):
            for line, line_expected in zip(ax.get_lines(), ax_expected.get_lines(), strict=True):
                np.testing.assert_array_equal(line.get_ydata(), line_expected.get_ydata())
        assert len(plot_history(frame, metrics=("loss", "epoch")).axes) == 1  # the log's epoch is no metric

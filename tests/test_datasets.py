"""Dataset readers: IMDB (real tarball and a tiny synthetic one), folders, CSV, JSONL."""

from __future__ import annotations

import json
import logging
import re
import shutil
import tarfile
import types

import numpy as np
import pytest

import toolkit
from toolkit._validation import InvalidParameterError
from toolkit.data.datasets import (
    TextDataset,
    load_csv,
    load_folder,
    load_imdb,
    load_jsonl,
)
from toolkit.exceptions import DataError

# ------------------------------------------------------------------ real IMDB (data_dir_env)


def test_datasets_imdb_train_real(data_dir_env):
    train = load_imdb("train")
    assert len(train) == 25_000
    assert np.bincount(train.labels).tolist() == [12_500, 12_500]
    assert train.target_names == ["neg", "pos"]
    first_pos = int(np.argmax(train.labels == 1))
    assert train.texts[first_pos].startswith("Bromwell High is a cartoon comedy.")
    assert train.filenames[first_pos] == "aclImdb/train/pos/0_9.txt"
    assert (train.ids[first_pos], train.ratings[first_pos]) == (0, 9)
    assert set(train.ratings[train.labels == 1]) <= {7, 8, 9, 10}
    assert set(train.ratings[train.labels == 0]) <= {1, 2, 3, 4}
    assert train.labels.dtype == np.int64 and all(isinstance(t, str) for t in train.texts[:100])


def test_datasets_imdb_test_real(data_dir_env):
    test = load_imdb("test")
    assert len(test) == 25_000
    assert np.bincount(test.labels).tolist() == [12_500, 12_500]


def test_datasets_imdb_unsup_real(data_dir_env):
    unsup = load_imdb("unsup")
    assert len(unsup) == 50_000
    assert set(unsup.labels.tolist()) == {-1} and unsup.target_names == []
    assert set(unsup.ratings.tolist()) == {0}


def _imdb_member_lines(tarball, name):
    """The lines of one member of the real tarball, read with tarfile alone (not the code under test)."""
    with tarfile.open(tarball, "r:gz") as tar:
        return tar.extractfile(name).read().decode("utf-8").splitlines()


def test_datasets_imdb_groups_real(shared_data):
    tarball = shared_data / "aclImdb_v1.tar.gz"
    some = load_imdb("train", path=tarball, limit=200)
    assert some.groups is not None and len(some.groups) == len(some) == 200
    assert all(re.fullmatch(r"tt\d{7}", g) for g in some.groups)

    train = load_imdb("train", path=tarball)
    first_pos = int(np.argmax(train.labels == 1))
    assert train.filenames[first_pos] == "aclImdb/train/pos/0_9.txt"
    assert train.texts[first_pos].startswith("Bromwell High is a cartoon comedy.")
    line0 = _imdb_member_lines(tarball, "aclImdb/train/urls_pos.txt")[0]
    assert line0.startswith("http://www.imdb.com/title/tt")
    assert train.groups[first_pos] == line0.split("/")[4]
    _, per_movie = np.unique(train.groups, return_counts=True)
    assert per_movie.max() <= 30  # the README's cap on reviews per movie

    test = load_imdb("test", path=tarball)
    assert len(test.groups) == 25_000
    # The README says train and test hold disjoint movies; the data has one exception: tt0406816
    # (The Guardian, 2006) is the movie of the last two negative training reviews and of 23 test reviews.
    shared = set(train.groups) & set(test.groups)
    assert shared == {"tt0406816"}
    assert sorted(np.asarray(train.filenames)[train.groups == "tt0406816"]) == [
        "aclImdb/train/neg/12498_2.txt", "aclImdb/train/neg/12499_2.txt"]


def test_datasets_imdb_groups_follow_shuffle_limit_and_subset_real(shared_data):
    from sklearn.model_selection import StratifiedGroupKFold

    tarball = shared_data / "aclImdb_v1.tar.gz"
    full = load_imdb("train", path=tarball)
    by_name = {f: (t, g) for f, t, g in zip(full.filenames, full.texts, full.groups)}
    sample = load_imdb("train", path=tarball, shuffle=True, random_state=0, limit=1000)
    assert [by_name[f] for f in sample.filenames] == list(zip(sample.texts, sample.groups))
    part = sample.subset([5, 0, 999])
    assert part.groups.tolist() == [sample.groups[5], sample.groups[0], sample.groups[999]]
    assert [by_name[f] for f in part.filenames] == list(zip(part.texts, part.groups))
    for fit, valid in StratifiedGroupKFold(n_splits=5).split(sample.texts, sample.labels, sample.groups):
        assert not set(sample.groups[fit]) & set(sample.groups[valid])


def test_datasets_imdb_memo_returns_independent_copies(data_dir_env):
    a = load_imdb("train")
    a.texts[0] = "changed"
    a.labels[0] = 7
    b = load_imdb("train")
    assert b.texts[0] != "changed" and b.labels[0] == 0


# ------------------------------------------------------------------ synthetic aclImdb

def _url(movie):
    return f"http://www.imdb.com/title/{movie}/usercomments"


# line i of urls_<class>.txt is the page of the movie of review <i>_<rating>.txt
URLS = {
    "train/urls_pos.txt": ["tt0453418"] * 3 + ["tt0000002"] * 8,  # ids 0, 2, 10
    "train/urls_neg.txt": ["tt0000003", "tt0453418"],  # ids 0, 1
    "train/urls_unsup.txt": ["tt0000009"] * 6,  # id 5
    "test/urls_pos.txt": ["tt0000004"],  # id 0
    "test/urls_neg.txt": ["tt0000005"] * 4,  # id 3
}

REVIEWS = {
    "train/pos/0_9.txt": "Bromwell High is a cartoon comedy.",
    "train/pos/10_8.txt": "ten is after two",
    "train/pos/2_7.txt": "two",
    "train/neg/1_1.txt": "awful",
    "train/neg/0_3.txt": "bad <br />film",
    "train/unsup/5_0.txt": "no label",
    "test/pos/0_10.txt": "great \u00e9t\u00e9",
    "test/neg/3_2.txt": "poor",
}


@pytest.fixture(scope="module")
def tiny_imdb(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb")
    for rel, text in REVIEWS.items():
        p = root / "aclImdb" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    (root / "aclImdb" / "README").write_text("readme")
    for rel, movies in URLS.items():
        (root / "aclImdb" / rel).write_text("".join(_url(m) + "\n" for m in movies))
    _tar_imdb(root)
    return root


def _tar_imdb(root):
    with tarfile.open(root / "aclImdb_v1.tar.gz", "w:gz") as tar:
        tar.add(root / "aclImdb", arcname="aclImdb")


@pytest.mark.parametrize("source", ["tarball", "folder", "parent"])
def test_datasets_imdb_tarball_and_folder_agree(tiny_imdb, source):
    path = {"tarball": tiny_imdb / "aclImdb_v1.tar.gz", "folder": tiny_imdb / "aclImdb", "parent": tiny_imdb}[source]
    ds = load_imdb("train", path=path)
    # neg then pos, numeric id order within a class (2 before 10)
    assert ds.texts == ["bad <br />film", "awful", "Bromwell High is a cartoon comedy.", "two", "ten is after two"]
    assert ds.labels.tolist() == [0, 0, 1, 1, 1]
    assert ds.ratings.tolist() == [3, 1, 9, 7, 8]
    assert ds.ids.tolist() == [0, 1, 0, 2, 10]
    assert ds.groups.tolist() == ["tt0000003", "tt0453418", "tt0453418", "tt0453418", "tt0000002"]
    test = load_imdb("test", path=path)
    assert test.texts == ["poor", "great \u00e9t\u00e9"] and test.groups.tolist() == ["tt0000005", "tt0000004"]
    unsup = load_imdb("unsup", path=path)
    assert unsup.texts == ["no label"] and unsup.groups.tolist() == ["tt0000009"]


@pytest.fixture
def trimmed_imdb(tiny_imdb, tmp_path):
    """The synthetic layout without train/urls_neg.txt, and with test/urls_neg.txt one line too short."""
    shutil.copytree(tiny_imdb / "aclImdb", tmp_path / "aclImdb")
    (tmp_path / "aclImdb" / "train" / "urls_neg.txt").unlink()
    (tmp_path / "aclImdb" / "test" / "urls_neg.txt").write_text("".join(_url("tt0000005") + "\n" for _ in range(3)))
    _tar_imdb(tmp_path)
    return tmp_path


@pytest.mark.parametrize("source", ["tarball", "folder"])
def test_datasets_imdb_missing_or_short_urls_file_gives_no_groups(tiny_imdb, trimmed_imdb, source, caplog):
    name = {"tarball": "aclImdb_v1.tar.gz", "folder": "aclImdb"}[source]
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        train = load_imdb("train", path=trimmed_imdb / name)
    assert train.groups is None
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert re.search(r"No movie ids \(groups=None\) for the IMDB 'train' split of .*: "
                     r"(.*/)?aclImdb/train/urls_neg.txt( in .*)? is missing\.$", warning.getMessage())
    complete = load_imdb("train", path=tiny_imdb / name)
    assert train.texts == complete.texts and train.filenames == complete.filenames
    for attr in ("labels", "ratings", "ids"):
        assert np.array_equal(getattr(train, attr), getattr(complete, attr))
    assert load_imdb("train", path=trimmed_imdb / name, limit=2, shuffle=True, random_state=0).groups is None

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        test = load_imdb("test", path=trimmed_imdb / name)
    assert test.groups is None and test.texts == ["poor", "great \u00e9t\u00e9"]
    assert re.search(r"urls_neg.txt.* has 3 lines, but review id 3 needs line 4", caplog.text)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert load_imdb("unsup", path=trimmed_imdb / name).groups.tolist() == ["tt0000009"]  # its file is there
    assert caplog.text == ""


def test_datasets_imdb_malformed_url_line(tiny_imdb, tmp_path):
    shutil.copytree(tiny_imdb / "aclImdb", tmp_path / "aclImdb")
    (tmp_path / "aclImdb" / "test" / "urls_pos.txt").write_text("not a url\n")
    _tar_imdb(tmp_path)
    with pytest.raises(DataError, match=r"Member aclImdb/test/urls_pos.txt of .*aclImdb_v1.tar.gz, line 1: expected "
                                        r"the IMDB page of a movie, .* got 'not a url'"):
        load_imdb("test", path=tmp_path / "aclImdb_v1.tar.gz", cache=False)
    with pytest.raises(DataError, match=r"aclImdb/test/urls_pos.txt, line 1: expected the IMDB page of a movie"):
        load_imdb("test", path=tmp_path / "aclImdb")


def test_datasets_imdb_parsed_cache_is_read_on_the_second_load(tiny_imdb, tmp_path, monkeypatch, caplog):
    import toolkit.data.datasets as datasets
    from toolkit._memo import Memo

    path = tiny_imdb / "aclImdb_v1.tar.gz"
    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))
    first = load_imdb("train", path=path, cache_dir=tmp_path)
    assert len(list((tmp_path / "data" / "imdb" / "parsed").glob("train-*.npz"))) == 1

    def no_tarball(*args, **kwargs):
        raise AssertionError("the tarball was read again")

    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))  # as in a new process: an empty memo
    monkeypatch.setattr(datasets, "iter_tar_files", no_tarball)
    second = load_imdb("train", path=path, cache_dir=tmp_path)
    assert second.texts == first.texts and second.filenames == first.filenames
    for name in ("labels", "ratings", "ids", "groups"):
        assert np.array_equal(getattr(second, name), getattr(first, name))
    assert second.groups.tolist() == ["tt0000003", "tt0453418", "tt0453418", "tt0453418", "tt0000002"]
    with pytest.raises(AssertionError, match="the tarball was read again"):  # the patch holds for a split not cached
        load_imdb("test", path=path, cache_dir=tmp_path)

    (cached,) = (tmp_path / "data" / "imdb" / "parsed").glob("train-*.npz")
    cached.write_bytes(b"damaged")  # a damaged cache is ignored, with a warning, and the tarball read again
    monkeypatch.undo()
    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert load_imdb("train", path=path, cache_dir=tmp_path).texts == first.texts
    assert "Ignoring the unreadable parsed-IMDB cache" in caplog.text


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_datasets_imdb_parsed_cache_emptied_or_truncated_is_read_again(tiny_imdb, tmp_path, monkeypatch, caplog,
                                                                       damage):
    """An emptied or truncated parsed-IMDB cache (a full disk, a killed copy) crashed load_imdb with EOFError /
    BadZipFile instead of reading the tarball again, as the other damaged caches do."""
    import toolkit.data.datasets as datasets
    from toolkit._memo import Memo

    path = tiny_imdb / "aclImdb_v1.tar.gz"
    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))
    first = load_imdb("train", path=path, cache_dir=tmp_path)
    (cached,) = (tmp_path / "data" / "imdb" / "parsed").glob("train-*.npz")
    data = cached.read_bytes()
    cached.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))  # as in a new process
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert load_imdb("train", path=path, cache_dir=tmp_path).texts == first.texts
    assert "Ignoring the unreadable parsed-IMDB cache" in caplog.text


def test_datasets_imdb_parsed_cache_keeps_groups_and_their_absence(tiny_imdb, trimmed_imdb, tmp_path, monkeypatch,
                                                                    caplog):
    import toolkit.data.datasets as datasets
    from toolkit._memo import Memo

    def no_tarball(*args, **kwargs):
        raise AssertionError("the tarball was read again")

    def load_twice(path, cache_dir):
        monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))
        first = load_imdb("train", path=path, cache_dir=cache_dir)
        monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))  # as in a new process
        with monkeypatch.context() as patch:
            patch.setattr(datasets, "iter_tar_files", no_tarball)
            second = load_imdb("train", path=path, cache_dir=cache_dir, shuffle=True, random_state=0)
        return first, second

    first, second = load_twice(tiny_imdb / "aclImdb_v1.tar.gz", tmp_path / "full")
    (cached,) = (tmp_path / "full" / "data" / "imdb" / "parsed").glob("train-*.npz")
    assert cached.name.startswith("train-v2-")  # a file of the layout without groups has another name
    with np.load(cached, allow_pickle=False) as npz:
        assert npz["groups"].dtype.kind == "U"
    assert dict(zip(second.filenames, second.groups)) == dict(zip(first.filenames, first.groups))

    # a trimmed tarball: the cache records that there are no groups, and the warning comes again from it
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        first, second = load_twice(trimmed_imdb / "aclImdb_v1.tar.gz", tmp_path / "trimmed")
    assert first.groups is None and second.groups is None and second.texts != []
    assert caplog.text.count("aclImdb/train/urls_neg.txt in") == 2

    # a cache file under the new name but without groups (or the note) is not trusted
    with np.load(cached, allow_pickle=False) as npz:
        kept = {k: npz[k] for k in npz.files if k != "groups"}
    with open(cached, "wb") as fh:
        np.savez(fh, **kept)
    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        again = load_imdb("train", path=tiny_imdb / "aclImdb_v1.tar.gz", cache_dir=tmp_path / "full")
    assert "Ignoring the inconsistent parsed-IMDB cache" in caplog.text
    assert again.groups.tolist() == ["tt0000003", "tt0453418", "tt0453418", "tt0453418", "tt0000002"]


def test_datasets_imdb_through_data_dir(tiny_imdb):
    ds = load_imdb("test", data_dir=tiny_imdb)  # no SHA256SUMS there: logged warning, still read
    assert ds.source == str(tiny_imdb / "aclImdb_v1.tar.gz") and len(ds) == 2


def test_datasets_imdb_limit_balanced_and_shuffle(tiny_imdb):
    path = tiny_imdb / "aclImdb_v1.tar.gz"
    assert load_imdb("train", path=path, limit=2).labels.tolist() == [0, 1]
    assert load_imdb("train", path=path, limit=3).labels.tolist() == [0, 0, 1]
    a = load_imdb("train", path=path, shuffle=True, random_state=0)
    b = load_imdb("train", path=path, shuffle=True, random_state=0)
    assert a.texts == b.texts and sorted(a.texts) == sorted(load_imdb("train", path=path).texts)
    assert [a.texts[i] for i in np.flatnonzero(a.labels == 1)] != [] and len(a) == 5
    for t, y in zip(a.texts, a.labels):
        assert (t in ("awful", "bad <br />film")) == (y == 0)


def test_datasets_limit_with_shuffle_is_random_balanced_sample():
    from toolkit.data.datasets import _finish

    ds = TextDataset([f"d{i}" for i in range(100)], np.repeat([0, 1], 50), ["neg", "pos"])
    a = _finish(ds, shuffle=True, random_state=1, limit=10, func="f")
    b = _finish(ds, shuffle=True, random_state=1, limit=10, func="f")
    c = _finish(ds, shuffle=True, random_state=2, limit=10, func="f")
    assert a.texts == b.texts != c.texts
    assert np.bincount(a.labels).tolist() == [5, 5]
    assert a.texts != sorted(a.texts, key=lambda t: int(t[1:]))  # shuffled, not the first by id
    first = _finish(ds, shuffle=False, random_state=None, limit=4, func="f")
    assert first.texts == ["d0", "d1", "d50", "d51"]
    assert _finish(ds, shuffle=False, random_state=None, limit=None, func="f") is ds


def test_datasets_imdb_bad_split_and_limit(tiny_imdb):
    with pytest.raises(InvalidParameterError, match=r"The 'split' parameter of load_imdb must be a str among "
                                                     r"\{'test', 'train', 'unsup'\}. Got 'valid' instead."):
        load_imdb("valid", path=tiny_imdb)
    with pytest.raises(InvalidParameterError, match=r"The 'limit' parameter of load_imdb must be an int in the range"):
        load_imdb("train", path=tiny_imdb, limit=0)


def test_datasets_imdb_missing_or_wrong_layout(tmp_path):
    with pytest.raises(DataError, match="IMDB data .*nope.tar.gz does not exist"):
        load_imdb(path=tmp_path / "nope.tar.gz")
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError, match="is not an aclImdb folder"):
        load_imdb(path=tmp_path / "other")
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz") as tar:
        info = tarfile.TarInfo("aclImdb/README")
        tar.addfile(info)
    with pytest.raises(DataError, match=r"has no reviews for split 'train' \(missing neg, pos\)"):
        load_imdb(path=empty)


def test_datasets_imdb_not_in_data_dir_without_network(tmp_path, monkeypatch):
    def offline(url, output_file, pooch):
        raise ConnectionError("no network here")

    import pooch.core

    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=lambda seconds: None))  # retry back-off
    with pytest.raises(DataError, match=r"(?s)Could not download https://ai.stanford.edu/.*TOOLKIT_DATA_DIR.*its "
                                        r"sha256 must be c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"):
        load_imdb(data_dir=tmp_path, cache_dir=tmp_path / "cache", downloader=offline)


# ------------------------------------------------------------------ folders


def test_datasets_load_folder_class_per_folder(tiny_imdb):
    ds = load_folder(tiny_imdb / "aclImdb" / "train", categories=["neg", "pos"])
    assert ds.target_names == ["neg", "pos"]
    assert ds.texts[:2] == ["bad <br />film", "awful"]
    assert ds.filenames[2:] == ["pos/0_9.txt", "pos/2_7.txt", "pos/10_8.txt"]  # natural order
    every = load_folder(tiny_imdb / "aclImdb" / "train")
    assert every.target_names == ["neg", "pos", "unsup"] and len(every) == 6
    assert ds.groups is None and every.groups is None  # only load_imdb knows the movies


def test_datasets_load_folder_flat(tiny_imdb):
    ds = load_folder(tiny_imdb / "aclImdb" / "train" / "pos")
    assert ds.labels.tolist() == [-1, -1, -1] and ds.target_names == []
    assert list(ds.ids) == ["0_9.txt", "2_7.txt", "10_8.txt"]


def test_datasets_load_folder_errors(tmp_path, tiny_imdb):
    with pytest.raises(DataError, match="Folder .*missing does not exist"):
        load_folder(tmp_path / "missing")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_text("no")
    with pytest.raises(DataError, match=r"No text files \(files ending in .txt\) found in .* class folders \['a'\]"):
        load_folder(tmp_path)
    assert load_folder(tmp_path, extensions=None).texts == ["no"]
    with pytest.raises(DataError, match=r"No class folder 'pos' in .*; class folders there: \['a'\]"):
        load_folder(tmp_path, categories=["pos"])
    (tmp_path / "a" / "bad.txt").write_bytes(b"\xff\xfe caf\xe9")
    with pytest.raises(DataError, match=r"bad.txt is not valid utf-8 .*decode_errors='replace'"):
        load_folder(tmp_path)
    assert "caf" in load_folder(tmp_path, decode_errors="replace").texts[0]


# ------------------------------------------------------------------ CSV / JSONL


def test_datasets_load_csv(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('review,stars,id\n"good, really",10,a\nbad,2,b\n"multi\nline",2,c\n', encoding="utf-8")
    ds = load_csv(path, text_column="review", label_column="stars", id_column="id")
    assert ds.texts == ["good, really", "bad", "multi\nline"]
    assert ds.target_names == ["2", "10"]  # numeric order, not string order
    assert ds.labels.tolist() == [1, 0, 0] and ds.ids.tolist() == ["a", "b", "c"]
    assert ds.groups is None
    unlabelled = load_csv(path, text_column="review", label_column=None)
    assert unlabelled.labels.tolist() == [-1, -1, -1] and unlabelled.ids.tolist() == [0, 1, 2]
    frame = ds.to_frame()
    assert list(frame.columns) == ["text", "label", "label_name", "id"] and frame.label_name.tolist() == ["10", "2", "2"]


def test_datasets_load_csv_tsv_and_string_labels(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("text\tlabel\nnice\tpos\nmeh\tneg\n")
    ds = load_csv(path, delimiter="\t")
    assert ds.target_names == ["neg", "pos"] and ds.labels.tolist() == [1, 0]


def test_datasets_load_csv_errors(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,stars\nok,1\n")
    with pytest.raises(DataError, match=r"Column 'text' \(text_column\) not found in .*r.csv; its columns are "
                                        r"\['review', 'stars'\]"):
        load_csv(path)
    path.write_text("text,label\nok,1\nmissing,\n")
    with pytest.raises(DataError, match=r"r.csv, line 3: missing label in column 'label'"):
        load_csv(path)
    with pytest.raises(DataError, match=r"File .*nope.csv does not exist"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"is a folder; pass a file"):
        load_csv(tmp_path)
    path.write_bytes(b"text,label\n\xff\xfe,1\n")
    with pytest.raises(DataError, match=r"r\.csv, line 2: not valid utf-8 \(byte 11 of the file"):
        load_csv(path)
    path.write_text("text,label\n")
    with pytest.raises(DataError, match=r"r.csv has no records"):
        load_csv(path)


def test_datasets_load_jsonl(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [{"text": "good", "label": True}, {"text": "bad", "label": False}, {"text": "fine", "label": True}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    ds = load_jsonl(path)
    assert ds.texts == ["good", "bad", "fine"] and ds.target_names == ["False", "True"]
    assert ds.labels.tolist() == [1, 0, 1]
    assert toolkit.load_jsonl is load_jsonl


def test_datasets_load_jsonl_errors(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b"}\n')
    with pytest.raises(DataError, match=r"r.jsonl, line 2: key 'label' \(label_column\) not found; the record's keys "
                                        r"are \['text'\]"):
        load_jsonl(path)
    path.write_text('{"text": "a", "label": 1}\n{oops\n')
    with pytest.raises(DataError, match=r"r.jsonl, line 2: not valid JSON"):
        load_jsonl(path)
    path.write_text('[1, 2]\n')
    with pytest.raises(DataError, match=r"line 1: expected a JSON object, got list"):
        load_jsonl(path)
    path.write_text('{"text": 3, "label": 1}\n')
    with pytest.raises(DataError, match=r"line 1: 'text' is a int, not a string"):
        load_jsonl(path)


def test_datasets_text_dataset_basics():
    ds = TextDataset(["a", "b", "c"], np.array([0, 1, -1]), ["neg", "pos"])
    assert len(ds) == 3 and ds.data is ds.texts and ds.target is ds.labels
    assert repr(ds) == "TextDataset(n=3, classes={'unlabelled': 1, 'neg': 1, 'pos': 1}, source=None)"
    assert ds.subset([2, 0]).texts == ["c", "a"]
    assert ds.to_frame().label_name.tolist() == ["neg", "pos", ""]
    assert ds.groups is None and ds.subset([1]).groups is None
    grouped = TextDataset(["a", "b", "c"], np.array([0, 1, 1]), ["neg", "pos"], None, None, None, "here",
                          np.array(["tt1", "tt2", "tt2"]))
    assert grouped.subset([2, 0]).groups.tolist() == ["tt2", "tt1"]


def test_datasets_imdb_parsed_cache_on_disk(tiny_imdb, tmp_path, caplog):
    import toolkit.data.datasets as datasets

    path = tiny_imdb / "aclImdb_v1.tar.gz"
    datasets._IMDB_MEMO.clear()
    first = load_imdb("train", path=path, cache_dir=tmp_path)
    (cached,) = (tmp_path / "data" / "imdb" / "parsed").glob("train-*.npz")
    datasets._IMDB_MEMO.clear()
    again = load_imdb("train", path=path, cache_dir=tmp_path)
    assert again.texts == first.texts and again.filenames == first.filenames
    assert again.ratings.tolist() == first.ratings.tolist() and again.ids.tolist() == first.ids.tolist()
    cached.write_bytes(b"garbage")
    datasets._IMDB_MEMO.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert load_imdb("train", path=path, cache_dir=tmp_path).texts == first.texts
    assert "Ignoring the unreadable parsed-IMDB cache" in caplog.text
    datasets._IMDB_MEMO.clear()
    load_imdb("test", path=path, cache_dir=tmp_path / "off", cache=False)
    assert not (tmp_path / "off").exists()

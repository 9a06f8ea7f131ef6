"""Files, folders and caches as a user on a shared machine has them: data and cache folders named by
environment variables that point at the wrong place, checked before anything heavy loads."""

from __future__ import annotations

import os
import re

import pytest
from test_cli import assert_error, invoke, runner  # noqa: F401 (fixture, helpers)

from toolkit.exceptions import ToolkitError

REVIEWS_CSV = "text,label\n" + "great fun film,pos\nawful boring film,neg\n" * 10


class _Reached(ToolkitError):
    """Raised by a stand-in for a command's work: the command got past its checks."""


def _no_work(monkeypatch):
    """Replace the commands' work (and TensorFlow's import) with stand-ins that say they were reached."""

    def reached(*args, **kwargs):
        raise _Reached("reached the work")

    for name in ("train", "evaluate", "_load_tensorflow_quietly", "_load_tensorflow_for"):
        monkeypatch.setattr(f"toolkit.cli.train.{name}", reached)
    for name in ("run_grid", "_load_tensorflow_quietly"):
        monkeypatch.setattr(f"toolkit.cli.grid.{name}", reached)


@pytest.fixture
def own_data(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(REVIEWS_CSV, encoding="utf-8")
    return path


# ------------------------------------------------------------------ TOOLKIT_DATA_DIR


@pytest.mark.parametrize("args", [
    ("train", "--limit", "400", "--no-baseline"),
    ("train", "--model", "stack", "--limit", "400"),
    ("grid", "--grid", "epochs=1,2", "--limit", "400"),
])
def test_a_missing_TOOLKIT_DATA_DIR_is_named_before_tensorflow_loads(runner, tmp_path, monkeypatch, args):
    """Before, 'train' loaded TensorFlow (about 9 s) and only then said that the data folder was missing."""
    _no_work(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOOLKIT_DATA_DIR", "missing data")
    assert_error(invoke(runner, *args, "--output", tmp_path / "run"),
                 rf"data folder missing data \(from TOOLKIT_DATA_DIR\) does not exist \(relative to "
                 rf"{tmp_path}\)\. Set TOOLKIT_DATA_DIR to the offline data folder")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "afile"))
    assert_error(invoke(runner, *args, "--output", tmp_path / "run"),
                 r"afile \(from TOOLKIT_DATA_DIR\) is a file, not a folder")


def test_evaluate_on_imdb_names_a_missing_TOOLKIT_DATA_DIR_before_loading_the_model(runner, tmp_path, monkeypatch):
    _no_work(monkeypatch)
    model = tmp_path / "run" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "typo"))
    assert_error(invoke(runner, "evaluate", model), r"typo \(from TOOLKIT_DATA_DIR\) does not exist")


def test_commands_on_own_files_ignore_a_missing_TOOLKIT_DATA_DIR(runner, tmp_path, monkeypatch, own_data,
                                                               glove_small):
    """They never read it: they run as before (the check must not break them)."""
    _no_work(monkeypatch)
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "typo"))
    for extra in (("--vectors", glove_small), ("--vectors", "none"), ("--set", "vectors=None"),
                  ("--vectors", "word2vec"), ("--vectors", f"word2vec:{own_data}")):
        assert_error(invoke(runner, "train", "--data", own_data, *extra, "--output", tmp_path / "run"),
                     "reached the work")
    # the recipe's GloVe vectors and IMDB's unlabelled reviews come from the data folder: that one is checked
    for extra in ((), ("--vectors", "word2vec:unsup"), ("--model", "stack", "--vectors", "glove.6B.50d")):
        assert_error(invoke(runner, "train", "--data", own_data, *extra, "--output", tmp_path / "run"),
                     "TOOLKIT_DATA_DIR")
    result = invoke(runner, "-q", "vectors", "info", glove_small, "--limit", "5")
    assert result.exit_code == 0, result.output
    assert_error(invoke(runner, "vectors", "info", "glove.6B.50d"), r"typo \(from TOOLKIT_DATA_DIR\)")
    result = invoke(runner, "--help")
    assert result.exit_code == 0 and "train" in result.stdout


def test_data_dir_option_wins_over_a_missing_TOOLKIT_DATA_DIR(runner, tmp_path, monkeypatch, shared_data):
    _no_work(monkeypatch)
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "typo"))
    assert_error(invoke(runner, "train", "--limit", "10", "--data-dir", shared_data, "--output", tmp_path / "run"),
                 "reached the work")


# ------------------------------------------------------------------ TOOLKIT_CACHE_DIR


def test_a_cache_folder_that_is_a_file_is_an_error_naming_where_it_came_from(runner, tmp_path, monkeypatch,
                                                                           glove_small):
    """Before, every step warned that it could not read or write its cache there, and redid its work."""
    afile = tmp_path / "cache file"
    afile.write_text("x", encoding="utf-8")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(afile))
    assert_error(invoke(runner, "vectors", "info", glove_small, "--limit", "5"),
                 r"cache folder .*cache file \(from TOOLKIT_CACHE_DIR\) is a file, not a folder; set "
                 r"TOOLKIT_CACHE_DIR to a folder")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(afile / "sub"))
    assert_error(invoke(runner, "vectors", "info", glove_small, "--limit", "5"),
                 r"cannot be created: .*cache file is a file, not a folder")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "fine"))
    assert_error(invoke(runner, "vectors", "info", glove_small, "--limit", "5", "--cache-dir", afile),
                 r"cache file \(from --cache-dir\) is a file, not a folder; give --cache-dir a folder")
    _no_work(monkeypatch)
    assert_error(invoke(runner, "train", "--output", tmp_path / "run", "--cache-dir", afile), "--cache-dir")


def test_a_missing_cache_folder_is_created(runner, tmp_path, monkeypatch, glove_small):
    vectors = tmp_path / "my vectors é.txt"
    vectors.write_text("".join(glove_small.read_text(encoding="utf-8").splitlines(keepends=True)[:50]),
                       encoding="utf-8")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "new cache ü" / "deeper"))
    result = invoke(runner, "-q", "vectors", "info", vectors)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new cache ü" / "deeper" / "vectors").is_dir()


def test_a_read_only_cache_folder_warns_once_and_runs(runner, tmp_path, monkeypatch, glove_small):
    cache = tmp_path / "shared cache"
    cache.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if str(path) == str(cache)
                        else real_access(path, mode, **kw))
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(cache))
    result = invoke(runner, "vectors", "info", glove_small, "--limit", "5")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Warning: the cache folder") == 1, result.stderr
    assert "shared cache (from TOOLKIT_CACHE_DIR) is not writable" in result.stderr


# ------------------------------------------------------------------ '~' that the shell did not expand


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder with a space and a non-ASCII letter, and a working folder beside it (the cwd)."""
    home = tmp_path / "home dir ü"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


def _no_tilde_folder_nor_debris(home):
    assert not (home.parent / "work" / "~").exists()
    assert not [p.name for p in home.iterdir() if p.name.startswith(".")]


def test_vectors_convert_to_a_quoted_home_path_writes_the_vectors_there(runner, home, glove_small):
    """Before, 'toolkit vectors convert v.txt "~/v.bin"' (or OUTPUT from a job script) said it wrote
    ~/v.bin, but left an EMPTY ./~/v.bin and the vectors in a hidden temporary file at home."""
    from toolkit.vectors import load_vectors

    result = invoke(runner, "-q", "vectors", "convert", glove_small, "~/my vecs.bin", "--limit", "10")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(home / "my vecs.bin")
    kv = load_vectors(home / "my vecs.bin", cache=False)
    assert len(kv) == 10 and kv.vector_size == 50
    _no_tilde_folder_nor_debris(home)


def test_convert_vectors_expands_the_home_folder(home, glove_small):
    from toolkit.cli.vectors import convert_vectors

    out = convert_vectors(glove_small, "~/v.txt", limit=5)
    assert out == home / "v.txt"
    assert out.read_text(encoding="utf-8").splitlines()[0] == "5 50"
    _no_tilde_folder_nor_debris(home)


@pytest.mark.parametrize("args, written", [
    (("tokenize", "{data}", "--output=~/out/tokens.jsonl"), ["out/tokens.jsonl"]),
    (("vectorize", "{data}", "--output=~/out/x.npz"), ["out/x.npz", "out/x.vocab.json"]),
    (("store", "build", "{data}", "--output=~/out/store", "--label-column", "label"), ["out/store/store.json"]),
])
def test_output_options_with_an_unexpanded_tilde_write_in_the_home_folder(runner, home, own_data, args, written):
    """'--output=~/x' reaches the command with its '~' (the shell expands it only at a word's start): it is
    checked as the home folder's, and now written there too, not in a folder named '~' in the cwd."""
    result = invoke(runner, "-q", *(a.format(data=own_data) for a in args))
    assert result.exit_code == 0, result.output
    for name in written:
        assert (home / name).stat().st_size > 0, name
    _no_tilde_folder_nor_debris(home)


def test_atomic_output_expands_the_home_folder(home):
    from toolkit._atomic import atomic_output

    with atomic_output("~/sub/file.txt") as tmp:
        tmp.write_text("done", encoding="utf-8")
    assert (home / "sub" / "file.txt").read_text(encoding="utf-8") == "done"
    _no_tilde_folder_nor_debris(home)


# ------------------------------------------------------------------ symbolic links that point nowhere


@pytest.fixture
def broken_link(tmp_path):
    """A symbolic link to a folder that was removed (an unmounted disk, a moved project)."""
    link = tmp_path / "scratch"
    link.symlink_to(tmp_path / "unmounted")
    return link


def test_a_cache_folder_behind_a_broken_link_is_named_before_the_work(runner, monkeypatch, broken_link,
                                                                     glove_small):
    """Before, each step warned '[Errno 17] File exists: .../scratch' and ran without its cache."""
    for cache in (broken_link, broken_link / "toolkit"):
        monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(cache))
        assert_error(invoke(runner, "vectors", "info", glove_small, "--limit", "5"),
                     r"cannot be created: .*scratch is a symbolic link to .*unmounted, which does not exist; "
                     r"create that folder, or set TOOLKIT_CACHE_DIR")


def test_a_data_folder_behind_a_broken_link_says_so(runner, monkeypatch, broken_link):
    _no_work(monkeypatch)
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(broken_link))
    assert_error(invoke(runner, "train", "--limit", "10"),
                 r"\(from TOOLKIT_DATA_DIR\) does not exist: .*scratch is a symbolic link to .*unmounted")
    monkeypatch.delenv("TOOLKIT_DATA_DIR")
    assert_error(invoke(runner, "train", "--limit", "10", "--data-dir", broken_link),
                 r"\(from --data-dir\) does not exist: .*scratch is a symbolic link to .*unmounted")


def test_an_output_behind_a_broken_link_is_refused_before_the_work(runner, monkeypatch, broken_link, own_data):
    """Before, 'toolkit tokenize' tokenized everything, then failed with '[Errno 17] File exists: ...scratch'."""
    monkeypatch.setattr("toolkit.cli.text.tokenize_texts", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("tokenized before the output was checked")))
    assert_error(invoke(runner, "tokenize", own_data, "--output", broken_link / "tokens.jsonl"),
                 r"Cannot create --output .*scratch is a symbolic link to .*unmounted, which does not exist")


def test_atomic_output_names_a_broken_link_on_the_way(broken_link):
    from toolkit._atomic import atomic_output

    with pytest.raises(FileNotFoundError, match=r"scratch is a symbolic link to .*unmounted, which does not exist"), \
            atomic_output(broken_link / "sub" / "file.txt") as tmp:
        tmp.write_text("x", encoding="utf-8")
    assert not broken_link.exists()


# ------------------------------------------------------------------ a nearly full disk


def test_a_full_temporary_folder_is_named_not_the_output(runner, tmp_path, monkeypatch, glove_small):
    """With /tmp full, 'toolkit train' failed as Keras saved the model there: "Cannot write the output: No space
    left on device ... write it elsewhere (--output, ...)", though the output's disk had room."""
    import errno
    import shutil
    import tempfile
    from collections import namedtuple

    small_tmp = tmp_path / "small tmp"
    small_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(small_tmp))
    usage, real_usage = namedtuple("usage", "total used free"), shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, (1 << 30) - (3 << 20), 3 << 20)
                        if str(path) == str(small_tmp) else real_usage(path))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # as Keras' save raises it: no file name

    monkeypatch.setattr("toolkit.cli.vectors.vectors_info", full)
    assert_error(invoke(runner, "vectors", "info", glove_small),
                 r"^Error: Cannot write: No space left on device; the disk of the temporary folder .*small tmp has "
                 r"3 MB free\. Free some space there, or set TMPDIR to a folder on a disk with space\.$")


# ------------------------------------------------------------------ a data folder set one level off


@pytest.fixture
def offline(monkeypatch):
    """A downloader with no network, and pooch's retry back-off not slept."""
    import types

    import pooch.core

    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=lambda seconds: None))

    def no_network(url, output_file, pooch):
        raise ConnectionError("Failed to resolve host: no network")

    return no_network


def test_a_data_folder_one_level_above_the_data_says_where_it_is(tmp_path, monkeypatch, offline, shared_data):
    """Before, a TOOLKIT_DATA_DIR one folder off failed as a download error that told the user to put the file
    "in an offline data folder (TOOLKIT_DATA_DIR...)": the one they had set, as they believed."""
    from toolkit.data import fetch
    from toolkit.exceptions import DataError

    inner = tmp_path / "lab data" / "imdb ü"
    inner.mkdir(parents=True)
    (inner / "aclImdb_v1.tar.gz").symlink_to(shared_data / "aclImdb_v1.tar.gz")
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "lab data"))
    # (and nothing is downloaded: the session-33 newcomer hunt; before, three download attempts came first)
    with pytest.raises(DataError, match=r"^The data folder .*lab data \(from TOOLKIT_DATA_DIR\) holds none of "
                                        r"aclImdb_v1\.tar\.gz, aclImdb; found in .*imdb ü: set the data folder to "
                                        r"that folder\. Nothing was downloaded"):
        fetch("imdb", cache_dir=tmp_path / "cache", downloader=offline)
    assert fetch("imdb", data_dir=inner, cache_dir=tmp_path / "cache", downloader=offline) == \
        inner / "aclImdb_v1.tar.gz"


def test_the_extracted_folder_given_as_the_data_folder_says_to_give_its_parent(tmp_path, offline):
    from toolkit.data import fetch
    from toolkit.exceptions import DataError

    extracted = tmp_path / "data" / "aclImdb"
    (extracted / "train").mkdir(parents=True)
    with pytest.raises(DataError, match=rf"holds none of aclImdb_v1\.tar\.gz, aclImdb; it is {re.escape(str(extracted))} "
                                        rf"itself: set the data folder to {re.escape(str(extracted.parent))}\. Nothing "
                                        r"was downloaded"):
        fetch("imdb", data_dir=extracted, cache_dir=tmp_path / "cache", downloader=offline)


# ------------------------------------------------------------------ first runs sharing one cache


def test_loads_starting_together_build_the_vectors_cache_entry_once(tmp_path, monkeypatch, glove_small):
    """Two loads of one file into one fresh cache (two terminals, a job array): one parses it, the other waits
    and maps the entry. Before, each parsed the whole file into a temporary entry of its own (4 processes of a
    job array: 4 times the CPU, and 312 MB on the cache's disk at once for GloVe 6B-50d instead of 83 MB)."""
    import logging
    import threading

    import numpy as np

    from toolkit.vectors import loading

    builds, second_waits = [], threading.Event()
    build_entry = loading._build_entry

    def slow_build(*args, **kwargs):
        builds.append(threading.get_ident())
        if len(builds) == 2:  # the other load is building too: the first may go on
            second_waits.set()
        second_waits.wait(timeout=60)  # until the other load waits on the lock (or builds as well)
        return build_entry(*args, **kwargs)

    class Waiting(logging.Handler):
        def emit(self, record):
            if "Waiting for another process" in record.getMessage():
                second_waits.set()

    handler = Waiting(level=logging.INFO)
    lock_logger = logging.getLogger("toolkit.data._download")
    monkeypatch.setattr(lock_logger, "level", logging.INFO)
    lock_logger.addHandler(handler)
    monkeypatch.setattr(loading, "_build_entry", slow_build)
    results, errors = {}, []

    def load(name):
        try:
            src = loading._parse.Source(glove_small, None)
            entry = loading.cache_path("k" * 20, glove_small, tmp_path / "cache")
            results[name] = loading._load_cached(src, "glove", 300, "strict", entry)
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=load, args=(name,)) for name in "ab"]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        lock_logger.removeHandler(handler)
    assert not errors, errors
    assert len(builds) == 1, f"built {len(builds)} times"
    np.testing.assert_array_equal(results["a"].vectors, results["b"].vectors)
    assert results["a"].index_to_key == results["b"].index_to_key and len(results["a"]) == 300
    assert [p.name for p in (tmp_path / "cache" / "vectors").iterdir()] == [f"{glove_small.name}-{'k' * 20}"]


def test_a_sha256sums_file_saved_with_a_byte_order_mark_is_read(tmp_path, shared_data):
    """Before: "SHA256SUMS, line 1: expected '<64 hex digits>  <file name>' ..., got '\\ufeffa3bb...'", for a
    file edited in a Windows editor that writes a byte-order mark."""
    from toolkit.data import fetch

    folder = tmp_path / "data copy"
    folder.mkdir()
    (folder / "aclImdb_v1.tar.gz").symlink_to(shared_data / "aclImdb_v1.tar.gz")
    sums = (shared_data / "SHA256SUMS").read_text(encoding="utf-8")
    (folder / "SHA256SUMS").write_text("\ufeff" + sums.replace("\n", "\r\n"), encoding="utf-8")
    assert fetch("imdb", data_dir=folder, cache_dir=tmp_path / "cache") == folder / "aclImdb_v1.tar.gz"



def test_corpus_store_build_and_open_take_a_home_path(tmp_path, monkeypatch, imdb_small):
    """`CorpusStore.build("~/store", ...)` from Python made ./~/store in the current folder (save_model and
    load_model expand ~; the command line now does too)."""
    pytest.importorskip("dask")
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, labels = imdb_small
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    store = CorpusStore.build(db.from_sequence(list(zip(texts[:20], labels[:20])), npartitions=2), "~/store",
                              scheduler="sync")
    assert (tmp_path / "home" / "store" / "store.json").is_file()
    assert not (tmp_path / "cwd" / "~").exists()
    assert store.path == tmp_path / "home" / "store"
    assert CorpusStore("~/store").path == tmp_path / "home" / "store"


def test_train_set_vectors_none_trains_and_stages_the_model_beside_the_run_folder(runner, tmp_path, monkeypatch,
                                                                                  own_data):
    """`--set vectors=none` failed after TensorFlow had loaded with "No vectors file 'none'" (`--vectors none`
    and grid's `--set vectors=none` mean no vectors); a bad name there now fails before the work. The model was
    saved into the temporary folder first and moved into the run folder at the end: a full /tmp failed the run
    as "Cannot write the output", and a full output disk on another file system as a toolkit bug. It is staged
    beside the run folder now (the move is a rename), and nothing is left there."""
    import json
    from pathlib import Path

    from toolkit.models import persistence

    saved, save_model = [], persistence.save_model

    def recording_save_model(estimator, path, *args, **kwargs):
        saved.append(Path(path))
        return save_model(estimator, path, *args, **kwargs)

    monkeypatch.setattr(persistence, "save_model", recording_save_model)
    runs = tmp_path / "runs"
    runs.mkdir()
    result = invoke(runner, "-q", "train", "--data", own_data, "--set", "vectors=none", "--no-baseline",
                    "--output", runs / "run")
    assert result.exit_code == 0, result.output
    assert saved and saved[0].parent.parent == runs
    assert sorted(p.name for p in runs.iterdir()) == ["run"]
    assert json.loads((runs / "run" / "metrics.json").read_text(encoding="utf-8"))["settings"]["vectors"] is None
    assert (runs / "run" / "model").is_dir()
    _no_work(monkeypatch)
    assert_error(invoke(runner, "train", "--data", own_data, "--set", "vectors=nosuch.vec", "--output",
                        tmp_path / "other"), r"--set vectors=")

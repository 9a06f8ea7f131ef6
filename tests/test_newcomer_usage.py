"""A newcomer's first hour with a cold cache: what the README's commands show, and the usual mistakes.

Each test follows a step of README.md as a newcomer types it (``toolkit vectors
coverage``, ``toolkit tokenize --set``, ``toolkit train --set``, a data folder
set one level off) on small real IMDB samples and the real GloVe file.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from toolkit.cli import app


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def reviews_txt(imdb_small, tmp_path):
    """40 real IMDB reviews, one per line, as the README's ``reviews.txt``."""
    path = tmp_path / "reviews.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in imdb_small[0][:40]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def no_tensorflow_or_data(monkeypatch):
    """Make ``toolkit train`` fail loudly if it reaches TensorFlow or the data: the check must come first."""
    import toolkit.cli.train as train_module

    def refuse(*args, **kwargs):
        raise AssertionError("reached TensorFlow / the data before checking the command line")

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", refuse)
    monkeypatch.setattr(train_module, "load_train_test", refuse)


def test_newcomer_usage_coverage_shows_tokenizing_progress(reviews_txt, glove_small):
    # `toolkit vectors coverage imdb` tokenized 25,000 reviews (about 10 s) without a line on stderr;
    # tokenize and vectorize show the tokenizer's progress bar, coverage now does too
    result = _invoke("vectors", "coverage", reviews_txt, "-V", glove_small, "--format", "glove")
    assert result.exit_code == 0, result.output
    assert "tokenize" in result.stderr
    assert "tokenize" not in result.stdout  # the report alone on stdout
    assert "coverage" in result.stdout
    quiet = CliRunner().invoke(app, ["-q", "vectors", "coverage", str(reviews_txt), "-V", str(glove_small),
                                     "--format", "glove"])
    assert quiet.exit_code == 0 and "tokenize" not in quiet.stderr


@pytest.mark.parametrize("command", ["tokenize", "vectorize"])
def test_newcomer_usage_tokenizer_setting_typo_suggests_the_name(command, reviews_txt, tmp_path):
    output = ["-o", tmp_path / "seqs.npz"] if command == "vectorize" else []
    line = _one_error_line(_invoke(command, reviews_txt, *output, "--set", "lemmatise=True"))
    assert re.search(r"Invalid parameter 'lemmatise' for estimator SpacyTokenizer \(did you mean 'lemmatize'\?\)"
                     r"\. Valid parameters are: .*'lemmatize'", line), line
    assert "progress=True" not in line  # not the half-configured tokenizer's repr: the user never set progress


@pytest.mark.usefixtures("no_tensorflow_or_data")
@pytest.mark.parametrize(("model", "setting", "pattern"), [
    ("main", "epoch=3", r"Invalid parameter 'epoch' .*Unknown --set name 'epoch' \(did you mean 'epochs'\?\)"),
    ("main", "classifier__epoch=3", r"did you mean 'classifier__epochs'\?"),
    ("main", "epochs=three", r"The 'epochs' parameter of EmbeddingClassifier must be an int .*Got 'three'"),
    ("main", "lowercase=maybe", r"The 'lowercase' parameter of SpacyTokenizer .*Got 'maybe'"),
    ("stack", "C=abc", r"The 'C' parameter of StackedTextClassifier must be a float .*Got 'abc'"),
    ("stack", "Cc=1", r"did you mean 'C'\?"),
])
def test_newcomer_usage_train_setting_mistakes_fail_before_tensorflow(model, setting, pattern, shared_data, tmp_path):
    result = _invoke("train", "--model", model, "--limit", 10, "--data-dir", shared_data, "--set", setting,
                     "-o", tmp_path / "run")
    assert re.search(pattern, _one_error_line(result))
    assert not (tmp_path / "run").exists()


def test_newcomer_usage_train_valid_settings_pass_the_early_check(shared_data, tmp_path, monkeypatch):
    # the early check must not refuse what the fit accepts: valid --set values reach the data loading
    import toolkit.cli.train as train_module

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "load_train_test", stop)
    for model, settings in [("main", ["epochs=1", "ngram_range=(1, 2)", "classifier__dropout=0.1"]),
                            ("stack", ["C=0.1", "n_jobs=1", "vectors=none"])]:
        args = [a for s in settings for a in ("--set", s)]
        result = _invoke("train", "--model", model, "--limit", 10, "--data-dir", shared_data, *args,
                         "-o", tmp_path / model)
        assert "Error" not in result.stderr, result.stderr
        assert "Interrupted" in result.stderr or result.exit_code == 130, result.output


@pytest.fixture
def folder_one_level_up(shared_data, tmp_path):
    """A data folder set one level above the real one (``TOOLKIT_DATA_DIR=../shared`` for ``../shared/data``)."""
    top = tmp_path / "shared"
    (top / "data").mkdir(parents=True)
    for name in ("aclImdb_v1.tar.gz", "glove.6B.50d.txt.gz", "SHA256SUMS"):
        (top / "data" / name).symlink_to(shared_data / name)
    return top


def test_newcomer_usage_fetch_from_a_folder_one_level_up_downloads_nothing(folder_one_level_up, tmp_path):
    from toolkit.data.datasets import fetch
    from toolkit.exceptions import DataError

    calls = []

    def downloader(url, output_file, pooch):
        calls.append(url)
        raise OSError("no network in this test")

    for name in ("imdb", "glove.6B.50d"):
        with pytest.raises(DataError, match=rf"The data folder {re.escape(str(folder_one_level_up))} \(from data_dir\) "
                                            rf"holds none of .*; found in {re.escape(str(folder_one_level_up / 'data'))}"
                                            r": set the data folder to that folder\. Nothing was downloaded"):
            fetch(name, data_dir=folder_one_level_up, cache_dir=tmp_path / "cache", downloader=downloader)
    assert calls == []  # before: three download attempts each (seconds offline, 80-822 MB online)


def test_newcomer_usage_train_with_a_folder_one_level_up_fails_before_tensorflow(
        folder_one_level_up, tmp_path, no_tensorflow_or_data):
    result = _invoke("train", "--limit", 10, "--data-dir", folder_one_level_up, "-o", tmp_path / "run")
    line = _one_error_line(result)
    assert f"found in {folder_one_level_up / 'data'}: set the data folder to that folder" in line
    assert not (tmp_path / "run").exists()


def test_newcomer_usage_folder_one_level_up_still_uses_a_cached_copy(folder_one_level_up, tmp_path, monkeypatch):
    # a copy already in the cache is used as before: only the download is refused
    from toolkit.data.datasets import check_data_folder

    cache = tmp_path / "cache"
    (cache / "data" / "imdb").mkdir(parents=True)
    (cache / "data" / "imdb" / "aclImdb_v1.tar.gz").symlink_to(folder_one_level_up / "data" / "aclImdb_v1.tar.gz")
    check_data_folder("imdb", data_dir=folder_one_level_up, cache_dir=cache)  # no error


def test_newcomer_usage_data_list_says_where_offline_and_cached_point(shared_data, tmp_path):
    # README: "toolkit data list  # manifests, offline folder and cache status"; the table named neither folder
    cache = tmp_path / "cache"
    result = _invoke("data", "list", "--data-dir", shared_data, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert f"offline: in the data folder {shared_data} (from --data-dir)" in result.stderr
    assert f"cached: in {cache / 'data'}" in result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split()[:3] == ["name", "format", "status"]
    assert all(" offline " in row for row in rows if row.startswith(("imdb ", "glove.6B.50d ")))
    unset = _invoke("data", "list", "--cache-dir", cache)
    assert "offline: no data folder is set (TOOLKIT_DATA_DIR or --data-dir)" in unset.stderr
    quiet = CliRunner().invoke(app, ["-q", "data", "list", "--cache-dir", str(cache)])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_newcomer_usage_missing_dask_extra_is_one_line_not_a_bug(reviews_txt, tmp_path, monkeypatch):
    # `pip install -e .` without [dask], then `toolkit store build`: a traceback and "this is a bug in toolkit"
    import sys

    for name in list(sys.modules):
        if name.split(".")[0] in ("dask", "distributed") or name.startswith("toolkit.distributed"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask -> ModuleNotFoundError, as when not installed
    monkeypatch.setitem(sys.modules, "distributed", None)
    line = _one_error_line(_invoke("store", "build", reviews_txt, "-o", tmp_path / "store"))
    assert line.startswith("Error: This command needs the optional [dask] extra, which is not installed")
    assert 'python -m pip install -e ".[dask]"' in line
    assert not (tmp_path / "store").exists()


@pytest.fixture
def load_imdb_calls(monkeypatch, shared_data):
    """Record the keyword arguments of each load_imdb call; return the first 30 reviews of the real split."""
    from toolkit.data import datasets

    real, calls = datasets.load_imdb, []

    def spy(split="train", **kwargs):
        calls.append(kwargs)
        return real(split, path=shared_data / "aclImdb_v1.tar.gz", limit=30,
                    **{k: v for k, v in kwargs.items() if k in ("cache_dir", "progress")})

    monkeypatch.setattr(datasets, "load_imdb", spy)
    return calls


def test_newcomer_usage_commands_show_the_imdb_read(load_imdb_calls, glove_small, shared_data, tmp_path, monkeypatch):
    # the first read of IMDB's tarball takes seconds (about 3.5 s a split on an idle 2-core machine, 15 s on a
    # busy one) and load_imdb has a bar for it, which the commands never asked for
    result = _invoke("vectors", "coverage", "imdb", "-V", glove_small, "--format", "glove", "--data-dir", shared_data)
    assert result.exit_code == 0, result.output
    assert [call.get("progress") for call in load_imdb_calls] == [True]
    quiet = CliRunner().invoke(app, ["-q", "vectors", "coverage", "imdb", "-V", str(glove_small), "--format", "glove",
                                     "--data-dir", str(shared_data)])
    assert quiet.exit_code == 0 and load_imdb_calls[-1].get("progress") is False

    import toolkit.cli.train as train_module
    from toolkit.data import datasets

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)
    train_calls = []

    def stop_after_the_test_split(split="train", **kwargs):  # the reads are what is checked: no fit
        train_calls.append(kwargs)
        if split == "test":
            raise KeyboardInterrupt
        return datasets.TextDataset(texts=["a good film", "a bad film"], labels=[1, 0], target_names=["neg", "pos"])

    monkeypatch.setattr(datasets, "load_imdb", stop_after_the_test_split)
    result = _invoke("train", "--limit", 10, "--data-dir", shared_data, "--no-baseline", "-o", tmp_path / "run")
    assert "Interrupted" in result.stderr, result.output
    assert [call.get("progress") for call in train_calls] == [True, True]  # the train split, then the test split

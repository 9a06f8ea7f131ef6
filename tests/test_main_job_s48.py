"""The README's main job as its user runs it (session 48): ``toolkit train`` on IMDB + GloVe, then its run folder.

Small real runs (``--limit``) and an offline machine without the vectors; the full job is never run here.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import types

import pytest
from conftest import saved_nb_pipeline

from toolkit.cli._common import _state


@pytest.fixture(autouse=True)
def _cli_state_restored(monkeypatch):
    """``-q`` (the in-process runs') sets the CLI's state for the process: put back after each test."""
    for key in ("quiet", "verbose", "debug"):
        monkeypatch.setitem(_state, key, _state.get(key))


def _tiny_imdb_folder(folder):
    """A data folder holding an IMDB-shaped aclImdb_v1.tar.gz (4 reviews a split) listed in its SHA256SUMS, and
    no vectors."""
    folder.mkdir()
    reviews = {"pos": ["A wonderful, moving film.", "Great acting and a fine story."],
               "neg": ["Dreadful and boring.", "An awful, stupid plot."]}
    tarball = folder / "aclImdb_v1.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for split in ("train", "test"):
            for label, texts in reviews.items():
                for i, text in enumerate(texts):
                    data = text.encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{i}_{9 if label == 'pos' else 2}.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{digest}  aclImdb_v1.tar.gz\n")
    return folder


@pytest.fixture
def offline(monkeypatch):
    """No network: every download attempt fails as a failed name lookup does (no back-off sleeps); the URLs
    tried are recorded."""
    import pooch.core
    import requests

    import toolkit.data._download as download

    tried = []

    class Offline:
        def __init__(self, progress):
            pass

        def __call__(self, url, output_file, pooch):
            tried.append(url)
            raise requests.ConnectionError(f"Failed to resolve the host of {url} (no network here)")

    monkeypatch.setattr(download, "_HTTPDownloader", Offline)
    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    return tried


@pytest.fixture
def nothing_heavy(monkeypatch):
    """The reviews read and TensorFlow loaded are errors: a run that fails for its inputs fails before them."""
    import toolkit.cli.train as train_module

    def read(*args, **kwargs):
        raise AssertionError("the reviews were read (and would be tokenized) before the missing input was named")

    def tensorflow():
        raise AssertionError("TensorFlow was loaded before the missing input was named")

    monkeypatch.setattr(train_module, "load_train_test", read)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", tensorflow)


def test_main_job_offline_without_glove_fails_before_reading_the_reviews(tmp_path, cli, offline, nothing_heavy):
    # the known gap: offline, the main job read and tokenized the reviews, loaded TensorFlow, then tried 3
    # downloads of glove.6B.zip; now the vectors are fetched first and the error comes in seconds
    data = _tiny_imdb_folder(tmp_path / "data")
    code, out, err = cli("train", "--data-dir", data, "--cache-dir", tmp_path / "cache", "--limit", 4, "-o", "run")
    assert code == 1 and out == "", err
    assert err.startswith("Error: Could not download https://nlp.stanford.edu/data/glove.6B.zip") and err.count("\n") == 1
    assert "glove.6B.50d.txt.gz" in err and str(data) in err  # what the data folder may hold instead of the zip
    assert all("glove" in url for url in offline)  # IMDB came from the data folder
    assert not (tmp_path / "run").exists()


def test_main_job_offline_without_any_data_names_everything_missing(tmp_path, monkeypatch, cli, offline,
                                                                      nothing_heavy):
    # no data folder, an empty cache: IMDB fails first, and the error said nothing of GloVe (the next run's
    # error, after the reviews were read and tokenized), nor that glove.6B.50d.txt.gz is a file it takes
    monkeypatch.delenv("TOOLKIT_DATA_DIR", raising=False)
    code, out, err = cli("train", "--cache-dir", tmp_path / "cache", "--limit", 4, "-o", "run")
    assert code == 1 and out == "", err
    assert err.startswith("Error: Could not download https://ai.stanford.edu/") and err.count("\n") == 1
    assert "also needs 'glove.6B.50d'" in err
    assert "aclImdb_v1.tar.gz or aclImdb for 'imdb'" in err
    assert "glove.6B.50d.txt.gz or glove.6B.50d.txt or glove.6B.zip for 'glove.6B.50d'" in err
    assert "--data-dir" in err
    assert len(offline) == 3 and all("aclImdb" in url for url in offline)  # one resource tried, three times


def test_main_job_vectors_by_path_fetch_only_imdb(tmp_path, monkeypatch, offline, nothing_heavy):
    # guard: a vectors file given by path is no download: only IMDB is fetched up front (the data folder),
    # and the run goes on to read the reviews
    data = _tiny_imdb_folder(tmp_path / "data")
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("film 0.1 0.2\ngreat 0.3 0.4\n")
    from typer.testing import CliRunner

    from toolkit.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["-q", "train", "--data-dir", str(data), "--cache-dir", str(tmp_path / "cache"),
                                      "--limit", "4", "-V", str(vectors), "-o", "run"])
    assert isinstance(result.exception, AssertionError) and "TensorFlow was loaded" in str(result.exception)
    assert offline == []


def test_main_job_evaluate_offline_fails_before_the_model_loads(tmp_path, monkeypatch, cli, offline):
    # evaluate on IMDB offline without IMDB failed only after TensorFlow and the model loaded
    import toolkit.cli.train as train_module

    model = saved_nb_pipeline(["good film", "bad film", "great", "awful"], ["pos", "neg", "pos", "neg"], tmp_path)
    monkeypatch.delenv("TOOLKIT_DATA_DIR", raising=False)

    def load(*args, **kwargs):
        raise AssertionError("the model was loaded before IMDB was fetched")

    monkeypatch.setattr(train_module, "_load_tensorflow_for", load)
    code, out, err = cli("evaluate", model, "--cache-dir", tmp_path / "cache", "--limit", 4)
    assert code == 1 and out == "", err
    assert err.startswith("Error: Could not download https://ai.stanford.edu/")
    assert "aclImdb_v1.tar.gz or aclImdb for 'imdb'" in err


def test_main_job_interrupted_with_force_says_the_earlier_run_is_kept(tmp_path, monkeypatch, cli, offline):
    # Ctrl-C of `train --force` into an earlier run said "Nothing was written to run": true, but whether the
    # earlier run survived was left to guess (it does: the folder is replaced only when training completes)
    import toolkit.cli.train as train_module

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", interrupted)
    data = _tiny_imdb_folder(tmp_path / "data")
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("film 0.1 0.2\ngreat 0.3 0.4\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"accuracy": 0.5}\n')
    args = ("train", "--data-dir", data, "--cache-dir", tmp_path / "cache", "--limit", 4, "-V", vectors, "-o", "run")
    code, out, err = cli(*args, "--force", quiet=False)
    assert code == 130 and out == ""
    assert "Interrupted. Nothing was written to run (it still holds the earlier run" in err
    assert (run / "metrics.json").read_text() == '{"accuracy": 0.5}\n' and sorted(p.name for p in tmp_path.iterdir()) \
        == ["cache", "data", "run", "vectors.txt"]
    code, out, err = cli(*args[:-2], "-o", "fresh", quiet=False)  # a new folder: no earlier run to speak of
    assert code == 130 and "Interrupted. Nothing was written to fresh: the run folder" in err


def test_main_job_warns_of_an_unlisted_data_file_once(tmp_path, monkeypatch, cli, offline):
    # a data folder's IMDB tarball that is not the published file and not in SHA256SUMS: each fetch of it
    # warned again (train fetches IMDB for its train split, its test split, and now up front): said once
    import toolkit.cli.train as train_module

    def stop(*args, **kwargs):
        raise KeyboardInterrupt  # after the reviews were read, before any model

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(train_module, "_check_known_labels", stop)
    data = _tiny_imdb_folder(tmp_path / "data")
    (data / "SHA256SUMS").unlink()
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("film 0.1 0.2\ngreat 0.3 0.4\n")
    code, out, err = cli("train", "--data-dir", data, "--cache-dir", tmp_path / "cache", "--limit", 4, "-V", vectors,
                         "-o", "run", quiet=False)
    assert code == 130, err
    assert err.count("does not match the official sha256 of 'imdb'") == 1, err
    code, out, err = cli("train", "--data-dir", data, "--cache-dir", tmp_path / "cache", "--limit", 4, "-V", vectors,
                         "-o", "run", quiet=False)
    assert code == 130 and out == ""
    assert err.count("does not match the official sha256 of 'imdb'") == 1, err  # and again in the next command

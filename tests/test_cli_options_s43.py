"""Options the CLI dropped, misread or misnamed (session 43).

- ``train --test-size 1.0`` (typer's float made "1.0" and "1" the same) trained on all but one document and
  reported "accuracy 1.0000 on 1 documents": the option is read as text now; ``1.0`` is a fraction that holds
  out everything and ``1`` a test part of one document, both errors before anything loads, and a fraction
  that gives one test document is an error of the split; so is ``--limit 1`` (one document in each part).
- ``predict --input lines.txt --column X`` (and ``tokenize``) dropped ``--column`` without a word when the
  lines are plain text: a warning names it.
- ``evaluate MODEL --plot cmx`` wrote a PNG named ``cmx``: it is ``cmx.png`` now, with a note; ``--plot -``
  wrote a PNG file named ``-``: an error now.
- ``data describe FILE --split test`` dropped ``--split`` without a word (``evaluate`` warned already).
- ``vectorize --output-mode count --maxlen 5`` said "maxlen (--maxlen) only apply to ... or drop them".

The commands run through typer's CliRunner in one process, with the working directory in ``tmp_path``.
"""

from __future__ import annotations

import csv

import pytest
from conftest import cli_runner, saved_nb_pipeline

from toolkit.cli._inputs import SettingError, load_train_test


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``toolkit ARGS`` (not quiet: warnings are the point) in ``tmp_path``: (exit code, stdout, stderr)."""
    return cli_runner(tmp_path, monkeypatch, quiet=False)


def _write_csv(path, texts, labels):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts, labels)])
    return path


# ------------------------------------------------------------------------------------------------ --test-size


@pytest.fixture(scope="module")
def nb_model(imdb_small, tmp_path_factory):
    """A saved tokenizer + bag + LogisticRegression pipeline fitted on 60 real reviews."""
    texts, labels = imdb_small
    return saved_nb_pipeline(texts[100:160], labels[100:160], tmp_path_factory.mktemp("s43_options"))


@pytest.mark.parametrize(("value", "message"), [
    ("1.0", ("Error: --test-size 1.0: a fraction of 1 holds out every document and leaves none to train on; "
             "give the held-out fraction of the data, between 0 and 1 (e.g. 0.2), or a whole number of test "
             "documents (e.g. 500).\n")),
    ("1", ("Error: --test-size 1: a test part of one document scores 0 or 1, which measures nothing; give at "
           "least as many test documents as the data has classes (e.g. 500), or a fraction (e.g. 0.2).\n")),
], ids=["1.0", "1"])
def test_train_test_size_one_is_refused_before_anything_loads(imdb_small, tmp_path, cli, monkeypatch, value,
                                                              message):
    # before: trained on 39 of 40 documents and printed "Test accuracy 1.0000 ... on 1 documents"
    import toolkit.cli.train as train_module

    def no_training(*args, **kwargs):
        raise AssertionError("trained with --test-size " + value)

    monkeypatch.setattr(train_module, "train", no_training)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", no_training)
    texts, labels = imdb_small
    _write_csv(tmp_path / "train.csv", texts[:40], labels[:40])
    code, out, err = cli("-q", "train", "--data", "train.csv", "--test-size", value, "--no-baseline", "-o", "run")
    assert (code, out, err) == (1, "", message)
    assert not (tmp_path / "run").exists()


def test_train_limit_one_is_refused_before_anything_loads(imdb_small, tmp_path, cli, monkeypatch):
    # before: one training document of one class and one test document; the fit failed after TensorFlow loaded
    import toolkit.cli.train as train_module

    def no_training(*args, **kwargs):
        raise AssertionError("trained with --limit 1")

    monkeypatch.setattr(train_module, "train", no_training)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", no_training)
    texts, labels = imdb_small
    _write_csv(tmp_path / "train.csv", texts[:40], labels[:40])
    code, out, err = cli("-q", "train", "--data", "train.csv", "--limit", "1", "--no-baseline", "-o", "run")
    assert (code, out) == (1, "")
    assert err == ("Error: --limit 1 keeps one training and one test document: a model needs documents of two "
                   "classes to learn from, and one test document scores 0 or 1. Give --limit 2 or more (e.g. "
                   "--limit 1000 for a quick run).\n")


@pytest.mark.parametrize(("value", "expected"), [("0.25", 0.25), ("2", 2), ("15.0", 15), ("1e1", 10)])
def test_train_test_size_fractions_and_counts_still_pass(imdb_small, tmp_path, cli, monkeypatch, value, expected):
    import toolkit.cli.train as train_module

    seen = {}

    class Stop(Exception):
        pass

    def record(*args, test_size, **kwargs):
        seen["test_size"] = test_size
        raise Stop

    monkeypatch.setattr(train_module, "train", record)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(train_module, "_fetch_first", lambda *a, **k: None)  # no GloVe download (offline CI)
    texts, labels = imdb_small
    _write_csv(tmp_path / "train.csv", texts[:40], labels[:40])
    cli("-q", "train", "--data", "train.csv", "--test-size", value, "--no-baseline", "-o", "run")
    assert seen["test_size"] == expected and type(seen["test_size"]) is type(expected)


def test_a_fraction_that_holds_out_one_document_is_an_error(imdb_small, tmp_path):
    # before: a split of 9 and 1 documents, scored "accuracy 1.0000 on 1 documents"
    texts, labels = imdb_small
    path = _write_csv(tmp_path / "small.csv", texts[:10], labels[:10])
    with pytest.raises(SettingError, match=r"^test_size=0\.1 \(--test-size\) holds out 1 of the 10 documents of "
                                           r".*small\.csv: one test document scores 0 or 1, which measures nothing"):
        load_train_test(str(path), test_size=0.1)
    _, _, x_test, _ = load_train_test(str(path), test_size=2)
    assert len(x_test) == 2


# ------------------------------------------------------------------------------------------ ignored options


def test_predict_column_of_plain_lines_is_reported_as_ignored(nb_model, imdb_small, tmp_path, cli):
    # before: exit 0 and not a word: --column applies to CSV/TSV/JSONL files and JSON lines only
    texts, labels = imdb_small
    (tmp_path / "lines.txt").write_text("".join(" ".join(t.split()) + "\n" for t in texts[:3]))
    code, out, err = cli("predict", nb_model, "--input", "lines.txt", "--column", "review")
    assert code == 0 and len(out.splitlines()) == 3, err
    assert ("Warning: --column review is ignored: lines.txt is read one document per line (plain text, not JSON "
            "lines). --column names the text column of a CSV/TSV/JSONL file, or the key of JSON lines.") in err
    code, out, err = cli("tokenize", "-", "--column", "review", stdin=(tmp_path / "lines.txt").read_text())
    assert code == 0 and "Warning: --column review is ignored: standard input is read one document" in err
    # where --column applies, or is the default, no warning
    _write_csv(tmp_path / "new.csv", texts[:3], labels[:3])
    for args in (["--input", "new.csv", "--column", "text"], ["--input", "lines.txt"]):
        code, out, err = cli("predict", nb_model, *args)
        assert code == 0 and "Warning" not in err, err


def test_evaluate_split_of_a_file_is_reported_as_ignored(nb_model, imdb_small, tmp_path, cli):
    # (this one already warned: kept as the pattern the --column warning follows)
    texts, labels = imdb_small
    _write_csv(tmp_path / "test.csv", texts[:20], labels[:20])
    code, out, err = cli("evaluate", nb_model, "test.csv", "--split", "train")
    assert code == 0 and '"n_samples": 20' in out, err
    assert "Warning: --split train is ignored: only 'imdb' has splits; test.csv is scored whole" in err


def test_data_describe_split_of_a_file_is_reported_as_ignored(imdb_small, tmp_path, cli):
    # before: `data describe FILE --split test` described the whole file without a word
    texts, labels = imdb_small
    _write_csv(tmp_path / "train.csv", texts[:20], labels[:20])
    code, out, err = cli("data", "describe", "train.csv", "--split", "test")
    assert code == 0 and out, err
    assert "Warning: --split test is ignored: only 'imdb' has splits; train.csv is described whole." in err
    code, out, err = cli("data", "describe", "train.csv")
    assert code == 0 and "Warning" not in err, err


# ---------------------------------------------------------------------------------------------------- --plot


def test_evaluate_plot_without_suffix_is_written_as_png(nb_model, imdb_small, tmp_path, cli):
    # before: a PNG named "cmx", which no viewer opens by its name
    texts, labels = imdb_small
    _write_csv(tmp_path / "test.csv", texts[:20], labels[:20])
    code, _, err = cli("evaluate", nb_model, "test.csv", "--plot", "cmx")
    assert code == 0, err
    assert "Note: --plot cmx has no suffix: the confusion matrix is written as PNG to cmx.png." in err
    assert not (tmp_path / "cmx").exists()
    assert (tmp_path / "cmx.png").read_bytes().startswith(b"\x89PNG")
    code, _, err = cli("evaluate", nb_model, "test.csv", "--plot", "cmx")  # the real file is the one checked
    assert code == 1 and "cmx.png" in err and "--force" in err, err
    code, _, err = cli("evaluate", nb_model, "test.csv", "--plot", "cm.svg")
    assert code == 0 and "Note" not in err and (tmp_path / "cm.svg").read_text().lstrip().startswith("<?xml")
    # before: a PNG file named "-" (standard output is where the metrics go)
    code, out, err = cli("evaluate", nb_model, "test.csv", "--plot", "-")
    assert (code, out) == (1, "") and not (tmp_path / "-").exists() and not (tmp_path / "-.png").exists()
    assert err == ("Error: --plot -: the confusion matrix is an image written to a file, not to standard output; "
                   "give the file's name (e.g. cm.png).\n")


# ------------------------------------------------------------------------------------------------- grammar


def test_vectorize_padding_options_message_agrees_in_number():
    # before: "maxlen (--maxlen) only apply to ..., or drop them."
    from toolkit.cli.text import vectorize

    with pytest.raises(ValueError, match=r"^maxlen \(--maxlen\) only applies to the padded id .* or drop it\.$"):
        vectorize(["a film"], output_mode="count", maxlen=5)
    with pytest.raises(ValueError, match=r"^maxlen / padding \(--maxlen, --padding\) only apply to .* drop them\.$"):
        vectorize(["a film"], output_mode="count", maxlen=5, padding="post")

"""The shell user who preprocesses, trains, predicts and evaluates (session 46).

- ``toolkit predict MODEL -i new.txt -o predictions.csv`` wrote JSON lines into the ``.csv`` file (exit 0):
  a spreadsheet or ``pandas.read_csv`` then saw one column of braces. An output named ``.csv``/``.tsv`` is
  now a table with a header (``label``, ``probability_<class>``...), and ``--format csv|tsv|jsonl`` chooses
  the format for standard output too.
- ``-o predictions.jsonl.gz`` / ``toolkit tokenize ... -o tokens.jsonl.gz`` wrote plain text under a gzip
  name (``zcat``: "not in gzip format"), though every reader of the toolkit takes compressed files: the
  output is now compressed as its suffix says (.gz, .bz2, .xz), and a ``.zst`` name is refused up front;
  ``toolkit grid -o grid.json.gz`` likewise.
- ``toolkit vectors convert ... out.vec.zst`` (or ``.lz4``) ended in a traceback, ``.xz`` was written but not
  readable by the toolkit, and ``vectors train ... w2v.txt.zst`` failed so after the training: refused up front.
- ``toolkit train --test-data`` naming the training file (or data whose repeats fall on both sides of the
  split) reported a perfect test score without a word: a warning says the scores are inflated.
- ``toolkit evaluate MODEL imdb --split unsup`` loaded the model and the tarball, then failed: refused at once.
- ``toolkit data describe new.txt --unlabelled`` said "Cannot read labelled data": a file of lines (or stdin)
  is read as unlabelled texts, and without --unlabelled the error says to add it.
- ``toolkit store train STORE`` without ``-o`` exited 1 without the usage, though the option is required.

The CLI runs in a subprocess whose working directory is ``tmp_path`` (the installed package is tested), or
in-process through typer's CliRunner where no real pipe matters.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma

import pytest
from conftest import saved_nb_pipeline
from conftest import toolkit_subprocess as _toolkit

#: the first reviews of conftest's imdb_small (shuffled, balanced) used as "new" documents
N_NEW = 6


@pytest.fixture
def new_txt(imdb_small, tmp_path):
    """A file of N_NEW real reviews, one per line."""
    texts = [" ".join(t.split()) for t in imdb_small[0][:N_NEW]]
    path = tmp_path / "new.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def _rows(text):
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def nb_model(imdb_small, tmp_path_factory):
    """A saved tokenizer + bag + LogisticRegression pipeline fitted on 120 real reviews (no Keras)."""
    texts, labels = imdb_small
    return saved_nb_pipeline(texts[N_NEW:N_NEW + 120], labels[N_NEW:N_NEW + 120], tmp_path_factory.mktemp("s46"))


def test_predict_output_named_csv_is_a_csv_table(nb_model, new_txt, tmp_path, cli):
    # before: exit 0 and predictions.csv held JSON lines ('{"label": "pos", "probabilities": {...}}')
    code, jsonl, err = cli("predict", nb_model, "--input", new_txt.name)
    assert code == 0, err
    code, out, err = _toolkit(tmp_path, "predict", nb_model, "--input", new_txt.name, "-o", "predictions.csv")
    assert (code, out) == (0, ""), err
    with open(tmp_path / "predictions.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    expected = _rows(jsonl)
    assert len(table) == N_NEW
    assert list(table[0]) == ["label", "probability_neg", "probability_pos"]
    for row, want in zip(table, expected, strict=True):
        assert row["label"] == want["label"]
        assert {k: float(row[f"probability_{k}"]) for k in want["probabilities"]} == want["probabilities"]


def test_predict_format_tsv_and_top_to_stdout(nb_model, new_txt, cli):
    code, jsonl, err = cli("predict", nb_model, "--input", new_txt.name, "--top", "1")
    assert code == 0, err
    code, out, err = cli("predict", nb_model, "--input", new_txt.name, "--top", "1", "--format", "tsv")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out), delimiter="\t"))
    assert list(table[0]) == ["label", "top_1_label", "top_1_probability"]
    assert [(r["label"], r["top_1_label"], float(r["top_1_probability"])) for r in table] == [
        (row["label"], row["top"][0]["label"], row["top"][0]["probability"]) for row in _rows(jsonl)]


def test_predict_csv_of_a_folder_names_files_and_marks_skipped(nb_model, imdb_small, tmp_path, cli):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(imdb_small[0][0], encoding="utf-8")
    (folder / "b.txt").write_text("word " * 1_100_000, encoding="utf-8")  # past spaCy's max_length
    code, out, err = cli("predict", nb_model, "--input", "docs", "--skip-bad", "--format", "csv")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["file"], r["skipped"]) for r in table] == [("a.txt", "false"), ("b.txt", "true")]
    assert table[1]["label"] == table[1]["probability_pos"] == ""
    assert float(table[0]["probability_neg"]) + float(table[0]["probability_pos"]) == pytest.approx(1, abs=1e-5)


def test_predict_unknown_format_is_a_one_line_error_before_the_model_loads(nb_model, new_txt, cli):
    code, out, err = cli("predict", nb_model, "--input", new_txt.name, "--format", "cvs")
    assert (code, out) == (1, "")
    assert err.startswith("Error: --format 'cvs' (did you mean 'csv'?)") and err.count("\n") == 1


@pytest.mark.parametrize(("name", "opener"), [("predictions.jsonl.gz", gzip.open), ("predictions.csv.bz2", bz2.open),
                                              ("predictions.jsonl.xz", lzma.open)])
def test_predict_compressed_output_is_compressed(nb_model, new_txt, tmp_path, cli, name, opener):
    # before: plain text under a compressed name; gzip.open raised "Not a gzipped file"
    code, jsonl, err = cli("predict", nb_model, "--input", new_txt.name)
    assert code == 0, err
    code, out, err = cli("predict", nb_model, "--input", new_txt.name, "-o", name)
    assert (code, out) == (0, ""), err
    with opener(tmp_path / name, "rt", encoding="utf-8") as fh:
        text = fh.read()
    if ".csv" in name:
        assert [r["label"] for r in csv.DictReader(io.StringIO(text))] == [r["label"] for r in _rows(jsonl)]
    else:
        assert text == jsonl


def test_tokenize_gz_output_is_gzip_and_reads_back(new_txt, tmp_path, cli):
    code, plain, err = cli("tokenize", new_txt.name)
    assert code == 0, err
    code, out, err = cli("tokenize", new_txt.name, "-o", "tokens.jsonl.gz")
    assert (code, out) == (0, ""), err
    assert gzip.decompress((tmp_path / "tokens.jsonl.gz").read_bytes()).decode("utf-8") == plain


@pytest.mark.parametrize("command", ["tokenize", "predict"])
def test_zstd_output_name_is_refused_and_nothing_written(nb_model, new_txt, tmp_path, cli, command):
    # before: exit 0 and plain text in tokens.jsonl.zst, which `zstd -d` refuses
    args = ["tokenize", new_txt.name] if command == "tokenize" else ["predict", nb_model, "-i", new_txt.name]
    code, out, err = cli(*args, "-o", "out.jsonl.zst")
    assert (code, out) == (1, "")
    assert err.startswith("Error: --output out.jsonl.zst: the toolkit does not write .zst files") and ".gz" in err
    assert not (tmp_path / "out.jsonl.zst").exists()


def test_store_train_without_output_is_a_usage_error(tmp_path, cli):
    # before: exit 1 and "Error: Give the model folder to write with --output." without the usage, though
    # its help said "(required)" and `store build` without -o is a usage error (exit 2)
    code, out, err = cli("store", "train", "corpus.store", "--set", "epochs=1")
    assert (code, out) == (2, "")
    assert "Usage: toolkit store train" in err and "Missing option '--output'" in err


@pytest.fixture
def reviews_csv(imdb_small, tmp_path):
    """80 real reviews (balanced, shuffled) with their labels in reviews.csv."""
    texts, labels = imdb_small
    with open(tmp_path / "reviews.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts[200:280], labels[200:280]))
    return tmp_path / "reviews.csv"


def test_train_on_its_own_test_data_warns_that_the_scores_are_inflated(reviews_csv, tmp_path, monkeypatch):
    # before: "Test accuracy 1.0000 ..." and nothing else: --test-data naming the training file looked like a
    # perfect model (`toolkit data describe --test-data` knew, `train` did not say)
    from typer.testing import CliRunner

    from toolkit.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "--model", "stack", "--data", "reviews.csv", "--test-data",
                                      "reviews.csv", "-V", "none", "--set", "n_jobs=1", "--no-baseline", "-o", "run"])
    assert result.exit_code == 0, result.stderr
    assert ("Warning: 80 of the 80 test documents (100%, --test-data reviews.csv) are also training documents, "
            "word for word: the test scores above are inflated") in result.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["n_test"] == 80


def test_a_few_repeats_as_in_imdb_are_no_warning():
    from toolkit.cli.train import _test_in_training_warning

    assert _test_in_training_warning(123, 25_000, "imdb") is None  # IMDB's own test split: 0.5% repeats
    assert _test_in_training_warning(0, 0, None) is None
    assert "held out from --data" in _test_in_training_warning(30, 200, None)


def test_evaluate_split_unsup_is_refused_before_the_model_loads(nb_model, data_dir_env, cli, monkeypatch):
    # before: the model and the tarball loaded, then "... has unlabelled documents; training and evaluation
    # need labels" (27 s on a busy machine for a cnn model); now one line at once
    import toolkit.cli.train as train_module

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(train_module, "evaluate", no_load)
    code, out, err = cli("evaluate", nb_model, "imdb", "--split", "unsup", "--limit", "20")
    assert (code, out) == (1, "")
    assert err == ("Error: --split unsup: IMDB's unsup reviews have no labels to score against; give --split test "
                   "(or train). To label them, use `toolkit predict MODEL --input FILE`.\n")


def test_data_describe_unlabelled_reads_a_file_of_lines_and_stdin(new_txt, reviews_csv, cli):
    # before: "Error: Cannot read labelled data from 'new.txt'" though --unlabelled was given
    code, out, err = cli("data", "describe", new_txt.name, "--unlabelled", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["source"], summary["documents"], summary["classes"]) == ("new.txt", N_NEW, {})
    code, out, err = cli("data", "describe", "-", "--unlabelled", stdin=new_txt.read_text(encoding="utf-8") * 2)
    assert code == 0, err
    assert out.startswith(f"data: standard input, {2 * N_NEW} documents, unlabelled\n")
    # the texts to predict against the training texts: how many the model was trained on
    code, out, err = cli("data", "describe", "reviews.csv", "--test-data", new_txt.name, "--unlabelled", "--json")
    assert code == 0, err
    assert json.loads(out)["test"]["documents"] == N_NEW


def test_data_describe_a_file_of_lines_without_unlabelled_says_to_add_it(new_txt, cli):
    code, out, err = cli("data", "describe", new_txt.name)
    assert (code, out) == (1, "")
    assert err == ("Error: new.txt is read as a file of lines, texts without labels: add --unlabelled to describe "
                   "its texts, or give labelled data (a CSV/TSV or JSON lines file with a label column, a "
                   "class-per-folder directory).\n")


@pytest.mark.parametrize("suffix", [".zst", ".lz4", ".xz"])
def test_vectors_convert_to_a_compression_it_cannot_read_is_refused(tmp_path, cli, suffix):
    # before: .zst and .lz4 ended in a traceback ("this is a bug in toolkit": gensim's writer asked smart_open for
    # backports.zstd / lz4), and .xz was written but `toolkit vectors info` read it as text ("the first line has
    # no values")
    (tmp_path / "v.txt").write_text("the 0.1 0.2 0.3\ngood 0.7 0.8 0.9\n", encoding="utf-8")
    code, out, err = cli("vectors", "convert", "v.txt", f"out.vec{suffix}")
    assert (code, out) == (1, "")
    assert err == (f"Error: Cannot write out.vec{suffix}: it ends in {suffix}, but vectors are compressed with gzip "
                   f"(.gz) or bz2 (.bz2), not {suffix[1:]}. Name it out.vec.gz instead.\n")
    assert not list(tmp_path.glob("*out.vec*"))


def test_vectors_train_to_zst_is_refused_before_training(new_txt, tmp_path, cli, monkeypatch):
    # before: the texts were tokenized and word2vec trained, then the write failed with a traceback
    import toolkit.cli.vectors as vectors_module

    def no_training(*args, **kwargs):
        raise AssertionError("trained")

    monkeypatch.setattr(vectors_module, "_read_documents", no_training)
    code, out, err = cli("vectors", "train", new_txt.name, "w2v.txt.zst", "--set", "min_count=1")
    assert (code, out) == (1, "")
    assert err.startswith("Error: Cannot write w2v.txt.zst: it ends in .zst") and "w2v.txt.gz" in err


def test_grid_output_named_gz_is_gzip(reviews_csv, tmp_path, cli, monkeypatch):
    # before: the scores' JSON as plain text in grid.json.gz (gzip.open: "Not a gzipped file")
    import toolkit.cli.grid as grid_module

    result = {"candidates": [], "best_params": {"epochs": 1}, "best_score": 0.5, "scoring": "accuracy",
              "backend": "local (n_jobs=1)"}
    monkeypatch.setattr(grid_module, "_load_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(grid_module, "run_grid", lambda *args, **kwargs: result)  # the search is not the point
    code, out, err = cli("grid", "--data", "reviews.csv", "--grid", "epochs=1,2", "--local", "-o", "grid.json.gz")
    assert (code, out) == (0, ""), err
    assert json.loads(gzip.decompress((tmp_path / "grid.json.gz").read_bytes())) == result

"""The shell user who preprocesses, trains, predicts and evaluates (session 43).

- JSON lines piped to stdin (``cat new.jsonl | toolkit predict MODEL``) or kept in a ``.txt`` file were
  read line by line and classified as raw text, braces, keys and labels included, with exit 0: they are
  read as JSON lines now (the ``--column`` of each record), and a record without it is an error naming
  the line and the keys.
- A CSV/TSV file piped to stdin had its header and whole rows (label column included) classified or
  tokenized: it is an error now that says how to give the file.
- ``toolkit predict MODEL --input FOLDER`` gave rows without the file each one is about.
- ``toolkit grid --set epochs=5 --grid epochs=1,2`` dropped the ``--set`` without a word, and ``toolkit
  train --vectors none --set vectors=glove.6B.50d`` trained with GloVe: both are errors before any fit.

The CLI runs in a subprocess whose working directory is ``tmp_path`` (the installed package is tested).
"""

from __future__ import annotations

import csv
import json

import pytest
from conftest import saved_nb_pipeline
from conftest import toolkit_subprocess as _toolkit

#: the first reviews of conftest's imdb_small (shuffled, balanced) used as "new" documents
N_NEW = 6


@pytest.fixture
def new_reviews(imdb_small, tmp_path):
    """(texts, their JSON lines with the text under "review" and a "sentiment" label)."""
    texts, labels = imdb_small
    texts = [" ".join(t.split()) for t in texts[:N_NEW]]
    lines = "".join(json.dumps({"review": t, "sentiment": str(y)}) + "\n" for t, y in zip(texts, labels))
    return texts, lines


def _rows(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture(scope="module")
def nb_model(imdb_small, tmp_path_factory):
    """A saved tokenizer + bag + LogisticRegression pipeline fitted on 120 real reviews."""
    texts, labels = imdb_small
    return saved_nb_pipeline(texts[N_NEW:N_NEW + 120], labels[N_NEW:N_NEW + 120], tmp_path_factory.mktemp("s43"))


def test_jsonl_on_stdin_is_predicted_by_its_column(nb_model, new_reviews, tmp_path, cli):
    # before: exit 0, each whole JSON line classified as a review ('{"review": ..., "sentiment": "pos"}')
    texts, lines = new_reviews
    (tmp_path / "new.txt").write_text("\n".join(texts) + "\n")
    code, expected, err = cli("predict", nb_model, "--input", "new.txt")
    assert code == 0, err
    code, out, err = _toolkit(tmp_path, "predict", nb_model, "--column", "review", stdin=lines)
    assert code == 0, err
    assert _rows(out) == _rows(expected) and len(_rows(out)) == N_NEW


def test_jsonl_on_stdin_without_its_column_names_the_keys(nb_model, new_reviews, cli):
    _, lines = new_reviews
    code, out, err = cli("predict", nb_model, "-", stdin=lines)
    assert (code, out) == (1, "")
    assert err == ("Error: Standard input, line 1: key 'text' (--column) not found; the record's keys are "
                   "['review', 'sentiment']. Pass --column <one of them>.\n")


def test_jsonl_in_a_txt_file_is_tokenized_by_its_column(new_reviews, tmp_path, cli):
    _, lines = new_reviews
    (tmp_path / "new.txt").write_text("\n" + lines.replace("\n", "\n\n", 1))  # blank lines: still line numbers
    code, out, err = cli("tokenize", "new.txt", "--column", "review")
    assert code == 0, err
    tokens = _rows(out)
    assert len(tokens) == N_NEW and "review" not in tokens[0] and "{" not in tokens[0]
    (tmp_path / "mixed.txt").write_text(lines.splitlines()[0] + "\n\nA plain review line.\n")
    code, out, err = cli("tokenize", "mixed.txt", "--column", "review")
    assert (code, out) == (1, "")
    assert err.startswith("Error: 'mixed.txt', line 3: not a JSON object, but line 1 is one"), err


@pytest.mark.parametrize("command", ["predict", "tokenize"])
def test_csv_piped_to_stdin_is_refused_not_read_whole(nb_model, new_reviews, tmp_path, cli, command):
    # before: exit 0, the header 'text,label' and each whole row, labels included, predicted / tokenized
    texts, _ = new_reviews
    with open(tmp_path / "new.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("text", "label"), *((t, "pos") for t in texts)])
    args = ("predict", nb_model, "-") if command == "predict" else ("tokenize", "-")
    code, out, err = cli(*args, stdin=(tmp_path / "new.csv").read_text())
    assert (code, out) == (1, "")
    assert err.startswith("Error: Standard input starts with a CSV header ('text,label'): "), err
    assert "give the CSV file by its name (FILE.csv, with --column)" in err and err.count("\n") == 1
    code, out, err = cli(*args[:-1], *(["--input"] if command == "predict" else []), "new.csv")
    assert code == 0 and len(out.splitlines()) == N_NEW, err


def test_plain_lines_on_stdin_still_read_as_texts(nb_model, cli):
    code, out, err = cli("predict", nb_model, stdin="text, acting and score: all fine\n{great}\n")
    assert code == 0 and len(_rows(out)) == 2, err


def test_predict_folder_rows_name_their_files(nb_model, new_reviews, tmp_path, cli):
    # before: {"label": ..., "probabilities": ...} only; the rows follow the files' natural order (2 before 10)
    texts, _ = new_reviews
    for i, name in enumerate(["pos/10.txt", "pos/2.txt", "neg/1.txt"]):
        (tmp_path / "new" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "new" / name).write_text(texts[i])
    code, out, err = cli("predict", nb_model, "--input", "new", "--top", "1")
    assert code == 0, err
    rows = _rows(out)
    assert [row["file"] for row in rows] == ["neg/1.txt", "pos/2.txt", "pos/10.txt"]
    assert all(list(row) == ["file", "label", "top"] for row in rows)
    code, out, err = cli("predict", nb_model, "--top", "1", texts[2], texts[1], texts[0])
    assert code == 0, err
    assert [{k: v for k, v in row.items() if k != "file"} for row in rows] == _rows(out)


def test_grid_set_and_grid_of_one_parameter_is_an_error(tmp_path, imdb_small, cli):
    # before: exit 0 after every fit, each candidate with the grid's epochs and --set epochs=5 ignored
    texts, labels = imdb_small
    with open(tmp_path / "train.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[:20], labels[:20])])
    code, out, err = cli("grid", "--data", "train.csv", "--local", "--cv", "2", "--set", "epochs=5",
                              "--grid", "epochs=1,2", "--set", "architecture=nbsvm")
    assert (code, out) == (1, "")
    assert err == ("Error: --set epochs=5 and --grid epochs=... name the same parameter: every candidate would take "
                   "the grid's values. Drop --set epochs, or add its value to the grid (epochs=v1,v2).\n")


def test_train_vectors_and_set_vectors_disagreeing_is_an_error(tmp_path, imdb_small, shared_data, cli):
    # before: trained with GloVe (--set won) and exit 0
    texts, labels = imdb_small
    with open(tmp_path / "train.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[:40], labels[:40])])
    code, out, err = cli("train", "--data", "train.csv", "--data-dir", shared_data, "--no-baseline",
                              "--vectors", "none", "--set", "vectors=glove.6B.50d", "--set", "epochs=1", "-o", "run")
    assert (code, out) == (1, "")
    assert err == "Error: --vectors none and --set vectors=glove.6B.50d name two vectors; give one of them (--vectors).\n"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["train", "describe"])
def test_test_data_with_other_columns_says_to_rename_not_to_pass_column(tmp_path, imdb_small, cli, command):
    # before: "Pass --column <one of them>", and with --column review the training file lacked it
    texts, labels = imdb_small
    with open(tmp_path / "train.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[:20], labels[:20])])
    (tmp_path / "test.jsonl").write_text("".join(json.dumps({"review": t, "sentiment": str(y)}) + "\n"
                                                 for t, y in zip(texts[20:30], labels[20:30])))
    args = (["train", "--data", "train.csv", "--no-baseline", "-o", "run"] if command == "train"
            else ["data", "describe", "train.csv"])
    code, out, err = cli(*args, "--test-data", "test.jsonl")
    assert (code, out) == (1, "")
    assert err == ("Error: test.jsonl, line 1: key 'text' (--column) not found; the record's keys are ['review', "
                   "'sentiment']. --column names the text column of the training data (train.csv) and --test-data "
                   "alike: give both files the same column names (rename them in one file), then pass them.\n")
    # a folder has no columns: --column names the test file's alone, and the advice stays
    for label in ("neg", "pos"):
        (tmp_path / "folder" / label).mkdir(parents=True)
        (tmp_path / "folder" / label / "1.txt").write_text(f"A {label} review.")
    args[args.index("train.csv")] = "folder"
    code, out, err = cli(*args, "--test-data", "test.jsonl")
    assert code == 1 and err.endswith("Pass --column <one of them>.\n"), err

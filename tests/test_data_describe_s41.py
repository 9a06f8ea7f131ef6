"""``toolkit data describe``: a user's own labelled data summarised before a long training run (documents,
classes, words per document, empty and repeated texts, test texts that are also training texts), read as
``toolkit train --data`` reads it. Small files of real IMDB reviews."""

import csv
import json

import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli.data import describe_data


def _write_csv(path, rows, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def files(imdb_small, tmp_path):
    texts, labels = imdb_small
    texts, labels = list(texts[:40]), [str(y) for y in labels[:40]]
    train = list(zip(texts[:30], labels[:30]))
    flipped = "neg" if labels[3] == "pos" else "pos"
    # record 30 repeats record 0 with its label; record 31 repeats record 3 with the other label; 32 is blank
    train += [(texts[0], labels[0]), (texts[3], flipped), ("   ", labels[5])]
    # the test file: 10 new reviews, then training record 7 again
    test = list(zip(texts[30:40], labels[30:40])) + [(texts[7], labels[7])]
    return (_write_csv(tmp_path / "train.csv", train), _write_csv(tmp_path / "test.csv", test), texts, labels)


def test_describe_counts_classes_words_and_repeated_texts(files):
    train, test, texts, labels = files
    summary = describe_data(train, test_data=test)
    assert summary["documents"] == 33
    expected = {name: labels[:30].count(name) + [labels[0], "neg" if labels[3] == "pos" else "pos",
                                                 labels[5]].count(name) for name in ("neg", "pos")}
    assert summary["classes"] == expected
    lengths = sorted([len(t.split()) for t in texts[:30]] + [len(texts[0].split()), len(texts[3].split()), 0])
    assert summary["words"]["min"] == 0 and summary["words"]["max"] == lengths[-1]
    assert summary["empty"] == [32]
    assert sorted(summary["duplicates"]) == [[0, 30], [3, 31]]
    assert summary["conflicts"] == [[3, 31]]  # the same review with two labels
    assert any("different labels (first: records 3, 31)" in w for w in summary["warnings"])
    assert any("no words (first: record 32)" in w for w in summary["warnings"])
    assert summary["test"]["documents"] == 11 and summary["test"]["in_training"] == [10]
    assert any("1 test document(s) are also training texts" in w for w in summary["test"]["warnings"])


def test_describe_on_the_command_line_table_and_json(files):
    train, test, _, _ = files
    result = CliRunner().invoke(app, ["data", "describe", str(train), "--test-data", str(test)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"data: {train}, 33 documents" in out and f"test data: {test}, 11 documents" in out
    assert "repeated texts: 2 (in 2 groups)" in out and "also in the training data: 1" in out
    assert "warning: 1 text(s) occur with different labels" in out
    result = CliRunner().invoke(app, ["data", "describe", str(train), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["duplicates"] == [[0, 30], [3, 31]]


def test_describe_warns_of_a_missing_or_unseen_class_and_one_class(imdb_small, tmp_path):
    texts, labels = imdb_small
    pos = [t for t, y in zip(texts, labels) if y == "pos"][:6]
    neg = [t for t, y in zip(texts, labels) if y == "neg"][:6]
    train = _write_csv(tmp_path / "train.csv", [(t, "pos") for t in pos] + [(t, "neg") for t in neg[:3]])
    test = _write_csv(tmp_path / "test.csv", [(neg[4], "neg"), (neg[5], "meh")])
    summary = describe_data(train, test_data=test)
    assert any("class(es) 'neg' have fewer than 5 documents" in w for w in summary["warnings"])
    assert any("no test documents of class(es) 'pos'" in w for w in summary["test"]["warnings"])
    assert any("test class(es) 'meh' never occur in the training data" in w for w in summary["test"]["warnings"])
    one = describe_data(_write_csv(tmp_path / "one.csv", [(t, "pos") for t in pos]))
    assert any("fewer than two classes" in w for w in one["warnings"])
    unlabelled = describe_data(_write_csv(tmp_path / "u.csv", [(t,) for t in pos], header=("text",)),
                               label_column=None)
    assert unlabelled["classes"] == {} and unlabelled["documents"] == 6 and unlabelled["warnings"] == []


def test_describe_errors_name_the_column_and_data_info_points_to_describe(files):
    train, _, _, _ = files
    result = CliRunner().invoke(app, ["data", "describe", str(train), "--column", "review"])
    assert result.exit_code == 1
    assert "Column 'review' (--column) not found" in " ".join(result.stderr.split())
    result = CliRunner().invoke(app, ["data", "info", str(train)])
    assert result.exit_code == 1
    assert f"`toolkit data describe {train}` summarises your own labelled data" in " ".join(result.stderr.split())

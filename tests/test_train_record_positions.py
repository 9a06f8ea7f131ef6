"""`toolkit train` / `evaluate` name the record of the user's file that a document error is about.

The training and test parts are shuffled by the split (and subsampled by --limit), so an estimator's
"Document N of X" is rarely record N of the file: the error names the record and its line instead.
Real IMDB reviews, a tiny bag model without vectors (seconds).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_labelled_csv
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli._inputs import DocumentRecords, _subsample, load_train_test
from toolkit.cli.train import _record_error, evaluate, train
from toolkit.exceptions import DataError, DocumentError

# explicit, as tests/test_cli.py's TINY: a cheap model, no vectors; the tokenizer refuses texts over 5,000 characters
TINY = {"architecture": "bag", "ngram_range": (1, 1), "epochs": 1, "maxlen": 50, "max_tokens": 2000,
        "validation_split": 0.1, "tokenizer__max_length": 5000}
CLI_TINY = ["--set", "architecture=bag", "--set", "ngram_range=(1, 1)", "--set", "epochs=1", "--set", "maxlen=50",
            "--set", "max_tokens=2000", "--set", "validation_split=0.1", "--vectors", "none", "--no-baseline"]


@pytest.fixture(scope="module")
def reviews(shared_data):
    """60 real IMDB test reviews shorter than 3,000 characters, classes mixed: (texts, labels)."""
    from toolkit.data.datasets import load_imdb

    ds = load_imdb("test", data_dir=shared_data, limit=120, shuffle=True, random_state=0)
    pairs = [(t, ds.target_names[y]) for t, y in zip(ds.texts, ds.labels) if len(t) < 3000][:60]
    assert {y for _, y in pairs[:40]} == {y for _, y in pairs[40:]} == {"neg", "pos"}
    return [t for t, _ in pairs], [y for _, y in pairs]


def write_jsonl(path, texts, labels, *, blank_after=()):
    """One record per line; a blank line after the records in ``blank_after``. Returns each record's line."""
    lines, starts = [], []
    for i, (text, label) in enumerate(zip(texts, labels)):
        starts.append(len(lines) + 1)
        lines.append(json.dumps({"text": text, "label": label}))
        if i in blank_after:
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return starts


def write_csv(path, texts, labels):
    """A header, then one record per row (quoted texts may span lines). Returns each record's first line."""
    write_labelled_csv(path, texts, labels)
    starts, line = [], 2
    for text in texts:
        starts.append(line)
        line += text.count("\n") + 1  # csv.writer keeps a text's newlines inside its quotes
    return starts


def long_text(texts):
    """6,000 characters of real reviews: more than TINY's max_length."""
    return " ".join(texts)[:6000]


def multiline(texts):
    """The reviews with their <br /><br /> paragraph breaks as real newlines (a CSV record spans lines)."""
    return [t.replace("<br /><br />", "\n\n") for t in texts]


# ------------------------------------------------------------------ the positions load_train_test returns

@pytest.mark.parametrize("limit", [None, 20])
def test_positions_point_at_each_documents_record(reviews, tmp_path, limit):
    texts, labels = reviews
    path = tmp_path / "reviews.jsonl"
    write_jsonl(path, texts, labels)
    out = load_train_test(path, test_size=0.25, limit=limit, with_ratings=True, with_positions=True)
    x_train, y_train, x_test, y_test, ratings, (p_train, p_test) = out
    assert ratings is None
    for x, y, records in ((x_train, y_train, p_train), (x_test, y_test, p_test)):
        assert isinstance(records, DocumentRecords) and len(records) == len(x) > 0
        assert [texts[r] for r in records.records] == list(x)
        assert [labels[r] for r in records.records] == list(y)
    assert list(p_train.records) != sorted(p_train.records)  # shuffled: document i is not record i
    assert not set(p_train.records) & set(p_test.records)
    # the shape existing callers unpack is unchanged, and so is the split
    plain = load_train_test(path, test_size=0.25, limit=limit)
    assert len(plain) == 4 and plain[0] == x_train and plain[2] == x_test


def test_positions_of_a_separate_test_file(reviews, tmp_path):
    texts, labels = reviews
    write_jsonl(tmp_path / "train.jsonl", texts[:40], labels[:40])
    write_jsonl(tmp_path / "test.jsonl", texts[40:], labels[40:])
    *_, x_test, _, (p_train, p_test) = load_train_test(tmp_path / "train.jsonl", test_data=tmp_path / "test.jsonl",
                                                        with_positions=True)
    assert p_train.source.endswith("train.jsonl") and p_test.source.endswith("test.jsonl")
    assert [texts[40 + r] for r in p_test.records] == x_test


def test_imdb_ratings_follow_the_positions(shared_data, data_dir_env):
    """with_ratings keeps giving each training review its own stars, now through the positions."""
    from toolkit.data.datasets import load_imdb

    x_train, _, _, _, ratings, (p_train, _) = load_train_test("imdb", limit=30, with_ratings=True,
                                                              with_positions=True)
    ds = load_imdb("train", data_dir=shared_data)
    assert [ds.texts[r] for r in p_train.records] == x_train
    assert ratings.tolist() == ds.ratings[p_train.records].tolist()
    assert p_train.describe(0) == f"the file {ds.filenames[p_train.records[0]]} in {ds.source}"


def test_lines_of_csv_records_that_span_lines(reviews, tmp_path):
    texts, labels = multiline(reviews[0]), reviews[1]
    path = tmp_path / "reviews.csv"
    starts = write_csv(path, texts, labels)
    assert starts[-1] > len(texts) + 1  # the records span lines: record i is not on line i + 2
    records = DocumentRecords(path, np.arange(len(texts))[::-1])
    for index in (0, 7, len(texts) - 1):
        record = len(texts) - 1 - index
        assert records.line(index) == starts[record]
        assert records.describe(index) == f"record {record} (line {starts[record]}) of {path}"


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_lines_of_table_records_after_blank_lines_and_quoted_newlines(reviews, tmp_path, suffix):
    """Blank lines (skipped by the reader), a quoted field over three lines, CRLF line ends, a byte-order mark."""
    sep = "\t" if suffix == ".tsv" else ","
    a, b, c = (t.replace('"', "'").replace(sep, " ") for t in reviews[0][:3])
    rows = ["text" + sep + "label", f'"{a}"{sep}pos', "", f'"{b[:40]}\nsecond line\nthird"{sep}neg', "", "",
            f'"{c}"{sep}pos', f'"{c[:20]}"{sep}neg']
    path = tmp_path / f"reviews{suffix}"
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    from toolkit.cli._inputs import load_data

    ds = load_data(path)
    assert [t.replace("\r\n", "\n") for t in ds.texts] == [a, f"{b[:40]}\nsecond line\nthird", c, c[:20]]
    records = DocumentRecords(path, [3, 2, 1, 0])
    assert [records.line(i) for i in range(4)] == [10, 9, 4, 2]  # header 1, blank 3, 7 and 8
    assert records.describe(1) == f"record 2 (line 9) of {path}"


def test_lines_of_jsonl_records_after_blank_lines(reviews, tmp_path):
    texts, labels = reviews
    path = tmp_path / "reviews.jsonl"
    starts = write_jsonl(path, texts, labels, blank_after={3, 4, 20})
    records = DocumentRecords(path, np.arange(len(texts)))
    assert [records.line(i) for i in range(len(texts))] == starts
    assert records.line(30) == 34


# ------------------------------------------------------------------ the errors name the record

def training_record(path, test_size):
    """A record of the training part of ``path`` (the split ignores the texts) that is not its document of the
    same number, and that document's number."""
    *_, (p_train, _) = load_train_test(path, test_size=test_size, with_positions=True)
    index = next(i for i in range(len(p_train)) if p_train.record(i) != i)
    return p_train.record(index), index


def test_cli_train_names_the_record_of_an_empty_document(reviews, tmp_path):
    """The empty review is record R (line R + 1) of the file; the classifier met it as another document of X."""
    texts, labels = list(reviews[0]), reviews[1]
    path = tmp_path / "reviews.jsonl"
    write_jsonl(path, texts, labels)
    record, index = training_record(path, 0.2)  # --test-size's default
    texts[record] = ""
    write_jsonl(path, texts, labels)
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(path), "-o", str(tmp_path / "run"), *CLI_TINY])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"Error: Record {record} (line {record + 1}) of {path} has no tokens"), lines[0]
    assert f"It is document {index} of the training part" in lines[0] and "Fix or remove that record" in lines[0]
    assert not (tmp_path / "run").exists()


def test_cli_train_of_a_stack_names_the_record_its_member_met_on_a_fold(reviews, tmp_path):
    """Before: the NBSVM++ member's "Document i of X" (i counted its cross-validation fold) came back from a
    joblib worker as a plain ValueError, and the user read "a bug in toolkit" and a traceback."""
    texts, labels = list(reviews[0]), reviews[1]
    path = tmp_path / "reviews.jsonl"
    write_jsonl(path, texts, labels)
    # a document late in the training part: a fold that holds out earlier documents counts it otherwise
    *_, (p_train, _) = load_train_test(path, test_size=0.2, with_positions=True)
    index = len(p_train) - 3
    record = p_train.record(index)
    assert record != index
    texts[record] = "<br /><br />"  # no text once the tokenizer strips the markup
    write_jsonl(path, texts, labels)
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(path), "--model", "stack-many", "-V", "none",
                                      "--set", "n_jobs=2", "--no-baseline", "-o", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"Error: Record {record} (line {record + 1}) of {path} has no tokens"), lines[0]
    assert f"It is document {index} of the training part" in lines[0]
    assert not (tmp_path / "run").exists()


def test_train_names_the_csv_line_of_an_empty_document(reviews, tmp_path):
    """Records span lines: the line is the record's first one, counted as the CSV reader counts."""
    texts, labels = multiline(reviews[0]), reviews[1]
    path = tmp_path / "reviews.csv"
    write_csv(path, texts, labels)
    record, index = training_record(path, 0.25)
    texts[record] = "<br /><br />  "  # nothing left once the tokenizer strips the HTML
    starts = write_csv(path, texts, labels)
    assert starts[record] != record + 2
    with pytest.raises(DataError, match=rf"^Record {record} \(line {starts[record]}\) of .*reviews\.csv has no "
                                        "tokens") as err:
        train(path, vectors=None, settings=TINY, test_size=0.25, baseline=False)
    assert f"It is document {index} of the training part (shuffled by the split)" in str(err.value)


def test_train_names_the_record_of_a_too_long_test_document(reviews, tmp_path):
    """A review of the test part longer than the tokenizer's max_length fails the scoring of the test part."""
    texts, labels = list(reviews[0]), reviews[1]
    path = tmp_path / "reviews.jsonl"
    write_jsonl(path, texts, labels)
    *_, (_, p_test) = load_train_test(path, test_size=0.25, with_positions=True)  # the split ignores the texts
    record = int(p_test.records[-1])
    texts[record] = long_text(texts)
    write_jsonl(path, texts, labels)
    with pytest.raises(DataError, match=rf"^Record {record} \(line {record + 1}\) of .*reviews\.jsonl has "
                                        r"[\d,]+ characters, more than max_length=5,000") as err:
        train(path, vectors=None, settings=TINY, test_size=0.25, baseline=False)
    assert f"It is document {len(p_test) - 1} of the test part" in str(err.value)


def test_evaluate_names_the_record_in_a_limited_sample(reviews, tmp_path):
    """evaluate --limit scores a sample in file order: document i of the sample is not record i."""
    texts, labels = list(reviews[0]), reviews[1]
    path = tmp_path / "train.jsonl"
    write_jsonl(path, texts[:40], labels[:40])
    fitted = train(path, vectors=None, settings=TINY, test_size=0.25, baseline=False).estimator
    limit = 12
    _, _, kept = _subsample(texts, np.asarray(labels), limit, 0, extra=np.arange(len(texts)))
    record = int(kept[-1])
    assert record != limit - 1
    texts[record] = long_text(texts)
    path = tmp_path / "score.csv"
    starts = write_csv(path, texts, labels)
    with pytest.raises(DataError, match=rf"^Record {record} \(line {starts[record]}\) of .*score\.csv has "
                                        r"[\d,]+ characters") as err:
        evaluate(fitted, path, limit=limit)
    assert f"It is document {limit - 1} of the sample ({limit} documents drawn by --limit)" in str(err.value)


def test_only_an_error_that_carries_its_document_index_is_renamed(tmp_path):
    """The toolkit's DocumentError (the tokenizer, the classifier, a stack's member remapped to the stack's X)
    names its record; an error without an index is left as it is, whatever its wording."""
    path = tmp_path / "reviews.jsonl"
    write_jsonl(path, ["a fine film", "", "dull", "good", "<br />", "bad"], ["pos"] * 6)
    records = DocumentRecords(path, [5, 4, 3, 2, 1, 0])
    too_long = DocumentError("Document 2 of X has 9,000 characters, more than max_length=5,000.", document_index=2)
    named = _record_error(too_long, records, "training part")
    assert isinstance(named, DataError)
    assert str(named).startswith(f"Record 3 (line 4) of {path} has 9,000 characters"), str(named)
    assert _record_error(ValueError("Document 0 of X has no tokens."), records, "training part") is None
    assert _record_error(ValueError("Unknown label type"), records, "training part") is None


def test_an_error_that_carries_its_document_index_is_named_by_it(tmp_path):
    """An error with a ``document_index`` attribute (whatever its wording) names its record too."""
    path = tmp_path / "reviews.jsonl"
    write_jsonl(path, ["a", "b", "c"], ["pos", "neg", "pos"])
    err = DataError("This document is unusable.")
    err.document_index = 1
    named = _record_error(err, DocumentRecords(path, [2, 0, 1]), "test part")
    assert str(named).startswith(f"Record 0 (line 1) of {path}: This document is unusable. It is document 1 of")

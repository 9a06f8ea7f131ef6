"""A data scientist's own labelled files (Excel and pandas exports, JSON lines, class folders) through the
readers and the commands: repeated column names, missing labels as pandas writes them, labels with spaces,
Excel's empty rows and semicolons, an unclosed quote, a class folder without .txt files, a test file
without a class."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolkit.cli._inputs import DocumentRecords, load_data, load_train_test
from toolkit.data import load_csv, load_folder, load_jsonl
from toolkit.exceptions import DataError


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """12 real IMDB reviews and their 'neg'/'pos' labels, a pandas frame as a user holds them."""
    pd = pytest.importorskip("pandas")
    texts, labels = imdb_small
    return pd.DataFrame({"review": list(texts[:12]), "sentiment": list(labels[:12])})


def test_a_repeated_column_name_is_refused_not_read_from_the_last_column(reviews, tmp_path):
    # an Excel sheet with two "text" columns (the review, then a note): csv.DictReader keeps the last one,
    # so the notes were silently trained on as the texts
    frame = reviews.assign(note="checked")[["review", "sentiment", "note"]]
    frame.columns = ["text", "label", "text"]
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"reviews\.csv: the header names 2 columns 'text' \(columns 1, 3 of 3\), so "
                                        r"the column 'text' \(text_column\) is ambiguous\. Rename them"):
        load_csv(path)
    with pytest.raises(DataError, match=r"columns 1, 3 of 3\), so the column 'text' \(--column\) is ambiguous"):
        load_data(path)
    frame.columns = ["review", "label", "label"]
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"2 columns 'label' \(columns 2, 3 of 3\)"):
        load_csv(path, text_column="review")


def _nan_as_text_csv(frame, path):
    # NaN -> 'nan', as str(value), Series.map(str) and pandas 2's astype(str) write it
    frame.assign(sentiment=frame.sentiment.map(str)).to_csv(path, index=False)


@pytest.mark.parametrize("kind, line, shown", [
    ("csv map(str)", 4, r"\('nan': a missing value, not a class\)"),
    ("jsonl json.dumps", 3, r"\(nan: a missing value, not a class\)"),
    ("jsonl to_json", 3, r"\(null\)"),
])
def test_missing_labels_as_pandas_and_json_write_them_are_named_not_made_a_class(reviews, tmp_path, kind, line,
                                                                                  shown):
    # before: a class 'nan' (trained on and predicted) for the first two; "label None ... is not a scalar"
    frame = reviews.copy()
    frame.loc[2, "sentiment"] = np.nan
    if kind.startswith("csv"):
        path = tmp_path / "reviews.csv"
        _nan_as_text_csv(frame, path)
        read = load_csv
    else:
        path = tmp_path / "reviews.jsonl"
        if kind.endswith("to_json"):
            frame.to_json(path, orient="records", lines=True)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict("records")), encoding="utf-8")
        read = load_jsonl
    with pytest.raises(DataError, match=rf"reviews\.{path.suffix[1:]}, line {line}: missing label in column "
                                        rf"'sentiment' {shown}\. Fill in .*df\.dropna\(subset=\['sentiment'\]\)"):
        read(path, text_column="review", label_column="sentiment")


def test_infinite_labels_and_null_texts_say_what_they_are(tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text('{"text": "a fine film", "label": 1}\n{"text": "dull", "label": Infinity}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: label inf in column 'label' is an infinity, not a class"):
        load_jsonl(path)
    path.write_text('{"text": "a fine film", "label": 1}\n{"text": null, "label": 0}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: missing text \(null\) in 'text'\. Fill it in or drop the record"):
        load_jsonl(path)


def test_string_labels_with_spaces_around_them_are_one_class(reviews, tmp_path):
    # "pos " typed in an Excel cell and "pos" were two classes (four in all), while " 1" and "1" were one
    labels = [f" {s}" if i % 3 == 0 else f"{s} " if i % 3 == 1 else s for i, s in enumerate(reviews.sentiment)]
    path = tmp_path / "reviews.csv"
    reviews.assign(sentiment=labels).to_csv(path, index=False)
    ds = load_csv(path, text_column="review", label_column="sentiment")
    assert ds.target_names == ["neg", "pos"]
    assert (np.asarray(ds.target_names)[ds.labels] == reviews.sentiment.to_numpy()).all()
    jsonl = tmp_path / "reviews.jsonl"
    reviews.assign(sentiment=labels).to_json(jsonl, orient="records", lines=True)
    assert load_jsonl(jsonl, text_column="review", label_column="sentiment").target_names == ["neg", "pos"]


def test_excel_semicolon_csv_with_cleared_rows_trains_from_the_command_line(reviews, tmp_path, caplog):
    # Excel in a German/French locale saves "CSV" with ';' and leaves ';;' for rows whose cells were cleared;
    # before: the command refused the file ("convert the file") and load_csv stopped at "missing label"
    path = tmp_path / "Bewertungen.csv"
    frame = reviews.rename(columns={"review": "text", "sentiment": "label"})
    body = frame.to_csv(sep=";", index=False, lineterminator="\r\n")
    rows = body.split("\r\n")
    rows.insert(4, ";")  # a cleared row among the data, line 5
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + ";\r\n;\r\n").encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        ds = load_csv(path, delimiter=";")
    assert ds.texts == list(frame.text) and ds.target_names == ["neg", "pos"]
    assert "3 row(s) of empty fields skipped (first: line 5)" in caplog.text
    assert load_data(path).texts == ds.texts  # the command's reader finds the ';' itself
    # a record after the cleared row is named by its own line (the records do not count the cleared row)
    header_and_records = [0] + [1 + frame.text[i].count("\n") for i in range(len(frame))]
    assert DocumentRecords(str(path), [3]).line(0) == 1 + sum(header_and_records[:4]) + 1 + 1
    x_train, _, x_test, y_test = load_train_test(path, test_size=4)
    assert sorted(x_train + x_test) == sorted(frame.text) and set(y_test) == {"neg", "pos"}


def test_tokenize_command_reads_a_semicolon_csv(reviews, tmp_path):
    path = tmp_path / "reviews.csv"
    reviews.head(3).to_csv(path, sep=";", index=False)
    env = {**os.environ, "TOOLKIT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([str(Path(sys.executable).parent / "toolkit"), "-q", "tokenize", str(path), "--column",
                             "review"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_an_unclosed_quote_names_the_line_where_it_opens(tmp_path):
    # before: "line 4: missing label" only, the line where the file ended, not the one to fix
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\nA fine film,pos\n"Dull, and too long,neg\nGreat cast,pos\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"reviews\.csv, line 4: missing label in column 'label' \(the row has 1 of "
                                        r"the header's 2 fields\)\. The row runs from line 3 to line 4: a field that "
                                        r"starts with a quote \(\"\) on line 3 is not closed"):
        load_csv(path)


def test_padded_header_names_are_pointed_out(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text , label\nA fine film,pos\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"The header's 'text ' has spaces around the name: remove them"):
        load_csv(path)


def test_a_class_folder_without_txt_files_is_named(reviews, tmp_path, caplog):
    # before: the class 'neutral' (its files saved as .md) had no documents, without a word
    for i, (text, label) in enumerate(zip(reviews.review, reviews.sentiment)):
        (tmp_path / label).mkdir(exist_ok=True)
        (tmp_path / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "neutral").mkdir()
    for i in range(3):
        (tmp_path / "neutral" / f"{i}.md").write_text("An ordinary film.", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        ds = load_folder(tmp_path)
    assert ds.target_names == ["neg", "neutral", "pos"] and len(ds) == len(reviews)
    assert ("class folder 'neutral' holds no files ending in .txt, so the class has no documents (other files: "
            "'neutral': 3; rename them" in caplog.text)
    caplog.clear()
    assert len(load_folder(tmp_path, extensions=None)) == len(reviews) + 3 and not caplog.text


def test_test_data_without_a_class_of_the_training_data_warns(reviews, tmp_path, caplog):
    # a test file of positive reviews only scored accuracy 1.0 without a word about the missing class
    train, test = tmp_path / "train.csv", tmp_path / "test.jsonl"
    reviews.to_csv(train, index=False)
    reviews[reviews.sentiment == "pos"].to_json(test, orient="records", lines=True)
    with caplog.at_level(logging.WARNING, logger="toolkit.cli._inputs"):
        *_, y_test = load_train_test(train, test_data=test, column="review", label_column="sentiment")
    assert set(y_test) == {"pos"}
    assert f"The test data {test} has no documents of class 'neg', which the training data {train} has" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.cli._inputs"):
        load_train_test(train, test_data=train, column="review", label_column="sentiment")
    assert "no documents of class" not in caplog.text


def test_json_files_the_commands_read_and_those_they_name_the_conversion_for(reviews, tmp_path):
    # before: `toolkit predict --input reviews.json` scored each raw line of JSON text as a review (one document
    # for pandas' default to_json), and `train --data` refused JSON lines saved as .json (Yelp's dataset is)
    from toolkit.cli._inputs import check_labelled_path, read_input

    lines = tmp_path / "reviews.json"
    reviews.to_json(lines, orient="records", lines=True)
    assert read_input(lines, column="review") == list(reviews.review)
    ds = load_data(lines, column="review", label_column="sentiment")
    assert (np.asarray(ds.target_names)[ds.labels] == reviews.sentiment.to_numpy()).all()
    assert DocumentRecords(str(lines), [2]).line(0) == 3
    array = tmp_path / "array.json"
    reviews.to_json(array, orient="records")
    for read in (lambda p: read_input(p, column="review"), check_labelled_path):
        with pytest.raises(DataError, match=r"array\.json' is one JSON document \(an array, or an object over several "
                                            r"lines\), not JSON lines; .*pd\.read_json\('.*array\.json'\)\.to_json\("
                                            r"'.*array\.jsonl', orient='records', lines=True\); then pass"):
            read(array)


def test_parquet_and_excel_files_name_the_conversion(reviews, tmp_path):
    from toolkit.cli._inputs import check_labelled_path, read_input

    path = tmp_path / "reviews.parquet"
    path.write_bytes(b"PAR1\x00\x00PAR1")  # the format's magic; nothing reads further
    for read in (read_input, check_labelled_path):
        with pytest.raises(DataError, match=r"reviews\.parquet' is a \.parquet file; the commands read CSV/TSV files, "
                                            r"JSON lines .*pd\.read_parquet\('.*reviews\.parquet'\)\.to_csv\("
                                            r"'.*reviews\.csv', index=False\)"):
            read(path)
    with pytest.raises(DataError, match=r"pd\.read_excel\("):
        check_labelled_path(path.rename(tmp_path / "reviews.xlsx"))


@pytest.mark.parametrize("content, hint", [
    ('{"text": "good", "label": "pos"}{"text": "bad", "label": "neg"}\n', (r"line 1: not valid JSON \(Extra data\)\. "
     r"Two JSON values on one line \(character 33\): files joined without a newline")),
    ('[\n  {"text": "good", "label": "pos"}\n]\n', (r"line 1: not valid JSON \(Expecting value\)\. An object or array "
     r"spread over several lines \(pretty-printed JSON\)\? Write one JSON object per line \(pandas: ")),
    ('[{"text": "good", "label": "pos"}]\n', (r"line 1: expected a JSON object, got list\. The line is a JSON array "
     r"of objects; JSON lines hold one object per line\.")),
])
def test_json_lines_errors_say_what_the_file_most_likely_is(tmp_path, content, hint):
    path = tmp_path / "reviews.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=hint):
        load_jsonl(path)


def test_check_columns_names_a_missing_column_from_the_header_alone(reviews, tmp_path):
    # for the commands' checks before TensorFlow loads: `toolkit train --data reviews.csv` with a wrong
    # --column failed only after about 5 s of imports
    from toolkit.cli._inputs import check_columns

    csv_path, jsonl_path = tmp_path / "reviews.csv", tmp_path / "reviews.jsonl"
    reviews.to_csv(csv_path, sep=";", index=False)
    reviews.to_json(jsonl_path, orient="records", lines=True)
    for path in (csv_path, jsonl_path):
        check_columns(path, column="review", label_column="sentiment")
        check_columns(path, column="review", label_column=None)
    with pytest.raises(DataError, match=r"Column 'text' \(--column\) not found in .*reviews\.csv; its columns are "
                                        r"\['review', 'sentiment'\]\. Pass --column <one of them>"):
        check_columns(csv_path)
    with pytest.raises(DataError, match=r"reviews\.jsonl, line 1: key 'label' \(--label-column\) not found; the "
                                        r"record's keys are \['review', 'sentiment'\]"):
        check_columns(jsonl_path, column="review")
    for other in ("imdb", "-", None, tmp_path, tmp_path / "absent.csv"):
        check_columns(other)  # left to the readers


def test_data_info_on_an_own_file_says_which_commands_read_it(reviews, tmp_path):
    # before: "Unknown data manifest 'reviews.csv' ... Add a .toml file to one of [...]": write a manifest for it
    path = tmp_path / "reviews.csv"
    reviews.to_csv(path, index=False)
    for command in ("info", "fetch"):
        result = subprocess.run([str(Path(sys.executable).parent / "toolkit"), "data", command, "reviews.csv"],
                                capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert (f"'reviews.csv' is a file, not a data manifest name: `toolkit data {command}` works on the "
                "downloadable datasets" in result.stderr)
        assert "toolkit train --data reviews.csv" in result.stderr and ".toml" not in result.stderr


@pytest.mark.parametrize("cell, message", [
    ("#N/A", r"missing label in column 'label' \('#N/A': a missing value, not a class\)"),
    ("<NA>", r"missing label in column 'label' \('<NA>': a missing value, not a class\)"),
    ("#DIV/0!", r"label '#DIV/0!' in column 'label' is an Excel error value \(a formula that failed\), not a class"),
])
def test_excel_and_pandas_missing_value_cells_are_not_classes(tmp_path, cell, message):
    # before: each was a class of its own ('#N/A'), trained on and predicted
    path = tmp_path / "labels.csv"
    path.write_text(f"text,label\nA fine film,pos\nDull,{cell}\nN/A is a fine label,N/A\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"labels\.csv, line 3: {message}\. Fill in"):
        load_csv(path)
    path.write_text("text,label\nA fine film,pos\nNone of it works,None\nNot rated,N/A\n", encoding="utf-8")
    assert load_csv(path).target_names == ["N/A", "None", "pos"]  # words some label sets use: kept as classes


@pytest.mark.parametrize("option, value, shown", [
    ("--column", "review_text", r"Column 'review_text' \(--column\) not found in .*reviews\.csv"),
    ("--label-column", "stars", r"Column 'stars' \(--label-column\) not found in .*reviews\.csv"),
])
def test_train_names_a_missing_column_before_it_loads_the_data(reviews, tmp_path, monkeypatch, option, value, shown):
    # before: the column was looked for only when load_train_test read the file, after the command had imported
    # its models (about 6 s of TensorFlow for a typo in --column; `train --help` says inputs are checked first)
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.cli import train as train_module

    path = tmp_path / "reviews.csv"
    reviews.rename(columns={"review": "text", "sentiment": "label"}).to_csv(path, index=False)

    def loaded(*args, **kwargs):
        raise AssertionError("load_train_test was called before the columns were checked")

    monkeypatch.setattr(train_module, "load_train_test", loaded)
    result = CliRunner().invoke(app, ["train", "--data", str(path), option, value, "--vectors", "none",
                                      "--no-baseline", "-o", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert not isinstance(result.exception, AssertionError), result.exception
    assert re.search(shown, " ".join(result.output.split())), result.output
    assert not (tmp_path / "run").exists()

"""A data scientist's own files read the same way everywhere: the Dask reader (and the store) as the commands'
readers, `toolkit tokenize`'s output given back to a command that reads raw text, data of one class named
before anything heavy, and booleans as Python, JSON and Excel write them."""

import gzip
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolkit.cli._inputs import load_data, load_train_test, read_input
from toolkit.exceptions import DataError


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """12 real IMDB reviews and their 'neg'/'pos' labels, a pandas frame as a user holds them."""
    pd = pytest.importorskip("pandas")
    texts, labels = imdb_small
    return pd.DataFrame({"text": list(texts[:12]), "label": list(labels[:12])})


def _names(path):
    """The class of each document as the commands read ``path`` (load_csv / load_jsonl)."""
    ds = load_data(path)
    return [ds.target_names[y] for y in ds.labels]


def _dask_labels(path):
    from toolkit.distributed import read_texts

    pairs = read_texts(str(path), text_column="text", label_column="label").compute(scheduler="sync")
    return [label for _, label in pairs]


def _padded(frame):
    # "pos " and " neg": cells typed in Excel, ", "-separated exports
    return frame.assign(label=[f"{y} " if i % 2 else f" {y}" for i, y in enumerate(frame.label)])


def _write(frame, path, **options):
    if path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(frame.to_csv(index=False, **options).encode("utf-8")))
    else:
        frame.to_csv(path, index=False, **options)
    return path


@pytest.mark.parametrize("name, make, options", [
    ("padded.csv", _padded, {}),
    ("padded.jsonl", _padded, {}),
    # Excel's CSV in a German or French locale; before: "has no column 'text'; its columns are ['text;label']"
    ("excel.csv", _padded, {"sep": ";"}),
    ("excel.csv.gz", _padded, {"sep": ";"}),
    # a float column (NaN rows dropped) as pandas writes it: before '1.0'/'0.0' on Dask, '1'/'0' in memory
    ("floats.csv", lambda f: f.assign(label=(f.label == "pos").astype(float)), {}),
    # before: 'NA' and 'None' read by pandas as missing, "has no label" on Dask; classes as written in memory
    ("na.csv", lambda f: f.assign(label=np.where(f.label == "pos", "NA", "None")), {}),
])
def test_dask_reader_gives_the_classes_of_the_commands_readers(reviews, tmp_path, name, make, options):
    # before: 'pos ' and ' neg' were four classes on Dask, two in memory
    path = _write(make(reviews), tmp_path / name, **options)
    dask_labels = _dask_labels(path)
    if not name.endswith(".gz"):  # the commands refuse a .csv.gz (decompress it), read_texts reads it
        assert dask_labels == _names(path)
    assert len(set(dask_labels)) == 2 and all(label == label.strip() for label in dask_labels)


def test_store_built_from_a_padded_excel_csv_has_the_classes_of_train(reviews, tmp_path):
    from toolkit.distributed import CorpusStore

    path = _write(_padded(reviews), tmp_path / "reviews.csv", sep=";")
    store = CorpusStore.build(str(path), tmp_path / "store", text_column="text", label_column="label",
                              tokenizer={"remove_punct": True}, scheduler="sync")
    assert store.labels().tolist() == _names(path) == list(reviews.label)


@pytest.mark.parametrize("cell, shown", [
    ("#N/A", r"missing label in column 'label' \('#N/A': a missing value, not a class\)"),
    ("nan", r"missing label in column 'label' \('nan': a missing value, not a class\)"),
    ("#DIV/0!", r"label '#DIV/0!' in column 'label' is an Excel error value"),
])
def test_dask_reader_refuses_the_missing_labels_load_csv_refuses(reviews, tmp_path, cell, shown):
    # before: '#DIV/0!' was a class on Dask, and '#N/A' / 'nan' were NaN labels in the pairs read_texts gave
    frame = reviews.copy()
    frame.loc[3, "label"] = cell
    path = _write(frame, tmp_path / "reviews.csv")
    with pytest.raises(DataError, match=shown):
        load_data(path)
    with pytest.raises(DataError, match=rf"reviews\.csv \(the record whose text starts .*\): {shown}"):
        _dask_labels(path)
    path = _write(frame, tmp_path / "reviews.jsonl")
    with pytest.raises(DataError, match=rf"reviews\.jsonl \(the record whose text starts .*\): {shown}"):
        _dask_labels(path)


def test_dask_reader_refuses_a_label_column_named_twice(reviews, tmp_path):
    # before: pandas renamed the second 'label' to 'label.1' and the store took the first one silently
    path = tmp_path / "reviews.csv"
    frame = reviews.assign(note="checked")
    frame.columns = ["text", "label", "label"]
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"2 columns 'label' \(columns 2, 3 of 3\)"):
        load_data(path)
    with pytest.raises(DataError, match=r"2 columns 'label' \(columns 2, 3 of 3\), so the column 'label' "
                                        r"\(label_column\) is ambiguous"):
        _dask_labels(path)


# --------------------------------------------------------------------------- toolkit tokenize's output


def test_token_lists_given_where_raw_text_is_read_say_so(tmp_path):
    tokens = '["a", "good", "film"]\n["awful"]\n'
    # before: stdin and a .txt file were read as raw text, the JSON itself tokenized: a vocabulary of '[', '"'
    with pytest.raises(DataError, match=r"Standard input holds token lists .*what `toolkit tokenize` writes"):
        read_input("-", stdin=io.StringIO(tokens))
    (tmp_path / "tokens.txt").write_text(tokens)
    with pytest.raises(DataError, match=r"'.*tokens\.txt' holds token lists"):
        read_input(tmp_path / "tokens.txt")
    assert read_input("-", stdin=io.StringIO("[a bracketed note] then text\n")) == ["[a bracketed note] then text"]


def test_vectorize_of_tokenize_output_says_to_give_the_raw_text(reviews, tmp_path):
    # the shell pipeline: `toolkit tokenize reviews.txt -o tokens.jsonl`, then `toolkit vectorize tokens.jsonl`;
    # before: "line 1: expected a JSON object, got list ... Write one JSON object per line (pandas: ...)"
    (tmp_path / "reviews.txt").write_text("\n".join(t.replace("\n", " ") for t in reviews.text[:3]) + "\n")
    env = {**os.environ, "TOOLKIT_DATA_DIR": str(tmp_path)}
    toolkit = str(Path(sys.executable).parent / "toolkit")
    run = {"capture_output": True, "text": True, "cwd": tmp_path, "env": env, "timeout": 120}
    assert subprocess.run([toolkit, "-q", "tokenize", "reviews.txt", "-o", "tokens.jsonl"], check=False,
                          **run).returncode == 0
    result = subprocess.run([toolkit, "vectorize", "tokens.jsonl", "-o", "m.npz"], check=False, **run)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "'tokens.jsonl' holds token lists" in result.stderr
    assert "reads raw text and tokenizes it itself: give it the text you tokenized" in result.stderr
    assert not (tmp_path / "m.npz").exists()


# --------------------------------------------------------------------------- one class, booleans


def test_data_of_one_class_is_named_before_the_split(reviews, tmp_path):
    # before: split, subsampled and returned; the fit failed after the tokenizer ("at least 2 classes")
    path = _write(reviews.assign(label="pos"), tmp_path / "reviews.csv")
    with pytest.raises(DataError, match=r"reviews\.csv has documents of one class only, 'pos' in its label column "
                                        r"'label' \(12 documents\).*check that --label-column names"):
        load_train_test(path, test_size=3)


def test_check_training_classes_reads_the_file_once(reviews, tmp_path, monkeypatch):
    from toolkit.cli import _inputs
    from toolkit.data import datasets

    path = _write(reviews.assign(label="pos"), tmp_path / "reviews.csv")
    with pytest.raises(DataError, match="one class only"):
        _inputs.check_training_classes(path)
    path = _write(reviews, tmp_path / "reviews.csv")
    reads = []
    real = datasets.load_csv
    monkeypatch.setattr(datasets, "load_csv", lambda *a, **k: reads.append(a) or real(*a, **k))
    _inputs.check_training_classes(path)  # the command's early check (train, before TensorFlow)
    x_train, _, x_test, _ = load_train_test(path, test_size=3)
    assert len(reads) == 1 and sorted(x_train + x_test) == sorted(reviews.text)
    load_data(path)
    assert len(reads) == 2  # taken once: a later read reads the file again


@pytest.mark.parametrize("train_name, test_name", [("excel.csv", "python.jsonl"), ("python.jsonl", "excel.csv")])
def test_booleans_written_by_excel_and_by_json_are_the_same_class(reviews, tmp_path, caplog, train_name,
                                                                  test_name):
    # Excel and R write TRUE/FALSE into a CSV, json.dumps and pandas' to_json true/false (read as True/False);
    # before: "The test data has labels 'False', 'True' that the model was never trained on"
    frame = reviews.assign(label=reviews.label == "pos")
    excel = frame.assign(label=np.where(frame.label, "TRUE", "FALSE"))
    files = {"excel.csv": _write(excel, tmp_path / "excel.csv"), "python.jsonl": _write(frame, tmp_path / "p.jsonl")}
    with caplog.at_level(logging.INFO, logger="toolkit.cli._inputs"):
        _, y_train, _, y_test = load_train_test(files[train_name], test_data=files[test_name])
    assert set(y_test) == set(y_train) == ({"TRUE", "FALSE"} if train_name == "excel.csv" else {"True", "False"})
    assert list(y_test) == list(y_train)  # the same 12 reviews, in the same order
    assert "read as" in caplog.text
    # other labels are left as they are
    _, _, _, y_test = load_train_test(files[train_name], test_data=_write(reviews, tmp_path / "t.jsonl"))
    assert set(y_test) == {"neg", "pos"}


def test_train_names_one_class_before_tensorflow(reviews, tmp_path, monkeypatch):
    # before: 'toolkit train' loaded TensorFlow and tokenized (6-11 s) before the fit said "at least 2 classes"
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.cli import train as train_module

    path = _write(reviews.assign(label="pos"), tmp_path / "reviews.csv")
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: pytest.fail("TensorFlow loaded"))
    result = CliRunner().invoke(app, ["train", "--data", str(path), "-o", str(tmp_path / "run")])
    assert result.exit_code != 0 and "has documents of one class only, 'pos'" in result.output


def test_evaluate_matches_json_booleans_to_a_model_trained_on_excel_booleans():
    # before: "te.jsonl has labels 'False', 'True' that the model was never trained on; its classes are
    # ['FALSE', 'TRUE']"
    from toolkit.cli.train import _as_classes, _check_known_labels

    _check_known_labels(["True", "false"], ["FALSE", "TRUE"], "te.jsonl")
    assert list(_as_classes(["True", "false"], ["FALSE", "TRUE"])) == ["TRUE", "FALSE"]


def test_store_build_command_reads_an_excel_semicolon_csv(reviews, tmp_path):
    # before: "reviews.csv has no column 'text' (--column); its columns are ['text;label']"
    from toolkit.cli.store import _check_inputs

    path = _write(_padded(reviews), tmp_path / "reviews.csv", sep=";")
    _check_inputs([str(path)], "text", "label")


@pytest.mark.parametrize("frame_change, args, shown", [
    ("one class", [], "has documents of one class only, 'pos'"),
    ("no column", ["--column", "review_text"], "Column 'review_text' (--column) not found"),
])
def test_grid_names_one_class_or_a_missing_column_before_tensorflow(reviews, tmp_path, monkeypatch, frame_change,
                                                                     args, shown):
    # before: 'toolkit grid' loaded TensorFlow (and, without --local, started a Dask cluster) first
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.cli import grid as grid_module

    frame = reviews.assign(label="pos") if frame_change == "one class" else reviews
    path = _write(frame, tmp_path / "reviews.csv")
    monkeypatch.setattr(grid_module, "_load_tensorflow_quietly", lambda: pytest.fail("TensorFlow loaded"))
    result = CliRunner().invoke(app, ["grid", "--data", str(path), "--grid", "epochs=1,2", "--local", *args])
    assert result.exit_code != 0 and shown in " ".join(result.output.split()), result.output

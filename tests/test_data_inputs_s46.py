"""A user's own data, compressed or not, through the readers and the commands (session 46).

- Standard input decompressed gzip only: ``xz -c reviews.jsonl | toolkit predict MODEL -`` (or bzip2) failed
  as "not utf-8 ... or a binary file?". bz2 and xz are now found by their first bytes, as in files.
- :func:`toolkit.data.load_folder` (and a folder given to the commands) skipped ``pos/1_7.txt.gz`` (not a
  ``.txt``) or, with ``extensions=None`` and ``decode_errors="replace"``, read its compressed bytes as the
  review. Compressed files of a folder are now decompressed, and a damaged one is named.
- The advice for undecodable text said ``iconv -f latin1`` for Excel's cp1252 files too: followed, it turned
  their curly quotes, dashes and euro signs into invisible control characters without an error.
- JSON lines with nested fields (``{"review": {"body": ...}}``) could not be read: ``"review.body"`` now names
  the nested key, as :func:`pandas.json_normalize` names it.

Small real IMDB samples (the conftest's ``imdb_small``).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import subprocess
import sys

import pytest
from conftest import invoke_quiet as _invoke
from conftest import one_error as _one_error
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli._inputs import load_train_test, read_input
from toolkit.data import load_csv, load_folder, load_jsonl
from toolkit.exceptions import DataError

COMPRESS = {"gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}
SUFFIX = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz"}


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """30 real reviews on one line each, and their labels ('neg'/'pos')."""
    texts, labels = imdb_small
    return [" ".join(t.split()) for t in texts[:30]], [str(label) for label in labels[:30]]


def _stdin(data: bytes):
    """A text stream over ``data`` with a binary ``buffer``, as :data:`sys.stdin` is."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def _folder(root, texts, labels, compress=None):
    """IMDB's layout: ``root/neg``, ``root/pos``, one review per file; each file compressed with ``compress``
    (a name of COMPRESS, or a list of them, one per file in turn; None: plain)."""
    for i, (text, label) in enumerate(zip(texts, labels)):
        kind = compress[i % len(compress)] if isinstance(compress, list) else compress
        data = text.encode("utf-8")
        name = f"{i}_{7 if label == 'pos' else 2}.txt"
        if kind is not None:
            data, name = COMPRESS[kind](data), name + SUFFIX[kind]
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / name).write_bytes(data)
    return root


# --------------------------------------------------------------------------- stdin


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz"])
def test_data_inputs_stdin_decompresses_gzip_bz2_and_xz(kind, reviews):
    texts, labels = reviews
    lines = "".join(t + "\n" for t in texts).encode("utf-8")
    # before: bz2 and xz read as text, "Cannot read standard input as utf-8 text ... or a binary file?"
    assert read_input("-", stdin=_stdin(COMPRESS[kind](lines))) == texts
    records = "".join(json.dumps({"review": t, "label": y}) + "\n" for t, y in zip(texts, labels)).encode()
    assert read_input("-", stdin=_stdin(COMPRESS[kind](records)), column="review") == texts


def test_data_inputs_stdin_cut_short_or_zstd_is_named(reviews):
    data = lzma.compress("".join(t + "\n" for t in reviews[0]).encode("utf-8"))
    with pytest.raises(DataError, match=r"^Standard input: not a complete xz file .*`xz -t FILE`"):
        read_input("-", stdin=_stdin(data[: len(data) // 2]))
    with pytest.raises(DataError, match=r"^Standard input is Zstandard-compressed \(zstd\).*zstd -dc FILE"):
        read_input("-", stdin=_stdin(b"\x28\xb5\x2f\xfd" + bytes(range(40))))
    # text that starts with "BZh" (no bzip2 block follows) is text
    assert read_input("-", stdin=_stdin(b"BZh is a film\nawful\n")) == ["BZh is a film", "awful"]


def test_data_inputs_xz_piped_to_the_command(reviews, tmp_path):
    texts = reviews[0][:3]
    data = lzma.compress("".join(t + "\n" for t in texts).encode("utf-8"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-m", "toolkit", "-q", "tokenize", "-"], input=data,
                            capture_output=True, cwd=tmp_path, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(rows) == 3 and all(isinstance(tokens, list) for tokens in rows)
    words = [w for w in texts[0].split() if w.isalpha()][:3]  # the review's words, not compressed bytes
    assert words and all(w in rows[0] or w.lower() in rows[0] for w in words), (words, rows[0][:20])


# --------------------------------------------------------------------------- folders


def test_data_inputs_load_folder_decompresses_each_file(reviews, tmp_path):
    texts, labels = reviews
    plain = load_folder(_folder(tmp_path / "plain", texts, labels))
    for name, compress in (("gzipped", "gzip"), ("mixed", ["gzip", "bz2", "xz", None])):
        packed = load_folder(_folder(tmp_path / name, texts, labels, compress))
        # before: no '.txt' file found ('1_7.txt.gz' does not end in '.txt'): "No text files ... found"
        assert packed.texts == plain.texts and list(packed.labels) == list(plain.labels)
        assert packed.target_names == ["neg", "pos"]
        assert [name.split(".txt")[0] for name in packed.filenames] == [n[:-4] for n in plain.filenames]
    assert {n[n.index(".txt"):] for n in packed.filenames} == {".txt", ".txt.gz", ".txt.bz2", ".txt.xz"}
    # every file read, whatever its suffix: the compressed bytes are not the document
    anyname = load_folder(tmp_path / "mixed", extensions=None, decode_errors="replace")
    assert anyname.texts == plain.texts


def test_data_inputs_load_folder_names_a_damaged_file(reviews, tmp_path):
    texts, labels = reviews
    root = _folder(tmp_path / "reviews", texts[:6], labels[:6], "gzip")
    bad = min((root / labels[0]).iterdir())
    bad.write_bytes(bad.read_bytes()[:20])  # a copy cut short
    with pytest.raises(DataError, match=rf"{bad}: not a complete gzip file .*`gzip -t FILE`"):
        load_folder(root)
    line = _one_error(_invoke("data", "describe", root))
    assert f"{bad}: not a complete gzip file" in line, line


def test_data_inputs_commands_read_a_compressed_folder(reviews, tmp_path, predict_echoes_texts):
    texts, labels = reviews
    plain = _folder(tmp_path / "plain", texts, labels)
    packed = _folder(tmp_path / "packed", texts, labels, ["gzip", "xz"])
    assert read_input(packed) == read_input(plain) == load_folder(plain).texts
    got, want = load_train_test(str(packed), test_size=10), load_train_test(str(plain), test_size=10)
    assert [list(part) for part in got] == [list(part) for part in want]
    result = _invoke("predict", tmp_path / "model", "--input", packed)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["label"] for row in rows] == [t[:20] for t in load_folder(plain).texts]
    assert rows[0]["file"].endswith((".txt.gz", ".txt.xz"))


# --------------------------------------------------------------------------- cp1252 advice


def test_data_inputs_excel_cp1252_advice_keeps_the_punctuation(reviews, tmp_path):
    texts, labels = reviews
    texts = [f"{t} \u201cgreat\u201d \u2013 5\u20ac" for t in texts[:10]]  # Excel's quotes, dash, euro sign
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([("text", "label"), *zip(texts, labels)])
    path = tmp_path / "excel.csv"
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    with pytest.raises(DataError, match=r"line 2: not valid utf-8") as info:
        load_csv(path)
    # before: `iconv -f latin1 ...`, which reads byte 0x93 as the control character U+0093, without an error
    assert "`iconv -f cp1252 -t utf-8 FILE > NEW_FILE`" in str(info.value)
    assert "encoding='cp1252'" in str(info.value)
    assert list(load_csv(path, encoding="cp1252").texts) == texts
    line = _one_error(_invoke("tokenize", tmp_path / "excel.csv"))
    assert "iconv -f cp1252" in line, line
    txt = tmp_path / "excel.txt.gz"
    txt.write_bytes(gzip.compress("".join(t + "\n" for t in texts).encode("cp1252")))
    line = _one_error(_invoke("tokenize", txt))
    assert "`gzip -dc FILE | iconv -f cp1252 -t utf-8 | gzip > NEW_FILE`" in line, line
    root = _folder(tmp_path / "folder", ["x"] * 4, labels[:4])
    (root / labels[0] / "excel.txt").write_bytes(texts[0].encode("cp1252"))
    with pytest.raises(DataError, match=r"excel\.txt is not valid utf-8.*`iconv -f cp1252 -t utf-8 "):
        load_folder(root)
    # latin-1 text (no byte in 0x80-0x9f): latin1, as before
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\u00e9 cr\u00e8me,pos\nbad,neg\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"`iconv -f latin1 -t utf-8 FILE > NEW_FILE`"):
        load_csv(latin)


# --------------------------------------------------------------------------- nested JSON lines


def test_data_inputs_jsonl_nested_keys(reviews, tmp_path):
    texts, labels = reviews
    path = tmp_path / "nested.jsonl"
    path.write_text("".join(json.dumps({"review": {"body": t, "title": t[:15]}, "meta": {"label": y, "id": i}}) + "\n"
                            for i, (t, y) in enumerate(zip(texts, labels))), encoding="utf-8")
    ds = load_jsonl(path, text_column="review.body", label_column="meta.label", id_column="meta.id")
    assert ds.texts == texts and list(ds.ids) == list(range(len(texts)))
    assert [ds.target_names[i] for i in ds.labels] == labels
    # before: "'review' is a dict, not a string." (nothing said how to reach the text inside)
    with pytest.raises(DataError, match=r"line 1: 'review' is an object \(a dict with keys \['body', 'title'\]\), "
                                        r"not a string\. A key inside an object is named with dots \(text_column\): "
                                        r"'review\.body', 'review\.title'"):
        load_jsonl(path, text_column="review", label_column="meta.label")
    with pytest.raises(DataError, match=r"key 'body' \(text_column\) not found.*named with dots.*'review\.body'"):
        load_jsonl(path, text_column="body", label_column=None)
    with pytest.raises(DataError, match=r"'meta' is an object .* not a scalar.*'meta\.label'"):
        load_jsonl(path, text_column="review.body", label_column="meta")
    result = _invoke("data", "describe", path, "--column", "review.body", "--label-column", "meta.label")
    assert result.exit_code == 0 and f"{len(texts)} documents" in result.output, result.output
    line = _one_error(_invoke("data", "describe", path, "--column", "review", "--label-column", "meta.label"))
    assert "named with dots (--column): 'review.body'" in line, line
    stdin = _stdin(path.read_bytes())
    assert read_input("-", stdin=stdin, column="review.body") == texts
    with pytest.raises(DataError, match=r"Standard input, line 1: 'review' is an object.*\(--column\)"):
        read_input("-", stdin=_stdin(path.read_bytes()), column="review")
    # a key that holds a dot itself is taken as it is
    dotted = tmp_path / "dotted.jsonl"
    dotted.write_text(json.dumps({"review.body": "flat", "review": {"body": "nested"}, "label": "pos"}) + "\n")
    assert load_jsonl(dotted, text_column="review.body").texts == ["flat"]


# --------------------------------------------------------------------------- IMDB's extracted folder


def test_data_inputs_extracted_aclimdb_train_leaves_unsup_out(reviews, tmp_path, caplog):
    texts, labels = reviews
    train = _folder(tmp_path / "aclImdb" / "train", texts, labels)
    (train / "unsup").mkdir()
    for i, text in enumerate(texts[:25]):  # IMDB: twice as many unlabelled reviews as labelled ones
        (train / "unsup" / f"{i}_0.txt").write_text(text, encoding="utf-8")
    (train / "urls_pos.txt").write_text("http://www.imdb.com/title/tt0000001/usercomments\n")
    # before: three classes, 'unsup' one of them (a three-class model of IMDB)
    with caplog.at_level("WARNING", logger="toolkit"):
        x_train, y_train, x_test, y_test = load_train_test(str(train), test_size=10)
    assert sorted(set(y_train) | set(y_test)) == ["neg", "pos"] and len(x_train) + len(x_test) == len(texts)
    assert "its folder 'unsup' holds unlabelled documents (IMDB's layout), not a class" in caplog.text
    result = CliRunner().invoke(app, ["data", "describe", str(train)])
    assert result.exit_code == 0 and f"{len(texts)} documents" in result.stdout, result.output
    assert "unsup" not in result.stdout and "its folder 'unsup' holds unlabelled documents" in result.stderr
    # its texts to classify, and the unsup folder given alone: every file
    assert len(read_input(train)) == len(texts) + 25
    assert read_input(train / "unsup") == texts[:25]
    # the library reads every class folder, as sklearn's load_files
    assert load_folder(train).target_names == ["neg", "pos", "unsup"]


def test_data_inputs_folder_of_splits_is_refused(reviews, tmp_path):
    texts, labels = reviews
    root = tmp_path / "aclImdb"
    _folder(root / "train", texts[:20], labels[:20])
    _folder(root / "test", texts[20:], labels[20:])
    # before: the classes 'test' and 'train' (their pos/ and neg/ files nested in them), no error
    for args in (("data", "describe", root), ("train", "--data", root, "-o", tmp_path / "run")):
        line = _one_error(_invoke(*args))
        assert f"{root} holds the splits ['test', 'train'], each with the class folders ['neg', 'pos']" in line, line
        assert f"`toolkit train --data {root / 'train'} --test-data {root / 'test'}`" in line, line
    assert not (tmp_path / "run").exists()
    # a class folder nested by source, not by split: read as it was
    _folder(tmp_path / "by_source" / "imdb", texts[:20], labels[:20])
    _folder(tmp_path / "by_source" / "rt", texts[20:], labels[20:])
    assert load_train_test(str(tmp_path / "by_source"), test_size=4)[1].tolist().count("imdb") > 0


def test_data_inputs_load_folder_counts_the_files_it_does_not_read(reviews, tmp_path, caplog):
    texts, labels = reviews
    root = _folder(tmp_path / "reviews", texts[:20], labels[:20])
    for i, text in enumerate(texts[20:26]):  # reviews saved by another tool under another ending
        (root / labels[20 + i] / f"{i}.text").write_text(text, encoding="utf-8")
    (root / labels[0] / ".DS_Store").write_bytes(b"\x00")  # hidden: not counted
    with caplog.at_level("WARNING", logger="toolkit"):
        ds = load_folder(root)
    assert len(ds) == 20
    # before: the 6 .text reviews were left out without a word
    assert "6 file(s) in its class folders do not end in .txt and are not read (.text: 6; first: " in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="toolkit"):
        assert len(load_folder(root, extensions=(".txt", ".text"))) == 26
    assert "not read" not in caplog.text

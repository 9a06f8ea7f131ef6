"""Compressed data files on the command line (session 45).

``toolkit train --data reviews.csv.gz`` (evaluate, grid, data describe, predict --input, tokenize, vectorize)
said "'reviews.csv.gz' is gzip-compressed; this command reads .csv files uncompressed. Decompress it first".
Pipelines hand out ``.csv.gz``, ``.tsv.gz`` and ``.jsonl.gz`` files, and ``toolkit store build`` read them: the
commands (and :func:`toolkit.data.load_csv` / :func:`~toolkit.data.load_jsonl`) now read gzip, bz2 and xz
files as they decompress them, found by their first bytes, with every check on the decompressed text (delimiter,
columns, encoding advice, TSV quoting, line numbers). A damaged file is an error naming it, not zlib's EOFError.

In-process (CliRunner, the training and prediction replaced: what the commands read is what is checked);
small real IMDB samples.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma

import pytest
from conftest import invoke_quiet as _invoke
from conftest import one_error as _one_error

from toolkit.cli._inputs import load_train_test, read_input
from toolkit.data import load_csv
from toolkit.exceptions import DataError


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """40 real reviews on one line each, and their labels ('neg'/'pos')."""
    texts, labels = imdb_small
    return [" ".join(t.split()) for t in texts[:40]], [str(label) for label in labels[:40]]


def _content(kind: str, texts, labels) -> bytes:
    """The bytes of a CSV/TSV/JSONL/TXT file of ``texts`` (and ``labels``)."""
    buffer = io.StringIO()
    if kind in ("csv", "tsv"):
        writer = csv.writer(buffer, delimiter="," if kind == "csv" else "\t", lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    elif kind == "jsonl":
        buffer.write("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)))
    else:
        buffer.write("".join(t + "\n" for t in texts))
    return buffer.getvalue().encode("utf-8")


def _files(tmp_path, kind, texts, labels, compress=gzip.compress, suffix=".gz"):
    """(the plain file, the same content compressed)."""
    plain, packed = tmp_path / f"reviews.{kind}", tmp_path / f"packed.{kind}{suffix}"
    plain.write_bytes(_content(kind, texts, labels))
    packed.write_bytes(compress(plain.read_bytes()))
    return plain, packed


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl"])
def test_gzip_inputs_train_reads_the_same_rows_as_the_plain_file(kind, reviews, tmp_path, monkeypatch):
    import toolkit.cli.train as train_module

    plain, packed = _files(tmp_path, kind, *reviews)
    seen = {}

    class _Stop(Exception):
        pass

    def fake_train(data, **kwargs):  # the command's checks (path, columns, classes) passed: no fit needed
        seen["data"] = data
        raise _Stop

    monkeypatch.setattr(train_module, "train", fake_train)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(train_module, "_fetch_first", lambda *a, **k: None)  # no GloVe download (offline CI)
    result = _invoke("train", "--data", packed, "--test-data", packed, "--no-baseline", "-o", tmp_path / "run")
    # before: "'packed.csv.gz' is gzip-compressed; this command reads .csv files uncompressed. Decompress it first"
    assert isinstance(result.exception, _Stop), result.output
    assert str(seen["data"]) == str(packed)
    got, want = load_train_test(str(packed), test_size=10), load_train_test(str(plain), test_size=10)
    assert [list(part) for part in got] == [list(part) for part in want]
    assert read_input(packed) == read_input(plain) == reviews[0]


@pytest.mark.parametrize("kind", ["jsonl", "txt"])
def test_gzip_inputs_predict_reads_jsonl_gz_and_txt_gz(kind, reviews, tmp_path, predict_echoes_texts):
    _, packed = _files(tmp_path, kind, *reviews)
    result = _invoke("predict", tmp_path / "model", "--input", packed)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["label"] for row in rows] == [t[:20] for t in reviews[0]]


def test_gzip_inputs_cut_short_file_is_named(reviews, tmp_path):
    _, packed = _files(tmp_path, "csv", *reviews)
    data = packed.read_bytes()
    packed.write_bytes(data[: len(data) // 2])  # a download cut short
    for args in (("train", "--data", packed, "-o", tmp_path / "run"), ("data", "describe", packed),
                 ("tokenize", packed)):
        line = _one_error(_invoke(*args))
        assert f"{packed}: not a complete gzip file" in line and "gzip -t FILE" in line, line
        assert "EOFError" not in line
    assert not (tmp_path / "run").exists()
    with pytest.raises(DataError, match=r"not a complete gzip file"):
        load_csv(packed)


def test_gzip_inputs_latin1_csv_gz_names_the_line_and_the_iconv_pipeline(reviews, tmp_path):
    texts, labels = reviews
    texts = [*texts[:5], texts[5] + " caf\xe9", *texts[6:10]]
    packed = tmp_path / "latin.csv.gz"
    packed.write_bytes(gzip.compress(_content("csv", texts, labels).decode("utf-8").encode("latin-1")))
    line = _one_error(_invoke("data", "describe", packed))
    # line 7: the header, then the sixth review; counted in the decompressed text
    assert f"{packed}, line 7: not valid utf-8" in line, line
    assert "`gzip -dc FILE | iconv -f latin1 -t utf-8 | gzip > NEW_FILE`" in line, line


def test_gzip_inputs_checks_see_the_decompressed_text(reviews, tmp_path):
    texts, labels = reviews
    # a ';' CSV (Excel's in many locales) is read with ';'
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows([("text", "label"), *zip(texts, labels)])
    semi = tmp_path / "semi.csv.gz"
    semi.write_bytes(gzip.compress(buffer.getvalue().encode()))
    assert read_input(semi) == texts
    # a missing column: the header's columns and the option
    line = _one_error(_invoke("data", "describe", semi, "--column", "review"))
    assert f"Column 'review' (--column) not found in {semi}; its columns are ['text', 'label']" in line, line
    # a TSV written without quoting, a text starting with a quote: the lines, as for the plain file
    raw = [t[:200].replace('"', "'") for t in texts[:10]]
    raw[3], raw[5] = '"Wow. ' + raw[3], raw[5][:50] + ' the "best" film ' + raw[5][50:]
    tsv = tmp_path / "raw.tsv.gz"
    tsv.write_bytes(gzip.compress(("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in zip(raw, labels))).encode()))
    line = _one_error(_invoke("data", "describe", tsv))
    assert f"{tsv}, lines 5-7: not CSV quoting" in line, line
    # one class only: refused before anything loads
    one = tmp_path / "one.jsonl.gz"
    one.write_bytes(gzip.compress(_content("jsonl", texts, ["pos"] * len(texts))))
    line = _one_error(_invoke("train", "--data", one, "-o", tmp_path / "run"))
    assert "one.jsonl.gz" in line and "'pos'" in line, line
    # an empty file
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(gzip.compress(b""))
    line = _one_error(_invoke("data", "describe", empty))
    assert f"{empty} is empty" in line, line


def test_gzip_inputs_found_by_content_and_bz2_xz_read(reviews, tmp_path):
    plain, _ = _files(tmp_path, "csv", *reviews)
    want = load_csv(plain)
    # gzip data under a plain name (a download saved without decoding), and plain text under a .gz name
    hidden, named = tmp_path / "hidden.csv", tmp_path / "named.csv.gz"
    hidden.write_bytes(gzip.compress(plain.read_bytes()))
    named.write_bytes(plain.read_bytes())
    for compress, suffix in ((bz2.compress, ".bz2"), (lzma.compress, ".xz")):
        _, packed = _files(tmp_path, "jsonl", *reviews, compress=compress, suffix=suffix)
        assert read_input(packed) == reviews[0]
    # Zstandard (no stdlib reader): named, with the command that converts it, not "a binary file?"
    zst = tmp_path / "reviews.csv.zst"
    zst.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(40)))
    line = _one_error(_invoke("tokenize", zst))
    assert f"{zst} is Zstandard-compressed" in line and "zstd -d" in line, line
    for path in (hidden, named):
        got = load_csv(path)
        assert list(got.texts) == list(want.texts) and list(got.labels) == list(want.labels)
        result = _invoke("data", "describe", path)
        assert result.exit_code == 0 and "40 documents" in result.output, result.output

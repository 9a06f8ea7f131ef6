"""Session 47 (helper h2): a user's own data through ``read_texts``, ``toolkit store build`` and ``fetch``.

- ``read_texts`` and ``toolkit store build`` read ``.bz2`` and ``.xz`` inputs as they read ``.gz`` ones (each
  file whole, one partition), as stdin and ``load_folder`` already did; they were refused ("expected .txt,
  .csv or .jsonl files, plain or gzipped"). A cut-short one is named with the tool that tests it; a file
  named plain that holds compressed data is named with the rename that fixes it; a compressed Parquet file is
  refused saying why.
- A ``CorpusStore`` handle pickled by a toolkit before session 38 (no ``_build_stamp``) raised AttributeError on
  every read; it reads its unchanged store, and is refused as rebuilt when the store changed.
- The temporary file of a download killed mid-transfer is removed by the next download of that entry (it
  waited 6 hours, as one of another entry's may be live).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import lzma
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, invoke_quiet, one_error

from toolkit.exceptions import DataError

COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """24 real IMDB training reviews (one line each) and their 'neg'/'pos' labels."""
    texts, labels = imdb_small
    return [t.replace("\n", " ") for t in texts[:24]], [str(y) for y in labels[:24]]


def _csv_bytes(texts, labels) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["text", "label"])
    writer.writerows(zip(texts, labels))
    return buf.getvalue().encode("utf-8")


def _jsonl_bytes(texts, labels) -> bytes:
    return "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)).encode("utf-8")


def _txt_bytes(texts, labels=None) -> bytes:
    return "".join(t + "\n" for t in texts).encode("utf-8")


WRITERS = {".csv": _csv_bytes, ".jsonl": _jsonl_bytes, ".txt": _txt_bytes}


@pytest.mark.parametrize("compression", [".bz2", ".xz"])
@pytest.mark.parametrize("fmt", [".csv", ".jsonl", ".txt"])
def test_read_texts_reads_bz2_and_xz_files_as_plain_ones(reviews, tmp_path, fmt, compression):
    # Before: "read_texts cannot read '.../reviews.csv.bz2': expected .txt ..., plain or gzipped (.gz)".
    from toolkit.distributed import read_texts

    texts, labels = reviews
    data = WRITERS[fmt](texts, labels)
    plain = tmp_path / f"reviews{fmt}"
    plain.write_bytes(data)
    packed = tmp_path / f"more{fmt}{compression}"
    packed.write_bytes(COMPRESS[compression](data))
    columns = {} if fmt == ".txt" else {"text_column": "text", "label_column": "label"}
    expected = read_texts(str(plain), **columns).compute(scheduler="sync")
    assert len(expected) == len(texts)
    bag = read_texts(str(packed), **columns)
    assert bag.npartitions == 1  # read whole: a compressed stream cannot be cut in blocks
    assert bag.compute(scheduler="sync") == expected
    # with plain files of the same format, in the order given
    both = read_texts([str(plain), str(packed)], **columns, blocksize=2000)
    assert both.compute(scheduler="sync") == expected + expected


def test_read_texts_names_a_damaged_compressed_file_a_misnamed_one_and_a_compressed_parquet(reviews, tmp_path):
    from toolkit.distributed import read_texts

    texts, labels = reviews
    data = _csv_bytes(texts, labels)
    cut = tmp_path / "reviews.csv.xz"
    cut.write_bytes(lzma.compress(data)[:400])  # a copy cut short
    with pytest.raises(DataError, match=r"reviews\.csv\.xz: not a complete xz file .*`xz -t FILE`"):
        read_texts(str(cut), text_column="text").compute(scheduler="sync")
    cut_lines = tmp_path / "reviews.txt.bz2"
    cut_lines.write_bytes(bz2.compress(_txt_bytes(texts))[:400])
    with pytest.raises(DataError, match=r"reviews\.txt\.bz2: not a complete bz2 file .*`bzip2 -t FILE`"):
        read_texts(str(cut_lines)).compute(scheduler="sync")
    misnamed = tmp_path / "export.csv"  # a download saved compressed under a plain name
    misnamed.write_bytes(gzip.compress(data))
    with pytest.raises(DataError, match=r"export\.csv holds gzip-compressed data, but its name does not say so; "
                                        r"rename it to end in \.gz"):
        read_texts(str(misnamed), text_column="text")
    with pytest.raises(ValueError, match=r"a compressed Parquet file cannot be read in row groups .*`unxz FILE`"):
        read_texts(str(tmp_path / "reviews.parquet.xz"), text_column="text")
    plain = tmp_path / "saved-decoded.csv.gz"  # the other way round: a download saved decompressed, as load_csv reads it
    plain.write_bytes(data)
    assert len(read_texts(str(plain), text_column="text").compute(scheduler="sync")) == len(texts)




def test_store_build_reads_bz2_and_xz_inputs(reviews, tmp_path, in_process_build):
    # Before: "read_texts cannot read '...reviews-1.csv.bz2' ..." (the CLI checked only gzip names).
    from toolkit.distributed import CorpusStore

    texts, labels = reviews
    first, second = tmp_path / "reviews-1.csv.bz2", tmp_path / "reviews-2.csv.xz"
    first.write_bytes(bz2.compress(_csv_bytes(texts[:12], labels[:12])))
    second.write_bytes(lzma.compress(_csv_bytes(texts[12:], labels[12:])))
    result = invoke_quiet("store", "build", first, second, "-o", tmp_path / "store", "--label-column", "label")
    assert result.exit_code == 0, result.output
    store = CorpusStore(tmp_path / "store")
    assert store.n_documents == len(texts) and len(store.parts) == 2
    assert store.labels().tolist() == labels


def test_store_build_names_a_damaged_or_latin1_compressed_input_before_a_cluster_starts(reviews, tmp_path):
    texts, labels = reviews
    cut = tmp_path / "reviews.jsonl.bz2"
    cut.write_bytes(bz2.compress(_jsonl_bytes(texts, labels))[:300])
    line = one_error(invoke_quiet("store", "build", cut, "-o", tmp_path / "store", "--workers", "1"))
    assert f"{cut}: not a complete bz2 file" in line and "bzip2 -t FILE" in line, line
    latin1 = tmp_path / "reviews.txt.xz"
    latin1.write_bytes(lzma.compress(("Un film très réussi\n" + "\n".join(texts)).encode("latin-1", "replace")))
    line = one_error(invoke_quiet("store", "build", latin1, "-o", tmp_path / "store", "--workers", "1"))
    assert f"Input {latin1} is not UTF-8 text (line 1" in line and "iconv" in line, line
    misnamed = tmp_path / "reviews.jsonl"
    misnamed.write_bytes(gzip.compress(_jsonl_bytes(texts, labels)))
    line = one_error(invoke_quiet("store", "build", misnamed, "-o", tmp_path / "store", "--workers", "1"))
    assert "holds gzip-compressed data, but its name does not say so; rename it to end in .gz" in line, line
    assert not (tmp_path / "store").exists()


def test_store_cli_knows_parquet_inputs_without_importing_dask(tmp_path):
    script = ("import sys\nfrom toolkit.cli.store import _has_columns, _is_parquet\n"
              "assert _is_parquet('r.parquet') and _is_parquet('R.PQ') and not _is_parquet('r.csv.gz')\n"
              "assert _has_columns('r.csv.xz') and _has_columns('r.parq') and not _has_columns('r.txt.bz2')\n"
              "assert 'dask' not in sys.modules, 'dask imported'\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def _old_handle(store, *, without=("_build_stamp", "_build_digest", "skipped", "n_blank")):
    """``store`` pickled as a toolkit before session 38 pickled it: no build stamp (nor what came later)."""
    old = pickle.loads(pickle.dumps(store))
    for name in without:
        del old.__dict__[name]
    return pickle.dumps(old)


def test_store_handle_pickled_without_a_build_stamp_reads_its_unchanged_store(reviews, tmp_path):
    # Before: AttributeError: 'CorpusStore' object has no attribute '_build_stamp' on every read.
    import dask.bag as db

    from toolkit.cli.store import store_info
    from toolkit.distributed import CorpusStore

    texts, labels = reviews
    store = CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=2), tmp_path / "store",
                              scheduler="sync")
    old = pickle.loads(_old_handle(store))
    np.testing.assert_array_equal(old.labels(), store.labels())
    np.testing.assert_array_equal(old.sequences([0, 23], maxlen=8), store.sequences([0, 23], maxlen=8))
    assert old.vocabulary.tokens == store.vocabulary.tokens
    info = store_info(old)
    assert info["skipped_documents"] == 0 and info["blank_documents"] == 0
    # a handle of sessions 38-41 (a stamp, but no skipped / n_blank): store info worked only on a fresh handle
    assert store_info(pickle.loads(_old_handle(store, without=("skipped", "n_blank"))))["n_documents"] == 24

    stale = _old_handle(store)  # pickled, then the store was built again in place from other texts
    CorpusStore.build(db.from_sequence(list(zip(texts[:20], labels[:20])), npartitions=2), tmp_path / "store",
                      scheduler="sync")
    with pytest.raises(DataError, match=r"was built again since this CorpusStore was opened.*open it again"):
        pickle.loads(stale).labels()
    gone = _old_handle(CorpusStore(tmp_path / "store"))
    (tmp_path / "store" / "store.json").unlink()
    with pytest.raises(DataError, match=r"was removed since this CorpusStore was opened"):
        pickle.loads(gone).lengths()


_KILLED_DOWNLOAD = """
import os, signal, sys
from toolkit.data._download import download_verified

def killed(url, output_file, pooch):  # half the file written, then the process is killed (kill -9, OOM)
    output_file.write(open(sys.argv[3], "rb").read()[:2000])
    output_file.flush()
    os.kill(os.getpid(), signal.SIGKILL)

download_verified(sys.argv[1], sys.argv[2], known_hash=sys.argv[4], downloader=killed)
"""


def test_download_killed_midway_leaves_a_temporary_file_the_next_download_removes(reviews, tmp_path):
    # Before: the fresh temporary file was kept (swept only once 6 hours old, as another download's may be live).
    from toolkit.data._download import download_verified

    mirror = tmp_path / "mirror" / "reviews.txt"  # a mirror on a shared drive
    mirror.parent.mkdir()
    mirror.write_bytes(_txt_bytes(reviews[0]))
    known_hash = "sha256:" + hashlib.sha256(mirror.read_bytes()).hexdigest()
    target = tmp_path / "cache" / "reviews" / "reviews.txt"
    url = mirror.as_uri()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", _KILLED_DOWNLOAD, url, str(target), str(mirror), known_hash],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == -9, result.stderr[-2000:]
    left = sorted(target.parent.glob("tmp????????"))
    assert len(left) == 1 and left[0].stat().st_size == 2000 and not target.exists()
    live = target.parent / "tmpl1ve0000"  # another entry's download in progress (not recorded as this one's)
    live.write_bytes(b"partial")

    assert download_verified(url, target, known_hash=known_hash) == target
    assert target.read_bytes() == mirror.read_bytes()
    assert not left[0].exists()
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")) == [
        "reviews.txt", "reviews.txt.verified.json", "tmpl1ve0000"]


def test_read_texts_and_store_build_read_tsv_and_ndjson_as_the_commands_do(reviews, tmp_path, in_process_build):
    # Before: `toolkit train --data reviews.tsv` read it, but read_texts and `toolkit store build` refused it
    # ("read_texts cannot read 'reviews.tsv': expected .txt (one document per line), .csv or .jsonl files").
    from toolkit.distributed import CorpusStore, read_texts

    texts, labels = reviews
    tsv = tmp_path / "reviews.tsv"
    # a column name with a comma: a .tsv is split on tabs whatever its header holds
    tsv.write_text("review, full text\tlabel\n" + "".join(f"{t.replace(chr(9), ' ')}\t{y}\n"
                                                           for t, y in zip(texts, labels)), encoding="utf-8")
    pairs = read_texts(str(tsv), text_column="review, full text", label_column="label").compute(scheduler="sync")
    assert [y for _, y in pairs] == labels and [t[:50] for t, _ in pairs] == [t[:50] for t in texts]
    ndjson = tmp_path / "reviews.ndjson.gz"
    ndjson.write_bytes(gzip.compress(_jsonl_bytes(texts, labels)))
    assert read_texts(str(ndjson), text_column="text", label_column="label").compute(scheduler="sync") == \
        list(zip(texts, labels))
    for source, column in ((tsv, "review, full text"), (ndjson, "text")):
        result = invoke_quiet("store", "build", source, "-o", tmp_path / "store", "--column", column,
                              "--label-column", "label", "--force")
        assert result.exit_code == 0, result.output
        assert CorpusStore(tmp_path / "store").labels().tolist() == labels


def test_store_build_reads_a_parquet_dataset_folder(reviews, tmp_path, in_process_build):
    # Before: "Input .../reviews.parquet is a folder; give the .txt, .csv or .jsonl files in it", though
    # read_texts reads the folder Dask's to_parquet writes.
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import CorpusStore

    texts, labels = reviews
    frame = pd.DataFrame({"text": texts, "label": labels})
    dd.from_pandas(frame, npartitions=2).to_parquet(tmp_path / "reviews.parquet", write_index=False)
    result = invoke_quiet("store", "build", tmp_path / "reviews.parquet", "-o", tmp_path / "store",
                          "--label-column", "label")
    assert result.exit_code == 0, result.output
    assert CorpusStore(tmp_path / "store").labels().tolist() == labels
    line = one_error(invoke_quiet("store", "build", tmp_path, "-o", tmp_path / "store2"))
    assert "is a folder; give the .txt, .csv, .tsv, .jsonl or .parquet files in it" in line, line


def test_read_texts_compressed_csv_with_a_bad_row_is_named_not_shifted(reviews, tmp_path):
    # Before: a .csv.gz whose first row had more fields than the header was read with that column as an index:
    # every text shifted to the next column, labels lost (("really", "pos"), ("neg", nan), ...), silently; a
    # later bad row was pandas' "Expected 2 fields in line 4, saw 4", naming no file.
    from toolkit.distributed import read_texts

    texts, labels = reviews
    good = _csv_bytes(texts[:5], labels[:5]).decode()
    header, first, rest = good.split("\n", 2)
    for name, rows, line in (("first.csv.gz", [header, "a fine film, really,pos", first, rest], 2),
                             ("later.csv.bz2", [header, first, rest.rstrip("\n"), "fine, really, yes,pos", ""], 7)):
        path = tmp_path / name
        path.write_bytes(COMPRESS[path.suffix]("\n".join(rows).encode()))
        with pytest.raises(DataError, match=rf"{name}, line {line}: malformed CSV .*must be quoted"):
            read_texts(str(path), text_column="text", label_column="label").compute(scheduler="sync")


def test_read_texts_unclosed_quote_of_a_file_read_whole_is_not_called_a_block_boundary(reviews, tmp_path):
    # Before: "A quoted text with line breaks crossed a block boundary: read each file as one partition
    # (blocksize=None)", for a file already read as one partition (blocksize=None, or compressed).
    from toolkit.distributed import read_texts

    texts, labels = reviews
    data = _csv_bytes(texts[:5], labels[:5]) + b'"a quote never closed,pos\n'
    plain, packed = tmp_path / "reviews.csv", tmp_path / "reviews.csv.xz"
    plain.write_bytes(data)
    packed.write_bytes(lzma.compress(data))
    for path, blocksize in ((plain, None), (packed, "64MiB")):
        with pytest.raises(DataError, match=r"EOF inside string.*A quote \(\"\) opens a text that is never closed") \
                as caught:
            read_texts(str(path), text_column="text", blocksize=blocksize).compute(scheduler="sync")
        assert "block boundary" not in str(caught.value)


@pytest.mark.parametrize("encoding", ["utf-9", None, "zlib"])
def test_readers_name_an_unknown_encoding_parameter(reviews, tmp_path, encoding):
    # Before: a bare "LookupError: unknown encoding: utf-9" (or "TypeError: lookup() argument must be str, not
    # None"; "zlib" is a bytes codec) from inside the reader, naming neither the parameter nor the fix.
    from toolkit._validation import InvalidParameterError
    from toolkit.data import load_csv, load_folder, load_jsonl

    texts, labels = reviews
    (tmp_path / "r.csv").write_bytes(_csv_bytes(texts[:4], labels[:4]))
    (tmp_path / "r.jsonl").write_bytes(_jsonl_bytes(texts[:4], labels[:4]))
    for i, (text, label) in enumerate(zip(texts[:4], labels[:4])):
        (tmp_path / "folder" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "folder" / label / f"{i}.txt").write_text(text, encoding="utf-8")
    for func, path in ((load_csv, "r.csv"), (load_jsonl, "r.jsonl"), (load_folder, "folder")):
        with pytest.raises(InvalidParameterError, match=rf"The 'encoding' parameter of {func.__name__} must be a str "
                                                        rf"naming a text encoding .*Got {encoding!r} instead"):
            func(tmp_path / path, encoding=encoding)
        assert len(func(tmp_path / path, encoding="latin-1")) == 4


def test_read_texts_and_store_build_read_a_nested_json_key_as_load_jsonl_does(reviews, tmp_path, in_process_build):
    # Before: load_jsonl(path, text_column="review.body") read {"review": {"body": ...}}, but read_texts said "a
    # record has no key 'review.body'" and `toolkit store build --column review.body` "has no column".
    from toolkit.data import load_jsonl
    from toolkit.distributed import CorpusStore, read_texts

    texts, labels = reviews
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps({"review": {"body": t, "chars": len(t)}, "label": y}) + "\n"
                            for t, y in zip(texts, labels)), encoding="utf-8")
    expected = load_jsonl(path, text_column="review.body", label_column="label")
    pairs = read_texts(str(path), text_column="review.body", label_column="label").compute(scheduler="sync")
    assert [t for t, _ in pairs] == expected.texts == texts and [y for _, y in pairs] == labels
    with pytest.raises(DataError, match=r"'review' is an object .*named with dots \(text_column\): 'review\.body'"):
        read_texts(str(path), text_column="review").compute(scheduler="sync")
    result = invoke_quiet("store", "build", path, "-o", tmp_path / "store", "--column", "review.body",
                          "--label-column", "label")
    assert result.exit_code == 0, result.output
    assert CorpusStore(tmp_path / "store").labels().tolist() == labels


@pytest.mark.parametrize("fmt", [".txt", ".jsonl"])
def test_read_texts_utf16_lines_get_utf16_advice_not_latin1(reviews, tmp_path, fmt):
    # Before: "... is not valid UTF-8 ... Save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE > NEW_FILE`" for a
    # file saved as UTF-16 (Notepad's "Unicode"), and, for a block after the first, "not valid JSON ... in the
    # line '\x00'"; converting it from latin-1 makes it worse.
    from toolkit.distributed import read_texts

    texts, labels = reviews
    path = tmp_path / f"reviews{fmt}"
    path.write_bytes(WRITERS[fmt](texts[:6], labels[:6]).decode("utf-8").encode("utf-16"))
    columns = {} if fmt == ".txt" else {"text_column": "text"}
    for blocksize in (None, 4000):  # the first block starts with the byte order mark; the others hold NULs
        parts = read_texts(str(path), blocksize=blocksize, **columns).to_delayed()
        assert (len(parts) > 1) == (blocksize is not None)
        for part in parts:  # each block with lines (a block inside a long line has none)
            try:
                assert part.compute(scheduler="sync") == []
            except DataError as err:
                assert re.search(rf"reviews\{fmt} looks like UTF-16 text .*iconv -f UTF-16 -t UTF-8", str(err)), err
    stray = tmp_path / "stray.txt"  # a NUL in a UTF-8 text is not UTF-16: left to the tokenizer, as before
    stray.write_text(texts[0][:200] + "\x00\n" + texts[1] + "\n", encoding="utf-8")
    assert len(read_texts(str(stray)).compute(scheduler="sync")) == 2


def test_read_texts_warns_that_a_compressed_file_larger_than_blocksize_is_read_whole(reviews, tmp_path, caplog):
    import logging

    from toolkit.distributed import read_texts

    texts, labels = reviews
    path = tmp_path / "reviews.jsonl.xz"
    path.write_bytes(lzma.compress(_jsonl_bytes(texts, labels)))
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed.partitions"):
        assert read_texts(str(path), text_column="text").npartitions == 1  # 64MiB: no warning
        assert not caplog.records
        bag = read_texts(str(path), text_column="text", blocksize="1kB")
    assert bag.npartitions == 1
    assert len(caplog.records) == 1
    assert re.search(r"1 compressed input\(s\) are larger than blocksize=1kB \(.*reviews\.jsonl\.xz: .* compressed\); "
                     r"each is read whole, as one partition", caplog.records[0].getMessage()), caplog.records[0]


def test_store_build_names_a_json_array_given_as_json_lines(reviews, tmp_path):
    # Before: a one-line JSON array (json.dump(records)) said "has no column 'text' (--column); its columns are
    # []", and a pretty-printed one "line 1: not valid JSON (Expecting value)." with no fix.
    texts, labels = reviews
    records = [{"text": t, "label": y} for t, y in zip(texts[:4], labels[:4])]
    for name, dump, why in (("one-line.json", json.dumps(records), "line 1 is a JSON array, not an object"),
                            ("pretty.json", json.dumps(records, indent=2), r"line 1: .*\(pretty-printed JSON\)\?")):
        (tmp_path / name).write_text(dump, encoding="utf-8")
        line = one_error(invoke_quiet("store", "build", tmp_path / name, "-o", tmp_path / "store", "--workers", "1"))
        assert re.search(rf"{name}, {why}.*orient='records', lines=True\)\)\.$", line), line

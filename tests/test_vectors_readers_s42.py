"""Gaps of the vectors and data readers closed in session 42 (real GloVe rows and IMDB reviews, small).

1. The advice of ``most_similar`` / ``analogy`` for a word without a vector
   mixed Python and shell terms ("limit=None; on the command line, no
   --limit"), and ``toolkit vectors convert`` named the Python function
   ``convert_vectors`` and ``to=``'s values as ``--to``: each caller now
   reads its own terms only.
2. A GloVe or word2vec text file with classic Mac OS line ends (CR only)
   failed with "value 50 ('-0.78581\\r,') is not a number": it loads now,
   as the same file with LF or CRLF line ends.
3. Vectors cache entries parsed before session 41's parser fixes (a word
   emptied by ``unicode_errors='ignore'``, ``limit=1`` with a word holding a
   space) were served until the file changed: the parser's version is in
   the key now, and such entries are swept when a new one is built.
4. An empty CSV cell as a text loaded as the document '' without a word,
   while JSON ``null`` was an error: an empty cell is a missing value (as
   pandas and the Dask reader read it), an error naming the line; a text
   of spaces (or ``""`` in JSON) is an empty document, with one warning.
5. Labels ``"1.0"`` and ``"1"`` among other labels (``"pos"``) were two
   classes in memory and one on Dask (which reads each label alone).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import os
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.exceptions import DataError, VectorsFormatError
from toolkit.vectors import load_vectors, loading, most_similar


def _cli(*args, quiet=True):
    result = CliRunner().invoke(app, [*(["-q"] if quiet else []), *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def glove_rows(shared_data):
    """The first 300 lines of the real GloVe 6B-50d file, as bytes."""
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rb") as src:
        return b"".join(next(src) for _ in range(300))


# ------------------------------------------------------------------ 1. messages in the caller's terms
def test_a_word_without_a_vector_is_advised_in_the_callers_terms(glove_small, tmp_path):
    with pytest.raises(DataError) as err:
        most_similar(load_vectors(glove_small, limit=100), "qwzxv")
    message = str(err.value)
    assert "load more (a larger limit, or none)" in message
    assert "--limit" not in message and "command line" not in message
    code, _, stderr = _cli("vectors", "similar", "qwzxv", "-V", glove_small, "--limit", 100)
    assert code == 1
    assert "load more (a larger --limit, or none)" in stderr
    assert "limit=" not in stderr and "command line" not in stderr


def test_vectors_convert_names_the_command_not_the_function(tmp_path):
    source = tmp_path / "bigrams.vec"
    source.write_text("2 2\nthe 0.1 0.2\nnot good 0.3 0.4\n", encoding="utf-8")
    code, _, stderr = _cli("vectors", "convert", source, tmp_path / "out.bin", "--cache-dir", tmp_path / "cache")
    assert code == 1
    assert "toolkit vectors convert cannot write the key 'not good' (index 1) as word2vec-binary" in stderr
    assert "or --to word2vec" in stderr
    assert "convert_vectors" not in stderr and "to=" not in stderr
    assert not (tmp_path / "out.bin").exists()


def test_converting_fasttext_on_the_command_line_warns_in_its_terms(fasttext_bin, tmp_path):
    """The warning that subword vectors are lost named the Python function and a gensim call."""
    code, _, stderr = _cli("vectors", "convert", fasttext_bin, tmp_path / "ft.bin", "--cache-dir", tmp_path / "c",
                           quiet=False)
    assert code == 0, stderr
    assert "toolkit vectors convert writes the" in stderr and "without their subword vectors" in stderr
    assert "convert_vectors" not in stderr and "save_facebook_model" not in stderr


def test_a_capitalised_word_of_lowercase_vectors_says_they_are_lowercase(glove_small):
    """GloVe 6B is lowercased: "King" was refused as if "these vectors tell case apart"."""
    with pytest.raises(DataError, match=r"The word 'King' has no vector, but 'king' has \(.*; their words are "
                                        r"lowercase\): ask for 'king'\."):
        most_similar(load_vectors(glove_small, limit=2000), "King")


# ------------------------------------------------------------------ 2. line ends
@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("end", [b"\r", b"\r\n"])
def test_classic_mac_and_windows_line_ends_load_as_unix_ones(glove_rows, tmp_path, header, end):
    lf = (b"300 50\n" if header else b"") + glove_rows
    (tmp_path / "lf.txt").write_bytes(lf)
    (tmp_path / "other.txt").write_bytes(lf.replace(b"\n", end))
    with gzip.open(tmp_path / "other.txt.gz", "wb") as f:
        f.write(lf.replace(b"\n", end))
    expected = load_vectors(tmp_path / "lf.txt", cache=False)
    for name in ("other.txt", "other.txt.gz"):
        for limit in (None, 1, 7):
            kv = load_vectors(tmp_path / name, limit=limit, cache_dir=tmp_path / "cache")
            n = len(expected) if limit is None else limit
            assert kv.index_to_key == expected.index_to_key[:n]
            np.testing.assert_array_equal(kv.vectors, expected.vectors[:n])
    code, out, err = _cli("vectors", "info", tmp_path / "other.txt", "--cache-dir", tmp_path / "cache")
    assert code == 0, err
    assert "300" in out and "50" in out


def test_a_cr_line_end_inside_a_file_of_lf_lines_is_named(tmp_path):
    path = tmp_path / "joined.txt"
    path.write_bytes(b"the 0.1 0.2\rof 0.3 0.4\nand 0.5 0.6\n")
    with pytest.raises(VectorsFormatError, match=r"joined\.txt, line 1: value 2 \('0\.2\\rof'\) is not a number: a "
                                                 r"carriage return \(CR\) inside .*tr '\\r' '\\n'"):
        load_vectors(path, cache=False)


# ------------------------------------------------------------------ 3. the cache after parser fixes
def _entry_of_an_earlier_parser(path, cache_dir, limit, unicode_errors, words, vectors):
    """A cache entry as the toolkit before session 42 wrote it: its key had no parser version."""
    from gensim.models import KeyedVectors

    resolved, member, _ = loading._resolve(str(path), "auto", None, None, cache_dir)
    fields = {"v": 2, **loading._identity(resolved, member), "format": "glove", "limit": limit,
              "unicode_errors": unicode_errors}
    key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]
    folder = loading.cache_path(key, resolved, cache_dir)
    folder.mkdir(parents=True)
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(words, vectors)
    loading.write_entry(kv, folder, meta={"source": str(resolved), "format": "glove", "limit": limit,
                                          "unicode_errors": unicode_errors})
    return folder


@pytest.mark.parametrize("case", ["limit", "ignore"])
def test_cache_entries_of_an_earlier_parser_are_not_served_and_are_swept(case, tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "words.txt"
    if case == "limit":  # the dimension came from the first line only: "chapter" and 4 values
        path.write_text("chapter 1 0.1 0.2 0.3\nthe 0.4 0.5 0.6\nof 0.7 0.8 0.9\n", encoding="utf-8")
        kwargs = {"limit": 1, "unicode_errors": "strict"}
        old = _entry_of_an_earlier_parser(path, cache, 1, "strict", ["chapter"], np.float32([[1, .1, .2, .3]]))
    else:  # the Latin-1 word became '' and loaded
        path.write_bytes(b"the 0.1 0.2\n\xe9\xe8 0.3 0.4\nof 0.5 0.6\n")
        kwargs = {"limit": None, "unicode_errors": "ignore"}
        old = _entry_of_an_earlier_parser(path, cache, None, "ignore", ["the", "", "of"],
                                          np.float32([[.1, .2], [.3, .4], [.5, .6]]))
    young = _entry_of_an_earlier_parser(path, tmp_path / "other", kwargs["limit"], kwargs["unicode_errors"],
                                        ["x"], np.float32([[0, 0, 0]]))
    stale = time.time() - 7 * 3600  # written hours ago: an older toolkit is done with it
    os.utime(old / "header.json", (stale, stale))
    unrelated = cache / "vectors" / "notes"  # not an entry: never touched
    unrelated.mkdir()
    loading.clear_memo()
    if case == "limit":
        kv = load_vectors(path, cache_dir=cache, **kwargs)
        assert kv.vector_size == 3 and kv.index_to_key == ["chapter 1"]
        np.testing.assert_array_equal(kv["chapter 1"], np.float32([0.1, 0.2, 0.3]))
    else:
        with pytest.raises(VectorsFormatError, match=r"unicode_errors='ignore' leaves it empty"):
            load_vectors(path, cache_dir=cache, **kwargs)
    assert not old.exists() and unrelated.is_dir()
    # a recent entry of an earlier parser stays (an older toolkit may share the cache), but is not served either
    loading.clear_memo()
    if case == "limit":
        assert load_vectors(path, cache_dir=tmp_path / "other", **kwargs).vector_size == 3
    else:
        with pytest.raises(VectorsFormatError):
            load_vectors(path, cache_dir=tmp_path / "other", **kwargs)
    assert young.exists()


def test_a_new_entry_carries_the_parser_version_and_is_reused(glove_small, tmp_path):
    cache = tmp_path / "cache"
    loading.clear_memo()
    load_vectors(glove_small, limit=50, cache_dir=cache)
    (entry,) = (cache / "vectors").iterdir()
    header = json.loads((entry / "header.json").read_text(encoding="utf-8"))
    assert header["meta"]["parser"] == loading._PARSER_VERSION
    stale = time.time() - 7 * 3600
    os.utime(entry / "header.json", (stale, stale))
    loading.clear_memo()
    load_vectors(glove_small, limit=60, cache_dir=cache)  # a new entry: the sweep keeps the current one
    assert entry.exists() and len(list((cache / "vectors").iterdir())) == 2


# ------------------------------------------------------------------ 4. empty texts
def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment"])
        writer.writerows(rows)
    return path


def test_an_empty_csv_text_is_a_missing_value_as_for_a_label(imdb_small, tmp_path):
    from toolkit.data import load_csv

    texts, labels = imdb_small
    rows = [(t, s) for t, s in zip(texts[:20], labels[:20])]
    rows[6] = ("", rows[6][1])
    path = _write_csv(tmp_path / "reviews.csv", rows)
    with pytest.raises(DataError, match=r"reviews\.csv, line 8: missing text \(an empty cell, which pandas also "
                                        r"reads as a missing value, NaN\) in 'review'\. Fill it in or drop the record"):
        load_csv(path, text_column="review", label_column="sentiment")
    code, _, err = _cli("vectorize", path, "--column", "review", "-o", tmp_path / "x.npz")
    assert code == 1 and "line 8: missing text" in err
    assert not (tmp_path / "x.npz").exists()
    code, _, err = _cli("train", "--data", path, "--column", "review", "--label-column", "sentiment",
                        "-o", tmp_path / "model")
    assert code == 1 and "line 8: missing text" in err


def test_blank_texts_are_empty_documents_with_one_warning(imdb_small, tmp_path, caplog):
    from toolkit.data import load_csv, load_jsonl

    texts, labels = imdb_small
    rows = [(t, s) for t, s in zip(texts[:20], labels[:20])]
    rows[3], rows[9] = ("   ", rows[3][1]), (" ", rows[9][1])
    path = _write_csv(tmp_path / "reviews.csv", rows)
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        ds = load_csv(path, text_column="review", label_column="sentiment")
    assert len(ds) == 20 and ds.texts[3] == "   "
    assert "2 record(s) with a blank text in 'review' (first: line 5), read as empty documents" in caplog.text
    caplog.clear()
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text("".join(json.dumps({"text": "" if i == 2 else t, "label": s}) + "\n"
                             for i, (t, s) in enumerate(rows[:5])), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        ds = load_jsonl(jsonl)
    assert ds.texts[2] == "" and len(ds) == 5
    assert "2 record(s) with a blank text in 'text' (first: line 3)" in caplog.text


def test_blank_files_of_a_class_folder_are_counted_as_the_blank_texts_of_a_table(imdb_small, tmp_path, caplog):
    from toolkit.data import load_folder

    texts, labels = imdb_small
    for i, (text, label) in enumerate(zip(texts[:10], labels[:10])):
        (tmp_path / "reviews" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "reviews" / label / f"{i}.txt").write_text("" if i in (2, 5) else text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        ds = load_folder(tmp_path / "reviews")
    assert len(ds) == 10 and ds.texts.count("") == 2
    assert "2 empty or blank file(s) (first: " in caplog.text and "read as empty documents" in caplog.text


# ------------------------------------------------------------------ 5. labels
def test_one_number_written_two_ways_among_text_labels_is_one_class_in_memory_and_on_dask(imdb_small, tmp_path):
    from toolkit.data import load_csv

    texts, _ = imdb_small
    spelled = ["pos", "neg", "1", "1.0", " 2.50", "2.5"]
    rows = [(t, spelled[i % len(spelled)]) for i, t in enumerate(texts[:24])]
    path = _write_csv(tmp_path / "mixed.csv", rows)
    ds = load_csv(path, text_column="review", label_column="sentiment")
    assert ds.target_names == ["1", "2.5", "neg", "pos"]
    assert [ds.target_names[y] for y in ds.labels[:6]] == ["pos", "neg", "1", "1", "2.5", "2.5"]
    pytest.importorskip("dask")
    from toolkit.distributed import read_texts

    on_dask = read_texts(path, text_column="review", label_column="sentiment").compute(scheduler="sync")
    assert sorted({label for _, label in on_dask}) == ds.target_names
    assert [label for _, label in on_dask] == [ds.target_names[y] for y in ds.labels]

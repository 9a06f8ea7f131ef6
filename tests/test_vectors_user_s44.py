"""A user who brings their own word vectors (session 44): the cache's file identity, phrases on a word map,
a documents limit for the commands that read texts."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from conftest import write_vectors
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.exceptions import VectorsFormatError
from toolkit.vectors import clear_memo, load_vectors, loading


def _cli(*args):
    result = CliRunner().invoke(app, ["-q", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _save(path, value):
    """``path`` as word2vec binary of 3 words whose values are all ``value`` (the same size for any value)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(4)
    kv.add_vectors(["good", "bad", "film"], np.full((3, 4), value, dtype=np.float32))
    kv.save_word2vec_format(str(path), binary=True)


def _entries(cache):
    return sorted(p.name for p in (cache / "vectors").iterdir() if not p.name.startswith("."))


def _rewrite_in_place(path, value):
    """Write ``path`` again (same inode, same size) and put its times back, as ``cp -p`` over it does."""
    before = path.stat()
    for _ in range(200):  # the change time ticks coarsely (a jiffy): write until it moved
        _save(path, value)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        if path.stat().st_ctime_ns != before.st_ctime_ns:
            break
        time.sleep(0.01)
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


def _replace(path, value):
    """Replace ``path`` by a new file (another inode) of the same size and times, as ``rsync -t`` or tar do."""
    before = path.stat()
    new = path.with_name(path.name + ".part")
    _save(new, value)
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new, path)
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


@pytest.mark.parametrize("rewrite", [_rewrite_in_place, _replace])
def test_vectors_file_rewritten_with_its_mtime_put_back_is_not_served_stale(tmp_path, rewrite):
    # the cache key held path, size and mtime only: the new values were never seen (memo and disk cache alike)
    cache, path = tmp_path / "cache", tmp_path / "domain.bin"
    _save(path, 1.0)
    assert load_vectors(path, cache_dir=cache)["good"][0] == 1.0
    rewrite(path, 2.0)
    assert load_vectors(path, cache_dir=cache)["good"][0] == 2.0  # the process' memo
    clear_memo()
    assert load_vectors(path, cache_dir=cache)["good"][0] == 2.0  # the disk cache
    assert len(_entries(cache)) == 1  # the entry of the earlier contents went


def _never(*args, **kwargs):
    raise AssertionError("the cache entry was built again")


def test_vectors_untouched_file_is_read_from_its_cache_entry(tmp_path, monkeypatch):
    cache, path = tmp_path / "cache", tmp_path / "domain.bin"
    _save(path, 1.0)
    first = load_vectors(path, cache_dir=cache)
    clear_memo()
    monkeypatch.setattr(loading, "_build_entry", _never)
    monkeypatch.setattr("toolkit._hashing.hash_file", _never)  # nor is the file read to check it
    again = load_vectors(path, cache_dir=cache)
    assert again is not first and again["good"][0] == 1.0
    assert isinstance(again.vectors, np.memmap)  # mapped from the entry
    assert len(_entries(cache)) == 1


@pytest.mark.parametrize("rewrite", [_rewrite_in_place, _replace])
def test_vectors_copy_of_the_same_content_keeps_its_cache_entry(tmp_path, monkeypatch, rewrite):
    # data staged again with its times (cp -p, rsync -a, tar: another inode or change time, the same content)
    # finds its entry, checked by the file's SHA-256 once, not parsed again
    cache, path = tmp_path / "cache", tmp_path / "domain.bin"
    _save(path, 1.0)
    load_vectors(path, cache_dir=cache)
    rewrite(path, 1.0)
    clear_memo()
    monkeypatch.setattr(loading, "_build_entry", _never)
    assert load_vectors(path, cache_dir=cache)["good"][0] == 1.0
    clear_memo()
    monkeypatch.setattr("toolkit._hashing.hash_file", _never)  # the file found the same is marked so
    assert load_vectors(path, cache_dir=cache)["good"][0] == 1.0
    assert len(_entries(cache)) == 1


def test_vectors_cache_entries_of_an_earlier_toolkit_are_rebuilt_in_place(tmp_path, monkeypatch):
    # entries made before they recorded the file's SHA-256 cannot tell a rewrite with the time put back: each
    # is built again once, under its own name (none is left behind), then read as any other
    cache, path = tmp_path / "cache", tmp_path / "domain.bin"
    _save(path, 1.0)
    with monkeypatch.context() as patch:
        patch.setattr(loading, "_source_fingerprint", lambda path: (None, None))
        load_vectors(path, cache_dir=cache)
        load_vectors(path, cache_dir=cache, limit=2)
    old = _entries(cache)
    _rewrite_in_place(path, 2.0)
    clear_memo()
    assert load_vectors(path, cache_dir=cache)["good"][0] == 2.0
    assert len(load_vectors(path, cache_dir=cache, limit=2)) == 2
    assert _entries(cache) == old
    clear_memo()
    monkeypatch.setattr(loading, "_build_entry", _never)
    assert load_vectors(path, cache_dir=cache)["good"][0] == 2.0


def test_vectors_cache_entry_of_an_earlier_toolkit_is_read_from_a_read_only_cache(tmp_path, monkeypatch):
    # rebuilt it could not be: every load would parse the file into memory instead
    cache, path = tmp_path / "cache", tmp_path / "domain.bin"
    _save(path, 1.0)
    with monkeypatch.context() as patch:
        patch.setattr(loading, "_source_fingerprint", lambda path: (None, None))
        load_vectors(path, cache_dir=cache)
    clear_memo()
    monkeypatch.setattr(loading.os, "access", lambda *args, **kwargs: False)
    monkeypatch.setattr(loading, "_build_entry", _never)
    monkeypatch.setattr(loading, "_read", _never)
    assert isinstance(load_vectors(path, cache_dir=cache).vectors, np.memmap)


# ----------------------------------------------------------------------------- the word map names phrase entries


@pytest.fixture
def phrase_vectors(tmp_path):
    """word2vec text with phrase entries joined by '_' (as GoogleNews has them) and a cased word."""
    return write_vectors(tmp_path / "phrases.txt", ["the", "city", "new_york", "Los_Angeles", "york", "Paris"], dim=6)


def test_cli_map_of_a_phrase_names_its_entry_as_similar_does(phrase_vectors, tmp_path):
    # it said "1 word(s) not in the vectors: 'new york'", where `vectors similar` says "ask for 'new_york'"
    out = tmp_path / "map.png"
    code, _, err = _cli("vectors", "map", "new york", "city", "paris", "zzz", "-V", phrase_vectors, "-o", out)
    assert code == 1 and not out.exists(), err
    assert "'new york' (but the phrase 'new_york' is there" in err and "'paris' (but 'Paris' is there" in err, err
    assert "Ask for 'new_york', 'Paris' instead (and remove the others)" in err and "--skip-missing" in err, err
    code, _, err = _cli("vectors", "map", "new_york", "city", "Paris", "-V", phrase_vectors, "-o", out)
    assert code == 0 and out.is_file(), err  # the advice works


def test_word_map_of_a_phrase_names_its_entry_or_skips_it_with_a_warning(phrase_vectors, tmp_path, caplog):
    from toolkit.cli.vectors import word_map

    with pytest.raises(KeyError, match=r"'los angeles' \(but the phrase 'Los_Angeles' is there.*skip_missing=True"):
        word_map(str(phrase_vectors), ["los angeles", "city", "the"], tmp_path / "map.png")
    with caplog.at_level("WARNING"):
        assert word_map(str(phrase_vectors), ["los angeles", "city", "the"], tmp_path / "map.png",
                        skip_missing=True).is_file()
    assert "'los angeles' as the phrase 'Los_Angeles'" in caplog.text


def test_cli_map_of_words_beyond_limit_advises_a_larger_limit_as_similar_does(glove_small, tmp_path):
    # it said "Remove them", where `vectors similar` says "load more (a larger --limit, or none)"
    code, _, err = _cli("vectors", "map", "the", "film", "-V", glove_small, "--limit", 100, "-o", tmp_path / "m.png")
    assert code == 1 and "'film'. Load more vectors (a larger --limit, or none: the first 100 are loaded)" in err, err
    code, _, err = _cli("vectors", "map", "the", "film", "-V", glove_small, "--limit", 1000, "-o", tmp_path / "m.png")
    assert code == 0, err


# ----------------------------------------------------------------------------- --doc-limit


def test_cli_coverage_and_train_read_at_most_doc_limit_documents(tmp_path):
    # neither command could cut its texts; --limit there is (or would be) the number of vectors
    texts = tmp_path / "reviews.txt"
    texts.write_text("good film\nbad film\nawful acting\nterrible plot\n", encoding="utf-8")
    vectors = write_vectors(tmp_path / "v.txt", ["good", "film", "bad", "awful"], dim=4)
    code, out, err = _cli("vectors", "coverage", texts, "-V", vectors, "--doc-limit", 2, "--json")
    assert code == 0, err
    import json

    report = json.loads(out)
    assert (report["n_tokens"], report["n_covered"]) == (3, 3)  # good, film, bad: not the last two lines
    code, out, err = _cli("vectors", "train", texts, tmp_path / "w2v.txt", "--doc-limit", 2,
                          "--set", "min_count=1", "--set", "vector_size=4", "--set", "epochs=1", "--set", "workers=1")
    assert code == 0, err
    assert sorted(load_vectors(tmp_path / "w2v.txt").index_to_key) == ["bad", "film", "good"]
    code, _, err = _cli("vectors", "coverage", texts, "-V", vectors, "--doc-limit", 0)
    assert code != 0 and "--doc-limit" in err


def test_cli_coverage_doc_limit_of_imdb_takes_both_classes_and_names_the_review(shared_data, tmp_path):
    from toolkit.cli.vectors import _read_documents
    from toolkit.data.datasets import load_imdb

    texts, kept = _read_documents("imdb", 6, column="text", data_dir=shared_data, cache_dir=None)
    full = load_imdb("train", data_dir=shared_data)
    assert texts == list(load_imdb("train", data_dir=shared_data, limit=6).texts)
    assert sorted(full.labels[kept].tolist()) == [0, 0, 0, 1, 1, 1]
    # a too long review among them is named by its place in the split, not in the 2 kept
    _, (first, second) = _read_documents("imdb", 2, column="text", data_dir=shared_data, cache_dir=None)
    short, long = sorted((first, second), key=lambda i: len(full.texts[i]))
    assert len(full.texts[short]) < len(full.texts[long])
    vectors = write_vectors(tmp_path / "v.txt", ["good", "film"], dim=4)
    code, _, err = _cli("vectors", "coverage", "imdb", "-V", vectors, "--data-dir", shared_data, "--doc-limit", 2,
                        "--set", f"max_length={len(full.texts[short])}")
    assert code == 1 and f"Review {long} of IMDB's train split has {len(full.texts[long])} characters" in err, err


# ----------------------------------------------------------------------------- a user's own files


@pytest.mark.parametrize("header", [True, False])
def test_vectors_csv_file_is_refused_naming_the_commas_and_the_fix(tmp_path, header):
    # pandas' DataFrame.to_csv of word vectors said "the first line has no values", naming no cause
    import csv

    import pandas as pd

    frame = pd.DataFrame(np.arange(12).reshape(3, 4) / 7, index=["the", "of", ","])
    frame.to_csv(tmp_path / "vectors.csv", header=header)
    with pytest.raises(VectorsFormatError, match=r"vectors\.csv, line 1: the line reads '(,0,1,2,3|the,0\.0,0\.1.*)'"
                                                 r": the word and its values are separated by commas.*sep=' '"):
        load_vectors(tmp_path / "vectors.csv")
    frame.to_csv(tmp_path / "vectors.txt", sep=" ", header=False, quoting=csv.QUOTE_NONE)  # the advice works
    kv = load_vectors(tmp_path / "vectors.txt")
    assert kv.index_to_key == ["the", "of", ","] and np.allclose(kv[","], frame.loc[","].to_numpy())


def test_evaluate_word_pairs_case_sensitive_names_the_casing_that_lost_the_pairs(tmp_path, glove_small):
    # it advised loading more vectors: the words were all there, lowercased
    from toolkit.exceptions import DataError
    from toolkit.vectors import evaluate_word_pairs

    kv = load_vectors(glove_small, limit=5000)
    path = tmp_path / "pairs.tsv"
    path.write_text("King\tQueen\t8\nFilm\tMovie\t9\ncar\tbanana\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"2 pair\(s\) have both words there in another casing \('King' is 'king' and "
                                        r"'Queen' is 'queen'\): pass case_insensitive=True, or load more"):
        evaluate_word_pairs(kv, path, case_insensitive=False)
    assert evaluate_word_pairs(kv, path)["spearman"] > 0  # the advice works

"""Domain vectors and document vectors as a user with unlabelled in-domain text meets them (session 44),
on small real IMDB samples: token lists of 120 training reviews, 150 more reviews as the unlabelled text."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from conftest import simple_tokens

from toolkit.exceptions import DataError
from toolkit.vectors import EmbeddingVectorizer, docvec, domain
from toolkit.vectors.docvec import DocVectorizer

SMALL_DOC = {"vector_size": 8, "epochs": 1, "min_count": 2, "workers": 1}


@pytest.fixture
def cache(fresh_domain_cache):
    """An empty cache folder of the test's own, and fresh in-process memos (conftest's ``fresh_domain_cache``)."""
    return fresh_domain_cache


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """(training token lists, unlabelled texts A, unlabelled texts B): disjoint real training reviews."""
    texts, _ = imdb_small
    flat = [t.replace("\n", " ") for t in texts]
    return simple_tokens(texts[:120]), flat[120:270], flat[270:420]


def _write_lines(path, texts):
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------- DocVectorizer whose cache entry is gone at transform
def test_docvec_transform_refuses_a_changed_source_when_its_model_is_gone(reviews, cache, tmp_path):
    """Before: transform trained a model on the file's new texts (other vectors than at fit, silently) and stored
    it under the fitted key, so a later fit on the original texts read that wrong model from the cache."""
    docs, texts_a, texts_b = reviews
    source = _write_lines(tmp_path / "unlabelled.txt", texts_a)
    vec = DocVectorizer(unlabelled=str(source), **SMALL_DOC).fit(docs)
    before = vec.transform(docs[:5])
    key = vec.model_key_

    _write_lines(source, texts_b)  # the source file is rewritten...
    shutil.rmtree(cache / "doc_vectors")  # ...and the cache cleared (or a fresh process on another machine)
    docvec.clear_memo()
    with pytest.raises(DataError, match="no longer in the cache") as info:
        vec.transform(docs[:5])
    assert key in str(info.value) and "now gives another key" in str(info.value) and "Fit the DocVectorizer again" in str(info.value)
    assert not (cache / "doc_vectors" / key).exists()  # nothing stored under the fitted key

    _write_lines(source, texts_a)  # the original texts again: a new fit gets the original model
    docvec.clear_memo()
    again = DocVectorizer(unlabelled=str(source), **SMALL_DOC).fit(docs)
    assert again.model_key_ == key
    np.testing.assert_array_equal(again.transform(docs[:5]), before)


def test_docvec_transform_retrains_the_same_model_when_its_source_is_unchanged(reviews, cache, tmp_path):
    docs, texts_a, _ = reviews
    source = _write_lines(tmp_path / "unlabelled.txt", texts_a)
    vec = DocVectorizer(unlabelled=str(source), **SMALL_DOC).fit(docs)
    before = vec.transform(docs[:5])
    shutil.rmtree(cache / "doc_vectors")
    docvec.clear_memo()
    np.testing.assert_array_equal(vec.transform(docs[:5]), before)  # one thread: the same model again


def test_docvec_transform_with_its_source_gone_says_the_model_is_gone(reviews, cache, tmp_path):
    """Before: the message asked for another 'unlabelled' parameter, as if fit were called."""
    docs, texts_a, _ = reviews
    source = _write_lines(tmp_path / "unlabelled.txt", texts_a)
    vec = DocVectorizer(unlabelled=str(source), **SMALL_DOC).fit(docs)
    source.unlink()
    shutil.rmtree(cache / "doc_vectors")
    docvec.clear_memo()
    with pytest.raises(DataError, match=r"no longer in the cache .* does not exist .* Restore the cache entry"):
        vec.transform(docs[:5])


# ------------------------------------------------------- domain specs holding many texts
def test_domain_spec_messages_give_the_number_of_texts_not_the_texts(reviews, cache):
    """Before: a tuple spec's repr, every unlabelled text, was put in the error message (and in log lines)."""
    docs, texts_a, texts_b = reviews
    many = [*texts_a, *texts_b] * 10  # 3,000 reviews: about 4 MB of repr
    spec = ("word2vec", [*many, None], "dim=8,epochs=1")
    with pytest.raises(ValueError, match=r"item 3000 is NoneType") as info:
        EmbeddingVectorizer(vectors=spec).fit(docs)
    message = str(info.value)
    assert "<3,001 texts>" in message and len(message) < 1000
    assert domain.spec_label(("fasttext", "/data/reviews.txt")) == "('fasttext', '/data/reviews.txt')"


def test_domain_spec_log_lines_give_the_number_of_texts_not_the_texts(reviews, cache, caplog):
    docs, texts_a, _ = reviews
    spec = ("word2vec", tuple(texts_a), "dim=8,epochs=1,min_count=2")
    with caplog.at_level(logging.INFO, logger="toolkit.vectors.domain"):
        EmbeddingVectorizer(vectors=spec).fit(docs)  # token lists: no record of their tokenizer, an INFO line
    lines = [r.getMessage() for r in caplog.records if "no record of their tokenizer" in r.getMessage()]
    assert lines and all("<150 texts>" in line and len(line) < 1000 for line in lines)


# ------------------------------------------------------- min_count of the spec, not of the estimator
@pytest.mark.parametrize("algorithm", ["word2vec", "fasttext"])
def test_domain_spec_min_count_too_high_names_the_spec_option(reviews, cache, algorithm):
    """Before (word2vec): "lower min_count or pass more text": EmbeddingVectorizer's own min_count changes nothing."""
    docs, _, _ = reviews
    vec = EmbeddingVectorizer(vectors=f"{algorithm}:dim=8,epochs=1,min_count=100000,bucket=1000", min_count=1)
    with pytest.raises(DataError, match=r"min_count=100000 .* 'vectors' domain spec; lower the spec's min_count "
                                        r"option \(e.g. ':min_count=1'"):
        vec.fit(docs)


# ------------------------------------------------------- options written with ':' instead of ','
@pytest.mark.parametrize("spec", ["word2vec:unsup:dim=16:epochs=2", "fasttext:dim=16:epochs=2"])
def test_domain_spec_options_separated_by_colons_are_named(spec):
    """Before: parsed as a source file named 'unsup:dim=16' (or 'dim=16'), refused at fit as a missing file."""
    with pytest.raises(ValueError, match=r"'dim=16' is an option in the source's place: give the options after one "
                                         r"last ':', separated by commas"):
        domain.parse_domain_spec(spec)


def test_domain_spec_paths_with_an_equals_sign_are_still_paths():
    assert domain.parse_domain_spec("word2vec:C:/data/min=3.txt").source == "C:/data/min=3.txt"
    assert domain.parse_domain_spec("word2vec:/data/b.txt:dim=16,epochs=2").params["dim"] == 16


# ------------------------------------------------------- the cache cleared in a running session
def test_fit_after_the_cache_was_cleared_writes_the_domain_vectors_again(reviews, cache, tmp_path):
    """Before: the second fit took the vectors from the process memo and kept the path of the removed entry, so
    the fitted vectorizer, pickled, gave the tokens first seen at transform no subword vector in another process."""
    import os
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    docs, texts_a, _ = reviews
    spec = f"fasttext:{_write_lines(tmp_path / 'unlabelled.txt', texts_a)}:dim=8,epochs=1,min_count=2,bucket=1000"
    first = EmbeddingVectorizer(vectors=spec).fit(docs)
    expected = first.transform([["wonderfullly"]])
    assert np.any(expected != 0)  # an unseen misspelling: a vector from its character n-grams
    shutil.rmtree(cache / "domain_vectors")  # e.g. `toolkit cache clear` while the notebook runs

    second = EmbeddingVectorizer(vectors=spec).fit(docs)
    assert second.subword_vectors_ == first.subword_vectors_ and Path(second.subword_vectors_).is_dir()
    (tmp_path / "v.pkl").write_bytes(pickle.dumps(second))
    script = ("import pickle, sys, numpy as np\n"
              "v = pickle.load(open(sys.argv[1], 'rb'))\n"
              "np.save(sys.argv[2], v.transform([['wonderfullly']]))\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "v.pkl"), str(tmp_path / "out.npy")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, "TOOLKIT_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cannot open the fastText vectors" not in result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


# ------------------------------------------------------- a tuple spec's options as a dict
def test_tuple_spec_options_may_be_a_dict(reviews, cache):
    """Before: AttributeError: 'dict' object has no attribute 'split' (a traceback from the parser)."""
    as_dict = domain.parse_domain_spec(("word2vec", "unsup", {"dim": 16, "epochs": 2}))
    assert as_dict == domain.parse_domain_spec("word2vec:unsup:dim=16,epochs=2")
    docs, texts_a, _ = reviews
    vec = EmbeddingVectorizer(vectors=("word2vec", tuple(texts_a), {"dim": 8, "epochs": 1, "min_count": 2})).fit(docs)
    assert vec.n_features_out_ == 8


@pytest.mark.parametrize(("options", "match"), [
    ({"dim": 1.5}, r"option 'dim' is 1.5, not an integer"),
    ({"dim": -1}, r"option dim=-1 is out of range"),
    ({"dimm": 3}, r"unknown option 'dimm'"),
    (("dim=16", "epochs=2"), (r"the options \(a tuple's 3rd element\) must be a str such as 'dim=100,epochs=5' or a "
                              r"dict such as \{'dim': 100, 'epochs': 5\}, not tuple")),
])
def test_tuple_spec_options_of_another_kind_are_refused_clearly(options, match):
    with pytest.raises(ValueError, match=match):
        domain.parse_domain_spec(("word2vec", "unsup", options))


# ------------------------------------------------------- unlabelled text files as users keep them
@pytest.mark.parametrize("module", ["gzip", "bz2", "lzma"])
def test_compressed_unlabelled_file_gives_the_vectors_of_the_plain_file(reviews, cache, tmp_path, module):
    """Before: "is not valid UTF-8 (invalid start byte at byte 1); re-encode it as UTF-8" for a reviews.txt.gz."""
    import importlib

    docs, texts_a, _ = reviews
    plain = _write_lines(tmp_path / "reviews.txt", texts_a)
    packed = tmp_path / "reviews.txt.z"
    with importlib.import_module(module).open(packed, "wb") as fh:
        fh.write(plain.read_bytes())
    options = ":dim=8,epochs=1,min_count=2"
    expected = domain.domain_vectors(f"word2vec:{plain}{options}", docs)
    got = domain.domain_vectors(f"word2vec:{packed}{options}", docs)
    assert got is expected  # the same texts: the same key, read from the memo
    vec = DocVectorizer(unlabelled=str(packed), **SMALL_DOC).fit(docs)
    assert vec.model_key_ == DocVectorizer(unlabelled=str(plain), **SMALL_DOC).fit(docs).model_key_


def test_undecodable_line_is_located_in_the_file_not_in_a_read_chunk(tmp_path, cache):
    """Before: "at byte 3395" for a bad byte at byte 200,003 (the offset within the 8 KB chunk being decoded)."""
    import gzip

    data = b"a good film\n" * 20_000 + b"caf\xe9 au lait\n"
    (tmp_path / "bad.txt").write_bytes(data)
    with gzip.open(tmp_path / "bad.txt.gz", "wb") as fh:
        fh.write(data)
    with pytest.raises(DataError, match=r"not valid UTF-8 \(invalid continuation byte on line 20,001, at byte "
                                        r"240,003\); re-encode it as UTF-8"):
        domain.domain_vectors(f"word2vec:{tmp_path / 'bad.txt'}", [["film"]])
    with pytest.raises(DataError, match=r"on line 20,001, at byte 240,003 of the gzip-decompressed text\)"):
        DocVectorizer(unlabelled=str(tmp_path / "bad.txt.gz"), **SMALL_DOC).fit([["film"]])


def test_truncated_compressed_file_is_named_as_such(tmp_path, cache):
    import gzip

    packed = gzip.compress(b"a good film\n" * 5_000)
    (tmp_path / "cut.gz").write_bytes(packed[:len(packed) // 2])  # a copy cut short
    with pytest.raises(DataError, match=r"starts as a gzip file but cannot be decompressed \(Compressed file ended"):
        domain.domain_vectors(f"word2vec:{tmp_path / 'cut.gz'}", [["film"]])

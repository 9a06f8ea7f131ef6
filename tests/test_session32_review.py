"""Review of session 32's changes (b7878ab, 79ea297, 343cd69): one test per bug found, each failing before its fix.

Real IMDB training reviews (the conftest fixtures), real GloVe rows and small vector files written here.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import small_fasttext_bin, write_vectors

from toolkit.vectors import load_vectors
from toolkit.vectors.clusters import WordClusterer, cluster_token

# ----------------------------------------------------------------------------- WordClusterer: casing fallback


CASED_WORDS = ["the", "John", "JOHN", "film", "Paris", "good", "a", "of", "and", "PARIS"]


def test_clusterer_transform_finds_other_casings_without_scanning_the_words(tmp_path, monkeypatch):
    """79ea297 scanned all of ``words_`` (up to 200,000) with ``_first_casings`` in every transform call that had
    a token without a cluster (always: any unknown word), 0.1 -> 27 ms per one-review call with GloVe, where
    the scan cannot even find anything. The table of other casings is now built with the word table."""
    import pickle

    from toolkit.vectors import matrix

    path = write_vectors(tmp_path / "cased.txt", CASED_WORDS)
    clu = WordClusterer(vectors=str(path), n_clusters=len(CASED_WORDS)).fit([["the"]])
    label = dict(zip(clu.words_.tolist(), clu.labels_.tolist()))
    calls = []
    real = matrix._first_casings
    monkeypatch.setattr(matrix, "_first_casings", lambda *a: calls.append(a) or real(*a))
    tokens = ["john", "The", "paris", "Paris", "pARIS", "dud", "JoHn", "JOHN"]
    # the first casing in the vectors' order wins ("John" before "JOHN", "Paris" before "PARIS")
    expected = ["John", "the", "Paris", "Paris", "Paris", None, "John", "JOHN"]
    for model in (clu, pickle.loads(pickle.dumps(clu))):
        out = model.transform([tokens]).to_list()[0]
        assert out == [tok if word is None else cluster_token(label[word]) for tok, word in zip(tokens, expected)]
    assert calls == []  # no scan of the words at transform


# ----------------------------------------------------------------------------- subwords=False after fit


def test_subwords_false_set_after_fit_turns_subwords_off_without_refit(fasttext_bin, imdb_tokens200, caplog):
    """The warning for a fitted model whose fastText entry is gone said "(or, to silence this, with
    subwords=False)"; but ``set_params(subwords=False)`` on the fitted (loaded) model changed nothing: transform
    read ``subword_vectors_`` alone. It now reads ``subwords`` too, as ``unknown`` is read at transform."""
    import pickle

    from toolkit.vectors import EmbeddingVectorizer

    docs = imdb_tokens200[0]
    new = [["the", "moviee", "greatt"], ["zzyzxq"]]
    vec = EmbeddingVectorizer(vectors=str(fasttext_bin)).fit(docs[:100])
    table = EmbeddingVectorizer(vectors=str(fasttext_bin), subwords=False).fit(docs[:100])
    assert vec.transform(new)[1].any() and not table.transform(new)[1].any()
    clu = WordClusterer(vectors=str(fasttext_bin), n_clusters=10, max_words=300).fit(docs[:100])
    assert clu.transform(new).to_list()[1][0] != "zzyzxq"
    for fitted in (vec, clu):
        moved = pickle.loads(pickle.dumps(fitted))  # "another machine": its entry is gone
        moved.subword_vectors_ = str(fasttext_bin.parent / f"gone-{type(fitted).__name__}")
        moved.set_params(subwords=False)
        with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
            out = moved.transform(new)
        assert "cannot open the fastText vectors" not in caplog.text
        if fitted is vec:
            np.testing.assert_array_equal(out, table.transform(new))
        else:
            assert out.to_list()[1] == ["zzyzxq"]
        # and the fitted one with its entry: subwords=False after fit gives the table alone
        fitted.set_params(subwords=False)
        if fitted is vec:
            np.testing.assert_array_equal(vec.transform(new), table.transform(new))
        else:
            assert clu.transform(new).to_list()[1] == ["zzyzxq"]
        fitted.set_params(subwords=True)


# ----------------------------------------------------------------------------- subwords: no scan per transform


@pytest.fixture(scope="module")
def cased_fasttext_bin(imdb_tokens200, tmp_path_factory):
    """A small fastText model of 200 real IMDB training reviews whose names are capitalized ("John", "Paris")."""
    names = {"john", "paris", "london", "michael", "james"}
    docs = [[t.capitalize() if t in names else t for t in doc] for doc in imdb_tokens200[0]]
    docs += [["John", "Paris", "London", "Michael", "James"]] * 3
    return small_fasttext_bin(docs, tmp_path_factory.mktemp("fasttext-cased") / "imdb200-cased.bin")


def test_subword_transform_does_not_scan_all_the_fasttext_words(cased_fasttext_bin, imdb_tokens200, monkeypatch):
    """79ea297: every transform call with a token outside the fitted table ran build_embedding_matrix on the
    fastText vectors, whose other-casing fallback scans all of their words (``_first_casings``) whenever a
    token is found neither as is nor lower-cased (any misspelling): 0.18 s a call for 2 million words
    (fastText's crawl models). The vectors re-opened at transform now keep a casing index; same vectors."""
    from toolkit.vectors import EmbeddingVectorizer, build_embedding_matrix, matrix

    docs = imdb_tokens200[0]
    kv = load_vectors(str(cased_fasttext_bin))
    assert "John" in kv.key_to_index and "john" not in kv.key_to_index
    vec = EmbeddingVectorizer(vectors=str(cased_fasttext_bin), pooling="sum").fit(docs[:50])
    clu = WordClusterer(vectors=str(cased_fasttext_bin), n_clusters=10, max_words=300).fit(docs[:50])
    new = [["jOHN"], ["moviee"], ["PARIS", "greatt"], ["zzyzxq", "london"]]
    # the rows the fallback gives them (John's own vector for "jOHN"), computed the scanning way
    rows, report = build_embedding_matrix([t for d in new for t in d], kv, oov="zeros")
    assert report.n_cased == 3 and report.n_subword >= 3
    calls = []
    real = matrix._first_casings
    monkeypatch.setattr(matrix, "_first_casings", lambda *a: calls.append(a) or real(*a))
    for _ in range(2):
        out = vec.transform(new)
        clusters = clu.transform(new).to_list()
    np.testing.assert_array_equal(out[0], kv["John"])
    np.testing.assert_allclose(out, [rows[0], rows[1], rows[2] + rows[3], rows[4] + rows[5]], rtol=1e-6)
    assert all(c.startswith("§") for d in clusters for c in d)
    assert calls == []  # no scan of the fastText words at transform


def test_gone_subword_entry_is_said_to_be_gone_not_damaged(fasttext_bin, imdb_tokens200, caplog):
    """A fitted vectorizer whose cache entry no longer exists (cache cleared, another machine) warned that the
    entry "is damaged: header.json is missing ... Delete it to rebuild it": there is nothing to delete."""
    import pickle

    from toolkit.vectors import EmbeddingVectorizer

    vec = EmbeddingVectorizer(vectors=str(fasttext_bin)).fit(imdb_tokens200[0][:50])
    moved = pickle.loads(pickle.dumps(vec))
    moved.subword_vectors_ = str(fasttext_bin.parent / "cleared-entry")
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        assert not moved.transform([["zzyzxq"]]).any()
    assert "cleared-entry no longer exists" in caplog.text
    assert "damaged" not in caplog.text and "Delete it" not in caplog.text


# ----------------------------------------------------------------------------- WordClusterer: phrases


def test_clusterer_gives_word_ngrams_the_cluster_of_the_vectors_phrase(tmp_path):
    """README (79ea297): "Every user of vectors matches a token as is, then lower-cased, then under another
    casing ..., and a word n-gram such as "new york" gets a phrase entry "new_york"". WordClusterer did the
    casings but no phrases: "new york" stayed unknown while build_embedding_matrix gave it new_york's vector."""
    from toolkit.vectors import build_embedding_matrix

    words = ["the", "film", "new_york", "Los_Angeles", "good", "a", "of", "New_Jersey", "new_jersey", "___"]
    path = write_vectors(tmp_path / "phrases.txt", words)
    kv = load_vectors(path)
    clu = WordClusterer(vectors=str(path), n_clusters=len(words)).fit([["the"]])
    label = dict(zip(clu.words_.tolist(), clu.labels_.tolist()))
    tokens = ["new york", "NEW YORK", "los angeles", "Los Angeles", "new jersey", "New Jersey", "_ _", "good film",
              "new  york", "the"]
    matrix, report = build_embedding_matrix(tokens, kv)
    assert report.n_phrase == 6
    out = clu.transform([tokens]).to_list()[0]
    for i, tok in enumerate(tokens):
        # the word whose vector the matrix took for each token is the word whose cluster the token gets
        took = [w for w in words if np.array_equal(kv[w], matrix[i]) and matrix[i].any()]
        assert out[i] == (cluster_token(label[took[0]]) if took else tok), tok
    assert out[:6] == [cluster_token(label[w]) for w in
                       ("new_york", "new_york", "Los_Angeles", "Los_Angeles", "new_jersey", "New_Jersey")]


def test_transform_with_subwords_does_not_log_an_embedding_coverage_line(fasttext_bin, imdb_tokens200, caplog):
    """Each transform call that matched new tokens to the fastText vectors logged "Embedding coverage: 2 of 2
    tokens" at INFO (build_embedding_matrix's line), which reads as the fitted model's coverage; at DEBUG now.
    The fit's own line stays at INFO."""
    from toolkit.vectors import EmbeddingVectorizer

    docs = imdb_tokens200[0]
    with caplog.at_level(logging.INFO, logger="toolkit.vectors"):
        vec = EmbeddingVectorizer(vectors=str(fasttext_bin)).fit(docs[:50])
        clu = WordClusterer(vectors=str(fasttext_bin), n_clusters=10, max_words=300).fit(docs[:50])
        fit_lines = [r for r in caplog.records if r.getMessage().startswith("Embedding coverage")]
        assert fit_lines and all(r.levelno == logging.INFO for r in fit_lines)
        caplog.clear()
        assert vec.transform([["moviee", "greatt"]]).any()
        assert clu.transform([["moviee", "greatt"]]).to_list()[0][0].startswith("§")
    assert not [r for r in caplog.records if r.getMessage().startswith("Embedding coverage")]


# ----------------------------------------------------------------------------- pandas: index labels in messages


def test_multiindex_labels_are_named_without_numpy_reprs(imdb_small, caplog):
    """b7878ab names a document's pandas index label in errors and in the skip warning; a MultiIndex label
    (a tuple) kept its numpy scalars, shown by numpy 2 as "('y', np.int64(2))"."""
    import pandas as pd

    from toolkit.exceptions import DocumentError
    from toolkit.text import SpacyTokenizer

    texts = imdb_small[0][:3]
    index = pd.MultiIndex.from_arrays([["a", "b", "c"], np.array([10, 20, 30], dtype=np.int64)])
    with pytest.raises(DocumentError) as err:
        SpacyTokenizer().transform(pd.Series([texts[0], None, texts[2]], index=index))
    assert "(index label ('b', 20))" in str(err.value) and "np.int64" not in str(err.value)
    short = min(len(t) for t in texts)
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        corpus = SpacyTokenizer(max_length=short, errors="skip").transform(pd.Series(texts, index=index))
    skipped = [i for i, t in enumerate(texts) if len(t) > short]
    assert corpus.skipped.tolist() == skipped
    assert f"index labels {plain_labels(index, skipped)}" in caplog.text and "np.int64" not in caplog.text


def plain_labels(index, positions):
    """What the warning lists: the labels' reprs with Python ints."""
    return ", ".join(repr((index[i][0], int(index[i][1]))) for i in positions)


# ----------------------------------------------------------------------------- lead's additions


def test_refit_forgets_the_skipped_of_an_earlier_fit_transform(imdb_small):
    """``skipped_`` is set by ``fit_transform`` only (b7878ab); a later ``fit`` on other texts kept the indices of
    the earlier texts, which then named documents of no input."""
    from toolkit.text import SpacyTokenizer

    texts = imdb_small[0][:5]
    tok = SpacyTokenizer(max_length=400, errors="skip")
    long = [i for i, t in enumerate(texts) if len(t) > 400]
    assert long, "the sample needs a review over 400 characters"
    tok.fit_transform(texts)
    assert tok.skipped_.tolist() == long
    tok.fit(["short text"])
    assert not hasattr(tok, "skipped_")


def test_subword_entry_is_found_in_a_moved_cache(fasttext_bin, imdb_tokens200, tmp_path, monkeypatch, caplog):
    """``subword_vectors_`` records the cache entry's absolute path: a cache moved (or a Dask worker whose
    TOOLKIT_CACHE_DIR holds the same vectors elsewhere) lost the subwords with a warning. The entry of the same
    name in the current cache folder is used (read_entry checks its content)."""
    import pickle
    import shutil
    from pathlib import Path

    from toolkit.vectors import EmbeddingVectorizer

    vec = EmbeddingVectorizer(vectors=str(fasttext_bin)).fit(imdb_tokens200[0][:50])
    entry = Path(vec.subword_vectors_)
    new_docs = [["zzyzxq", "unfilmable"], ["the", "qwertyish"]]
    expected = vec.transform(new_docs)
    assert expected.any()
    moved_cache = tmp_path / "moved-cache"
    shutil.copytree(entry, moved_cache / entry.parent.name / entry.name)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(moved_cache))
    moved = pickle.loads(pickle.dumps(vec))
    moved.subword_vectors_ = str(tmp_path / "old-cache" / entry.parent.name / entry.name)  # no longer there
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.loading"):
        np.testing.assert_array_equal(moved.transform(new_docs), expected)
    assert "no longer exists" not in caplog.text

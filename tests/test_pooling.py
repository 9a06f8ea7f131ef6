"""Tests of toolkit.vectors.pooling.EmbeddingVectorizer on real IMDB reviews and GloVe rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from toolkit.exceptions import DataError
from toolkit.text.corpus import TokenizedCorpus
from toolkit.vectors.pooling import EmbeddingVectorizer


@pytest.fixture(scope="module")
def glove_rows(glove_small):
    rows = {}
    with open(glove_small, encoding="utf-8") as fh:
        for line in fh:
            word, *values = line.rstrip().split(" ")
            rows[word] = np.array(values, dtype="float32")
    return rows


def test_pooling_mean_max_sum_match_numpy(glove_small, glove_rows):
    docs = [["good", "film", "good"], ["a", "zzzunknownzzz", "dud"], ["qqqxxx"]]
    expected_vecs = [[glove_rows[w] for w in d if w in glove_rows] for d in docs]
    mean = EmbeddingVectorizer(vectors=str(glove_small), pooling="mean").fit_transform(docs)
    assert mean.shape == (3, 50) and mean.dtype == np.float32
    np.testing.assert_allclose(mean[0], np.mean(expected_vecs[0], axis=0), rtol=1e-5)
    np.testing.assert_allclose(mean[1], np.mean(expected_vecs[1], axis=0), rtol=1e-5)
    maxed = EmbeddingVectorizer(vectors=str(glove_small), pooling="max").fit_transform(docs)
    np.testing.assert_allclose(maxed[1], np.max(expected_vecs[1], axis=0), rtol=1e-6)
    summed = EmbeddingVectorizer(vectors=str(glove_small), pooling="sum").fit_transform(docs)
    np.testing.assert_allclose(summed[0], np.sum(expected_vecs[0], axis=0), rtol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "max", "sum", "tfidf", "sif"])
def test_pooling_all_oov_and_empty_documents_are_zeros(glove_small, pooling):
    docs = [["good", "film"], ["bad", "plot"], ["qqqxxx", "zzzyyy"], []]
    vec = EmbeddingVectorizer(vectors=str(glove_small), pooling=pooling, remove_first_component=False)
    out = vec.fit_transform(docs)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[2:], 0)
    unseen = vec.transform([["neverseenword"], []])
    np.testing.assert_array_equal(unseen, 0)


def test_pooling_tfidf_and_sif_weights(glove_small, glove_rows):
    docs = [["the", "film"], ["the", "plot"], ["the", "actor"]]
    tfidf = EmbeddingVectorizer(vectors=str(glove_small), pooling="tfidf").fit(docs)
    w_the, w_film = tfidf.token_weights_[tfidf.vocabulary_.encode(["the", "film"])]
    assert w_the == pytest.approx(1.0) and w_film == pytest.approx(np.log(4 / 2) + 1)
    expected = (w_the * glove_rows["the"] + w_film * glove_rows["film"]) / (w_the + w_film)
    np.testing.assert_allclose(tfidf.transform(docs[:1])[0], expected, rtol=1e-5)
    sif = EmbeddingVectorizer(vectors=str(glove_small), pooling="sif", sif_a=0.1,
                              remove_first_component=False).fit(docs)
    a = 0.1
    w = {"the": a / (a + 3 / 6), "film": a / (a + 1 / 6)}
    expected = (w["the"] * glove_rows["the"] + w["film"] * glove_rows["film"]) / 2
    np.testing.assert_allclose(sif.transform(docs[:1])[0], expected, rtol=1e-5)


def test_pooling_sif_removes_common_component(imdb_tokens, glove_small):
    docs = imdb_tokens[0][:200]
    vec = EmbeddingVectorizer(vectors=str(glove_small), pooling="sif")
    out = vec.fit_transform(docs)
    assert vec.components_.shape == (1, 50)
    np.testing.assert_allclose(out @ vec.components_.T, 0, atol=1e-3)
    np.testing.assert_allclose(vec.transform(docs[:10]), out[:10], rtol=1e-4, atol=1e-5)


def test_pooling_features_feed_logistic_regression(imdb_tokens, glove_small):
    docs, labels = imdb_tokens
    pipe = make_pipeline(EmbeddingVectorizer(vectors=str(glove_small)), LogisticRegression(max_iter=1000))
    pipe.fit(docs[:500], labels[:500])
    assert pipe.score(docs[500:], labels[500:]) >= 0.6
    corpus = TokenizedCorpus.from_token_lists(docs[500:])
    np.testing.assert_allclose(pipe[0].transform(corpus), pipe[0].transform(docs[500:]), rtol=1e-6)


def test_pooling_feature_names_and_pandas_output(glove_small):
    pd = pytest.importorskip("pandas")
    vec = EmbeddingVectorizer(vectors=str(glove_small)).set_output(transform="pandas")
    frame = vec.fit_transform([["good", "film"], ["bad"]])
    assert isinstance(frame, pd.DataFrame) and frame.shape == (2, 50)
    assert list(frame.columns[:3]) == ["emb0", "emb1", "emb2"]
    assert vec.get_feature_names_out()[-1] == "emb49"


def test_pooling_vectors_not_stored_and_clone_is_cheap(glove_small):
    import pickle

    vec = EmbeddingVectorizer(vectors=str(glove_small)).fit([["good", "film"]])
    assert vec.embedding_matrix_.shape == (4, 50)  # pad, oov, good, film only
    assert len(pickle.dumps(clone(vec))) < 2000


def test_pooling_bad_input(glove_small):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(ValueError, match=r"EmbeddingVectorizer needs vectors: a path .* 'glove\.6B\.50d' or a domain spec"):
        EmbeddingVectorizer().fit([["a"]])
    with pytest.raises(ValueError, match=r"The 'pooling' parameter of EmbeddingVectorizer must be a str among .*Got 'median' instead"):
        EmbeddingVectorizer(vectors=str(glove_small), pooling="median").fit([["a"]])
    with pytest.raises(ValueError, match=r"document 0 of X is a raw string\. Tokenize first"):
        EmbeddingVectorizer(vectors=str(glove_small)).fit(["a good film"])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        EmbeddingVectorizer(vectors=str(glove_small)).transform([["a"]])


def test_pooling_domain_spec_trained_in_fit(imdb_tokens):
    """A domain spec is a plain parameter: trained in fit on the training documents (+ named texts), cached."""
    import pickle

    from toolkit.vectors import domain

    docs, _ = imdb_tokens
    spec = "word2vec:dim=12,epochs=2,min_count=2"
    domain.clear_memo()
    vec = EmbeddingVectorizer(vectors=spec, pooling="sif")
    out = vec.fit_transform(docs[:300])
    assert out.shape == (300, 12) and not np.isnan(out).any()
    assert vec.vectors == spec and vec.embedding_coverage_.n_covered > 1000
    assert b"KeyedVectors" not in pickle.dumps(vec)
    twin = clone(vec).fit(docs[:300])  # same documents: the cached vectors, the same features
    np.testing.assert_allclose(twin.transform(docs[300:320]), vec.transform(docs[300:320]), atol=1e-6)
    with pytest.raises(DataError, match=r"unlabelled texts of the 'vectors' domain spec are empty"):
        EmbeddingVectorizer(vectors=("fasttext", ())).fit(docs[:10])

"""EmbeddingClassifier(architecture="nbsvm_vectors"): NB-weighted n-grams plus word vectors, on real IMDB samples."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from toolkit.models import EmbeddingClassifier, load_model, save_model
from toolkit.models.hybrid import compact_vector_table, word_vector_matrix
from toolkit.text import TokenizedCorpus, Vocabulary
from toolkit.vectors import domain

RECIPE = dict(max_tokens=200_000, maxlen=None, epochs=1, batch_size=32, validation_split=0.0, random_state=0)
DOMAIN = "word2vec:dim=16,epochs=3,min_count=2"


@pytest.fixture(scope="module")
def ngram_data(imdb_tokens):
    """1-3-gram corpora of 450 training and 150 held-out real reviews."""
    docs, labels = imdb_tokens
    grams = TokenizedCorpus.from_token_lists(docs).ngrams((1, 3))
    return grams.take(np.arange(450)), labels[:450], grams.take(np.arange(450, 600)), labels[450:]


@pytest.fixture(scope="module")
def fitted(ngram_data, glove_small):
    X, y, _, _ = ngram_data
    return EmbeddingClassifier(architecture="nbsvm_vectors", vectors=str(glove_small), **RECIPE).fit(X, y)


def test_hybrid_learns_and_uses_its_vector_branch(fitted, ngram_data):
    X, y, X_val, y_val = ngram_data
    assert fitted.score(X_val, y_val) > 0.7
    kernel = fitted.model_.get_layer("vector_logits").get_weights()[0]
    assert np.abs(kernel).max() > 0.01  # the branch starts at zero: training moved it
    # the same model with the vector branch removed (the ablation) predicts differently
    ablation = EmbeddingClassifier(architecture="nbsvm", **RECIPE).fit(X, y)
    assert not np.allclose(ablation.predict_proba(X_val), fitted.predict_proba(X_val))
    # coverage is reported for the words, not the n-grams
    assert fitted.embedding_coverage_.n_tokens < len(fitted.vocabulary_) / 2
    assert fitted.embedding_coverage_.token_coverage > 0.5


def test_hybrid_vector_table_keeps_only_word_rows(fitted):
    layer = fitted.model_.get_layer("pooled_vectors")
    row_of, table = np.asarray(layer.row_of), np.asarray(layer.table)
    assert row_of.shape == (len(fitted.vocabulary_),)
    assert table.shape[0] - 1 == fitted.embedding_coverage_.n_covered
    assert table.shape[0] < len(fitted.vocabulary_) / 2


def test_word_vector_matrix_skips_ngrams(glove_small):
    from toolkit.vectors import load_vectors

    vocab = Vocabulary.from_documents([["the", "film", "the film", "xqzv"]])
    matrix, report = word_vector_matrix(vocab, load_vectors(str(glove_small)))
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    assert np.any(matrix[ids["film"]]) and not np.any(matrix[ids["the film"]]) and not np.any(matrix[ids["xqzv"]])
    assert (report.n_tokens, report.n_covered) == (3, 2)
    row_of, table = compact_vector_table(matrix)
    np.testing.assert_array_equal(table[row_of[ids["film"]]], matrix[ids["film"]])


def test_hybrid_clone_and_grid_search(fitted, ngram_data, glove_small):
    X, y, _, _ = ngram_data
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and not hasattr(twin, "model_")
    search = GridSearchCV(EmbeddingClassifier(architecture="nbsvm_vectors", vectors=str(glove_small), **RECIPE),
                          {"hidden_units": [0, 8]}, cv=2, refit=False).fit(X, y)  # (a refit is a plain fit)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert np.all(np.asarray(search.cv_results_["mean_test_score"]) > 0.6)


def test_hybrid_save_and_load_in_a_fresh_process(fitted, ngram_data, tmp_path):
    _, _, X_val, _ = ngram_data
    save_model(fitted, tmp_path / "model")
    np.save(tmp_path / "expected.npy", fitted.predict_proba(X_val))
    with open(tmp_path / "docs.pkl", "wb") as fh:
        pickle.dump(X_val.to_list(), fh)
    script = textwrap.dedent(f"""
        import pickle, numpy as np
        from toolkit.models import load_model
        clf = load_model({str(tmp_path / "model")!r})
        docs = pickle.load(open({str(tmp_path / "docs.pkl")!r}, "rb"))
        np.testing.assert_allclose(clf.predict_proba(docs), np.load({str(tmp_path / "expected.npy")!r}), atol=1e-6)
        print("same", clf.architecture)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "same nbsvm_vectors" in out.stdout
    assert load_model(tmp_path / "model").vectors == fitted.vectors


def test_hybrid_unpickled_predicts_without_rebuilding_its_keras_model(fitted, ngram_data):
    """Unpickling an NB classifier rebuilt its Keras model (importing TensorFlow in a fresh process: 3 s and
    0.5 GB), though its prediction is numpy. Unpickled, it must predict the same from its weights as arrays,
    rebuild model_ only when it is read, and pickle again either way; a pickle of the older kind (no
    weights as arrays) still loads."""
    _, _, X_val, _ = ngram_data
    expected = fitted.predict_proba(X_val)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X_val), expected)
    assert "model_" not in vars(restored), "prediction rebuilt the Keras model"
    twice = pickle.loads(pickle.dumps(restored))  # saved again before model_ was ever rebuilt
    np.testing.assert_array_equal(twice.predict_proba(X_val), expected)
    assert restored.model_.count_params() == fitted.model_.count_params()  # rebuilt on first read
    assert "model_" in vars(restored) and "_model_keras_bytes" not in vars(restored)
    np.testing.assert_array_equal(restored.predict_proba(X_val), expected)
    older = fitted.__getstate__()
    del older["_nb_weights"]
    legacy = EmbeddingClassifier.__new__(EmbeddingClassifier)
    legacy.__setstate__(older)
    assert "model_" in vars(legacy)
    np.testing.assert_array_equal(legacy.predict_proba(X_val), expected)


def test_hybrid_needs_vectors(ngram_data):
    X, y, _, _ = ngram_data
    with pytest.raises(ValueError, match="architecture='nbsvm_vectors' needs word vectors"):
        EmbeddingClassifier(architecture="nbsvm_vectors", **RECIPE).fit(X, y)


def test_hybrid_rejects_a_vectors_dimension_mismatch(ngram_data, glove_small):
    X, y, _, _ = ngram_data
    with pytest.raises(ValueError, match=r"have dimension 50, but embedding_dim=30"):
        EmbeddingClassifier(architecture="nbsvm_vectors", vectors=str(glove_small), embedding_dim=30,
                            **RECIPE).fit(X, y)


def test_hybrid_with_domain_vectors_trained_in_fit(ngram_data, _isolated_cache):
    X, y, X_val, y_val = ngram_data
    domain.clear_memo()
    entries = _isolated_cache / "domain_vectors"
    before = set(entries.iterdir()) if entries.is_dir() else set()  # the cache folder is shared by the session
    clf = EmbeddingClassifier(architecture="nbsvm_vectors", vectors=DOMAIN, **RECIPE).fit(X, y)
    assert clf.vectors == DOMAIN  # the parameter is stored unchanged
    assert clf.score(X_val, y_val) > 0.7
    assert clf.model_.get_layer("pooled_vectors").table.shape[1] == 16
    blob = pickle.dumps(clf)
    assert b"KeyedVectors" not in blob  # the vectors are never stored on the estimator
    assert len(set(entries.iterdir()) - before) == 1
    twin = clone(clf).fit(X, y)  # a clone reads the cached vectors: same model
    np.testing.assert_allclose(twin.predict_proba(X_val), clf.predict_proba(X_val), atol=1e-6)
    assert len(set(entries.iterdir()) - before) == 1  # the clone added no entry


def test_hybrid_rejects_an_empty_unlabelled_source(ngram_data, tmp_path):
    X, y, _, _ = ngram_data
    empty = tmp_path / "unlabelled.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no text"):
        EmbeddingClassifier(architecture="nbsvm_vectors", vectors=f"word2vec:{empty}", **RECIPE).fit(X, y)
    with pytest.raises(ValueError, match="unknown algorithm 'glove'"):
        EmbeddingClassifier(architecture="nbsvm_vectors", vectors=("glove", "unsup"), **RECIPE).fit(X, y)


def test_domain_vectors_work_for_the_other_architectures(imdb_tokens):
    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(architecture="bag", vectors=DOMAIN, maxlen=100, epochs=1, random_state=0)
    clf.fit(docs[:200], labels[:200])
    assert clf.model_.get_layer("embedding").output_dim == 16

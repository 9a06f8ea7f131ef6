"""The NB architectures predict with scipy over each document's ids; it must match the Keras graph."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import EmbeddingClassifier
from toolkit.models.hybrid import nb_model_outputs
from toolkit.text.corpus import TokenizedCorpus


@pytest.mark.parametrize("architecture", ["nbsvm", "nbsvm_vectors"])
@pytest.mark.slow
def test_nb_model_outputs_equal_keras(imdb_tokens, glove_small, architecture):
    tokens, labels = imdb_tokens
    corpus = TokenizedCorpus.from_token_lists(tokens).ngrams((1, 3))
    kw = {"vectors": str(glove_small)} if architecture == "nbsvm_vectors" else {}
    for y in (labels, np.arange(len(labels)) % 3):  # binary and 3-class
        clf = EmbeddingClassifier(architecture=architecture, epochs=1, random_state=0, **kw).fit(corpus[:400], y[:400])
        seq = clf._sequences(corpus[400:])
        keras_out = np.asarray(clf.model_(seq, training=False), dtype=np.float64)
        fast = nb_model_outputs(clf.model_, seq)
        assert fast.shape == keras_out.shape
        np.testing.assert_allclose(fast, keras_out, atol=1e-5)
        # predict_proba goes through the fast path and is a proper distribution
        proba = clf.predict_proba(corpus[400:])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
        assert (clf.predict(corpus[400:]) == clf.classes_[proba.argmax(axis=1)]).all()


@pytest.mark.slow
def test_nb_weights_are_read_once_per_fitted_model(imdb_tokens, glove_small, monkeypatch):
    """The NB fast path reads the model's weights out of Keras once per fitted model: a second prediction
    does not read them again, a new fit (a new model_) does, and its outputs are the new model's; a pickle
    carries the arrays alone (so the unpickled copy predicts without Keras), never the reference to the model."""
    import pickle

    from toolkit.models import hybrid

    tokens, labels = imdb_tokens
    corpus = TokenizedCorpus.from_token_lists(tokens).ngrams((1, 2))
    reads = []
    real = hybrid.nb_model_weights
    monkeypatch.setattr(hybrid, "nb_model_weights", lambda model: reads.append(model) or real(model))
    clf = EmbeddingClassifier(architecture="nbsvm_vectors", vectors=str(glove_small), epochs=1, random_state=0)
    clf.fit(corpus[:300], labels[:300])
    first = clf.predict_proba(corpus[400:])
    np.testing.assert_array_equal(clf.predict_proba(corpus[400:]), first)
    assert len(reads) == 1
    clf.fit(corpus[100:400], labels[100:400])  # a new model_: its own weights
    again = clf.predict_proba(corpus[400:])
    assert len(reads) == 2 and reads[1] is clf.model_
    expected = nb_model_outputs(clf.model_, clf._sequences(corpus[400:])).reshape(-1)
    np.testing.assert_allclose(again[:, 1], expected, atol=1e-12)
    assert not np.allclose(again, first)
    saved = clf.__getstate__()["_nb_weights"]
    assert saved[0] is None and saved[1] is clf._nb_arrays()
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(corpus[400:]), again, atol=1e-12)

"""The NB architectures predict with scipy over each document's ids; it must match the Keras graph."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import EmbeddingClassifier
from toolkit.models.hybrid import nb_model_outputs
from toolkit.text.corpus import TokenizedCorpus


@pytest.mark.parametrize("architecture", ["nbsvm", "nbsvm_vectors"])
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

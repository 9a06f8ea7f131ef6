"""EmbeddingClassifier used as a Keras user uses model.predict (session 39).

``clf.predict(X, verbose=0)``, Keras' habit, stopped with Python's bare "got an
unexpected keyword argument 'verbose'": now the error says what the estimator
does instead and how to reach the Keras model with Keras' arguments.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.models import EmbeddingClassifier

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def fitted(imdb_tokens):
    tokens, labels = imdb_tokens
    X, y = tokens[:200], np.asarray(labels[:200])
    return EmbeddingClassifier(architecture="bag", maxlen=100, epochs=2, random_state=0).fit(X, y), X


@pytest.mark.parametrize(("method", "kwargs"), [("predict", {"verbose": 0}),
                                                ("predict_proba", {"batch_size": 32, "verbose": 0})])
def test_keras_user_s39_keras_predict_arguments_say_what_to_use(fitted, method, kwargs):
    clf, X = fitted
    with pytest.raises(TypeError, match=rf"EmbeddingClassifier\.{method}\(\) got unexpected keyword argument\(s\) "
                                        rf"{', '.join(repr(k) for k in sorted(kwargs))}: unlike Keras' model\.predict"):
        getattr(clf, method)(X, **kwargs)
    message = str(pytest.raises(TypeError, getattr(clf, method), X, **kwargs).value)
    assert "clf.model_.predict(clf.model_inputs(X), ...)" in message
    assert ("max(256, batch_size)" in message) == ("batch_size" in kwargs)


def test_keras_user_s39_the_suggested_keras_call_gives_the_estimators_probabilities(fitted):
    clf, X = fitted
    keras_proba = clf.model_.predict(clf.model_inputs(X), verbose=0)
    np.testing.assert_allclose(keras_proba.reshape(-1), clf.predict_proba(X)[:, 1], atol=1e-6)


def test_keras_user_s39_a_pipeline_passes_keras_arguments_to_the_classifier_which_says_so(fitted):
    # without metadata routing, Pipeline.predict(X, **params) hands params to the last step's predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    clf, X = fitted
    pipe = make_pipeline(FunctionTransformer(lambda docs: docs), clf)
    with pytest.raises(TypeError, match=r"EmbeddingClassifier\.predict\(\) got unexpected keyword argument\(s\) "
                                        r"'verbose': unlike Keras"):
        pipe.predict(X, verbose=0)
    np.testing.assert_array_equal(pipe.predict(X), clf.predict(X))

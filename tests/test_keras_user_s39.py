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


# ------------------------------------------------------------------ a one-hot y (Keras' to_categorical)
@pytest.fixture(scope="module")
def three_classes(imdb_tokens):
    """150 real reviews in three classes (by length: a real, learnable split) and their one-hot matrix."""
    tokens, _ = imdb_tokens
    X = tokens[:150]
    lengths = np.array([len(d) for d in X])
    y = np.digitize(lengths, np.quantile(lengths, [1 / 3, 2 / 3]))
    return X, y, np.eye(3, dtype="float32")[y]


def test_keras_user_s39_one_hot_y_warns_that_it_trains_as_multilabel(three_classes):
    # scikit-learn reads to_categorical's matrix as multilabel: one sigmoid per column, rows of no class or two
    X, y, one_hot = three_classes
    params = {"architecture": "bag", "maxlen": 100, "epochs": 1, "random_state": 0}
    with pytest.warns(UserWarning, match=r"y is one-hot \(3 columns of 0/1, one 1 per row.*"
                                         r"pass np\.asarray\(y\)\.argmax\(axis=1\)"):
        clf = EmbeddingClassifier(**params).fit(X, one_hot)
    assert clf.output_ == "multilabel"
    np.testing.assert_array_equal(one_hot.argmax(axis=1), y)  # what the warning says to pass
    assert EmbeddingClassifier(**params).fit(X, y).output_ == "multiclass"


def test_keras_user_s39_a_true_multilabel_matrix_does_not_warn(three_classes, recwarn):
    X, _, one_hot = three_classes
    tags = one_hot.copy()
    tags[::7, 0] = 1  # some documents carry two labels
    EmbeddingClassifier(architecture="bag", maxlen=100, epochs=1, random_state=0).fit(X, tags)
    assert not [w for w in recwarn if "one-hot" in str(w.message)]


@pytest.mark.parametrize("as_list", [False, True])
def test_keras_user_s39_one_label_classifiers_name_argmax_for_a_one_hot_y(three_classes, as_list):
    # was "a 2-D y of shape (150, 3) (one column per label or output)" and MultiOutputClassifier, for what is
    # one class per document
    from toolkit.models import StackedTextClassifier

    X, _, one_hot = three_classes
    with pytest.raises(ValueError, match=r"StackedTextClassifier takes one label per document .* but got a one-hot "
                                         r"y of shape \(150, 3\) .*np\.asarray\(y\)\.argmax\(axis=1\)"):
        StackedTextClassifier(vectors=None, cv=3).fit(X, one_hot.tolist() if as_list else one_hot)


# ------------------------------------------------------------------ the chapter's weights habits
@pytest.mark.parametrize(("attribute", "hint"), [
    ("save_weights", (r"clf\.model_\.save_weights\('model\.weights\.h5'\) writes its weights alone; "
                      r"toolkit\.save_model\(clf, path\)")),
    ("load_weights", r"toolkit\.load_model\(path\); weights saved from clf\.model_ go back"),
    ("get_weights", r"clf\.model_\.get_weights\(\)"),
    ("layers", r"clf\.model_\.layers"),
])
def test_keras_user_s39_weights_attributes_point_to_model_(fitted, attribute, hint):
    # save_model_weights_hdf5 / get_weights / model$layers of the chapter: a bare AttributeError before
    clf, _ = fitted
    with pytest.raises(AttributeError, match=rf"no attribute '{attribute}'\. .*{hint}"):
        getattr(clf, attribute)
    assert not hasattr(clf, attribute)
    assert hasattr(clf.model_, attribute)  # where the hint points

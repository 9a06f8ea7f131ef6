"""Tests of toolkit.models.semi_supervised.PseudoLabelClassifier."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from toolkit.models.naive_bayes import NBSVMClassifier
from toolkit.models.semi_supervised import PseudoLabelClassifier

X_TOY = np.array([[0.0], [0.2], [0.9], [1.0], [0.1], [0.95], [0.5]])
Y_TOY = np.array([0, 0, 1, 1, -1, -1, -1])


@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_get_params_invariance,
                                   check_set_params, check_parameters_default_constructible])
def test_semi_supervised_sklearn_data_free_checks(check):
    check("PseudoLabelClassifier", PseudoLabelClassifier())


def test_semi_supervised_pseudo_labels_most_confident_per_class():
    clf = PseudoLabelClassifier(LogisticRegression(), fraction=0.5).fit(X_TOY, Y_TOY)
    # 0.1 is predicted 0, 0.95 and 0.5 predicted 1; half of each class (rounded up) is kept
    assert clf.pseudo_labels_.tolist() == [0, 0, 1, 1, 0, 1, -1]
    assert clf.n_pseudo_labelled_ == 2
    assert list(clf.classes_) == [0, 1]
    assert clf.predict([[0.05], [0.99]]).tolist() == [0, 1]
    full = PseudoLabelClassifier(LogisticRegression(), fraction=1.0, n_rounds=2).fit(X_TOY, Y_TOY)
    assert full.n_pseudo_labelled_ == 3 and (full.pseudo_labels_ != -1).all()


def test_semi_supervised_without_unlabelled_equals_base_estimator():
    X, y = X_TOY[:4], Y_TOY[:4]
    clf = PseudoLabelClassifier(LogisticRegression()).fit(X, y)
    base = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(clf.decision_function(X), base.decision_function(X))
    np.testing.assert_allclose(clf.predict_proba(X), base.predict_proba(X))
    assert clf.n_pseudo_labelled_ == 0


def test_semi_supervised_default_nbsvm_uses_unlabelled_imdb_reviews(imdb_small):
    texts, labels = imdb_small
    y = (np.asarray(labels) == "pos").astype(int)
    vec = CountVectorizer(ngram_range=(1, 2), min_df=2).fit(texts[:500])
    X = vec.transform(texts[:500])
    y_semi = y[:500].copy()
    y_semi[200:] = -1  # 200 labelled, 300 unlabelled reviews
    clf = PseudoLabelClassifier(fraction=0.7).fit(X, y_semi)
    assert isinstance(clf.estimator_, NBSVMClassifier)
    assert clf.n_pseudo_labelled_ == pytest.approx(210, abs=2)
    agree = (clf.pseudo_labels_[200:][clf.pseudo_labels_[200:] != -1] == y[200:500][clf.pseudo_labels_[200:] != -1])
    assert agree.mean() > 0.75  # pseudo-labels are mostly right
    assert clf.score(vec.transform(texts[500:]), y[500:]) > 0.7
    assert not hasattr(clf, "predict_proba")  # NBSVM (hinge) has no probabilities
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))


def test_semi_supervised_in_pipeline_with_token_lists(imdb_small):
    texts, labels = imdb_small
    y = (np.asarray(labels) == "pos").astype(int)[:300]
    y[100:] = -1
    pipe = make_pipeline(CountVectorizer(), PseudoLabelClassifier(NBSVMClassifier(loss="log_loss")))
    pipe.fit(texts[:300], y)
    assert pipe.predict_proba(texts[300:310]).shape == (10, 2)
    assert clone(pipe).get_params()["pseudolabelclassifier__fraction"] == 0.7


def test_semi_supervised_errors():
    with pytest.raises(ValueError, match="got no labelled sample: every label is -1"):
        PseudoLabelClassifier(LogisticRegression()).fit(X_TOY, -np.ones(7, dtype=int))
    with pytest.raises(ValueError, match="inconsistent numbers of samples: 7 and 3"):
        PseudoLabelClassifier(LogisticRegression()).fit(X_TOY, [0, 1, -1])
    with pytest.raises(ValueError, match=r"The 'fraction' parameter of PseudoLabelClassifier must be a float in the range \(0, 1\]"):
        PseudoLabelClassifier(LogisticRegression(), fraction=0).fit(X_TOY, Y_TOY)
    with pytest.raises(ValueError, match="The 'n_rounds' parameter of PseudoLabelClassifier must be an int"):
        PseudoLabelClassifier(LogisticRegression(), n_rounds=0).fit(X_TOY, Y_TOY)
    with pytest.raises(ValueError, match="Unknown label type"):
        PseudoLabelClassifier(LogisticRegression()).fit(X_TOY, [0.5, 0.2, 0.1, 0.3, -1, -1, -1])
    with pytest.raises(NotFittedError):
        PseudoLabelClassifier().predict(X_TOY)

    class NoScores(LogisticRegression):
        decision_function = property(lambda self: (_ for _ in ()).throw(AttributeError("no")))
        predict_proba = property(lambda self: (_ for _ in ()).throw(AttributeError("no")))

    with pytest.raises(TypeError, match="needs an estimator with decision_function or predict_proba"):
        PseudoLabelClassifier(NoScores()).fit(X_TOY, Y_TOY)


def test_semi_supervised_str_labels_predict_str_as_the_base_classifier(imdb_small):
    """Before: an object array of str labels came back as numpy's fixed-width '<U3' strings."""
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    y = np.asarray(labels[:200], dtype=object)
    y[120:] = -1
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), PseudoLabelClassifier(NBSVMClassifier())).fit(texts[:200], y)
    predicted = pipe.predict(texts[:5])
    plain = make_pipeline(SpacyTokenizer(), BagEncoder(), NBSVMClassifier()).fit(texts[:120], y[:120])
    assert predicted.dtype == plain.predict(texts[:5]).dtype == object and type(predicted[0]) is str

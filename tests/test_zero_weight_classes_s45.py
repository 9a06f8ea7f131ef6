"""Session 45 (h3): a class whose sample_weight is 0 in StackedTextClassifier and PseudoLabelClassifier.

As scikit-learn's ``LogisticRegression(...).fit(X, y, sample_weight=w)`` (and NBSVMClassifier since session 44)
does with a class whose documents all weigh 0: fitted, kept in ``classes_`` and ``predict_proba``, never
favoured. Before, both refused it. Still refused, with messages that say why and what to do: a class weighted
only in one fold's test part (the meta-learner learnt the members' scores upside down), the stack's
``alpha_scaling="class_size"`` with a weightless class, labelled samples all of weight 0. Real IMDB *training*
reviews only (the ``split`` fixture's first 240, and its held-out part further down the training set).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from toolkit import StackedTextClassifier
from toolkit.models import stacking
from toolkit.models.naive_bayes import NBSVMClassifier
from toolkit.models.semi_supervised import PseudoLabelClassifier

FAST = {"vectors": None, "cv": 3, "random_state": 0}
N = 240


def test_stack_fits_a_class_of_weight_zero_as_logistic_regression_does(split, monkeypatch):
    # before: "sample_weight gives class 'neg' a total weight of 0 in the training part of fold 0" (ValueError)
    X, y, X_val, _ = split
    X, y = X[:N], np.asarray(y[:N])
    w = (y == "pos").astype(float)
    meta_fits = []
    real = stacking._fit_weighted

    def spy(estimator, Xm, ym, sample_weight=None):
        meta_fits.append((Xm, ym, sample_weight))
        return real(estimator, Xm, ym, sample_weight)

    monkeypatch.setattr(stacking, "_fit_weighted", spy)
    stack = StackedTextClassifier(**FAST, tail_tokens=20).fit(X, y, sample_weight=w)
    proba = stack.predict_proba(X_val)
    assert stack.classes_.tolist() == ["neg", "pos"] and proba.shape == (len(X_val), 2)
    assert set(stack.predict(X_val).tolist()) == {"pos"} and proba[:, 0].max() < 1e-3
    # the meta-learner: the out-of-fold scores of every document with its own weight (0 for 'neg'); scikit-learn's
    # LogisticRegression on the same scores and weights predicts 'pos' only too
    oof, y_meta, w_meta = meta_fits[-1]
    np.testing.assert_array_equal(y_meta, y)
    np.testing.assert_array_equal(w_meta, w)
    lr = LogisticRegression().fit(oof, y, sample_weight=w)
    assert lr.classes_.tolist() == ["neg", "pos"] and set(lr.predict(oof).tolist()) == {"pos"}
    np.testing.assert_array_equal(stack.predict(X), lr.predict(oof))


def test_stack_three_classes_one_weightless_with_a_vectors_member(imdb_tokens, imdb_small_ratings, glove_small):
    """NBSVM and LogisticRegressionCV over pooled vectors; the weightless middle class keeps its column and is
    never predicted. Before the fix of the meta-learner's input (after the fold check's): the 'vectors' member's
    column for 'mid', a constant differing from fold fit to fold fit, was standardized into a large score and
    every held-out review came out 'low'."""
    docs, _ = imdb_tokens
    stars = np.asarray(imdb_small_ratings)
    y3 = np.where(stars <= 2, "low", np.where(stars >= 9, "high", "mid"))
    X, y, X_val = docs[:N], y3[:N], docs[400:]
    w = (y != "mid").astype(float)
    stack = StackedTextClassifier(vectors=str(glove_small), vectors_Cs=(0.05,), neighbors=None, cv=3,
                                  random_state=0).fit(X, y, sample_weight=w)
    proba = stack.predict_proba(X_val)
    assert stack.member_names_ == ["ngrams", "vectors"]
    assert stack.classes_.tolist() == ["high", "low", "mid"] and proba.shape == (len(X_val), 3)
    assert proba[:, 2].max() < 1e-3 and "mid" not in set(stack.predict(X_val).tolist())
    assert {"high", "low"} == set(stack.predict(X_val).tolist())
    names = stack.get_feature_names_out().tolist()
    mid = [names.index(f"{m}__mid") for m in stack.member_names_]
    assert not stack.meta_[-1].coef_[:, mid].any()  # the members learnt nothing of 'mid': the meta-learner reads 0
    right = stack.predict(X_val) == y3[400:]
    assert right[y3[400:] != "mid"].mean() > 0.7


def test_stack_refuses_a_class_weighted_in_one_test_fold_only(split):
    """Still refused: the members of fold 0 never saw 'neg', and its only weighted documents are scored by them
    (with the check off: held-out ROC AUC 0.28, the meta-learner's 'ngrams' weight negative)."""
    X, y, _, _ = split
    X, y = X[:N], np.asarray(y[:N])
    cv = KFold(3)
    test0 = next(iter(cv.split(X)))[1]
    w = np.where(y == "neg", 0.0, 1.0)
    w[test0[y[test0] == "neg"]] = 1.0
    with pytest.raises(ValueError, match=r"sample_weight gives class 'neg' a total weight of 0 in the training "
                                         r"part of fold 0 .*but not in fold 0's test part.*if the class should "
                                         r"weigh nothing, give all its documents weight 0"):
        StackedTextClassifier(vectors=None, cv=cv, random_state=0).fit(X, y, sample_weight=w)


def test_stack_class_size_smoothing_with_a_weightless_class_is_refused_by_its_own_name(split, monkeypatch):
    # before: NBSVMClassifier's message ("NBSVMClassifier(alpha_scaling='class_size') scales alpha ..."), from
    # inside a member's fit, naming a class the user had not built
    X, y, _, _ = split
    y = np.asarray(y[:N])

    def no_fit(*args, **kwargs):
        raise AssertionError("a member was fitted")

    monkeypatch.setattr(stacking, "_fit_group", no_fit)
    with pytest.raises(ValueError, match=r"sample_weight gives class 'neg' a total weight of 0, but "
                                         r"StackedTextClassifier\(alpha_scaling='class_size'\).*Use "
                                         r"alpha_scaling='auto' or None"):
        StackedTextClassifier(**FAST, alpha_scaling="class_size").fit(X[:N], y, sample_weight=(y == "pos") * 1.0)


@pytest.fixture(scope="module")
def counts(imdb_counts_partly_labelled):
    """200 real reviews as counts, labels with the last 120 unlabelled (-1), the true labels (conftest's)."""
    return imdb_counts_partly_labelled


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=2000), NBSVMClassifier()],
                         ids=["logreg", "nbsvm"])
def test_pseudo_label_fits_a_labelled_class_of_weight_zero(counts, estimator):
    # before: "sample_weight gives every labelled sample of class 'pos' the weight 0" (ValueError)
    X, y, labels = counts
    w = np.where(labels == "pos", 0.0, 1.0)  # the unlabelled 'pos' reviews keep weight 1
    clf = PseudoLabelClassifier(estimator, fraction=1.0).fit(X, y, sample_weight=w)
    lab = np.flatnonzero(y != -1)
    alone = type(estimator)(**estimator.get_params()).fit(X[lab], y[lab].astype(str), sample_weight=w[lab])
    assert clf.classes_.tolist() == alone.classes_.tolist() == ["neg", "pos"]
    assert set(clf.predict(X).tolist()) == set(alone.predict(X).tolist()) == {"neg"}  # never favoured
    assert set(clf.pseudo_labels_[80:].tolist()) == {"neg"} and clf.n_pseudo_labelled_ == 120
    if hasattr(clf, "predict_proba"):
        assert clf.predict_proba(X).shape == (200, 2) and clf.predict_proba(X)[:, 1].max() < 0.5


def test_pseudo_label_weight_errors_name_sample_weight(counts):
    X, y, _ = counts
    w = np.ones(y.shape[0])
    labelled_zero = np.where(y != -1, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^sample_weight gives every labelled sample the weight 0 \(the 120 "
                                         r"unlabelled ones count only once pseudo-labelled\).*Give some labelled "
                                         r"samples a positive weight\.$"):
        PseudoLabelClassifier().fit(X, y, sample_weight=labelled_zero)
    with pytest.raises(ValueError, match=r"sample_weight of PseudoLabelClassifier is zero for every"):
        PseudoLabelClassifier().fit(X, y, sample_weight=np.zeros(y.shape[0]))
    with pytest.raises(ValueError, match=r"Input sample_weight contains NaN"):
        PseudoLabelClassifier().fit(X, y, sample_weight=np.r_[np.nan, w[1:]])
    with pytest.raises(ValueError, match=r"Negative values in data passed to `sample_weight`"):
        PseudoLabelClassifier().fit(X, y, sample_weight=np.r_[-1.0, w[1:]])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(199,\), expected \(200,\)"):
        PseudoLabelClassifier().fit(X, y, sample_weight=w[1:])

"""Session 44 (h9): NBSVMClassifier with a class of total weight 0, and empty batches through NBSVM, the
semi-supervised wrapper and the stack (consistent with EmbeddingClassifier: empty results, not an error)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from toolkit.models import NBSVMClassifier, PseudoLabelClassifier
from toolkit.text import BagEncoder


@pytest.fixture(scope="module")
def counts(imdb_tokens):
    """Counts of 300 real reviews to fit on and 200 held out, with their 'neg'/'pos' labels."""
    docs, labels = imdb_tokens
    labels = np.asarray(labels)
    encoder = BagEncoder(output_mode="count").fit(docs[:300])
    return encoder.transform(docs[:300]), labels[:300], encoder.transform(docs[300:500]), labels[300:500]


@pytest.mark.parametrize("loss", ["squared_hinge", "hinge", "log_loss"])
@pytest.mark.parametrize("weighting", ["class_weight", "sample_weight"])
def test_nbsvm_never_favours_a_class_of_weight_zero(counts, capfd, loss, weighting):
    # before: liblinear dropped the documents of weight 0, printed "WARNING: class label 1 specified in weight is
    # not found" to stdout, and the model predicted the weightless class for every document (300 of 300)
    X, y, X_held, _ = counts
    with warnings.catch_warnings():
        # (a weight of exactly 0 in liblinear's class_weight ran the hinge loss's dual solver to max_iter)
        warnings.simplefilter("error", ConvergenceWarning)
        if weighting == "class_weight":
            clf = NBSVMClassifier(loss=loss, class_weight={"pos": 0}).fit(X, y)
        else:
            clf = NBSVMClassifier(loss=loss).fit(X, y, sample_weight=(y == "neg").astype(float))
    out, err = capfd.readouterr()
    assert "WARNING" not in out + err
    # as LogisticRegression(class_weight={"pos": 0}) does: every document goes to the class with weight
    assert set(clf.predict(X)) == set(clf.predict(X_held)) == {"neg"}
    assert set(LogisticRegression(class_weight={"pos": 0}).fit(X, y).predict(X_held)) == {"neg"}
    assert np.isfinite(clf.coef_).all() and np.isfinite(clf.intercept_).all()
    if loss == "log_loss":
        assert (clf.predict_proba(X_held)[:, 1] < 0.5).all()


def test_nbsvm_weightless_class_of_three_is_never_predicted(counts, capfd):
    X, y, X_held, _ = counts
    y3 = y.astype(object)
    y3[::3] = "mixed"
    clf = NBSVMClassifier(class_weight={"mixed": 0}).fit(X, y3)
    out, err = capfd.readouterr()
    assert "WARNING" not in out + err
    predicted = clf.predict(X_held)
    assert "mixed" not in set(predicted) and set(predicted) == {"neg", "pos"}


def test_nbsvm_weighted_fit_unchanged_when_every_class_has_weight(counts):
    # the fix touches only a side of total weight 0: other weights fit the same model as before
    X, y, _, _ = counts
    w = np.where(y == "pos", 0.0, 1.0)
    w[np.flatnonzero(y == "pos")[0]] = 1.0  # one positive document keeps a weight
    clf = NBSVMClassifier(random_state=0).fit(X, y, sample_weight=w)
    keep = w > 0
    alone = NBSVMClassifier(random_state=0).fit(X[keep], y[keep])
    np.testing.assert_allclose(clf.decision_function(X[:50]), alone.decision_function(X[:50]), atol=1e-6)


@pytest.mark.parametrize("classes", [2, 3])
def test_nbsvm_scores_an_empty_batch(counts, imdb_tokens200, classes):
    # before: "Found array with 0 sample(s) (shape=(0, n)) while a minimum of 1 is required by NBSVMClassifier",
    # while EmbeddingClassifier and the encoders return empty arrays
    docs, labels = imdb_tokens200
    y = labels.astype(object)
    if classes == 3:
        y[::3] = "mixed"
    clf = make_pipeline(BagEncoder(output_mode="count"), NBSVMClassifier(loss="log_loss")).fit(docs, y)
    pred = clf.predict([])
    assert pred.shape == (0,) and pred.dtype == clf.classes_.dtype
    proba = clf.predict_proba([])
    assert proba.shape == (0, classes) and proba.dtype == np.float64
    assert clf.decision_function([]).shape == ((0,) if classes == 2 else (0, classes))
    X, y, _, _ = counts
    assert NBSVMClassifier().fit(X, y).predict(X[:0]).shape == (0,)  # a count matrix of 0 rows
    with pytest.raises(ValueError, match="0 sample"):  # fitting on nothing is still refused
        NBSVMClassifier().fit(X[:0], y[:0])


def test_pseudo_label_classifier_scores_an_empty_batch(imdb_tokens200):
    docs, labels = imdb_tokens200
    y = labels.astype(object)
    y[100:] = -1
    clf = PseudoLabelClassifier(make_pipeline(BagEncoder(output_mode="count"), NBSVMClassifier(loss="log_loss")))
    clf.fit(docs, y)
    assert clf.predict([]).shape == (0,)
    assert clf.predict_proba([]).shape == (0, 2)
    assert clf.decision_function([]).shape == (0,)


def test_stack_scores_an_empty_batch(imdb_tokens200):
    from toolkit import StackedTextClassifier

    docs, labels = imdb_tokens200
    stack = StackedTextClassifier(vectors=None, cv=3, random_state=0).fit(docs, labels)
    pred = stack.predict([])
    assert pred.shape == (0,) and pred.dtype == stack.classes_.dtype
    proba = stack.predict_proba([])
    assert proba.shape == (0, 2) and proba.dtype == np.float64
    assert stack.decision_function([]).shape == (0,)
    assert stack.member_scores([]).shape == (0, len(stack.get_feature_names_out()))
    # a real batch after it is scored as before
    np.testing.assert_allclose(stack.predict_proba(docs[:5]).sum(axis=1), 1.0)


def test_nbsvm_refuses_weight_zero_for_every_document(counts):
    # before: liblinear's "Sample weights must contain at least one non-zero number", naming neither parameter
    X, y, _, _ = counts
    with pytest.raises(ValueError, match=r"^class_weight=\{'neg': 0, 'pos': 0\} gives every document of X weight 0: "
                                         r"nothing would be learned\. Give a class of y a positive weight\.$"):
        NBSVMClassifier(class_weight={"neg": 0, "pos": 0}).fit(X, y)
    with pytest.raises(ValueError, match=r"^class_weight=\{'pos': 0\} times sample_weight gives every document"):
        NBSVMClassifier(class_weight={"pos": 0}).fit(X, y, sample_weight=(y == "pos").astype(float))

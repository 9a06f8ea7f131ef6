"""A data scientist's session with the recommended models (StackedTextClassifier, NBSVMClassifier,
PseudoLabelClassifier) on small real IMDB samples: weights, scorers, refits (forty-sixth session)."""

from __future__ import annotations

import pickle

import numpy as np

from toolkit.models import StackedTextClassifier


def test_stack_fits_with_a_block_of_zero_weights(split, glove_small):
    """sample_weight=0 for a block of documents (one source the user does not trust, first in X): the
    "vectors" member's LogisticRegressionCV (5 internal folds, not shuffled) drew an internal test fold of
    weight-0 documents alone, and the stack's fit stopped with scikit-learn's "Sample weights must contain at
    least one non-zero number" from the member's scorer. The member now fits on the documents that count (the
    same loss); the fit predicts as well as without the block."""
    docs, labels, test_docs, test_labels = split
    docs, labels = docs[:160], np.asarray(labels[:160])
    weights = np.ones(len(docs))
    weights[:60] = 0.0
    stack = StackedTextClassifier(vectors=str(glove_small), ngram_range=(1, 1), vectors_Cs=(0.1,), cv=3,
                                  random_state=0)
    stack.fit(docs, labels, sample_weight=weights)
    proba = stack.predict_proba(test_docs)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(stack.classes_[proba.argmax(axis=1)], stack.predict(test_docs))
    assert (stack.predict(test_docs) == np.asarray(test_labels)).mean() > 0.65
    # a class of weight 0 stays in classes_ (as in LogisticRegression), and its documents still reach the member
    three = np.where(np.arange(len(docs)) % 5 == 0, "other", labels)
    weights3 = np.where(three == "other", 0.0, weights)
    stack3 = StackedTextClassifier(vectors=str(glove_small), ngram_range=(1, 1), vectors_Cs=(0.1,), cv=3,
                                   random_state=0)
    proba3 = stack3.fit(docs, three, sample_weight=weights3).predict_proba(test_docs)
    assert stack3.classes_.tolist() == ["neg", "other", "pos"] and proba3.shape == (len(test_docs), 3)
    assert stack3.predict(test_docs).tolist().count("other") == 0


def test_pseudo_label_cross_validate_with_named_scorers(imdb_counts_partly_labelled):
    """cross_validate(PseudoLabelClassifier(), X, y, scoring=...) with -1 marking unlabelled samples: a named
    scorer compared the predictions with y as given, so "accuracy" counted every unlabelled test sample as a
    mistake (int labels: about a third of what .score gives) and "roc_auc" / "neg_log_loss" were NaN. Wrapped in
    labelled_scorer they score the labelled samples alone, as .score does, also with str labels."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

    from toolkit.models import NBSVMClassifier, PseudoLabelClassifier
    from toolkit.models.semi_supervised import labelled_scorer

    X, y_str, _ = imdb_counts_partly_labelled
    y_int = np.where(y_str == -1, -1, np.where(y_str == "pos", 1, 0)).astype(int)
    clf = PseudoLabelClassifier(NBSVMClassifier(loss="log_loss"), random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    default = cross_val_score(clf, X, y_int, cv=cv)  # .score: the labelled samples alone
    for y in (y_int, y_str):
        # (a pickle round trip: what n_jobs=2 ships to its workers)
        scoring = pickle.loads(pickle.dumps({name: labelled_scorer(name)
                                             for name in ("accuracy", "roc_auc", "neg_log_loss")}))
        result = cross_validate(clf, X, y, cv=cv, scoring=scoring)
        np.testing.assert_allclose(result["test_accuracy"], default)
        assert np.isfinite(result["test_roc_auc"]).all() and np.isfinite(result["test_neg_log_loss"]).all()
    # the AUC of the first test fold, computed by hand on its labelled samples
    train, test = next(cv.split(X))
    test = test[y_str[test] != -1]
    fitted = clf.fit(X[train], y_str[train])
    expected = roc_auc_score(y_str[test].astype(str), fitted.predict_proba(X[test])[:, 1])
    assert result["test_roc_auc"][0] == expected
    search = GridSearchCV(clf, {"estimator__C": [0.01, 1.0]}, cv=cv, scoring=labelled_scorer("roc_auc")).fit(X, y_str)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with np.testing.assert_raises_regex(ValueError, "no labelled sample"):
        labelled_scorer("accuracy")(fitted, X[:3], np.array([-1, -1, -1]))

"""StackedTextClassifier.fit(X, y, sample_weight=...), on real IMDB training reviews and GloVe rows.

Each member gets the weights of its fold's training documents, the refit all of them, the meta-learner
those of the out-of-fold scores; NeighborVote counts a document of weight w as w neighbours. Before,
``fit`` had no ``sample_weight`` (TypeError). It is keyword-only: the third positional argument stays ``groups``.
The held-out reviews are further down the shuffled IMDB *training* set (the split fixture).
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from toolkit import StackedTextClassifier
from toolkit.models import stacking

FAST = {"vectors": None, "cv": 3, "random_state": 0}
N = 240  # training reviews of the cheap tests (the split fixture's first ones)


def _weights(n, seed=0):
    """Distinct positive weights: each fit's weights tell which documents it got."""
    return np.random.RandomState(seed).uniform(0.5, 3.0, n)


# ------------------------------------------------------------------------------------- same model as none
def test_stack_sample_weight_of_ones_fits_the_model_of_no_weights(split):
    """Weights all 1 (what a search passes when it weighs nothing) give the unweighted stack bit for bit."""
    X, y, X_val, _ = split
    X, y = X[:N], y[:N]
    plain = StackedTextClassifier(**FAST, tail_tokens=20).fit(X, y)
    ones = StackedTextClassifier(**FAST, tail_tokens=20).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(ones.decision_function(X_val), plain.decision_function(X_val))
    np.testing.assert_array_equal(ones.member_scores(X_val), plain.member_scores(X_val))


def test_stack_sample_weight_of_ones_through_every_member_fits_the_model_of_no_weights(split, glove_small, monkeypatch):
    """The same through the weighted code path (the ones not dropped: every member's weighted steps, the
    scalers and the meta-learner fitted with sample_weight=ones), to rounding."""
    X, y, X_val, _ = split
    X, y = X[:120], y[:120]
    real = stacking._check_stack_sample_weight
    monkeypatch.setattr(stacking, "_check_stack_sample_weight",
                        lambda w, n: np.ones(n) if w is not None and real(w, n) is None else real(w, n))
    params = {**FAST, "vectors": str(glove_small), "vectors_Cs": (0.05,), "neighbors": 10, "tail_tokens": 20}
    plain = StackedTextClassifier(**params).fit(X, y)
    ones = StackedTextClassifier(**params).fit(X, y, sample_weight=np.ones(len(y)))
    assert ones.member_names_ == ["ngrams", "tail", "vectors", "neighbors"]
    np.testing.assert_allclose(ones.member_scores(X_val), plain.member_scores(X_val), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ones.decision_function(X_val), plain.decision_function(X_val), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------------- weights = repetition
def test_stack_sample_weight_integer_weights_are_repeated_reviews(imdb_tokens, glove_small):
    """scikit-learn's check_sample_weight_equivalence in its text form: 60 reviews of weight 1-3 in one fold
    (LeaveOneGroupOut over three groups, as the check does for an estimator with ``cv``) fit the stack of those
    reviews repeated, with every member that can be exact here: NBSVM n-grams and tail, mean-pooled vectors with
    one C, and the neighbour vote. (SIF and TF-IDF weigh words by the training documents, and LogisticRegressionCV
    picks C on internal folds that split repeated reviews: they cannot be.) Tolerance 1e-2 on decision values of
    up to ~7: liblinear and lbfgs (tol 1e-4, warm-started from other fold fits) stop near the same optimum, not at
    it; the NB counts, the scalers and the vote are exact. The unweighted stack is ~4 away (measured)."""
    docs, labels = imdb_tokens
    labels = np.asarray(labels)
    n0 = 40
    parts = [(docs[i * n0:(i + 1) * n0], labels[i * n0:(i + 1) * n0]) for i in range(3)]
    w0 = np.random.RandomState(0).randint(1, 4, n0)
    rep = np.repeat(np.arange(n0), w0)
    X_w = parts[0][0] + parts[1][0] + parts[2][0]
    y_w = np.concatenate([p[1] for p in parts])
    X_r = [parts[0][0][i] for i in rep] + parts[1][0] + parts[2][0]
    y_r = np.concatenate([parts[0][1][rep], parts[1][1], parts[2][1]])
    params = {"vectors": str(glove_small), "pooling": "mean", "vectors_Cs": (0.1,), "neighbors": 10,
              "tail_tokens": 20, "cv": LeaveOneGroupOut(), "random_state": 0}
    weighted = StackedTextClassifier(**params).fit(X_w, y_w, sample_weight=np.r_[w0, np.ones(2 * n0)],
                                                   groups=np.repeat([0, 1, 2], n0))
    repeated = StackedTextClassifier(**params).fit(X_r, y_r, groups=np.repeat([0, 1, 2], [len(rep), n0, n0]))
    X_val = docs[400:]
    expected = repeated.decision_function(X_val)
    np.testing.assert_allclose(weighted.decision_function(X_val), expected, atol=1e-2)
    # member by member (largest gap measured: 1.4e-3, the vector member's lbfgs; the vote's 2e-5)
    np.testing.assert_allclose(weighted.member_scores(X_val), repeated.member_scores(X_val), atol=1e-2)
    assert (weighted.predict(X_val) == repeated.predict(X_val)).mean() > 0.99


# ------------------------------------------------------------------------------------- what goes where
def test_stack_sample_weight_folds_refit_and_meta_learner_get_their_rows_weights(split, monkeypatch):
    """Each member fitted on a fold gets the weights of the fold's training reviews, the refit all weights, the
    meta-learner all weights (one out-of-fold score per review); every member and the meta-learner differ from
    the unweighted ones."""
    X, y, _, _ = split
    X, y = X[:N], np.asarray(y[:N])
    w = _weights(len(y))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    seen = []
    real = stacking._fit_weighted

    def spy(estimator, X_, y_, sample_weight=None):
        seen.append((type(estimator[-1]).__name__, None if sample_weight is None else np.array(sample_weight)))
        return real(estimator, X_, y_, sample_weight)

    monkeypatch.setattr(stacking, "_fit_weighted", spy)
    params = {**FAST, "cv": cv, "tail_tokens": 20, "ratings_alpha": 0.1}
    ratings = np.where(y == "pos", 8.0, 3.0) + np.arange(len(y)) % 2
    weighted = StackedTextClassifier(**params).fit(X, y, sample_weight=w, ratings=ratings)
    expected = [w[train] for train, _ in cv.split(np.zeros(len(y)), y)] + [w]
    by_final = {}
    for name, weights in seen:
        by_final.setdefault(name, []).append(weights)
    # NBSVM: "ngrams" and "tail"; Ridge: "ratings"; LogisticRegression: the meta-learner
    assert sorted(by_final) == ["LogisticRegression", "NBSVMClassifier", "Ridge"]
    for final, times in (("NBSVMClassifier", 2), ("Ridge", 1)):  # each fold's and the refit's weights
        got = by_final[final]
        assert len(got) == times * len(expected)
        assert all(sum(np.array_equal(g, e) for g in got if g.shape == e.shape) == times for e in expected)
    np.testing.assert_array_equal(by_final["LogisticRegression"][0], w)

    monkeypatch.setattr(stacking, "_fit_weighted", real)
    plain = StackedTextClassifier(**params).fit(X, y, ratings=ratings)
    for name in weighted.member_names_:
        assert not np.allclose(weighted.members_[name][0][-1].coef_, plain.members_[name][0][-1].coef_), name
    assert not np.allclose(weighted.meta_[-1].coef_, plain.meta_[-1].coef_)


def test_stack_sample_weight_multiplies_class_weight_in_the_meta_learner(split, monkeypatch):
    """As LogisticRegression: class_weight and sample_weight multiply (the meta-learner is the same fit as one
    with weights w * class weight and no class_weight, on the same out-of-fold scores)."""
    X, y, _, _ = split
    X, y = X[:N], np.asarray(y[:N])
    w = _weights(len(y))
    inputs = []
    real = stacking._fit_weighted

    def spy(estimator, X_, y_, sample_weight=None):
        if type(estimator[-1]).__name__ == "LogisticRegression":
            inputs.append(np.array(X_))
        return real(estimator, X_, y_, sample_weight)

    monkeypatch.setattr(stacking, "_fit_weighted", spy)
    stack = StackedTextClassifier(**FAST, class_weight={"pos": 3.0}).fit(X, y, sample_weight=w)
    (Z,) = inputs
    both = w * np.where(y == "pos", 3.0, 1.0)
    scaled = StandardScaler().fit(Z, sample_weight=w).transform(Z)
    by_hand = LogisticRegression(max_iter=1000).fit(scaled, y, sample_weight=both)
    np.testing.assert_allclose(stack.meta_[-1].coef_, by_hand.coef_, rtol=1e-3)
    np.testing.assert_allclose(stack.meta_[-1].intercept_, by_hand.intercept_, rtol=1e-3, atol=1e-4)


def test_stack_sample_weight_up_weighting_a_class_raises_its_recall(split):
    """Up-weighting the positive reviews (x4) of a 200/40 training set raises the positive recall on 200 held-out
    training reviews, and lowers the negative one: the weights move every member and the meta-learner."""
    X, y, X_val, y_val = split
    y = np.asarray(y)
    keep = np.sort(np.r_[np.flatnonzero(y == "neg")[:200], np.flatnonzero(y == "pos")[:40]])
    X, y = [X[i] for i in keep], y[keep]
    plain = StackedTextClassifier(**FAST).fit(X, y)
    weighted = StackedTextClassifier(**FAST).fit(X, y, sample_weight=np.where(y == "pos", 4.0, 1.0))
    recall = {name: [recall_score(y_val, clf.predict(X_val), pos_label=c) for c in ("pos", "neg")]
              for name, clf in (("plain", plain), ("weighted", weighted))}
    assert recall["weighted"][0] > recall["plain"][0] + 0.1, recall
    assert recall["weighted"][1] < recall["plain"][1], recall


# ------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(("sample_weight", "message"), [
    (np.ones(3), r"sample_weight\.shape == \(3,\), expected \(240,\)"),
    (np.ones((240, 2)), r"Sample weights must be 1D array or scalar"),
    (np.r_[np.nan, np.ones(239)], r"Input sample_weight contains NaN"),
    (np.r_[-1.0, np.ones(239)], r"Negative values in data passed to `sample_weight`"),
    (np.zeros(240), r"sample_weight of StackedTextClassifier is zero for every"),
    (np.array(["tt01"] * 240), (r"sample_weight of StackedTextClassifier must be numbers.*groups \(movies\) "
                                r"go to fit\(X, y, groups=\.\.\.\)")),
])
def test_stack_sample_weight_bad_weights_are_clear_errors_before_any_fit(split, monkeypatch, sample_weight, message):
    X, y, _, _ = split

    def no_fit(*args, **kwargs):
        raise AssertionError("a member was fitted")

    monkeypatch.setattr(stacking, "_fit_group", no_fit)
    with pytest.raises(ValueError, match=message):
        StackedTextClassifier(**FAST).fit(X[:N], y[:N], sample_weight=sample_weight)


def test_stack_sample_weight_is_keyword_only_and_groups_stay_third(split):
    """fit(X, y, groups) still means groups (numeric movie ids read as weights would change the fit silently);
    sample_weight goes by keyword only."""
    X, y, _, _ = split
    groups = np.arange(N) % 20
    by_position = StackedTextClassifier(**FAST).fit(X[:N], y[:N], groups)
    by_keyword = StackedTextClassifier(**FAST).fit(X[:N], y[:N], groups=groups)
    np.testing.assert_array_equal(by_position.decision_function(X[N:]), by_keyword.decision_function(X[N:]))
    with pytest.raises(TypeError, match=r"positional argument"):
        StackedTextClassifier(**FAST).fit(X[:N], y[:N], None, None, np.ones(N))


def test_stack_sample_weight_a_class_without_weight_is_fitted(split):
    """scikit-learn's check_classifiers_one_label_sample_weights: weights that leave one class with no weight fit,
    and predict the remaining class only (session 45; more in tests/test_zero_weight_classes_s45.py)."""
    X, y, X_val, _ = split
    y = np.asarray(y[:N])
    stack = StackedTextClassifier(**FAST).fit(X[:N], y, sample_weight=(y == "pos").astype(float))
    assert stack.classes_.tolist() == ["neg", "pos"] and set(stack.predict(X_val).tolist()) == {"pos"}


def test_stack_sample_weight_as_list_or_series_is_the_array_and_left_unchanged(split):
    """scikit-learn's check_sample_weights_list / _pandas_series / _not_overwritten, in text form."""
    import pandas as pd

    X, y, X_val, _ = split
    X, y = X[:N], y[:N]
    w = _weights(len(y))
    kept = w.copy()
    expected = StackedTextClassifier(**FAST).fit(X, y, sample_weight=w).decision_function(X_val)
    np.testing.assert_array_equal(w, kept)
    for other in (w.tolist(), pd.Series(w)):
        got = StackedTextClassifier(**FAST).fit(X, y, sample_weight=other).decision_function(X_val)
        np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------------------------- pipelines, routing
def test_stack_sample_weight_through_a_pipeline_without_routing(split):
    X, y, X_val, _ = split
    X, y = X[:N], y[:N]
    w = _weights(len(y))
    direct = StackedTextClassifier(**FAST).fit(X, y, sample_weight=w)
    pipe = make_pipeline(StackedTextClassifier(**FAST)).fit(X, y, stackedtextclassifier__sample_weight=w)
    np.testing.assert_array_equal(pipe.decision_function(X_val), direct.decision_function(X_val))


def test_stack_sample_weight_with_metadata_routing_in_a_grid_search(split, glove_small):
    """set_fit_request(sample_weight=True) (BaseEstimator's, from fit's signature) inside a Pipeline: GridSearchCV
    fits each split's stack with that split's weights and the refit with all of them (the same model as a direct
    fit); a stack with the vector member fits under routing too (before: its LogisticRegressionCV's "accuracy"
    scorer had not asked for the weights, UnsetMetadataPassedError)."""
    X, y, X_val, _ = split
    X, y = X[:160], np.asarray(y[:160])
    w = _weights(len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        # as any scikit-learn classifier under routing: the search scores with weights, so score is asked too
        stack = StackedTextClassifier(**FAST).set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        grid = GridSearchCV(make_pipeline(stack), {"stackedtextclassifier__final_C": [1.0]}, cv=2)
        grid.fit(X, y, sample_weight=w)
        direct = clone(stack).fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(grid.best_estimator_.decision_function(X_val), direct.decision_function(X_val))

        vectors = StackedTextClassifier(**{**FAST, "vectors": str(glove_small), "vectors_Cs": (0.01, 0.1)})
        vectors.fit(X[:120], y[:120], sample_weight=w[:120])
        assert vectors.member_names_ == ["ngrams", "vectors"]

"""Tests of toolkit.models.naive_bayes: log-count ratios, NBFeatureScaler, NBSVMClassifier."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from toolkit.models.naive_bayes import NBFeatureScaler, NBSVMClassifier, log_count_ratio

# --------------------------------------------------------------------- sklearn checks
# These checks feed dense Gaussian blobs (or negative values despite the
# positive_only tag) where NBSVM expects counts; binarizing such data throws the
# signal away, so they measure nothing about the estimator.
_NOT_COUNT_DATA = {
    "check_classifiers_train": "fits continuous Gaussian blobs, not counts",
    "check_class_weight_classifiers": (
        "make_blobs(cluster_std=20) features are negative and the check ignores the positive_only "
        "tag, so fit refuses them before class_weight matters; the same check on IMDB counts is "
        "test_naive_bayes_class_weight_check_on_counts"),
    "check_decision_proba_consistency": "passes negative values despite positive_only",
}


# liblinear's dual coordinate descent stops at tol: weighting and repeating documents reach optima ~1e-6
# apart, beyond these checks' rtol=1e-7 (scikit-learn marks LinearSVC the same way);
# test_naive_bayes_sample_weight_equals_repeating_documents checks the equivalence at the solver's tolerance
_DUAL_SOLVER = "liblinear's dual solver stops at tol: sample_weight and repeated samples agree to ~1e-6, not 1e-7"
_SAMPLE_WEIGHT_CHECKS = {"check_sample_weight_equivalence_on_dense_data": _DUAL_SOLVER,
                         "check_sample_weight_equivalence_on_sparse_data": _DUAL_SOLVER}


def _expected_failures(estimator):
    if not isinstance(estimator, NBSVMClassifier):
        return {}
    if estimator.loss != "log_loss":  # no predict_proba: the check does not run
        return {**{k: v for k, v in _NOT_COUNT_DATA.items() if k != "check_decision_proba_consistency"},
                **_SAMPLE_WEIGHT_CHECKS}
    return {**_NOT_COUNT_DATA, **_SAMPLE_WEIGHT_CHECKS}


@parametrize_with_checks(
    [NBFeatureScaler(), NBSVMClassifier(random_state=0),
     NBSVMClassifier(loss="log_loss", random_state=0)],
    expected_failed_checks=_expected_failures,
)
def test_naive_bayes_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- behaviour
X_TOY = np.array([[2, 0, 1, 0], [1, 0, 0, 1], [0, 3, 1, 0], [0, 1, 0, 0]])
Y_TOY = np.array([1, 1, 0, 0])


def test_naive_bayes_log_count_ratio_matches_formula():
    # binarized: pos docs -> [2, 0, 1, 1] + 1, neg docs -> [0, 2, 1, 0] + 1
    p = np.array([3.0, 1.0, 2.0, 2.0])
    q = np.array([1.0, 3.0, 2.0, 1.0])
    expected = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(log_count_ratio(X_TOY, Y_TOY), expected)
    np.testing.assert_allclose(log_count_ratio(sp.csr_matrix(X_TOY), Y_TOY), expected)
    # raw counts when binarize=False; pos_label flips the sign
    counts = log_count_ratio(X_TOY, Y_TOY, binarize=False)
    assert counts[0] > expected[0]
    np.testing.assert_allclose(log_count_ratio(X_TOY, Y_TOY, pos_label=0), -expected)


def test_naive_bayes_log_count_ratio_errors():
    with pytest.raises(ValueError, match="needs a binary target, got 3 classes"):
        log_count_ratio(X_TOY, [0, 1, 2, 2])
    with pytest.raises(ValueError, match="alpha must be a float > 0"):
        log_count_ratio(X_TOY, Y_TOY, alpha=0)


def test_naive_bayes_scaler_transform_is_binarized_times_ratio():
    scaler = NBFeatureScaler(alpha=0.5).fit(sp.csr_matrix(X_TOY), Y_TOY)
    r = log_count_ratio(X_TOY, Y_TOY, alpha=0.5)
    np.testing.assert_allclose(scaler.log_count_ratio_, r)
    out = scaler.transform(X_TOY)
    assert sp.issparse(out) and out.shape == X_TOY.shape
    np.testing.assert_allclose(out.toarray(), (X_TOY > 0) * r)
    raw = NBFeatureScaler(binarize=False).fit(X_TOY, Y_TOY).transform(X_TOY)
    assert raw.toarray()[0, 0] == pytest.approx(2 * log_count_ratio(X_TOY, Y_TOY, binarize=False)[0])


def test_naive_bayes_scaler_multiclass_one_vs_rest_blocks():
    y = np.array(["a", "b", "c", "c"])
    scaler = NBFeatureScaler().fit(X_TOY, y)
    assert scaler.log_count_ratio_.shape == (3, 4)
    np.testing.assert_allclose(scaler.log_count_ratio_[1], log_count_ratio(X_TOY, y == "b"))
    out = scaler.transform(X_TOY)
    assert out.shape == (4, 12)
    np.testing.assert_allclose(out.toarray()[:, 8:], (X_TOY > 0) * scaler.log_count_ratio_[2])


def test_naive_bayes_nbsvm_beta_one_is_linear_model_on_nb_features():
    Xs = NBFeatureScaler().fit_transform(X_TOY, Y_TOY)
    r = log_count_ratio(X_TOY, Y_TOY)
    clf = NBSVMClassifier(beta=1.0, random_state=0).fit(X_TOY, Y_TOY)
    svm = LinearSVC(C=clf.C, dual=True, random_state=0).fit(Xs, Y_TOY)
    np.testing.assert_allclose(clf.coef_.ravel(), svm.coef_.ravel() * r, rtol=1e-6)
    np.testing.assert_allclose(clf.intercept_, svm.intercept_, rtol=1e-6)
    np.testing.assert_allclose(clf.decision_function(X_TOY), svm.decision_function(Xs), rtol=1e-6)

    clf = NBSVMClassifier(beta=1.0, loss="log_loss", C=0.1, random_state=0).fit(X_TOY, Y_TOY)
    lr = LogisticRegression(C=0.1, solver="liblinear", dual=True, random_state=0).fit(Xs, Y_TOY)
    np.testing.assert_allclose(clf.predict_proba(X_TOY), lr.predict_proba(Xs), rtol=1e-6)


def test_naive_bayes_nbsvm_beta_zero_is_naive_bayes():
    clf = NBSVMClassifier(beta=0.0).fit(X_TOY, Y_TOY)
    r = log_count_ratio(X_TOY, Y_TOY)
    assert clf.intercept_ == pytest.approx([0.0])
    scores = clf.decision_function(X_TOY)
    np.testing.assert_allclose(scores / scores[0], ((X_TOY > 0) @ r) / ((X_TOY[0] > 0) @ r))


def test_naive_bayes_nbsvm_multiclass_string_labels():
    y = np.array(["a", "b", "c", "c"])
    clf = NBSVMClassifier(loss="log_loss", random_state=0).fit(X_TOY, y)
    assert clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    assert clf.decision_function(X_TOY).shape == (4, 3)
    proba = clf.predict_proba(X_TOY)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X_TOY)) <= {"a", "b", "c"}
    assert not hasattr(NBSVMClassifier(), "predict_proba")  # SVM losses: no probabilities


@pytest.fixture(scope="module")
def imdb_counts(imdb_small):
    texts, labels = imdb_small
    vec = CountVectorizer(ngram_range=(1, 2), min_df=2)
    X = vec.fit_transform(texts[:450])
    return X, labels[:450], vec.transform(texts[450:]), labels[450:], vec


def test_naive_bayes_nbsvm_learns_imdb_sentiment(imdb_counts):
    X_train, y_train, X_test, y_test, vec = imdb_counts
    clf = NBSVMClassifier(random_state=0).fit(X_train, y_train)
    assert list(clf.classes_) == ["neg", "pos"]
    assert clf.score(X_test, y_test) > 0.75  # 150 held-out real reviews
    weight = dict(zip(vec.get_feature_names_out(), clf.coef_.ravel()))
    assert min(weight["bad"], weight["worst"], weight["waste"]) < 0
    assert max(weight["great"], weight["excellent"]) > 0
    proba = NBSVMClassifier(loss="log_loss", random_state=0).fit(X_train, y_train).predict_proba(X_test)
    assert ((proba[:, 1] > 0.5) == (y_test == "pos")).mean() > 0.75


def test_naive_bayes_nbsvm_in_pipeline_grid_search_and_pickle(imdb_small):
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    texts, labels = imdb_small
    pipe = make_pipeline(CountVectorizer(), NBSVMClassifier(random_state=0))
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    betas = [0.0, 1.0]
    grid = GridSearchCV(pipe, {"nbsvmclassifier__beta": betas}, cv=cv)
    grid.fit(texts[:300], labels[:300])
    # the grid's scores are those of each beta fitted on its own (so the parameter reached NBSVM) ...
    by_hand = [cross_val_score(clone(pipe).set_params(nbsvmclassifier__beta=b), texts[:300], labels[:300],
                               cv=cv).mean() for b in betas]
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"], by_hand)
    assert by_hand[0] != by_hand[1]  # naive Bayes alone and the plain SVM differ
    # ... and the best one is the argmax, refitted on all 300 reviews
    assert grid.best_params_ == {"nbsvmclassifier__beta": betas[int(np.argmax(by_hand))]}
    assert grid.best_score_ == max(by_hand) > 0.7
    model = grid.best_estimator_
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(texts[300:]), model.predict(texts[300:]))
    assert clone(model).get_params()["nbsvmclassifier__C"] == 0.01  # benchmarks/tune_linear.py


# --------------------------------------------------------------------- class weights
def test_naive_bayes_class_weight_weights_the_nb_ratios():
    cw = {0: 3.0, 1: 0.5}
    w = np.array([cw[c] for c in Y_TOY])
    # weighted binarized counts: pos docs (weight 0.5) -> 0.5 * [2, 0, 1, 1], neg docs (weight 3) -> 3 * [0, 2, 1, 0]
    p = 1.0 + 0.5 * np.array([2.0, 0.0, 1.0, 1.0])
    q = 1.0 + 3.0 * np.array([0.0, 2.0, 1.0, 0.0])
    expected = np.log(p / p.sum()) - np.log(q / q.sum())
    np.testing.assert_allclose(log_count_ratio(X_TOY, Y_TOY, sample_weight=w), expected)
    clf = NBSVMClassifier(beta=1.0, class_weight=cw, random_state=0).fit(X_TOY, Y_TOY)
    np.testing.assert_allclose(clf.log_count_ratio_, expected)
    # the SVM half: per-sample weights are LinearSVC's class_weight, on the weighted NB features
    svm = LinearSVC(C=clf.C, dual=True, class_weight=cw, random_state=0).fit((X_TOY > 0) * expected, Y_TOY)
    np.testing.assert_allclose(clf.coef_.ravel(), svm.coef_.ravel() * expected, rtol=1e-5)
    np.testing.assert_allclose(clf.intercept_, svm.intercept_, rtol=1e-5)
    # "balanced" on balanced classes is no weighting at all
    np.testing.assert_allclose(NBSVMClassifier(class_weight="balanced").fit(X_TOY, Y_TOY).log_count_ratio_,
                               log_count_ratio(X_TOY, Y_TOY))


def test_naive_bayes_class_weight_reaches_pure_naive_bayes(imdb_counts):
    """beta=0 is naive Bayes alone: before the ratios were weighted, class_weight changed nothing."""
    X_train, y_train, X_test, _, _ = imdb_counts
    plain = NBSVMClassifier(beta=0.0).fit(X_train, y_train)
    weighted = NBSVMClassifier(beta=0.0, class_weight={"neg": 20.0}).fit(X_train, y_train)
    w = np.where(y_train == "neg", 20.0, 1.0)
    np.testing.assert_allclose(weighted.log_count_ratio_, log_count_ratio(X_train, y_train, sample_weight=w))
    assert (weighted.predict(X_test) != plain.predict(X_test)).sum() >= 5


@pytest.mark.parametrize("loss", ["squared_hinge", "log_loss"])
def test_naive_bayes_class_weight_check_on_counts(imdb_counts, loss):
    """sklearn's check_class_weight_classifiers, on real counts instead of negative blobs."""
    X_train, y_train, X_test, _, _ = imdb_counts
    clf = NBSVMClassifier(loss=loss, class_weight={"neg": 1000, "pos": 0.0001}, random_state=0)
    assert (clf.fit(X_train, y_train).predict(X_test) == "neg").mean() > 0.87
    # three classes, one-vs-rest: the heavy class takes over
    y3 = np.where(np.arange(len(y_train)) % 3 == 0, "meh", y_train)
    clf = NBSVMClassifier(loss=loss, class_weight={"neg": 1000, "pos": 0.0001, "meh": 0.0001}, random_state=0)
    assert (clf.fit(X_train, y3).predict(X_test) == "neg").mean() > 0.87


def test_naive_bayes_class_weight_errors():
    with pytest.raises(ValueError, match=r"'class_weight' parameter of NBSVMClassifier names classes that are "
                                         r"not in y: \['pos'\]; the classes are \[0, 1\]"):
        NBSVMClassifier(class_weight={"pos": 2.0}).fit(X_TOY, Y_TOY)
    with pytest.raises(ValueError, match=r"sample_weight must hold one non-negative weight per sample \(4\)"):
        log_count_ratio(X_TOY, Y_TOY, sample_weight=[1.0, -1.0, 1.0, 1.0])


def test_naive_bayes_errors():
    with pytest.raises(ValueError, match="Negative values in data passed to NBSVMClassifier"):
        NBSVMClassifier().fit(-X_TOY, Y_TOY)
    with pytest.raises(ValueError, match="Negative values in data passed to NBFeatureScaler"):
        NBFeatureScaler().fit(X_TOY, Y_TOY).transform(-X_TOY)
    with pytest.raises(ValueError, match="needs at least 2 classes in y; got 1 class"):
        NBSVMClassifier().fit(X_TOY, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="needs at least 2 classes in y; got 1 class"):
        NBFeatureScaler().fit(X_TOY, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        NBSVMClassifier().fit(X_TOY, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(NotFittedError):
        NBSVMClassifier().predict(X_TOY)
    with pytest.raises(NotFittedError):
        NBFeatureScaler().transform(X_TOY)
    clf = NBSVMClassifier().fit(X_TOY, Y_TOY)
    with pytest.raises(ValueError, match="has 3 features, but NBSVMClassifier is expecting 4"):
        clf.predict(X_TOY[:, :3])


@pytest.mark.parametrize(
    ("est", "match"),
    [
        (NBSVMClassifier(alpha=0), r"The 'alpha' parameter of NBSVMClassifier must be a float in the range \(0, inf\)"),
        (NBSVMClassifier(beta=1.5), r"The 'beta' parameter of NBSVMClassifier must be a float in the range \[0, 1\]"),
        (NBSVMClassifier(C=-1.0), r"The 'C' parameter of NBSVMClassifier must be a float"),
        (NBSVMClassifier(loss="l1"), r"The 'loss' parameter of NBSVMClassifier must be a str among"),
        (NBSVMClassifier(max_iter=0), r"The 'max_iter' parameter of NBSVMClassifier must be an int"),
        (NBFeatureScaler(binarize="yes"), r"The 'binarize' parameter of NBFeatureScaler must be an instance of 'bool'"),
    ],
)
def test_naive_bayes_invalid_parameters(est, match):
    with pytest.raises(ValueError, match=match):
        est.fit(X_TOY, Y_TOY)


def test_naive_bayes_sample_weight_equals_repeating_documents(imdb_tokens):
    """NBSVMClassifier.fit(X, y, sample_weight=...): weight 2 is the document twice, weight 0 is no document,
    in the NB ratios exactly and in the linear model to the solver's tolerance. fit took no sample_weight,
    so a Pipeline, CalibratedClassifierCV or a grid search could not pass one."""
    import scipy.sparse as sp
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    docs, labels = imdb_tokens
    X = BagEncoder(output_mode="count").fit(docs[:300]).transform(docs[:300])
    y = np.asarray(labels[:300])
    w = np.tile([0, 1, 2], 100)
    repeated = np.repeat(np.arange(300), w)
    for loss in ("squared_hinge", "log_loss"):
        weighted = NBSVMClassifier(loss=loss, tol=1e-8, max_iter=100_000, random_state=0).fit(X, y, sample_weight=w)
        copies = NBSVMClassifier(loss=loss, tol=1e-8, max_iter=100_000, random_state=0).fit(
            sp.csr_matrix(X[repeated]), y[repeated])
        np.testing.assert_allclose(weighted.log_count_ratio_, copies.log_count_ratio_, rtol=1e-12)
        np.testing.assert_allclose(weighted.decision_function(X), copies.decision_function(X), rtol=1e-4, atol=1e-6)
    # with class_weight the two multiply; through a pipeline by step name
    both = NBSVMClassifier(class_weight={labels[0]: 2.0}, random_state=0).fit(X, y, sample_weight=w)
    twice = np.where(y == labels[0], 2.0, 1.0) * w
    np.testing.assert_allclose(both.decision_function(X),
                               NBSVMClassifier(random_state=0).fit(X, y, sample_weight=twice).decision_function(X))
    pipe = make_pipeline(BagEncoder(output_mode="count"), NBSVMClassifier(random_state=0))
    pipe.fit(docs[:300], y, nbsvmclassifier__sample_weight=w)
    np.testing.assert_allclose(pipe.decision_function(docs[:300]), NBSVMClassifier(random_state=0).fit(
        X, y, sample_weight=w).decision_function(X))
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        NBSVMClassifier().fit(X, y, sample_weight=-np.ones(300))


@pytest.mark.parametrize("estimator", [NBSVMClassifier(), NBFeatureScaler()])
def test_naive_bayes_text_input_says_to_put_the_tokenizer_and_an_encoder_first(estimator, imdb_small):
    """Before: "setting an array element with a sequence. The requested array has an inhomogeneous shape"."""
    from toolkit.text import SpacyTokenizer

    texts, labels = imdb_small
    tokens = SpacyTokenizer().fit_transform(texts[:50])
    name = type(estimator).__name__
    for X, what in ((tokens, r"token lists \(a TokenizedCorpus\)"), (tokens.to_list(), "token lists"),
                    (texts[:50], "raw texts")):
        with pytest.raises(ValueError, match=rf"{name} takes a matrix of token counts \(n_samples, n_features\), got "
                                             rf"{what}\. Put the tokenizer and an encoder before it: make_pipeline"):
            clone(estimator).fit(X, labels[:50])

"""StackedTextClassifier(class_weight=...) and NBSVMClassifier's class weights, on real IMDB reviews.

The stack's class weights go to its meta-learner, which makes the decision from the members'
out-of-fold scores; the members stay unweighted (see the parameter's docstring for why).
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from conftest import simple_tokens
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from toolkit import StackedTextClassifier
from toolkit.models import NBSVMClassifier, log_count_ratio

FAST = {"vectors": None, "cv": 3, "random_state": 0}


@pytest.fixture(scope="module")
def reviews_95_5(shared_data):
    """800 real training reviews, 760 negative and 40 positive (95/5), and 200 held-out reviews
    (about half positive) from further down the same shuffled IMDB training set."""
    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=1600, shuffle=True, random_state=0)
    docs = simple_tokens(data.texts)
    y = np.asarray(data.target_names)[data.labels]
    pool = np.arange(1400)
    idx = np.sort(np.r_[pool[y[pool] == "neg"][:760], pool[y[pool] == "pos"][:40]])
    held_out = np.arange(1400, 1600)
    return [docs[i] for i in idx], y[idx], [docs[i] for i in held_out], y[held_out]


@pytest.fixture(scope="module")
def plain_stack(split):
    """``StackedTextClassifier(**FAST)`` fitted on the split fixture's 400 training reviews, for the tests that
    only read it (each unpickles its own copy to edit)."""
    X, y, _, _ = split
    return StackedTextClassifier(**FAST).fit(X, y)


def _imbalanced(split, n_pos):
    """The split fixture's 400 training reviews with all but ``n_pos`` positive ones left out:
    (token lists, labels, their positions in the fixture)."""
    X, y, _, _ = split
    y = np.asarray(y)
    keep = np.sort(np.r_[np.flatnonzero(y == "neg"), np.flatnonzero(y == "pos")[:n_pos]])
    return [X[i] for i in keep], y[keep], keep


# ------------------------------------------------------------------------------------- behaviour
def test_stack_class_weight_balanced_raises_the_rare_class_recall_on_95_5_reviews(reviews_95_5):
    """On 95/5 reviews the unweighted stack predicts the majority class for (almost) every held-out
    review; class_weight="balanced" finds most of the rare class and raises the balanced accuracy."""
    X, y, X_test, y_test = reviews_95_5
    params = {**FAST, "cv": 2}  # two folds tell as well as three (measured: the same recalls and scores)
    plain = StackedTextClassifier(**params).fit(X, y)
    balanced = StackedTextClassifier(**params, class_weight="balanced").fit(X, y)
    recall = {name: recall_score(y_test, clf.predict(X_test), pos_label="pos")
              for name, clf in (("plain", plain), ("balanced", balanced))}
    score = {name: balanced_accuracy_score(y_test, clf.predict(X_test))
             for name, clf in (("plain", plain), ("balanced", balanced))}
    assert recall["plain"] < 0.1 and recall["balanced"] > 0.5, recall
    assert score["balanced"] > score["plain"] + 0.08, score
    # a heavier dict weight moves the decision further toward the rare class
    heavy = StackedTextClassifier(**params, class_weight={"neg": 1.0, "pos": 100.0}).fit(X, y)
    assert (heavy.predict(X_test) == "pos").sum() > (balanced.predict(X_test) == "pos").sum()


def test_stack_class_weight_weighs_the_meta_learner_and_leaves_the_members_alone(split, glove_small,
                                                                                  imdb_small_ratings):
    """The members' scores are the same bits with and without class weights; the meta-learner is weighted
    ("balanced": from the stack's y). class_weight=None and a weight of 1 for every class are the same fit."""
    X, y, rows = _imbalanced(split, 40)
    ratings = imdb_small_ratings[rows]  # the split fixture's training reviews are imdb_small's first 400
    X_val = split[2]
    # every member kind (what the test is about), each as cheap as it comes: two folds, and two small Cs for the
    # vector member (lbfgs takes hundreds of iterations at vectors_Cs=4's large Cs, 21.5 and 10,000)
    params = {"vectors": str(glove_small), "cv": 2, "vectors_Cs": (0.01, 0.1), "tail_tokens": 20,
              "ratings_alpha": 0.03, "neighbors": 10, "random_state": 0}
    plain = StackedTextClassifier(**params).fit(X, y, ratings=ratings)
    balanced = StackedTextClassifier(**params, class_weight="balanced").fit(X, y, ratings=ratings)
    assert plain.member_names_ == ["ngrams", "tail", "ratings", "vectors", "neighbors"]
    np.testing.assert_array_equal(balanced.member_scores(X_val), plain.member_scores(X_val))
    assert balanced.meta_[-1].class_weight == "balanced" and plain.meta_[-1].class_weight is None
    assert (balanced.predict(X_val) == "pos").sum() > (plain.predict(X_val) == "pos").sum()
    params.update(vectors=None, neighbors=None)
    plain = StackedTextClassifier(**params).fit(X, y, ratings=ratings)
    ones = StackedTextClassifier(**params, class_weight={"neg": 1, "pos": 1}).fit(X, y, ratings=ratings)
    np.testing.assert_array_equal(ones.decision_function(X_val), plain.decision_function(X_val))


# ------------------------------------------------------------------------------------ sklearn API
def test_stack_class_weight_get_params_set_params_clone():
    clf = StackedTextClassifier()
    assert clf.get_params()["class_weight"] is None
    clf.set_params(class_weight={"neg": 1.0, "pos": 5.0})
    assert clone(clf).get_params()["class_weight"] == {"neg": 1.0, "pos": 5.0}
    assert clone(clf.set_params(class_weight="balanced")).class_weight == "balanced"
    assert "class_weight='balanced'" in repr(clf)


def test_stack_class_weight_in_a_grid_search(split):
    """GridSearchCV clones the stack with each class_weight; the weighted fits score differently."""
    X, y, _ = _imbalanced(split, 30)
    grid = GridSearchCV(StackedTextClassifier(**FAST), {"class_weight": [None, "balanced", {"neg": 1, "pos": 10}]},
                        cv=StratifiedKFold(2, shuffle=True, random_state=0), scoring="balanced_accuracy",
                        error_score="raise").fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and len(set(np.round(scores, 6))) > 1
    assert grid.best_estimator_.meta_[-1].class_weight == grid.best_params_["class_weight"]


@pytest.mark.parametrize("class_weight, message", [
    ({"neg": 1.0, "poss": 2.0}, (r"The 'class_weight' parameter of StackedTextClassifier names classes that are "
                                 r"not in y: \['poss'\]; the classes are \['neg', 'pos'\]")),
    ({"neg": 1.0, "pos": -2.0}, (r"The 'class_weight' parameter of StackedTextClassifier must map classes to "
                                 r"finite weights >= 0\. Got \{'pos': -2\.0\}")),
    ({"neg": 1.0, "pos": float("nan")}, r"must map classes to finite weights >= 0"),
    ("auto", r"The 'class_weight' parameter of StackedTextClassifier must be"),
])
def test_stack_class_weight_bad_values_are_clear_errors(split, class_weight, message, monkeypatch):
    """Named before any member is fitted."""
    from toolkit.models import stacking

    def no_fit(*args, **kwargs):
        raise AssertionError("a member was fitted")

    monkeypatch.setattr(stacking, "_fit_group", no_fit)
    X, y, _, _ = split
    with pytest.raises(ValueError, match=message):
        StackedTextClassifier(**FAST, class_weight=class_weight).fit(X, y)


def test_stack_class_weight_may_name_a_class_y_lacks_when_every_class_of_y_has_one(split):
    """As scikit-learn: a rare class that an outer split leaves out of the stack's y may keep its key."""
    X, y, X_val, _ = split
    params = {**FAST, "cv": 2}  # the same fit or not: two folds tell as well as three
    with_rare = StackedTextClassifier(**params, class_weight={"neg": 1.0, "pos": 3.0, "rare": 9.0}).fit(X, y)
    without = StackedTextClassifier(**params, class_weight={"neg": 1.0, "pos": 3.0}).fit(X, y)
    np.testing.assert_array_equal(with_rare.decision_function(X_val), without.decision_function(X_val))
    # a class the dict does not name weighs 1
    only_pos = StackedTextClassifier(**params, class_weight={"pos": 3.0}).fit(X, y)
    np.testing.assert_array_equal(only_pos.decision_function(X_val), without.decision_function(X_val))


def test_stack_saved_before_class_weight_existed_loads_with_none(split, plain_stack):
    """A stack pickled (or saved with skops, which restores state the same way) before ``class_weight``
    existed loads with class_weight=None, the setting it was fitted with: get_params, clone and repr work."""
    X_val, stack = split[2], plain_stack
    old = pickle.loads(pickle.dumps(stack))
    del old.class_weight  # the state such a stack carries
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["class_weight"] is None and clone(restored).class_weight is None
    assert "StackedTextClassifier" in repr(restored)
    np.testing.assert_array_equal(restored.decision_function(X_val), stack.decision_function(X_val))


# ---------------------------------------------------------------------------------- alpha_scaling
def test_stack_alpha_scaling_reaches_every_nbsvm_member_and_ranks_the_rare_class_better(split):
    """alpha_scaling="class_size" goes to each NBSVM member (n-grams, their tail); on 80/20 reviews the stack
    ranks the held-out reviews better (ROC AUC) than with the default smoothing."""
    from sklearn.metrics import roc_auc_score

    X, y, _ = _imbalanced(split, 50)
    X_test, y_test = split[2], np.asarray(split[3])
    params = {**FAST, "tail_tokens": 20}
    plain = StackedTextClassifier(**params).fit(X, y)
    scaled = StackedTextClassifier(**params, alpha_scaling="class_size").fit(X, y)
    nbsvms = [step for name in scaled.member_names_ for model in scaled.members_[name]
              for _, step in model.steps if isinstance(step, NBSVMClassifier)]
    assert len(nbsvms) == 2 and all(m.alpha_scaling == "class_size" for m in nbsvms)
    auc = {name: roc_auc_score(y_test == "pos", clf.decision_function(X_test))
           for name, clf in (("plain", plain), ("scaled", scaled))}
    assert auc["scaled"] > auc["plain"] + 0.01, auc


def test_stack_alpha_scaling_is_the_same_fit_on_classes_of_equal_size(split):
    """With as many positive as negative training reviews, class_size smoothing is alpha on both sides:
    the same bits as the default."""
    X, y, X_val, _ = split
    y = np.asarray(y)
    keep = np.sort(np.r_[np.flatnonzero(y == "neg")[:150], np.flatnonzero(y == "pos")[:150]])
    X, y = [X[i] for i in keep], y[keep]
    params = {**FAST, "cv": StratifiedKFold(2)}  # folds of 75 + 75 reviews: equal sizes in every fit too
    plain = StackedTextClassifier(**params).fit(X, y)
    scaled = StackedTextClassifier(**params, alpha_scaling="class_size").fit(X, y)
    np.testing.assert_array_equal(scaled.decision_function(X_val), plain.decision_function(X_val))


def test_stack_alpha_scaling_params_and_old_stacks(split, plain_stack):
    """get_params / clone / a bad value named before any fit; a stack saved before the parameter loads with
    None."""
    X, y, X_val, _ = split
    assert StackedTextClassifier().get_params()["alpha_scaling"] == "auto"  # None's fit for two classes
    assert clone(StackedTextClassifier(alpha_scaling="class_size")).alpha_scaling == "class_size"
    with pytest.raises(ValueError, match=r"The 'alpha_scaling' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(**FAST, alpha_scaling="size").fit(X, y)
    stack = plain_stack
    old = pickle.loads(pickle.dumps(stack))
    del old.alpha_scaling  # the state such a stack carries
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["alpha_scaling"] is None
    np.testing.assert_array_equal(restored.decision_function(X_val), stack.decision_function(X_val))


def test_stack_ratio_shrinkage_and_norm_reach_every_nbsvm_member_and_rank_the_rare_class_better(split):
    """ratio_shrinkage and norm go to each NBSVM member (n-grams, their tail) with the stack's C; on 90/10
    reviews the stack with the imbalanced-data setting ranks the held-out reviews better than with
    class_size smoothing alone."""
    from sklearn.metrics import roc_auc_score

    X, y, _ = _imbalanced(split, 20)
    X_test, y_test = split[2], np.asarray(split[3])
    params = {**FAST, "tail_tokens": 20, "alpha_scaling": "class_size"}
    scaled = StackedTextClassifier(**params).fit(X, y)
    faded = StackedTextClassifier(**params, ratio_shrinkage=1.0, norm="l2", C=1.0).fit(X, y)
    nbsvms = [step for name in faded.member_names_ for model in faded.members_[name]
              for _, step in model.steps if isinstance(step, NBSVMClassifier)]
    assert len(nbsvms) == 2
    assert all((m.ratio_shrinkage, m.norm, m.C) == (1.0, "l2", 1.0) for m in nbsvms)
    auc = {name: roc_auc_score(y_test == "pos", clf.decision_function(X_test))
           for name, clf in (("scaled", scaled), ("faded", faded))}
    assert auc["faded"] > auc["scaled"] + 0.01, auc


def test_stack_ratio_shrinkage_and_norm_params_and_old_stacks(split, plain_stack):
    """get_params / clone / bad values named before any fit; a stack saved before the parameters loads with
    None for both."""
    X, y, X_val, _ = split
    params = StackedTextClassifier().get_params()
    assert params["ratio_shrinkage"] is None and params["norm"] is None
    copy = clone(StackedTextClassifier(ratio_shrinkage=2.0, norm="l2"))
    assert (copy.ratio_shrinkage, copy.norm) == (2.0, "l2")
    with pytest.raises(ValueError, match=r"The 'ratio_shrinkage' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(**FAST, ratio_shrinkage=0.0).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'norm' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(**FAST, norm="l1").fit(X, y)
    stack = plain_stack
    old = pickle.loads(pickle.dumps(stack))
    del old.ratio_shrinkage, old.norm  # the state such a stack carries
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["ratio_shrinkage"] is None and restored.get_params()["norm"] is None
    np.testing.assert_array_equal(restored.decision_function(X_val), stack.decision_function(X_val))


# ------------------------------------------------------------------------------ NBSVMClassifier
def test_nbsvm_class_weight_2_is_the_class_documents_twice(imdb_tokens):
    """class_weight={c: 2} counts each document of class c twice: in the naive-Bayes ratios exactly, and in
    the linear model to the solver's tolerance; with sample_weight the two multiply."""
    import scipy.sparse as sp

    from toolkit.text import BagEncoder

    docs, labels = imdb_tokens
    X = BagEncoder(output_mode="count").fit(docs[:300]).transform(docs[:300])
    y = np.asarray(labels[:300])
    twice = np.repeat(np.arange(300), np.where(y == "pos", 2, 1))
    solver = {"tol": 1e-8, "max_iter": 100_000, "random_state": 0}
    for loss in ("squared_hinge", "log_loss"):
        weighted = NBSVMClassifier(loss=loss, class_weight={"pos": 2.0}, **solver).fit(X, y)
        copies = NBSVMClassifier(loss=loss, **solver).fit(sp.csr_matrix(X[twice]), y[twice])
        np.testing.assert_allclose(weighted.log_count_ratio_, copies.log_count_ratio_, rtol=1e-12)
        np.testing.assert_allclose(weighted.decision_function(X), copies.decision_function(X), rtol=1e-4, atol=1e-6)
    w = np.tile([0.5, 1.0, 3.0], 100)
    both = NBSVMClassifier(class_weight={"pos": 2.0}, random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(both.log_count_ratio_,
                               log_count_ratio(X, y, pos_label="pos", sample_weight=w * np.where(y == "pos", 2, 1)))
    # "balanced" is computed from the labels the fit sees
    sub = np.r_[np.flatnonzero(y == "neg"), np.flatnonzero(y == "pos")[:30]]
    balanced = NBSVMClassifier(class_weight="balanced").fit(X[sub], y[sub])
    n_neg, n_pos = (y[sub] == "neg").sum(), 30
    cw = {"neg": len(sub) / (2 * n_neg), "pos": len(sub) / (2 * n_pos)}
    np.testing.assert_allclose(balanced.log_count_ratio_, NBSVMClassifier(class_weight=cw).fit(
        X[sub], y[sub]).log_count_ratio_, rtol=1e-12)


# ------------------------------------------------------------------------------------------ CLI
def test_train_stack_with_set_class_weight_balanced(imdb_small, tmp_path, capsys):
    """`toolkit train --model stack --set class_weight=balanced` reaches the stack's meta-learner."""
    from toolkit.cli import main
    from toolkit.models import load_model

    texts, labels = imdb_small
    neg = [i for i, label in enumerate(labels) if label == "neg"][:190]
    pos = [i for i, label in enumerate(labels) if label == "pos"][:10]
    data = tmp_path / "reviews.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": texts[i], "label": str(labels[i])}) + "\n" for i in sorted(neg + pos))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(data), "--model", "stack", "--vectors", "none", "--set", "n_jobs=1",
              "--set", "cv=3", "--set", "class_weight=balanced", "--no-baseline", "-o", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code in (0, None), err[-2000:]
    assert json.loads((out / "metrics.json").read_text())["settings"]["class_weight"] == "balanced"
    stack = load_model(out / "model")[-1]
    assert isinstance(stack, StackedTextClassifier) and stack.class_weight == "balanced"
    assert stack.meta_[-1].class_weight == "balanced"

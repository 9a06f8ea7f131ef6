"""NBSVMClassifier on more than two classes: the default ``alpha_scaling="auto"`` (toolkit.models.naive_bayes).

One-vs-rest, each class's naive-Bayes ratio rests on its own few documents against the rest; with an equal
``alpha`` on both sides (``alpha_scaling=None``, the default before) the smoothing summed over a large n-gram
vocabulary outweighs those counts. ``"auto"`` scales ``alpha`` by class size (``"class_size"``) when there are
more than two classes and keeps ``None`` for two, so binary fits are unchanged bit for bit
(``benchmarks/bench_many_classes.py``: 84.6% -> 94.2% on 50 movies, 55.3% -> 89.0% on 200, validation splits of
IMDB training reviews).
"""

from __future__ import annotations

import collections
import itertools
import pickle

import numpy as np
import pytest
from conftest import simple_tokens
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import GridSearchCV, train_test_split

from toolkit.models import NBSVMClassifier, log_count_ratio


@pytest.fixture(scope="module")
def movies(shared_data):
    """The 40 most-reviewed IMDB training movies (30 reviews each), binary 1-2-gram counts: 960 fit / 240 held out.

    (X fit, movie ids fit, X held out, movie ids held out)
    """
    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz")
    top = {m for m, _ in collections.Counter(data.groups.tolist()).most_common(40)}
    idx = np.array([i for i, m in enumerate(data.groups) if m in top])
    ids = np.asarray(data.groups[idx], dtype=object)
    texts = [" ".join(t) for t in simple_tokens([data.texts[i] for i in idx])]
    fit, held = train_test_split(np.arange(len(idx)), test_size=0.2, stratify=ids, random_state=0)
    counts = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=r"\S+")
    X_fit = counts.fit_transform([texts[i] for i in fit]).astype(np.float64)
    return X_fit, ids[fit], counts.transform([texts[i] for i in held]).astype(np.float64), ids[held]


@pytest.fixture(scope="module")
def three_movies(movies):
    """The fit reviews of the first three of those movies (72 reviews): the smallest target "auto" scales."""
    X, ids, _, _ = movies
    keep = np.isin(ids, np.unique(ids)[:3])
    return X[keep], ids[keep]


@pytest.fixture(scope="module")
def rare_positive(imdb_tokens):
    """Two unequal classes of real reviews: 160 negative and 24 positive, binary 1-2-gram counts (float64)."""
    docs, labels = imdb_tokens
    idx = np.concatenate([np.flatnonzero(labels == "neg")[:160], np.flatnonzero(labels == "pos")[:24]])
    counts = CountVectorizer(analyzer=lambda d: d + [" ".join(p) for p in itertools.pairwise(d)], binary=True)
    return counts.fit_transform([docs[i] for i in idx]).astype(np.float64), labels[idx]


def test_default_beats_equal_alpha_on_forty_movies(movies):
    """Which of 40 movies a review is about, 24 reviews per movie to learn from: the equal alpha of None got
    about 85% right on these 240 held-out reviews, the default (class-size smoothing for >2 classes) about 90%."""
    X, y, X_held, y_held = movies
    default = NBSVMClassifier(random_state=0).fit(X, y)
    equal = NBSVMClassifier(alpha_scaling=None, random_state=0).fit(X, y)
    accuracy = {name: float((model.predict(X_held) == y_held).mean()) for name, model in
                [("default", default), ("None", equal)]}
    assert accuracy["default"] >= accuracy["None"] + 0.03, accuracy


def test_default_multiclass_ratios_are_the_class_size_ratios(three_movies):
    """From three classes on, the default fits what alpha_scaling="class_size" fits, bit for bit: each class's
    ratio against the rest with alpha scaled by the sides' sizes (not the equal alpha of None)."""
    X, y = three_movies
    default = NBSVMClassifier(random_state=0).fit(X, y)
    class_size = NBSVMClassifier(alpha_scaling="class_size", random_state=0).fit(X, y)
    equal = NBSVMClassifier(alpha_scaling=None, random_state=0).fit(X, y)
    assert default.get_params()["alpha_scaling"] == "auto"
    np.testing.assert_array_equal(default.coef_, class_size.coef_)
    np.testing.assert_array_equal(default.intercept_, class_size.intercept_)
    for k, c in enumerate(default.classes_):
        np.testing.assert_array_equal(default.log_count_ratio_[k],
                                      log_count_ratio(X, y == c, pos_label=True, alpha_scaling="class_size"))
    assert not np.allclose(default.log_count_ratio_, equal.log_count_ratio_)


@pytest.mark.parametrize("weighting", [{}, {"class_weight": {"pos": 2.0}}, {"sample_weight": True}],
                         ids=["unweighted", "class_weight", "sample_weight"])
def test_two_class_fits_are_bit_identical_to_equal_alpha(rare_positive, weighting):
    """Two unequal classes (87/13): the default fits the same bits as alpha_scaling=None (what every binary
    NBSVMClassifier fitted before "auto"), and not what "class_size" fits, which moves these fits."""
    X, y = rare_positive
    params = {"loss": "log_loss", "random_state": 0, "class_weight": weighting.get("class_weight")}
    fit = {}
    if weighting.get("sample_weight"):
        fit["sample_weight"] = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    default = NBSVMClassifier(**params).fit(X, y, **fit)
    equal = NBSVMClassifier(alpha_scaling=None, **params).fit(X, y, **fit)
    class_size = NBSVMClassifier(alpha_scaling="class_size", **params).fit(X, y, **fit)
    for name in ("coef_", "intercept_", "log_count_ratio_"):
        assert np.array_equal(getattr(default, name), getattr(equal, name)), name
    assert np.array_equal(default.predict_proba(X), equal.predict_proba(X))
    assert not np.allclose(default.coef_, class_size.coef_)


def test_auto_with_a_class_of_total_weight_zero_keeps_equal_alpha(three_movies):
    """"class_size" cannot scale by a class of weight 0 (it raises); "auto" then fits with the equal alpha of
    None instead of failing, as every multiclass fit with such a class_weight did before."""
    X, y = three_movies
    weight = {c: (0.0 if k == 0 else 1.0) for k, c in enumerate(np.unique(y))}
    default = NBSVMClassifier(class_weight=weight, random_state=0).fit(X, y)
    equal = NBSVMClassifier(class_weight=weight, alpha_scaling=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(default.coef_, equal.coef_)
    with pytest.raises(ValueError, match=r"alpha_scaling='class_size'\) scales alpha by each class's summed weight"):
        NBSVMClassifier(class_weight=weight, alpha_scaling="class_size").fit(X, y)


def test_auto_clones_and_grid_searches(three_movies):
    """"auto" is a parameter value like the others: get_params / set_params / clone / repr, and a grid over it."""
    X, y = three_movies
    clf = NBSVMClassifier(alpha_scaling=None)
    assert clf.set_params(alpha_scaling="auto").get_params()["alpha_scaling"] == "auto"
    assert clone(clf).alpha_scaling == "auto" and "alpha_scaling" not in repr(clf)  # the default: not shown
    assert "alpha_scaling=None" in repr(NBSVMClassifier(alpha_scaling=None))
    search = GridSearchCV(NBSVMClassifier(random_state=0), {"alpha_scaling": ["auto", None]}, cv=2).fit(X, y)
    assert [p["alpha_scaling"] for p in search.cv_results_["params"]] == ["auto", None]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    again = pickle.loads(pickle.dumps(search.best_estimator_))
    assert again.alpha_scaling == search.best_params_["alpha_scaling"]


def test_bad_alpha_scaling_names_the_choices():
    with pytest.raises(ValueError, match=r"The 'alpha_scaling' parameter of NBSVMClassifier must be a str among "
                                         r"\{'auto', 'class_size'\} or None. Got 'Auto' instead."):
        NBSVMClassifier(alpha_scaling="Auto").fit(np.eye(3), [0, 1, 2])


def test_models_saved_before_alpha_scaling_load_with_equal_alpha(three_movies):
    """A model pickled before alpha_scaling existed was fitted with the equal alpha: it unpickles with None
    (not today's default "auto"), so its clone refits what it was."""
    X, y = three_movies
    clf = NBSVMClassifier(alpha_scaling=None, random_state=0).fit(X, y)
    old = NBSVMClassifier.__new__(NBSVMClassifier)
    old.__dict__.update({k: v for k, v in clf.__dict__.items() if k != "alpha_scaling"})
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["alpha_scaling"] is None
    np.testing.assert_array_equal(clone(loaded).fit(X, y).coef_, clf.coef_)
    # one saved with the parameter keeps what it holds, "auto" included
    assert pickle.loads(pickle.dumps(NBSVMClassifier(random_state=0).fit(X, y))).alpha_scaling == "auto"

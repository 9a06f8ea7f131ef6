"""A notebook user of the recommended models (StackedTextClassifier, NBSVMClassifier, PseudoLabelClassifier) on
small real IMDB samples (forty-third session)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from toolkit.models import NBSVMClassifier, PseudoLabelClassifier
from toolkit.text import BagEncoder


@pytest.fixture(scope="module")
def three_classes(imdb_tokens, imdb_small_ratings):
    """200 real reviews with three classes from their stars: 'awful' (1-2), 'meh' (3-4), 'good' (7-10)."""
    docs, _ = imdb_tokens
    stars = imdb_small_ratings[:200]
    return docs[:200], np.where(stars <= 2, "awful", np.where(stars <= 4, "meh", "good"))


@pytest.mark.parametrize("three", [False, True])
def test_nbsvm_log_loss_probabilities_of_a_long_document_stay_finite(imdb_tokens, three_classes, three):
    """predict_proba and predict_log_proba of NBSVMClassifier(loss="log_loss") are computed in log space: a long
    document with binarize=False has scores of hundreds, where 1 / (1 + exp(-s)) overflowed (RuntimeWarning),
    log(1 - p) was -inf from |s| > ~37 on, and a multiclass row of scores all under ~-745 was 0 / 0 (NaN)."""
    docs, labels = three_classes if three else (imdb_tokens[0][:200], imdb_tokens[1][:200])
    pipe = make_pipeline(BagEncoder(output_mode="count"),
                         NBSVMClassifier(loss="log_loss", C=1.0, beta=1.0, binarize=False, random_state=0))
    pipe.fit(docs, labels)
    clf = pipe[-1]
    # a real review repeated (a book-length document), and one word all classes weigh against, repeated
    against = int(np.argmax(-clf.coef_.max(axis=0))) if three else None
    word = pipe[:-1].get_feature_names_out()[against] if three else None
    long_docs = [docs[0] * 300] + ([[word] * 200_000] if three else [])
    scores = pipe.decision_function(long_docs)
    assert np.abs(scores).max() > 200  # the case: scores far out in the tails
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        log_proba = pipe.predict_log_proba(long_docs)
        proba = pipe.predict_proba(long_docs)
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pipe.predict(long_docs))
    if not three:  # the exact log-sigmoids: log p(pos) = -log(1 + exp(-s)), log p(neg) = -log(1 + exp(s))
        np.testing.assert_allclose(log_proba, np.column_stack([-np.logaddexp(0, scores), -np.logaddexp(0, -scores)]))
    # ordinary reviews: the same probabilities as the logistic formula
    short = pipe.predict_proba(docs[:20])
    s = pipe.decision_function(docs[:20])
    p = 1.0 / (1.0 + np.exp(-s))
    expected = np.column_stack([1.0 - p, p]) if s.ndim == 1 else p / p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(short, expected, rtol=1e-12, atol=1e-15)


def test_pseudo_label_default_estimator_takes_nested_params_and_grid_search(imdb_tokens):
    """PseudoLabelClassifier() stands for PseudoLabelClassifier(NBSVMClassifier()): set_params(estimator__C=...)
    and GridSearchCV over "estimator__C" stopped with "'NoneType' object has no attribute 'set_params'"."""
    docs, labels = imdb_tokens
    X = BagEncoder().fit_transform(docs[:200])
    y = np.asarray(labels[:200], dtype=object)
    y[60:160] = -1
    clf = PseudoLabelClassifier(random_state=0).set_params(estimator__C=0.1, fraction=0.5)
    assert isinstance(clf.estimator, NBSVMClassifier) and clf.estimator.C == 0.1 and clf.fraction == 0.5
    explicit = PseudoLabelClassifier(NBSVMClassifier(C=0.1), fraction=0.5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.fit(X, y).decision_function(X), explicit.decision_function(X))
    assert PseudoLabelClassifier().estimator is None  # the default itself is untouched
    search = GridSearchCV(PseudoLabelClassifier(random_state=0), {"estimator__C": [0.01, 0.1]},
                          cv=KFold(2, shuffle=True, random_state=0)).fit(X, y)
    assert search.best_params_["estimator__C"] in (0.01, 0.1)
    assert clone(search.best_estimator_).estimator.C == search.best_params_["estimator__C"]


def test_stack_takes_numpy_ngram_range_and_vectors_cs(split, glove_small, tmp_path):
    """A notebook grid of numpy values: ngram_range=(np.int64(1), np.int64(2)) (np.arange) was refused as "not a
    pair of ints" although TokenizedCorpus.ngrams takes it, and vectors_Cs=np.logspace(-3, 0, 4), the usual way to
    write LogisticRegressionCV's Cs, was refused as neither a list nor a tuple. Both fit what the Python values fit."""
    from toolkit.models import StackedTextClassifier, load_model, save_model

    X_train, y_train, X_test, _ = split
    X_train, y_train = X_train[:150], y_train[:150]
    common = {"vectors": str(glove_small), "cv": 2, "random_state": 0}
    plain = StackedTextClassifier(ngram_range=(1, 2), vectors_Cs=[0.001, 0.01, 0.1, 1.0], **common)
    plain.fit(X_train, y_train)
    grid = StackedTextClassifier(ngram_range=tuple(np.arange(1, 3)), vectors_Cs=np.logspace(-3, 0, 4), **common)
    grid.fit(X_train, y_train)
    np.testing.assert_allclose(grid.predict_proba(X_test[:50]), plain.predict_proba(X_test[:50]), rtol=1e-9)
    np.testing.assert_array_equal(clone(grid).get_params()["vectors_Cs"], grid.vectors_Cs)
    save_model(grid, tmp_path / "stack")
    np.testing.assert_array_equal(load_model(tmp_path / "stack").predict_proba(X_test[:50]),
                                  grid.predict_proba(X_test[:50]))
    for bad in (np.array([[0.1, 1.0]]), np.array([]), np.array([0.1, -1.0]), [0.1, float("nan")]):
        with pytest.raises(ValueError, match="'vectors_Cs' parameter"):
            StackedTextClassifier(vectors_Cs=bad, **common).fit(X_train, y_train)
    with pytest.raises(ValueError, match="'ngram_range' parameter"):
        StackedTextClassifier(ngram_range=(np.int64(2), np.int64(1)), **common).fit(X_train, y_train)


def test_stack_refuses_missing_or_mixed_groups(imdb_tokens200):
    """fit(groups=movies) with some movies unknown (None/NaN from a CSV): object groups stopped in scikit-learn's
    StratifiedGroupKFold with "'<' not supported between instances of 'str' and 'NoneType'", and float groups put
    every NaN document in one group, silently. Now a ValueError names the document and says what to do."""
    import pandas as pd

    from toolkit.models import StackedTextClassifier

    docs, labels = imdb_tokens200
    movies = np.array([f"tt{i // 3:07d}" for i in range(len(docs))], dtype=object)
    stack = StackedTextClassifier(vectors=None, cv=3, random_state=0)
    stack.fit(docs, labels, groups=movies)  # complete groups fit as before
    with_none, with_nan = movies.copy(), pd.Series(movies)
    with_none[[7, 9]] = None
    with_nan[[7, 9, 11]] = np.nan
    numbers = np.arange(len(docs)) // 3.0
    numbers[7] = np.nan
    for groups, n in ((with_none, 2), (with_nan, 3), (numbers, 1)):
        with pytest.raises(ValueError, match=rf"document 7 has (None|nan) \({n} of the 200 groups are missing"):
            clone(stack).fit(docs, labels, groups=groups)
    mixed = movies.copy()
    mixed[5] = 12
    with pytest.raises(ValueError, match="groups mixes values of types int, str"):
        clone(stack).fit(docs, labels, groups=mixed)


def test_stack_refuses_a_tokenizer_that_makes_ngrams(imdb_small):
    """make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), StackedTextClassifier()), as for NBSVM in the README,
    fitted silently on n-grams of n-grams ('movie a a 10'), a tail of the last bigrams and pooled bigrams."""
    from toolkit import SpacyTokenizer
    from toolkit.models import StackedTextClassifier

    texts, labels = imdb_small
    texts, labels = texts[:60], labels[:60]
    stack = StackedTextClassifier(vectors=None, tail_tokens=5, cv=2, random_state=0)
    with pytest.raises(ValueError, match=r"n-grams of n-grams.*SpacyTokenizer\(\) \(ngram_range=\(1, 1\)\) in front"):
        make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), clone(stack)).fit(texts, labels)
    words = make_pipeline(SpacyTokenizer(), clone(stack).set_params(ngram_range=(1, 2))).fit(texts, labels)
    names = words[-1].members_["ngrams"][0][:-1].get_feature_names_out()
    assert max(len(name.split(" ")) for name in names) == 2  # the stack's own 1-2-grams of the words

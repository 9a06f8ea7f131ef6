"""A researcher who must report results others can reproduce (session 41): PseudoLabelClassifier's
``random_state`` and NBSVMClassifier's independence from how the same data is given, on small real IMDB
samples with scikit-learn-only models (no Keras: the claims are not about it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from toolkit.models.naive_bayes import NBSVMClassifier
from toolkit.models.semi_supervised import PseudoLabelClassifier
from toolkit.models.stacking import StackedTextClassifier


@pytest.fixture(scope="module")
def counts(imdb_small):
    """300 real reviews as counts and their labels, the first 100 labelled ('neg'/'pos', object), -1 else."""
    texts, labels = imdb_small
    X = CountVectorizer(min_df=2).fit_transform(texts[:300])
    y = np.asarray(labels[:300], dtype=object)
    y[100:] = -1
    return X, y


@pytest.fixture(scope="module")
def tokens(imdb_tokens):
    """200 real reviews as token lists, the first 80 labelled ('neg'/'pos', object), -1 else."""
    docs, labels = imdb_tokens
    y = np.asarray(labels[:200], dtype=object)
    y[80:] = -1
    return docs[:200], y


@pytest.mark.slow
def test_reproducible_user_s41_random_state_seeds_an_unseeded_stack(tokens):
    """Before: PseudoLabelClassifier had no random_state (TypeError), and an unseeded StackedTextClassifier
    inside it (shuffled folds) gave a different model on each fit (probabilities 0.015 apart on 300 reviews).
    Now the wrapper's seed reaches it, as BaggingClassifier's reaches its base estimators: the same model on
    every fit and after clone; the estimator given is left unseeded, and another seed gives another model."""
    docs, y = tokens
    stack = StackedTextClassifier(vectors=None, cv=3)
    model = PseudoLabelClassifier(stack, random_state=0, n_rounds=2)
    first = model.fit(docs, y).predict_proba(docs)
    seed = model.estimator_.random_state
    assert isinstance(seed, int) and model.estimator.random_state is None  # the parameter is not touched
    np.testing.assert_array_equal(clone(model).fit(docs, y).predict_proba(docs), first)
    np.testing.assert_array_equal(PseudoLabelClassifier(stack, random_state=0, n_rounds=2).fit(docs, y)
                                  .predict_proba(docs), first)
    other = PseudoLabelClassifier(stack, random_state=1, n_rounds=2).fit(docs, y)
    assert other.estimator_.random_state != seed
    assert not np.array_equal(other.predict_proba(docs), first)
    # RandomState(0) afresh is the int 0's stream; a Generator is taken as the Keras models take it
    np.testing.assert_array_equal(PseudoLabelClassifier(stack, random_state=np.random.RandomState(0), n_rounds=2)
                                  .fit(docs, y).predict_proba(docs), first)
    gen = PseudoLabelClassifier(stack, random_state=np.random.default_rng(0), n_rounds=2).fit(docs, y)
    assert isinstance(gen.estimator_.random_state, int)


def test_reproducible_user_s41_a_seeded_estimator_is_left_as_it_is(tokens, counts):
    """The benchmarked configurations (bench_learning_curve's stacks, bench_imdb's NBSVM) seed their inner
    estimator: any wrapper seed, or none, fits bit for bit the model the wrapper fitted before it had one
    (measured against the code before this session: the same digests with n_rounds 1 and 2). In a Pipeline
    only the unseeded steps get a seed."""
    docs, y = tokens
    seeded = StackedTextClassifier(vectors=None, cv=3, random_state=0)
    base = PseudoLabelClassifier(seeded).fit(docs, y).predict_proba(docs)
    for random_state in (0, 7):
        model = PseudoLabelClassifier(seeded, random_state=random_state).fit(docs, y)
        assert model.estimator_.random_state == 0
        np.testing.assert_array_equal(model.predict_proba(docs), base)
    X, y_counts = counts
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = Pipeline([("keep", FunctionTransformer(accept_sparse=True)),
                     ("lr", LogisticRegression(solver="liblinear", random_state=3))])
    fitted = PseudoLabelClassifier(pipe, random_state=0).fit(X, y_counts).estimator_
    assert fitted.get_params()["lr__random_state"] == 3
    nb = make_pipeline(FunctionTransformer(accept_sparse=True), NBSVMClassifier())
    fitted = PseudoLabelClassifier(nb, random_state=0).fit(X, y_counts).estimator_
    assert isinstance(fitted.get_params()["nbsvmclassifier__random_state"], int)
    assert nb.get_params()["nbsvmclassifier__random_state"] is None


_FRESH = r"""
import json, sys
import numpy as np
import scipy.sparse as sp
from toolkit.models.semi_supervised import PseudoLabelClassifier
data = np.load(sys.argv[1], allow_pickle=True)
X = sp.csr_matrix((data["data"], data["indices"], data["indptr"]), shape=tuple(data["shape"]))
y = data["y"]
print(json.dumps(PseudoLabelClassifier(random_state=0).fit(X, y).decision_function(X).tolist()))
"""


def test_reproducible_user_s41_default_nbsvm_same_in_a_fresh_process_a_grid_and_after_loading(counts, tmp_path):
    """The default estimator, NBSVMClassifier(), is unseeded (liblinear's random order: decision values 5e-7
    apart between fits). With random_state=0 on the wrapper: the same bits on each fit, in a fresh Python
    process (another PYTHONHASHSEED), inside GridSearchCV with n_jobs 1 and 2, and after save_model /
    load_model (a pipeline with the tokenizer's stand-in, CountVectorizer)."""
    X, y = counts
    model = PseudoLabelClassifier(random_state=0)
    scores = model.fit(X, y).decision_function(X)
    np.testing.assert_array_equal(PseudoLabelClassifier(random_state=0).fit(X, y).decision_function(X), scores)

    X = X.tocsr()
    np.savez(tmp_path / "data.npz", data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape),
             y=y)
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    env.pop("TOOLKIT_DATA_DIR", None)
    result = subprocess.run([sys.executable, "-c", _FRESH, str(tmp_path / "data.npz")], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.asarray(json.loads(result.stdout)), scores)

    grids = [GridSearchCV(PseudoLabelClassifier(random_state=0), {"fraction": [0.5, 1.0]},
                          cv=KFold(3, shuffle=True, random_state=0), n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2)]
    np.testing.assert_array_equal(grids[0].cv_results_["mean_test_score"], grids[1].cv_results_["mean_test_score"])
    np.testing.assert_array_equal(grids[0].decision_function(X), grids[1].decision_function(X))


def test_reproducible_user_s41_saved_seeded_wrapper_loads_with_its_seed(imdb_small, counts, tmp_path):
    """save_model / load_model keep the wrapper's random_state: the loaded model predicts the same and a
    refit of its clone fits the same model again."""
    from toolkit.models.persistence import load_model, save_model

    texts, _ = imdb_small
    _, y = counts
    pipe = make_pipeline(CountVectorizer(min_df=2), PseudoLabelClassifier(random_state=0)).fit(texts[:300], y)
    loaded = load_model(save_model(pipe, tmp_path / "model"))
    assert loaded[-1].get_params()["random_state"] == 0
    np.testing.assert_array_equal(loaded.decision_function(texts[:300]), pipe.decision_function(texts[:300]))
    np.testing.assert_array_equal(clone(loaded).fit(texts[:300], y).decision_function(texts[:300]),
                                  pipe.decision_function(texts[:300]))


def test_reproducible_user_s41_random_state_refused_clearly():
    with pytest.raises(ValueError, match=r"The 'random_state' parameter of PseudoLabelClassifier must be an int, "
                                         r"a numpy RandomState or None\. Got 'zero' instead"):
        PseudoLabelClassifier(random_state="zero").fit(np.ones((4, 2)), np.array([0, 1, -1, -1]))


def test_reproducible_user_s41_tags_say_a_seeded_wrapper_is_deterministic():
    """An unseeded Keras model is tagged non-deterministic; the wrapper's int seed seeds it, so the wrapper's
    tag follows (a RandomState instance, drawn from anew on each fit, does not)."""
    from toolkit.models.classifier import EmbeddingClassifier

    assert PseudoLabelClassifier(EmbeddingClassifier()).__sklearn_tags__().non_deterministic
    assert not PseudoLabelClassifier(EmbeddingClassifier(), random_state=0).__sklearn_tags__().non_deterministic
    assert PseudoLabelClassifier(EmbeddingClassifier(),
                                 random_state=np.random.RandomState(0)).__sklearn_tags__().non_deterministic


@pytest.fixture(scope="module")
def counts600(imdb_small, imdb_small_ratings):
    """All 600 reviews as counts, their 'neg'/'pos' labels and their stars."""
    texts, labels = imdb_small
    return CountVectorizer(min_df=2).fit_transform(texts).tocsr(), np.asarray(labels), imdb_small_ratings


@pytest.mark.parametrize("target", ["sentiment", "stars"])
def test_reproducible_user_s41_shuffling_the_unlabelled_reviews_keeps_the_same_pseudo_labels(counts600, target):
    """MultinomialNB gives many long reviews a probability of exactly 1.0; with fraction=0.05 the cut fell
    among them, so which were kept followed their order in X. Before: shuffling the 500 unlabelled reviews
    changed the kept set by 22 reviews and 23 of 600 predictions (probabilities up to 0.999 apart). Now the
    tied ones are ranked by their log-probability margin, which does not saturate."""
    from sklearn.naive_bayes import MultinomialNB

    X, labels, stars = counts600
    y = np.asarray(labels if target == "sentiment" else stars, dtype=object)
    y[100:] = -1
    proba = MultinomialNB().fit(X[:100], y[:100].astype(str)).predict_proba(X[100:])
    assert (proba.max(axis=1) == 1.0).mean() > 0.05  # the ties the cut falls among
    perm = np.r_[np.arange(100), 100 + np.random.RandomState(2).permutation(500)]
    model = PseudoLabelClassifier(MultinomialNB(), fraction=0.05).fit(X, y)
    shuffled = PseudoLabelClassifier(MultinomialNB(), fraction=0.05).fit(X[perm], y[perm])
    np.testing.assert_array_equal(shuffled.pseudo_labels_, model.pseudo_labels_[perm])
    np.testing.assert_array_equal(shuffled.predict_proba(X), model.predict_proba(X))


def _split_entries(X):
    """The same counts as a CSR matrix that stores each cell as two entries of half its count (what a CSR
    matrix built from (data, indices, indptr) with repeated column indices holds)."""
    X = X.tocsr()
    X.sort_indices()
    n_per_row = np.diff(X.indptr)
    data = np.repeat(X.data.astype(np.float64) / 2, 2)
    indices = np.repeat(X.indices, 2)
    split = sp.csr_matrix((data, indices, np.r_[0, np.cumsum(2 * n_per_row)]), shape=X.shape)
    assert not split.has_canonical_format and abs(split - X).max() == 0
    return split


@pytest.mark.parametrize("params", [{}, {"binarize": False, "norm": "l2", "C": 1.0}, {"loss": "log_loss"}],
                         ids=["default", "counts-l2", "log_loss"])
def test_reproducible_user_s41_nbsvm_same_counts_stored_twice_fit_the_same_model(counts600, params):
    """Before: each stored entry was binarized on its own, so a cell stored as two entries counted 2: the same
    counts fitted another model (decision values 0.20 apart on 200 reviews, 0.48 with log_loss; 0.13 with
    norm='l2' on counts, which took each entry's square) and scored differently. Now repeated entries are summed first (on a copy:
    the caller's matrix is left as it was)."""
    from toolkit.models.naive_bayes import NBFeatureScaler, log_count_ratio

    X, labels, _ = counts600
    X, labels = X[:200], labels[:200]
    split = _split_entries(X)
    model = NBSVMClassifier(random_state=0, **params).fit(X, labels)
    np.testing.assert_array_equal(NBSVMClassifier(random_state=0, **params).fit(split, labels).decision_function(X),
                                  model.decision_function(X))
    np.testing.assert_allclose(model.decision_function(split), model.decision_function(X), rtol=0, atol=1e-12)
    assert not split.has_canonical_format
    np.testing.assert_array_equal(NBFeatureScaler().fit(split, labels).transform(split).toarray(),
                                  NBFeatureScaler().fit(X, labels).transform(X).toarray())
    np.testing.assert_array_equal(log_count_ratio(split, labels), log_count_ratio(X, labels))

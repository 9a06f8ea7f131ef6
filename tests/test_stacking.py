"""StackedTextClassifier: NBSVM n-grams + pooled word vectors, stacked; on real IMDB reviews and GloVe rows."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from toolkit import StackedTextClassifier
from toolkit.exceptions import DataError, VectorsFormatError
from toolkit.models import PseudoLabelClassifier, save_model
from toolkit.text import SpacyTokenizer, TokenizedCorpus

from conftest import load_and_predict_in_fresh_process

ROOT = Path(__file__).resolve().parents[1]
# vectors_Cs: the two smallest of vectors_Cs=4's Cs (np.logspace(-4, 4, 4)); 118 of the 129 vector-member fits of
# this file and test_clusters.py picked one of them (measured in the thirty-fourth session). lbfgs takes hundreds
# of iterations at the other two (21.5 and 10,000): with multithreaded BLAS, most of a vector-member stack's fit
FAST = dict(cv=3, vectors_Cs=(1e-4, 0.046415888336127774), random_state=0)


@pytest.fixture(scope="module")
def fitted(split, glove_small):
    X, y, _, _ = split
    return StackedTextClassifier(vectors=str(glove_small), **FAST).fit(X, y)


@pytest.fixture(scope="module")
def ablation(split):
    X, y, _, _ = split
    return StackedTextClassifier(vectors=None, **FAST).fit(X, y)


def test_stacking_fit_predict_proba(fitted, split):
    _, _, X_val, y_val = split
    assert fitted.classes_.tolist() == ["neg", "pos"]
    assert fitted.member_names_ == ["ngrams", "vectors"]
    assert fitted.score(X_val, y_val) > 0.72
    proba = fitted.predict_proba(X_val)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    scores = fitted.decision_function(X_val)
    np.testing.assert_array_equal(fitted.classes_[(scores > 0).astype(int)], fitted.predict(X_val))
    # a TokenizedCorpus gives the same predictions as the token lists
    np.testing.assert_array_equal(fitted.predict(TokenizedCorpus.from_token_lists(X_val)), fitted.predict(X_val))
    assert fitted.member_scores(X_val).shape == (200, 2)


def test_stacking_vector_member_carries_weight(fitted, ablation, split):
    _, _, X_val, y_val = split
    # the meta-learner's weight on the (standardized) vector score is far from 0 ...
    assert fitted.member_weights_["vectors"] > 0.15
    assert fitted.member_weights_["ngrams"] > 0.15
    # ... and removing the member changes predictions
    assert ablation.member_names_ == ["ngrams"]
    changed = np.mean(fitted.predict(X_val) != ablation.predict(X_val))
    assert changed > 0.02
    # zeroing the vector member's score (its training mean after standardization) moves every probability
    meta = fitted.meta_
    scores = fitted.member_scores(X_val)
    neutral = scores.copy()
    neutral[:, 1] = meta.named_steps["scale"].mean_[1]
    moved = np.abs(meta.predict_proba(scores)[:, 1] - meta.predict_proba(neutral)[:, 1])
    assert np.median(moved) > 0.01


def test_stacking_clone_and_pickle_keep_vectors_out(fitted, glove_small):
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "meta_") and not hasattr(twin, "members_")
    blob = pickle.dumps(clone(StackedTextClassifier(vectors="word2vec:unsup:train=0")))
    assert len(blob) < 5000  # an unfitted estimator is its parameters only
    assert b"KeyedVectors" not in pickle.dumps(fitted)  # never the whole vectors, only the vocabulary's rows


def test_stacking_grid_search_over_pooling(split, glove_small):
    X, y, X_val, y_val = split
    grid = GridSearchCV(StackedTextClassifier(vectors=str(glove_small), **FAST),
                        {"pooling": ["sif", "mean"]}, cv=2).fit(X[:300], y[:300])
    assert grid.best_params_["pooling"] in ("sif", "mean")
    assert len(grid.cv_results_["mean_test_score"]) == 2
    assert grid.score(X_val, y_val) > 0.7


@pytest.fixture(scope="module")
def text_pipe(imdb_small, glove_small):
    """A raw-text pipeline (spaCy tokens, then a stack with GloVe) fitted on 300 real reviews; the two
    fresh-process tests below read it and do not change it."""
    texts, labels = imdb_small
    return make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors=str(glove_small), **FAST)).fit(
        texts[:300], labels[:300])


def test_stacking_in_pipeline_round_trips_in_a_fresh_process(imdb_small, text_pipe, tmp_path):
    texts, _ = imdb_small
    pipe = text_pipe
    expected = pipe.predict_proba(texts[400:450])
    joblib.dump(pipe, tmp_path / "pipe.joblib")  # pickle: trusted files only
    (tmp_path / "texts.json").write_text(json.dumps(texts[400:450]))
    script = (
        "import json, sys, joblib, numpy as np\n"
        "pipe = joblib.load(sys.argv[1])\n"
        "np.save(sys.argv[3], pipe.predict_proba(json.load(open(sys.argv[2]))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "pipe.joblib"),
                             str(tmp_path / "texts.json"), str(tmp_path / "p.npy")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected)


def test_stacking_save_model_load_model_in_a_fresh_process(imdb_small, text_pipe, tmp_path):
    texts, _ = imdb_small
    pipe = text_pipe
    path = save_model(pipe, tmp_path / "stack")
    assert (path / "model.skops").is_file()
    proba, printed = load_and_predict_in_fresh_process(path, texts[400:450], tmp_path)
    assert "StackedTextClassifier" in printed
    np.testing.assert_allclose(proba, pipe.predict_proba(texts[400:450]))


def test_stacking_loaded_nbsvm_pp_member_predicts_without_keras(two_ngram_stack, split, tmp_path):
    """load_model of a stack with a Keras NBSVM++ member (STACK_MANY_JOB's) imported TensorFlow to rebuild a
    model its numpy prediction never calls: 3 of the saved recipe's 15 s of loading and 0.5 GB. In a fresh
    process the loaded stack must predict the same without importing Keras. (The stack that
    test_stacking_two_ngram_members checks, fitted once for both: a stack of its own cost ~5 CPU s of fits.)"""
    _, _, X_val, _ = split
    stack = two_ngram_stack
    proba, printed = load_and_predict_in_fresh_process(save_model(stack, tmp_path / "stack"), X_val[:50], tmp_path)
    np.testing.assert_allclose(proba, stack.predict_proba(X_val[:50]), rtol=1e-6, atol=1e-7)
    assert "'ngrams_nbsvm'" in printed and "keras imported: False" in printed


def test_stacking_domain_vectors_as_a_parameter(split):
    X, y, X_val, y_val = split
    unlabelled = tuple(" ".join(doc) for doc in X_val)  # any texts the user names; here held-out reviews
    spec = ("word2vec", unlabelled, "dim=16,epochs=3,min_count=2,train=0")
    clf = StackedTextClassifier(vectors=spec, **FAST).fit(X, y)
    assert clf.vectors is spec  # stored unchanged
    assert clf.members_["vectors"][0][0].embedding_matrix_.shape[1] == 16
    assert clf.score(X_val, y_val) > 0.7


def test_stacking_empty_unlabelled_source_is_a_clear_error(split, tmp_path):
    X, y, _, _ = split
    with pytest.raises(DataError, match=r"unlabelled texts of the 'vectors' domain spec are empty"):
        StackedTextClassifier(vectors=("word2vec", ("  ", "")), **FAST).fit(X, y)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty\.txt' holds no text \(every line is blank\)"):
        StackedTextClassifier(vectors=f"word2vec:{empty}", **FAST).fit(X, y)


def test_stacking_vectors_dimension_mismatch_is_a_clear_error(split, glove_small, tmp_path):
    X, y, _, _ = split
    lines = Path(glove_small).read_text(encoding="utf-8").splitlines()[:100]
    lines[2] = " ".join(lines[2].split()[:-1])  # 49 values in a 50-dimension file
    bad = tmp_path / "bad.50d.txt"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(VectorsFormatError, match=r"bad\.50d\.txt, line 3: the line for .* has 49 values, expected 50"):
        StackedTextClassifier(vectors=str(bad), **FAST).fit(X, y)


@pytest.mark.parametrize("params, message", [
    ({"ngram_range": (2, 1)}, r"'ngram_range' parameter of StackedTextClassifier must be a pair of ints"),
    ({"vectors_Cs": []}, r"'vectors_Cs' parameter of StackedTextClassifier must be an int >= 1 or a non-empty"),
    ({"cv": 1}, r"'cv' parameter of StackedTextClassifier must be"),
    ({"pooling": "median"}, r"'pooling' parameter of StackedTextClassifier must be"),
])
def test_stacking_bad_parameters(split, params, message):
    X, y, _, _ = split
    with pytest.raises(ValueError, match=message):
        StackedTextClassifier(vectors=None, **params).fit(X, y)


def test_stacking_rejects_raw_text(split):
    _, y, _, _ = split
    with pytest.raises(ValueError, match=r"expects a sequence of token lists for X, got str\. Tokenize first"):
        StackedTextClassifier(vectors=None).fit("a raw string", y)
    with pytest.raises(ValueError, match=r"document 0 of X is a raw string\. Tokenize first"):
        StackedTextClassifier(vectors=None).fit(["a review", "another"], y[:2])


def test_stacking_self_training_with_unlabelled_reviews(split, glove_small):
    X, y, X_val, y_val = split
    # 200 labelled reviews + 200 unlabelled ones (label -1): pseudo-labels feed both members
    labels = np.asarray(y, dtype=object).copy()
    labels[200:] = -1
    model = PseudoLabelClassifier(StackedTextClassifier(vectors=str(glove_small), **FAST), fraction=0.5)
    model.fit(TokenizedCorpus.from_token_lists(X), labels)
    assert model.n_pseudo_labelled_ in (100, 101)  # half of each predicted class, rounded up
    assert set(model.classes_) == {"neg", "pos"}
    pseudo = model.pseudo_labels_[200:]
    kept = pseudo != -1
    assert np.mean(pseudo[kept] == y[200:][kept]) > 0.75  # the surest half is mostly right
    assert model.score(X_val, y_val) > 0.7


def test_stacking_keras_nbsvm_member(split, glove_small):
    X, y, X_val, y_val = split
    clf = StackedTextClassifier(vectors=str(glove_small), ngram_model="nbsvm++", **FAST).fit(X, y)
    ngram_member = clf.members_["ngrams"][0][-1]
    assert type(ngram_member).__name__ == "EmbeddingClassifier" and ngram_member.architecture == "nbsvm"
    assert clf.score(X_val, y_val) > 0.72
    assert clf.member_weights_["vectors"] > 0.1


@pytest.fixture(scope="module")
def two_ngram_stack(split, glove_small):
    """A stack with a Keras NBSVM++ and an NBSVM n-gram member and GloVe, fitted on the 400 training reviews;
    the tests that read it do not change it."""
    X, y, _, _ = split
    return StackedTextClassifier(vectors=str(glove_small), ngram_model=("nbsvm++", "nbsvm"), **FAST).fit(X, y)


def test_stacking_two_ngram_members(split, two_ngram_stack):
    """ngram_model=("nbsvm++", "nbsvm"): one n-gram member per model, each with its own weight."""
    X, y, X_val, y_val = split
    clf = two_ngram_stack
    assert clf.member_names_ == ["ngrams", "ngrams_nbsvm", "vectors"]
    kinds = [type(clf.members_[name][0][-1]).__name__ for name in clf.member_names_[:2]]
    assert kinds == ["EmbeddingClassifier", "NBSVMClassifier"]
    scores = clf.member_scores(X_val)
    assert scores.shape == (200, 3)
    assert np.corrcoef(scores[:, 0], scores[:, 1])[0, 1] < 0.999  # two different models, not one twice
    assert clf.score(X_val, y_val) > 0.72
    for bad in [(), ("nbsvm", "nbsvm"), ("nbsvm", "svm")]:
        with pytest.raises(ValueError, match=r"'ngram_model' parameter of StackedTextClassifier must be 'nbsvm', "
                                             r"'nbsvm\+\+' or a tuple of distinct ones"):
            StackedTextClassifier(vectors=None, ngram_model=bad).fit(X, y)


def test_stacking_doc_vector_member(split, ablation, tmp_path, monkeypatch):
    """doc_vectors= adds a paragraph-vector member whose doc model is trained on the named text only."""
    from toolkit.vectors import docvec

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docvec.clear_memo()
    X, y, X_val, y_val = split
    unlabelled = tuple(" ".join(doc) for doc in X)  # the training texts, as a user's unlabelled source
    clf = StackedTextClassifier(vectors=None, doc_vectors=unlabelled, **FAST).fit(X, y)
    assert clf.member_names_ == ["ngrams", "docvec"]
    assert clf.member_scores(X_val).shape == (200, 2)
    assert clf.score(X_val, y_val) > 0.7
    assert clf.member_weights_["docvec"] != 0.0
    # one cached doc model, shared by the out-of-fold fits and the final one
    assert len(list((tmp_path / "cache" / "doc_vectors").iterdir())) == 1
    # the doc model stays out of the pickle (only the unlabelled texts the user passed travel)
    extra = len(pickle.dumps(clf)) - len(pickle.dumps(ablation)) - len(pickle.dumps(unlabelled))
    assert extra < 200_000  # the member's scaler and LR, and the memo key: no model arrays
    assert clone(clf).get_params()["doc_vectors"] == unlabelled
    docvec.clear_memo()


def test_stacking_n_jobs_none_runs_nested_work_in_this_process(split, glove_small):
    """Inside an active joblib backend (a grid search on Dask or loky), n_jobs=None dispatches nothing.

    Before the fix the stack's out-of-fold fits and LogisticRegressionCV's folds went to the active
    backend; joblib's Dask backend ignores n_jobs=1 (it uses every worker), which the counting
    backend imitates, so under Dask every one became a scheduler task shipping its data.
    """
    from joblib import parallel_config, register_parallel_backend
    from joblib._parallel_backends import ThreadingBackend

    dispatched = []

    class CountingBackend(ThreadingBackend):
        def effective_n_jobs(self, n_jobs):  # as joblib's Dask backend: every worker, whatever n_jobs says
            return 2

        def submit(self, func, callback=None):
            dispatched.append(func)
            return super().submit(func, callback=callback)

    register_parallel_backend("toolkit-counting", CountingBackend)
    X, y, X_val, _ = split
    with parallel_config(backend="toolkit-counting", n_jobs=2):
        clf = StackedTextClassifier(vectors=str(glove_small), **FAST).fit(X, y)
        assert dispatched == []
        StackedTextClassifier(vectors=None, n_jobs=2, **FAST).fit(X, y)  # an explicit n_jobs still parallel
    assert dispatched
    assert clf.predict(X_val).shape == (200,)


def _sklearn_stack(clf, X, y):
    """scikit-learn's StackingClassifier over the same members, folds and meta-learner as ``clf``."""
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils import check_random_state

    seed = check_random_state(clf.random_state).randint(np.iinfo(np.int32).max)
    final = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=clf.final_C, max_iter=1000))])
    return StackingClassifier(estimators=clf._members(seed), final_estimator=final, stack_method="decision_function",
                              cv=StratifiedKFold(n_splits=clf.cv, shuffle=True, random_state=seed)).fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_stacking_refit_matches_scikit_learns_stacking_classifier(split, glove_small, fitted, n_classes):
    """predict_with="refit" is stacked generalization exactly as sklearn's StackingClassifier computes it."""
    X, y, X_val, _ = split
    if n_classes == 3:  # a third class from the real reviews: the longest third of each label
        lengths = np.array([len(doc) for doc in X])
        y = np.where(lengths > np.quantile(lengths, 2 / 3), "long", y)
    # two classes: the module's `fitted` stack (the same parameters and data), not a second fit of it
    clf = fitted if n_classes == 2 else StackedTextClassifier(vectors=str(glove_small), **FAST).fit(X, y)
    ref = _sklearn_stack(clf, X, y)
    np.testing.assert_array_equal(clf.classes_, ref.classes_)
    np.testing.assert_allclose(clf.member_scores(X_val), ref.transform(X_val), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(clf.predict_proba(X_val), ref.predict_proba(X_val), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(clf.predict(X_val), ref.predict(X_val))
    assert clf.member_scores(X_val).shape == (200, 2 if n_classes == 2 else 6)
    assert [len(models) for models in clf.members_.values()] == [1, 1]


def test_stacking_predict_with_folds_scores_with_the_mean_of_the_fold_fits(split, glove_small, fitted):
    X, y, X_val, y_val = split
    folds = StackedTextClassifier(vectors=str(glove_small), predict_with="folds", **FAST).fit(X, y)
    # the same out-of-fold scores, so the same meta-learner as the refit stack ...
    np.testing.assert_allclose(folds.meta_[-1].coef_, fitted.meta_[-1].coef_)
    # ... but new documents are scored by the cv fold fits, averaged, and no refit is kept
    assert {name: len(models) for name, models in folds.members_.items()} == {"ngrams": 3, "vectors": 3}
    mean = np.column_stack([np.mean([m.decision_function(X_val) for m in folds.members_[name]], axis=0)
                            for name in ("ngrams", "vectors")])
    np.testing.assert_allclose(folds.member_scores(X_val), mean)
    assert not np.allclose(folds.member_scores(X_val), fitted.member_scores(X_val))
    np.testing.assert_array_equal(folds.predict(X_val), folds.meta_.predict(mean))
    assert folds.score(X_val, y_val) > 0.72
    with pytest.raises(ValueError, match=r"'predict_with' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(vectors=None, predict_with="mean").fit(X, y)


def test_stacking_neighbors_member(split, glove_small, tmp_path):
    """neighbors=k: a distance-weighted k-nearest-neighbours vote over the L2-normalized pooled vectors, read as
    log-odds; its scores are scikit-learn's KNeighborsClassifier's on the same features; saved and loaded back."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import normalize

    from toolkit.models.stacking import NeighborVote
    from toolkit.vectors.pooling import EmbeddingVectorizer

    X, y, X_val, y_val = split
    clf = StackedTextClassifier(vectors=str(glove_small), neighbors=15, **FAST).fit(X, y)
    assert clf.member_names_ == ["ngrams", "vectors", "neighbors"]
    assert clf.score(X_val, y_val) > 0.72 and clf.member_weights_["neighbors"] != 0
    pool = EmbeddingVectorizer(vectors=str(glove_small), pooling="sif").fit(X)
    knn = KNeighborsClassifier(n_neighbors=15, weights="distance", algorithm="brute").fit(normalize(pool.transform(X)), y)
    shares = np.clip(knn.predict_proba(normalize(pool.transform(X_val))), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(clf.member_scores(X_val)[:, 2], np.log(shares[:, 1] / shares[:, 0]), rtol=1e-5)
    # more than two classes: one log-share column per class
    three = NeighborVote(n_neighbors=5).fit(np.eye(6), [0, 0, 1, 1, 2, 2])
    assert three.decision_function(np.eye(6)).shape == (6, 3)
    # fewer training documents than n_neighbors (a fold of a small fit): all of them vote
    few = NeighborVote(n_neighbors=300, weights="distance").fit(np.array([[0.0], [1.0], [3.0]]), [0, 1, 1])
    np.testing.assert_allclose(few.decision_function(np.array([[0.5]])), [np.log((1 / 0.5 + 1 / 2.5) / (1 / 0.5))])
    # neighbors_dims: the search in the first principal components of the normalized vectors (at most as
    # many as the documents and dimensions give: no error where a small fold or small vectors have fewer)
    from sklearn.decomposition import PCA

    reduced = StackedTextClassifier(vectors=str(glove_small), neighbors=15, neighbors_dims=4, **FAST).fit(X, y)
    pca = PCA(n_components=4, svd_solver="full").fit(normalize(pool.transform(X)))
    knn4 = clone(knn).fit(pca.transform(normalize(pool.transform(X))), y)
    shares = np.clip(knn4.predict_proba(pca.transform(normalize(pool.transform(X_val)))), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(reduced.member_scores(X_val)[:, 2], np.log(shares[:, 1] / shares[:, 0]), rtol=1e-5,
                               atol=1e-5)
    wide = StackedTextClassifier(vectors=str(glove_small), neighbors=15, neighbors_dims=10_000, **FAST).fit(X, y)
    n_dims = pool.transform(X[:1]).shape[1]
    assert wide.members_["neighbors"][0].named_steps["pca"].pca_.n_components_ == n_dims
    # the ablation drops it with the other vector members
    assert StackedTextClassifier(vectors=None, neighbors=15).set_params(**FAST)._members(0)[-1][0] == "ngrams"
    with pytest.raises(ValueError, match=r"'neighbors' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(vectors=None, neighbors=0).fit(X, y)

    # saved and loaded in a fresh process: the stack fitted above (a pipeline around it, refitted on raw texts,
    # saved the same member at the cost of a second fit)
    proba, names = load_and_predict_in_fresh_process(save_model(clf, tmp_path / "stack"), X_val[:50], tmp_path)
    np.testing.assert_allclose(proba, clf.predict_proba(X_val[:50]))
    assert "'neighbors'" in names


def test_stacking_tail_member_sees_only_the_ending(split, tmp_path):
    """tail_tokens=k: an NBSVM member on the n-grams of each document's last k tokens: its scores are those of
    the same NBSVM fitted on the endings alone, they do not move when the beginning changes, and it is saved."""
    from toolkit.models import NBSVMClassifier
    from toolkit.models.stacking import word_ngrams
    from toolkit.text.encoders import BagEncoder

    X, y, X_val, y_val = split
    clf = StackedTextClassifier(vectors=None, tail_tokens=30, **FAST).fit(X, y)
    assert clf.member_names_ == ["ngrams", "tail"]
    assert clf.score(X_val, y_val) > 0.72 and clf.member_weights_["tail"] != 0
    endings = [doc[-30:] for doc in X]
    bag = BagEncoder(output_mode="multi_hot").fit(word_ngrams(endings))
    nbsvm = NBSVMClassifier(C=0.01, random_state=clf.members_["tail"][0][-1].random_state)
    nbsvm.fit(bag.transform(word_ngrams(endings)), y)
    val_endings = [doc[-30:] for doc in X_val]
    np.testing.assert_allclose(clf.member_scores(X_val)[:, 1],
                               nbsvm.decision_function(bag.transform(word_ngrams(val_endings))), rtol=1e-6, atol=1e-8)
    # a different beginning leaves the tail member's score alone and moves the whole-document member's
    edited = [["awful", "dreadful", "worst"] * 20 + doc[-30:] for doc in X_val[:20]]
    before, after = clf.member_scores(X_val[:20]), clf.member_scores(edited)
    np.testing.assert_allclose(after[:, 1], before[:, 1])
    assert np.all(after[:, 0] != before[:, 0])
    # documents shorter than the tail are kept whole, an empty one scores like any document without n-grams
    assert np.isfinite(clf.member_scores([["fine"], []])).all()
    with pytest.raises(ValueError, match=r"'tail_tokens' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(vectors=None, tail_tokens=0).fit(X, y)

    # saved and loaded in a fresh process: the stack fitted above (not a second one around a tokenizer)
    proba, names = load_and_predict_in_fresh_process(save_model(clf, tmp_path / "stack"), X_val[:50], tmp_path)
    np.testing.assert_allclose(proba, clf.predict_proba(X_val[:50]))
    assert "'tail'" in names


def test_stacking_mark_negation_feeds_the_ngram_members_marked_tokens(split, glove_small, monkeypatch):
    """mark_negation=True: the n-gram members (whole documents and tail) score exactly as NBSVM fitted on
    negation-marked tokens, the vector member reads the plain tokens, and prediction marks the documents once."""
    from toolkit.models import NBSVMClassifier
    from toolkit.models.stacking import word_ngrams
    from toolkit.text import negation
    from toolkit.text.encoders import BagEncoder

    X, y, X_val, y_val = split
    clf = StackedTextClassifier(vectors=str(glove_small), mark_negation=True, tail_tokens=20, **FAST).fit(X, y)
    plain = StackedTextClassifier(vectors=str(glove_small), tail_tokens=20, **FAST).fit(X, y)
    assert clf.member_names_ == ["ngrams", "tail", "vectors"]
    assert clf.score(X_val, y_val) > 0.72
    marker = clf.members_["ngrams"][0].steps[0][1]
    assert type(marker).__name__ == "NegationMarker" and clf.members_["tail"][0].steps[0][1] is marker
    assert "negation" not in clf.members_["vectors"][0].named_steps
    seed = clf.members_["ngrams"][0][-1].random_state
    for column, cut in ((0, None), (1, 20)):
        fit_docs = [doc[-cut:] if cut else doc for doc in negation.mark_negation(X)]
        val_docs = [doc[-cut:] if cut else doc for doc in negation.mark_negation(X_val)]
        bag = BagEncoder(output_mode="multi_hot").fit(word_ngrams(fit_docs))
        nbsvm = NBSVMClassifier(C=0.01, random_state=seed).fit(bag.transform(word_ngrams(fit_docs)), y)
        np.testing.assert_allclose(clf.member_scores(X_val)[:, column],
                                   nbsvm.decision_function(bag.transform(word_ngrams(val_docs))), rtol=1e-6, atol=1e-8)
    # the vector member is the unmarked stack's
    np.testing.assert_allclose(clf.member_scores(X_val)[:, 2], plain.member_scores(X_val)[:, 2])
    assert np.any(clf.member_scores(X_val)[:, 0] != plain.member_scores(X_val)[:, 0])
    calls = []
    real = negation.mark_negation
    monkeypatch.setattr(negation, "mark_negation", lambda *a, **k: calls.append(1) or real(*a, **k))
    clf.predict(X_val)
    assert len(calls) == 1
    with pytest.raises(ValueError, match=r"'mark_negation' parameter of StackedTextClassifier must be"):
        StackedTextClassifier(vectors=None, mark_negation="yes").fit(X, y)


def test_neighbor_vote_sampled_bound_is_exact():
    """_smallest (the k smallest of each row, bounded through a sample of columns) returns argpartition's set,
    also for rows the sample misleads (fewer than k values under its bound: the whole row is partitioned);
    on a fit large enough to take that path, NeighborVote's neighbours and vote are scikit-learn's."""
    from sklearn.neighbors import KNeighborsClassifier

    from toolkit.models import stacking

    rng = np.random.default_rng(1)
    n, k = 6 * stacking._SAMPLE, 40
    d2 = rng.standard_normal((30, n)).astype(np.float32)
    sampled = np.linspace(0, n - 1, stacking._SAMPLE).astype(np.intp)
    d2[:3] = 10.0  # rows where the sampled columns are the smallest values: the bound keeps too few
    d2[:3, sampled] = rng.uniform(0, 1, (3, sampled.size))
    d2[3, :] = 0.5  # a row of ties
    chosen = stacking._smallest(d2, k)
    assert chosen.shape == (30, k)
    kth = np.partition(d2, k - 1, axis=1)[:, k - 1:k]
    assert np.all(np.take_along_axis(d2, chosen, axis=1) <= kth)  # the k smallest values (ties: any of them)
    assert all(len(set(row)) == k for row in chosen.tolist())
    np.testing.assert_array_equal(np.sort(chosen[4:], axis=1), np.sort(np.argpartition(d2[4:], k - 1, axis=1)[:, :k], axis=1))

    fit_X = rng.standard_normal((n, 20)).astype(np.float32)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((300, 20)).astype(np.float32)
    ours = stacking.NeighborVote(n_neighbors=k, weights="distance", algorithm="brute").fit(fit_X, y)
    theirs = KNeighborsClassifier(n_neighbors=k, weights="distance", algorithm="brute").fit(fit_X, y)
    np.testing.assert_array_equal(ours.kneighbors(X)[1], theirs.kneighbors(X)[1])
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-5)
    uniform = clone(ours).set_params(weights="uniform").fit(fit_X, y)
    np.testing.assert_allclose(uniform.predict_proba(X), clone(theirs).set_params(weights="uniform").fit(fit_X, y)
                               .predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_neighbor_vote_fast_search_is_scikit_learns(dtype):
    """The NeighborVote search for new dense documents (matrix product + argpartition) finds scikit-learn's
    neighbours at its distances, in blocks of any size; a duplicate of a training row is at distance 0 (float32
    cancellation would leave it at about 1e-3) and decides the vote; n_jobs=2 searches blocks on threads;
    sparse data and other metrics keep scikit-learn's search."""
    import scipy.sparse as sp
    from sklearn import config_context
    from sklearn.neighbors import KNeighborsClassifier

    from toolkit.models.stacking import NeighborVote

    rng = np.random.default_rng(0)
    fit_X = (rng.standard_normal((700, 30)) * rng.uniform(0.5, 50, (700, 1))).astype(dtype)
    y = rng.integers(0, 3, 700)
    X = np.vstack([rng.standard_normal((60, 30)).astype(dtype) * 10, fit_X[[3, 99]]])  # two duplicates
    ours = NeighborVote(n_neighbors=40, weights="distance", algorithm="brute").fit(fit_X, y)
    theirs = KNeighborsClassifier(n_neighbors=40, weights="distance", algorithm="brute").fit(fit_X, y)
    called = []
    real = ours._euclidean_kneighbors
    ours._euclidean_kneighbors = lambda *a, **kw: called.append(1) or real(*a, **kw)
    dist, ind = ours.kneighbors(X)
    assert called, "the fast search was not taken"
    ref_dist, ref_ind = theirs.kneighbors(X)
    np.testing.assert_array_equal(np.sort(ind, axis=1), np.sort(ref_ind, axis=1))
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-5, atol=1e-5 * float(np.abs(fit_X).max()))
    assert dist.dtype == np.float64 and np.all(np.diff(dist, axis=1) >= 0)
    assert dist[-2:, 0].tolist() == [0.0, 0.0] and ind[-2:, 0].tolist() == [3, 99]
    np.testing.assert_allclose(ours.predict_proba(X[:-2]), theirs.predict_proba(X[:-2]), rtol=1e-5)
    np.testing.assert_array_equal(ours.predict_proba(X[-2:]), np.eye(3)[y[[3, 99]]])
    # a document scores the same alone and in a batch (scikit-learn's float32 search can put a duplicate at
    # exactly 0 alone but at rounding noise inside a block: 2-5e-8 for 300-d unit vectors in blocks of 256,
    # which turns its one-hot vote into 0.99999)
    for i in (0, 61):
        np.testing.assert_allclose(ours.predict_proba(X[i:i + 1]), ours.predict_proba(X)[i:i + 1], rtol=1e-6)
    with config_context(pairwise_dist_chunk_size=7):  # blocks of 7 documents, the last one shorter
        np.testing.assert_array_equal(ours.kneighbors(X, return_distance=False), ind)
    assert ours.kneighbors(X, n_neighbors=700)[1].shape == (62, 700)  # every training row: no partition
    threads = clone(ours).set_params(n_jobs=2).fit(fit_X, y)  # blocks on two threads, into the same arrays
    with config_context(pairwise_dist_chunk_size=7):
        np.testing.assert_array_equal(threads.kneighbors(X)[1], ind)
    with pytest.raises(ValueError, match="X has 5 features, but NeighborVote is expecting 30"):
        ours.kneighbors(X[:, :5])
    # the rest is scikit-learn's own search
    called.clear()
    np.testing.assert_array_equal(ours.kneighbors(sp.csr_matrix(X))[1][:, :1], ref_ind[:, :1])
    cos = NeighborVote(n_neighbors=5, metric="cosine", algorithm="brute").fit(fit_X, y)
    cos_ref = KNeighborsClassifier(n_neighbors=5, metric="cosine", algorithm="brute").fit(fit_X, y)
    np.testing.assert_array_equal(cos.kneighbors(X)[1], cos_ref.kneighbors(X)[1])
    assert not called


def test_stacking_groups_keep_each_group_on_one_side_of_every_fold(split, monkeypatch):
    """fit(groups=) folds with StratifiedGroupKFold; a splitter as cv gets the groups; bad folds are refused."""
    from sklearn.model_selection import GroupKFold, ShuffleSplit, StratifiedGroupKFold
    from sklearn.utils import check_random_state

    from toolkit.models import stacking

    X, y, X_val, _ = split
    groups = np.repeat(np.arange(40), 10)  # 40 "movies" of 10 consecutive reviews each
    seen = []
    real = stacking._fit_member

    def spy(estimator, docs, y_, train, test, keep=True):
        if test is not None:
            seen.append((np.asarray(train), np.asarray(test)))
        return real(estimator, docs, y_, train, test, keep=keep)

    monkeypatch.setattr(stacking, "_fit_member", spy)
    clf = StackedTextClassifier(vectors=None, **FAST).fit(X, y, groups=groups)
    assert len(seen) == 3
    for train, test in seen:
        assert not set(groups[train]) & set(groups[test])
    # exactly StratifiedGroupKFold's folds with the stack's seed
    seed = check_random_state(0).randint(np.iinfo(np.int32).max)
    expected = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups)
    for (train, test), (e_train, e_test) in zip(seen, expected):
        np.testing.assert_array_equal(np.sort(test), np.sort(e_test))
    # without groups the folds are stratified random ones, which split the groups
    seen.clear()
    ungrouped = StackedTextClassifier(vectors=None, **FAST).fit(X, y)
    assert any(set(groups[train]) & set(groups[test]) for train, test in seen)
    assert not np.array_equal(clf.meta_[-1].coef_, ungrouped.meta_[-1].coef_)
    # a splitter as cv, and groups through a Pipeline's fit parameters
    seen.clear()
    texts = [" ".join(doc) for doc in X]
    pipe = make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors=None, cv=GroupKFold(4), random_state=0))
    pipe.fit(texts, y, stackedtextclassifier__groups=groups)
    assert len(seen) == 4 and all(not set(groups[tr]) & set(groups[te]) for tr, te in seen)
    assert pipe.predict([" ".join(doc) for doc in X_val]).shape == (200,)
    # clear errors: groups of the wrong length, folds that are not a partition, a cv that is no splitter
    with pytest.raises(ValueError, match=r"groups must be one value per document: got shape \(399,\) for 400"):
        StackedTextClassifier(vectors=None, **FAST).fit(X, y, groups=groups[:-1])
    with pytest.raises(ValueError, match=r"must hold out every document exactly once"):
        StackedTextClassifier(vectors=None, cv=ShuffleSplit(3, random_state=0)).fit(X, y)
    with pytest.raises(ValueError, match=r"'cv' parameter of StackedTextClassifier must be .*cross-validation splitter"):
        StackedTextClassifier(vectors=None, cv="group").fit(X, y)


@pytest.mark.parametrize("predict_with", ["refit", "folds"])
def test_stacking_members_share_the_pooled_vectors_at_prediction(split, glove_small, monkeypatch, predict_with):
    """The "vectors" and "neighbors" members pool the word vectors once per fitted model set, with the same
    scores as each member's own pipeline gives."""
    from toolkit.vectors.pooling import EmbeddingVectorizer

    X, y, X_val, _ = split
    clf = StackedTextClassifier(vectors=str(glove_small), neighbors=15, predict_with=predict_with, **FAST).fit(X, y)
    own = np.column_stack([np.mean([m.decision_function(X_val) for m in clf.members_[name]], axis=0)
                           for name in clf.member_names_])
    calls = []
    real = EmbeddingVectorizer.transform

    def counting(self, docs):
        calls.append(len(docs))
        return real(self, docs)

    monkeypatch.setattr(EmbeddingVectorizer, "transform", counting)
    np.testing.assert_array_equal(clf.member_scores(X_val), own)
    assert len(calls) == (1 if predict_with == "refit" else FAST["cv"])
    # one pooling object per fitted model set, kept once (the n-gram member's own steps are not merged with it)
    for vec, knn in zip(clf.members_["vectors"], clf.members_["neighbors"]):
        assert vec[0] is knn[0] and vec[0] is not clf.members_["ngrams"][0][0]
    assert len({id(m[0]) for m in clf.members_["vectors"]}) == len(clf.members_["vectors"])


def test_stacking_predicts_on_one_blas_thread_set_once(split, monkeypatch):
    """Prediction runs under one BLAS thread, set once for the whole call and restored after: OpenBLAS
    threads woken by a product or by a change of their count spin for ~0.1 s, which burned ~0.1 CPU s of
    the other core per stack-many prediction; NeighborVote's own limit inside it changes nothing."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from toolkit.models import stacking

    def blas_threads():
        return sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})

    X, y, X_val, _ = split
    clf = StackedTextClassifier(vectors=None, **FAST).fit(X, y)
    seen = []
    real = stacking._decision
    monkeypatch.setattr(stacking, "_decision", lambda *a: seen.append(blas_threads()) or real(*a))
    with threadpool_limits(2, user_api="blas"):  # not one already, as in the test run's workers (conftest.py)
        before = blas_threads()
        assert before == [2]
        for method in ("predict", "predict_proba", "decision_function", "member_scores"):
            getattr(clf, method)(X_val[:20])
        assert seen and all(threads == [1] for threads in seen)
        assert blas_threads() == before


@pytest.mark.parametrize("predict_with, mark_negation", [("refit", False), ("folds", False), ("refit", True)])
def test_stacking_ngram_members_look_the_ngrams_up_once(split, tmp_path, predict_with, mark_negation):
    """ngram_model=("nbsvm++", "nbsvm"): the NBSVM++ member's vocabulary is the start of the NBSVM member's
    (same documents, same ranking), so prediction looks the n-grams up once per fitted model set, with the
    scores each member gives alone; a saved and loaded stack keeps the pairs."""
    from toolkit.models import load_model
    from toolkit.text.vocabulary import Vocabulary

    X, y, X_val, _ = split
    clf = StackedTextClassifier(vectors=None, ngram_model=("nbsvm++", "nbsvm"), predict_with=predict_with,
                                mark_negation=mark_negation, **FAST).fit(X, y)
    n_sets = 1 if predict_with == "refit" else FAST["cv"]
    if mark_negation:  # both members read the same marked tokens: one marker object, the pairs are kept
        assert clf.members_["ngrams"][0].steps[0][1] is clf.members_["ngrams_nbsvm"][0].steps[0][1]
    assert len(clf.vocabulary_prefixes_) == n_sets
    for (small, large), keras, bag in zip(clf._vocabulary_pairs(), clf.members_["ngrams"], clf.members_["ngrams_nbsvm"]):
        assert small is keras[-1].vocabulary_ and large is bag.named_steps["counts"].vocabulary_
    # the pairs are positions, not the vocabularies: skops would store a referenced vocabulary twice
    import skops.io as sio

    assert all(isinstance(part, tuple) and isinstance(part[0], str) for pair in clf.vocabulary_prefixes_ for part in pair)
    without = clone(clf)
    without.__dict__.update({**clf.__dict__, "vocabulary_prefixes_": []})
    assert len(sio.dumps(clf)) < 1.01 * len(sio.dumps(without))
    own = np.column_stack([np.mean([m.decision_function(X_val) for m in clf.members_[name]], axis=0)
                           for name in clf.member_names_])
    looked_up = []
    real = Vocabulary._encode_corpus
    Vocabulary._encode_corpus = lambda self, tokens: looked_up.append(len(self)) or real(self, tokens)
    try:
        np.testing.assert_array_equal(clf.member_scores(X_val), own)
        assert looked_up == [len(large) for _, large in clf._vocabulary_pairs()]
        loaded = load_model(save_model(clf, tmp_path / "stack"))
        assert loaded._vocabulary_pairs()[0][0] is loaded.members_["ngrams"][0][-1].vocabulary_
        looked_up.clear()
        np.testing.assert_allclose(loaded.predict_proba(X_val), clf.predict_proba(X_val))
        assert len(looked_up) == 2 * n_sets  # loaded once and fitted once: one look-up per model set each
    finally:
        Vocabulary._encode_corpus = real


def test_stacking_shares_only_equal_fitted_steps(split, glove_small, tmp_path):
    """Steps of the same type and parameters are merged only when their fitted states are equal; a saved and
    loaded stack keeps the shared step once."""
    import copy

    from toolkit.models import load_model
    from toolkit.models.stacking import _share_fitted_steps
    from toolkit.vectors.pooling import EmbeddingVectorizer

    X, y, X_val, _ = split
    a = make_pipeline(EmbeddingVectorizer(vectors=str(glove_small)).fit(X[:200]), "passthrough")
    b = make_pipeline(EmbeddingVectorizer(vectors=str(glove_small)).fit(X[200:]), "passthrough")  # other docs
    c = copy.deepcopy(a)
    members = _share_fitted_steps({"a": [a], "b": [b], "c": [c]})
    assert members["a"][0][0] is members["c"][0][0] and members["b"][0][0] is not members["a"][0][0]
    clf = StackedTextClassifier(vectors=str(glove_small), neighbors=15, **FAST).fit(X, y)
    loaded = load_model(save_model(clf, tmp_path / "stack"))
    assert loaded.members_["vectors"][0][0] is loaded.members_["neighbors"][0][0]
    np.testing.assert_allclose(loaded.predict_proba(X_val), clf.predict_proba(X_val))


def test_stacking_long_fit_leaves_its_objects_out_of_the_young_generations(split, monkeypatch):
    """A long fit ends with a full collection: the members joblib hands back (and the fit's garbage)
    no longer sit in the collector's young generations, where the first predict walked them (0.17 of
    0.95 CPU s on 2,000 reviews after a 5,000-review STACK_JOB fit). Fails without the collection."""
    import gc

    from toolkit.models import stacking

    X, y, _, _ = split
    monkeypatch.setattr(stacking, "_COLLECT_AFTER_S", 0.0)  # every fit counts as long here
    model = StackedTextClassifier(vectors=None, **FAST).fit(X, y)
    young = {id(o) for o in gc.get_objects(generation=0) + gc.get_objects(generation=1)}
    assert id(model.members_) not in young and id(model.meta_) not in young
    assert gc.get_count()[1:] == (0, 0)  # no younger collection since the full one


def test_stacking_ratings_member_learns_the_stars(split, imdb_small_ratings, imdb_small):
    """ratings_alpha + fit(ratings=): a "ratings" member, a ridge regression on TF-IDF n-grams to the stars:
    its scores are that ridge's predictions, they follow the held-out reviews' stars, and it is left out (same
    stack as without it) when fit gets no ratings."""
    from sklearn.linear_model import Ridge

    from toolkit.models.stacking import word_ngrams
    from toolkit.text.encoders import BagEncoder

    X, y, X_val, y_val = split
    stars, val_stars = imdb_small_ratings[:400], imdb_small_ratings[400:]
    # the fixture's order is imdb_small's: every negative review has 1-4 stars, every positive one 7-10
    assert np.all((stars >= 7) == (y == "pos")) and np.all((val_stars >= 7) == (y_val == "pos"))
    clf = StackedTextClassifier(vectors=None, ratings_alpha=0.3, **FAST).fit(X, y, ratings=stars)
    assert clf.member_names_ == ["ngrams", "ratings"]
    assert clf.score(X_val, y_val) > 0.72 and clf.member_weights_["ratings"] != 0
    bag = BagEncoder(output_mode="tf_idf", sublinear_tf=True, norm="l2").fit(word_ngrams(X))
    ridge = Ridge(alpha=0.3).fit(bag.transform(word_ngrams(X)), stars)
    predicted = clf.member_scores(X_val)[:, 1]
    np.testing.assert_allclose(predicted, ridge.predict(bag.transform(word_ngrams(X_val))), rtol=1e-4, atol=1e-4)
    # it predicts stars, not a class: 400 reviews put them in order (and more stars among the positive ones)
    assert np.corrcoef(predicted, val_stars)[0, 1] > 0.5
    assert 1 < predicted.min() and predicted.max() < 10

    # a recipe with the member fits data without ratings: the member is left out, nothing else changes
    without = StackedTextClassifier(vectors=None, ratings_alpha=0.3, **FAST).fit(X, y)
    plain = StackedTextClassifier(vectors=None, **FAST).fit(X, y)
    assert without.member_names_ == ["ngrams"]
    np.testing.assert_allclose(without.predict_proba(X_val), plain.predict_proba(X_val))


@pytest.mark.parametrize("predict_with", ["refit", "folds"])
def test_stacking_members_fit_their_shared_leading_steps_once(split, imdb_small_ratings, glove_small, monkeypatch,
                                                              predict_with):
    """Members whose steps are the same up to a fitted one fit those steps once per fold: the NBSVM and
    "ratings" members one n-gram vocabulary (not one each), the "vectors" and "neighbors" members one pooling;
    the fitted models hold one object, and each member scores as its own pipeline does."""
    from toolkit.models.naive_bayes import NBSVMClassifier
    from toolkit.models.stacking import word_ngrams
    from toolkit.text.encoders import BagEncoder
    from toolkit.vectors.pooling import EmbeddingVectorizer

    X, y, X_val, _ = split
    fits = {"vocabulary": 0, "pooling": 0}
    real_fit, real_pool = BagEncoder._fit, EmbeddingVectorizer._fit

    def vocabulary(self, docs):
        fits["vocabulary"] += 1
        return real_fit(self, docs)

    def pooling(self, docs):
        fits["pooling"] += 1
        return real_pool(self, docs)

    monkeypatch.setattr(BagEncoder, "_fit", vocabulary)
    monkeypatch.setattr(EmbeddingVectorizer, "_fit", pooling)
    clf = StackedTextClassifier(vectors=str(glove_small), neighbors=15, ratings_alpha=0.3, predict_with=predict_with,
                                **FAST).fit(X, y, ratings=imdb_small_ratings[:400])
    assert clf.member_names_ == ["ngrams", "ratings", "vectors", "neighbors"]
    n_sets = FAST["cv"] + (predict_with == "refit")  # the folds' fits, and the refit on all documents
    assert fits == {"vocabulary": n_sets, "pooling": n_sets}  # one per member before: twice as many
    for name, other, step in [("ngrams", "ratings", "counts"), ("vectors", "neighbors", "pool")]:
        assert len(clf.members_[name]) == len(clf.members_[other]) == (1 if predict_with == "refit" else FAST["cv"])
        for a, b in zip(clf.members_[name], clf.members_[other]):
            assert a.named_steps[step] is b.named_steps[step]
        assert len({id(m.named_steps[step]) for m in clf.members_[name]}) == len(clf.members_[name])
    # each member's scores are its own pipeline's (the ridge predicts, the others decide)
    own = np.column_stack([np.mean([m.predict(X_val) if name == "ratings" else m.decision_function(X_val)
                                    for m in clf.members_[name]], axis=0) for name in clf.member_names_])
    np.testing.assert_array_equal(clf.member_scores(X_val), own)
    if predict_with == "refit":  # NBSVM on the counts is NBSVM on binary n-grams (it binarizes them)
        bag = BagEncoder(output_mode="multi_hot").fit(word_ngrams(X))
        nbsvm = NBSVMClassifier(C=FAST.get("C", 0.01), random_state=clf.members_["ngrams"][0][-1].random_state)
        nbsvm.fit(bag.transform(word_ngrams(X)), y)
        np.testing.assert_allclose(own[:, 0], nbsvm.decision_function(bag.transform(word_ngrams(X_val))),
                                   rtol=1e-5, atol=1e-6)


def test_stacking_ratings_member_in_pipeline_grid_search_and_saved(imdb_small, imdb_small_ratings, tmp_path):
    """ratings= is a fit parameter: routed through a Pipeline, sliced by GridSearchCV's folds, and the fitted
    member is saved and loaded in a fresh process (prediction needs no ratings)."""
    texts, labels = imdb_small
    stars = imdb_small_ratings
    pipe = make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors=None, ratings_alpha=0.1, mark_negation=True,
                                                                 **FAST))
    pipe.fit(texts[:300], labels[:300], stackedtextclassifier__ratings=stars[:300])
    assert pipe[-1].member_names_ == ["ngrams", "ratings"]
    # the member shares the n-gram members' leading steps (negation marking, n-grams): one marking per batch
    assert pipe[-1].members_["ratings"][0].steps[0][1] is pipe[-1].members_["ngrams"][0].steps[0][1]
    proba, names = load_and_predict_in_fresh_process(save_model(pipe, tmp_path / "stack"), texts[400:450], tmp_path)
    np.testing.assert_allclose(proba, pipe.predict_proba(texts[400:450]), rtol=1e-6, atol=1e-7)
    assert "'ratings'" in names

    X = SpacyTokenizer().fit_transform(texts[:300])
    grid = GridSearchCV(StackedTextClassifier(vectors=None, **FAST), {"ratings_alpha": [0.1, 1.0]}, cv=2)
    grid.fit(X, labels[:300], ratings=stars[:300])
    assert grid.best_estimator_.member_names_ == ["ngrams", "ratings"]
    assert len(grid.cv_results_["mean_test_score"]) == 2


def test_stacking_ratings_member_with_more_classes_weighs_its_one_column(split, imdb_small_ratings):
    """With k classes the n-gram member has k columns and the ratings member one: member_weights_ reads each
    member's own columns of the meta-learner (it used to split the columns evenly between members)."""
    X, _, X_val, _ = split
    stars = imdb_small_ratings[:400]
    y = np.digitize(stars, [3, 5, 8])  # 1-2, 3-4, 7, 8-10 stars: four classes
    clf = StackedTextClassifier(vectors=None, ratings_alpha=0.1, **FAST).fit(X, y, ratings=stars)
    coef = clf.meta_[-1].coef_
    assert coef.shape == (4, 5) and clf.member_scores(X_val).shape == (200, 5)
    assert clf.member_weights_["ngrams"] == pytest.approx(np.abs(coef[:, :4]).mean())
    assert clf.member_weights_["ratings"] == pytest.approx(np.abs(coef[:, 4]).mean())


@pytest.mark.parametrize("params, ratings, message", [
    ({}, "stars", r"got ratings but ratings_alpha=None: set ratings_alpha"),
    ({"ratings_alpha": 0.1}, "short", r"ratings must be one number per document: got shape \(399,\) for 400"),
    ({"ratings_alpha": 0.1}, "nan", r"ratings must be finite: document 7 has nan"),
    ({"ratings_alpha": 0.1}, "words", r"ratings must be numbers, one per document"),
    ({"ratings_alpha": 0.1}, "constant", r"ratings are all 5: a 'ratings' member has nothing to learn"),
    ({"ratings_alpha": 0.0}, "stars", r"'ratings_alpha' parameter of StackedTextClassifier must be"),
])
def test_stacking_bad_ratings_are_clear_errors(split, imdb_small_ratings, params, ratings, message):
    X, y, _, _ = split
    stars = imdb_small_ratings[:400].astype(float)
    value = {"stars": stars, "short": stars[:-1], "nan": np.where(np.arange(400) == 7, np.nan, stars),
             "words": np.where(stars > 5, "good", "bad"), "constant": np.full(400, 5)}[ratings]
    with pytest.raises(ValueError, match=message):
        StackedTextClassifier(vectors=None, **params, **FAST).fit(X, y, ratings=value)


def test_stacking_saved_model_stores_the_shared_vocabulary_once(split, imdb_small_ratings, tmp_path):
    """save_model writes the n-gram vocabulary the NBSVM and "ratings" members share once (skops.io wrote it
    once per member: each Vocabulary.__getstate__ call made new arrays), and the loaded members share it."""
    import io
    import zipfile

    from toolkit.models.persistence import load_model, save_model

    X, y, X_val, _ = split
    clf = StackedTextClassifier(vectors=None, ratings_alpha=0.3, **FAST).fit(X, y, ratings=imdb_small_ratings[:400])
    vocab = clf.members_["ratings"][0].named_steps["counts"].vocabulary_
    token_bytes = vocab.__getstate__()["tokens"][0]  # the vocabulary's tokens, as one UTF-8 byte array
    save_model(clf, tmp_path / "model")
    with zipfile.ZipFile(tmp_path / "model" / "model.skops") as archive:
        arrays = [np.load(io.BytesIO(archive.read(name))) for name in archive.namelist() if name.endswith(".npy")]
    assert sum(a.shape == token_bytes.shape and np.array_equal(a, token_bytes) for a in arrays) == 1
    loaded = load_model(tmp_path / "model")
    assert loaded.members_["ratings"][0].named_steps["counts"] is loaded.members_["ngrams"][0].named_steps["counts"]
    np.testing.assert_allclose(loaded.predict_proba(X_val), clf.predict_proba(X_val))
    assert vocab.__getstate__()["tokens"][0] is not vocab.__getstate__()["tokens"][0]  # no memo outside a save


def test_stacking_member_groups_share_only_unsupervised_fitted_steps():
    """_member_groups: pipelines equal up to a fitted step that needs no target share it; a supervised step
    (each member may learn its own target), different parameters, or only stateless steps do not."""
    from sklearn.feature_selection import SelectKBest
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from toolkit import TokenizedCorpus
    from toolkit.models.stacking import _member_groups, word_ngrams
    from toolkit.text.encoders import BagEncoder

    grams = FunctionTransformer(word_ngrams)

    class Supervised(StandardScaler):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.target_tags.required = True
            return tags

    def member(*steps):
        return Pipeline([("ngrams", grams), *steps])

    members = [
        ("a", member(("counts", BagEncoder(output_mode="count")), ("lr", LogisticRegression()))),
        ("b", member(("counts", BagEncoder(output_mode="count")), ("ridge", Ridge()))),
        ("c", member(("counts", BagEncoder(output_mode="multi_hot")), ("lr", LogisticRegression()))),
        ("d", member(("lr", LogisticRegression()))),  # only a stateless step before its model
        ("e", member(("lr", LogisticRegression()))),
        ("f", member(("scaled", Supervised()), ("lr", LogisticRegression()))),  # declares that it needs y
        ("g", member(("scaled", Supervised()), ("ridge", Ridge()))),
    ]
    groups = [(n, [name for name, _ in group]) for n, group in _member_groups(members)]
    assert groups == [(2, ["a", "b"]), (0, ["c"]), (0, ["d"]), (0, ["e"]), (0, ["f"]), (0, ["g"])]

    # the shared steps are fitted without a target: one that needs it fails loudly instead of learning one
    # member's target for all
    from toolkit.models.stacking import _fit_group

    docs = TokenizedCorpus.from_token_lists([["good", "film"], ["bad", "film"], ["good"], ["bad"]] * 3)
    head = [("best", SelectKBest(k=1))]
    with pytest.raises((TypeError, ValueError)):
        _fit_group([Pipeline([("counts", BagEncoder()), *head, ("lr", LogisticRegression())]),
                    Pipeline([("counts", BagEncoder()), *head, ("ridge", Ridge())])], 2, docs,
                   [np.array([1, 0, 1, 0] * 3), np.array([9., 2., 8., 1.] * 3)], None, None)


def test_stacking_verbose_shows_a_bar_over_the_member_fits(split, ablation, capsys):
    """verbose=1: a tqdm bar on stderr over the member fits (one per member group and fold, then the
    refits), the same fitted stack as verbose=0; verbose=0 prints nothing. Sequentially and on two
    joblib workers."""
    X, y, X_val, _ = split
    capsys.readouterr()
    StackedTextClassifier(vectors=None, **FAST).fit(X[:90], y[:90])
    assert capsys.readouterr().err == ""
    for n_jobs in (None, 2):
        loud = StackedTextClassifier(vectors=None, verbose=1, n_jobs=n_jobs, **FAST).fit(X, y)
        err = capsys.readouterr().err
        # vectors=None: one n-gram member, 3 folds + 1 refit
        assert "stack fits" in err and "4/4" in err, err
        # the same stack as verbose=0's (the module's `ablation`, fitted with the same parameters but verbose)
        np.testing.assert_allclose(loud.decision_function(X_val), ablation.decision_function(X_val))


def test_stacking_verbose_without_results_one_by_one_runs_without_the_bar(split, capsys):
    """A joblib backend that cannot hand results back one by one ("multiprocessing") fits the stack
    all the same, without the bar (joblib refuses return_as="generator" there)."""
    from joblib import parallel_config

    X, y, _, _ = split
    capsys.readouterr()
    with parallel_config(backend="multiprocessing"):
        clf = StackedTextClassifier(vectors=None, verbose=1, n_jobs=2, **FAST).fit(X, y)
    assert "stack fits" not in capsys.readouterr().err
    assert clf.member_names_ == ["ngrams"]


def test_stacking_saved_before_verbose_existed_loads_with_verbose_0(ablation, split):
    """A stack pickled (or saved with skops, which restores state the same way) before the ``verbose``
    parameter existed gets verbose=0 on loading: get_params, clone and repr work, and it predicts as
    before. Failed (AttributeError in get_params) before __setstate__ filled it in."""
    import pickle

    from sklearn.base import clone

    X_val = split[2]
    old = pickle.loads(pickle.dumps(ablation))
    del old.verbose  # the state such a stack carries
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["verbose"] == 0 and clone(restored).verbose == 0 and "StackedTextClassifier" in repr(restored)
    np.testing.assert_allclose(restored.decision_function(X_val), ablation.decision_function(X_val))


@pytest.mark.filterwarnings("ignore:The least populated class")
@pytest.mark.parametrize("labels", ["multiclass", "binary"])
def test_stack_names_a_class_with_one_document_that_a_fold_lacks(split, labels):
    """A class of one document: the fold that holds it out trains members without it. The fit failed with a
    numpy broadcast error (3 classes) or NBSVM's "needs at least 2 classes" (2), naming neither the class nor
    the fix."""
    X, y, _, _ = split
    y = np.array(y, dtype=object)
    if labels == "binary":
        keep = sorted(np.flatnonzero(y == "neg").tolist() + [int(np.flatnonzero(y == "pos")[0])])
        X, y = [X[i] for i in keep], y[keep]
    else:
        y[np.flatnonzero(y == "pos")[0]] = "rare"
    rare = "pos" if labels == "binary" else "rare"
    with pytest.raises(ValueError, match=rf"the training part of fold \d has no document of class '{rare}' "
                                         r"\(1 document\).*at least 2 documents"):
        StackedTextClassifier(vectors=None, cv=3, random_state=0).fit(X, y.astype(str))

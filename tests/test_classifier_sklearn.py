"""scikit-learn compatibility of EmbeddingClassifier, make_text_classifier and EmbeddingVectorizer.

``check_estimator`` runs a single check for estimators tagged as taking
strings, so the data-free checks are called one by one and the data checks
are written here in their text form, as scikit-learn's own text tests do.
"""

from __future__ import annotations

import copy

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.utils import estimator_checks as checks

from toolkit.models.classifier import EmbeddingClassifier, make_text_classifier
from toolkit.vectors.pooling import EmbeddingVectorizer

DATA_FREE_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_mixin_order",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_estimator_repr",
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_do_not_raise_errors_in_init_or_set_params",
]
TINY = dict(maxlen=30, embedding_dim=4, epochs=1, max_tokens=2000, random_state=0)


@pytest.mark.parametrize("estimator", [EmbeddingClassifier(), EmbeddingVectorizer()], ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
def test_classifier_sklearn_data_free_checks(estimator, check):
    getattr(checks, check)(type(estimator).__name__, estimator)


def test_classifier_sklearn_tags_and_type():
    clf = EmbeddingClassifier()
    assert is_classifier(clf) and is_classifier(make_text_classifier())
    tags = clf.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.classifier_tags.multi_label


def test_classifier_sklearn_fit_contract_on_text(imdb_tokens):
    """Text versions of fit_returns_self, dont_overwrite_parameters, dict_unchanged, fit_idempotent."""
    docs, labels = imdb_tokens
    docs, labels = docs[:200], labels[:200]
    clf = EmbeddingClassifier(**TINY)
    params = copy.deepcopy(clf.get_params())
    assert clf.fit(docs, labels) is clf
    assert clf.get_params() == params  # fit does not change parameters
    public = {k for k in vars(clf) if not k.startswith("_")}
    assert public - set(params) == {k for k in public - set(params) if k.endswith("_")}

    def state():  # every attribute by value (joblib.hash reads arrays and objects), model weights included
        return joblib.hash({**{k: v for k, v in vars(clf).items() if k != "model_"},
                            "model_weights": clf.model_.get_weights()})

    before = state()
    for method in ("predict", "predict_proba", "decision_function", "predict_log_proba"):
        first = getattr(clf, method)(docs[:20] + [[]])  # an empty document too
        assert state() == before, method
    first = first[:20]
    again = clone(clf).fit(docs, labels)  # idempotent with the same random_state
    np.testing.assert_array_equal(again.predict_log_proba(docs[:20]), first)
    assert clf.score(docs[:20], labels[:20]) == pytest.approx(np.mean(clf.predict(docs[:20]) == labels[:20]))


def test_classifier_make_text_classifier_routes_parameters():
    pipe = make_text_classifier(ngram_range=(1, 2), lowercase=False, epochs=3, architecture="cnn",
                                tokenizer__batch_size=50, classifier__dropout=0.1)
    tok, clf = pipe.named_steps["tokenizer"], pipe.named_steps["classifier"]
    assert tok.ngram_range == (1, 2) and tok.lowercase is False and tok.batch_size == 50
    assert clf.epochs == 3 and clf.architecture == "cnn" and clf.dropout == 0.1
    with pytest.raises(ValueError, match=r"Invalid parameter 'epoch' for make_text_classifier\. Valid tokenizer parameters: \[.*'ngram_range'.*valid classifier parameters: \[.*'epochs'"):
        make_text_classifier(epoch=3)
    with pytest.raises(ValueError, match=r"Invalid parameter 'tokenizer__epochs' .* tokenizer has no parameter 'epochs'"):
        make_text_classifier(tokenizer__epochs=3)


def test_classifier_make_text_classifier_memory_tokenizes_once(imdb_small, tmp_path, monkeypatch):
    from toolkit.text.tokenizer import SpacyTokenizer

    texts, labels = imdb_small
    texts, labels = texts[:120], labels[:120]
    calls = []
    original = SpacyTokenizer.transform

    def counting(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(SpacyTokenizer, "transform", counting)
    pipe = make_text_classifier(memory=str(tmp_path), **TINY)
    pipe.fit(texts, labels)
    pipe.set_params(classifier__architecture="flatten").fit(texts, labels)
    assert calls == [120]  # the second fit read the cached tokens
    pipe.predict(texts[:5])
    assert calls == [120, 5]
    # markup-only and empty reviews have no tokens: they get the class prior, the batch goes on
    clf = pipe.named_steps["classifier"]
    proba = pipe.predict_proba(["<br /><br />", texts[0], ""])
    np.testing.assert_allclose(proba[[0, 2]], [clf.class_prior_, clf.class_prior_])
    np.testing.assert_allclose(proba[1], pipe.predict_proba(texts[:1])[0], rtol=1e-6)


def test_classifier_grid_search_over_tokenizer_vectors_and_model(imdb_small, glove_small, tmp_path):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv

    texts, labels = imdb_small
    texts, labels = texts[:180], labels[:180]
    pipe = make_text_classifier(memory=str(tmp_path), **TINY)
    grid = [
        {"tokenizer__ngram_range": [(1, 2)], "classifier__architecture": ["bag", "flatten"]},
        {"classifier__vectors": [str(glove_small)], "classifier__embedding_dim": [None]},
    ]
    assert isinstance(check_cv(2, labels, classifier=is_classifier(pipe)), StratifiedKFold)
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=1, error_score="raise").fit(texts, labels)
    assert len(search.cv_results_["params"]) == 3
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.predict(texts[:3]).shape == (3,)


@pytest.mark.slow
def test_classifier_grid_search_parallel_finds_the_candidate_known_best(imdb_small):
    """max_tokens=3 leaves one word (padding, OOV and "the"): chance. The other candidate learns."""
    from sklearn.model_selection import GridSearchCV

    texts, labels = imdb_small
    texts, labels = texts[:360], labels[:360]
    pipe = make_text_classifier(architecture="nbsvm", maxlen=None, epochs=2, batch_size=32,
                                validation_split=0.0, random_state=0)
    search = GridSearchCV(pipe, {"classifier__max_tokens": [3, 20000]}, cv=3, n_jobs=2,
                          error_score="raise").fit(texts, labels)
    assert search.best_params_ == {"classifier__max_tokens": 20000}
    chance, learnt = search.cv_results_["mean_test_score"]
    assert chance <= 0.55 and learnt >= 0.7, search.cv_results_["mean_test_score"]


@pytest.mark.slow
def test_classifier_grid_search_logs_no_tensorflow_retracing(imdb_tokens, caplog, capfd, monkeypatch):
    """Many fitted models, each predicting a few batches (> 256 rows per test fold), used to
    make TensorFlow log "triggered tf.function retracing" (issue 12). Both predict paths, on the
    same fitted models (one grid search): each fold's model scores its test fold by direct calls
    (up to 4 batches) and again by Model.predict (forced here from 2 batches on); so does the
    best estimator afterwards."""
    import logging

    from sklearn.model_selection import GridSearchCV

    from toolkit.models import classifier

    paths = {"direct-calls": 4, "Model.predict": 1}  # classifier._DIRECT_CALL_BATCHES for each path
    scored = []

    def both_paths(estimator, X, y):  # the default scoring (score: accuracy), once by each path
        scores = []
        for path, batches in paths.items():
            monkeypatch.setattr(classifier, "_DIRECT_CALL_BATCHES", batches)
            scores.append(estimator.score(X, y))
            scored.append(path)
        return scores[0]

    docs, labels = imdb_tokens  # cv=2: 300 rows per test fold, two prediction batches
    with caplog.at_level(logging.DEBUG):
        search = GridSearchCV(EmbeddingClassifier(**TINY), {"architecture": ["bag", "cnn"],
                              "dropout": [0.0, 0.2]}, cv=2, scoring=both_paths, error_score="raise").fit(docs, labels)
        for batches in paths.values():
            monkeypatch.setattr(classifier, "_DIRECT_CALL_BATCHES", batches)
            for n in (300, 400, 500, 600, 300):
                search.predict_proba(docs[:n])
    assert scored == list(paths) * 8  # 4 candidates x 2 folds, each model by both paths
    tf_records = [r.getMessage() for r in caplog.records if r.name.startswith(("tensorflow", "absl"))]
    assert not [m for m in tf_records if "retracing" in m], tf_records
    assert "retracing" not in capfd.readouterr().err


def test_classifier_cross_val_calibration_and_voting(imdb_small):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import cross_val_score

    texts, labels = imdb_small
    train, y_train, test = texts[:200], labels[:200], texts[200:260]
    nbsvm = dict(architecture="nbsvm", maxlen=None, epochs=2, batch_size=32, validation_split=0.0,
                 max_tokens=20000, random_state=0)
    scores = cross_val_score(make_text_classifier(**nbsvm), train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() >= 0.65, scores  # chance is 0.5
    calibrated = CalibratedClassifierCV(make_text_classifier(**TINY), cv=2).fit(train, y_train)
    proba = calibrated.predict_proba(test)
    assert proba.shape == (60, 2) and np.allclose(proba.sum(axis=1), 1)
    voting = VotingClassifier(
        [("bag", make_text_classifier(**TINY)), ("cnn", make_text_classifier(architecture="cnn", **TINY))],
        voting="soft",
    ).fit(train, y_train)
    assert set(voting.predict(test)) <= {"neg", "pos"}

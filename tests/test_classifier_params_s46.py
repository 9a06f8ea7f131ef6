"""EmbeddingClassifier's parameters as a scikit-learn power user meets them (session 46).

- ``set_params`` of a name it does not take gives the constructor's hints (``warm_start``, ``max_iter``, a near
  miss), keeping scikit-learn's ``ValueError`` and its ``step__name`` routing in pipelines and grid searches.
- A layer setting that the chosen built-in architecture ignores is one INFO log line for every architecture
  (``"nbsvm"``'s ``hidden_units`` was logged, the ``"bag"``'s ``rnn_cell`` warned): a grid search over
  ``architecture`` with each architecture's settings on the estimator warned once per fit of every fold.
- Other estimators' names (``n_jobs``, ``seed``, ``hidden_layer_sizes``...) and scikeras' routed names
  (``optimizer__learning_rate``: an AttributeError before) say what this estimator takes instead.
- A class of one document is kept for training by the validation split (held out, it was never learnt).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from toolkit.models import EmbeddingClassifier, make_text_classifier

SMALL = {"max_tokens": 2000, "maxlen": 30, "embedding_dim": 8, "epochs": 1, "batch_size": 64,
         "validation_split": 0.0, "random_state": 0}
LOGGER = "toolkit.models.classifier"


@pytest.mark.parametrize("params, match", [
    ({"warm_start": True}, (r"^Invalid parameter 'warm_start' for estimator EmbeddingClassifier\(epochs=3\)\. "
                            r"EmbeddingClassifier has no warm_start, nor partial_fit.*larger epochs.*"
                            r"Valid parameters are: \['architecture', .*'verbose'\]\.$")),
    ({"max_iter": 5}, r"^Invalid parameter 'max_iter' .*The number of passes over the training documents is epochs"),
    ({"early_stopping": True}, r"Early stopping is patience"),
    ({"epoch": 3}, r"^Invalid parameter 'epoch' .*Did you mean 'epochs'\?"),
    ({"epochs": 2, "lr": 0.1, "warm_start": True}, r"^Invalid parameters 'lr', 'warm_start' .*learning_rate.*warm_st"),
    ({"bogus": 1}, r"^Invalid parameter 'bogus' for estimator EmbeddingClassifier\(epochs=3\)\. Valid parameters are: "),
])
def test_classifier_params_set_params_names_what_the_estimator_has_instead(params, match):
    clf = EmbeddingClassifier(epochs=3)
    with pytest.raises(ValueError, match=match):
        clf.set_params(**params)
    assert clf.get_params() == EmbeddingClassifier(epochs=3).get_params()  # nothing set before the refusal


def test_classifier_params_set_params_in_pipelines_and_grid_searches(imdb_tokens200):
    pipe = make_text_classifier()
    with pytest.raises(ValueError, match=r"^Invalid parameter 'warm_start' for estimator EmbeddingClassifier"
                                         r"\(\)\. EmbeddingClassifier has no warm_start"):
        pipe.set_params(classifier__warm_start=True)
    with pytest.raises(ValueError, match=r"Invalid parameter 'classifer' for estimator Pipeline"):  # the step
        pipe.set_params(classifer__epochs=2)
    assert pipe.set_params(classifier__epochs=2, classifier__rnn_cell="gru")[-1].rnn_cell == "gru"
    clf = EmbeddingClassifier(**SMALL)
    assert clf.set_params() is clf and clf.set_params(epochs=2) is clf and clf.epochs == 2
    assert clone(clf).set_params(**clf.get_params()).get_params() == clf.get_params()

    X, y = imdb_tokens200
    search = GridSearchCV(EmbeddingClassifier(**SMALL), {"max_iter": [1, 2]}, cv=2, error_score="raise")
    with pytest.raises(ValueError, match=r"(?s)Invalid parameter 'max_iter' .*is epochs"):
        search.fit(X[:40], y[:40])


def test_classifier_params_one_cached_reader_of_the_signature():
    from toolkit.models.classifier import (
        _init_defaults,
        _init_parameter_names,
        _init_parameters,
    )

    class Mine(EmbeddingClassifier):
        def __init__(self, *, extra=1, **kwargs):
            super().__init__(**kwargs)
            self.extra = extra

    assert _init_parameters(EmbeddingClassifier) is _init_parameters(EmbeddingClassifier)
    assert list(_init_defaults(EmbeddingClassifier))[:2] == ["architecture", "vectors"]
    assert _init_parameter_names(EmbeddingClassifier) == set(EmbeddingClassifier().get_params())
    assert _init_parameter_names(Mine) is None  # takes any name: set_params leaves it to scikit-learn
    assert Mine(extra=2, epochs=4).epochs == 4


@pytest.mark.parametrize("architecture, params, logged", [
    ("nbsvm", {"embedding_dim": None, "hidden_units": 16, "dropout": 0.3},
     "architecture='nbsvm' does not use hidden_units=16, dropout=0.3:"),
    ("nbsvm", {"embedding_dim": 8, "rnn_cell": "gru"},
     "architecture='nbsvm' does not use embedding_dim=8, rnn_cell='gru': ignored (embedding_dim: architecture="),
    ("bag", {"rnn_cell": "gru", "kernel_size": 3},
     ("architecture='bag' does not use kernel_size=3, rnn_cell='gru': ignored (kernel_size: architecture='cnn'; "
      "rnn_cell: architecture='rnn')")),
    ("rnn", {"filters": np.int64(64), "rnn_units": 4}, "architecture='rnn' does not use filters=np.int64(64)"),
])
def test_classifier_params_ignored_layer_settings_are_logged_alike(imdb_tokens200, caplog, architecture, params,
                                                                   logged):
    X, y = imdb_tokens200
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.filterwarnings("error", message=".*does not use")  # (the CNN/RNN settings warned)
        EmbeddingClassifier(**{**SMALL, "architecture": architecture, **params}).fit(X[:40], y[:40])
    assert logged in caplog.text
    assert caplog.text.count("does not use") == 1


def test_classifier_params_grid_over_architectures_logs_only_what_is_set(imdb_tokens200, caplog):
    """GridSearchCV clones and sets the candidate's parameters: a setting left at its default is never named,
    and a setting for another architecture is a log line per fit, not a warning (shown again for every fit of
    every fold: scikit-learn's parallel wrapper resets the warnings registry for each task)."""
    X, y = imdb_tokens200
    base = EmbeddingClassifier(**{**SMALL, "embedding_dim": None, "hidden_units": 4, "rnn_cell": "gru"})
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.filterwarnings("error", message=".*does not use")
        GridSearchCV(base, {"architecture": ["bag", "nbsvm"]}, cv=2, refit=False, error_score="raise").fit(X[:40],
                                                                                                          y[:40])
    assert caplog.text.count("architecture='bag' does not use rnn_cell='gru'") == 2  # a line per fit
    assert caplog.text.count("architecture='nbsvm' does not use hidden_units=4, rnn_cell='gru'") == 2
    caplog.clear()
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger=LOGGER):
        warnings.filterwarnings("error", message=".*does not use")
        GridSearchCV(EmbeddingClassifier(**{**SMALL, "embedding_dim": None}),
                     {"architecture": ["bag", "nbsvm"], "filters": [128], "dropout": [0]}, cv=2, refit=False,
                     error_score="raise").fit(X[:40], y[:40])
    assert "does not use" not in caplog.text


@pytest.mark.parametrize("name, hint", [
    ("n_jobs", (r"no n_jobs: Keras trains each model on all CPU cores itself\. To run several fits at once, give "
                r"n_jobs to GridSearchCV")),
    ("seed", r"The seed .* is random_state"),
    ("shuffle", r"shuffles the documents every epoch"),
    ("hidden_layer_sizes", r"is hidden_units"),
    ("max_features", r"The vocabulary size is max_tokens"),
    ("solver", r"The optimizer is optimizer"),
])
def test_classifier_params_scikit_learn_names_get_a_hint(name, hint):
    with pytest.raises(TypeError, match=rf"got an unexpected keyword argument '{name}'\. .*{hint}"):
        EmbeddingClassifier(**{name: 1})
    with pytest.raises(ValueError, match=rf"(?s)^Invalid parameter '{name}' .*\. .*{hint}"):
        EmbeddingClassifier().set_params(**{name: 1})


def test_classifier_params_a_class_of_one_document_is_never_held_out(imdb_tokens200, caplog):
    """Star ratings with one review rated 7: a 10% validation split held that review out in about a tenth of
    the random states (11 of the first 100), and the class was never trained on."""
    X, y = imdb_tokens200
    y = np.where(np.arange(len(y)) == 5, "rare", y)
    clf = EmbeddingClassifier(**{**SMALL, "validation_split": 0.1})
    clf.classes_, clf.output_ = np.unique(y), "multiclass"
    y_enc = np.searchsorted(clf.classes_, y)
    for seed in range(30):
        train, val = clf._validation_split(y_enc, seed)
        assert 5 in train and 5 not in val, seed
        assert len(val) == 20 and sorted(np.r_[train, val]) == list(range(len(y)))
        assert abs(np.mean(y[val] == "pos") - np.mean(y[train] == "pos")) < 0.1  # the others stratified
    with caplog.at_level(logging.INFO, logger=LOGGER):
        fitted = EmbeddingClassifier(**{**SMALL, "validation_split": 0.5}).fit(X[:40], y[:40])
    assert list(fitted.classes_) == ["neg", "pos", "rare"] and "1 document(s) of a class of one kept" in caplog.text


def test_classifier_params_scikeras_routing_names_the_parameter(imdb_tokens200):
    """scikeras' ``optimizer__learning_rate`` raised AttributeError ("'str' object has no attribute 'set_params'")
    from set_params, in every fit of a grid search; ``model__hidden_units`` gave no hint."""
    with pytest.raises(ValueError, match=r"^Invalid parameter 'optimizer__learning_rate' for estimator "
                                         r"EmbeddingClassifier\(\): optimizer is 'adam', not an estimator .* takes "
                                         r"learning_rate by its own name: set_params\(learning_rate=\.\.\.\).*"
                                         r"keras\.optimizers\.SGD"):
        EmbeddingClassifier().set_params(optimizer__learning_rate=0.1)
    with pytest.raises(ValueError, match=r"^Invalid parameter 'model' .*takes hidden_units by its own name.*"
                                         r"classifier__hidden_units in a pipeline.*Valid parameters are"):
        EmbeddingClassifier().set_params(model__hidden_units=8)
    with pytest.raises(ValueError, match=r"'callbacks__patience' .*callbacks is None, not an estimator"):
        make_text_classifier().set_params(classifier__callbacks__patience=1)
    X, y = imdb_tokens200
    search = GridSearchCV(EmbeddingClassifier(**SMALL), {"optimizer__learning_rate": [0.01, 0.1]}, cv=2)
    with pytest.raises(ValueError, match=r"optimizer is 'adam', not an estimator"):
        search.fit(X[:40], y[:40])

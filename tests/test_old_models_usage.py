"""Models saved or pickled by older toolkit versions load and predict the same with today's code.

Real older folders were checked by hand (session 30: folders and pickles written by commits 8e175e4 and
6333426 -- the main job, a cnn pipeline, NBSVM pipelines and a stack -- load, predict, re-save and pickle with
the same probabilities). These tests simulate the state such models carry, as the stack's own old-state tests
do, so that they need no old source tree.
"""

from __future__ import annotations

import itertools
import os
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from toolkit.models import (
    EmbeddingClassifier,
    StackedTextClassifier,
    load_model,
    make_text_classifier,
    save_model,
)
from toolkit.text.tokenizer import SpacyTokenizer

FAST_STACK = {"vectors": None, "cv": 3, "random_state": 0}


@pytest.fixture(scope="module")
def stack_pipeline(imdb_small):
    """Pipeline(SpacyTokenizer, StackedTextClassifier) fitted on 120 real reviews; 40 other reviews."""
    texts, labels = imdb_small
    pipe = make_text_classifier(estimator=StackedTextClassifier(**FAST_STACK)).fit(texts[:120], labels[:120])
    return pipe, texts[120:160]


def _state_without(*names):
    """A ``__getstate__`` that leaves out ``names``: the state a toolkit from before those parameters wrote."""

    def getstate(self):
        return {k: v for k, v in BaseEstimator.__getstate__(self).items() if k not in names}

    return getstate


def test_stack_folder_saved_before_unicode_form_loads_and_predicts_the_same(stack_pipeline, tmp_path, monkeypatch):
    """A Pipeline(SpacyTokenizer, stack) folder saved before SpacyTokenizer had ``unicode_form`` (commit
    6333426 and older) loads with unicode_form=None, the setting it was fitted with: it predicts the same,
    get_params/clone work and it saves again. Before, skops restored the tokenizer without the attribute and
    every prediction raised AttributeError in the tokenizer's parameter validation."""
    pipe, other = stack_pipeline
    expected = pipe.predict_proba(other)
    with monkeypatch.context() as patch:
        patch.setattr(SpacyTokenizer, "__getstate__", _state_without("unicode_form"), raising=False)
        save_model(pipe, tmp_path / "old")
    with zipfile.ZipFile(tmp_path / "old" / "model.skops") as archive:  # the folder really holds the old state
        schema = archive.read("schema.json")
    assert b'"strip_html"' in schema and b'"unicode_form"' not in schema

    loaded = load_model(tmp_path / "old")
    np.testing.assert_array_equal(loaded.predict_proba(other), expected)
    assert loaded[0].get_params()["unicode_form"] is None and clone(loaded)[0].unicode_form is None
    save_model(loaded, tmp_path / "again")
    np.testing.assert_array_equal(load_model(tmp_path / "again").predict_proba(other), expected)


def test_pipeline_pickled_before_unicode_form_predicts_the_same(stack_pipeline, monkeypatch):
    """A pipeline pickled (joblib) before ``unicode_form`` existed: unpickling bypasses load_model, so only
    SpacyTokenizer itself can fill the parameter in (its ``__setstate__``); prediction raised AttributeError."""
    pipe, other = stack_pipeline
    with monkeypatch.context() as patch:
        patch.setattr(SpacyTokenizer, "__getstate__", _state_without("unicode_form"), raising=False)
        data = pickle.dumps(pipe)
    np.testing.assert_array_equal(pickle.loads(data).predict_proba(other), pipe.predict_proba(other))


@pytest.mark.parametrize("architecture", ["bag", "nbsvm"])
def test_embedding_classifier_state_from_before_the_fork_guard_predicts_the_same(imdb_tokens, architecture):
    """An EmbeddingClassifier pickled before the fork guard (no ``_model_pid``) and, for an NB architecture,
    before its weights were pickled as arrays (no ``_nb_weights``): it predicts the same in this process,
    records this process as its model's; one that predicts through Keras is refused in a fork (the guard reads
    the recorded id)."""
    docs, labels = imdb_tokens
    if architecture == "nbsvm":
        docs = [doc + [f"{a} {b}" for a, b in itertools.pairwise(doc)] for doc in docs]
    clf = EmbeddingClassifier(architecture=architecture, epochs=1, batch_size=32, maxlen=200 if architecture == "bag"
                              else None, validation_split=0.0, random_state=0).fit(docs[:200], labels[:200])
    expected = clf.predict_proba(docs[200:260])
    state = clf.__getstate__()
    state.pop("_nb_weights", None)  # the state such a pickle carries
    assert "_model_pid" not in state
    old = EmbeddingClassifier.__new__(EmbeddingClassifier)
    old.__setstate__(state)
    np.testing.assert_allclose(old.predict_proba(docs[200:260]), expected, rtol=0, atol=1e-6)
    assert old.__dict__.get("_model_pid") == os.getpid()  # its model_ was rebuilt by this process
    restored = pickle.loads(pickle.dumps(old))  # pickled again by today's code
    np.testing.assert_allclose(restored.predict_proba(docs[200:260]), expected, rtol=0, atol=1e-6)
    if architecture == "bag":  # predicts through Keras: refused in a fork, as a model fitted there
        restored._model_pid = os.getpid() + 1  # as a forked child sees it
        with pytest.raises(RuntimeError, match="is a fork of it"):
            restored.predict_proba(docs[200:201])


def _toolkit_estimator_classes():
    """Every estimator class the toolkit defines (public or not), found by walking its modules."""
    import importlib
    import inspect
    import pkgutil

    import toolkit

    found = {}
    for info in pkgutil.walk_packages(toolkit.__path__, "toolkit."):
        if info.name.startswith("toolkit.cli") or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseEstimator) and cls.__module__.startswith("toolkit."):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


ESTIMATOR_CLASSES = _toolkit_estimator_classes()
#: parameters whose default changed after they existed: a state without one was fitted with its old default
OLD_DEFAULTS = {("NBSVMClassifier", "alpha_scaling"): None, ("StackedTextClassifier", "alpha_scaling"): None}


def test_the_walk_finds_the_estimators():
    names = {cls.__name__ for cls in ESTIMATOR_CLASSES}
    assert {"EmbeddingClassifier", "DocVectorizer", "WordClusterer", "BagEncoder", "EmbeddingVectorizer",
            "PseudoLabelClassifier", "NegationMarker"} <= names


@pytest.mark.parametrize("cls", ESTIMATOR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_estimator_unpickles_a_state_from_before_each_of_its_parameters(cls):
    """Each toolkit estimator, unpickled from a state without one of its parameters (a pickle from before the
    parameter existed), gets the parameter's default, so get_params, clone and repr work. Before, only
    SpacyTokenizer, NBSVMClassifier, NBFeatureScaler and StackedTextClassifier filled them in (and
    load_model, for skops folders): the eleven others failed in get_params with AttributeError."""
    import inspect

    from sklearn.linear_model import LogisticRegression

    required = {"estimator": LogisticRegression()}
    params = {name: p for name, p in inspect.signature(cls.__init__).parameters.items()
              if name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    estimator = cls(**{name: required[name] for name, p in params.items() if p.default is p.empty})
    defaults = {name: p.default for name, p in params.items() if p.default is not p.empty}
    assert defaults, cls
    for name, default in defaults.items():
        state = {k: v for k, v in estimator.__getstate__().items() if k != name}
        old = pickle.loads(pickle.dumps(estimator))
        old.__dict__.clear()
        old.__setstate__(state)
        got = old.get_params(deep=False)[name]
        expected = OLD_DEFAULTS.get((cls.__name__, name), default)
        assert got is expected or got == expected, (cls.__name__, name)
        assert list(vars(old))[-1] == name  # after the saved entries, whose order is kept
        clone(old)


def test_fitted_encoder_pickled_before_a_parameter_transforms_the_same(imdb_tokens, monkeypatch):
    """A fitted BagEncoder pickled without one of its parameters (``dtype``, as a pickle from before it would
    be) transforms the same documents to the same matrix."""
    from toolkit.text import BagEncoder

    docs, _ = imdb_tokens
    encoder = BagEncoder(max_tokens=500).fit(docs[:100])
    name = next(iter(encoder.get_params()))
    with monkeypatch.context() as patch:
        patch.setattr(BagEncoder, "__getstate__", _state_without(name), raising=False)
        data = pickle.dumps(encoder)
    old = pickle.loads(data)
    assert old.get_params()[name] == BagEncoder().get_params()[name]
    assert (old.transform(docs[100:140]) != encoder.transform(docs[100:140])).nnz == 0

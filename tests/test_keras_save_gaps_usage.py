"""Gaps a Keras power user hit with EmbeddingClassifier and save_model / load_model.

Each test replays what such a user did on real IMDB reviews (tiny models) and
pins the behaviour that was missing: a Keras optimizer instance or a
learning-rate schedule as a parameter of a saved model, a mixed-precision
policy for fits that run in joblib's threads, and ``clear_session()`` called
in one thread while another fits.
"""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.base import clone

from toolkit.exceptions import ModelFormatError
from toolkit.models import EmbeddingClassifier, load_model, save_model
from toolkit.models.persistence import _write_checksums

keras = pytest.importorskip("keras")

TINY = {"max_tokens": 2000, "maxlen": 50, "embedding_dim": 8, "epochs": 2, "batch_size": 32, "random_state": 0}


def tiny(**params):
    return EmbeddingClassifier(**{**TINY, **params})


@pytest.fixture(scope="module")
def docs(imdb_tokens200):
    """200 real reviews as token lists, with their 'neg'/'pos' labels."""
    return imdb_tokens200


def _config_without_name(obj):
    config = keras.saving.serialize_keras_object(obj)
    config["config"].pop("name", None)
    return config


def _resave(folder, edit):
    """Edit config.json's parameters and reseal the folder (what a forger or a buggy writer produces)."""
    config = json.loads((folder / "config.json").read_text())
    edit(config["params"])
    (folder / "config.json").write_text(json.dumps(config))
    _write_checksums(folder)


# ------------------------------------------------------------------ Keras objects as parameters of a saved model
def test_keras_save_gaps_optimizer_instance_saves_loads_and_refits_the_same(docs, tmp_path):
    """save_model refused optimizer=keras.optimizers.AdamW(...) ("Cannot save parameter 'optimizer'... to JSON";
    the docs said to set a name). It is stored as Keras' JSON config and rebuilt in safe mode: the loaded
    estimator has an optimizer of the same config, clones, and refits to the same bits as the original."""
    X, y = docs
    keras.optimizers.AdamW(0.1)  # another AdamW made before: Keras numbers the next one's name ("adam_w_1")
    template = keras.optimizers.AdamW(1e-3, weight_decay=1e-4)
    clf = tiny(optimizer=template).fit(X[:150], y[:150])
    save_model(clf, tmp_path / "model")
    stored = json.loads((tmp_path / "model" / "config.json").read_text())["params"]["optimizer"]
    assert stored["__keras__"]["class_name"] == "AdamW" and stored["__keras__"]["config"]["weight_decay"] == 1e-4
    assert stored["__keras__"]["config"]["name"] == "adam_w"  # not this process's "adam_w_1": same bytes anywhere

    loaded = load_model(tmp_path / "model")
    optimizer = loaded.get_params()["optimizer"]
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer is not template and not optimizer.built
    assert _config_without_name(optimizer) == _config_without_name(template)
    np.testing.assert_array_equal(loaded.predict_proba(X[150:]), clf.predict_proba(X[150:]))

    expected = clone(clf).fit(X[:150], y[:150]).predict_proba(X[150:])
    np.testing.assert_array_equal(clone(loaded).fit(X[:150], y[:150]).predict_proba(X[150:]), expected)
    np.testing.assert_array_equal(loaded.fit(X[:150], y[:150]).predict_proba(X[150:]), expected)
    assert not template.built and not optimizer.built  # templates, never trained


@pytest.mark.parametrize("where", ["learning_rate", "optimizer"])
def test_keras_save_gaps_schedule_saves_loads_and_refits_the_same(docs, tmp_path, where):
    """A schedule as learning_rate, or inside an optimizer instance, was refused by save_model too."""
    X, y = docs
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.8)
    params = ({"optimizer": "sgd", "learning_rate": schedule} if where == "learning_rate"
              else {"optimizer": keras.optimizers.SGD(schedule, momentum=0.9)})
    clf = tiny(**params).fit(X[:150], y[:150])
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    value = loaded.get_params()[where]
    # (an optimizer's name as Keras numbered it in this process, "sgd_1", is saved unnumbered: not compared)
    assert _config_without_name(value) == _config_without_name(params[where])
    np.testing.assert_array_equal(loaded.predict_proba(X[150:]), clf.predict_proba(X[150:]))
    np.testing.assert_array_equal(clone(loaded).fit(X[:150], y[:150]).predict_proba(X[150:]),
                                  clone(clf).fit(X[:150], y[:150]).predict_proba(X[150:]))


class _HalvedRate(keras.optimizers.schedules.LearningRateSchedule):
    """A user's own schedule, not registered with Keras."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, step):
        return self.rate * 0.5

    def get_config(self):
        return {"rate": self.rate}


def test_keras_save_gaps_unregistered_class_is_refused_at_save(docs, tmp_path):
    """An unregistered class of the user's own cannot be rebuilt by load_model: save_model says so, naming the
    class and register_keras_serializable, and writes nothing."""
    X, y = docs
    clf = tiny(optimizer="sgd", learning_rate=_HalvedRate(0.2), epochs=1).fit(X[:100], y[:100])
    with pytest.raises(TypeError, match=r"parameter 'learning_rate' of EmbeddingClassifier: Keras does not know "
                                        r"the class _HalvedRate .*register_keras_serializable"):
        save_model(clf, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_keras_save_gaps_class_unknown_at_load_is_named(docs, tmp_path, monkeypatch):
    """A registered class that the loading process has not imported: load_model names the class and the fix."""
    X, y = docs

    @keras.saving.register_keras_serializable(package="toolkit_test_gaps")
    class QuarterRate(_HalvedRate):
        def __call__(self, step):
            return self.rate * 0.25

    clf = tiny(optimizer="sgd", learning_rate=QuarterRate(0.2), epochs=1).fit(X[:100], y[:100])
    save_model(clf, tmp_path / "model")
    assert type(load_model(tmp_path / "model").learning_rate) is QuarterRate
    # a fresh process that has not imported the module defining it
    monkeypatch.delitem(keras.saving.get_custom_objects(), "toolkit_test_gaps>QuarterRate")
    with pytest.raises(ModelFormatError, match=r"config\.json stores parameter 'learning_rate' as a Keras object, "
                                               r"and Keras does not know the class QuarterRate \(registered name "
                                               r"'toolkit_test_gaps>QuarterRate'\).*Import the module .*"
                                               r"register_keras_serializable"):
        load_model(tmp_path / "model")


@pytest.fixture(scope="module")
def saved_with_optimizer(docs, tmp_path_factory):
    X, y = docs
    clf = tiny(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), epochs=1).fit(X[:100], y[:100])
    return save_model(clf, tmp_path_factory.mktemp("saved") / "model")


def test_keras_save_gaps_edited_optimizer_config_is_refused(saved_with_optimizer, tmp_path):
    """The folder digest covers the stored config; a resealed edit gets Keras' safe mode and a type check."""
    folder = shutil.copytree(saved_with_optimizer, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["params"]["optimizer"]["__keras__"]["config"]["momentum"] = 0.5
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match=r"config\.json does not match the SHA-256"):
        load_model(folder)

    _resave(folder, lambda p: p.update(optimizer={"__keras__": keras.saving.serialize_keras_object(
        keras.layers.Dense(2))}))
    with pytest.raises(ModelFormatError, match=r"stores parameter 'optimizer' as a Dense, not a "
                                               r"keras\.optimizers\.Optimizer"):
        load_model(folder)

    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"function": {"class_name": "__lambda__", "config": {"value": "x"}}}}
    _resave(folder, lambda p: p.update(optimizer={"__keras__": lambda_layer}))
    with pytest.raises(ModelFormatError, match=r"Keras object that Keras cannot rebuild in safe mode"):
        load_model(folder)

    _resave(folder, lambda p: p.update(epochs={"__keras__": p["optimizer"]["__keras__"]}))
    with pytest.raises(ModelFormatError, match=r"stores parameter 'epochs' as a Keras object, which it cannot be"):
        load_model(folder)


# ------------------------------------------------------------------ mixed precision in joblib's threads
def _embedding_and_output_policies(clf):
    model = clf.model_
    return model.get_layer("embedding").dtype_policy.name, model.get_layer("output").dtype_policy.name


def test_keras_save_gaps_dtype_policy_reaches_fits_in_joblib_threads(docs, tmp_path):
    """A policy set with keras.mixed_precision.set_global_policy in the main thread is not seen by fits in
    joblib's threads (Keras keeps it per thread): they trained in float32. dtype_policy goes with the estimator
    (clone, save_model) to every fit, and leaves each thread's own policy as it was."""
    X, y = docs
    clf = tiny(dtype_policy="mixed_float16", epochs=1)

    def fit(estimator):
        before = keras.config.dtype_policy().name
        fitted = clone(estimator).fit(X[:100], y[:100])
        return _embedding_and_output_policies(fitted), before, keras.config.dtype_policy().name

    results = Parallel(n_jobs=2, backend="threading")(delayed(fit)(clf) for _ in range(2))
    assert results == [(("mixed_float16", "float32"), "float32", "float32")] * 2
    assert keras.config.dtype_policy().name == "float32"

    fitted = clf.fit(X[:100], y[:100])
    proba = fitted.predict_proba(X[100:])[:, 1]
    assert not np.array_equal(proba, proba.astype(np.float16))  # float32 probabilities
    save_model(fitted, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.dtype_policy == "mixed_float16"
    assert _embedding_and_output_policies(loaded) == ("mixed_float16", "float32")
    np.testing.assert_array_equal(loaded.predict_proba(X[100:])[:, 1], proba)


def test_keras_save_gaps_dtype_policy_overrides_the_thread_policy_and_restores_it(docs):
    """dtype_policy wins over the fitting thread's global policy for that fit only; None keeps using the
    thread's own (the policy a user set where the fit runs)."""
    X, y = docs
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        assert _embedding_and_output_policies(tiny(epochs=1).fit(X[:100], y[:100])) == \
            ("mixed_bfloat16", "float32")
        assert _embedding_and_output_policies(tiny(epochs=1, dtype_policy="float32").fit(X[:100], y[:100])) == \
            ("float32", "float32")
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(ValueError, match=r"The 'dtype_policy' parameter of EmbeddingClassifier must be a Keras "
                                         r"dtype policy name such as 'mixed_float16'.* Got 'half' instead"):
        tiny(dtype_policy="half").fit(X[:100], y[:100])


def test_keras_save_gaps_thread_without_dtype_policy_keeps_its_own(docs):
    """What dtype_policy=None means in another thread: that thread's policy, not the main thread's (Keras'
    rule, stated in the docstring)."""
    X, y = docs
    seen = []
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        worker = threading.Thread(target=lambda: seen.append(
            _embedding_and_output_policies(tiny(epochs=1).fit(X[:100], y[:100]))))
        worker.start()
        worker.join(timeout=300)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert not worker.is_alive() and seen == [("float32", "float32")]


def test_keras_save_gaps_model_fitted_under_a_global_mixed_policy_loads_in_float32(docs, tmp_path):
    """A model fitted under a global "mixed_float16" policy (its optimizer a LossScaleOptimizer) loaded in a
    float32 thread with Keras' "Skipping variable loading for optimizer" warning (an error under -W error):
    it is loaded under the policy its layers were saved with, in the loading thread only."""
    X, y = docs
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        clf = tiny(epochs=1).fit(X[:100], y[:100])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert type(loaded.model_.optimizer).__name__ == "LossScaleOptimizer"
    assert keras.config.dtype_policy().name == "float32"
    np.testing.assert_array_equal(loaded.predict_proba(X[100:]), clf.predict_proba(X[100:]))


# ------------------------------------------------------------------ clear_session() while another thread fits
@pytest.fixture
def clearing_architecture():
    """A "bag" whose builder calls keras.backend.clear_session() between two layers: what a clear_session() in
    another thread does to a fit that is building its model (it replaces Keras' per-thread state of every
    thread), made deterministic."""
    from toolkit.models import builders

    @builders.register_architecture("bag_cleared_midway")
    def bag_cleared_midway(inputs, spec):
        x = builders.embed(inputs, spec, mask_zero=True)
        keras.backend.clear_session(free_memory=False)
        x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
        return builders.output_layer(x, spec)

    yield "bag_cleared_midway"
    builders.unregister_architecture("bag_cleared_midway")
    keras.mixed_precision.set_global_policy("float32")


def test_keras_save_gaps_state_reset_while_building_is_refused(docs, clearing_architecture):
    """A reset during the build gave, silently, a model whose first layers were mixed_float16 and the others
    float32 (a fit in a thread beside a loop of clear_session() calls: other probabilities than without it).
    The fit now says what happened; without a policy to lose (float32) the reset changes nothing and the fit
    goes on."""
    X, y = docs
    with pytest.raises(RuntimeError, match=r"Keras' global state was reset while EmbeddingClassifier built its "
                                           r"model: the dtype policy in force went from 'mixed_float16' to "
                                           r"'float32'.*clear_session\(\)"):
        tiny(architecture=clearing_architecture, dtype_policy="mixed_float16", epochs=1).fit(X[:100], y[:100])
    keras.mixed_precision.set_global_policy("mixed_float16")  # the user's own policy: lost the same way
    with pytest.raises(RuntimeError, match=r"went from 'mixed_float16' to 'float32'"):
        tiny(architecture=clearing_architecture, epochs=1).fit(X[:100], y[:100])
    assert keras.config.dtype_policy().name == "float32"
    fitted = tiny(architecture=clearing_architecture, epochs=1).fit(X[:100], y[:100])
    assert {layer.dtype_policy.name for layer in fitted.model_.layers} == {"float32"}

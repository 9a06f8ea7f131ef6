"""EmbeddingClassifier driven the way a Keras user drives a Keras model.

Each test replays something a Keras power user did on real IMDB reviews (tiny
models: a small vocabulary, embedding_dim 8, a few epochs): their own
callbacks, an optimizer instance or a learning-rate schedule, a global
mixed-precision policy, Keras' verbose output, the fitted Keras model used on
its own, a backend that is not installed. Each pins the behaviour found wrong
or missing.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from toolkit.models import EmbeddingClassifier

keras = pytest.importorskip("keras")

TINY = {"max_tokens": 2000, "maxlen": 50, "embedding_dim": 8, "epochs": 2, "batch_size": 32, "random_state": 0}
ROOT = Path(__file__).resolve().parents[1]


def tiny(**params):
    return EmbeddingClassifier(**{**TINY, **params})


@pytest.fixture(scope="module")
def docs(imdb_tokens200):
    """200 real reviews as token lists, with their 'neg'/'pos' labels."""
    return imdb_tokens200


class _Recorder(keras.callbacks.Callback):
    """Records the calls Keras makes (a module-level class: picklable, as a user's own callback would be)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.params["epochs"]))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


# ------------------------------------------------------------------ the user's own callbacks
def test_keras_callbacks_see_one_training_of_all_epochs(docs, tmp_path):
    """callbacks=[...] did not exist (TypeError). The estimator calls model.fit once per epoch; the callbacks
    must still see one training: on_train_begin/on_train_end once, epochs numbered 0..epochs-1, and a
    CSVLogger file with one row per epoch (called per model.fit, it rewrote its file every epoch)."""
    X, y = docs
    log = tmp_path / "log.csv"
    clf = tiny(epochs=3, patience=None, callbacks=[_Recorder(), keras.callbacks.CSVLogger(str(log))])
    clf.fit(X, y)
    recorder = clf.callbacks_[0]
    assert recorder.calls[0] == ("train_begin", 3)
    assert recorder.calls[-1] == ("train_end",)
    assert [c[1] for c in recorder.calls[1:-1]] == [0, 1, 2]
    assert recorder.calls[1][2] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    with open(log, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    np.testing.assert_allclose([float(row["loss"]) for row in rows], clf.history_["loss"], rtol=1e-6)


def test_keras_callback_that_stops_training_ends_the_fit(docs):
    """A callback's model.stop_training (EarlyStopping on its own metric) ends training after that epoch,
    beside the estimator's own early stopping; its restore_best_weights has the last word."""
    X, y = docs
    # the loss never falls by 10: EarlyStopping stops at the first epoch it may (epoch 1)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=0, restore_best_weights=True)
    clf = tiny(epochs=5, patience=None, validation_split=0.0, callbacks=[stopper]).fit(X, y)
    assert len(clf.history_["loss"]) == 2
    ran = clf.callbacks_[0]
    assert ran.stopped_epoch == 1
    # its best epoch is 0 (the first value seen): the weights are epoch 0's, whatever the estimator restored
    np.testing.assert_array_equal(clf.model_.get_weights()[0], ran.best_weights[0])


def test_keras_callback_logs_reach_history(docs):
    """What a callback adds to the epoch's logs (ReduceLROnPlateau's "learning_rate") is in history_, as in
    model.fit's History, and the rate it lowered is the one the next epoch trains with."""
    X, y = docs
    # val_loss never falls by 10: after the first epoch (the first value is the best), each epoch logs the
    # rate it trained with, then halves it
    reducer = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0, min_delta=10.0)
    clf = tiny(epochs=3, patience=None, optimizer="sgd", learning_rate=0.1, callbacks=[reducer]).fit(X, y)
    np.testing.assert_allclose(clf.history_["learning_rate"], [0.1, 0.1, 0.05], rtol=1e-6)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.025)


def test_keras_callbacks_are_templates_for_clone_pickle_and_refit(docs, tmp_path):
    """Each fit trains with deep copies: the objects passed stay unused, so a fitted estimator with a
    CSVLogger (whose used copy holds a closed file, which neither copy.deepcopy nor pickle take) still clones
    and pickles; the copies that ran are callbacks_, without the model, and are not pickled."""
    X, y = docs
    recorder, logger_cb = _Recorder(), keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    clf = tiny(callbacks=[recorder, logger_cb]).fit(X, y)
    assert recorder.calls == [] and recorder.model is None
    assert clf.callbacks_[0] is not recorder and len(clf.callbacks_[0].calls) == 4
    assert all(cb.model is None for cb in clf.callbacks_)

    copy_of_fitted = clone(clf)
    assert [type(cb) for cb in copy_of_fitted.callbacks] == [_Recorder, keras.callbacks.CSVLogger]

    restored = pickle.loads(pickle.dumps(clf))
    assert "callbacks_" not in vars(restored)
    assert [type(cb) for cb in restored.callbacks] == [_Recorder, keras.callbacks.CSVLogger]
    np.testing.assert_allclose(restored.predict_proba(X[:5]), clf.predict_proba(X[:5]))

    first = clf.callbacks_[0]
    clf.fit(X, y)  # a refit starts from fresh copies
    assert clf.callbacks_[0] is not first and len(clf.callbacks_[0].calls) == 4


def test_keras_callbacks_refuse_a_class_instead_of_an_instance(docs):
    X, y = docs
    with pytest.raises(TypeError, match=r"callbacks\[0\] of EmbeddingClassifier is the class EarlyStopping, "
                                        r"not a callback: pass an instance, such as EarlyStopping\(\)"):
        tiny(callbacks=[keras.callbacks.EarlyStopping]).fit(X, y)
    with pytest.raises(TypeError, match=r"callbacks\[1\] of EmbeddingClassifier must be a "
                                        r"keras.callbacks.Callback instance; got 'csv'"):
        tiny(callbacks=[_Recorder(), "csv"]).fit(X, y)


def test_keras_verbose_2_numbers_the_epochs(docs, capsys):
    """verbose=2 printed one metrics line per epoch without saying which epoch (Keras saw epochs=1 each time)."""
    X, y = docs
    tiny(epochs=3, patience=None, verbose=2).fit(X, y)
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("Epoch")] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert out.count("val_loss") == 3


# ------------------------------------------------------------------ optimizers and schedules
def test_keras_optimizer_instance_serves_refits_and_clones(docs):
    """optimizer=keras.optimizers.SGD(...) was refused (a str only). A Keras optimizer serves one model: the
    estimator trains each model with a copy, so fitting twice and cloning work and the instance stays unbuilt."""
    X, y = docs
    template = keras.optimizers.SGD(0.2, momentum=0.9)
    clf = tiny(optimizer=template).fit(X, y)
    first = clf.predict_proba(X[:5])
    used = clf.model_.optimizer
    assert isinstance(used, keras.optimizers.SGD) and used is not template and used.momentum == 0.9
    assert used.name == "sgd"  # not Keras' per-process "sgd_3": the same fit saves the same bytes in any process
    assert float(used.learning_rate) == pytest.approx(0.2)
    assert not template.built

    np.testing.assert_allclose(clf.fit(X, y).predict_proba(X[:5]), first, rtol=1e-5)  # same instance, refit
    np.testing.assert_allclose(clone(clf).fit(X, y).predict_proba(X[:5]), first, rtol=1e-5)

    # learning_rate replaces the instance's rate
    assert float(tiny(optimizer=template, learning_rate=0.05).fit(X, y).model_.optimizer.learning_rate) == \
        pytest.approx(0.05)


def test_keras_loss_scale_optimizer_inner_name_is_unnumbered(docs):
    """optimizer=LossScaleOptimizer(Adam()) kept the inner optimizer's per-process name ("adam_3") in the fitted
    model, so the same fit saved different bytes in two processes; the wrapper's own name was already unnumbered."""
    X, y = docs
    for _ in range(3):  # this process has numbered Adam names before ours
        keras.optimizers.Adam()
    template = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01))
    assert template.inner_optimizer.name.startswith("adam_")
    used = tiny(optimizer=template).fit(X, y).model_.optimizer
    assert isinstance(used, keras.optimizers.LossScaleOptimizer) and used is not template
    assert (used.name, used.inner_optimizer.name) == ("loss_scale_optimizer", "adam")
    assert float(used.inner_optimizer.learning_rate) == pytest.approx(0.01)
    assert keras.optimizers.Adam(name="my_adam").name == "my_adam"  # a chosen name is the user's: kept
    chosen = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01, name="adam_7x"))
    assert tiny(optimizer=chosen).fit(X, y).model_.optimizer.inner_optimizer.name == "adam_7x"


def test_keras_learning_rate_schedule(docs):
    """learning_rate=keras.optimizers.schedules.ExponentialDecay(...) was refused (a float only)."""
    X, y = docs
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    clf = tiny(optimizer="sgd", learning_rate=schedule, validation_split=0.0, patience=None).fit(X, y)
    steps = int(clf.model_.optimizer.iterations.numpy())
    assert steps == 2 * int(np.ceil(len(X) / TINY["batch_size"]))
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.1 * 0.5**steps)
    with pytest.raises(ValueError, match="'learning_rate' parameter of EmbeddingClassifier must be a float in "
                                         r"the range \(0, inf\), a keras.optimizers.schedules"):
        tiny(learning_rate="fast").fit(X, y)


# ------------------------------------------------------------------ global Keras settings
def test_keras_mixed_precision_policy_keeps_probabilities_in_float32(docs):
    """Under keras.mixed_precision.set_global_policy("mixed_float16") the output layer computed in float16:
    predict_proba came in steps of ~5e-4 (0.4794921875...). Keras' guide keeps the output layer in float32."""
    X, y = docs
    before = keras.config.dtype_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        clf = tiny().fit(X, y)
    finally:
        keras.mixed_precision.set_global_policy(before)
    assert clf.model_.get_layer("embedding").dtype_policy.compute_dtype == "float16"  # the user's policy
    assert clf.model_.get_layer("output").dtype_policy.compute_dtype == "float32"
    proba = clf.predict_proba(X[:20])[:, 1]
    assert not np.array_equal(proba, proba.astype(np.float16))


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None, reason="jax is installed here")
def test_keras_backend_that_is_not_installed_is_named(tmp_path):
    """KERAS_BACKEND=jax without jax failed deep inside Keras with "No module named 'jax'"."""
    script = ("from toolkit.models import EmbeddingClassifier\n"
              "EmbeddingClassifier(epochs=1).fit([['good', 'film'], ['bad', 'film']] * 3, [1, 0] * 3)\n")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120, check=False)
    assert result.returncode != 0
    assert "DependencyError: Keras cannot load its backend: 'jax' is not installed, and KERAS_BACKEND='jax'" \
        in result.stderr
    assert "KERAS_BACKEND=tensorflow" in result.stderr


# ------------------------------------------------------------------ the fitted Keras model on its own
@pytest.mark.parametrize("architecture", ["bag", "nbsvm"])
def test_keras_model_inputs_feed_the_fitted_model(docs, tmp_path, architecture):
    """There was no public way to turn documents into what model_ takes; model_inputs gives it, and the
    model saved with Keras' own model_.save predicts the same from it."""
    X, y = docs
    clf = tiny(architecture=architecture).fit(X, y)
    ids = clf.model_inputs(X[:30] + [[]])
    assert ids.shape == (31, clf.maxlen_) and ids.dtype == np.int32
    assert not ids[-1].any()  # a document without tokens: all padding
    expected = clf.predict_proba(X[:30])[:, 1]
    np.testing.assert_allclose(clf.model_.predict(ids[:30], verbose=0).ravel(), expected, atol=1e-6)
    clf.model_.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(ids[:30], verbose=0).ravel(), expected, atol=1e-6)


def test_keras_model_with_callbacks_saves_and_loads_without_them(docs, tmp_path):
    """save_model refused an estimator with callbacks ("Cannot save parameter 'callbacks'... to JSON"); the
    fitted model does not depend on them, so they are saved as None and the loaded model predicts the same."""
    from toolkit.models import load_model, save_model

    X, y = docs
    clf = tiny(callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=3)]).fit(X[:150], y[:150])
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.callbacks is None and clf.callbacks is not None
    np.testing.assert_allclose(loaded.predict_proba(X[150:]), clf.predict_proba(X[150:]), rtol=0, atol=1e-6)

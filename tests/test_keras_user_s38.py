"""EmbeddingClassifier used as a Keras user uses model.fit (session 38).

Each test pins a problem found by fitting the estimator as one would fit a
Keras model (callbacks, schedules, fine-tuning) on small real IMDB samples.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_vectors

from toolkit.models import EmbeddingClassifier

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def docs(imdb_tokens):
    """240 real reviews (token lists) and their 'neg'/'pos' labels."""
    tokens, labels = imdb_tokens
    return tokens[:240], np.asarray(labels[:240])


@pytest.mark.slow
def test_keras_user_s38_best_epoch_is_the_epoch_early_stopping_restored(docs):
    # EarlyStopping(monitor="loss", restore_best_weights=True) restores the epoch of the lowest training
    # loss when training ends, replacing the estimator's best-val_loss weights; best_epoch_ named the
    # estimator's epoch although the model held the callback's ("Index of the epoch whose weights were kept")
    X, y = docs
    params = {"architecture": "bag", "maxlen": 150, "random_state": 0, "patience": None,
              "validation_split": 0.25, "learning_rate": 0.1}
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True)
    clf = EmbeddingClassifier(epochs=6, callbacks=[stopper], **params).fit(X, y)
    ran = clf.callbacks_[0]
    assert ran.best_epoch == int(np.argmin(clf.history_["loss"]))
    # the two choices differ on this sample (the training loss still falls when val_loss has turned)
    assert int(np.argmin(clf.history_["val_loss"])) != ran.best_epoch
    assert clf.best_epoch_ == ran.best_epoch
    for a, b in zip(clf.model_.get_weights(), ran.best_weights):
        np.testing.assert_array_equal(a, b)


class _Rates(keras.callbacks.Callback):
    """Records the learning rate (and step count) each epoch starts with."""

    def __init__(self):
        super().__init__()
        self.rates, self.steps = [], []

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
        self.steps.append(int(keras.ops.convert_to_numpy(optimizer.iterations)))


@pytest.mark.slow
def test_keras_user_s38_finetune_goes_on_with_the_schedule_at_a_tenth(docs, tmp_path):
    # trainable="finetune" with learning_rate=ExponentialDecay(...): after the unfreeze the rate was the
    # schedule's value at that step times 0.1, constant for every later epoch (the decay stopped); "trained
    # with the learning rate times 0.1" means the schedule goes on, times 0.1
    X, y = docs
    words = sorted({w for doc in X for w in doc})
    vectors = write_vectors(tmp_path / "vectors.txt", words, dim=8)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)
    rates = _Rates()
    clf = EmbeddingClassifier(architecture="bag", vectors=str(vectors), trainable="finetune", frozen_epochs=1,
                              epochs=3, patience=None, maxlen=100, batch_size=64, random_state=0,
                              learning_rate=schedule, callbacks=[rates]).fit(X, y)
    ran = clf.callbacks_[0]
    steps_per_epoch = int(np.ceil(len(X) * 0.9 / 64))  # validation_split=0.1 holds out 24 of 240
    expected = [0.01 * 0.5 ** (epoch * steps_per_epoch / 2) for epoch in range(3)]
    expected = [expected[0]] + [0.1 * rate for rate in expected[1:]]
    np.testing.assert_allclose(ran.rates, expected, rtol=1e-5)
    assert ran.rates[2] < ran.rates[1]  # still decaying after the unfreeze
    # the fitted model (its optimizer's schedule included) saves and loads
    from toolkit.models import load_model, save_model

    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(X[:20]), clf.predict_proba(X[:20]), atol=1e-6)


def test_keras_user_s38_keras_fit_arguments_say_where_they_go(docs):
    # clf.fit(X, y, epochs=3, validation_data=(X_val, y_val)) as with model.fit raised Python's bare "got an
    # unexpected keyword argument 'epochs'": the message now names the estimator's parameter, and says that
    # validation comes from validation_split (and held-out data is scored after fit)
    X, y = docs
    clf = EmbeddingClassifier(architecture="bag", maxlen=50, epochs=1)
    with pytest.raises(TypeError, match=r"'batch_size', 'epochs'.*EmbeddingClassifier\(batch_size=32, epochs=3"):
        clf.fit(X, y, epochs=3, batch_size=32)
    with pytest.raises(TypeError, match=r"no validation_data: fit holds out validation_split.*clf\.score\(X_val"):
        clf.fit(X[:200], y[:200], validation_data=(X[200:], y[200:]))
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'nonsense'\.$"):
        clf.fit(X, y, nonsense=1)
    assert not hasattr(clf, "history_")  # nothing was fitted


def test_keras_user_s38_keras_model_attributes_point_to_the_estimators(docs):
    # history = clf.fit(...); history.history["loss"] (the Keras habit) and clf.summary() raised a bare
    # AttributeError; the message now names history_ and model_; hasattr stays False, as for any attribute
    X, y = docs
    history = EmbeddingClassifier(architecture="bag", maxlen=50, epochs=1, random_state=0).fit(X, y)
    with pytest.raises(AttributeError, match=r"no attribute 'history'\. fit returns the estimator.*history_"):
        history.history  # noqa: B018
    assert set(history.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    with pytest.raises(AttributeError, match=r"clf\.model_\.summary\(\)"):
        history.summary()
    assert not hasattr(history, "evaluate") and not hasattr(history, "history")
    with pytest.raises(AttributeError, match=r"^'EmbeddingClassifier' object has no attribute 'nonsense'$"):
        history.nonsense  # noqa: B018
    with pytest.raises(AttributeError, match=r"no attribute 'model_'$"):
        EmbeddingClassifier().model_  # noqa: B018

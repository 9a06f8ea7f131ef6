"""EmbeddingClassifier's early stopping, validation split and divergence check (session 48, small real IMDB samples).

- ``validation_split=0`` with ``patience``: early stopping goes by the training loss (as documented); ``fit`` now logs
  a note saying so (before: nothing said that patience would seldom stop anything).
- ``validation_split`` that leaves fewer training documents than classes is refused naming the counts (before: a
  silent fit on one class); a share over one half logs a WARNING asking whether the training share was meant; held-out
  rows that miss a class log a WARNING; a split whose training rows miss a class swaps one row in.
- ``trainable="finetune"``: early stopping counts from the unfreeze (before: it could end the fit during the frozen
  epochs, and the vectors were never trained).
- A training that exploded to huge but finite weights (``learning_rate=1e3``) is refused as diverged (before: fitted,
  every probability 0 or 1).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from toolkit.models import EmbeddingClassifier

SMALL = {"max_tokens": 2000, "maxlen": 30, "embedding_dim": 8, "epochs": 1, "batch_size": 64, "random_state": 0}
LOGGER = "toolkit.models.classifier"


def test_classifier_validation_split_zero_says_patience_goes_by_the_training_loss(imdb_tokens200, caplog):
    X, y = imdb_tokens200
    with caplog.at_level(logging.INFO, logger=LOGGER):
        clf = EmbeddingClassifier(**{**SMALL, "epochs": 3}, validation_split=0.0).fit(X[:60], y[:60])
    assert ("validation_split=0: early stopping (patience=2) goes by the training loss, which seldom stops falling, "
            "so training runs up to epochs=3") in caplog.text
    assert "val_loss" not in clf.history_ and len(clf.history_["loss"]) == 3
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):  # nothing to say: one epoch, or no early stopping
        EmbeddingClassifier(**SMALL, validation_split=0.0).fit(X[:60], y[:60])
        EmbeddingClassifier(**{**SMALL, "epochs": 2}, validation_split=0.0, patience=None).fit(X[:60], y[:60])
    assert "goes by the training loss" not in caplog.text


def test_classifier_validation_split_leaving_fewer_training_rows_than_classes_is_refused(imdb_tokens200, monkeypatch):
    import toolkit.models.classifier as classifier_module

    monkeypatch.setattr(classifier_module.EmbeddingClassifier, "_train", lambda *a, **k: pytest.fail("trained"))
    X, y = imdb_tokens200
    with pytest.raises(ValueError, match=r"^validation_split=0\.995 holds out 199 of 200 documents, leaving 1 to "
                                         r"train on: fewer than the 2 classes of y, so the model could not learn every "
                                         r"class\. Lower validation_split to 0\.99 or less, or set it to 0 to monitor "
                                         r"the training loss \(or give more documents\)\.$"):
        EmbeddingClassifier(**SMALL, validation_split=0.995).fit(X, y)  # was: trained on one 'neg' review
    topics = np.array(["a", "b", "c"])[np.arange(3)]
    with pytest.raises(ValueError, match=r"holds out 1 of 3 documents, leaving 2 to train on: fewer than the 3 "
                                         r"classes of y.* Set it to 0 to monitor the training loss"):
        EmbeddingClassifier(**SMALL, validation_split=0.1).fit(X[:3], topics)


def test_classifier_validation_split_over_one_half_asks_if_the_training_share_was_meant(imdb_tokens200, caplog):
    X, y = imdb_tokens200
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        clf = EmbeddingClassifier(**SMALL, validation_split=0.99).fit(X, y)
    assert ("validation_split=0.99 holds out 198 of 200 documents and trains on 2: it is the share of X held out to "
            "monitor val_loss (as in Keras' model.fit), not the share trained on. Did you mean "
            "validation_split=0.01?") in caplog.text
    assert clf.classes_.tolist() == ["neg", "pos"]


def test_classifier_validation_rows_missing_a_class_log_a_warning(imdb_tokens200, caplog):
    X, _ = imdb_tokens200
    y = np.array(["neg", "pos"] * 10)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        EmbeddingClassifier(**SMALL, validation_split=0.05).fit(X[:20], y)  # 1 held-out review, 2 classes
    assert "validation_split=0.05 holds out 1 of 20 documents, and none of class(es) [" in caplog.text
    assert ("says nothing of them. Raise validation_split to 0.1 or more (or give more documents), or set it to 0 "
            "to monitor the training loss.") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):  # stratified: both classes held out, nothing to say
        EmbeddingClassifier(**SMALL, validation_split=0.1).fit(X[:20], y)
    assert not caplog.text


def test_classifier_validation_split_training_rows_hold_every_class():
    from toolkit.models.classifier import _every_class_trains

    y = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    # an unstratified draw that held out both documents of class 2
    train, val = _every_class_trains(y, np.array([0, 1, 2, 4, 5, 3]), np.array([6, 7]), 3)
    assert sorted(np.unique(y[train])) == [0, 1, 2] and len(train) == 6 and len(val) == 2
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(8))
    clf = EmbeddingClassifier(validation_split=0.25, random_state=0)
    clf.classes_, clf.output_ = np.array(["a", "b", "c"]), "multiclass"
    for seed in range(200):  # every draw of a 2-row split of 3 classes (unstratified) trains on all 3
        train, val = clf._validation_split(y, seed)
        assert set(y[train].tolist()) == {0, 1, 2}, seed


def test_classifier_finetune_early_stopping_waits_for_the_unfreeze(imdb_tokens200, glove_small, caplog):
    import keras

    X, y = imdb_tokens200
    # a learning rate of 0: the loss is the same every epoch, so patience=1 runs out at epoch 1, during the frozen ones
    still = keras.optimizers.schedules.PiecewiseConstantDecay([1], [0.0, 0.0])
    params = {**SMALL, "embedding_dim": None, "vectors": str(glove_small), "trainable": "finetune", "epochs": 5,
              "frozen_epochs": 2, "patience": 1, "learning_rate": still, "validation_split": 0.2}
    with caplog.at_level(logging.INFO, logger=LOGGER):
        clf = EmbeddingClassifier(**params).fit(X[:80], y[:80])
    # was: stopped after epoch 1 with the vectors never unfrozen (a WARNING said so)
    assert clf.model_.get_layer("embedding").trainable
    assert len(clf.history_["val_loss"]) == 3 and clf.best_epoch_ == 0  # the unfreeze, then patience=1 ran out
    assert "before trainable='finetune' unfroze" not in caplog.text
    assert ("epoch 1: val_loss did not improve for patience=1 epoch(s), but the vectors are unfrozen at epoch "
            "frozen_epochs=2: training goes on") in caplog.text


def test_classifier_finetune_defaults_stop_as_before_without_vectors(imdb_tokens200):
    # guard: without vectors (the default) finetune changes nothing; the same early stop as trainable="trainable"
    X, y = imdb_tokens200
    params = {**SMALL, "epochs": 4, "patience": 1, "learning_rate": 0.5}
    a = EmbeddingClassifier(**params).fit(X[:60], y[:60])
    b = EmbeddingClassifier(**params, trainable="finetune").fit(X[:60], y[:60])
    assert a.history_ == b.history_
    np.testing.assert_array_equal(a.predict_proba(X[80:90]), b.predict_proba(X[80:90]))


def test_classifier_training_exploded_to_huge_finite_weights_is_refused(imdb_tokens200):
    X, y = imdb_tokens200
    clf = EmbeddingClassifier(**SMALL).fit(X[:60], y[:60])
    before = clf.predict_proba(X[100:110])
    with pytest.raises(ValueError, match=r"^The training of EmbeddingClassifier diverged: the loss of the weights it "
                                         r"kept, \S+ \(val_loss of epoch \d, from 0\), is over 10 times that of an "
                                         r"untrained model \(0\.693: the same probability for each of 2 classes\), "
                                         r"and its largest weight is \S+, so its probabilities would be meaningless "
                                         r".* Lower "
                                         r"learning_rate \(this fit's: 1000\)"):
        clf.set_params(learning_rate=1e3, epochs=2).fit(X[:60], y[:60])  # was: fitted, probabilities all 0 or 1
    np.testing.assert_array_equal(clf.predict_proba(X[100:110]), before)  # left as it was
    with pytest.raises(ValueError, match=r"diverged: the loss of the weights it kept, \S+ \(training loss of epoch 1, "
                                         r"from 0\).* \(this fit's: 1000\)"):
        EmbeddingClassifier(**{**SMALL, "epochs": 2}, validation_split=0.0, optimizer="sgd",
                            learning_rate=1e3).fit(X[:60], y[:60])


@pytest.mark.slow
def test_classifier_divergence_check_keeps_ordinary_fits(imdb_tokens200):
    # guard: weighted losses (a scalar sample_weight of 50, class_weight) and an overfitting high learning rate fit
    X, y = imdb_tokens200
    y = np.where(np.arange(200) < 20, "rare", y)
    EmbeddingClassifier(**{**SMALL, "epochs": 3}).fit(X, y, sample_weight=50.0)
    heavy = np.where(np.arange(200) % 40 == 0, 100.0, 1.0)  # a few documents weigh 100
    EmbeddingClassifier(**{**SMALL, "epochs": 2}).fit(X, y, sample_weight=heavy)
    EmbeddingClassifier(**{**SMALL, "epochs": 3}, class_weight="balanced").fit(X, y)
    clf = EmbeddingClassifier(**{**SMALL, "epochs": 6}, learning_rate=0.1, patience=None).fit(X[:60], y[:60])
    assert max(clf.history_["val_loss"]) > min(clf.history_["val_loss"])


def test_classifier_tf_dataset_or_tensor_as_x_says_what_to_pass(imdb_tokens200, imdb_small):
    # Keras' text chapter: ds = keras.utils.text_dataset_from_directory(...); model.fit(ds). Before: fit(ds) raised
    # "missing 1 required positional argument: 'y'", fit(ds, y) "document 0 of X contains an EagerTensor", and a
    # tensor of strings "Cannot iterate over a scalar tensor"
    tf = pytest.importorskip("tensorflow")
    texts, labels = imdb_small
    ds = tf.data.Dataset.from_tensor_slices((texts[:8], (labels[:8] == "pos").astype("int32"))).batch(4)
    for args in [(ds,), (ds, labels[:8])]:
        with pytest.raises(ValueError, match=r"^EmbeddingClassifier takes the documents X and the labels y apart, as "
                                             r"scikit-learn does, not a tf\.data\.Dataset \(_BatchDataset, as "
                                             r"keras\.utils\.text_dataset_from_directory makes\)\. Read a "
                                             r"class-per-folder tree with toolkit\.data\.load_folder\(path\)"):
            EmbeddingClassifier(**SMALL).fit(*args)
    X, y = imdb_tokens200
    clf = EmbeddingClassifier(**SMALL, validation_split=0.0).fit(X[:40], y[:40])
    with pytest.raises(ValueError, match=r"expects token lists \(lists of str\) for X, not a TensorFlow tensor "
                                         r"\(EagerTensor\)\. Convert it first: texts = \[t\.decode\(\) for t in "
                                         r"tensor\.numpy\(\)\]"):
        clf.predict(tf.constant(texts[:3]))
    with pytest.raises(ValueError, match=r"requires y to be passed, but the target y is None"):
        EmbeddingClassifier(**SMALL).fit(X[:40])  # token lists without y: scikit-learn's message, as before


def test_text_classifier_pipeline_refuses_a_tf_dataset_saying_what_to_pass(imdb_small):
    tf = pytest.importorskip("tensorflow")
    from toolkit import make_text_classifier

    texts, labels = imdb_small
    ds = tf.data.Dataset.from_tensor_slices((texts[:8], (labels[:8] == "pos").astype("int32"))).batch(4)
    with pytest.raises(ValueError, match=r"^A text pipeline takes the documents X and the labels y apart, as "
                                         r"scikit-learn does, not a tf\.data\.Dataset \(_BatchDataset, as "
                                         r"keras\.utils\.text_dataset_from_directory makes\)"):
        make_text_classifier().fit(ds)
    with pytest.raises(ValueError, match=r"not a TensorFlow tensor \(EagerTensor\)\. Convert it first"):
        make_text_classifier().fit(tf.constant(texts[:4]), labels[:4])

"""Tests of toolkit.models.classifier.EmbeddingClassifier on real IMDB reviews."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError

from toolkit.models.classifier import EmbeddingClassifier
from toolkit.text.corpus import TokenizedCorpus

FAST = dict(maxlen=50, embedding_dim=8, epochs=2, batch_size=32, max_tokens=5000)


def small(**params):
    return EmbeddingClassifier(**{**FAST, "random_state": 0, **params})


@pytest.fixture(scope="module")
def split(imdb_tokens):
    docs, labels = imdb_tokens
    return docs[:500], labels[:500], docs[500:], labels[500:]


@pytest.fixture(scope="module")
def fitted(split):
    X_train, y_train, _, _ = split
    return small().fit(X_train, y_train)


def test_classifier_learns_imdb_sentiment(split):
    X_train, y_train, X_test, y_test = split
    clf = EmbeddingClassifier(maxlen=200, embedding_dim=16, epochs=8, learning_rate=0.01,
                              batch_size=16, random_state=0, validation_split=0.1, patience=2)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.65
    assert clf.best_epoch_ == int(np.argmin(clf.history_["val_loss"]))


def test_classifier_fitted_attributes(fitted):
    assert is_classifier(fitted)
    assert fitted.classes_.tolist() == ["neg", "pos"]
    assert len(fitted.vocabulary_) == 5000 and fitted.vocabulary_.tokens[:2] == ["<pad>", "<unk>"]
    assert fitted.maxlen_ == 50
    assert type(fitted.history_) is dict
    assert set(fitted.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(type(v) is list and len(v) == 2 and type(v[0]) is float for v in fitted.history_.values())
    assert fitted.embedding_coverage_ is None
    assert not hasattr(fitted, "n_features_in_")


def test_classifier_predictions_are_consistent(fitted, split):
    X_test = split[2]
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    scores = fitted.decision_function(X_test)
    assert scores.shape == (len(X_test),)
    np.testing.assert_array_equal(fitted.predict(X_test), fitted.classes_[(scores > 0).astype(int)])
    np.testing.assert_allclose(np.exp(fitted.predict_log_proba(X_test)), proba, rtol=1e-6)
    # a TokenizedCorpus gives the same answers as lists of lists
    corpus = TokenizedCorpus.from_token_lists(X_test)
    np.testing.assert_allclose(fitted.predict_proba(corpus), proba, rtol=1e-6)
    # batch-independent: subsets and reordering give the same rows
    np.testing.assert_allclose(fitted.predict_proba(X_test[:7]), proba[:7], rtol=1e-5, atol=1e-7)
    order = np.random.RandomState(0).permutation(len(X_test))
    np.testing.assert_allclose(fitted.predict_proba([X_test[i] for i in order]), proba[order],
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("direct_call_batches", [4, 1], ids=["direct-calls", "Model.predict"])
def test_classifier_predicts_more_than_one_batch_like_keras(fitted, imdb_tokens, monkeypatch,
                                                           direct_call_batches):
    """Over 256 documents the rows go through the model in several batches (direct calls up to
    4 batches, Model.predict beyond): same answers as Keras' own Model.predict and as
    predicting each batch on its own."""
    from toolkit.models import classifier

    monkeypatch.setattr(classifier, "_DIRECT_CALL_BATCHES", direct_call_batches)
    docs = imdb_tokens[0]  # 600 documents: 3 batches of at most 256
    proba = fitted.predict_proba(docs)
    sequences = fitted._sequences(TokenizedCorpus.from_token_lists(docs))
    keras_proba = fitted.model_.predict(sequences, batch_size=256, verbose=0).ravel()
    np.testing.assert_allclose(proba[:, 1], keras_proba, rtol=1e-5, atol=1e-7)
    batchwise = np.concatenate([fitted.predict_proba(docs[i:i + 200]) for i in range(0, 600, 200)])
    np.testing.assert_allclose(proba, batchwise, rtol=1e-5, atol=1e-7)


def test_classifier_random_state_reproducible_without_global_seeding(split):
    X_train, y_train, X_test, _ = split
    a = small(dropout=0.3).fit(X_train, y_train).predict_proba(X_test)
    b = small(dropout=0.3).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(a, b)
    # an unseeded fit afterwards works (no "Random ops require a seed") and differs
    c = small(dropout=0.3, random_state=None).fit(X_train, y_train).predict_proba(X_test)
    assert not np.array_equal(a, c)


def test_classifier_integer_and_multiclass_targets(split):
    X_train, y_train, X_test, _ = split
    y_int = (np.asarray(y_train) == "pos").astype(int)
    clf = small().fit(X_train, y_int)
    assert clf.classes_.tolist() == [0, 1] and set(clf.predict(X_test)) <= {0, 1}
    y3 = np.where(np.arange(len(X_train)) % 3 == 0, "neutral", np.asarray(y_train))
    clf3 = small(architecture="cnn").fit(X_train, y3)
    assert clf3.classes_.tolist() == ["neg", "neutral", "pos"]
    proba = clf3.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clf3.decision_function(X_test).shape == (len(X_test), 3)
    assert set(clf3.predict(X_test)) <= set(clf3.classes_)


def _sentiment_and_movie_labels(docs, labels):
    """Two labels per review: positive, and mentions the word "movie"."""
    return np.column_stack([np.asarray(labels) == "pos", ["movie" in d for d in docs]]).astype(int)


def test_classifier_multilabel_indicator_targets(split):
    X_train, y_train, X_test, y_test = split
    Y = _sentiment_and_movie_labels(X_train, y_train)
    Y_test = _sentiment_and_movie_labels(X_test, y_test)
    clf = EmbeddingClassifier(architecture="nbsvm", maxlen=None, epochs=2, batch_size=32, max_tokens=20000,
                              validation_split=0.0, random_state=0).fit(X_train, Y)
    assert clf.classes_.tolist() == [0, 1] and clf.output_ == "multilabel"
    pred = clf.predict(X_test)
    assert pred.shape == (len(X_test), 2) and set(np.unique(pred)) <= {0, 1}
    assert clf.predict_proba(X_test).shape == (len(X_test), 2)
    # each label is learnt well above its majority rate on held-out reviews
    majority = np.maximum(Y_test.mean(axis=0), 1 - Y_test.mean(axis=0))
    assert np.all((pred == Y_test).mean(axis=0) >= majority + 0.1), ((pred == Y_test).mean(axis=0), majority)
    # score is subset accuracy: both labels right
    assert clf.score(X_test, Y_test) == pytest.approx(np.mean((pred == Y_test).all(axis=1)))


def test_classifier_nbsvm_logs_the_parameters_it_ignores(split, caplog):
    """architecture="nbsvm" has one weight per n-gram: embedding_dim, hidden_units and dropout do nothing
    there, which the log now says (they were ignored without a word)."""
    import logging

    X_train, y_train, _, _ = split
    with caplog.at_level(logging.INFO, logger="toolkit.models.classifier"):
        EmbeddingClassifier(architecture="nbsvm", hidden_units=16, dropout=0.3, epochs=1, max_tokens=5000,
                            validation_split=0.0, random_state=0).fit(X_train[:100], y_train[:100])
    assert "architecture='nbsvm' does not use hidden_units=16, dropout=0.3" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="toolkit.models.classifier"):
        EmbeddingClassifier(architecture="nbsvm", epochs=1, max_tokens=5000, validation_split=0.0,
                            random_state=0).fit(X_train[:100], y_train[:100])
    assert "does not use" not in caplog.text


def test_classifier_pretrained_vectors_frozen(split, glove_small):
    X_train, y_train, X_test, _ = split
    clf = small(vectors=str(glove_small), trainable="frozen", embedding_dim=None).fit(X_train, y_train)
    weights = clf.model_.get_layer("embedding").get_weights()[0]
    assert weights.shape == (5000, 50)
    the = clf.vocabulary_.token_to_id["the"]
    with open(glove_small, encoding="utf-8") as fh:
        glove_the = np.array(fh.readline().split()[1:], dtype="float32")
    np.testing.assert_allclose(weights[the], glove_the, rtol=1e-6)
    np.testing.assert_array_equal(weights[0], 0)
    assert clf.embedding_coverage_ is not None
    assert not clf.model_.get_layer("embedding").trainable
    # vectors are never kept on the estimator
    assert len(pickle.dumps(clone(clf))) < 5000


def test_classifier_finetune_unfreezes_after_frozen_epochs(split, glove_small):
    X_train, y_train, _, _ = split
    clf = small(vectors=str(glove_small), trainable="finetune", embedding_dim=None, epochs=3,
                frozen_epochs=1, patience=None, learning_rate=0.01).fit(X_train, y_train)
    assert clf.model_.get_layer("embedding").trainable
    assert len(clf.history_["loss"]) == 3
    with pytest.warns(UserWarning, match="never trains the vectors here"):  # frozen_epochs >= epochs
        frozen = small(vectors=str(glove_small), trainable="finetune", embedding_dim=None, epochs=1,
                       frozen_epochs=1, learning_rate=0.01).fit(X_train, y_train)
    assert not frozen.model_.get_layer("embedding").trainable
    at_once = small(vectors=str(glove_small), trainable="finetune", embedding_dim=None, epochs=1,
                    frozen_epochs=0).fit(X_train[:100], y_train[:100])
    assert at_once.model_.get_layer("embedding").trainable
    np.testing.assert_array_equal(
        frozen.model_.get_layer("embedding").get_weights()[0][2:50],
        small(vectors=str(glove_small), trainable="frozen", embedding_dim=None, epochs=1)
        .fit(X_train, y_train).model_.get_layer("embedding").get_weights()[0][2:50],
    )


def test_classifier_vectors_by_manifest_name(split, data_dir_env):
    """vectors="glove.6B.50d" resolves through the manifest and the offline data folder."""
    X_train, y_train, X_test, _ = split
    clf = small(vectors="glove.6B.50d", embedding_dim=None, epochs=1).fit(X_train[:100], y_train[:100])
    assert clf.model_.get_layer("embedding").output_dim == 50
    assert clf.embedding_coverage_.n_covered > 0.9 * clf.embedding_coverage_.n_tokens
    assert clf.predict(X_test[:3]).shape == (3,)


def test_classifier_vectors_dimension_mismatch(split, glove_small):
    X_train, y_train, _, _ = split
    with pytest.raises(ValueError, match=r"have dimension 50, but embedding_dim=8\. Set embedding_dim=None"):
        small(vectors=str(glove_small), embedding_dim=8).fit(X_train, y_train)


def _keras_stopping_epoch(val_losses, patience):
    """The epoch after which keras.callbacks.EarlyStopping stops on this loss curve (or None)."""
    import keras

    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False  # as Model.fit sets it
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, loss in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if callback.model.stop_training:
            return epoch
    return None


@pytest.mark.parametrize("patience", [0, 2])
def test_classifier_early_stopping_stops_as_keras_and_restores_best_weights(split, patience):
    """Labels shuffled at random: the model memorises noise, so the validation loss rises."""
    X_train, y_train, X_test, _ = split
    noise = np.random.RandomState(0).permutation(np.asarray(y_train[:200]))
    params = dict(architecture="flatten", epochs=8, learning_rate=0.05, embedding_dim=16)
    full = small(patience=None, **params).fit(X_train[:200], noise)
    curve = full.history_["val_loss"]
    stop = _keras_stopping_epoch(curve, patience)
    assert stop is not None and stop < 7, curve  # the construction makes the loss rise
    stopped = small(patience=patience, **params).fit(X_train[:200], noise)
    assert len(stopped.history_["val_loss"]) == stop + 1  # stopped where Keras stops
    np.testing.assert_allclose(stopped.history_["val_loss"], curve[: stop + 1], rtol=1e-5)
    best = int(np.argmin(curve[: stop + 1]))
    assert stopped.best_epoch_ == best
    # restored weights = those of a run that ends at the best epoch
    at_best = small(**{**params, "epochs": best + 1}, patience=None).fit(X_train[:200], noise)
    for restored, expected in zip(stopped.model_.get_weights(), at_best.model_.get_weights()):
        np.testing.assert_allclose(restored, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(stopped.predict_proba(X_test[:20]), at_best.predict_proba(X_test[:20]),
                               rtol=1e-5, atol=1e-7)


def test_classifier_monitors_training_loss_without_validation(split):
    X_train, y_train, _, _ = split
    # no validation: the training loss is monitored
    clf = small(validation_split=0.0, epochs=2).fit(X_train, y_train)
    assert set(clf.history_) == {"loss", "accuracy"}


def test_classifier_class_weight_and_sample_weight(split, capsys):
    X_train, y_train, X_test, _ = split
    heavy = small(class_weight={"pos": 20.0, "neg": 1.0}, epochs=3, learning_rate=0.01).fit(X_train, y_train)
    light = small(class_weight={"pos": 1.0, "neg": 20.0}, epochs=3, learning_rate=0.01).fit(X_train, y_train)
    assert (heavy.predict(X_test) == "pos").mean() > (light.predict(X_test) == "pos").mean()
    small(class_weight="balanced", epochs=1, verbose=1).fit(X_train[:100], y_train[:100],
                                                            sample_weight=np.ones(100))
    out, err = capsys.readouterr()
    assert out == "" and "epochs: 100%" in err  # verbose=1: a progress bar on stderr only
    with pytest.raises(ValueError, match=r"class_weight has labels not in y: \['maybe'\]"):
        small(class_weight={"maybe": 2.0}).fit(X_train, y_train)


def test_classifier_nbsvm_on_word_ngrams(imdb_tokens):
    docs, labels = imdb_tokens
    grams = [d + [f"{a} {b}" for a, b in zip(d, d[1:])] for d in docs]
    clf = EmbeddingClassifier(architecture="nbsvm", max_tokens=200000, maxlen=None, epochs=2,
                              batch_size=32, validation_split=0.0, random_state=0)
    clf.fit(grams[:500], labels[:500])
    assert clf.maxlen_ == max(len(set(d)) for d in grams[:500])
    assert clf.score(grams[500:], labels[500:]) >= 0.7
    ratios = clf.model_.get_layer("embedding").get_weights()[0]
    vocab = clf.vocabulary_.token_to_id
    assert ratios[vocab["great"], 0] > 0 > ratios[vocab["worst"], 0]
    # its rows: each document's distinct ids in ascending (most frequent first) order, an unknown n-gram once,
    # an empty document all padding; a maxlen cut keeps the most frequent n-grams
    from toolkit.text.vocabulary import pad_sequences

    batch = grams[500:560] + [[], ["great", "great", "zzz-unknown", "zzz-unknown2", "great"]]
    corpus = clf._corpus(batch, allow_empty=True)
    ids = np.split(clf.vocabulary_.encode(corpus), corpus.offsets[1:-1])
    for maxlen in (clf.maxlen_, 5):
        clf.maxlen_, full = maxlen, clf.maxlen_
        expected = pad_sequences([np.unique(row) for row in ids], maxlen=maxlen, padding="post", truncating="post")
        np.testing.assert_array_equal(clf._sequences(corpus), expected)
        clf.maxlen_ = full
    assert clf._sequences(corpus)[-1][:3].tolist() == [1, vocab["great"], 0]  # OOV id 1, then "great", padding


def test_classifier_pickle_and_joblib_round_trip(fitted, split, tmp_path):
    X_test = split[2]
    expected = fitted.predict_proba(X_test)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X_test), expected)
    joblib.dump(fitted, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X_test), expected)
    assert "model_" in fitted.__dict__  # pickling did not strip the live estimator


def test_classifier_clone_and_params_round_trip():
    clf = EmbeddingClassifier(architecture="cnn", vectors="glove.6B.50d", epochs=3, class_weight="balanced")
    params = clf.get_params()
    twin = clone(clf)
    assert twin.get_params() == params and twin is not clf
    assert EmbeddingClassifier().set_params(**params).get_params() == params


# ------------------------------------------------------------------ bad input
def test_classifier_rejects_raw_strings(split):
    _, y_train, _, _ = split
    with pytest.raises(ValueError, match=r"document 0 of X is a raw string\. Tokenize first: put SpacyTokenizer"):
        small().fit(["a great film", "a dud"], ["pos", "neg"])
    with pytest.raises(ValueError, match=r"expects a sequence of token lists for X, got str.*make_text_classifier"):
        small().fit("a great film", ["pos"])


def test_classifier_rejects_inconsistent_lengths(split):
    X_train, y_train, _, _ = split
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[500, 499\]"):
        small().fit(X_train, y_train[:-1])


def test_classifier_rejects_single_class(split):
    X_train, _, _, _ = split
    with pytest.raises(ValueError, match=r"at least 2 classes in the data, but the data contains only one class: 'pos'"):
        small().fit(X_train, ["pos"] * len(X_train))


def test_classifier_rejects_nan_labels(split):
    X_train, _, _, _ = split
    y = np.ones(len(X_train))
    y[::2] = 0.0
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"Input y contains NaN \(first at index 7\)"):
        small().fit(X_train, y)
    y_obj = np.array(["pos", "neg"] * 250, dtype=object)
    y_obj[3] = None
    with pytest.raises(ValueError, match=r"Input y contains NaN/None \(first at index 3\)"):
        small().fit(X_train, y_obj)


def test_classifier_rejects_continuous_target(split):
    X_train, _, _, _ = split
    with pytest.raises(ValueError, match=r"Unknown label type: 'continuous'"):
        small().fit(X_train, np.linspace(0, 1, len(X_train)))


def test_classifier_score_counts_unseen_labels_as_wrong(fitted, split):
    """As scikit-learn classifiers: a label never seen in fit is a wrong prediction, not an error."""
    X_test, y_test = split[2][:40], np.array(split[3][:40], dtype=object)
    y_test[::4] = "maybe"
    expected = np.mean(fitted.predict(X_test) == y_test)
    assert fitted.score(X_test, y_test) == pytest.approx(expected)
    assert expected < np.mean(fitted.predict(X_test) == np.asarray(split[3][:40]))


def test_classifier_cross_validation_with_a_fold_lacking_a_rare_class(split):
    """A rare class that a training fold lacks must not crash the test fold's score."""
    from sklearn.model_selection import KFold, cross_val_score

    X_train, y_train, _, _ = split
    X, y = X_train[:150], np.array(y_train[:150], dtype=object)
    y[[0, 1, 2]] = "rare"  # all in the first test fold, never in its training folds
    scores = cross_val_score(small(epochs=1), X, y, cv=KFold(3), error_score="raise")
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_classifier_fit_rejects_empty_document(split):
    X_train, y_train, _, _ = split
    docs = [X_train[0], [], *X_train[2:40]]
    with pytest.raises(ValueError, match=r"Document 1 of X has no tokens \(1 empty document\(s\) in all\)"):
        small().fit(docs, y_train[:40])


def test_classifier_fit_rejects_no_documents():
    with pytest.raises(ValueError, match=r"cannot be fitted on 0 documents: X is empty"):
        EmbeddingClassifier().fit([], [])


def test_classifier_predicts_empty_documents_with_the_class_prior(split, caplog, tmp_path):
    """One empty document does not abort the batch; it gets the training class frequencies."""
    X_train, y_train, X_test, _ = split
    clf = small().fit(X_train[:300], y_train[:300])
    prior = np.array([np.mean(np.asarray(y_train[:300]) == c) for c in clf.classes_])
    np.testing.assert_allclose(clf.class_prior_, prior)
    docs = [X_test[0], [], X_test[2], []]
    with caplog.at_level("WARNING", logger="toolkit.models.classifier"):
        proba = clf.predict_proba(docs)
    assert "2 of 4 document(s) have no tokens (first: document 1 of X)" in caplog.text
    np.testing.assert_allclose(proba[[1, 3]], [prior, prior])
    np.testing.assert_allclose(proba[[0, 2]], clf.predict_proba([X_test[0], X_test[2]]), rtol=1e-6)
    assert clf.predict(docs).tolist()[1] == clf.classes_[np.argmax(prior)]
    assert clf.predict([[]]).shape == (1,) and clf.decision_function([[], []]).shape == (2,)
    # the prior survives the saved-model format and pickling
    from toolkit.models import load_model, save_model

    save_model(clf, tmp_path / "model")
    np.testing.assert_allclose(load_model(tmp_path / "model").predict_proba([[]])[0], prior)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba([[]])[0], prior)
    # multiclass: the prior over the three classes
    y3 = np.where(np.arange(300) % 3 == 0, "neutral", np.asarray(y_train[:300]))
    clf3 = small(epochs=1).fit(X_train[:300], y3)
    np.testing.assert_allclose(clf3.predict_proba([[]])[0], [np.mean(y3 == c) for c in clf3.classes_])
    assert clf3.predict([[]])[0] == clf3.classes_[np.argmax(clf3.class_prior_)]


def test_classifier_column_vector_y_warns_and_fits(split):
    from sklearn.exceptions import DataConversionWarning

    X_train, y_train, X_test, _ = split
    column = np.asarray(y_train[:200]).reshape(-1, 1)
    with pytest.warns(DataConversionWarning, match=r"A column-vector y was passed when a 1d array was expected"):
        clf = small(epochs=1).fit(X_train[:200], column)
    flat = small(epochs=1).fit(X_train[:200], y_train[:200])
    assert clf.classes_.tolist() == ["neg", "pos"]
    np.testing.assert_array_equal(clf.predict_proba(X_test[:20]), flat.predict_proba(X_test[:20]))


def test_classifier_accepts_a_numpy_generator_as_random_state(split):
    X_train, y_train, X_test, _ = split
    a = small(epochs=1, random_state=np.random.default_rng(0)).fit(X_train[:200], y_train[:200])
    b = small(epochs=1, random_state=np.random.default_rng(0)).fit(X_train[:200], y_train[:200])
    np.testing.assert_array_equal(a.predict_proba(X_test[:20]), b.predict_proba(X_test[:20]))


def test_classifier_predict_before_fit():
    with pytest.raises(NotFittedError, match=r"This EmbeddingClassifier instance is not fitted yet"):
        EmbeddingClassifier().predict([["a"]])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"architecture": "lstm"}, r"The 'architecture' parameter of EmbeddingClassifier must be a str among .*Got 'lstm' instead"),
        ({"trainable": True}, r"The 'trainable' parameter of EmbeddingClassifier must be a str among \{'finetune', 'frozen', 'trainable'\}\. Got True instead"),
        ({"maxlen": 0}, r"The 'maxlen' parameter of EmbeddingClassifier must be an int in the range \[1, inf\) or None\. Got 0 instead"),
        ({"dropout": 1.0}, r"The 'dropout' parameter of EmbeddingClassifier must be a float in the range \[0, 1\)\. Got 1\.0 instead"),
        ({"optimizer": "lbfgs"}, r"The 'optimizer' parameter of EmbeddingClassifier must be a str among"),
        ({"epochs": 0}, r"The 'epochs' parameter of EmbeddingClassifier must be an int in the range \[1, inf\)\. Got 0"),
        ({"validation_split": 1.0}, r"The 'validation_split' parameter"),
        ({"vectors": 50}, r"The 'vectors' parameter of EmbeddingClassifier must be an instance of 'str'"),
        ({"class_weight": "auto"}, r"The 'class_weight' parameter"),
    ],
)
def test_classifier_invalid_parameters(split, params, match):
    X_train, y_train, _, _ = split
    with pytest.raises(ValueError, match=match):
        EmbeddingClassifier(**params).fit(X_train[:20], y_train[:20])


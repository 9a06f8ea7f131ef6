"""The NB architectures train on flat rows: each batch padded to its own longest row, on real IMDB samples.

``EmbeddingClassifier(architecture="nbsvm" / "nbsvm_vectors")`` used to pad
every training row to the longest training row (a 1-3-gram review's distinct
n-grams: thousands of columns, ten times the mean) before ``model.fit``. It now
keeps the rows flat (``classifier._FlatRows``) and gives Keras the same rows in
the same batches, each padded to its own longest row. The reference is the
padded training itself, kept behind the private switch
``classifier._FLAT_NB_TRAINING``.
"""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from toolkit.models import EmbeddingClassifier, classifier, load_model, save_model
from toolkit.models.hybrid import pooled_statistics, standardize_pooled_vectors
from toolkit.text import TokenizedCorpus, Vocabulary
from toolkit.text.vocabulary import _pad_flat

N_FIT = 160  # fits: a flat training equals the padded one at any size (300 cost ~30% more CPU)


@pytest.fixture(scope="module")
def ngram_corpus(imdb_small):
    """1-3-grams of 400 real IMDB training reviews, as the main job tokenizes (SpacyTokenizer, ngram_range=(1, 3)),
    and their labels."""
    from toolkit import SpacyTokenizer

    texts, labels = imdb_small
    return SpacyTokenizer(ngram_range=(1, 3)).fit_transform(texts[:400]), np.asarray(labels[:400])


@pytest.fixture(scope="module")
def ngrams(ngram_corpus):
    """:func:`ngram_corpus`'s first ``N_FIT`` reviews to fit, their labels, and its last 100 to predict."""
    grams, labels = ngram_corpus
    return grams.take(np.arange(N_FIT)), labels[:N_FIT], grams.take(np.arange(300, 400))


def _estimator(architecture, glove_small, **params):
    vectors = {"vectors": str(glove_small), "hidden_units": 16, "dropout": 0.2} if architecture == "nbsvm_vectors" else {}
    params = {"max_tokens": 800_000, "epochs": 2, "batch_size": 32, "validation_split": 0.0, "random_state": 0,
              **vectors, **params}
    return EmbeddingClassifier(architecture=architecture, **params)


def _fit(clf, X, y, *, flat, monkeypatch, **fit_params):
    with monkeypatch.context() as patch:
        patch.setattr(classifier, "_FLAT_NB_TRAINING", flat)
        return clf.fit(X, y, **fit_params)


# Half of the 2 x 2 x 2 grid of (architecture, maxlen, setting): every two of the three factors meet in all four
# of their combinations (the third is the first two's exclusive or), at half the fits
@pytest.mark.parametrize("architecture, maxlen, setting", [
    ("nbsvm", None, "sample_weight"),
    ("nbsvm", 40, "validation_split"),
    ("nbsvm_vectors", None, "validation_split"),
    ("nbsvm_vectors", 40, "sample_weight"),
])
def test_flat_training_predicts_as_the_padded_training(ngrams, glove_small, monkeypatch, architecture, maxlen, setting):
    X, y, X_new = ngrams
    weights = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    params = {"maxlen": maxlen}
    if setting == "validation_split":  # the held-out rows are batches too, with their weights (class_weight)
        params.update(validation_split=0.2, class_weight="balanced")
    padded = _fit(_estimator(architecture, glove_small, **params), X, y, flat=False, monkeypatch=monkeypatch,
                  sample_weight=weights)
    flat = _estimator(architecture, glove_small, **params)
    with monkeypatch.context() as patch:  # the training rows are never padded as a whole
        def no_padded_matrix(*args, **kwargs):
            raise AssertionError("fit padded the whole training set")

        patch.setattr(EmbeddingClassifier, "_sequences", no_padded_matrix)
        _fit(flat, X, y, flat=True, monkeypatch=monkeypatch, sample_weight=weights)

    assert padded.model_.input_shape == (None, padded.maxlen_)  # the reference really trained on the matrix
    assert flat.model_.input_shape == (None, None)
    assert flat.maxlen_ == padded.maxlen_ == (maxlen or padded.maxlen_)
    np.testing.assert_allclose(flat.predict_proba(X_new), padded.predict_proba(X_new), rtol=0, atol=1e-5)
    assert flat.history_.keys() == padded.history_.keys()
    assert ("val_loss" in flat.history_) == (setting == "validation_split")
    for key, values in padded.history_.items():
        np.testing.assert_allclose(flat.history_[key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    assert flat.best_epoch_ == padded.best_epoch_


def test_flat_training_batches_are_the_padded_batches_without_their_padding_columns(ngram_corpus):
    import keras

    X, _ = ngram_corpus
    clf = EmbeddingClassifier(architecture="nbsvm", max_tokens=800_000, maxlen=None)
    clf.vocabulary_ = Vocabulary.from_documents(X, max_tokens=800_000)
    clf.maxlen_ = None
    ids, offsets = clf._nb_rows(X)
    matrix = _pad_flat(ids, offsets, int(np.diff(offsets).max()), padding="post", truncating="post")
    rows = classifier._FlatRows(ids, offsets)
    order = np.random.default_rng(1).permutation(len(rows))[:250]  # 8 batches of 32 rows, the last of 26
    targets = np.arange(len(rows), dtype="float32")
    weights = targets / 10
    batches = classifier._flat_batches_class()(rows, order, targets, weights, 32)
    data = rows.epoch_data(order, targets, weights, 32)  # what Keras gets: a tf.data pipeline on TensorFlow
    got = [tuple(np.asarray(part) for part in batch) for batch in data]
    assert len(batches) == len(got) == 8
    widest = int(np.diff(offsets)[order].max())
    for index, (x, t, w) in enumerate(got):
        chunk = order[index * 32:(index + 1) * 32]
        width = int(np.diff(offsets)[chunk].max())
        assert x.dtype == np.int32 and x.shape[0] == len(chunk)
        if keras.backend.backend() == "tensorflow":  # each batch as wide as its longest row
            assert x.shape[1] == width
        else:  # rounded up, at most 1/8 wider and to the epoch's longest row; a short last batch to that row
            assert width <= x.shape[1] <= min(width * 9 / 8, widest) if len(chunk) == 32 else x.shape[1] == widest
        np.testing.assert_array_equal(x[:, :width], matrix[chunk, :width])
        assert not x[:, width:].any() and not matrix[chunk, width:].any()
        np.testing.assert_array_equal(t, targets[chunk])
        np.testing.assert_array_equal(w, weights[chunk])
        np.testing.assert_array_equal(batches[index][0], x[:, :width])  # the PyDataset, not rounded up


def test_flat_training_batches_of_one_width_then_another():
    # Keras reads a PyDataset's shapes off its first two batches: two of one width fixed it, and the narrower
    # batch after them failed ("yielded an element of shape (2, 2) where an element of shape (None, 5) was expected").
    # TensorFlow pads each batch to its own longest row; the other backends round that width up (at most 1/8
    # wider, never past the epoch's longest row, to which a short last batch is padded: _keras_batches)
    import keras

    lengths = [5, 5, 5, 5, 2, 2, 40, 40, 17, 17, 3]  # batches of 2: longest rows 5, 5, 2, 40, 17, then 3 alone
    offsets = np.r_[0, np.cumsum(lengths)]
    ids = np.arange(2, 2 + offsets[-1], dtype=np.int32)
    rows = classifier._FlatRows(ids, offsets)
    order = np.arange(len(lengths))
    targets = (order % 2).astype("float32")
    batches = [np.asarray(x) for x, _ in rows.epoch_data(order, targets, None, 2)]
    longest = [max(lengths[i:i + 2]) for i in range(0, len(lengths), 2)]
    widths = [x.shape[1] for x in batches]
    assert [x.shape[0] for x in batches] == [2, 2, 2, 2, 2, 1]
    for x, first in zip(batches, range(0, len(lengths), 2)):  # each row its ids, then 0s
        for row, j in zip(x, range(first, first + 2)):
            np.testing.assert_array_equal(row[:lengths[j]], ids[offsets[j]:offsets[j + 1]])
            assert not row[lengths[j]:].any()
    assert widths[0] == widths[1] > widths[2]  # one width, then a narrower one
    if keras.backend.backend() == "tensorflow":
        assert widths == longest
    else:
        assert all(n <= width <= min(n * 9 / 8, max(lengths)) for n, width in zip(longest[:-1], widths[:-1]))
        assert widths[-1] == max(lengths)
    # and Keras trains on them, every width in one epoch
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(int(ids.max()) + 1, 2),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    history = model.fit(rows.epoch_data(order, targets, None, 2), epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_flat_training_pooled_statistics_of_flat_rows_are_those_of_padded_rows():
    rng = np.random.default_rng(0)
    row_of = np.r_[0, 0, rng.integers(0, 40, size=98)].astype(np.int32)  # ids 0-1 and some words: no vector
    table = np.r_[np.zeros((1, 6)), rng.normal(size=(39, 6))].astype(np.float32)
    lengths = np.r_[rng.integers(1, 30, size=49), 0]  # a row of no ids: it takes no part
    offsets = np.r_[0, np.cumsum(lengths)]
    ids = np.concatenate([rng.choice(np.arange(2, 100), size=n, replace=False) for n in lengths]).astype(np.int32)
    matrix = _pad_flat(ids, offsets, int(lengths.max()) + 7, padding="post", truncating="post")
    center, scale = pooled_statistics(matrix, row_of, table)
    flat_center, flat_scale = pooled_statistics(ids, row_of, table, offsets)
    np.testing.assert_allclose(flat_center, center, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(flat_scale, scale, rtol=1e-5, atol=1e-6)
    means = np.stack([table[row_of[ids[a:b]]][row_of[ids[a:b]] > 0].mean(axis=0)
                      for a, b in itertools.pairwise(offsets) if (row_of[ids[a:b]] > 0).any()])
    np.testing.assert_allclose(flat_center, means.mean(axis=0), rtol=1e-5, atol=1e-6)  # the definition
    np.testing.assert_allclose(flat_scale, means.std(axis=0) + 1e-6, rtol=1e-5, atol=1e-6)


def test_flat_training_standardize_pooled_vectors_takes_flat_rows(glove_small):
    from toolkit.models import build_model

    vectors = np.r_[np.zeros((2, 3)), np.eye(4, 3) + 0.5 * np.eye(4, 3, k=-1)]  # ids 0 (padding) and 1: none
    matrix = np.hstack([np.zeros((6, 1)), vectors]).astype("float32")
    model = build_model("nbsvm_vectors", vocab_size=6, maxlen=None, embedding_matrix=matrix)
    standardize_pooled_vectors(model, np.array([[2, 3, 0], [1, 0, 0], [3, 4, 5]]))
    padded = [np.asarray(v) for v in (model.get_layer("pooled_vectors").center, model.get_layer("pooled_vectors").scale)]
    standardize_pooled_vectors(model, np.array([2, 3, 1, 3, 4, 5]), offsets=[0, 2, 3, 6])
    flat = [np.asarray(v) for v in (model.get_layer("pooled_vectors").center, model.get_layer("pooled_vectors").scale)]
    for a, b in zip(flat, padded):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not np.allclose(padded[0], 0)  # the statistics were set


def test_flat_training_one_long_document_widens_its_own_batch_only(ngrams, glove_small, monkeypatch):
    X, y, _ = ngrams
    docs = [list(doc) for doc in X]
    docs[100] = [token for doc in docs[:120] for token in doc]  # a book-length document among reviews
    seen = []
    keras_batches = classifier._keras_batches

    def record(batches):  # the shapes of the batches Keras gets (the pipeline is read once more to see them)
        data = keras_batches(batches)
        seen.extend(np.asarray(x).shape for x, *_ in data)
        return data

    monkeypatch.setattr(classifier, "_keras_batches", record)
    clf = _estimator("nbsvm", glove_small, maxlen=None, epochs=1).fit(TokenizedCorpus.from_token_lists(docs), y)
    assert clf.maxlen_ == max(width for _, width in seen) > 20_000
    cells = sum(n * width for n, width in seen)
    assert len(seen) == -(-N_FIT // 32)
    assert cells < 3 * 32 * clf.maxlen_  # one wide batch; the padded matrix had N_FIT rows of maxlen_


@pytest.mark.parametrize("architecture", ["nbsvm", "nbsvm_vectors"])
def test_flat_training_model_saves_loads_pickles_and_clones(ngrams, glove_small, tmp_path, architecture):
    X, y, X_new = ngrams
    clf = _estimator(architecture, glove_small, maxlen=None, epochs=1).fit(X, y)
    expected = clf.predict_proba(X_new)

    inputs = clf.model_inputs(X_new)  # the padded matrix, as documented
    assert inputs.shape == (len(X_new), clf.maxlen_)
    np.testing.assert_allclose(clf.model_.predict(inputs, verbose=0).reshape(-1), expected[:, 1], atol=1e-5)

    loaded = load_model(save_model(clf, tmp_path / "model"))
    np.testing.assert_allclose(loaded.predict_proba(X_new), expected, rtol=0, atol=1e-12)
    assert loaded.maxlen_ == clf.maxlen_
    np.testing.assert_allclose(loaded.model_.predict(loaded.model_inputs(X_new), verbose=0).reshape(-1),
                               expected[:, 1], atol=1e-5)  # the Keras model, rebuilt in safe mode

    unpickled = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(unpickled.predict_proba(X_new), expected, rtol=0, atol=1e-12)
    assert unpickled.model_.input_shape == (None, None)

    refit = clone(clf).fit(X, y)
    np.testing.assert_allclose(refit.predict_proba(X_new), expected, rtol=0, atol=1e-6)


def test_flat_training_writes_no_tensorflow_notice_into_the_clis_output(data_dir_env, glove_small, tmp_path):
    # the first flat batches came from tf.data.Dataset.from_generator, whose C++ op writes "I0000 ...
    # generator_dataset_op.cc:213] Memory patch applied: M_TRIM_THRESHOLD=128 kb was set." to stderr on its
    # first use in a process: into `toolkit train`'s output, between the epochs' progress bar updates
    # (--limit 40: the notice came with the first flat batch, at any size; 120 reviews took 4 CPU s more)
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user runs it (conftest sets it)
    result = subprocess.run(
        [sys.executable, str(root / "cli.py"), "train", "--limit", "40", "--vectors", str(glove_small),
         "--no-baseline", "-o", str(tmp_path / "run")],
        capture_output=True, text=True, cwd=root, timeout=600, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    cpp_log_lines = [line for line in re.split(r"[\r\n]", result.stderr)
                     if re.search(r"[IWEF]\d{4} \d\d:\d\d:[\d.]+\s+\d+ \w+\.cc:\d+\]", line)
                     or "generator_dataset_op" in line]
    assert not cpp_log_lines, result.stderr[-3000:]
    assert "epochs" in result.stderr  # the progress bar the notice broke into is there

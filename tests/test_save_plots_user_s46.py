"""The chapter's notebook workflow (fit, plot the history, save, load, evaluate) as a user runs it, forty-sixth
session's hunt: histories that hold only validation values, confusion matrices without labels or of names against
codes, a model folder cloned from Git without Git LFS."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.plots import plot_confusion_matrix, plot_history


@pytest.fixture(scope="module")
def fitted(imdb_tokens):
    """An EmbeddingClassifier fitted 2 epochs on 150 real reviews with a validation split, and 50 held out."""
    from toolkit import EmbeddingClassifier

    docs, labels = imdb_tokens
    labels = np.asarray(labels)
    clf = EmbeddingClassifier(maxlen=40, embedding_dim=8, epochs=2, max_tokens=3000, validation_split=0.2,
                              random_state=0)
    return clf.fit(docs[:150], labels[:150]), docs[150:200], labels[150:200]


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_history_of_validation_columns_only_is_drawn_not_refused(fitted):
    import pandas as pd

    clf = fitted[0]
    frame = pd.DataFrame(clf.history_)[["val_loss", "val_accuracy"]]
    # was: ValueError "The history has none of the metrics ['loss', 'accuracy']; it has ['val_accuracy', ...]"
    fig = plot_history(frame)
    assert _titles(fig) == ["Validation loss", "Validation accuracy"]
    drawn = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(drawn, clf.history_["val_loss"])


def test_validation_values_of_a_metric_without_training_values_are_not_dropped(fitted):
    history = dict(fitted[0].history_)
    del history["accuracy"]  # e.g. a custom loop that evaluates accuracy on the validation set only
    fig = plot_history(history)
    # was: one panel (loss); val_accuracy left out without a word
    assert _titles(fig) == ["Training and validation loss", "Validation accuracy"]
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), history["val_accuracy"])
    # named with its val_ metric too: still one panel
    assert _titles(plot_history(history, metrics=["accuracy", "val_accuracy"])) == ["Validation accuracy"]


def test_confusion_matrix_without_labels_uses_the_classes_of_the_data(fitted, tmp_path):
    import matplotlib.pyplot as plt

    clf, docs, labels = fitted
    pred = clf.predict(docs)
    # was: TypeError "'NoneType' object is not iterable"; scikit-learn's confusion_matrix takes labels=None too
    fig = plot_confusion_matrix(labels, pred, None)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["neg", "pos"]
    from sklearn.metrics import confusion_matrix

    counts = sorted(int(t.get_text()) for t in fig.axes[0].texts)
    assert counts == sorted(confusion_matrix(labels, pred).ravel().tolist())
    out = plot_confusion_matrix(labels, pred, path=tmp_path / "cm.svg")
    assert out.read_bytes().lstrip().startswith(b"<?xml")
    assert plt.get_fignums() == []


def test_confusion_matrix_labels_as_one_string_or_no_samples_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"'labels' parameter .* sequence of the classes .* Got 'pos'"):
        plot_confusion_matrix(["pos", "neg"], ["pos", "pos"], "pos")  # was read as classes 'p', 'o', 's'
    with pytest.raises(ValueError, match="hold no samples"):
        plot_confusion_matrix([], [], None)
    with pytest.raises(ValueError, match="cannot find the classes .* labels=clf.classes_"):
        plot_confusion_matrix(np.array(["neg", "pos"], dtype=object), np.array([0, 1], dtype=object), None)


def test_confusion_matrix_of_class_names_against_keras_codes_says_to_map_the_codes(fitted):
    clf, docs, labels = fitted
    # the chapter's thresholded Keras output, beside load_imdb's class names
    codes = (clf.predict_proba(docs)[:, 1:] > 0.5).astype("int32")
    with pytest.raises(ValueError, match=r"y_pred holds class codes 0\.\.1 while y_true holds the classes .*"
                                         r"np\.asarray\(\['neg', 'pos'\]\)\[y_pred\]"):
        plot_confusion_matrix(labels, codes, clf.classes_)
    mapped = np.asarray(clf.classes_)[codes]
    fig = plot_confusion_matrix(labels, mapped, clf.classes_)
    from sklearn.metrics import confusion_matrix

    assert sorted(int(t.get_text()) for t in fig.axes[0].texts) == sorted(
        confusion_matrix(labels, clf.predict(docs), labels=clf.classes_).ravel().tolist())


def _lfs_pointer_for(data: bytes) -> bytes:
    import hashlib

    return (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + hashlib.sha256(data).hexdigest().encode()
            + b"\nsize " + str(len(data)).encode() + b"\n")


def test_a_model_folder_cloned_without_git_lfs_says_to_fetch_the_files_not_to_refit(fitted, tmp_path):
    from toolkit.exceptions import ModelFormatError
    from toolkit.models import load_model, save_model

    clf, docs, _ = fitted
    folder = save_model(clf, tmp_path / "imdb-model")
    expected = clf.predict_proba(docs)
    keras_file = folder / "model.keras"
    data = keras_file.read_bytes()
    keras_file.write_bytes(_lfs_pointer_for(data))  # what `git clone` without git-lfs leaves (.gitattributes *.keras)
    with pytest.raises(ModelFormatError) as info:
        load_model(folder)
    message = str(info.value)
    # was: "... does not match the SHA-256 ...: the file was truncated or modified. Save the model again ..."
    assert "Git LFS pointer" in message and "git lfs pull" in message and str(keras_file) in message
    assert "Save the model again" not in message
    keras_file.write_bytes(data)  # after `git lfs pull`
    np.testing.assert_array_equal(load_model(folder).predict_proba(docs), expected)

"""A student works through the deep-learning-for-text chapter with toolkit in place of Keras' Tokenizer.

GloVe rows into a frozen Embedding of a model built with ``build_model``, the sigmoid model's predictions in a
confusion matrix: what the chapter's code does with Keras, and what went wrong here.
"""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from toolkit import SequenceEncoder, plot_confusion_matrix
from toolkit.models.builders import build_model, set_embedding_trainable
from toolkit.vectors import build_embedding_matrix, load_vectors


@pytest.fixture(scope="module")
def chapter_matrix(glove_small, imdb_tokens200):
    """A SequenceEncoder fitted on 200 real reviews (chapter: max 10,000 words, last 100 tokens) and the GloVe
    (matrix, report) pair of its vocabulary."""
    tokens, _ = imdb_tokens200
    encoder = SequenceEncoder(max_tokens=2000, maxlen=100).fit(tokens)
    return encoder, build_embedding_matrix(encoder.vocabulary_, load_vectors(glove_small))


def _cell_texts(fig):
    return [text.get_text() for text in fig.axes[0].texts]


def test_frozen_spelled_as_the_estimator_spells_it_keeps_the_glove_rows(chapter_matrix):
    # EmbeddingClassifier(trainable="frozen") -> build_model(trainable="frozen"): bool("frozen") is True, so the
    # embedding trained, and the GloVe rows the student meant to keep changed, without a word
    encoder, (matrix, _) = chapter_matrix
    model = build_model("flatten", vocab_size=len(encoder.vocabulary_), maxlen=100, embedding_matrix=matrix,
                        trainable="frozen")
    assert model.get_layer("embedding").trainable is False
    assert build_model("flatten", vocab_size=len(encoder.vocabulary_), maxlen=100, embedding_matrix=matrix,
                       trainable="trainable").get_layer("embedding").trainable is True
    set_embedding_trainable(model, "trainable")
    assert model.get_layer("embedding").trainable is True
    set_embedding_trainable(model, "frozen")
    assert model.get_layer("embedding").trainable is False
    with pytest.raises(ValueError, match=r"'trainable' parameter of build_model .* Got 'no' instead"):
        build_model("bag", vocab_size=10, maxlen=4, embedding_dim=8, trainable="no")
    with pytest.raises(ValueError, match="set_embedding_trainable\\(model, True\\)"):
        build_model("bag", vocab_size=10, maxlen=4, embedding_dim=8, trainable="finetune")


def test_the_matrix_and_report_pair_as_embedding_matrix_says_to_unpack_it(chapter_matrix):
    # embedding_matrix = build_embedding_matrix(...) then build_model(embedding_matrix=embedding_matrix): numpy's
    # "setting an array element with a sequence ... inhomogeneous shape" named neither argument nor the fix
    encoder, pair = chapter_matrix
    with pytest.raises(ValueError, match=r"\(matrix, report\) pair that build_embedding_matrix returns.*"
                                         r"matrix, report = build_embedding_matrix"):
        build_model("flatten", vocab_size=len(encoder.vocabulary_), maxlen=100, embedding_matrix=pair)


def test_a_column_of_thresholded_sigmoid_outputs_is_one_label_per_review():
    # the chapter's y_pred = (model.predict(x_test) > 0.5).astype("int32") has shape (n, 1): it was refused, with
    # advice to take the argmax of its one column, which is 0 for every review
    y_true = np.array([0, 1, 1, 0, 1, 1])
    probabilities = np.array([[0.1], [0.9], [0.4], [0.2], [0.8], [0.7]], dtype="float32")
    column = (probabilities > 0.5).astype("int32")
    expected = _cell_texts(plot_confusion_matrix(y_true, column.ravel(), ["neg", "pos"]))
    assert expected == ["2", "0", "1", "3"]
    assert _cell_texts(plot_confusion_matrix(y_true, column, ["neg", "pos"])) == expected
    assert _cell_texts(plot_confusion_matrix(y_true[:, None], column, ["neg", "pos"])) == expected


def test_sigmoid_probabilities_as_predictions_are_named_with_the_threshold_fix():
    y_true = np.array([0, 1, 1, 0])
    probabilities = np.array([[0.1], [0.9], [0.4], [0.2]], dtype="float32")
    for y_pred in (probabilities, probabilities.ravel()):
        with pytest.raises(ValueError, match=r"looks like probabilities.*\(y_pred > 0.5\).astype\(int\)") as info:
            plot_confusion_matrix(y_true, y_pred, ["neg", "pos"])
        assert "argmax" not in str(info.value)


def test_accuracy_logged_by_an_accuracy_metric_object_gets_its_panel(chapter_matrix, imdb_tokens200):
    # compile(metrics=[keras.metrics.BinaryAccuracy()]) logs "binary_accuracy": plot_history's default drew the
    # loss panel alone, the accuracy curves dropped without a word
    import keras

    from toolkit import plot_history

    encoder, (matrix, _) = chapter_matrix
    tokens, labels = imdb_tokens200
    X, y = encoder.transform(tokens), (np.asarray(labels) == "pos").astype("float32")
    model = build_model("flatten", vocab_size=len(encoder.vocabulary_), maxlen=100, embedding_matrix=matrix,
                        trainable=False, hidden_units=8, seed=0)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=[keras.metrics.BinaryAccuracy()])
    history = model.fit(X[:150], y[:150], epochs=2, batch_size=32, validation_data=(X[150:], y[150:]), verbose=0)
    assert "binary_accuracy" in history.history
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["Training and validation loss",
                                                   "Training and validation accuracy"]
    accuracy = fig.axes[1].lines
    assert [line.get_label() for line in accuracy] == ["Training accuracy", "Validation accuracy"]
    np.testing.assert_allclose(accuracy[1].get_ydata(), history.history["val_binary_accuracy"])


def test_a_plot_path_ending_in_a_slash_is_a_folder_not_a_file_named_like_it(tmp_path):
    # plot_history(history, "figures/") wrote a PNG file named "figures"; the next plot into
    # "figures/accuracy.png" then failed because "figures" was a file
    from toolkit import plot_history

    history = {"loss": [0.69, 0.52], "val_loss": [0.68, 0.6]}
    with pytest.raises(IsADirectoryError, match=r"figures/ ends with a slash.*figures/plot\.png"):
        plot_history(history, f"{tmp_path}/figures/")
    assert not (tmp_path / "figures").exists()
    assert plot_history(history, tmp_path / "figures" / "loss.png").is_file()


def test_load_model_on_a_weights_file_says_to_rebuild_and_load_weights(tmp_path):
    # the chapter saves model.save_weights("pre_trained_glove_model.weights.h5"); load_model on it said that it
    # "loads with keras.models.load_model", which refuses it too ("No model config found in the file")
    from toolkit import ModelFormatError, load_model

    model = build_model("bag", vocab_size=20, maxlen=5, embedding_dim=4, seed=0)
    weights = tmp_path / "pre_trained_glove_model.weights.h5"
    model.save_weights(weights)
    with pytest.raises(ModelFormatError, match=r"weights of a Keras model only.*model\.load_weights\(path\)") as info:
        load_model(weights)
    assert "keras.models.load_model" not in str(info.value)
    rebuilt = build_model("bag", vocab_size=20, maxlen=5, embedding_dim=4, seed=1)
    rebuilt.load_weights(weights)  # what the message says works
    ids = np.array([[0, 3, 4, 5, 6]], dtype="int32")
    np.testing.assert_allclose(rebuilt.predict(ids, verbose=0), model.predict(ids, verbose=0))


@pytest.mark.parametrize("where", [".", "", ".."])
def test_save_model_to_the_current_folder_names_the_parameter_and_the_fix(tmp_path, monkeypatch, where):
    # save_model(clf, ".") failed with "ValueError: PosixPath('.') has an empty name", raised deep in the atomic
    # write; the folder is left as it was
    from sklearn.linear_model import LogisticRegression

    from toolkit import save_model

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(ValueError, match=r"save_model writes a model folder of its own.*save_model\(clf, 'imdb-model'\)"):
        save_model(model, where)
    assert not any((tmp_path / "work").iterdir()) and sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert save_model(model, "imdb-model").is_dir()

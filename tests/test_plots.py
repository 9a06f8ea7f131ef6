"""Plots: real PNGs, checked by signature and size; errors name the problem."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pytest

from toolkit.plots import plot_confusion_matrix, plot_history, plot_word_map

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_bytes=5_000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "temp file left behind"


@pytest.fixture(scope="module")
def glove_head(shared_data):
    """The first 5000 GloVe 6B-50d vectors, read straight from the real file."""
    vectors = {}
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rt", encoding="utf-8") as fh:
        for _, line in zip(range(5000), fh):
            word, *values = line.rstrip().split(" ")
            vectors[word] = np.asarray(values, dtype=np.float32)
    return vectors


HISTORY = {
    "loss": [0.69, 0.52, 0.40, 0.31],
    "accuracy": [0.52, 0.75, 0.83, 0.88],
    "val_loss": [0.66, 0.55, 0.50, 0.52],
    "val_accuracy": [0.58, 0.72, 0.77, 0.78],
}


def test_plots_history_writes_png(tmp_path):
    out = plot_history(HISTORY, tmp_path / "history.png", title="IMDB")
    assert out == tmp_path / "history.png"
    assert_png(out)


def test_plots_history_accepts_keras_history_and_estimator(tmp_path):
    class KerasLike:
        history = HISTORY

    class EstimatorLike:
        history_ = {"loss": [1.0, 0.5], "acc": [0.4, 0.6]}  # old Keras name

    assert_png(plot_history(KerasLike(), tmp_path / "a.png"))
    assert_png(plot_history(EstimatorLike(), tmp_path / "b.png"))


def test_plots_history_without_metrics_raises(tmp_path):
    with pytest.raises(ValueError, match=r"none of the metrics \['loss', 'accuracy'\]; it has \['mae'\]"):
        plot_history({"mae": [1.0]}, tmp_path / "h.png")
    with pytest.raises(TypeError, match="history must be a dict"):
        plot_history([0.1, 0.2], tmp_path / "h.png")
    assert list(tmp_path.iterdir()) == []


def test_plots_confusion_matrix_names_and_codes(tmp_path):
    y_true = np.array([0, 0, 1, 1, 1, 0])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    assert_png(plot_confusion_matrix(y_true, y_pred, ["neg", "pos"], tmp_path / "cm.png"))
    labels = np.array(["neg", "pos"])
    assert_png(
        plot_confusion_matrix(labels[y_true], labels[y_pred], ["neg", "pos"], tmp_path / "cm2.png", normalize="true")
    )


def test_plots_confusion_matrix_shape_mismatch_raises(tmp_path):
    with pytest.raises(ValueError, match="same length, got shapes"):
        plot_confusion_matrix([0, 1], [0], ["neg", "pos"], tmp_path / "cm.png")


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_plots_word_map_real_glove(glove_head, tmp_path, method):
    words = ["king", "queen", "man", "woman", "paris", "france", "london", "britain", "good", "bad"]
    out = plot_word_map(glove_head, words, tmp_path / f"map_{method}.png", method=method)
    assert_png(out)


def test_plots_word_map_missing_words(glove_head, tmp_path, caplog):
    with pytest.raises(KeyError, match=r"1 word\(s\) not in the vectors: 'qwxzz'"):
        plot_word_map(glove_head, ["king", "queen", "qwxzz"], tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()
    out = plot_word_map(glove_head, ["king", "queen", "qwxzz"], tmp_path / "m.png", skip_missing=True)
    assert_png(out)
    assert "qwxzz" in caplog.text


def test_plots_word_map_bad_method_and_too_few_words(glove_head, tmp_path):
    with pytest.raises(ValueError, match="The 'method' parameter of plot_word_map must be"):
        plot_word_map(glove_head, ["king", "queen"], tmp_path / "m.png", method="umap")
    with pytest.raises(ValueError, match="at least 3 known words for method='tsne'"):
        plot_word_map(glove_head, ["king", "queen"], tmp_path / "m.png", method="tsne")


def test_plots_import_is_light():
    import subprocess

    code = "import toolkit.plots, sys; print('matplotlib' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

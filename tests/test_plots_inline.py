"""Plots without a path: the figure comes back, and a notebook shows it as the cell's output.

Before, ``path`` was required: a notebook user wrote a PNG and read it back with
``IPython.display.Image`` to see a training history.
"""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest

HISTORY = {"loss": [0.7, 0.5, 0.45], "val_loss": [0.69, 0.6, 0.62],
           "accuracy": [0.5, 0.8, 0.85], "val_accuracy": [0.52, 0.7, 0.69]}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR: width, height


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_plot_history_without_path_returns_the_figure_and_writes_nothing(cwd):
    from matplotlib.figure import Figure

    from toolkit.plots import plot_history

    fig = plot_history(HISTORY, dpi=50)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["Training and validation loss", "Training and validation accuracy"]
    assert [len(line.get_xdata()) for line in fig.axes[0].lines] == [3, 3]
    assert os.listdir(cwd) == []
    # its own PNG, at the dpi asked for: two 5 x 4 inch panels at 50 dpi
    assert _png_size(fig._repr_png_()) == (500, 200)


def test_a_fitted_classifier_history_is_shown_by_ipython(cwd, shared_data):
    """What a notebook cell ending in ``plot_history(clf)`` displays, without pyplot or %matplotlib inline."""
    formatters = pytest.importorskip("IPython.core.formatters")
    from conftest import simple_tokens

    from toolkit.data import load_imdb
    from toolkit.models import EmbeddingClassifier
    from toolkit.plots import plot_history

    ds = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=120, shuffle=True, random_state=0)
    clf = EmbeddingClassifier(maxlen=40, embedding_dim=8, epochs=2, validation_split=0.25, random_state=0)
    clf.fit(simple_tokens(ds.texts), ds.labels)
    data, _ = formatters.DisplayFormatter().format(plot_history(clf))
    width, height = _png_size(data["image/png"])
    assert (width, height) == (1000, 400)  # the default 100 dpi
    assert os.listdir(cwd) == []


def test_confusion_matrix_and_word_map_without_path_return_figures(cwd):
    from toolkit.plots import plot_confusion_matrix, plot_word_map

    fig = plot_confusion_matrix([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], ["neg", "pos"])
    image = fig.axes[0].images[0].get_array()
    assert image.tolist() == [[2, 0], [1, 2]]
    vectors = {"good": np.array([1.0, 0.0, 0.2]), "great": np.array([0.9, 0.1, 0.2]),
               "awful": np.array([-1.0, 0.0, 0.1])}
    fig = plot_word_map(vectors, ["good", "great", "awful"], dpi=40)
    assert [text.get_text() for text in fig.axes[0].texts] == ["good", "great", "awful"]
    assert _png_size(fig._repr_png_()) == (280, 240)
    assert os.listdir(cwd) == []


def test_a_returned_figure_pickles_and_still_shows(cwd):
    """``toolkit.plots.PlotFigure`` is found by name, so a figure survives pickle (joblib, a notebook's state)."""
    from toolkit.plots import plot_history

    fig = pickle.loads(pickle.dumps(plot_history(HISTORY, dpi=30)))
    assert _png_size(fig._repr_png_()) == (300, 120)


def test_a_path_still_writes_the_file_and_returns_it(tmp_path):
    from toolkit.plots import plot_history

    out = plot_history(HISTORY, tmp_path / "h.png", dpi=40)
    assert out == tmp_path / "h.png"
    assert _png_size(out.read_bytes()) == (400, 160)


@pytest.mark.parametrize("dpi", [0, -5, float("nan"), "high", True])
def test_a_bad_dpi_names_the_parameter(cwd, dpi):
    from toolkit.plots import plot_history

    with pytest.raises(ValueError, match="'dpi' parameter of plot_history must be a positive number"):
        plot_history(HISTORY, dpi=dpi)

"""Plots as their users meet them: a diverged training, Keras' validation_freq, repeated classes, words with
one vector, "$" in labels, fig.show() in a script, write errors, and the advice of the missing-words error in
the caller's terms (session 41 user hunt).

Each test failed before its fix: a NaN loss drew a 2-epoch loss panel beside a 4-epoch accuracy panel
with no word; ``labels=["neg", "pos", "neg"]`` showed zeros in the first "neg" row; identical vectors put
every word on (0, 0) (PCA) or killed the interpreter (t-SNE, a segmentation fault); vectors of two lengths
or with NaN gave numpy's and scikit-learn's messages, naming no word; the missing-words error said
"pass skip_missing=True (--skip-missing on the command line)" to both callers.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest
from conftest import write_vectors

from toolkit.plots import plot_confusion_matrix, plot_history, plot_word_map

NAN = float("nan")


def _marks(ax):
    """label -> epochs of the x marks of non-finite values in a panel."""
    return {line.get_label(): line.get_xdata().tolist() for line in ax.lines if line.get_marker() == "x"}


def test_a_diverged_training_shows_its_nan_epochs(caplog):
    history = {"loss": [0.69, 0.52, NAN, NAN], "val_loss": [0.66, 0.58, NAN, NAN],
               "accuracy": [0.55, 0.74, 0.5, 0.5], "val_accuracy": [0.6, 0.7, 0.5, 0.5]}
    with caplog.at_level(logging.WARNING, logger="toolkit.plots"):
        fig = plot_history(history)
    loss, accuracy = fig.axes
    assert _marks(loss) == {"Training loss NaN (epochs 3-4)": [3, 4], "Validation loss NaN (epochs 3-4)": [3, 4]}
    assert _marks(accuracy) == {}
    # the loss panel spans the 4 epochs, as the accuracy panel does (it ended at epoch 2)
    assert loss.get_xlim() == accuracy.get_xlim()
    assert loss.get_xlim()[1] > 4
    # the finite values are drawn as they are
    assert loss.lines[0].get_ydata()[:2].tolist() == [0.69, 0.52]
    assert "training loss is NaN at epochs 3-4 of 4" in caplog.text


def test_a_history_all_nan_or_inf_is_marked_at_every_epoch(tmp_path):
    fig = plot_history({"loss": [NAN, float("inf"), NAN]}, metrics="loss")
    assert _marks(fig.axes[0]) == {"Training loss NaN or inf (epochs 1-3)": [1, 2, 3]}
    fig = plot_history({"loss": [0.7, 0.6, 0.5], "val_loss": [0.6, NAN, 0.55]}, metrics="loss")
    assert _marks(fig.axes[0]) == {"Validation loss NaN (epoch 2)": [2]}
    # the validation line broken by the NaN keeps a marker per epoch (its lone points would be invisible)
    assert fig.axes[0].lines[1].get_marker() == "s"


def test_a_repeated_class_in_labels_is_refused():
    # scikit-learn counted both "neg" samples in the last "neg" row: the first showed two zeros
    with pytest.raises(ValueError, match=r"labels names 'neg' more than once.*Pass each class once"):
        plot_confusion_matrix(["neg", "pos", "neg"], ["neg", "pos", "pos"], ["neg", "pos", "neg"])
    with pytest.raises(ValueError, match="labels names 'neg' more than once"):
        plot_confusion_matrix([0, 1], [0, 1], np.array(["neg", "neg"]))
    fig = plot_confusion_matrix(["neg", "pos", "neg"], ["neg", "pos", "pos"], ["neg", "pos"])
    assert fig.axes[0].images[0].get_array().tolist() == [[1, 1], [0, 1]]


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_words_with_one_vector_are_refused_not_crashed(method, tmp_path):
    code = (
        "import numpy as np\n"
        "from toolkit.plots import plot_word_map\n"
        "vectors = {w: np.ones(8) for w in ['<unk>', 'unk', 'oov']}\n"
        "try:\n"
        f"    plot_word_map(vectors, ['<unk>', 'unk', 'oov'], method={method!r})\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    # in a child process: before, t-SNE's start divided by zero and ended the interpreter with a segfault
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "The 3 words '<unk>', 'unk', 'oov' all have the same vector" in out.stdout


def test_words_sharing_a_vector_share_one_label(caplog):
    rng = np.random.default_rng(0)
    vectors = {"good": rng.normal(size=8), "bad": rng.normal(size=8), "film": rng.normal(size=8)}
    vectors["movie"] = vectors["film"].copy()
    with caplog.at_level(logging.INFO, logger="toolkit.plots"):
        fig = plot_word_map(vectors, ["good", "film", "bad", "movie"])
    # one label at the shared point (two labels drawn over each other read as neither)
    assert [text.get_text() for text in fig.axes[0].texts] == ["good", "film, movie", "bad"]
    points = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(points[1], points[3])
    assert "share a point on the map: film, movie" in caplog.text


def test_vectors_of_two_lengths_or_with_nan_name_the_words():
    with pytest.raises(ValueError, match=r"one length, got shape \(3,\) for 'a', 'b'; shape \(4,\) for 'c'"):
        plot_word_map({"a": np.ones(3), "b": np.zeros(3), "c": np.ones(4)}, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"1 word\(s\) hold NaN or infinite values: 'b'"):
        plot_word_map({"a": np.ones(3), "b": np.array([1.0, NAN, 0.0]), "c": np.zeros(3)}, ["a", "b", "c"])


def test_missing_words_advice_in_python_terms():
    vectors = {"good": np.ones(3), "bad": np.zeros(3)}
    with pytest.raises(KeyError) as info:
        plot_word_map(vectors, ["good", "bad", "qwxzz"])
    message = info.value.args[0]
    assert message == ("1 word(s) not in the vectors: 'qwxzz'. Remove them, or pass skip_missing=True to leave "
                       "them off the map.")


def test_missing_words_advice_in_command_line_terms(tmp_path):
    vec = write_vectors(tmp_path / "small.vec", ["good", "bad", "film", "movie"])
    out = subprocess.run(
        [sys.executable, "-m", "toolkit", "vectors", "map", "good", "bad", "qwxzz", "-V", str(vec), "-o", "m.png"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert ("Error: 1 word(s) not in the vectors: 'qwxzz'. Remove them, or pass --skip-missing to leave them off "
            "the map.") in out.stderr
    assert "skip_missing" not in out.stderr
    assert not (tmp_path / "m.png").exists()


class _KerasHistory:
    """What ``model.fit(..., epochs=5, validation_split=0.25, validation_freq=2)`` returns (checked with Keras 3:
    5 values of loss, 2 of val_loss, ``epoch == [0, 1, 2, 3, 4]``)."""

    def __init__(self):
        self.epoch = [0, 1, 2, 3, 4]
        self.params = {"epochs": 5, "verbose": 0, "steps": 2}
        self.history = {"loss": [0.70, 0.62, 0.55, 0.50, 0.46], "accuracy": [0.50, 0.61, 0.70, 0.75, 0.78],
                        "val_loss": [0.64, 0.53], "val_accuracy": [0.60, 0.72]}


def test_a_keras_history_with_validation_freq_draws_validation_at_its_epochs(caplog):
    fig = plot_history(_KerasHistory())
    for ax in fig.axes:
        train, val = ax.lines
        assert train.get_xdata().tolist() == [1, 2, 3, 4, 5]
        # validated after epochs 2 and 4: drawn at 1 and 2 before, a validation loss below the training's
        assert val.get_xdata().tolist() == [2, 4]
    assert fig.axes[0].lines[1].get_ydata().tolist() == [0.64, 0.53]
    # its .history dict cannot tell which epochs: drawn at 1, 2 as before, with a warning saying so
    with caplog.at_level(logging.WARNING, logger="toolkit.plots"):
        fig = plot_history(_KerasHistory().history, metrics="loss")
    assert fig.axes[0].lines[1].get_xdata().tolist() == [1, 2]
    assert "val_loss has 2 value(s) for 5 epochs of training: drawn at epochs 1-2" in caplog.text


def test_history_metrics_named_twice_get_one_panel_and_none_is_refused():
    history = {"loss": [0.7, 0.5], "accuracy": [0.5, 0.7]}
    # "acc" is accepted for "accuracy": naming both drew the same values twice, titled differently
    fig = plot_history(history, metrics=["accuracy", "acc", "loss", "loss"])
    assert [ax.get_title() for ax in fig.axes] == ["Training accuracy", "Training loss"]
    with pytest.raises(ValueError, match=r"'metrics' parameter of plot_history must be a str or a list of str.*"
                                         r"Got None instead"):
        plot_history(history, metrics=None)


def test_a_bad_normalize_names_plot_confusion_matrix():
    # scikit-learn's message named its own confusion_matrix, a function the user did not call
    with pytest.raises(ValueError, match=r"The 'normalize' parameter of plot_confusion_matrix must be a str among "
                                         r"\{'true', 'pred', 'all'\} or None. Got 'rows' instead."):
        plot_confusion_matrix([0, 1], [0, 1], ["neg", "pos"], normalize="rows")


def test_dollar_signs_in_class_names_and_words_are_text_not_math(tmp_path):
    # matplotlib reads a label with two "$" as mathtext: "$0-$50" was drawn as "0-" in italics, and
    # "$\frac$" failed the save with a ParseSyntaxException (no file; the traceback named no label)
    out = plot_confusion_matrix([0, 1, 1], [0, 1, 0], ["$0-$50", "$\\frac$"], tmp_path / "cm.png", dpi=40)
    assert out.exists()
    fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], ["$0-$50", "$\\frac$"])
    labels = fig.axes[0].get_xticklabels() + fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == ["$0-$50", "$\\frac$"] * 2
    assert not any(t.get_parse_math() for t in labels)
    rng = np.random.default_rng(0)
    vectors = {w: rng.normal(size=6) for w in ["$5", "$10", "a$b\\frac$", "cheap"]}
    out = plot_word_map(vectors, list(vectors), tmp_path / "map.png", dpi=40)
    assert out.exists()
    fig = plot_word_map(vectors, list(vectors))
    assert not any(t.get_parse_math() for t in fig.axes[0].texts)


def test_a_script_user_can_show_the_returned_figure():
    # fig.show() raised "Figure.show works only for figures managed by pyplot": pyplot now adopts it
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() != "agg":  # a test run with a window system: nothing to open here
        pytest.skip("needs the Agg backend")
    fig = plot_history({"loss": [0.7, 0.5], "val_loss": [0.6, 0.55]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Agg: "non-interactive, and thus cannot be shown"
            fig.show()
        assert plt.gcf() is fig
    finally:
        plt.close(fig)
    assert fig not in [plt.figure(n) for n in plt.get_fignums()]


def test_a_full_disk_or_a_long_name_names_the_image_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    from matplotlib.figure import Figure

    def full_disk(self, fname, **kwargs):
        with open(fname, "wb") as fh:
            fh.write(b"\x89PNG\r\n\x1a\n half an image")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(Figure, "savefig", full_disk)
        with pytest.raises(OSError, match=r"Cannot write .*history\.png: No space left on device; nothing was "
                                          r"written there\. Free some disk space") as info:
            plot_history({"loss": [0.7, 0.5]}, tmp_path / "history.png")
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # no half-written image, no temporary file
    # 245 characters: a name the file system takes, but not its temporary name (18 more); the error named that
    name = "h" * 241 + ".png"
    with pytest.raises(OSError, match=r"Cannot write .*hhh\.png: File name too long; nothing was written there\. "
                                      r"Choose a shorter file name") as info:
        plot_history({"loss": [0.7, 0.5]}, tmp_path / name)
    assert ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_estimator_without_history_says_why():
    # "history must be a dict ..., a fitted estimator with a history_ attribute ..., got EmbeddingClassifier"
    # left the user to guess: the classifier was not fitted yet (or is no Keras model)
    from sklearn.linear_model import LogisticRegression

    from toolkit.models import EmbeddingClassifier

    with pytest.raises(TypeError, match=r"got an unfitted EmbeddingClassifier, which holds no per-epoch history_"):
        plot_history(EmbeddingClassifier(epochs=2))
    with pytest.raises(TypeError, match=r"got a fitted LogisticRegression, which holds no per-epoch history_: "
                                        r"the Keras models \(EmbeddingClassifier\) record one"):
        plot_history(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))


def test_train_run_folder_history_marks_the_kept_epoch(imdb_small, tmp_path, monkeypatch):
    # before: `toolkit train` drew history.png from the estimator's history_ dict, which holds no best_epoch_:
    # the "Kept weights (epoch N)" line that plot_history(model) draws in a notebook was missing from the run folder
    import csv

    from typer.testing import CliRunner

    import toolkit.plots
    from toolkit.cli import app

    texts, labels = imdb_small
    data = tmp_path / "reviews.csv"
    with open(data, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[:120], labels[:120])])
    drawn = []
    real = toolkit.plots.plot_history

    def recording(history, *args, **kwargs):
        drawn.append(real(history))  # the figure the run folder's file shows
        return real(history, *args, **kwargs)

    monkeypatch.setattr(toolkit.plots, "plot_history", recording)
    import toolkit.cli.train as train_module

    real_final = train_module._final_estimator

    def stopped_early(estimator):  # as early stopping leaves it: the weights of epoch 1 of 2 kept
        final = real_final(estimator)
        final.best_epoch_ = 0
        return final

    monkeypatch.setattr(train_module, "_final_estimator", stopped_early)
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(data), "--vectors", "none", "--no-baseline",
                                      "--set", "architecture=bag", "--set", "epochs=2", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "history.png").is_file() and len(drawn) == 1
    labels_drawn = [line.get_label() for ax in drawn[0].axes for line in ax.get_lines()]
    assert any(label.startswith("Kept weights (epoch ") for label in labels_drawn), labels_drawn

"""Session 47 (h3): a model folder that holds the user's own files loads; a failed save or plot into missing
nested folders removes the folders it created; save_model(clf, "x.keras") says what it writes."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest
from conftest import saved_nb_pipeline

from toolkit.exceptions import ModelFormatError
from toolkit.models import load_model, save_model


@pytest.fixture(scope="module")
def saved(imdb_small, tmp_path_factory):
    """A saved tokenizer + bag + LogisticRegression pipeline (200 real training reviews), and 20 other reviews."""
    texts, labels = imdb_small
    return saved_nb_pipeline(texts[:200], labels[:200], tmp_path_factory.mktemp("s47")), texts[200:220]


@pytest.fixture
def folder(saved, tmp_path):
    """A copy of :func:`saved`'s folder of the test's own."""
    return shutil.copytree(saved[0], tmp_path / "model")


def _user_function(x):  # a function of a test module: skops cannot store it (save_model refuses it mid-save)
    return x


# ------------------------------------------------------------------ the user's files in a model folder
def test_a_model_folder_holding_the_users_plot_and_notes_loads(saved, folder, caplog):
    """A notebook saves history.png (and a folder of plots) into the model folder: load_model refused it
    ("holds files that are not part of the saved model (history.png) ... Move them out"). Now the files
    save_model wrote are read, the others are named in the log and never read."""
    (folder / "history.png").write_bytes(b"\x89PNG\r\n\x1a\n not read")
    (folder / "plots").mkdir()
    (folder / "plots" / "cm.png").write_bytes(b"x")
    (folder / "NOTES.md").write_text("trained on 200 reviews")
    with caplog.at_level(logging.INFO, logger="toolkit.models.persistence"):
        loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(saved[1]), load_model(saved[0]).predict_proba(saved[1]))
    assert any("NOTES.md, history.png, plots" in r.getMessage() and "not written by save_model" in r.getMessage()
               for r in caplog.records), caplog.text


def test_a_model_folder_with_extra_files_still_refuses_a_missing_or_damaged_file(folder):
    (folder / "history.png").write_bytes(b"png")
    config = (folder / "config.json").read_bytes()
    (folder / "config.json").write_bytes(config[:-10])
    with pytest.raises(ModelFormatError, match=r"config\.json does not match the SHA-256 .* truncated or modified"):
        load_model(folder)
    (folder / "config.json").write_bytes(config)
    (folder / "model.skops").unlink()
    with pytest.raises(ModelFormatError, match=r"model\.skops is missing from the model folder"):
        load_model(folder)


def test_a_file_of_the_format_that_the_checksums_do_not_list_is_refused(folder):
    """A model.keras (or spans.npz) copied into a folder whose checksums.json does not list it: files of two
    saves were mixed, and which one is the model cannot be told."""
    (folder / "model.keras").write_bytes(b"PK\x03\x04 another model")
    with pytest.raises(ModelFormatError, match=r"holds model\.keras, a file save_model writes, but checksums\.json "
                                               r"does not list it: files of two saved models were mixed"):
        load_model(folder)


# ------------------------------------------------------------------ a failed write removes the folders it made
def test_a_failed_save_into_missing_nested_folders_removes_them(imdb_small, tmp_path):
    """save_model that fails mid-way (a type skops cannot store: refused after the folders were made) left
    a/b/c behind, empty; the folders that were there before stay."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(_user_function), LogisticRegression()).fit([[0.0], [1.0]], [0, 1])
    (tmp_path / "runs").mkdir()
    with pytest.raises(TypeError, match="save_model cannot store Pipeline"):
        save_model(pipe, tmp_path / "runs" / "a" / "b" / "c" / "model")
    assert os.listdir(tmp_path) == ["runs"] and os.listdir(tmp_path / "runs") == []


def test_a_save_with_a_name_too_long_removes_the_folders_it_made(saved, tmp_path):
    """A real OSError (the temporary name is too long for the file system) after the folders were made."""
    model = load_model(saved[0])
    with pytest.raises(OSError, match="shorter folder name"):
        save_model(model, tmp_path / "a" / "b" / ("m" * 250))
    assert os.listdir(tmp_path) == []


def test_a_failed_plot_into_missing_folders_removes_them(tmp_path):
    from toolkit.plots import plot_confusion_matrix

    (tmp_path / "figures").mkdir()
    with pytest.raises(OSError, match=r"Cannot write .* shorter file name"):
        plot_confusion_matrix(["pos", "neg"], ["pos", "pos"], path=tmp_path / "figures" / "s47" / ("c" * 250 + ".png"))
    assert os.listdir(tmp_path) == ["figures"] and os.listdir(tmp_path / "figures") == []
    assert plot_confusion_matrix(["pos", "neg"], ["pos", "pos"], path=tmp_path / "figures" / "s47" / "cm.png").is_file()


def test_atomic_output_removes_only_the_empty_folders_it_created(tmp_path):
    from toolkit._atomic import atomic_output

    target = tmp_path / "old" / "new1" / "new2" / "out.txt"
    (tmp_path / "old").mkdir()
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        (tmp_path / "old" / "new1" / "theirs.txt").write_text("another writer's")
        raise RuntimeError
    assert sorted(os.listdir(tmp_path / "old")) == ["new1"]
    assert os.listdir(tmp_path / "old" / "new1") == ["theirs.txt"]  # new2 removed, new1 holds another file


def test_a_failed_write_through_dot_dot_never_removes_a_folder_that_was_there(tmp_path):
    """"new/../old/out.txt": "new/../old" does not exist until "new" does, yet it is "old", there before."""
    from toolkit._atomic import atomic_output

    (tmp_path / "old").mkdir()
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "new" / ".." / "old" / "out.txt"):
        raise RuntimeError
    assert (tmp_path / "old").is_dir()


def test_a_folder_another_failed_write_removed_is_made_again(tmp_path, monkeypatch):
    """Two writers into one new folder: the one that fails removes the folder (empty) between the other's
    mkdir and its temporary file; the other makes it again instead of failing with FileNotFoundError."""
    import toolkit._atomic as atomic

    real = atomic.remove_stale

    def racing(folder, pattern, **kwargs):  # runs between atomic_output's mkdir and its temporary file
        os.rmdir(folder)
        return real(folder, pattern, **kwargs)

    monkeypatch.setattr(atomic, "remove_stale", racing)
    with atomic.atomic_output(tmp_path / "new" / "out.txt") as tmp:
        tmp.write_text("done")
    assert (tmp_path / "new" / "out.txt").read_text() == "done"


# ------------------------------------------------------------------ save_model(clf, "x.keras")
def test_save_model_to_a_keras_file_name_says_it_writes_a_folder_and_how_to_get_the_file(imdb_tokens200, tmp_path):
    """save_model(clf, "imdb.keras") wrote a folder named imdb.keras, which keras.models.load_model refuses.
    Now a ValueError names the folder to pass and the call that writes the .keras file of the network alone,
    and that call works."""
    import keras

    from toolkit.models import EmbeddingClassifier

    tokens, labels = imdb_tokens200
    clf = EmbeddingClassifier(architecture="nbsvm", epochs=1, max_tokens=500, random_state=0).fit(tokens, labels)
    with pytest.raises(ValueError, match=r"got '.*imdb\.keras': a name ending in '\.keras' reads as a single file\. "
                                         r"save_model writes a folder \(model\.keras, vocabulary\.json, .*e\.g\. "
                                         r"save_model\(estimator, '.*imdb'\).* clf\.model_\.save\('.*imdb\.keras'\) "
                                         r"writes that file \(keras\.saving\.load_model reads it after "
                                         r"toolkit\.models\.register_layers\(\)"):
        save_model(clf, tmp_path / "imdb.keras")
    with pytest.raises(ValueError, match=r"clf\.model_\.save_weights\('.*imdb\.weights\.h5'\)"):
        save_model(clf, tmp_path / "runs" / "imdb.weights.h5")
    assert os.listdir(tmp_path) == []
    clf.model_.save(tmp_path / "imdb.keras")  # the advice works
    assert keras.models.load_model(tmp_path / "imdb.keras").count_params() == clf.model_.count_params()


def test_save_model_to_a_pickle_name_and_an_old_folder_named_like_a_file(saved, tmp_path):
    model = load_model(saved[0])
    with pytest.raises(ValueError, match=r"'\.pkl' reads as a single file.*model\.skops.*joblib\.dump\(estimator, "):
        save_model(model, tmp_path / "clf.pkl")
    with pytest.raises(ValueError, match=r"A Pipeline holds no Keras network to write as a \.keras file"):
        save_model(model, tmp_path / "clf.keras")
    old = shutil.copytree(saved[0], tmp_path / "saved-before.keras")  # a folder such a save wrote before: replaced
    assert save_model(model, old) == old and (old / "model.skops").is_file()


# ------------------------------------------------------------------ a dpi with a zero too many
@pytest.mark.parametrize("plot", ["history", "confusion"])
def test_a_dpi_too_large_is_refused_before_drawing(plot, tmp_path, monkeypatch):
    """plot_confusion_matrix(..., dpi=10000) drew a 44,000 x 35,000-pixel image: the process grew past 20 GB
    and the system killed it (a notebook's kernel dies without a word). Now a ValueError names the dpi that
    fits. (Drawing is stubbed to fail here, so the test never allocates such an image.)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from toolkit.plots import plot_confusion_matrix, plot_history

    def no_drawing(self, *args, **kwargs):
        raise AssertionError(f"drew a {self.figure.bbox.width:,.0f} x {self.figure.bbox.height:,.0f}-pixel image")

    monkeypatch.setattr(FigureCanvasAgg, "get_renderer", no_drawing)
    target = tmp_path / "figures" / "big.png"
    with pytest.raises(ValueError, match=r"The 'dpi' parameter of plot_\w+ is too large: dpi=10000 makes its .* "
                                         r"figure [\d,]+ x [\d,]+ pixels .*Pass dpi=\d+ or less"):
        if plot == "history":
            plot_history({"loss": [0.7, 0.5], "val_loss": [0.69, 0.6]}, target, dpi=10000)
        else:
            plot_confusion_matrix(["pos", "neg"], ["pos", "pos"], path=target, dpi=10000)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ plot_history(history, "loss"): metrics meant
_HISTORY = {"loss": [0.69, 0.52], "val_loss": [0.66, 0.58], "accuracy": [0.55, 0.78], "val_accuracy": [0.6, 0.7]}


@pytest.mark.parametrize("metric", ["loss", "val_accuracy", "acc"])
def test_plot_history_with_a_metric_name_as_path_says_metrics_is_a_keyword(metric, tmp_path, monkeypatch):
    """plot_history(history, "loss") wrote a PNG file named "loss" in the current folder and returned its path:
    the notebook showed PosixPath('loss') instead of the loss curves."""
    from toolkit.plots import plot_history

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=rf"'{metric}' names a metric: pass metrics='{metric}' by keyword .*"
                                         rf"such as '{metric}\.png'"):
        plot_history(_HISTORY, metric)
    assert os.listdir(tmp_path) == []
    assert plot_history(_HISTORY, f"{metric}.png").is_file()  # a file name with its format still writes


def test_plot_paths_of_the_wrong_type_name_the_parameter(tmp_path):
    """A list (metrics meant) or bytes as path raised os.fspath's "expected str, bytes or os.PathLike object,
    not list", naming no parameter."""
    from toolkit.plots import plot_confusion_matrix, plot_history

    with pytest.raises(TypeError, match=r"The 'path' parameter of plot_history must be a str or path-like .*got "
                                        r"list \['loss', 'accuracy'\]\. The metrics to draw are chosen by keyword"):
        plot_history(_HISTORY, ["loss", "accuracy"])
    with pytest.raises(TypeError, match=r"The 'path' parameter of plot_confusion_matrix .*got bytes b'cm\.png'"):
        plot_confusion_matrix(["pos", "neg"], ["pos", "pos"], path=b"cm.png")

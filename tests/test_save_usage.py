"""A user's view of save_model / load_model and the plots: what is replaced, what is refused, what the errors say."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models.persistence import load_model, save_model
from toolkit.plots import plot_confusion_matrix, plot_history


def _no_debris(folder) -> list:
    """Names of temporary entries (``.name.<hex>.tmp*``) an atomic write left in ``folder``."""
    return [name for name in os.listdir(folder) if name.startswith(".") and ".tmp" in name]


@pytest.fixture(scope="module")
def nb_model(imdb_tokens):
    """An NBSVM pipeline (bag of words, no Keras) fitted on 300 real reviews, and 100 held-out token lists."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier

    docs, labels = imdb_tokens
    return make_pipeline(BagEncoder(), NBSVMClassifier()).fit(docs[:300], labels[:300]), docs[300:400]


# --- saving over what is already there ---------------------------------------------------------------------


def test_save_refuses_another_librarys_folder_with_a_config_json(nb_model, tmp_path):
    """A folder holding a config.json of another program (a Hugging Face model) is not a toolkit model folder."""
    model, _ = nb_model
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "bert"}')
    (other / "pytorch_model.bin").write_bytes(b"weights")
    with pytest.raises(FileExistsError, match=r"bert exists and is not a toolkit model folder"):
        save_model(model, other)
    assert sorted(os.listdir(other)) == ["config.json", "pytorch_model.bin"]
    assert (other / "pytorch_model.bin").read_bytes() == b"weights"


def test_save_keeps_the_users_files_in_a_model_folder(nb_model, tmp_path):
    """Replacing a model folder must not delete what the user put in it: it is kept in the new folder."""
    model, docs = nb_model
    folder = save_model(model, tmp_path / "model")
    (folder / "NOTES.md").write_text("trained on 300 reviews")
    save_model(model, folder)  # was: FileExistsError "also holds NOTES.md, which save_model did not write"
    assert (folder / "NOTES.md").read_text() == "trained on 300 reviews"
    np.testing.assert_array_equal(load_model(folder).predict(docs), model.predict(docs))


def test_save_replaces_a_model_folder_with_a_damaged_config(nb_model, tmp_path):
    """load_model says "save the model again": saving over a folder whose config.json is truncated works."""
    model, docs = nb_model
    folder = save_model(model, tmp_path / "model")
    config = folder / "config.json"
    config.write_text(config.read_text()[:20])
    with pytest.raises(ModelFormatError, match="Save the model again"):
        load_model(folder)
    save_model(model, folder)
    np.testing.assert_array_equal(load_model(folder).predict(docs), model.predict(docs))


def test_save_under_a_file_names_the_file(nb_model, tmp_path):
    model, _ = nb_model
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"runs is a file, not a folder"):
        save_model(model, tmp_path / "runs" / "model")
    with pytest.raises(NotADirectoryError, match=r"runs is a file, not a folder"):
        save_model(model, tmp_path / "runs" / "2024" / "model")
    assert (tmp_path / "runs").read_text() == "not a folder"


def test_save_through_a_symlink_replaces_its_folder_and_keeps_the_link(nb_model, tmp_path):
    """``latest -> run-1/model``: saving to ``latest`` replaces the model it points to; no debris is left."""
    model, docs = nb_model
    target = save_model(model, tmp_path / "model-1")
    link = tmp_path / "latest"
    link.symlink_to(target, target_is_directory=True)
    save_model(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert _no_debris(tmp_path) == []
    np.testing.assert_array_equal(load_model(link).predict(docs), model.predict(docs))


def test_save_refuses_what_load_model_would_refuse_and_keeps_the_old_model(nb_model, tmp_path):
    """A lambda in a pipeline: skops stores it, load_model refuses it. save_model must fail, not replace a model."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model, docs = nb_model
    folder = save_model(model, tmp_path / "model")
    before = {name: (folder / name).read_bytes() for name in os.listdir(folder)}
    custom = make_pipeline(FunctionTransformer(lambda x: x), model)
    with pytest.raises(TypeError, match=r"<lambda>.*load_model refuses"):
        save_model(custom, folder)
    assert {name: (folder / name).read_bytes() for name in os.listdir(folder)} == before
    with pytest.raises(TypeError, match=r"<lambda>"):
        save_model(custom, tmp_path / "new")
    assert sorted(os.listdir(tmp_path)) == ["model"]
    np.testing.assert_array_equal(load_model(folder).predict(docs), model.predict(docs))


def test_load_a_run_folder_points_to_its_model(nb_model, tmp_path):
    """``toolkit train -o run`` writes run/model, run/metrics.json...; load_model("run") says where the model is."""
    model, _ = nb_model
    run = tmp_path / "run"
    save_model(model, run / "model")
    (run / "metrics.json").write_text(json.dumps({"accuracy": 0.8}))
    with pytest.raises(ModelFormatError, match=r"run folder of `toolkit train`\. Load .*run[/\\]model\.") as info:
        load_model(run)
    assert "Save the model again" not in str(info.value)


# --- plots ---------------------------------------------------------------------------------------------------

HISTORY = {"loss": [0.69, 0.52], "val_loss": [0.68, 0.6], "accuracy": [0.55, 0.81], "val_accuracy": [0.6, 0.7]}


def test_plot_history_takes_one_metric_as_a_string(tmp_path):
    out = plot_history(HISTORY, tmp_path / "loss.png", metrics="loss")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_write_the_format_their_suffix_names(tmp_path):
    """``history.pdf`` is a PDF (not PNG bytes under a .pdf name); no suffix is PNG; an unknown one is refused."""
    assert plot_history(HISTORY, tmp_path / "history.pdf").read_bytes()[:5] == b"%PDF-"
    assert plot_history(HISTORY, tmp_path / "history.svg").read_text().lstrip().startswith("<?xml")
    assert plot_history(HISTORY, tmp_path / "history").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"history\.docx: '\.docx' is not an image format"):
        plot_history(HISTORY, tmp_path / "history.docx")
    assert sorted(os.listdir(tmp_path)) == ["history", "history.pdf", "history.svg"]


def test_plots_bad_paths_name_the_path_not_a_temporary_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"is a folder; pass the image file to write") as info:
        plot_history(HISTORY, tmp_path)
    assert ".tmp" not in str(info.value)
    (tmp_path / "plots").write_text("a file")
    with pytest.raises(NotADirectoryError, match=r"plots is a file, not a folder"):
        plot_confusion_matrix(["neg", "pos"], ["neg", "pos"], ["neg", "pos"], tmp_path / "plots" / "cm.png")
    assert _no_debris(tmp_path) == []


def test_confusion_matrix_refuses_labels_it_would_drop(imdb_small, tmp_path):
    """Real labels with a third class the ``labels`` argument lacks: before, its samples vanished from the plot."""
    _, labels = imdb_small
    y_true = np.array(labels[:50], dtype=object)
    y_true[:5] = "neutral"
    with pytest.raises(ValueError, match=r"'neutral' that labels=\['neg', 'pos'\] lacks"):
        plot_confusion_matrix(y_true, labels[:50], ["neg", "pos"], tmp_path / "cm.png")
    with pytest.raises(ValueError, match=r"'0', '1' that labels=\[0, 1\] lacks"):  # CSV strings vs a model's ints
        plot_confusion_matrix(np.array(["0", "1", "1"]), np.array(["0", "1", "0"]), [0, 1], tmp_path / "cm.png")
    assert not (tmp_path / "cm.png").exists()


def test_confusion_matrix_takes_labels_as_any_iterable(imdb_small, tmp_path):
    _, labels = imdb_small
    out = plot_confusion_matrix(labels[:50], labels[:50], iter(["neg", "pos"]), tmp_path / "cm.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_vectors_given_as_a_path_object_save_and_load(glove_small, imdb_tokens, tmp_path):
    """``EmbeddingVectorizer(vectors=Path(...))``, a documented path-like value: save_model refused it ("holds
    types outside scikit-learn, toolkit, NumPy and SciPy (pathlib.PosixPath)"). A path is plain data: the folder
    saves, loads with the same Path parameter and transforms the same."""
    from pathlib import Path

    from toolkit.vectors import EmbeddingVectorizer

    docs, _ = imdb_tokens
    vectorizer = EmbeddingVectorizer(vectors=Path(glove_small)).fit(docs[:50])
    save_model(vectorizer, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.vectors == Path(glove_small) and isinstance(loaded.vectors, Path)
    np.testing.assert_array_equal(loaded.transform(docs[50:70]), vectorizer.transform(docs[50:70]))

"""A saved NB-architecture folder holds each large table once (format version 3), and predicts as before.

``model.keras`` and ``nb_weights.npz`` each held the n-grams x outputs table
(and, for ``"nbsvm_vectors"``, the word-vector table and its row map): a
50-class main-job folder was 227 MB, half of it twice. ``nb_weights.npz`` now
names those arrays in ``model.keras``' weights and the loader reads them there
with h5py, without Keras. Real IMDB training reviews, token lists (no spaCy).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from toolkit.exceptions import ModelFormatError
from toolkit.models import EmbeddingClassifier, load_model, save_model
from toolkit.models.persistence import _save_nb_weights, _write_checksums
from toolkit.text import TokenizedCorpus

PARAMS = {"max_tokens": 20_000, "maxlen": None, "epochs": 1, "batch_size": 32, "validation_split": 0.0,
          "random_state": 0}
BIG = 16 * 1024  # bytes: the tables; the small arrays (bias, centre, Dense kernels: < 2 KB here) may sit in both
FILES = ("config.json", "model.keras", "vocabulary.json", "ngram_index.npz", "nb_weights.npz")


@pytest.fixture(scope="module")
def grams(imdb_tokens):
    """1-2-gram corpora of 400 fit and 50 held-out real reviews."""
    corpus = TokenizedCorpus.from_token_lists(imdb_tokens[0]).ngrams((1, 2))
    return corpus.take(np.arange(400)), corpus.take(np.arange(400, 450))


@pytest.fixture(scope="module")
def models(grams, imdb_tokens, imdb_small_ratings, glove_small):
    """{"vectors": a two-class "nbsvm_vectors" model, "stars": an 8-class "nbsvm" model (star ratings)}."""
    fit, _ = grams
    labels = imdb_tokens[1][:400]
    stars = np.asarray([f"{r} stars" for r in imdb_small_ratings[:400]], dtype=object)
    return {
        "vectors": EmbeddingClassifier(architecture="nbsvm_vectors", vectors=str(glove_small), hidden_units=8,
                                       **PARAMS).fit(fit, labels),
        "stars": EmbeddingClassifier(architecture="nbsvm", **PARAMS).fit(fit, stars),
    }


def _load_and_predict_in_fresh_process(folders, docs, tmp_path):
    """([``load_model(folder).predict_proba(docs)`` for each folder], all in one new Python, whether it imported
    Keras, TensorFlow or h5py)."""
    (tmp_path / "docs.json").write_text(json.dumps(docs))
    script = ("import json, sys, numpy as np\nfrom toolkit.models import load_model\n"
              "docs = json.load(open(sys.argv[1]))\n"
              "for i, folder in enumerate(sys.argv[3:]):\n"
              "    np.save(f'{sys.argv[2]}{i}.npy', load_model(folder).predict_proba(docs))\n"
              "print('imported:', 'keras' in sys.modules or 'tensorflow' in sys.modules or 'h5py' in sys.modules)\n")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "docs.json"), str(tmp_path / "p"),
                             *map(str, folders)], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return ([np.load(tmp_path / f"p{i}.npy") for i in range(len(folders))],
            result.stdout.strip().splitlines()[-1] == "imported: True")


def _big_arrays(folder):
    """{(file, member): bytes} of the large arrays of model.keras' weights and of nb_weights.npz."""
    import h5py

    found = {}
    with zipfile.ZipFile(folder / "model.keras") as zf, \
            h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
        h5.visititems(lambda name, obj: found.__setitem__(("model.keras", name), obj[()].tobytes())
                      if isinstance(obj, h5py.Dataset) and obj.nbytes > BIG else None)
    with np.load(folder / "nb_weights.npz", allow_pickle=False) as z:
        found.update({("nb_weights.npz", name): z[name].tobytes() for name in z.files if z[name].nbytes > BIG})
    return found


@pytest.mark.slow
def test_model_folder_size_nb_folder_holds_each_table_once_and_predicts_the_same(models, grams, tmp_path):
    """nb_weights.npz holds no large array: the n-grams x outputs table (made of two tables of model.keras)
    and the vector table and its row map were in both files. The folder
    says format version 3, and the loaded model predicts the same probabilities bit for bit: in a fresh
    process without importing Keras (nor h5py: the tables are read from model.keras' bytes), and here, where model_ is still rebuilt from model.keras on read.
    Each kind of model ("vectors", "stars") is checked; one fresh process loads both folders, one after the other."""
    held_out = grams[1]
    folders = {kind: save_model(clf, tmp_path / kind) for kind, clf in models.items()}
    probas, keras_imported = _load_and_predict_in_fresh_process(list(folders.values()), held_out.to_list(), tmp_path)
    assert not keras_imported
    for (kind, folder), proba in zip(folders.items(), probas):
        _check_nb_folder(models[kind], folder, held_out, proba)


def _check_nb_folder(clf, folder, held_out, proba):
    """The checks of one saved folder, given the probabilities a fresh process predicted from it."""
    arrays = _big_arrays(folder)
    rows = len(clf.vocabulary_)
    assert any(file == "model.keras" and len(data) >= 4 * rows for (file, _), data in arrays.items())
    in_npz = [member for file, member in arrays if file == "nb_weights.npz"]
    assert not in_npz, f"nb_weights.npz holds {in_npz} besides model.keras' tables"
    assert json.loads((folder / "config.json").read_text())["format_version"] == 3
    expected = clf.predict_proba(held_out)
    assert np.array_equal(proba, expected)
    loaded = load_model(folder)
    assert np.array_equal(loaded.predict_proba(held_out), expected)
    fitted_weights, loaded_weights = clf._nb_arrays(), loaded._nb_arrays()
    assert sorted(fitted_weights) == sorted(loaded_weights)
    for key in ("weighted", "bias", "row_of", "table", "center", "scale"):
        if key in fitted_weights:
            assert loaded_weights[key].dtype == fitted_weights[key].dtype
            assert np.array_equal(loaded_weights[key], fitted_weights[key]), key
    assert "model_" not in vars(loaded)
    assert loaded.model_.count_params() == clf.model_.count_params()  # rebuilt in safe mode on read
    assert np.array_equal(loaded.predict_proba(held_out), expected)


def test_model_folder_size_same_fit_same_bytes_and_a_loaded_model_saves_them_again(models, tmp_path):
    """The arrays named in model.keras are found by content, deterministically: two saves of one fit, and the
    save of its loaded copy (whose model_ is rebuilt to be saved), give the same bytes, file by file."""
    clf = models["vectors"]
    first, second = save_model(clf, tmp_path / "a"), save_model(clf, tmp_path / "b")
    again = save_model(load_model(first), tmp_path / "c")
    for name in (*FILES, "checksums.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes() == (again / name).read_bytes(), name


def _as_version_2(folder, clf):
    """``folder`` (saved by this toolkit) turned into what the toolkit before format version 3 wrote: its
    nb_weights.npz with every array in it (the writer without model.keras, whose arrays and code are the
    previous one's), format_version 2, checksums resealed."""
    assert _save_nb_weights(clf, folder / "nb_weights.npz")
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    _write_checksums(folder, FILES)


def test_model_folder_size_version_2_folders_load_and_predict_the_same(models, grams, tmp_path):
    """A folder of format version 2 (nb_weights.npz holding "weighted", "row_of" and "table") still loads,
    and predicts bit for bit what the fitted model does; a version-2 folder whose nb_weights.npz takes arrays
    from model.keras is refused, naming the files."""
    held_out = grams[1]
    for kind, clf in models.items():
        folder = save_model(clf, tmp_path / kind)
        _as_version_2(folder, clf)
        with np.load(folder / "nb_weights.npz") as z:
            assert "weighted" in z.files and ("table" in z.files) == (kind == "vectors")
        assert np.array_equal(load_model(folder).predict_proba(held_out), clf.predict_proba(held_out))
    folder = save_model(models["stars"], tmp_path / "mixed")
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    _write_checksums(folder, FILES)
    with pytest.raises(ModelFormatError, match=r"nb_weights\.npz takes arrays from model\.keras, which format "
                                                r"version 3 introduced, but .*config\.json says version 2"):
        load_model(folder)


def test_model_folder_size_model_keras_not_holding_the_arrays_is_refused_naming_it(models, tmp_path):
    """nb_weights.npz's tables now come from model.keras: another model.keras (checksums resealed, as a
    hand-assembled folder has them) is a ModelFormatError naming it at load, before any byte of it is read as
    an array; a place outside its weights likewise; unsealed damage and a missing file still fail the digest."""
    import keras

    from toolkit.models.persistence import _read_keras_refs, _read_nb_weights

    folder = save_model(models["stars"], tmp_path / "stars")
    good = (folder / "model.keras").read_bytes()
    inputs = keras.Input(shape=(None,), dtype="int32")
    keras.Model(inputs, keras.layers.Embedding(10, 1, name="embedding")(inputs)).save(folder / "model.keras")
    _write_checksums(folder, FILES)
    with pytest.raises(ModelFormatError, match=r"model\.keras is not the model\.keras that nb_weights\.npz takes "
                                                r"its weights from .*the files come from different models"):
        load_model(folder)
    weights = _read_nb_weights(folder / "nb_weights.npz")
    offset, rows, outputs = weights["_refs"]["ratios"]
    weights["_refs"]["ratios"] = [offset, rows * 1000, outputs]
    with pytest.raises(ModelFormatError, match=r"nb_weights\.npz places ratios of shape .* in .*model\.keras, "
                                                r"past its \d+ bytes"):
        _read_keras_refs(weights, good, folder / "model.keras")
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    (folder / "model.keras").write_bytes(bytes(damaged))
    _write_checksums(folder, FILES)
    (folder / "model.keras").write_bytes(good)  # the checksum of the damaged copy, the good bytes
    with pytest.raises(ModelFormatError, match=r"model\.keras does not match the SHA-256"):
        load_model(folder)
    (folder / "model.keras").unlink()
    with pytest.raises(ModelFormatError, match=r"model\.keras is missing"):
        load_model(folder)


def test_model_folder_size_an_array_model_keras_does_not_hold_exactly_is_stored(models, grams, monkeypatch,
                                                                                  tmp_path):
    """An array is taken from model.keras only when the copy there, read as the loader reads it, gives this
    process's array bit for bit: with "weighted" made differently from its parts (simulated here), the folder
    stores it itself, and still loads and predicts the same."""
    from toolkit.models import persistence

    clf, held_out = models["vectors"], grams[1]
    real = persistence.nb_weighted
    monkeypatch.setattr(persistence, "nb_weighted", lambda nb, w_adj, ratios: real(nb, w_adj, ratios) + 1)
    folder = save_model(clf, tmp_path / "m")
    monkeypatch.undo()
    with np.load(folder / "nb_weights.npz") as z:
        assert "weighted" in z.files and "table" not in z.files
        assert np.array_equal(z["weighted"], clf._nb_arrays()["weighted"])
    assert np.array_equal(load_model(folder).predict_proba(held_out), clf.predict_proba(held_out))

"""The same fit saves to the same bytes: in one process, in a fresh process, and after a load (small real IMDB).

Users track saved models by hash (DVC, content-addressed caches, a CI check
"same code, same data, same model"); a folder whose bytes change while the
model does not reads to them as a new model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from toolkit.models import EmbeddingClassifier, load_model, save_model
from toolkit.models._keras_io import keras_to_bytes

ROOT = Path(__file__).resolve().parents[1]
N_DOCS = 300
#: dropout and a hidden layer, so every kind of layer the builders make is in the graph
SETTINGS = {
    "bag": {"architecture": "bag", "embedding_dim": 8, "hidden_units": 4, "dropout": 0.2},  # masked: a not_equal op
    "cnn": {"architecture": "cnn", "embedding_dim": 8, "hidden_units": 4, "dropout": 0.2},
    "nbsvm": {"architecture": "nbsvm", "max_tokens": 20_000},  # the main job's architecture
}
COMMON = {"maxlen": 50, "max_tokens": 3000, "epochs": 1, "validation_split": 0.0, "random_state": 0}


def _fit(docs, labels, arch):
    return EmbeddingClassifier(**{**COMMON, **SETTINGS[arch]}).fit(docs[:N_DOCS], labels[:N_DOCS])


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _differing(a: Path, b: Path) -> list:
    fa, fb = _files(a), _files(b)
    return sorted(name for name in fa.keys() | fb.keys() if fa.get(name) != fb.get(name))


@pytest.mark.parametrize("arch", sorted(SETTINGS))
def test_two_identical_fits_save_identical_folders(imdb_tokens, tmp_path, arch):
    docs, labels = imdb_tokens
    save_model(_fit(docs, labels, arch), tmp_path / "a")
    save_model(_fit(docs, labels, arch), tmp_path / "b")
    assert _differing(tmp_path / "a", tmp_path / "b") == []


def test_pickled_keras_bytes_are_the_same_for_the_same_fit(imdb_tokens):
    docs, labels = imdb_tokens
    assert keras_to_bytes(_fit(docs, labels, "bag").model_) == keras_to_bytes(_fit(docs, labels, "bag").model_)


def test_a_fit_in_a_fresh_process_saves_the_same_folder(imdb_tokens, tmp_path):
    docs, labels = imdb_tokens
    (tmp_path / "data.json").write_text(json.dumps([docs[:N_DOCS], list(labels[:N_DOCS])]))
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from test_persistence_bytes import _fit\n"
        "from toolkit.models import save_model\n"
        "docs, labels = json.load(open(sys.argv[2]))\n"
        "save_model(_fit(docs, labels, 'bag'), sys.argv[3])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests"), str(tmp_path / "data.json"),
                             str(tmp_path / "fresh")], capture_output=True, text=True, env=env, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    save_model(_fit(docs, labels, "bag"), tmp_path / "here")
    assert _differing(tmp_path / "here", tmp_path / "fresh") == []


@pytest.mark.parametrize("arch", ["bag", "nbsvm"])
def test_a_loaded_model_saves_the_same_folder_again(imdb_tokens, tmp_path, arch):
    docs, labels = imdb_tokens
    save_model(_fit(docs, labels, arch), tmp_path / "first")
    save_model(load_model(tmp_path / "first"), tmp_path / "again")
    assert _differing(tmp_path / "first", tmp_path / "again") == []


def test_the_keras_archive_carries_no_save_time(imdb_tokens, tmp_path):
    docs, labels = imdb_tokens
    save_model(_fit(docs, labels, "bag"), tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m" / "model.keras") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        metadata = json.loads(zf.read("metadata.json"))
        config = zf.read("config.json").decode()
    assert metadata["date_saved"] == "1980-01-01@00:00:00"  # the key stays: keras.saving.KerasFileEditor reads it
    assert "shared_object_id" not in config  # Keras' ids are memory addresses
    loaded = load_model(tmp_path / "m")  # and the rewritten archive still loads, in safe mode
    assert loaded.predict(docs[:5]).shape == (5,)


@pytest.mark.slow
def test_two_identical_stacks_save_identical_skops_folders(split, tmp_path):
    # skops names objects and array members by memory address and dates members with the save time
    from toolkit.models.stacking import StackedTextClassifier

    X, y, _, _ = split
    for name in ("a", "b"):
        stack = StackedTextClassifier(vectors=None, ngram_model=("nbsvm++",), cv=3, random_state=0)
        save_model(stack.fit(X[:150], y[:150]), tmp_path / name)
    assert _differing(tmp_path / "a", tmp_path / "b") == []
    with zipfile.ZipFile(tmp_path / "a" / "model.skops") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    loaded = load_model(tmp_path / "a")
    assert loaded.predict(X[200:210]).tolist() == stack.predict(X[200:210]).tolist()
    # a loaded stack saves to the same bytes again (its __setstate__ put the defaults it adds first, before)
    save_model(loaded, tmp_path / "again")
    assert _differing(tmp_path / "a", tmp_path / "again") == []


@pytest.mark.slow
def test_an_architecture_with_unnamed_layers_saves_the_same_folder_twice(imdb_tokens, tmp_path):
    """A registered architecture that leaves its layers unnamed (as most Keras code does): Keras counts default
    names per process, so before, the second fit's layers were "dense_2" and "dense_3" where the first's were
    "dense" and "dense_1", and the same fit saved to other bytes. Names are now counted per model."""
    import keras

    from toolkit.models import builders

    @builders.register_architecture("unnamed_bag_test")
    def unnamed_bag(inputs, spec):
        x = keras.layers.GlobalAveragePooling1D()(builders.embed(inputs, spec))
        for k in range(2):  # seeded weights (unseeded ones differ between any two fits), default names
            x = keras.layers.Dense(4, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(
                seed=spec.seed + k))(x)
        return builders.output_layer(x, spec)

    try:
        docs, labels = imdb_tokens
        settings = {**COMMON, "architecture": "unnamed_bag_test", "embedding_dim": 8}
        first = EmbeddingClassifier(**settings).fit(docs[:N_DOCS], labels[:N_DOCS])
        keras.layers.Dense(2)  # a layer made elsewhere in the process in between: the names must not move
        second = EmbeddingClassifier(**settings).fit(docs[:N_DOCS], labels[:N_DOCS])
        names = [layer.name for layer in second.model_.layers]
        assert [layer.name for layer in first.model_.layers] == names and "dense" in names and "dense_1" in names
        save_model(first, tmp_path / "a")
        save_model(second, tmp_path / "b")
        assert _differing(tmp_path / "a", tmp_path / "b") == []
    finally:
        builders.unregister_architecture("unnamed_bag_test")

"""EmbeddingClassifier under Keras 3's PyTorch backend (``KERAS_BACKEND=torch``), on small real IMDB samples.

The suite runs Keras on TensorFlow (conftest sets ``KERAS_BACKEND`` before Keras is imported, and Keras reads
it once per process), so every torch check runs in a fresh Python process with ``KERAS_BACKEND=torch``, as
tests/test_keras_backend_jax.py does for JAX. Skipped where torch is not installed (CI installs TensorFlow only).
"""

from __future__ import annotations

import importlib.util

import _keras_backends as backends
import numpy as np
import pytest
from conftest import simple_tokens

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed: the KERAS_BACKEND=torch checks need it "
           "(PyTorch's CPU build: see the README's Install section)",
)

@pytest.fixture(scope="module")
def reviews(imdb_small):
    """200 training and 100 held-out real reviews (token lists, 'neg'/'pos' labels)."""
    texts, labels = imdb_small
    tokens = simple_tokens(texts)
    return tokens[:200], [str(v) for v in labels[:200]], tokens[300:400], [str(v) for v in labels[300:400]]


@pytest.fixture(scope="module")
def fitted_under_torch(reviews, glove_small, tmp_path_factory):
    """Each architecture fitted and saved under torch: (folder, held-out tokens, their probabilities there)."""
    return backends.fit_and_save_under("torch", reviews, glove_small, tmp_path_factory.mktemp("torch_fit"))


@pytest.mark.parametrize("architecture", backends.ARCHITECTURES)
def test_torch_fit_predicts_probabilities(fitted_under_torch, architecture):
    """Under torch each architecture fits, and predicts one probability row per review that sums to 1."""
    _, X_test, proba = fitted_under_torch
    backends.assert_probabilities(proba[str(architecture)], len(X_test))


@pytest.fixture(scope="module")
def saved_under_tensorflow(reviews, tmp_path_factory):
    """"bag", "cnn" and "nbsvm" fitted and saved in this (TensorFlow) process: (folder, their probabilities);
    none where this process' Keras is not on TensorFlow."""
    import keras

    from toolkit.models import EmbeddingClassifier, save_model

    folder = tmp_path_factory.mktemp("tensorflow_fit")
    if keras.backend.backend() != "tensorflow":
        return folder, {}
    X_train, y_train, X_test, _ = reviews
    proba = {}
    for name in ("bag", "cnn", "nbsvm"):
        clf = EmbeddingClassifier(architecture=name, **backends.SMALL).fit(X_train, y_train)
        save_model(clf, folder / name)
        proba[name] = clf.predict_proba(X_test)
    return folder, proba


@pytest.fixture(scope="module")
def loaded_under_torch(fitted_under_torch, saved_under_tensorflow, tmp_path_factory):
    """The torch-saved and the TensorFlow-saved folders, loaded in one fresh torch process: their probabilities
    there, by folder name ("torch/<architecture>", "tensorflow/<architecture>")."""
    folders = {"torch": fitted_under_torch[0], "tensorflow": saved_under_tensorflow[0]}
    names = [f"{backend}/{name}" for backend, proba in (("torch", fitted_under_torch[2]),
                                                          ("tensorflow", saved_under_tensorflow[1]))
             for name in proba]
    tmp = tmp_path_factory.mktemp("torch_load")
    for backend, folder in folders.items():
        (tmp / backend).symlink_to(folder, target_is_directory=True)
    out = backends.run_under("torch", backends.LOAD_SCRIPT, {"names": names, "folder": str(tmp), "X_test": fitted_under_torch[1]},
                    tmp, "load")
    assert out.pop("backend") == "torch"
    return {name: np.asarray(p) for name, p in out.items()}


def test_torch_saved_models_load_in_a_fresh_torch_process(fitted_under_torch, loaded_under_torch):
    """A folder saved under torch loads in a new torch process and predicts what the fitted estimator did."""
    _, _, proba = fitted_under_torch
    for name, p in proba.items():
        np.testing.assert_allclose(loaded_under_torch[f"torch/{name}"], p, rtol=0, atol=1e-6, err_msg=name)


def test_tensorflow_saved_models_load_under_torch(saved_under_tensorflow, loaded_under_torch):
    """Folders saved under TensorFlow (this process) load under torch and predict the same."""
    backends.skip_unless_tensorflow_here()
    _, proba = saved_under_tensorflow
    for name, p in proba.items():
        np.testing.assert_allclose(loaded_under_torch[f"tensorflow/{name}"], p, rtol=0, atol=1e-5, err_msg=name)


def test_torch_saved_models_load_under_tensorflow(fitted_under_torch):
    """The torch-saved folders load in this (TensorFlow) process and predict the same within float32 rounding."""
    from toolkit.models import load_model

    backends.skip_unless_tensorflow_here()
    folder, X_test, proba = fitted_under_torch
    for name, p in proba.items():
        np.testing.assert_allclose(load_model(folder / name).predict_proba(X_test), p, rtol=0, atol=1e-5,
                                   err_msg=name)


def test_torch_fit_from_store_equals_in_memory_fit(imdb_small, tmp_path):
    """toolkit.distributed.fit_from_store under torch: batches read off a corpus store (a PyDataset of padded
    rows with their class weights) train as the same rows in memory do."""
    pytest.importorskip("dask")
    texts, labels = imdb_small
    backends.assert_store_fit_equals_memory_fit(backends.fit_from_store_under("torch", texts[:200], labels[:200],
                                                                              tmp_path))


def test_torch_saved_models_load_under_tensorflow_where_torch_is_not_installed(fitted_under_torch, tmp_path):
    """A model saved under torch is served where only TensorFlow is installed. Keras records the optimizer of a
    model compiled under torch as torch's own subclass (module keras.src.backend.torch.optimizers.torch_adam),
    and loading that imports torch: "Could not deserialize class 'Adam' because its parent module ... cannot be
    imported". The check above loads in this process, where torch imports."""
    folder, X_test, proba = fitted_under_torch
    out = backends.run_under("tensorflow", backends.without("torch", backends.LOAD_SCRIPT),
                             {"names": list(proba), "folder": str(folder), "X_test": X_test}, tmp_path, "load")
    assert out.pop("backend") == "tensorflow"
    for name, p in proba.items():
        np.testing.assert_allclose(np.asarray(out[name]), p, rtol=0, atol=1e-5, err_msg=name)

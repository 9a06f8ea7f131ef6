"""What the tests of Keras' other backends share (tests/test_keras_backend_jax.py, tests/test_keras_backend_torch.py).

Each check runs in a fresh Python process whose ``KERAS_BACKEND`` names the backend: the suite's own process runs
Keras on TensorFlow, and Keras reads the setting once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

#: The architectures a user of another backend fits, saves and loads here (None: the estimator's default)
ARCHITECTURES = [None, "bag", "cnn", "nbsvm", "nbsvm_vectors", "flatten", "rnn"]
SMALL = {"epochs": 1, "maxlen": 200, "batch_size": 32, "random_state": 0}

#: Run in the backend's process: fit each architecture on the training reviews, save it, write its probabilities
FIT_SCRIPT = """
import json, sys
import numpy as np
import keras
from toolkit.models import EmbeddingClassifier, save_model

job = json.load(open(sys.argv[1]))
out = {"backend": keras.backend.backend()}
for arch in job["architectures"]:
    params = dict(job["params"])
    if arch is not None:
        params["architecture"] = arch
    if arch == "nbsvm_vectors":
        params["vectors"] = job["vectors"]
    clf = EmbeddingClassifier(**params).fit(job["X_train"], job["y_train"])
    save_model(clf, f"{job['folder']}/{arch}")
    out[str(arch)] = clf.predict_proba(job["X_test"]).tolist()
json.dump(out, open(sys.argv[2], "w"))
"""

#: Run in a fresh process of the backend: load each saved folder, write its probabilities
LOAD_SCRIPT = """
import json, sys
import keras
from toolkit.models import load_model

job = json.load(open(sys.argv[1]))
out = {"backend": keras.backend.backend()}
for name in job["names"]:
    out[name] = load_model(f"{job['folder']}/{name}").predict_proba(job["X_test"]).tolist()
json.dump(out, open(sys.argv[2], "w"))
"""


#: Run in the backend's process: a corpus store built from the (text, label) pairs, an estimator fitted from it
#: (toolkit.distributed.fit_from_store: batches read off the memory-mapped store, a PyDataset) and the same
#: estimator fitted in memory on the store's tokenizer's token lists; writes the validation losses of each and
#: its probabilities for the first 20 documents
STORE_SCRIPT = """
import json, sys
import dask.bag as db
import keras
from toolkit.distributed import CorpusStore, fit_from_store
from toolkit.models import EmbeddingClassifier
from toolkit.text import SpacyTokenizer

job = json.load(open(sys.argv[1]))
pairs = list(zip(job["texts"], job["labels"]))
store = CorpusStore.build(db.from_sequence(pairs, npartitions=2), job["folder"] + "/store", scheduler="sync")
corpus = SpacyTokenizer(**store.tokenizer).transform(job["texts"])
out = {"backend": keras.backend.backend()}
for name, fit in (("store", lambda clf: fit_from_store(clf, store)), ("memory", lambda clf: clf.fit(corpus, job["labels"]))):
    clf = fit(EmbeddingClassifier(**job["params"]))
    out[name] = {"val_loss": clf.history_["val_loss"], "proba": clf.predict_proba(corpus[:20]).tolist()}
json.dump(out, open(sys.argv[2], "w"))
"""

#: The store check's estimator: a validation split and class weights, so that batches are (x, y, sample_weight)
STORE_PARAMS = {"architecture": "bag", "embedding_dim": 8, "epochs": 2, "max_tokens": 800, "maxlen": None,
                "batch_size": 32, "validation_split": 0.2, "class_weight": "balanced", "random_state": 0}


def without(package, script):
    """``script`` run where ``import package`` fails as it does where the package is not installed."""
    return f"""
import sys


class Missing:  # `import {package}` raises ModuleNotFoundError, as when it is not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {package!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)


sys.meta_path.insert(0, Missing())
""" + script


def run_under(backend, script, job, tmp_path, name):
    """``script`` run with ``KERAS_BACKEND=backend`` on ``job`` (a JSON file); returns what it wrote."""
    (tmp_path / f"{name}.json").write_text(json.dumps(job))
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"{name}.json"),
                             str(tmp_path / f"{name}.out.json")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp_path / f"{name}.out.json").read_text())


def skip_unless_tensorflow_here():
    """Skip a check between backends where this process' Keras is not on TensorFlow (a KERAS_BACKEND of the
    user's own: conftest only sets a default)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"this process runs Keras on {keras.backend.backend()!r}, not TensorFlow")


def fit_and_save_under(backend, reviews, vectors, folder):
    """Each of :data:`ARCHITECTURES` fitted on ``reviews``' training part and saved under ``backend``, in one
    process: (``folder``, the held-out token lists, architecture name -> their probabilities there)."""
    import numpy as np

    X_train, y_train, X_test, _ = reviews
    job = {"architectures": ARCHITECTURES, "params": SMALL, "vectors": str(vectors), "folder": str(folder),
           "X_train": X_train, "y_train": y_train, "X_test": X_test}
    out = run_under(backend, FIT_SCRIPT, job, folder, "fit")
    assert out.pop("backend") == backend
    return folder, X_test, {name: np.asarray(p) for name, p in out.items()}


def assert_probabilities(proba, n_docs):
    """One row of two probabilities per document, each in [0, 1], summing to 1."""
    import numpy as np

    assert proba.shape == (n_docs, 2)
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-9)


def fit_from_store_under(backend, texts, labels, folder):
    """:data:`STORE_SCRIPT` run under ``backend`` on ``texts`` and ``labels`` (strings): the fit from the store
    and the fit in memory, each as ``{"val_loss": [...], "proba": array}``."""
    import numpy as np

    job = {"texts": list(texts), "labels": [str(v) for v in labels], "params": STORE_PARAMS, "folder": str(folder)}
    out = run_under(backend, STORE_SCRIPT, job, folder, "store")
    assert out.pop("backend") == backend
    return {name: {"val_loss": fitted["val_loss"], "proba": np.asarray(fitted["proba"])} for name, fitted in out.items()}


def assert_store_fit_equals_memory_fit(fits):
    """The fit from the store went as the fit in memory: the same validation losses, epoch by epoch, and the
    same probabilities (``fit_from_store``'s contract, tests/test_distributed.py on TensorFlow)."""
    import numpy as np

    store, memory = fits["store"], fits["memory"]
    assert len(store["val_loss"]) == len(memory["val_loss"]) == STORE_PARAMS["epochs"]
    np.testing.assert_allclose(store["val_loss"], memory["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(store["proba"], memory["proba"], rtol=1e-5)
    assert_probabilities(store["proba"], 20)

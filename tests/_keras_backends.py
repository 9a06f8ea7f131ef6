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
ARCHITECTURES = [None, "bag", "cnn", "nbsvm", "nbsvm_vectors"]
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

"""EmbeddingClassifier under Keras 3's JAX backend (``KERAS_BACKEND=jax``), on small real IMDB samples.

The suite runs Keras on TensorFlow (conftest sets ``KERAS_BACKEND`` before Keras is imported, and Keras reads
it once per process), so every JAX check runs in a fresh Python process with ``KERAS_BACKEND=jax``. Skipped
where jax is not installed (CI installs TensorFlow only).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import _keras_backends as backends
import numpy as np
import pytest
from conftest import ROOT, simple_tokens

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed: the KERAS_BACKEND=jax checks need it (pip install 'jax[cpu]')",
)

#: The start of a JAX-process script that records jax's own compile log: ``compiled`` (every "Compiling ..."
#: message, in order), then ``job``
_COMPILE_LOG = """
import json, logging, re, sys
import jax

jax.config.update("jax_log_compiles", True)
compiled = []

class Compiles(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("Compiling "):
            compiled.append(record.getMessage())

logging.getLogger("jax").addHandler(Compiles())
from toolkit.models import EmbeddingClassifier

job = json.load(open(sys.argv[1]))
"""

#: Run in the JAX process: the train-step input shapes JAX compiled
COMPILES_SCRIPT = _COMPILE_LOG + """
EmbeddingClassifier(**job["params"]).fit(job["X_train"], job["y_train"])
shapes = [re.findall(r"int32\\[(\\d+),(\\d+)\\]", message) for message in compiled
          if re.match(r"Compiling (jit\\()?train_step\\b", message)]
json.dump(shapes, open(sys.argv[2], "w"))
"""

#: Run in the JAX process: the programs JAX compiled for each of a few predictions of a fitted model
PREDICT_COMPILES_SCRIPT = _COMPILE_LOG + """
clf = EmbeddingClassifier(**job["params"]).fit(job["X_train"], job["y_train"])
calls = []
for docs in job["predict"]:
    before = len(compiled)
    clf.predict_proba(docs)
    calls.append(compiled[before:])
json.dump(calls, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """300 training and 100 held-out real reviews (token lists, 'neg'/'pos' labels)."""
    texts, labels = imdb_small
    tokens = simple_tokens(texts)
    return tokens[:300], [str(v) for v in labels[:300]], tokens[300:400], [str(v) for v in labels[300:400]]


@pytest.fixture(scope="module")
def fitted_under_jax(reviews, glove_small, tmp_path_factory):
    """Each architecture fitted and saved under JAX: (folder, held-out tokens, their probabilities there)."""
    return backends.fit_and_save_under("jax", reviews, glove_small, tmp_path_factory.mktemp("jax_fit"))


@pytest.mark.parametrize("architecture", backends.ARCHITECTURES)
def test_jax_fit_predicts_probabilities(fitted_under_jax, architecture):
    """Under JAX each architecture fits, and predicts one probability row per review that sums to 1."""
    _, X_test, proba = fitted_under_jax
    backends.assert_probabilities(proba[str(architecture)], len(X_test))


def test_jax_saved_models_load_in_a_fresh_jax_process(fitted_under_jax, tmp_path):
    """A folder saved under JAX loads in a new JAX process and predicts what the fitted estimator did."""
    folder, X_test, proba = fitted_under_jax
    out = backends.run_under("jax", backends.LOAD_SCRIPT, {"names": list(proba), "folder": str(folder), "X_test": X_test}, tmp_path, "load")
    assert out.pop("backend") == "jax"
    for name, p in proba.items():
        np.testing.assert_allclose(np.asarray(out[name]), p, rtol=0, atol=1e-6, err_msg=name)


def test_jax_saved_models_load_under_tensorflow(fitted_under_jax):
    """The same folders load in this (TensorFlow) process and predict the same within float32 rounding."""
    from toolkit.models import load_model

    backends.skip_unless_tensorflow_here()
    folder, X_test, proba = fitted_under_jax
    for name, p in proba.items():
        np.testing.assert_allclose(load_model(folder / name).predict_proba(X_test), p, rtol=0, atol=1e-5,
                                   err_msg=name)


def test_tensorflow_saved_models_load_under_jax(reviews, tmp_path):
    """Folders saved under TensorFlow (this process) load under JAX and predict the same."""
    from toolkit.models import EmbeddingClassifier, save_model

    backends.skip_unless_tensorflow_here()
    X_train, y_train, X_test, _ = reviews
    proba = {}
    for name in ("bag", "nbsvm"):
        clf = EmbeddingClassifier(architecture=name, **backends.SMALL).fit(X_train, y_train)
        save_model(clf, tmp_path / name)
        proba[name] = clf.predict_proba(X_test)
    out = backends.run_under("jax", backends.LOAD_SCRIPT, {"names": list(proba), "folder": str(tmp_path), "X_test": X_test}, tmp_path, "load")
    assert out.pop("backend") == "jax"
    for name, p in proba.items():
        np.testing.assert_allclose(np.asarray(out[name]), p, rtol=0, atol=1e-5, err_msg=name)


def test_jax_fit_from_store_equals_in_memory_fit(imdb_small, tmp_path):
    """toolkit.distributed.fit_from_store under JAX: batches read off a corpus store (a PyDataset of padded
    rows with their class weights) train as the same rows in memory do."""
    pytest.importorskip("dask")
    texts, labels = imdb_small
    backends.assert_store_fit_equals_memory_fit(backends.fit_from_store_under("jax", texts[:200], labels[:200],
                                                                              tmp_path))


def test_jax_nb_training_compiles_a_few_batch_shapes(reviews, tmp_path):
    """The NB architectures train on flat rows, each batch padded to its own longest row only. JAX compiles
    the train step once per input shape: with a width per batch, 2 epochs of 17 batches (270 training
    reviews) compiled it 17 times, the short last batch at two widths. Widths are now rounded up (at most
    1/8 wider, eight widths per doubling); these batches' widths (about 200 to 400 ids) span one doubling,
    plus one shape for the short last batch."""
    X_train, y_train, _, _ = reviews
    params = {"architecture": "nbsvm", "epochs": 2, "patience": None, "batch_size": 16, "random_state": 0}
    shapes = backends.run_under("jax", COMPILES_SCRIPT, {"params": params, "X_train": X_train, "y_train": y_train},
                     tmp_path, "compiles")
    inputs = [tuple(map(int, found[0])) for found in shapes if found]
    assert inputs, f"no train-step compile read off jax's log: {shapes}"  # the log is read at all
    assert len(inputs) <= 10, inputs
    short = {shape for shape in inputs if shape[0] < params["batch_size"]}
    assert len(short) == 1, inputs  # the short last batch: one shape in every epoch


def test_jax_prediction_compiles_one_program_per_shape(reviews, tmp_path):
    """A few reviews were predicted by direct model calls, which JAX runs op by op, compiling each operation
    (12 programs for the first review, 11 more for 7 reviews); Model.predict compiles one step per shape
    (0.16 against 0.56 CPU s for the first review, and faster warm as well)."""
    X_train, y_train, X_test, _ = reviews
    job = {"params": {"architecture": "bag", **backends.SMALL}, "X_train": X_train, "y_train": y_train,
           "predict": [X_test[:1], X_test[1:2], X_test[2:9]]}
    first, same_shape, seven = backends.run_under("jax", PREDICT_COMPILES_SCRIPT, job, tmp_path, "predict")
    # the predict step (JAX 0.10: that one program; room for a helper another version may compile beside it)
    assert 1 <= len(first) <= 2, first
    assert same_shape == [], same_shape  # the same input shape again: nothing compiled
    assert 1 <= len(seven) <= 2, seven


#: Run with KERAS_BACKEND=jax where TensorFlow cannot be imported (as where it is not installed): ``toolkit train``
CLI_WITHOUT_TENSORFLOW = """
import sys


class NoTensorFlow:  # `import tensorflow` raises ModuleNotFoundError, as when it is not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NoTensorFlow())
from toolkit.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    sys.exit(exc.code)
"""


def test_jax_cli_trains_where_tensorflow_is_not_installed(reviews, tmp_path):
    """``toolkit train`` imported TensorFlow first to mute its C++ notices, whatever the backend: with jax and no
    TensorFlow it stopped as "a bug in toolkit" (ModuleNotFoundError: tensorflow)."""
    import csv

    X_train, y_train, _, _ = reviews
    with open(tmp_path / "t.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows((" ".join(tokens), label) for tokens, label in zip(X_train[:200], y_train[:200]))
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", CLI_WITHOUT_TENSORFLOW, "-q", "train", "--data", "t.csv",
                             "--vectors", "none", "--set", "epochs=1", "--no-baseline", "-o", "run"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0

"""Fit and predict CPU time and validation accuracy of ``EmbeddingClassifier`` on each Keras backend.

``--train-size`` (2,000) training / 1,000 validation reviews of the IMDB *training* split (shuffled at ``--seed``; the test split
is not read), simple lowercase word tokens (tokenizing is not timed), ``random_state=0``, default parameters
but ``architecture``. Each (backend, architecture) runs in a fresh process with ``KERAS_BACKEND`` set, so a
backend's compile-on-first-use is inside the fit and the first prediction, as a user meets it, then 30
reviews are predicted one call each; imports and
data loading are outside the timed parts. A backend whose package is not installed is reported as such.

Before/after a change: run it with the toolkit to compare on ``PYTHONPATH`` (``git archive <commit> | tar -x
-C /tmp/old``) and with this checkout, and give the JAX/torch backends the Python of a venv that has them::

    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_keras_backends.py --python /tmp/hjax/venv/bin/python \\
        --backends tensorflow,jax --architectures bag,nbsvm --name after

Writes ``benchmarks/results/bench_keras_backends_<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import print_table, write_results

NAME = "bench_keras_backends"

#: Run in a fresh process under the backend named by KERAS_BACKEND: one fit and one prediction, timed
_RUN = r"""
import json, re, sys, time
import numpy as np
import keras
from toolkit.data.datasets import load_imdb
from toolkit.models import EmbeddingClassifier

architecture, seed, data_dir, n_train = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
words = re.compile(r"[a-z0-9']+")
ds = load_imdb("train", path=f"{data_dir}/aclImdb_v1.tar.gz", limit=n_train + 1000, shuffle=True, random_state=seed)
X = [words.findall(text.lower().replace("<br />", " ")) for text in ds.texts]
y = np.asarray(ds.target_names)[ds.labels]
clf = EmbeddingClassifier(architecture=architecture, random_state=0)
c0, w0 = time.process_time(), time.perf_counter()
clf.fit(X[:n_train], y[:n_train])
c1, w1 = time.process_time(), time.perf_counter()
pred = clf.predict(X[n_train:])
c2, w2 = time.process_time(), time.perf_counter()
for doc in X[n_train:n_train + 30]:  # one review a call, as a service predicts
    clf.predict_proba([doc])
c3, w3 = time.process_time(), time.perf_counter()
print(json.dumps({"backend": keras.backend.backend(), "epochs_run": len(clf.history_["loss"]),
                  "fit_cpu_s": round(c1 - c0, 2), "fit_wall_s": round(w1 - w0, 2),
                  "predict_cpu_s": round(c2 - c1, 2), "predict_wall_s": round(w2 - w1, 2),
                  "one_by_one_30_cpu_s": round(c3 - c2, 2), "one_by_one_30_wall_s": round(w3 - w2, 2),
                  "val_accuracy": round(float((pred == y[n_train:]).mean()), 4)}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="tensorflow,jax", help="comma-separated KERAS_BACKEND values")
    parser.add_argument("--architectures", default="bag,nbsvm", help="comma-separated architectures")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python that runs the non-TensorFlow backends (a venv with jax / torch)")
    parser.add_argument("--runs", type=int, default=2, help="fresh processes per (backend, architecture)")
    parser.add_argument("--train-size", type=int, default=2000, help="training reviews (then 1,000 validation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="run")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parents[1] / "shared" / "data")))
    args = parser.parse_args(argv)

    rows = []
    for backend in args.backends.split(","):
        python = sys.executable if backend == "tensorflow" else args.python
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        for architecture in args.architectures.split(","):
            for run in range(args.runs):
                done = subprocess.run([python, "-c", _RUN, architecture, str(args.seed), args.data_dir,
                                       str(args.train_size)],
                                      capture_output=True, text=True, env=env, check=False)
                row = {"backend": backend, "architecture": architecture, "run": run}
                if done.returncode != 0:
                    row["error"] = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
                else:
                    measured = json.loads(done.stdout.strip().splitlines()[-1])
                    if measured.pop("backend") != backend:
                        raise RuntimeError(f"asked for {backend!r}, Keras ran on another backend")
                    row.update(measured)
                rows.append(row)
                print(row, file=sys.stderr, flush=True)
    print_table(rows)
    write_results(f"{NAME}_{args.name}", rows, params=vars(args))


if __name__ == "__main__":
    main()

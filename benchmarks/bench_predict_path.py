"""How EmbeddingClassifier runs its model in predict: Keras' Model.predict against direct calls.

``EmbeddingClassifier`` feeds the padded ids to its Keras model in batches of
``max(256, batch_size)`` rows by direct (eager) calls (``model(x,
training=False)``). The peer is Keras' own ``Model.predict(x, batch_size=256)``,
which the classifier used before for more than one batch. Both are timed on
the same fitted models and the same ``--n-predict`` IMDB test reviews, in the
same process: the first call on a freshly fitted model (cold; what a grid
search pays once per fold) and the median of ``--repeats`` later calls (warm).
The outputs of the two paths are compared (max absolute difference).

A second part counts TensorFlow's "triggered tf.function retracing" warnings
over ``--n-models`` freshly fitted models that each predict 300 reviews (two
batches), as in a grid search: Model.predict against the classifier's path.

Tokens come from a cheap regex tokenizer (tokenization is not what is
measured here).

Run::

    python benchmarks/bench_predict_path.py --seed 0

Writes ``benchmarks/results/bench_predict_path.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import print_table, timer, write_results  # noqa: E402

NAME = "bench_predict_path"
_WORD = re.compile(r"[a-z0-9']+")


def tokens(texts):
    return [_WORD.findall(t.lower().replace("<br />", " ")) for t in texts]


class _CountRetracing(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if "triggered tf.function retracing" in record.getMessage():
            self.count += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-predict", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-models", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    args = parser.parse_args(argv)

    import numpy as np

    from toolkit.data.datasets import load_imdb
    from toolkit.models import EmbeddingClassifier
    from toolkit.text.corpus import TokenizedCorpus

    tarball = Path(args.data) / "aclImdb_v1.tar.gz"
    train = load_imdb("train", path=tarball, limit=args.n_train, shuffle=True, random_state=args.seed)
    test = load_imdb("test", path=tarball, limit=args.n_predict, shuffle=True, random_state=args.seed)
    X_train, y_train = tokens(train.texts), np.asarray(train.labels)
    X_test = tokens(test.texts)

    rows = []
    for arch in ("bag", "cnn"):
        clf = EmbeddingClassifier(architecture=arch, epochs=1, random_state=args.seed).fit(X_train, y_train)
        seq = clf._sequences(TokenizedCorpus.from_token_lists(X_test))
        with timer() as t_direct_cold:
            direct = clf._model_outputs(seq)
        with timer() as t_keras_cold:
            keras_out = clf.model_.predict(seq, batch_size=256, verbose=0)
        warm = {"direct": [], "keras": []}
        for _ in range(args.repeats):
            with timer() as t:
                clf._model_outputs(seq)
            warm["direct"].append(t)
            with timer() as t:
                clf.model_.predict(seq, batch_size=256, verbose=0)
            warm["keras"].append(t)
        for path, cold in (("direct calls (toolkit)", t_direct_cold), ("Model.predict (peer)", t_keras_cold)):
            key = "direct" if path.startswith("direct") else "keras"
            rows.append({
                "architecture": arch, "path": path, "n_docs": len(seq),
                "cold_wall_s": round(cold.seconds, 3), "cold_cpu_s": round(cold.cpu_seconds, 3),
                "warm_wall_s": round(statistics.median(t.seconds for t in warm[key]), 3),
                "warm_cpu_s": round(statistics.median(t.cpu_seconds for t in warm[key]), 3),
                "max_abs_diff": float(np.abs(direct.ravel() - keras_out.ravel()).max()),
            })

    counter = _CountRetracing()
    logging.getLogger("tensorflow").addHandler(counter)
    retracing = {}
    for path in ("keras", "direct"):
        counter.count = 0
        for k in range(args.n_models):
            clf = EmbeddingClassifier(maxlen=50, embedding_dim=8, epochs=1, max_tokens=2000,
                                      random_state=args.seed + k).fit(X_train[:300], y_train[:300])
            seq = clf._sequences(TokenizedCorpus.from_token_lists(X_test[:300]))
            if path == "keras":
                clf.model_.predict(seq, batch_size=256, verbose=0)
            else:
                clf._model_outputs(seq)
        retracing[path] = counter.count
    rows.append({"architecture": "bag", "path": f"retracing warnings, {args.n_models} models x 300 docs",
                 "Model.predict": retracing["keras"], "direct calls": retracing["direct"]})
    print_table(rows)
    path = write_results(NAME, rows, params=vars(args))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""How EmbeddingClassifier runs its model in predict: Keras' Model.predict against direct calls.

``EmbeddingClassifier`` feeds the padded ids to its Keras model in batches of
256 rows (``max(256, batch_size)``): by direct (eager) calls (``model(x,
training=False)``) up to ``_DIRECT_CALL_BATCHES`` batches, by Keras'
``Model.predict(x, batch_size=256)`` beyond. Both paths are timed on the same
fitted models and ``--n-predict`` IMDB test reviews, in the same process: the
first call on a freshly fitted model (cold; what a grid search pays once per
fold) and the median of ``--repeats`` later calls (warm) at several sizes,
which is where the threshold comes from. The outputs of the two paths are
compared (max absolute difference).

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

    from toolkit.models import classifier as classifier_module

    direct_limit = classifier_module._DIRECT_CALL_BATCHES * 256
    rows = []
    for arch in ("bag", "cnn"):
        clf = EmbeddingClassifier(architecture=arch, epochs=1, random_state=args.seed).fit(X_train, y_train)
        seq = clf._sequences(TokenizedCorpus.from_token_lists(X_test))

        def direct(s):
            outputs = [clf.model_(s[i:i + 256], training=False) for i in range(0, len(s), 256)]
            return np.concatenate([np.asarray(o) for o in outputs])

        def keras_predict(s):
            return clf.model_.predict(s, batch_size=256, verbose=0)

        with timer() as cold_direct:
            a = direct(seq)
        with timer() as cold_keras:
            b = keras_predict(seq)
        rows.append({"architecture": arch, "n_docs": len(seq), "call": "first (cold)",
                     "direct_wall_s": cold_direct.seconds, "direct_cpu_s": cold_direct.cpu_seconds,
                     "predict_wall_s": cold_keras.seconds, "predict_cpu_s": cold_keras.cpu_seconds,
                     "max_abs_diff": float(np.abs(a.ravel() - b.ravel()).max()), "toolkit_uses": "-"})
        for n in sorted({256, 512, 1024, 2048, len(seq)}):
            times = {"direct": [], "predict": []}
            for _ in range(args.repeats):
                for key, fn in (("direct", direct), ("predict", keras_predict)):
                    with timer() as t:
                        fn(seq[:n])
                    times[key].append(t)
            rows.append({
                "architecture": arch, "n_docs": n, "call": f"warm (median of {args.repeats})",
                **{f"{key}_{what}": statistics.median(getattr(t, attr) for t in times[key])
                   for key in ("direct", "predict") for what, attr in (("wall_s", "seconds"), ("cpu_s", "cpu_seconds"))},
                "max_abs_diff": None,
                "toolkit_uses": "direct" if n <= direct_limit else "Model.predict",
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
                clf.predict_proba(X_test[:300])
        retracing[path] = counter.count
    print_table(rows)
    print(f"retracing warnings over {args.n_models} fitted models predicting 300 reviews each: "
          f"Model.predict {retracing['keras']}, EmbeddingClassifier.predict_proba {retracing['direct']}")
    rows.append({"retracing_warnings_model_predict": retracing["keras"],
                 "retracing_warnings_toolkit": retracing["direct"], "n_models": args.n_models})
    path = write_results(NAME, rows, params=vars(args))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

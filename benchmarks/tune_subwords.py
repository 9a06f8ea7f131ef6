"""Choose ``EmbeddingVectorizer(subwords=...)``'s default on IMDB TRAINING reviews only.

With fastText vectors, ``subwords=True`` gives tokens outside the fitted
vocabulary (first seen at transform) a vector built from their character
n-grams; ``subwords=False`` leaves them out of the pooled vector. Each draw
takes ``n`` labelled reviews from the first ``n + val`` of the shuffled
training set and scores the other ``val`` of them (the test split is not
read), as ``EmbeddingVectorizer -> StandardScaler -> LogisticRegressionCV``,
for each pooling and both settings on the same draw (paired).

Run::

    python benchmarks/tune_subwords.py --sizes 200,1000 --draws 3
    python benchmarks/tune_subwords.py --vectors "fasttext:dim=100,epochs=5"   # vectors of the n reviews alone

The default vectors are fastText trained on IMDB's 50,000 unlabelled reviews
(``fasttext:unsup:train=0,dim=100,epochs=5``; several CPU minutes the first
time, then cached).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from _common import print_table, timer, write_results  # noqa: E402

NAME = "tune_subwords"


def main(argv=None):
    import numpy as np
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit.data.datasets import load_imdb
    from toolkit.text import SpacyTokenizer
    from toolkit.vectors import EmbeddingVectorizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", default="fasttext:unsup:train=0,dim=100,epochs=5")
    parser.add_argument("--sizes", default="200,1000", help="comma-separated numbers of labelled reviews")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--poolings", default="mean,sif")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")

    sizes = [int(s) for s in args.sizes.split(",")]
    n_pool = max(sizes) + args.val_size
    data = load_imdb("train", path=Path(args.data_dir) / "aclImdb_v1.tar.gz", shuffle=True, random_state=0)
    y = np.asarray(data.labels)[:n_pool]
    tokens = SpacyTokenizer().fit_transform(list(data.texts)[:n_pool])
    rows = []
    for n in sizes:
        for draw in range(args.draws):
            rng = np.random.RandomState(draw)
            fit_idx = rng.choice(n_pool, n, replace=False)
            val_idx = rng.choice(np.setdiff1d(np.arange(n_pool), fit_idx), args.val_size, replace=False)
            for pooling in args.poolings.split(","):
                row = {"n": n, "draw": draw, "pooling": pooling}
                for subwords in (False, True):
                    model = make_pipeline(EmbeddingVectorizer(vectors=args.vectors, pooling=pooling, subwords=subwords),
                                          StandardScaler(), LogisticRegressionCV(Cs=10, cv=5, max_iter=2000))
                    with timer() as t:
                        model.fit(tokens.take(fit_idx.tolist()), y[fit_idx])
                        acc = float((model.predict(tokens.take(val_idx.tolist())) == y[val_idx]).mean())
                    row[f"acc_subwords_{subwords}"] = acc
                    row[f"cpu_s_subwords_{subwords}"] = round(t.cpu_seconds, 2)
                row["diff"] = row["acc_subwords_True"] - row["acc_subwords_False"]
                rows.append(row)
                print_table([row])
    summary = []
    for n in sizes:
        for pooling in args.poolings.split(","):
            diffs = [r["diff"] for r in rows if r["n"] == n and r["pooling"] == pooling]
            summary.append({"n": n, "pooling": pooling,
                            "acc_off": np.mean([r["acc_subwords_False"] for r in rows if r["n"] == n and r["pooling"] == pooling]),
                            "acc_on": np.mean([r["acc_subwords_True"] for r in rows if r["n"] == n and r["pooling"] == pooling]),
                            "mean_diff": float(np.mean(diffs)), "draws_ahead": int(sum(d > 0 for d in diffs)),
                            "draws": len(diffs)})
    print_table(summary)
    path = write_results(args.name, rows + [{"summary": s} for s in summary], params=vars(args))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

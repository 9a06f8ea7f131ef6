"""IMDB star ratings as an 8-class task (1-4 and 7-10 stars, from the file names).

Official split, all 25,000 training and 25,000 test reviews; the label is the
rating. Each model is scored on the test set once: accuracy, and mean
absolute error in stars of the predicted rating. Rows (same run, same tokens):

- ``tfidf_lr``: the peer, ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)``
  + multinomial ``LogisticRegression`` with C chosen by 3-fold
  cross-validation on the training reviews;
- ``toolkit_novec``: ``EmbeddingClassifier(architecture="nbsvm")`` on 1-3-grams
  (softmax over one NB-ratio column per class), the ablation;
- ``toolkit_glove``: ``architecture="nbsvm_vectors"`` with GloVe 6B-50d, the main-job model.

Run::

    python benchmarks/bench_ratings.py
    python benchmarks/bench_ratings.py --methods tfidf_lr --limit 2000   # smoke run

Writes ``benchmarks/results/bench_ratings.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import peak_rss_mb, print_table, timer, write_results  # noqa: E402
from bench_imdb import cached_tokens, default_work_dir  # noqa: E402
from bench_learning_curve import CS, NGRAMS, provenance  # noqa: E402

NAME = "bench_ratings"


def load(args):
    from toolkit import load_imdb

    kw = {"data_dir": args.data_dir, "shuffle": True, "random_state": args.seed, "limit": args.limit}
    return load_imdb("train", **kw), load_imdb("test", **kw)


def m_tfidf_lr(ctx):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          LogisticRegressionCV(Cs=CS[2:8], cv=3, max_iter=3000))
    model.fit(ctx["train"].texts, ctx["train"].ratings)
    return model.predict(ctx["test"].texts), {"C": float(model[-1].C_[0])}


def _keras(architecture, vectors=None):
    def method(ctx):
        from toolkit import EmbeddingClassifier
        from toolkit.models.recipes import NBSVM_RECIPE

        params = dict(NBSVM_RECIPE, architecture=architecture, random_state=ctx["seed"])
        if vectors:
            params["vectors"] = vectors
        model = EmbeddingClassifier(**params).fit(ctx["train_ngrams"], ctx["train"].ratings)
        return model.predict(ctx["test_ngrams"]), {}
    return method


METHODS = {
    "tfidf_lr": ("peer: TfidfVectorizer(1,2, sublinear_tf) + LogisticRegressionCV (multinomial, C by 3-fold CV)",
                 m_tfidf_lr),
    "toolkit_novec": ("EmbeddingClassifier(architecture='nbsvm') on 1-3-grams (ablation)", _keras("nbsvm")),
    "toolkit_glove": ("EmbeddingClassifier(architecture='nbsvm_vectors', vectors='glove.6B.50d')",
                      _keras("nbsvm_vectors", "glove.6B.50d")),
}


def main(argv=None):
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="all", help=f"comma-separated subset of {list(METHODS)}")
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (smoke runs)")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    names = list(METHODS) if args.methods == "all" else args.methods.split(",")

    train, test = load(args)
    ctx = {"train": train, "test": test, "seed": args.seed}
    if any(n != "tfidf_lr" for n in names):
        ctx["train_ngrams"] = cached_tokens(args, train.texts, "train").ngrams(NGRAMS)
        ctx["test_ngrams"] = cached_tokens(args, test.texts, "test").ngrams(NGRAMS)
    rows = []
    params = {**{k: v for k, v in vars(args).items() if k != "work_dir"}, **provenance()}
    for name in names:
        description, method = METHODS[name]
        with timer() as t:
            pred, info = method(ctx)
        pred = np.asarray(pred)
        rows.append({"method": name, "accuracy": round(float(np.mean(pred == test.ratings)), 4),
                     "mae_stars": round(float(np.mean(np.abs(pred - test.ratings))), 4),
                     "fit_predict_s": round(t.seconds, 1), "fit_predict_cpu_s": round(t.cpu_seconds, 1),
                     "peak_mb": round(peak_rss_mb()), **info, "description": description})
        print(rows[-1], flush=True)
        write_results(NAME, rows, params=params)
    print_table(rows, ["method", "accuracy", "mae_stars", "fit_predict_s", "fit_predict_cpu_s"])
    print(f"wrote {write_results(NAME, rows, params=params)}")


if __name__ == "__main__":
    main()

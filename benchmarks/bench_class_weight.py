"""Imbalanced IMDB: ``StackedTextClassifier(class_weight=...)`` against TF-IDF + LR with the same weights.

Validation only (the test reviews are not read): from ``--pool`` shuffled
IMDB training reviews, the last ``--held-out`` are a balanced held-out set,
and each of ``--draws`` seeded draws takes ``--n-train`` training reviews
from the rest with ``--minority`` of them positive (95/5 by default). Each
draw fits, on the SpacyTokenizer tokens of the same reviews:

- ``stack``: :class:`toolkit.StackedTextClassifier` (NBSVM 1-3-grams, and
  pooled GloVe 6B-50d with ``--vectors glove.6B.50d``; ``vectors=None`` is the
  default here: the n-gram member alone; ``--recipe STACK_JOB``: the recipe of
  ``toolkit train --model stack``, with its domain vectors trained on the
  unlabelled reviews) with ``class_weight=None`` and ``"balanced"`` (the
  meta-learner weighted);
- ``tfidf_lr``: the peer, ``TfidfVectorizer(ngram_range=(1, 2),
  sublinear_tf=True)`` + ``LogisticRegression`` (C=10, the C the learning
  curve's 5-fold CV chose at 1,000 reviews), with the same two weightings.

Reported per method and weighting, as means over the draws: balanced
accuracy, the positive (rare) class's recall, and ROC AUC of the decision
scores; the ratio of the stack's balanced accuracy to the peer's with the same
weighting.

Run::

    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_class_weight.py
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_class_weight.py --vectors glove.6B.50d
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_class_weight.py --recipe STACK_JOB
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_class_weight.py --alpha-scaling class_size \
        --name bench_class_weight_class_size
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_class_weight.py --minority 0.2 \
        [--alpha-scaling class_size] --name bench_class_weight_80_20_{none,class_size}
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_class_weight.py --minority {0.05,0.2,0.5} \
        --alpha-scaling class_size --ratio-shrinkage 1 --norm l2 --C 1 --name bench_class_weight_{95_5,80_20,50_50}_faded

Writes ``benchmarks/results/bench_class_weight.json`` (``--name`` to change).
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

from _common import print_table, timer, write_results  # noqa: E402

NAME = "bench_class_weight"
WEIGHTS = (None, "balanced")


def peer(class_weight):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # the same tokens as the stack: token lists in, joined by the identity analyzer
    return make_pipeline(TfidfVectorizer(analyzer=lambda doc: doc, sublinear_tf=True),
                         LogisticRegression(C=10.0, max_iter=3000, class_weight=class_weight))


def bigrams(docs):
    return [list(doc) + [f"{a} {b}" for a, b in zip(doc, doc[1:])] for doc in docs]


def main(argv=None) -> int:
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

    from toolkit import SpacyTokenizer, StackedTextClassifier, load_imdb
    from toolkit.models import recipes

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool", type=int, default=3000, help="shuffled IMDB training reviews read")
    ap.add_argument("--held-out", type=int, default=500, help="the last reviews of the pool: the held-out set")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--minority", type=float, default=0.05, help="share of positive training reviews")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--vectors", default=None, help="the stack's vectors (default: none, the n-gram member alone)")
    ap.add_argument("--recipe", default=None, help="a StackedTextClassifier recipe of toolkit.models.recipes "
                    "(STACK_JOB) instead of --vectors")
    ap.add_argument("--alpha-scaling", default=None, choices=["class_size"],
                    help="the stack's alpha_scaling (its NBSVM members' smoothing; default None)")
    ap.add_argument("--ratio-shrinkage", type=float, default=None,
                    help="the stack's ratio_shrinkage (its NBSVM members'; default None)")
    ap.add_argument("--norm", default=None, choices=["l2"], help="the stack's norm (its NBSVM members'; default None)")
    ap.add_argument("--C", type=float, default=None, help="the stack's C (its NBSVM members'; default the stack's)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--name", default=NAME)
    args = ap.parse_args(argv)
    stack_params = dict(getattr(recipes, args.recipe)) if args.recipe else {"vectors": args.vectors}
    stack_params["alpha_scaling"] = args.alpha_scaling
    stack_params.update(ratio_shrinkage=args.ratio_shrinkage, norm=args.norm)
    if args.C is not None:
        stack_params["C"] = args.C

    data = load_imdb("train", data_dir=args.data_dir, limit=args.pool, shuffle=True, random_state=0)
    docs = [list(doc) for doc in SpacyTokenizer().fit_transform(list(data.texts))]
    y = np.asarray(data.target_names)[data.labels]
    held = np.arange(args.pool - args.held_out, args.pool)
    pool = np.arange(args.pool - args.held_out)
    n_pos = round(args.minority * args.n_train)
    x_held, y_held = [docs[i] for i in held], y[held]

    results = {}
    for draw in range(args.draws):
        rng = np.random.default_rng(draw)
        idx = np.sort(np.r_[rng.choice(pool[y[pool] == "neg"], args.n_train - n_pos, replace=False),
                            rng.choice(pool[y[pool] == "pos"], n_pos, replace=False)])
        x_train, y_train = [docs[i] for i in idx], y[idx]
        for method in ("stack", "tfidf_lr"):
            for cw in WEIGHTS:
                if method == "stack":
                    model = StackedTextClassifier(**stack_params, class_weight=cw, random_state=0)
                    fit_x, held_x = x_train, x_held
                else:
                    model, fit_x, held_x = peer(cw), bigrams(x_train), bigrams(x_held)
                with timer() as t:
                    model.fit(fit_x, y_train)
                pred = model.predict(held_x)
                results.setdefault((method, str(cw)), []).append({
                    "balanced_accuracy": balanced_accuracy_score(y_held, pred),
                    "recall_pos": recall_score(y_held, pred, pos_label="pos"),
                    "auc": roc_auc_score(y_held == "pos", model.decision_function(held_x)),
                    "fit_s": t.seconds,
                })
                print(draw, method, cw, {k: round(v, 3) for k, v in results[method, str(cw)][-1].items()},
                      file=sys.stderr, flush=True)

    rows = []
    for (method, cw), runs in results.items():
        row = {"method": method, "class_weight": cw,
               **{k: round(float(np.mean([r[k] for r in runs])), 4) for k in runs[0]},
               "balanced_accuracy_by_draw": [round(r["balanced_accuracy"], 4) for r in runs]}
        rows.append(row)
    for row in rows:
        if row["method"] == "stack":
            peer_row = next(r for r in rows if r["method"] == "tfidf_lr" and r["class_weight"] == row["class_weight"])
            row["vs_peer"] = round(row["balanced_accuracy"] / peer_row["balanced_accuracy"], 3)
    print_table(rows, ["method", "class_weight", "balanced_accuracy", "recall_pos", "auc", "fit_s", "vs_peer"])
    write_results(args.name, rows, params=vars(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Validation probe: extra columns for the stack's meta-learner beside its members' scores.

The stack (``recipes.STACK_MANY_JOB``) learns a logistic regression on its six members'
out-of-fold scores. This script asks whether two cheap per-review features would let it weigh
them better, on the validation split by movie of the IMDB *training* set (``tune_stack_folds.py
--split movie``; never test text), reading the members' cached scores that ``tune_stack_folds.py``
wrote for the same seeds (run it first with the recipe's members):

- ``rating``: an explicit rating in the review's own words ("7/10", "3 out of 10", "4/5"; the
  last one), as two columns: whether there is one, and its value on a 0-1 scale minus 0.55;
- ``length``: the standardized log of the review's length in words, alone (``len``), times
  every member's score (``inter``), or times the NBSVM++ score only (``inter_pp``): NB scores
  grow with the number of n-grams, and a linear meta-learner cannot rescale them by length.

Each variant is scored against the recipe's own meta-learner in the same run (paired by seed).

Run::

    python benchmarks/probe_meta_features.py --seeds 0,1,2,3 --name probe_meta_features
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import print_table, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from tune_stack_folds import NAME as FOLDS_NAME  # noqa: E402
from tune_stack_folds import score_file  # noqa: E402

RECIPE = ("negmarkpp", "negmark", "vectors", "vectors_knn300_pca50", "tail20neg", "ratings_ridge0.03")
RATING = re.compile(r"(?<![\d./])(\d{1,3}(?:\.\d+)?)\s*(?:/|out of|outta|of)\s*(10|5|4|100)(?![\d/])", re.I)


def text_rating(texts):
    """(has a rating, its last value on a 0-1 scale - 0.55) for each text."""
    import numpy as np

    out = np.zeros((len(texts), 2))
    for i, text in enumerate(texts):
        values = [float(m.group(1)) / float(m.group(2)) for m in RATING.finditer(text)
                  if float(m.group(1)) <= float(m.group(2))]
        if values:
            out[i] = (1.0, values[-1] - 0.55)
    return out


def main(argv=None):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit import load_imdb

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--cv", type=int, default=5)
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="tune_stack_folds.py's cache folder")
    p.add_argument("--name", default="probe_meta_features")
    args = p.parse_args(argv)

    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        train = load_imdb("train", data_dir=args.data_dir, shuffle=True, random_state=seed)
        labels, movies = np.asarray(train.labels), train.groups
        # the validation split of tune_models.validation_split(split="movie"), from the raw texts
        folds = StratifiedGroupKFold(n_splits=round(len(labels) / args.val_size), shuffle=True, random_state=seed)
        fit_idx, val_idx = next(folds.split(np.zeros(len(labels)), labels, movies))
        texts = np.asarray(train.texts, dtype=object)
        oof, val = [], []
        for name in RECIPE:
            path = score_file(Path(args.work_dir) / FOLDS_NAME, name, seed, "_movie", len(fit_idx), len(val_idx), args.cv)
            with np.load(path) as z:
                oof.append(z["oof"])
                val.append(z["full"])
        X, V = np.column_stack(oof), np.column_stack(val)
        y_fit, y_val = labels[fit_idx], labels[val_idx]
        loglen = np.log([max(len(t.split()), 1) for t in texts])
        mu, sd = loglen[fit_idx].mean(), loglen[fit_idx].std()
        lf, lv = (loglen[fit_idx] - mu) / sd, (loglen[val_idx] - mu) / sd
        rf, rv = text_rating(texts[fit_idx]), text_rating(texts[val_idx])
        variants = {
            "recipe": (X, V),
            "rating": (np.column_stack([X, rf]), np.column_stack([V, rv])),
            "len": (np.column_stack([X, lf]), np.column_stack([V, lv])),
            "inter": (np.column_stack([X, lf, X * lf[:, None]]), np.column_stack([V, lv, V * lv[:, None]])),
            "inter_pp": (np.column_stack([X, lf, X[:, :1] * lf[:, None]]), np.column_stack([V, lv, V[:, :1] * lv[:, None]])),
        }
        base = None
        for variant, (A, B) in variants.items():
            meta = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(A, y_fit)
            acc = float(np.mean(meta.predict(B) == y_val))
            base = acc if base is None else base
            rows.append({"seed": seed, "variant": variant, "val_accuracy": round(acc, 4),
                         "vs_recipe": round(100 * (acc - base), 2),
                         "rated_share": round(float(rv[:, 0].mean()), 3),
                         "weights": np.round(meta[-1].coef_[0], 2).tolist()})
    print_table([{k: v for k, v in r.items() if k != "weights"} for r in rows])
    for variant in dict.fromkeys(r["variant"] for r in rows):
        diffs = [r["vs_recipe"] for r in rows if r["variant"] == variant]
        print(f"{variant}: mean {np.mean([r['val_accuracy'] for r in rows if r['variant'] == variant]):.4%}, "
              f"vs the recipe {np.mean(diffs):+.3f} points")
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

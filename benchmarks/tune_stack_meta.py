"""Validation check: does another meta-learner combine the stack's members better? (twentieth session)

``StackedTextClassifier`` combines its members' out-of-fold scores with
``StandardScaler`` -> ``LogisticRegression(C=final_C)``. This script reads
``tune_stack_folds.py``'s cached member scores (validation split by movie, 20,000
fit / 5,000 validation reviews, random folds) and refits the meta-learner in
other forms, each on the same out-of-fold scores, scored on the validation
reviews by the members' full fits:

- ``linear``: the stack's own (standardized scores -> LR, C=1);
- ``+log_length``: the log token count of each review as one more input;
- ``fwls``: feature-weighted linear stacking (Sill et al. 2009): every member's
  score times the standardized log length too, so a member's weight can grow
  or shrink with the review's length (the tail member's evidence is a larger
  share of a short review); at C=1 and C=0.1;
- ``hgb``: a gradient-boosted tree meta-learner on the scores and the length;
- ``quadratic``: the standardized scores with their pairwise products;
- ``tanh`` / ``clip3``: each standardized score squashed (tanh) or clipped at
  +-3, against a few extreme scores steering the fit;
- ``raw+tanh``: both.

Validation reviews only; no test text.

Run (after ``tune_stack_folds.py --split movie`` cached each member for each seed)::

    python benchmarks/tune_stack_meta.py --seeds 0,1,2,3
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import print_table, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "tune_stack_meta"
#: STACK_MANY_JOB's members as tune_stack_folds.py names them (nineteenth session's recipe)
MEMBERS = "negmarkpp,negmark,tail20neg,ratings_ridge0.03,vectors,vectors_knn300_pca50"


def movie_split(seed, data_dir, work_dir):
    """tune_stack_folds.py's validation split by movie: (X_fit, y_fit, X_val, y_val, the split's namespace,
    whose ``fit_movies`` and ``fit_ratings`` hold the fit reviews' movies and stars)."""
    split = SimpleNamespace(seed=seed, val_size=5000, limit=None, split="movie", data_dir=data_dir, work_dir=work_dir)
    return (*validation_split(split), split)


def seed_table(rows, key):
    """One row per value of ``key`` in ``rows``: the mean validation accuracy over the seeds, and each seed's."""
    import numpy as np

    table = []
    for value in dict.fromkeys(r[key] for r in rows):
        accs = [r["val_accuracy"] for r in rows if r[key] == value]
        table.append({key: value, "mean": round(float(np.mean(accs)), 4), "by_seed": accs})
    return table


def meta_learner(C=1.0):
    """The stack's meta-learner, as in ``StackedTextClassifier``: standardized member scores -> LR."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def cached(work_dir, name, seed):
    """A member's (out-of-fold scores, validation scores of its full fit) from tune_stack_folds.py's cache."""
    import numpy as np

    found = sorted((Path(work_dir) / "tune_stack_folds").glob(f"{name}_seed{seed}_movie_n*_v*_cv5.npz"))
    if len(found) != 1:
        raise SystemExit(
            f"expected one cached score file for member {name!r}, seed {seed} (split by movie, cv=5) in "
            f"{Path(work_dir) / 'tune_stack_folds'}, found {len(found)}: run "
            f"`python benchmarks/tune_stack_folds.py --seed {seed} --split movie --members {name}` first."
        )
    with np.load(found[0]) as z:
        return z["oof"], z["full"]


def variants(F, V, len_fit, len_val, seed):
    """(name, estimator, fit inputs, validation inputs) of each meta-learner compared."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.preprocessing import StandardScaler

    lr = meta_learner
    mu, sd = len_fit.mean(), len_fit.std()
    zf, zv = (len_fit - mu) / sd, (len_val - mu) / sd
    scale = StandardScaler().fit(F)
    Fs, Vs = scale.transform(F), scale.transform(V)

    def pairs(A):
        k = A.shape[1]
        return np.column_stack([A] + [A[:, i] * A[:, j] for i in range(k) for j in range(i, k)])

    yield "linear", lr(), F, V
    yield "+log_length", lr(), np.column_stack([F, len_fit]), np.column_stack([V, len_val])
    fw_f, fw_v = np.column_stack([F, zf, F * zf[:, None]]), np.column_stack([V, zv, V * zv[:, None]])
    yield "fwls", lr(), fw_f, fw_v
    yield "fwls_C0.1", lr(0.1), fw_f, fw_v
    yield ("hgb", HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed),
           np.column_stack([F, len_fit]), np.column_stack([V, len_val]))
    yield "quadratic", lr(), pairs(Fs), pairs(Vs)
    yield "tanh", lr(), np.tanh(Fs), np.tanh(Vs)
    yield "clip3", lr(), np.clip(Fs, -3, 3), np.clip(Vs, -3, 3)
    yield "raw+tanh", lr(), np.column_stack([Fs, np.tanh(Fs)]), np.column_stack([Vs, np.tanh(Vs)])


def main(argv=None):
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--members", default=MEMBERS, help="tune_stack_folds.py member names, comma-separated")
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="tune_stack_folds.py's cache folder's parent")
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)
    names = args.members.split(",")
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        X_fit, y_fit, X_val, y_val, _ = movie_split(seed, args.data_dir, args.work_dir)
        len_fit = np.log(np.maximum(np.diff(X_fit.offsets), 1))
        len_val = np.log(np.maximum(np.diff(X_val.offsets), 1))
        scores = [cached(args.work_dir, name, seed) for name in names]
        F = np.column_stack([oof for oof, _ in scores])
        V = np.column_stack([full for _, full in scores])
        if len(F) != len(y_fit) or len(V) != len(y_val):
            raise SystemExit(f"cached scores of seed {seed} do not match its split ({len(F)}/{len(V)} against "
                             f"{len(y_fit)}/{len(y_val)} reviews): recompute them with tune_stack_folds.py.")
        for name, est, fit_in, val_in in variants(F, V, len_fit, len_val, seed):
            est.fit(fit_in, y_fit)
            rows.append({"seed": seed, "meta": name, "val_accuracy": round(float(np.mean(est.predict(val_in) == y_val)), 4)})
    print_table(seed_table(rows, "meta"))
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

"""Validation check: how the neighbour vote's extreme scores move the stack (thirteenth session).

The ``"neighbors"`` member of ``StackedTextClassifier`` scores a document by the
log-odds of a distance-weighted vote of its 300 nearest training reviews,
clipped at ``1e-7`` (+-16.1). A review with a duplicate among the training
reviews (IMDB has a few hundred) takes its duplicate's label alone: distance 0.
scikit-learn's float32 search leaves such a duplicate at rounding noise
(2-5e-8) inside a block of 256 queries, so the vote was 0.99999 (+-11.5)
instead; ``NeighborVote``'s own search (commit d5ead01) puts it at 0 in any
batch. This script reads ``tune_stack_folds.py``'s cached member scores
(validation split by movie, random folds) and refits the stack's meta-learner
(standardized scores, ``LogisticRegression(C=1)``) with the vote clipped at
+-c, from the current search and, when ``--compare`` names a folder of
``vectors_knn300`` scores computed by an earlier commit, from those too.
Validation reviews only; no test text.

Run (after ``tune_stack_folds.py --split movie --members nbsvm++,nbsvm,vectors,vectors_knn300`` for each seed)::

    python benchmarks/stack_vote_clip.py --seeds 0,1,2,3 --compare sklearn_search_630b15c
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

from _common import print_table, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "stack_vote_clip"
CLIPS = (16.2, 11.5, 9.2, 6.9, 4.6)  # log-odds of 1e-7 (no change), 1e-5, 1e-4, 1e-3, 1e-2


def main(argv=None):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--compare", help="folder (inside the tune_stack_folds cache) of vectors_knn300 scores of an earlier commit")
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir())
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)
    cache = Path(args.work_dir) / "tune_stack_folds"
    rows = []
    for seed in map(int, args.seeds.split(",")):
        split = SimpleNamespace(seed=seed, split="movie", val_size=args.val_size, limit=None, data_dir=args.data_dir,
                                work_dir=args.work_dir, fit_movies=None)
        _, y_fit, _, y_val = validation_split(split)
        tag = f"seed{seed}_movie_n{len(y_fit)}_v{len(y_val)}_cv5.npz"
        base = [np.load(cache / f"{name}_{tag}") for name in ("nbsvm++", "nbsvm", "vectors")]
        votes = {"NeighborVote search": np.load(cache / f"vectors_knn300_{tag}")}
        if args.compare:
            votes[f"scikit-learn search ({args.compare})"] = np.load(cache / args.compare / f"vectors_knn300_{tag}")

        def accuracy(extra):
            oof = np.column_stack([m["oof"] for m in base] + [e[0] for e in extra])
            val = np.column_stack([m["full"] for m in base] + [e[1] for e in extra])
            meta = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(oof, y_fit)
            return round(float(np.mean(meta.predict(val) == y_val)), 4)

        rows.append({"seed": seed, "vote": "none (NBSVM++ + NBSVM + SIF vectors)", "clip": None, "val_accuracy": accuracy([])})
        for label, vote in votes.items():
            extreme = int(np.sum(np.abs(vote["oof"]) > 8))
            for c in CLIPS:
                rows.append({"seed": seed, "vote": label, "clip": c, "oof_beyond_8": extreme,
                             "val_accuracy": accuracy([(np.clip(vote["oof"], -c, c), np.clip(vote["full"], -c, c))])})
    means = {}
    for r in rows:
        means.setdefault((r["vote"], r["clip"]), []).append(r["val_accuracy"])
    for (vote, clip), accs in means.items():
        rows.append({"seed": "mean", "vote": vote, "clip": clip, "val_accuracy": round(float(np.mean(accs)), 5)})
    print_table(rows, ["seed", "vote", "clip", "oof_beyond_8", "val_accuracy"])
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

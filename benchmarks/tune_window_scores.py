"""Validation check: does the NBSVM member's strongest passage add to the stack? (twenty-first session)

A review that summarises a plot at length and gives its verdict in one
sentence has a whole-document score diluted by the summary. The ``"tail"``
member already reads the last 20 tokens; this script asks whether the most
positive and most negative passage anywhere in a review adds to
``STACK_MANY_JOB``. The stack's NBSVM member (``NBSVMClassifier(C=0.01)`` on
binary 1-3-grams of negation-marked tokens) gives every n-gram a weight
(``coef_``); a token position's weight is the sum over the n-grams that start
there, and a window of ``w`` tokens scores the sum over its positions. Per
review: the maximum and minimum window score (``maxmin``), and with them the
share of positive windows (``all``), for w = 5, 10, 20 and 40 tokens (a review
shorter than w is one window).

The features enter the meta-learner next to ``STACK_MANY_JOB``'s six member
scores, out of fold as they do: each of the stack's 5 folds fits the NBSVM on
the other four and scores the windows of its own reviews; the validation
reviews get the windows of the fit on all 20,000. Validation split by movie
(``tune_stack_folds.py --split movie``; its cached member scores), seeds 0-3;
no test text.

Run (after ``tune_stack_folds.py`` cached ``tune_stack_meta.MEMBERS`` for each seed)::

    python benchmarks/tune_window_scores.py --seeds 0,1,2,3
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
from bench_imdb import default_work_dir  # noqa: E402
from tune_stack_meta import MEMBERS, cached, meta_learner, movie_split, seed_table  # noqa: E402

NAME = "tune_window_scores"
WINDOWS = (5, 10, 20, 40)


def nbsvm(seed):
    """The stack's NBSVM member after its negation step: 1-3-grams -> binary counts -> NBSVMClassifier(C=0.01)."""
    from sklearn.pipeline import Pipeline

    from tune_stack_folds import member

    return Pipeline(member("negmark", seed).steps[1:])


def window_features(model, X):
    """Per review and window size: max and min window score, share of positive windows (3 columns per size)."""
    import numpy as np

    from toolkit.models.stacking import word_ngrams
    from toolkit.text.corpus import _ngram_layout
    from toolkit.text.vocabulary import OOV_ID

    ids = model.named_steps["counts"].vocabulary_.encode(word_ngrams(X, (1, 3))).astype(np.int64)
    weights = np.concatenate([[0.0], model.named_steps["nbsvm"].coef_[0]])  # column j is id j + 1
    weights[OOV_ID] = 0.0
    offsets = np.asarray(X.offsets, dtype=np.int64)
    position = np.zeros(offsets[-1])  # each token position: the weights of the n-grams starting there
    for _n, first, dest in _ngram_layout(offsets, (1, 3)):
        np.add.at(position, first, weights[ids[dest]])
    total = np.concatenate([[0.0], np.cumsum(position)])
    columns = []
    for w in WINDOWS:
        out = np.empty((len(offsets) - 1, 3))
        for d, (a, b) in enumerate(zip(offsets[:-1].tolist(), offsets[1:].tolist())):
            s = total[a + w:b + 1] - total[a:b - w + 1] if b - a > w else np.array([total[b] - total[a]])
            out[d] = s.max(), s.min(), np.mean(s > 0)
        columns.append(out)
    return np.hstack(columns)


def main(argv=None):
    import numpy as np

    from toolkit.models.stacking import _folds
    from toolkit.text.negation import mark_negation

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="token cache and tune_stack_folds.py's cache")
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)
    names = MEMBERS.split(",")
    vector_free = [i for i, n in enumerate(names) if not n.startswith("vectors")]
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        X_fit, y_fit, X_val, y_val, _ = movie_split(seed, args.data_dir, args.work_dir)
        X_fit, X_val = mark_negation(X_fit), mark_negation(X_val)
        oof = np.zeros((len(y_fit), 3 * len(WINDOWS)))
        with timer() as t:
            for train, test in _folds(5, y_fit, None, seed):  # the stack's own folds, as tune_stack_folds.py
                oof[test] = window_features(nbsvm(seed).fit(X_fit.take(train), y_fit[train]), X_fit.take(test))
            val = window_features(nbsvm(seed).fit(X_fit, y_fit), X_val)
        scores = [cached(args.work_dir, name, seed) for name in names]
        F, V = np.column_stack([o for o, _ in scores]), np.column_stack([f for _, f in scores])
        variants = {"STACK_MANY_JOB": (F, V), "ablation (no vectors)": (F[:, vector_free], V[:, vector_free])}
        for j, w in enumerate(WINDOWS):
            for kind, cols in (("maxmin", [3 * j, 3 * j + 1]), ("all", [3 * j, 3 * j + 1, 3 * j + 2])):
                variants[f"+ w{w} {kind}"] = (np.column_stack([F, oof[:, cols]]), np.column_stack([V, val[:, cols]]))
        pair = [3, 4, 9, 10]  # w10 and w40, max and min
        variants["+ w10,w40 maxmin"] = (np.column_stack([F, oof[:, pair]]), np.column_stack([V, val[:, pair]]))
        variants["+ every window feature"] = (np.column_stack([F, oof]), np.column_stack([V, val]))
        variants["ablation + w10 maxmin"] = (np.column_stack([F[:, vector_free], oof[:, 3:5]]),
                                             np.column_stack([V[:, vector_free], val[:, 3:5]]))
        for name, (fit_in, val_in) in variants.items():
            est = meta_learner().fit(fit_in, y_fit)
            rows.append({"seed": seed, "stack": name, "val_accuracy": round(float(np.mean(est.predict(val_in) == y_val)), 4),
                         "window_fits_s": round(t.seconds, 1)})
        print(f"seed {seed}: 6 NBSVM fits and window scores in {t.seconds:.0f} s", flush=True)
    print_table(seed_table(rows, "stack"))
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

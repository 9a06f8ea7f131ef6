"""Validation only: ``STACK_MANY_JOB`` without its vector members on the 8 IMDB star classes.

A quick check of a change to the stack's n-gram members on a multiclass task (the thirty-fifth
session's complement naive-Bayes ratios for the NBSVM++ member), without training domain vectors
from cold: ``vectors=None`` leaves the n-gram members, the tail member and the ratings member.
``--limit`` training reviews (shuffled, ``--seed``), split 80/20 stratified by stars; the stack fits
on the 80% (with ``ratings=`` the stars) and is scored on the 20%. IMDB's test reviews are not read.
To compare two versions, run it once with ``PYTHONPATH`` at a ``git archive`` of the older one.

Run::

    python benchmarks/check_stack_many_stars.py            # 6,000 reviews, about a minute of CPU

Writes ``benchmarks/results/check_stack_many_stars.json`` (``--name`` to change).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    import numpy as np
    from _common import timer, write_results
    from sklearn.model_selection import train_test_split

    from toolkit import load_imdb
    from toolkit.models import StackedTextClassifier, recipes
    from toolkit.text import SpacyTokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--name", default="check_stack_many_stars")
    args = parser.parse_args(argv)

    data = load_imdb("train", data_dir=args.data_dir, limit=args.limit, shuffle=True, random_state=args.seed)
    y = np.asarray(data.ratings)
    fit, val = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=args.seed)
    tokens = SpacyTokenizer().fit_transform(data.texts)
    params = {k: v for k, v in recipes.STACK_MANY_JOB.items() if k != "ngram_range"}
    params.update(vectors=None, n_jobs=1, random_state=args.seed)
    with timer() as t:
        clf = StackedTextClassifier(**params).fit(tokens.take(fit), y[fit], ratings=y[fit])
        accuracy = float((clf.predict(tokens.take(val)) == y[val]).mean())
    row = {"members": clf.member_names_, "fit_docs": len(fit), "val_docs": len(val),
           "val_accuracy": round(100 * accuracy, 2), "cpu_s": round(t.cpu_seconds, 1)}
    print(row)
    write_results(args.name, [row], params=vars(args))


if __name__ == "__main__":
    main()

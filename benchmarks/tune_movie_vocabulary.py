"""Validation check: do n-grams that name one movie hurt the NBSVM member on unseen movies? (twentieth session)

The test reviews are about movies no training review is about. An n-gram seen
in the reviews of one training movie only (a character's or an actor's name, a
plot detail) can only recognise that movie, and its NB ratio is that movie's
score. This script fits the stack's NBSVM member (``NBSVMClassifier(C=0.01)`` on
binary 1-3-grams of negation-marked tokens, as in ``STACK_MANY_JOB``) on the
fit reviews of a validation split by movie (20,000 fit / 5,000 validation
reviews about other movies), with its vocabulary cut to the n-grams seen in the
reviews of at least ``m`` distinct fit movies, m = 1 (all, the member as it is),
2 and 3; and, as a control that drops about as many n-grams without looking at
the movies, to those in at least 2 fit reviews. Validation reviews only; no test text.

Run::

    python benchmarks/tune_movie_vocabulary.py --seeds 0,1,2,3
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
from tune_stack_meta import movie_split, seed_table  # noqa: E402

NAME = "tune_movie_vocabulary"


def main(argv=None):
    import numpy as np
    import scipy.sparse as sp

    from toolkit.models.naive_bayes import NBSVMClassifier
    from toolkit.models.stacking import word_ngrams
    from toolkit.text.encoders import BagEncoder
    from toolkit.text.negation import mark_negation

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--min-movies", default="1,2,3")
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="token cache folder")
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        X_fit, y_fit, X_val, y_val, split = movie_split(seed, args.data_dir, args.work_dir)
        grams_fit = word_ngrams(mark_negation(X_fit), ngram_range=(1, 3))
        grams_val = word_ngrams(mark_negation(X_val), ngram_range=(1, 3))
        encoder = BagEncoder(output_mode="multi_hot").fit(grams_fit)
        F, V = sp.csr_matrix(encoder.transform(grams_fit)), sp.csr_matrix(encoder.transform(grams_val))
        _, movie = np.unique(split.fit_movies, return_inverse=True)
        by_movie = sp.csr_matrix((np.ones(len(movie)), (movie, np.arange(len(movie)))))
        n_movies = np.asarray(((by_movie @ F) > 0).sum(axis=0)).ravel()  # distinct fit movies per n-gram
        n_docs = np.asarray(F.sum(axis=0)).ravel()
        cuts = [(f"movies>={m}", n_movies >= m) for m in (int(m) for m in args.min_movies.split(","))]
        for rule, keep in cuts + [("reviews>=2 (control)", n_docs >= 2)]:
            cols = np.flatnonzero(keep)
            with timer() as t:
                clf = NBSVMClassifier(C=0.01, random_state=seed).fit(F[:, cols], y_fit)
            acc = float(np.mean(clf.predict(V[:, cols]) == y_val))
            rows.append({"seed": seed, "vocabulary": rule, "n_ngrams": int(cols.size), "val_accuracy": round(acc, 4),
                         "fit_s": round(t.seconds, 1)})
            print_table(rows[-1:])
    print_table(seed_table(rows, "vocabulary"))
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

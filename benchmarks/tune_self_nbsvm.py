"""Validation tuning: self-training the Keras NBSVM++ on IMDB's unlabelled reviews.

``PseudoLabelClassifier`` had only been measured with the scikit-learn NBSVM at
20,000 labels (no gain, ``tune_linear.py``). This script measures it with the
Keras NBSVM++ (``EmbeddingClassifier(architecture="nbsvm")``, ``NBSVM_RECIPE``)
and with the main job's joint model (``"nbsvm_vectors"`` + GloVe, ``MAIN_JOB``
settings) as the model that is refitted, the teacher being the same model
fitted on the labelled reviews alone.

Only the IMDB training set is read for labels (20,000 fit / 5,000 validation,
split by ``--seed``); the unlabelled reviews are ``--n-unlabelled`` of the
50,000 ``unsup`` reviews (a seeded subset), never test text. For each
``--models`` entry and each ``--fractions`` value it fits the model on the
labelled reviews, pseudo-labels the unlabelled ones, keeps the most confident
fraction of each predicted class and refits (one round), exactly as
``PseudoLabelClassifier`` does. Rows (validation accuracy of the plain and the
self-trained model, fit seconds) are appended to ``results/<name>.json``.

Run::

    python benchmarks/tune_self_nbsvm.py --seed 0 --fractions 0.3,0.7,1.0
    python benchmarks/tune_self_nbsvm.py --seed 1 --models nbsvm,main --fractions 0.7
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import RESULTS_DIR, print_table, timer, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from bench_learning_curve import unlabelled_tokens  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "tune_self_nbsvm"


def model(kind, seed):
    """The model that is fitted, pseudo-labels and is refitted: ``nbsvm`` (NBSVM++, ``NBSVM_RECIPE``),
    ``nbsvm2`` (NBSVM++ at the main job's schedule) or ``main`` (the main job's model, + GloVe)."""
    from toolkit.models import EmbeddingClassifier
    from toolkit.models.recipes import HYBRID_BRANCH, MAIN_JOB_SCHEDULE, NBSVM_RECIPE

    if kind == "nbsvm":
        return EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=seed)
    if kind == "nbsvm2":  # the main job's schedule without its vector branch (its ablation)
        return EmbeddingClassifier(architecture="nbsvm", **{**NBSVM_RECIPE, **MAIN_JOB_SCHEDULE}, random_state=seed)
    if kind == "main":
        return EmbeddingClassifier(architecture="nbsvm_vectors", vectors="glove.6B.50d",
                                   **{**NBSVM_RECIPE, **MAIN_JOB_SCHEDULE, **HYBRID_BRANCH}, random_state=seed)
    raise ValueError(f"unknown --models entry {kind!r}: use nbsvm, nbsvm2 or main")


def main(argv=None):
    import numpy as np

    from toolkit import PseudoLabelClassifier, TokenizedCorpus

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--limit", type=int, default=None, help="training reviews (smoke runs)")
    p.add_argument("--n-unlabelled", type=int, default=50000)
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="token cache folder")
    p.add_argument("--models", default="nbsvm")
    p.add_argument("--fractions", default="0.3,0.7,1.0")
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)

    path = RESULTS_DIR / f"{args.name}.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    X_fit, y_fit, X_val, y_val = validation_split(args)
    unl = unlabelled_tokens(args.data_dir, args.n_unlabelled, args.seed).ngrams((1, 3))
    A, B = X_fit.ngrams((1, 3)), X_val.ngrams((1, 3))
    X = TokenizedCorpus.concatenate([A, unl])
    y = np.concatenate([y_fit, np.full(len(unl), -1)])
    for kind in args.models.split(","):
        with timer() as t:
            plain = model(kind, args.seed).fit(A, y_fit)
        base = {"model": kind, "seed": args.seed, "n_unlabelled": len(unl)}
        rows.append({**base, "fraction": 0.0, "val_accuracy": round(float(np.mean(plain.predict(B) == y_val)), 4),
                     "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1)})
        print_table(rows[-1:])
        write_results(args.name, rows, params=vars(args))
        for fraction in (float(f) for f in args.fractions.split(",")):
            # PseudoLabelClassifier refits the teacher itself; the plain fit above is the same model
            # (same seed, same data), so its cost is the self-trained row's fit_s minus the plain one's
            with timer() as t:
                clf = PseudoLabelClassifier(model(kind, args.seed), fraction=fraction).fit(X, y)
            rows.append({**base, "fraction": fraction, "n_pseudo_labelled": clf.n_pseudo_labelled_,
                         "val_accuracy": round(float(np.mean(clf.predict(B) == y_val)), 4),
                         "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1)})
            print_table(rows[-1:])
            write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

"""Validation experiment: word-vector clusters inside the NBSVM++ bag, not as a stack member.

Issue 11's 25k target needs something that adds to the Keras NBSVM++ model (the best
n-gram model). As a stack member the cluster n-grams tie with it
(``tune_stacking.py --groups clusters_keras``). This script tests the other way to
combine them: one NBSVM++ model (``EmbeddingClassifier(architecture="nbsvm")`` with
``NBSVM_RECIPE``) whose bag holds the word 1-3-grams *and* the 1-3-grams of the
documents' cluster tokens (``WordClusterer``), trained jointly.

Variants (``--variants``, comma-separated):

- ``base``: word 1-3-grams only (the ablation);
- ``joint<k>``: + 1-3-grams of ``k`` k-means clusters of ``DOMAIN_VECTORS``
  (``joint200+5000``: two clusterings); a ``g`` prefix uses GloVe 6B-50d instead;
- ``rand<k>``: the control, the same cluster sizes with words assigned at random.

Only the IMDB training set is read (20,000 fit / 5,000 validation, split by
``--seed``). Rows are appended to ``results/<name>.json``.

Run::

    python benchmarks/tune_joint_clusters.py --seed 0 --variants base,joint1000,rand1000
    python benchmarks/tune_joint_clusters.py --seed 0 --variants joint1000 --max-tokens 1600000
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
from tune_models import validation_split  # noqa: E402

NAME = "tune_joint_clusters"


def joined(words, clusterings):
    """Each document's word n-grams followed by its n-grams of every clustering (prefixed by ``k|``)."""
    from toolkit.text.corpus import TokenizedCorpus

    docs = [list(doc) for doc in words]
    for k, grams in clusterings:
        docs = [doc + [f"{k}|{t}" for t in extra] for doc, extra in zip(docs, grams)]
    return TokenizedCorpus.from_token_lists(docs)


def main(argv=None):
    import numpy as np

    from toolkit.models import EmbeddingClassifier
    from toolkit.models.recipes import DOMAIN_VECTORS, NBSVM_RECIPE
    from toolkit.vectors.clusters import WordClusterer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--limit", type=int, default=None, help="training reviews (smoke runs)")
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="token cache folder")
    p.add_argument("--variants", default="base,joint1000,rand1000")
    p.add_argument("--epochs", type=int, default=NBSVM_RECIPE["epochs"])
    p.add_argument("--max-tokens", type=int, default=NBSVM_RECIPE["max_tokens"])
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)

    path = RESULTS_DIR / f"{args.name}.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    X_fit, y_fit, X_val, y_val = validation_split(args)
    words = (X_fit.ngrams((1, 3)), X_val.ngrams((1, 3)))
    for variant in args.variants.split(","):
        with timer() as t:
            if variant == "base":
                A, B = words
            else:
                rand = "rand" in variant
                vectors = "glove.6B.50d" if variant.startswith("g") else DOMAIN_VECTORS
                ks = [int(k) for k in variant.lstrip("g").replace("joint", "").replace("rand", "").split("+")]
                fit_grams, val_grams = [], []
                for k in ks:
                    wc = WordClusterer(vectors=vectors, n_clusters=k).fit(X_fit)
                    if rand:  # control: the same cluster sizes, words assigned at random
                        wc.labels_ = np.random.default_rng(args.seed).permutation(wc.labels_)
                        wc.__dict__.pop("_table", None)
                    fit_grams.append((k, wc.transform(X_fit).ngrams((1, 3))))
                    val_grams.append((k, wc.transform(X_val).ngrams((1, 3))))
                A, B = joined(words[0], fit_grams), joined(words[1], val_grams)
            clf = EmbeddingClassifier(architecture="nbsvm", **dict(NBSVM_RECIPE, max_tokens=args.max_tokens,
                                                                   epochs=args.epochs), random_state=args.seed)
            clf.fit(A, y_fit)
        acc = float(np.mean(clf.predict(B) == y_val))
        rows.append({"variant": variant, "seed": args.seed, "epochs": args.epochs, "max_tokens": args.max_tokens,
                     "val_accuracy": round(acc, 4), "cpu_s": round(t.cpu_seconds, 1), "wall_s": round(t.seconds, 1)})
        print_table(rows[-1:])
        write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

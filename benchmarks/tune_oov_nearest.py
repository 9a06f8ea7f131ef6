"""Choose ``EmbeddingClassifier(oov=..., oov_threshold=...)`` on IMDB TRAINING reviews only.

``oov="nearest"`` gives a token outside the fitted vocabulary the id of the
vocabulary word whose fastText vector is most similar (cosine, at least
``oov_threshold``); ``oov="unknown"`` gives it the OOV id. The shuffled
training set (seed 0) is cut in three: the first ``--pool`` reviews, from
which each seed draws the ``n`` labelled fit reviews; the next ``--val-size``
reviews, scored; the rest, unlabelled, the only texts the fastText vectors
are trained on (``train=0``: every fit shares them, and no scored review is
in them, so the scored reviews bring tokens the vectors never saw). The test
split is not read. Each fitted model is scored with ``oov="unknown"`` and with
``oov="nearest"`` at each threshold (``set_params``, no refit: paired), and,
for ``"nbsvm"``, with new words mapped but their word n-grams left OOV
(``_OOV_NGRAMS = False``). The predict overhead is the wall time of
``predict_proba`` on the scored reviews, first call (empty memo) and a second
call (memo filled), against ``oov="unknown"``, per 1,000 reviews.

Run::

    nice -n 10 python benchmarks/tune_oov_nearest.py --sizes 1000,5000 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from _common import print_table, timer, write_results

NAME = "tune_oov_nearest"


def _accuracy(model, docs, y):

    start = time.perf_counter()
    proba = model.predict_proba(docs)
    seconds = time.perf_counter() - start
    return float((model.classes_[proba.argmax(axis=1)] == y).mean()), seconds


def main(argv=None):
    import numpy as np

    from toolkit.data.datasets import load_imdb
    from toolkit.models import EmbeddingClassifier, classifier
    from toolkit.models.recipes import NBSVM_RECIPE
    from toolkit.text import SpacyTokenizer
    from toolkit.text.vocabulary import OOV_ID

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated numbers of labelled fit reviews")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (fit draw and model)")
    parser.add_argument("--seed", type=int, default=None, help="one seed (overrides --seeds)")
    parser.add_argument("--pool", type=int, default=10000, help="reviews the fit reviews are drawn from")
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--architectures", default="bag,nbsvm")
    parser.add_argument("--thresholds", default="0.5,0.8,0.9,0.95,0.97,0.99")
    parser.add_argument("--min-count", type=int, default=3, help="min_count of the classifier (leaves tokens out)")
    parser.add_argument("--vector-options", default="train=0,dim=100,epochs=5")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--work-dir", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "tune_oov_nearest"))
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    warnings.filterwarnings("ignore", message=".*tf.function retracing.*")

    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [args.seed] if args.seed is not None else [int(s) for s in args.seeds.split(",")]
    thresholds = [float(t) for t in args.thresholds.split(",")]
    data = load_imdb("train", path=Path(args.data_dir) / "aclImdb_v1.tar.gz", shuffle=True, random_state=0)
    texts, y_all = list(data.texts), np.asarray(data.labels)
    n_scored = args.pool + args.val_size
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    unlabelled = work / "unlabelled.txt"  # the training reviews neither fitted nor scored, one per line
    unlabelled.write_text("\n".join(t.replace("\n", " ") for t in texts[n_scored:]) + "\n", encoding="utf-8")
    spec = ("fasttext", str(unlabelled), args.vector_options)
    tokenizer = SpacyTokenizer()
    with timer() as t_tok:
        corpus = tokenizer.fit_transform(texts[:n_scored])
    print(f"tokenized {n_scored} reviews in {t_tok.cpu_seconds:.1f} CPU s")
    val_idx = np.arange(args.pool, n_scored)
    val_words = corpus.take(val_idx.tolist())
    y_val = y_all[val_idx]
    rows = []
    for arch in args.architectures.split(","):
        nb = arch.startswith("nbsvm")
        base = dict(NBSVM_RECIPE) if nb else {}
        base.update(architecture=arch, vectors=spec, min_count=args.min_count, oov="nearest")
        val_docs = val_words.ngrams((1, 3)) if nb else val_words
        for n in sizes:
            for seed in seeds:
                rng = np.random.RandomState(seed)
                fit_idx = np.sort(rng.choice(args.pool, n, replace=False))
                fit_docs = corpus.take(fit_idx.tolist())
                fit_docs = fit_docs.ngrams((1, 3)) if nb else fit_docs
                model = EmbeddingClassifier(**base, random_state=seed)
                with timer() as t_fit:
                    model.fit(fit_docs, y_all[fit_idx])
                # the scored reviews' words outside the vocabulary (unigrams, each occurrence)
                word_ids = model.vocabulary_.encode(val_words)
                unknown = word_ids == OOV_ID
                row = {"arch": arch, "n": n, "seed": seed, "vocab": len(model.vocabulary_),
                       "fit_cpu_s": round(t_fit.cpu_seconds, 1), "oov_share": round(float(unknown.mean()), 4)}
                model.set_params(oov="unknown")
                row["acc_off"], off_s = _accuracy(model, val_docs, y_val)
                model.set_params(oov="nearest")
                for k, threshold in enumerate(thresholds):
                    model.set_params(oov_threshold=threshold)
                    if k == 0:  # the first call fills the memo (empty after fit: every new token is computed)
                        _, first_s = _accuracy(model, val_docs, y_val)
                        _, again_s = _accuracy(model, val_docs, y_val)
                        per = 1000 / len(y_val)
                        row.update(predict_s_per_1k_off=round(off_s * per, 4),
                                   predict_s_per_1k_first=round(first_s * per, 4),
                                   predict_s_per_1k_memo=round(again_s * per, 4))
                    row[f"acc_{threshold:g}"], _ = _accuracy(model, val_docs, y_val)
                    if nb:
                        classifier._OOV_NGRAMS = False
                        try:
                            row[f"acc_{threshold:g}_uni"], _ = _accuracy(model, val_docs, y_val)
                        finally:
                            classifier._OOV_NGRAMS = True
                    mapped = model._nearest_ids(val_words, word_ids) != OOV_ID  # of the unknown words, those mapped
                    row[f"mapped_{threshold:g}"] = round(float(mapped[unknown].mean()), 4)
                rows.append(row)
                print_table([row])
    summary = []
    for arch in args.architectures.split(","):
        for n in sizes:
            group = [r for r in rows if r["arch"] == arch and r["n"] == n]
            if not group:
                continue
            entry = {"arch": arch, "n": n, "seeds": len(group), "acc_off": float(np.mean([r["acc_off"] for r in group]))}
            for threshold in thresholds:
                for suffix in ("", "_uni"):
                    key = f"acc_{threshold:g}{suffix}"
                    if key in group[0]:
                        diffs = np.array([r[key] - r["acc_off"] for r in group]) * 100
                        se = diffs.std(ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
                        entry[f"diff_{threshold:g}{suffix}"] = f"{diffs.mean():+.2f}±{se:.2f}"
            for key in ("predict_s_per_1k_off", "predict_s_per_1k_first", "predict_s_per_1k_memo"):
                entry[key] = round(float(np.mean([r[key] for r in group])), 4)
            summary.append(entry)
    print("accuracy differences (nearest - unknown) in points: mean ± standard error over seeds (paired):")
    print_table(summary)
    path = write_results(args.name, rows + [{"summary": s} for s in summary], params=vars(args))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""The main job's fit with flat training rows against the padded rows of before, on a validation split.

``EmbeddingClassifier(architecture="nbsvm" / "nbsvm_vectors", maxlen=None)``
padded every training row to the longest one (the longest review's distinct
1-3-grams) before ``model.fit``; since the thirty-fourth session it keeps the
rows flat and pads each batch to its own longest row (``classifier._FlatRows``).
Both versions fit the main job's recipe (``recipes.MAIN_JOB``: 1-3-grams,
``nbsvm_vectors`` with GloVe 6B-50d, 2 epochs of batch 64) on ``--n-fit``
reviews of a stratified split of the IMDB TRAINING set (seed ``--seed``) and
score the 5,000 held-out training reviews (the test split is never read).

The reviews are tokenized once (SpacyTokenizer, 1-gram; the recipe's
``ngram_range=(1, 3)`` is ``corpus.ngrams((1, 3))``, as the tokenizer makes
it) and each version fits in a fresh process of its own, one after the other,
on the same tokens: the old code is a ``git archive`` of a commit (``--old``,
a folder put first on ``PYTHONPATH``; the process checks which toolkit it
imported), the new code this checkout. Reported per version: fit wall and
CPU seconds (the classifier step only: tokenization is the same for both),
peak resident memory of the process (``ru_maxrss``) and sampled every 50 ms
during the fit, validation accuracy, and the largest absolute difference of
the validation probabilities between the two. The machine's load average
before and after each fit is recorded: the fits share the machine's cores
with other work.

Run::

    mkdir -p /tmp/old && git archive HEAD | tar -x -C /tmp/old
    nice -n 10 python benchmarks/bench_flat_training.py --old /tmp/old --n-fit 20000 --repeats 3

Writes ``benchmarks/results/bench_flat_training.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import Sampler, current_rss_mb, print_table, timer, write_results

NAME = "bench_flat_training"
NGRAMS = (1, 3)


def prepare(args) -> Path:
    """Tokenize the training split once; write the fit / validation tokens as plain arrays (either version reads them)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from toolkit import SpacyTokenizer, load_imdb

    path = Path(args.work_dir) / f"flat-training-tokens-{args.seed}-{args.n_fit}.pkl"
    if path.exists():
        return path
    train = load_imdb("train", data_dir=args.data_dir, shuffle=True, random_state=args.seed)
    labels = np.asarray(train.labels)
    fit_idx, val_idx = train_test_split(np.arange(len(labels)), test_size=args.n_val, stratify=labels,
                                        random_state=args.seed)
    if args.n_fit < len(fit_idx):  # a stratified subset of the fit reviews
        fit_idx, _ = train_test_split(fit_idx, train_size=args.n_fit, stratify=labels[fit_idx],
                                      random_state=args.seed)
    corpus = SpacyTokenizer(batch_size=2000, cache=True).fit_transform(train.texts)
    part = {}
    for name, idx in (("fit", fit_idx), ("val", val_idx)):
        sub = corpus.take(idx)
        part[name] = {"ids": np.asarray(sub.ids), "offsets": np.asarray(sub.offsets), "strings": tuple(sub.strings),
                      "labels": labels[idx]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(part, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path


def worker(args) -> None:
    """Fit the main job's classifier on the prepared tokens in this process; print one JSON line."""
    import numpy as np

    import toolkit
    from toolkit.models import EmbeddingClassifier
    from toolkit.models.recipes import MAIN_JOB
    from toolkit.text import TokenizedCorpus

    where = Path(toolkit.__file__).resolve().parents[1]
    if where != Path(args.expect_root).resolve():
        raise SystemExit(f"imported toolkit from {where}, expected {args.expect_root}")
    with open(args.tokens, "rb") as fh:
        part = pickle.load(fh)
    corpora = {name: TokenizedCorpus(p["ids"], p["offsets"], p["strings"]).ngrams(NGRAMS) for name, p in part.items()}
    params = {k: v for k, v in MAIN_JOB.items() if k != "ngram_range"}  # the tokenizer's: applied above
    clf = EmbeddingClassifier(**params, random_state=args.seed)
    rss_before = current_rss_mb()
    load_before = os.getloadavg()[0]
    with Sampler(current_rss_mb, every=0.05) as sampler, timer() as t:
        clf.fit(corpora["fit"], part["fit"]["labels"])
    load_after = os.getloadavg()[0]
    proba = clf.predict_proba(corpora["val"])[:, 1]
    np.save(args.proba_out, proba)
    accuracy = float(np.mean((proba > 0.5).astype(int) == part["val"]["labels"]))
    print(json.dumps({
        "fit_wall_s": round(t.seconds, 2), "fit_cpu_s": round(t.cpu_seconds, 2),
        "rss_before_fit_mb": round(rss_before, 1), "fit_peak_rss_mb": round(max(sampler.samples), 1),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "val_accuracy": accuracy, "maxlen_": int(clf.maxlen_), "vocabulary": len(clf.vocabulary_),
        "load_1min_before": round(load_before, 2), "load_1min_after": round(load_after, 2),
        "toolkit": str(where),
    }))


def run_side(args, label, root, tokens) -> dict:
    proba_out = Path(args.work_dir) / f"flat-training-proba-{label}.npy"
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--tokens", str(tokens), "--expect-root",
               str(root), "--proba-out", str(proba_out), "--seed", str(args.seed)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(root), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{label} fit failed:\n{proc.stderr[-3000:]}")
    row = {"code": label, **json.loads(proc.stdout.strip().splitlines()[-1])}
    row["proba_file"] = str(proba_out)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="folder of the old code (git archive of a commit)")
    parser.add_argument("--n-fit", type=int, default=20000, help="fit reviews (of the 20,000 left by the split)")
    parser.add_argument("--n-val", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="old/new pairs, one after the other")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    parser.add_argument("--work-dir", default=None, help="token and probability files (default: the cache)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    parser.add_argument("--expect-root", help=argparse.SUPPRESS)
    parser.add_argument("--proba-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if not args.old:
        parser.error("--old is required: the folder of the old code (git archive HEAD | tar -x -C FOLDER)")
    sys.path.insert(1, str(REPO))
    if args.work_dir is None:
        from toolkit._config import get_cache_dir

        args.work_dir = str(get_cache_dir() / "benchmarks")
    import numpy as np

    tokens = prepare(args)
    rows = []
    for repeat in range(args.repeats):  # old, new, old, new...: each pair under about the same load
        pair = [{"repeat": repeat, **run_side(args, "old", Path(args.old).resolve(), tokens)},
                {"repeat": repeat, **run_side(args, "new", REPO, tokens)}]
        old_p, new_p = (np.load(row.pop("proba_file")) for row in pair)
        pair[1]["max_abs_proba_diff_vs_old"] = float(np.max(np.abs(new_p - old_p)))
        pair[1]["changed_predictions_vs_old"] = int(np.sum((new_p > 0.5) != (old_p > 0.5)))
        rows += pair
    print_table(rows, ["repeat", "code", "fit_wall_s", "fit_cpu_s", "fit_peak_rss_mb", "process_peak_rss_mb",
                       "rss_before_fit_mb", "val_accuracy", "maxlen_", "load_1min_before", "load_1min_after",
                       "max_abs_proba_diff_vs_old"])
    params = {k: v for k, v in vars(args).items() if k not in ("worker", "tokens", "expect_root", "proba_out")}
    print(write_results(NAME, rows, params=params))


if __name__ == "__main__":
    main()

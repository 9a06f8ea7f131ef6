"""Choose the default ``C`` of NBSVMClassifier and of PseudoLabelClassifier(NBSVM) on validation data.

No test-set tuning: the 25,000 IMDB *training* reviews (shuffled with the
seed, tokenized by ``toolkit.SpacyTokenizer`` exactly as ``bench_imdb.py``
does) are split 20,000 / 5,000, stratified and seeded. Every candidate ``C``
is fitted on the 20,000 and scored on the 5,000:

- ``nbsvm``: binarized uni+bi+trigram bag -> ``NBSVMClassifier(C=...)``
  (``bench_imdb.py``'s ``nbsvm123``); the uni+bigram bag is scored too, as a
  check that the choice does not hinge on the n-gram range;
- ``pseudo``: 1-3-gram bag (min_count=2, vocabulary from labelled + the 50,000
  unlabelled reviews) -> ``PseudoLabelClassifier(NBSVMClassifier(C=...),
  fraction=0.7)`` with the 50,000 ``unsup`` reviews (``nbsvm123_pseudo``).

The default is the smallest (most regularized, fastest) ``C`` whose validation
accuracy is within one standard error of the best one (the one-standard-error
rule, Hastie, Tibshirani & Friedman, *Elements of Statistical Learning*, 7.10):
on 5,000 reviews at ~91% one standard error is ~0.4 points, about 20 reviews,
so smaller differences are not evidence for a slower model. Then, once per
family, the chosen configuration is refitted on all 25,000 training reviews
and scored on the 25,000 test reviews: the only time the test set is read.

Run::

    python benchmarks/tune_linear.py                  # full run (~10 min CPU; 55 min wall on a loaded 2-core machine)
    python benchmarks/tune_linear.py --limit 2000     # smoke run (2000 reviews per split)

Writes ``benchmarks/results/tune_linear.json`` (every candidate with its
validation accuracy and fit time, the chosen ``C``, the test accuracy of the
chosen configurations, the command and the git commit).
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

from _common import print_table, provenance, timer, write_results  # noqa: E402
from bench_imdb import (  # noqa: E402
    cached_tokens,
    default_work_dir,
    load_data,
    ngram_counts,
    unsup_tokens,
)

NAME = "tune_linear"
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def git_commit() -> str | None:
    """HEAD, with ``+dirty`` when the measured code had uncommitted changes."""
    info = provenance(paths=("toolkit", "benchmarks/tune_linear.py"))
    if info["git_commit"] is None:
        return None
    return info["git_commit"] + ("+dirty" if info["git_changed_files"] else "")


def accuracy(model, X, y) -> float:
    import numpy as np

    return float(np.mean(np.asarray(model.predict(X)) == np.asarray(y)))


def choose(rows, family, n_val):
    """The one-standard-error rule: the smallest C within one SE of the best validation accuracy."""
    import math

    candidates = [r for r in rows if r["family"] == family]
    best = max(candidates, key=lambda r: (r["val_accuracy"], -r["C"]))
    se = math.sqrt(best["val_accuracy"] * (1 - best["val_accuracy"]) / n_val)
    chosen = min((r for r in candidates if r["val_accuracy"] >= best["val_accuracy"] - se), key=lambda r: r["C"])
    return {"chosen_C": chosen["C"], "best_C": best["C"], "best_val_accuracy": best["val_accuracy"],
            "standard_error": round(se, 5), "chosen_val_accuracy": chosen["val_accuracy"]}


def nbsvm_rows(args, X_fit, y_fit, X_val, y_val, ngram_range):
    from toolkit import NBSVMClassifier

    encoder = ngram_counts(ngram_range)
    A_fit = encoder.fit_transform(X_fit)
    A_val = encoder.transform(X_val)
    family = "nbsvm" if tuple(ngram_range) == (1, 3) else f"nbsvm_{ngram_range[0]}{ngram_range[1]}"
    rows = []
    for C in args.grid:
        with timer() as t:
            model = NBSVMClassifier(C=C, random_state=args.seed).fit(A_fit, y_fit)
        rows.append({"family": family, "ngram_range": list(ngram_range), "C": C,
                     "val_accuracy": round(accuracy(model, A_val, y_val), 5),
                     "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1),
                     "n_iter": model.n_iter_})
        print(rows[-1], flush=True)
    return rows


def pseudo_model(C, seed, fraction):
    from sklearn.pipeline import make_pipeline

    from toolkit import NBSVMClassifier, PseudoLabelClassifier

    return make_pipeline(ngram_counts((1, 3), min_count=2),
                         PseudoLabelClassifier(NBSVMClassifier(C=C, random_state=seed), fraction=fraction))


def with_unlabelled(X, y, unsup):
    import numpy as np

    from toolkit import TokenizedCorpus

    return TokenizedCorpus.concatenate([X, unsup]), np.concatenate([y, np.full(len(unsup), -1)])


def pseudo_rows(args, X_fit, y_fit, X_val, y_val, unsup):
    """Each C: fit the bag + PseudoLabelClassifier on 20k labelled + unlabelled, score on 5k."""
    from toolkit import NBSVMClassifier, PseudoLabelClassifier

    X_all, y_all = with_unlabelled(X_fit, y_fit, unsup)
    encoder = ngram_counts((1, 3), min_count=2)
    A_all = encoder.fit_transform(X_all)  # the bag does not see labels: fit once for all C
    A_val = encoder.transform(X_val)
    rows = []
    for C in args.grid:
        with timer() as t:
            model = PseudoLabelClassifier(NBSVMClassifier(C=C, random_state=args.seed),
                                          fraction=args.fraction).fit(A_all, y_all)
        rows.append({"family": "pseudo", "ngram_range": [1, 3], "C": C,
                     "val_accuracy": round(accuracy(model, A_val, y_val), 5),
                     "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1),
                     "n_pseudo_labelled": model.n_pseudo_labelled_})
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    import numpy as np
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (smoke runs)")
    parser.add_argument("--val-size", type=int, default=5000, help="validation reviews taken from train")
    parser.add_argument("--fraction", type=float, default=0.7, help="PseudoLabelClassifier fraction")
    parser.add_argument("--grid", type=float, nargs="+", default=list(C_GRID))
    parser.add_argument("--skip-test", action="store_true", help="do not score the chosen C on the test set")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR",
                                                          str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder (shared with bench_imdb.py)")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    command = "python benchmarks/tune_linear.py " + " ".join(argv if argv is not None else sys.argv[1:])
    commit = git_commit()

    texts_train, y_train, texts_test, y_test = load_data(args)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    with timer() as tok_t:
        X_train = cached_tokens(args, texts_train, "train")
        unsup = unsup_tokens(args)
    val_size = args.val_size if args.limit is None else max(2, args.limit // 5)
    idx_fit, idx_val = train_test_split(np.arange(len(y_train)), test_size=val_size,
                                        stratify=y_train, random_state=args.seed)
    X_fit, X_val = X_train.take(idx_fit), X_train.take(idx_val)
    y_fit, y_val = y_train[idx_fit], y_train[idx_val]
    print(f"tokens ready in {tok_t.seconds:.0f} s; fit {len(idx_fit)}, validation {len(idx_val)}, "
          f"unlabelled {len(unsup)}", flush=True)

    rows = nbsvm_rows(args, X_fit, y_fit, X_val, y_val, (1, 3))
    rows += nbsvm_rows(args, X_fit, y_fit, X_val, y_val, (1, 2))
    rows += pseudo_rows(args, X_fit, y_fit, X_val, y_val, unsup)
    selection = {family: choose(rows, family, len(idx_val)) for family in ("nbsvm", "nbsvm_12", "pseudo")}
    chosen = {family: sel["chosen_C"] for family, sel in selection.items()}
    print_table(rows)
    print(f"chosen on validation: {selection}", flush=True)

    params = {**{k: v for k, v in vars(args).items() if k != "data_dir"}, "command": command,
              "git_commit": commit, "n_fit": int(len(idx_fit)), "n_val": int(len(idx_val)),
              "n_unlabelled": len(unsup), "chosen_C": chosen, "selection": selection,
              "rule": "smallest C within one standard error of the best validation accuracy; "
                      "the test set is scored once, for the chosen C only"}
    final = []
    if not args.skip_test:
        from toolkit import NBSVMClassifier

        X_test = cached_tokens(args, texts_test, "test")
        encoder = ngram_counts((1, 3))
        A_train = encoder.fit_transform(X_train)
        with timer() as t:
            model = NBSVMClassifier(C=chosen["nbsvm"], random_state=args.seed).fit(A_train, y_train)
        final.append({"family": "nbsvm", "C": chosen["nbsvm"], "split": f"train {len(y_train)} -> test {len(y_test)}",
                      "test_accuracy": round(accuracy(model, encoder.transform(X_test), y_test), 5),
                      "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1)})
        print(final[-1], flush=True)
        X_all, y_all = with_unlabelled(X_train, y_train, unsup)
        with timer() as t:
            model = pseudo_model(chosen["pseudo"], args.seed, args.fraction).fit(X_all, y_all)
        final.append({"family": "pseudo", "C": chosen["pseudo"],
                      "split": f"train {len(y_train)} + unsup {len(unsup)} -> test {len(y_test)}",
                      "test_accuracy": round(accuracy(model, X_test, y_test), 5),
                      "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1)})
        print(final[-1], flush=True)
    params["test"] = final
    path = write_results(NAME if args.limit is None else f"{NAME}_limit{args.limit}", rows, params=params)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

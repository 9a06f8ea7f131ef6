"""Would an order-aware member (CNN, LSTM) over domain vectors add to the n-gram model at 20,000 labels?

Validation split of the IMDB training set only (20,000 fit / 5,000 validation,
seed 0, as every tuning script); the test set is never read. Each candidate
member is fitted once on the 20,000 reviews and scores the 5,000 validation
reviews; then every combination of members is blended by a logistic regression
on their logits, its accuracy estimated by 10-fold cross-validation over the
validation reviews (the blend's own fit never sees the reviews it is scored on).
A member whose blend with ``nbsvm++`` does not beat ``nbsvm++`` alone would not
pay as a ``StackedTextClassifier`` member either, and costs ``cv + 1`` fits there.

Members:

- ``nbsvm++``: the stack's n-gram member at 25,000 labels (Keras NBSVM++ on
  1-3-grams, ``NBSVM_RECIPE``);
- ``pooled``: the stack's vector member (domain word2vec, SIF pooling ->
  ``StandardScaler`` -> ``LogisticRegressionCV``);
- ``cnn``: ``EmbeddingClassifier(architecture="cnn")`` (Conv1D 128 x 5, global
  max-pool) initialised from the same domain word2vec and trained with it,
  400 tokens, ``--cnn-epochs`` epochs, early stopping on a 10% split;
- ``lstm``: ``architecture="rnn"`` (a bidirectional LSTM, 32 units per
  direction), 300 tokens, the same vectors (slow on CPU; not in the default run).

Command::

    TOOLKIT_DATA_DIR=../shared/data python benchmarks/tune_sequence_member.py

writes ``benchmarks/results/tune_sequence_member.json``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import print_table, timer, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from bench_learning_curve import DOMAIN_SPEC  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "tune_sequence_member"
MEMBERS = ("nbsvm++", "pooled", "cnn", "lstm")


def fit_member(name, X_fit, y_fit, X_val, *, seed, cnn_epochs):
    """Fit one member on the fit reviews; P(positive) of the validation reviews."""
    from toolkit.models import EmbeddingClassifier
    from toolkit.models.recipes import NBSVM_RECIPE

    if name == "nbsvm++":
        model = EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=seed)
        model.fit(X_fit.ngrams((1, 3)), y_fit)
        return model.predict_proba(X_val.ngrams((1, 3)))[:, 1], {}
    if name == "pooled":  # exactly the stack's vector member
        from toolkit.models import StackedTextClassifier

        model = dict(StackedTextClassifier(vectors=DOMAIN_SPEC, pooling="sif")._members(seed))["vectors"]
        model.fit(X_fit, y_fit)
        return model.predict_proba(X_val)[:, 1], {}
    common = dict(vectors=DOMAIN_SPEC, trainable="trainable", max_tokens=50_000, batch_size=64,
                  validation_split=0.1, patience=1, random_state=seed)
    if name == "cnn":
        model = EmbeddingClassifier(architecture="cnn", maxlen=400, dropout=0.3, epochs=cnn_epochs, **common)
    elif name == "lstm":
        model = EmbeddingClassifier(architecture="rnn", maxlen=300, epochs=cnn_epochs, **common)
    else:
        raise ValueError(f"unknown member {name!r}; choose among {MEMBERS}")
    model.fit(X_fit, y_fit)
    info = {"epochs_run": len(model.history_["loss"]), "best_epoch": int(model.best_epoch_),
            "val_accuracy_per_epoch": [round(a, 4) for a in model.history_.get("val_accuracy", [])]}
    return model.predict_proba(X_val)[:, 1], info


def blend_accuracy(scores, names, y, seed):
    """10-fold CV accuracy (mean, std over folds) of a logistic regression on the members' logits."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    def logit(p):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    F = np.column_stack([logit(scores[n]) for n in names])
    folds = StratifiedKFold(10, shuffle=True, random_state=seed)
    acc = cross_val_score(LogisticRegression(), F, y, cv=folds)
    return float(acc.mean()), float(acc.std())


def main(argv=None):
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--members", default="nbsvm++,pooled,cnn", help=f"comma-separated subset of {MEMBERS}")
    parser.add_argument("--cnn-epochs", type=int, default=3)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=None, help="training reviews (smoke runs)")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    members = args.members.split(",")

    X_fit, y_fit, X_val, y_val = validation_split(args)
    scores, rows = {}, []
    for name in members:
        with timer() as t:
            scores[name], info = fit_member(name, X_fit, y_fit, X_val, seed=args.seed, cnn_epochs=args.cnn_epochs)
        acc = float(np.mean((scores[name] > 0.5) == y_val))
        print(f"{name}: validation accuracy {acc:.4f} ({t.seconds:.0f} s wall, {t.cpu_seconds:.0f} s CPU) {info}",
              flush=True)
        rows.append({"kind": "member", "members": name, "accuracy": round(acc, 4), "fit_s": round(t.seconds, 1),
                     "fit_cpu_s": round(t.cpu_seconds, 1), **info})
    base = None
    for r in range(1, len(members) + 1):
        for combo in itertools.combinations(members, r):
            mean, std = blend_accuracy(scores, combo, y_val, args.seed)
            if combo == ("nbsvm++",):
                base = mean
            rows.append({"kind": "blend", "members": " + ".join(combo), "accuracy": round(mean, 4),
                         "fold_std": round(std, 4),
                         "gain_over_nbsvm++": None if base is None else round(mean - base, 4)})
    print_table(rows, ["kind", "members", "accuracy", "fold_std", "gain_over_nbsvm++", "fit_cpu_s"])
    path = write_results(args.name, rows, params={k: v for k, v in vars(args).items() if k != "work_dir"})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

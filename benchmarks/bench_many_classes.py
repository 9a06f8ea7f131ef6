"""The main job's model on many classes: complement against one-vs-rest naive-Bayes ratios, on validation splits.

Validation only (IMDB's test reviews are not read). Three tasks built from the
IMDB *training* reviews:

- ``movies50`` / ``movies200``: "which movie is this review about?", the
  reviews (30 each) of the 50 / 200 most-reviewed training movies
  (``load_imdb("train").groups``);
- ``stars``: 3,000 training reviews drawn at seed 0, labelled by their star
  rating (8 classes: 1-4 and 7-10);
- ``imbalanced95`` / ``imbalanced80`` (two classes, for the NBSVM smoothing
  options): 2,000 training reviews drawn at seed 0, 5% / 20% of them positive.
  Their rows add the balanced accuracy and the ROC AUC of the validation
  scores (``decision_function``; probabilities for ComplementNB and TF-IDF + LR).

Each task is split 80/20 (stratified, seed 0) as ``toolkit train --data``
splits off its test part; that 20% is left alone here. The 80% is split again
80/20 (stratified, seed 0): the methods fit on the first part and are scored
on the second (the validation accuracy). Methods, on the same SpacyTokenizer
1-3-gram tokens (the main job's tokenizer):

- ``main``: :data:`toolkit.models.recipes.MAIN_JOB` as the library fits it
  (for more than two classes, complement naive-Bayes ratios);
- ``main_ovr``: the same with the one-vs-rest ratios it took before (one
  ``log_count_ratio`` column per class against the rest), and, with
  ``--hypotheses``, that model with ``min_count=2``, ``epochs=5`` or
  ``architecture="nbsvm"`` (the first hypotheses tested);
- ``nbsvm`` / ``nbsvm_ovr``: the main job without its word-vector branch;
- ``NBSVMClassifier`` (binarized 1-3-gram counts) with its default
  ``alpha_scaling="auto"`` (``"class_size"`` for more than two classes, None
  for two), with ``alpha_scaling=None`` (the default before the thirty-sixth
  session) and ``"class_size"``, and ``NBSVMClassifier_complement``: its
  one-vs-rest linear models on complement naive-Bayes ratios (the
  ``EmbeddingClassifier`` NB architectures' ratios for more than two classes,
  ``classifier._complement_ratios``) instead of one-vs-rest ones;
  scikit-learn's ``ComplementNB(alpha=1)`` on the same counts, and
  ``tfidf_lr``, toolkit train's TF-IDF + logistic regression baseline (its C
  chosen inside the fitting part).

The Keras models are fitted at each seed of ``--seeds`` (the model's
``random_state``; the split stays the same); the table gives the mean
validation accuracy and each seed's. Run::

    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_many_classes.py

(``--tasks movies50 stars`` for a shorter run; ``--nbsvm-only`` leaves out
the Keras models: ``--nbsvm-only --tasks movies50 movies200 stars imbalanced95
imbalanced80`` is the thirty-sixth session's comparison of the NBSVM options). Writes
``benchmarks/results/bench_many_classes.json`` (``--name`` to change).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _common import print_table, timer, write_results

NAME = "bench_many_classes"
TASKS = ("movies50", "stars", "movies200", "imbalanced95", "imbalanced80")


def load_task(name):
    """(texts, labels) of one task, from the IMDB training reviews."""
    from toolkit.data import load_imdb

    data = load_imdb("train")
    if name.startswith("movies"):
        k = int(name[len("movies"):])
        top = {m for m, _ in collections.Counter(data.groups.tolist()).most_common(k)}
        idx = [i for i, m in enumerate(data.groups) if m in top]
        labels = np.asarray(data.groups, dtype=object)[idx]
    elif name == "stars":
        idx = np.random.RandomState(0).choice(len(data.texts), 3000, replace=False)
        labels = np.asarray([f"{int(r)} stars" for r in np.asarray(data.ratings)[idx]], dtype=object)
    elif name.startswith("imbalanced"):
        positive = (100 - int(name[len("imbalanced"):])) / 100
        rng, y = np.random.RandomState(0), np.asarray(data.labels)
        n_pos = round(2000 * positive)
        idx = np.concatenate([rng.choice(np.flatnonzero(y == 1), n_pos, replace=False),
                              rng.choice(np.flatnonzero(y == 0), 2000 - n_pos, replace=False)])
        labels = np.asarray(data.target_names, dtype=object)[y[idx]]
    else:
        raise ValueError(f"unknown task {name!r}; choose among {TASKS}")
    return [data.texts[i] for i in idx], labels


def validation_split(labels):
    """(fit rows, validation rows): 80/20 of the 80% that ``toolkit train`` would train on, both stratified."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    train, _ = train_test_split(rows, test_size=0.2, stratify=labels, random_state=0)
    return train_test_split(train, test_size=0.2, stratify=labels[train], random_state=0)


def one_vs_rest_classifier():
    """EmbeddingClassifier with the one-vs-rest ratios the NB architectures took for every target before."""
    from toolkit.models import EmbeddingClassifier, classifier

    class OneVsRestRatios(EmbeddingClassifier):
        def _nb_ratios(self, sequences, y_enc, sample_weight=None):
            complement = classifier._complement_ratios
            classifier._complement_ratios = classifier._one_vs_rest_ratios  # for this call only
            try:
                return super()._nb_ratios(sequences, y_enc, sample_weight)
            finally:
                classifier._complement_ratios = complement

    return OneVsRestRatios


def keras_methods(hypotheses):
    """name -> (estimator class, parameters over MAIN_JOB)."""
    from toolkit.models import EmbeddingClassifier

    ovr = one_vs_rest_classifier()
    methods = {
        "main": (EmbeddingClassifier, {}),
        "main_ovr": (ovr, {}),
        "nbsvm": (EmbeddingClassifier, {"architecture": "nbsvm", "vectors": None}),
        "nbsvm_ovr": (ovr, {"architecture": "nbsvm", "vectors": None}),
    }
    if hypotheses:
        methods.update({
            "main_ovr_min_count2": (ovr, {"min_count": 2}),
            "main_ovr_epochs5": (ovr, {"epochs": 5}),
            "main_min_count2": (EmbeddingClassifier, {"min_count": 2}),
        })
    return methods


class ComplementNBSVM:
    """NBSVMClassifier's one-vs-rest linear models on complement naive-Bayes ratios (``_complement_ratios``)."""

    def __init__(self, **params):
        from toolkit.models import NBSVMClassifier

        self.nbsvm = NBSVMClassifier(**params)

    def fit(self, X, y):
        import scipy.sparse as sp

        from toolkit.models import classifier

        self.classes_ = np.unique(y)
        if self.classes_.size == 2:  # column 1 minus column 0 is the one-vs-rest ratio: NBSVMClassifier itself
            self.nbsvm.fit(X, y)
            return self
        targets = np.asarray(y)[:, None] == self.classes_[None, :]
        # the NB layers' ids start at 1 (0 pads, its row zeroed): a column of zeros in front, as they count
        padded = sp.hstack([sp.csr_matrix((X.shape[0], 1)), X]).tocsr()
        ratios = classifier._complement_ratios(padded, targets, alpha=self.nbsvm.alpha)[1:].T.astype(np.float64)
        beta, coefs, intercepts = self.nbsvm.beta, [], []
        for k, c in enumerate(self.classes_):
            r = ratios[k]
            scaled = sp.csr_matrix((X.data * r[X.indices], X.indices, X.indptr), shape=X.shape)
            scaled.sort_indices()
            model = self.nbsvm._linear_model().fit(scaled, targets[:, k].astype(int))
            w = model.coef_.ravel()
            coefs.append(((1.0 - beta) * np.abs(w).mean() + beta * w) * r)
            intercepts.append(beta * float(model.intercept_[0]))
        self.coef_, self.intercept_ = np.vstack(coefs), np.asarray(intercepts)
        return self

    def decision_function(self, X):
        if self.classes_.size == 2:
            return self.nbsvm.decision_function(X)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict(self, X):
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)]


def binary_metrics(y_val, predicted, scores, positive):
    """Balanced accuracy and ROC AUC (percent) of a two-class task's validation predictions and scores."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    return {"bal_acc": round(100 * balanced_accuracy_score(y_val, predicted), 2),
            "auc": round(100 * roc_auc_score(y_val == positive, scores), 2)}


def run_task(name, seeds, hypotheses, nbsvm_only=False):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import ComplementNB

    from toolkit.cli.train import tfidf_baseline
    from toolkit.models import NBSVMClassifier, recipes
    from toolkit.text import SpacyTokenizer

    texts, labels = load_task(name)
    fit, val = validation_split(labels)
    tokens = [list(doc) for doc in SpacyTokenizer(ngram_range=(1, 3)).fit_transform(texts)]
    x_fit, x_val = [tokens[i] for i in fit], [tokens[i] for i in val]
    y_fit, y_val = labels[fit], labels[val]
    common = {"task": name, "classes": len(set(labels)), "fit_docs": len(fit), "val_docs": len(val)}
    rows = []
    base = {k: v for k, v in recipes.MAIN_JOB.items() if k != "ngram_range"}
    for method, (cls, extra) in ({} if nbsvm_only else keras_methods(hypotheses)).items():
        accs = []
        with timer() as t:
            for seed in seeds:
                clf = cls(**{**base, **extra, "random_state": seed}).fit(x_fit, y_fit)
                accs.append(float((clf.predict(x_val) == y_val).mean()))
        rows.append({**common, "method": method, "val_acc": round(100 * float(np.mean(accs)), 2),
                     "per_seed": [round(100 * a, 2) for a in accs], "cpu_s": round(t.cpu_seconds, 1)})
        print(rows[-1], flush=True)
    counts = CountVectorizer(analyzer=lambda doc: doc, binary=True)
    b_fit, b_val = counts.fit_transform(x_fit), counts.transform(x_val)
    binary, positive = common["classes"] == 2, np.unique(labels)[-1]
    for method, est in [("NBSVMClassifier", NBSVMClassifier(random_state=0)),
                        ("NBSVMClassifier_None", NBSVMClassifier(alpha_scaling=None, random_state=0)),
                        ("NBSVMClassifier_class_size", NBSVMClassifier(alpha_scaling="class_size", random_state=0)),
                        ("NBSVMClassifier_complement", ComplementNBSVM(random_state=0)),
                        ("ComplementNB", ComplementNB(alpha=1.0))]:
        with timer() as t:
            predicted = est.fit(b_fit, y_fit).predict(b_val)
        rows.append({**common, "method": method, "val_acc": round(100 * float((predicted == y_val).mean()), 2),
                     "per_seed": None, "cpu_s": round(t.cpu_seconds, 1)})
        if binary:
            scores = (est.decision_function(b_val) if hasattr(est, "decision_function")
                      else est.predict_log_proba(b_val)[:, 1])
            rows[-1].update(binary_metrics(y_val, predicted, scores, positive))
        print(rows[-1], flush=True)
    with timer() as t:
        metrics = tfidf_baseline([texts[i] for i in fit], y_fit, [texts[i] for i in val], y_val)
    rows.append({**common, "method": f"tfidf_lr (C={metrics['C']})", "val_acc": round(100 * metrics["accuracy"], 2),
                 "per_seed": None, "cpu_s": round(t.cpu_seconds, 1)})
    if binary:  # (its positive class is the larger label too)
        rows[-1].update(bal_acc=round(100 * metrics["balanced_accuracy"], 2), auc=round(100 * metrics["roc_auc"], 2))
    print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--hypotheses", action="store_true",
                        help="also fit the one-vs-rest model with min_count=2 or epochs=5, and main with min_count=2")
    parser.add_argument("--nbsvm-only", action="store_true",
                        help="leave out the Keras models: NBSVMClassifier's options, ComplementNB and TF-IDF + LR")
    parser.add_argument("--name", default=NAME)
    args = parser.parse_args(argv)
    rows = []
    for task in args.tasks:
        rows += run_task(task, args.seeds, args.hypotheses, args.nbsvm_only)
    print_table(rows, ["task", "classes", "fit_docs", "val_docs", "method", "val_acc", "bal_acc", "auc", "per_seed",
                       "cpu_s"])
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

"""IMDB learning curve: test accuracy with 200, 1,000, 5,000 and 25,000 labelled reviews.

Each size below 25,000 is drawn ``--draws`` times (balanced, seeded); 25,000 is
the whole training set once. Every model is scored on the full 25,000-review
test set; no test text enters any fit (vocabulary, naive-Bayes ratios, word2vec).
Rows, all fitted on the same draws in the same run:

- ``tfidf_lr``: the peer, ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)``
  + ``LogisticRegressionCV`` (C chosen by 5-fold cross-validation on the
  labelled reviews), raw text;
- ``nbsvm``: ``NBSVMClassifier`` on binary 1-3-gram counts (C by the same CV);
- ``toolkit_novec``: ``EmbeddingClassifier(architecture="nbsvm")`` on 1-3-grams,
  the best toolkit model without vectors, and the ablation of the next two rows;
- ``toolkit_glove``: ``EmbeddingClassifier(architecture="nbsvm_vectors",
  vectors="glove.6B.50d")``, the same model plus the GloVe branch;
- ``toolkit_domain``: the same with domain vectors trained inside ``fit``
  (``vectors="word2vec:unsup:train=0"``: word2vec on the 50,000 unlabelled
  reviews, one model shared by every draw; trained once, then read from the cache);
- ``stack_glove`` / ``stack_domain``: ``StackedTextClassifier`` (NBSVM on
  1-3-grams + a logistic regression on pooled GloVe / domain word2vec vectors,
  logistic-regression meta-learner on out-of-fold scores) on the word tokens;
  ``stack_novec`` is its ablation (``vectors=None``: the same stack without the
  vector member). Pooling and the NBSVM member's C come from
  ``results/tune_stacking.json`` (``tune_stacking.py``, validation data only);
- ``stack_wide``: the stack with wider, longer-trained domain vectors
  (``DOMAIN_WIDE``: 300 dimensions, 10 epochs; chosen over ``DOMAIN_SPEC`` by
  ``tune_stacking.py --groups domain`` on validation data); ``stackpp_*``: the
  stacks with the Keras NBSVM++ n-gram member (``ngram_model="nbsvm++"``);
- ``*_self``: the same stacks inside ``PseudoLabelClassifier``, pseudo-labelling
  the chosen fraction of ``--n-unlabelled`` of IMDB's unlabelled ``unsup``
  reviews (never test text).

The Keras rows use :func:`keras_recipe`: ``NBSVM_RECIPE`` and ``HYBRID_BRANCH``
from :mod:`toolkit.models.recipes`, with the epochs chosen for 1,000 labels
below 5,000 labels (all chosen on validation data by ``benchmarks/tune_models.py``).

Run::

    python benchmarks/bench_learning_curve.py --draws 5
    python benchmarks/bench_learning_curve.py --sizes 200,1000 --draws 2 --methods tfidf_lr,toolkit_glove
    # split by size over processes, then merge:
    python benchmarks/bench_learning_curve.py --sizes 200,1000 --name lc_small &
    python benchmarks/bench_learning_curve.py --sizes 5000,25000 --name lc_large
    python benchmarks/bench_learning_curve.py --combine lc_small,lc_large
    # the learning curve as it stands (fifteenth session): see BENCHMARKS.md for the full command
    python benchmarks/bench_learning_curve.py --combine lc_clusters,lc_25k_knn:tfidf_lr,... --pool-seeds \
        --labels "stack_novec=best without vectors;stackpp2_novec=best without vectors" --name bench_learning_curve_current

Writes ``benchmarks/results/bench_learning_curve.json`` and ``bench_learning_curve.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import RESULTS_DIR, peak_rss_mb, print_table, provenance, timer, write_results  # noqa: E402,F401
from bench_imdb import cached_tokens, default_work_dir, load_data  # noqa: E402

NAME = "bench_learning_curve"
PEER = "tfidf_lr"
CS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
CS_LARGE = [1.0, 3.0, 10.0, 30.0]
NGRAMS = (1, 3)
DOMAIN_SPEC = "word2vec:unsup:train=0"
RATINGS_ALPHA = 0.03  # the "ratings" member's ridge penalty, chosen on the movie split (tune_stack_folds.py)
DOMAIN_WIDE = DOMAIN_SPEC + ",dim=300,epochs=10"  # wider, longer-trained domain vectors (tune_stacking.py --groups domain)
GLOVE = "glove.6B.50d"


def draws(labels, *, n_labels, n_draws, seed):
    """``n_draws`` balanced, seeded index sets of ``n_labels`` training reviews (all of them once if n = all)."""
    import numpy as np

    if n_labels >= len(labels):
        yield np.arange(len(labels))
        return
    classes = np.unique(labels)
    for k in range(n_draws):
        rng = np.random.RandomState(seed * 1000 + n_labels + k)
        yield np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), n_labels // len(classes),
                                                 replace=False) for c in classes]))


def keras_recipe(n_labels, *, seed=0, small_epochs=1, **overrides):
    """EmbeddingClassifier parameters of the NBSVM++ family for ``n_labels`` training reviews.

    ``toolkit.models.recipes.NBSVM_RECIPE`` (chosen on 20,000 reviews) from 5,000
    labels up; below, ``small_epochs`` (chosen with 1,000 labels by
    ``tune_models.py --groups small``: NBSVM++ overfits small sets within a few epochs).
    """
    from toolkit.models.recipes import NBSVM_RECIPE

    params = dict(NBSVM_RECIPE)
    if n_labels < 5000:
        params["epochs"] = small_epochs
    params.update(random_state=seed, **overrides)
    return params


def small_epochs_from_tuning(default=1):
    """The epochs chosen by ``tune_models.py`` for 1,000 labels, if its results JSON has them."""
    import json

    path = RESULTS_DIR / "tune_models.json"
    try:
        with open(path, encoding="utf-8") as fh:
            return int(json.load(fh)["params"]["chosen"]["small"]["epochs"])
    except (OSError, KeyError, ValueError, TypeError):
        return default


def stacking_choices(name="tune_stacking"):
    """StackedTextClassifier settings chosen on validation data by ``tune_stacking.py`` (``results/<name>.json``).

    Returns ``{"pooling": {vectors: pooling}, "C": float, "fraction": float or None, "self_sizes": [...]}``;
    the module defaults (SIF pooling, C=0.01, no self-training) where the file lacks a choice.
    """
    import json

    out = {"pooling": {GLOVE: "sif", DOMAIN_SPEC: "sif"}, "C": 0.01, "fraction": None, "self_sizes": []}
    try:
        with open(RESULTS_DIR / f"{name}.json", encoding="utf-8") as fh:
            chosen = json.load(fh)["params"]["chosen"]
    except (OSError, KeyError, ValueError, TypeError):
        return out
    out["pooling"].update(chosen.get("pooling", {}))
    out["C"] = chosen.get("c", {}).get("C", out["C"])
    if "self" in chosen:
        out["fraction"], out["self_sizes"] = chosen["self"]["fraction"], chosen["self"]["sizes"]
        out["n_unlabelled"] = chosen["self"].get("n_unlabelled")
        out["n_rounds"] = chosen["self"].get("n_rounds", 1)
    return out


def clusters_choice(name="tune_stacking_clusters"):
    """(n_clusters, pooling) chosen on validation by ``tune_stacking.py --groups clusters`` (``results/<name>.json``)."""
    import json

    with open(RESULTS_DIR / f"{name}.json", encoding="utf-8") as fh:
        chosen = json.load(fh)["params"]["chosen"]["clusters"]
    return chosen["clusters"], chosen["pooling"]


def stack_model(*, vectors, pooling="sif", C=0.01, ngram_model="nbsvm", random_state=0, self_training=None,
                n_rounds=1, doc_vectors=None, clusters=None, neighbors=None, neighbors_dims=None, n_jobs=None,
                tail_tokens=None, mark_negation=False, ratings_alpha=None):
    """``StackedTextClassifier`` (token lists in), wrapped in ``PseudoLabelClassifier`` (``n_rounds``) when
    ``self_training`` is a fraction (the unlabelled reviews then come in ``X`` with the label -1)."""
    from toolkit import PseudoLabelClassifier, StackedTextClassifier

    model = StackedTextClassifier(vectors=vectors, doc_vectors=doc_vectors, pooling=pooling, C=C,
                                  ngram_model=ngram_model, clusters=clusters, neighbors=neighbors,
                                  neighbors_dims=neighbors_dims, tail_tokens=tail_tokens,
                                  mark_negation=mark_negation, ratings_alpha=ratings_alpha, n_jobs=n_jobs,
                                  random_state=random_state)
    return model if self_training is None else PseudoLabelClassifier(model, fraction=self_training, n_rounds=n_rounds)


def unlabelled_tokens(data_dir, n, seed):
    """Tokens of ``n`` of IMDB's 50,000 unlabelled ``unsup`` reviews (a seeded subset; never test text).

    Tokenized with ``SpacyTokenizer(cache=True)``: the same tokens (and disk cache) as the
    ``"word2vec:unsup"`` domain vectors.
    """
    import numpy as np

    from toolkit import SpacyTokenizer, load_imdb

    corpus = SpacyTokenizer(cache=True).fit_transform(load_imdb("unsup", data_dir=data_dir).texts)
    if n >= len(corpus):
        return corpus
    return corpus.take(np.sort(np.random.RandomState(seed).choice(len(corpus), n, replace=False)))


class Data:
    """Texts, tokens and n-gram corpora of both splits, built once per run."""

    def __init__(self, args):
        self.args = args
        self.X_train, self.y_train, self.X_test, self.y_test, self.ratings_train = load_data(args, with_ratings=True)
        self._cache = {}

    def get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def tokens(self, split):
        texts = self.X_train if split == "train" else self.X_test
        return self.get(("tokens", split), lambda: cached_tokens(self.args, texts, split))

    def ngrams(self, split):
        return self.get(("ngrams", split), lambda: self.tokens(split).ngrams(NGRAMS))


# ----------------------------------------------------------------------------- methods
def m_tfidf_lr(data, idx, seed):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline

    # C by cross-validation on the labelled reviews; from 5,000 labels a 3-fold CV
    # over the upper half of the grid (the small grid at 25k costs minutes of CPU)
    large = len(idx) >= 5000
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          LogisticRegressionCV(Cs=CS_LARGE if large else CS, cv=3 if large else 5,
                                               max_iter=3000))
    model.fit([data.X_train[i] for i in idx], data.y_train[idx])
    return model.predict(data.X_test), {"C": float(model[-1].C_[0])}


def m_nbsvm(data, idx, seed):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from toolkit import NBSVMClassifier
    from toolkit.text.encoders import BagEncoder

    # from 5,000 labels C in {0.01, 0.1} (3-fold): C=1 costs most of the CPU at 25k and scored within
    # 0.02 points of 0.01 on the validation split (tune_linear.json)
    large = len(idx) >= 5000
    model = GridSearchCV(make_pipeline(BagEncoder(output_mode="multi_hot"), NBSVMClassifier(random_state=seed)),
                         {"nbsvmclassifier__C": [0.01, 0.1] if large else [0.01, 0.1, 1.0]}, cv=3 if large else 5)
    model.fit(data.ngrams("train").take(idx), data.y_train[idx])
    return model.predict(data.ngrams("test")), {"C": model.best_params_["nbsvmclassifier__C"]}


def _keras(architecture, vectors=None):
    def method(data, idx, seed):
        from toolkit import EmbeddingClassifier
        from toolkit.models.recipes import HYBRID_BRANCH

        params = keras_recipe(len(idx), seed=seed, small_epochs=data.args.small_epochs, architecture=architecture)
        if vectors is not None:
            params.update(vectors=vectors, **HYBRID_BRANCH)
        model = EmbeddingClassifier(**params).fit(data.ngrams("train").take(idx), data.y_train[idx])
        return model.predict(data.ngrams("test")), {"epochs": params["epochs"]}
    return method


def _stack(vectors, *, self_training=False, ngram_model="nbsvm", doc_vectors=None, clusters=None, pooling="chosen",
           neighbors=None, neighbors_dims=None, tail_tokens=None, mark_negation=False, ratings_alpha=None):
    """A stack method; ``pooling="chosen"``: the tuning file's pooling of these vectors (default SIF);
    ``ratings_alpha``: a "ratings" member, fitted to the drawn reviews' stars."""
    def method(data, idx, seed):
        import numpy as np

        from toolkit import TokenizedCorpus

        choice = stacking_choices(data.args.tuning)
        fraction = choice["fraction"] if self_training else None
        if self_training and fraction is None:
            raise RuntimeError("no self-training fraction chosen: run benchmarks/tune_stacking.py --groups self first")
        if clusters == "chosen":  # both from the clusters group's validation choice
            n_clusters, pool = clusters_choice()
        else:
            n_clusters, pool = clusters, choice["pooling"].get(vectors, "sif") if pooling == "chosen" else pooling
        model = stack_model(vectors=vectors, C=choice["C"], clusters=n_clusters, pooling=pool,
                            ngram_model=ngram_model, doc_vectors=doc_vectors, random_state=seed,
                            self_training=fraction, neighbors=neighbors, neighbors_dims=neighbors_dims, tail_tokens=tail_tokens,
                            mark_negation=mark_negation, ratings_alpha=ratings_alpha,
                            n_rounds=choice.get("n_rounds", 1), n_jobs=data.args.n_jobs)
        X, y = data.tokens("train").take(idx), data.y_train[idx]
        if fraction is not None:
            n_unl = data.args.n_unlabelled or choice.get("n_unlabelled") or 10000  # default: as tuned
            unl = data.get(("unlabelled", n_unl), lambda: unlabelled_tokens(data.args.data_dir, n_unl, data.args.seed))
            X, y = TokenizedCorpus.concatenate([X, unl]), np.concatenate([y, np.full(len(unl), -1)])
        fit_params = {} if ratings_alpha is None else {"ratings": data.ratings_train[idx]}
        with timer() as t:
            model.fit(X, y, **fit_params)
        stack = model.estimator_ if fraction is not None else model
        info = {"member_weights": {m: round(w, 3) for m, w in stack.member_weights_.items()},
                "clusters": n_clusters, "pooling": pool, "n_jobs": data.args.n_jobs,
                "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1)}
        if fraction is not None:
            info.update(fraction=fraction, n_rounds=model.n_rounds, n_pseudo_labelled=model.n_pseudo_labelled_)
        return model.predict(data.tokens("test")), info
    return method


METHODS = {
    "tfidf_lr": ("peer: TfidfVectorizer(1,2, sublinear_tf) + LogisticRegressionCV (C by 5-fold CV)", m_tfidf_lr),
    "nbsvm": ("NBSVMClassifier on binary 1-3-gram counts (C by CV: 5-fold over 0.01-1, from 5,000 labels "
              "3-fold over 0.01-0.1)", m_nbsvm),
    "toolkit_novec": ("EmbeddingClassifier(architecture='nbsvm') on 1-3-grams (no vectors: the ablation)",
                      _keras("nbsvm")),
    "toolkit_glove": ("EmbeddingClassifier(architecture='nbsvm_vectors', vectors='glove.6B.50d')",
                      _keras("nbsvm_vectors", "glove.6B.50d")),
    "toolkit_domain": (f"EmbeddingClassifier(architecture='nbsvm_vectors', vectors={DOMAIN_SPEC!r})",
                       _keras("nbsvm_vectors", DOMAIN_SPEC)),
    "stack_novec": ("StackedTextClassifier(vectors=None): the stack's ablation (NBSVM 1-3-gram member only)",
                    _stack(None)),
    "stack_glove": ("StackedTextClassifier(vectors='glove.6B.50d'): NBSVM 1-3-grams + pooled GloVe LR, LR meta-learner",
                    _stack(GLOVE)),
    "stack_domain": (f"StackedTextClassifier(vectors={DOMAIN_SPEC!r}): NBSVM 1-3-grams + pooled domain word2vec LR",
                     _stack(DOMAIN_SPEC)),
    "stack_wide": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}): NBSVM 1-3-grams + pooled 300-d domain word2vec LR",
                   _stack(DOMAIN_WIDE)),
    "stack_clusters": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, clusters=k, pooling=p): NBSVM 1-3-grams + "
                       "NBSVM on 1-3-grams of k-means clusters of the vectors (+ pooled vectors if p); k and p as "
                       "chosen by tune_stacking.py --groups clusters", _stack(DOMAIN_WIDE, clusters="chosen")),
    "stack_clusters_self": ("PseudoLabelClassifier(stack_clusters) over --n-unlabelled unsup reviews (the fraction "
                            "chosen for the pooled-vector stack)", _stack(DOMAIN_WIDE, clusters="chosen",
                                                                          self_training=True)),
    "stack_novec_self": ("PseudoLabelClassifier(StackedTextClassifier(vectors=None)) over --n-unlabelled unsup reviews",
                         _stack(None, self_training=True)),
    "stack_domain_self": (f"PseudoLabelClassifier(StackedTextClassifier(vectors={DOMAIN_SPEC!r})) over --n-unlabelled "
                          "unsup reviews", _stack(DOMAIN_SPEC, self_training=True)),
    "stack_wide_self": (f"PseudoLabelClassifier(StackedTextClassifier(vectors={DOMAIN_WIDE!r})) over --n-unlabelled "
                        "unsup reviews", _stack(DOMAIN_WIDE, self_training=True)),
    "stack_glove_self": ("PseudoLabelClassifier(StackedTextClassifier(vectors='glove.6B.50d')) over --n-unlabelled "
                         "unsup reviews", _stack(GLOVE, self_training=True)),
    "stackpp_novec": ("StackedTextClassifier(vectors=None, ngram_model='nbsvm++'): Keras NBSVM++ member only (ablation)",
                      _stack(None, ngram_model="nbsvm++")),
    "stackpp_glove": ("StackedTextClassifier(vectors='glove.6B.50d', ngram_model='nbsvm++')",
                      _stack(GLOVE, ngram_model="nbsvm++")),
    "stackpp_domain": (f"StackedTextClassifier(vectors={DOMAIN_SPEC!r}, ngram_model='nbsvm++')",
                       _stack(DOMAIN_SPEC, ngram_model="nbsvm++")),
    "stackpp_wide": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model='nbsvm++')",
                     _stack(DOMAIN_WIDE, ngram_model="nbsvm++")),
    "stackpp2_novec": ("StackedTextClassifier(vectors=None, ngram_model=('nbsvm++', 'nbsvm')): NBSVM++ and NBSVM "
                       "1-3-gram members only (ablation)", _stack(None, ngram_model=("nbsvm++", "nbsvm"))),
    "stackpp2_wide": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', 'nbsvm')): NBSVM++ "
                      "and NBSVM 1-3-gram members + pooled 300-d domain word2vec (tune_stack_folds.py's choice)",
                      _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"))),
    "stackpp2_knn": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', 'nbsvm'), "
                     "pooling=None, neighbors=1000): NBSVM++ and NBSVM 1-3-gram members + the vote of the 1,000 "
                     "nearest training reviews by the cosine of their SIF-pooled vectors (STACK_MANY_JOB, "
                     "tune_stack_folds.py's choice)",
                     _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"), neighbors=1000, pooling=None)),
    "stackpp2_wide_knn": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', 'nbsvm'), "
                          "pooling='sif', neighbors=300): NBSVM++ and NBSVM 1-3-gram members + SIF-pooled 300-d "
                          "domain word2vec + the vote of the 300 nearest training reviews by those vectors "
                          "(STACK_MANY_JOB; tune_stack_folds.py --split movie's choice)",
                          _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"), neighbors=300, pooling="sif")),
    "stackpp2_wide_knn50": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', 'nbsvm'), "
                            "pooling='sif', neighbors=300, neighbors_dims=50): stackpp2_wide_knn with the vote "
                            "searched in 50 principal components (STACK_MANY_JOB since the fifteenth session; "
                            "tune_stack_folds.py --split movie)",
                            _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"), neighbors=300, pooling="sif",
                                   neighbors_dims=50)),
    "stackpp2_wide_knn50_tail20": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', "
                                   "'nbsvm'), pooling='sif', neighbors=300, neighbors_dims=50, tail_tokens=20): "
                                   "stackpp2_wide_knn50 + NBSVM on the 1-3-grams of each review's last 20 tokens "
                                   "(STACK_MANY_JOB since the seventeenth session; tune_stack_folds.py --split movie)",
                                   _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"), neighbors=300, pooling="sif",
                                          neighbors_dims=50, tail_tokens=20)),
    "stackpp2_wide_knn50_tail20_neg": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', "
                                       "'nbsvm'), pooling='sif', neighbors=300, neighbors_dims=50, tail_tokens=20, "
                                       "mark_negation=True): stackpp2_wide_knn50_tail20 with its n-gram members on "
                                       "negation-marked tokens (STACK_MANY_JOB since the seventeenth session; "
                                       "tune_stack_folds.py --split movie)",
                                       _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"), neighbors=300,
                                              pooling="sif", neighbors_dims=50, tail_tokens=20, mark_negation=True)),
    "stackpp2_tail20_neg_novec": ("StackedTextClassifier(vectors=None, ngram_model=('nbsvm++', 'nbsvm'), "
                                  "tail_tokens=20, mark_negation=True): the n-gram members of "
                                  "stackpp2_wide_knn50_tail20_neg alone (its ablation)",
                                  _stack(None, ngram_model=("nbsvm++", "nbsvm"), tail_tokens=20, mark_negation=True)),
    "stackpp2_wide_knn50_tail20_neg_rat": (f"StackedTextClassifier(vectors={DOMAIN_WIDE!r}, ngram_model=('nbsvm++', "
                                           "'nbsvm'), pooling='sif', neighbors=300, neighbors_dims=50, tail_tokens=20, "
                                           "mark_negation=True, ratings_alpha=RATINGS_ALPHA) fitted with ratings= the "
                                           "stars: stackpp2_wide_knn50_tail20_neg + a ridge regression to the stars "
                                           "(chosen in the eighteenth session by tune_stack_folds.py --split movie; "
                                           "STACK_MANY_JOB since the nineteenth)",
                                           _stack(DOMAIN_WIDE, ngram_model=("nbsvm++", "nbsvm"), neighbors=300,
                                                  pooling="sif", neighbors_dims=50, tail_tokens=20, mark_negation=True,
                                                  ratings_alpha=RATINGS_ALPHA)),
    "stackpp2_tail20_neg_rat_novec": ("StackedTextClassifier(vectors=None, ngram_model=('nbsvm++', 'nbsvm'), "
                                      "tail_tokens=20, mark_negation=True, ratings_alpha=RATINGS_ALPHA) fitted with "
                                      "ratings=: the members of stackpp2_wide_knn50_tail20_neg_rat without the "
                                      "vectors (its ablation)",
                                      _stack(None, ngram_model=("nbsvm++", "nbsvm"), tail_tokens=20, mark_negation=True,
                                             ratings_alpha=RATINGS_ALPHA)),
    "stackpp2_tail20_novec": ("StackedTextClassifier(vectors=None, ngram_model=('nbsvm++', 'nbsvm'), tail_tokens=20): "
                              "the n-gram members of stackpp2_wide_knn50_tail20 alone (its ablation)",
                              _stack(None, ngram_model=("nbsvm++", "nbsvm"), tail_tokens=20)),
    "stackpp_docvec": ("StackedTextClassifier(vectors=None, doc_vectors='unsup', ngram_model='nbsvm++'): "
                       "NBSVM++ member + paragraph vectors (PV-DBOW, 1-2-grams) trained on the unsup reviews",
                       _stack(None, ngram_model="nbsvm++", doc_vectors="unsup")),
}


# ------------------------------------------------------------------------------ output
def table(rows, sizes, methods) -> str:
    """Markdown table: mean accuracy (± std over draws) per method and size."""
    lines = ["| model | " + " | ".join(f"{n:,} labels" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for name in methods:
        cells = []
        for n in sizes:
            row = next((r for r in rows if r["method"] == name and r["n_labels"] == n), None)
            if row is None:
                cells.append("-")
            elif row["n_draws"] > 1:
                cells.append(f"{100 * row['mean_accuracy']:.2f}% ± {100 * row['std']:.2f}")
            else:
                cells.append(f"{100 * row['mean_accuracy']:.2f}%")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows, methods, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colours, markers = plt.get_cmap("tab20").colors, "os^Dvp<>hX*P"
    for k, name in enumerate(methods):  # a colour and a marker per method (tab10 repeats after 10)
        pts = sorted((r["n_labels"], r["mean_accuracy"], r["std"]) for r in rows if r["method"] == name)
        if pts:
            n, acc, sd = zip(*pts)
            ax.errorbar(n, [100 * a for a in acc], yerr=[100 * s for s in sd], marker=markers[k % len(markers)],
                        color=colours[(2 * k) % 20 + (k // 10) % 2], capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training reviews (log scale)")
    ax.set_ylabel("test accuracy (%), full 25k test set")
    ax.set_title("IMDB learning curve")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def combine(names, target, methods=None, pool_seeds=False, labels=None):
    """Merge the rows of runs split by size (same code, same draws) into one result, table and plot.

    A (method, size) pair measured in more than one run keeps the row of the first run named
    (a re-run ablation, for a paired comparison, repeats its earlier row); a repeat whose
    accuracies differ is reported. A name ``run:method+method`` takes only those methods' rows of
    that run. With ``pool_seeds``, a repeat from a run of another ``--seed``
    (the 25,000-label column is one draw per seed) adds its draws to the row instead: mean and
    standard deviation over all of them. ``methods``: the rows to keep, in this order (default:
    all). ``labels`` maps a method to the row it is shown in: methods recommended at different
    sizes (``stack_clusters`` up to 5,000 labels, ``stackpp2_wide_knn50`` at 25,000) can share one
    row; two methods of one row must not share a size.
    """
    import json

    import numpy as np

    labels = labels or {}
    rows, parts, seen = [], [], {}
    for name in names:
        name, _, only = name.partition(":")  # "run:method+method": only those rows of that run
        with open(RESULTS_DIR / f"{name}.json", encoding="utf-8") as fh:
            payload = json.load(fh)
        seed = payload["params"].get("seed")
        for row in payload["rows"]:
            key = (row["method"], row["n_labels"])
            if (methods is not None and row["method"] not in methods) or (only and row["method"] not in only.split("+")):
                continue
            if key in seen:
                kept = seen[key]
                if pool_seeds and seed not in kept["seeds"]:
                    kept["seeds"].append(seed)
                    kept["accuracies"] = kept["accuracies"] + row["accuracies"]
                    kept["n_draws"] = len(kept["accuracies"])
                    kept["mean_accuracy"] = round(float(np.mean(kept["accuracies"])), 4)
                    kept["std"] = round(float(np.std(kept["accuracies"])), 4)
                elif kept["accuracies"][:len(row["accuracies"])] != row["accuracies"]:
                    print(f"note: {key} in {name} {row['accuracies']} differs from the kept row "
                          f"{kept['accuracies']}", flush=True)
                continue
            seen[key] = row = {**row, "seeds": [seed], "from": name}
            rows.append(row)
        parts.append({"name": name, "params": payload["params"], "machine": payload["machine"]})
    for row in rows:
        row["source_method"], row["method"] = row["method"], labels.get(row["method"], row["method"])
    clash = [key for key, n in Counter((r["method"], r["n_labels"]) for r in rows).items() if n > 1]
    if clash:
        raise SystemExit(f"--labels puts two methods in one cell: {clash}")
    sizes = sorted({r["n_labels"] for r in rows})
    present = list(dict.fromkeys(r["method"] for r in rows))
    methods = [labels.get(m, m) for m in methods] if methods else None
    methods = list(dict.fromkeys(m for m in methods if m in present)) if methods else present
    md = table(rows, sizes, methods)
    print(md)
    plot(rows, methods, RESULTS_DIR / f"{target}.png")
    path = write_results(target, rows, params={"combined_from": parts, "table_markdown": md})
    print(f"wrote {path} and {RESULTS_DIR / (target + '.png')}")


def main(argv=None):
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", default="200,1000,5000,25000")
    parser.add_argument("--draws", type=int, default=5, help="draws per size below the full training set")
    parser.add_argument("--methods", default="all", help=f"comma-separated subset of {list(METHODS)}")
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (smoke runs)")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--small-epochs", type=int, default=None,
                        help="epochs of the Keras rows below 5,000 labels (default: tune_models.json's choice, else 1)")
    parser.add_argument("--tuning", default="tune_stacking",
                        help="results name of tune_stacking.py whose choices the stack rows use")
    parser.add_argument("--n-unlabelled", type=int, default=None,
                        help="unsup reviews given to the self-training rows (*_self); default: as tuned")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="StackedTextClassifier n_jobs of the stack rows (members and folds in parallel; "
                             "fit_cpu_s then counts this process only)")
    parser.add_argument("--combine", default=None,
                        help="comma-separated result names (runs split by size) to merge into --name, table and PNG")
    parser.add_argument("--pool-seeds", action="store_true",
                        help="with --combine: pool the draws of one (method, size) from runs of different --seed")
    parser.add_argument("--labels", default=None,
                        help="with --combine: 'method=row label;method=row label' (rows shown under a label; "
                             "methods recommended at different sizes may share one)")
    args = parser.parse_args(argv)
    if args.combine:
        labels = dict(item.split("=", 1) for item in args.labels.split(";")) if args.labels else None
        return combine(args.combine.split(","), args.name,
                       None if args.methods == "all" else args.methods.split(","), args.pool_seeds, labels)
    if args.small_epochs is None:
        args.small_epochs = small_epochs_from_tuning()
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    names = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose among {list(METHODS)}")
    sizes = [int(s) for s in args.sizes.split(",")]

    data = Data(args)
    rows = []
    params = {k: v for k, v in vars(args).items() if k != "work_dir"}
    for n in sizes:
        index_sets = list(draws(data.y_train, n_labels=n, n_draws=args.draws, seed=args.seed))
        for name in names:
            description, method = METHODS[name]
            accs, secs, cpus, chosen = [], [], [], []
            for k, idx in enumerate(index_sets):
                with timer() as t:
                    pred, info = method(data, idx, args.seed + k)
                accs.append(float(np.mean(np.asarray(pred) == data.y_test)))
                secs.append(round(t.seconds, 1))
                cpus.append(round(t.cpu_seconds, 1))
                chosen.append(info)
                print(f"{n} {name} draw {k}: {accs[-1]:.4f} ({t.seconds:.0f} s wall, {t.cpu_seconds:.0f} s CPU) {info}",
                      flush=True)
            rows.append({"method": name, "n_labels": n, "n_draws": len(accs),
                         "mean_accuracy": round(float(np.mean(accs)), 4), "std": round(float(np.std(accs)), 4),
                         "accuracies": [round(a, 4) for a in accs], "fit_predict_s": secs,
                         "fit_predict_cpu_s": cpus, "chosen": chosen, "peak_mb": round(peak_rss_mb()),
                         "description": description})
            write_results(args.name, rows, params=params)  # nothing lost if a later row crashes
    print_table(rows, ["method", "n_labels", "n_draws", "mean_accuracy", "std"])
    md = table(rows, sizes, names)
    print(md)
    plot(rows, names, RESULTS_DIR / f"{args.name}.png")
    path = write_results(args.name, rows, params={**params, "table_markdown": md})
    print(f"wrote {path} and {RESULTS_DIR / (args.name + '.png')}")


if __name__ == "__main__":
    main()

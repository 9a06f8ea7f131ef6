"""Validation tuning: how the stack's members score new documents, and which members it holds.

``StackedTextClassifier`` (scikit-learn's ``StackingClassifier``) fits every
member ``cv`` times for the out-of-fold scores the meta-learner learns from,
then once more on all the labelled documents, and scores new documents with
that last fit alone: the ``cv`` fold models are thrown away. For a noisy
member such as the Keras NBSVM++ (one epoch of SGD; 0.1-0.2 points between
seeds) the mean score of the fold models is a bagged ensemble that costs no
extra fit. This script measures, on a validation split of the IMDB training
set (20,000 fit / 5,000 validation, split by ``--seed``; never test text):

- each member scored by its full fit (``full``), by the mean of its fold fits
  (``folds``), or by the mean of both (``both``: the full fit counts as one of
  ``cv + 1`` models);
- the stack (logistic-regression meta-learner on standardized out-of-fold
  scores, as in ``StackedTextClassifier``) over several member sets, with
  each of the three scoring rules.

Every figure of one run comes from the same fits (paired). Members:
``nbsvm++`` (Keras NBSVM++ on 1-3-grams, ``NBSVM_RECIPE``), ``nbsvm``
(scikit-learn NBSVM on binary 1-3-gram counts, C=0.01), ``vectors`` (SIF-pooled
300-d domain word2vec -> LogisticRegressionCV) and ``clusters`` (NBSVM on
1-3-grams of 1,000 k-means clusters of the same vectors), built by
``StackedTextClassifier._members`` so they are exactly the stack's. Probe
members (eleventh session): ``vectors_mlp`` (SIF vectors -> MLP),
``vectors_sifmax`` (SIF and max pooling -> LR), ``vectors_knn[k]`` (a
distance-weighted vote of the k nearest training documents by the cosine of
their SIF vectors, k=100 by default: ``StackedTextClassifier(neighbors=k)``)
and its control ``tfidf_knn`` (the same vote over TF-IDF unigrams, no vectors);
``vectors_knn300_pca50`` searches in 50 principal components of those vectors
(``neighbors_dims=50``, fifteenth session); ``char_lr`` (probe, fifteenth
session) is a TF-IDF logistic regression on the words' character 2-5-grams.
Seventeenth session: ``tail<k>`` / ``head<k>`` is NBSVM (C=0.01; ``c<C>`` another
C, ``pp`` the Keras NBSVM++) on the 1-3-grams of each review's last / first k
tokens (``tail<k>`` is ``StackedTextClassifier(tail_tokens=k)``'s ``"tail"``
member), ``tailvec<k>`` the SIF vectors member on the last k tokens; each is
stacked on top of ``STACK_MANY_JOB``'s members and of the two n-gram members.
Eighteenth session: ``ratings_ridge<alpha>`` is ``StackedTextClassifier(ratings_alpha=alpha,
mark_negation=True)``'s ``"ratings"`` member, a ridge regression fitted to the fit reviews' stars
(not to their classes) on sublinear TF-IDF 1-3-grams of negation-marked tokens; each probe is also
stacked on top of the seventeenth session's ``STACK_MANY_JOB`` members (``negmarkpp``, ``negmark``,
``vectors``, ``vectors_knn300_pca50``, ``tail20neg``) and of its three n-gram members.
Twentieth session: ``vectors_ratings<alpha>`` (a ridge regression to the stars on the standardized SIF
vectors) and ``vectors_knnrat<k>_pca<r>`` (the distance-weighted mean stars of the k nearest training
reviews in r principal components of them) are the vector members fitted to the stars; each probe is
also stacked on the nineteenth session's ``STACK_MANY_JOB`` (with ``ratings_ridge0.03``) and on its ablation.
Twenty-second session: ``skip<gaps>neg`` is NBSVM (C=0.01, binary counts, as ``negmark``) on the skip-bigrams of
negation-marked tokens alone: token i paired with token i + g + 1 for each gap g of the digits of ``<gaps>``
(``skip1neg``: one token skipped, "not very good" -> "not _ good"; ``skip12neg``: one or two), each pair one
feature whose string joins the two tokens with a tab, one ``_`` per skipped token and a tab
(``"not<tab>_<tab>good"``), so it never equals a space-joined n-gram (no token holds whitespace) nor a pair of
another gap; each probe is stacked on ``STACK_MANY_JOB`` (its six members, with ``ratings_ridge0.03`` and
``tail20neg``) and on its ablation (without ``vectors`` and ``vectors_knn300_pca50``), and, with more than one
such probe, all of them on both.
Twenty-third session: ``negmarkpp_r<j>`` is ``negmarkpp`` with the random seed ``seed + 1000 * j``, a second
NBSVM++ of another initialisation and batch order (a bagged pair when stacked beside ``negmarkpp``).
A member without ``decision_function`` is read as the logit of its
probability of the second class. ``--folds movie`` (twelfth session) groups
the out-of-fold scores' folds by movie as well (``StratifiedGroupKFold``, as
``StackedTextClassifier.fit(groups=)``), so the meta-learner learns from
held-out scores of unseen movies, as the test reviews are.

Run::

    python benchmarks/tune_stack_folds.py --seed 0
    python benchmarks/tune_stack_folds.py --seed 1 --name tune_stack_folds_seed1
    python benchmarks/tune_stack_folds.py --seed 0 --split movie --folds movie --name tune_stack_folds_gfolds_seed0
    python benchmarks/tune_stack_folds.py --seed 0 --split movie --folds random \
        --members nbsvm++,nbsvm,vectors,vectors_knn300,vectors_knn300_pca50,vectors_knn300_pca100 \
        --name tune_stack_folds_movie_pca_seed0
    python benchmarks/tune_stack_folds.py --seed 0 --split movie --members nbsvm++,nbsvm,vectors,vectors_knn300_pca50 \
        --final-Cs 0.01,0.1,1,10 --name tune_stack_folds_movie_metaC_seed0
    python benchmarks/tune_stack_folds.py --seed 0 --split movie \
        --members nbsvm++,nbsvm,vectors,vectors_knn300_pca50,tail15,tail20,tail30,tail40,head30,tailvec30 \
        --name tune_stack_folds_movie_window2_seed0
    python benchmarks/tune_stack_folds.py --seed 0 --split movie \
        --members negmarkpp,negmark,tail20neg,ratings_ridge0.03,vectors,vectors_knn300_pca50,skip1neg,skip12neg \
        --name tune_stack_folds_movie_skip_seed0
    python benchmarks/tune_stack_folds.py --seed 0 --split movie \
        --members negmarkpp,negmark,tail20neg,ratings_ridge0.03,vectors,vectors_knn300_pca50,negmarkpp_r1 \
        --name tune_stack_folds_movie_pp2_seed0
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
from bench_learning_curve import DOMAIN_WIDE  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "tune_stack_folds"
MEMBERS = ("nbsvm++", "nbsvm", "vectors", "clusters")
#: member sets of the stacks compared (``nbsvm++`` + ``vectors`` is ``stackpp_wide``)
STACKS = (("nbsvm++",), ("nbsvm++", "vectors"), ("nbsvm++", "nbsvm"), ("nbsvm++", "nbsvm", "vectors"),
          ("nbsvm", "vectors"), ("nbsvm", "clusters", "vectors"),
          ("nbsvm++", "clusters", "vectors"), ("nbsvm++", "nbsvm", "clusters", "vectors"),
          ("nbsvm++", "nbsvm", "vectors_mlp"), ("nbsvm++", "nbsvm", "vectors_sifmax"),
          ("nbsvm++", "nbsvm", "vectors", "vectors_mlp"), ("nbsvm++", "nbsvm", "vectors_knn"),
          ("nbsvm++", "nbsvm", "vectors", "vectors_knn"), ("nbsvm++", "nbsvm", "tfidf_knn"),
          ("nbsvm++", "nbsvm", "vectors", "tfidf_knn"), ("nbsvm++", "vectors_knn"), ("nbsvm++", "vectors", "vectors_knn"),
          ("nbsvm++", "nbsvm", "vectors_knn30"), ("nbsvm++", "nbsvm", "vectors_knn300"),
          ("nbsvm++", "nbsvm", "vectors", "vectors_knn30"), ("nbsvm++", "nbsvm", "vectors", "vectors_knn300"),
          ("nbsvm++", "nbsvm", "vectors_knn1000"), ("nbsvm++", "nbsvm", "vectors_knn3000"),
          *(stack for r in (25, 50, 100, 150)
            for stack in (("nbsvm++", "nbsvm", "vectors", f"vectors_knn300_pca{r}"), ("nbsvm++", "nbsvm", f"vectors_knn300_pca{r}"))),
          ("nbsvm++", "nbsvm", "char_lr"), ("nbsvm++", "nbsvm", "vectors", "vectors_knn300_pca50", "char_lr"))
RULES = ("full", "folds", "both")
#: the vector members fitted to the stars (twentieth session), and every member fitted to the stars, not the classes
VECTOR_STARS = r"vectors_(?:ratings[\d.]+|knnrat\d+_pca\d+)"
STARS = rf"ratings_ridge[\d.]+|{VECTOR_STARS}"


def member(name, seed):
    """A fresh, unfitted member pipeline, exactly as StackedTextClassifier builds it."""
    import re

    from toolkit import StackedTextClassifier

    if name == "nbsvm++":
        return StackedTextClassifier(vectors=None, ngram_model="nbsvm++")._members(seed)[0][1]
    if name == "nbsvm":
        return StackedTextClassifier(vectors=None, ngram_model="nbsvm", C=0.01)._members(seed)[0][1]
    if re.fullmatch(VECTOR_STARS, name):
        # twentieth session: the vector members fitted to the stars, not to the class: a ridge regression on the
        # standardized SIF vectors (vectors_ratings<alpha>), or the distance-weighted mean stars of the k nearest
        # training reviews in r principal components of them (vectors_knnrat<k>_pca<r>)
        from sklearn.linear_model import Ridge
        from sklearn.neighbors import KNeighborsRegressor
        from sklearn.pipeline import Pipeline

        if name.startswith("vectors_ratings"):
            vec = member("vectors", seed)
            return Pipeline([*vec.steps[:-1], ("ridge", Ridge(alpha=float(name[len("vectors_ratings"):])))])
        k, dims = re.fullmatch(r"vectors_knnrat(\d+)_pca(\d+)", name).groups()
        knn = member(f"vectors_knn{k}_pca{dims}", seed)
        return Pipeline([*knn.steps[:-1], ("knn", KNeighborsRegressor(n_neighbors=int(k), weights="distance",
                                                                        algorithm="brute"))])
    if name.startswith("vectors_knn"):  # the vote of the k nearest training reviews by their SIF vectors (probe)
        k, dims = re.fullmatch(r"vectors_knn(\d*)(?:_pca(\d+))?", name).groups()
        # _pca<r>: searched in the first r principal components of the normalized vectors (fifteenth session)
        return StackedTextClassifier(vectors=DOMAIN_WIDE, pooling=None, neighbors=int(k or 100),
                                     neighbors_dims=int(dims) if dims else None)._members(seed)[-1][1]
    if re.fullmatch(r"(head|tail)\d+(c[\d.]+|pp)?", name):
        # NBSVM (C=0.01, or c<C>; pp: the Keras NBSVM++) on the first / last k tokens only (probe, seventeenth session)
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        from toolkit.models.naive_bayes import NBSVMClassifier
        from toolkit.text.encoders import BagEncoder
        from toolkit.models.stacking import word_ngrams

        k, C, pp = re.fullmatch(r"(?:head|tail)(\d+)(?:c([\d.]+))?(pp)?", name).groups()
        if pp:
            from toolkit.models.classifier import EmbeddingClassifier
            from toolkit.models.recipes import NBSVM_RECIPE

            model = [("nbsvm", EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=seed))]
        else:
            model = [("counts", BagEncoder(output_mode="multi_hot")),
                     ("nbsvm", NBSVMClassifier(C=float(C or 0.01), random_state=seed))]
        return Pipeline([("window", FunctionTransformer(_window, kw_args={"k": int(k), "tail": name.startswith("tail")},
                                                        validate=False, check_inverse=False)),
                         ("ngrams", FunctionTransformer(word_ngrams, kw_args={"ngram_range": (1, 3)},
                                                        validate=False, check_inverse=False)), *model])
    if name.startswith("ratings_ridge"):  # ridge regression to the stars on marked TF-IDF 1-3-grams (eighteenth session)
        # StackedTextClassifier(ratings_alpha=a, mark_negation=True)'s "ratings" member; fitted to the stars, not y
        members = dict(StackedTextClassifier(vectors=None, ratings_alpha=float(name[len("ratings_ridge"):]),
                                             mark_negation=True)._members(seed))
        return members["ratings"]
    if re.fullmatch(r"negmarkpp_r\d+", name):  # a second NBSVM++ of another seed (twenty-third session)
        return member("negmarkpp", seed + 1000 * int(name[len("negmarkpp_r"):]))
    if name in ("negmarkpp", "tail20neg"):  # NBSVM++ / the tail member on negation-marked tokens (probes)
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        plain = member("nbsvm++" if name == "negmarkpp" else "tail20", seed)
        return Pipeline([("neg", FunctionTransformer(_negation_marked, validate=False, check_inverse=False)),
                         *plain.steps])
    if re.fullmatch(r"skip[1-9]+neg", name):  # NBSVM on skip-bigrams of negation-marked tokens (twenty-second session)
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        from toolkit.models.naive_bayes import NBSVMClassifier
        from toolkit.text.encoders import BagEncoder

        gaps = tuple(int(g) for g in name[len("skip"):-len("neg")])  # skip12neg: gaps of 1 and 2 tokens
        return Pipeline([("neg", FunctionTransformer(_negation_marked, validate=False, check_inverse=False)),
                         ("skipgrams", FunctionTransformer(_skip_bigrams, kw_args={"gaps": gaps},
                                                           validate=False, check_inverse=False)),
                         ("counts", BagEncoder(output_mode="multi_hot")),
                         ("nbsvm", NBSVMClassifier(C=0.01, random_state=seed))])
    if name == "negmark":  # NBSVM on 1-3-grams of negation-marked tokens (probe, seventeenth session)
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        from toolkit.models.naive_bayes import NBSVMClassifier
        from toolkit.models.stacking import word_ngrams
        from toolkit.text.encoders import BagEncoder

        return Pipeline([("neg", FunctionTransformer(_negation_marked, validate=False, check_inverse=False)),
                         ("ngrams", FunctionTransformer(word_ngrams, kw_args={"ngram_range": (1, 3)},
                                                        validate=False, check_inverse=False)),
                         ("counts", BagEncoder(output_mode="multi_hot")),
                         ("nbsvm", NBSVMClassifier(C=0.01, random_state=seed))])
    if re.fullmatch(r"tailvec\d+", name):  # the SIF vectors member on the last k tokens only (probe)
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        vec = member("vectors", seed)
        return Pipeline([("window", FunctionTransformer(_window, kw_args={"k": int(name[7:]), "tail": True},
                                                        validate=False, check_inverse=False)), *vec.steps])
    if name == "tfidf_knn":  # control for vectors_knn: the same neighbours over TF-IDF unigrams, no vectors
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import Pipeline

        from toolkit.text.encoders import BagEncoder

        return Pipeline([("tfidf", BagEncoder(output_mode="tf_idf", sublinear_tf=True, norm="l2")),
                         ("knn", KNeighborsClassifier(n_neighbors=100, weights="distance", algorithm="brute",
                                                      metric="cosine"))])
    if name == "char_lr":  # character 2-5-grams of the words (TF-IDF) -> LR: evidence below the word (probe)
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        return Pipeline([("text", FunctionTransformer(_joined, validate=False, check_inverse=False)),
                         ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True,
                                                   lowercase=False, dtype=np.float32)),
                         ("lr", LogisticRegression(C=10.0, max_iter=2000))])
    if name in ("vectors_mlp", "vectors_sifmax"):  # non-linear / wider views of the same vectors (probes)
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import FeatureUnion, Pipeline
        from sklearn.preprocessing import StandardScaler

        from toolkit.vectors.pooling import EmbeddingVectorizer

        if name == "vectors_mlp":
            return Pipeline([("pool", EmbeddingVectorizer(vectors=DOMAIN_WIDE, pooling="sif")),
                             ("scale", StandardScaler()),
                             ("mlp", MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-2, early_stopping=True,
                                                   random_state=seed, max_iter=200))])
        return Pipeline([("pool", FeatureUnion([("sif", EmbeddingVectorizer(vectors=DOMAIN_WIDE, pooling="sif")),
                                                ("max", EmbeddingVectorizer(vectors=DOMAIN_WIDE, pooling="max"))])),
                         ("scale", StandardScaler()),
                         ("lr", LogisticRegressionCV(Cs=[0.001, 0.01, 0.1, 1.0], cv=5, max_iter=2000, scoring="accuracy",
                                                     l1_ratios=(0.0,), use_legacy_attributes=False))])
    members = dict(StackedTextClassifier(vectors=DOMAIN_WIDE, ngram_model="nbsvm", clusters=1000,
                                         pooling="sif")._members(seed))
    return members[name]


def _learns_stars(name):
    """Whether the member is fitted to the reviews' stars rather than to their classes."""
    import re

    return bool(re.fullmatch(STARS, name))


def score_file(cache, name, seed, split, n_fit, n_val, cv):
    """Where a member's cached scores live (``split``: "" for the random split, "_movie", "_movie_gfolds")."""
    return Path(cache) / f"{name}_seed{seed}{split}_n{n_fit}_v{n_val}_cv{cv}.npz"


def save_scores(path, *, oof, folds, full, fit_s):
    """Write a member's scores atomically: an interrupted run leaves no partial file in the cache."""
    import numpy as np

    from toolkit._atomic import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, oof=oof, folds=folds, full=full, fit_s=fit_s)


def _window(X, k, tail):
    """Each document's first (``tail=False``) or last ``k`` tokens, as a TokenizedCorpus."""
    import numpy as np

    if tail:  # the library's own (StackedTextClassifier(tail_tokens=k))
        return X.tail(k)
    return X._segments(X.offsets[:-1], np.minimum(np.diff(X.offsets), k))


def _negation_marked(X):
    """Negation scopes marked (the library's ``mark_negation``; the probes ran on an identical copy of it)."""
    from toolkit.text.negation import mark_negation

    return mark_negation(X)


def _skip_bigrams(X, gaps=(1,)):
    r"""Each document's skip-bigrams (token i with token i + g + 1, for each gap g in ``gaps``), as a TokenizedCorpus.

    A pair's string is its two tokens joined by a tab, one ``"_"`` per skipped token and a tab: it never equals a
    space-joined n-gram (no token holds whitespace), nor a pair of another gap. Built on the flat arrays (no loop
    over documents); within a document, the pairs of the first gap come first.

    >>> from toolkit.text.corpus import TokenizedCorpus
    >>> _skip_bigrams(TokenizedCorpus.from_token_lists([["not", "very", "good", "film"], ["ok"]]), (1, 2)).to_list()
    [['not\t_\tgood', 'very\t_\tfilm', 'not\t_\t_\tfilm'], []]
    """
    import numpy as np

    from toolkit.text.corpus import TokenizedCorpus

    X = TokenizedCorpus.from_token_lists(X)
    ids, offsets, strings = X.ids.astype(np.int64), X.offsets, X.strings
    lengths, n_docs, base = np.diff(offsets), len(X), max(len(X.strings), 1)
    codes, docs, counts = [], [], np.zeros(n_docs, dtype=np.int64)
    for k, gap in enumerate(gaps):
        n = np.maximum(lengths - gap - 1, 0)  # pairs of this gap in each document
        out = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(n, out=out[1:])
        left = np.arange(out[-1], dtype=np.int64) + np.repeat(offsets[:-1] - out[:-1], n)  # flat position of token i
        codes.append((k * base + ids[left]) * base + ids[left + gap + 1])  # (gap, left, right) packed in one int64
        docs.append(np.repeat(np.arange(n_docs), n))
        counts += n
    order = np.argsort(np.concatenate(docs), kind="stable")  # grouped by document, the gaps in order within one
    uniq, inverse = np.unique(np.concatenate(codes)[order], return_inverse=True)
    gap_of, left, right = uniq // (base * base), (uniq // base) % base, uniq % base
    objects = np.empty(len(strings), dtype=object)
    objects[:] = strings
    joins = np.array(["\t" + "\t".join("_" * g) + "\t" for g in gaps], dtype=object)
    table = [a + j + b for a, j, b in zip(objects[left].tolist(), joins[gap_of].tolist(), objects[right].tolist())]
    new_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    return TokenizedCorpus(inverse.reshape(-1).astype(np.int32), new_offsets, table)


def _joined(docs):
    """Token lists as space-joined strings (for scikit-learn's text vectorizers)."""
    return [" ".join(doc) for doc in docs]


def score(est, X):
    """The member's decision score (the logit of P(second class) for a model without decision_function;
    a regressor's prediction)."""
    import numpy as np
    from sklearn.base import is_regressor

    if hasattr(est, "decision_function"):
        return est.decision_function(X)
    if is_regressor(est):
        return est.predict(X)
    p = np.clip(est.predict_proba(X)[:, 1], 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def main(argv=None):
    import re

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit.models.stacking import _folds

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--limit", type=int, default=None, help="training reviews (smoke runs)")
    p.add_argument("--cv", type=int, default=5)
    p.add_argument("--members", default=",".join(MEMBERS))
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="token cache folder")
    p.add_argument("--name", default=NAME)
    p.add_argument("--final-Cs", default="1.0",
                   help="comma-separated C values of the meta-learner (StackedTextClassifier's final_C) to compare")
    p.add_argument("--split", choices=("random", "movie"), default="random",
                   help="validation reviews: a stratified random 5,000, or movies no fit review is about")
    p.add_argument("--folds", choices=("random", "movie"), default="random",
                   help="the stack's out-of-fold scores: stratified random folds of the fit reviews, or folds "
                        "grouped by movie (StratifiedGroupKFold; needs --split movie)")
    args = p.parse_args(argv)
    if args.folds == "movie" and args.split != "movie":
        p.error("--folds movie needs --split movie")

    X_fit, y_fit, X_val, y_val = validation_split(args)
    # the library's own folds (StackedTextClassifier.fit(groups=)), seeded by --seed
    folds = _folds(args.cv, y_fit, args.fit_movies if args.folds == "movie" else None, args.seed)
    names = list(dict.fromkeys(args.members.split(",")))  # a member named twice is fitted and reported once
    oof, val, fit_s = {}, {}, {}
    cache = Path(args.work_dir) / NAME
    cache.mkdir(parents=True, exist_ok=True)
    for name in names:
        # each member's scores are cached by seed, split and cv, so a later run with other members reuses them
        split = ("" if args.split == "random" else f"_{args.split}") + ("" if args.folds == "random" else "_gfolds")
        key = score_file(cache, name, args.seed, split, len(y_fit), len(y_val), args.cv)
        if key.exists():
            with np.load(key) as z:
                oof[name], fit_s[name] = z["oof"], float(z["fit_s"])
                val[name] = {"folds": list(z["folds"]), "full": z["full"]}
            print(f"{name}: scores from {key}", flush=True)
            continue
        oof[name] = np.zeros(len(y_fit))
        val[name] = {"folds": []}
        with timer() as t:
            target = args.fit_ratings if _learns_stars(name) else y_fit  # that member learns the stars
            for train_idx, test_idx in folds:
                est = member(name, args.seed).fit(X_fit.take(train_idx), target[train_idx])
                oof[name][test_idx] = score(est, X_fit.take(test_idx))
                val[name]["folds"].append(score(est, X_val))
            full = member(name, args.seed).fit(X_fit, target)
            val[name]["full"] = score(full, X_val)
        fit_s[name] = round(t.seconds, 1)
        save_scores(key, oof=oof[name], folds=np.array(val[name]["folds"]), full=val[name]["full"], fit_s=fit_s[name])
        print(f"{name}: {args.cv + 1} fits in {t.seconds:.0f} s", flush=True)

    def scores(name, rule):
        f = np.mean(val[name]["folds"], axis=0)
        return {"full": val[name]["full"], "folds": f,
                "both": (args.cv * f + val[name]["full"]) / (args.cv + 1)}[rule]

    rows = []
    base = {"seed": args.seed, "split": args.split, "folds": args.folds, "n_fit": len(y_fit), "n_val": len(y_val), "cv": args.cv}
    classes = np.unique(y_fit)
    for name in names:
        for rule in RULES:
            # a ratings member predicts stars: the classes' boundary is between the top negative and the
            # lowest positive rating (IMDB: 5.5)
            cut = 0.0 if not _learns_stars(name) else (
                args.fit_ratings[y_fit == classes[0]].max() + args.fit_ratings[y_fit == classes[1]].min()) / 2
            pred = classes[(scores(name, rule) > cut).astype(int)]
            rows.append({**base, "model": name, "rule": rule, "val_accuracy": round(float(np.mean(pred == y_val)), 4),
                         "fits_s": fit_s[name]})
    # each probe on top of STACK_MANY_JOB's members
    probes = [n for n in names if re.fullmatch(r"(head|tail|tailvec)\d+(c[\d.]+|pp)?|negmark|negmarkpp|tail20neg|"
                                               r"skip[1-9]+neg|negmarkpp_r\d+|" + STARS, n)]
    many = ("nbsvm++", "nbsvm", "vectors", "vectors_knn300_pca50")
    extra = [(*many, p) for p in probes] + [("nbsvm++", "nbsvm", p) for p in probes]
    # eighteenth session: each probe on top of the seventeenth session's STACK_MANY_JOB, and of its n-gram members
    now = ("negmarkpp", "negmark", "vectors", "vectors_knn300_pca50", "tail20neg")
    extra += [(*now, p) for p in probes] + [(*now[:2], now[-1], p) for p in probes]
    # twentieth session: each probe on top of the nineteenth session's STACK_MANY_JOB (with its ratings member),
    # the recipe itself, its ablation, and the probe in place of the recipe's vector members
    now19 = (*now, "ratings_ridge0.03")
    extra += [now19, (*now[:2], now[-1], now19[-1])]
    extra += [(*now19, p) for p in probes if p not in now19]
    extra += [(*now[:2], now[-1], now19[-1], p) for p in probes if p not in now19]
    # twenty-second session: all the new probes together on the recipe and on its ablation
    new = tuple(p for p in probes if p not in now19)
    extra += [(*now19, *new), (*now[:2], now[-1], now19[-1], *new)] if len(new) > 1 else []
    # negation marking (seventeenth session): in every n-gram member (StackedTextClassifier(mark_negation=True)),
    # in some of them, and the same without the vector members (the ablations)
    for grams in (("negmarkpp", "negmark", "tail20neg"), ("nbsvm++", "negmark", "tail20neg"),
                  ("nbsvm++", "negmark", "tail20"), ("negmarkpp", "negmark", "tail20"), ("negmarkpp", "nbsvm", "tail20")):
        extra += [(*grams[:2], "vectors", "vectors_knn300_pca50", grams[2]), grams]
    seen = set()
    for stack in STACKS + tuple(extra) + ((*many, *probes),) * (len(probes) > 1):
        # each set of members once: the same members listed in another order (or a probe that is already one
        # of the stack's members) fit the same meta-learner and gave the same row again
        stack = tuple(dict.fromkeys(stack))
        if frozenset(stack) in seen or not set(stack) <= set(names):
            continue
        seen.add(frozenset(stack))
        for final_C in (float(c) for c in args.final_Cs.split(",")):
            meta = make_pipeline(StandardScaler(), LogisticRegression(C=final_C, max_iter=1000))
            meta.fit(np.column_stack([oof[n] for n in stack]), y_fit)
            weights = dict(zip(stack, np.round(meta[-1].coef_[0], 2).tolist()))
            for rule in RULES:
                pred = meta.predict(np.column_stack([scores(n, rule) for n in stack]))
                rows.append({**base, "model": "stack:" + "+".join(stack), "rule": rule, "final_C": final_C,
                             "val_accuracy": round(float(np.mean(pred == y_val)), 4),
                             "fits_s": round(sum(fit_s[n] for n in stack), 1), "weights": weights})
    print_table([{k: v for k, v in r.items() if k != "weights"} for r in rows])
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

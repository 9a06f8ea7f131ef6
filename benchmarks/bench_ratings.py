"""IMDB star ratings as an 8-class task (1-4 and 7-10 stars, from the file names).

Official split; the label is the rating. Everything tunable is chosen on a
validation split of the training reviews (``--val-size`` of them, 5,000 of
25,000 by default, stratified by rating, ``--seed``), then each final
configuration is refitted on all training reviews and scored on the test
reviews once: accuracy, and mean absolute error (MAE) in stars.

The task is ordinal, so besides the most probable class (``argmax``, what
accuracy rewards) two decision rules read the predicted distribution:
``median`` (the rating at which the cumulative probability reaches 1/2: the
prediction with the lowest expected absolute error) and ``expected`` (the
probability-weighted mean rating, rounded to the nearest rating that
exists). Each side gets the same treatment: its MAE rule is the one with
the lower validation MAE, its accuracy comes from ``argmax``.

Candidates (same tokens for the toolkit rows):

- ``tfidf_lr``: the peer, ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)``
  + multinomial ``LogisticRegression``, C chosen on the validation split (the C path
  warm-started, as ``LogisticRegressionCV`` does);
- ``toolkit_novec``: ``EmbeddingClassifier(architecture="nbsvm")`` on 1-3-grams
  (softmax over one NB-ratio column per class);
- ``toolkit_glove``: ``architecture="nbsvm_vectors"`` with GloVe 6B-50d (the
  main-job model);
- ``stack``: ``StackedTextClassifier(vectors="glove.6B.50d")`` (NBSVM 1-3-grams
  + pooled GloVe, logistic-regression meta-learner) on word tokens.

The toolkit model with the best validation accuracy is the final one (``--final all``: every
method is a final configuration, each scored on the test set once).

Also: ``stack_w2v`` (the stack with domain word2vec trained on the unlabelled reviews, SIF pooling),
``stack_wide`` (the same with ``recipes.DOMAIN_VECTORS``: 300 dimensions, 10 epochs),
``stack_job`` (``recipes.STACK_JOB``: adds the word-vector clusters member), ``stack_many``
(``recipes.STACK_MANY_JOB``, the many-label recommendation; since the nineteenth session with its
``"ratings"`` member, ``ratings_alpha=0.03``, fitted to the stars), ``stack_many_ratings`` (the same with
``ratings_alpha=0.1``, fitted with ``ratings=`` the stars: a ridge regression member that reads the
classes as numbers, eighteenth session) and
``stack_novec`` (their ablation).

Run::

    python benchmarks/bench_ratings.py                                   # 25,000 / 25,000
    python benchmarks/bench_ratings.py --limit 2000 --methods tfidf_lr,toolkit_novec   # smoke run

Writes ``benchmarks/results/bench_ratings.json`` (``--name`` to change).
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

from _common import peak_rss_mb, print_table, timer, write_results  # noqa: E402
from bench_imdb import cached_tokens, default_work_dir  # noqa: E402
from bench_learning_curve import NGRAMS  # noqa: E402

NAME = "bench_ratings"
PEER_CS = (3.0, 10.0, 30.0)  # around the C 3-fold CV chose at 5,000 reviews (30)
RULES = ("argmax", "median", "expected")


def decide(proba, ratings, rule):
    """Predicted ratings from class probabilities (columns follow the sorted ``ratings``)."""
    import numpy as np

    ratings = np.asarray(ratings)
    if rule == "argmax":
        return ratings[np.argmax(proba, axis=1)]
    if rule == "median":
        return ratings[np.argmax(np.cumsum(proba, axis=1) >= 0.5 - 1e-12, axis=1)]
    expected = proba @ ratings
    return ratings[np.abs(expected[:, None] - ratings[None, :]).argmin(axis=1)]


def scores(proba, classes, truth):
    import numpy as np

    out = {}
    for rule in RULES:
        pred = decide(proba, classes, rule)
        out[rule] = {"accuracy": round(float(np.mean(pred == truth)), 4),
                     "mae_stars": round(float(np.mean(np.abs(pred - truth))), 4)}
    return out


def peer(C):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                         LogisticRegression(C=C, max_iter=3000))


def peer_path(fit_texts, y_fit, val_texts):
    """(label, run) per C of :data:`PEER_CS`: the TF-IDF matrix built once, each C fitted from scratch.

    The first run's time includes the vectorizer. Each C used to be warm-started
    from the last (``warm_start=True``); lbfgs then stopped almost at once at
    C=30 (1-2 s against 40-260 s for C=10), and C=30 repeated C=10's validation
    scores exactly in every ratings run: the largest C was never really tried.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    state = {}
    lr = LogisticRegression(max_iter=3000)

    def run(C):
        if not state:
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            state["fit"] = vectorizer.fit_transform(fit_texts)
            state["val"] = vectorizer.transform(val_texts)
        lr.set_params(C=C).fit(state["fit"], y_fit)
        return lr.predict_proba(state["val"])

    return [(f"C={C}", lambda C=C: run(C)) for C in sorted(PEER_CS)]


def toolkit_model(name, seed):
    from toolkit import EmbeddingClassifier, StackedTextClassifier
    from toolkit.models.recipes import HYBRID_BRANCH, NBSVM_RECIPE

    if name == "toolkit_novec":
        return EmbeddingClassifier(**NBSVM_RECIPE, architecture="nbsvm", random_state=seed)
    if name == "toolkit_glove":
        return EmbeddingClassifier(**NBSVM_RECIPE, **HYBRID_BRANCH, architecture="nbsvm_vectors",
                                   vectors="glove.6B.50d", random_state=seed)
    if name == "stack":
        return StackedTextClassifier(vectors="glove.6B.50d", random_state=seed)
    if name == "stack_w2v":  # h3's validation choice (results/tune_stacking.json)
        return StackedTextClassifier(vectors="word2vec:unsup:train=0", pooling="sif", random_state=seed)
    if name == "stack_wide":  # the recommended domain vectors (recipes.DOMAIN_VECTORS: 300-d, 10 epochs)
        from toolkit.models.recipes import DOMAIN_VECTORS

        return StackedTextClassifier(vectors=DOMAIN_VECTORS, pooling="sif", random_state=seed)
    if name == "stack_job":  # what `toolkit train --model stack` fits (clusters + SIF over DOMAIN_VECTORS)
        from toolkit.models.recipes import STACK_JOB

        return StackedTextClassifier(**STACK_JOB, random_state=seed)
    if name == "stack_many":  # what `toolkit train --model stack-many` fits (the many-label recommendation)
        from toolkit.models.recipes import STACK_MANY_JOB

        return StackedTextClassifier(**STACK_MANY_JOB, random_state=seed, n_jobs=2)
    if name == "stack_many_ratings":  # the same with the "ratings" member (eighteenth session), fitted to the stars
        from toolkit.models.recipes import STACK_MANY_JOB

        return StackedTextClassifier(**{**STACK_MANY_JOB, "ratings_alpha": 0.1}, random_state=seed, n_jobs=2)
    if name == "stack_novec":  # its ablation: the same stack without the vector member
        return StackedTextClassifier(vectors=None, random_state=seed)
    raise ValueError(f"unknown method {name!r}")


def fit_params(model, stars):
    """Extra fit arguments: a stack with a "ratings" member (``ratings_alpha`` set: ``stack_many_ratings``,
    and ``stack_many`` since the nineteenth session) learns the stars, here the labels themselves."""
    return {"ratings": stars} if getattr(model, "ratings_alpha", None) is not None else {}


DESCRIPTIONS = {
    "tfidf_lr": "peer: TfidfVectorizer(1,2, sublinear_tf) + LogisticRegression (multinomial), C on validation",
    "toolkit_novec": "EmbeddingClassifier(architecture='nbsvm') on 1-3-grams (ablation)",
    "toolkit_glove": "EmbeddingClassifier(architecture='nbsvm_vectors', vectors='glove.6B.50d') on 1-3-grams",
    "stack": "StackedTextClassifier(vectors='glove.6B.50d') on word tokens",
    "stack_w2v": "StackedTextClassifier(vectors='word2vec:unsup:train=0', pooling='sif') on word tokens "
                 "(domain word2vec on the 50,000 unlabelled reviews)",
    "stack_wide": "StackedTextClassifier(vectors=DOMAIN_VECTORS, pooling='sif') on word tokens "
                  "(300-d domain word2vec on the 50,000 unlabelled reviews, 10 epochs)",
    "stack_job": "StackedTextClassifier(**recipes.STACK_JOB) on word tokens (NBSVM 1-3-grams + NBSVM on 1-3-grams "
                 "of 1,000 k-means clusters of DOMAIN_VECTORS + SIF-pooled DOMAIN_VECTORS)",
    "stack_many": "StackedTextClassifier(**recipes.STACK_MANY_JOB, n_jobs=2) on word tokens (NBSVM++ and NBSVM "
                  "on negation-marked 1-3-grams + NBSVM on the last 20 tokens + SIF-pooled DOMAIN_VECTORS + a "
                  "300-nearest-neighbours vote in 50 components; the tail member and the marking since the "
                  "seventeenth session; since the nineteenth, a ridge to the stars (ratings_alpha=0.03), fitted "
                  "with ratings= the stars, here the labels themselves)",
    "stack_many_ratings": "stack_many with ratings_alpha=0.1 (eighteenth session, untuned) and fit(ratings=the "
                          "stars): a ridge regression to the "
                          "stars on TF-IDF 1-3-grams as one more member (an ordinal view of the 8 classes)",
    "stack_novec": "StackedTextClassifier(vectors=None) on word tokens (ablation of stack_w2v, stack_wide and "
                   "stack_job)",
}


def main(argv=None):
    import numpy as np
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="tfidf_lr,toolkit_novec,toolkit_glove",
                        help=f"comma-separated subset of {list(DESCRIPTIONS)}")
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (smoke or reduced runs)")
    parser.add_argument("--val-size", type=float, default=0.2, help="share of the training reviews held out")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--final", choices=("best", "all"), default="best",
                        help="score on the test set the best toolkit model (by validation accuracy) or every method")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    names = args.methods.split(",")
    unknown = sorted(set(names) - set(DESCRIPTIONS))
    if unknown:
        parser.error(f"unknown --methods {unknown}; choose from {list(DESCRIPTIONS)}")

    from toolkit import load_imdb

    kw = {"data_dir": args.data_dir, "shuffle": True, "random_state": args.seed, "limit": args.limit}
    train, test = load_imdb("train", **kw), load_imdb("test", **kw)
    y_train, y_test = np.asarray(train.ratings), np.asarray(test.ratings)
    classes = np.unique(y_train)
    fit_idx, val_idx = train_test_split(np.arange(len(y_train)), test_size=args.val_size, stratify=y_train,
                                        random_state=args.seed)
    texts = np.asarray(train.texts, dtype=object)
    tokens = {}
    if any(n != "tfidf_lr" for n in names):
        tokens["train"] = cached_tokens(args, train.texts, "train")
        tokens["test"] = cached_tokens(args, test.texts, "test")

    def inputs(name, split, idx=None):
        if name == "tfidf_lr":
            data = list(texts if idx is None else texts[idx]) if split == "train" else list(test.texts)
            return data
        corpus = tokens[split] if idx is None else tokens[split].take(idx)
        return corpus if name.startswith("stack") else corpus.ngrams(NGRAMS)

    rows = []

    def record(row):
        rows.append(row)
        print(row, flush=True)
        write_results(args.name, rows, params={k: v for k, v in vars(args).items() if k != "work_dir"})

    # ---- validation: fit on the fit part, score every decision rule on the held-out part
    validation = {}
    for name in names:
        if name == "tfidf_lr":
            configs = peer_path(inputs(name, "train", fit_idx), y_train[fit_idx], inputs(name, "train", val_idx))
        else:
            model = toolkit_model(name, args.seed)
            configs = [("", lambda m=model: (m.fit(inputs(name, "train", fit_idx), y_train[fit_idx],
                                                   **fit_params(m, y_train[fit_idx])),
                                              m.predict_proba(inputs(name, "train", val_idx)))[1])]
        for label, run in configs:
            with timer() as t:
                proba = run()
            result = scores(proba, classes, y_train[val_idx])
            validation[(name, label)] = (result, None)
            record({"phase": "validation", "method": name, "config": label,
                    **{f"{rule}_{k}": v for rule, r in result.items() for k, v in r.items()},
                    "fit_predict_s": round(t.seconds, 1), "fit_predict_cpu_s": round(t.cpu_seconds, 1),
                    "load_1min": round(os.getloadavg()[0], 1), "peak_mb": round(peak_rss_mb())})

    def best(name):
        """(config label, MAE rule) of a method: best validation accuracy (argmax), then the lower-MAE rule."""
        label = max((lab for (n, lab) in validation if n == name),
                    key=lambda lab: validation[(name, lab)][0]["argmax"]["accuracy"])
        result = validation[(name, label)][0]
        rule = min(("median", "expected", "argmax"), key=lambda r: result[r]["mae_stars"])
        return label, rule, result

    finals = []
    if "tfidf_lr" in names:
        finals.append("tfidf_lr")
    ours = [n for n in names if n != "tfidf_lr"]
    if ours and args.final == "all":
        finals.extend(ours)
    elif ours:
        finals.append(max(ours, key=lambda n: best(n)[2]["argmax"]["accuracy"]))

    # ---- test: each final configuration refitted on all training reviews, scored once
    for name in finals:
        label, rule, _ = best(name)
        model = peer(float(label[2:])) if name == "tfidf_lr" else toolkit_model(name, args.seed)
        with timer() as t:
            model.fit(inputs(name, "train"), y_train, **fit_params(model, y_train))
            proba = model.predict_proba(inputs(name, "test"))
        result = scores(proba, classes, y_test)
        record({"phase": "test", "method": name, "config": label, "mae_rule": rule,
                "accuracy": result["argmax"]["accuracy"], "mae_stars": result[rule]["mae_stars"],
                "argmax_mae_stars": result["argmax"]["mae_stars"],
                **{f"{r}_{k}": v for r, res in result.items() for k, v in res.items() if r != "argmax"},
                "fit_predict_s": round(t.seconds, 1), "fit_predict_cpu_s": round(t.cpu_seconds, 1),
                "load_1min": round(os.getloadavg()[0], 1), "peak_mb": round(peak_rss_mb()),
                "n_train": len(y_train), "n_test": len(y_test), "description": DESCRIPTIONS[name]})
    print_table([r for r in rows if r["phase"] == "validation"],
                ["method", "config", "argmax_accuracy", "argmax_mae_stars", "median_mae_stars",
                 "expected_mae_stars", "fit_predict_cpu_s"])
    print_table([r for r in rows if r["phase"] == "test"],
                ["method", "config", "accuracy", "mae_rule", "mae_stars", "argmax_mae_stars", "fit_predict_cpu_s"])
    print(f"wrote {write_results(args.name, rows, params={k: v for k, v in vars(args).items() if k != 'work_dir'})}")


if __name__ == "__main__":
    main()

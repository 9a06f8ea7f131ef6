"""IMDB with only 200 labelled reviews: mean test accuracy over 5 random draws.

Each draw takes 100 positive and 100 negative training reviews (seeded); the
other training reviews and the 50,000 unlabelled ``unsup`` reviews may be used
without their labels; the 25,000 test reviews are only predicted. Methods:

- peers: TF-IDF(1,2) + LogisticRegression, and mean GloVe-50d + LogisticRegression
  (the chapter's frozen pretrained vectors);
- toolkit: NBSVMClassifier on uni+bigrams; domain word2vec trained with
  ``toolkit.train_word2vec`` on the unlabelled reviews (unsup + train texts,
  never test), pooled by ``EmbeddingVectorizer`` (mean / SIF, fitted on the
  unlabelled texts) + LogisticRegression, and the same with sklearn's
  ``SelfTrainingClassifier`` over unlabelled reviews.

Every row, peers included, chooses its ``C`` by 5-fold cross-validation on the
200 labelled reviews of the draw (the self-training rows choose it for the
labelled reviews, then self-train with it); the chosen values are in the rows.

Run::

    python benchmarks/bench_fewshot.py --seed 0
    python benchmarks/bench_fewshot.py --methods w2v_sif_lr --draws 2   # a subset

Writes ``benchmarks/results/bench_fewshot.json``. The word2vec training time
is a one-off cost reported in its own row (it needs no labels).
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
from bench_imdb import cached_tokens, default_work_dir, load_data, ngram_counts, unsup_tokens  # noqa: E402

NAME = "bench_fewshot"
PEER = "peer_tfidf12_lr"
PEER_CS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]  # TF-IDF rows have unit norm: C is large
LR_CS = [0.01, 0.03, 0.1, 0.3, 1.0]  # standardized pooled vectors
NBSVM_CS = [0.01, 0.1, 1.0]  # as bench_learning_curve.py's nbsvm row


def draws(labels, *, n_labels, n_draws, seed):
    """``n_draws`` balanced index sets of ``n_labels`` training reviews."""
    import numpy as np

    for k in range(n_draws):
        rng = np.random.RandomState(seed * 1000 + k)
        yield np.concatenate([rng.choice(np.flatnonzero(labels == c), n_labels // 2, replace=False)
                              for c in np.unique(labels)])


def _lr_cv(Cs):
    """LogisticRegression with C chosen by 5-fold cross-validated accuracy (``C_``: the chosen C)."""
    from sklearn.linear_model import LogisticRegressionCV

    return LogisticRegressionCV(Cs=Cs, cv=5, max_iter=2000, scoring="accuracy", l1_ratios=(0.0,),
                                use_legacy_attributes=False)


def _lr():
    """Standardize + logistic regression, C chosen by 5-fold CV on the labelled draw only."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), _lr_cv(LR_CS))


class Context:
    """Lazily built shared inputs: tokens, unlabelled tokens, pooled vectors."""

    def __init__(self, args):
        self.args = args
        self.X_train, self.y_train, self.X_test, self.y_test = load_data(args)
        self._cache = {}
        self.one_off = []  # rows of one-off (label-free) costs

    def get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def train_tokens(self):
        return self.get("train_tokens", lambda: cached_tokens(self.args, self.X_train, "train"))

    @property
    def test_tokens(self):
        return self.get("test_tokens", lambda: cached_tokens(self.args, self.X_test, "test"))

    def ngrams(self, split, ngram_range=(1, 2)):
        """Word n-grams of a split's tokens, built once (the test reviews are predicted by every draw)."""
        tokens = self.train_tokens if split == "train" else self.test_tokens
        return self.get(("ngrams", split, ngram_range), lambda: tokens.ngrams(ngram_range))

    @property
    def unlabelled_tokens(self):
        """unsup + train reviews without labels (never test)."""
        def make():
            from toolkit import TokenizedCorpus

            return TokenizedCorpus.concatenate([unsup_tokens(self.args), self.train_tokens])
        return self.get("unlabelled", make)

    def word2vec_path(self):
        def make():
            from toolkit import train_word2vec

            path = Path(self.args.work_dir) / f"imdb-w2v-{self.args.seed}-{self.args.limit}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            corpus = self.unlabelled_tokens
            with timer() as t:
                train_word2vec(corpus, vector_size=100, window=5, min_count=5, epochs=5,
                               workers=2, seed=self.args.seed, output=path)
            # gensim trains in worker threads of this process: process CPU time counts them
            self.one_off.append({"method": "one-off: train_word2vec on unlabelled reviews",
                                 "fit_s": round(t.seconds, 1), "fit_cpu_s": round(t.cpu_seconds, 1),
                                 "docs": len(corpus)})
            return str(path)
        return self.get("w2v", make)

    def pooled(self, vectors, pooling):
        """(train, test, unlabelled-sample) pooled features; pooling fitted on unlabelled text."""
        def make():
            import numpy as np

            from toolkit import EmbeddingVectorizer

            vec = EmbeddingVectorizer(vectors=vectors, pooling=pooling, min_count=2)
            vec.fit(self.unlabelled_tokens)
            rng = np.random.RandomState(self.args.seed)
            unsup = unsup_tokens(self.args)
            sample = unsup.take(rng.choice(len(unsup), min(20000, len(unsup)), replace=False))
            return vec.transform(self.train_tokens), vec.transform(self.test_tokens), vec.transform(sample)
        return self.get(("pooled", vectors, pooling), make)


# --------------------------------------------------------------------------- methods
# Each method returns (test predictions, the C it chose on the labelled draw).
def m_peer(ctx, idx):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    # C chosen by 5-fold cross-validation on the labelled draw, like the toolkit rows (issue 16)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), _lr_cv(PEER_CS))
    model.fit([ctx.X_train[i] for i in idx], ctx.y_train[idx])
    return model.predict(ctx.X_test), float(model[-1].C_)


def m_nbsvm(ctx, idx):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from toolkit import NBSVMClassifier

    model = GridSearchCV(make_pipeline(ngram_counts((1, 1)), NBSVMClassifier(random_state=0)),
                         {"nbsvmclassifier__C": NBSVM_CS}, cv=5)
    model.fit(ctx.ngrams("train").take(idx), ctx.y_train[idx])
    return model.predict(ctx.ngrams("test")), model.best_params_["nbsvmclassifier__C"]


def _pooled_lr(ctx, idx, vectors, pooling):
    A, B, _ = ctx.pooled(vectors, pooling)
    model = _lr().fit(A[idx], ctx.y_train[idx])
    return model.predict(B), float(model[-1].C_)


def _pooled_selftrain(ctx, idx, vectors, pooling, threshold=0.9):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import SelfTrainingClassifier

    A, B, U = ctx.pooled(vectors, pooling)
    X = np.vstack([A[idx], U])
    y = np.concatenate([ctx.y_train[idx], -np.ones(len(U), dtype=int)])
    # C by 5-fold CV on the labelled reviews, scaled as the self-training pipeline scales them
    # (the scaler sees the labelled and unlabelled features, never a label)
    scaler = StandardScaler().fit(X)
    c = float(_lr_cv(LR_CS).fit(scaler.transform(A[idx]), ctx.y_train[idx]).C_)
    model = make_pipeline(StandardScaler(), SelfTrainingClassifier(
        LogisticRegression(C=c, max_iter=2000), threshold=threshold, max_iter=10))
    return model.fit(X, y).predict(B), c


METHODS = {
    "peer_tfidf12_lr": ("peer: TfidfVectorizer(1,2) + LogisticRegressionCV (C by 5-fold CV on the labelled draw)", m_peer),
    "peer_glove_mean_lr": ("peer: EmbeddingVectorizer(glove.6B.50d, mean) + LogisticRegressionCV",
                           lambda c, i: _pooled_lr(c, i, "glove.6B.50d", "mean")),
    "nbsvm12": (f"toolkit: uni+bigram counts -> NBSVMClassifier, C in {NBSVM_CS} by 5-fold CV", m_nbsvm),
    "w2v_mean_lr": ("toolkit: domain word2vec (unlabelled reviews) mean-pooled + LogisticRegressionCV",
                    lambda c, i: _pooled_lr(c, i, c.word2vec_path(), "mean")),
    "w2v_sif_lr": ("toolkit: domain word2vec SIF-pooled + LogisticRegressionCV",
                   lambda c, i: _pooled_lr(c, i, c.word2vec_path(), "sif")),
    "w2v_mean_selftrain": ("toolkit: domain word2vec mean + SelfTrainingClassifier(LR, C by 5-fold CV on the "
                           "labelled draw, threshold 0.9) on 20k unlabelled",
                           lambda c, i: _pooled_selftrain(c, i, c.word2vec_path(), "mean")),
    "w2v_sif_selftrain": ("toolkit: domain word2vec SIF + SelfTrainingClassifier(LR, C by 5-fold CV on the "
                          "labelled draw, threshold 0.9) on 20k unlabelled",
                          lambda c, i: _pooled_selftrain(c, i, c.word2vec_path(), "sif")),
}


def main(argv=None):
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-labels", type=int, default=200)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--methods", default="all", help=f"comma-separated subset of {list(METHODS)}")
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (smoke runs)")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token/vector cache folder")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir  # offline data folder: vectors by manifest name
    args.work_dir = args.work_dir or default_work_dir()
    names = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose among {list(METHODS)}")

    ctx = Context(args)
    index_sets = list(draws(ctx.y_train, n_labels=args.n_labels, n_draws=args.draws, seed=args.seed))
    rows = []
    for name in names:
        description, method = METHODS[name]
        accs, secs, cpus, cs = [], [], [], []
        for idx in index_sets:
            with timer() as t:
                pred, c = method(ctx, idx)
            accs.append(float(np.mean(np.asarray(pred) == ctx.y_test)))
            secs.append(t.seconds)
            cpus.append(t.cpu_seconds)
            cs.append(c)
        rest = slice(1, None) if len(secs) > 1 else slice(0, 1)
        rows.append({"method": name, "mean_accuracy": round(float(np.mean(accs)), 4),
                     "std": round(float(np.std(accs)), 4), "draws": [round(a, 4) for a in accs],
                     "C": cs, "fit_predict_s_first": round(secs[0], 1),
                     "fit_predict_cpu_s_first": round(cpus[0], 1),
                     "fit_predict_s_rest": round(float(np.mean(secs[rest])), 1),
                     "fit_predict_cpu_s_rest": round(float(np.mean(cpus[rest])), 1),
                     "load_1min": round(os.getloadavg()[0], 1),
                     "peak_mb": round(peak_rss_mb()), "description": description})
        print_table(rows[-1:], ["method", "mean_accuracy", "std", "draws", "fit_predict_s_first"])
    peer = next((r for r in rows if r["method"] == PEER), None)
    for row in rows:
        if peer:
            row["acc_vs_peer"] = round(row["mean_accuracy"] / peer["mean_accuracy"], 3)
    rows.extend(ctx.one_off)
    print_table(rows, ["method", "mean_accuracy", "std", "acc_vs_peer", "draws", "C",
                       "fit_predict_s_first", "fit_predict_cpu_s_first", "fit_predict_s_rest",
                       "fit_predict_cpu_s_rest", "fit_s", "fit_cpu_s", "peak_mb"])
    print(f"wrote {write_results(NAME, rows, params={k: v for k, v in vars(args).items() if k != 'work_dir'})}")


if __name__ == "__main__":
    main()

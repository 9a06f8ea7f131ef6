"""IMDB sentiment accuracy of toolkit's models against TF-IDF + LogisticRegression.

Official split: 25,000 training and 25,000 test reviews (aclImdb v1), read with
``toolkit.load_imdb``; tokens from ``toolkit.SpacyTokenizer`` (blank:en,
lower-case). Every configuration is one row: test accuracy, fit and predict
wall time, peak memory of its own process, and the ratio to the peer (TF-IDF
uni+bigrams + LogisticRegression, measured in the same run).

Each configuration runs in a fresh subprocess (so peak memory is its own) that
reads the tokenized corpus from a cache written once by the parent; the
tokenization time is measured once, without cache, and reported in its own
row and in ``fit_total_s`` (= tokenize train + fit) of the toolkit rows.

Every setting is a committed default or is chosen on a validation split of
the training set inside the configuration's fit; the test split is scored once
per configuration. One command writes every row of one results JSON (with the
command and the git commit): runs are never merged.

Run::

    python benchmarks/bench_imdb.py --seed 0                  # every configuration
    python benchmarks/bench_imdb.py --configs nbsvm123        # a subset (the peer always runs too)
    python benchmarks/bench_imdb.py --limit 2000 --name bench_imdb_smoke   # smoke run on 2000+2000 reviews

Writes ``benchmarks/results/<name>.json`` (default ``bench_imdb``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import peak_rss_mb, print_table, timer, write_results  # noqa: E402

NAME = "bench_imdb"
PEER = "peer_tfidf12_lr_tuned"  # the reference: 90.68% here


# ----------------------------------------------------------------------------- data
def load_data(args, *, with_ratings=False):
    """Texts and labels of both splits (train shuffled with the seed); ``with_ratings``: and the
    training reviews' stars, fifth."""
    from toolkit import load_imdb

    kw = {"data_dir": args.data_dir}
    train = load_imdb("train", shuffle=True, random_state=args.seed, limit=args.limit, **kw)
    test = load_imdb("test", shuffle=True, random_state=args.seed, limit=args.limit, **kw)
    split = train.texts, train.labels, test.texts, test.labels
    return (*split, train.ratings) if with_ratings else split


def tokenizer():
    from toolkit import SpacyTokenizer

    return SpacyTokenizer(batch_size=2000)


def cached_tokens(args, texts, split, *, refresh=False):
    """The SpacyTokenizer corpus of ``texts``, pickled under the work folder.

    ``refresh=True`` always tokenizes (that is what gets timed) and rewrites the file.
    """
    import pickle

    path = Path(args.work_dir) / f"tokens-{split}-{args.seed}-{args.limit}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not refresh:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    corpus = tokenizer().fit_transform(texts)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(corpus, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return corpus


def default_work_dir() -> str:
    from toolkit._config import get_cache_dir

    return str(get_cache_dir() / "benchmarks")


def unsup_tokens(args):
    """Tokens of the 50,000 unlabelled training reviews (never the test set)."""
    from toolkit import load_imdb

    texts = load_imdb("unsup", data_dir=args.data_dir, limit=None if args.limit is None else 2 * args.limit,
                      shuffle=args.limit is not None, random_state=args.seed).texts
    return cached_tokens(args, texts, "unsup")


# ---------------------------------------------------------------------- estimators
def ngram_counts(ngram_range, *, min_count=1, binary=True):
    """Token lists -> their word n-grams (``TokenizedCorpus.ngrams``) -> ``BagEncoder`` matrix."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from toolkit.text.encoders import BagEncoder

    encoder = BagEncoder(output_mode="multi_hot" if binary else "count", min_count=min_count)
    if tuple(ngram_range) == (1, 1):
        return encoder
    return make_pipeline(FunctionTransformer(NGrams(ngram_range), validate=False, check_inverse=False),
                         encoder)


def nbsvm(ngram_range, seed, **params):
    from sklearn.pipeline import make_pipeline

    from toolkit import NBSVMClassifier

    return make_pipeline(ngram_counts(ngram_range), NBSVMClassifier(random_state=seed, **params))


class NGrams:
    """Token lists -> their word n-grams (a TokenizedCorpus), for Keras bags."""

    def __init__(self, ngram_range):
        self.ngram_range = ngram_range

    def __call__(self, corpus):
        from toolkit import TokenizedCorpus

        if not isinstance(corpus, TokenizedCorpus):
            corpus = TokenizedCorpus.from_token_lists(corpus)
        return corpus.ngrams(self.ngram_range)


def keras_on_ngrams(ngram_range, **params):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from toolkit import EmbeddingClassifier

    return make_pipeline(FunctionTransformer(NGrams(ngram_range), validate=False, check_inverse=False),
                         EmbeddingClassifier(**params))


# ------------------------------------------------------------------ configurations
# Every setting below is the committed default or was chosen on a validation split of the
# training set (never the test set): NBSVMClassifier's C and the pseudo-label C by
# benchmarks/tune_linear.py, NBSVM_RECIPE and the bag defaults by benchmarks/tune_models.py,
# the peer's C on a 20% validation split inside its fit. Descriptions are built from the
# defaults they use, so they cannot go stale.
def _cfg_peer(args, d, *, default):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedShuffleSplit
    from sklearn.pipeline import make_pipeline

    if default:
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    else:  # the rule of the main job's baseline (toolkit.cli.train.tfidf_baseline)
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                              LogisticRegressionCV(Cs=list(_baseline_cs()), solver="liblinear", max_iter=1000,
                                                   cv=StratifiedShuffleSplit(n_splits=1, test_size=0.2,
                                                                             random_state=args.seed),
                                                   scoring="accuracy", l1_ratios=(0.0,),
                                                   use_legacy_attributes=False))
    return model, "raw"


def _baseline_cs():
    from toolkit.cli.train import BASELINE_C_GRID

    return BASELINE_C_GRID


def _nbsvm_defaults() -> str:
    from toolkit import NBSVMClassifier

    d = NBSVMClassifier()
    return f"loss={d.loss}, C={d.C}, beta={d.beta}"


def _recipe(**overrides) -> dict:
    from toolkit.models.recipes import NBSVM_RECIPE

    return dict(NBSVM_RECIPE, **overrides)


def _main_job_on_ngrams(seed) -> dict:
    """MAIN_JOB's EmbeddingClassifier parameters (its tokenizer n-grams are built beforehand)."""
    from toolkit.models.recipes import MAIN_JOB

    return dict({k: v for k, v in MAIN_JOB.items() if k != "ngram_range"}, random_state=seed)


def _bag_defaults() -> str:
    from toolkit import EmbeddingClassifier

    d = EmbeddingClassifier(architecture="bag")
    return f"learning rate {d._learning_rate()}, batch {d.batch_size}, early stopping"


CONFIGS = {
    # name: (description() -> str, builder(args) -> (estimator, input kind "raw"/"tokens"))
    "peer_tfidf12_lr": (
        lambda: "peer: sklearn TfidfVectorizer(1,2) + LogisticRegression (defaults), raw text",
        lambda a, d: _cfg_peer(a, d, default=True)),
    "peer_tfidf12_lr_tuned": (
        lambda: ("peer: TfidfVectorizer(1,2, min_df=2, sublinear_tf) + LogisticRegression(liblinear), "
                 f"C in {list(_baseline_cs())} chosen on a stratified 20% validation split of the training "
                 "set (the main job's baseline rule), raw text"),
        lambda a, d: _cfg_peer(a, d, default=False)),
    "nbsvm12": (
        lambda: f"toolkit: SpacyTokenizer -> uni+bigram counts -> NBSVMClassifier defaults ({_nbsvm_defaults()})",
        lambda a, d: (nbsvm((1, 2), a.seed), "tokens")),
    "nbsvm123": (
        lambda: ("toolkit: SpacyTokenizer -> uni+bi+trigram counts -> NBSVMClassifier defaults "
                 f"({_nbsvm_defaults()})"),
        lambda a, d: (nbsvm((1, 3), a.seed), "tokens")),
    "nbsvm123_pseudo": (
        lambda: ("toolkit: 1-3-gram bag (min_count=2) -> PseudoLabelClassifier(NBSVMClassifier defaults, "
                 "70% of the 50k unsup reviews)"),
        lambda a, d: (pseudo_nbsvm(a.seed), "tokens+unsup")),
    "keras_nbsvm123": (
        lambda: f"toolkit: EmbeddingClassifier(architecture='nbsvm', **NBSVM_RECIPE {_recipe()}) on 1-3-grams (NBSVM++)",
        lambda a, d: (keras_on_ngrams((1, 3), **_recipe(architecture="nbsvm", random_state=a.seed)), "tokens")),
    "keras_main_job": (
        lambda: ("toolkit: the main job's model, EmbeddingClassifier(**MAIN_JOB) (nbsvm_vectors + GloVe 6B-50d) "
                 "on 1-3-grams built beforehand"),
        lambda a, d: (keras_on_ngrams((1, 3), **_main_job_on_ngrams(a.seed)), "tokens")),
    "keras_bag_glove": (
        lambda: f"toolkit: EmbeddingClassifier(vectors='glove.6B.50d') defaults: bag, maxlen 400, {_bag_defaults()}",
        lambda a, d: (_cfg_bag_glove(a), "tokens")),
    "keras_bag12": (
        lambda: ("toolkit: EmbeddingClassifier(architecture='bag') on uni+bigrams, dim 50 (fastText-style; "
                 "maxlen 800, 500k ids, batch 64, 5 epochs, patience 1: settings of the previous version)"),
        lambda a, d: (keras_on_ngrams((1, 2), architecture="bag", max_tokens=500_000, maxlen=800,
                                      embedding_dim=50, epochs=5, batch_size=64, patience=1,
                                      random_state=a.seed), "tokens")),
    "keras_cnn_glove": (
        lambda: ("toolkit: EmbeddingClassifier(architecture='cnn', vectors='glove.6B.50d', finetune), maxlen 400 "
                 "(settings of the previous version)"),
        lambda a, d: (_cfg_cnn(a), "tokens")),
}


def _cfg_bag_glove(args):
    from toolkit import EmbeddingClassifier

    return EmbeddingClassifier(vectors="glove.6B.50d", random_state=args.seed)


def pseudo_nbsvm(seed, ngram_range=(1, 3), fraction=0.7):
    """n-gram bag (vocabulary from labelled + unlabelled reviews) -> PseudoLabelClassifier(NBSVM)."""
    from sklearn.pipeline import make_pipeline

    from toolkit import NBSVMClassifier, PseudoLabelClassifier

    return make_pipeline(ngram_counts(ngram_range, min_count=2),
                         PseudoLabelClassifier(NBSVMClassifier(random_state=seed), fraction=fraction))


def _cfg_cnn(args):
    from toolkit import EmbeddingClassifier

    return EmbeddingClassifier(architecture="cnn", vectors="glove.6B.50d", trainable="finetune",
                               max_tokens=50_000, maxlen=400, epochs=6, batch_size=64, patience=1,
                               dropout=0.3, random_state=args.seed)


def chosen_on_validation(model) -> dict:
    """Hyperparameters a configuration chose inside its fit (the peer's C), for the row."""
    final = model[-1] if hasattr(model, "steps") else model
    if hasattr(final, "C_"):
        return {"C": float(final.C_)}
    return {}


# ------------------------------------------------------------------------- running
def run_one(args, name) -> dict:
    """Fit and score one configuration in this process; return its row."""
    import numpy as np

    X_train, y_train, X_test, y_test = load_data(args)
    describe, build = CONFIGS[name]
    model, kind = build(args, None)
    if kind.startswith("tokens"):
        X_train = cached_tokens(args, X_train, "train")
        X_test = cached_tokens(args, X_test, "test")
    if kind == "tokens+unsup":  # unlabelled reviews appended with the label -1
        from toolkit import TokenizedCorpus

        unsup = unsup_tokens(args)
        X_train = TokenizedCorpus.concatenate([X_train, unsup])
        y_train = np.concatenate([y_train, np.full(len(unsup), -1)])
    with timer() as fit_t:
        model.fit(X_train, y_train)
    with timer() as pred_t:
        pred = model.predict(X_test)
    acc = float(np.mean(np.asarray(pred) == np.asarray(y_test)))
    return {"config": name, "accuracy": round(acc, 5), "fit_s": round(fit_t.seconds, 1),
            "fit_cpu_s": round(fit_t.cpu_seconds, 1), "predict_s": round(pred_t.seconds, 1),
            "predict_cpu_s": round(pred_t.cpu_seconds, 1), "peak_mb": round(peak_rss_mb()), "input": kind,
            "load_1min": round(os.getloadavg()[0], 1), **chosen_on_validation(model),
            "description": describe()}


def measure_tokenization(args) -> dict:
    X_train, _, X_test, _ = load_data(args)
    with timer() as t_train:
        cached_tokens(args, X_train, "train", refresh=True)
    with timer() as t_test:
        cached_tokens(args, X_test, "test", refresh=True)
    return {"config": "tokenize (SpacyTokenizer blank:en)", "accuracy": None,
            "fit_s": round(t_train.seconds, 1), "fit_cpu_s": round(t_train.cpu_seconds, 1),
            "predict_s": round(t_test.seconds, 1), "predict_cpu_s": round(t_test.cpu_seconds, 1),
            "peak_mb": round(peak_rss_mb()), "input": "raw", "load_1min": round(os.getloadavg()[0], 1),
            "description": "tokenizing the 25k train (fit_s) and 25k test (predict_s) reviews once"}


def _subprocess_row(args, name) -> dict:
    cmd = [sys.executable, __file__, "--only", name, "--seed", str(args.seed),
           "--work-dir", args.work_dir]
    if args.limit is not None:
        cmd += ["--limit", str(args.limit)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        return {"config": name, "accuracy": None, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1][4:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", default="all",
                        help=f"comma-separated subset of: {', '.join(CONFIGS)} (default all)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many reviews per split (smoke runs)")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None,
                        help="folder for the token cache (default: <toolkit cache>/benchmarks)")
    parser.add_argument("--name", default=NAME,
                        help="results file name (results/<name>.json); lets two runs go side by side")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir  # offline data folder: vectors by manifest name

    if args.only:
        row = measure_tokenization(args) if args.only == "tokenize" else run_one(args, args.only)
        print("ROW " + json.dumps(row), flush=True)
        return

    names = list(CONFIGS) if args.configs == "all" else [c.strip() for c in args.configs.split(",")]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose among {list(CONFIGS)}")
    if PEER not in names:
        names.insert(0, PEER)
    args.work_dir = args.work_dir or default_work_dir()
    # one run writes every row (no merging of runs: the JSON's command and commit cover all of them)
    rows = [_subprocess_row(args, "tokenize")]
    print_table(rows[-1:])
    for name in names:
        rows.append(_subprocess_row(args, name))
        print(f"{name}: {rows[-1]}", flush=True)
        finish(args, rows, quiet=True)  # nothing lost if a later row crashes
    finish(args, rows)


def finish(args, rows, *, quiet=False):
    tok = rows[0]
    peer = next((r for r in rows if r["config"] == PEER and r.get("accuracy")), None)
    for row in rows[1:]:
        if row.get("accuracy") is None:
            continue
        if str(row.get("input", "")).startswith("tokens"):
            # tokenizing the 50k unsup reviews is counted as twice the 25k train reviews
            k = 3 if row["input"] == "tokens+unsup" else 1
            row["fit_total_s"] = round(row["fit_s"] + k * tok["fit_s"], 1)
            row["predict_total_s"] = round(row["predict_s"] + tok["predict_s"], 1)
            if tok.get("fit_cpu_s") is not None:
                row["fit_total_cpu_s"] = round(row["fit_cpu_s"] + k * tok["fit_cpu_s"], 1)
                row["predict_total_cpu_s"] = round(row["predict_cpu_s"] + tok["predict_cpu_s"], 1)
        else:
            row["fit_total_s"], row["predict_total_s"] = row["fit_s"], row["predict_s"]
            row["fit_total_cpu_s"], row["predict_total_cpu_s"] = row.get("fit_cpu_s"), row.get("predict_cpu_s")
    for row in rows[1:]:  # ratios once every total is known (the peer need not come first)
        if row.get("accuracy") is None:
            continue
        if peer:
            row["acc_vs_peer"] = round(row["accuracy"] / peer["accuracy"], 4)
            row["err_vs_peer"] = round((1 - row["accuracy"]) / (1 - peer["accuracy"]), 3)
            row["fit_time_vs_peer"] = round(row["fit_total_s"] / peer["fit_total_s"], 2)
            if row.get("fit_total_cpu_s") and peer.get("fit_total_cpu_s"):
                row["fit_cpu_vs_peer"] = round(row["fit_total_cpu_s"] / peer["fit_total_cpu_s"], 2)
    cols = ["config", "accuracy", "acc_vs_peer", "err_vs_peer", "fit_total_s", "fit_total_cpu_s",
            "fit_cpu_vs_peer", "predict_total_s", "predict_total_cpu_s", "peak_mb", "load_1min"]
    path = write_results(args.name, rows, params={k: v for k, v in vars(args).items()
                                                  if k not in ("work_dir", "only", "name")})
    if not quiet:
        print_table(rows, cols)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

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

Run::

    python benchmarks/bench_imdb.py --seed 0                  # every configuration
    python benchmarks/bench_imdb.py --configs nbsvm123,peer   # a subset
    python benchmarks/bench_imdb.py --limit 2000              # smoke run on 2000+2000 reviews

Writes ``benchmarks/results/bench_imdb.json``.
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
def load_data(args):
    """Texts and labels of both splits (train shuffled with the seed)."""
    from toolkit import load_imdb

    kw = {"data_dir": args.data_dir}
    train = load_imdb("train", shuffle=True, random_state=args.seed, limit=args.limit, **kw)
    test = load_imdb("test", shuffle=True, random_state=args.seed, limit=args.limit, **kw)
    return train.texts, train.labels, test.texts, test.labels


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
def _cfg_peer(args, d, *, default):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if default:
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    else:
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                              LogisticRegression(C=10.0, max_iter=1000))
    return model, "raw"


CONFIGS = {
    # name: (description, builder(args) -> (estimator, input kind "raw"/"tokens"))
    "peer_tfidf12_lr": (
        "peer: sklearn TfidfVectorizer(1,2) + LogisticRegression (defaults), raw text",
        lambda a, d: _cfg_peer(a, d, default=True)),
    "peer_tfidf12_lr_tuned": (
        "peer: TfidfVectorizer(1,2, min_df=2, sublinear_tf) + LogisticRegression(C=10), raw text",
        lambda a, d: _cfg_peer(a, d, default=False)),
    "nbsvm12": (
        "toolkit: SpacyTokenizer -> uni+bigram counts -> NBSVMClassifier (SVM, C=0.1, beta=0.25)",
        lambda a, d: (nbsvm((1, 2), a.seed), "tokens")),
    "nbsvm123": (
        "toolkit: SpacyTokenizer -> uni+bi+trigram counts -> NBSVMClassifier (SVM, C=0.1, beta=0.25)",
        lambda a, d: (nbsvm((1, 3), a.seed), "tokens")),
    "nblr123": (
        "toolkit: SpacyTokenizer -> 1-3-gram counts -> NBSVMClassifier(loss='log_loss', C=1)",
        lambda a, d: (nbsvm((1, 3), a.seed, loss="log_loss", C=1.0), "tokens")),
    "nbsvm123_pseudo": (
        "toolkit: 1-3-gram bag (min_count=2) -> PseudoLabelClassifier(NBSVM, 70% of the 50k unsup reviews)",
        lambda a, d: (pseudo_nbsvm(a.seed), "tokens+unsup")),
    "keras_nbsvm123": (
        "toolkit: EmbeddingClassifier(architecture='nbsvm') on 1-3-grams, 2 epochs (NBSVM++)",
        lambda a, d: (keras_on_ngrams((1, 3), architecture="nbsvm", max_tokens=800_000, maxlen=None,
                                      epochs=2, batch_size=32, validation_split=0.0,
                                      random_state=a.seed), "tokens")),
    "keras_bag12": (
        "toolkit: EmbeddingClassifier(architecture='bag') on uni+bigrams, dim 50 (fastText-style)",
        lambda a, d: (keras_on_ngrams((1, 2), architecture="bag", max_tokens=500_000, maxlen=800,
                                      embedding_dim=50, epochs=5, batch_size=64, patience=1,
                                      random_state=a.seed), "tokens")),
    "keras_cnn_glove": (
        "toolkit: EmbeddingClassifier(architecture='cnn', vectors='glove.6B.50d', finetune), maxlen 400",
        lambda a, d: (_cfg_cnn(a), "tokens")),
}


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


# ------------------------------------------------------------------------- running
def run_one(args, name) -> dict:
    """Fit and score one configuration in this process; return its row."""
    import numpy as np

    X_train, y_train, X_test, y_test = load_data(args)
    description, build = CONFIGS[name]
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
            "peak_mb": round(peak_rss_mb()), "input": kind,
            "description": description}


def measure_tokenization(args) -> dict:
    X_train, _, X_test, _ = load_data(args)
    with timer() as t_train:
        cached_tokens(args, X_train, "train", refresh=True)
    with timer() as t_test:
        cached_tokens(args, X_test, "test", refresh=True)
    return {"config": "tokenize (SpacyTokenizer blank:en)", "accuracy": None,
            "fit_s": round(t_train.seconds, 1), "predict_s": round(t_test.seconds, 1),
            "peak_mb": round(peak_rss_mb()), "input": "raw",
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
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of results/bench_imdb.json for configurations not run now, "
                             "and reuse its tokenization row and the cached tokens")
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
    previous = _previous_rows(args) if args.merge else []
    if previous and previous[0]["config"].startswith("tokenize"):
        rows = [previous[0]]
    else:
        rows = [_subprocess_row(args, "tokenize")]
    print_table(rows[-1:])
    if previous and PEER in {r["config"] for r in previous} and args.configs != "all":
        names.remove(PEER)  # keep the peer row of the same data unless asked again
    for name in names:
        rows.append(_subprocess_row(args, name))
        print(f"{name}: {rows[-1]}", flush=True)
        finish(args, _merged(previous, rows), quiet=True)  # nothing lost if a later row crashes
    finish(args, _merged(previous, rows))


def _previous_rows(args) -> list:
    from _common import RESULTS_DIR

    path = RESULTS_DIR / f"{args.name}.json"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        payload = json.load(fh)
    if payload.get("params", {}).get("seed") != args.seed or payload["params"].get("limit") != args.limit:
        return []
    return payload["rows"]


def _merged(previous, rows):
    """Previous rows in their order, replaced by this run's rows of the same name, then new ones."""
    fresh = {r["config"]: r for r in rows[1:]}
    merged = rows[:1] + [fresh.pop(r["config"], r) for r in previous[1:]]
    return merged + list(fresh.values())


def finish(args, rows, *, quiet=False):
    tok = rows[0]
    peer = next((r for r in rows if r["config"] == PEER and r.get("accuracy")), None)
    for row in rows[1:]:
        if row.get("accuracy") is None:
            continue
        if str(row.get("input", "")).startswith("tokens"):
            # tokenizing the 50k unsup reviews is counted as twice the 25k train reviews
            unsup = 2 * tok["fit_s"] if row["input"] == "tokens+unsup" else 0.0
            row["fit_total_s"] = round(row["fit_s"] + tok["fit_s"] + unsup, 1)
            row["predict_total_s"] = round(row["predict_s"] + tok["predict_s"], 1)
        else:
            row["fit_total_s"], row["predict_total_s"] = row["fit_s"], row["predict_s"]
        if peer:
            row["acc_vs_peer"] = round(row["accuracy"] / peer["accuracy"], 4)
            row["err_vs_peer"] = round((1 - row["accuracy"]) / (1 - peer["accuracy"]), 3)
            row["fit_time_vs_peer"] = round(row["fit_total_s"] / peer["fit_total_s"], 2)
    cols = ["config", "accuracy", "acc_vs_peer", "err_vs_peer", "fit_s", "fit_cpu_s", "fit_total_s",
            "fit_time_vs_peer", "predict_s", "predict_total_s", "peak_mb"]
    path = write_results(args.name, rows, params={k: v for k, v in vars(args).items()
                                                  if k not in ("work_dir", "only", "merge", "name")})
    if not quiet:
        print_table(rows, cols)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

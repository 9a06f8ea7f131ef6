"""Text pipeline speed on the 25,000 IMDB training reviews.

Measured in one run, on the same texts:

- tokenization docs/s: ``SpacyTokenizer`` (cold: fresh spaCy state and span
  cache; n_jobs 1 and 2; warm: second call in the same process; disk cache)
  versus plain single-process ``nlp.tokenizer.pipe`` (``spacy.blank("en")``,
  token strings extracted, text cleaned beforehand and *not* timed) and
  scikit-learn's ``CountVectorizer().build_analyzer()``;
- whether the tokens equal spaCy's, document by document;
- encoding docs/s: ``SequenceEncoder`` (ids + padding) and ``BagEncoder``
  (tf_idf) versus Keras ``TextVectorization`` on the same tokens
  (``split="whitespace"``, ``standardize=None``) and scikit-learn's
  ``TfidfVectorizer`` on the same token lists.

Each timing is the best of ``--repeats`` runs. Results are printed as a table
and written to ``benchmarks/results/bench_text.json``.

Usage::

    python benchmarks/bench_text.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_time(fn, repeats, setup=None):
    """Best wall time of ``repeats`` calls (``setup`` runs untimed before each); returns (seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--limit", type=int, default=None, help="use only this many reviews (default: all 25,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="shuffles the reviews (order only)")
    parser.add_argument("--maxlen", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=20000)
    parser.add_argument("--skip-keras", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_text.json"))
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import spacy
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    from toolkit import tokenization
    from toolkit.datasets import load_imdb
    from toolkit.encoders import BagEncoder, SequenceEncoder
    from toolkit.tokenization import SpacyTokenizer, clean_text

    data = load_imdb("train", path=Path(args.data_dir) / "aclImdb_v1.tar.gz", shuffle=True, random_state=args.seed, limit=args.limit)
    texts = list(data.texts)
    n = len(texts)
    print(f"{n} IMDB training reviews, {sum(map(len, texts)):,} characters", file=sys.stderr)
    rows, results = [], {}

    def record(name, seconds, note=""):
        results[name] = {"seconds": seconds, "docs_per_s": n / seconds, "note": note}
        rows.append((name, seconds, n / seconds, note))
        print(f"  {name}: {seconds:.3f} s, {n / seconds:,.0f} docs/s", file=sys.stderr)

    # ---- baselines -----------------------------------------------------
    cleaned = [clean_text(t) for t in texts]
    holder = {}

    def fresh_spacy():
        holder["nlp"] = spacy.blank("en")

    def spacy_pipe():
        return [[t.lower_ for t in doc if not t.is_space] for doc in holder["nlp"].tokenizer.pipe(cleaned, batch_size=1000)]

    seconds, reference = best_time(spacy_pipe, args.repeats, setup=fresh_spacy)
    record("spacy nlp.tokenizer.pipe (1 process, cold)", seconds, "text cleaned beforehand, untimed")
    analyzer = CountVectorizer().build_analyzer()
    seconds, _ = best_time(lambda: [analyzer(t) for t in texts], args.repeats)
    record("sklearn CountVectorizer().build_analyzer()", seconds, "regex tokens, not spaCy's")

    # ---- ours ------------------------------------------------------------
    def fresh_ours():
        tokenization._ENGINES.clear()
        tokenization._NLP.clear()
        SpacyTokenizer().fit()  # loads the pipeline, untimed (as spacy.blank above)

    tok = SpacyTokenizer()
    seconds, corpus = best_time(lambda: tok.transform(texts), args.repeats, setup=fresh_ours)
    record("SpacyTokenizer (n_jobs=1, cold)", seconds, "includes HTML cleaning")
    identical = sum(a == b for a, b in zip(corpus, reference))
    results["identical_documents"] = {"identical": identical, "total": n}
    print(f"  tokens identical to spaCy's: {identical}/{n}", file=sys.stderr)

    seconds, _ = best_time(lambda: tok.transform(texts), args.repeats)
    record("SpacyTokenizer (n_jobs=1, warm)", seconds, "second call in the same process")

    tok2 = SpacyTokenizer(n_jobs=2)
    start = time.perf_counter()
    fresh_ours()
    tok2.transform(texts[: min(n, 4000)])  # starts the loky workers
    startup = time.perf_counter() - start
    seconds, corpus2 = best_time(lambda: tok2.transform(texts), args.repeats, setup=fresh_ours)
    record("SpacyTokenizer (n_jobs=2, cold)", seconds, f"workers started beforehand ({startup:.1f} s incl. a first call)")
    assert corpus2 == corpus

    with tempfile.TemporaryDirectory() as cache_dir:
        cached = SpacyTokenizer(cache=cache_dir)
        fresh_ours()
        start = time.perf_counter()
        cached.transform(texts)
        first = time.perf_counter() - start
        results["cache_first_run_seconds"] = first
        seconds, again = best_time(lambda: cached.transform(texts), args.repeats)
        record("SpacyTokenizer (cache=True, second run)", seconds, "hash texts + read one .npz")
        assert again == corpus

    # ---- encoding ----------------------------------------------------------
    enc = SequenceEncoder(max_tokens=args.max_tokens, maxlen=args.maxlen)
    fit_s, _ = best_time(lambda: enc.fit(corpus), args.repeats)
    results["SequenceEncoder.fit seconds"] = fit_s
    seconds, X = best_time(lambda: enc.transform(corpus), args.repeats)
    record(f"SequenceEncoder.transform (maxlen={args.maxlen})", seconds, f"fit {fit_s:.2f} s")
    bag = BagEncoder(output_mode="tf_idf", max_tokens=args.max_tokens).fit(corpus)
    seconds, _ = best_time(lambda: bag.transform(corpus), args.repeats)
    record("BagEncoder(tf_idf).transform", seconds, "CSR")
    token_lists = corpus.to_list()
    tfidf = TfidfVectorizer(analyzer=lambda d: d, max_features=args.max_tokens - 2, norm=None).fit(token_lists)
    seconds, _ = best_time(lambda: tfidf.transform(token_lists), args.repeats)
    record("sklearn TfidfVectorizer.transform (same token lists)", seconds, "CSR")

    if not args.skip_keras:
        import keras
        import tensorflow as tf

        joined = tf.constant([" ".join(doc) for doc in token_lists])
        for mode, kwargs in (("int", {"output_sequence_length": args.maxlen}), ("tf_idf", {})):
            layer = keras.layers.TextVectorization(
                max_tokens=args.max_tokens, standardize=None, split="whitespace", output_mode=mode, **kwargs
            )
            adapt_s, _ = best_time(lambda: layer.adapt(joined, batch_size=1024), 1)
            seconds, _ = best_time(lambda: layer(joined), args.repeats)
            record(f"keras TextVectorization({mode}) call", seconds, f"adapt {adapt_s:.1f} s; whitespace-joined tokens")

    # ---- report ----------------------------------------------------------
    base = results["spacy nlp.tokenizer.pipe (1 process, cold)"]["docs_per_s"]
    ratios = {
        "tokenizer_cold_n_jobs1_vs_spacy": results["SpacyTokenizer (n_jobs=1, cold)"]["docs_per_s"] / base,
        "tokenizer_cold_n_jobs2_vs_spacy": results["SpacyTokenizer (n_jobs=2, cold)"]["docs_per_s"] / base,
        "tokenizer_warm_vs_spacy": results["SpacyTokenizer (n_jobs=1, warm)"]["docs_per_s"] / base,
        "cache_second_run_vs_cold": results["SpacyTokenizer (cache=True, second run)"]["docs_per_s"]
        / results["SpacyTokenizer (n_jobs=1, cold)"]["docs_per_s"],
    }
    seq_name = f"SequenceEncoder.transform (maxlen={args.maxlen})"
    if "keras TextVectorization(int) call" in results:
        ratios["sequence_encoder_vs_keras_int"] = results[seq_name]["docs_per_s"] / results["keras TextVectorization(int) call"]["docs_per_s"]
    results["ratios"] = ratios
    results["meta"] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": n,
        "repeats": args.repeats,
        "seed": args.seed,
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "command": "python benchmarks/bench_text.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'seconds':>8}  {'docs/s':>10}  note")
    for name, seconds, rate, note in rows:
        print(f"{name:<{width}}  {seconds:8.3f}  {rate:10,.0f}  {note}")
    print(f"tokens identical to spaCy's: {identical}/{n}")
    for key, value in ratios.items():
        print(f"{key}: {value:.2f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

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

Each timing is the best of ``--repeats`` runs, wall clock and (for
single-process rows) CPU time of this process, which other jobs on a shared
machine disturb less. Results are printed as tables and written to
``benchmarks/results/bench_text.json``.

Usage::

    python benchmarks/bench_text.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table, timer, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(fn, repeats, setup=None):
    """Best wall and best CPU seconds of ``repeats`` calls (``setup`` untimed before each), and the last result."""
    wall = cpu = float("inf")
    result = None
    for _ in range(repeats):
        if setup is not None:
            setup()
        with timer() as t:
            result = fn()
        wall, cpu = min(wall, t.seconds), min(cpu, t.cpu_seconds)
    return wall, cpu, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--limit", type=int, default=None, help="use only this many reviews (default: all 25,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="shuffles the reviews (order only)")
    parser.add_argument("--maxlen", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=20000)
    parser.add_argument("--skip-keras", action="store_true")
    parser.add_argument("--results-dir", default=None, help="default: benchmarks/results")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import spacy
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    from toolkit import tokenization
    from toolkit.data.datasets import load_imdb
    from toolkit.text.encoders import BagEncoder, SequenceEncoder
    from toolkit.text.tokenizer import SpacyTokenizer, clean_text

    data = load_imdb("train", path=Path(args.data_dir) / "aclImdb_v1.tar.gz", shuffle=True, random_state=args.seed, limit=args.limit)
    texts = list(data.texts)
    n = len(texts)
    print(f"{n} IMDB training reviews, {sum(map(len, texts)):,} characters", file=sys.stderr)
    rows = []

    def record(name, wall, cpu, note="", *, cpu_counts=True):
        row = {
            "measurement": name,
            "wall_s": wall,
            "docs_per_s": n / wall,
            "cpu_s": cpu if cpu_counts else None,
            "docs_per_cpu_s": n / cpu if cpu_counts else None,
            "note": note,
        }
        rows.append(row)
        print(f"  {name}: {wall:.3f} s wall, {n / wall:,.0f} docs/s", file=sys.stderr)
        return row

    # ---- baselines -----------------------------------------------------
    cleaned = [clean_text(t) for t in texts]
    holder = {}

    def fresh_spacy():
        holder["nlp"] = spacy.blank("en")

    def spacy_pipe():
        return [[t.lower_ for t in doc if not t.is_space] for doc in holder["nlp"].tokenizer.pipe(cleaned, batch_size=1000)]

    *times, reference = best_of(spacy_pipe, args.repeats, setup=fresh_spacy)
    spacy_row = record("spaCy nlp.tokenizer.pipe, 1 process, cold", *times, "text cleaned beforehand, untimed")
    analyzer = CountVectorizer().build_analyzer()
    *times, _ = best_of(lambda: [analyzer(t) for t in texts], args.repeats)
    record("sklearn CountVectorizer().build_analyzer()", *times, "regex tokens, not spaCy's")

    # ---- ours ------------------------------------------------------------
    def fresh_ours():
        tokenization._ENGINES.clear()
        tokenization._NLP.clear()
        SpacyTokenizer().fit()  # loads the pipeline, untimed (as spacy.blank above)

    tok = SpacyTokenizer()
    *times, corpus = best_of(lambda: tok.transform(texts), args.repeats, setup=fresh_ours)
    cold_row = record("SpacyTokenizer n_jobs=1, cold", *times, "includes HTML cleaning")
    identical = sum(a == b for a, b in zip(corpus, reference))
    print(f"  tokens identical to spaCy's: {identical}/{n}", file=sys.stderr)

    *times, _ = best_of(lambda: tok.transform(texts), args.repeats)
    warm_row = record("SpacyTokenizer n_jobs=1, warm", *times, "second call in the same process")

    tok2 = SpacyTokenizer(n_jobs=2)
    start = time.perf_counter()
    fresh_ours()
    tok2.transform(texts[: min(n, 4000)])  # starts the loky worker
    startup = time.perf_counter() - start
    *times, corpus2 = best_of(lambda: tok2.transform(texts), args.repeats, setup=fresh_ours)
    jobs_row = record(
        "SpacyTokenizer n_jobs=2, cold", *times, f"worker started beforehand ({startup:.1f} s incl. a first call)", cpu_counts=False
    )
    assert corpus2 == corpus

    with tempfile.TemporaryDirectory() as cache_dir:
        cached = SpacyTokenizer(cache=cache_dir)
        fresh_ours()
        with timer() as first:
            cached.transform(texts)
        *times, again = best_of(lambda: cached.transform(texts), args.repeats)
        cache_row = record("SpacyTokenizer cache=True, second run", *times, f"hash texts + read one .npz (first run {first.seconds:.1f} s)")
        assert again == corpus

    # ---- encoding ----------------------------------------------------------
    enc = SequenceEncoder(max_tokens=args.max_tokens, maxlen=args.maxlen)
    fit_wall, _, _ = best_of(lambda: enc.fit(corpus), args.repeats)
    *times, _ = best_of(lambda: enc.transform(corpus), args.repeats)
    seq_row = record(f"SequenceEncoder.transform, maxlen={args.maxlen}", *times, f"ids + padding; fit {fit_wall:.2f} s")
    bag = BagEncoder(output_mode="tf_idf", max_tokens=args.max_tokens).fit(corpus)
    *times, _ = best_of(lambda: bag.transform(corpus), args.repeats)
    record("BagEncoder(tf_idf).transform", *times, "CSR")
    token_lists = corpus.to_list()
    tfidf = TfidfVectorizer(analyzer=lambda d: d, max_features=args.max_tokens - 2, norm=None).fit(token_lists)
    *times, _ = best_of(lambda: tfidf.transform(token_lists), args.repeats)
    record("sklearn TfidfVectorizer.transform, same token lists", *times, "CSR")

    keras_int = None
    if not args.skip_keras:
        import keras
        import tensorflow as tf

        joined = tf.constant([" ".join(doc) for doc in token_lists])
        for mode, kwargs in (("int", {"output_sequence_length": args.maxlen}), ("tf_idf", {})):
            layer = keras.layers.TextVectorization(
                max_tokens=args.max_tokens, standardize=None, split="whitespace", output_mode=mode, **kwargs
            )
            adapt_wall, _, _ = best_of(lambda: layer.adapt(joined, batch_size=1024), 1)
            *times, _ = best_of(lambda: layer(joined), args.repeats)
            row = record(
                f"keras TextVectorization({mode}) call", *times, f"adapt {adapt_wall:.1f} s; whitespace-joined tokens",
                cpu_counts=False,  # TensorFlow runs its own thread pool
            )
            keras_int = row if mode == "int" else keras_int

    # ---- report ----------------------------------------------------------
    ratios = {
        "tokenizer cold n_jobs=1 / spaCy (wall)": cold_row["docs_per_s"] / spacy_row["docs_per_s"],
        "tokenizer cold n_jobs=1 / spaCy (CPU)": cold_row["docs_per_cpu_s"] / spacy_row["docs_per_cpu_s"],
        "tokenizer cold n_jobs=2 / spaCy (wall)": jobs_row["docs_per_s"] / spacy_row["docs_per_s"],
        "tokenizer warm / spaCy (wall)": warm_row["docs_per_s"] / spacy_row["docs_per_s"],
        "tokenizer warm / spaCy (CPU)": warm_row["docs_per_cpu_s"] / spacy_row["docs_per_cpu_s"],
        "cache second run / cold (wall)": cache_row["docs_per_s"] / cold_row["docs_per_s"],
    }
    if keras_int is not None:
        ratios["SequenceEncoder / keras TextVectorization(int) (wall)"] = seq_row["docs_per_s"] / keras_int["docs_per_s"]
    print_table(rows, ["measurement", "wall_s", "docs_per_s", "cpu_s", "docs_per_cpu_s", "note"])
    print(f"\ntokens identical to spaCy's: {identical}/{n}\n")
    print_table([{"ratio": k, "value": v} for k, v in ratios.items()])
    params = {**vars(args), "documents": n, "identical_documents": identical, "ratios": ratios}
    path = write_results("bench_text", rows, params=params, results_dir=args.results_dir)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

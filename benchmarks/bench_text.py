"""Text pipeline speed on IMDB: the tokenizer against spaCy, then the encoders.

Tokenizer peer, measured fairly: one process, each side given the 25,000
training reviews and then the 25,000 test reviews, in that order.

- *cold*: the training set on fresh state (a new ``spacy.blank("en")``
  for spaCy; an empty span cache for ``SpacyTokenizer``);
- *warm*: the test set right after, each side keeping the state its
  training pass left (spaCy's own tokenizer cache, our span cache). No text
  is seen twice.

spaCy's side is ``nlp.tokenizer.pipe`` with token strings extracted
(``t.lower_`` of the non-space tokens, the same output as ours) on texts
cleaned *beforehand, untimed*; our side includes the cleaning, so the
headline ratio is conservative. The cleaning time is reported too, giving
the like-for-like ratio (raw text to tokens on both sides). Both sides run
in every repeat, alternating which goes first, each timing after a full
garbage collection; each figure is the best of ``--repeats`` (wall and CPU
seconds separately; CPU time of this process is what other jobs on a shared
machine disturb least). Tokens are compared
with spaCy's document by document, for both sets.

Also: ``SpacyTokenizer(n_jobs=2)`` cold, the disk cache, scikit-learn's
regex analyzer, and the encoders (``SequenceEncoder``, ``BagEncoder``)
against Keras ``TextVectorization`` and scikit-learn's ``TfidfVectorizer``
on the same tokens.

Results: tables on stdout, ``benchmarks/results/bench_text.json`` (with the
command and git commit).

Usage::

    python benchmarks/bench_text.py --data-dir ../shared/data
    python benchmarks/bench_text.py --only tokenizer --repeats 3   # the peer alone
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table, timer, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn):
    """(wall seconds, CPU seconds, result) of one call, after a full garbage collection (untimed)."""
    gc.collect()
    with timer() as t:
        result = fn()
    return t.seconds, t.cpu_seconds, result


def best_of(fn, repeats, setup=None):
    """Best wall and best CPU seconds of ``repeats`` calls (``setup`` untimed before each), and the last result."""
    wall = cpu = float("inf")
    result = None
    for _ in range(repeats):
        if setup is not None:
            setup()
        w, c, result = timed(fn)
        wall, cpu = min(wall, w), min(cpu, c)
    return wall, cpu, result


def tokenizer_peer(train, test, repeats):
    """Cold (train) then warm (test) on both sides, ``repeats`` times; best times and the outputs."""
    import spacy

    from toolkit.text import tokenizer as tokenization
    from toolkit.text.corpus import TokenizedCorpus
    from toolkit.text.tokenizer import SpacyTokenizer, clean_text

    clean = {}
    clean_times = {}
    for name, texts in (("train", train), ("test", test)):
        w, c, clean[name] = timed(lambda texts=texts: [clean_text(t) for t in texts])
        clean_times[name] = (w, c)

    def spacy_side():
        nlp = spacy.blank("en")  # fresh state, untimed
        run = lambda texts: [[t.lower_ for t in doc if not t.is_space] for doc in nlp.tokenizer.pipe(texts, batch_size=1000)]
        results = []
        for name in ("train", "test"):
            w, c, tokens = timed(lambda name=name: run(clean[name]))
            # kept compact (untimed): millions of live list items would slow the garbage collector in later timings
            results.append((w, c, TokenizedCorpus.from_token_lists(tokens)))
            del tokens
        return results

    def our_side():
        tokenization._ENGINES.clear()
        tokenization._NLP.clear()
        tok = SpacyTokenizer().fit()  # loads the pipeline, untimed (as spacy.blank above)
        return timed(lambda: tok.transform(train)), timed(lambda: tok.transform(test))

    best = {}
    outputs = {}  # the last repeat's output of each side and phase
    for r in range(repeats):
        sides = [("spacy", spacy_side), ("ours", our_side)]
        for side, run in sides if r % 2 == 0 else sides[::-1]:
            for phase, (w, c, out) in zip(("cold", "warm"), run()):
                key = (side, phase)
                old = best.get(key, (float("inf"), float("inf")))
                best[key] = (min(old[0], w), min(old[1], c))
                outputs[key] = out
                print(f"  repeat {r}: {side} {phase}: {w:.2f} s wall, {c:.2f} s CPU", file=sys.stderr)
    identical = {
        "train": sum(a == b for a, b in zip(outputs[("ours", "cold")], outputs[("spacy", "cold")])),
        "test": sum(a == b for a, b in zip(outputs[("ours", "warm")], outputs[("spacy", "warm")])),
    }  # document by document
    return best, clean_times, identical, outputs[("ours", "cold")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--limit", type=int, default=None, help="use only this many reviews of each set (default: all 25,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="shuffles the reviews (order only)")
    parser.add_argument("--maxlen", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=20000)
    parser.add_argument("--only", choices=["tokenizer", "all"], default="all",
                        help="'tokenizer': only the spaCy peer (cold and warm)")
    parser.add_argument("--skip-keras", action="store_true")
    parser.add_argument("--results-dir", default=None, help="default: benchmarks/results")
    parser.add_argument("--name", default="bench_text", help="results file name (without .json)")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    from toolkit.data.datasets import load_imdb
    from toolkit.text import tokenizer as tokenization
    from toolkit.text.encoders import BagEncoder, SequenceEncoder
    from toolkit.text.tokenizer import SpacyTokenizer

    tarball = Path(args.data_dir) / "aclImdb_v1.tar.gz"
    train, test = (
        list(load_imdb(split, path=tarball, shuffle=True, random_state=args.seed, limit=args.limit).texts)
        for split in ("train", "test")
    )
    n = len(train)
    print(f"{n} IMDB training and {len(test)} test reviews, {sum(map(len, train)) + sum(map(len, test)):,} characters",
          file=sys.stderr)
    rows = []

    def record(name, wall, cpu, note="", *, docs=n, cpu_counts=True):
        row = {
            "measurement": name,
            "documents": docs,
            "wall_s": wall,
            "docs_per_s": docs / wall,
            "cpu_s": cpu if cpu_counts else None,
            "docs_per_cpu_s": docs / cpu if cpu_counts else None,
            "note": note,
        }
        rows.append(row)
        print(f"  {name}: {wall:.3f} s wall, {cpu:.3f} s CPU, {docs / wall:,.0f} docs/s", file=sys.stderr)
        return row

    # ---- the tokenizer peer: train (cold) then test (warm), both sides -------
    best, clean_times, identical, corpus = tokenizer_peer(train, test, args.repeats)
    record("spaCy nlp.tokenizer.pipe, cold (train set)", *best[("spacy", "cold")], "fresh spacy.blank('en'); text cleaned beforehand, untimed")
    record("spaCy nlp.tokenizer.pipe, warm (test set next)", *best[("spacy", "warm")], "same nlp as its cold pass", docs=len(test))
    record("SpacyTokenizer, cold (train set)", *best[("ours", "cold")], "empty span cache; includes cleaning")
    record("SpacyTokenizer, warm (test set next)", *best[("ours", "warm")], "span cache of the train pass; includes cleaning",
           docs=len(test))
    record("clean_text, train set", *clean_times["train"], "spaCy's side does this untimed")
    record("clean_text, test set", *clean_times["test"], "", docs=len(test))
    (sc_w, sc_c), (sw_w, sw_c) = best[("spacy", "cold")], best[("spacy", "warm")]
    (oc_w, oc_c), (ow_w, ow_c) = best[("ours", "cold")], best[("ours", "warm")]
    ratios = {
        "cold (train): spaCy / ours, CPU": sc_c / oc_c,
        "cold (train): spaCy / ours, wall": sc_w / oc_w,
        "warm (test next): spaCy / ours, CPU": sw_c / ow_c,
        "warm (test next): spaCy / ours, wall": sw_w / ow_w,
        "cold, like for like (spaCy + clean_text) / ours, CPU": (sc_c + clean_times["train"][1]) / oc_c,
        "warm, like for like (spaCy + clean_text) / ours, CPU": (sw_c + clean_times["test"][1]) / ow_c,
    }
    print(f"  tokens identical to spaCy's: train {identical['train']}/{n}, test {identical['test']}/{len(test)}",
          file=sys.stderr)

    def save():  # after each section: a later crash (e.g. out of memory in Keras) keeps what was measured
        params = {**vars(args), "train_documents": n, "test_documents": len(test), "identical_documents": identical,
                  "ratios": ratios}
        return write_results(args.name, rows, params=params, results_dir=args.results_dir)

    save()

    if args.only == "all":
        analyzer = CountVectorizer().build_analyzer()
        *times, _ = best_of(lambda: [analyzer(t) for t in train], args.repeats)
        record("sklearn CountVectorizer().build_analyzer(), train set", *times, "regex tokens, not spaCy's")

        def fresh_ours():
            tokenization._ENGINES.clear()
            tokenization._NLP.clear()
            SpacyTokenizer().fit()

        tok2 = SpacyTokenizer(n_jobs=2)
        start = time.perf_counter()
        fresh_ours()
        tok2.transform(train[: min(n, 4000)])  # starts the loky worker
        startup = time.perf_counter() - start
        *times, corpus2 = best_of(lambda: tok2.transform(train), args.repeats, setup=fresh_ours)
        record("SpacyTokenizer n_jobs=2, cold (train set)", *times,
               f"worker started beforehand ({startup:.1f} s incl. a first call)", cpu_counts=False)
        assert corpus2 == corpus

        with tempfile.TemporaryDirectory() as cache_dir:
            cached = SpacyTokenizer(cache=cache_dir)
            fresh_ours()
            with timer() as first:
                cached.transform(train)
            *times, again = best_of(lambda: cached.transform(train), args.repeats)
            cache_row = record("SpacyTokenizer cache=True, second run (train set)", *times,
                               f"hash texts + read one .npz (first run {first.seconds:.1f} s)")
            assert again == corpus
        ratios["cache second run / cold, wall"] = oc_w / cache_row["wall_s"]
        save()

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
        save()

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
                if mode == "int":
                    ratios["SequenceEncoder / keras TextVectorization(int), wall"] = seq_row["docs_per_s"] / row["docs_per_s"]
                save()

    # ---- report ----------------------------------------------------------
    print_table(rows, ["measurement", "documents", "wall_s", "docs_per_s", "cpu_s", "docs_per_cpu_s", "note"])
    print(f"\ntokens identical to spaCy's: train {identical['train']}/{n}, test {identical['test']}/{len(test)}\n")
    print_table([{"ratio": k, "value": v} for k, v in ratios.items()])
    print(f"wrote {save()}", file=sys.stderr)


if __name__ == "__main__":
    main()

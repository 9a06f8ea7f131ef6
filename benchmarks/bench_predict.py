"""Prediction throughput of trained models on raw IMDB text, tokenization included.

Each model is a complete raw-text pipeline (``SpacyTokenizer`` first for the
toolkit models), trained on ``--n-train`` training reviews, then timed on
``--n-predict`` test reviews: batch throughput (one ``predict`` call over all
documents, docs/s) and single-document latency (median of ``--n-single``
one-review ``predict`` calls, ms). The peer is scikit-learn's TF-IDF +
LogisticRegression, measured in the same run.

``--breakdown`` adds, per model, the CPU seconds of each stage of the
same prediction on ``--n-predict`` other test reviews, timed after the batch
(so the batch figures are unaffected): spaCy tokenization (clean-up and
unigrams), n-grams and vocabulary ids, the padded rows (or the bag matrix),
and the model itself.

``--saved`` also saves each fitted model (``toolkit.save_model``; the peer
with ``joblib``, as scikit-learn users do), loads it in a fresh process and times the same batch there: what
``toolkit predict`` or a freshly started service pays. The toolkit's spaCy
span cache is per process and is not saved, so the loaded models tokenize
cold: every span of the batch is new to spaCy.

``--paired`` also fits the peer inside each model's process (and inside the
fresh process of ``--saved``) and times it on the same batch just before and
just after the model: the ratio ``paired_vs_peer`` (the peer's mean CPU
seconds over the model's) then compares two timings seconds apart, where the
default ratio compares processes a minute or more apart, across which this
shared VM's speed was seen to drift by 30%.

``--repeats R`` (twenty-first session) times R batches of ``--n-predict`` reviews
each, every batch new to the tokenizer (its span memo makes a repeated batch
cheaper), the peer paired around each with ``--paired``: the first batch's
figures stay the row's, and ``repeats_cpu_s`` / ``paired_cpu_vs_peer_mean``
(the peer's total CPU seconds over the model's) give all of them. One batch
is at the mercy of whether Python's full garbage collection runs inside it
(0.1-0.3 s for a loaded stack).

A model whose prediction cost grows with its training set (the
``"neighbors"`` member of ``STACK_MANY_JOB`` compares each review with every
training review) must be timed after a fit of the size it is recommended
for: ``--n-train 25000``.

Run::

    python benchmarks/bench_predict.py --seed 0
    python benchmarks/bench_predict.py --n-train 2000 --n-predict 2000   # quicker
    python benchmarks/bench_predict.py --n-train 2000 --n-predict 2000 --models peer_tfidf12_lr,nbsvm123,main_job --breakdown
    python benchmarks/bench_predict.py --n-train 25000 --n-predict 2000 --n-single 20 --breakdown \
        --models peer_tfidf12_lr,stack_many,stack_many_noknn --name bench_predict_stack_many_25k
    python benchmarks/bench_predict.py --n-train 25000 --n-predict 2000 --n-single 20 --saved \
        --models peer_tfidf12_lr,main_job,stack_many --name bench_predict_saved_25k
    python benchmarks/bench_predict.py --n-train 5000 --n-predict 2000 --n-single 20 --breakdown --saved \
        --paired --models peer_tfidf12_lr,stack_job --name bench_predict_stack_job_5k_paired

Writes ``benchmarks/results/bench_predict.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import current_rss_mb, peak_rss_mb, print_table, timer, write_results  # noqa: E402

NAME = "bench_predict"


def models(seed):
    """name -> (description, raw-text estimator)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit import NBSVMClassifier, SpacyTokenizer, StackedTextClassifier, make_text_classifier
    from toolkit.models.recipes import MAIN_JOB, STACK_JOB, STACK_MANY_JOB
    from toolkit.text.encoders import BagEncoder

    return {
        "peer_tfidf12_lr": ("sklearn TfidfVectorizer(1,2) + LogisticRegression",
                            make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                                          LogisticRegression(max_iter=1000))),
        "nbsvm123": ("SpacyTokenizer(ngram_range=(1, 3)) -> BagEncoder(multi_hot) -> NBSVMClassifier",
                     make_pipeline(SpacyTokenizer(ngram_range=(1, 3)), BagEncoder(output_mode="multi_hot"),
                                   NBSVMClassifier(random_state=seed))),
        "keras_bag": ("make_text_classifier(architecture='bag', maxlen=400), 2 epochs",
                      make_text_classifier(architecture="bag", maxlen=400, embedding_dim=50,
                                           epochs=2, random_state=seed)),
        "keras_cnn": ("make_text_classifier(architecture='cnn', maxlen=400), 2 epochs",
                      make_text_classifier(architecture="cnn", maxlen=400, embedding_dim=50,
                                           epochs=2, random_state=seed)),
        "stack": ("SpacyTokenizer() -> StackedTextClassifier(vectors='glove.6B.50d'): NBSVM 1-3-grams + pooled "
                  "GloVe, LR meta-learner",
                  make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors="glove.6B.50d", random_state=seed))),
        "stack_job": ("SpacyTokenizer() -> StackedTextClassifier(**toolkit.models.recipes.STACK_JOB): the few-label "
                      "recommendation (`toolkit train --model stack`)",
                      make_pipeline(SpacyTokenizer(), StackedTextClassifier(**STACK_JOB, random_state=seed))),
        "stack_many": ("SpacyTokenizer() -> StackedTextClassifier(**toolkit.models.recipes.STACK_MANY_JOB): the "
                       "many-label recommendation (`toolkit train --model stack-many`)",
                       make_pipeline(SpacyTokenizer(), StackedTextClassifier(**STACK_MANY_JOB, random_state=seed,
                                                                             n_jobs=2))),
        "stack_many_alldims": ("SpacyTokenizer() -> StackedTextClassifier(**STACK_MANY_JOB, neighbors_dims=None): the "
                               "many-label stack whose vote searches all 300 dimensions (the recipe until the "
                               "fifteenth session)",
                               make_pipeline(SpacyTokenizer(), StackedTextClassifier(
                                   **{**STACK_MANY_JOB, "neighbors_dims": None}, random_state=seed, n_jobs=2))),
        "stack_many_s15": ("SpacyTokenizer() -> StackedTextClassifier(**STACK_MANY_JOB, tail_tokens=None, "
                           "mark_negation=False): the many-label stack as it was before the seventeenth session "
                           "(no tail member, unmarked n-grams)",
                           make_pipeline(SpacyTokenizer(), StackedTextClassifier(
                               **{**STACK_MANY_JOB, "tail_tokens": None, "mark_negation": False}, random_state=seed,
                               n_jobs=2))),
        "stack_many_s17": ("SpacyTokenizer() -> StackedTextClassifier(**STACK_MANY_JOB, ratings_alpha=None): the "
                           "many-label stack as it was before the nineteenth session (no ratings member)",
                           make_pipeline(SpacyTokenizer(), StackedTextClassifier(
                               **{**STACK_MANY_JOB, "ratings_alpha": None}, random_state=seed, n_jobs=2))),
        "stack_many_noknn": ("SpacyTokenizer() -> StackedTextClassifier(**STACK_MANY_JOB, neighbors=None): the many-label "
                             "stack without its nearest-neighbours member (the tenth session's recipe)",
                             make_pipeline(SpacyTokenizer(), StackedTextClassifier(**{**STACK_MANY_JOB, "neighbors": None},
                                                                                   random_state=seed, n_jobs=2))),
        "main_job": ("make_text_classifier(**toolkit.models.recipes.MAIN_JOB): the recommended model "
                     "(1-3-grams, NBSVM++ + GloVe branch)",
                     make_text_classifier(**MAIN_JOB, random_state=seed)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-predict", type=int, default=5000)
    parser.add_argument("--n-single", type=int, default=50)
    parser.add_argument("--models", default="all")
    parser.add_argument("--name", default=NAME, help="results file name (results/<name>.json)")
    parser.add_argument("--breakdown", action="store_true", help="also time each stage of prediction")
    parser.add_argument("--saved", action="store_true",
                        help="also time the batch from the saved model loaded in a fresh process (cold caches)")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--paired", action="store_true",
                        help="also time the peer in each model's own process, on the same batch, just before "
                             "and just after the model (a ratio free of drift between processes)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="time this many batches of --n-predict new reviews each (see the module docstring)")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # a saved model to time (--saved's fresh process)
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir  # offline data folder: vectors by manifest name

    import numpy as np

    from toolkit import load_imdb

    train = load_imdb("train", data_dir=args.data_dir, shuffle=True, random_state=args.seed,
                      limit=args.n_train)
    n_extra = args.n_predict if args.breakdown else 0
    n_repeats = args.n_predict * (args.repeats - 1)
    test = load_imdb("test", data_dir=args.data_dir, shuffle=True, random_state=args.seed,
                     limit=args.n_predict + args.n_single + n_extra + n_repeats)
    # single-document calls use reviews the batch did not see (no warm memo)
    texts, labels = list(test.texts[: args.n_predict]), np.asarray(test.labels[: args.n_predict])
    singles = list(test.texts[args.n_predict:args.n_predict + args.n_single])
    others = list(test.texts[args.n_predict + args.n_single:][:n_extra])  # for --breakdown
    later = list(test.texts[args.n_predict + args.n_single + n_extra:])  # --repeats' other batches
    batches = [texts] + [later[i:i + args.n_predict] for i in range(0, n_repeats, args.n_predict)]
    n_chars = sum(map(len, texts))
    if not args.only:
        # one fresh process per model: no warm tokenizer memo or imports shared between rows
        names = ["peer_tfidf12_lr", "nbsvm123", "keras_bag", "keras_cnn", "main_job"] if args.models == "all" \
            else args.models.split(",")
        rows = []
        for name in names:
            cmd = [sys.executable, __file__, "--only", name] + [
                a for a in (argv if argv is not None else sys.argv[1:])]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            found = [ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")]
            if proc.returncode or not found:
                sys.stderr.write(proc.stderr[-3000:])
                rows.append({"model": name, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]})
            else:
                rows.append(json.loads(found[-1][4:]))
            print_table(rows[-1:])
        report(args, rows)
        return

    if args.load:  # --saved's fresh process: load, warm up, time the same batch
        from toolkit import load_model

        rss_before_load_mb = current_rss_mb()  # the data read above
        with timer() as load_t:
            if args.load.endswith(".joblib"):
                import joblib

                model = joblib.load(args.load)
            else:
                model = load_model(args.load)
        load_rss_mb = current_rss_mb()  # with the loaded model, before any prediction
        model.predict(texts[:10])
        peer = paired_peer(args, train) if args.paired and not args.load.endswith(".joblib") else None
        with paired(peer, texts) as pair, timer() as batch_t:
            pred = model.predict(texts)
        more = repeated(model, peer, batches[1:], batch_t.cpu_seconds, pair)
        print("LOADED " + json.dumps({
            "load_s": round(load_t.seconds, 1),
            "load_rss_added_mb": round(load_rss_mb - rss_before_load_mb),  # the model and what loading it imported
            "docs_per_s": round(len(texts) / batch_t.seconds, 1),
            "docs_per_cpu_s": round(len(texts) / batch_t.cpu_seconds, 1),
            "cpu_s": round(batch_t.cpu_seconds, 2),
            "accuracy": round(float(np.mean(np.asarray(pred) == labels)), 4),
            **pair.row(batch_t.cpu_seconds),
            **more,
        }), flush=True)
        return

    catalogue = models(args.seed)
    rows = []
    for name in [args.only]:
        description, model = catalogue[name]
        # a stack with a "ratings" member (STACK_MANY_JOB since the nineteenth session) learns the stars too
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        stars = ({f"{model.steps[-1][0]}__ratings": train.ratings}
                 if getattr(final, "ratings_alpha", None) is not None else {})
        with timer() as fit_t:
            model.fit(train.texts, train.labels, **stars)
        # saved before any test review is tokenized: the span table in the folder holds training spans only
        saved = save_now(model, name) if args.saved else None
        model.predict(texts[:10])  # warm-up (lazy imports, graph tracing)
        peer = paired_peer(args, train) if args.paired and name != "peer_tfidf12_lr" else None
        load_before = os.getloadavg()[0]
        with paired(peer, texts) as pair, timer() as batch_t:
            pred = model.predict(texts)
        more = repeated(model, peer, batches[1:], batch_t.cpu_seconds, pair)
        single = []
        for text in singles:
            with timer() as one:
                model.predict([text])
            single.append(one.seconds)
        rows.append({
            "model": name,
            "docs_per_s": round(len(texts) / batch_t.seconds, 1),
            "docs_per_cpu_s": round(len(texts) / batch_t.cpu_seconds, 1),
            "chars_per_s": round(n_chars / batch_t.seconds),
            "batch_s": round(batch_t.seconds, 2),
            "cpu_s": round(batch_t.cpu_seconds, 2),
            "single_doc_ms": round(1000 * statistics.median(single), 2),
            "accuracy": round(float(np.mean(np.asarray(pred) == labels)), 4),
            "fit_s": round(fit_t.seconds, 1),
            "peak_mb": round(peak_rss_mb()),
            "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "description": description,
            **pair.row(batch_t.cpu_seconds),
            **more,
        })
        if args.breakdown:
            rows[-1]["stages_cpu_s"] = stage_times(model, others)
        if saved:
            rows[-1]["loaded"] = time_saved(saved, argv)
    print("ROW " + json.dumps(rows[-1]), flush=True)


def paired_peer(args, train):
    """The peer (TF-IDF + LR) fitted in this process on the same training reviews, warmed up."""
    _description, peer = models(args.seed)["peer_tfidf12_lr"]
    peer.fit(train.texts, train.labels)
    peer.predict(train.texts[: args.n_predict])  # warm-up at the batch's size (a stateless model: other texts)
    return peer


class paired:
    """Context manager: times ``peer.predict(texts)`` just before and just after the block (no-op without a peer).

    ``row(model_cpu_s)`` gives the peer's CPU seconds and the model's throughput relative to it
    (the mean of the two peer timings over the model's), measured in one process a few seconds apart.
    """

    def __init__(self, peer, texts):
        self.peer, self.texts, self.times = peer, texts, []

    def _time_peer(self):
        with timer() as t:
            self.peer.predict(self.texts)
        self.times.append(t.cpu_seconds)

    def __enter__(self):
        if self.peer is not None:
            self._time_peer()
        return self

    def __exit__(self, *exc):
        if self.peer is not None and exc[0] is None:
            self._time_peer()
        return False

    def row(self, model_cpu_s):
        if len(self.times) != 2:
            return {}
        mean = sum(self.times) / 2
        return {"paired_peer_cpu_s": [round(t, 3) for t in self.times],
                "paired_cpu_vs_peer": round(mean / model_cpu_s, 3)}


def repeated(model, peer, batches, first_cpu_s, first_pair):
    """``--repeats``: the model's CPU seconds on each further batch (the peer paired around each), with the first
    batch's; {} with one batch."""
    if not batches:
        return {}
    cpu, peer_cpu = [first_cpu_s], list(first_pair.times)
    for batch in batches:
        with paired(peer, batch) as pair, timer() as t:
            model.predict(batch)
        cpu.append(t.cpu_seconds)
        peer_cpu += pair.times
    out = {"repeats_cpu_s": [round(c, 3) for c in cpu]}
    if peer is not None:
        out["paired_cpu_vs_peer_mean"] = round((sum(peer_cpu) / 2) / sum(cpu), 3)
    return out


def save_now(model, name):
    """Save the fitted ``model`` to a temporary folder: (the saved path, seconds)."""
    import tempfile

    from toolkit import save_model

    folder = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    # the peer as scikit-learn users save it (joblib; skops would write its n-gram dict as ~1 GB of JSON)
    target = folder / ("model.joblib" if name.startswith("peer") else "model")
    with timer() as save_t:
        if target.suffix == ".joblib":
            import joblib

            joblib.dump(model, target)
        else:
            save_model(model, target)
    return target, save_t.seconds


def time_saved(saved, argv):
    """Time the batch in a fresh process that loads the saved model (``--load``); that process's figures."""
    import shutil

    target, save_s = saved
    folder = target.parent
    try:
        args = [a for a in (argv if argv is not None else sys.argv[1:])]
        proc = subprocess.run([sys.executable, __file__, "--load", str(target)] + args,
                              capture_output=True, text=True)
        found = [ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED ")]
        if proc.returncode or not found:
            sys.stderr.write(proc.stderr[-3000:])
            return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
        return {"save_s": round(save_s, 1), **json.loads(found[-1][len("LOADED "):])}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(args, rows):
    peer = next((r for r in rows if r["model"] == "peer_tfidf12_lr"), None)
    for row in rows:
        if peer and "docs_per_s" in row and "docs_per_s" in peer:
            row["throughput_vs_peer"] = round(row["docs_per_s"] / peer["docs_per_s"], 3)
            # CPU-time ratio: less inflated than wall time when the machine is shared
            row["cpu_throughput_vs_peer"] = round(row["docs_per_cpu_s"] / peer["docs_per_cpu_s"], 3)
        for where, figures in (("", row), ("loaded_", row.get("loaded", {}))):
            if "paired_cpu_vs_peer" in figures:
                row[f"{where}paired_vs_peer"] = figures["paired_cpu_vs_peer"]
        loaded, peer_loaded = row.get("loaded", {}), (peer or {}).get("loaded", {})
        if "docs_per_cpu_s" in loaded and "docs_per_cpu_s" in peer_loaded:
            row["loaded_cpu_s"] = loaded["cpu_s"]
            row["loaded_cpu_vs_peer"] = round(loaded["docs_per_cpu_s"] / peer_loaded["docs_per_cpu_s"], 3)
            row["loaded_vs_peer"] = round(loaded["docs_per_s"] / peer_loaded["docs_per_s"], 3)
    print_table(rows, ["model", "docs_per_s", "throughput_vs_peer", "cpu_throughput_vs_peer", "single_doc_ms", "batch_s",
                       "cpu_s", "accuracy", "fit_s", "peak_mb"]
                + (["loaded_cpu_s", "loaded_cpu_vs_peer", "loaded_vs_peer"] if args.saved else [])
                + (["paired_vs_peer"] + (["loaded_paired_vs_peer"] if args.saved else []) if args.paired else []))
    for row in rows:
        if "stages_cpu_s" in row:
            print(f"{row['model']}: " + ", ".join(f"{k} {v:.3f}" for k, v in row["stages_cpu_s"].items()))
    print(f"wrote {write_results(args.name, rows, params=vars(args))}")


def stage_times(model, texts):
    """CPU seconds of each stage of ``model.predict(texts)`` (a Pipeline), in order."""
    from sklearn.base import clone

    from toolkit import SpacyTokenizer
    from toolkit.models import EmbeddingClassifier

    stages = {}
    X = texts
    for name, step in model.steps[:-1]:
        if isinstance(step, SpacyTokenizer):
            with timer() as t:
                unigrams = clone(step).set_params(ngram_range=(1, 1)).transform(X)
            stages["tokenize (clean-up, spaCy, unigrams)"] = t.cpu_seconds
            with timer() as t:
                X = unigrams.ngrams(step.ngram_range)
            stages["n-grams"] = t.cpu_seconds
        else:
            with timer() as t:
                X = step.transform(X)
            stages[name] = t.cpu_seconds
    final = model.steps[-1][1]
    if isinstance(final, EmbeddingClassifier):
        tokens = X
        with timer() as t:
            final.vocabulary_.encode(tokens)
        stages["vocabulary ids"] = t.cpu_seconds
        if hasattr(tokens, "_source"):  # a fresh lazy n-gram corpus, as predict gets
            tokens = tokens._source.ngrams(tokens._ngram_range)
        with timer() as t:
            sequences = final._sequences(final._corpus(tokens, allow_empty=True))
        stages["padded rows (incl. ids)"] = t.cpu_seconds
        with timer() as t:
            final._model_outputs(sequences)
        stages[f"keras model {tuple(sequences.shape)}"] = t.cpu_seconds
    else:
        with timer() as t:
            final.predict(X)
        stages[model.steps[-1][0]] = t.cpu_seconds
    return {k: round(v, 3) for k, v in stages.items()}


if __name__ == "__main__":
    main()

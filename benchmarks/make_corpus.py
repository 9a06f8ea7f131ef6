"""Seeded synthetic corpora of any size from the sentences of the 100,000 IMDB reviews.

Run::

    TOOLKIT_DATA_DIR=/work/shared/data python benchmarks/make_corpus.py --n-docs 250000 \
        --output /tmp/corpora/imdb-250k.jsonl

Every generated document takes the number of sentences of a random labelled
review and its label; each sentence comes, with probability 0.5, from a review
of that label (so the labels stay learnable) and otherwise from any of the
100,000 reviews (train, test and unsup). Word frequencies therefore stay
IMDB's, the vocabulary keeps growing slowly with the corpus as real text does,
and the same seed gives the same file. Output: JSON lines
``{"text": ..., "label": "pos"|"neg"}``, written to a temporary file and
renamed when complete.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def _sentences(text: str) -> list[str]:
    text = text.replace("<br />", " ")
    return [s for s in _SENTENCE_END.split(text) if s]


def load_pools():
    """Sentences of all 100,000 reviews, the labelled reviews' sentence ranges and labels."""
    from toolkit.data.datasets import load_imdb

    pool: list[str] = []
    doc_ranges, doc_labels = [], []
    for split in ("train", "test", "unsup"):
        data = load_imdb(split)
        for text, label in zip(data.texts, data.labels.tolist()):
            sents = _sentences(text)
            if label >= 0:
                doc_ranges.append((len(pool), len(sents)))
                doc_labels.append(label)
            pool.extend(sents)
    return pool, np.asarray(doc_ranges, dtype=np.int64), np.asarray(doc_labels, dtype=np.int64)


def generate(n_docs: int, output: Path, *, seed: int = 0, chunk: int = 50_000) -> dict:
    pool, ranges, labels = load_pools()
    by_label = {}
    for label in (0, 1):
        starts, counts = ranges[labels == label, 0], ranges[labels == label, 1]
        by_label[label] = np.concatenate([np.arange(s, s + c) for s, c in zip(starts.tolist(), counts.tolist())])
    rng = np.random.default_rng(seed)
    names = ("neg", "pos")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    n_bytes = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for start in range(0, n_docs, chunk):
                m = min(chunk, n_docs - start)
                templates = rng.integers(0, len(ranges), size=m)
                n_sents = np.maximum(ranges[templates, 1], 1)
                doc_label = labels[templates]
                total = int(n_sents.sum())
                owner = np.repeat(doc_label, n_sents)
                same = rng.random(total) < 0.5
                picks = rng.integers(0, len(pool), size=total)
                for label in (0, 1):
                    mask = same & (owner == label)
                    picks[mask] = by_label[label][rng.integers(0, len(by_label[label]), size=int(mask.sum()))]
                bounds = np.concatenate([[0], np.cumsum(n_sents)])
                lines = []
                for i in range(m):
                    text = " ".join(pool[j] for j in picks[bounds[i]:bounds[i + 1]].tolist())
                    lines.append(json.dumps({"text": text, "label": names[doc_label[i]]}) + "\n")
                block = "".join(lines)
                n_bytes += len(block)
                fh.write(block)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"n_docs": n_docs, "bytes": n_bytes, "pool_sentences": len(pool), "seed": seed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-docs", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    info = generate(args.n_docs, args.output, seed=args.seed)
    print(json.dumps({**info, "seconds": round(time.perf_counter() - t0, 1), "output": str(args.output)}),
          file=sys.stderr)


if __name__ == "__main__":
    main()

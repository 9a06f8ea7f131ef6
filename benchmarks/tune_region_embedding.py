"""Validation probe: region embeddings learned on the unlabelled reviews as stack members (twentieth session).

Johnson & Zhang (2015, "Semi-supervised convolutional neural networks for text
categorization via region embedding") learn a *tv-embedding* on unlabelled
text: a region of ``p`` words (a bag) -> ``h = relu(W x + b)`` -> the words of the
two adjacent regions. Here, at a CPU budget (one pass over every second region
of IMDB's 50,000 unlabelled reviews; no training or test review enters it):
``h`` has 100 units, ``p = 5``, the vocabulary is the 30,000 most frequent
tokens of the unlabelled reviews, the targets are scored by sigmoids against 20
negative samples per region (unigram^0.75 noise; frequent target words
down-weighted as in word2vec), Adam at 2e-3, batches of 1,024 regions. The
trained ``W, b`` are cached in the work folder.

Two probe members read it, each scored like ``tune_stack_folds.py``'s members
(same validation split by movie, same folds, cached in the same folder):

- ``tv100``: the mean and the max over a review's regions of ``h``
  (200 features) -> ``StandardScaler`` -> ``LogisticRegressionCV``, like the
  ``"vectors"`` member;
- ``tvtypes2``: each region's *type*, its two strongest units (4,950 types),
  as tokens -> NBSVM on their 1-2-grams, like the cluster n-grams of the
  seventh session but over regions instead of words.

The table stacks them with ``STACK_MANY_JOB``'s members (meta-learner as in
``StackedTextClassifier``: standardized out-of-fold scores -> LR, C=1): on top
of the recipe, in place of its ``"vectors"`` member, and on the ablation.
Validation reviews only; no test text.

Run (after ``tune_stack_folds.py --split movie`` cached the recipe's members for each seed)::

    python benchmarks/tune_region_embedding.py --seeds 0,1,2,3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import print_table, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from tune_stack_folds import save_scores, score_file  # noqa: E402
from tune_stack_meta import cached, meta_learner, movie_split, seed_table  # noqa: E402

NAME = "tune_region_embedding"
RECIPE = ("negmarkpp", "negmark", "tail20neg", "ratings_ridge0.03")  # STACK_MANY_JOB's members without vectors
VECTORS = ("vectors", "vectors_knn300_pca50")


def train_tv(path, *, data_dir, dim=100, p=5, stride=2, epochs=1.0, vocab_size=30_000, neg=20, batch=1024, seed=0):
    """Train the tv-embedding on IMDB's unlabelled reviews and save ``W, b, vocab, p`` to ``path`` (npz)."""
    import numpy as np
    import tensorflow as tf

    from toolkit.data import load_imdb
    from toolkit.text import SpacyTokenizer

    corpus = SpacyTokenizer().transform(list(load_imdb("unsup", data_dir=data_dir).texts))
    counts = np.bincount(corpus.ids, minlength=len(corpus.strings))
    top = np.argsort(-counts, kind="stable")[:vocab_size]
    remap = np.zeros(len(corpus.strings), dtype=np.int32)
    remap[top] = np.arange(1, len(top) + 1)  # 0: out of the vocabulary
    ids = remap[corpus.ids]
    doc = np.repeat(np.arange(len(corpus.offsets) - 1), np.diff(corpus.offsets)).astype(np.int32)
    start = np.arange(ids.size)
    ok = start + p <= ids.size
    ok[ok] &= doc[start[ok] + p - 1] == doc[start[ok]]  # the region lies in one review
    starts = start[ok][::stride]
    freq = np.bincount(ids, minlength=vocab_size + 1).astype(np.float64)
    freq[0] = 0
    share = freq / freq.sum()
    keep = np.where(share > 0, np.minimum(1.0, np.sqrt(1e-4 / np.maximum(share, 1e-12))), 0).astype(np.float32)
    noise = np.log(freq ** 0.75 / (freq ** 0.75).sum() + 1e-30)[None, :].astype(np.float32)
    tf.random.set_seed(seed)
    V = vocab_size + 1
    W = tf.Variable(tf.random.normal((V, dim), stddev=0.1))
    b = tf.Variable(tf.zeros((dim,)))
    U = tf.Variable(tf.zeros((V, dim)))
    c = tf.Variable(tf.zeros((V,)))
    opt = tf.keras.optimizers.Adam(learning_rate=2e-3)
    ids_tf = tf.constant(np.concatenate([ids, np.zeros(2 * p, np.int32)]))
    doc_tf = tf.constant(np.concatenate([doc, np.full(2 * p, -1, np.int32)]))
    keep_tf, noise_tf = tf.constant(keep), tf.constant(noise)

    @tf.function
    def step(t):
        k = tf.range(p)
        region = tf.gather(ids_tf, t[:, None] + k[None, :])
        where = tf.concat([t[:, None] - p + k[None, :], t[:, None] + p + k[None, :]], axis=1)  # adjacent regions
        clipped = tf.maximum(where, 0)
        target = tf.gather(ids_tf, clipped)
        inside = tf.logical_and(where >= 0, tf.equal(tf.gather(doc_tf, clipped), tf.gather(doc_tf, t)[:, None]))
        weight = tf.where(inside, tf.gather(keep_tf, target), 0.0)
        negative = tf.reshape(tf.cast(tf.random.categorical(noise_tf, tf.shape(t)[0] * neg), tf.int32), (-1, neg))
        with tf.GradientTape() as tape:
            mask = tf.cast(region > 0, tf.float32)[:, :, None]
            h = tf.nn.relu(tf.reduce_sum(tf.gather(W, region) * mask, axis=1) + b)
            pos = tf.einsum("bd,bkd->bk", h, tf.gather(U, target)) + tf.gather(c, target)
            negs = tf.einsum("bd,bkd->bk", h, tf.gather(U, negative)) + tf.gather(c, negative)
            loss = (tf.reduce_sum(weight * tf.nn.softplus(-pos)) / tf.maximum(tf.reduce_sum(weight), 1.0)
                    + tf.reduce_mean(tf.nn.softplus(negs)) * neg / (2 * p))
        opt.apply_gradients(zip(tape.gradient(loss, [W, b, U, c]), [W, b, U, c]))
        return loss

    rng = np.random.default_rng(seed)
    order = rng.permutation(starts.size)
    started = time.perf_counter()
    for i in range(int(epochs * starts.size / batch)):
        step(tf.constant(starts[order[i * batch % starts.size:][:batch]].astype(np.int32)))
    trained_s = time.perf_counter() - started
    vocab = np.array([corpus.strings[i] for i in top], dtype=object)
    with open(path, "wb") as fh:
        np.savez(fh, W=W.numpy(), b=b.numpy(), vocab=vocab, p=p, trained_s=trained_s)
    return trained_s


class Regions:
    """``h`` of every region of each review (regions of p tokens inside the review; a shorter review is one region)."""

    def __init__(self, path):
        import numpy as np

        z = np.load(path, allow_pickle=True)
        self.W, self.b, self.p = z["W"].copy(), z["b"], int(z["p"])
        self.W[0] = 0.0
        self.index = {w: i + 1 for i, w in enumerate(z["vocab"])}

    def __call__(self, corpus, chunk=2000):
        """Yield (h of the chunk's regions, row of each region's review within the chunk, n reviews) per chunk."""
        import numpy as np

        sid = np.fromiter((self.index.get(s, 0) for s in corpus.strings), dtype=np.int64, count=len(corpus.strings))
        offsets = corpus.offsets
        for first in range(0, len(offsets) - 1, chunk):
            last = min(first + chunk, len(offsets) - 1)
            offs = offsets[first:last + 1] - offsets[first]
            ids = sid[corpus.ids[offsets[first]:offsets[last]]]
            lens = np.diff(offs)
            row = np.repeat(np.arange(len(lens)), lens)
            end, begin = offs[1:][row], offs[:-1][row]
            E = self.W[ids]
            S = np.zeros_like(E)
            pos = np.arange(ids.size)
            for k in range(self.p):
                m = pos + k < end
                S[m] += E[pos[m] + k]
            valid = (pos + self.p <= end) | ((lens[row] < self.p) & (pos == begin))
            yield S[valid] + self.b, row[valid], len(lens)


def pooled(regions, corpus):
    """Mean and max of relu(h) over each review's regions."""
    import numpy as np

    out = []
    for H, row, n in regions(corpus):
        H = np.maximum(H, 0)
        counts = np.bincount(row, minlength=n)
        mean, top = np.zeros((n, H.shape[1]), np.float32), np.zeros((n, H.shape[1]), np.float32)
        nz = np.flatnonzero(counts)
        bounds = np.concatenate([[0], np.cumsum(counts[nz])[:-1]])
        mean[nz] = np.add.reduceat(H, bounds, axis=0) / counts[nz, None]
        top[nz] = np.maximum.reduceat(H, bounds, axis=0)
        out.append(np.hstack([mean, top]))
    return np.vstack(out)


def types(regions, corpus):
    """Each region as a token naming its two strongest units ("r-1" where no unit is active)."""
    import numpy as np

    from toolkit.text.corpus import TokenizedCorpus

    docs = []
    for H, row, n in regions(corpus):
        two = np.sort(np.argpartition(-H, 1, axis=1)[:, :2], axis=1)
        code = two[:, 0] * H.shape[1] + two[:, 1]
        code[H.max(axis=1) <= 0] = -1
        split = np.split(code, np.cumsum(np.bincount(row, minlength=n))[:-1])
        docs += [[f"r{x}" for x in c.tolist()] for c in split]
    return TokenizedCorpus.from_token_lists(docs)


def member_scores(name, seed, X_fit, y_fit, X_val, folds, regions):
    """(out-of-fold scores, validation scores of each fold fit, of the full fit) of a probe member."""
    import numpy as np
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from toolkit.models.naive_bayes import NBSVMClassifier
    from toolkit.models.stacking import word_ngrams
    from toolkit.text.encoders import BagEncoder

    if name == "tv100":
        F, V = pooled(regions, X_fit), pooled(regions, X_val)

        def model():
            return make_pipeline(StandardScaler(), LogisticRegressionCV(
                Cs=[0.001, 0.01, 0.1, 1.0], cv=5, max_iter=2000, scoring="accuracy", l1_ratios=(0.0,),
                use_legacy_attributes=False))
        take = lambda A, idx: A[idx]  # noqa: E731
    else:
        F, V = types(regions, X_fit), types(regions, X_val)

        def model():
            return make_pipeline(FunctionTransformer(word_ngrams, kw_args={"ngram_range": (1, 2)}, validate=False,
                                                     check_inverse=False),
                                 BagEncoder(output_mode="multi_hot"), NBSVMClassifier(C=0.01, random_state=seed))
        take = lambda A, idx: A.take(idx)  # noqa: E731
    oof, per_fold = np.zeros(len(y_fit)), []
    for train, test in folds:
        est = model().fit(take(F, train), y_fit[train])
        oof[test] = est.decision_function(take(F, test))
        per_fold.append(est.decision_function(V))
    return oof, np.array(per_fold), model().fit(F, y_fit).decision_function(V)


def main(argv=None):
    import numpy as np

    from toolkit.models.stacking import _folds

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR"))
    p.add_argument("--work-dir", default=default_work_dir(), help="token and score cache folder")
    p.add_argument("--name", default=NAME)
    args = p.parse_args(argv)
    model_path = Path(args.work_dir) / "tv_embedding_d100_p5_stride2_e1.npz"
    if not model_path.exists():
        tmp = model_path.with_suffix(".tmp")
        print(f"tv-embedding: trained in {train_tv(tmp, data_dir=args.data_dir):.0f} s", flush=True)
        os.replace(tmp, model_path)
    regions = Regions(model_path)
    probes = ("tv100", "tvtypes2")
    stacks = [RECIPE + VECTORS, RECIPE, *[RECIPE + VECTORS + (q,) for q in probes],
              *[RECIPE + (q, VECTORS[1]) for q in probes], *[RECIPE + (q,) for q in probes],
              RECIPE + probes, RECIPE + VECTORS[:1]]
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        X_fit, y_fit, X_val, y_val, _ = movie_split(seed, args.data_dir, args.work_dir)
        folds = _folds(5, y_fit, None, seed)  # tune_stack_folds.py's folds
        for name in probes:
            key = score_file(Path(args.work_dir) / "tune_stack_folds", name, seed, "_movie", len(y_fit), len(y_val), 5)
            if not key.exists():
                started = time.perf_counter()
                oof, per_fold, full = member_scores(name, seed, X_fit, y_fit, X_val, folds, regions)
                save_scores(key, oof=oof, folds=per_fold, full=full, fit_s=time.perf_counter() - started)
        scores = {name: cached(args.work_dir, name, seed) for name in dict.fromkeys(sum(stacks, ()))}  # each read once
        for name in probes:
            full = scores[name][1]
            rows.append({"seed": seed, "model": name, "val_accuracy": round(float(np.mean((full > 0) == (y_val == np.unique(y_fit)[1]))), 4)})
        for stack in stacks:
            meta = meta_learner().fit(np.column_stack([scores[name][0] for name in stack]), y_fit)
            pred = meta.predict(np.column_stack([scores[name][1] for name in stack]))
            rows.append({"seed": seed, "model": "stack:" + "+".join(stack), "val_accuracy": round(float(np.mean(pred == y_val)), 4),
                         "weights": np.round(meta[-1].coef_[0], 2).tolist()})
    print_table(seed_table(rows, "model"))
    write_results(args.name, rows, params=vars(args))


if __name__ == "__main__":
    main()

"""The ``"neighbors"`` member's search: toolkit's ``NeighborVote`` against scikit-learn's own.

Both vote with the ``--k`` nearest of ``--n-train`` IMDB training reviews
(distance-weighted, Euclidean on L2-normalized SIF-pooled ``DOMAIN_VECTORS``,
exactly the ``"neighbors"`` member of ``STACK_MANY_JOB``) for ``--n-predict``
test reviews. The peer is :class:`sklearn.neighbors.KNeighborsClassifier`
(``algorithm="brute"``), the class ``NeighborVote`` extends, timed in the same
run on the same vectors. Each configuration runs in a fresh process (so the
first call pays for fresh memory, as a one-off prediction does), ``--repeats``
times: the table gives the first call and the median of the later ones, CPU and
wall seconds, and checks that both find the same neighbours (share of the
``k`` neighbours in common, largest difference of ``predict_proba``). The last
configuration searches in 50 principal components of the vectors, as
``STACK_MANY_JOB``'s member does since the fifteenth session (the projection of
the new documents is timed with it): not the same neighbours, by design; the
shares say how far they are.

The pooled vectors are cached under the work folder (``--work-dir``); the
vectors themselves come from the toolkit's cache (trained on first use).

Run::

    python benchmarks/bench_neighbors.py --seed 0

Writes ``benchmarks/results/bench_neighbors.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import print_table, timer, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402

NAME = "bench_neighbors"
CONFIGS = {  # name -> (class, n_jobs, principal components searched or None)
    "sklearn KNeighborsClassifier (n_jobs=None; its search uses every core)": ("sklearn", None, None),
    "toolkit NeighborVote (n_jobs=None: one thread)": ("toolkit", None, None),
    "toolkit NeighborVote (n_jobs=-1)": ("toolkit", -1, None),
    "toolkit NeighborVote in 50 principal components (STACK_MANY_JOB's neighbors_dims; one thread)": ("toolkit", None, 50),
}


def pooled(args):
    """(train vectors, train labels, test vectors) as .npy paths, computed once per seed and size."""
    import numpy as np

    folder = Path(args.work_dir) / NAME
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"sif_seed{args.seed}_n{args.n_train}_p{args.n_predict}"
    paths = [Path(f"{stem}_{part}.npy") for part in ("train", "labels", "test")]
    if all(p.exists() for p in paths):
        return paths
    from sklearn.preprocessing import normalize

    from toolkit import SpacyTokenizer, load_imdb
    from toolkit.models.recipes import DOMAIN_VECTORS
    from toolkit.vectors.pooling import EmbeddingVectorizer

    train = load_imdb("train", shuffle=True, random_state=args.seed, limit=args.n_train)
    test = load_imdb("test", shuffle=True, random_state=args.seed, limit=args.n_predict)
    tokenizer = SpacyTokenizer()
    pool = EmbeddingVectorizer(vectors=DOMAIN_VECTORS, pooling="sif").fit(tokenizer.fit_transform(train.texts))
    arrays = (normalize(pool.transform(tokenizer.transform(train.texts))), np.asarray(train.labels),
              normalize(pool.transform(tokenizer.transform(test.texts))))
    for path, array in zip(paths, arrays):
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, array)
        os.replace(tmp, path)
    return paths


def child(args):
    """One configuration, in this (fresh) process: print one JSON row."""
    from contextlib import nullcontext

    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from toolkit.models.stacking import NeighborVote, _CappedPCA, _one_blas_thread

    kind, n_jobs, dims = CONFIGS[args.only]
    train, labels, test = (np.load(p) for p in pooled(args))
    cls = KNeighborsClassifier if kind == "sklearn" else NeighborVote
    knn = cls(n_neighbors=args.k, weights="distance", algorithm="brute", n_jobs=n_jobs)
    # in fewer dimensions: the projection of the new documents is timed with the search
    model = (knn if dims is None else make_pipeline(_CappedPCA(n_components=dims), knn)).fit(train, labels)
    model.predict_proba(test[:10])  # warm-up: imports, thread pools
    times = []
    # the projection under one BLAS thread, as inside StackedTextClassifier's prediction (idle OpenBLAS
    # threads would spin on the other core)
    with nullcontext() if dims is None else _one_blas_thread():
        for _ in range(args.repeats):
            with timer() as t:
                proba = model.predict_proba(test)
            times.append(t)
    ind = knn.kneighbors(test if dims is None else model[0].transform(test), return_distance=False)
    out = Path(args.work_dir) / NAME / f"{list(CONFIGS).index(args.only)}_{args.seed}.npz"
    np.savez(out, proba=proba, ind=ind)
    print("ROW " + json.dumps({
        "search": args.only,
        "first_cpu_s": round(times[0].cpu_seconds, 3),
        "first_wall_s": round(times[0].seconds, 3),
        "later_cpu_s": round(statistics.median(t.cpu_seconds for t in times[1:]), 3),
        "later_wall_s": round(statistics.median(t.seconds for t in times[1:]), 3),
        "result": str(out),
    }), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=25000)
    p.add_argument("--n-predict", type=int, default=2000)
    p.add_argument("--k", type=int, default=300)
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--work-dir", default=None, help="cache of the pooled vectors")
    p.add_argument("--name", default=NAME)
    p.add_argument("--only", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.work_dir = args.work_dir or default_work_dir()
    if args.only:
        return child(args)
    import numpy as np

    pooled(args)  # once, before the timed processes
    rows = []
    for name in CONFIGS:
        cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]), "--only", name]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(next(line[4:] for line in out.splitlines() if line.startswith("ROW "))))
    ref = np.load(rows[0]["result"])
    for row in rows:
        mine = np.load(row.pop("result"))
        row["same_neighbours"] = round(float(np.mean([len(np.intersect1d(a, b)) / args.k
                                                      for a, b in zip(mine["ind"], ref["ind"])])), 6)
        row["max_proba_diff"] = float(np.abs(mine["proba"] - ref["proba"]).max())
        row["cpu_vs_sklearn"] = round(rows[0]["later_cpu_s"] / row["later_cpu_s"], 2)
    print_table(rows)
    print(f"wrote {write_results(args.name, rows, params=vars(args))}")


if __name__ == "__main__":
    main()

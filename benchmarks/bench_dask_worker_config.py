"""Dask's default worker settings against ``toolkit.distributed.worker_config()``, alternated in one run.

Run (from the repository root)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TOOLKIT_DATA_DIR=/work/shared/data \\
        python benchmarks/bench_dask_worker_config.py --rounds 2

The grid: ``Pipeline(SpacyTokenizer, StackedTextClassifier(random_state=0), memory=...)``
without vectors, ``C`` {0.01, 0.1} x ``ngram_range`` {(1, 3), (1, 4)} x 3 folds (12 fits)
on 5,000 IMDB training reviews, through ``joblib.parallel_backend("dask")`` on a fresh
``LocalCluster(n_workers=2, threads_per_worker=1)`` per phase. Phases alternate
``dask`` (Dask's defaults: ``MALLOC_TRIM_THRESHOLD_=65536`` in the workers, the 10 ms
profiler) and ``toolkit`` (:func:`toolkit.distributed.search.local_cluster`, which
applies ``worker_config()`` and keeps the ``MALLOC_TRIM_THRESHOLD_`` that Dask's nanny
writes into this process's environment away from its workers) for
``--rounds`` rounds, so a drift of the machine's speed hits both alike. Reported per
phase: wall seconds, CPU seconds of all processes (this one and its children) and the
mean fit time per candidate. Results: ``benchmarks/results/<--name>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time

import numpy as np
from _common import print_table, write_results


def _cpu_all():
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def phase(config_name, texts, labels, grid, memory):
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from toolkit.distributed.search import local_cluster
    from toolkit.models.stacking import StackedTextClassifier
    from toolkit.text.tokenizer import SpacyTokenizer

    start_cluster = local_cluster if config_name == "toolkit" else LocalCluster
    with start_cluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=":0") as cluster, Client(cluster) as client:
        pipe = Pipeline([("tokenizer", SpacyTokenizer()), ("classifier", StackedTextClassifier(random_state=0))],
                        memory=memory)
        search = GridSearchCV(pipe, grid, cv=3, refit=False, error_score="raise")
        cpu0, start = _cpu_all(), time.perf_counter()
        with joblib.parallel_backend("dask", scatter=[texts, labels]):
            search.fit(texts, labels)
        wall, cpu = time.perf_counter() - start, _cpu_all() - cpu0
        malloc = next(iter(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()))
    return {"config": config_name, "wall_s": wall, "cpu_s": cpu, "worker_MALLOC_TRIM_THRESHOLD_": malloc,
            "mean_fit_time": np.round(search.cv_results_["mean_fit_time"], 2).tolist(),
            "mean_test_score": [float(s) for s in search.cv_results_["mean_test_score"]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-docs", type=int, default=5000)
    parser.add_argument("--name", default="bench_dask_worker_config")
    args = parser.parse_args()

    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", shuffle=True, random_state=0, limit=args.n_docs)
    texts, labels = np.asarray(data.texts, dtype=object), np.asarray(data.target_names)[data.labels]
    grid = {"classifier__vectors": [None], "classifier__C": [0.01, 0.1], "classifier__ngram_range": [(1, 3), (1, 4)]}
    rows = []
    root = tempfile.mkdtemp(prefix="bench_dask_worker_config_")
    try:
        for k in range(args.rounds):
            for name in ("dask", "toolkit"):
                row = phase(name, texts, labels, grid, os.path.join(root, f"{name}{k}"))
                row["round"] = k
                rows.append(row)
                print(f"round {k} {name}: {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s CPU, fits {row['mean_fit_time']}",
                      flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = {name: {"mean_wall_s": float(np.mean([r["wall_s"] for r in rows if r["config"] == name])),
                      "mean_cpu_s": float(np.mean([r["cpu_s"] for r in rows if r["config"] == name]))}
               for name in ("dask", "toolkit")}
    summary["wall_ratio_dask_over_toolkit"] = summary["dask"]["mean_wall_s"] / summary["toolkit"]["mean_wall_s"]
    summary["cpu_ratio_dask_over_toolkit"] = summary["dask"]["mean_cpu_s"] / summary["toolkit"]["mean_cpu_s"]
    summary["same_scores"] = all(r["mean_test_score"] == rows[0]["mean_test_score"] for r in rows)
    print_table([{k: v for k, v in r.items() if k not in ("mean_fit_time", "mean_test_score")} for r in rows])
    print(summary)
    write_results(args.name, rows + [summary], params=vars(args))


if __name__ == "__main__":
    main()

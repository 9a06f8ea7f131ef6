"""Grid search on a Dask LocalCluster (2 worker processes) vs ``n_jobs=1``, same process run.

Run (from the repository root; the data folder holds the IMDB tarball and GloVe)::

    TOOLKIT_DATA_DIR=/work/shared/data python benchmarks/bench_dask_grid.py --model stack \
        --name bench_dask_grid_stack
    TOOLKIT_DATA_DIR=/work/shared/data python benchmarks/bench_dask_grid.py            # Keras cnn grid

Both models search 8 candidates x 3 folds over 5,000 IMDB training reviews,
once with ``n_jobs=1`` in this process and once with
``joblib.parallel_backend("dask")`` on ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=True)``, the texts and labels scattered to
both workers once. GloVe is given by manifest name, so each worker maps the
vectors cache itself. Every fit must take at least 10 s (``min_mean_fit_s``
records the shortest candidate's mean).

``--model stack`` (the grid where 2 workers should pay): ``Pipeline(SpacyTokenizer,
StackedTextClassifier(random_state=0), memory=...)``; the stack is NBSVM on
word n-grams + logistic regression on pooled word vectors + a logistic
meta-learner, all scikit-learn and single-threaded. Candidates: without
vectors, ``C`` {0.01, 0.1} x ``ngram_range`` {(1, 3), (1, 4)}; with
``glove.6B.50d``, ``C`` {0.01, 0.1} x ``pooling`` {"sif", "mean"}; eight
distinct models with the classifier's defaults otherwise (``cv=5``,
``vectors_Cs`` of 4 values). On 3,333 reviews (a training fold) they fit in
about 17 (1-3-grams), 28 (1-4-grams) and 36 CPU s (GloVe); 1-2-grams took
7 CPU s, under the 10 s floor, so the n-gram axis starts at 1-3. Inside a worker, the stack's own joblib calls
(``StackingClassifier``'s folds, ``LogisticRegressionCV``) go to the
cluster too (joblib's dask backend ignores ``n_jobs`` there);
``tasks_by_function`` counts them.

``--model cnn``: ``make_text_classifier(memory=...)``, a grid of ``cnn``
candidates (vectors none/GloVe x hidden units 0/32 x dropout 0/0.2) trained
for ``--epochs``. One TensorFlow fit already uses about 1.6 of the 2 cores,
so two workers gain little on 2 cores (1.05x in
``bench_dask_grid_quiet.json``).

``--worker-threads same`` (default) gives the workers the same thread
settings as this process (Dask's nanny would otherwise set
``OMP_NUM_THREADS=1`` and friends in the workers only), so a fit runs the
same float reductions on both sides and ``cv_results_`` can be equal;
``--worker-threads one`` gives each worker one TensorFlow thread
(``toolkit.distributed.search.WORKER_ENV``) and this process TensorFlow's
default, as the cnn runs before this option did. Both sides are warm
(spaCy, the memory-mapped vectors cache and, for cnn, TensorFlow loaded
before the clock starts). It records wall and CPU seconds of both (CPU
summed over the worker processes on the Dask side), checks that
``cv_results_`` (all but the timings) are equal, the pickled size of every
task this process submits (the bytes shipped per task; the training data
travel once per worker through ``client.scatter``), the tasks the cluster ran
by function, each worker's peak RSS and the 1-minute load average every
10 s.

Before anything else it measures the machine's ceiling for two processes
(:func:`calibrate`: one pure-Python loop alone, then two at once; on a VM
whose two vCPUs share a core or its caches the pair is slower than one, so
no two-process run can reach 2x). ``--loky`` adds the peer the Dask run
should match: the same grid with ``GridSearchCV(n_jobs=2)`` on joblib's
default ``loky`` backend, scikit-learn's own parallelism on one machine (loky
caps each worker's BLAS threads at ``cores // n_jobs``).

``--worker-config toolkit`` (default) starts the cluster's workers as
``toolkit.distributed.dask_client`` does, with
:func:`toolkit.distributed.search.local_cluster`: without Dask's
``MALLOC_TRIM_THRESHOLD_=65536`` (which turns off glibc's adaptive mmap
threshold, so every large numpy temporary is faulted in again) and without
the 10 ms statistical profiler; ``--worker-config dask`` keeps Dask's
defaults (all runs before 2026-12-02 21:30 UTC).

Results: ``benchmarks/results/<--name>.json`` (default ``bench_dask_grid``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
from _common import Sampler, print_table, timer, write_results
from distributed.diagnostics.plugin import SchedulerPlugin

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
#: Thread settings Dask's nanny sets to 1 in its workers; pinned here (before numpy's or
#: TensorFlow's pools start) to this process's value, by default the number of cores, which
#: is also what the libraries use when the variable is unset.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ.setdefault(_var, str(os.cpu_count()))


def _worker_env(setting: str) -> dict:
    """Environment of the worker processes for ``--worker-threads``."""
    from toolkit.distributed.search import WORKER_ENV

    env = {var: os.environ[var] for var in THREAD_VARS}
    env.update({var: os.environ[var] for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
                if var in os.environ})
    if setting == "one":
        env.update(WORKER_ENV)
    return env


def _summary(samples):
    """min / mean / max / n of the load averages sampled during the run."""
    a = np.asarray(samples or [np.nan])
    return {"min": float(a.min()), "mean": float(a.mean()), "max": float(a.max()), "n": int(a.size)}


def _worker_stats():
    """Runs in each worker: CPU seconds so far and peak RSS (MiB)."""
    import resource

    import psutil

    times = psutil.Process().cpu_times()
    return {"cpu_s": times.user + times.system, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


class _TaskCounter(SchedulerPlugin):
    """Scheduler plugin: tasks that finished, by the function joblib named their batch after."""

    name = "bench-task-counter"

    def __init__(self):
        self.done = {}

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory" and start == "processing":
            match = re.match(r"(?:mixed_)?batch_of_(.+)_\d+_calls-", str(key))
            name = match.group(1) if match else str(key).rsplit("-", 1)[0]
            self.done[name] = self.done.get(name, 0) + 1


def _tasks_done(dask_scheduler):
    return dict(dask_scheduler.plugins[_TaskCounter.name].done)


def _warm(vectors, keras=True):
    """Import and load everything a fit needs, so both sides start warm."""
    if keras:
        import keras  # noqa: F401

    from toolkit.text.tokenizer import _load_nlp
    from toolkit.vectors.loading import load_vectors

    _load_nlp("blank:en", False)
    load_vectors(vectors)
    return os.getpid()


def _spin(n):
    """Pure-Python CPU work (no memory traffic to speak of): the CPU seconds it took."""
    start, total = time.process_time(), 0
    for i in range(n):
        total += i * i
    return time.process_time() - start


def calibrate(n=60_000_000):
    """The machine's own ceiling for 2 processes: one loop alone, then two at once.

    Returns the wall seconds of both and ``ceiling_speedup`` = 2 x alone / together, the
    speed-up two processes of pure-Python work can get here at best. On a VM whose two
    vCPUs share a physical core (or its caches and clock), it is below 2.
    """
    from concurrent.futures import ProcessPoolExecutor

    tries = []
    with ProcessPoolExecutor(2) as pool:
        pool.submit(_spin, 1000).result()  # start the workers
        for _ in range(3):  # best of three: a few seconds of another job on the host spoil one try
            start = time.perf_counter()
            pool.submit(_spin, n).result()
            alone = time.perf_counter() - start
            start = time.perf_counter()
            list(pool.map(_spin, [n, n]))
            together = time.perf_counter() - start
            tries.append({"one_loop_wall_s": alone, "two_loops_wall_s": together,
                          "ceiling_speedup": 2 * alone / together})
    return {**max(tries, key=lambda t: t["ceiling_speedup"]), "tries": [t["ceiling_speedup"] for t in tries]}


def _steal_seconds():
    """CPU time the hypervisor gave to other guests (``steal`` in ``/proc/stat``), in seconds; 0 if unknown."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _scores(search):
    return {k: v for k, v in search.cv_results_.items() if "time" not in k}


def _equal(a, b) -> bool:
    ra, rb = _scores(a), _scores(b)
    return ra.keys() == rb.keys() and all(
        np.array_equal(np.asarray(ra[k], dtype=object), np.asarray(rb[k], dtype=object)) for k in ra
    )


def _model(args):
    """``(param_grid, fixed parameters, memory path -> Pipeline)`` of ``--model``."""
    from sklearn.pipeline import Pipeline

    from toolkit.models.classifier import make_text_classifier
    from toolkit.models.stacking import StackedTextClassifier
    from toolkit.text.tokenizer import SpacyTokenizer

    if args.model == "stack":
        grid = [
            {"classifier__vectors": [None], "classifier__C": [0.01, 0.1], "classifier__ngram_range": [(1, 3), (1, 4)]},
            {"classifier__vectors": [args.vectors], "classifier__C": [0.01, 0.1],
             "classifier__pooling": ["sif", "mean"]},
        ]
        fixed = dict(random_state=0)
        return grid, fixed, lambda memory: Pipeline(
            [("tokenizer", SpacyTokenizer()), ("classifier", StackedTextClassifier(**fixed))], memory=memory)
    grid = {
        "classifier__vectors": [None, args.vectors],
        "classifier__hidden_units": [0, 32],
        "classifier__dropout": [0.0, 0.2],
    }
    fixed = dict(architecture="cnn", epochs=args.epochs, patience=None, maxlen=args.maxlen, max_tokens=20000,
                 embedding_dim=None, validation_split=0.0, random_state=0)
    return grid, fixed, lambda memory: make_text_classifier(memory=memory, **fixed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["cnn", "stack"], default="cnn",
                        help="cnn: Keras cnn grid (make_text_classifier); stack: StackedTextClassifier grid")
    parser.add_argument("--n-docs", type=int, default=5000)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="cnn only")
    parser.add_argument("--maxlen", type=int, default=400, help="cnn only")
    parser.add_argument("--vectors", default="glove.6B.50d")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-threads", choices=["same", "one"], default="same",
                        help="same: workers get this process's thread settings (default); "
                             "one: one TensorFlow thread per worker (WORKER_ENV)")
    parser.add_argument("--worker-config", choices=["toolkit", "dask"], default="toolkit",
                        help="toolkit: the workers of toolkit's dask_client (worker_config(): no "
                             "MALLOC_TRIM_THRESHOLD_, no profiler); dask: Dask's defaults")
    parser.add_argument("--loky", action="store_true",
                        help="also run the grid with GridSearchCV(n_jobs=--workers) on joblib's loky backend "
                             "(scikit-learn's own parallelism, the peer of the Dask run)")
    parser.add_argument("--name", default="bench_dask_grid", help="results file name (without .json)")
    args = parser.parse_args(argv)

    import cloudpickle
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV

    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", shuffle=True, random_state=0, limit=args.n_docs)
    # an array (not a list) is what joblib's dask backend can scatter: sent once per worker, not per task
    texts, labels = np.asarray(data.texts, dtype=object), np.asarray(data.target_names)[data.labels]
    memory_root = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench_dask_grid_{os.getpid()}")
    grid, fixed, make_pipeline = _model(args)

    def search(tag, n_jobs=None):
        pipe = make_pipeline(os.path.join(memory_root, tag))
        return GridSearchCV(pipe, grid, cv=args.cv, n_jobs=n_jobs, error_score="raise", refit=False)

    keras = args.model == "cnn"
    ceiling = calibrate()
    print(f"machine ceiling for 2 processes (pure-Python loop): {ceiling['ceiling_speedup']:.2f}x", flush=True)
    _warm(args.vectors, keras)
    worker_env = _worker_env(args.worker_threads)
    rows, searches = [], {}
    steal_before = _steal_seconds()
    load = Sampler(lambda: os.getloadavg()[0], every=10.0)
    load.__enter__()
    with timer() as t:
        searches["n_jobs=1"] = search("seq", 1).fit(texts, labels)
    rows.append({"run": "n_jobs=1 (this process)", "wall_s": t.seconds, "cpu_s": t.cpu_seconds})

    shipped = []
    from toolkit.distributed.search import local_cluster

    start_cluster = local_cluster if args.worker_config == "toolkit" else LocalCluster
    with start_cluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=":0", env=worker_env) as cluster, Client(cluster) as client:
        client.run(_warm, args.vectors, keras)
        client.register_plugin(_TaskCounter(), name=_TaskCounter.name)
        submit = client.submit

        def measuring_submit(func, *a, **kw):  # what joblib's dask backend sends per task
            shipped.append(len(cloudpickle.dumps((func, a, kw.get("tasks")))))
            return submit(func, *a, **kw)

        client.submit = measuring_submit
        before = client.run(_worker_stats)
        with timer() as t, joblib.parallel_backend("dask", scatter=[texts, labels]):
            searches["dask"] = search("dask").fit(texts, labels)
        after = client.run(_worker_stats)
        tasks_by_function = client.run_on_scheduler(_tasks_done)
        worker_cpu = sum(after[w]["cpu_s"] - before[w]["cpu_s"] for w in after)
        rows.append({"run": f"Dask LocalCluster ({args.workers} worker processes)", "wall_s": t.seconds,
                     "cpu_s": t.cpu_seconds + worker_cpu})
        worker_peaks = {w: after[w]["peak_rss_mb"] for w in after}
        worker_threads = client.run(lambda: {v: os.environ.get(v) for v in (*THREAD_VARS, "TF_NUM_INTRAOP_THREADS")})
        worker_malloc = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    if args.loky:
        with timer() as t, joblib.parallel_backend("loky"):
            searches["loky"] = search("loky", args.workers).fit(texts, labels)
        rows.append({"run": f"loky, n_jobs={args.workers} (scikit-learn's own parallelism)", "wall_s": t.seconds,
                     "cpu_s": None})
    load.__exit__(None, None, None)
    subprocess.run(["rm", "-rf", memory_root], check=False)

    equal = _equal(searches["n_jobs=1"], searches["dask"])
    fit_times = np.asarray(searches["n_jobs=1"].cv_results_["mean_fit_time"])
    differing = [{"key": k, "candidate": i, "n_jobs=1": float(a), "dask": float(b)}
                 for k in _scores(searches["dask"]) if k.startswith(("mean_test", "split"))
                 for i, (a, b) in enumerate(zip(searches["n_jobs=1"].cv_results_[k], searches["dask"].cv_results_[k]))
                 if a != b]
    summary = {
        "cv_results_equal": bool(equal),
        "speedup_wall": rows[0]["wall_s"] / rows[1]["wall_s"],
        "cpu_ratio_dask_over_seq": rows[1]["cpu_s"] / rows[0]["cpu_s"],
        "machine_ceiling": ceiling,
        "speedup_over_ceiling": rows[0]["wall_s"] / rows[1]["wall_s"] / ceiling["ceiling_speedup"],
        **({"loky_speedup_wall": rows[0]["wall_s"] / rows[2]["wall_s"],
            "dask_over_loky_speed": rows[2]["wall_s"] / rows[1]["wall_s"],
            "loky_cv_results_equal": bool(_equal(searches["n_jobs=1"], searches["loky"]))} if args.loky else {}),
        "candidates": len(searches["n_jobs=1"].cv_results_["params"]),
        "folds": args.cv,
        "min_mean_fit_s": float(fit_times.min()),
        "dask_min_mean_fit_s": float(np.min(searches["dask"].cv_results_["mean_fit_time"])),
        "max_mean_fit_s": float(fit_times.max()),
        "model": args.model,
        "tasks_submitted": len(shipped),
        "tasks_by_function": tasks_by_function,
        "max_bytes_per_task": max(shipped) if shipped else None,
        "median_bytes_per_task": float(np.median(shipped)) if shipped else None,
        "worker_peak_rss_mb": worker_peaks,
        "worker_threads": args.worker_threads,
        "worker_config": args.worker_config,
        "worker_malloc_trim_threshold": next(iter(worker_malloc.values())),
        "worker_thread_env": next(iter(worker_threads.values())),
        "this_process_thread_env": {v: os.environ.get(v) for v in (*THREAD_VARS, "TF_NUM_INTRAOP_THREADS")},
        "loadavg_1min_during_run": _summary(load.samples),
        "differing_scores": differing[:10],
        "n_differing_scores": len(differing),
        "mean_test_score_dask": [float(s) for s in searches["dask"].cv_results_["mean_test_score"]],
        "mean_test_score": [float(s) for s in searches["n_jobs=1"].cv_results_["mean_test_score"]],
        "params": [{k: str(v) for k, v in p.items()} for p in searches["n_jobs=1"].cv_results_["params"]],
        "mean_fit_time": fit_times.tolist(),
        "mean_fit_time_dask": np.asarray(searches["dask"].cv_results_["mean_fit_time"]).tolist(),
        **({"mean_fit_time_loky": np.asarray(searches["loky"].cv_results_["mean_fit_time"]).tolist()}
           if args.loky else {}),
        "mean_score_time": np.asarray(searches["n_jobs=1"].cv_results_["mean_score_time"]).tolist(),
        "mean_score_time_dask": np.asarray(searches["dask"].cv_results_["mean_score_time"]).tolist(),
        "cpu_steal_s_during_run": (_steal_seconds() - steal_before),
    }
    print_table(rows)
    for key, value in summary.items():
        print(f"{key}: {value}")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    write_results(args.name, rows + [summary], params={
        **vars(args), **{k: str(v) for k, v in fixed.items()},
        "command": "TOOLKIT_DATA_DIR=/work/shared/data python benchmarks/bench_dask_grid.py " + " ".join(sys.argv[1:]),
        "git_commit": commit, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })


if __name__ == "__main__":
    main()

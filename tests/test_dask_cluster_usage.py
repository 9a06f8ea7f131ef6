"""Dask users whose cluster misbehaves: workers over their memory limit, a scheduler that goes away, workers that
cannot import the toolkit or see other data folders, a store build that fails or is interrupted mid-way.

One module ``distributed.LocalCluster`` (one worker process with two threads on 127.0.0.1, a 1.5 GB memory
limit, ``allowed-failures=1`` so that a task that kills its worker twice fails at once) serves most tests;
the scenarios that break a cluster (a worker that cannot import toolkit, a scheduler closed mid-search) start
their own and close it. The data are small real IMDB samples; the grid searches fit a bag of words and a
logistic regression, so each test takes seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

pytest.importorskip("distributed")

#: over the module cluster's memory limit: a fit or a partition that allocates this much gets its worker killed
_TOO_MUCH_MB = 1700


@pytest.fixture(scope="module")
def cluster():
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                               dashboard_address=":0", memory_limit="1500MB", silence_logs=logging.CRITICAL)
    with cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)  # after a test whose worker was killed, its restart
        yield client


@pytest.fixture(scope="module")
def reviews(imdb_token_array60):
    """60 real reviews as token lists (an object array) and their labels."""
    return imdb_token_array60


class _MemoryHog(ClassifierMixin, BaseEstimator):
    """A logistic regression whose fit first fills ``mb`` megabytes (a model too big for its worker)."""

    def __init__(self, mb=0, C=1.0):
        self.mb, self.C = mb, C

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        if self.mb:
            hold = np.ones(self.mb << 17)  # written, so resident: the nanny sees it
            time.sleep(3)
            del hold
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _pipeline(final=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    return make_pipeline(BagEncoder(max_tokens=500), final if final is not None else LogisticRegression())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------ workers over their memory limit
def test_dask_cluster_grid_search_over_the_memory_limit_names_the_cause(client, reviews, tmp_path):
    """Before: after running the whole search a second time, RuntimeError "lost a task (... lost dependencies):
    a worker died and no other worker could take its work over" (or distributed's KilledWorker traceback),
    which named neither the memory limit nor the fit. Now: one ClusterError that names both, with no rerun."""
    from toolkit.distributed import grid_search
    from toolkit.distributed.search import ClusterError

    X, y = reviews
    grid = {"_memoryhog__mb": [0, _TOO_MUCH_MB]}
    with pytest.raises(ClusterError, match=r"The grid search failed on the Dask cluster at tcp://127\.0\.0\.1:\d+: "
                                           r"\d+ worker restart\(s\) for memory \(worker tcp://\S+ used [\d.]+ GiB"
                                           r"; its memory limit is 1\.4 GiB\); Dask gave up on a (fit|batch of \d fits) "
                                           r"of the grid .*Give the workers more memory"):
        grid_search(_pipeline(_MemoryHog()), grid, X, y, cv=2, scheduler=client.scheduler.address)


def test_dask_cluster_cli_grid_over_the_memory_limit_exits_1_with_one_line(client, reviews, tmp_path, monkeypatch):
    """The CLI printed a traceback and "this is a bug in toolkit" for a worker killed for memory."""
    from toolkit.cli.grid import run_grid  # noqa: F401 - the command's module, as the CLI imports it
    from toolkit.distributed import search

    X, y = reviews
    real = search.grid_search

    def hungry(estimator, param_grid, *args, **kwargs):  # the CLI's pipeline, with a final step over the limit
        return real(_pipeline(_MemoryHog()), {"_memoryhog__mb": [_TOO_MUCH_MB]}, X, y, cv=2,
                    scheduler=kwargs["scheduler"], refit=False)

    monkeypatch.setattr(search, "grid_search", hungry)
    data = tmp_path / "reviews.csv"
    import pandas as pd

    pd.DataFrame({"text": [" ".join(d) for d in X], "label": y}).to_csv(data, index=False)
    from typer.testing import CliRunner

    from toolkit.cli import app

    result = CliRunner().invoke(app, ["grid", "--data", str(data), "--grid", "epochs=1", "--cv", "2",
                                      "--scheduler", client.scheduler.address])
    assert result.exit_code == 1, result.output
    assert "worker restart(s) for memory" in result.stderr and "Traceback" not in result.stderr
    assert "bug in toolkit" not in result.stderr


def _hog_on(items, marker, mb):
    """A partition of the input that takes ``mb`` megabytes to read when it holds the text ``marker``."""
    items = list(items)
    if any(text == marker for text, _ in items):
        hold = np.ones(mb << 17)
        time.sleep(3)
        del hold
    return items


def test_dask_cluster_store_build_over_the_memory_limit_names_the_partition(client, imdb_small, tmp_path):
    """Before: distributed's bare KilledWorker ("Attempted to run task ('_hog_on-...', 1) on 2 different
    workers ...") and a traceback in the CLI. Now a ClusterError naming the memory limit and the partition Dask
    gave up on (the one over the limit, or one that ran beside it: those die with it); nothing is left under the
    store's name or beside it."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore
    from toolkit.distributed.search import ClusterError

    texts, labels = imdb_small
    pairs = list(zip(texts[:30], labels[:30].tolist()))
    bag = db.from_sequence(pairs, npartitions=3).map_partitions(_hog_on, pairs[15][0], _TOO_MUCH_MB)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ClusterError, match=r"The store build \(tokenize pass\) failed on the Dask cluster .*worker "
                                           r"restart\(s\) for memory .*memory limit is [\d.]+ GiB\); Dask gave up on "
                                           r"partition \d of the input .*Give the workers more memory"):
        CorpusStore.build(bag, out / "store")
    _wait_idle(client)
    assert _leftovers(out) == []


# ------------------------------------------------------------ a worker killed during a store build
def _kill_once(items, marker):
    """Read a partition; the first time, kill this worker process (kill -9) before returning it."""
    import signal

    items = list(items)
    if not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return items


def test_dask_cluster_store_build_with_a_worker_killed_mid_way_equals_a_clean_build(imdb_small, tmp_path):
    """A worker killed -9 during the build: its nanny restarts it, the scheduler reruns its partitions, and the
    store is the one a build without the kill writes (same vocabulary, same ids), with nothing else beside it.

    On a cluster of its own: on the module's, whose worker the memory-limit test had just had restarted, a
    nanny whose worker dies again within ~15 s of an earlier death does not restart it (distributed's
    behaviour), and the build then waited for a worker forever (a hang in CI, thirty-fourth session). The clean
    build runs in this process (``scheduler="sync"``: the same store, as tests/test_distributed.py checks), so
    that the cluster's worker runs only the build that kills it."""
    import dask
    import dask.bag as db
    from distributed import Client, LocalCluster

    from toolkit.distributed import CorpusStore

    texts, labels = imdb_small
    pairs = list(zip(texts[:60], labels[:60].tolist()))
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        own = LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                           dashboard_address=":0", memory_limit="1500MB", silence_logs=logging.CRITICAL)
    clean = CorpusStore.build(db.from_sequence(pairs, npartitions=3), tmp_path / "clean" / "store", scheduler="sync")
    with own, Client(own) as client:
        client.wait_for_workers(1, timeout=120)
        marker = tmp_path / "killed"
        bag = db.from_sequence(pairs, npartitions=3).map_partitions(_kill_once, str(marker))
        store = CorpusStore.build(bag, tmp_path / "out" / "store")
    assert marker.exists()  # a worker did die
    assert store.vocabulary.tokens == clean.vocabulary.tokens
    assert np.array_equal(store.sequences(range(60), maxlen=50), clean.sequences(range(60), maxlen=50))
    assert store.labels().tolist() == clean.labels().tolist()
    assert _leftovers(tmp_path / "out") == ["store"]


# ------------------------------------------------------------ a store build that fails or is interrupted
def _running(dask_worker):
    return len(dask_worker.active_threads)


def _wait_idle(client, timeout=60.0):
    """Until no worker thread runs a task, also one whose result nobody wants any more (a failed build's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not any(client.run(_running).values()):
                return
        except OSError:  # a worker restarting
            pass
        time.sleep(0.2)


def test_dask_cluster_partition_written_after_its_build_failed_leaves_nothing(client, imdb_small, tmp_path):
    """A build that fails (a missing text in one partition) or is interrupted (Ctrl-C) removes its temporary
    folder, but a partition still running on another thread or worker then created it again (mkdir
    parents=True) and wrote a half store there: `.store.<hex>.tmp/part-00001/{tokens.npy, offsets.npy,
    strings.bin}` stayed behind (seen with a two-thread worker), until the six-hour sweep of stale debris. Such
    a late partition now fails without writing; the build itself also cancels the tasks not yet started."""
    from toolkit.distributed.store import _write_part

    removed = tmp_path / ".store.0123456789ab.tmp"  # the failed build's temporary folder, already removed
    late = client.submit(_write_part, list(imdb_small[0][:5]), str(removed / "part-00001"), {"n_jobs": 1})
    with pytest.raises(FileNotFoundError):
        late.result()
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------ a scheduler that goes away
class _Slow(ClassifierMixin, BaseEstimator):
    """A classifier whose fit writes ``started`` and takes a second."""

    def __init__(self, started=None, c=1.0):
        self.started, self.c = started, c

    def fit(self, X, y):
        Path(self.started).touch()
        time.sleep(1.0)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_dask_cluster_grid_search_whose_scheduler_goes_away_says_so(reviews, tmp_path):
    """Before: "lost a task (... scheduler-connection-lost ...): a worker died and no other worker could take its
    work over. Check the workers' memory limits", which sent the user to the wrong place."""
    import dask
    from distributed import LocalCluster

    from toolkit.distributed import grid_search
    from toolkit.distributed.search import ClusterError

    X, y = reviews
    started = tmp_path / "started"
    # its close, once its scheduler is gone, waits for the nanny's reconnection: 30 s under the default connect
    # timeout, 3 s under this one
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0", silence_logs=logging.CRITICAL)
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}), cluster:
        def stop_when_a_fit_runs():
            deadline = time.monotonic() + 120
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            cluster.sync(cluster.scheduler.close)

        stopper = threading.Thread(target=stop_when_a_fit_runs, daemon=True)
        stopper.start()
        with pytest.raises(ClusterError, match=r"The grid search lost its connection to the Dask scheduler at "
                                               r"tcp://127\.0\.0\.1:\d+ \(it stopped, or the network failed\).*Check "
                                               r"that the scheduler is running"):
            grid_search(_Slow(str(started)), {"c": [0.1, 0.2, 0.3, 0.4]}, X, y, cv=2,
                        scheduler=cluster.scheduler_address)
        stopper.join()


# ------------------------------------------------------------ adaptive clusters
@pytest.mark.slow
def test_dask_cluster_grid_search_on_an_adaptive_cluster_scaled_to_zero(reviews, monkeypatch):
    """An adaptive cluster that has no worker yet (adapt(minimum=0), as on a batch system) starts workers when
    tasks arrive; grid_search first scattered its data and failed after 10 s with "TimeoutError: No valid
    workers found" (joblib's dask backend). It now asks for a worker first, and runs.

    The worker it got started is idle while the workers are checked, and the adaptive cluster retires an idle
    worker after 3 s (interval 1 s x wait_count 3): on a loaded machine the scatter then found no worker and
    failed the same way. Here the worker is made to leave before the scatter (the check waits for its
    retirement): the search asks for a worker again, and runs."""
    from distributed import LocalCluster

    from toolkit.distributed import grid_search, search

    check_workers = search._check_workers
    retired = []

    def check_then_wait_for_retirement(client, *args, **kwargs):
        found = check_workers(client, *args, **kwargs)
        deadline = time.monotonic() + 60
        while client.ncores() and time.monotonic() < deadline:
            time.sleep(0.1)
        retired.append(not client.ncores())
        return found

    monkeypatch.setattr(search, "_check_workers", check_then_wait_for_retirement)
    X, y = reviews
    grid = {"logisticregression__C": [0.1, 1.0]}
    expected = grid_search(_pipeline(), grid, X, y, cv=2, local=True)
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster:
        cluster.adapt(minimum=0, maximum=1)
        found = grid_search(_pipeline(), grid, X, y, cv=2, scheduler=cluster.scheduler_address)
    assert retired == [True]  # the worker had left before the scatter
    assert np.array_equal(found.cv_results_["mean_test_score"], expected.cv_results_["mean_test_score"])


def test_dask_cluster_grid_search_on_a_cluster_that_never_gets_a_worker_says_so(reviews, monkeypatch):
    from distributed import LocalCluster

    from toolkit.distributed import grid_search, search
    from toolkit.distributed.search import ClusterError

    X, y = reviews
    monkeypatch.setattr(search, "WORKER_WAIT", 2.0)
    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster, \
            pytest.raises(ClusterError, match=r"The Dask cluster at tcp://127\.0\.0\.1:\d+ has no worker, and none "
                                              r"started within 2 s\. Start workers"):
        grid_search(_pipeline(), {"logisticregression__C": [0.1]}, X, y, cv=2, scheduler=cluster.scheduler_address)


# ------------------------------------------------------------ workers without the toolkit
_BLOCK_TOOLKIT = '''
import sys


class _NoToolkit:
    """As on a worker whose environment lacks the toolkit."""

    def find_spec(self, name, path=None, target=None):
        if name == "toolkit" or name.startswith("toolkit."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoToolkit())
for _name in [n for n in sys.modules if n == "toolkit" or n.startswith("toolkit.")]:
    del sys.modules[_name]
'''


def test_dask_cluster_workers_without_the_toolkit_are_named_before_any_fit(reviews, tmp_path):
    """Before: the worker could not read the fits ("Failed to deserialize ... No module named 'toolkit'") and
    dropped its connection; the search waited a minute and then blamed a dead worker. Now: at once, a
    ClusterError naming the worker, the package and what to install."""
    from distributed import LocalCluster

    from toolkit.distributed import grid_search
    from toolkit.distributed.search import ClusterError

    preload = tmp_path / "no_toolkit.py"
    preload.write_text(_BLOCK_TOOLKIT, encoding="utf-8")
    X, y = reviews
    message = (r"Worker tcp://127\.0\.0\.1:\d+ of the Dask scheduler tcp://127\.0\.0\.1:\d+ cannot import 'toolkit' "
               r"\(ModuleNotFoundError: No module named 'toolkit'\), which the grid search sends them\. Install it in "
               r"the workers' environment")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL, preload=[str(preload)]) as cluster, \
            pytest.raises(ClusterError, match=message):
        grid_search(_pipeline(), {"logisticregression__C": [0.1, 1.0]}, X, y, cv=2, scheduler=cluster.scheduler_address)


def test_dask_cluster_other_package_versions_on_the_workers_are_a_warning(client, reviews, caplog):
    import sklearn

    from toolkit.distributed import grid_search

    X, y = reviews
    real = sklearn.__version__
    client.run(setattr, sklearn, "__version__", "0.24.2")
    try:
        with caplog.at_level(logging.WARNING, logger="toolkit.distributed.search"):
            search = grid_search(_pipeline(), {"logisticregression__C": [0.1, 1.0]}, X, y, cv=2,
                                 scheduler=client.scheduler.address)
    finally:
        client.run(setattr, sklearn, "__version__", real)
    assert search.best_params_
    assert f"run(s) sklearn 0.24.2, this process sklearn {real}" in caplog.text


# ------------------------------------------------------------ workers with other data folders
def test_dask_cluster_workers_with_other_data_folders_are_named_when_vectors_fail(client, reviews, data_dir_env,
                                                                                   caplog):
    """The cluster's worker started without TOOLKIT_DATA_DIR, this process has it: vectors by manifest name
    failed on the worker with "Could not download ... put a copy in an offline data folder (TOOLKIT_DATA_DIR)",
    which this process had. Now a warning before the search, and the error carries the same note.

    The vectors are pooled for a logistic regression: an EmbeddingClassifier(vectors=...) loads them through the
    same toolkit.vectors lookup, and made the worker import TensorFlow (~5 s, and ~4 s more to close it)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.distributed import grid_search
    from toolkit.vectors.pooling import EmbeddingVectorizer

    X, y = reviews
    (worker_folder,) = client.run(os.getenv, "TOOLKIT_DATA_DIR").values()
    assert worker_folder is None and os.environ["TOOLKIT_DATA_DIR"] == str(data_dir_env)
    clf = make_pipeline(EmbeddingVectorizer(vectors="glove.6B.50d"), LogisticRegression())
    note = (rf"run\(s\) with TOOLKIT_DATA_DIR=\(unset\), this process with TOOLKIT_DATA_DIR={data_dir_env}: vectors "
            r"given by a manifest name")
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed.search"), \
            pytest.raises(Exception, match=r"glove") as failure:
        grid_search(clf, {"logisticregression__C": [1.0]}, X, y, cv=2, scheduler=client.scheduler.address,
                    refit=False)
    import re

    assert re.search(note, caplog.text)
    assert any(re.search(note, n) for n in getattr(failure.value, "__notes__", ()))

"""Grid searches on a Dask cluster: a batch of fits that fails on the cluster ends the search; workers that leave
around the scatter of the data.

joblib's dask backend told joblib's ``Parallel`` of a batch only when it ran (or was cancelled): a batch that Dask
failed (``KilledWorker``, after a fit killed its worker) or that could not be sent (a task that cannot be pickled)
was never reported, and the search waited for it forever (a CI run hung 18 minutes in
test_dask_gaps_usage.py's crashing-workers test). The searches here run in a thread with a deadline, so that such
a hang fails the test instead of hanging it.

A user's ``distributed.LocalCluster`` that starts its workers on demand (``cluster.adapt(minimum=0, ...)``, as a
batch-queue cluster does) retires a worker that stays idle, and closes the last worker that holds data when the
data find no other worker to go to. One such cluster (worker processes of one thread on 127.0.0.1, retiring an
idle worker after about 1 s) serves the module; the searches fit a bag of words and a logistic regression on 60
real IMDB reviews, so each takes seconds. The workers are made to leave at the moment each test names.
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

pytest.importorskip("distributed")

#: seconds any wait on the cluster may take before the test fails (a worker process starts and imports)
_WAIT = 120


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster:
        cluster.adapt(minimum=0, maximum=1, interval="250ms", wait_count=4)
        yield cluster


@pytest.fixture(scope="module")
def reviews(imdb_token_array60):
    return imdb_token_array60


def _pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    return make_pipeline(BagEncoder(max_tokens=500), LogisticRegression())


_GRID = {"logisticregression__C": [0.1, 1.0]}


def _gone(client) -> float:
    """Wait (bounded) until the cluster has no worker; the time it had none."""
    deadline = time.monotonic() + _WAIT
    while client.ncores():
        assert time.monotonic() < deadline, f"the adaptive cluster kept its worker for {_WAIT} s"
        time.sleep(0.02)
    return time.time()


def _same_scores(found, expected):
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        assert np.array_equal(found.cv_results_[key], expected.cv_results_[key]), key


@pytest.mark.parametrize("joblib_dask", [True, False], ids=["joblib-dask", "no-joblib-dask"])
@pytest.mark.slow
def test_dask_gaps_s42_worker_retired_right_before_the_scatter(cluster, reviews, monkeypatch, caplog, joblib_dask):
    """The adaptive cluster retires its idle worker after the workers are checked, and the worker it starts
    again retires before the data reach it. Before: the scatter waited the client's timeout for a worker (10 s
    here, 30 s on a local cluster) before the search asked for one again; without joblib's private ``_dask``
    module (the fallback path) it was not asked again at all, and the search failed with joblib's
    "TimeoutError: No valid workers found". Now the scatter gives up after 2 s, and both paths ask again."""
    import joblib

    from toolkit.distributed import grid_search, search

    if not joblib_dask:
        from joblib._dask import DaskDistributedBackend

        joblib.register_parallel_backend("dask", DaskDistributedBackend)  # as some other package would
        monkeypatch.setitem(sys.modules, "joblib._dask", None)
    check_workers, wait_for_a_worker = search._check_workers, search._wait_for_a_worker
    left = []  # when the worker left: after the check, and right before the scatter

    def check_then_retire(client, *args, **kwargs):
        found = check_workers(client, *args, **kwargs)
        left.append(_gone(client))
        return found

    def wait_then_retire(client, *args, **kwargs):
        wait_for_a_worker(client, *args, **kwargs)
        if len(left) == 1:  # the first wait after the check: the worker it got started leaves too
            left.append(_gone(client))

    monkeypatch.setattr(search, "_check_workers", check_then_retire)
    monkeypatch.setattr(search, "_wait_for_a_worker", wait_then_retire)
    X, y = reviews
    expected = grid_search(_pipeline(), _GRID, X, y, cv=2, local=True, refit=False)
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed.search"):
        found = grid_search(_pipeline(), _GRID, X, y, cv=2, scheduler=cluster.scheduler_address, refit=False)
    _same_scores(found, expected)
    assert len(left) == 2
    retried = [r for r in caplog.records if "workers left while the data were sent to them" in r.getMessage()]
    assert len(retried) == 1
    assert retried[0].created - left[1] < 6.0, "the failed scatter waited for a worker that had left"


def test_dask_gaps_s42_worker_closed_after_the_scatter(cluster, reviews, monkeypatch, caplog):
    """The cluster closes the one worker that holds the scattered data right after the scatter (as
    ``Adaptive.scale_down`` closes a worker whose retirement found no other worker for its data). Before: the
    search ran again on the lost data, and failed with "a worker died and no other worker could take its work
    over" (or with joblib's probe task given a ``tasks`` argument: "TypeError: _joblib_probe_task() got an
    unexpected keyword argument 'tasks'"). Now the data are scattered again, and the search runs."""
    import contextlib

    from toolkit.distributed import grid_search, search

    fit_progress = search._fit_progress
    closed = []

    @contextlib.contextmanager
    def close_then_fit(client, *args, **kwargs):
        if not closed:  # right before the first fits: the worker that holds the data closes
            cluster.scale(0)
            closed.append(_gone(client))
        with fit_progress(client, *args, **kwargs):
            yield

    monkeypatch.setattr(search, "_fit_progress", close_then_fit)
    X, y = reviews
    expected = grid_search(_pipeline(), _GRID, X, y, cv=2, local=True, refit=False)
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed.search"):
        found = grid_search(_pipeline(), _GRID, X, y, cv=2, scheduler=cluster.scheduler_address, refit=False)
    _same_scores(found, expected)
    assert len(closed) == 1
    assert any("sending the data to the workers again" in r.getMessage() for r in caplog.records)


def test_dask_gaps_s42_backend_on_a_cluster_without_workers_asks_for_one(client):
    """joblib's dask backend asks a cluster without workers for one with a probe task; the backend's client
    (which records the fits) passed it ``tasks=None``: "TypeError: _joblib_probe_task() got an unexpected keyword
    argument 'tasks'". Now the adaptive cluster starts a worker, and the backend offers its two jobs."""
    from toolkit.distributed import search

    backend = search._cluster_backend(client, [])
    _gone(client)
    assert backend.effective_n_jobs(-1) == 2


def test_dask_gaps_s42_search_that_lost_its_last_worker_asks_for_one(client):
    """A search that lost a task checks that the cluster has a worker to run it again on; it only waited for
    one (60 s), which an adaptive cluster scaled to none never starts, and then failed with "its cluster has no
    worker left". Now the cluster is given a task, and starts one."""
    from toolkit.distributed import search

    client.submit(len, (), pure=False).result(timeout=_WAIT)  # a worker, which then retires
    _gone(client)
    assert search._has_workers(client, timeout=20.0)


def _die():
    import os

    os.kill(os.getpid(), 9)


def _inc(x):
    return x + 1


def test_dask_gaps_s42_local_worker_that_cannot_start_is_named_with_its_reason(tmp_path):
    """A local cluster scaled up when its workers can no longer start (their preload now raises), whose worker
    then dies, fails the work given to it with a ClusterError; it said "its nanny failed to start it", and the
    reason was only in distributed's log (silenced here, as the CLI silences it). Now the message carries the
    error of the start."""
    import dask
    from distributed import Client, KilledWorker
    from distributed.core import Status

    from toolkit.distributed.search import ClusterError, local_cluster

    marker = tmp_path / "broken"
    preload = (f"import os\n\nif os.path.exists({str(marker)!r}):\n"
               "    raise RuntimeError('this preload cannot start a worker')\n")
    config = {"distributed.deploy.lost-worker-timeout": "2s", "distributed.scheduler.allowed-failures": 0}
    with dask.config.set(config), local_cluster(1, preload=[preload], silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        assert client.submit(_inc, 1, pure=False).result(timeout=_WAIT) == 2
        marker.touch()  # every later start of a worker fails
        cluster.scale(2)  # a second worker, which cannot start
        deadline = time.monotonic() + _WAIT
        while not any(nanny.status == Status.failed for nanny in cluster.workers.values()):
            assert time.monotonic() < deadline, "the second worker's nanny did not fail to start"
            time.sleep(0.1)
        with pytest.raises(KilledWorker):  # the first worker dies, and cannot start again either
            client.submit(_die, pure=False).result(timeout=_WAIT)
        with pytest.raises(ClusterError, match=r"; worker 1: its nanny failed to start it \(RuntimeError: this "
                                               r"preload cannot start a worker\)\)"):
            client.submit(_inc, 2, pure=False).result(timeout=_WAIT)


def test_dask_gaps_s42_local_workers_retired_then_given_work_say_so():
    """A local cluster whose workers the user retired (client.retire_workers()) and then gave work failed it with
    "no worker left and cannot start one (worker 0: its nanny closed: it gave up restarting its worker ...)",
    and advice on memory limits; and cluster.scale(n) did not start the worker again for 15 s (distributed kept
    its closed nanny until distributed.deploy.lost-worker-timeout). Now the error says the worker was retired
    and to scale the cluster, which starts it again (distributed's wait made long here, so that a worker slow to
    start on a loaded machine is told apart from one not started)."""
    import dask
    from distributed import Client

    from toolkit.distributed.search import ClusterError, local_cluster

    with dask.config.set({"distributed.deploy.lost-worker-timeout": "300s"}), \
            local_cluster(1, silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.wait_for_workers(1, timeout=_WAIT)
        client.retire_workers()
        with pytest.raises(ClusterError, match=r"no worker left \(worker 0: it was retired \(client\.retire_workers"
                                               r"\(\)\), .*Start workers again before giving it work "
                                               r"\(cluster\.scale\(1\)\)") as err:
            client.submit(_inc, 2, pure=False).result(timeout=_WAIT)
        assert "memory" not in str(err.value)
        cluster.scale(1)
        assert client.submit(_inc, 3, pure=False).result(timeout=60) == 4  # (not 300 s)


# ------------------------------------------------------------------ a batch that fails on the cluster ends the search
def _within(seconds, func, *args, **kwargs):
    """``func(*args, **kwargs)`` in a thread: its result, or its exception raised here; the test fails when it still
    runs after ``seconds`` (joblib waiting for a batch it will never hear of)."""
    import threading

    box = {}

    def run():
        try:
            box["result"] = func(*args, **kwargs)
        except BaseException as err:  # noqa: BLE001 - raised again below, in the test's thread
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s for a batch that failed on the cluster"
    if "error" in box:
        raise box["error"]
    return box["result"]


class Crash(ClassifierMixin, BaseEstimator):
    """A logistic regression whose fit ends its worker process (``crash``: a segfault, the system's OOM killer)."""

    def __init__(self, crash=False):
        self.crash = crash

    def fit(self, X, y):
        import os

        from sklearn.linear_model import LogisticRegression

        if self.crash:
            os._exit(1)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_dask_gaps_s42_fit_that_kills_its_worker_ends_the_search(reviews):
    """A fit that kills its worker once too often: Dask fails its batch with KilledWorker (an "erred" future),
    which joblib's dask backend never reported to Parallel: the search waited forever (the scheduler holding the
    batch as erred, its worker restarted). Now it ends with the ClusterError naming the candidate."""
    import dask
    from sklearn.pipeline import make_pipeline

    from toolkit.distributed import ClusterError, grid_search
    from toolkit.distributed.search import local_cluster
    from toolkit.text import BagEncoder

    X, y = reviews
    one_split = [(np.arange(0, 60, 2), np.arange(1, 60, 2))]  # one fit: no other batch of the search ends it
    named = (r"Dask gave up on a fit of the grid .* after 1 worker died running it .* on that worker when it died: "
             r"\{'crash__crash': True\} \(fold 1 of 1")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            local_cluster(1, silence_logs=logging.CRITICAL) as cluster, pytest.raises(ClusterError, match=named):
        _within(_WAIT, grid_search, make_pipeline(BagEncoder(max_tokens=500), Crash()), {"crash__crash": [True]}, X, y,
                cv=one_split, scheduler=cluster.scheduler_address, refit=False)


class _Unpicklable:
    """A resource handle (a connection, a session) that copies as itself and cannot be pickled."""

    def __init__(self, size=0):
        self.data = np.zeros(size)

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("a handle cannot be pickled")

    def __sizeof__(self):
        return self.data.nbytes + 64


def _documents(X, handle=None):
    """A pipeline's first step that would read each document through ``handle`` (a connection, a session)."""
    return X


def test_dask_gaps_s42_candidate_that_cannot_be_sent_ends_the_search(cluster, reviews):
    """A candidate whose parameter cannot be pickled (a step's keyword argument holding a connection): the backend's
    submit of its batch raised in its event loop, where nothing told joblib, and the search waited forever. Now the
    search ends with the pickling error."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from toolkit.distributed import grid_search
    from toolkit.text import BagEncoder

    X, y = reviews
    pipeline = make_pipeline(FunctionTransformer(_documents), BagEncoder(max_tokens=500), LogisticRegression())
    grid = {"functiontransformer__kw_args": [None, {"handle": _Unpicklable()}]}
    with pytest.raises(TypeError, match="serialize"):
        _within(_WAIT, grid_search, pipeline, grid, X, y, cv=2, scheduler=cluster.scheduler_address, refit=False)


def _first(value):
    return 1


def test_dask_gaps_s42_argument_that_cannot_be_scattered_ends_the_call(client):
    """joblib's dask backend scatters a large argument of a batch before it submits the batch: when that failed
    (an argument that cannot be pickled, or no worker to send it to), nothing told joblib, and the Parallel call
    waited forever. Now it raises the error."""
    import joblib

    from toolkit.distributed import search

    backend = search._cluster_backend(client, [])

    def run():
        with joblib.parallel_backend(backend):
            return joblib.Parallel()(joblib.delayed(_first)(_Unpicklable(1000)) for _ in range(3))

    with pytest.raises(TypeError, match="serialize"):
        _within(_WAIT, run)


class _Scheduler:
    """A client whose scheduler kept ``events`` (topic -> [(time, event)]), all that naming the fits reads."""

    def __init__(self, events):
        self.events = events

    def get_events(self, topic):
        return self.events.get(topic, [])


def test_dask_gaps_s42_killed_worker_names_the_fit_that_ran_not_only_the_task_dask_gave_up_on():
    """Dask counts a worker's death against every task given to it: a batch waiting behind the one running, and
    one that finished just before the crash but whose worker died before saying so (its start seen there). Dask
    may give up on that batch: a search whose KilledWorker was now delivered named only "{'hog__crash': False}
    (fold 2 of 2; running at 2 of the 2 deaths)", and not the fit that crashed both workers (seen in 2 of 24 runs
    of test_dask_gaps_usage's crashing-workers test). Now the fits the dead workers were running are named."""
    from types import SimpleNamespace

    from distributed import KilledWorker

    from toolkit.distributed.search import _FIT_STARTED, _fit_culprits

    crashes, waits = "batch_of__fit_and_score_1_calls-a", "batch_of__fit_and_score_1_calls-b"
    fits = {crashes: [("{'hog__crash': True}", "fold 1 of 2")], waits: [("{'hog__crash': False}", "fold 2 of 2")]}
    workers = ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2"]
    removed = {"action": "remove-worker", "processing-tasks": [crashes, waits], "expected": False}
    last = SimpleNamespace(address=workers[1])
    for waited_started in (False, True):  # queued behind the crash; or ran just before it, unreported
        started = [(1.5, {"key": crashes, "fit": 0, "worker": w}) for w in workers]
        if waited_started:
            started += [(1.0, {"key": waits, "fit": 0, "worker": w}) for w in workers]
        client = _Scheduler({_FIT_STARTED: started, **{w: [(2.0, removed)] for w in workers}})
        named = _fit_culprits(client, 0.0, fits, known=workers)([], KilledWorker(waits, last, 1))
        assert "{'hog__crash': True} (fold 1 of 2" in named, waited_started
        assert ("False" in named) == waited_started, waited_started

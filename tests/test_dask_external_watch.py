"""A cluster the user started, with no worker left: toolkit's work waiting on it fails with a clear error.

toolkit starts workers again only on its own ``local_cluster``. On a cluster the user started (``toolkit grid
--scheduler``, ``toolkit store build --scheduler``, a library call given the user's Client), a computation of
toolkit's waited forever, silently, once the cluster had no worker (all killed, scaled down, none ever joined):
distributed fails such tasks only after ``distributed.scheduler.no-workers-timeout``, a setting of the user's
scheduler that is off by default. Now toolkit warns once after ``NO_WORKER_WARN`` seconds without a worker, and fails
its own waiting tasks with a :class:`~toolkit.distributed.search.ClusterError` after ``NO_WORKER_TIMEOUT`` seconds
(here 1 s and 3 s), leaving the user's other work on that cluster alone; a worker that joins in time lets the work
go on.

"The user's cluster" is a ``distributed.LocalCluster`` the test starts itself (worker processes on 127.0.0.1), given
to toolkit by its address or through a Client, as a user would; its workers go with ``cluster.scale(0)``. Every
wait is bounded: on the old code the computation's ``result(timeout=...)`` raises ``TimeoutError`` instead.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

pytest.importorskip("distributed")

#: seconds the computation may wait for its result (the watch fails it ~3 s after the cluster lost its worker)
_WAIT = 15


def _inc(x):
    return x + 1


def _graph(name):
    """Three tasks that wait for a worker, and one that waits for them."""
    import dask

    return dask.delayed(sum)([dask.delayed(_inc)(i, dask_key_name=f"{name}-{i}") for i in range(3)],
                             dask_key_name=f"{name}-total")


def _until(condition, what, timeout=_WAIT):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(0.05)


@pytest.fixture
def users_cluster(monkeypatch, caplog):
    """A running LocalCluster of the user's own (one worker process), already scaled down to no worker; the watch
    warns after 1 s without a worker and fails toolkit's work after 3 s."""
    from distributed import LocalCluster

    from toolkit.distributed import search

    monkeypatch.setattr(search, "NO_WORKER_WARN", 1.0, raising=False)  # (the old code had no watch)
    monkeypatch.setattr(search, "NO_WORKER_TIMEOUT", 3.0, raising=False)
    monkeypatch.setattr(search, "WATCH_INTERVAL", 0.2)
    caplog.set_level(logging.WARNING, logger="toolkit.distributed.search")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster:
        cluster.scale(0)
        _until(lambda: not cluster.scheduler.workers and not cluster.workers, "the cluster to lose its worker")
        yield cluster


def _warnings(caplog, text):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


@pytest.mark.slow
def test_dask_external_watch_fails_toolkits_work_on_a_scheduler_without_workers(users_cluster, caplog):
    from distributed import Client

    from toolkit.distributed.search import ClusterError, dask_client

    address = users_cluster.scheduler_address
    with Client(address) as users:
        theirs = users.compute(_graph("theirs"))  # the user's own work, waiting for a worker too
        with dask_client(address) as client:  # as toolkit grid / store build --scheduler ADDRESS open it
            future = client.compute(_graph("toolkit"))
            try:
                with pytest.raises(ClusterError) as err:
                    future.result(timeout=_WAIT)
            except TimeoutError:
                pytest.fail(f"toolkit's work waited {_WAIT} s on a scheduler with no worker, without an error")
        assert theirs.status == "pending"  # not failed, not cancelled: the cluster's other work is left alone
        users_cluster.scale(1)  # a worker joins: the user's work goes on
        assert theirs.result(timeout=_WAIT) == 6
    message = str(err.value)
    assert message.startswith(f"The Dask cluster at {address} has had no worker for ")
    assert f"start workers with `dask worker {address}`" in message and "other work is left as it is" in message
    warned = _warnings(caplog, "has had no worker for")  # the early warning (its own test), then the failure, once
    assert warned[-1] == message and message not in warned[:-1] and len(warned) <= 2


def test_dask_external_watch_lets_work_go_on_when_a_worker_joins(users_cluster, caplog, monkeypatch):
    from toolkit.distributed import search
    from toolkit.distributed.search import dask_client

    monkeypatch.setattr(search, "NO_WORKER_TIMEOUT", 60.0, raising=False)  # a worker joins well within it
    address = users_cluster.scheduler_address
    with dask_client(address) as client:
        future = client.compute(_graph("toolkit"))
        _until(lambda: _warnings(caplog, "has had no worker for"), "the warning")
        users_cluster.scale(1)
        try:
            assert future.result(timeout=_WAIT) == 6
        except TimeoutError:
            pytest.fail(f"toolkit's work did not finish within {_WAIT} s of a worker joining")
    warned = _warnings(caplog, "has had no worker for")
    assert len(warned) == 1  # once, and no failure
    assert f"start workers with `dask worker {address}`" in warned[0] and "fails if no worker joins" in warned[0]


@pytest.mark.slow
def test_dask_external_watch_fails_only_toolkits_futures_on_a_users_client(users_cluster):
    import dask
    from distributed import Client
    from distributed.client import FutureCancelledError

    from toolkit.distributed.search import (
        ClusterError,
        _cluster_failure,
        _watch_scheduler,
    )

    with Client(users_cluster) as client:  # the user's Client, given to a library call (CorpusStore.build)
        theirs = client.compute(_graph("theirs"))
        # a task of toolkit's that needs one of the user's: that one is theirs too, and is not failed
        shared = dask.delayed(_inc)(0, dask_key_name="theirs-0")
        ours, on_shared = client.compute([_graph("toolkit"), dask.delayed(_inc)(shared, dask_key_name="toolkit-x")])
        with _watch_scheduler(client, [ours, on_shared]):
            try:
                with pytest.raises(ClusterError, match="has had no worker for .* `dask worker "):
                    ours.result(timeout=_WAIT)
                # toolkit's future alone is cancelled (the scheduler cannot fail it without the user's task): the
                # store build's error handler (_cluster_failure) makes the same ClusterError of it
                with pytest.raises(FutureCancelledError) as cancelled:
                    on_shared.result(timeout=_WAIT)
            except TimeoutError:
                pytest.fail(f"toolkit's futures waited {_WAIT} s on a cluster with no worker")
        failure = _cluster_failure(client, cancelled.value, since=0.0, what="the store build")
        assert isinstance(failure, ClusterError) and "has had no worker for" in str(failure)
        assert theirs.status == "pending"
        assert users_cluster.scheduler.tasks["theirs-0"].state in ("queued", "no-worker")
        users_cluster.scale(1)
        assert theirs.result(timeout=_WAIT) == 6


def test_dask_external_watch_store_build_on_a_scheduler_without_workers_fails(users_cluster, imdb_small, tmp_path):
    """``toolkit store build --scheduler ADDRESS`` on a cluster with no worker: its partitions waited forever."""
    from toolkit.cli.store import build_store
    from toolkit.distributed.search import ClusterError

    texts, _ = imdb_small
    path = tmp_path / "reviews.txt"
    path.write_text("\n".join(" ".join(text.split()) for text in texts[:20]) + "\n", encoding="utf-8")
    address = users_cluster.scheduler_address
    done = {}

    def build():
        try:
            done["info"] = build_store([path], tmp_path / "store", scheduler=address)
        except BaseException as err:  # noqa: BLE001 - checked below
            done["error"] = err

    thread = threading.Thread(target=build, daemon=True)  # a hang fails the test instead of stopping it
    thread.start()
    thread.join(_WAIT + 10)
    if thread.is_alive():
        pytest.fail(f"the store build waited {_WAIT + 10} s on a scheduler with no worker, without an error")
    assert isinstance(done.get("error"), ClusterError), done
    assert str(done["error"]).startswith(f"The Dask cluster at {address} has had no worker for ")
    assert not (tmp_path / "store").exists()

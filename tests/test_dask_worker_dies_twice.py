"""A local Dask cluster whose worker dies twice in quick succession: the work finishes instead of waiting forever.

distributed's ``LocalCluster`` closes a worker's nanny for good, and forgets it, when no worker of its name is
registered ``distributed.deploy.lost-worker-timeout`` after the worker left the scheduler; a worker killed again
just before that is still restarting then, and a computation that needed a worker waited forever (a CI run hung
on it). :func:`toolkit.distributed.search.local_cluster` now starts such a worker anew.

The cluster is the test's own (one worker process on 127.0.0.1), the kills real (``kill -9`` by a task). To keep
the test short it sets the timeout to 4 s (15 s by default), and the workers take 1.5 s more to start (a preload
that sleeps, as a worker that imports TensorFlow does), so that the second death falls well inside the window.
Every wait is bounded: on the old code the last task's ``result(timeout=...)`` fails instead of hanging.
"""

from __future__ import annotations

import logging
import os
import time

import pytest

pytest.importorskip("distributed")

from toolkit.distributed.search import _live_workers  # (client.scheduler_info() races)

#: ``distributed.deploy.lost-worker-timeout`` of the test's cluster (seconds)
_LOST = 4.0
#: the preload that makes every worker of the test's cluster take 1.5 s longer to register
_SLOW_START = "import asyncio\n\nasync def dask_setup(worker):\n    await asyncio.sleep(1.5)\n"
#: seconds the last task may wait for a worker (the fixed cluster has one back ~3-5 s after the drop)
_WAIT = 40


def _die():
    os.kill(os.getpid(), 9)


def _kill_worker(client):
    """Submit a task that kills its worker process; return when the client hears of the death."""
    from distributed import KilledWorker

    with pytest.raises(KilledWorker):
        client.submit(_die, pure=False).result(timeout=_WAIT)
    return time.monotonic()


@pytest.mark.slow
def test_local_cluster_worker_killed_twice_in_quick_succession_is_started_again(caplog):
    import dask
    from distributed import Client
    from distributed.core import Status

    from toolkit.distributed.search import local_cluster

    caplog.set_level(logging.WARNING, logger="toolkit.distributed.search")
    config = {"distributed.deploy.lost-worker-timeout": f"{_LOST}s",
              # a task that kills its worker fails at once (KilledWorker) instead of being run again
              "distributed.scheduler.allowed-failures": 0}
    with dask.config.set(config), \
            local_cluster(1, preload=[_SLOW_START], silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(1, timeout=_WAIT)
        nanny = cluster.workers[0]
        first = _kill_worker(client)
        # the second death ~1 s before the cluster looks for the worker again: it is then still restarting
        time.sleep(max(0.0, first + _LOST - 1.0 - time.monotonic()))
        _kill_worker(client)
        # the cluster closes that worker's nanny for good: its restarting worker (which may still register and
        # take a task meanwhile) goes with it
        deadline = time.monotonic() + _WAIT
        while nanny.status != Status.closed:
            assert time.monotonic() < deadline, (f"the worker's nanny is still {nanny.status} after {_WAIT} s: the "
                                                 "second death came too late to make the cluster drop the worker")
            time.sleep(0.1)
        started = time.monotonic()
        try:
            assert client.submit(sum, [1, 2, 3], pure=False).result(timeout=_WAIT) == 6
        except TimeoutError:
            pytest.fail(f"a task waited {_WAIT} s for a worker: the local cluster never started its dropped worker "
                        f"again (workers: {list(cluster.workers)}, spec: {list(cluster.worker_spec)})")
        waited = time.monotonic() - started
        assert list(cluster.worker_spec) == [0]
        assert len(_live_workers(client)) == 1
    dropped = [r.getMessage() for r in caplog.records if "died again" in r.getMessage()]
    assert len(dropped) == 1, f"the second death did not make the cluster drop its worker: {caplog.text}"
    assert "local Dask worker(s) 0 died again" in dropped[0] and "memory" in dropped[0]
    logging.getLogger(__name__).info("the last task waited %.1f s for the worker to be started again", waited)

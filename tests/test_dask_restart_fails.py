"""A local Dask cluster whose only worker dies and cannot be started again: the waiting work fails with a clear error.

When a worker process died and its nanny could not start it again, distributed left the work that waited for a
worker waiting forever: a nanny that gave up closes itself, and one that keeps failing is dropped by the cluster
(``distributed.deploy.lost-worker-timeout``) and, started anew by :func:`toolkit.distributed.search.local_cluster`,
fails to start; nothing ends the wait (``distributed.scheduler.no-workers-timeout`` is off by default). A store build,
or a grid search whose fits were queued, hung on such a cluster with no worker left and no error. The cluster now fails that work with a
:class:`~toolkit.distributed.search.ClusterError` that says so and what to do.

The cluster is the test's own (one worker process on 127.0.0.1). Its worker starts normally; the test then makes its
preload break every later start (a marker file), and kills the worker with a task (``kill -9``). Two ways a start
fails: the preload raises when it is imported (the nanny logs the error and gives up: it closes), and the worker
process exits while it starts (the nanny tries again and again until the cluster drops it; the nanny started in its
place fails); and the latter on a cluster that will not start a dropped worker anew any more (it did so
``WATCH_MAX_RESTARTS`` times: here 0). The lost-worker timeout is 2 s (15 s by default) to keep the test short. Every
wait is bounded: on the old code the computation's ``result(timeout=...)`` raises ``TimeoutError`` instead of the error.
"""

from __future__ import annotations

import logging
import os

import pytest

pytest.importorskip("distributed")

#: seconds the computation may wait for its result (the fixed cluster fails it within a few seconds of the death,
#: plus the lost-worker timeout when the nanny keeps trying)
_WAIT = 40

#: how the worker's starts fail once the marker file exists; "restarted too often" is "worker exits while starting"
#: on a cluster that already started that worker anew as often as it will (``WATCH_MAX_RESTARTS`` set to 0)
_MODES = ["preload raises", "worker exits while starting", "restarted too often"]


def _preload(marker, mode):
    """The source of a preload that breaks every start of a worker once ``marker`` exists."""
    if mode == "preload raises":  # at import: Worker() fails, the nanny logs it and closes
        return (f"import os\n\nif os.path.exists({str(marker)!r}):\n"
                "    raise RuntimeError('this preload cannot start a worker')\n")
    # in dask_setup: the process is gone before it connects, and the nanny restarts it until the cluster drops it
    return f"import os\n\n\ndef dask_setup(worker):\n    if os.path.exists({str(marker)!r}):\n        os._exit(3)\n"


def _die():
    os.kill(os.getpid(), 9)


def _inc(x):
    return x + 1


@pytest.mark.parametrize("mode", _MODES)
@pytest.mark.slow
def test_local_cluster_whose_worker_cannot_start_again_fails_the_waiting_work(tmp_path, caplog, monkeypatch, mode):
    import dask
    from distributed import Client, KilledWorker
    from distributed.core import Status

    from toolkit.distributed import search
    from toolkit.distributed.search import ClusterError, local_cluster

    if mode == "restarted too often":
        monkeypatch.setattr(search, "WATCH_MAX_RESTARTS", 0, raising=False)  # (the old code had no limit)
    caplog.set_level(logging.WARNING, logger="toolkit.distributed.search")
    marker = tmp_path / "broken"
    config = {"distributed.deploy.lost-worker-timeout": "2s",
              # the task that kills its worker fails at once (KilledWorker) instead of waiting for a worker itself
              "distributed.scheduler.allowed-failures": 0}
    with dask.config.set(config), \
            local_cluster(1, preload=[_preload(marker, mode)], silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(1, timeout=_WAIT)
        assert client.submit(_inc, 1, pure=False).result(timeout=_WAIT) == 2  # the worker works
        marker.touch()  # every later start of the worker fails
        with pytest.raises(KilledWorker):
            client.submit(_die, pure=False).result(timeout=_WAIT)
        # a graph: three tasks that wait for a worker, and one that waits for them
        total = dask.delayed(sum)([dask.delayed(_inc)(i, dask_key_name=f"inc-{i}") for i in range(3)])
        future = client.compute(total)
        try:
            with pytest.raises(ClusterError) as err:
                future.result(timeout=_WAIT)
        except TimeoutError:
            pytest.fail(f"the computation waited {_WAIT} s on a cluster with no worker left (workers: "
                        f"{ {name: str(nanny.status) for name, nanny in cluster.workers.items()} }, scheduler's: "
                        f"{list(cluster.scheduler.workers)})")
        assert cluster.status == Status.running  # the work failed, the cluster is left to its owner
        assert not cluster.scheduler.workers
    message = str(err.value)
    anew = "its nanny (started anew after distributed dropped it) failed to start it"
    # preload raises: the nanny gives up restarting; on a loaded machine (CI beside other work) distributed may
    # first drop the worker, which is then started anew and fails to start: either account is a true one
    why = {"preload raises": ("its nanny closed: it gave up restarting its worker", anew),
           "worker exits while starting": (anew,),
           "restarted too often": ("it kept dying: distributed dropped it 1 time(s) within 600 s",)}[mode]
    assert message.startswith(tuple(f"The local Dask cluster has no worker left and cannot start one (worker 0: {w}"
                                     for w in why)), message
    assert "task(s) waiting for a worker (e.g. 'inc-" in message
    assert "memory_limit=..." in message and "start fewer" in message and "preload" in message
    warned = [r.getMessage() for r in caplog.records if "no worker left" in r.getMessage()]
    assert warned and warned[0] == message

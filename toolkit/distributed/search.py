"""Grid searches on Dask: scikit-learn's ``GridSearchCV`` under joblib's ``dask`` backend.

Nothing here replaces scikit-learn: :func:`grid_search` opens (or connects to)
a cluster, runs ``GridSearchCV`` with ``joblib.parallel_backend("dask")`` and
closes what it opened. Every fit is one task; the training data are scattered
to the workers once, and each task ships only the estimator's parameters
(vectors travel as a path or manifest name, opened memory-mapped by each
worker).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
import time
from collections.abc import Iterable
from typing import ClassVar

import numpy as np
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

from ..exceptions import ToolkitError

__all__ = ["WORKER_ENV", "ClusterError", "dask_client", "grid_search", "local_cluster", "worker_config"]

logger = logging.getLogger(__name__)


class ClusterError(ToolkitError, RuntimeError):
    """The Dask cluster could not do the work: workers killed (e.g. over their memory limit), a scheduler gone,
    or workers that cannot import what the tasks need. The message names the cause and what to do."""

#: Opt-in environment for local worker processes (``LocalCluster(env=WORKER_ENV)``):
#: one TensorFlow thread each, so N workers on N cores do not oversubscribe them.
#: Not the default: a fit with one thread can differ in the last bits from the
#: same fit with TensorFlow's default threads, and over many epochs the
#: cv_results_ then differ from n_jobs=1 (seen in bench_dask_grid_epochs7.json).
WORKER_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def worker_config(*, trim_memory=False, profile=False):
    """Dask settings for worker processes that run scikit-learn fits at full speed.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker it
    spawns, so that freed memory goes back to the operating system. Setting
    that variable also turns off glibc's adaptive ``mmap`` threshold: every
    large numpy temporary becomes a fresh ``mmap`` whose pages are faulted in
    again. The worker's statistical profiler (a stack sample every 10 ms, for
    the dashboard's profile page) costs more on top. Together they made a
    grid of n-gram stack fits take 1.18x the wall time
    (``benchmarks/bench_dask_worker_config.py``).

    Parameters
    ----------
    trim_memory : bool, default=False
        Keep Dask's ``MALLOC_TRIM_THRESHOLD_``: workers give memory back to the
        system sooner and fit more slowly. Set it on long-lived clusters that
        run out of memory.
    profile : bool, default=False
        Keep the workers' statistical profiler.

    Returns
    -------
    dict
        For ``dask.config.set(...)`` around the creation of the cluster (the
        nanny reads it when it spawns the workers), or for the ``distributed``
        section of a cluster's configuration file.

    Examples
    --------
    >>> import dask
    >>> config = worker_config()
    >>> "MALLOC_TRIM_THRESHOLD_" in config["distributed.nanny.pre-spawn-environ"]
    False
    >>> with local_cluster(n_workers=2) as cluster:  # doctest: +SKIP
    ...     ...  # LocalCluster started with these settings
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    if not trim_memory:
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {"distributed.nanny.pre-spawn-environ": environ, "distributed.worker.profile.enabled": bool(profile)}


class _TaskErrorFilter(logging.Filter):
    """Drops the records a worker logs for a task that failed ("Compute Failed", with the task's traceback)
    and for a task cancelled as the worker closes ("Async instruction for <Task ...> ended with CancelledError":
    the fits still running when a search stops at a failed one)."""

    def filter(self, record) -> bool:
        message = str(record.msg).strip()
        return not (message.startswith("Compute Failed")
                    or (message.startswith("Async instruction for") and message.endswith("CancelledError")))


#: the one filter :class:`_TaskErrorsUnlogged` puts on the loggers of :data:`_TASK_LOGGERS` (and takes off)
_TASK_ERROR_FILTER = _TaskErrorFilter()
#: the loggers of the worker's records that :class:`_TaskErrorFilter` drops (a logger's filters see only its own)
_TASK_LOGGERS = ("distributed.worker", "distributed.worker.state_machine")


class _TaskErrorsUnlogged(WorkerPlugin):
    """A worker plugin: the worker does not log the tasks that fail (``local_cluster(log_task_errors=False)``).

    distributed's worker logs every failed task at ERROR, traceback included,
    in its own process, whose stderr is the terminal of the program that
    started a local cluster; the client raises the same exception, with the
    same traceback. Nor does it log the tasks cancelled as it closes (the
    rest of the work, after a failure). The other records of the worker's
    log are kept.
    """

    name = "toolkit-task-errors-unlogged"

    #: workers of this process that have the filter (several with ``processes=False``): the last one removes it
    _users: ClassVar[set] = set()

    def setup(self, worker):
        _TaskErrorsUnlogged._users.add(id(worker))
        for name in _TASK_LOGGERS:
            logging.getLogger(name).addFilter(_TASK_ERROR_FILTER)  # (once: addFilter skips a filter it has)

    def teardown(self, worker):
        _TaskErrorsUnlogged._users.discard(id(worker))
        if not _TaskErrorsUnlogged._users:
            for name in _TASK_LOGGERS:
                logging.getLogger(name).removeFilter(_TASK_ERROR_FILTER)


#: keyword arguments of :func:`local_cluster` for the clusters :func:`dask_client` starts (and through it,
#: :func:`grid_search`), set for a block with :func:`_local_cluster_defaults`
_CLUSTER_DEFAULTS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("toolkit_local_cluster_defaults",
                                                                             default=None)


@contextlib.contextmanager
def _local_cluster_defaults(**options):
    """Arguments of :func:`local_cluster` (``silence_logs``, ``log_task_errors``...) for the local clusters that
    :func:`dask_client` and :func:`grid_search` start in the block; the CLI sets its log level there."""
    token = _CLUSTER_DEFAULTS.set({**(_CLUSTER_DEFAULTS.get() or {}), **options})
    try:
        yield
    finally:
        _CLUSTER_DEFAULTS.reset(token)


@contextlib.contextmanager
def local_cluster(n_workers=None, *, trim_memory=False, profile=False, log_task_errors=True, **kwargs):
    """A ``distributed.LocalCluster`` whose workers get :func:`worker_config`.

    Dask's nanny also writes its worker environment into *this* process's
    ``os.environ`` before it spawns a worker, so after any cluster started with
    Dask's defaults every later worker would inherit
    ``MALLOC_TRIM_THRESHOLD_`` whatever its configuration says. Unless
    ``trim_memory`` is set, the variable is left out of ``os.environ`` while
    the workers start, and put back afterwards.

    A worker that distributed drops for good after it died twice in quick
    succession (killed again while its nanny restarted it) is started anew,
    with a warning, instead of leaving the work waiting for a worker forever;
    and when no worker is left and none can be started again (its nanny
    failed to start it, or gave up), the work waiting for one fails with a
    :class:`ClusterError` that says so (see :func:`_watch_workers`).

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: the number of cores).
    trim_memory, profile : bool, default=False
        Passed to :func:`worker_config`.
    log_task_errors : bool, default=True
        Whether a worker logs each task that fails ("Compute Failed", with
        the task's traceback) and each task cancelled as it closes, as
        distributed's workers do. The exception reaches the client all the
        same, the worker's traceback with it: a program that reports it
        itself (the CLI) passes False, so that it is reported once. The
        workers' other logs are left as they are (``silence_logs`` sets
        their level).
    **kwargs
        More ``LocalCluster`` arguments; the defaults here are one thread per
        worker, worker processes, ``host="127.0.0.1"`` and a dashboard on a
        free port. ``silence_logs`` is the level of the workers' logs
        (distributed's default: ``logging.WARNING``).

    Yields
    ------
    distributed.LocalCluster
        Closed on exit.
    """
    import os

    import dask
    from distributed import LocalCluster

    # dashboard ":0": the scheduler's HTTP server always starts, and 8787 may belong to another cluster
    options = dict(threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")
    options.update(kwargs)
    if not log_task_errors:  # every worker, those its nanny starts again included, gets the plugin at start
        options["plugins"] = (*options.get("plugins", ()), _TaskErrorsUnlogged())
    saved = None if trim_memory else os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    try:
        with dask.config.set(worker_config(trim_memory=trim_memory, profile=profile)):
            cluster = LocalCluster(n_workers=n_workers, **options)
    finally:
        if saved is not None:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = saved
    with cluster:
        stop_watch = _watch_workers(cluster)
        address = getattr(cluster, "scheduler_address", None)
        _LOCALLY_WATCHED.add(address)  # its lost workers are this watch's business, not _watch_scheduler's
        interrupted = False
        try:
            yield cluster
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            _LOCALLY_WATCHED.discard(address)
            stop_watch()
            # after a Ctrl-C in a terminal the workers got it too (it signals the whole process group): they no
            # longer answer a close, and waiting WORKER_CLOSE_TIMEOUT for them delayed the exit by ~17 s; the
            # cluster's own close (Dask's 4 s) ends them
            if not interrupted:
                _close_workers(cluster, WORKER_CLOSE_TIMEOUT)


#: seconds between two looks of :func:`_watch_workers` at a local cluster's workers
WATCH_INTERVAL = 1.0
#: times :func:`_watch_workers` starts a dropped worker anew within :data:`WATCH_RESTART_WINDOW` seconds; a worker
#: dropped more often keeps dying, and is left out
WATCH_MAX_RESTARTS = 3
WATCH_RESTART_WINDOW = 600.0


def _watch_workers(cluster, interval=None):
    """Start again the workers that distributed's ``LocalCluster`` drops after they die twice in quick succession.

    When a worker leaves the scheduler, the cluster waits
    ``distributed.deploy.lost-worker-timeout`` (15 s) and then closes its
    nanny for good, and forgets it, unless a worker of the same name is
    registered again by then (``SpecCluster._update_worker_status``). A
    worker killed (``kill -9``, the OOM killer, its memory limit) and
    restarted by its nanny is back in about a second, but one killed again
    just before those 15 s are up is still restarting then: it is dropped,
    though it stays in the cluster's ``worker_spec``, and nothing starts it
    again. A computation then waited for a worker forever.

    Every ``interval`` seconds this looks, on the cluster's event loop, for
    names in ``worker_spec`` without a worker; a name missing at two looks in
    a row while no scaling is under way, whose nanny was last seen running
    (restarting its worker), was dropped, and is started anew
    (``cluster.scale`` to the same size), with a warning that names it. A
    worker that is only being scaled up is never missing at two looks with
    the cluster's lock free; one retired on purpose (its nanny closed before
    the cluster forgot it) is left alone. A worker dropped more than
    :data:`WATCH_MAX_RESTARTS` times within :data:`WATCH_RESTART_WINDOW`
    seconds keeps dying, and is not started again.

    A worker that cannot be started again (a preload that exits, a worker
    killed at every start) leaves no worker and no hope of one: its nanny
    tries to restart it until the cluster drops it, and the nanny started
    anew in its place fails to start (``Status.failed``) and stays in the
    cluster; a nanny that gave up closes itself. Nothing in distributed then
    ends the work waiting for a worker (its scheduler's
    ``no-workers-timeout`` is off by default). So when, at two looks in a row, the
    scheduler has no worker, no scaling is under way, and every name of
    ``worker_spec`` has a nanny that failed, closed or is closing (or was
    dropped for good), the tasks waiting for a worker are failed with a
    :class:`ClusterError` that says so, as distributed itself fails them
    after ``no-workers-timeout``: their futures raise it, and a warning is
    logged. The cluster itself is left as it is (its owner closes it). A worker that
    the scheduler retired (``client.retire_workers()``) is forgotten at once,
    so that ``cluster.scale(n)`` starts it again (distributed kept its nanny
    for ``lost-worker-timeout``, and scaling started nothing meanwhile), and
    the error says it was retired.

    Returns
    -------
    callable
        Stops the watch (call it before closing the cluster).
    """
    import asyncio

    from distributed.core import Status
    from tornado.ioloop import PeriodicCallback

    if getattr(cluster, "asynchronous", False) or not hasattr(cluster, "worker_spec"):
        return lambda: None
    interval = WATCH_INTERVAL if interval is None else interval
    missing_before: set = set()
    last_status: dict = {}  # name -> its nanny's status at the last look that saw it
    addresses: dict = {}  # name -> the address of its worker at the last look that saw one
    restarts: dict = {}
    started_anew: dict = {}  # name -> the times (time.monotonic) the watch started it anew
    given_up: set = set()  # names dropped too often: not started again
    hopeless_before = False

    def look():
        nonlocal missing_before, hopeless_before
        if cluster.status != Status.running:
            return
        lock = getattr(cluster, "_lock", None)
        closing = [future for future in getattr(cluster, "_futures", ()) if not future.done()]
        if (lock is not None and lock.locked()) or getattr(cluster, "_correct_state_waiting", None) or closing:
            missing_before = set()  # workers being started or closed: look again later
            hopeless_before = False
            return
        last_status.update((name, getattr(nanny, "status", None)) for name, nanny in cluster.workers.items())
        addresses.update((name, nanny.worker_address) for name, nanny in cluster.workers.items()
                         if getattr(nanny, "worker_address", None))
        # a worker retired by the scheduler (client.retire_workers) left its nanny in the cluster for
        # distributed.deploy.lost-worker-timeout (15 s), and cluster.scale(n) did not start it again until then:
        # forgotten at once, as the cluster itself forgets it then (its close awaited by the cluster's)
        for name, nanny in list(cluster.workers.items()):
            if (getattr(nanny, "status", None) in (Status.closing_gracefully, Status.closing, Status.closed)
                    and _retired(cluster.scheduler, addresses.get(name))):
                cluster._futures.add(asyncio.ensure_future(nanny.close()))
                del cluster.workers[name]
        missing = set(cluster.worker_spec) - set(cluster.workers)
        # dropped while running (restarting its worker); a nanny closed on purpose (client.retire_workers) is not
        dropped = {name for name in missing & missing_before - given_up if last_status.get(name) == Status.running}
        missing_before = missing - dropped
        now = time.monotonic()
        for name in dropped:
            started_anew[name] = [t for t in started_anew.get(name, ()) if t > now - WATCH_RESTART_WINDOW]
        too_often = {name for name in dropped if len(started_anew[name]) >= WATCH_MAX_RESTARTS}
        if too_often:
            given_up.update(too_often)
            dropped -= too_often
            logger.error(
                "local Dask worker(s) %s died again after being started anew %d time(s) within %.0f s: not "
                "starting them again. Workers that keep dying are usually over their memory limit or killed by the "
                "system for memory: give them more memory (memory_limit=...) or start fewer.",
                ", ".join(map(str, sorted(too_often, key=str))), WATCH_MAX_RESTARTS, WATCH_RESTART_WINDOW)
        if not dropped:
            hopeless = _hopeless_workers(cluster, missing, last_status, given_up, started_anew, addresses)
            if hopeless and hopeless_before:
                try:
                    _fail_waiting_work(cluster, hopeless)
                except Exception as err:  # noqa: BLE001 - a watch must not stop the loop; the message says what failed
                    logger.error("could not fail the work waiting for the local Dask cluster's lost workers: %r", err)
            hopeless_before = bool(hopeless)
            return
        hopeless_before = False
        for name in dropped:
            restarts[name] = restarts.get(name, 0) + 1
            started_anew[name].append(now)
        logger.warning(
            "local Dask worker(s) %s died again while their nanny was restarting them, and distributed closed "
            "them for good (distributed.deploy.lost-worker-timeout): starting them anew (%s). Workers that keep "
            "dying are usually over their memory limit or killed by the system for memory: give them more memory "
            "(memory_limit=...) or start fewer.",
            ", ".join(map(str, sorted(dropped, key=str))),
            ", ".join(f"{name}: {count} time(s)" for name, count in sorted(restarts.items(), key=str)),
        )
        try:
            cluster.scale(len(cluster.worker_spec))
        except Exception as err:  # noqa: BLE001 - a watch must not stop the loop; the message says what failed
            logger.error("could not start the dropped local Dask worker(s) %s again: %r",
                         ", ".join(map(str, sorted(dropped, key=str))), err)

    callback = PeriodicCallback(look, interval * 1000)
    cluster.loop.add_callback(callback.start)

    def stop():
        try:
            cluster.loop.add_callback(callback.stop)
        except Exception as err:  # noqa: BLE001 - the loop already closed: the callback died with it
            logger.debug("stopping the local Dask worker watch failed: %r", err)

    return stop


def _hopeless_workers(cluster, missing, last_status, given_up, started_anew, addresses=None) -> dict:
    """Why each worker of ``cluster`` will not come back (name -> reason), or ``{}`` while one is registered at its
    scheduler, or may still be (a nanny starting or restarting its worker, a worker dropped a moment ago that
    :func:`_watch_workers` is about to start anew), or when the cluster was scaled to no worker. A worker that the
    scheduler retired (``addresses``: name -> its last address; the scheduler's "retired" event) is said to be
    retired, with :data:`_RETIRED`, rather than lost."""
    from distributed.core import Status

    scheduler = getattr(cluster, "scheduler", None)
    if not cluster.worker_spec or getattr(scheduler, "workers", None) is None or scheduler.workers:
        return {}
    gone = (Status.failed, Status.closing, Status.closed, Status.closing_gracefully)
    reasons = {}
    for name in cluster.worker_spec:
        anew = " (started anew after distributed dropped it)" if name in started_anew else ""
        if name in missing and name in given_up:
            reasons[name] = (f"it kept dying: distributed dropped it {len(started_anew[name]) + 1} time(s) within "
                             f"{WATCH_RESTART_WINDOW:.0f} s, and it was not started again")
        elif name in cluster.workers:
            status = getattr(cluster.workers[name], "status", None)
            if status not in gone:
                return {}  # its nanny may still bring its worker back
            if status == Status.failed:
                reasons[name] = f"its nanny{anew} failed to start it{_start_failure(cluster.workers[name])}"
            elif _retired(scheduler, (addresses or {}).get(name)):
                reasons[name] = _RETIRED
            else:
                reasons[name] = f"its nanny{anew} closed: it gave up restarting its worker, or was closed"
        elif last_status.get(name) == Status.running:
            return {}  # dropped while restarting its worker: started anew at the next look
        elif _retired(scheduler, (addresses or {}).get(name)):
            reasons[name] = _RETIRED
        else:
            reasons[name] = "its nanny closed: it gave up restarting its worker, or was closed (and was dropped)"
    return reasons


#: the reason :func:`_hopeless_workers` gives for a worker that the scheduler retired
_RETIRED = "it was retired (client.retire_workers()), and a retired worker is not started again"


def _retired(scheduler, address) -> bool:
    """Whether the scheduler's last record of the worker at ``address`` is its retirement (a "retired" event
    after its last "add-worker"): closed on purpose, not lost."""
    if address is None:
        return False
    try:
        actions = [event.get("action") for _, event in scheduler.get_events(address) if isinstance(event, dict)]
    except Exception:  # noqa: BLE001 - no events kept: said as a worker lost
        return False
    last_added = max((i for i, action in enumerate(actions) if action == "add-worker"), default=-1)
    return "retired" in actions[last_added + 1:]


def _start_failure(nanny) -> str:
    """`` (<the error>)``: why ``nanny`` failed to start (a preload that raised, a worker process that exited), or
    ``""`` when not known. distributed keeps the error of a failed start only in a private attribute of the
    server (``Server.start`` raises it again); without it (another version) the message names no error."""
    error = getattr(nanny, "_Server__startup_exc", None)
    if not isinstance(error, BaseException):
        return ""
    causes = [error]
    while causes[-1].__cause__ is not None and len(causes) < 3:
        causes.append(causes[-1].__cause__)
    text = "; ".join(f"{type(e).__name__}: {e}".rstrip(": ") for e in reversed(causes))
    return f" ({text if len(text) <= 300 else text[:297] + '...'})"


def _fail_waiting_work(cluster, reasons) -> int:
    """Fail the tasks of ``cluster``'s scheduler that wait for a worker with a :class:`ClusterError` naming
    ``reasons`` (:func:`_hopeless_workers`); the number of tasks failed.

    The same transitions as distributed's own ``distributed.scheduler.no-workers-timeout``
    (``Scheduler._fail_tasks_after_no_workers_timeout``): each queued or unrunnable task goes to ``erred`` with the
    error, its dependents after it, and the clients that wait on them get it. Runs on the scheduler's event loop.
    """
    import pickle

    scheduler = cluster.scheduler
    waiting = [ts for ts in (*scheduler.unrunnable, *scheduler.queued) if ts.state in ("no-worker", "queued")]
    if not waiting:
        return 0
    workers = "; ".join(f"worker {name}: {reason}" for name, reason in sorted(reasons.items(), key=str))
    failed = (f"so {len(waiting)} task(s) waiting for a worker (e.g. {waiting[0].key!r}) failed instead of waiting "
              "forever.")
    retired = sum(reason == _RETIRED for reason in reasons.values())
    if retired == len(reasons):  # closed on purpose: nothing died, and nothing to fix but the number of workers
        message = (
            f"The local Dask cluster has no worker left ({workers}), {failed} Start workers again before giving it "
            f"work (cluster.scale({len(reasons)})), or retire them after the work is done, then run it again."
        )
    else:
        message = (
            f"The local Dask cluster has no worker left and cannot start one ({workers}), {failed} Workers that die "
            "at every start or keep dying are usually over their memory limit or killed by the system for memory, "
            "or stopped by their preload, plugins or environment (distributed.nanny's log says how each worker "
            "ended). Give them more memory (memory_limit=...), start fewer (n_workers, --workers), or fix their "
            "preload, then run it again."
            + (f" The retired workers start again with cluster.scale({len(reasons)})." if retired else "")
        )
    logger.warning("%s", message)
    error = pickle.dumps(ClusterError(message))
    stimulus_id = f"toolkit-no-worker-left-{time.time()}"
    recommendations: dict = {}
    for ts in waiting:
        if ts.state in ("no-worker", "queued") and scheduler.tasks.get(ts.key) is ts:
            recommendations.update(scheduler.transition(ts.key, "erred", stimulus_id=stimulus_id, exception=error,
                                                        cause=ts.key, exception_text=message))
    scheduler.transitions(recommendations, stimulus_id=stimulus_id)
    return len(waiting)


#: seconds a cluster that toolkit did not start (``dask_client(scheduler=address)``: ``toolkit grid --scheduler``,
#: ``toolkit store build --scheduler``) may have no worker while toolkit's work waits for one, before a warning
#: (once) says so and what to do; see :func:`_watch_scheduler`
NO_WORKER_WARN = 30.0
#: seconds such a cluster may have no worker while toolkit's work waits for one before that work fails with a
#: :class:`ClusterError` (as long as :func:`grid_search` gives a cluster with no worker at the start: ``WORKER_WAIT``)
NO_WORKER_TIMEOUT = 120.0
#: the ``reason`` of toolkit's futures that :func:`_watch_scheduler` cancels when the scheduler refuses to fail them
_NO_WORKER_REASON = "toolkit-no-worker"
#: scheduler addresses of the clusters :func:`local_cluster` watches (:func:`_watch_workers`)
_LOCALLY_WATCHED: set = set()
#: ids of the clients :func:`_watch_scheduler` watches now (a nested watch on the same client does nothing)
_WATCHED_CLIENTS: set = set()


def _own_waiting_tasks(client_id, keys, dask_scheduler=None):
    """Runs on the scheduler (shipped by value: the scheduler need not import toolkit). The keys of the tasks that
    wait for a worker ("no-worker" or "queued") on behalf of client ``client_id`` alone: every task wanted through
    their dependents is wanted by that client only (and, with ``keys``, is one of ``keys``), so failing them fails
    no other work. Empty while the scheduler has a worker."""
    if dask_scheduler.workers:
        return []
    keys = None if keys is None else set(keys)
    verdicts = {}

    def ours(ts):
        stack, seen, wanted = [ts], set(), False
        while stack:
            task = stack.pop()
            if task.key in seen:
                continue
            seen.add(task.key)
            if task.key in verdicts:  # a dependent already judged: its whole closure was
                if not verdicts[task.key]:
                    return False
                wanted = True
                continue
            clients = {cs.client_key for cs in (task.who_wants or ())}
            if clients:
                if clients != {client_id} or (keys is not None and task.key not in keys):
                    return False
                wanted = True
            stack.extend(task.dependents)
        return wanted

    found = []
    for ts in (*dask_scheduler.unrunnable, *dask_scheduler.queued):
        if ts.state in ("no-worker", "queued"):
            verdicts[ts.key] = ours(ts)
            if verdicts[ts.key]:
                found.append(ts.key)
    return found


def _fail_tasks(keys, error, message, dask_scheduler=None):
    """Runs on the scheduler (shipped by value). Fail the tasks ``keys`` that still wait for a worker with
    ``error`` (a pickled exception), as distributed's ``no-workers-timeout`` does; their dependents fail with them.
    Nothing when a worker joined meanwhile. The number of tasks failed."""
    import time

    if dask_scheduler.workers:
        return 0
    stimulus_id = f"toolkit-no-worker-{time.time()}"
    recommendations, failed = {}, 0
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is not None and ts.state in ("no-worker", "queued"):
            recommendations.update(dask_scheduler.transition(key, "erred", stimulus_id=stimulus_id, exception=error,
                                                             cause=key, exception_text=message))
            failed += 1
    dask_scheduler.transitions(recommendations, stimulus_id=stimulus_id)
    return failed


@contextlib.contextmanager
def _watch_scheduler(client, futures=None, *, warn_after=None, fail_after=None, interval=None):
    """Fail toolkit's work waiting on a cluster toolkit did not start when that cluster has had no worker too long.

    toolkit can start workers again on its own :func:`local_cluster` (:func:`_watch_workers`), not on a user's
    cluster: there, when every worker is gone (killed, scaled down, or none ever joined), the scheduler keeps the
    tasks waiting for a worker, and distributed fails them only after its ``distributed.scheduler.no-workers-timeout``,
    a setting of the user's scheduler that is off by default (toolkit leaves it as it is). A computation of toolkit's
    then waited forever, silently.

    In the block, a thread of this process asks the scheduler every ``interval`` seconds whether it has a worker.
    While it has none and tasks of toolkit's wait for one, a warning (once per such spell) says so after
    ``warn_after`` seconds (:data:`NO_WORKER_WARN`), naming the scheduler and ``dask worker <address>``; after
    ``fail_after`` seconds (:data:`NO_WORKER_TIMEOUT`) those tasks fail with a :class:`ClusterError` that names the
    scheduler, how long it had no worker and what to do, as distributed's own timeout fails them (their dependents
    with them): the futures waiting on them raise it. A worker that joins in the meantime lets the work go on, and
    starts the count anew. A warning first, and failing later, because a user's cluster may well get its workers
    back: an adaptive or batch-queue cluster (dask-jobqueue, Kubernetes) can take minutes to start one.

    Only toolkit's tasks fail: with ``futures=None``, the tasks wanted by ``client`` alone (a client toolkit opened
    for the work, :func:`dask_client`); with ``futures`` (the work on a user's own Client), the tasks wanted only
    through them. A task that other work wants too is left waiting. A scheduler that refuses to run the check
    (``distributed.scheduler.pickle: False``) has toolkit's futures cancelled instead: :func:`_cluster_failure`
    turns that cancellation into the same error. Nothing is watched on an asynchronous client, on the scheduler of a
    :func:`local_cluster` (watched already) or on a client watched already.
    """
    address = getattr(getattr(client, "scheduler", None), "address", None)
    client_id = getattr(client, "id", None)
    if (getattr(client, "asynchronous", False) or address is None or address in _LOCALLY_WATCHED
            or client_id in _WATCHED_CLIENTS):
        yield
        return
    warn_after = NO_WORKER_WARN if warn_after is None else warn_after
    fail_after = NO_WORKER_TIMEOUT if fail_after is None else fail_after
    interval = WATCH_INTERVAL if interval is None else interval
    futures = None if futures is None else list(futures)
    keys = None if futures is None else [future.key for future in futures]
    find, fail = _by_value(_own_waiting_tasks), _by_value(_fail_tasks)
    stop = threading.Event()

    def pending() -> list:
        """The keys of toolkit's futures that have no result yet."""
        if futures is not None:
            return [future.key for future in futures if not future.done()]
        return [key for key, state in list(client.futures.items()) if state.status == "pending"]

    def waiting():
        """Keys of toolkit's tasks waiting for a worker; None when the scheduler does not run the check."""
        try:
            return client.run_on_scheduler(find, client_id, keys)
        except Exception as err:  # noqa: BLE001 - e.g. a scheduler that takes no pickled function
            logger.debug("the Dask scheduler at %s did not say which tasks wait for a worker: %r", address, err)
            return None

    told = False  # whether the failure was logged in this spell without a worker

    def give_up(elapsed):
        nonlocal told
        message = (
            f"The Dask cluster at {address} has had no worker for {elapsed:.0f} s, so toolkit's work waiting for one "
            f"failed instead of waiting forever. toolkit starts no worker on a cluster it did not start: start "
            f"workers with `dask worker {address}` (or scale your cluster up), then run it again. The cluster's "
            "other work is left as it is."
        )
        found = waiting()
        if found:
            import pickle

            try:
                if client.run_on_scheduler(fail, found, pickle.dumps(ClusterError(message)), message):
                    if not told:
                        logger.warning("%s", message)
                    told = True
                    return  # the futures hear of it; any left waiting (on work of others) are cancelled next time
            except Exception as err:  # noqa: BLE001 - cancelled below instead
                logger.debug("the Dask scheduler at %s did not fail the waiting tasks: %r", address, err)
        mine = pending()
        if mine and not client.ncores():  # tasks that wait on others' work too, or a scheduler that did not fail them
            from distributed import Future

            if not told:
                logger.warning("%s", message)
            told = True
            client.cancel([future for future in futures if future.key in mine] if futures is not None
                          else [Future(key, client) for key in mine], reason=_NO_WORKER_REASON, msg=message)

    def watch():
        nonlocal told
        since, warned = None, False
        while not stop.wait(interval):
            try:
                if client.ncores() or not pending():  # a worker, or nothing of toolkit's waiting for one
                    since, warned, told = None, False, False
                    continue
                now = time.monotonic()
                since = now if since is None else since
                elapsed = now - since
                if elapsed >= fail_after:
                    give_up(elapsed)
                elif elapsed >= warn_after and not warned:
                    warned = True
                    logger.warning(
                        "The Dask cluster at %s has had no worker for %.0f s, and toolkit's work waits for one. "
                        "toolkit starts no worker on a cluster it did not start: start workers with `dask worker %s` "
                        "(or scale your cluster up). The work fails if no worker joins within %.0f s.",
                        address, elapsed, address, fail_after - elapsed)
            except Exception as err:  # noqa: BLE001 - a scheduler gone or a client closing: the work says so itself
                logger.debug("watching the Dask scheduler at %s for workers failed: %r", address, err)

    _WATCHED_CLIENTS.add(client_id)
    thread = threading.Thread(target=watch, name="toolkit-scheduler-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10.0)
        _WATCHED_CLIENTS.discard(client_id)


#: seconds each local worker process gets to exit on close before its nanny kills it (Dask's own: 5, of
#: which it waits 80%); a worker that has loaded TensorFlow needs ~2-4 s just to finalize the interpreter
WORKER_CLOSE_TIMEOUT = 20.0


def _close_workers(cluster, timeout):
    """Close ``cluster``'s worker nannies, giving each process ``timeout`` seconds to exit on its own.

    ``LocalCluster.close`` closes them with Dask's default 5 s, and waits 4 s
    of it: a worker that ran Keras fits takes 2-4 s to finalize TensorFlow, so
    on a loaded machine its nanny logs "Worker process still alive after 4.0
    seconds, killing" and kills it. Closing them first with a longer timeout
    lets them exit cleanly; ``LocalCluster.close`` then finds them closed.
    Errors are logged, not raised: the cluster's own close still runs.
    """
    import asyncio

    nannies = [worker for worker in getattr(cluster, "workers", {}).values() if hasattr(worker, "close")]
    if not nannies or getattr(cluster, "asynchronous", False):
        return

    async def close_all():
        results = await asyncio.gather(
            *(nanny.close(timeout=timeout, reason="toolkit-local-cluster-close") for nanny in nannies),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                logger.debug("closing a local Dask worker failed: %r", result)

    try:
        cluster.sync(close_all)
    except Exception as err:  # the cluster's own close still runs and kills what is left
        logger.debug("closing the local Dask workers failed: %r", err)


@contextlib.contextmanager
def dask_client(scheduler=None, *, n_workers=None):
    """A ``distributed.Client``: to ``scheduler`` when given, else on a new LocalCluster.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        Address of a running scheduler (``tcp://host:8786``), or a Client of
        it (a client of its own connects to the same scheduler; the given
        one is left open); the cluster is left running afterwards. toolkit
        starts no worker there: while the work of the block waits on it
        with no worker, a warning says so after :data:`NO_WORKER_WARN`
        seconds, and the waiting work fails with a
        :class:`ClusterError` after :data:`NO_WORKER_TIMEOUT` seconds (see
        :func:`_watch_scheduler`); the cluster's other work is left alone.
    n_workers : int, optional
        Worker processes of the LocalCluster (one thread each; default: the
        number of cores). It listens on 127.0.0.1 only, its workers get
        :func:`worker_config` (no memory trimming, no profiler; see
        :func:`local_cluster`), and it is closed on exit. Its other
        arguments are :func:`local_cluster`'s defaults, or those a caller set
        for the block with :func:`_local_cluster_defaults` (the CLI: its log
        level).

    Raises
    ------
    OSError
        When the scheduler cannot be reached (the message names the address).
    """
    from distributed import Client

    if isinstance(scheduler, Client):
        # the Client a user holds (as CorpusStore.build and write_predictions take one): a client of its own on the
        # same scheduler, so the user's is neither closed afterwards nor left with the search's futures; it was
        # refused as "Invalid Dask scheduler address <Client ...>"
        if scheduler.status in ("closing", "closed") or scheduler.scheduler is None:
            raise ValueError(f"scheduler={scheduler!r} is a closed Client: give an open one, "
                             "or the scheduler's address (tcp://host:port).")
        scheduler = scheduler.scheduler.address
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as err:
            raise OSError(f"Could not connect to the Dask scheduler at {scheduler}: {err}. Is it running?") from err
        except (ValueError, TypeError) as err:  # e.g. "htp://...": distributed refuses the address before connecting
            raise ValueError(
                f"Invalid Dask scheduler address {scheduler!r}: {err}. Give it as tcp://host:port, "
                "e.g. tcp://10.0.0.5:8786."
            ) from err
        with client, _watch_scheduler(client):  # a user's cluster: toolkit's work fails when it has no worker
            yield client
        return
    with local_cluster(n_workers, **(_CLUSTER_DEFAULTS.get() or {})) as cluster, Client(cluster) as client:
        yield client


def _cluster_backend(client, scatter):
    """joblib's dask backend on ``client``, with ``scatter`` on every worker, that keeps every fit on the cluster.

    joblib runs a ``Parallel`` call in *this* process when its backend offers
    one job, and the dask backend offers the cluster's thread count: on a
    cluster of one single-threaded worker (``n_workers=1``, ``toolkit grid
    --workers 1``, or a running cluster with one ``--nthreads 1`` worker) every
    fit ran in the client process, with its memory and its data folders, and
    the cluster idled. Two jobs are offered instead; the scheduler queues the
    second fit on the one thread.

    The backend scatters the data when it is made: one backend serves every
    attempt of a search, since scattering the same data again (same content,
    same key) while the last attempt's copies are being released lost them
    ("lost dependencies"); :func:`grid_search` makes a new one only when the
    workers that held the data left (:func:`_scattered_data_lost`). When
    joblib lacks its private ``_dask`` module, the backend registered as
    ``"dask"`` is made instead (with the same retries), without the two jobs.

    An adaptive cluster retires a worker that stays idle a few seconds
    (``cluster.adapt``: ``interval`` x ``wait_count``, 3 s by default), such
    as the one :func:`_wait_for_a_worker` got it to start, while the
    workers are checked: the scatter then found no worker and failed with
    "TimeoutError: No valid workers found". So a worker is asked for again
    right before each scatter, and a scatter that fails because its worker
    left is made again, up to :data:`_SCATTER_RETRIES` times. A scatter waits
    :data:`_SCATTER_WAIT` seconds for a running worker (not the client's
    connect timeout, 10 to 30 s: the worker just seen has left, and waiting
    brings no other), except the last one.

    Either backend hands joblib every batch that fails on the cluster
    (:func:`_deliver_failures`): joblib's own waited forever for a batch that
    Dask failed (``KilledWorker``).
    """
    try:
        from joblib._dask import DaskDistributedBackend
    except ImportError:
        DaskDistributedBackend = None

    def make(scatter_timeout):
        quick = _ScatterTimeout(client, scatter_timeout)
        if DaskDistributedBackend is None:
            import joblib

            with joblib.parallel_backend("dask", scatter=scatter, client=quick) as (backend, _):
                pass
            if getattr(backend, "client", None) is quick:  # the short wait was for this scatter only
                backend.client = client
            return _deliver_failures(backend)
        return _deliver_failures(OnClusterBackend(client=quick, scatter=scatter))

    if DaskDistributedBackend is not None:
        class OnClusterBackend(DaskDistributedBackend):
            def __init__(self, *, client, scatter):
                super().__init__(client=client, scatter=scatter)
                self.fits = {}  # Dask key -> the fits of its batch, as a user names them (see _FitRecorder)
                self.client = _FitRecorder(getattr(client, "_client", client), self.fits)

            def effective_n_jobs(self, n_jobs):
                n_jobs = super().effective_n_jobs(n_jobs)
                return 2 if n_jobs == 1 else n_jobs

    for _ in range(_SCATTER_RETRIES):
        _wait_for_a_worker(client)
        try:
            return make(_SCATTER_WAIT)
        except OSError as err:  # TimeoutError "No valid workers found", or CommClosedError from a closing worker
            if any(info.get("status", "running") == "running" for info in _live_workers(client).values()):
                raise
            logger.warning("the Dask cluster's workers left while the data were sent to them (%r; an adaptive "
                           "cluster retires an idle worker): asking for a worker again", err)
    _wait_for_a_worker(client)
    return make(None)  # the last attempt, with the client's own wait: its error is the caller's


class _ScatterTimeout:
    """A client whose ``scatter`` waits at most ``timeout`` seconds for a running worker (the client's own timeout
    when None); everything else goes to the client itself."""

    def __init__(self, client, timeout):
        self._client, self._timeout = client, timeout

    def __getattr__(self, name):
        return getattr(self._client, name)

    def scatter(self, *args, **kwargs):
        if self._timeout is not None:
            kwargs.setdefault("timeout", self._timeout)
        return self._client.scatter(*args, **kwargs)


#: the :class:`_Outcome` of the batch that joblib's dask backend is sending, in the asyncio task that sends it
_SENDING: contextvars.ContextVar = contextvars.ContextVar("toolkit_sending_batch", default=None)


class _Outcome:
    """joblib's callback for one batch (its ``BatchCompletionCallBack``), called at most once: with the batch's
    result, or with the exception that ended it (:func:`_deliver_failures`)."""

    def __init__(self, callback):
        self._callback, self._lock, self._called = callback, threading.Lock(), False

    def __call__(self, out):
        with self._lock:
            if self._called:
                return
            self._called = True
        if self._callback is not None:
            self._callback(out)

    def failed(self, future):
        """A done callback of the batch's ``concurrent.futures.Future``: its exception, if any, goes to joblib."""
        from concurrent.futures import CancelledError

        error = CancelledError() if future.cancelled() else future.exception()
        if error is not None:
            self(error)


def _deliver_failures(backend):
    """Make joblib's dask ``backend`` give joblib each batch that fails on the cluster; ``backend``, changed.

    joblib's ``Parallel`` learns how a batch ended only from the callback that
    the backend calls with its result (``supports_retrieve_callback``). Its
    dask backend calls it for a batch that ran (a fit's own error travels in
    the result) and for one cancelled, but not for one that Dask failed (its
    future "erred": ``KilledWorker`` when a fit killed every worker that ran
    it, a task that its worker could not read), which only goes to the
    backend's ``concurrent.futures.Future``, which ``Parallel`` does not
    read; nor when sending a batch to the cluster failed (the scatter of an
    argument that found no worker or could not be pickled, or, with
    :class:`_FitRecorder` as its client, a task that could not be pickled),
    an error raised in the backend's coroutine on the event loop. ``Parallel`` then
    waited for that batch forever, while the scheduler held it as erred (a
    grid search whose fit crashed its workers hung a CI run for 18 minutes).
    Here each such failure is given to the callback, once, as the exception,
    as joblib's backend gives it a cancelled batch: ``Parallel`` raises it.
    A joblib without those callbacks (1.3) reads each batch's future itself,
    and gets its backend unchanged.
    """
    from joblib.parallel import ParallelBackendBase

    if not getattr(backend, "supports_retrieve_callback", False):
        return backend
    # the method Parallel calls: joblib 1.4 calls apply_async, 1.5 and later submit
    name = "submit" if hasattr(ParallelBackendBase, "submit") else "apply_async"
    submit, to_func_args = getattr(backend, name), getattr(backend, "_to_func_args", None)
    sending: dict = {}  # id(batch) -> its _Outcome, until the backend has sent the batch's arguments

    def submit_delivering(func, callback=None):
        outcome = _Outcome(callback)
        if to_func_args is not None:
            sending[id(func)] = outcome  # (the batch lives until then: its id is not reused meanwhile)
        future = submit(func, callback=outcome)
        future.add_done_callback(outcome.failed)  # set with the error of a Dask future that erred
        return future

    async def to_func_args_delivering(func):
        outcome = sending.pop(id(func), None)
        try:
            found = await to_func_args(func)
        except BaseException as err:  # the batch is never submitted: joblib hears of it here or never
            if outcome is not None:
                outcome(err)
            raise
        _SENDING.set(outcome)  # the backend submits the batch next, in this task: see _FitRecorder.submit
        return found

    setattr(backend, name, submit_delivering)
    if to_func_args is not None:
        backend._to_func_args = to_func_args_delivering
    return backend


def _scattered_data_lost(backend) -> bool:
    """Whether the data that ``backend`` scattered are gone from the cluster: every worker that held them left
    (an adaptive cluster closes the last one when the data find no other worker to go to)."""
    futures = getattr(backend, "data_futures", None) or {}
    return any(getattr(future, "status", "finished") != "finished" for future in futures.values())


#: times :func:`_cluster_backend` scatters the data again after the workers left (an adaptive cluster scaled down)
_SCATTER_RETRIES = 2
#: seconds a scatter of :func:`_cluster_backend` waits for a running worker before it is made again (the last
#: one waits the client's timeout); distributed's own ``Scheduler.scatter`` default
_SCATTER_WAIT = 2.0


#: the topic of the scheduler's events under which each fit of a search, on its worker, says that it starts
_FIT_STARTED = "toolkit-fit-started"


def _short(value, width=60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _describe_fit(kwargs) -> tuple[str, str] | None:
    """``(candidate, fold)`` of one ``_fit_and_score`` call of scikit-learn's search, from its keyword arguments
    (``parameters``, ``split_progress``), or None for another function."""
    if not isinstance(kwargs, dict) or "parameters" not in kwargs:
        return None
    parameters = kwargs.get("parameters") or {}
    candidate = "{" + ", ".join(f"{key!r}: {_short(value)}" for key, value in parameters.items()) + "}"
    split = kwargs.get("split_progress")
    fold = f"fold {split[0] + 1} of {split[1]}" if isinstance(split, tuple) and len(split) == 2 else ""
    return candidate, fold


class _Announced:
    """One fit of a batch that joblib's dask backend submits: on its worker, it first logs that it starts (an event
    of the scheduler, :data:`_FIT_STARTED`, naming the task and the fit's place in it), then runs. A worker killed
    for memory takes its own records with it; these say, from the scheduler, which fit it was running."""

    def __init__(self, func, index):
        self.func, self.index = func, index

    def __call__(self, *args, **kwargs):
        _announce(self.index)
        return self.func(*args, **kwargs)


def _announce(index) -> None:
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        worker = get_worker()
        worker.log_event(_FIT_STARTED, {"key": str(thread_state.key), "fit": int(index), "worker": worker.address})
    except Exception:  # noqa: BLE001 - not in a Dask task (joblib ran it in this process): nothing to say
        return


class _FitRecorder:
    """The client of joblib's dask backend, which records the fits of each batch it submits, by Dask key.

    joblib names a batch ``batch_of__fit_and_score_2_calls-<uuid>``: a worker killed over its memory limit was
    reported by that key, which names no candidate. The backend submits each batch as ``submit(batch,
    tasks=[(func, args, kwargs), ...], key=key)``; here the candidate and fold of each fit (scikit-learn's
    ``parameters`` and ``split_progress`` arguments) are kept by key, and each fit is wrapped in
    :class:`_Announced`. Everything else goes to the client itself.
    """

    def __init__(self, client, fits):
        self._client, self._fits = client, fits

    def __getattr__(self, name):
        return getattr(self._client, name)

    def submit(self, func, *args, **kwargs):
        # ``tasks`` and ``key`` passed on only when given: the backend also submits its probe task
        # (``submit(_joblib_probe_task)``, when the cluster has no worker), which takes no argument
        tasks, key = kwargs.get("tasks"), kwargs.get("key")
        if isinstance(tasks, list) and key is not None:
            described = [_describe_fit(kw) for _, _, kw in tasks]
            if any(d is not None for d in described):
                self._fits[str(key)] = described
                kwargs["tasks"] = [(_Announced(f, i), a, kw) for i, (f, a, kw) in enumerate(tasks)]
        try:
            return self._client.submit(func, *args, **kwargs)
        except BaseException as err:  # (a task that cannot be pickled) raised in the backend's coroutine, lost there
            outcome = _SENDING.get()
            if outcome is not None:
                outcome(err)
            raise


#: times :func:`grid_search` runs a search again after joblib's dask backend lost a fit when a worker died
_SEARCH_RETRIES = 1


def _live_workers(client) -> dict:
    """The scheduler's workers now, ``{address: info}``, asked of the scheduler itself.

    ``client.scheduler_info()["workers"]`` can be empty on a cluster with workers: the client's periodic
    ``scheduler-info`` update (``n_workers=0``, every 2 s) can replace the full answer between the sync call
    and its return (distributed 2026.8; a tight loop here saw 540 short answers in 17,400 calls).
    """
    return client.sync(client.scheduler.identity, n_workers=-1)["workers"]


def _has_workers(client, timeout=60.0) -> bool:
    """Whether the cluster has a live worker, waiting up to ``timeout`` seconds for a nanny to restart one, or for
    an adaptive cluster to start one: it is given a task (:func:`_wait_for_a_worker`), as waiting alone asked it
    for none, and a search whose last worker left waited the whole ``timeout`` and failed."""
    from concurrent.futures import CancelledError

    try:
        _wait_for_a_worker(client, timeout=timeout)
    except (ClusterError, OSError, CancelledError):
        return False
    return True


#: seconds :func:`grid_search` waits for a first worker of a cluster that has none (an adaptive one scaled down)
WORKER_WAIT = 120.0


def _wait_for_a_worker(client, timeout=None) -> None:
    """Return once ``client``'s cluster has a worker; a cluster with none is given a task, which an adaptive
    cluster (``cluster.adapt(minimum=0, ...)``) answers by starting one.

    joblib's dask backend first scatters the data to the workers: with none, it waited 10 s and failed with
    "TimeoutError: No valid workers found", as the adaptive cluster had not been asked for any.
    """
    if client.ncores():
        return
    timeout = WORKER_WAIT if timeout is None else timeout
    logger.info("the Dask cluster at %s has no worker: waiting up to %.0f s for one (an adaptive cluster starts "
                "them when work arrives)", client.scheduler.address, timeout)
    try:
        client.submit(len, (), pure=False).result(timeout=timeout)
    except TimeoutError as err:
        raise ClusterError(
            f"The Dask cluster at {client.scheduler.address} has no worker, and none started within {timeout:.0f} "
            "s. Start workers (dask worker <scheduler address>), or let an adaptive cluster start them "
            "(cluster.adapt(minimum=1, ...))."
        ) from err


#: the environment variables through which fits find their data and caches (toolkit._config's names)
_FOLDER_VARIABLES = ("TOOLKIT_DATA_DIR", "TOOLKIT_CACHE_DIR")


def _worker_probe(packages, variables):
    """Runs on each worker (shipped by value: it needs nothing but the standard library to arrive there).

    For each of ``packages``: ``(version, None)`` when it imports, else ``(None, "ModuleNotFoundError: ...")``;
    and the worker's values of the environment ``variables``.
    """
    import importlib
    import os

    found = {}
    for name in packages:
        try:
            module = importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - reported to the client, which says what to install
            found[name] = (None, f"{type(err).__name__}: {err}")
        else:
            found[name] = (str(getattr(module, "__version__", "")), None)
    return {"packages": found, "environ": {name: os.environ.get(name) for name in variables}}


def _by_value(func):
    """A copy of ``func`` that pickles by value (cloudpickle ships a ``__main__`` function's code): a worker
    that cannot import toolkit can still run it and say so, where a function of this module failed to arrive
    and took the worker's connection down with it."""
    import builtins
    import types

    copy = types.FunctionType(func.__code__, {"__builtins__": builtins}, func.__name__, func.__defaults__)
    copy.__module__ = "__main__"
    return copy


def _packages_of(*objects) -> list[str]:
    """Top-level packages (other than Python's own) of the classes and functions in ``objects``: estimators with
    their nested parameters, and the values of a parameter grid. The workers must import them all."""
    import sys

    seen, names = set(), set()

    def visit(obj):
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None))):
            return
        seen.add(id(obj))
        if isinstance(obj, dict):
            for value in obj.values():
                visit(value)
            return
        if isinstance(obj, (list, tuple, set, frozenset)):
            for value in obj:
                visit(value)
            return
        module = obj.__module__ if callable(obj) and not hasattr(obj, "get_params") else type(obj).__module__
        names.add(str(module or "").split(".")[0])
        if hasattr(obj, "get_params") and not isinstance(obj, type):
            try:
                params = obj.get_params(deep=False)
            except Exception:  # noqa: BLE001 - an odd estimator: its class is enough
                return
            for value in params.values():
                visit(value)

    for obj in objects:
        visit(obj)
    stdlib = getattr(sys, "stdlib_module_names", ())
    return sorted(n for n in names if n and n not in ("__main__", "builtins") and n not in stdlib
                  and n in sys.modules)


def _check_workers(client, packages, what) -> tuple[dict, str | None]:
    """Before ``what`` runs on ``client``'s cluster: check that every worker imports ``packages``.

    A worker that cannot import a class of the tasks fails to read them: it
    dropped its connection, and the search waited a minute for it and then
    blamed a dead worker. Now that is a ClusterError naming the workers and
    the package. Other versions than here, or other ``TOOLKIT_DATA_DIR`` /
    ``TOOLKIT_CACHE_DIR`` values, are logged as warnings.

    Returns
    -------
    limits : dict
        Each worker's memory limit in bytes (0 for none), for :func:`_cluster_failure`.
    folders : str or None
        A note on the workers' other data or cache folders, added to an error of the work.
    """
    import importlib
    import os

    packages = sorted({"toolkit", *packages})
    try:
        answers = client.run(_by_value(_worker_probe), packages, _FOLDER_VARIABLES, on_error="return")
    except Exception as err:  # noqa: BLE001 - the work itself then says what is wrong
        logger.debug("could not ask the Dask workers what they import: %r", err)
        return {}, None
    missing, versions, folders = {}, {}, {}
    here = {name: str(getattr(importlib.import_module(name), "__version__", "")) for name in packages}
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException) or not isinstance(answer, dict):
            logger.debug("Dask worker %s did not answer: %r", worker, answer)
            continue
        for name, (version, error) in answer["packages"].items():
            if error is not None:
                missing.setdefault((name, error), []).append(worker)
            elif version != here[name]:
                versions.setdefault((name, version), []).append(worker)
        for name, value in answer["environ"].items():
            if value != os.environ.get(name):
                folders.setdefault((name, value), []).append(worker)
    if missing:
        (name, error), workers = next(iter(missing.items()))
        raise ClusterError(
            f"{_workers_named(workers)} of the Dask scheduler {client.scheduler.address} cannot import {name!r} "
            f"({error}), which {what} sends them. Install it in the workers' environment (the same version as "
            f"here: {name} {here[name] or '(no version)'}), or start the workers from this environment."
        )
    for (name, version), workers in versions.items():
        logger.warning("%s of %s run(s) %s %s, this process %s %s: %s may fail there or give other results. Install "
                       "the same version on both sides.", _workers_named(workers), client.scheduler.address, name,
                       version or "(no version)", name, here[name] or "(no version)", what)
    notes = []
    for (name, value), workers in folders.items():
        notes.append(f"{_workers_named(workers)} of {client.scheduler.address} run(s) with {name}="
                     f"{value if value is not None else '(unset)'}, this process with {name}="
                     f"{os.environ.get(name) or '(unset)'}: vectors given by a manifest name, domain vectors and "
                     f"caches are looked up in the workers' folders. Give the workers the same {name} (a shared "
                     "path) if they should see this process' data.")
        logger.warning("%s", notes[-1])
    try:
        limits = {address: info.get("memory_limit") or 0 for address, info in _live_workers(client).items()}
    except Exception:  # noqa: BLE001
        limits = {}
    return limits, " ".join(notes) or None


def _add_note(err, note) -> None:
    """Add ``note`` (the workers' other folders) to an error of the work done there, once."""
    if note is not None and note not in getattr(err, "__notes__", ()):
        err.add_note(note)


def _workers_named(workers) -> str:
    shown = ", ".join(workers[:3]) + (f" and {len(workers) - 3} more" if len(workers) > 3 else "")
    return f"Worker{'s' if len(workers) > 1 else ''} {shown}"


def _format_bytes(n) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _connection_lost(client, err) -> bool:
    """Whether ``err`` (or the client's state) says the client lost its scheduler."""
    if getattr(err, "reason", None) == "scheduler-connection-lost":
        return True
    return getattr(client, "status", "running") not in ("running", "connecting", "newly-created")


def _memory_restarts(client, since) -> list[dict]:
    """The nannies' "worker-restart-memory" events since ``since`` (scheduler time): workers killed over their
    memory limit."""
    try:
        events = client.get_events("worker-restart-memory")
    except Exception:  # noqa: BLE001 - a scheduler gone: nothing to read
        return []
    return [event for stamp, event in events if stamp >= since and isinstance(event, dict)]


def _fit_task(err) -> str:
    """How a grid search's failed task is named to its user: a batch of fits, by joblib's key."""
    key = str(getattr(err, "task", None) or getattr(err, "key", "") or "")
    match = _FIT_BATCH.match(key)
    if match is None:
        return f"task {key}" if key else "a task"
    n = int(match.group(1))
    return f"{'a fit' if n == 1 else f'a batch of {n} fits'} of the grid (Dask task {key})"


def _removal(client, worker, since) -> dict | None:
    """The scheduler's "remove-worker" event of ``worker`` since ``since`` (``processing-tasks``: the keys it had
    given it, running or queued there), with ``retired``: whether the worker was closed on purpose first (a
    "closing-worker" event: a scale down, a retirement) rather than dying; None when it logged no removal."""
    try:
        events = [(stamp, event) for stamp, event in client.get_events(worker)
                  if stamp >= since and isinstance(event, dict)]
    except Exception:  # noqa: BLE001 - a scheduler gone, or a worker's events already dropped
        return None
    removals = [event for _, event in events if event.get("action") == "remove-worker"]
    if not removals:
        return None
    return {**removals[-1], "retired": any(event.get("action") == "closing-worker" for _, event in events)}


def _running_fits(client, since, fits, workers=None, known=()) -> list[list[tuple]]:
    """The fits of a search (candidate, fold) that each dead worker was running, from the fits' own start events
    (:class:`_Announced`) and the tasks the scheduler had given the worker when it lost it.

    ``workers``: those known dead (restarted for memory); by default every worker of ``known`` (the workers when
    the search started) or that started a fit since ``since``, and left the cluster unexpectedly (not retired by a
    scale down). Each dead worker gives a list of ``(candidate, fold)``, or ``(candidate, fold, "queued")`` when
    it died before saying which of its fits it started.
    """
    try:
        started = [event for stamp, event in client.get_events(_FIT_STARTED) if stamp >= since and isinstance(event, dict)]
    except Exception:  # noqa: BLE001
        return []
    dead = workers is not None
    found = []
    for worker in dict.fromkeys(workers if dead else [*known, *(event.get("worker") for event in started)]):
        removal = _removal(client, worker, since)
        if removal is None or (not dead and (removal.get("expected") or removal["retired"])):
            continue
        given = set(map(str, removal.get("processing-tasks") or ()))
        latest = {}  # batch -> the fit of it that started last there (a batch runs its fits one after the other)
        for event in started:
            if event.get("worker") == worker and event.get("key") in fits and event["key"] in given:
                latest[event["key"]] = int(event.get("fit", 0))
        running = [fits[key][index] for key, index in latest.items()
                   if 0 <= index < len(fits[key]) and fits[key][index] is not None]
        if not running:  # a worker that died at once (a crash) sent no event: the fits it had been given
            running = [(candidate, fold, "queued") for key in sorted(given & fits.keys())
                       for candidate, fold in filter(None, fits[key])]
        if running:
            found.append(running)
    return found


def _name_fits(kills, killed="killed") -> str | None:
    """``kills``: for each dead worker, the fits (candidate, fold) it was running. One sentence naming them, the
    candidate that ran at the most deaths first."""
    if not kills:
        return None
    seen = {}  # candidate -> (deaths it ran at, its folds)
    for running in kills:
        for candidate in dict.fromkeys(fit[0] for fit in running):
            seen.setdefault(candidate, [0, []])[0] += 1
        for candidate, fold, *_ in running:
            if fold and fold not in seen[candidate][1]:
                seen[candidate][1].append(fold)
    # a fit whose worker died before it said it started: the worker's queue is named ("running or queued")
    maybe = any(len(fit) > 2 for running in kills for fit in running)
    ranked = sorted(seen.items(), key=lambda item: -item[1][0])
    parts = []
    for candidate, (deaths, folds) in ranked[:3]:
        notes = [", ".join(sorted(folds))] if folds else []
        if len(kills) > 1:
            notes.append(f"running at {deaths} of the {len(kills)} deaths")
        parts.append(candidate + (f" ({'; '.join(notes)})" if notes else ""))
    more = f" and {len(ranked) - 3} more" if len(ranked) > 3 else ""
    one = len(ranked) == 1
    if killed == "killed":
        where = "that worker when it was killed" if len(kills) == 1 else "the workers when they were killed"
    else:
        where = f"that worker when it {killed}" if len(kills) == 1 else f"the workers when they {killed}"
    return (f"The candidate{'' if one else 's'} of the grid running{' or queued' if maybe else ''} on {where}: "
            f"{', '.join(parts)}{more}.")


def _fit_culprits(client, since, fits, known=()):
    """For :func:`_cluster_failure`: a function of (memory restarts, error) that names the candidates (and folds)
    of a grid search that were running on the workers that died, or None when no fit of it is known."""

    def culprits(restarts, err):
        from distributed import KilledWorker

        if not fits:
            return None
        if restarts:
            return _name_fits(_running_fits(client, since, fits, [r.get("worker") for r in restarts]))
        kills = _running_fits(client, since, fits, known=known)
        if not kills and isinstance(err, KilledWorker) and str(err.task) in fits:  # no removal of a worker seen
            kills = [[(*fit, "queued") for fit in fits[str(err.task)] if fit]]
        # (not the task that Dask gave up on alone: Dask counts a death against every task given to the worker,
        # those waiting behind the one running too, and a fit that finished just before the crash, whose worker
        # died before it said so: the fits the dead workers were running or had been given are named)
        return _name_fits(kills, "died")

    return culprits


def _lost_task(client, err, since, fits, known=()) -> ClusterError:
    """The error of a grid search that lost a task for good: with workers left, a worker died and no other could
    take its work over (the fits it was running named, when known); with none, the cluster has none left."""
    try:
        workers_left = bool(client.ncores())
        named = _name_fits(_running_fits(client, since, fits, known=known), "died") if fits else None
    except Exception:  # noqa: BLE001 - a scheduler gone: said as a worker lost
        workers_left, named = True, None
    address = client.scheduler.address
    if not workers_left:  # (the fits named too: workers that died and were not restarted in time are gone)
        return ClusterError(
            f"The grid search on {address} lost a task ({err}): its cluster has no worker left (scaled down to none, "
            f"or every worker died and none came back).{'' if named is None else ' ' + named} Give it workers "
            "(cluster.scale(n), dask worker <scheduler address>), then run it again."
        )
    return ClusterError(
        f"The grid search on {address} lost a task ({err}): a worker died and no other worker could take its work "
        f"over.{'' if named is None else ' ' + named} Check the workers' memory limits and logs, then run it again."
    )


def _scheduler_time(client) -> float:
    """The scheduler's clock (its events are stamped by it), or this process' when it does not answer."""
    import time

    try:
        return float(client.run_on_scheduler(time.time)) - 1.0
    except Exception:  # noqa: BLE001
        return time.time() - 1.0


def _cluster_failure(client, err, *, since, what, limits=None, task=None, culprits=None) -> ClusterError | None:
    """A :class:`ClusterError` saying why ``what`` failed on the cluster, or None if ``err`` is the work's own
    error (or a lost task with no known cause: the caller decides).

    A scheduler lost, workers restarted by their nanny for going over their memory limit (the nanny's events,
    with the worker, what it used and its limit), or a task that killed every worker that ran it
    (``KilledWorker``, after ``distributed.scheduler.allowed-failures``). ``culprits``, a function of (the memory
    restarts, ``err``), may name the work that ran on the workers that died (:func:`_fit_culprits`).
    """
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    if isinstance(err, FutureCancelledError) and getattr(err, "reason", None) == _NO_WORKER_REASON:
        return ClusterError(err.msg)  # cancelled by _watch_scheduler: the cluster had no worker for too long
    if not isinstance(err, (FutureCancelledError, KilledWorker)) and not isinstance(err, OSError):
        return None
    address = getattr(getattr(client, "scheduler", None), "address", None) or "?"
    if _connection_lost(client, err):
        return ClusterError(
            f"{what[0].upper()}{what[1:]} lost its connection to the Dask scheduler at {address} (it stopped, or "
            "the network failed); nothing of it was kept. Check that the scheduler is running, then run it again."
        )
    if isinstance(err, OSError):
        return None
    restarts = _memory_restarts(client, since)
    task = task or f"task {err.task if isinstance(err, KilledWorker) else getattr(err, 'key', '?')}"
    named = None
    if culprits is not None:
        try:
            named = culprits(restarts, err)
        except Exception as failure:  # noqa: BLE001 - the error is said without them
            logger.debug("could not name the work that ran on the dead workers: %r", failure)
    if restarts:
        last = restarts[-1]
        limit = (limits or {}).get(last.get("worker")) or max((limits or {0: 0}).values(), default=0)
        used = f"{_format_bytes(last['rss'])}" if "rss" in last else "more"
        budget = f"; its memory limit is {_format_bytes(limit)}" if limit else ", over its memory limit"
        return ClusterError(
            f"{what[0].upper()}{what[1:]} failed on the Dask cluster at {address}: {len(restarts)} worker "
            f"restart(s) for memory (worker {last.get('worker')} used {used}{budget}); Dask gave up on {task}"
            + (" (a task that ran beside it on that worker may be the one that needs the memory). " if named is None
               else f". {named} ")
            + "Give the workers more memory (LocalCluster(memory_limit=...), dask worker --memory-limit), fewer "
            "threads per worker, or less work per task (smaller partitions or candidates), then run it again."
        )
    if isinstance(err, KilledWorker):
        return ClusterError(
            f"{what[0].upper()}{what[1:]} failed on the Dask cluster at {address}: Dask gave up on {task} after "
            f"{err.allowed_failures + 1} worker{'s' if err.allowed_failures else ''} died running it (the last: "
            f"{err.last_worker.address}; a task beside it may be the cause).{'' if named is None else ' ' + named} "
            "Read the workers' logs (a crash, or the system killing them for memory), then run it again."
        )
    return None


#: joblib's key of a batch of fits; "mixed_" when its functions are distinct objects (scikit-learn wraps each)
_FIT_BATCH = re.compile(r"(?:mixed_)?batch_of__fit_and_score_(\d+)_calls")


class _FitCounter(SchedulerPlugin):
    """Scheduler plugin: how many ``_fit_and_score`` calls finished (joblib names its batches so)."""

    name = "toolkit-fit-counter"

    def __init__(self):
        self.done = 0

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory":
            match = _FIT_BATCH.match(str(key))
            if match:
                self.done += int(match.group(1))


def _fits_done(dask_scheduler):
    plugin = dask_scheduler.plugins.get(_FitCounter.name)
    return None if plugin is None else plugin.done


@contextlib.contextmanager
def _fit_progress(client, total, enabled):
    """A tqdm bar (stderr) over the fits of a search, polled from the scheduler."""
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm

    counter = _FitCounter()
    try:
        client.register_plugin(counter, name=_FitCounter.name)
        start = client.run_on_scheduler(_fits_done) or 0
    except Exception as err:  # e.g. a remote scheduler without the toolkit installed
        logger.info("no progress bar: the scheduler did not take the plugin (%s)", err)
        yield
        return
    stop = threading.Event()
    bar = tqdm(total=total, desc="fits", unit="fit")

    def update():
        try:
            done = (client.run_on_scheduler(_fits_done) or 0) - start
        except Exception:  # the client is closing
            return
        bar.update(max(0, min(done, total) - bar.n))

    def poll():
        while not stop.wait(1.0):
            update()

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
        bar.update(total - bar.n)  # every fit is done (joblib may have run a few batches itself)
    finally:
        stop.set()
        thread.join()
        bar.close()


def _current_client():
    """The ``distributed.Client`` that Dask's own ``compute`` would use here and now, or None.

    distributed's :func:`~distributed.default_client` (the client of ``with Client(...):``, of
    ``client.as_current()``, else the latest one started): None when none was started, it is closed, or it is a
    worker's own client. Inside a task (:func:`~distributed.get_worker` finds the worker) or in a worker process
    (a client a worker made for ``get_client()``), the current client is the worker's: work started there on
    it would wait on the very cluster whose thread it holds, so it is not taken.
    """
    try:
        from distributed import default_client, get_worker
        from distributed.worker import Worker
    except ImportError:  # pragma: no cover - the [dask] extra installs distributed
        return None
    try:
        client = default_client()
    except ValueError:  # no Client was started
        return None
    if client.status != "running" or client.scheduler is None:
        return None
    if client in getattr(Worker, "_initialized_clients", ()):  # made by a worker for get_client() in a task
        return None
    try:
        get_worker()
    except ValueError:  # not in a task: the user's own client
        return client
    return None


#: Dask's names of its local schedulers (``compute(scheduler=...)``), which a grid search does not run on
LOCAL_SCHEDULER_NAMES = ("processes", "multiprocessing", "threads", "threading", "sync", "synchronous",
                         "single-threaded")


def _search_scheduler(scheduler):
    """``grid_search``'s ``scheduler`` as :func:`dask_client` takes it: Dask's ``"distributed"`` is the current
    Client (as for :meth:`CorpusStore.build`); Dask's local schedulers are refused with what to do (they were taken
    for an address: "Invalid Dask scheduler address 'processes': missing port number")."""
    if not isinstance(scheduler, str):
        return scheduler
    name = scheduler.strip().lower()
    if name in LOCAL_SCHEDULER_NAMES:
        raise ValueError(f"grid_search got scheduler={scheduler!r}, one of Dask's local schedulers: a grid search runs "
                         "on a distributed cluster (joblib's dask backend). Leave scheduler out for a LocalCluster of "
                         "worker processes (n_workers=N sets how many), or pass local=True to fit in this process; "
                         "scheduler takes a running scheduler's address (tcp://host:port) or a Client.")
    if name in ("distributed", "dask.distributed"):
        current = _current_client()
        if current is None:
            raise ValueError(f"grid_search got scheduler={scheduler!r}, the current Dask Client, but none is open "
                             "in this process: open one (with Client(address):), pass the scheduler's address "
                             "(tcp://host:port), or leave scheduler out for a LocalCluster.")
        return current
    return scheduler


def grid_search(estimator, param_grid, X, y, *, cv=3, scoring=None, scheduler=None, n_workers=None,
                local=False, refit=True, error_score="raise", progress=False, groups=None,
                return_train_score=False, **fit_params):
    """Fit ``GridSearchCV(estimator, param_grid)`` on a Dask cluster (or in this process).

    Parameters
    ----------
    estimator : estimator or Pipeline
    param_grid : dict or list of dicts
        As for ``GridSearchCV``.
    X, y : training data (in memory; each worker receives one copy)
        A list, numpy array or pandas object; a Dask collection is refused
        (``.compute()`` it first, or train from a :class:`CorpusStore`).
    cv : int, cross-validation splitter or iterable of (train, test) splits, default=3
        As for ``GridSearchCV``; an iterable (a generator too) is read once
        into a list.
    scoring : str or callable, optional
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler, or a Client of it (left open);
        ``"distributed"``: the current Client. Dask's local schedulers
        (``"processes"``, ``"threads"``, ``"sync"``) are refused: leave
        scheduler out for a LocalCluster of worker processes, or pass
        ``local=True``.
        By default, as Dask computes: the current Client (``with
        Client(cluster):``, ``client.as_current()``, else the latest Client
        started in this process; left open, and its scheduler logged at
        INFO), else a new LocalCluster, closed afterwards. A worker's own
        client (``get_client()`` inside a task) is never taken.
    n_workers : int, optional
        Worker processes of a new LocalCluster (at least 1; default: the
        number of cores). Given without ``scheduler``, the search starts that
        LocalCluster even when a Client is current; given with
        ``scheduler``, a ``ValueError`` (a running cluster's workers are its
        own).
    local : bool, default=False
        Run with ``n_jobs=1`` in this process instead (no Dask); ``scheduler``
        and ``n_workers`` must then be left out.
    refit : see ``GridSearchCV``
    error_score : "raise" or float, default="raise"
        As ``GridSearchCV``'s, but its default is ``np.nan`` there: here a
        candidate whose fit raises stops the search with that error (after
        a grid's worth of cluster time, a failed candidate is a bug to see
        at once); ``error_score=np.nan`` scores it NaN and goes on, as
        scikit-learn does by default.
        The refit of the best candidate (``refit=True``) runs in this
        process, as scikit-learn's refit is not a joblib task; the
        cross-validation fits run on the cluster.
    progress : bool, default=False
        A progress bar over the fits (on stderr) while a cluster runs them.
    groups : array-like of shape (n_samples,), optional
        Group labels for a group splitter (``GroupKFold``,
        ``LeaveOneGroupOut``...), passed to ``GridSearchCV.fit``.
    return_train_score : bool, default=False
        As for ``GridSearchCV``: ``cv_results_`` also holds each fit's
        score on its training folds.
    **fit_params
        Passed to ``GridSearchCV.fit``, hence to the estimator's ``fit`` on
        each training fold (indexed as ``X``), as in scikit-learn: e.g.
        ``sample_weight=w``, or ``classifier__sample_weight=w`` for a
        pipeline's step (with metadata routing on, request it with
        ``set_fit_request``). A Dask collection is refused, as for ``X``.

    Returns
    -------
    sklearn.model_selection.GridSearchCV
        Fitted; its ``cv_results_`` equal those of ``n_jobs=1``.

    Raises
    ------
    TypeError
        When ``X``, ``y`` or ``groups`` is a Dask collection.
    OSError
        When ``scheduler`` cannot be reached (``ValueError`` when its
        address is malformed).
    ClusterError
        (a ``RuntimeError``) Before any fit, when a worker cannot import a
        package of the estimator (toolkit, scikit-learn, your own module), or
        the cluster has no worker and gets none within ``WORKER_WAIT``
        seconds (an adaptive cluster scaled to zero is given work, and starts
        one). During the search, when workers were restarted for going over
        their memory limit (it names the worker, what it used and its limit,
        and the candidates of the grid, with their folds, that the killed
        workers were running), a fit killed every worker that ran it (its
        candidate named), the scheduler went away, or the cluster lost a
        task that no other worker could take over, or has no worker left
        (scaled down to none): a search that loses a fit when a worker dies
        (joblib's dask backend can lose a race with the dead worker's
        cleanup) runs once more on the live workers before this is raised.
        A cluster scaled up or down (to one worker or more) during the
        search gives the results of an unchanged one. On a ``scheduler`` of
        your own that has no worker for ``NO_WORKER_TIMEOUT`` seconds (120)
        while fits wait for one (a warning after ``NO_WORKER_WARN``, 30), the
        waiting fits fail with one that names the scheduler and says to start
        workers (``dask worker <address>``).

    Notes
    -----
    Workers that run another version of a package than this process, or
    another ``TOOLKIT_DATA_DIR`` / ``TOOLKIT_CACHE_DIR`` (vectors given by a
    manifest name and domain vectors are looked up there), are logged as a
    warning before the search; an error of a fit then carries the same note.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from toolkit.distributed import grid_search
    >>> X, y = [[0.0], [1.0], [0.1], [0.9]] * 3, [0, 1, 0, 1] * 3
    >>> grid_search(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, cv=2, local=True).best_params_
    {'C': 0.1}
    """
    import dask
    import joblib
    from sklearn.base import is_classifier
    from sklearn.model_selection import GridSearchCV, ParameterGrid, check_cv

    from .._validation import Interval, validate_param

    # LocalCluster(n_workers=0) starts no worker: joblib then waits, and gives up with "No valid workers found"
    validate_param(n_workers, [Interval(int, 1, None), None], name="n_workers", owner="grid_search")
    if local and (scheduler is not None or n_workers is not None):  # else silently ignored: the fits ran here
        given = "scheduler" if scheduler is not None else "n_workers"
        raise ValueError(f"grid_search got local=True and {given}={scheduler if scheduler is not None else n_workers!r}:"
                         f" local=True fits every candidate in this process, without Dask, so {given} would be "
                         f"ignored. Drop {given} to fit here, or drop local=True to use the cluster.")
    scheduler = _search_scheduler(scheduler)
    if scheduler is not None and n_workers is not None:  # else silently ignored: the cluster's own workers ran
        raise ValueError(f"grid_search got scheduler={scheduler!r} and n_workers={n_workers!r}: n_workers sizes the "
                         "LocalCluster that grid_search starts when it has no scheduler, and a running cluster's "
                         "workers are its own. Drop n_workers, or drop scheduler for a LocalCluster of n_workers.")
    for name, value in (("X", X), ("y", y), ("groups", groups), *fit_params.items()):
        if dask.is_dask_collection(value):
            raise TypeError(
                f"grid_search needs {name} in memory (a list, numpy array or pandas object); got a Dask "
                f"{type(value).__name__}. GridSearchCV indexes the folds in this process and each worker receives "
                "one copy: call .compute() on it first, or, for a corpus larger than memory, build a CorpusStore "
                "and train with fit_from_store."
            )
    if isinstance(cv, Iterable) and not isinstance(cv, str) and not hasattr(cv, "split"):
        cv = list(cv)  # splits given as a generator: counting the fits below would exhaust it before the search
    search = GridSearchCV(estimator, param_grid, cv=cv, scoring=scoring, refit=refit, error_score=error_score,
                          n_jobs=1 if local else None, return_train_score=return_train_score)
    if isinstance(X, list):
        X = np.asarray(X, dtype=object)  # one object to scatter, indexable by the CV splits
    if local:
        return search.fit(X, y, groups=groups, **fit_params)
    splits = check_cv(cv, y, classifier=is_classifier(estimator)).get_n_splits(X, y, groups)
    n_fits = len(ParameterGrid(param_grid)) * splits
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    current = _current_client() if scheduler is None else None
    if current is not None and n_workers is None:
        # Dask's convention: inside ``with Client(cluster):`` the work runs on that client's cluster (it started a
        # second LocalCluster of this machine's cores, with a warning); the client is left open
        scheduler = current
        logger.info("grid_search: no scheduler given; running the fits on the current Dask Client's scheduler at %s",
                    current.scheduler.address)
    elif current is not None:
        logger.info("grid_search: n_workers=%d asks for a LocalCluster of its own; the current Dask Client (to %s) "
                    "is not used", n_workers, current.scheduler.address)
    with dask_client(scheduler, n_workers=n_workers) as client:
        logger.info("grid search on %s: %d fits", client, n_fits)
        _wait_for_a_worker(client)
        limits, folders = _check_workers(client, _packages_of(estimator, param_grid, scoring, cv, fit_params), "the grid search")
        since = _scheduler_time(client)
        # the data go to every worker once (broadcast), so a worker that dies
        # takes no only copy with it: its fits are rerun on the others
        backend = _cluster_backend(client, [X, y])
        for attempt in range(1 + _SEARCH_RETRIES):
            if _scattered_data_lost(backend):
                # every worker that held the data left after the scatter (an adaptive cluster closes the last one
                # when its data find no other worker): the fits' "lost dependencies"; the data are sent again
                logger.warning("the Dask workers that held the grid search's data left (an adaptive cluster closed "
                               "them): sending the data to the workers again")
                backend = _cluster_backend(client, [X, y])
            try:
                with joblib.parallel_backend(backend), _fit_progress(client, n_fits, progress):
                    return search.fit(X, y, groups=groups, **fit_params)
            except (FutureCancelledError, KilledWorker, OSError) as err:
                # workers killed for memory, a task that killed every worker, a scheduler gone: said as such, and
                # not run again (it would fail the same way)
                failure = _cluster_failure(client, err, since=since, what="the grid search", limits=limits,
                                           task=_fit_task(err),
                                           culprits=_fit_culprits(client, since, getattr(backend, "fits", {}),
                                                                  known=list(limits)))
                if failure is not None:
                    raise failure from err
                if not isinstance(err, FutureCancelledError):
                    _add_note(err, folders)
                    raise
                if attempt == _SEARCH_RETRIES or not _has_workers(client):
                    raise _lost_task(client, err, since, getattr(backend, "fits", {}), known=list(limits)) from err
                # joblib's dask backend can lose a race with a dead worker's cleanup and see a fit cancelled
                # ("already forgotten", joblib#957 / #959) although live workers could rerun it: the search is
                # deterministic, so running it again gives the cv_results_ the first run would have given
                logger.warning("the grid search lost a task when a worker died (%s); running it again on %d live "
                               "worker(s)", err, len(_live_workers(client)))
            except Exception as err:  # the work's own error, e.g. vectors not found in the workers' folders
                _add_note(err, folders)
                raise

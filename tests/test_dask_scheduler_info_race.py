"""The workers of a cluster, asked while the client's periodic scheduler-info update runs.

distributed's ``Client.scheduler_info()`` fetches every worker, but the client's periodic update (every
``distributed.client.scheduler-info-interval``, ``n_workers=0``) can overwrite that answer before it is
returned: its ``"workers"`` is then empty on a cluster with two. The CI run on 6812daa failed on this
(``test_dask_gaps_grid_search_on_a_cluster_scaled_down_mid_way_equals_local``: ``before`` was empty), and
toolkit's own grid search read its workers' memory limits the same way. Here the update runs every
millisecond, so the race that is rare at 2 s comes within a few hundred calls.
"""
import logging

import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.client.scheduler-info-interval": "1ms"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                         memory_limit="1GB", silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def test_live_workers_always_names_every_worker(client):
    from toolkit.distributed.search import _live_workers

    counts = [len(_live_workers(client)) for _ in range(1000)]
    assert set(counts) == {2}, f"{counts.count(0)} of 1000 answers named no worker"


def test_grid_search_worker_check_reads_every_workers_memory_limit(client):
    """The memory limits name a killed worker's limit in a ClusterError; they were read from scheduler_info."""
    from toolkit.distributed.search import _check_workers

    workers = set(client.ncores())  # an RPC to the scheduler, as _live_workers
    for _ in range(300):
        limits, _ = _check_workers(client, [], "the grid search")
        assert set(limits) == workers
        assert all(limit > 0 for limit in limits.values())

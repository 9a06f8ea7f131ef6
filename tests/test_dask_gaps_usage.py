"""Dask gaps tried as a user would: a grid search whose worker is killed (for memory, or by a crash) names the
candidate it was fitting; a worker killed during a distributed prediction; a cluster scaled down during a search;
a bad document of a bag named by its number in the whole input.

One module ``distributed.LocalCluster`` (two worker processes of one thread on 127.0.0.1, a 1 GB memory limit
each, ``allowed-failures=1`` so that a task that kills its worker twice fails at once) serves every test; the tests
that scale it or kill its workers wait (bounded) for its two workers before the next. The data are small real IMDB
samples; the grid searches fit a bag of words and a logistic regression, so each test takes seconds. No assertion
on time: every wait on the cluster has a timeout, so a bug fails instead of hanging.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

pytest.importorskip("distributed")

from toolkit.distributed.search import _live_workers  # (client.scheduler_info() races)

#: over the module cluster's memory limit (1 GB, killed at 95%): a fit or a partition that allocates this much
#: gets its worker killed by its nanny
_TOO_MUCH_MB = 1300
#: seconds any wait on the cluster may take before the test fails (workers import scikit-learn when they restart)
_WAIT = 180


@pytest.fixture(scope="module")
def cluster():
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0", memory_limit="1GB", silence_logs=logging.CRITICAL)
    with cluster:
        yield cluster


def _two_workers(client, cluster):
    """Wait (bounded) for the cluster's two workers, after a test that killed or retired some.

    distributed's LocalCluster forgets a worker whose name is not back ``distributed.deploy.lost-worker-timeout``
    (15 s) after it died: a worker killed again (and restarting) just then was dropped for good, and waiting for
    it hung. Scaling to two again starts it anew.
    """
    deadline = time.monotonic() + _WAIT
    while len(_live_workers(client)) < 2:
        assert time.monotonic() < deadline, f"the cluster's workers did not come back within {_WAIT} s"
        if len(cluster.workers) < 2:
            cluster.scale(2)
        time.sleep(0.2)


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster) as client:
        _two_workers(client, cluster)
        yield client


@pytest.fixture(scope="module")
def reviews(imdb_token_array60):
    """60 real reviews as token lists (an object array) and their labels."""
    return imdb_token_array60


class Hog(ClassifierMixin, BaseEstimator):
    """A logistic regression whose fit first fills ``mb`` megabytes (a model too big for its worker), or whose
    worker process dies in the fit (``crash``: a segfault, or the system killing it)."""

    def __init__(self, mb=0, crash=False, delay=0.0, C=1.0):
        self.mb, self.crash, self.delay, self.C = mb, crash, delay, C

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        if self.crash:
            os._exit(1)
        if self.mb:
            hold = np.ones(self.mb << 17)  # written, so resident: the nanny sees it
            time.sleep(3)
            del hold
        time.sleep(self.delay)
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _pipeline(final=None, first=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    steps = [first] if first is not None else []
    return make_pipeline(*steps, BagEncoder(max_tokens=500), final if final is not None else LogisticRegression())


# ------------------------------------------------------------------ 1. a grid search's worker killed: the candidate
def test_dask_gaps_grid_search_killed_for_memory_names_the_candidate(client, reviews):
    """Before: "Dask gave up on a fit of the grid (Dask task batch_of__fit_and_score_1_calls-...)", which names no
    parameter (joblib's keys carry none), and often the task of a fit cancelled beside it."""
    from toolkit.distributed import ClusterError, grid_search

    X, y = reviews
    with pytest.raises(ClusterError, match=r"worker restart\(s\) for memory \(worker .*; its memory limit is "
                                           r".*\); Dask gave up on a (fit|batch of \d fits) of the grid .*\. The "
                                           r"candidate of the grid running on (that worker when it was|the workers "
                                           r"when they were) killed: \{'hog__mb': 1300\} \(fold [12] of 2.*\. Give "
                                           r"the workers more memory"):
        grid_search(_pipeline(Hog()), {"hog__mb": [0, _TOO_MUCH_MB]}, X, y, cv=2, scheduler=client.scheduler.address,
                    refit=False)


@pytest.mark.slow
def test_dask_gaps_grid_search_whose_fit_crashes_its_workers_names_the_candidate(client, reviews):
    """A fit that kills every worker that runs it without a memory event (a crash, the system's OOM killer)."""
    from toolkit.distributed import ClusterError, grid_search

    X, y = reviews
    # a worker that dies at once says nothing of the fit it started: the fits it had been given are named, the
    # candidate given to the most of the dead workers first
    with pytest.raises(ClusterError, match=r"(Dask gave up on|lost a task).* The candidates? of the grid running( or "
                                           r"queued)? on (that worker when it|the workers when they) died: [^.]*"
                                           r"\{'hog__crash': True\} \(fold [12] of 2"):
        grid_search(_pipeline(Hog()), {"hog__crash": [False, True]}, X, y, cv=2, scheduler=client.scheduler.address,
                    refit=False)


def test_dask_gaps_grid_search_names_mixed_batches_as_fits():
    """joblib names a batch of scikit-learn's wrapped fits "mixed_batch_of__fit_and_score_2_calls": it was reported
    as a bare Dask task, and the progress bar did not count it."""
    from toolkit.distributed.search import _FIT_BATCH, _fit_task

    class Lost(Exception):
        key = "mixed_batch_of__fit_and_score_2_calls-0123456789abcdef"

    assert _fit_task(Lost()) == f"a batch of 2 fits of the grid (Dask task {Lost.key})"
    assert _FIT_BATCH.match("mixed_batch_of__fit_and_score_3_calls-ab").group(1) == "3"


# -------------------------------------------------------------------- 2a. a worker killed during a prediction
def _die_once(X, marker, document):
    """A pipeline's first step: the worker that first predicts ``document`` dies there (as ``os._exit``)."""
    if any(list(d) == document for d in X) and not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)
    return X


def _hog_on(X, document, mb):
    """A pipeline's first step: predicting ``document`` takes ``mb`` megabytes, more than a worker has."""
    if any(list(d) == document for d in X):
        hold = np.ones(mb << 17)
        time.sleep(3)
        del hold
    return X


def test_dask_gaps_predict_with_a_worker_killed_mid_way_gives_every_label(client, reviews, tmp_path):
    import dask.bag as db
    from sklearn.preprocessing import FunctionTransformer

    from toolkit.distributed import predict

    X, y = reviews
    marker = tmp_path / "killed"
    killer = FunctionTransformer(_die_once, kw_args={"marker": str(marker), "document": list(X[37])})
    clf = _pipeline(first=killer).fit(X[:30], y[:30])  # document 37 is not in the training data
    labels = client.compute(predict(clf, db.from_sequence(list(X), npartitions=6))).result(timeout=_WAIT)
    assert marker.exists()  # a worker did die while predicting
    assert labels == clf.named_steps["logisticregression"].predict(
        clf[:-1].transform([list(d) for d in X])).tolist()


def test_dask_gaps_predict_over_the_memory_limit_names_the_partition(client, reviews, caplog):
    """A partition that kills every worker that predicts it: Dask's KilledWorker (no hang), and its task is named
    for the prediction and the partition (it was "_apply_bag-<token>")."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd
    from distributed import KilledWorker
    from sklearn.preprocessing import FunctionTransformer

    from toolkit.distributed import predict, predict_proba

    X, y = reviews
    hog = FunctionTransformer(_hog_on, kw_args={"document": list(X[37]), "mb": _TOO_MUCH_MB})
    clf = _pipeline(first=hog).fit(X[:30], y[:30])
    # The KilledWorker the client gets names whichever task reached two deaths first: partition 3's prediction
    # (document 37) is on every dying worker, but any task that shared both of them (a from_sequence or a range
    # task on a loaded machine: the forty-second and forty-third sessions' CI) can be the one raised. What does not
    # vary: the scheduler marks partition 3's prediction failed, by its toolkit-predict name, in the same step.
    with caplog.at_level(logging.ERROR, logger="distributed.scheduler"), pytest.raises(
            KilledWorker, match=r"\('[\w-]+', [0-9]+\) on 2 different workers") as raised:
        client.compute(predict(clf, db.from_sequence(list(X), npartitions=6))).result(timeout=_WAIT)
    assert "_apply_bag" not in str(raised.value)
    failed = [r.getMessage() for r in caplog.records if "marked as failed" in r.getMessage()]
    assert any(re.search(r"\('toolkit-predict-[0-9a-f]+', 3\) marked as failed", m) for m in failed), failed
    series = dd.from_pandas(pd.Series([" ".join(d) for d in X]), npartitions=6)
    assert predict_proba(clf, series)._name.startswith("toolkit-predict_proba-")


# ------------------------------------------------------------------------ 2b. the cluster scaled during a search
def _started_fits(client, since):
    from toolkit.distributed.search import _FIT_STARTED

    return [stamp for stamp, _ in client.get_events(_FIT_STARTED) if stamp >= since]


def _scale_once_fits_started(client, cluster, n, since, done):
    deadline = time.monotonic() + _WAIT
    while not _started_fits(client, since) and time.monotonic() < deadline and not done.is_set():
        time.sleep(0.05)
    cluster.scale(n)


def test_dask_gaps_grid_search_on_a_cluster_scaled_down_mid_way_equals_local(client, cluster, reviews):
    from toolkit.distributed import grid_search
    from toolkit.distributed.search import _removal, _scheduler_time

    X, y = reviews
    grid = {"hog__C": [0.1, 1.0, 10.0, 100.0], "hog__delay": [0.3]}
    # the delay only paces the cluster's fits (the scale down lands among them): the local fits go without it
    local = grid_search(_pipeline(Hog()), {**grid, "hog__delay": [0.0]}, X, y, cv=3, local=True, refit=False)
    since, done = _scheduler_time(client) + 1.0, threading.Event()  # (the helper's margin: no earlier test's fit)
    before = set(_live_workers(client))
    scaler = threading.Thread(target=_scale_once_fits_started, args=(client, cluster, 1, since, done), daemon=True)
    scaler.start()
    try:
        on_dask = grid_search(_pipeline(Hog()), grid, X, y, cv=3, scheduler=client.scheduler.address, refit=False)
    finally:
        done.set()
        scaler.join(timeout=_WAIT)
    assert on_dask.cv_results_.keys() == local.cv_results_.keys()
    assert [p.pop("hog__delay") for p in on_dask.cv_results_["params"]] == [0.3] * 4
    assert [p.pop("hog__delay") for p in local.cv_results_["params"]] == [0.0] * 4
    for key, value in local.cv_results_.items():
        if "time" not in key and key != "param_hog__delay":
            assert np.array_equal(np.asarray(on_dask.cv_results_[key]), np.asarray(value)), key
    deadline = time.monotonic() + _WAIT
    while len(_live_workers(client)) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    (retired,) = before - set(_live_workers(client))
    removal = [stamp for stamp, event in client.get_events(retired) if event.get("action") == "remove-worker"]
    assert _removal(client, retired, since)["retired"]  # closed by the scale down, not dead
    started = _started_fits(client, since)
    assert min(started) < removal[-1] < max(started), "the scale down came before or after the search"


def test_dask_gaps_grid_search_on_a_cluster_scaled_to_zero_says_so(client, cluster, reviews, monkeypatch):
    """Before: "a worker died and no other worker could take its work over", for workers retired by the user."""
    from toolkit.distributed import ClusterError, grid_search, search
    from toolkit.distributed.search import _scheduler_time

    real = search._has_workers
    monkeypatch.setattr(search, "_has_workers", lambda client, timeout=60.0: real(client, timeout=2.0))
    X, y = reviews
    grid = {"hog__C": [0.1, 1.0, 10.0, 100.0], "hog__delay": [0.3]}
    since, done = _scheduler_time(client) + 1.0, threading.Event()
    scaler = threading.Thread(target=_scale_once_fits_started, args=(client, cluster, 0, since, done), daemon=True)
    scaler.start()
    try:
        with pytest.raises(ClusterError, match=r"lost a task .*: its cluster has no worker left \(scaled down to "
                                               r"none, or every worker died and none came back\)\. Give it workers"):
            grid_search(_pipeline(Hog()), grid, X, y, cv=3, scheduler=client.scheduler.address, refit=False)
    finally:
        done.set()
        scaler.join(timeout=_WAIT)
        cluster.scale(2)
    _two_workers(client, cluster)


# ------------------------------------------------------------- 3. a bad document named by its number in the input
@pytest.mark.parametrize("value, problem", [(None, r"is missing \(None/NaN\)"),
                                            ("good " * 30_000, r"has 150,000 characters, more than max_length")],
                         ids=["missing", "too long"])
def test_dask_gaps_tokenize_partitions_names_a_bad_document_by_its_number_in_the_input(imdb_small, value, problem):
    """Before: "Document 5 of partition 2 of the input": the single-process tokenizer says "Document 25 of X"."""
    import dask.bag as db

    from toolkit.distributed import tokenize_partitions
    from toolkit.exceptions import DocumentError
    from toolkit.text import SpacyTokenizer

    texts, _ = imdb_small
    docs = list(texts[:40])
    docs[25] = value  # document 5 of partition 2 (partitions of 10)
    with pytest.raises(DocumentError, match=r"^Document 25 of X"):
        SpacyTokenizer(max_length=100_000).transform(docs)
    bag = db.from_sequence(docs, npartitions=4)
    with pytest.raises(DocumentError, match=rf"^Document 25 of the input \(document 5 of partition 2\) {problem}") as err:
        tokenize_partitions(bag, {"max_length": 100_000}).compute(scheduler="sync")
    assert err.value.document_index == 25
    assert bag.compute()[err.value.document_index] == value


def test_dask_gaps_tokenize_partitions_on_a_cluster_names_the_global_number(client, imdb_small):
    import dask.bag as db

    from toolkit.distributed import tokenize_partitions
    from toolkit.exceptions import DocumentError
    from toolkit.text import SpacyTokenizer

    texts, _ = imdb_small
    docs = list(texts[:43])
    docs[31] = None
    bag = db.from_sequence(docs, npartitions=5)  # partitions of 9: document 4 of partition 3
    with pytest.raises(DocumentError, match=r"^Document 31 of the input \(document 4 of partition 3\) is missing") \
            as err:
        client.compute(tokenize_partitions(bag)).result(timeout=_WAIT)
    assert err.value.document_index == 31
    docs[31] = "A good film."
    assert client.compute(tokenize_partitions(db.from_sequence(docs, npartitions=5))).result(timeout=_WAIT) == \
        SpacyTokenizer().transform(docs).to_list()


def test_dask_gaps_grid_search_takes_sample_weight_and_train_scores_as_gridsearchcv(client, imdb_tokens200):
    """Session 39: ``grid_search(..., logisticregression__sample_weight=w, return_train_score=True)`` was a
    TypeError; GridSearchCV.fit takes both (its local counterpart: tests/test_dask_user_s39.py)."""
    from sklearn.model_selection import GridSearchCV

    from toolkit.distributed import grid_search

    X, y = np.asarray(imdb_tokens200[0], dtype=object), imdb_tokens200[1]
    w = np.random.default_rng(0).integers(1, 5, size=len(y)).astype(float)
    grid = {"logisticregression__C": [0.1, 1.0]}
    expected = GridSearchCV(_pipeline(), grid, cv=3, return_train_score=True).fit(
        X, y, logisticregression__sample_weight=w).cv_results_
    on_dask = grid_search(_pipeline(), grid, X, y, cv=3, scheduler=client.scheduler.address,
                          return_train_score=True, logisticregression__sample_weight=w)
    assert on_dask.cv_results_.keys() == expected.keys() and "mean_train_score" in expected
    for key, value in expected.items():
        if "time" not in key:
            assert np.array_equal(np.asarray(on_dask.cv_results_[key]), np.asarray(value)), key
    # the weights did reach the fits: without them the scores differ
    unweighted = GridSearchCV(_pipeline(), grid, cv=3).fit(X, y).cv_results_
    assert not np.array_equal(unweighted["split0_test_score"], expected["split0_test_score"])
    # and the refit, which runs here
    np.testing.assert_array_equal(
        on_dask.best_estimator_.predict(X),
        _pipeline().set_params(**on_dask.best_params_).fit(X, y, logisticregression__sample_weight=w).predict(X))

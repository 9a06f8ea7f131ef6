"""Session 46: a user whose grid search outgrew one machine, on conftest's cluster (two worker processes on
127.0.0.1) and small real IMDB training samples.

``grid_search(..., scheduler=client)`` with the ``distributed.Client`` the user holds (as ``CorpusStore.build`` and
``write_predictions`` take one) was refused as "Invalid Dask scheduler address <Client ...>"; it now runs on that
client's scheduler and leaves the client open (since session 47, a current client is used without ``scheduler``). The search on the cluster equals scikit-learn's ``GridSearchCV`` for
the same grid, cv and scoring: multimetric scoring refitted by name with train scores, and a candidate that raises
under ``error_score=nan`` (its FitFailedWarning as scikit-learn's). A ``CorpusStore`` handle pickled by a toolkit
before session 44 (a build stamp of three fields, no digest) reads its unchanged store instead of calling it rebuilt.
No assertion on time or on Dask's task names.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("distributed")

GRID = {"logisticregression__C": [0.1, 1.0, 10.0]}


def _pipeline():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(CountVectorizer(analyzer=lambda doc: doc, min_df=2), LogisticRegression(max_iter=300))


@pytest.fixture(scope="module")
def data(imdb_tokens200):
    X = np.empty(120, dtype=object)
    X[:] = imdb_tokens200[0][:120]
    return X, np.asarray(imdb_tokens200[1][:120])


def _same_results(on_dask, expected):
    assert on_dask.cv_results_.keys() == expected.cv_results_.keys()
    for key, value in expected.cv_results_.items():
        if "time" not in key:
            a, b = np.asarray(on_dask.cv_results_[key]), np.asarray(value)
            assert (np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f" else np.array_equal(a, b)), key
    assert on_dask.best_params_ == expected.best_params_ and on_dask.best_index_ == expected.best_index_


def test_grid_search_takes_the_users_client_and_leaves_it_open(client, data):
    from sklearn.model_selection import GridSearchCV

    from toolkit.distributed import grid_search

    X, y = data
    scoring = {"acc": "accuracy", "f1": "f1_macro"}
    on_dask = grid_search(_pipeline(), GRID, X, y, cv=3, scheduler=client, scoring=scoring, refit="f1",
                          return_train_score=True)
    expected = GridSearchCV(_pipeline(), GRID, cv=3, scoring=scoring, refit="f1", return_train_score=True).fit(X, y)
    _same_results(on_dask, expected)
    assert "mean_train_f1" in on_dask.cv_results_ and on_dask.best_score_ == expected.best_score_
    np.testing.assert_array_equal(on_dask.predict(X), expected.predict(X))  # the refit, by name
    assert client.status == "running" and client.submit(sum, [1, 2]).result(timeout=60) == 3


def test_grid_search_without_scheduler_runs_on_the_current_client(client, data, monkeypatch, caplog):
    """Inside ``with Client(cluster):`` a search without ``scheduler`` started a second LocalCluster (session 46 made
    that a warning); session 47: Dask's convention, the current client's cluster runs the fits and stays open."""
    from sklearn.model_selection import GridSearchCV

    from toolkit.distributed import grid_search, search

    def no_cluster(*args, **kwargs):
        raise AssertionError("grid_search started a LocalCluster although a Client was current")

    monkeypatch.setattr(search, "local_cluster", no_cluster)
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    with caplog.at_level("INFO", logger="toolkit.distributed.search"):
        on_dask = grid_search(_pipeline(), GRID, *data, cv=2)
    _same_results(on_dask, GridSearchCV(_pipeline(), GRID, cv=2).fit(*data))
    assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter) > before
    assert f"current Dask Client's scheduler at {client.scheduler.address}" in caplog.text
    assert client.status == "running" and client.submit(sum, [1, 2]).result(timeout=60) == 3


def test_grid_search_refuses_a_closed_client_saying_so(cluster, data):
    from distributed import Client

    from toolkit.distributed import grid_search

    closed = Client(cluster)
    closed.close()
    with pytest.raises(ValueError, match="closed Client: give an open one, or the scheduler's address"):
        grid_search(_pipeline(), GRID, *data, cv=2, scheduler=closed)


def test_grid_search_with_a_failing_candidate_and_error_score_nan_equals_gridsearchcv(client, data):
    from sklearn.exceptions import FitFailedWarning
    from sklearn.model_selection import GridSearchCV

    from toolkit.distributed import grid_search

    X, y = data
    grid = {"logisticregression__C": [1.0, -1.0]}  # -1: LogisticRegression refuses it in fit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        on_dask = grid_search(_pipeline(), grid, X, y, cv=3, scheduler=client.scheduler.address,
                              error_score=np.nan)
    assert any(issubclass(w.category, FitFailedWarning) and "3 fits failed out of a total of 6" in str(w.message)
               for w in caught), [str(w.message)[:200] for w in caught]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = GridSearchCV(_pipeline(), grid, cv=3, error_score=np.nan).fit(X, y)
    _same_results(on_dask, expected)
    assert np.isnan(on_dask.cv_results_["mean_test_score"][1])


def test_store_handle_pickled_by_an_older_toolkit_reads_its_unchanged_store(imdb_small, tmp_path):
    import os

    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = db.from_sequence(list(zip(imdb_small[0][:20], imdb_small[1][:20])), npartitions=2)
    store = CorpusStore.build(texts, tmp_path / "store", scheduler="sync")
    st = os.stat(tmp_path / "store" / "store.json")
    old = pickle.loads(pickle.dumps(store))
    # as sessions 38-43 pickled it: (inode, mtime, size), no digest
    old._build_stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    del old.__dict__["_build_digest"]
    old = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(old.labels(), store.labels())
    np.testing.assert_array_equal(old.sequences([0, 19], maxlen=8), store.sequences([0, 19], maxlen=8))
    # a store built again since is still refused
    stale = pickle.loads(pickle.dumps(store))
    stale._build_stamp = (st.st_ino, st.st_mtime_ns - 1, st.st_size)
    del stale.__dict__["_build_digest"]
    stale = pickle.loads(pickle.dumps(stale))
    with pytest.raises(Exception, match="was built again since this CorpusStore was opened"):
        stale.labels()

"""Session 48: a Dask user whose data outgrew one machine.

A lazy ``predict`` over a bag with a scattered estimator (``client.scatter(model)``) computed on a local scheduler
failed with Dask's "Missing dependency <key>": ``compute(scheduler="threads")`` / ``"sync"`` now fetches the
estimator from the Future's cluster, and what cannot work (Dask's "processes" scheduler, a closed Client, another
cluster, a lost estimator) says what to do. ``grid_search`` / ``toolkit grid`` took Dask's scheduler names for
addresses; a scikit-learn pipeline's error on a missing text now names its partition and row. Small real IMDB training reviews, conftest's cluster; no assertion on time or on Dask's task names.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import pytest

pytest.importorskip("distributed")


def _pipeline():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(CountVectorizer(min_df=2), LogisticRegression(max_iter=300))


@contextlib.contextmanager
def _scheduler_warnings(caplog):
    """The in-process scheduler's warnings in ``caplog`` (distributed's logger does not propagate to the root)."""
    logger = logging.getLogger("distributed.scheduler")
    level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """80 training reviews to fit on, 30 others to predict."""
    texts, labels = imdb_small
    return texts[:80], np.asarray(labels[:80]), texts[80:110]


@pytest.fixture(scope="module")
def fitted(reviews):
    texts, labels, _ = reviews
    return _pipeline().fit(texts, labels)


def test_distributed_s48_scattered_estimator_predicts_on_a_local_scheduler(client, fitted, reviews, caplog):
    """Before: ValueError "Missing dependency Pipeline-<token> for dependents {...}" on threads and sync."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict, predict_proba

    new = reviews[2]
    model = client.scatter(fitted)
    bag = db.from_sequence(new, npartitions=3)
    series = dd.from_pandas(pd.Series(new, name="text"), npartitions=3)
    expected = fitted.predict(new).tolist()
    with _scheduler_warnings(caplog):
        for scheduler in ("threads", "sync"):
            assert predict(model, bag).compute(scheduler=scheduler) == expected
        np.testing.assert_allclose(predict_proba(model, bag).compute(scheduler="threads"), fitted.predict_proba(new))
        lazy = predict(model, bag)
        assert lazy.compute() == expected == lazy.compute()  # on the cluster, twice: the key read where it lives
        # a Dask Series keeps the Future itself as the argument (its map_partitions renames a Delayed's key)
        assert predict(model, series).compute().tolist() == expected
        np.testing.assert_allclose(predict_proba(model, series).compute().to_numpy(), fitted.predict_proba(new))
    assert "Detected different `run_spec`" not in caplog.text


def test_distributed_s48_scattered_estimator_refused_where_it_cannot_be_read(cluster, fitted, reviews):
    """Before: "Missing dependency" for the processes scheduler and after the Client closed."""
    import dask.bag as db
    from distributed import Client

    from toolkit.distributed import predict

    bag = db.from_sequence(reviews[2], npartitions=2)
    with Client(cluster) as client:
        lazy = predict(client.scatter(fitted), bag)
        with pytest.raises(ValueError, match="cannot be read by a process of Dask's local 'processes' scheduler.*"
                                             "scheduler='threads'.*or pass the estimator itself"):
            lazy.compute(scheduler="processes")
    with pytest.raises(ValueError, match=r"the Future's Client \(to tcp://127\.0\.0\.1:\d+\) is closed: scatter the "
                                         "estimator again"):
        lazy.compute(scheduler="threads")


def test_distributed_s48_future_of_a_task_with_dependencies_computes_on_its_cluster(client, fitted, reviews, caplog):
    """Guard: a Future of a task with dependencies stays a plain dependency (no second task of its key)."""
    import dask.bag as db

    from toolkit.distributed import predict

    new = reviews[2]
    scattered = client.scatter(fitted)
    model = client.submit(lambda m: m, scattered, pure=False)  # its dependency held: the scheduler keeps the edge
    with _scheduler_warnings(caplog):
        assert predict(model, db.from_sequence(new, npartitions=2)).compute() == fitted.predict(new).tolist()
    assert "Detected different `run_spec`" not in caplog.text


@pytest.mark.parametrize("name", ["processes", "threads", "sync"])
def test_distributed_s48_grid_search_refuses_dask_local_scheduler_names(name):
    """Before: "Invalid Dask scheduler address 'processes': missing port number in address" (taken for an address)."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.distributed import grid_search

    with pytest.raises(ValueError, match=f"scheduler='{name}', one of Dask's local schedulers: a grid search runs on a "
                                         "distributed cluster.*Leave scheduler out for a LocalCluster.*local=True"):
        grid_search(LogisticRegression(), {"C": [0.1, 1.0]}, [[0.0], [1.0]] * 4, [0, 1] * 4, cv=2, scheduler=name)


def test_distributed_s48_grid_search_scheduler_distributed_is_the_current_client(client, monkeypatch):
    """Dask's "distributed" (as CorpusStore.build and write_predictions take it): the current Client; before, an
    invalid address."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.distributed import grid_search, search

    X, y = [[0.0], [1.0], [0.2], [0.8]] * 4, [0, 1, 0, 1] * 4
    opened = []
    real = search.dask_client
    monkeypatch.setattr(search, "dask_client", lambda scheduler=None, **kw: opened.append(scheduler) or real(scheduler,
                                                                                                           **kw))
    found = grid_search(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, cv=2, scheduler="distributed")
    assert opened == [client]
    assert found.best_params_ == grid_search(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, cv=2, local=True).best_params_
    monkeypatch.setattr(search, "_current_client", lambda: None)
    with pytest.raises(ValueError, match="scheduler='distributed', the current Dask Client, but none is open"):
        grid_search(LogisticRegression(), {"C": [0.1, 1.0]}, X, y, cv=2, scheduler="distributed")


def test_distributed_s48_grid_command_refuses_a_dask_scheduler_name(tmp_path, monkeypatch):
    """Before: the data were read, then "Invalid Dask scheduler address 'processes': missing port number"."""
    from typer.testing import CliRunner

    import toolkit.cli.grid as grid_module
    from toolkit.cli import app
    from toolkit.cli.grid import run_grid

    def no_search(*a, **k):
        raise AssertionError("the search started")

    monkeypatch.setattr(grid_module, "run_grid", no_search)
    monkeypatch.setattr(grid_module, "_load_tensorflow_quietly", no_search)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    result = CliRunner().invoke(app, ["-q", "grid", "--data", str(data), "--grid", "epochs=1,2", "--cv", "2",
                                      "--scheduler", "processes"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: --scheduler takes a running Dask scheduler's address, e.g. "
                                    "tcp://10.0.0.5:8786; 'processes' is one of Dask's own scheduler names. Leave "
                                    "--scheduler out for a local cluster of worker processes (--workers N"), result.stderr
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"^run_grid got scheduler='threads', one of Dask's own scheduler names.*"
                                         "local=True"):
        run_grid(str(data), grid=["epochs=1,2"], cv=2, scheduler="threads")


def test_distributed_s48_missing_texts_for_a_scikit_learn_pipeline_are_named(fitted, reviews):
    """A string[pyarrow] column with missing reviews (pd.NA): CountVectorizer said only "'NAType' object has no
    attribute 'lower'", not which partition nor which row; a toolkit estimator names them (DocumentError)."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict

    texts = list(reviews[2][:6])
    texts[4] = None
    series = pd.Series(texts, dtype="string[pyarrow]", index=[f"r{i}" for i in range(6)], name="review")
    frame = dd.from_pandas(series.to_frame(), npartitions=2, sort=False)
    with pytest.raises(AttributeError, match="'NAType' object has no attribute 'lower'") as caught:
        predict(fitted, frame, text_column="review").compute(scheduler="sync")
    notes = "".join(getattr(caught.value, "__notes__", []))
    assert "1 of its 3 document(s) of partition 1 are missing (None/NaN/NA; first: index label 'r4')" in notes
    assert "ddf.dropna(subset=[text_column])" in notes
    with pytest.raises(AttributeError, match="'NAType' object has no attribute 'lower'") as caught:
        predict(fitted, db.from_sequence(list(series.astype(object)), npartitions=2)).compute(scheduler="sync")
    notes = "".join(getattr(caught.value, "__notes__", []))
    assert "partition 1 of the bag failed: 1 of its 3 document(s) are missing (None/NaN/NA; first: its document 1)" \
        in notes
    kept = frame.dropna(subset=["review"])  # as the note says: the other rows, predicted as in memory
    np.testing.assert_array_equal(predict(fitted, kept, text_column="review").compute(scheduler="sync").to_numpy(),
                                  fitted.predict([t for t in texts if t is not None]))


@pytest.mark.slow
def test_distributed_s48_scattered_estimator_lost_or_on_another_cluster_says_so(fitted, reviews):
    """Every worker that held the scattered estimator died, or another cluster computes: one error that says which
    and what to do (before: "Missing dependency" / tasks cancelled for "lost dependencies")."""
    import os

    import dask.bag as db
    from distributed import Client, LocalCluster

    from toolkit.distributed import predict

    bag = db.from_sequence(reviews[2], npartitions=2)
    with (LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                       silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client):
        model = client.scatter(fitted)
        lazy = predict(model, bag)
        with (LocalCluster(n_workers=1, processes=False, dashboard_address=":0", silence_logs=logging.CRITICAL) as other,
              Client(other, set_as_default=False) as elsewhere,
              pytest.raises(ValueError, match=f"is held by the Dask cluster at {cluster.scheduler_address}, but the "
                                              r"cluster at \S+ computes the predictions: one cluster's")):
            lazy.compute(scheduler=elsewhere)
        assert lazy.compute() == fitted.predict(reviews[2]).tolist()
        (holder,) = client.who_has(model)[model.key]
        with contextlib.suppress(Exception):  # the worker's connection closes as it dies
            client.run(os._exit, 1, workers=[holder])
        client.wait_for_workers(1, timeout=120)
        with pytest.raises(ValueError, match=r"was lost: every worker of the Dask cluster at .* that held it left "
                                             r"\(died, or was retired\): scatter the estimator again"):
            lazy.compute()

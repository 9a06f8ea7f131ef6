"""Session 47: a Dask user who predicts often with a large model, and who searches inside ``with Client(cluster):``.

``predict`` / ``predict_proba`` / ``write_predictions`` pickled and sent the estimator again at every compute (a
200 MB model: 7-10 s a compute); they now also take a ``distributed.Future`` of it (``client.scatter(model)``), whose
predictions equal the in-process estimator's, and a Future that cannot serve (not an estimator, not fitted, another
cluster's, a closed client's, a local scheduler) is refused at once with what to do. ``grid_search`` without
``scheduler`` runs on the current Client (Dask's convention) instead of starting a second LocalCluster; a worker's
own client is never taken. Small real IMDB training reviews, conftest's cluster; no assertion on time or on Dask's
task names.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

pytest.importorskip("distributed")


def _pipeline():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(CountVectorizer(min_df=2), LogisticRegression(max_iter=300))


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """80 training reviews to fit on, 40 others to predict."""
    texts, labels = imdb_small
    return texts[:80], np.asarray(labels[:80]), texts[80:120]


@pytest.fixture(scope="module")
def fitted(reviews):
    texts, labels, _ = reviews
    return _pipeline().fit(texts, labels)


def test_predict_with_a_scattered_estimator_equals_the_estimator_in_process(client, fitted, reviews, tmp_path):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict, predict_proba, write_predictions

    new = reviews[2]
    model = client.scatter(fitted, broadcast=True)
    bag = db.from_sequence(new, npartitions=3)
    series = dd.from_pandas(pd.Series(new, name="text"), npartitions=3)
    assert predict(model, bag).compute() == fitted.predict(new).tolist()
    np.testing.assert_array_equal(predict(model, series).compute().to_numpy(), fitted.predict(new))
    proba = predict_proba(model, series).compute()
    assert list(proba.columns) == [str(c) for c in fitted.classes_]
    np.testing.assert_allclose(proba.to_numpy(), fitted.predict_proba(new))
    np.testing.assert_allclose(np.asarray(predict_proba(model, bag).compute()), fitted.predict_proba(new))
    out = write_predictions(model, series.to_frame(), tmp_path / "predictions", method="predict", text_column="text")
    lines = [json.loads(line) for part in sorted(out.glob("part-*.jsonl")) for line in part.read_text().splitlines()]
    assert [row["label"] for row in lines] == fitted.predict(new).tolist()
    assert json.loads((out / "predictions.json").read_text())["classes"] == fitted.classes_.tolist()


def test_a_lazy_result_of_a_scattered_estimator_keeps_it_after_a_refit(client, reviews):
    """As documented: the default follows a refit of the estimator; a scattered one is what the result uses."""
    import dask.bag as db

    from toolkit.distributed import predict

    texts, labels, new = reviews
    local = _pipeline().fit(texts, labels)
    expected = local.predict(new).tolist()
    bag = db.from_sequence(new, npartitions=2)
    lazy_scattered, lazy_default = predict(client.scatter(local), bag), predict(local, bag)
    local.fit(texts, np.where(labels == "pos", "neg", "pos"))  # refitted on swapped labels: every label flips
    assert lazy_scattered.compute() == expected
    assert lazy_default.compute() == local.predict(new).tolist() != expected


def test_a_future_that_cannot_serve_is_refused_at_once_saying_why(client, fitted, reviews, tmp_path):
    import dask.bag as db
    from distributed import wait
    from sklearn.exceptions import NotFittedError
    from sklearn.svm import LinearSVC

    from toolkit import load_model
    from toolkit.distributed import predict, predict_proba

    texts, labels, new = reviews
    bag = db.from_sequence(new, npartitions=2)
    with pytest.raises(TypeError, match=r"or a Future of one .*got a Future of a builtins\.str"):
        predict(client.scatter("not a model"), bag)
    with pytest.raises(NotFittedError, match="is not fitted.*Fit it before scattering it"):
        predict(client.scatter(_pipeline()), bag)
    with pytest.raises(TypeError, match="list of 1 Futures.*scatter the estimator alone"):
        predict(client.scatter([fitted]), bag)
    failed = client.submit(load_model, str(tmp_path / "no-model"))  # a model loaded on the workers, or not
    wait(failed)
    with pytest.raises(FileNotFoundError, match="no-model"):  # its own error, not "the Future's status is 'error'"
        predict(failed, bag)
    svc = client.scatter(_pipeline().set_params(logisticregression=LinearSVC()).fit(texts, labels))
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'.*LinearSVC"):
        predict_proba(svc, bag)


def test_a_future_is_refused_where_its_data_are_not(cluster, client, fitted, reviews, tmp_path):
    """A local scheduler failed with Dask's "Missing dependency", another cluster with "cancelled for reason: lost
    dependencies", a closed client's Future later on."""
    import dask.bag as db
    from distributed import Client, LocalCluster

    from toolkit.distributed import predict, write_predictions

    bag = db.from_sequence(reviews[2], npartitions=2)
    model = client.scatter(fitted)
    with pytest.raises(ValueError, match="scheduler='sync' computes in this process"):
        write_predictions(model, bag, tmp_path / "out", scheduler="sync")
    assert not (tmp_path / "out").exists()
    with (LocalCluster(n_workers=1, processes=False, dashboard_address=":0", silence_logs=logging.CRITICAL) as other,
          Client(other) as elsewhere):
        with pytest.raises(ValueError, match=f"current Client is to {elsewhere.scheduler.address}"):
            predict(model, bag)
        with pytest.raises(ValueError, match="one cluster's tasks cannot read another's data"):
            write_predictions(model, bag, tmp_path / "out", scheduler=elsewhere)
    closed = Client(cluster)
    orphan = closed.scatter(fitted)
    closed.close()
    with pytest.raises(ValueError, match="whose Client is closed: scatter the estimator again"):
        predict(orphan, bag)


def test_grid_search_without_scheduler_takes_no_workers_client(client):
    """Inside a task the current client is the worker's own: a search there must not queue its fits on the cluster
    whose thread it holds."""
    from distributed import get_client

    from toolkit.distributed import search

    def in_a_task():
        get_client()  # the worker's client, made current in its process
        return search._current_client() is None

    assert search._current_client() is client
    assert client.submit(in_a_task, pure=False).result(timeout=120)


def test_grid_search_without_client_or_with_n_workers_starts_a_local_cluster(cluster, monkeypatch, caplog):
    from distributed import Client

    from toolkit.distributed import grid_search, search

    class Stop(Exception):
        pass

    given = []

    def record(scheduler=None, **kwargs):  # stop where the client or the LocalCluster would be opened
        given.append(scheduler)
        raise Stop

    monkeypatch.setattr(search, "dask_client", record)
    monkeypatch.setattr(search, "_current_client", lambda: None)  # no client, whatever other tests left open
    X, y = [[0.0], [1.0]] * 4, [0, 1] * 4
    with pytest.raises(Stop):
        grid_search(_pipeline()[1], {"C": [1.0]}, X, y, cv=2)
    monkeypatch.undo()
    monkeypatch.setattr(search, "dask_client", record)
    with Client(cluster) as current, caplog.at_level("INFO", logger="toolkit.distributed.search"):
        with pytest.raises(Stop):
            grid_search(_pipeline()[1], {"C": [1.0]}, X, y, cv=2, n_workers=1)
        assert f"n_workers=1 asks for a LocalCluster of its own; the current Dask Client (to " \
               f"{current.scheduler.address}) is not used" in caplog.text
        with pytest.raises(Stop):
            grid_search(_pipeline()[1], {"C": [1.0]}, X, y, cv=2)
    assert given == [None, None, current]


def test_a_scikit_learn_pipeline_given_text_label_pairs_says_to_predict_the_texts(fitted, reviews, tmp_path):
    """``read_texts(..., label_column=...)`` gives (text, label) pairs: a toolkit estimator refused them with what to
    do, a CountVectorizer pipeline said only "'tuple' object has no attribute 'lower'" (the docstring promised the
    hint for any estimator)."""
    import pandas as pd

    from toolkit.distributed import predict, read_texts

    texts, labels, _ = reviews
    pd.DataFrame({"text": texts[:20], "label": labels[:20]}).to_csv(tmp_path / "reviews.csv", index=False)
    pairs = read_texts(tmp_path / "reviews.csv", text_column="text", label_column="label")
    with pytest.raises(AttributeError, match="'tuple' object has no attribute 'lower'") as caught:
        predict(fitted, pairs).compute(scheduler="sync")
    notes = "".join(getattr(caught.value, "__notes__", []))
    assert "partition 0 of the bag" in notes and "predict(model, bag.pluck(0))" in notes
    assert predict(fitted, pairs.pluck(0)).compute(scheduler="sync") == fitted.predict(texts[:20]).tolist()


def test_grid_search_refuses_n_workers_with_a_scheduler(client, monkeypatch):
    """n_workers sizes only the LocalCluster grid_search starts: with a scheduler it was silently ignored (the CLI's
    run_grid refuses --workers with --scheduler)."""
    from toolkit.distributed import grid_search, search

    class Stop(Exception):
        pass

    def no_client(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(search, "dask_client", no_client)
    with pytest.raises(ValueError, match="n_workers sizes the LocalCluster that grid_search starts when it has no "
                                         "scheduler.*Drop n_workers"):
        grid_search(_pipeline()[1], {"C": [1.0]}, [[0.0], [1.0]] * 4, [0, 1] * 4, cv=2, scheduler=client,
                    n_workers=2)

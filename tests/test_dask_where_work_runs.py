"""Where the Dask work of the toolkit really runs: on the cluster's worker processes, not in the test's.

joblib's dask backend ran every fit of a grid search in the client process on a
cluster of one single-threaded worker (it runs a call in the caller when its
backend offers one job). These tests check the other Dask paths the same way:
the function each partition goes through is wrapped to record ``os.getpid()``,
and the recorded processes must be the cluster's workers. Each test runs on a
LocalCluster of one worker with one thread (the case joblib ran locally) and on
one of two workers, both on 127.0.0.1 and started by the module fixture; the
data are small real IMDB samples, so each test takes seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker-1-thread", "2-workers"])
def cluster(request):
    from distributed import LocalCluster

    with LocalCluster(n_workers=request.param, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=50) as local:
        yield local


@pytest.fixture
def client(cluster):
    """A Client to the module's cluster, current (the default scheduler) while the test runs."""
    from distributed import Client

    with Client(cluster) as current:
        yield current


def _recording(function, log):
    """``function``, which first appends the pid of the process that runs it to ``log``.

    A closure: cloudpickle ships it by value, so a worker runs it without
    importing this test module; ``function`` itself travels by reference.
    """
    def recorded(*args, **kwargs):
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        return function(*args, **kwargs)

    return recorded


@pytest.fixture
def spy(monkeypatch, tmp_path):
    """``spy(module, name)`` wraps ``module.name`` to record where it runs; returns the reader of those pids."""
    count = iter(range(100))

    def install(module, name):
        log = tmp_path / f"pids-{name}-{next(count)}.txt"
        monkeypatch.setattr(module, name, _recording(getattr(module, name), str(log)))

        def pids():
            return [int(p) for p in log.read_text(encoding="utf-8").split()] if log.exists() else []

        return pids

    return install


def _on_workers(pids, client, expected_calls):
    """Assert that ``pids`` are ``expected_calls`` calls, all in the cluster's worker processes."""
    workers = set(client.run(os.getpid).values())
    assert len(pids) == expected_calls, pids
    assert os.getpid() not in pids, f"ran in the test process {os.getpid()}, not on the cluster's workers {workers}"
    assert set(pids) <= workers, (pids, workers)


@pytest.fixture(scope="module")
def pairs(imdb_small):
    """40 real reviews and their labels."""
    texts, labels = imdb_small
    return texts[:40], labels[:40].tolist()


@pytest.fixture(scope="module")
def fitted(imdb_tokens):
    """A bag-of-words logistic regression fitted on 100 real reviews (token lists)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    docs, labels = imdb_tokens
    return make_pipeline(BagEncoder(max_tokens=500), LogisticRegression()).fit(docs[:100], labels[:100])


# ------------------------------------------------------------------------------------------ predictions
def test_dask_where_predict_over_a_bag_runs_on_the_workers(client, spy, fitted, imdb_tokens):
    import dask.bag as db

    from toolkit.distributed import predict, prediction

    docs = imdb_tokens[0][100:140]
    pids = spy(prediction, "_apply_bag")
    labels = predict(fitted, db.from_sequence(docs, npartitions=4)).compute()
    assert labels == fitted.predict(docs).tolist()
    _on_workers(pids(), client, 4)


def test_dask_where_predict_proba_over_a_dataframe_runs_on_the_workers(client, spy, fitted, imdb_tokens):
    import dask
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict_proba, prediction

    docs = imdb_tokens[0][100:140]
    with dask.config.set({"dataframe.convert-string": False}):  # keep the token lists lists
        frame = dd.from_pandas(pd.DataFrame({"tokens": docs, "n": range(40)}), npartitions=4)
    pids = spy(prediction, "_apply_series")
    proba = predict_proba(fitted, frame, text_column="tokens").compute()
    np.testing.assert_allclose(proba.to_numpy(), fitted.predict_proba(docs))
    _on_workers(pids(), client, 4)


def test_dask_where_predict_builds_the_estimator_on_the_workers_only(client, fitted, imdb_tokens, tmp_path):
    """Distributed's scheduler unpickles the task graphs it receives: the estimator, a literal of the graph, was
    rebuilt in the scheduler's process (here the test's; for an EmbeddingClassifier, TensorFlow imported and its
    Keras model loaded there). It travels as pickle bytes now, unpickled by the workers that predict."""
    import dask.bag as db
    from sklearn.base import BaseEstimator, ClassifierMixin

    from toolkit.distributed import predict

    log = str(tmp_path / "unpickled.txt")

    class Recorded(ClassifierMixin, BaseEstimator):  # local: cloudpickle ships the class by value
        def __init__(self, inner=None):
            self.inner = inner

        def fit(self, X, y=None):
            self.classes_ = self.inner.classes_
            return self

        def predict(self, X):
            return self.inner.predict(X)

        def __setstate__(self, state):
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
            self.__dict__.update(state)

    docs = imdb_tokens[0][100:140]
    labels = predict(Recorded(fitted).fit(None), db.from_sequence(docs, npartitions=4)).compute()
    assert labels == fitted.predict(docs).tolist()
    pids = [int(p) for p in Path(log).read_text(encoding="utf-8").split()]
    workers = set(client.run(os.getpid).values())
    assert os.getpid() not in pids, "the scheduler (in this process) rebuilt the estimator"
    assert pids and set(pids) <= workers and len(pids) <= len(workers), (pids, workers)  # once per worker at most


# --------------------------------------------------------------------------- partitions and vocabulary
def test_dask_where_tokenize_partitions_and_build_vocabulary_run_on_the_workers(client, spy, pairs):
    import dask.bag as db

    from toolkit.distributed import build_vocabulary, partitions, tokenize_partitions
    from toolkit.text import SpacyTokenizer, Vocabulary

    texts, _ = pairs
    tokenized_where = spy(partitions, "_tokenize_partition")
    tokens = tokenize_partitions(db.from_sequence(texts, npartitions=4)).compute()
    assert tokens == list(SpacyTokenizer().transform(texts))
    _on_workers(tokenized_where(), client, 4)

    counted_where = spy(partitions, "partition_counts")
    vocabulary = build_vocabulary(db.from_sequence(tokens, npartitions=4))
    assert vocabulary.tokens == Vocabulary.from_documents(tokens).tokens
    _on_workers(counted_where(), client, 4)


# ---------------------------------------------------------------------------------------- corpus store
@pytest.mark.parametrize("progress", [False, True], ids=["no-bar", "bar"])
def test_dask_where_corpus_store_build_runs_on_the_workers(client, spy, pairs, tmp_path, progress):
    import dask.bag as db

    import toolkit.distributed.store as store_module
    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    written, encoded = spy(store_module, "_write_part"), spy(store_module, "_encode_part")
    store = CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=4), tmp_path / "store",
                              progress=progress)
    assert store.n_documents == 40 and store.labels().tolist() == labels
    _on_workers(written(), client, 4)
    _on_workers(encoded(), client, 4)


def test_dask_where_cli_store_build_on_a_running_scheduler_runs_on_its_workers(cluster, spy, pairs, tmp_path):
    """``toolkit store build --scheduler ADDRESS``: the partitions are read, tokenized and encoded by its workers."""
    from distributed import Client
    from typer.testing import CliRunner

    import toolkit.distributed.store as store_module
    from toolkit.cli import app
    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)),
                      encoding="utf-8")
    written, encoded = spy(store_module, "_write_part"), spy(store_module, "_encode_part")
    result = CliRunner().invoke(app, ["-q", "store", "build", str(source), "-o", str(tmp_path / "store"),
                                      "--label-column", "label", "--blocksize", "2kB", "--scheduler",
                                      cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    store = CorpusStore(tmp_path / "store")
    assert store.labels().tolist() == labels and len(store.parts) > 1
    with Client(cluster) as client:
        _on_workers(written(), client, len(store.parts))
        _on_workers(encoded(), client, len(store.parts))


@pytest.mark.parametrize("progress", [False, True], ids=["no-bar", "bar"])
def test_dask_where_store_build_obeys_a_configured_local_scheduler_with_or_without_a_bar(client, spy, pairs, tmp_path,
                                                                                     progress):
    """Under ``dask.config.set(scheduler="sync")`` the build ran in this process, but with ``progress=True`` it
    went to the current Client's cluster: the bar chose the scheduler. Both follow Dask's choice now."""
    import dask
    import dask.bag as db

    import toolkit.distributed.store as store_module
    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    written = spy(store_module, "_write_part")
    with dask.config.set(scheduler="sync"):
        CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=4), tmp_path / "store",
                          progress=progress)
    assert written() == [os.getpid()] * 4


def test_dask_where_store_build_with_scheduler_distributed_draws_its_bar(client, spy, pairs, tmp_path, capsys):
    """``scheduler="distributed"`` with ``progress=True`` ran on the cluster under Dask's local bar, which sees no
    work of a cluster: nothing was drawn. The bar is tqdm's over the cluster's tasks, as for the current Client."""
    import dask.bag as db

    import toolkit.distributed.store as store_module
    from toolkit.distributed import CorpusStore

    texts, labels = pairs
    written = spy(store_module, "_write_part")
    CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=4), tmp_path / "store",
                      scheduler="distributed", progress=True)
    _on_workers(written(), client, 4)
    draws = capsys.readouterr().err.replace("\r", "\n").splitlines()
    assert any(d.startswith("tokenize: 100%") for d in draws), draws
    assert any(d.startswith("encode: 100%") for d in draws), draws


# ------------------------------------------------------------------------------------------- streaming
def test_dask_where_fit_from_store_trains_in_this_process_and_leaves_the_cluster_idle(client, spy, pairs, tmp_path):
    """By design, not a fallback: training reads the store's memory-mapped files batch by batch in this process
    (fit_from_store is no Dask computation), even with a current Client; only the build ran on the workers."""
    import dask.bag as db
    from distributed import get_task_stream

    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.distributed.streaming import StoreBatches
    from toolkit.models import EmbeddingClassifier

    texts, labels = pairs
    store = CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=2), tmp_path / "store")
    batches = spy(StoreBatches, "__getitem__")
    with get_task_stream(client) as stream:
        clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, epochs=1, batch_size=16, random_state=0), store)
    assert clf.classes_.tolist() == ["neg", "pos"]
    assert batches() and set(batches()) == {os.getpid()}
    assert stream.data == []

"""The toolkit on a real Dask cluster: grid searches through joblib's ``dask`` backend.

One ``distributed.LocalCluster`` (2 worker processes on 127.0.0.1, started by
the module fixture) serves every test here; the data are small real IMDB
samples, so each test takes seconds once the workers have imported TensorFlow.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

pytest.importorskip("distributed")

from toolkit.models.classifier import EmbeddingClassifier, make_text_classifier  # noqa: E402
from toolkit.text.tokenizer import SpacyTokenizer, _local_processes  # noqa: E402

TINY = dict(maxlen=40, embedding_dim=4, epochs=2, max_tokens=2000, batch_size=32,
            validation_split=0.0, random_state=0)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50) as cluster, Client(cluster) as dask_client:
        yield dask_client


def _scores(search):
    """cv_results_ without the timings (the only entries allowed to differ)."""
    return {k: v for k, v in search.cv_results_.items() if "time" not in k}


def _assert_same_results(a, b):
    ra, rb = _scores(a), _scores(b)
    assert ra.keys() == rb.keys()
    for key in ra:
        assert np.array_equal(np.asarray(ra[key], dtype=object), np.asarray(rb[key], dtype=object)), key


# ---------------------------------------------------------------- tokenizer
def _tokenize_in_task(texts, n_jobs):
    """Runs inside a Dask worker (a daemonic process) under joblib's dask backend."""
    from toolkit.text import tokenizer

    # every never-seen span would be shared out between processes: the
    # situation in which the old code started loky workers inside the worker
    tokenizer._MIN_SPANS_PER_WORKER = 1
    tokenizer._ENGINES.clear()
    corpus = SpacyTokenizer(n_jobs=n_jobs).transform(texts)
    return corpus.to_list(), multiprocessing.current_process().daemon, len(multiprocessing.active_children())


@pytest.mark.parametrize("n_jobs", [None, 2, -1])
def test_distributed_tokenizer_n_jobs_inside_dask_workers(client, imdb_small, n_jobs):
    import joblib

    texts = imdb_small[0][:40]
    expected = SpacyTokenizer(n_jobs=1).transform(texts).to_list()
    with joblib.parallel_backend("dask"):
        assert _local_processes(None) == 1  # not the cluster's worker count
        results = joblib.Parallel()(joblib.delayed(_tokenize_in_task)(texts, n_jobs) for _ in range(2))
    for tokens, daemon, children in results:
        assert daemon  # the task really ran in a worker process
        assert children == 0
        assert tokens == expected


def test_distributed_tokenizer_local_processes():
    assert _local_processes(None) == 1
    assert _local_processes(3) == 3
    from joblib import cpu_count

    assert _local_processes(-1) == cpu_count()


# -------------------------------------------------------------- grid search
def test_distributed_grid_search_equal_to_n_jobs_1(client, imdb_small, glove_small, tmp_path):
    """Pipeline with memory=, GloVe given as a path: same cv_results_ sequentially, loky and Dask."""
    import joblib
    from sklearn.model_selection import GridSearchCV

    texts, labels = imdb_small
    texts, labels = texts[:150], labels[:150]
    grid = [
        {"classifier__architecture": ["bag", "cnn"]},
        {"classifier__vectors": [str(glove_small)], "classifier__embedding_dim": [None]},
    ]

    def search(n_jobs, memory):
        pipe = make_text_classifier(memory=str(memory), **TINY)
        return GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs, error_score="raise").fit(texts, labels)

    sequential = search(1, tmp_path / "seq")
    loky = search(2, tmp_path / "loky")
    with joblib.parallel_backend("dask"):
        on_dask = search(None, tmp_path / "dask")
    _assert_same_results(sequential, loky)
    _assert_same_results(sequential, on_dask)
    # the refitted best model came back from the workers and predicts
    assert on_dask.best_estimator_.predict(texts[:3]).tolist() == sequential.best_estimator_.predict(texts[:3]).tolist()


def test_distributed_grid_search_estimator_on_tokens(client, imdb_tokens):
    import joblib
    from sklearn.model_selection import GridSearchCV

    docs, labels = imdb_tokens
    docs, labels = docs[:120], labels[:120]
    grid = {"hidden_units": [0, 4]}
    sequential = GridSearchCV(EmbeddingClassifier(**TINY), grid, cv=3, error_score="raise").fit(docs, labels)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(EmbeddingClassifier(**TINY), grid, cv=3, error_score="raise").fit(docs, labels)
    _assert_same_results(sequential, on_dask)


def test_distributed_keras_model_round_trip_through_worker(client, imdb_tokens):
    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(**TINY).fit(docs[:100], labels[:100])
    remote = client.submit(lambda est, X: (est, est.predict_proba(X)), clf, docs[:10]).result()
    back, proba = remote
    np.testing.assert_allclose(proba, clf.predict_proba(docs[:10]), rtol=1e-6)
    np.testing.assert_allclose(back.predict_proba(docs[:10]), proba, rtol=1e-6)

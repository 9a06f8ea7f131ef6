"""The toolkit on a real Dask cluster: grid searches through joblib's ``dask`` backend.

One ``distributed.LocalCluster`` (2 worker processes on 127.0.0.1, started by
the module fixture) serves every test here; the data are small real IMDB
samples, so each test takes seconds once the workers have imported TensorFlow.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from toolkit.distributed.search import _live_workers  # (client.scheduler_info() races)
from toolkit.models.classifier import EmbeddingClassifier, make_text_classifier  # noqa: E402
from toolkit.text.tokenizer import SpacyTokenizer, _local_processes  # noqa: E402

TINY = dict(maxlen=40, embedding_dim=4, epochs=2, max_tokens=2000, batch_size=32,
            validation_split=0.0, random_state=0)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=50) as cluster, Client(cluster) as dask_client:
        yield dask_client


def _scores(search):
    """cv_results_ without the timings (the only entries allowed to differ)."""
    return {k: v for k, v in search.cv_results_.items() if "time" not in k}


def _forgotten(dask_scheduler, keys):
    return not any(key in dask_scheduler.tasks for key in keys)


@contextlib.contextmanager
def _dask_backend(client, *data, timeout=60.0):
    """joblib's dask backend with ``data`` broadcast to every worker, released for good on exit.

    joblib scatters ``data`` with ``hash=True``: the same reviews scattered by
    the next test get the same keys. Its backend sits in a reference cycle
    (``backend.parallel`` -> ``Parallel`` -> backend), so its futures are
    released at whichever garbage collection comes next; when that release
    reaches the scheduler while the next test scatters the same keys, the
    scheduler forgets them and that test's fits are cancelled for "lost
    dependencies" (dask/distributed#8576 and #3703). Here the futures are
    dropped on exit and the scheduler has forgotten them before the next
    scatter starts.
    """
    import joblib

    with joblib.parallel_backend("dask", scatter=list(data)) as (backend, _):
        try:
            yield backend
        finally:
            keys = [future.key for future in backend.data_futures.values()]
            backend.data_futures.clear()
            gc.collect()  # any other reference to them that sits in a cycle
            deadline = time.monotonic() + timeout
            while not client.run_on_scheduler(_forgotten, keys=keys):
                if time.monotonic() > deadline:
                    pytest.fail(f"the scheduler still holds the scattered keys {keys} after {timeout} s")
                time.sleep(0.05)


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
@pytest.mark.slow
def test_distributed_grid_search_equal_to_n_jobs_1(client, imdb_small, glove_small, tmp_path):
    """Pipeline with memory=, GloVe given as a path: same cv_results_ sequentially, loky and Dask."""
    import joblib
    from sklearn.model_selection import GridSearchCV

    texts, labels = imdb_small
    texts, labels = texts[:100], labels[:100]
    # two candidates, one per sub-grid (a learnt embedding, GloVe from its path), both reading the tokens that
    # memory= cached: a third (another architecture) took every backend through the same code once more
    grid = [
        {"classifier__architecture": ["bag"]},
        {"classifier__vectors": [str(glove_small)], "classifier__embedding_dim": [None]},
    ]

    def search(n_jobs, memory, refit=True):
        pipe = make_text_classifier(memory=str(memory), **TINY)
        return GridSearchCV(pipe, grid, cv=2, n_jobs=n_jobs, refit=refit, error_score="raise").fit(texts, labels)

    sequential = search(1, tmp_path / "seq")
    loky = search(2, tmp_path / "loky", refit=False)  # its refit would run here, in this process, as the others'
    with joblib.parallel_backend("dask"):
        on_dask = search(None, tmp_path / "dask")
    _assert_same_results(sequential, loky)
    _assert_same_results(sequential, on_dask)
    # the refitted best model came back from the workers and predicts
    assert on_dask.best_estimator_.predict(texts[:3]).tolist() == sequential.best_estimator_.predict(texts[:3]).tolist()


@pytest.mark.slow
def test_distributed_grid_search_estimator_on_tokens(client, imdb_tokens):
    import joblib
    from sklearn.model_selection import GridSearchCV

    docs, labels = imdb_tokens
    docs, labels = docs[:120], labels[:120]
    grid = {"hidden_units": [0, 4]}
    # refit=False: the refit runs in this process under any backend, and only cv_results_ is compared
    sequential = GridSearchCV(EmbeddingClassifier(**TINY), grid, cv=2, refit=False,
                              error_score="raise").fit(docs, labels)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(EmbeddingClassifier(**TINY), grid, cv=2, refit=False,
                               error_score="raise").fit(docs, labels)
    _assert_same_results(sequential, on_dask)


def _other_estimators(glove):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models.naive_bayes import NBSVMClassifier
    from toolkit.models.semi_supervised import PseudoLabelClassifier
    from toolkit.text import BagEncoder
    from toolkit.vectors.pooling import EmbeddingVectorizer

    return {
        "bag+nbsvm": (make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), BagEncoder(), NBSVMClassifier()),
                      {"nbsvmclassifier__beta": [0.25, 1.0]}),
        "glove-mean+lr": (make_pipeline(SpacyTokenizer(), EmbeddingVectorizer(vectors=str(glove)),
                                        LogisticRegression()),
                          {"embeddingvectorizer__pooling": ["mean", "sif"]}),
        "pseudo-labels": (make_pipeline(SpacyTokenizer(), BagEncoder(),
                                        PseudoLabelClassifier(LogisticRegression())),
                          {"pseudolabelclassifier__estimator__C": [0.1, 1.0]}),
    }


@pytest.mark.parametrize("name", ["bag+nbsvm", "glove-mean+lr", "pseudo-labels"])
def test_distributed_other_estimators_same_cv_results(client, imdb_small, glove_small, name):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    texts, labels = imdb_small
    texts, labels = texts[:150], labels[:150]
    estimator, grid = _other_estimators(glove_small)[name]
    # two folds: the claim (the same cv_results_ under each backend) holds fold by fold, and a third fold only
    # tokenized the reviews once more per candidate and backend
    sequential = GridSearchCV(clone(estimator), grid, cv=2, error_score="raise").fit(texts, labels)
    loky = GridSearchCV(clone(estimator), grid, cv=2, n_jobs=2, error_score="raise").fit(texts, labels)
    with _dask_backend(client, texts, labels):
        on_dask = GridSearchCV(clone(estimator), grid, cv=2, error_score="raise").fit(texts, labels)
    _assert_same_results(sequential, loky)
    _assert_same_results(sequential, on_dask)


def test_distributed_same_data_scattered_again_right_away(client, imdb_small):
    """The same reviews scattered in consecutive searches on one client: every block's tasks find them.

    With a plain ``joblib.parallel_backend("dask", scatter=...)`` the second
    block's tasks are cancelled ("lost dependencies") when a garbage
    collection between the blocks releases the first block's futures, as one
    between two tests may (dask/distributed#8576).
    """
    import joblib

    texts, labels = imdb_small
    texts, labels = texts[:150], labels[:150]
    for _ in range(5):
        with _dask_backend(client, texts, labels):
            sizes = joblib.Parallel()(joblib.delayed(len)(texts) for _ in range(4))
        gc.collect()
        assert sizes == [150] * 4


def test_distributed_keras_model_round_trip_through_worker(client, imdb_tokens):
    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(**TINY).fit(docs[:100], labels[:100])
    remote = client.submit(lambda est, X: (est, est.predict_proba(X)), clf, docs[:10]).result()
    back, proba = remote
    np.testing.assert_allclose(proba, clf.predict_proba(docs[:10]), rtol=1e-6)
    np.testing.assert_allclose(back.predict_proba(docs[:10]), proba, rtol=1e-6)


# ------------------------------------------------------- larger than memory
@pytest.fixture(scope="module")
def imdb_pairs(imdb_small):
    texts, labels = imdb_small
    return texts[:240], labels[:240]


@pytest.fixture(scope="module")
def store(client, imdb_pairs, tmp_path_factory):
    """The 240 reviews in 3 partitions, built on the cluster."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, labels = imdb_pairs
    bag = db.from_sequence(list(zip(texts, labels.tolist())), npartitions=3)
    return CorpusStore.build(bag, tmp_path_factory.mktemp("stores") / "imdb")


def test_distributed_store_same_vocabulary_and_ids_as_in_memory(store, imdb_pairs):
    from toolkit.distributed import CorpusStore
    from toolkit.text import SequenceEncoder, TokenizedCorpus, Vocabulary

    texts, labels = imdb_pairs
    corpus = SpacyTokenizer().transform(texts)
    reopened = CorpusStore(store.path)
    assert reopened.n_documents == 240 and len(reopened.parts) == 3
    assert reopened.vocabulary == Vocabulary.from_documents(corpus)  # tokens, order (ties) and counts
    for max_tokens, min_count in [(500, 1), (None, 3), (50, 2)]:
        assert reopened.vocabulary_for(max_tokens=max_tokens, min_count=min_count) == \
            Vocabulary.from_documents(corpus, max_tokens=max_tokens, min_count=min_count)
    encoder = SequenceEncoder(max_tokens=500, maxlen=60).fit(corpus)
    np.testing.assert_array_equal(
        reopened.sequences(np.arange(240), maxlen=60, n_ids=500), encoder.transform(corpus))
    rows = [7, 200, 3, 100]  # any order, across partitions
    np.testing.assert_array_equal(
        reopened.sequences(rows, maxlen=60, n_ids=500, padding="post", truncating="post"),
        SequenceEncoder(max_tokens=500, maxlen=60, padding="post", truncating="post").fit(corpus).transform(corpus.take(rows)))
    # the tokenized corpus is the in-memory one, read from memory maps
    part = reopened.corpus(0)
    assert isinstance(part.ids.base, np.memmap) or isinstance(part.ids, np.memmap)
    assert TokenizedCorpus.concatenate([reopened.corpus(i) for i in range(3)]).to_list() == corpus.to_list()
    assert reopened.labels().tolist() == labels.tolist()


@pytest.mark.parametrize("fan_in", [2, 3, 8])
def test_distributed_tree_combine_equals_in_memory_vocabulary(imdb_pairs, fan_in):
    """Counts combined in a tree (several levels for 7 partitions) give the in-memory vocabulary, ties included."""
    import dask

    from toolkit.distributed.partitions import combine_counts, merge_counts, partition_counts, tree_combine
    from toolkit.text import Vocabulary

    texts, _ = imdb_pairs
    corpus = SpacyTokenizer().transform(texts)
    bounds = [0, 1, 30, 31, 90, 150, 151, 240]  # uneven partitions, two of one document
    parts = [corpus[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    total = tree_combine([dask.delayed(partition_counts)(p) for p in parts], fan_in=fan_in).compute(scheduler="sync")
    assert total["n_tokens"] == corpus.n_tokens and total["n_documents"] == len(corpus)
    for max_tokens, min_count in [(None, 1), (300, 1), (None, 2)]:
        assert merge_counts([total], max_tokens=max_tokens, min_count=min_count) == \
            Vocabulary.from_documents(corpus, max_tokens=max_tokens, min_count=min_count)
    assert merge_counts([combine_counts([])]) == Vocabulary()


def test_distributed_vocabulary_from_dataframe_and_files(client, imdb_pairs, tmp_path):
    import json

    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import build_vocabulary, read_texts, tokenize_partitions
    from toolkit.text import Vocabulary

    texts, labels = imdb_pairs
    texts = [" ".join(t.split()) for t in texts[:90]]  # one line each
    expected = Vocabulary.from_documents(SpacyTokenizer(remove_punct=True).transform(texts), max_tokens=300)
    frame = dd.from_pandas(pd.DataFrame({"review": texts, "label": labels[:90]}), npartitions=4)
    (tmp_path / "reviews.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (tmp_path / "reviews.jsonl").write_text("".join(json.dumps({"review": t}) + "\n" for t in texts), encoding="utf-8")
    sources = [frame["review"], read_texts(frame, text_column="review"),
               read_texts(tmp_path / "reviews.txt", blocksize=4000),
               read_texts([tmp_path / "reviews.jsonl"], text_column="review", blocksize=4000)]
    for source in sources:
        tokenized = tokenize_partitions(read_texts(source), {"remove_punct": True})
        assert build_vocabulary(tokenized, max_tokens=300) == expected
    with pytest.raises(ValueError, match=r"has no column 'text' \(text_column\); its columns are \['review', 'label'\]"):
        read_texts(frame, text_column="text")
    with pytest.raises(ValueError, match=r"cannot read .*reviews\.xlsx.*expected \.txt"):
        read_texts(tmp_path / "reviews.xlsx")  # Parquet is read since session 46 (tests/test_read_texts_s46.py)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads the process' memory maps (Linux)")
def test_distributed_store_batches_map_nothing(store):
    """Training batches read the ids with preadv: no store file stays mapped (resident) in the process."""
    from toolkit.distributed.streaming import StoreBatches

    batches = StoreBatches(store, np.random.default_rng(0).permutation(len(store)), maxlen=50,
                           n_ids=len(store.vocabulary), batch_size=16)
    expected = store.sequences(batches.rows, maxlen=50)
    got = np.concatenate([batches[i] for i in range(len(batches))])
    np.testing.assert_array_equal(got, expected)
    with open("/proc/self/maps", encoding="utf-8") as fh:
        mapped = [line for line in fh if str(store.path) in line]
    assert mapped == []
    batches.on_epoch_end()


def test_distributed_store_errors(tmp_path):
    from toolkit.distributed import CorpusStore
    from toolkit.exceptions import DataError

    with pytest.raises(DataError, match=r"is not a corpus store \(no store\.json\); build one with CorpusStore\.build"):
        CorpusStore(tmp_path)
    (tmp_path / "store.json").write_text('{"format": "other"}')
    with pytest.raises(DataError, match=r"store\.json: not a toolkit corpus store"):
        CorpusStore(tmp_path)


@pytest.mark.parametrize("class_weight", [None, "balanced", {"pos": 3.0, "neg": 0.5}])
def test_distributed_fit_from_store_equals_in_memory_fit(store, imdb_pairs, class_weight):
    from toolkit.distributed import fit_from_store

    texts, labels = imdb_pairs
    corpus = SpacyTokenizer().transform(texts)
    params = dict(TINY, validation_split=0.2, max_tokens=800, maxlen=None, class_weight=class_weight)
    in_memory = EmbeddingClassifier(**params).fit(corpus, labels)
    streamed = fit_from_store(EmbeddingClassifier(**params), store)
    assert streamed.vocabulary_ == in_memory.vocabulary_
    assert streamed.maxlen_ == in_memory.maxlen_
    assert streamed.history_.keys() == in_memory.history_.keys()
    np.testing.assert_allclose(streamed.history_["val_loss"], in_memory.history_["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(streamed.predict_proba(corpus[:20]), in_memory.predict_proba(corpus[:20]), rtol=1e-5)


def test_distributed_fit_from_store_class_weight(store):
    """class_weight changes a streamed fit as it changes an in-memory one; unknown labels are named."""
    from toolkit.distributed import fit_from_store

    params = dict(TINY, epochs=3, learning_rate=0.01)
    to_pos = fit_from_store(EmbeddingClassifier(**params, class_weight={"pos": 20.0, "neg": 1.0}), store)
    to_neg = fit_from_store(EmbeddingClassifier(**params, class_weight={"pos": 1.0, "neg": 20.0}), store)
    rows = store.corpus(0).to_list()
    assert (to_pos.predict(rows) == "pos").mean() > (to_neg.predict(rows) == "pos").mean()
    with pytest.raises(ValueError, match=r"class_weight has labels not in y: \['maybe'\]; the classes are \['neg', 'pos'\]"):
        fit_from_store(EmbeddingClassifier(**params, class_weight={"maybe": 2.0}), store)


@pytest.mark.parametrize("architecture", ["nbsvm", "nbsvm_vectors"])
def test_distributed_fit_from_store_refuses_naive_bayes_architectures(store, architecture, tmp_path):
    """Both naive-Bayes architectures need the whole bag matrix (nbsvm_vectors used to fail deep inside)."""
    from toolkit.distributed import fit_from_store

    vectors = tmp_path / "tiny.txt"  # GloVe text format: word and 4 floats a line
    vectors.write_text("".join(f"{w} {i} 0.5 -1 2\n" for i, w in enumerate(["the", "film", "good", "bad"])))
    clf = EmbeddingClassifier(**dict(TINY, embedding_dim=None), architecture=architecture, vectors=str(vectors))
    with pytest.raises(ValueError, match=rf"fit_from_store does not support architecture='{architecture}' "
                                         r"\(its naive-Bayes ratios need the whole bag matrix\)"):
        fit_from_store(clf, store)
    assert not hasattr(clf, "model_")


def test_distributed_predict_over_dask_collections(client, imdb_pairs):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict, predict_proba

    texts, labels = imdb_pairs
    pipe = make_text_classifier(**TINY).fit(texts[:160], labels[:160])
    test = texts[160:]
    labels_bag = predict(pipe, db.from_sequence(test, npartitions=3))
    assert isinstance(labels_bag, db.Bag)
    assert labels_bag.compute() == pipe.predict(test).tolist()
    frame = dd.from_pandas(pd.DataFrame({"review": test}), npartitions=2)
    series = predict(pipe, frame, text_column="review")
    assert isinstance(series, dd.Series)
    assert series.compute().tolist() == pipe.predict(test).tolist()
    proba = predict_proba(pipe, frame["review"])
    assert isinstance(proba, dd.DataFrame) and list(proba.columns) == ["neg", "pos"]
    np.testing.assert_allclose(proba.compute().to_numpy(), pipe.predict_proba(test), rtol=1e-6)
    with pytest.raises(ValueError, match=r"needs text_column=<one of \['review'\]>"):
        predict(pipe, frame)
    with pytest.raises(TypeError, match=r"predict over Dask expects a dask\.bag\.Bag.*got list"):
        predict(pipe, test)


# ------------------------------------------------------------------------ CLI


def _cli(*args):
    from typer.testing import CliRunner

    from toolkit.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_distributed_cli_store_build_info_train(client, imdb_pairs, tmp_path):
    import json

    from toolkit.models.persistence import load_model

    texts, labels = imdb_pairs
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"review": t, "y": str(y)}) + "\n" for t, y in zip(texts, labels)),
                      encoding="utf-8")
    address = client.scheduler.address
    built = _cli("--quiet", "store", "build", source, "-o", tmp_path / "store", "--column", "review", "--label-column", "y",
                 "--set", "remove_punct=true", "--blocksize", "100000", "--scheduler", address)
    assert built.exit_code == 0, built.output
    info = json.loads(built.stdout)
    assert info["n_documents"] == 240 and info["parts"] > 1 and info["has_labels"]
    assert info["tokenizer"]["remove_punct"] is True
    assert json.loads(_cli("store", "info", tmp_path / "store").stdout) == info
    again = _cli("store", "build", source, "-o", tmp_path / "store", "--scheduler", address)
    assert again.exit_code == 1 and "exists; pass --force to replace it" in again.stderr
    trained = _cli("--quiet", "store", "train", tmp_path / "store", "-o", tmp_path / "model",
                   "--set", "epochs=1", "--set", "embedding_dim=4", "--set", "maxlen=50", "--set", "random_state=0")
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["n_documents"] == 240
    model = load_model(tmp_path / "model")
    assert model.predict(texts[:4]).shape == (4,)  # raw text in: the store's tokenizer is part of the model
    missing = _cli("store", "info", tmp_path / "nothing")
    assert missing.exit_code == 1 and "is not a corpus store (no store.json)" in missing.stderr


def test_distributed_cli_grid_on_scheduler_equals_local(client, imdb_pairs, tmp_path):
    import json

    texts, labels = imdb_pairs
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": t, "label": str(y)}) + "\n" for t, y in zip(texts[:90], labels)),
                      encoding="utf-8")
    common = ["--quiet", "grid", "--data", source, "--grid", "architecture=bag,cnn", "--cv", "2",
              *[x for k, v in TINY.items() for x in ("--set", f"{k}={v}")]]
    local = _cli(*common, "--local")
    remote = _cli(*common, "--scheduler", client.scheduler.address)
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert [c["mean_test_score"] for c in a["candidates"]] == [c["mean_test_score"] for c in b["candidates"]]
    assert b["backend"] == client.scheduler.address and len(b["candidates"]) == 2
    bad = _cli("grid", "--data", source, "--grid", "colour=red,blue", "--local")
    assert bad.exit_code == 1 and "Invalid grid parameter 'colour'" in bad.stderr


def test_distributed_grid_ships_small_tasks(client, imdb_pairs, glove_small, monkeypatch):
    """With the texts as an array, joblib scatters them once: each task carries parameters, not data."""
    import cloudpickle
    import distributed

    from toolkit.distributed.search import grid_search

    texts, labels = imdb_pairs
    shipped = []
    submit = distributed.Client.submit

    def measuring_submit(self, func, *args, **kwargs):
        shipped.append(len(cloudpickle.dumps((func, args, kwargs.get("tasks")))))
        return submit(self, func, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "submit", measuring_submit)
    grid_search(make_text_classifier(**TINY), {"classifier__vectors": [None, str(glove_small)], "classifier__embedding_dim": [None]},
                list(texts),
                labels, cv=2, scheduler=client.scheduler.address, refit=False)
    fits = [n for n in shipped if n > 1000]  # joblib's probe tasks are tiny
    assert len(fits) >= 2 and max(fits) < 50_000, shipped  # the 240 reviews alone pickle to ~300 kB


# ------------------------------------------------------------- killed worker
def _kill_once(X, marker, cache):
    """The first call anywhere dies by SIGKILL halfway through an atomic cache write."""
    import signal
    from pathlib import Path

    from toolkit._atomic import atomic_output

    if not Path(marker).exists():
        Path(marker).touch()
        with atomic_output(Path(cache) / "victim.npz") as tmp:
            tmp.write_bytes(b"\x93NUMPY half of a file")
            os.kill(os.getpid(), signal.SIGKILL)
    return X


def test_distributed_killed_worker_grid_search_recovers_and_leaves_no_partial_file(client, imdb_pairs, tmp_path):
    """Runs last: a worker is killed -9 during a fit; the scheduler reruns its task, the nanny restarts it.

    The claim is the cluster's and the tokenizer cache's, not Keras': the final step is a bag-of-words logistic
    regression (an EmbeddingClassifier cost more CPU and checked nothing more here)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from toolkit.text import BagEncoder
    from toolkit.text.tokenizer import _read_cached

    texts, labels = imdb_pairs
    texts, labels = texts[:120], labels[:120]
    cache = tmp_path / "tokens"

    def pipeline(marker):
        killer = FunctionTransformer(_kill_once, kw_args={"marker": str(marker), "cache": str(cache)})
        return Pipeline([("killer", killer), ("tokenizer", SpacyTokenizer(cache=str(cache))),
                         ("classifier", make_pipeline(BagEncoder(max_tokens=500), LogisticRegression()))],
                        memory=str(tmp_path / "memory"))

    # one candidate, two folds: two fits, one per worker, of which the first dies (a second candidate only gave the
    # restarted worker a fit of its own to import its packages for)
    grid = {"classifier__logisticregression__C": [1.0]}
    (tmp_path / "already-killed").touch()
    # refit=False: a refit runs in this process, after the workers' fits; only cv_results_ is compared
    sequential = GridSearchCV(pipeline(tmp_path / "already-killed"), grid, cv=2, refit=False,
                              error_score="raise").fit(texts, labels)
    from distributed.client import FutureCancelledError

    before = len(_live_workers(client))
    # the data are scattered to every worker (as grid_search does), so the
    # killed worker's fit is rerun on the other one. Rarely (once in the CI runs of the twenty-eighth session),
    # joblib's Dask backend loses the race with the dead worker's cleanup and gets "FutureCancelledError ...
    # already forgotten" (the joblib/dask race of joblib#957 and #959): then a second search, which kills a
    # worker again, must recover
    for attempt in range(2):
        marker = tmp_path / f"kill-marker-{attempt}"
        try:
            with _dask_backend(client, texts, labels):
                on_dask = GridSearchCV(pipeline(marker), grid, cv=2, refit=False,
                                       error_score="raise").fit(texts, labels)
            break
        except FutureCancelledError as err:
            if attempt or "already forgotten" not in str(err):
                raise
            client.wait_for_workers(before, timeout=180)
    assert marker.exists()  # a worker did die
    _assert_same_results(sequential, on_dask)
    client.wait_for_workers(before, timeout=180)
    assert not (cache / "victim.npz").exists()  # nothing half-written under a real name
    debris = [p.name for p in cache.iterdir() if p.name.startswith(".victim.npz.")]
    # at most the temp file: toolkit._atomic.remove_stale sweeps it (at once since the forty-third session, its name
    # holding the killed worker's pid), so a later cache write may already have removed it
    assert all(n.endswith(".tmp.npz") for n in debris), debris
    entries = [p for p in cache.glob("*.npz") if not p.name.startswith(".")]
    assert entries and all(_read_cached(p) is not None for p in entries)


def test_worker_config_drops_the_malloc_trim_threshold_only_when_asked():
    import dask

    from toolkit.distributed import worker_config

    before = dask.config.get("distributed.nanny.pre-spawn-environ")
    fast, trimmed = worker_config(), worker_config(trim_memory=True, profile=True)
    assert "MALLOC_TRIM_THRESHOLD_" not in fast["distributed.nanny.pre-spawn-environ"]
    assert fast["distributed.nanny.pre-spawn-environ"]["OMP_NUM_THREADS"] == before["OMP_NUM_THREADS"]
    assert fast["distributed.worker.profile.enabled"] is False
    assert trimmed["distributed.nanny.pre-spawn-environ"] == before and trimmed["distributed.worker.profile.enabled"]
    assert dask.config.get("distributed.nanny.pre-spawn-environ") == before  # the global config is untouched


def test_dask_client_workers_run_without_malloc_trimming_or_profiler(monkeypatch):
    """The toolkit's LocalCluster workers get worker_config(): with Dask's defaults a stack fit ran 1.2-1.5x slower."""
    import dask

    from toolkit.distributed.search import dask_client

    def settings():
        return os.environ.get("MALLOC_TRIM_THRESHOLD_"), dask.config.get("distributed.worker.profile.enabled")

    # a cluster with Dask's defaults (the module fixture, or this) has already written the variable into
    # this process's environment, which every later worker would inherit
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with dask_client(n_workers=1) as dask_client_:
        (found,) = dask_client_.run(settings).values()
    assert found == (None, False)
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # put back for the rest of this process
    assert dask.config.get("distributed.worker.profile.enabled") is True  # this process keeps Dask's defaults

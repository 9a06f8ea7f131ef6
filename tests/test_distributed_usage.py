"""The Dask side as users meet it: grid_search's arguments, scheduler addresses, ``toolkit grid``'s options,
predictions over Dask collections and corpus stores built from odd inputs.

One ``distributed.LocalCluster`` (one worker process, one thread, 127.0.0.1)
started by the module fixture serves the tests that need a cluster; the data
are small real IMDB samples (the grid searches fit a bag-of-words logistic
regression), so each test takes seconds.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

pytest.importorskip("distributed")



@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=50) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def reviews(imdb_token_array60):
    """60 real reviews as token lists (an object array, as grid_search scatters them) and their labels."""
    return imdb_token_array60


def _pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.text import BagEncoder

    return make_pipeline(BagEncoder(max_tokens=500), LogisticRegression())


_GRID = {"logisticregression__C": [0.1, 1.0]}


def _scores(search):
    return {k: np.asarray(v).tolist() for k, v in search.cv_results_.items() if "time" not in k}


# ---------------------------------------------------------------- grid_search
@pytest.mark.parametrize("local", [False, True])
def test_distributed_usage_grid_search_takes_splits_from_a_generator(scheduler, reviews, local):
    """cv=KFold(...).split(X) (an iterable of splits, as GridSearchCV allows) used to be exhausted by the fit count."""
    from sklearn.model_selection import GridSearchCV, KFold

    from toolkit.distributed import grid_search

    X, y = reviews
    expected = GridSearchCV(_pipeline(), _GRID, cv=list(KFold(3).split(X, y)), error_score="raise").fit(X, y)
    found = grid_search(_pipeline(), _GRID, X, y, cv=KFold(3).split(X, y), scheduler=None if local else scheduler, local=local)
    assert _scores(found) == _scores(expected)


@pytest.mark.parametrize("local", [False, True])
def test_distributed_usage_grid_search_passes_groups_to_a_group_splitter(scheduler, reviews, local):
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from toolkit.distributed import grid_search

    X, y = reviews
    groups = np.arange(60) // 10  # e.g. six films, ten reviews each: no film on both sides of a split
    expected = GridSearchCV(_pipeline(), _GRID, cv=GroupKFold(3), error_score="raise").fit(X, y, groups=groups)
    found = grid_search(_pipeline(), _GRID, X, y, cv=GroupKFold(3), groups=groups, scheduler=None if local else scheduler, local=local)
    assert _scores(found) == _scores(expected)
    assert found.n_splits_ == 3


def test_distributed_usage_grid_search_refuses_dask_collections_with_a_clear_message(reviews):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import grid_search

    X, y = reviews
    texts = [" ".join(doc) for doc in X]
    bag = db.from_sequence(texts, npartitions=2)
    series = dd.from_pandas(pd.Series(texts), npartitions=2)
    # before: "Input should have at least 1 dimension ... array(dask.bag<...>)" or pandas' "Too many indexers",
    # the latter after a cluster had been started
    for collection, kind in ((bag, "Bag"), (series, "Series")):
        with pytest.raises(TypeError, match=rf"grid_search needs X in memory .*got a Dask {kind}\. .*call "
                                            r"\.compute\(\) on it first"):
            grid_search(_pipeline(), _GRID, collection, y, local=True)
    with pytest.raises(TypeError, match=r"grid_search needs y in memory"):
        grid_search(_pipeline(), _GRID, texts, dd.from_pandas(pd.Series(y), npartitions=2), local=True)


def test_distributed_usage_dask_client_names_a_malformed_scheduler_address():
    from toolkit.distributed.search import dask_client

    message = r"Invalid Dask scheduler address 'htp://127\.0\.0\.1:8786': unknown address scheme 'htp'.*tcp://host:port"
    with pytest.raises(ValueError, match=message), dask_client("htp://127.0.0.1:8786"):
        pass


# ------------------------------------------------------------------------ CLI
def _cli(*args):
    from typer.testing import CliRunner

    from toolkit.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def reviews_file(imdb_small, tmp_path_factory):
    texts, labels = imdb_small
    path = tmp_path_factory.mktemp("grid") / "reviews.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": str(y)}) + "\n" for t, y in zip(texts[:40], labels)),
                    encoding="utf-8")
    return path


_TINY = ["--set", "epochs=1", "--set", "embedding_dim=4", "--set", "maxlen=30", "--set", "max_tokens=300",
         "--set", "validation_split=0.0", "--set", "random_state=0"]


def test_distributed_usage_cli_grid_keeps_an_existing_output_without_force(reviews_file, tmp_path):
    """README: an existing output file is replaced only with --force; grid used to overwrite it after the search."""
    output = tmp_path / "results.json"
    output.write_text("the results of yesterday's 10-hour search\n", encoding="utf-8")
    common = ["grid", "--data", reviews_file, "--grid", "architecture=bag", "--cv", "2", "--local", *_TINY,
              "-o", output]
    kept = _cli(*common)
    assert kept.exit_code == 1, kept.output
    assert f"--output {output} exists; pass --force to replace it" in kept.stderr
    assert "Best mean " not in kept.stderr  # refused before the search, not after it
    assert output.read_text(encoding="utf-8") == "the results of yesterday's 10-hour search\n"
    replaced = _cli(*common, "--force")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(output.read_text(encoding="utf-8"))["best_params"] == {"architecture": "bag"}


def test_distributed_usage_cli_grid_malformed_scheduler_is_an_input_error(reviews_file):
    """A typo in the scheme used to be reported as "a bug in toolkit" with a traceback."""
    result = _cli("grid", "--data", reviews_file, "--grid", "architecture=bag", "--cv", "2", *_TINY,
                  "--scheduler", "htp://127.0.0.1:8786")
    assert result.exit_code == 1, result.output
    assert "Error: Invalid Dask scheduler address 'htp://127.0.0.1:8786'" in result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("extra, option", [(["--local"], "--local"), (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler")])
def test_distributed_usage_cli_grid_workers_with_a_running_cluster_is_refused(reviews_file, extra, option):
    """--workers sizes the local cluster; with --local or --scheduler it was silently ignored."""
    result = _cli("grid", "--data", reviews_file, "--grid", "architecture=bag", "--cv", "2", *_TINY,
                  "--workers", "4", *extra)
    assert result.exit_code == 1, result.output
    assert f"Error: --workers sizes the local Dask cluster; with {option} it has no effect" in result.stderr


@pytest.mark.parametrize("extra, message", [
    (["--cv", "30"], (r"Error: --cv 30 folds need more training documents: the largest class, '(neg|pos)', has \d+ "
                      r"of the 40\. Lower --cv, or give more documents\.")),
    (["--cv", "3", "--limit", "4"], r"has 2 of the 4\. Lower --cv, or give more documents \(a larger --limit\)\."),
])
def test_distributed_usage_cli_grid_more_folds_than_documents_is_an_input_error(reviews_file, extra, message):
    """scikit-learn's "n_splits=30 cannot be greater than the number of members in each class" was called a toolkit bug."""
    import re

    result = _cli("grid", "--data", reviews_file, "--grid", "architecture=bag", "--local", *_TINY, *extra)
    assert result.exit_code == 1, result.output
    assert re.search(message, result.stderr), result.stderr
    assert "bug" not in result.stderr


@pytest.mark.parametrize("items, message", [
    (["epochs=3", "epochs=5"], (r"--grid 'epochs=3' and --grid 'epochs=5' name the same parameter; give all its "
                                r"values in one: epochs=v1,v2\.")),
    (["epochs=3", "classifier__epochs=5"], r"--grid 'epochs=3' and --grid 'classifier__epochs=5' name the same"),
    (["epochs=3,,5"], r"Invalid --grid 'epochs=3,,5': an empty value"),
    (["epochs="], r"Invalid --grid 'epochs=': an empty value"),
])
def test_distributed_usage_parse_grid_refuses_repeated_names_and_empty_values(items, message):
    """A repeated --grid name used to keep only its last values (one candidate lost without a word)."""
    from toolkit.cli.grid import parse_grid
    from toolkit.models import make_text_classifier

    with pytest.raises(ValueError, match=message):
        parse_grid(items, make_text_classifier())


def test_distributed_usage_cli_grid_repeated_name_exits_1(reviews_file):
    result = _cli("grid", "--data", reviews_file, "--grid", "architecture=bag", "--grid", "architecture=cnn",
                  "--local", *_TINY)
    assert result.exit_code == 1, result.output
    assert "name the same parameter" in result.stderr


# ----------------------------------------------------------------- predict
def test_distributed_usage_predict_multilabel_over_a_dask_series(imdb_tokens):
    """A multilabel EmbeddingClassifier over a Dask Series used to fail: "Data must be 1-dimensional"."""
    import dask
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict
    from toolkit.models import EmbeddingClassifier

    docs, labels = imdb_tokens
    docs = docs[:80]
    Y = np.column_stack([labels[:80] == "pos", [len(d) > 200 for d in docs]]).astype(int)  # sentiment, long review
    clf = EmbeddingClassifier(embedding_dim=4, epochs=1, maxlen=40, validation_split=0.0, random_state=0).fit(docs, Y)
    expected = clf.predict(docs[60:])
    with dask.config.set({"dataframe.convert-string": False}):  # keep the token lists as lists
        series = dd.from_pandas(pd.Series(docs[60:], index=range(160, 180)), npartitions=3)
    series = series[series.map(len, meta=("n", "int64")) > 0]  # a filtered series, as users make them
    with dask.config.set(scheduler="sync"):
        found = predict(clf, series)
        assert isinstance(found, dd.DataFrame) and list(found.columns) == ["0", "1"]
        frame = found.compute()
        assert frame.to_numpy().tolist() == expected.tolist()
        assert frame.index.tolist() == list(range(160, 180)) and frame.dtypes.tolist() == [np.int64, np.int64]
        assert predict(clf, db.from_sequence(docs[60:], npartitions=3)).compute() == expected.tolist()


# ------------------------------------------------------- inputs and stores
def test_distributed_usage_null_text_in_json_lines_names_the_file(imdb_small, tmp_path):
    """A null text used to be reported as "Document 5 of X" when it was record 77 of the file (its 6th in a block)."""
    from toolkit.distributed import CorpusStore, read_texts

    texts, labels = imdb_small
    source = tmp_path / "reviews.jsonl"
    records = [{"text": None if i == 77 else t, "label": str(y)} for i, (t, y) in enumerate(zip(texts[:100], labels))]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    message = rf"{source}: a record has 'text': null \({{'text': None, 'label': '(neg|pos)'}}\); give every record a text"
    with pytest.raises(ValueError, match=message):
        read_texts(source, text_column="text", blocksize=20_000).compute(scheduler="sync")
    with pytest.raises(ValueError, match=message):
        CorpusStore.build(source, tmp_path / "store", text_column="text", label_column="label", scheduler="sync")
    assert not (tmp_path / "store").exists()


def test_distributed_usage_store_names_the_partition_of_a_missing_text(imdb_small, tmp_path):
    """A missing cell of a Dask DataFrame: the document number counts from its partition's start, and now says so."""
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import CorpusStore

    texts, labels = imdb_small
    frame = pd.DataFrame({"review": texts[:40], "label": labels[:40]})
    frame.loc[25, "review"] = None  # document 5 of partition 2 (partitions of 10 rows)
    ddf = dd.from_pandas(frame, npartitions=4)
    # (dask's string columns hold pd.NA, which toolkit._validation calls "a NAType": reported, not in this area)
    with pytest.raises(ValueError, match=r"^Document 25 of the input \(document 5 of partition 2\) is .*; raw text "
                                         r"documents must be str"):
        CorpusStore.build(ddf, tmp_path / "store", text_column="review", label_column="label", scheduler="sync")
    assert not (tmp_path / "store").exists()


def test_distributed_usage_grid_search_refuses_a_cluster_without_workers(reviews):
    """n_workers=0 (e.g. os.cpu_count() // 4 on a small machine) started no worker; joblib gave up much later."""
    from toolkit.distributed import grid_search

    X, y = reviews
    with pytest.raises(ValueError, match=r"The 'n_workers' parameter of grid_search must be an int in the range "
                                         r"\[1, inf\) or None\. Got 0 instead\."):
        grid_search(_pipeline(), _GRID, X, y, n_workers=0)


def test_distributed_usage_store_relative_path_with_workers_elsewhere(scheduler, imdb_small, tmp_path, monkeypatch):
    """`toolkit store build ... -o store --scheduler ...`: the workers wrote the partitions under *their* working
    directory, and the build failed with "No such file or directory: '.store.<hex>.tmp/vocabulary.json'"."""
    import os

    import dask.bag as db
    from distributed import Client

    from toolkit.distributed import CorpusStore

    texts, labels = imdb_small
    here, there = tmp_path / "client", tmp_path / "worker"
    here.mkdir()
    there.mkdir()
    monkeypatch.chdir(here)
    bag = db.from_sequence(list(zip(texts[:30], labels[:30].tolist())), npartitions=3)
    with Client(scheduler) as client:
        (before,) = client.run(os.getcwd).values()
        client.run(os.chdir, str(there))  # a worker on another node, or in a pod, starts elsewhere
        try:
            store = CorpusStore.build(bag, "store")
        finally:
            client.run(os.chdir, before)
    reopened = CorpusStore(here / "store")
    assert store.n_documents == reopened.n_documents == 30 and len(reopened.parts) == 3
    assert reopened.labels().tolist() == labels[:30].tolist()
    assert reopened.sequences([0, 29], maxlen=5).shape == (2, 5)
    assert list(there.iterdir()) == []  # nothing written where the workers happened to be


def test_distributed_usage_fit_from_store_small_store_with_the_default_validation_split(tmp_path):
    """fit_from_store copied fit()'s old stratified split: 10 documents of 2 classes with validation_split=0.1
    (one held-out row, fewer than the classes) crashed in scikit-learn's train_test_split; it now makes the
    split fit() makes."""
    import dask.bag as db

    from toolkit import EmbeddingClassifier
    from toolkit.distributed import CorpusStore, fit_from_store

    pairs = [("a good fun film", "pos"), ("a bad dull bore", "neg")] * 5
    store = CorpusStore.build(db.from_sequence(pairs, npartitions=2), tmp_path / "store", scheduler="sync")
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, epochs=1, random_state=0), store)
    assert clf.predict([["good", "fun"]]).shape == (1,)


@pytest.mark.parametrize("params, message", [
    ({"max_tokens": 2}, r"'max_tokens' parameter of CorpusStore\.vocabulary_for must be an int in the range \[3, inf\)"),
    ({"max_tokens": 1}, r"'max_tokens' parameter of CorpusStore\.vocabulary_for"),
    ({"min_count": 0}, r"'min_count' parameter of CorpusStore\.vocabulary_for must be an int in the range \[1, inf\)"),
])
def test_distributed_usage_store_vocabulary_for_checks_its_limits(tmp_path, params, message):
    """vocabulary_for documents the result of Vocabulary.from_documents, which refuses these limits; it gave
    a vocabulary of the two reserved tokens (max_tokens=2), a confusing 'counts must have one entry per
    token' (max_tokens=1), or accepted min_count=0."""
    import dask.bag as db

    from toolkit._validation import InvalidParameterError
    from toolkit.distributed import CorpusStore

    store = CorpusStore.build(db.from_sequence(["a good film", "a bad film"], npartitions=1), tmp_path / "s",
                              scheduler="sync")
    assert store.vocabulary_for(max_tokens=3).tokens == ["<pad>", "<unk>", "a"]
    with pytest.raises(InvalidParameterError, match=message):
        store.vocabulary_for(**params)


# ------------------------------------------------------------ a fit lost to a dead worker
# joblib's dask backend can lose a race with a killed worker's cleanup and get "FutureCancelledError: ...
# cancelled for reason: already forgotten" (joblib#957, #959), although live workers could rerun the fit: the
# search failed then. It now runs once more. The race is rare, so the lost fit is simulated: the first
# GridSearchCV.fit of the search raises the error distributed raises.


def _lose_fits(monkeypatch, times):
    """The next ``times`` GridSearchCV.fit calls fail as a fit lost to a dead worker does; a list of the calls."""
    from distributed.client import FutureCancelledError
    from sklearn.model_selection import GridSearchCV

    fit, calls = GridSearchCV.fit, []

    def losing_fit(self, *args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise FutureCancelledError("batch_of__fit_and_score_3_calls-0a1b", "already forgotten")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(GridSearchCV, "fit", losing_fit)
    return calls


def _blobs():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=60, n_features=5, random_state=0)


def test_grid_search_runs_again_after_a_fit_lost_to_a_dead_worker(scheduler, monkeypatch, caplog):
    """Before: RuntimeError ("no other worker could take its work over") with a live worker there."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.distributed import grid_search

    X, y = _blobs()
    grid = {"C": [0.01, 1.0]}
    expected = grid_search(LogisticRegression(), grid, X, y, cv=3, local=True)
    calls = _lose_fits(monkeypatch, times=1)
    with caplog.at_level(logging.WARNING, logger="toolkit.distributed.search"):
        found = grid_search(LogisticRegression(), grid, X, y, cv=3, scheduler=scheduler)
    assert len(calls) == 2
    assert "running it again on 1 live worker(s)" in caplog.text and "already forgotten" in caplog.text
    assert np.array_equal(found.cv_results_["mean_test_score"], expected.cv_results_["mean_test_score"])
    assert found.best_params_ == expected.best_params_


def test_grid_search_lost_again_says_what_to_check(scheduler, monkeypatch):
    """Twice in a row is not the race: the error names the scheduler and what to check, after one rerun."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.distributed import grid_search

    X, y = _blobs()
    calls = _lose_fits(monkeypatch, times=2)
    with pytest.raises(RuntimeError, match=r"The grid search on tcp://127\.0\.0\.1:\d+ lost a task .*already "
                                           r"forgotten.*Check the workers' memory limits and logs"):
        grid_search(LogisticRegression(), {"C": [0.01, 1.0]}, X, y, cv=3, scheduler=scheduler)
    assert len(calls) == 2


# ---------------------------------------------------------------- local_cluster's close
def _exit_slowly(marker, seconds):
    """Make this worker process take ``seconds`` to exit (as TensorFlow's finalization does), then write ``marker``."""
    import atexit
    import pathlib
    import time

    def finish():
        time.sleep(seconds)
        pathlib.Path(marker).write_text("exited cleanly")

    atexit.register(finish)
    return True


def test_local_cluster_lets_a_slow_worker_exit_instead_of_killing_it(tmp_path, caplog):
    """Dask closes local workers with 5 s and kills them after 4 s: `toolkit grid` with Keras models ended with
    "Worker process still alive after 4.0 seconds, killing" (TensorFlow takes 2-4 s to finalize). Now they get
    WORKER_CLOSE_TIMEOUT; a worker that needs 5 s exits on its own and its exit handlers run."""
    from distributed import Client

    from toolkit.distributed.search import WORKER_CLOSE_TIMEOUT, local_cluster

    assert WORKER_CLOSE_TIMEOUT >= 10
    marker = tmp_path / "exited.txt"
    with caplog.at_level(logging.INFO, logger="distributed.nanny"), \
            local_cluster(1, silence_logs=logging.INFO) as cluster, Client(cluster) as client:
        assert client.submit(_exit_slowly, str(marker), 5.0).result()
    assert not [r for r in caplog.records if "still alive" in r.getMessage()]
    assert marker.read_text() == "exited cleanly"


@pytest.mark.slow
def test_distributed_usage_cli_grid_local_workers_keep_tensorflow_quiet(reviews_file, capfd):
    """`toolkit grid`'s local workers wrote TensorFlow's C++ start-up notices (oneDNN, "failed call to cuInit")
    straight to the terminal, between the progress bar and the result; the CLI's own process and its joblib
    workers import TensorFlow muted. The workers now do too (a Dask preload)."""
    result = _cli("grid", "--data", reviews_file, "--grid", "architecture=bag", "--cv", "2", *_TINY, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["backend"] == "LocalCluster(1 workers)"
    worker_output = capfd.readouterr().err  # the worker processes' file descriptor 2
    assert "oneDNN" not in worker_output and "cuInit" not in worker_output, worker_output[-2000:]


class _PidRecorder(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier whose fit appends its process id to a file (to see where the fits ran)."""

    def __init__(self, path=None, c=1.0):
        self.path, self.c = path, c

    def fit(self, X, y):
        import os

        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_grid_search_on_a_one_thread_cluster_fits_on_the_worker(scheduler, reviews, tmp_path):
    """joblib runs a Parallel call in the calling process when its backend offers one job, and the dask backend
    offers the cluster's thread count: with one single-threaded worker every fit ran in the client process."""
    import os

    from toolkit.distributed.search import grid_search

    X, y = reviews
    path = tmp_path / "pids.txt"
    grid_search(_PidRecorder(path=str(path)), {"c": [0.1, 1.0]}, X, y, cv=2, scheduler=scheduler, refit=False)
    pids = {int(line) for line in path.read_text(encoding="utf-8").split()}
    assert len(path.read_text(encoding="utf-8").split()) == 4
    assert os.getpid() not in pids, "the fits ran in this process, not on the cluster's worker"

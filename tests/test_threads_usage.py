"""The toolkit driven from several threads of one process, as users drive it.

scikit-learn's ``GridSearchCV`` under ``joblib.parallel_config(backend="threading")``
(which the README recommends for registered architectures), a web app that
retrains the model it serves in a background thread, ``ThreadPoolExecutor``
over several corpora, two threads loading the same vectors on a cold cache.
Small real IMDB samples (conftest), tiny Keras models. Every join has a
timeout; nothing asserts on speed. Where a test needs two threads to meet
inside the toolkit, the first waits (at most a few seconds) for the second
instead of relying on luck.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from toolkit.models import EmbeddingClassifier

TINY = {"max_tokens": 2000, "maxlen": 50, "embedding_dim": 8, "epochs": 2, "batch_size": 32, "random_state": 0}
JOIN = 300  # seconds: a deadlock fails the test instead of hanging the suite


def tiny(**params):
    return EmbeddingClassifier(**{**TINY, **params})


def run_in_threads(functions):
    """Run each function in a thread of its own, all at once; their results in order (errors re-raised)."""
    results, errors = [None] * len(functions), []

    def call(i):
        try:
            results[i] = functions[i]()
        except BaseException as err:  # noqa: BLE001  (re-raised below)
            errors.append(err)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish: deadlock?"
    if errors:
        raise errors[0]
    return results


class _MeetSecond:
    """Wrap ``func`` so its first call waits (up to ``wait`` seconds) until a second call starts.

    Two threads that both reach ``func`` then run it side by side; a toolkit
    that makes the second thread wait for the first (what the fixed code
    does) lets the first go on after ``wait`` seconds, and ``calls`` counts 1.
    """

    def __init__(self, func, wait=2.0):
        self.func, self.wait = func, wait
        self.calls = 0
        self.second = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            self.second.wait(timeout=self.wait)
        else:
            self.second.set()
        return self.func(*args, **kwargs)


@pytest.fixture(scope="module")
def docs(imdb_tokens):
    tokens, labels = imdb_tokens
    return tokens, np.asarray(labels)


# ------------------------------------------------------------------ fitting in threads


def test_threads_usage_fits_in_threads_equal_sequential_fits_bit_for_bit(docs):
    """Three threads fit at once (two identical "bag" fits with dropout, one "nbsvm"): each model predicts
    the very bits of the same fit run alone. Keras keeps its layer-name counters, seed generators and dtype
    policy per thread, and the estimator seeds nothing global."""
    tokens, labels = docs
    X, y, T = tokens[:200], labels[:200], tokens[400:440]
    settings = [{"dropout": 0.2}, {"dropout": 0.2}, {"architecture": "nbsvm"}]
    alone = [tiny(**s).fit(X, y).predict_proba(T) for s in settings]
    together = run_in_threads([lambda s=s: tiny(**s).fit(X, y).predict_proba(T) for s in settings])
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("architecture", ["bag", "nbsvm"])
def test_threads_usage_refit_while_another_thread_predicts_answers_with_one_model(docs, architecture):
    """A web app retrains the model it serves in a background thread. A prediction made while the refit
    trains gets the previous model's answers (and the new model's once the fit returns). Before, ``fit`` set
    the new vocabulary first and the new model only at the end, so for the whole training every prediction
    encoded documents with the new vocabulary for the old model: neither model's answers (seen: 233 of
    235 predictions during a refit of a "bag" model, 1,450 of 1,459 for "nbsvm", which predicts without Keras)."""
    tokens, labels = docs
    T = tokens[500:530]
    served = tiny(architecture=architecture).fit(tokens[:200], labels[:200])
    old = served.predict_proba(T)
    new = tiny(architecture=architecture).fit(tokens[200:400], labels[200:400]).predict_proba(T)
    assert not np.array_equal(old, new)

    mid_fit, answered, seen = threading.Event(), threading.Event(), {}

    def on_epoch_end(epoch, logs=None):
        if epoch == 0:  # the refit has its new vocabulary, its new model is half trained
            mid_fit.set()
            answered.wait(timeout=60)

    def serve():
        try:
            assert mid_fit.wait(timeout=120), "the refit never reached its first epoch's end"
            seen["proba"], seen["labels"] = served.predict_proba(T), served.predict(T)
        finally:
            answered.set()

    server = threading.Thread(target=serve)
    server.start()
    served.set_params(callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    served.fit(tokens[200:400], labels[200:400])
    server.join(timeout=JOIN)
    assert not server.is_alive()
    np.testing.assert_array_equal(seen["proba"], old)
    np.testing.assert_array_equal(seen["labels"], served.classes_[old.argmax(axis=1)])
    np.testing.assert_array_equal(served.predict_proba(T), new)


def test_threads_usage_a_failed_refit_in_a_thread_leaves_the_served_model(docs):
    """A background refit that fails (here: labels of one class) leaves the served model whole: the same
    answers as before, from a thread that predicts afterwards."""
    tokens, labels = docs
    T = tokens[500:520]
    served = tiny().fit(tokens[:200], labels[:200])
    old = served.predict_proba(T)
    with pytest.raises(ValueError, match="only one class"):
        run_in_threads([lambda: served.fit(tokens[200:260], ["pos"] * 60)])
    np.testing.assert_array_equal(run_in_threads([lambda: served.predict_proba(T)])[0], old)


def test_threads_usage_grid_search_on_the_threading_backend_equals_one_job(imdb_small):
    """The README's advice for registered architectures: ``GridSearchCV`` under joblib's threading backend.
    A raw-text pipeline (tokenizer + EmbeddingClassifier, the tokenizer's settings in the grid) gives the
    same ``cv_results_`` scores with ``n_jobs=2`` as with ``n_jobs=1``."""
    import joblib
    from sklearn.model_selection import GridSearchCV

    from toolkit.models import make_text_classifier

    texts, labels = imdb_small
    texts, labels = texts[:80], labels[:80]
    pipe = make_text_classifier(**{**TINY, "epochs": 1})
    grid = {"tokenizer__lowercase": [True, False]}
    results = {}
    for n_jobs in (1, 2):
        with joblib.parallel_config(backend="threading"):
            # refit=False: a refit runs in this thread with either n_jobs, and only cv_results_ is compared
            search = GridSearchCV(pipe, grid, cv=2, n_jobs=n_jobs, refit=False, error_score="raise").fit(texts, labels)
        results[n_jobs] = search.cv_results_
    for key in ("split0_test_score", "split1_test_score", "mean_test_score", "rank_test_score"):
        np.testing.assert_array_equal(results[1][key], results[2][key], err_msg=key)


# ------------------------------------------------------------------ tokenizing in threads


def test_threads_usage_threads_on_a_cold_process_load_the_spacy_pipeline_once(imdb_small, tmp_path, monkeypatch):
    """Two threads tokenize at once in a process that has not loaded spaCy's pipeline yet (the first folds
    of a threaded grid search; ``cache=`` set, as ``toolkit`` does for unlabelled texts). The pipeline is
    loaded once and the tokens are those of one thread alone. Before, each thread loaded a pipeline of its
    own (a copy of en_core_web_sm is ~100 MB and a second or two), and the last one loaded made the engines
    built with the others out of date: their span tables were thrown away."""
    from toolkit._memo import Memo
    from toolkit.text import tokenizer as tokenization
    from toolkit.text.tokenizer import SpacyTokenizer

    texts = imdb_small[0][:60]
    expected = SpacyTokenizer().transform(texts).to_list()
    monkeypatch.setattr(tokenization, "_NLP", {})  # as in a new process
    monkeypatch.setattr(tokenization, "_ENGINES", Memo(maxsize=4))
    build = _MeetSecond(tokenization._build_nlp)
    monkeypatch.setattr(tokenization, "_build_nlp", build)

    def tokenize(folder):
        return SpacyTokenizer(cache=tmp_path / folder).fit(texts).transform(texts).to_list()

    results = run_in_threads([lambda: tokenize("a"), lambda: tokenize("b")])
    assert build.calls == 1, f"the pipeline was loaded {build.calls} times"
    assert results == [expected, expected]


def test_threads_usage_threads_tokenizing_overlapping_texts_with_other_settings_get_their_own_tokens(imdb_small):
    """Four threads tokenize overlapping reviews at once, with settings that share one spaCy pipeline but
    not one span table (lowercase or not, punctuation removed): each gets the tokens it gets alone."""
    from toolkit.text.tokenizer import SpacyTokenizer

    texts = imdb_small[0]
    jobs = [({}, texts[0:150]), ({"lowercase": False}, texts[50:200]), ({"remove_punct": True}, texts[100:250]),
            ({}, texts[25:175])]
    alone = [SpacyTokenizer(**params).transform(part).to_list() for params, part in jobs]
    together = run_in_threads([lambda p=p, t=t: SpacyTokenizer(**p).transform(t).to_list() for p, t in jobs])
    assert together == alone


# ------------------------------------------------------------------ vectors in threads


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_threads_usage_threads_loading_the_same_vectors_share_one_load(glove_small, tmp_path, monkeypatch, cache):
    """Two threads load the same GloVe file at once (two folds of a threaded grid search, both with
    ``vectors=``): the file is parsed once and both get the very same KeyedVectors. Before, with
    ``cache=False`` (or a cache that cannot be written) each thread parsed the whole file into a copy of its
    own (2 x 2.6 GB for glove.840B.300d); with the cache, the file lock made the second thread wait and read
    the entry again, into a second object."""
    from toolkit._memo import Memo
    from toolkit.vectors import loading

    monkeypatch.setattr(loading, "_MEMO", Memo(maxsize=4))  # as in a new process
    parse = _MeetSecond(loading._read)
    monkeypatch.setattr(loading, "_read", parse)
    a, b = run_in_threads([lambda: loading.load_vectors(glove_small, limit=3000, cache=cache,
                                                        cache_dir=tmp_path / "cache")] * 2)
    assert parse.calls == 1, f"parsed {parse.calls} times"
    assert a is b and len(a) == 3000


def test_threads_usage_threads_asking_for_the_same_domain_vectors_train_once_and_share_them(docs, tmp_path,
                                                                                            monkeypatch):
    """Two threads fit with the same domain spec on the same documents: one word2vec training, and both
    get the same KeyedVectors object (before: the second thread waited for the file lock and read the
    entry into an object of its own)."""
    from toolkit._memo import Memo
    from toolkit.vectors import domain

    monkeypatch.setattr(domain, "_MEMO", Memo(maxsize=4))
    train = _MeetSecond(domain._train)
    monkeypatch.setattr(domain, "_train", train)
    tokens = docs[0][:150]
    spec = "word2vec:dim=8,min_count=2,epochs=1"
    a, b = run_in_threads([lambda: domain.domain_vectors(spec, tokens, cache_dir=tmp_path / "cache")] * 2)
    assert train.calls == 1 and a is b


# ------------------------------------------------------------------ the memo itself


def test_threads_usage_memo_get_or_make_after_a_failure_the_next_caller_makes_it():
    """``Memo.get_or_make``: an error reaches the caller whose ``make`` raised, nothing is stored, and the
    next caller makes the value; a ``make`` that asks for its own key makes it again instead of waiting on
    itself."""
    from toolkit._memo import Memo

    memo = Memo(maxsize=2)

    def fail():
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        memo.get_or_make("k", fail)
    assert "k" not in memo
    assert memo.get_or_make("k", lambda: memo.get_or_make("k", lambda: 7) + 1) == 8
    assert memo.get_or_make("k", lambda: 9) == 8 and not memo._making


def test_threads_usage_threads_reading_the_same_imdb_split_parse_it_once(imdb_small, tmp_path, monkeypatch):
    """Two threads load the same IMDB split on a cold memo: the archive is parsed once and both get the same
    parsed split. Before, each thread parsed the 84 MB archive itself (about 10 s of CPU each). Here an
    aclImdb_v1.tar.gz of 60 real reviews (the memo and its wait do not depend on the archive's size)."""
    import io
    import tarfile

    from toolkit._memo import Memo
    from toolkit.data import datasets

    texts, labels = imdb_small
    path = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for i, (text, label) in enumerate(zip(texts[:60], labels[:60])):
            data = text.encode("utf-8")
            member = tarfile.TarInfo(f"aclImdb/train/{label}/{i}_{8 if label == 'pos' else 2}.txt")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    monkeypatch.setattr(datasets, "_IMDB_MEMO", Memo(maxsize=3))
    parse = _MeetSecond(datasets._parse_imdb)
    monkeypatch.setattr(datasets, "_parse_imdb", parse)
    a, b = run_in_threads([lambda: datasets.load_imdb("train", path=path, limit=50, cache=False)] * 2)
    assert parse.calls == 1, f"parsed {parse.calls} times"
    assert a.texts == b.texts and len(a) == 50


def test_threads_usage_threads_clustering_the_same_vectors_run_one_kmeans(glove_small, docs, tmp_path, monkeypatch):
    """Two threads fit WordClusterer with the same vectors and settings: one k-means, whose words and labels
    both share. Before, each thread ran its own k-means over the same vectors."""
    from toolkit._memo import Memo
    from toolkit.vectors import clusters

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(clusters, "_MEMO", Memo(maxsize=4))
    kmeans = _MeetSecond(clusters.WordClusterer._cached_kmeans)
    monkeypatch.setattr(clusters.WordClusterer, "_cached_kmeans", lambda self, *a: kmeans(self, *a))
    tokens = docs[0][:100]
    a, b = run_in_threads([lambda: clusters.WordClusterer(vectors=str(glove_small), n_clusters=20, max_words=2000,
                                                          random_state=0).fit(tokens)] * 2)
    assert kmeans.calls == 1, f"{kmeans.calls} k-means"
    assert a.labels_ is b.labels_

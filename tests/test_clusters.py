"""WordClusterer and the stack's "clusters" member, on real GloVe rows and real IMDB reviews."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from toolkit import StackedTextClassifier
from toolkit.exceptions import VectorsFormatError
from toolkit.models import save_model
from toolkit.text import SpacyTokenizer, TokenizedCorpus
from toolkit.vectors import clusters as clusters_module
from toolkit.vectors.clusters import WordClusterer, cluster_token

from conftest import load_and_predict_in_fresh_process
from test_stacking import FAST


@pytest.fixture(scope="module")
def clusterer(glove_small, split):
    return WordClusterer(vectors=str(glove_small), n_clusters=300, max_words=5000).fit(split[0])


def test_clusters_group_words_whose_vectors_are_close(clusterer, glove_small):
    from toolkit.vectors import load_vectors

    kv = load_vectors(str(glove_small))
    words = clusterer.words_.tolist()
    assert words == kv.index_to_key[:5000]  # the vectors' first max_words words, in order
    assert clusterer.labels_.shape == (5000,) and clusterer.labels_.dtype == np.int32
    assert clusterer.cluster_sizes_.sum() == 5000 and (clusterer.cluster_sizes_ > 0).sum() > 250
    label = dict(zip(words, clusterer.labels_.tolist()))
    # a word's nearest neighbour (by cosine) shares its cluster far more often than chance (1/300)
    sample = words[100:600]
    shared = [label[w] == label[kv.most_similar(w, topn=1, restrict_vocab=5000)[0][0]] for w in sample]
    assert np.mean(shared) > 0.3
    # and words of one family land together where the vectors say so
    assert label["monday"] == label["tuesday"] == label["friday"]


def test_clusters_transform_replaces_known_words_keeps_the_rest(clusterer):
    docs = [["the", "film", "was", "great", "zzqxj"], ["monday"]]
    out = clusterer.transform(docs)
    assert isinstance(out, TokenizedCorpus)
    label = dict(zip(clusterer.words_.tolist(), clusterer.labels_.tolist()))
    assert out.to_list() == [[cluster_token(label[w]) for w in ("the", "film", "was", "great")] + ["zzqxj"],
                             [cluster_token(label["monday"])]]
    dropped = clone(clusterer).set_params(unknown="drop").fit(docs).transform(docs)
    assert dropped.to_list()[0] == out.to_list()[0][:4]


def test_clusters_are_shared_between_fits_and_deterministic(glove_small, split, kmeans_calls, tmp_path):
    calls = kmeans_calls
    a = WordClusterer(vectors=str(glove_small), n_clusters=50, max_words=2000).fit(split[0][:50])
    b = WordClusterer(vectors=str(glove_small), n_clusters=50, max_words=2000).fit(split[0][50:100])
    assert len(calls) == 1  # same vectors, other documents (a cross-validation fold): k-means once
    np.testing.assert_array_equal(a.labels_, b.labels_)
    clusters_module._MEMO.clear()  # a new process: the disk cache answers
    c = WordClusterer(vectors=str(glove_small), n_clusters=50, max_words=2000).fit(split[0][:50])
    assert len(calls) == 1
    np.testing.assert_array_equal(a.labels_, c.labels_)
    for f in (tmp_path / "cache" / "clusters").iterdir():
        f.unlink()
    clusters_module._MEMO.clear()
    d = WordClusterer(vectors=str(glove_small), n_clusters=50, max_words=2000).fit(split[0][:50])
    assert len(calls) == 2
    np.testing.assert_array_equal(a.labels_, d.labels_)  # recomputed: the same clusters (fixed seed)


def test_clusters_disk_cache_is_keyed_by_content_and_recovers_from_damage(glove_small, split, kmeans_calls,
                                                                          tmp_path, caplog):
    calls, X = kmeans_calls, split[0][:50]
    folder = tmp_path / "cache" / "clusters"
    a = WordClusterer(vectors=str(glove_small), n_clusters=40, max_words=1500).fit(X)
    WordClusterer(vectors=str(glove_small), n_clusters=41, max_words=1500).fit(X)  # other settings: own entry
    assert len(calls) == 2 and len(list(folder.glob("*.npy"))) == 2
    # the same words and vectors under another file name share the entry (the key is the content)
    twin = tmp_path / "twin.50d.txt"
    twin.write_bytes(Path(glove_small).read_bytes())
    clusters_module._MEMO.clear()
    np.testing.assert_array_equal(WordClusterer(vectors=str(twin), n_clusters=40, max_words=1500).fit(X).labels_,
                                  a.labels_)
    assert len(calls) == 2
    # a damaged entry (a killed disk, a truncated copy) is recomputed and replaced, with a warning
    for f in folder.glob("*.npy"):
        f.write_bytes(b"not an array")
    clusters_module._MEMO.clear()
    with caplog.at_level("WARNING", logger="toolkit.vectors.clusters"):
        again = WordClusterer(vectors=str(glove_small), n_clusters=40, max_words=1500).fit(X)
    assert len(calls) == 3 and "is damaged" in caplog.text
    np.testing.assert_array_equal(again.labels_, a.labels_)
    clusters_module._MEMO.clear()
    WordClusterer(vectors=str(glove_small), n_clusters=40, max_words=1500).fit(X)
    assert len(calls) == 3  # the replaced entry is read
    assert not list(folder.glob(".*tmp*"))  # no temporary debris


def test_clusters_unwritable_cache_still_fits(glove_small, split, kmeans_calls, monkeypatch, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(blocker))  # <cache>/clusters cannot be created
    with caplog.at_level("WARNING", logger="toolkit.vectors.clusters"):
        clu = WordClusterer(vectors=str(glove_small), n_clusters=30, max_words=1000).fit(split[0][:50])
    assert clu.labels_.shape == (1000,) and "could not cache the word clusters" in caplog.text


def test_clusters_domain_spec_that_trains_on_documents_is_not_shared(split):
    X = split[0]
    spec = ("word2vec", tuple(" ".join(d) for d in split[2]), "dim=8,epochs=2,min_count=2")  # train=1
    assert clusters_module._shared_key(spec, X) is None
    assert clusters_module._shared_key("word2vec:unsup", X) is None
    assert clusters_module._shared_key("word2vec:unsup:train=0", X) == "word2vec:unsup:train=0"
    clu = WordClusterer(vectors=spec, n_clusters=20).fit(X)
    assert "film" in set(clu.words_.tolist())  # trained on the training documents too


def test_clusters_pickle_holds_no_vectors(clusterer):
    blob = pickle.dumps(clusterer)
    assert b"KeyedVectors" not in blob
    assert len(blob) < 20 * 5000 + 10_000  # the words as one byte string and an int32 label each
    twin = pickle.loads(blob)
    np.testing.assert_array_equal(twin.words_, clusterer.words_)
    docs = [["a", "good", "film"]]
    assert twin.transform(docs).to_list() == clusterer.transform(docs).to_list()


def test_clusters_bad_input_is_a_clear_error(glove_small, split, tmp_path):
    X = split[0]
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of WordClusterer \(500\) is larger than the "
                                         r"number of words with a vector \(100\); choose n_clusters <= 100"):
        WordClusterer(vectors=str(glove_small), n_clusters=500, max_words=100).fit(X)
    with pytest.raises(ValueError, match=r"WordClusterer needs vectors"):
        WordClusterer(vectors=None).fit(X)
    with pytest.raises(ValueError, match=r"'unknown' parameter of WordClusterer must be"):
        WordClusterer(vectors=str(glove_small), unknown="ignore").fit(X)
    lines = Path(glove_small).read_text(encoding="utf-8").splitlines()[:100]
    lines[4] = " ".join(lines[4].split()[:-2])
    bad = tmp_path / "bad.50d.txt"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(VectorsFormatError, match=r"bad\.50d\.txt, line 5: the line for .* has 48 values, expected 50"):
        WordClusterer(vectors=str(bad), n_clusters=10).fit(X)
    with pytest.raises(ValueError, match=r"Tokenize first"):
        WordClusterer(vectors=str(glove_small)).fit(["a raw review"])


# ---------------------------------------------------------------------------- the stack's member
@pytest.fixture(scope="module")
def stacked(split, glove_small):
    X, y, _, _ = split
    return StackedTextClassifier(vectors=str(glove_small), clusters=200, pooling=None, **FAST).fit(X, y)


def test_stacking_clusters_member_is_used(stacked, split):
    X, y, X_val, y_val = split
    assert stacked.member_names_ == ["ngrams", "clusters"]
    assert abs(stacked.member_weights_["clusters"]) > 0.1
    ablation = StackedTextClassifier(vectors=None, clusters=200, **FAST).fit(X, y)  # vectors=None drops it
    assert ablation.member_names_ == ["ngrams"]
    assert np.mean(stacked.predict(X_val) != ablation.predict(X_val)) > 0.01
    assert stacked.score(X_val, y_val) > 0.72
    both = StackedTextClassifier(vectors=stacked.vectors, clusters=200, **FAST).fit(X, y)
    assert both.member_names_ == ["ngrams", "clusters", "vectors"]
    assert both.member_scores(X_val).shape == (200, 3)


def test_stacking_clusters_n_jobs_fits_the_same_stack(stacked, split):
    """Members and folds in loky worker processes (the memo is per process; the workers read the
    k-means result from the disk cache, or cluster the words themselves): the same stack."""
    X, y, X_val, _ = split
    parallel = clone(stacked).set_params(n_jobs=2).fit(X, y)
    assert parallel.member_names_ == stacked.member_names_
    # equal up to solver round-off (loky workers run BLAS with other thread counts); other clusters
    # would move the scores by orders of magnitude more
    np.testing.assert_allclose(parallel.decision_function(X_val), stacked.decision_function(X_val), atol=1e-5)
    np.testing.assert_allclose(list(parallel.member_weights_.values()), list(stacked.member_weights_.values()),
                               atol=1e-5)
    np.testing.assert_array_equal(parallel.predict(X_val), stacked.predict(X_val))


def test_stacking_clusters_clone_grid_search(split, glove_small):
    X, y, X_val, y_val = split
    # two folds inside the stack, and 200 clusters as the stacked fixture has (its k-means is cached): the same
    # search, cheaper
    est = StackedTextClassifier(vectors=str(glove_small), pooling=None, **{**FAST, "cv": 2})
    assert clone(est.set_params(clusters=100)).get_params()["clusters"] == 100
    grid = GridSearchCV(est, {"clusters": [50, 200]}, cv=2).fit(X[:300], y[:300])
    assert grid.best_params_["clusters"] in (50, 200)
    assert grid.score(X_val, y_val) > 0.7


def test_stacking_clusters_save_model_load_model_in_a_fresh_process(imdb_small, glove_small, tmp_path):
    texts, labels = imdb_small
    # 200 clusters, as the stacked fixture: its k-means is cached (the saved model holds the labels either way)
    pipe = make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors=str(glove_small), clusters=200, **FAST))
    pipe.fit(texts[:300], labels[:300])
    path = save_model(pipe, tmp_path / "stack")
    proba, printed = load_and_predict_in_fresh_process(path, texts[400:450], tmp_path)
    assert "StackedTextClassifier ['ngrams', 'clusters', 'vectors']" in printed
    np.testing.assert_allclose(proba, pipe.predict_proba(texts[400:450]))


@pytest.mark.parametrize("params, message", [
    ({"clusters": 1}, r"'clusters' parameter of StackedTextClassifier must be"),
    ({"clusters": "many"}, r"'clusters' parameter of StackedTextClassifier must be"),
    ({"pooling": "median"}, r"'pooling' parameter of StackedTextClassifier must be"),
])
def test_stacking_clusters_bad_parameters(split, params, message):
    X, y, _, _ = split
    with pytest.raises(ValueError, match=message):
        StackedTextClassifier(vectors="glove.6B.50d", **params).fit(X, y)


def _cluster_in_a_process(vectors, docs, cache_dir, start_at):
    """Child process: wait for ``start_at`` (both children then race), fit a WordClusterer, and return how
    many times this process ran k-means (each run made to last a second, so the two overlap)."""
    import os
    import time

    from toolkit.vectors.clusters import WordClusterer as ChildClusterer

    os.environ["TOOLKIT_CACHE_DIR"] = str(cache_dir)
    calls = []
    real = ChildClusterer._kmeans

    def slow(self, v, w):
        calls.append(1)
        time.sleep(1.0)
        return real(self, v, w)

    ChildClusterer._kmeans = slow
    time.sleep(max(0.0, start_at - time.time()))
    fitted = ChildClusterer(vectors=vectors, n_clusters=20, max_words=500).fit(docs)
    return len(calls), fitted.labels_.tolist()


def test_clusters_two_processes_cluster_once(glove_small, split, tmp_path):
    """Two processes clustering the same words at once (a stack's fold fits on two joblib workers, on the
    first run) run k-means once: the second waits for the first's cache entry. Failed (two runs) before
    the lock."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    docs = split[0][:50]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(abs, [0, 0]))  # both children started before the race
        start_at = time.time() + 2.0
        results = list(pool.map(_cluster_in_a_process, [str(glove_small)] * 2, [docs, docs],
                                [tmp_path / "cache"] * 2, [start_at, start_at]))
    assert sorted(n for n, _ in results) == [0, 1]
    assert results[0][1] == results[1][1]
    assert len(list((tmp_path / "cache" / "clusters").glob("*.npy"))) == 1

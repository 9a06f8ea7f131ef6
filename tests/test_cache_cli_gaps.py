"""Gaps closed together: checksums of the word-cluster and doc-model caches, PseudoLabelClassifier's
``n_features_in_``, one vectors-name resolver for the CLI and ``load_vectors``, and ``toolkit grid`` parsing
``--grid`` once. Real GloVe rows and real IMDB reviews, small."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from toolkit.exceptions import DataError, ToolkitError, VectorsNotFoundError


# ------------------------------------------------------------------ word-cluster cache
@pytest.fixture
def clusters_cache(kmeans_calls, tmp_path):
    """The test's own cluster cache folder (an empty memo) and the count of the k-means runs (conftest)."""
    return tmp_path / "cache" / "clusters", kmeans_calls


def _fit_clusters(glove):
    from toolkit.vectors.clusters import WordClusterer

    return WordClusterer(vectors=str(glove), n_clusters=8, max_words=500).fit([["the", "film", "was", "good"]])


def test_clusters_cache_changed_label_of_the_same_size_is_clustered_again(glove_small, clusters_cache, caplog):
    """One label changed in place to another valid cluster (same size, a valid .npy) used to be served as is."""
    from toolkit.vectors import clusters

    folder, calls = clusters_cache
    expected = _fit_clusters(glove_small).labels_
    (entry,) = folder.glob("*.npy")
    labels = np.load(entry, mmap_mode="r+")
    labels[7] = (labels[7] + 1) % 8
    labels.flush()
    del labels
    clusters._MEMO.clear()  # a new process
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.clusters"):
        again = _fit_clusters(glove_small)
    assert len(calls) == 2 and "is damaged" in caplog.text and "SHA-256" in caplog.text
    np.testing.assert_array_equal(again.labels_, expected)
    np.testing.assert_array_equal(np.load(entry), expected)  # the entry was replaced
    caplog.clear()
    clusters._MEMO.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.clusters"):
        _fit_clusters(glove_small)
    assert len(calls) == 2 and not caplog.text  # the replaced entry is read, without a warning


def test_clusters_cache_without_its_checksum_is_clustered_again(glove_small, clusters_cache, caplog):
    """An entry whose checksum file is gone (or one written before checksums) is not trusted."""
    from toolkit.vectors import clusters

    folder, calls = clusters_cache
    expected = _fit_clusters(glove_small).labels_
    (entry,) = folder.glob("*.npy")
    (checksum,) = [p for p in folder.iterdir() if p != entry]
    assert checksum.name.startswith(entry.name)
    checksum.unlink()
    clusters._MEMO.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.clusters"):
        again = _fit_clusters(glove_small)
    assert len(calls) == 2 and "no checksum" in caplog.text
    np.testing.assert_array_equal(again.labels_, expected)
    assert checksum.is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted([entry.name, checksum.name])  # no debris


# ------------------------------------------------------------------ doc-model cache
@pytest.fixture(scope="module")
def reviews(imdb_small):
    return list(imdb_small[0][:60])


@pytest.fixture
def docvec_cache(tmp_path, monkeypatch):
    from toolkit.vectors import docvec

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docvec.clear_memo()
    yield tmp_path / "cache" / "doc_vectors"
    docvec.clear_memo()


def _change_one_float(path, row, col):
    """Change one float32 of a .npy file in place: same size, still a valid array."""
    arr = np.load(path, mmap_mode="r+")
    arr[row, col] = arr[row, col] + 1.0
    arr.flush()


@pytest.mark.parametrize("what", ["syn1neg.npy", "cum_table.npy", "keys.json", "meta.json", "format 1"])
def test_docvec_cache_changed_byte_of_the_same_size_is_trained_again(reviews, docvec_cache, what, caplog):
    """A byte changed in place in a doc-model entry (same size, still parseable) used to be served as is.

    An entry written before the checksums (format 1, same key) is trained again and replaced in place."""
    from toolkit.text import SpacyTokenizer
    from toolkit.vectors import docvec
    from toolkit.vectors.docvec import DocVectorizer

    params = {"unlabelled": tuple(reviews), "vector_size": 8, "epochs": 2, "min_count": 2, "workers": 1}
    tokens = SpacyTokenizer().transform(reviews[:5])
    first = DocVectorizer(**params).fit(tokens)
    expected = first.transform(tokens)
    folder = docvec_cache / first.model_key_
    file = folder / ("meta.json" if what == "format 1" else what)
    if what == "syn1neg.npy":
        _change_one_float(file, 3, 2)
    elif what == "cum_table.npy":
        arr = np.load(file, mmap_mode="r+")
        arr[0] += 1  # still increasing: a valid table of other sampling weights
        arr.flush()
        del arr
    elif what == "keys.json":
        keys = json.loads(file.read_text(encoding="utf-8"))
        i = next(i for i, k in enumerate(keys) if len(k) >= 3 and k.isascii() and k[0] != k[1])
        keys[i] = keys[i][1] + keys[i][0] + keys[i][2:]  # two letters swapped: same size, valid JSON
        file.write_text(json.dumps(keys), encoding="utf-8")
    elif what == "meta.json":
        meta = json.loads(file.read_text(encoding="utf-8"))
        assert meta["negative"] == 5
        file.write_text(json.dumps({**meta, "negative": 6}), encoding="utf-8")
    else:
        meta = json.loads(file.read_text(encoding="utf-8"))
        del meta["sha256"]
        file.write_text(json.dumps({**meta, "format": 1}), encoding="utf-8")
    docvec.clear_memo()  # a new process
    with caplog.at_level(logging.WARNING, logger="toolkit.vectors.docvec"):
        again = DocVectorizer(**params).fit(tokens)
    assert again.model_source_ == "trained" and "damaged or stale" in caplog.text
    np.testing.assert_array_equal(again.transform(tokens), expected)
    docvec.clear_memo()
    assert DocVectorizer(**params).fit(tokens).model_source_ == "cache"  # the replaced entry is read
    assert sorted(p.name for p in docvec_cache.iterdir()) == [first.model_key_]  # no debris


# ------------------------------------------------------------------ PseudoLabelClassifier
X_TOY = np.array([[0.0, 1.0], [0.2, 0.9], [0.9, 0.1], [1.0, 0.0], [0.1, 0.8], [0.95, 0.2], [0.5, 0.5]])
Y_TOY = np.array([0, 0, 1, 1, -1, -1, -1])


def test_pseudo_label_n_features_in_and_feature_names_in_follow_the_final_model():
    """``n_features_in_`` (and ``feature_names_in_`` for a DataFrame) were missing after fit."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from toolkit.models.semi_supervised import PseudoLabelClassifier

    clf = PseudoLabelClassifier(LogisticRegression())
    assert not hasattr(clf, "n_features_in_") and not hasattr(clf, "feature_names_in_")  # unfitted
    clf.fit(X_TOY, Y_TOY)
    assert clf.n_features_in_ == 2 and not hasattr(clf, "feature_names_in_")
    frame = pd.DataFrame(X_TOY, columns=["score", "other"])
    clf.fit(frame, Y_TOY)
    assert clf.n_features_in_ == 2 and clf.feature_names_in_.tolist() == ["score", "other"]
    assert "n_features_in_" not in vars(clf)  # read from the final model: never stale after a refit


def test_pseudo_label_on_raw_texts_has_no_n_features_in(imdb_small):
    """A text pipeline takes documents, not feature columns: no n_features_in_, as the text estimators."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models.semi_supervised import PseudoLabelClassifier

    texts, labels = imdb_small
    y = (np.asarray(labels[:60]) == "pos").astype(int)
    y[40:] = -1
    clf = PseudoLabelClassifier(LogisticRegression()).fit(np.c_[np.arange(60.0), np.ones(60)], y)
    assert clf.n_features_in_ == 2
    clf.set_params(estimator=make_pipeline(CountVectorizer(), LogisticRegression())).fit(texts[:60], y)
    assert not hasattr(clf, "n_features_in_")  # not the 2 of the previous fit


@pytest.mark.parametrize("check", ["check_n_features_in", "check_n_features_in_after_fitting",
                                   "check_dataframe_column_names_consistency"])
def test_pseudo_label_sklearn_feature_count_checks(check):
    """scikit-learn's own checks of n_features_in_ / feature_names_in_, on numeric data."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils import estimator_checks

    from toolkit.models.semi_supervised import PseudoLabelClassifier

    getattr(estimator_checks, check)("PseudoLabelClassifier", PseudoLabelClassifier(LogisticRegression()))


# ------------------------------------------------------------------ one vectors-name resolver
def _library_accepts(name) -> bool:
    """What an estimator's fit does with ``vectors=name`` (domain spec, else load_vectors' resolution)."""
    from toolkit.vectors.domain import is_domain_spec
    from toolkit.vectors.loading import locate_vectors

    if name is None or is_domain_spec(name):
        return True
    try:
        locate_vectors(name)
    except (VectorsNotFoundError, DataError):
        return False
    return True


def _cli_accepts(name) -> bool:
    from toolkit.cli._common import _check_vectors

    try:
        _check_vectors(name)
    except ToolkitError:
        return False
    return True


@pytest.fixture
def names(glove_small, tmp_path, data_dir_env):
    return {"manifest": "glove.6B.50d", "path": str(glove_small), "home path": "~/no-such-dir/vectors.txt",
            "missing path": str(tmp_path / "missing.txt"), "folder": str(tmp_path), "typo": "glove.6B.50e",
            "domain spec": "word2vec:unsup", "none": None}


@pytest.mark.parametrize("which", ["manifest", "path", "home path", "missing path", "folder", "typo", "domain spec",
                                   "none"])
def test_vectors_resolver_and_cli_precheck_agree(names, which):
    assert _library_accepts(names[which]) == _cli_accepts(names[which])


def test_vectors_resolver_and_cli_precheck_agree_on_a_data_manifest(data_dir_env):
    """``--vectors imdb`` passed the CLI's early check (its own copy of the name resolution accepted any
    manifest), then load_vectors refused it in fit, after the data and TensorFlow were loaded (12.7 s)."""
    assert _library_accepts("imdb") == _cli_accepts("imdb")


def test_locate_vectors_names_what_it_found(glove_small, tmp_path, data_dir_env):
    from toolkit.data.manifests import Manifest
    from toolkit.vectors import locate_vectors

    kind, found = locate_vectors(str(glove_small))
    assert kind == "file" and found == glove_small.resolve()
    kind, found = locate_vectors("glove.6B.50d")
    assert kind == "manifest" and isinstance(found, Manifest) and found.name == "glove.6B.50d"
    with pytest.raises(VectorsNotFoundError, match=r"is a folder; pass the vectors file inside it"):
        locate_vectors(tmp_path)
    with pytest.raises(VectorsNotFoundError, match=r"No vectors file 'glove\.6B\.50e' .*no data manifest of that "
                                                   r"name.*glove\.6B\.50d"):
        locate_vectors("glove.6B.50e")
    with pytest.raises(VectorsNotFoundError, match=r"No such vectors file: .*missing\.txt"):
        locate_vectors(tmp_path / "missing.txt")
    with pytest.raises(DataError, match=r"The manifest 'imdb' describes .* not word vectors"):
        locate_vectors("imdb")
    with pytest.raises(TypeError, match=r"source must be a path, a manifest name, a KeyedVectors or a gensim model with word vectors \(\.wv\), got int"):
        locate_vectors(3)
    assert not list(tmp_path.iterdir())  # nothing fetched or written


# ------------------------------------------------------------------ toolkit grid parses --grid once
def test_cli_grid_parses_the_grid_once(imdb_small, tmp_path, monkeypatch):
    """The early vectors check and the search each parsed --grid (two parses that could disagree)."""
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.cli import grid as grid_module
    from toolkit.distributed import search

    texts, labels = imdb_small
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts[:12], labels[:12])),
                    encoding="utf-8")
    parsed, searched = [], []
    real_parse = grid_module.parse_grid
    monkeypatch.setattr(grid_module, "parse_grid", lambda *a, **k: parsed.append(a[0]) or real_parse(*a, **k))

    class Stop(Exception):
        pass

    def grid_search(pipeline, param_grid, *args, **kwargs):
        searched.append(param_grid)
        raise Stop

    monkeypatch.setattr(search, "grid_search", grid_search)
    result = CliRunner().invoke(app, ["grid", "--data", str(data), "--grid", "vectors=none", "--grid",
                                      "epochs=1,2", "--cv", "2", "--local"])
    assert isinstance(result.exception, Stop), result.output
    assert parsed == [["vectors=none", "epochs=1,2"]]
    assert searched == [{"classifier__vectors": [None], "classifier__epochs": [1, 2]}]


def test_grid_memory_folder_is_made_absolute_before_the_workers_see_it(imdb_small, tmp_path, monkeypatch):
    # Before: --memory cache was passed on as the relative "cache", which each Dask worker resolves against its
    # own working directory (on a remote cluster, one cache per worker, none of them where the user looked);
    # "~/..." was not expanded at all.
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.distributed import search

    texts, labels = imdb_small
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts[:12], labels[:12])),
                    encoding="utf-8")
    memories = []

    class Stop(Exception):
        pass

    def grid_search(pipeline, param_grid, *args, **kwargs):
        memories.append(pipeline.memory)
        raise Stop

    monkeypatch.setattr(search, "grid_search", grid_search)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for given, expected in (("cache", tmp_path / "cache"), ("~/folds", tmp_path / "home" / "folds")):
        result = CliRunner().invoke(app, ["grid", "--data", str(data), "--grid", "epochs=1,2", "--cv", "2",
                                          "--local", "--memory", given])
        assert isinstance(result.exception, Stop), result.output
        assert memories[-1] == str(expected.resolve())

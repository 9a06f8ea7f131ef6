"""EmbeddingClassifier(oov="nearest"): tokens first seen at predict time get the id of their nearest vocabulary
word by fastText vectors (small real IMDB samples, a small fastText model trained here)."""

from __future__ import annotations

import logging
import pickle
import warnings

import numpy as np
import pytest
from conftest import write_vectors

from toolkit.models import EmbeddingClassifier
from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.vocabulary import OOV_ID

FAST = {"epochs": 1, "maxlen": 60, "embedding_dim": None, "min_count": 3, "random_state": 0, "validation_split": 0.0}
NEW = ["moive", "actng", "terrrible", "wonderfull", "zzyzxq"]  # misspellings, and one of no word


def _oracle(clf, fasttext_bin, tokens):
    """gensim's own answer: per token, (id of the most cosine-similar vocabulary word, similarity)."""
    from gensim.models.fasttext import load_facebook_vectors

    kv = load_facebook_vectors(str(fasttext_bin))
    words = [(i, t) for i, t in enumerate(clf.vocabulary_.tokens) if i >= 2 and " " not in t]
    matrix = np.array([kv.get_vector(t) for _, t in words], dtype=np.float64)
    keep = np.linalg.norm(matrix, axis=1) > 0
    matrix = matrix[keep] / np.linalg.norm(matrix[keep], axis=1, keepdims=True)
    ids = np.array([i for (i, _), k in zip(words, keep) if k])
    out = []
    for token in tokens:
        v = kv.get_vector(token).astype(np.float64)
        sims = matrix @ (v / np.linalg.norm(v))
        out.append((int(ids[np.argmax(sims)]), float(sims.max())))
    return out


@pytest.fixture(scope="module")
def bag(imdb_tokens200, fasttext_bin):
    docs, y = imdb_tokens200
    return EmbeddingClassifier(vectors=str(fasttext_bin), oov="nearest", oov_threshold=-1.0, **FAST).fit(docs, y)


def _last_ids(clf, tokens):
    return clf.model_inputs([tokens])[0][-len(tokens):].tolist()


def test_oov_nearest_maps_a_misspelling_to_its_nearest_word(bag, fasttext_bin):
    assert all(t not in bag.vocabulary_ for t in NEW)
    expected = [i for i, _ in _oracle(bag, fasttext_bin, NEW)]
    assert _last_ids(bag, NEW) == expected
    assert all(i >= 2 for i in expected)
    known = ["the", "movie"]
    assert _last_ids(bag, known) == [bag.vocabulary_.token_to_id[t] for t in known]  # known tokens untouched
    assert _last_ids(bag.set_params(oov="unknown"), NEW) == [OOV_ID] * len(NEW)
    bag.set_params(oov="nearest")


def test_oov_nearest_threshold_gives_the_oov_id_below_it(bag, fasttext_bin):
    (best, similarity), = _oracle(bag, fasttext_bin, ["moive"])
    try:
        assert _last_ids(bag.set_params(oov_threshold=similarity - 1e-4), ["moive"]) == [best]
        assert _last_ids(bag.set_params(oov_threshold=similarity + 1e-4), ["moive"]) == [OOV_ID]
        assert _last_ids(bag.set_params(oov_threshold=1.0), NEW) == [OOV_ID] * len(NEW)
    finally:
        bag.set_params(oov_threshold=-1.0)


def test_oov_nearest_predictions_use_the_mapped_ids(bag):
    """predict_proba agrees with the Keras model called on model_inputs, which differ from oov='unknown''s."""
    docs = [["the", "moive", "was", "wonderfull"], ["terrrible", "actng"]]
    mapped = bag.model_inputs(docs)
    proba = bag.predict_proba(docs)[:, 1]
    np.testing.assert_allclose(proba, np.asarray(bag.model_.predict(mapped, verbose=0)).ravel(), rtol=1e-5)
    assert (mapped != bag.set_params(oov="unknown").model_inputs(docs)).any()
    bag.set_params(oov="nearest")


def test_oov_nearest_nbsvm_maps_words_and_their_ngrams(imdb_tokens200, fasttext_bin):
    docs, y = imdb_tokens200
    clf = EmbeddingClassifier(architecture="nbsvm", vectors=str(fasttext_bin), oov="nearest", oov_threshold=-1.0,
                              epochs=1, min_count=2, random_state=0, validation_split=0.0)
    clf.fit(TokenizedCorpus.from_token_lists(docs).ngrams((1, 2)), y)
    token_to_id = clf.vocabulary_.token_to_id
    (best, _), = _oracle(clf, fasttext_bin, ["moive"])
    neighbour = clf.vocabulary_.tokens[best]
    doc = ["the", "moive", "the", neighbour]
    lazy = TokenizedCorpus.from_token_lists([doc]).ngrams((1, 2))
    flat = [list(lazy[0])]  # the same 1-2-grams as plain strings
    expected = {token_to_id["the"], best}
    for bigram in (f"the {neighbour}", f"{neighbour} the"):  # "the moive" / "moive the", mapped, where known
        # (else the OOV id: a bigram whose mapped form the vocabulary lacks)
        expected.add(token_to_id.get(bigram, OOV_ID))
    for corpus in (lazy, flat):
        ids = clf.model_inputs(corpus)[0]
        assert set(ids[ids > 0].tolist()) == expected
    assert OOV_ID in clf.set_params(oov="unknown").model_inputs(lazy)[0]


@pytest.mark.parametrize("vectors", [None, "glove"])
def test_oov_nearest_warns_that_it_does_nothing_without_fasttext(imdb_tokens200, tmp_path, vectors):
    docs, y = imdb_tokens200
    if vectors == "glove":
        vectors = str(write_vectors(tmp_path / "words.txt", sorted({t for d in docs for t in d})[:500], dim=8))
        match = "oov='nearest' of EmbeddingClassifier does nothing here: the vectors .* have no subword vectors"
    else:
        match = "oov='nearest' of EmbeddingClassifier does nothing here: vectors=None gives no word vectors"
    clf = EmbeddingClassifier(vectors=vectors, oov="nearest", **{**FAST, "embedding_dim": 8})
    with pytest.warns(UserWarning, match=match):
        clf.fit(docs[:60], y[:60])
    assert clf.oov_vectors_ is None
    assert _last_ids(clf, NEW) == [OOV_ID] * len(NEW)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # oov="unknown" (the default) says nothing
        EmbeddingClassifier(vectors=vectors, **{**FAST, "embedding_dim": 8}).fit(docs[:60], y[:60])


def test_oov_nearest_params_clone_and_validation(bag):
    from sklearn.base import clone

    params = bag.get_params()
    assert params["oov"] == "nearest" and params["oov_threshold"] == -1.0
    assert EmbeddingClassifier().get_params()["oov"] == "unknown"
    copy = clone(bag)
    assert copy.get_params() == params and not hasattr(copy, "oov_vectors_")
    with pytest.raises(ValueError, match="The 'oov' parameter of EmbeddingClassifier must be a str among"):
        EmbeddingClassifier(oov="closest").fit([["a", "b"]] * 4, [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"The 'oov_threshold' parameter of EmbeddingClassifier must be a float "
                                         r"in the range \[-1, 1\]"):
        EmbeddingClassifier(oov_threshold=1.5).fit([["a", "b"]] * 4, [0, 1, 0, 1])


def test_oov_nearest_refit_without_it_forgets_the_state(imdb_tokens200, fasttext_bin):
    docs, y = imdb_tokens200
    clf = EmbeddingClassifier(vectors=str(fasttext_bin), oov="nearest", oov_threshold=-1.0, **FAST).fit(docs, y)
    assert clf.oov_vectors_ is not None and _last_ids(clf, ["moive"]) != [OOV_ID]
    clf.set_params(oov="unknown").fit(docs, y)
    assert clf.oov_vectors_ is None and "_oov_state" not in vars(clf)
    assert _last_ids(clf.set_params(oov="nearest"), ["moive"]) == [OOV_ID]  # not fitted so: nothing to map with


def test_oov_nearest_pickle_keeps_the_entry_path_only(bag):
    expected = bag.model_inputs([NEW])
    data = pickle.dumps(bag)
    copy = pickle.loads(data)
    assert b"_oov_state" not in data and "_oov_state" not in vars(copy)
    assert isinstance(copy.oov_vectors_, str)
    np.testing.assert_array_equal(copy.model_inputs([NEW]), expected)  # candidates made again from the entry
    assert len(data) < len(pickle.dumps(bag.set_params(oov="unknown"))) + 2000
    bag.set_params(oov="nearest")


def test_oov_nearest_gone_entry_warns_and_gives_the_oov_id(bag, tmp_path, caplog):
    copy = pickle.loads(pickle.dumps(bag))
    copy.oov_vectors_ = str(tmp_path / "cleared" / "entry")
    with caplog.at_level(logging.WARNING, logger="toolkit.models.classifier"):
        assert _last_ids(copy, NEW) == [OOV_ID] * len(NEW)
    assert "no longer exists" in caplog.text and "oov='unknown'" in caplog.text


def test_oov_nearest_entry_is_found_in_a_moved_cache(bag, tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    entry = Path(bag.oov_vectors_)
    expected = bag.model_inputs([NEW])
    moved_cache = tmp_path / "moved-cache"
    shutil.copytree(entry, moved_cache / entry.parent.name / entry.name)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(moved_cache))
    copy = pickle.loads(pickle.dumps(bag))
    copy.oov_vectors_ = str(tmp_path / "old-cache" / entry.parent.name / entry.name)
    np.testing.assert_array_equal(copy.model_inputs([NEW]), expected)


def test_oov_nearest_looks_each_token_up_once(bag, monkeypatch):
    from toolkit.vectors import neighbours

    calls = []
    real = neighbours.nearest_words
    monkeypatch.setattr(neighbours, "nearest_words", lambda tokens, *a: calls.append(list(tokens)) or real(tokens, *a))
    copy = pickle.loads(pickle.dumps(bag))  # an empty memo
    first = copy.model_inputs([NEW, NEW[:2]])
    np.testing.assert_array_equal(copy.model_inputs([NEW[:2], NEW]), first[::-1])
    copy.set_params(oov_threshold=0.0).model_inputs([NEW])  # the threshold is applied to the memo's answers
    assert calls == [sorted(NEW)]


def test_oov_nearest_threads_agree_with_one_thread(bag):
    from concurrent.futures import ThreadPoolExecutor

    docs = [[w + suffix for w in ("moive", "actng", "plott", "charcter")] for suffix in ("", "s", "x", "ed")]
    copy = pickle.loads(pickle.dumps(bag))  # an empty memo, candidates made on first use
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: copy.model_inputs([d]), docs * 3))
    for doc, result in zip(docs * 3, results):
        np.testing.assert_array_equal(result, bag.model_inputs([doc]))


def _load_and_predict_in_fresh_process(path, docs, tmp_path):
    """``load_model(path).predict_proba(docs)`` (token lists) in a new Python process, and its ``oov_vectors_``."""
    import json
    import os
    import subprocess
    import sys

    from conftest import ROOT

    (tmp_path / "docs.json").write_text(json.dumps(docs))
    script = ("import json, sys, numpy as np\n"
              "from toolkit.models import load_model\n"
              "clf = load_model(sys.argv[1])\n"
              "np.save(sys.argv[3], clf.predict_proba(json.load(open(sys.argv[2]))))\n"
              "print(getattr(clf, 'oov_vectors_', 'absent'))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "docs.json"),
                             str(tmp_path / "p.npy")], capture_output=True, text=True, env=env, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return np.load(tmp_path / "p.npy"), result.stdout.strip()


def test_oov_nearest_survives_save_and_load_in_a_fresh_process(bag, tmp_path):
    from toolkit.models import save_model

    docs = [["the", "moive", "was", "wonderfull"], ["terrrible", "actng", "plott"]]
    expected = bag.predict_proba(docs)
    assert not np.allclose(expected, bag.set_params(oov="unknown").predict_proba(docs))  # the mapping matters
    bag.set_params(oov="nearest")
    save_model(bag, tmp_path / "model")
    proba, entry = _load_and_predict_in_fresh_process(tmp_path / "model", docs, tmp_path)
    assert entry == bag.oov_vectors_
    np.testing.assert_allclose(proba, expected, rtol=1e-6)

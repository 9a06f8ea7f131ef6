"""Domain vectors trained from a spec inside fit (toolkit.vectors.domain), on small real IMDB samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolkit.text import TokenizedCorpus
from toolkit.vectors import domain
from toolkit.vectors.domain import (
    domain_vectors,
    domain_vectors_cached,
    is_domain_spec,
    parse_domain_spec,
    resolve_vectors,
    words_only,
)

SMALL = "dim=16,epochs=2,min_count=2"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own: the session's shared one holds other test files' entries."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _fresh_memo():
    domain.clear_memo()
    yield
    domain.clear_memo()


def test_domain_spec_parses_strings_and_tuples():
    assert parse_domain_spec("word2vec").source is None
    spec = parse_domain_spec("fasttext:unsup:dim=50,epochs=3")
    assert (spec.algorithm, spec.source, spec.params["dim"], spec.params["epochs"]) == ("fasttext", "unsup", 50, 3)
    assert parse_domain_spec("word2vec:/data/reviews.txt").source == "/data/reviews.txt"
    assert parse_domain_spec("word2vec:dim=8").params["dim"] == 8
    spec = parse_domain_spec(("word2vec", ["a text", "another"], "min_count=1"))
    assert spec.source == ("a text", "another") and spec.params["min_count"] == 1
    assert is_domain_spec("word2vec:unsup") and is_domain_spec(("fasttext", None))
    assert not is_domain_spec("glove.6B.50d") and not is_domain_spec("word2vec.bin") and not is_domain_spec(None)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("doc2vec:unsup", "unknown algorithm 'doc2vec'"),
        ("word2vec:unsup:dim=0", "option dim=0 is out of range"),
        ("word2vec:unsup:size=5", "unknown option 'size'"),
        (("word2vec", 3), "the source must be 'unsup', a path or a tuple of texts, not int"),
        (("word2vec", [1, 2]), "must hold raw text strings"),
        (42, "expected a str or a tuple, got int"),
    ],
)
def test_domain_spec_rejects_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_domain_spec(spec)


def test_words_only_drops_ngram_tokens_in_order():
    corpus = TokenizedCorpus.from_token_lists([["not", "a", "hit"], ["ok"]]).ngrams((1, 3))
    assert words_only(corpus).to_list() == [["not", "a", "hit"], ["ok"]]


def test_domain_vectors_cache_never_unpickles_a_planted_file(imdb_tokens, cache, tmp_path):
    """A pickle planted where the cache entry lives is never loaded (issue 14): the entry is rebuilt."""
    import pickle

    docs, _ = imdb_tokens
    kv = domain_vectors(f"word2vec:{SMALL}", docs[:300])
    (folder,) = list((cache / "domain_vectors").iterdir())
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name in ("vectors.kv", "header.json", "keys.txt"):
        (folder / name).write_bytes(pickle.dumps(Evil()))
    domain.clear_memo()
    again = domain_vectors(f"word2vec:{SMALL}", docs[:300])
    assert not marker.exists()  # nothing was unpickled
    assert again.vector_size == kv.vector_size and "movie" in again  # retrained and cached again
    assert json.loads((folder / "header.json").read_text())


def test_domain_vectors_train_once_then_read_the_cache(imdb_tokens, cache):
    docs, _ = imdb_tokens
    kv = domain_vectors(f"word2vec:{SMALL}", docs[:300])
    assert kv.vector_size == 16 and "movie" in kv
    folders = list((cache / "domain_vectors").iterdir())
    assert len(folders) == 1 and (folders[0] / "header.json").is_file()
    assert not list(folders[0].glob("*.kv")) and not list(folders[0].glob("*.pkl"))  # no pickle in the cache
    assert not [p for p in folders[0].parent.iterdir() if p.name.startswith(".")]  # no temp debris
    domain.clear_memo()
    again = domain_vectors(f"word2vec:{SMALL}", TokenizedCorpus.from_token_lists(docs[:300]))
    np.testing.assert_array_equal(np.asarray(again["movie"]), np.asarray(kv["movie"]))
    assert isinstance(again.vectors, np.memmap)  # read from the cache, memory-mapped
    other = domain_vectors(f"word2vec:{SMALL}", docs[:200])  # other documents: another entry
    assert len(list((cache / "domain_vectors").iterdir())) == 2
    assert len(other) < len(kv)


def test_domain_vectors_cached_answers_without_reading_the_source(imdb_small, imdb_tokens, cache, tmp_path,
                                                                    monkeypatch):
    """A train=0 spec's vectors are known to be cached from a small record, not by reading the source's texts:
    so `toolkit train --model stack` says "trained on this first run" only on a first run (it said so on
    every run before)."""
    import shutil

    texts, _ = imdb_small
    docs, _ = imdb_tokens
    path = tmp_path / "unlabelled.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts[:200]) + "\n", encoding="utf-8")
    spec = f"word2vec:{path}:{SMALL},train=0"
    assert domain_vectors_cached(spec) is False
    kv = domain_vectors(spec, docs[:10])

    def no_reading(*args, **kwargs):
        raise AssertionError("domain_vectors_cached read the unlabelled texts")

    with monkeypatch.context() as m:
        m.setattr(domain, "_unlabelled_texts", no_reading)
        assert domain_vectors_cached(spec) is True
        assert domain_vectors_cached(f"word2vec:{path}:{SMALL},train=0,dim=8") is False  # other options
        assert domain_vectors_cached(f"word2vec:{path}:{SMALL}") is None  # train=1: the key needs the documents
    domain.clear_memo()
    again = domain_vectors(spec, docs[10:20])  # other training documents, the same vectors (train=0): still cached
    np.testing.assert_array_equal(np.asarray(again["movie"]), np.asarray(kv["movie"]))
    assert domain_vectors_cached(spec) is True
    with open(path, "a", encoding="utf-8") as fh:  # the source changed: its vectors are to be trained
        fh.write("one more review of a great movie\n")
    assert domain_vectors_cached(spec) is False
    domain_vectors(spec, docs[:10])
    assert domain_vectors_cached(spec) is True
    for entry in (cache / "domain_vectors").iterdir():  # the entries removed, their records kept: not cached
        if entry.name != "sources":
            shutil.rmtree(entry)
    assert domain_vectors_cached(spec) is False


def test_domain_vectors_add_unlabelled_texts_from_a_file(imdb_small, imdb_tokens, tmp_path):
    texts, _ = imdb_small
    docs, _ = imdb_tokens
    path = tmp_path / "unlabelled.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts[300:]) + "\n\n", encoding="utf-8")
    alone = domain_vectors(f"word2vec:{SMALL}", docs[:50])
    more = domain_vectors(f"word2vec:{path}:{SMALL}", docs[:50])
    assert len(more) > 2 * len(alone)  # the file's 300 reviews bring many more words


def test_domain_vectors_fasttext_gives_misspellings_a_vector(imdb_tokens):
    docs, _ = imdb_tokens
    kv = domain_vectors(f"fasttext:{SMALL}", docs[:200])
    assert "moviee" not in kv.key_to_index
    assert np.any(kv["moviee"]) and kv.similarity("movie", "moviee") > 0.5


def test_domain_vectors_reject_an_empty_unlabelled_source(imdb_tokens, tmp_path):
    docs, _ = imdb_tokens
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt' holds no text \(every line is blank\)"):
        domain_vectors(f"word2vec:{empty}", docs[:50])
    with pytest.raises(ValueError, match="The unlabelled texts of the 'vectors' domain spec are empty"):
        domain_vectors(("word2vec", ["", "  "]), docs[:50])
    with pytest.raises(ValueError, match="missing.txt' named by the 'vectors' domain spec does not exist"):
        domain_vectors(f"word2vec:{tmp_path / 'missing.txt'}", docs[:50])


def test_domain_vectors_need_words_at_min_count():
    with pytest.raises(ValueError, match="No word occurs at least min_count=5 times"):
        domain_vectors("word2vec", [["rare", "words"], ["only", "once"]])


def test_domain_vectors_unsup_reads_the_imdb_unlabelled_split(monkeypatch, imdb_tokens):
    """'unsup' asks load_imdb for the unlabelled split (stubbed here: the real one is 50,000 reviews)."""
    from toolkit.data import datasets

    calls = []

    class _Split:
        texts = ["A truly great film, great acting and a great story."] * 20

    def fake_load_imdb(split, **kwargs):
        calls.append(split)
        return _Split()

    monkeypatch.setattr(datasets, "load_imdb", fake_load_imdb)
    docs, _ = imdb_tokens
    kv = domain_vectors("word2vec:unsup:dim=8,epochs=1,min_count=2", docs[:20])
    assert calls == ["unsup"] and "great" in kv


def test_resolve_vectors_passes_other_values_to_load_vectors(glove_small):
    kv = resolve_vectors(str(glove_small))
    assert kv.vector_size == 50
    with pytest.raises(ValueError, match="needs the training documents"):
        resolve_vectors("word2vec:unsup")


def _train_in_a_process(spec, docs, cache_dir, start_at):
    """Child process: wait for ``start_at`` (both children then race), get the domain vectors, and return
    how many times this process trained them."""
    import time

    from toolkit.vectors import domain as child_domain

    calls = []
    train = child_domain._train
    child_domain._train = lambda *args: (calls.append(1), train(*args))[1]
    time.sleep(max(0.0, start_at - time.time()))
    kv = child_domain.domain_vectors(spec, docs, cache_dir=cache_dir)
    return len(calls), float(np.asarray(kv["movie"])[0])


def test_domain_vectors_two_processes_train_them_once(imdb_tokens, tmp_path):
    """Two processes asking for the same domain vectors at once (a stack's fold fits on two joblib workers,
    on the first run of `toolkit train --model stack`) train them once: the second waits for the first's
    cache entry instead of training the same vectors beside it. Failed (two trainings) before the lock."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    docs = imdb_tokens[0][:400]
    spec = "word2vec:dim=32,epochs=40,min_count=2"  # ~1-2 s of training: the two children overlap
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(abs, [0, 0]))  # both children started and importable before the race
        start_at = time.time() + 2.0
        results = list(pool.map(_train_in_a_process, [spec, spec], [docs, docs], [tmp_path, tmp_path],
                                [start_at, start_at]))
    assert sorted(n for n, _ in results) == [0, 1], results  # one trained, the other read its entry
    assert results[0][1] == results[1][1]
    assert len(list((tmp_path / "domain_vectors").iterdir())) == 1

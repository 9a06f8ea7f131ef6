"""TokenizedCorpus: sequence behaviour, slicing, pickling and the vectorized helpers."""

from __future__ import annotations

import pickle
from collections.abc import Sequence

import numpy as np
import pytest

from toolkit.text.corpus import TokenizedCorpus

DOCS = [["a", "good", "film"], [], ["a", "dud", "dud"], ["good"]]


@pytest.fixture
def corpus():
    return TokenizedCorpus.from_token_lists(DOCS)


def test_corpus_behaves_like_a_sequence_of_token_lists(corpus):
    assert isinstance(corpus, Sequence)
    assert len(corpus) == 4
    assert corpus[0] == ["a", "good", "film"]
    assert corpus[-1] == ["good"]
    assert list(corpus) == DOCS
    assert corpus.to_list() == DOCS
    assert corpus == DOCS
    assert corpus.n_tokens == 7
    assert corpus.lengths().tolist() == [3, 0, 3, 1]
    assert ["good"] in corpus
    assert corpus.index(["good"]) == 3


def test_corpus_layout_is_flat_ids_offsets_and_string_table(corpus):
    assert corpus.ids.dtype == np.int32 and corpus.offsets.dtype == np.int64
    assert corpus.offsets.tolist() == [0, 3, 3, 6, 7]
    assert corpus.strings == ("a", "good", "film", "dud")
    assert not corpus.ids.flags.writeable


def test_corpus_slicing_and_fancy_indexing_return_corpora(corpus):
    assert isinstance(corpus[1:3], TokenizedCorpus)
    assert corpus[1:3].to_list() == DOCS[1:3]
    assert corpus[::-1].to_list() == DOCS[::-1]
    assert corpus[5:9].to_list() == []
    assert corpus[[3, 0, 0]].to_list() == [DOCS[3], DOCS[0], DOCS[0]]
    assert corpus[np.array([True, False, True, False])].to_list() == [DOCS[0], DOCS[2]]
    assert corpus[np.array([-1])].to_list() == [DOCS[-1]]


def test_corpus_index_errors(corpus):
    with pytest.raises(IndexError, match="document index 4 out of range for a corpus of 4"):
        corpus[4]
    with pytest.raises(IndexError, match="out of range"):
        corpus[[0, 7]]
    with pytest.raises(IndexError, match="boolean index of shape"):
        corpus[np.array([True])]


def test_corpus_pickle_round_trip_is_compact(corpus):
    again = pickle.loads(pickle.dumps(corpus))
    assert again == corpus and again.to_list() == DOCS
    big = TokenizedCorpus.from_token_lists([["tok%d" % (i % 50) for i in range(200)]] * 500)
    assert len(pickle.dumps(big)) < big.n_tokens * 4 + 10_000  # ~ 4 bytes a token


def test_corpus_from_token_lists_accepts_generators_and_tuples():
    corpus = TokenizedCorpus.from_token_lists(iter([("x", "y"), iter(["y"])]))
    assert corpus.to_list() == [["x", "y"], ["y"]]
    assert TokenizedCorpus.from_token_lists(corpus) is corpus
    empty = TokenizedCorpus.from_token_lists([])
    assert len(empty) == 0 and empty.n_tokens == 0 and empty.to_list() == []


def test_corpus_constructor_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="offsets must start at 0"):
        TokenizedCorpus([0, 1], [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="ids must index the string table of 1 strings"):
        TokenizedCorpus([0, 3], [0, 2], ["a"])
    with pytest.raises(ValueError, match="ids must be a 1-D array of integers"):
        TokenizedCorpus([0.5], [0, 1], ["a"])
    ok = TokenizedCorpus(np.array([1, 0]), [0, 1, 2], ["a", "b"])
    assert ok.to_list() == [["b"], ["a"]]


def test_corpus_concatenate_merges_string_tables():
    a = TokenizedCorpus.from_token_lists([["x", "y"]])
    b = TokenizedCorpus.from_token_lists([["z", "y"], []])
    both = TokenizedCorpus.concatenate([a, b])
    assert both.to_list() == [["x", "y"], ["z", "y"], []]
    assert both.strings == ("x", "y", "z")
    assert TokenizedCorpus.concatenate([]).to_list() == []
    with pytest.raises(TypeError, match="concatenate expects TokenizedCorpus objects, got list"):
        TokenizedCorpus.concatenate([a, [["x"]]])


def test_corpus_lookup_counts_and_first_positions(corpus):
    assert corpus.lookup({"a": 2, "good": 3}, default=1).tolist() == [2, 3, 1, 2, 1, 1, 3]
    assert corpus.token_counts().tolist() == [2, 2, 1, 2]
    assert corpus.first_positions().tolist() == [0, 1, 2, 4]


def test_corpus_compact_and_map_strings(corpus):
    sub = corpus[2:3]
    assert len(sub.strings) == 4
    compact = sub.compact()
    assert compact.strings == ("a", "dud") and compact == sub
    upper = TokenizedCorpus.from_token_lists([["A", "a", "b"]]).map_strings(str.lower)
    assert upper.to_list() == [["a", "a", "b"]] and upper.strings == ("a", "b")


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 2), (1, 3), (2, 4)])
def test_corpus_ngrams_match_sklearn_word_ngrams(ngram_range):
    from sklearn.feature_extraction.text import CountVectorizer

    rng = np.random.default_rng(0)
    words = ["w%d" % i for i in range(6)]
    docs = [list(rng.choice(words, size=rng.integers(0, 7))) for _ in range(40)]
    ours = TokenizedCorpus.from_token_lists(docs).ngrams(ngram_range)
    sk = CountVectorizer(ngram_range=ngram_range)
    expected = [sk._word_ngrams(doc) for doc in docs]
    assert ours.to_list() == expected


def test_corpus_tail_keeps_each_documents_last_tokens():
    docs = [["a", "b", "c", "d"], ["e"], [], ["f", "g"]]
    corpus = TokenizedCorpus.from_token_lists(docs)
    for k in (0, 1, 2, 3, 10):
        tail = corpus.tail(k)
        assert isinstance(tail, TokenizedCorpus)
        assert tail.to_list() == [d[len(d) - min(k, len(d)):] for d in docs]
    # of a slice, and of an n-gram corpus (built lazily; its n-grams in scikit-learn's order, unigrams first)
    assert corpus[1:].tail(1).to_list() == [["e"], [], ["g"]]
    assert corpus.ngrams((1, 2)).tail(2).to_list() == [["b c", "c d"], ["e"], [], ["g", "f g"]]
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_tokens must be an int >= 0"):
            corpus.tail(bad)

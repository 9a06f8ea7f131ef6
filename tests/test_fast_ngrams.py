"""The fast n-gram path (strings built lazily, ids found from token ids) against the reference path.

The reference is what the toolkit did before: build every n-gram string, then
look each one up in the vocabulary's dict (``TokenizedCorpus.lookup``), and
scikit-learn's ``CountVectorizer._word_ngrams`` for the n-grams themselves.
All comparisons run on real IMDB reviews tokenized by ``SpacyTokenizer``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from toolkit.text import BagEncoder, SequenceEncoder, SpacyTokenizer, Vocabulary
from toolkit.text.corpus import NgramIndex, TokenizedCorpus, _NgramCorpus
from toolkit.text.vocabulary import OOV_ID


@pytest.fixture(scope="module")
def imdb_unigrams(shared_data):
    """(train, test) unigram corpora of 300 + 300 real IMDB reviews."""
    from toolkit.data.datasets import load_imdb

    tarball = shared_data / "aclImdb_v1.tar.gz"
    train = load_imdb("train", path=tarball, limit=300, shuffle=True, random_state=0)
    test = load_imdb("test", path=tarball, limit=300, shuffle=True, random_state=0)
    tokenizer = SpacyTokenizer()
    return tokenizer.transform(train.texts), tokenizer.transform(test.texts)


def _reference_ids(corpus, vocabulary):
    """One dict lookup per n-gram string of the materialized corpus."""
    mapping = vocabulary.token_to_id
    return np.array([mapping.get(tok, OOV_ID) for doc in corpus.to_list() for tok in doc], dtype=np.int32)


@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 3), (2, 3), (3, 3), (1, 4)])
def test_fast_ngrams_equal_sklearn_word_ngrams_on_imdb(imdb_unigrams, ngram_range):
    from sklearn.feature_extraction.text import CountVectorizer

    unigrams = imdb_unigrams[1]
    grams = unigrams.ngrams(ngram_range)
    assert isinstance(grams, _NgramCorpus) and not grams._built()  # nothing built yet
    assert grams.n_tokens == int(grams.offsets[-1])
    sk = CountVectorizer(ngram_range=ngram_range)
    expected = [sk._word_ngrams(doc) for doc in unigrams.to_list()]
    assert grams.to_list() == expected
    assert len(set(grams.strings)) == len(grams.strings)  # one entry per distinct n-gram
    assert grams.lengths().tolist() == [len(doc) for doc in expected]


@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 3), (2, 3)])
@pytest.mark.parametrize("max_tokens,min_count", [(None, 1), (5000, 1), (None, 2)])
def test_fast_ngrams_encode_equals_dict_lookup_on_imdb(imdb_unigrams, ngram_range, max_tokens, min_count):
    train, test = imdb_unigrams
    vocabulary = Vocabulary.from_documents(train.ngrams(ngram_range), max_tokens=max_tokens, min_count=min_count)
    fast = test.ngrams(ngram_range)
    ids = vocabulary.encode(fast)
    assert not fast._built()  # the fast path ran: no n-gram string was made
    reference = test.ngrams(ngram_range)
    assert np.array_equal(ids, _reference_ids(reference, vocabulary))
    assert np.array_equal(ids, reference.lookup(vocabulary.token_to_id, OOV_ID))
    # the training corpus itself (every n-gram known) and a slice of documents
    again = train.ngrams(ngram_range)
    assert np.array_equal(vocabulary.encode(again), _reference_ids(again, vocabulary))
    part = test[50:60].ngrams(ngram_range)
    assert np.array_equal(vocabulary.encode(part), _reference_ids(part, vocabulary))


def test_fast_ngrams_index_from_vocabulary_equals_index_from_strings(imdb_unigrams):
    train, test = imdb_unigrams
    vocabulary = Vocabulary.from_documents(train.ngrams((1, 3)), max_tokens=20000)
    from_strings = NgramIndex(vocabulary.token_to_id)
    built = vocabulary._ngram_indexes[" "]
    for grams in (test.ngrams((1, 3)), train.ngrams((1, 3))):
        a = grams.lookup_ids(from_strings, OOV_ID)
        b = TokenizedCorpus.ngrams(grams._source, (1, 3)).lookup_ids(built, OOV_ID)
        assert np.array_equal(a, b)
        assert np.array_equal(a, _reference_ids(grams, vocabulary))


def test_fast_ngrams_unknown_token_never_packs_to_a_real_key():
    """Codes a=0, b=1 (base 2): ("b", unknown) packs to 1*2 + (-1) = 1, the key of "a b"."""
    index = NgramIndex({"a": 2, "b": 3, "a b": 4, "b a": 5})
    grams = TokenizedCorpus.from_token_lists([["b", "zzz", "a", "b", "a"]]).ngrams((2, 2))
    assert grams.lookup_ids(index, OOV_ID).tolist() == [OOV_ID, OOV_ID, 4, 5]


def test_fast_ngrams_tokens_holding_the_separator_use_the_reference_path():
    # "a b" + "c" and "a" + "b c" join to the same string; only the string path gets that right
    train = TokenizedCorpus.from_token_lists([["a b", "c", "a", "b c"], ["x", "a", "b"]])
    vocabulary = Vocabulary.from_documents(train.ngrams((1, 2)))
    test = TokenizedCorpus.from_token_lists([["a", "b c", "a b", "c", "x", "a", "b"]])
    grams = test.ngrams((1, 2))
    assert np.array_equal(vocabulary.encode(grams), _reference_ids(test.ngrams((1, 2)), vocabulary))
    plain = Vocabulary.from_documents(TokenizedCorpus.from_token_lists([["a", "b"]]).ngrams((1, 2)))
    assert grams.lookup_ids(plain._ngram_indexes[" "], OOV_ID) is None


def test_fast_ngrams_pickle_and_sequence_behaviour(imdb_unigrams):
    train, test = imdb_unigrams
    grams = test[:40].ngrams((1, 3))
    restored = pickle.loads(pickle.dumps(grams))
    assert restored == grams and restored.strings == grams.strings
    assert grams[3] == grams.to_list()[3]
    assert grams[5:9].to_list() == grams.to_list()[5:9]
    assert TokenizedCorpus.concatenate([grams, test[:2]]).to_list() == grams.to_list() + test[:2].to_list()
    vocabulary = Vocabulary.from_documents(train.ngrams((1, 3)))
    copy = pickle.loads(pickle.dumps(vocabulary))
    assert copy == vocabulary
    assert np.array_equal(copy.encode(test.ngrams((1, 3))), vocabulary.encode(test.ngrams((1, 3))))


def test_fast_ngrams_empty_and_short_documents():
    corpus = TokenizedCorpus.from_token_lists([[], ["a"], ["a", "b"], []])
    vocabulary = Vocabulary.from_documents(TokenizedCorpus.from_token_lists([["a", "b", "a"]]).ngrams((1, 3)))
    grams = corpus.ngrams((1, 3))
    assert grams.lengths().tolist() == [0, 1, 3, 0]
    assert vocabulary.encode(grams).tolist() == _reference_ids(corpus.ngrams((1, 3)), vocabulary).tolist()
    empty = TokenizedCorpus.from_token_lists([]).ngrams((1, 2))
    assert len(empty) == 0 and vocabulary.encode(empty).size == 0


def test_fast_ngrams_encoders_equal_on_fast_and_reference_input(imdb_unigrams):
    train, test = imdb_unigrams
    for encoder in (BagEncoder(output_mode="multi_hot"), SequenceEncoder(maxlen=300), BagEncoder(output_mode="tf_idf")):
        encoder.fit(train.ngrams((1, 3)))
        fast = encoder.transform(test.ngrams((1, 3)))
        reference = encoder.transform(test.ngrams((1, 3)).to_list())  # plain lists: string lookups
        if hasattr(fast, "toarray"):
            assert (fast != reference).nnz == 0
        else:
            assert np.array_equal(fast, reference)


def test_fast_ngrams_nbsvm_classifier_same_probabilities(imdb_unigrams, shared_data):
    from toolkit.data.datasets import load_imdb
    from toolkit.models import EmbeddingClassifier

    train, test = imdb_unigrams
    labels = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=300, shuffle=True,
                       random_state=0).labels
    clf = EmbeddingClassifier(architecture="nbsvm", epochs=1, random_state=0).fit(train.ngrams((1, 3)), labels)
    fast = clf.predict_proba(test.ngrams((1, 3)))
    reference = clf.predict_proba(test.ngrams((1, 3)).to_list())
    assert np.array_equal(fast, reference)


def test_fast_ngrams_vocabulary_state_is_compact_and_keeps_the_index(imdb_unigrams, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    train, test = imdb_unigrams
    vocabulary = Vocabulary.from_documents(train.ngrams((1, 3)))
    restored = pickle.loads(pickle.dumps(vocabulary))
    assert restored == vocabulary and restored.token_to_id == vocabulary.token_to_id
    fast = test.ngrams((1, 3))
    assert np.array_equal(restored.encode(fast), _reference_ids(test.ngrams((1, 3)), vocabulary))
    assert not fast._built()  # the index came back with it
    odd = Vocabulary(["a\ud800", "é", "", "a b"])  # a lone surrogate, non-ASCII, empty
    assert pickle.loads(pickle.dumps(odd)).tokens == odd.tokens
    path = tmp_path / "vocabulary.skops"
    skops_io.dump(vocabulary, path)
    # arrays, not one skops node per token: about the size of the pickle
    assert path.stat().st_size < 2 * len(pickle.dumps(vocabulary))
    loaded = skops_io.load(path, trusted=["toolkit.text.vocabulary.Vocabulary"])
    assert loaded == vocabulary and np.array_equal(loaded.encode(test.ngrams((1, 3))), vocabulary.encode(fast))


def test_vocabulary_state_stores_lengths_counts_and_ids_narrow(imdb_unigrams):
    """A saved 1-3-gram vocabulary costs its text plus about 15 bytes an entry (a one-byte length, a
    two-byte count, the 8-byte packed n-gram key and a 4-byte id), not 32 with every integer as int64:
    most of a saved stacked model is such vocabularies. Lossless: the restored one encodes the same."""
    train, test = imdb_unigrams
    vocabulary = Vocabulary.from_documents(train.ngrams((1, 3)))
    vocabulary.encode(test.ngrams((1, 3)))  # builds the n-gram index the state carries
    state = vocabulary.__getstate__()
    text_bytes = len("".join(vocabulary.tokens).encode("utf-8"))
    assert state["tokens"][1].dtype == np.uint8 and state["counts"].dtype == np.uint16
    assert all(v.dtype == np.uint32 for entry in state["ngram_indexes"] for v in entry["values"])
    assert len(pickle.dumps(vocabulary)) < text_bytes + 20 * len(vocabulary)
    restored = pickle.loads(pickle.dumps(vocabulary))
    assert restored == vocabulary and restored.counts.dtype == np.int64
    assert np.array_equal(restored.encode(test.ngrams((1, 3))), vocabulary.encode(test.ngrams((1, 3))))


def test_capped_vocabulary_that_keeps_no_bigram_encodes_new_bigrams_as_unknown():
    # Before: IndexError (index -1 is out of bounds) in NgramIndex.find, when max_tokens cut every bigram.
    from toolkit.text import TokenizedCorpus, Vocabulary

    fit = TokenizedCorpus.from_token_lists([["a", "b", "a", "b", "c"]]).ngrams((1, 2))
    vocab = Vocabulary.from_documents(fit, max_tokens=4)
    assert not any(" " in token for token in vocab.tokens)  # the cap kept unigrams only
    new = TokenizedCorpus.from_token_lists([["a", "b", "x"]]).ngrams((1, 2))
    ids = vocab.encode(new)
    assert ids.tolist() == vocab.encode(list(new[0])).tolist()  # the corpus path agrees with the string path
    assert ids.tolist() == [vocab.token_to_id["a"], vocab.token_to_id["b"], 1, 1, 1]

"""SequenceEncoder, BagEncoder and HashingEncoder: results, oracles, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.encoders import BagEncoder, HashingEncoder, SequenceEncoder, bag_matrix, smoothed_idf
from toolkit.text.vocabulary import Vocabulary, pad_sequences

DOCS = [["the", "film", "was", "good"], ["the", "plot", "was", "thin", "thin"], ["good"], []]


@pytest.fixture(scope="module")
def imdb_corpus(shared_data):
    from toolkit.data.datasets import load_imdb
    from toolkit.text.tokenizer import SpacyTokenizer

    texts = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=1000).texts
    return SpacyTokenizer().transform(texts)


def test_encoders_sequence_encoder_matches_vocabulary_and_pad_sequences(imdb_corpus):
    enc = SequenceEncoder(max_tokens=2000, maxlen=80).fit(imdb_corpus)
    X = enc.transform(imdb_corpus)
    assert X.dtype == np.int32 and X.shape == (len(imdb_corpus), 80)
    vocab = enc.vocabulary_
    assert len(vocab) == 2000 and vocab.tokens[:3] == ["<pad>", "<unk>", "the"]
    expected = pad_sequences([vocab.encode(doc) for doc in imdb_corpus.to_list()], maxlen=80)
    np.testing.assert_array_equal(X, expected)
    # lists of lists and the corpus give the same result
    np.testing.assert_array_equal(enc.transform(imdb_corpus.to_list()[:50]), X[:50])


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_encoders_sequence_encoder_padding_and_truncating(padding, truncating):
    enc = SequenceEncoder(maxlen=3, padding=padding, truncating=truncating).fit(DOCS)
    ids = [enc.vocabulary_.encode(d).tolist() for d in DOCS]
    expected = pad_sequences(ids, maxlen=3, padding=padding, truncating=truncating)
    np.testing.assert_array_equal(enc.transform(DOCS), expected)


def test_encoders_sequence_encoder_defaults_and_inverse():
    enc = SequenceEncoder().fit(DOCS)
    assert enc.maxlen_ == 5  # longest training document
    X = enc.transform([["the", "unseen", "good"]])
    assert X.tolist() == [[0, 0, 2, 1, 4]]
    assert enc.inverse_transform(X) == [["the", "<unk>", "good"]]
    assert enc.get_feature_names_out().tolist()[:2] == ["sequenceencoder0", "sequenceencoder1"]
    with pytest.raises(ValueError, match=r"Expected a 2-D array of ids, got an array of shape \(3,\)"):
        enc.inverse_transform([1, 2, 3])


def test_encoders_sequence_encoder_max_tokens_and_min_count():
    enc = SequenceEncoder(max_tokens=4).fit(DOCS)
    assert enc.vocabulary_.tokens == ["<pad>", "<unk>", "the", "was"]
    enc = SequenceEncoder(min_count=2).fit(DOCS)
    assert enc.vocabulary_.tokens[2:] == ["the", "was", "good", "thin"]


def test_encoders_bag_modes():
    counts = BagEncoder(output_mode="count").fit(DOCS)
    names = counts.get_feature_names_out().tolist()
    assert names == ["<unk>", "the", "was", "good", "thin", "film", "plot"]
    X = counts.transform([["thin", "thin", "new", "the"]])
    assert sp.issparse(X) and X.format == "csr" and X.dtype == np.float32
    assert X.toarray().tolist() == [[1, 1, 0, 0, 2, 0, 0]]
    multi = BagEncoder().fit(DOCS).transform([["thin", "thin", "new", "the"]])
    assert multi.toarray().tolist() == [[1, 1, 0, 0, 1, 0, 0]]
    assert BagEncoder().fit(DOCS).transform([[]]).nnz == 0


# Fitted on DOCS: columns <unk>, the, was, good, thin, film, plot. Training document frequencies
# (of 4 documents): <unk> 0, the 2, was 2, good 2, thin 1, film 1, plot 1.
QUERY = [["thin", "thin", "new", "the", "good"], ["plot"], []]
IDF = [np.log(5 / 1) + 1, np.log(5 / 3) + 1, np.log(5 / 3) + 1, np.log(5 / 3) + 1,
       np.log(5 / 2) + 1, np.log(5 / 2) + 1, np.log(5 / 2) + 1]
EXPECTED_BAGS = {
    "count": [[1, 1, 0, 1, 2, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7],
    "multi_hot": [[1, 1, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7],
    "tf_idf": [[IDF[0], IDF[1], 0, IDF[3], 2 * IDF[4], 0, 0], [0, 0, 0, 0, 0, 0, IDF[6]], [0] * 7],
}


@pytest.mark.parametrize("mode", sorted(EXPECTED_BAGS))
def test_encoders_bag_each_mode_gives_its_hand_computed_matrix(mode):
    enc = BagEncoder(output_mode=mode, dtype=np.float64).fit(DOCS)
    assert enc.get_feature_names_out().tolist() == ["<unk>", "the", "was", "good", "thin", "film", "plot"]
    X = enc.transform(QUERY)
    assert X.format == "csr" and X.dtype == np.float64 and X.shape == (3, 7)
    np.testing.assert_allclose(X.toarray(), EXPECTED_BAGS[mode], rtol=1e-12)
    if mode == "tf_idf":
        np.testing.assert_allclose(enc.idf_, IDF, rtol=1e-12)
    else:
        assert not hasattr(enc, "idf_")


def test_encoders_bag_modes_differ_from_each_other():
    got = {mode: BagEncoder(output_mode=mode).fit(DOCS).transform(QUERY).toarray() for mode in EXPECTED_BAGS}
    for a in got:
        for b in got:
            if a < b:
                assert not np.allclose(got[a], got[b]), (a, b)


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("sublinear_tf", [False, True])
def test_encoders_bag_tf_idf_norm_and_sublinear_by_hand(norm, sublinear_tf):
    X = BagEncoder(output_mode="tf_idf", norm=norm, sublinear_tf=sublinear_tf, dtype=np.float64).fit(DOCS).transform(QUERY)
    tf = np.array(EXPECTED_BAGS["count"], dtype=np.float64)
    if sublinear_tf:
        tf[tf > 0] = 1 + np.log(tf[tf > 0])  # "thin" twice: 1 + ln 2
    row = tf[0] * IDF
    row /= np.abs(row).sum() if norm == "l1" else np.sqrt((row**2).sum())
    np.testing.assert_allclose(X.toarray()[0], row, rtol=1e-12)
    np.testing.assert_allclose(X.toarray()[1], [0, 0, 0, 0, 0, 0, 1])  # one token: normalized to 1
    assert X[2].nnz == 0  # an empty document stays zero, never NaN


def test_encoders_bag_tf_idf_on_hand_example_equals_sklearn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    sk = TfidfVectorizer(analyzer=lambda d: d, smooth_idf=True, norm=None).fit(DOCS)
    ours = BagEncoder(output_mode="tf_idf", dtype=np.float64).fit(DOCS)
    position = {t: i for i, t in enumerate(ours.get_feature_names_out())}
    columns = [position[t] for t in sk.get_feature_names_out()]  # sklearn has no <unk> column
    np.testing.assert_allclose(ours.idf_[columns], sk.idf_, rtol=1e-12)
    query = [[t for t in doc if t in position] for doc in QUERY]  # sklearn drops unknown tokens
    np.testing.assert_allclose(ours.transform(query)[:, columns].toarray(), sk.transform(query).toarray(), rtol=1e-12)


@pytest.mark.parametrize("norm", [None, "l1", "l2"])
@pytest.mark.parametrize("sublinear_tf", [False, True])
def test_encoders_bag_tf_idf_equals_sklearn(imdb_corpus, norm, sublinear_tf):
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = imdb_corpus[:300]
    ours = BagEncoder(output_mode="tf_idf", norm=norm, sublinear_tf=sublinear_tf, dtype=np.float64).fit(docs)
    sk = TfidfVectorizer(analyzer=lambda d: d, norm=norm, sublinear_tf=sublinear_tf).fit(docs.to_list())
    position = {t: i for i, t in enumerate(ours.get_feature_names_out())}
    columns = [position[t] for t in sk.get_feature_names_out()]
    got = ours.transform(docs)
    np.testing.assert_allclose(got[:, columns].toarray(), sk.transform(docs.to_list()).toarray(), rtol=1e-10)
    assert got[:, 0].nnz == 0  # no OOV in the training documents


@pytest.mark.parametrize("params", [dict(output_mode="tf_idf", sublinear_tf=True, norm="l2"),
                                    dict(output_mode="tf_idf"), dict(output_mode="multi_hot"),
                                    dict(output_mode="count", norm="l1")])
def test_encoders_bag_fit_transform_is_fit_then_transform_counting_once(imdb_corpus, params, monkeypatch):
    """fit_transform gives fit(X).transform(X); with tf_idf it encodes the counts that gave the idf (counting
    the n-grams of a large corpus twice was a quarter of the stack's "ratings" member's fit)."""
    docs = imdb_corpus[:300]
    expected = BagEncoder(**params).fit(docs).transform(docs)
    calls = []
    raw_counts = BagEncoder._raw_counts
    monkeypatch.setattr(BagEncoder, "_raw_counts", lambda self, corpus: calls.append(1) or raw_counts(self, corpus))
    enc = BagEncoder(**params)
    got = enc.fit_transform(docs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got.toarray(), expected.toarray())
    assert len(calls) == 1  # tf_idf used to count twice (fit's idf, then transform); the others count in transform
    np.testing.assert_array_equal(enc.transform(docs).toarray(), expected.toarray())


def test_encoders_bag_one_hot():
    enc = BagEncoder(output_mode="one_hot").fit([["red"], ["blue"], ["red"], []])
    assert enc.get_feature_names_out().tolist() == ["<unk>", "red", "blue"]
    assert enc.transform([["blue"], ["green"], [], ["red"]]).toarray().tolist() == [
        [0, 0, 1], [1, 0, 0], [0, 0, 0], [0, 1, 0]
    ]
    with pytest.raises(ValueError, match="output_mode='one_hot' encodes one token per document .* document 1 has 2 tokens"):
        enc.transform([["red"], ["red", "blue"]])
    with pytest.raises(ValueError, match="document 0 has 4 tokens"):
        BagEncoder(output_mode="one_hot").fit(DOCS)


@pytest.mark.parametrize("alternate_sign", [False, True])
@pytest.mark.parametrize("output_mode", ["count", "multi_hot"])
@pytest.mark.parametrize("norm", [None, "l2"])
def test_encoders_hashing_equals_sklearn(imdb_corpus, alternate_sign, output_mode, norm):
    from sklearn.feature_extraction.text import HashingVectorizer

    docs = imdb_corpus[:200]
    sk = HashingVectorizer(
        analyzer=lambda d: d, n_features=2**10, alternate_sign=alternate_sign, binary=output_mode == "multi_hot", norm=norm
    )
    ours = HashingEncoder(n_features=2**10, alternate_sign=alternate_sign, output_mode=output_mode, norm=norm, dtype=np.float64)
    np.testing.assert_allclose(ours.transform(docs).toarray(), sk.transform(docs.to_list()).toarray(), rtol=1e-12)


def test_encoders_hashing_is_stateless_and_stable():
    enc = HashingEncoder(n_features=32)
    X = enc.transform([["a", "b", "a"], []])  # no fit needed
    assert X.shape == (2, 32) and X.sum() == 3 and X[1].nnz == 0
    from sklearn.utils import murmurhash3_32

    assert X[0, abs(murmurhash3_32("a", seed=0)) % 32] == 2  # fixed hash, same in every process


def test_encoders_transform_before_fit_raises():
    for enc in (SequenceEncoder(), BagEncoder()):
        with pytest.raises(NotFittedError, match=f"This {type(enc).__name__} instance is not fitted yet"):
            enc.transform(DOCS)


@pytest.mark.parametrize("Encoder", [SequenceEncoder, BagEncoder])
def test_encoders_empty_corpus_and_empty_vocabulary(Encoder):
    with pytest.raises(ValueError, match=f"Cannot fit {Encoder.__name__} on an empty corpus"):
        Encoder().fit([])
    with pytest.raises(ValueError, match=f"The vocabulary of {Encoder.__name__} is empty: no token occurs at least min_count=1"):
        Encoder().fit([[], []])
    with pytest.raises(ValueError, match="min_count=9"):
        Encoder(min_count=9).fit(DOCS)


@pytest.mark.parametrize("Encoder", [SequenceEncoder, BagEncoder, HashingEncoder])
def test_encoders_reject_raw_strings(Encoder):
    enc = Encoder()
    with pytest.raises(ValueError, match=f"{Encoder.__name__} expects a sequence of token lists for X, got str. Tokenize first"):
        enc.fit_transform("a raw string")
    with pytest.raises(ValueError, match=f"{Encoder.__name__} expects token lists, but document 0 of X is a raw string"):
        enc.fit_transform(["a raw string"])
    with pytest.raises(ValueError, match=r"expects token lists of str, but document 1 of X contains an int \(3\)"):
        enc.fit_transform([["a"], ["b", 3]])


def test_encoders_invalid_parameters():
    cases = [
        (SequenceEncoder(maxlen=0), r"The 'maxlen' parameter of SequenceEncoder must be an int in the range \[1, inf\) or None. Got 0 instead."),
        (SequenceEncoder(maxlen=-5), r"The 'maxlen' parameter of SequenceEncoder must be .* Got -5 instead."),
        (SequenceEncoder(max_tokens=2), r"The 'max_tokens' parameter of SequenceEncoder must be an int in the range \[3, inf\) or None. Got 2 instead."),
        (SequenceEncoder(padding="left"), r"The 'padding' parameter of SequenceEncoder must be a str among \{'post', 'pre'\}. Got 'left' instead."),
        (SequenceEncoder(min_count=0.5), r"The 'min_count' parameter of SequenceEncoder must be an int in the range \[1, inf\). Got 0.5 instead."),
        (BagEncoder(output_mode="tfidf"), r"The 'output_mode' parameter of BagEncoder must be a str among .* Got 'tfidf' instead."),
        (BagEncoder(norm="l3"), r"The 'norm' parameter of BagEncoder must be a str among \{'l1', 'l2'\} or None. Got 'l3' instead."),
        (BagEncoder(dtype=np.int64), r"The 'dtype' parameter of BagEncoder must be a numpy floating type. Got <class 'numpy.int64'> instead."),
        (BagEncoder(dtype="nonsense"), r"The 'dtype' parameter of BagEncoder must be a numpy floating type. Got 'nonsense' instead."),
        (HashingEncoder(n_features=0), r"The 'n_features' parameter of HashingEncoder must be an int in the range \[1, 2147483647\]. Got 0 instead."),
        (HashingEncoder(output_mode="tf_idf"), r"The 'output_mode' parameter of HashingEncoder must be a str among \{'count', 'multi_hot'\}. Got 'tf_idf' instead."),
    ]
    for enc, message in cases:
        with pytest.raises(ValueError, match=message):
            enc.fit(DOCS)


def test_encoders_accept_tokenized_corpus_slices_and_tuples():
    corpus = TokenizedCorpus.from_token_lists(DOCS)
    enc = SequenceEncoder(maxlen=4).fit(corpus[:2])
    np.testing.assert_array_equal(enc.transform(corpus[:2]), enc.transform([tuple(d) for d in DOCS[:2]]))
    assert BagEncoder().fit(corpus[1:]).transform(corpus[1:]).shape[0] == 3


def test_encoders_bag_matrix_from_tokens_corpus_and_padded_ids():
    vocab = Vocabulary(["the", "was", "good"])  # ids 2, 3, 4
    # columns: <pad>, <unk>, the, was, good
    expected = [[0, 1, 1, 1, 1], [0, 3, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    X = bag_matrix(DOCS, vocab)
    assert X.format == "csr" and X.dtype == np.float64 and X.has_canonical_format
    assert X.toarray().tolist() == expected
    assert bag_matrix(TokenizedCorpus.from_token_lists(DOCS), vocab).toarray().tolist() == expected
    ids = SequenceEncoder(maxlen=6).fit([["the", "was", "good"]]).transform(DOCS)  # padding 0 is not counted
    assert bag_matrix(ids, vocab).toarray().tolist() == expected
    no_pad = bag_matrix(DOCS, vocab, padding_column=False, dtype=np.float32)
    assert no_pad.dtype == np.float32 and no_pad.toarray().tolist() == [row[1:] for row in expected]
    with pytest.raises(ValueError, match=r"Ids must be in \[0, 5\) for a vocabulary of 5 ids; got ids from 2 to 7"):
        bag_matrix(np.array([[0, 2, 7]]), vocab)


def test_encoders_count_rows_is_the_csr_sum_of_ones(imdb_tokens):
    """_count_rows (one key sort) builds the same canonical CSR as scipy's sum_duplicates, on real IMDB ids
    with empty documents, and a bag of them equals scikit-learn's CountVectorizer counts."""
    from sklearn.feature_extraction.text import CountVectorizer

    from toolkit.text.encoders import _count_rows, _sum_rows

    docs = [[], *imdb_tokens[0][:200], [], []]
    vocab = Vocabulary.from_documents(docs, max_tokens=3000)
    corpus = TokenizedCorpus.from_token_lists(docs)
    ids = vocab.encode(corpus)
    offsets = np.asarray(corpus.offsets)
    for dtype in (np.float64, np.int32):
        ours = _count_rows(ids, offsets, len(vocab), dtype)
        ref = _sum_rows(ids.astype(np.int64), offsets, len(vocab), np.ones(ids.size, dtype=dtype))
        assert ours.dtype == dtype and ours.shape == ref.shape == (203, len(vocab))
        for name in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(ours, name), getattr(ref, name))
        assert ours.has_canonical_format
    assert _count_rows(np.zeros(0, np.int32), np.zeros(4, np.int64), 5).shape == (3, 5)
    known = [t for t in vocab.tokens if t not in ("<pad>", "<unk>")]
    cv = CountVectorizer(analyzer=lambda d: d, vocabulary=known)
    np.testing.assert_array_equal(bag_matrix(docs, vocab).toarray()[:, 2:], cv.transform(docs).toarray())


def test_encoders_smoothed_idf_is_sklearns_formula():
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = bag_matrix(DOCS, Vocabulary(["the", "was", "good", "film", "plot", "thin"]), padding_column=False)
    # 4 documents; df: <unk> 0, the 2, was 2, good 2, film 1, plot 1, thin 1
    expected = np.log(5 / np.array([1, 3, 3, 3, 2, 2, 2])) + 1
    np.testing.assert_allclose(smoothed_idf(counts), expected, rtol=1e-12)
    np.testing.assert_allclose(smoothed_idf(counts.toarray()), expected, rtol=1e-12)
    np.testing.assert_allclose(smoothed_idf(counts), TfidfTransformer(smooth_idf=True).fit(counts).idf_, rtol=1e-12)

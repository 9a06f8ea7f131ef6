"""A user coming from Keras (``TextVectorization``, the removed ``Tokenizer``, ``pad_sequences``) or from
scikit-learn's vectorizers: toolkit's encoders against those peers, run in the test on the same tokens of real
IMDB training reviews. Each test pins where the outputs agree and the documented conventions where they do not
(tie order, the OOV column, ``max_tokens`` against the peers' size parameters, ``min_count`` against ``min_df``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfVectorizer,
)
from sklearn.preprocessing import normalize

from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.encoders import BagEncoder, HashingEncoder, SequenceEncoder
from toolkit.text.vocabulary import Vocabulary, pad_sequences

N_FIT = 480  # the first 480 of imdb_small's 600 training reviews fit; the other 120 are "new" documents


@pytest.fixture(scope="module")
def imdb_docs(imdb_small):
    """(token lists to fit on, new token lists): spaCy tokens of real IMDB training reviews."""
    from toolkit.text.tokenizer import SpacyTokenizer

    texts, _ = imdb_small
    docs = SpacyTokenizer(lowercase=True, remove_punct=True).fit_transform(texts).to_list()
    assert not any(any(ch.isspace() for ch in token) for doc in docs for token in doc)  # Keras splits on whitespace
    return docs[:N_FIT], docs[N_FIT:]


def _untied_cut(docs, near):
    """A vocabulary size (reserved ids included) near ``near`` whose last kept token outnumbers the first dropped
    one, so that every peer keeps the same tokens whatever its tie order."""
    counts = Vocabulary.from_documents(docs).counts[2:]
    k = next(k for k in range(near, counts.size) if counts[k - 1] > counts[k])
    return k + 2


def _analyzer(doc):
    return doc


def _columns(encoder, names):
    """Columns of ``encoder``'s output (BagEncoder layout) of the peer's feature ``names``."""
    return np.array([encoder.vocabulary_.token_to_id[str(t)] - 1 for t in names])


def _text_vectorization(docs, **kwargs):
    keras = pytest.importorskip("keras")
    layer = keras.layers.TextVectorization(standardize=None, split="whitespace", **kwargs)
    layer.adapt([" ".join(doc) for doc in docs])
    return layer, [str(t) for t in layer.get_vocabulary()]


def test_peer_parity_sequence_encoder_is_text_vectorization_padded_at_the_end(imdb_docs):
    fit_docs, new_docs = imdb_docs
    n = _untied_cut(fit_docs, 400)
    layer, keras_vocab = _text_vectorization(fit_docs, max_tokens=n, output_sequence_length=60)
    enc = SequenceEncoder(max_tokens=n, maxlen=60, padding="post", truncating="post").fit(fit_docs)
    ours = enc.vocabulary_.tokens
    assert len(keras_vocab) == len(ours) == n  # max_tokens counts padding and OOV in both
    assert set(keras_vocab[2:]) == set(ours[2:])
    # the same tokens in every cell once each side's ids are read back as strings
    names = {"": "<pad>", "[UNK]": "<unk>"}
    keras_tokens = np.array([names.get(t, t) for t in keras_vocab], dtype=object)
    expected = keras_tokens[np.asarray(layer([" ".join(doc) for doc in new_docs]))]
    np.testing.assert_array_equal(np.array(ours, dtype=object)[enc.transform(new_docs)], expected)
    # ties: Keras ranks equal counts by descending string, toolkit by first occurrence (documented)
    counts = dict(zip(ours, enc.vocabulary_.counts.tolist()))
    assert keras_vocab[2:] == sorted(ours[2:], key=lambda t: (counts[t], t), reverse=True)
    assert keras_vocab[2:] != ours[2:]


@pytest.mark.parametrize("mode", ["multi_hot", "count"])
def test_peer_parity_bag_modes_are_text_vectorizations_with_one_more_max_token(imdb_docs, mode):
    fit_docs, new_docs = imdb_docs
    n = _untied_cut(fit_docs, 300) - 1  # TextVectorization's bag modes: max_tokens counts OOV, not padding
    layer, keras_vocab = _text_vectorization(fit_docs, max_tokens=n, output_mode=mode)
    expected = np.asarray(layer([" ".join(doc) for doc in new_docs]))
    enc = BagEncoder(output_mode=mode, max_tokens=n + 1, dtype=np.float64).fit(fit_docs)
    got = enc.transform(new_docs)
    assert got.shape == expected.shape == (len(new_docs), n)
    assert keras_vocab[0] == "[UNK]"  # the OOV column first, as column 0 here
    columns = np.concatenate([[0], _columns(enc, keras_vocab[1:])])
    np.testing.assert_array_equal(got.toarray()[:, columns], expected)
    assert got[:, 0].sum() > 0  # the new reviews do have OOV tokens


@pytest.mark.parametrize("capped", [False, True])
@pytest.mark.parametrize("sublinear_tf", [False, True])
def test_peer_parity_bag_tf_idf_is_tfidf_vectorizer_without_the_oov_column(imdb_docs, capped, sublinear_tf):
    fit_docs, new_docs = imdb_docs
    k = _untied_cut(fit_docs, 500) - 2 if capped else None
    sk = TfidfVectorizer(analyzer=_analyzer, max_features=k, sublinear_tf=sublinear_tf).fit(fit_docs)
    expected = sk.transform(new_docs)
    enc = BagEncoder(output_mode="tf_idf", max_tokens=None if k is None else k + 2, sublinear_tf=sublinear_tf,
                     dtype=np.float64).fit(fit_docs)
    columns = _columns(enc, sk.get_feature_names_out())
    np.testing.assert_allclose(enc.idf_[columns], sk.idf_, rtol=1e-12)
    # the documented recipe: drop the OOV column, then normalize
    got = normalize(enc.transform(new_docs)[:, 1:])
    np.testing.assert_allclose(got[:, columns - 1].toarray(), expected.toarray(), rtol=1e-9, atol=1e-12)
    # norm="l2" counts the OOV column in the norm (documented): the new reviews come out smaller than sklearn's
    l2 = BagEncoder(output_mode="tf_idf", max_tokens=enc.max_tokens, sublinear_tf=sublinear_tf, norm="l2",
                    dtype=np.float64).fit(fit_docs).transform(new_docs)
    has_oov = l2[:, 0].toarray().ravel() > 0
    assert has_oov.any()
    shrunk = np.abs(l2[:, columns].toarray()).sum(axis=1) < np.abs(expected.toarray()).sum(axis=1) - 1e-9
    np.testing.assert_array_equal(shrunk, has_oov)
    # without a cap, the training documents have no OOV token: their rows are sklearn's as they are
    if not capped:
        train = BagEncoder(output_mode="tf_idf", norm="l2", sublinear_tf=sublinear_tf, dtype=np.float64)
        np.testing.assert_allclose(train.fit_transform(fit_docs)[:, columns].toarray(),
                                   sk.transform(fit_docs).toarray(), rtol=1e-9, atol=1e-12)


def test_peer_parity_max_tokens_and_min_count_against_sklearn(imdb_docs):
    fit_docs, _ = imdb_docs
    k = _untied_cut(fit_docs, 700) - 2
    capped = CountVectorizer(analyzer=_analyzer, max_features=k).fit(fit_docs)
    assert set(Vocabulary.from_documents(fit_docs, max_tokens=k + 2).tokens[2:]) == set(capped.get_feature_names_out())
    # min_count counts occurrences, min_df documents (documented): sklearn's own counts give both sets
    cv = CountVectorizer(analyzer=_analyzer).fit(fit_docs)
    X = cv.transform(fit_docs)
    names = cv.get_feature_names_out()
    by_count = set(names[np.asarray(X.sum(axis=0)).ravel() >= 3])
    by_df = set(CountVectorizer(analyzer=_analyzer, min_df=3).fit(fit_docs).get_feature_names_out())
    ours = set(BagEncoder(min_count=3).fit(fit_docs).get_feature_names_out()[1:])
    assert ours == by_count
    assert by_df < ours


@pytest.mark.parametrize("ngram_range", [(1, 2), (2, 3)])
def test_peer_parity_word_ngrams_are_count_vectorizers(imdb_docs, ngram_range):
    fit_docs, new_docs = imdb_docs
    corpus = TokenizedCorpus.from_token_lists(fit_docs[:200])
    sk = CountVectorizer(tokenizer=_analyzer, preprocessor=_analyzer, lowercase=False, token_pattern=None,
                         ngram_range=ngram_range).fit(fit_docs[:200])
    enc = BagEncoder(output_mode="count", dtype=np.float64).fit(corpus.ngrams(ngram_range))
    assert set(enc.get_feature_names_out()[1:]) == set(sk.get_feature_names_out())
    columns = _columns(enc, sk.get_feature_names_out())
    new = TokenizedCorpus.from_token_lists(new_docs).ngrams(ngram_range)
    assert (enc.transform(new)[:, columns] != sk.transform(new_docs)).nnz == 0


@pytest.mark.parametrize("analyzer", ["char", "char_wb"])
def test_peer_parity_char_analyzers_are_sklearns_on_the_cleaned_text(imdb_small, analyzer):
    from toolkit.text.tokenizer import SpacyTokenizer, clean_text

    texts = imdb_small[0][:80]
    tokens = SpacyTokenizer(analyzer=analyzer, ngram_range=(2, 4)).fit_transform(texts)
    cleaned = [clean_text(t, keep_c1=True) for t in texts]  # HTML and C0 controls out, as the char analyzers do
    sk = CountVectorizer(analyzer=analyzer, ngram_range=(2, 4)).fit(cleaned)
    enc = BagEncoder(output_mode="count", dtype=np.float64).fit(tokens)
    assert set(enc.get_feature_names_out()[1:]) == set(sk.get_feature_names_out())
    assert (enc.transform(tokens)[:, _columns(enc, sk.get_feature_names_out())] != sk.transform(cleaned)).nnz == 0


@pytest.mark.parametrize("alternate_sign, binary, norm", [(True, False, "l2"), (False, True, None), (True, True, "l1")])
def test_peer_parity_hashing_is_hashing_vectorizers_with_ngrams(imdb_docs, alternate_sign, binary, norm):
    fit_docs, _ = imdb_docs
    docs = fit_docs[:200]
    sk = HashingVectorizer(tokenizer=_analyzer, preprocessor=_analyzer, lowercase=False, token_pattern=None,
                           ngram_range=(1, 2), n_features=2**12, alternate_sign=alternate_sign, binary=binary,
                           norm=norm).transform(docs)
    ours = HashingEncoder(n_features=2**12, alternate_sign=alternate_sign, norm=norm, dtype=np.float64,
                          output_mode="multi_hot" if binary else "count").transform(
        TokenizedCorpus.from_token_lists(docs).ngrams((1, 2)))
    assert sp.issparse(ours) and ours.format == sk.format == "csr"
    np.testing.assert_allclose(ours.toarray(), sk.toarray(), rtol=1e-12, atol=1e-15)


def test_peer_parity_hashing_columns_do_not_depend_on_pythonhashseed(imdb_docs, tmp_path):
    fit_docs, _ = imdb_docs
    docs = fit_docs[:40]
    (tmp_path / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
    script = ("import json, sys, numpy as np; from toolkit.text.encoders import HashingEncoder; "
              "docs = json.load(open(sys.argv[1], encoding='utf-8')); "
              "X = HashingEncoder(n_features=2**16, alternate_sign=True).transform(docs).tocoo(); "
              "print(json.dumps([X.row.tolist(), X.col.tolist(), X.data.tolist()]))")
    here = HashingEncoder(n_features=2**16, alternate_sign=True).transform(docs).tocoo()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "docs.json")], env=env, check=True,
                             capture_output=True, text=True, timeout=120)
        rows, cols, data = json.loads(run.stdout.strip().splitlines()[-1])
        assert (rows, cols, data) == (here.row.tolist(), here.col.tolist(), here.data.tolist())


def test_peer_parity_pad_sequences_is_keras_on_imdb_ids(imdb_docs):
    keras = pytest.importorskip("keras")
    fit_docs, new_docs = imdb_docs
    ids = SequenceEncoder(max_tokens=2000, maxlen=1).fit(fit_docs).vocabulary_
    sequences = [ids.encode(doc).tolist() for doc in new_docs[:40]]
    sequences[3:3] = [[], []]  # empty documents among them
    longest = max(map(len, sequences))
    checked = 0
    for seqs in (sequences, [[], []]):
        for maxlen in (None, 1, 7, 150, longest + 5):
            for padding in ("pre", "post"):
                for truncating in ("pre", "post"):
                    for dtype, value in (("int32", 0), ("int64", -1), ("float32", 0.5), ("uint16", 3), (object, None)):
                        kwargs = {"maxlen": maxlen, "padding": padding, "truncating": truncating, "dtype": dtype,
                                  "value": value}
                        expected = keras.utils.pad_sequences(seqs, **kwargs)
                        got = pad_sequences(seqs, **kwargs)
                        assert got.dtype == expected.dtype and got.shape == expected.shape, kwargs
                        np.testing.assert_array_equal(got, expected)
                        checked += 1
    assert checked == 200
    # the documented differences: maxlen=0 is refused, no sequences at all give shape (0, 0)
    with pytest.raises(ValueError, match="The 'maxlen' parameter of pad_sequences must be an int in the range"):
        pad_sequences(sequences, maxlen=0)
    assert pad_sequences([]).shape == (0, 0)


@pytest.mark.parametrize("oov", [True, False])
def test_peer_parity_keras_tokenizer_mapping(imdb_docs, oov):
    """The removed Keras ``Tokenizer`` (the ``keras-preprocessing`` package, in the test extra)."""
    from keras_preprocessing import text
    fit_docs, new_docs = imdb_docs
    n = 1000
    tokenizer = text.Tokenizer(num_words=n, oov_token="<unk>" if oov else None, filters="", lower=False)
    tokenizer.fit_on_texts(fit_docs)
    max_tokens = n if oov else n + 1  # without oov_token the Tokenizer keeps num_words - 1 words
    seqs = tokenizer.texts_to_sequences(new_docs)
    enc = SequenceEncoder(max_tokens=max_tokens, maxlen=1).fit(fit_docs)
    flat = enc.vocabulary_.encode(new_docs)
    if oov:
        assert flat.tolist() == [i for s in seqs for i in s]
    else:  # unknown tokens dropped, the others one id lower
        assert [i - 1 for i in flat.tolist() if i != 1] == [i for s in seqs for i in s]
    for mode, output_mode, norm in (("binary", "multi_hot", None), ("count", "count", None), ("freq", "count", "l1")):
        expected = tokenizer.texts_to_matrix(new_docs, mode=mode)[:, 1:]
        got = BagEncoder(output_mode=output_mode, max_tokens=max_tokens, dtype=np.float64,
                         norm=norm if oov else None).fit(fit_docs).transform(new_docs)
        if not oov:
            got = got[:, 1:]
            if norm:
                got = normalize(got, norm=norm)
        np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12)

"""Session 48: HashingSequenceEncoder reports the documents its ``maxlen`` cuts (as SequenceEncoder does), the
one-document SpacyTokenizer call path, and gaps found using the text chapter's tools.

Real data: small IMDB training reviews from the conftest fixtures."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import toolkit.text.tokenizer as tokenizer_module
from toolkit.text import HashingSequenceEncoder, SequenceEncoder, SpacyTokenizer

_LOGGER = "toolkit.text.vocabulary"


def _messages(caplog, level=logging.INFO):
    return [r.getMessage() for r in caplog.records if r.name == _LOGGER and r.levelno >= level]


# ---------------------------------------------------------------- task 1: what maxlen does to the documents
def test_hashing_sequence_encoder_fit_transform_reports_cut_documents_as_sequence_encoder(imdb_tokens, caplog):
    docs = imdb_tokens[0][:200]
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        SequenceEncoder(maxlen=50).fit_transform(docs)
        sequence = _messages(caplog)
        caplog.clear()
        rows = HashingSequenceEncoder(maxlen=50).fit_transform(docs)
        hashing = _messages(caplog)
    assert rows.shape == (200, 50)
    assert len(sequence) == 1 and "cuts" in sequence[0]
    # the same line, the same numbers (documents cut, share of tokens dropped), under its own name: once
    assert hashing == [sequence[0].replace("SequenceEncoder", "HashingSequenceEncoder")]
    assert hashing[0].startswith("HashingSequenceEncoder(maxlen=50) cuts ")


def test_hashing_sequence_encoder_maxlen_none_warns_about_one_outlying_document(caplog):
    docs = [["w"] * 30_000] + [["a", "b"]] * 200  # one document sets the width of all 201 rows
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        SequenceEncoder().fit(docs)
        sequence = _messages(caplog, logging.WARNING)
        caplog.clear()
        rows = HashingSequenceEncoder().fit_transform(docs)
        hashing = _messages(caplog, logging.WARNING)
    assert rows.shape == (201, 30_000)
    assert hashing == [sequence[0].replace("SequenceEncoder", "HashingSequenceEncoder")]
    assert "HashingSequenceEncoder(maxlen=None) pads every row to the longest document, 30,000 tokens" in hashing[0]
    # each call pads to its own longest document (as pad_sequences(maxlen=None)): transform alone warns, fit fixes
    # no width and says nothing
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        HashingSequenceEncoder().fit(docs)
        assert _messages(caplog) == []
        HashingSequenceEncoder().transform(docs)
        assert _messages(caplog, logging.WARNING) == hashing
        caplog.clear()
        HashingSequenceEncoder().transform(docs[1:])  # without the outlier: nothing to say
        assert _messages(caplog) == []


def test_hashing_sequence_encoder_reports_at_fit_not_at_each_transform(imdb_tokens, caplog):
    docs = imdb_tokens[0][:100]
    encoder = HashingSequenceEncoder(maxlen=20, truncating="post")
    with caplog.at_level(logging.INFO, logger=_LOGGER):
        encoder.fit(docs)
        assert len(_messages(caplog)) == 1 and "the last tokens of each (truncating='post')" in _messages(caplog)[0]
        caplog.clear()
        encoder.transform(docs)  # as SequenceEncoder.transform: new documents (predict) are not reported
        encoder.fit()  # nothing to report on
        assert _messages(caplog) == []
        # in a pipeline: fit reports the training documents once
        pipeline = make_pipeline(HashingSequenceEncoder(maxlen=20), FunctionTransformer())
        pipeline.fit(docs)
        assert len(_messages(caplog)) == 1
        caplog.clear()
        HashingSequenceEncoder(maxlen=10_000).fit_transform(docs)  # cuts nothing: says nothing
        assert _messages(caplog) == []


def test_hashing_sequence_encoder_fit_transform_of_a_generator_reads_it_once(imdb_tokens):
    docs = imdb_tokens[0][:30]
    rows = HashingSequenceEncoder(maxlen=40).fit_transform(doc for doc in docs)
    assert rows.shape == (30, 40)
    np.testing.assert_array_equal(rows, HashingSequenceEncoder(maxlen=40).transform(docs))


def test_hashing_sequence_encoder_fit_refuses_raw_texts_as_transform_does(imdb_small):
    texts = imdb_small[0][:3]
    with pytest.raises(ValueError, match="HashingSequenceEncoder expects token lists"):
        HashingSequenceEncoder(maxlen=5).fit(texts)
    with pytest.raises(ValueError, match="HashingSequenceEncoder expects token lists"):
        HashingSequenceEncoder(maxlen=5).fit_transform(texts)


# ---------------------------------------------------------------- task 2: one document per call
@pytest.mark.parametrize("params", [{}, {"remove_space": False}])
def test_tokenizer_call_equals_batch_where_special_cases_meet(imdb_small, monkeypatch, params):
    """Guard: the one-document path gives the batch's tokens, through both re-tokenizing branches (a window
    where two spans may meet in a special case, and, keeping spaces, the whole document)."""
    docs = imdb_small[0][:120] + ["she said: ' hi", "Hello :) world", "U.S. c'mon", "", "   ", "x  y \n z"]
    seen = {"windows": 0, "document": 0}
    windows, whole = tokenizer_module._Engine._retokenize_windows, tokenizer_module._Engine.tokenize_doc

    def counting_windows(self, *args):
        seen["windows"] += 1
        return windows(self, *args)

    def counting_document(self, *args):
        seen["document"] += 1
        return whole(self, *args)

    batch = SpacyTokenizer(**params).fit_transform(docs).to_list()
    monkeypatch.setattr(tokenizer_module._Engine, "_retokenize_windows", counting_windows)
    monkeypatch.setattr(tokenizer_module._Engine, "tokenize_doc", counting_document)
    tokenizer = SpacyTokenizer(**params)
    assert [tokenizer(doc) for doc in docs] == batch
    assert seen["windows" if params.get("remove_space", True) else "document"] > 0


# ---------------------------------------------------------------- task 3: gaps found as a user
def test_tokenizer_call_errors_do_not_name_document_0_of_the_users_data(imdb_small):
    """CountVectorizer(tokenizer=SpacyTokenizer()) calls it once per document: "Document 0 of X" sent the user
    to the first document of their data, not to the bad one."""
    from sklearn.feature_extraction.text import CountVectorizer

    from toolkit.exceptions import DocumentError

    texts = imdb_small[0][:5]
    vectorizer = CountVectorizer(tokenizer=SpacyTokenizer(max_length=2_000), lowercase=False, token_pattern=None)
    with pytest.raises(DocumentError, match=r"The document given to SpacyTokenizer\(\) is missing \(None/NaN\)") as info:
        vectorizer.fit([*(text for text in texts if len(text) <= 2_000), None])
    assert "Document 0" not in str(info.value) and info.value.document_index is None
    assert "does not know the document's position in your data; its transform(X) names it" in str(info.value)
    long = next(i for i, text in enumerate(texts) if len(text) > 2_000)
    with pytest.raises(DocumentError, match=r"The document given to SpacyTokenizer\(\) has [\d,]+ characters, more "
                                            r"than max_length=2,000"):
        vectorizer.fit(texts)
    with pytest.raises(DocumentError, match=f"Document {long} of X has"):  # transform names it, as before
        SpacyTokenizer(max_length=2_000).transform(texts)
    with pytest.raises(DocumentError, match=r"The document given to SpacyTokenizer\(\) is bytes; decode it first"):
        SpacyTokenizer()(b"bytes")


def test_corpus_map_strings_refuses_a_function_that_returns_no_str(imdb_tokens):
    from toolkit.text import TokenizedCorpus

    corpus = TokenizedCorpus.from_token_lists(imdb_tokens[0][:20])
    upper = corpus.map_strings(str.upper)
    assert upper.to_list() == [[t.upper() for t in doc] for doc in imdb_tokens[0][:20]]
    stops = {"the", "a"}
    # a None token went into the corpus silently, and failed later (n-grams, encoders) far from here
    with pytest.raises(TypeError, match=r"map_strings: func must return a str for each token; it returned None for "
                                        r"'(the|a)'\. Return the token itself"):
        corpus.map_strings(lambda s: None if s in stops else s)
    with pytest.raises(TypeError, match=r"it returned int \(\d+\) for '"):
        corpus.map_strings(len)


def test_vocabulary_encode_refuses_tokens_that_are_not_str(imdb_tokens):
    import pandas as pd

    from toolkit.text import Vocabulary

    docs = imdb_tokens[0][:50]
    vocabulary = Vocabulary.from_documents(docs, max_tokens=200)
    tokens = list(docs[0][:10])
    assert vocabulary.encode(tokens).tolist() == vocabulary.encode(np.array(tokens)).tolist()  # numpy str_: str
    # a NaN or None (a Series of tokens with a missing value) became the OOV id silently; a corpus refuses them
    with pytest.raises(TypeError, match=r"encode expects tokens of str, but token 3 is float \(nan\)\. Give every "
                                        r"token as a str, or drop the missing ones\."):
        vocabulary.encode(pd.Series([*tokens[:3], np.nan]))
    with pytest.raises(TypeError, match="encode expects tokens of str, but token 1 is None"):
        vocabulary.encode([tokens[0], None])
    with pytest.raises(TypeError, match="but token 0 is int"):
        vocabulary.encode([7, *tokens])

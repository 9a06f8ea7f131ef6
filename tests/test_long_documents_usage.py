"""Users whose texts are long (book chapters, filings, transcripts) mixed with very short ones.

The long documents are real IMDB training reviews joined into one text; the short ones are one word,
an empty string, markup that cleans to nothing. Each test here failed before its fix.
"""

from __future__ import annotations

import logging
import tracemalloc

import numpy as np
import pytest

from toolkit.text import SequenceEncoder, SpacyTokenizer, pad_sequences
from toolkit.text import tokenizer as tokenizer_module
from toolkit.text import vocabulary as vocabulary_module


@pytest.fixture(scope="module")
def long_and_short(imdb_small):
    """Six documents of 50-100 real reviews each (65,000-130,000 characters), and five very short ones."""
    texts, _ = imdb_small
    long_docs, start = [], 0
    for n in (100, 50, 80, 60, 100, 70):
        long_docs.append("\n\n".join(texts[start : start + n]))
        start += n
    return [long_docs[0], "Great.", long_docs[1], "", long_docs[2], "<br /><br />", long_docs[3],
            "bad", long_docs[4], long_docs[5], "ok"]


@pytest.fixture(scope="module")
def skewed_tokens(imdb_small):
    """300 reviews as token lists, and one document of 250 other reviews: about 300 times the median."""
    texts, _ = imdb_small
    docs = [text.lower().split() for text in texts[:300]]
    docs.insert(150, "\n\n".join(texts[300:550]).lower().split())
    return docs


def test_long_documents_usage_tokenizer_batches_are_bounded_by_characters(long_and_short, monkeypatch):
    # batches were batch_size documents whatever their length: 30 book-length documents (30 million
    # characters) went to spaCy as one batch, about 850 MB of spans and Docs above the texts themselves
    limit = 150_000
    monkeypatch.setattr(tokenizer_module, "_BATCH_CHARS", limit, raising=False)
    batches = []
    original = SpacyTokenizer._cleaned

    def spy(self, docs, *args, **kwargs):
        batches.append([len(doc) for doc in docs])
        return original(self, docs, *args, **kwargs)

    monkeypatch.setattr(SpacyTokenizer, "_cleaned", spy)
    corpus = SpacyTokenizer(cache=False).fit_transform(long_and_short)
    assert sum(map(len, batches)) == len(long_and_short)
    assert len(batches) > 1
    for sizes in batches:  # bounded, unless one document alone is longer than the limit
        assert sum(sizes) <= limit or len(sizes) == 1, batches
    # the same tokens as one document per batch
    batches.clear()
    one_by_one = SpacyTokenizer(cache=False, batch_size=1).fit_transform(long_and_short)
    assert [list(doc) for doc in corpus] == [list(doc) for doc in one_by_one]
    assert len(corpus) == len(long_and_short) and len(corpus[3]) == len(corpus[5]) == 0  # "", markup alone


def test_long_documents_usage_progress_bar_counts_characters(long_and_short, monkeypatch):
    # the bar counted batches: 11 documents, one batch, "0/1" for the whole run
    import tqdm.auto

    seen = {}

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            seen["total"] = kwargs.get("total")
            seen["updates"] = []
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            seen["updates"].append(n)
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    monkeypatch.setattr(tokenizer_module, "_BATCH_CHARS", 200_000, raising=False)
    SpacyTokenizer(cache=False, progress=True).fit_transform(long_and_short)
    n_chars = sum(map(len, long_and_short))
    assert seen["total"] == n_chars
    assert sum(seen["updates"]) == n_chars
    assert len(seen["updates"]) > 1  # it moves during the run


def test_long_documents_usage_one_document_setting_the_row_length_is_named(skewed_tokens, caplog):
    # maxlen=None padded 301 rows to the one long document's length (99% padding) without a word
    lengths = np.array([len(doc) for doc in skewed_tokens])
    typical = int(np.percentile(lengths, 99, method="lower"))
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        X = SequenceEncoder().fit_transform(skewed_tokens)
    assert X.shape == (len(skewed_tokens), lengths.max())
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 1, messages
    assert "SequenceEncoder(maxlen=None)" in messages[0]
    assert f"{lengths.max():,} tokens" in messages[0]
    assert f"maxlen={typical}" in messages[0]  # the fix, with a value
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        pad_sequences([np.arange(n) for n in lengths])
    assert any("pad_sequences(maxlen=None)" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit"):  # the reviews alone: no outlier, no warning
        SequenceEncoder().fit(skewed_tokens[:150] + skewed_tokens[151:])
    assert not caplog.records


def test_long_documents_usage_truncation_says_how_much_text_is_dropped(skewed_tokens, caplog):
    # maxlen=200 silently kept 200 of the long document's ~60,000 tokens
    lengths = np.array([len(doc) for doc in skewed_tokens])
    dropped = np.maximum(lengths - 200, 0).sum() / lengths.sum()
    assert dropped > 0.5
    with caplog.at_level(logging.INFO, logger="toolkit"):
        SequenceEncoder(maxlen=200, truncating="post").fit(skewed_tokens)
    [record] = [r for r in caplog.records if "maxlen=200" in r.getMessage()]
    assert record.levelno == logging.INFO  # the user chose maxlen: a line, not a warning
    message = record.getMessage()
    assert f"cuts {np.count_nonzero(lengths > 200)} of {len(lengths)} documents" in message
    assert f"{100 * dropped:.1f}%" in message and "the last tokens" in message
    caplog.clear()
    short = [doc for doc in skewed_tokens if len(doc) < 5000]
    with caplog.at_level(logging.INFO, logger="toolkit"):
        SequenceEncoder(maxlen=600).fit(short)
    [record] = [r for r in caplog.records if "maxlen=600" in r.getMessage()]
    assert record.levelno == logging.INFO and "the first tokens" in record.getMessage()


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_long_documents_usage_padding_memory_is_bounded(skewed_tokens, monkeypatch, padding, truncating):
    # _pad_flat built int64 index arrays of every kept token (5-10 times the int32 output): padding 40 long
    # documents to the longest peaked at 275 MiB for an 82 MiB matrix
    monkeypatch.setattr(vocabulary_module, "_PAD_CHUNK", 4096, raising=False)
    encoder = SequenceEncoder().fit(skewed_tokens)
    rows = [np.asarray(encoder.vocabulary_.encode(doc), dtype=np.int32) for doc in skewed_tokens]
    rows += [np.zeros(0, np.int32), rows[0][:3]]
    if truncating == "post":  # the long document cut to 200 tokens
        maxlen = 200
    else:  # the reviews padded to the longest review
        maxlen = None
        del rows[150]
    tracemalloc.start()
    try:
        out = pad_sequences(rows, maxlen=maxlen, padding=padding, truncating=truncating)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    flat_bytes = sum(min(len(r), out.shape[1]) for r in rows) * 4  # pad_sequences' own copy of the kept ids
    assert peak < out.nbytes + flat_bytes + 1_000_000  # 64 * 4096: the index arrays of one chunk
    width = out.shape[1]
    for row, got in zip(rows, out):  # the same rows as one at a time
        kept = row[-width:] if truncating == "pre" else row[:width]
        expected = np.zeros(width, np.int32)
        if len(kept):
            if padding == "pre":
                expected[width - len(kept):] = kept
            else:
                expected[: len(kept)] = kept
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("architecture", ["nbsvm", "bag"])
def test_long_documents_usage_embedding_classifier_names_the_one_long_document(skewed_tokens, imdb_small, caplog,
                                                                                architecture):
    # EmbeddingClassifier(maxlen=None) padded every row to the one long document (the main job's recipe:
    # 1,000 reviews and one of 200 reviews, 92,000 distinct n-grams, took 62 s and 19.8 GB instead of 9 s
    # and 1.7 GB) without a word
    from toolkit.models import EmbeddingClassifier

    _, labels = imdb_small
    y = list(labels[:300])
    y.insert(150, labels[300])
    clf = EmbeddingClassifier(architecture=architecture, maxlen=None, epochs=1, embedding_dim=4, random_state=0)
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        clf.fit(skewed_tokens, y)
    messages = [r.getMessage() for r in caplog.records if "maxlen=None" in r.getMessage()]
    if architecture == "nbsvm":
        # the NB architectures train on flat rows, each batch padded to its own longest row: the long
        # document widens its own batch only, so there is nothing to warn about
        assert messages == []
    else:
        [message] = messages
        assert message.startswith("EmbeddingClassifier(maxlen=None)")
    assert clf.maxlen_ == clf.model_inputs(skewed_tokens[150:151]).shape[1]

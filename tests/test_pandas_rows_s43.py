"""Session 43: pandas row labels of token corpora in scikit-learn's unions, and messages about bad documents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from toolkit.text import NegationMarker, SequenceEncoder, SpacyTokenizer
from toolkit.text.tokenizer import clean_text


@pytest.fixture(scope="module")
def shuffled(imdb_tokens):
    """40 real reviews' tokens as a Series whose labels are a shuffled 0..n-1 (``frame.sample(frac=1)``)."""
    docs, _ = imdb_tokens
    order = np.random.default_rng(0).permutation(40)
    return pd.Series(docs[:40], index=order, name="tokens")


def _n_tokens(corpus):
    return np.asarray([[len(doc)] for doc in corpus], dtype=float)


def _n_tokens_on_rows(corpus):
    # the documented way: a DataFrame on the corpus' row labels (None for plain lists: 0..n-1)
    return pd.DataFrame({"n_tokens": [len(doc) for doc in corpus]}, index=corpus.row_index, dtype=float)


def _union(func):
    names = FunctionTransformer(func, feature_names_out=lambda self, names: ["n_tokens"])
    return make_pipeline(NegationMarker(), make_union(SequenceEncoder(maxlen=3), names)).set_output(transform="pandas")


def _expected(docs):
    codes = SequenceEncoder(maxlen=3).fit_transform(NegationMarker().fit_transform(docs))
    return np.column_stack([codes, [len(doc) for doc in NegationMarker().fit_transform(docs)]])


def test_union_with_a_function_on_the_corpus_rows_keeps_every_row(shuffled):
    out = _union(_n_tokens_on_rows).fit_transform(shuffled)
    assert out.shape == (40, 4) and out.index.tolist() == shuffled.index.tolist()
    np.testing.assert_array_equal(out.to_numpy(), _expected(shuffled.tolist()))
    # the same function on plain lists (no row labels): 0..n-1 on both sides
    plain = _union(_n_tokens_on_rows).fit_transform(shuffled.tolist())
    np.testing.assert_array_equal(plain.to_numpy(), _expected(shuffled.tolist()))
    # or the Series on 0..n-1: every part numbers the rows alike
    reset = _union(_n_tokens).fit_transform(shuffled.reset_index(drop=True))
    np.testing.assert_array_equal(reset.to_numpy(), _expected(shuffled.tolist()))


@pytest.mark.xfail(strict=True, reason="known limitation (see TokenizedCorpus.row_index): scikit-learn's "
                   "FunctionTransformer numbers the rows of a corpus 0..n-1, the encoder by the Series' labels, "
                   "and FeatureUnion joins on labels")
def test_union_with_a_plain_function_on_a_labelled_corpus(shuffled):
    out = _union(_n_tokens).fit_transform(shuffled)
    np.testing.assert_array_equal(out.to_numpy(), _expected(shuffled.tolist()))


def test_column_transformer_still_joins_the_frame_rows(shuffled):
    frame = pd.DataFrame({"tokens": shuffled, "length": [float(len(d)) for d in shuffled]})
    columns = ColumnTransformer([("text", make_pipeline(NegationMarker(), SequenceEncoder(maxlen=3)), "tokens"),
                                 ("length", StandardScaler(), ["length"])]).set_output(transform="pandas")
    out = columns.fit_transform(frame)
    assert out.shape == (40, 4) and out.index.tolist() == frame.index.tolist()
    codes = SequenceEncoder(maxlen=3).fit_transform(NegationMarker().fit_transform(shuffled.tolist()))
    np.testing.assert_array_equal(out.iloc[:, :3].to_numpy(), codes)


def test_bad_document_messages_say_an_int(imdb_small, imdb_tokens):
    texts, _ = imdb_small
    with pytest.raises(ValueError, match=r"Document 2 of X is an int, not a str"):  # was "is a int"
        SpacyTokenizer().transform([texts[0], texts[1], 7])
    with pytest.raises(ValueError, match=r"Document 1 of X is a float, not a str"):
        SpacyTokenizer().transform([texts[0], 7.5])
    docs, _ = imdb_tokens
    with pytest.raises(ValueError, match=r"document 1 of X is an int\."):  # was "is a int."
        SequenceEncoder().fit([docs[0], 7])
    with pytest.raises(ValueError, match=r"document 1 of X contains an int \(7\)"):  # was "contains a int"
        SequenceEncoder().fit([docs[0], [*docs[1][:3], 7]])
    with pytest.raises(ValueError, match=r"document 0 of X contains a float \(7\.5\)"):
        SequenceEncoder().fit([[*docs[0][:3], 7.5]])


def test_char_analyzer_is_scikit_learns_on_the_cleaned_text(imdb_small):
    texts, _ = imdb_small
    docs = [t for t in texts[:30]]
    docs.append(docs[0][:200] + " \x96 " + docs[1][:200])  # a C1 control character, as in some IMDB reviews
    for analyzer in ("char", "char_wb"):
        tokens = SpacyTokenizer(analyzer=analyzer, ngram_range=(2, 3)).fit_transform(docs)
        analyze = CountVectorizer(analyzer=analyzer, ngram_range=(2, 3)).build_analyzer()
        assert tokens.to_list() == [analyze(clean_text(doc, keep_c1=True)) for doc in docs]
        assert any("\x96" in gram for gram in tokens[-1])  # kept, as scikit-learn keeps it (session 46)
    doc = SpacyTokenizer.__doc__
    assert "exactly scikit-learn's analyzers" not in doc  # the docstring said so
    assert "on :func:`clean_text`'s output" in doc and "x96" in doc

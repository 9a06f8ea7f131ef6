"""pandas users: the text steps fed from pandas Series and DataFrames (small real IMDB training samples).

Also the per-call indices of skipped documents: ``SpacyTokenizer.transform`` leaves the tokenizer unchanged
and returns them on its corpus (``TokenizedCorpus.skipped``); ``fit_transform`` records them in ``skipped_``.
"""

from __future__ import annotations

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from toolkit.text import (
    BagEncoder,
    SequenceEncoder,
    SpacyTokenizer,
    TokenizedCorpus,
    clean_text,
)
from toolkit.text.corpus import check_token_lists

pd = pytest.importorskip("pandas")

MAX_LENGTH = 1500  # characters: about a third of IMDB reviews are longer


@pytest.fixture(scope="module")
def frame(imdb_small):
    """200 real reviews in a DataFrame as a user has it: filtered and shuffled, so labels are not positions."""
    texts, labels = imdb_small
    df = pd.DataFrame({"review": texts[:240], "label": labels[:240], "n_chars": [len(t) for t in texts[:240]]})
    df = df[df.n_chars > 200].sample(n=200, random_state=3)
    assert not df.index.equals(pd.RangeIndex(200))
    return df


def _too_long(texts) -> list[int]:
    """Positions of the documents the tokenizer skips at MAX_LENGTH (it measures the cleaned text)."""
    return [i for i, text in enumerate(texts) if len(clean_text(text)) > MAX_LENGTH]


# --------------------------------------------------------------------------- skipped documents, per call
def test_pandas_usage_transform_leaves_the_tokenizer_unchanged_and_returns_the_skipped_indices(frame):
    X = frame.review
    expected = _too_long(X.tolist())
    assert 0 < len(expected) < len(X)
    tok = SpacyTokenizer(max_length=MAX_LENGTH, errors="skip").fit(X)
    state = joblib.hash(vars(tok))
    corpus = tok.transform(X)
    assert joblib.hash(vars(tok)) == state  # scikit-learn's contract: transform changes no state
    assert not hasattr(tok, "skipped_")
    assert corpus.skipped.dtype == np.int64 and corpus.skipped.tolist() == expected  # positions, not labels
    assert all(corpus[i] == [] for i in expected)
    assert (X.iloc[corpus.skipped].str.len() > MAX_LENGTH).all()
    with pytest.raises(ValueError, match="read-only"):
        corpus.skipped[0] = 0
    # the list of the same texts: the same tokens and indices
    plain = tok.transform(X.tolist())
    assert plain == corpus and plain.skipped.tolist() == expected
    assert tok.transform(X.iloc[[i for i in range(len(X)) if i not in expected]]).skipped.tolist() == []


def test_pandas_usage_threads_sharing_one_tokenizer_each_get_their_own_skipped(frame):
    X = frame.review
    tok = SpacyTokenizer(max_length=MAX_LENGTH, errors="skip").fit(X)
    chunks = [X.iloc[start : start + 25] for start in range(0, len(X), 25)] * 3
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(tok.transform, chunks))
    for chunk, corpus in zip(chunks, results):
        assert corpus.skipped.tolist() == _too_long(chunk.tolist())
        assert corpus.row_index.equals(chunk.index)


def test_pandas_usage_fit_transform_records_skipped_and_prediction_leaves_it(frame):
    train, test = frame.iloc[:150], frame.iloc[150:]
    pipe = make_pipeline(SpacyTokenizer(max_length=MAX_LENGTH, errors="skip"), BagEncoder(),
                         LogisticRegression(max_iter=500))
    pipe.fit(train.review, train.label)
    tok = pipe[0]
    assert tok.skipped_.dtype == np.int64 and tok.skipped_.tolist() == _too_long(train.review.tolist())
    recorded = tok.skipped_.copy()
    tok.skipped_[:0] = 0  # writeable: the estimator's own array, not the corpus' read-only one
    pipe.predict(test.review)
    assert tok.skipped_.tolist() == recorded.tolist()  # predicting other texts does not overwrite the fit's
    # the indices of a prediction's texts: from the tokenizer step's own output
    assert pipe[:1].transform(test.review).skipped.tolist() == _too_long(test.review.tolist())


def test_pandas_usage_skipped_survives_pickling_and_is_none_on_derived_corpora(frame):
    X = frame.review.iloc[:40]
    expected = _too_long(X.tolist())
    for params in ({}, {"ngram_range": (1, 2)}, {"analyzer": "char_wb", "ngram_range": (3, 3)}):
        corpus = SpacyTokenizer(max_length=MAX_LENGTH, errors="skip", **params).transform(X)
        assert corpus.skipped.tolist() == expected
        again = pickle.loads(pickle.dumps(corpus))
        assert again == corpus and again.skipped.tolist() == expected and again.row_index.equals(X.index)
        for derived in (corpus[:10], corpus.take([1, 0]), TokenizedCorpus.concatenate([corpus, corpus])):
            assert derived.skipped is None  # positions of the tokenizer's input no longer
        for same_documents in (corpus.tail(5), corpus.compact(), corpus.map_strings(str.upper),
                               corpus.ngrams((1, 3)), corpus.with_tokenizer_params(None), corpus.with_row_index(None)):
            assert same_documents.skipped.tolist() == expected
    assert TokenizedCorpus.from_token_lists([["a"]]).skipped is None
    # errors="raise" (nothing can be skipped): empty, not None
    assert SpacyTokenizer().transform(["a b"]).skipped.tolist() == []


def test_pandas_usage_skip_warning_names_the_index_labels(frame, caplog):
    X = frame.review.iloc[:60]
    expected = _too_long(X.tolist())
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        SpacyTokenizer(max_length=MAX_LENGTH, errors="skip").transform(X)
    shown = ", ".join(map(str, expected[:20]))
    labels = ", ".join(repr(int(label)) for label in X.index[expected[:20]])
    assert (f"their indices in X (also in the returned corpus' skipped): {shown}" in caplog.text
            and f"(index labels {labels}" in caplog.text)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        SpacyTokenizer(max_length=MAX_LENGTH, errors="skip").fit_transform(X.reset_index(drop=True))
    assert f"(also in the returned corpus' skipped): {shown}" in caplog.text and "index labels" not in caplog.text


# --------------------------------------------------------------------------- bad documents name their row
def test_pandas_usage_missing_text_names_position_label_and_count(frame):
    X = frame.review.copy()
    X.iloc[[7, 30]] = np.nan
    label = int(X.index[7])
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression(max_iter=500))
    pipe.fit(frame.review, frame.label)
    message = (rf"Document 7 of X \(index label {label}\) is missing \(None/NaN\); drop or fill missing values "
               r"first, e.g. series.fillna\(''\); raw text documents must be str. 2 of the 200 documents of X "
               "are missing.")
    with pytest.raises(ValueError, match=message):
        pipe.predict(X)
    for dtype in ("string", "string[pyarrow]"):
        with pytest.raises(ValueError, match=rf"Document 7 of X \(index label {label}\) is missing"):
            pipe.predict(X.astype(dtype))
    # a plain 0..n-1 index: the position is the label, said once
    with pytest.raises(ValueError, match=r"Document 7 of X is missing \(None/NaN\)"):
        pipe.predict(X.reset_index(drop=True))


def test_pandas_usage_missing_text_in_arrow_dtype(frame):
    pa = pytest.importorskip("pyarrow")
    X = frame.review.iloc[:20].astype(pd.ArrowDtype(pa.string()))
    X.iloc[4] = None
    with pytest.raises(ValueError, match=rf"Document 4 of X \(index label {int(X.index[4])}\) is missing"):
        SpacyTokenizer().transform(X)


def test_pandas_usage_too_long_document_names_its_label(frame):
    X = frame.review
    first = _too_long(X.tolist())[0]
    for analyzer in ("word", "char"):
        with pytest.raises(ValueError, match=rf"^Document {first} of X \(index label {int(X.index[first])}\) has "
                                             rf"[\d,]+ characters, more than max_length={MAX_LENGTH:,}") as info:
            SpacyTokenizer(max_length=MAX_LENGTH, analyzer=analyzer).transform(X)
        assert info.value.document_index == first
    with pytest.raises(ValueError, match=rf"^Document {first} of X has"):
        SpacyTokenizer(max_length=MAX_LENGTH).transform(X.tolist())


def test_pandas_usage_token_list_column_with_a_missing_row(frame):
    tokens = pd.Series(SpacyTokenizer().transform(frame.review.iloc[:30]).to_list(), index=frame.index[:30])
    tokens.iloc[3] = np.nan
    label = int(tokens.index[3])
    for encoder in (BagEncoder(), SequenceEncoder(maxlen=20)):
        with pytest.raises(ValueError, match=rf"{type(encoder).__name__} expects token lists, but document 3 of X "
                                             rf"\(index label {label}\) is missing \(None/NaN\). Give a document "
                                             "without tokens an empty list"):
            encoder.fit(tokens)
    with pytest.raises(ValueError, match=r"but document 3 of X is missing \(None/NaN\)"):
        check_token_lists([["a"], ["b"], ["c"], None], estimator="E")
    # filled as the message says: fits
    filled = tokens.apply(lambda t: t if isinstance(t, list) else [])
    assert BagEncoder().fit_transform(filled).shape[0] == 30


# --------------------------------------------------------------------------- string containers
def test_pandas_usage_pyarrow_arrays_tokenize_as_lists(frame):
    pa = pytest.importorskip("pyarrow")
    texts = frame.review.iloc[:30].tolist()
    expected = SpacyTokenizer().transform(texts)
    table = pa.table({"review": texts})
    assert SpacyTokenizer().transform(pa.array(texts)) == expected
    assert SpacyTokenizer().transform(table["review"]) == expected  # a ChunkedArray
    assert SpacyTokenizer().transform(pa.array(texts, type=pa.large_string())) == expected
    with pytest.raises(ValueError, match=r"Document 1 of X is missing \(None/NaN\)"):
        SpacyTokenizer().transform(pa.array(["fine", None]))
    with pytest.raises(ValueError, match=r"got Table. Select the text column first, e.g. table\['text'\]"):
        SpacyTokenizer().transform(table)


@pytest.mark.parametrize("dtype", ["object", "str", "string", "string[pyarrow]", "arrow", "category"])
def test_pandas_usage_string_dtypes_give_the_tokens_and_predictions_of_a_list(frame, dtype):
    X, y = frame.review, frame.label
    if dtype == "arrow":
        pa = pytest.importorskip("pyarrow")
        dtype = pd.ArrowDtype(pa.string())
    Xd = X.astype(dtype)
    tokens = SpacyTokenizer().transform(Xd)
    assert tokens == SpacyTokenizer().transform(X.tolist()) and tokens.row_index.equals(X.index)
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression(max_iter=500))
    expected = pipe.fit(X.tolist(), y.tolist()).predict_proba(X.tolist()[:20])
    np.testing.assert_array_equal(pipe.fit(Xd, y).predict_proba(Xd.iloc[:20]), expected)


@pytest.mark.parametrize("kind", ["category", "string", "bool", "int"])
def test_pandas_usage_predict_returns_the_label_values(frame, kind):
    X, y = frame.review, frame.label
    labels = {"category": y.astype("category"), "string": y.astype("string"), "bool": y == "pos",
              "int": (y == "pos").astype(int) * 9 + 1}[kind]
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression(max_iter=500)).fit(X, labels)
    predicted = pipe.predict(X.iloc[:20])
    assert set(predicted.tolist()) <= set(labels.tolist())
    assert type(predicted[0].item() if isinstance(predicted[0], np.generic) else predicted[0]) is type(
        labels.iloc[0].item() if isinstance(labels.iloc[0], np.generic) else labels.iloc[0])


def test_pandas_usage_column_transformer_text_column_with_pandas_output(frame):
    df = frame[["review", "n_chars"]]
    ct = ColumnTransformer([("text", make_pipeline(SpacyTokenizer(), SequenceEncoder(maxlen=8)), "review"),
                            ("num", "passthrough", ["n_chars"])]).set_output(transform="pandas")
    out = ct.fit_transform(df)
    assert out.index.equals(df.index)
    assert out.columns.tolist() == [f"text__sequenceencoder{i}" for i in range(8)] + ["num__n_chars"]
    assert (out["num__n_chars"] == df.n_chars).all()
    np.testing.assert_array_equal(out.iloc[:, :8].to_numpy(),
                                  make_pipeline(SpacyTokenizer(), SequenceEncoder(maxlen=8)).fit_transform(
                                      df.review.tolist()))
    # the text column named as a list: a one-column table, read as the column (session 38; refused before)
    as_list = ColumnTransformer([("text", make_pipeline(SpacyTokenizer(), BagEncoder()), ["review"])]).fit(df)
    assert (as_list.transform(df) != make_pipeline(SpacyTokenizer(), BagEncoder()).fit_transform(df.review)).nnz == 0
    # feature names through the text pipeline
    bag = ColumnTransformer([("text", make_pipeline(SpacyTokenizer(), BagEncoder(max_tokens=50)), "review")])
    names = bag.fit(df).get_feature_names_out()
    assert len(names) == bag.transform(df).shape[1] and names[1].startswith("text__")

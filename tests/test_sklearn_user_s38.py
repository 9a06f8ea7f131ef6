"""A scikit-learn user's session with toolkit's Python API (session 38, helper h3): the tables scikit-learn's
tools hand a text step. ``permutation_importance`` refuses a 1-D ``X`` and permutes the columns of a 2-D one, so a
pipeline over one raw-text column gets ``df[["review"]]`` (or an (n, 1) object array); a ``ColumnTransformer``
given a list of one column passes the same. ``SpacyTokenizer`` reads that column as its documents, keeping a
DataFrame's row labels. And a pipeline fitted without y says that y is needed. Small real IMDB samples.
"""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def table(imdb_small):
    """The 600 reviews as a frame on shuffled labels of its own (r<k>), their labels, and a 400 / 200 split."""
    texts, labels = imdb_small
    frame = pd.DataFrame({"review": texts, "n_chars": [float(len(t)) for t in texts]},
                         index=[f"r{k}" for k in np.random.default_rng(0).permutation(len(texts))])
    return frame, np.asarray(labels)


def test_sklearn_user_s38_permutation_importance_of_a_one_text_column_pipeline(table):
    """``permutation_importance(pipe, df[["review"]], y)`` on a tokenizer -> bag -> NBSVM pipeline fitted on the
    text Series stopped with "Expected a 1-D sequence of raw text documents ... In a ColumnTransformer, ..." (a
    user with no ColumnTransformer, who cannot pass the 1-D column: scikit-learn refuses it). The column's
    importance is now the score lost by shuffling the reviews among the labels, for a frame and an array alike."""
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder, SpacyTokenizer

    frame, y = table
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"), NBSVMClassifier())
    pipe.fit(frame["review"][:400], y[:400])
    held_out, y_held_out = frame[["review"]][400:], y[400:]
    expected = pipe.predict(frame["review"][400:])
    np.testing.assert_array_equal(pipe.predict(held_out), expected)
    np.testing.assert_array_equal(pipe.predict(held_out.to_numpy()), expected)  # (200, 1) object array
    score = pipe.score(frame["review"][400:], y_held_out)
    assert score > 0.7
    for X in (held_out, held_out.to_numpy()):
        result = permutation_importance(pipe, X, y_held_out, n_repeats=3, random_state=0)
        assert result.importances.shape == (1, 3)
        # shuffled among the labels, the reviews score about chance (a balanced sample): the importance is the rest
        assert np.abs(result.importances[0] - (score - 0.5)).max() < 0.15
        assert result.importances_mean[0] > 0.15


@pytest.mark.slow
def test_sklearn_user_s38_permutation_importance_of_a_stack_needs_no_column_transformer(table):
    """A model taking token lists (the stack; ``EmbeddingClassifier`` alike) has no ColumnTransformer route at all:
    a ColumnTransformer needs 2-D outputs, and a token corpus is not one. Its pipeline takes the one-column
    table itself."""
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import make_pipeline

    from toolkit.models import StackedTextClassifier
    from toolkit.text import SpacyTokenizer

    frame, y = table
    pipe = make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors=None, tail_tokens=20, random_state=0))
    pipe.fit(frame[["review"]][:400], y[:400])
    np.testing.assert_allclose(pipe.predict_proba(frame[["review"]][400:]), pipe.predict_proba(frame["review"][400:]))
    result = permutation_importance(pipe, frame[["review"]][400:], y[400:], n_repeats=2, random_state=0)
    assert result.importances_mean[0] > 0.15


def test_sklearn_user_s38_column_list_of_one_text_column_keeps_the_rows_of_a_pandas_output(table):
    """``ColumnTransformer([("text", tokenizer -> SequenceEncoder, ["review"]), ("num", "passthrough", ["n_chars"])])``
    with pandas output on a frame with row labels of its own: the text part's rows carry the frame's labels, so
    the two parts join row by row (on positional labels they would join each review to another's numbers). The
    same output as naming the column as a scalar."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    from toolkit.text import SequenceEncoder, SpacyTokenizer

    frame, _ = table
    df = frame[:60]

    def columns(text):
        return ColumnTransformer([("text", make_pipeline(SpacyTokenizer(), SequenceEncoder(maxlen=6)), text),
                                  ("num", "passthrough", ["n_chars"])]).set_output(transform="pandas")

    out = columns(["review"]).fit_transform(df)
    assert out.index.equals(df.index)
    np.testing.assert_array_equal(out["num__n_chars"].to_numpy(), df["n_chars"].to_numpy())
    ids = make_pipeline(SpacyTokenizer(), SequenceEncoder(maxlen=6)).fit_transform(df["review"].tolist())
    np.testing.assert_array_equal(out.iloc[:, :6].to_numpy(), ids)
    pd.testing.assert_frame_equal(out, columns("review").fit_transform(df))


def test_sklearn_user_s38_one_column_table_names_a_bad_documents_row_label(table):
    """A missing review in a one-column frame is named by its position and its row label, as in the Series."""
    from toolkit.text import SpacyTokenizer

    frame, _ = table
    df = frame[["review"]][:5].copy()
    df.iloc[3, 0] = None
    label = df.index[3]
    with pytest.raises(ValueError, match=rf"Document 3 of X \(index label '{label}'\) is missing \(None/NaN\)"):
        SpacyTokenizer().transform(df)


def test_sklearn_user_s38_a_table_of_several_columns_is_still_refused(table):
    """Only a table of one column is read as documents: two columns say which to select."""
    from toolkit.text import SpacyTokenizer

    frame, _ = table
    with pytest.raises(ValueError, match=r"got a DataFrame with 2 dimensions\. Select the text column first, "
                                         r"e\.g\. df\['text'\]"):
        SpacyTokenizer().transform(frame[:5])
    with pytest.raises(ValueError, match=r"got an array of shape \(5, 2\)\. Select the text column first"):
        SpacyTokenizer().transform(frame[:5].to_numpy())


def test_sklearn_user_s38_text_column_of_tables_and_other_inputs():
    """``text_column``: the column of an (n, 1) array or a one-column frame (a Series on the frame's rows);
    anything else, returned as given."""
    from toolkit._validation import text_column

    frame = pd.DataFrame({"review": ["Great.", "Dull."]}, index=[7, 3])
    column = text_column(frame)
    assert isinstance(column, pd.Series) and column.index.tolist() == [7, 3]
    assert column.tolist() == ["Great.", "Dull."]
    assert text_column(frame.to_numpy()).tolist() == ["Great.", "Dull."]
    for same in (["a", "b"], "one string", np.array(["a", "b"]), np.array([["a", "b"]]), frame.assign(n=1)):
        assert text_column(same) is same


@pytest.mark.parametrize("final", ["NBSVMClassifier", "NBFeatureScaler", "StackedTextClassifier"])
def test_sklearn_user_s38_a_pipeline_fitted_without_y_says_y_is_needed(imdb_tokens, final):
    """``pipe.fit(docs)`` without labels (a Pipeline passes y=None): the naive-Bayes steps said "Expected array-like
    (array or non-string sequence), got None", the stack "tuple index out of range". They say what
    ``LogisticRegression`` says, and why."""
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBFeatureScaler, NBSVMClassifier, StackedTextClassifier
    from toolkit.text import BagEncoder

    docs, _ = imdb_tokens
    steps = {"NBSVMClassifier": [BagEncoder(), NBSVMClassifier()], "NBFeatureScaler": [BagEncoder(), NBFeatureScaler()],
             "StackedTextClassifier": [StackedTextClassifier(vectors=None)]}[final]
    with pytest.raises(ValueError, match=rf"^This {final} estimator requires y to be passed, but the target y is "
                                         r"None: .* Pass the labels, e\.g\. pipe\.fit\(X, y\)\.$"):
        make_pipeline(*steps).fit(docs[:40])

"""Session 43: a scikit-learn user puts toolkit's text steps in cross-validation, pipelines and unions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    cross_val_predict,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.utils import _safe_indexing

from toolkit.text import (
    BagEncoder,
    HashingEncoder,
    NegationMarker,
    SequenceEncoder,
    SpacyTokenizer,
    TokenizedCorpus,
)


class _FoldSpy(TransformerMixin, BaseEstimator):
    """Passes X through; records what ``fit`` was given (fitted attributes: they come back from workers)."""

    def fit(self, X, y=None):
        self.type_seen_ = type(X).__name__
        self.rows_seen_ = None if getattr(X, "row_index", None) is None else list(X.row_index)
        return self

    def transform(self, X):
        return X


@pytest.fixture(scope="module")
def reviews(imdb_tokens):
    """200 real reviews as a corpus whose row labels are not their positions, and their labels."""
    docs, labels = imdb_tokens
    corpus = TokenizedCorpus.from_token_lists(docs[:200]).with_row_index(pd.Index(np.arange(5000, 5200)))
    return corpus, np.asarray(labels[:200])


def _model(spy=None):
    steps = [BagEncoder(), LogisticRegression(solver="liblinear")]
    return make_pipeline(*([spy] if spy is not None else []), *steps)


def test_cross_validate_folds_are_corpora_with_their_row_labels(reviews):
    corpus, y = reviews
    result = cross_validate(_model(_FoldSpy()), corpus, y, cv=3, return_estimator=True, return_indices=True)
    for estimator, train in zip(result["estimator"], result["indices"]["train"]):
        assert estimator[0].type_seen_ == "TokenizedCorpus"  # was "list": one X[i] per row
        assert estimator[0].rows_seen_ == list(corpus.row_index[train])
    as_lists = cross_validate(_model(), corpus.to_list(), y, cv=3)
    np.testing.assert_array_equal(result["test_score"], as_lists["test_score"])


def test_grid_search_and_cross_val_predict_score_as_on_lists(reviews):
    corpus, y = reviews
    grid = {"bagencoder__output_mode": ["multi_hot", "count"]}
    on_corpus = GridSearchCV(_model(_FoldSpy()), grid, cv=2).fit(corpus, y)
    on_lists = GridSearchCV(_model(_FoldSpy()), grid, cv=2).fit(corpus.to_list(), y)
    np.testing.assert_array_equal(on_corpus.cv_results_["mean_test_score"], on_lists.cv_results_["mean_test_score"])
    proba = cross_val_predict(_model(), corpus, y, cv=3, method="predict_proba")
    np.testing.assert_allclose(proba, cross_val_predict(_model(), corpus.to_list(), y, cv=3, method="predict_proba"))


def test_pandas_output_of_a_fold_is_on_the_fold_rows(reviews):
    corpus, _ = reviews
    _, test = train_test_split(np.arange(len(corpus)), random_state=0)
    part = _safe_indexing(corpus, test)
    out = SequenceEncoder(maxlen=5).set_output(transform="pandas").fit(corpus).transform(part)
    assert isinstance(out, pd.DataFrame)
    assert out.index.tolist() == corpus.row_index[test].tolist()  # was a RangeIndex: the labels were lost


def test_safe_indexing_and_array_style_keys(reviews):
    corpus, _ = reviews
    idx = np.array([7, 0, 7, 199])
    part = _safe_indexing(corpus, idx)
    assert isinstance(part, TokenizedCorpus)
    assert part.to_list() == [corpus[i] for i in idx]
    assert part.row_index.tolist() == [5007, 5000, 5007, 5199]
    mask = np.zeros(len(corpus), dtype=bool)
    mask[[3, 5]] = True
    assert _safe_indexing(corpus, mask).to_list() == [corpus[3], corpus[5]]
    assert corpus.shape == np.asarray(corpus).shape == (200,) and corpus.ndim == 1
    assert corpus[idx, ...] == part and corpus[...] == corpus and corpus[3, ...] == corpus[3]
    assert corpus[0, 1] == corpus[[0, 1]]  # a tuple of indices: documents, as before
    with pytest.raises(IndexError, match="one dimension"):
        corpus[0, 1, ...]
    tr, te = train_test_split(corpus, random_state=0)
    assert isinstance(tr, TokenizedCorpus) and len(tr) + len(te) == 200


def test_fit_refuses_sparse_and_a_string_as_transform_does():
    bag = sp.csr_matrix(np.eye(3))
    for X in (bag, "one review, not a list of reviews"):
        with pytest.raises(ValueError) as in_transform:
            SpacyTokenizer().transform(X)
        with pytest.raises(ValueError) as in_fit:
            SpacyTokenizer().fit(X)
        assert str(in_fit.value) == str(in_transform.value)
        with pytest.raises(ValueError) as in_transform:
            NegationMarker().transform(X)
        with pytest.raises(ValueError) as in_fit:
            NegationMarker().fit(X)
        assert str(in_fit.value) == str(in_transform.value)
        assert str(in_fit.value).startswith("NegationMarker expects")  # was "mark_negation expects" in transform
        with pytest.raises(ValueError) as in_transform:
            HashingEncoder().transform(X)
        for learn in (HashingEncoder().fit, HashingEncoder().partial_fit):
            with pytest.raises(ValueError) as in_fit:
                learn(X)
            assert str(in_fit.value) == str(in_transform.value)
    assert SpacyTokenizer().fit(None) is not None and NegationMarker().fit() is not None


def test_series_of_token_lists_keeps_its_rows_through_negation_marker(reviews):
    """A DataFrame column of token lists (read back from parquet, say) in a pandas ColumnTransformer."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    corpus, _ = reviews
    frame = pd.DataFrame({"tokens": corpus[:30].to_list(), "length": corpus[:30].lengths().astype(float)},
                         index=np.arange(30)[::-1] * 7)
    marked = NegationMarker().fit_transform(frame["tokens"])
    assert marked.row_index.tolist() == frame.index.tolist()  # was None
    columns = ColumnTransformer([("text", make_pipeline(NegationMarker(), SequenceEncoder(maxlen=4)), "tokens"),
                                 ("length", StandardScaler(), ["length"])]).set_output(transform="pandas")
    out = columns.fit_transform(frame)  # was a ValueError: the two parts' indexes did not match
    assert out.shape == (30, 5) and out.index.tolist() == frame.index.tolist()
    expected = SequenceEncoder(maxlen=4).fit_transform(NegationMarker().fit_transform(frame["tokens"].tolist()))
    np.testing.assert_array_equal(out.iloc[:, :4].to_numpy(), expected)


def test_meta_estimator_around_a_text_pipeline_says_where_the_encoder_goes(reviews):
    from sklearn.multiclass import OneVsOneClassifier

    corpus, _ = reviews
    three = np.arange(len(corpus)) % 3
    with pytest.raises(ValueError, match=r"let the meta-estimator wrap only the classifier: make_pipeline\("):
        OneVsOneClassifier(_model()).fit(corpus, three)  # the advice was only "put an encoder in", as it was
    fitted = make_pipeline(BagEncoder(), OneVsOneClassifier(LogisticRegression(solver="liblinear"))).fit(corpus, three)
    assert fitted.predict(corpus[:3]).shape == (3,)

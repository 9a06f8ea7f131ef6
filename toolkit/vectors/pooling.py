"""Pooled document vectors from word vectors, for any scikit-learn model.

:class:`EmbeddingVectorizer` turns token lists into one dense vector per
document by pooling the pretrained vectors of its tokens (mean, max, sum,
TF-IDF-weighted mean or SIF), so a ``LogisticRegression`` or any other
scikit-learn model can use GloVe / word2vec / fastText features.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    Interval,
    MissingParamsMixin,
    Options,
    TextInputMixin,
    validate_params,
)
from ..text.corpus import check_token_lists, on_input_rows
from ..text.encoders import bag_matrix, smoothed_idf

__all__ = ["EmbeddingVectorizer"]

logger = logging.getLogger(__name__)


class EmbeddingVectorizer(MissingParamsMixin, TextInputMixin, TransformerMixin, BaseEstimator):
    """Token lists -> pooled word vectors, shape (n_documents, vector dim).

    Parameters
    ----------
    vectors : str, path-like or tuple, default=None
        Required: None raises a ValueError in ``fit``. Pretrained vectors as a path or a manifest name (``"glove.6B.50d"``),
        or a domain spec (``"word2vec:unsup"``, ``"fasttext:/path/texts.txt"``,
        ``("word2vec", texts)``: see :mod:`toolkit.vectors.domain`) trained in
        ``fit`` on the training documents plus the unlabelled texts it names
        and cached by content. Resolved in ``fit`` through
        :func:`toolkit.vectors.domain.resolve_vectors` (process-level memo);
        the vectors are never stored on the estimator. Only the rows of the
        training vocabulary are kept (``embedding_matrix_``); tokens first seen
        at transform time are out of vocabulary. With fastText vectors that
        carry subword vectors (a Facebook ``.bin`` model, a ``"fasttext"``
        domain spec), training tokens the vectors lack get a vector built from
        their character n-grams (``embedding_coverage_.n_subword``); tokens
        first seen at transform time still get none, since the fitted
        vectorizer keeps no subword vectors. Vectors held in memory (a
        ``KeyedVectors`` or a gensim model) are refused: save them
        (``kv.save_word2vec_format("vectors.bin", binary=True)``, or for
        fastText ``gensim.models.fasttext.save_facebook_model``) and pass the
        path.
    pooling : {"mean", "max", "sum", "tfidf", "sif"}, default="mean"
        ``"mean"``/``"sum"``/``"max"`` over the tokens that have a vector;
        ``"tfidf"``: mean weighted by term count times smoothed IDF (learned in
        fit); ``"sif"``: Arora et al. (2017) smooth inverse frequency, weights
        ``a / (a + p(w))`` with ``p`` the training token frequencies, averaged
        over the document's tokens, then (``remove_first_component``) minus the
        projection on the first principal component of the training documents.
    sif_a : float, default=1e-3
        The ``a`` of SIF weights.
    remove_first_component : bool, default=True
        SIF only: remove the common component.
    min_count : int, default=1
        Minimum training count for a token to be kept.

    Attributes
    ----------
    vocabulary_ : toolkit.text.vocabulary.Vocabulary
    embedding_matrix_ : ndarray of shape (len(vocabulary_), dim)
        Vectors of the vocabulary (zero rows for tokens the vectors lack).
    token_weights_ : ndarray of shape (len(vocabulary_),)
        Pooling weight per id (0 for padding, OOV and tokens without a vector).
    components_ : ndarray of shape (1, dim) or None
        The SIF common component removed at transform time.
    embedding_coverage_ : toolkit.vectors.CoverageReport
    n_features_out_ : int
        Number of output columns (the vectors' dimension).

    Notes
    -----
    A document none of whose tokens has a vector gets a vector of zeros,
    never NaN.

    Examples
    --------
    >>> from toolkit.vectors import EmbeddingVectorizer
    >>> vec = EmbeddingVectorizer(vectors="glove.6B.50d", pooling="sif")  # doctest: +SKIP
    >>> vec.fit_transform([["a", "good", "film"], ["a", "dud"]]).shape      # doctest: +SKIP
    (2, 50)
    >>> EmbeddingVectorizer(vectors="word2vec:unsup", pooling="sif")       # doctest: +SKIP
    EmbeddingVectorizer(pooling='sif', vectors='word2vec:unsup')
    """

    _parameter_constraints = {
        "vectors": [str, os.PathLike, tuple, None],
        "pooling": [Options({"mean", "max", "sum", "tfidf", "sif"})],
        "sif_a": [Interval(float, 0, None, closed="neither")],
        "remove_first_component": ["boolean"],
        "min_count": [Interval(int, 1, None)],
    }

    def __init__(self, *, vectors=None, pooling="mean", sif_a=1e-3, remove_first_component=True, min_count=1):
        self.vectors = vectors
        self.pooling = pooling
        self.sif_a = sif_a
        self.remove_first_component = remove_first_component
        self.min_count = min_count

    def _counts(self, docs):
        """Sparse (n_documents, len(vocabulary_)) token counts."""
        return bag_matrix(docs, self.vocabulary_, dtype=np.float32)

    def fit(self, X, y=None):
        """Learn the vocabulary, keep its vectors and the pooling weights.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then return the pooled vectors of ``X`` (computed once).

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of shape (n_documents, dim), float32
            With ``set_output(transform="pandas")`` and a corpus that has
            :attr:`~toolkit.text.TokenizedCorpus.row_index` (tokens of a
            pandas Series), a DataFrame on those row labels.
        """
        # pandas output of a corpus with row labels (texts from a pandas Series): a DataFrame on those rows
        return on_input_rows(self._fit(X), X, self)

    def _fit(self, X):
        from ..text.vocabulary import Vocabulary
        from .domain import resolve_vectors
        from .matrix import build_embedding_matrix

        validate_params(self, self._parameter_constraints)
        if self.vectors is None:
            raise ValueError(
                "EmbeddingVectorizer needs vectors: a path to a vectors file, a manifest "
                "name such as 'glove.6B.50d' or a domain spec such as 'word2vec:unsup'. Got None."
            )
        docs = check_token_lists(X, estimator=type(self).__name__)
        if len(docs) == 0:  # a vocabulary of padding and OOV alone: every document would pool to zeros
            raise ValueError(
                f"Cannot fit {type(self).__name__} on an empty corpus (0 documents); pass at least one document."
            )
        self.vocabulary_ = Vocabulary.from_documents(docs, min_count=self.min_count)
        kv = resolve_vectors(self.vectors, docs)  # a domain spec trains on the training documents
        matrix, self.embedding_coverage_ = build_embedding_matrix(self.vocabulary_, kv, oov="zeros")
        self.embedding_matrix_ = np.asarray(matrix, dtype=np.float32)
        has_vector = np.any(self.embedding_matrix_ != 0, axis=1)
        has_vector[:2] = False  # padding, OOV
        counts = self._counts(docs)
        if self.pooling == "tfidf":
            weights = smoothed_idf(counts)
        elif self.pooling == "sif":
            freq = np.asarray(self.vocabulary_.counts, dtype=np.float64)
            p = freq / max(freq.sum(), 1.0)
            weights = self.sif_a / (self.sif_a + p)
        else:
            weights = np.ones(counts.shape[1])
        self.token_weights_ = np.where(has_vector, weights, 0.0).astype(np.float32)
        self.components_ = None
        self.n_features_out_ = self.embedding_matrix_.shape[1]
        pooled = self._pool(counts)
        if self.pooling == "sif" and self.remove_first_component and len(docs) > 1 and pooled.any():
            # (all zeros: no training word has a vector; there is no common component to remove)
            from sklearn.decomposition import TruncatedSVD

            with np.errstate(divide="ignore", invalid="ignore"):  # explained_variance_ratio_ of equal rows: 0/0
                svd = TruncatedSVD(n_components=1, n_iter=7, random_state=0).fit(pooled)
            self.components_ = svd.components_.astype(np.float32)
            pooled = self._remove_component(pooled)
        return pooled

    def _pool(self, counts):
        M = self.embedding_matrix_
        weights = self.token_weights_
        if self.pooling == "max":
            out = np.zeros((counts.shape[0], M.shape[1]), dtype=np.float32)
            present = counts.copy()
            present.data = weights[present.indices]
            present.eliminate_zeros()
            for i in range(present.shape[0]):
                ids = present.indices[present.indptr[i]:present.indptr[i + 1]]
                if len(ids):
                    out[i] = M[ids].max(axis=0)
            return out
        weighted = counts.multiply(weights[np.newaxis, :]).tocsr()
        total = np.asarray(weighted @ M, dtype=np.float32)
        if self.pooling == "sum":
            return total
        if self.pooling == "sif":  # (1/|s|) sum a/(a+p(w)) v_w, |s| = tokens with a vector
            has = (weights > 0).astype(np.float32)
            denom = np.asarray(counts @ has).ravel()
        else:
            denom = np.asarray(weighted.sum(axis=1)).ravel()
        out = np.zeros_like(total)
        nonzero = denom > 0
        out[nonzero] = total[nonzero] / denom[nonzero, np.newaxis]
        return out

    def _remove_component(self, pooled):
        if self.components_ is None:
            return pooled
        u = self.components_
        # each row's projection summed within the row (numpy's pairwise sum), not by a BLAS product: a BLAS
        # gemv rounds a row differently by its place in the batch (up to 2 float32 ulps, 2.4e-7 on IMDB
        # reviews), so a document's vector depended on the documents transformed with it
        projection = np.multiply(pooled, u).sum(axis=1, dtype=np.float32)
        return (pooled - projection[:, np.newaxis] * u).astype(np.float32)

    def transform(self, X):
        """Pooled vectors of ``X``.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus

        Returns
        -------
        ndarray of shape (n_documents, dim), float32
            With ``set_output(transform="pandas")`` and a corpus that has
            :attr:`~toolkit.text.TokenizedCorpus.row_index` (tokens of a
            pandas Series), a DataFrame on those row labels.
        """
        check_is_fitted(self, "embedding_matrix_")
        docs = check_token_lists(X, estimator=type(self).__name__)
        return on_input_rows(self._remove_component(self._pool(self._counts(docs))), X, self)

    def get_feature_names_out(self, input_features=None):
        """``emb0``, ``emb1``, ... one name per vector dimension.

        Parameters
        ----------
        input_features : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of str objects, shape (n_features_out_,)
        """
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"emb{i}" for i in range(self.n_features_out_)], dtype=object)

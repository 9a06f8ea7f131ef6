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
from ..text.corpus import TokenizedCorpus, check_token_lists, on_input_rows
from ..text.encoders import bag_matrix, smoothed_idf
from .loading import open_subwords, subword_entry

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
        at transform time are out of vocabulary, except with fastText vectors
        (``subwords``). With fastText vectors that carry subword vectors (a
        Facebook ``.bin`` model, a ``"fasttext"`` domain spec), training
        tokens the vectors lack get a vector built from their character
        n-grams (``embedding_coverage_.n_subword``). Vectors held in memory (a
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
    subwords : bool, default=True
        With fastText vectors that carry subword vectors: tokens outside
        ``vocabulary_`` (first seen at transform, or under ``min_count``) get
        a vector too, matched as in fit (as is, other casing, phrase) and
        else built from their character n-grams, as fastText does. The
        vectorizer keeps only the path of the vectors' cache entry
        (``subword_vectors_``) and opens it memory-mapped at transform, for
        those tokens alone (once per process), or the entry of the same name
        in the current cache folder (a cache moved, a Dask worker's own
        cache); where neither is (cache cleared, another machine) a warning says so and they get no vector,
        as with ``subwords=False`` and with other vectors (read again by
        transform: ``subwords=False`` set on a fitted or loaded vectorizer
        turns them off without a refit). Pooling weights of
        such a token: 1 (``"mean"``, ``"sum"``, ``"max"``; SIF's ``a / (a +
        0)``), or for ``"tfidf"`` the largest IDF of the training tokens.

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
    subword_vectors_ : str or None
        The cache entry folder of fastText vectors with subword vectors
        (opened at transform for tokens outside ``vocabulary_``), or None:
        other vectors, ``subwords=False``, or vectors without an entry.
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
        "subwords": ["boolean"],
    }

    def __init__(self, *, vectors=None, pooling="mean", sif_a=1e-3, remove_first_component=True, min_count=1,
                 subwords=True):
        self.vectors = vectors
        self.pooling = pooling
        self.sif_a = sif_a
        self.remove_first_component = remove_first_component
        self.min_count = min_count
        self.subwords = subwords

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
        if len(self.vocabulary_) == 2:  # padding and OOV alone: every document, new ones too, would pool to zeros
            raise ValueError(
                f"The vocabulary of {type(self).__name__} is empty: no token occurs at least "
                f"min_count={self.min_count} time(s) in the {len(docs)} documents. Lower min_count, or check "
                "the tokenizer (its filters may have removed every token)."
            )
        kv = resolve_vectors(self.vectors, docs)  # a domain spec trains on the training documents
        matrix, self.embedding_coverage_ = build_embedding_matrix(self.vocabulary_, kv, oov="zeros")
        self.embedding_matrix_ = np.asarray(matrix, dtype=np.float32)
        has_vector = np.any(self.embedding_matrix_ != 0, axis=1)
        has_vector[:2] = False  # padding, OOV
        self.subword_vectors_ = subword_entry(kv) if self.subwords else None
        docs = self._as_corpus(docs)
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
        pooled = self._pool_documents(docs, counts)
        if self.pooling == "sif" and self.remove_first_component and len(docs) > 1 and pooled.any():
            # (all zeros: no training word has a vector; there is no common component to remove)
            from sklearn.decomposition import TruncatedSVD

            with np.errstate(divide="ignore", invalid="ignore"):  # explained_variance_ratio_ of equal rows: 0/0
                svd = TruncatedSVD(n_components=1, n_iter=7, random_state=0).fit(pooled)
            self.components_ = svd.components_.astype(np.float32)
            pooled = self._remove_component(pooled)
        return pooled

    def _as_corpus(self, docs):
        """Token lists as a TokenizedCorpus where subwords will count them twice (:meth:`_outside_rows`), so
        they are converted once; else as given."""
        if getattr(self, "subword_vectors_", None) is None or isinstance(docs, TokenizedCorpus):
            return docs
        return TokenizedCorpus.from_token_lists(docs)

    def _pool_documents(self, docs, counts):
        """Pooled vectors of ``docs`` (``counts``: their bag over ``vocabulary_``), tokens outside it included
        where the vectors' subwords give them a vector (:meth:`_outside_rows`)."""
        outside = self._outside_rows(docs)
        if outside is None:
            return self._pool(counts)
        import scipy.sparse as sp

        extra_counts, extra_matrix, extra_weights = outside
        return self._pool(sp.hstack([counts, extra_counts], format="csr"),
                          np.vstack([self.embedding_matrix_, extra_matrix]),
                          np.concatenate([self.token_weights_, extra_weights]))

    def _outside_rows(self, docs):
        """(bag, vectors, weights) of the tokens of ``docs`` outside ``vocabulary_`` that get a vector from the
        fastText vectors of ``subword_vectors_``, or None (no such vectors, or no such token)."""
        from ..text.vocabulary import Vocabulary
        from .matrix import _new_tokens_matrix

        # (absent: a vectorizer pickled before subwords); subwords=False set after fit (a model loaded where the
        # entry is gone) turns them off without a refit, as the warning of open_subwords says
        folder = getattr(self, "subword_vectors_", None) if getattr(self, "subwords", True) else None
        if folder is None:
            return None
        known = self.vocabulary_.token_to_id
        # (a corpus: _as_corpus; compact: a corpus taken from a larger one keeps all of its strings)
        outside = sorted({s for s in docs.compact().strings if s not in known})
        if not outside:
            return None
        kv = open_subwords(folder, owner=type(self).__name__)
        if kv is None:
            return None
        matrix, report = _new_tokens_matrix(outside, kv)  # (its coverage line at DEBUG)
        logger.debug("tokens outside the vocabulary: %s", report)
        has_vector = np.flatnonzero(np.any(matrix != 0, axis=1))
        if not has_vector.size:
            return None
        tokens = [outside[i] for i in has_vector]
        bag = self._counts_over(docs, Vocabulary(tokens))
        if self.pooling == "tfidf":
            weight = float(self.token_weights_.max(initial=0.0))  # the largest training IDF
            if weight == 0.0:
                weight = 1.0
        else:
            weight = 1.0  # SIF: a / (a + p(w)) with p(w) = 0
        return bag, matrix[has_vector], np.full(len(tokens), weight, dtype=np.float32)

    def _counts_over(self, docs, vocabulary):
        """Counts of ``vocabulary``'s own tokens (its padding and OOV columns dropped)."""
        return bag_matrix(docs, vocabulary, dtype=np.float32)[:, 2:]

    def _pool(self, counts, M=None, weights=None):
        M = self.embedding_matrix_ if M is None else M
        weights = self.token_weights_ if weights is None else weights
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
        docs = self._as_corpus(check_token_lists(X, estimator=type(self).__name__))
        return on_input_rows(self._remove_component(self._pool_documents(docs, self._counts(docs))), X, self)

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

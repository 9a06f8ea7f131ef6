"""Nearest vocabulary words of tokens first seen after fit, by cosine similarity of word vectors.

:class:`~toolkit.models.EmbeddingClassifier` (``oov="nearest"``) gives a
token outside its vocabulary the id of the vocabulary word whose vector is
most similar to the token's own vector: with fastText vectors every token has
one, built from its character n-grams, so a misspelling such as ``"awfull"``
finds ``"awful"``. :func:`unit_word_rows` computes the candidates once (at
fit, or again from the re-opened vectors after unpickling or loading);
:func:`nearest_words` answers for a batch of new tokens.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nearest_words", "unit_word_rows"]

#: rows of new tokens scored against the candidates at once (a block of 512 x 20,000 float32 is 40 MB)
_BLOCK = 512


def _unit(matrix):
    """Rows of ``matrix`` scaled to unit length (float32); zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def unit_word_rows(tokens, kv, *, first_id=2, separator=" "):
    """The candidates of :func:`nearest_words`: ids and unit vectors of the words of a vocabulary.

    Parameters
    ----------
    tokens : sequence of str
        The vocabulary's tokens in id order (``Vocabulary.tokens``).
    kv : KeyedVectors
        The word vectors (fastText's give every token a vector).
    first_id : int, default=2
        Ids below it (padding, OOV) are never candidates.
    separator : str, default=" "
        Tokens holding it (word n-grams) are never candidates.

    Returns
    -------
    ids : ndarray of int32, shape (n_candidates,)
    unit : ndarray of float32, shape (n_candidates, dim)
        The unit vector of each candidate (words without a vector are left out).

    Examples
    --------
    >>> from gensim.models import KeyedVectors
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["good", "film"], np.array([[3, 4], [0, 1]], dtype=np.float32))
    >>> ids, unit = unit_word_rows(["<pad>", "<unk>", "film", "good", "dud", "good film"], kv)
    >>> ids.tolist(), unit.tolist()
    ([2, 3], [[0.0, 1.0], [0.6000000238418579, 0.800000011920929]])
    """
    from .matrix import _new_tokens_matrix

    wanted = [i for i in range(first_id, len(tokens)) if separator not in tokens[i]]
    if not wanted:
        return np.zeros(0, dtype=np.int32), np.zeros((0, int(kv.vector_size)), dtype=np.float32)
    matrix, _ = _new_tokens_matrix([tokens[i] for i in wanted], kv)  # (its coverage line at DEBUG)
    has = np.any(matrix != 0, axis=1)
    return np.asarray(wanted, dtype=np.int32)[has], _unit(matrix[has])


def nearest_words(tokens, kv, ids, unit):
    """The most similar candidate of each token and its cosine similarity.

    Parameters
    ----------
    tokens : sequence of str
        Tokens to place (none of them a candidate).
    kv : KeyedVectors
        The vectors the candidates came from (:func:`unit_word_rows`).
    ids, unit : ndarray
        What :func:`unit_word_rows` returned.

    Returns
    -------
    best : ndarray of int32, shape (n_tokens,)
        The id of the nearest candidate; -1 for a token without a vector
        (or when there are no candidates).
    similarity : ndarray of float32, shape (n_tokens,)
        Its cosine similarity; -inf where ``best`` is -1.
    """
    from .matrix import _new_tokens_matrix

    best = np.full(len(tokens), -1, dtype=np.int32)
    similarity = np.full(len(tokens), -np.inf, dtype=np.float32)
    if not len(tokens) or not len(ids):
        return best, similarity
    vectors = _unit(_new_tokens_matrix(list(tokens), kv)[0])
    has = np.flatnonzero(np.any(vectors != 0, axis=1))
    for start in range(0, has.size, _BLOCK):
        rows = has[start:start + _BLOCK]
        scores = vectors[rows] @ unit.T
        top = np.argmax(scores, axis=1)
        best[rows] = ids[top]
        similarity[rows] = scores[np.arange(rows.size), top]
    return best, similarity

"""Neighbours, analogies and the standard word-vector evaluations (delegated to gensim)."""

from __future__ import annotations

import logging

from .._validation import Interval
from ..exceptions import DataError
from .loading import _check, load_vectors

__all__ = ["most_similar", "analogy", "evaluate_analogies", "evaluate_word_pairs"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- gensim helpers


def _require_words(kv, words):
    for w in words:
        if not kv.has_index_for(w) and not (getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams")):
            raise DataError(
                f"The word {w!r} has no vector ({len(kv):,} words loaded); check the spelling, try its "
                "lowercase form, or load more vectors (limit=None; on the command line, no --limit)."
            )


def most_similar(vectors, word, topn=10):
    """The ``topn`` nearest words to ``word`` by cosine similarity.

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    word : str
    topn : int, default=10

    Returns
    -------
    list of (str, float)

    Examples
    --------
    >>> most_similar("glove.6B.50d", "film", topn=3)                  # doctest: +SKIP
    [('movie', 0.93...), ('films', 0.92...), ('movies', 0.88...)]
    """
    _check("most_similar", word=(word, [str]), topn=(topn, [Interval(int, 1, None)]))
    kv = load_vectors(vectors)
    _require_words(kv, [word])
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=topn)]


def analogy(vectors, a, b, c, topn=1):
    """Solve "``a`` is to ``b`` as ``c`` is to ?": the words nearest to ``b - a + c``.

    ``analogy(kv, "man", "king", "woman")`` is king - man + woman (queen),
    the order of the Google analogy set's lines.

    Returns
    -------
    list of (str, float)
        The ``topn`` answers (the three query words excluded), best first.

    Examples
    --------
    >>> analogy("glove.6B.50d", "man", "king", "woman")               # doctest: +SKIP
    [('queen', 0.85...)]
    """
    _check("analogy", a=(a, [str]), b=(b, [str]), c=(c, [str]), topn=(topn, [Interval(int, 1, None)]))
    kv = load_vectors(vectors)
    _require_words(kv, [a, b, c])
    return [(w, float(s)) for w, s in kv.most_similar(positive=[b, c], negative=[a], topn=topn)]


def _test_data(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def evaluate_analogies(vectors, path=None, *, restrict_vocab=30_000, case_insensitive=True):
    """Accuracy on the Google analogy set (gensim's ``evaluate_word_analogies``).

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    path : path-like, optional
        A file in the ``questions-words.txt`` format; default the copy that
        ships with gensim.
    restrict_vocab : int, default=30000
        Only questions whose words are all among the first ``restrict_vocab``
        vectors count, and answers come from them.
    case_insensitive : bool, default=True

    Returns
    -------
    dict
        ``accuracy``, ``n_correct``, ``n_incorrect`` and ``sections`` (name,
        accuracy, correct, incorrect per section).

    Examples
    --------
    >>> evaluate_analogies("glove.6B.50d")["accuracy"]                # doctest: +SKIP
    0.497...
    """
    _check(
        "evaluate_analogies",
        restrict_vocab=(restrict_vocab, [Interval(int, 1, None)]),
        case_insensitive=(case_insensitive, ["boolean"]),
    )
    kv = load_vectors(vectors)
    score, sections = kv.evaluate_word_analogies(
        str(path) if path is not None else _test_data("questions-words.txt"),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
    )
    out = []
    for sec in sections:
        n_ok, n_bad = len(sec["correct"]), len(sec["incorrect"])
        out.append(
            {
                "section": sec["section"],
                "accuracy": n_ok / (n_ok + n_bad) if n_ok + n_bad else float("nan"),
                "correct": n_ok,
                "incorrect": n_bad,
            }
        )
    total = next((s for s in out if s["section"] == "Total accuracy"), None)
    return {
        "accuracy": float(score),
        "n_correct": total["correct"] if total else None,
        "n_incorrect": total["incorrect"] if total else None,
        "sections": out,
    }


def evaluate_word_pairs(vectors, path=None, *, restrict_vocab=30_000, case_insensitive=True):
    """Correlation with human similarity judgements (WordSim353 by default).

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    path : path-like, optional
        Tab-separated ``word1 word2 score`` lines; default gensim's
        ``wordsim353.tsv``.
    restrict_vocab : int, default=30000
        Only pairs whose words are among the first ``restrict_vocab``
        vectors count; the same default as :func:`evaluate_analogies`
        (gensim's own default is 300000, which gives 0.503 instead of 0.538
        for GloVe 6B-50d).
    case_insensitive : bool, default=True

    Returns
    -------
    dict
        ``pearson``, ``pearson_pvalue``, ``spearman``, ``spearman_pvalue``
        and ``oov_ratio`` (percent of pairs skipped for a missing word).

    Examples
    --------
    >>> round(evaluate_word_pairs("glove.6B.50d")["spearman"], 3)     # doctest: +SKIP
    0.538
    """
    _check(
        "evaluate_word_pairs",
        restrict_vocab=(restrict_vocab, [Interval(int, 1, None)]),
        case_insensitive=(case_insensitive, ["boolean"]),
    )
    kv = load_vectors(vectors)
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs(
        str(path) if path is not None else _test_data("wordsim353.tsv"),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
    )
    return {
        "pearson": float(pearson[0]),
        "pearson_pvalue": float(pearson[1]),
        "spearman": float(spearman[0]),
        "spearman_pvalue": float(spearman[1]),
        "oov_ratio": float(oov_ratio),
    }



"""Negation scope marking: the tokens after "not" become other tokens than the same words elsewhere.

A bag of n-grams sees "not" and "good" in "not a very good film", but no
n-gram up to three words long joins them. Marking each token between a
negation word and the end of its clause (Das & Chen 2001; Pang, Lee &
Vaithyanathan 2002) turns "good" there into ``"NOT_good"``, a feature of its
own that a linear model weighs apart from "good". NLTK's
``nltk.sentiment.util.mark_negation`` does the same on one token list at a
time in Python; :func:`mark_negation` works on the flat arrays of a whole
:class:`~toolkit.text.TokenizedCorpus` (NLTK is not a dependency of toolkit).
"""

from __future__ import annotations

import logging
import re

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._validation import (
    MissingParamsMixin,
    TextInputMixin,
    TokenOutputMixin,
    validate_params,
)
from .corpus import (
    TokenizedCorpus,
    _is_sparse,
    _NgramCorpus,
    check_token_corpus,
    check_token_lists,
)

__all__ = ["NEGATIONS", "SCOPE_ENDS", "NegationMarker", "mark_negation"]

logger = logging.getLogger(__name__)

# The words before "n't" in English contractions: the heads that spaCy's English tokenizer exceptions split
# off "don't", "Don't", "don\u2019t" and "dont" ("do" + "n't" / "n\u2019t" / "nt"; "can't" and "cant" give "ca",
# "won't" and "wont" "wo", "ain't" "ai"). ALL-CAPS spellings ("DON'T", "DONT") have no exception and stay
# one token, as do the left-quote and backtick ones ("don\u2018t", "don`t").
_CONTRACTION_HEADS = frozenset([
    "ai", "are", "ca", "could", "dare", "did", "do", "does", "had", "has", "have", "is", "may", "might", "must",
    "need", "ought", "sha", "should", "was", "were", "wo", "would",
])
#: Words that open a negation scope (compared in lower case). spaCy splits "don't" into "do" + "n't",
#: "don\u2019t" (the typographic apostrophe of most web and word-processor text) into "do" + "n\u2019t" and
#: "dont" into "do" + "nt"; "DON'T", "DONT", "don`t" and "don\u2018t" it leaves one token, so each
#: contraction is here whole as well ("don't", "don\u2019t", "don\u2018t", "don`t", "dont", "can't", "cant",
#: "won't", "wont", ...). "nt" opens a scope only as the tail of a contraction, right after "do", "ca",
#: "wo", "did", ... (spaCy's split of "dont", "cant", "wont", "didnt"), not on its own ("Windows nt").
NEGATIONS = frozenset([
    *"not no never n't nothing nobody none neither nor cannot without hardly nowhere".split(), "n\u2019t", "nt",
    *(head + tail for head in _CONTRACTION_HEADS for tail in ("n't", "n\u2019t", "n\u2018t", "n`t", "nt")),
])
# Negation words that count only right after a contraction head (spaCy's tail of "dont", "cant", ...)
_CONTRACTION_TAILS = frozenset(["nt"])
#: Tokens that close it (compared in lower case): clause punctuation and the contrastive "but" / "however".
SCOPE_ENDS = frozenset(". , ! ? ; : but however".split())
# Words nearly every English text of some length has, and no other common language spells alike (not
# "is", "was", "of": Dutch and German words): a corpus of _MIN_DOCS_LANGUAGE_CHECK documents or more with
# none of them is not English, and the default lists mark little or nothing in it (or half a scope).
_ENGLISH_MARKERS = frozenset(["the", "and", "this", "that", "with", "you"])
_MIN_DOCS_LANGUAGE_CHECK = 20
# the name of an installed spaCy pipeline, its language code first: "es_core_news_sm", "de_dep_news_trf"
_PIPELINE_NAME = re.compile(r"([a-z]{2,3})_(?:core|dep|ent|sent)_\w+")
# the most common negation words; spaCy's English stop words hold them all (SpacyTokenizer(remove_stop=True) drops them)
_STOP_NEGATIONS = frozenset(["not", "no", "never", "n't", "n\u2019t"])
_warned = {"language": False, "remove_stop": False, "remove_punct": False}  # each logged once per process


def mark_negation(X, *, negations=NEGATIONS, scope_ends=SCOPE_ENDS, prefix="NOT_"):
    """Prefix every token inside a negation scope with ``prefix``.

    A scope opens after a token in ``negations`` and runs to the next token
    in ``scope_ends`` or the end of the document; the negation word and the
    closing token themselves stay unmarked, and a second negation word
    inside a scope keeps it open (unmarked itself).

    Parameters
    ----------
    X : TokenizedCorpus or sequence of token lists
    negations, scope_ends : collection of str, default=NEGATIONS, SCOPE_ENDS
        Compared with each token in lower case. An ``"nt"`` in ``negations``
        opens a scope only right after a contraction head ("do", "ca", "wo",
        "did", "is", ...: spaCy's split of "dont", "cant", "wont"), not on its
        own.
    prefix : str, default="NOT_"

    Returns
    -------
    TokenizedCorpus
        The same documents, lengths and row labels
        (:attr:`~toolkit.text.TokenizedCorpus.row_index`); its string table is ``X``'s, then
        each string with ``prefix`` (where ``X`` already holds a prefixed
        string, such as a token ``"NOT_good"``, its one entry serves both).
        For word n-grams (``SpacyTokenizer(ngram_range=(1, 2))``,
        :meth:`~toolkit.text.TokenizedCorpus.ngrams`) the words are marked
        and the n-grams formed again from them: ``"not good film"`` gives
        ``"NOT_good NOT_film"``.

    Examples
    --------
    >>> mark_negation([["it", "is", "not", "a", "good", "film", ".", "fine", "acting"]]).to_list()
    [['it', 'is', 'not', 'NOT_a', 'NOT_good', 'NOT_film', '.', 'fine', 'acting']]
    >>> mark_negation([["I", "DIDN'T", "like", "it"], ["I", "do", "nt", "care"], ["on", "nt", "4"]]).to_list()
    [['I', "DIDN'T", 'NOT_like', 'NOT_it'], ['I', 'do', 'nt', 'NOT_care'], ['on', 'nt', '4']]
    """
    corpus = check_token_corpus(X, estimator="mark_negation")
    if isinstance(corpus, _NgramCorpus) and tuple(corpus._ngram_range) != (1, 1):
        # word n-grams (SpacyTokenizer(ngram_range=(1, 2)), corpus.ngrams): scopes are about words, so mark the
        # words and form the n-grams again; marked as tokens, the n-grams after a document's last word (sklearn's
        # order) fell into any scope still open there ("NOT_the plot")
        words = corpus._source.with_tokenizer_params(corpus.tokenizer_params)
        marked = mark_negation(words, negations=negations, scope_ends=scope_ends, prefix=prefix)
        return marked.ngrams(corpus._ngram_range, separator=corpus._separator)
    strings, ids, offsets = corpus.strings, corpus.ids, corpus.offsets
    english_lists = negations is NEGATIONS and scope_ends is SCOPE_ENDS
    negations = frozenset(w.lower() for w in negations)
    scope_ends = frozenset(w.lower() for w in scope_ends)
    lower = [s.lower() for s in strings]
    removed_stop_words = bool((corpus.tokenizer_params or {}).get("remove_stop"))  # the markers are stop words
    if (english_lists and not _warned["language"] and len(offsets) - 1 >= _MIN_DOCS_LANGUAGE_CHECK
            and not removed_stop_words and _ENGLISH_MARKERS.isdisjoint(lower)):
        _warned["language"] = True
        logger.warning(
            "mark_negation: none of the %d documents has an English word such as 'the', 'and' or 'this', but the "
            "default negation words and scope ends are English (NEGATIONS, SCOPE_ENDS): they mark little or "
            "nothing in other languages, or only part of a scope (Spanish 'no' opens one that 'pero' does not "
            "close). Pass negations= and scope_ends= of the texts' language (NegationMarker(negations=..., "
            "scope_ends=...)), or leave negation marking out (StackedTextClassifier(mark_negation=False)). "
            "Logged once per process.",
            len(offsets) - 1,
        )
    language = _tokenizer_language(corpus.tokenizer_params)
    if english_lists and not _warned["language"] and language not in (None, "en", "xx"):
        # a corpus of Spanish posts with one "the" or "you" in it ("I love you" quoted), or of few documents: the
        # check above keeps silent, while the tokenizer's pipeline names the language
        _warned["language"] = True
        logger.warning(
            "mark_negation: the tokens were made with SpacyTokenizer(model=%r), a pipeline for the language %r, but "
            "the default negation words and scope ends are English (NEGATIONS, SCOPE_ENDS): they mark little or "
            "nothing in other languages, or only part of a scope (Spanish 'no' opens one that 'pero' does not "
            "close). Pass negations= and scope_ends= of the texts' language (NegationMarker(negations=..., "
            "scope_ends=...)), or leave negation marking out (StackedTextClassifier(mark_negation=False)). "
            "Logged once per process.",
            corpus.tokenizer_params["model"], language,
        )
    is_negation = np.fromiter((s in negations for s in lower), dtype=bool, count=len(lower))[ids]
    is_end = np.fromiter((s in scope_ends for s in lower), dtype=bool, count=len(lower))[ids]
    _warn_removed_words(corpus, negations, scope_ends, lower)
    position = np.arange(ids.size)
    doc_start = np.repeat(offsets[:-1], np.diff(offsets))
    tails = _CONTRACTION_TAILS & negations
    if tails:
        # "nt" negates as spaCy's tail of "dont", "cant", "wont" ("do" + "nt"): right after a contraction head of
        # the same document; elsewhere ("Windows nt", a document's first token) it is a word like any other
        is_tail = np.fromiter((s in tails for s in lower), dtype=bool, count=len(lower))[ids]
        is_head = np.fromiter((s in _CONTRACTION_HEADS for s in lower), dtype=bool, count=len(lower))[ids]
        after_head = np.zeros(ids.size, dtype=bool)
        after_head[1:] = is_head[:-1]
        is_negation &= ~is_tail | (after_head & (position > doc_start))
    # the last negation word and the last scope end at or before each token, over the flat corpus
    last_negation = np.maximum.accumulate(np.where(is_negation, position, -1))
    last_end = np.maximum.accumulate(np.where(is_end, position, -1))
    marked = (last_negation >= doc_start) & (last_negation > last_end) & ~is_negation
    new_ids = (ids + np.int32(len(strings)) * marked).astype(np.int32)
    prefixed = tuple(prefix + s for s in strings)
    if not set(strings).isdisjoint(prefixed):
        # X holds a token spelled like a marked one ("NOT_good"): the checked constructor merges the
        # repeated strings, which would otherwise count as two tokens (and two vocabulary entries)
        out = TokenizedCorpus(new_ids, offsets, strings + prefixed)
        # the same documents: the same pandas row labels, where X has them
        return out if corpus.row_index is None else out.with_row_index(corpus.row_index)
    return TokenizedCorpus._from_arrays(new_ids, offsets, strings + prefixed, None, corpus.row_index)


def _tokenizer_language(params) -> str | None:
    """The language code of the spaCy pipeline that made the tokens (``tokenizer_params["model"]``):
    ``"blank:es"`` and ``"es_core_news_sm"`` give ``"es"``; None when unknown (a pipeline folder, no
    record, the default ``"blank:en"``)."""
    model = (params or {}).get("model")
    if not isinstance(model, str):
        return None
    if model.startswith("blank:"):
        return model[len("blank:"):].strip().lower() or None
    match = _PIPELINE_NAME.fullmatch(model)
    return match.group(1) if match else None


def _warn_removed_words(corpus, negations, scope_ends, lower) -> None:
    """Warn (once per process each) when the tokenizer dropped the words that open or close scopes.

    ``SpacyTokenizer(remove_stop=True)`` drops spaCy's stop words, which
    include "not", "no", "never" and "n't": no scope opens. With
    ``remove_punct=True`` the clause punctuation is gone and every scope runs
    on to the next "but" or the end of the document. Known from the corpus'
    :attr:`~toolkit.text.TokenizedCorpus.tokenizer_params` and checked on
    the tokens, for corpora of ``_MIN_DOCS_LANGUAGE_CHECK`` documents or more.
    """
    params = corpus.tokenizer_params or {}
    check_stop = bool(params.get("remove_stop")) and not _warned["remove_stop"]
    check_punct = bool(params.get("remove_punct")) and not _warned["remove_punct"]
    if len(corpus.offsets) - 1 < _MIN_DOCS_LANGUAGE_CHECK or not (check_stop or check_punct):
        return
    used = {lower[i] for i in np.unique(corpus.ids).tolist()}
    dropped = _STOP_NEGATIONS & negations  # the common negation words, all spaCy stop words
    if check_stop and dropped and dropped.isdisjoint(used):
        _warned["remove_stop"] = True
        logger.warning(
            "mark_negation: the tokens were made with SpacyTokenizer(remove_stop=True), which drops spaCy's stop "
            "words, among them the negation words 'not', 'no', 'never' and \"n't\": none is left in the %d "
            "documents, so (nearly) nothing is marked. Tokenize with remove_stop=False, or take the negation "
            "words out of spaCy's stop words first (from spacy.lang.en.stop_words import STOP_WORDS; "
            "STOP_WORDS.difference_update(toolkit.text.negation.NEGATIONS)). Logged once per process.",
            len(corpus.offsets) - 1,
        )
    punctuation = sorted(s for s in scope_ends if s and not any(c.isalnum() for c in s))
    if check_punct and punctuation and used.isdisjoint(punctuation):
        _warned["remove_punct"] = True
        logger.warning(
            "mark_negation: the tokens were made with SpacyTokenizer(remove_punct=True), which drops the "
            "punctuation that ends a negation scope (%s): every scope runs on to the end of its document "
            "(or the next word in scope_ends), marking words far from the negation. Tokenize with "
            "remove_punct=False (a bag of n-grams weighs punctuation little). Logged once per process.",
            " ".join(punctuation),
        )


class NegationMarker(MissingParamsMixin, TextInputMixin, TokenOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Token lists in, the same with negation scopes marked (:func:`mark_negation`); stateless.

    Put it between :class:`~toolkit.text.SpacyTokenizer` and a bag of
    n-grams, or let ``StackedTextClassifier(mark_negation=True)`` do it for
    its n-gram members. On IMDB that stack scores 0.15 point higher on
    validation reviews of unseen movies and the same on the test set
    (BENCHMARKS.md, seventeenth session).

    The default word lists are English (:data:`NEGATIONS`,
    :data:`SCOPE_ENDS`): text in another language is left unmarked, or half
    marked ("no" opens a Spanish scope that "pero" does not close). Give
    ``negations`` and ``scope_ends`` of that language (e.g. ``{"nicht",
    "kein", "nie"}`` and ``{"aber", "sondern", ".", "!", "?"}``), or leave the
    marker out (``StackedTextClassifier(mark_negation=False)``). With the
    default lists, a corpus of 20 documents or more without any English
    "the", "and", "this", "that", "with" or "you" logs a warning
    saying so (once per process), as do tokens of a
    :class:`~toolkit.text.SpacyTokenizer` whose ``model`` names another
    language (``"blank:es"``, ``"de_core_news_sm"``), however few and
    whatever English words are among them.

    Put it after a tokenizer that keeps the words it looks for:
    ``SpacyTokenizer(remove_stop=True)`` drops "not", "no", "never" and
    "n't" (spaCy stop words), and ``remove_punct=True`` the punctuation that
    ends a scope; for such corpora (of 20 documents or more) a warning says
    so, once per process. Word n-grams (``SpacyTokenizer(ngram_range=(1,
    2))``) are marked on their words, then formed again.

    Parameters
    ----------
    negations : collection of str or None, default=None
        Words that open a scope; ``None``: :data:`NEGATIONS`.
    scope_ends : collection of str or None, default=None
        Tokens that close it; ``None``: :data:`SCOPE_ENDS`.
    prefix : str, default="NOT_"
        Non-empty; put in front of every token inside a scope.

    Examples
    --------
    >>> NegationMarker().transform([["never", "dull", ",", "never", "slow"]]).to_list()
    [['never', 'NOT_dull', ',', 'never', 'NOT_slow']]
    """

    _parameter_constraints = {
        "negations": [list, tuple, set, frozenset, None],
        "scope_ends": [list, tuple, set, frozenset, None],
        "prefix": [str],
    }

    def __init__(self, *, negations=None, scope_ends=None, prefix="NOT_"):
        self.negations = negations
        self.scope_ends = scope_ends
        self.prefix = prefix

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def fit(self, X=None, y=None):
        """Check the parameters; learns nothing.

        Parameters
        ----------
        X : TokenizedCorpus, sequence of token lists or None
            Not read (nothing is learnt from the tokens). A string or a
            sparse matrix (another encoder's output) is refused, as
            :meth:`transform` refuses it.
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For an empty ``prefix``, or a string or sparse matrix as ``X``.
        """
        validate_params(self, self._parameter_constraints)
        if not self.prefix:
            raise ValueError("The 'prefix' parameter of NegationMarker must be a non-empty str. Got '' instead.")
        if isinstance(X, (str, bytes)) or _is_sparse(X):
            # raw text, or another step's output (a bag of tokens): refused here as transform refuses it
            check_token_lists(X, estimator="NegationMarker")
        return self

    def transform(self, X):
        """Mark the negation scopes of token lists.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of token lists

        Returns
        -------
        TokenizedCorpus
        """
        self.fit()
        X = check_token_corpus(X, estimator="NegationMarker")  # its errors name this estimator, not mark_negation
        return mark_negation(X, negations=NEGATIONS if self.negations is None else self.negations,
                             scope_ends=SCOPE_ENDS if self.scope_ends is None else self.scope_ends,
                             prefix=self.prefix)

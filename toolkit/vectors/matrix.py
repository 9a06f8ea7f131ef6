"""Embedding matrices for a Keras ``Embedding`` layer, aligned with a vocabulary, and their coverage."""

from __future__ import annotations

import contextvars
import logging
import weakref
from dataclasses import dataclass, field

import numpy as np

from .._validation import Interval, Options
from .loading import _check, _kept_casings, load_vectors

__all__ = ["CoverageReport", "build_embedding_matrix"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- embedding matrix


@dataclass
class CoverageReport:
    """How much of a vocabulary a set of word vectors covers.

    Attributes
    ----------
    n_tokens : int
        Vocabulary tokens checked (the reserved padding and OOV ids excluded).
    n_covered : int
        Tokens that got a pretrained vector: ``n_exact + n_lowercase + n_cased + n_phrase + n_subword``.
    n_exact, n_lowercase, n_subword : int
        Found as is; found lowercased (``lowercase_fallback``); built from
        fastText subword n-grams.
    n_occurrences, n_occurrences_covered : int or None
        Corpus occurrences of the checked tokens (from the vocabulary's
        counts), all and covered; None when the vocabulary has no counts.
    top_missing : list of (str, int or None)
        The most frequent tokens without a vector, with their counts.
    dim, n_vectors : int
        Dimension and size of the vectors.
    oov : str
        How rows without a vector were filled.
    n_cased : int, default=0
        Found under another casing of the vectors' key (``lowercase_fallback``):
        a lower-cased token such as ``"john"`` whose vectors hold only
        ``"John"`` (cased vectors such as fastText's crawl or GloVe 840B).
    n_phrase : int, default=0
        Word n-gram tokens (``"new york"``, words joined by a space) found as
        a phrase of the vectors, its words joined by ``"_"`` (``"new_york"``
        or, with ``lowercase_fallback``, another casing such as ``"New_York"``,
        as in word2vec's GoogleNews vectors).
    """

    n_tokens: int
    n_covered: int
    n_exact: int
    n_lowercase: int
    n_subword: int
    n_occurrences: int | None
    n_occurrences_covered: int | None
    top_missing: list = field(default_factory=list)
    dim: int = 0
    n_vectors: int = 0
    oov: str = "zeros"
    n_cased: int = 0  # last, with a default: reports saved before it existed still load
    n_phrase: int = 0  # (idem)

    @property
    def n_missing(self) -> int:
        return self.n_tokens - self.n_covered

    @property
    def token_coverage(self) -> float:
        """Share of tokens with a vector (nan for an empty vocabulary)."""
        return self.n_covered / self.n_tokens if self.n_tokens else float("nan")

    @property
    def occurrence_coverage(self) -> float | None:
        """Share of token occurrences with a vector, or None without counts."""
        if self.n_occurrences is None:
            return None
        return self.n_occurrences_covered / self.n_occurrences if self.n_occurrences else float("nan")

    def to_dict(self) -> dict:
        """The report as JSON-ready data.

        Returns
        -------
        dict
            The fields, with the derived ``n_missing``, ``token_coverage``
            and ``occurrence_coverage``.
        """
        return {
            "n_tokens": self.n_tokens,
            "n_covered": self.n_covered,
            "n_exact": self.n_exact,
            "n_lowercase": self.n_lowercase,
            "n_cased": self.n_cased,
            "n_phrase": self.n_phrase,
            "n_subword": self.n_subword,
            "n_missing": self.n_missing,
            "token_coverage": self.token_coverage,
            "n_occurrences": self.n_occurrences,
            "n_occurrences_covered": self.n_occurrences_covered,
            "occurrence_coverage": self.occurrence_coverage,
            "top_missing": [[t, c] for t, c in self.top_missing],
            "dim": self.dim,
            "n_vectors": self.n_vectors,
            "oov": self.oov,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CoverageReport:
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        data : dict
            What :meth:`to_dict` gave; derived keys are ignored, and fields
            added since (such as ``n_cased`` and ``n_phrase``) get their defaults.

        Returns
        -------
        CoverageReport
        """
        names = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["top_missing"] = [tuple(x) for x in data.get("top_missing", [])]
        return cls(**kwargs)

    def __str__(self) -> str:
        def pct(x):
            return "-" if x is None or x != x else f"{100 * x:.1f}%"

        rows = [
            ("tokens", f"{self.n_covered:,}", f"{self.n_tokens:,}", pct(self.token_coverage)),
            ("  exact", f"{self.n_exact:,}", "", ""),
            ("  lowercased", f"{self.n_lowercase:,}", "", ""),
        ]
        if self.n_cased:
            rows.append(("  other casing", f"{self.n_cased:,}", "", ""))
        if self.n_phrase:
            rows.append(("  phrases", f"{self.n_phrase:,}", "", ""))
        if self.n_subword:
            rows.append(("  subwords", f"{self.n_subword:,}", "", ""))
        if self.n_occurrences is not None:
            rows.append(
                ("occurrences", f"{self.n_occurrences_covered:,}", f"{self.n_occurrences:,}", pct(self.occurrence_coverage))
            )
        widths = [max(len(r[i]) for r in [("", "covered", "total", "coverage"), *rows]) for i in range(4)]
        lines = [
            f"Embedding coverage: {self.n_vectors:,} vectors of dimension {self.dim}; rows without a vector: {self.oov}",
            "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(("", "covered", "total", "coverage"), widths))),
        ]
        for r in rows:
            lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if self.top_missing:
            lines.append(f"Most frequent tokens without a vector ({self.n_missing:,} in all):")
            tw = max(5, *(len(t) for t, _ in self.top_missing))
            lines.append(f"  {'rank':>4}  {'token'.ljust(tw)}  {'count':>9}")
            for rank, (tok, cnt) in enumerate(self.top_missing, 1):
                lines.append(f"  {rank:>4}  {tok.ljust(tw)}  {'-' if cnt is None else format(cnt, ','):>9}")
        return "\n".join(lines)


#: the (padding, OOV) tokens that open a list vocabulary from Keras' ``TextVectorization.get_vocabulary()``
#: and from a toolkit ``Vocabulary.tokens``: such a list keeps ids 0 and 1 reserved, as a Vocabulary does
_RESERVED_PAIRS = frozenset({("", "[UNK]"), ("<pad>", "<unk>")})


def _vocabulary_parts(vocabulary):
    """(tokens, counts or None, reserved ids, OOV row or None) of a Vocabulary, a list of tokens or a
    ``{token: id}`` mapping.

    Reserved rows are zeros and count nowhere in the report; the OOV row (of
    the reserved ones) is filled like a missing word.
    """
    from collections.abc import Mapping

    from ..text.vocabulary import OOV_ID, PAD_ID

    if hasattr(vocabulary, "tokens") and hasattr(vocabulary, "counts"):
        tokens = list(vocabulary.tokens)
        counts = np.asarray(vocabulary.counts, dtype=np.int64)
        return tokens, counts, (PAD_ID, OOV_ID), OOV_ID
    if isinstance(vocabulary, Mapping):
        tokens, gaps = _mapping_tokens(vocabulary)
    elif isinstance(vocabulary, (str, bytes)) or not hasattr(vocabulary, "__iter__"):
        raise TypeError(
            f"vocabulary must be a toolkit Vocabulary or a list of tokens, got {type(vocabulary).__name__}; "
            "a {token: id} dict (Keras' word_index) works too."
        )
    else:
        tokens, gaps = list(vocabulary), ()
        for i, t in enumerate(tokens):
            if not isinstance(t, str):
                raise TypeError(f"vocabulary must hold str tokens; item {i} is a {type(t).__name__} ({t!r}).")
        if isinstance(vocabulary, (set, frozenset)):
            # a set's order changes from process to process (string hashing): its rows are sorted, as
            # scikit-learn's CountVectorizer(vocabulary=set) sorts its columns
            tokens.sort()
    if tuple(tokens[:2]) in _RESERVED_PAIRS and not _NEW_TOKENS.get():
        return tokens, None, (PAD_ID, OOV_ID, *gaps), OOV_ID
    return tokens, None, gaps, None


def _mapping_tokens(mapping):
    """(tokens by id, ids no token has) of a ``{token: id}`` mapping such as Keras' ``Tokenizer.word_index``.

    Its ids start at 1 (0 is padding): listing its keys instead put each
    word's vector one row before its id.
    """
    import operator

    by_id: dict = {}
    for tok, i in mapping.items():
        if not isinstance(tok, str):
            raise TypeError(f"vocabulary must map str tokens to ids; key {tok!r} is a {type(tok).__name__}.")
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"vocabulary must map tokens to int ids; {tok!r} maps to {i!r}.") from None
        if i < 0:
            raise ValueError(f"vocabulary must map tokens to ids >= 0; {tok!r} maps to {i}.")
        if i in by_id:
            raise ValueError(f"vocabulary maps {by_id[i]!r} and {tok!r} both to id {i}; each id is one row.")
        by_id[i] = tok
    n = max(by_id) + 1 if by_id else 0
    return [by_id.get(i, "") for i in range(n)], tuple(i for i in range(n) if i not in by_id)


def _first_casings(lowered, keys) -> dict:
    """Where the first key of each casing is: ``{low: j}`` with ``keys[j].lower() == low``, ``j`` smallest.

    The "other casing" fallback of every user of word vectors in the toolkit
    (:func:`build_embedding_matrix`, :class:`~toolkit.vectors.clusters.WordClusterer`):
    a lower-cased token such as ``"john"`` whose vectors hold only ``"John"``
    gets the vector (or cluster) of ``"John"``. One pass over ``keys``,
    stopped once every one of ``lowered`` is found; the first casing in the
    keys' order wins (the most frequent in the usual files; gensim's
    ``case_insensitive`` evaluations choose the same).

    Parameters
    ----------
    lowered : iterable of str
        Lower-cased tokens to find.
    keys : iterable
        The vectors' words in their order (``kv.index_to_key``); keys that
        are not strings (a KeyedVectors built in memory may have int keys)
        have no casing and are skipped.

    Returns
    -------
    dict
        ``{low: j}`` for each of ``lowered`` that some key lower-cases to.

    Examples
    --------
    >>> _first_casings({"john", "dud"}, ["the", "John", "JOHN"])
    {'john': 1}
    """
    wanted = set(lowered)
    found: dict = {}
    if not wanted:
        return found
    for j, key in enumerate(keys):
        if not isinstance(key, str):
            continue
        low = key.lower()
        if low in wanted:
            wanted.discard(low)
            found[low] = j
            if not wanted:
                break
    return found


def _other_casings(wanted, kv) -> dict:
    """:func:`_first_casings` of ``wanted`` (lower-cased forms that are no key of ``kv``) over ``kv``'s words,
    from the index :func:`_remember_casings` kept where there is one."""
    index = _kept_casings(kv)
    if index is None:
        return _first_casings(wanted, kv.index_to_key)
    return {low: index[low] for low in wanted if low in index}


def _match_other_casing(tokens, skip, kv, src, kind) -> None:
    """Give each token still without a vector the row of another casing of it (``kind`` 4), in place
    (:func:`_first_casings` over the vectors' words)."""
    wanted: dict = {}
    for i in np.flatnonzero(kind == 0):
        if i not in skip and " " not in tokens[i]:  # n-grams: no vectors file has a key with a space
            wanted.setdefault(tokens[i].lower(), []).append(i)
    for low, j in _other_casings(wanted, kv).items():
        rows = wanted[low]
        src[rows], kind[rows] = j, 4


def _subword_vectors(kv, words):
    """fastText's vector of each of ``words`` (none of them a key of ``kv``), from its character n-grams.

    The float32 sums of gensim's ``FastTextKeyedVectors.get_vector``, in its
    order (rows added one by one to zeros, then divided by their number), so
    the same bits, without its indexing of the memory-mapped n-gram array
    one row at a time (a new ``memmap`` object per row: about 0.3 ms a word).
    A word without any n-gram gets zeros, as in gensim.
    """
    from gensim.models.fasttext import ft_ngram_hashes

    ngrams = np.asarray(kv.vectors_ngrams)  # a plain view of the memory map
    zero = np.zeros((1, ngrams.shape[1]), dtype=np.float32)
    for word in words:
        hashes = ft_ngram_hashes(word, kv.min_n, kv.max_n, kv.bucket)
        if not len(hashes):
            yield zero[0]
            continue
        rows = np.concatenate([zero, ngrams[hashes].astype(np.float32, copy=False)])
        yield np.add.reduce(rows, axis=0) / len(hashes)  # axis 0: row after row, as gensim's loop


#: {vectors: (their number of words, whether one of their words holds a capital)} (:func:`_cased`)
_CASED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cased(kv) -> bool:
    """Whether any word of ``kv`` differs from its lower-cased form (the vectors were trained on cased text).

    A fastText model trained on lower-cased text never saw a capital: the
    character n-grams of ``"AMAZZING"`` are untrained buckets (noise), those
    of ``"amazzing"`` are not. One pass over the words, stopped at the first
    cased one; kept per vectors object (recomputed when its size changes).
    """
    try:
        kept = _CASED.get(kv)
    except TypeError:  # not weak-referenceable
        kept = None
    if kept is not None and kept[0] == len(kv):
        return kept[1]
    cased = any(isinstance(key, str) and key != key.lower() for key in kv.index_to_key)
    try:
        _CASED[kv] = (len(kv), cased)
    except TypeError:
        pass
    return cased


#: how phrase entries join their words in word2vec-style vectors (GoogleNews: ``"New_York"``)
PHRASE_SEPARATOR = "_"


def _phrase_key(tok: str) -> str | None:
    """The phrase entry a word n-gram token is looked up as (``"new york"`` -> ``"new_york"``), or None.

    None for a token without a space (no n-gram), and for an n-gram of an
    empty word or of a word that holds ``"_"`` itself (``"_ _"`` would read
    as GloVe's ``"___"``): no phrase.
    """
    if " " not in tok:
        return None
    words = tok.split(" ")
    if not all(words) or any(PHRASE_SEPARATOR in w for w in words):
        return None
    return PHRASE_SEPARATOR.join(words)


def _match_phrases(tokens, skip, kv, src, kind, lowercase_fallback) -> None:
    """Give each word n-gram token still without a vector the row of the vectors' phrase (``kind`` 5), in place.

    ``"new york"`` (the toolkit's n-grams join words by a space) is looked up
    as ``"new_york"``, then (``lowercase_fallback``) lower-cased and under
    any other casing (:func:`_first_casings`: ``"New_York"``), as a unigram is.
    An n-gram of a word that holds ``"_"`` itself (``"_ _"``, which would
    read as GloVe's ``"___"``) or of an empty word is no phrase.
    """
    k2i = kv.key_to_index
    wanted: dict = {}
    for i in np.flatnonzero(kind == 0):
        key = None if i in skip else _phrase_key(tokens[i])
        if key is None:
            continue
        j = k2i.get(key)
        if j is None and lowercase_fallback:
            low = key.lower()
            j = k2i.get(low) if low != key else None
            if j is None:
                wanted.setdefault(low, []).append(i)
        if j is not None:
            src[i], kind[i] = j, 5
    for low, j in _other_casings(wanted, kv).items():
        rows = wanted[low]
        src[rows], kind[rows] = j, 5


def build_embedding_matrix(
    vocabulary, vectors, *, oov="zeros", lowercase_fallback=True, random_state=None, n_top_missing=20
):
    """The rows of ``vectors`` for each vocabulary id, for a Keras ``Embedding`` layer.

    Parameters
    ----------
    vocabulary : toolkit.text.vocabulary.Vocabulary, list of str or dict of str to int
        Row ``i`` of the matrix is the vector of id ``i``. For a Vocabulary,
        the padding row (id 0) is all zeros and the OOV row (id 1) is filled
        like a missing word; neither counts in the report. So for a list
        that opens with the padding and OOV tokens of Keras'
        ``TextVectorization.get_vocabulary()`` (``""``, ``"[UNK]"``) or of a
        Vocabulary's ``tokens`` (``"<pad>"``, ``"<unk>"``); any other list
        has no reserved rows; a set's tokens are sorted (row ``i`` is
        ``sorted(vocabulary)[i]``), as scikit-learn sorts a set vocabulary.
        A ``{token: id}`` dict (Keras'
        ``Tokenizer.word_index``, whose ids start at 1) gives each token the
        row of its id; rows of ids no token has (0 there) are zeros.
    vectors : KeyedVectors, path or manifest name
        Anything :func:`load_vectors` accepts.
    oov : {"zeros", "random", "mean"}, default="zeros"
        Rows for tokens without a vector: zeros; random normal draws with the
        per-dimension mean and standard deviation of the rows found; or the
        mean of all vectors.
    lowercase_fallback : bool, default=True
        Look up ``token.lower()`` when ``token`` itself has no vector, then
        any other casing of it among the vectors' words: with cased vectors
        (fastText crawl, GloVe 840B) and lower-cased tokens (the toolkit's
        default), ``"john"`` gets the vector of ``"John"``. Of several
        casings, the first in the vectors' order (the most frequent in the
        usual files) is used, as gensim's ``case_insensitive`` evaluations
        do. The report counts these apart (``n_cased``).
        Word n-gram tokens (``"new york"``: ``SpacyTokenizer(ngram_range=...)``,
        ``TokenizedCorpus.ngrams``) get the vector of the vectors' phrase
        entry where there is one (``"new_york"``, or with
        ``lowercase_fallback`` another casing of it such as GoogleNews'
        ``"New_York"``; ``n_phrase``); unigram tokens are matched as before.
        fastText vectors whose words are all lower-case (a model trained on
        lower-cased text) give a token with capitals that is none of their
        words the subword vector of ``token.lower()``: the character n-grams
        of ``"AMAZZING"`` were never trained, those of ``"amazzing"`` were.
        Vectors with cased words use the token's own n-grams.
    random_state : int, RandomState instance or None, default=None
        Seeds ``oov="random"``.
    n_top_missing : int, default=20
        How many of the most frequent missing tokens the report lists.

    Returns
    -------
    matrix : ndarray of float32, shape (len(vocabulary), dim)
    report : CoverageReport

    Examples
    --------
    >>> import numpy as np
    >>> from gensim.models import KeyedVectors
    >>> from toolkit.vectors import build_embedding_matrix
    >>> from toolkit.text import Vocabulary
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["good", "film"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    >>> vocab = Vocabulary.from_documents([["good", "film", "Good", "dud"]])
    >>> matrix, report = build_embedding_matrix(vocab, kv)
    >>> matrix.shape, report.n_covered, report.n_tokens
    ((6, 2), 3, 4)
    """
    _check(
        "build_embedding_matrix",
        oov=(oov, [Options({"zeros", "random", "mean"})]),
        lowercase_fallback=(lowercase_fallback, ["boolean"]),
        random_state=(random_state, ["random_state"]),
        n_top_missing=(n_top_missing, [Interval(int, 0, None)]),
    )
    from gensim.models import KeyedVectors

    from ..text.vocabulary import Vocabulary

    if isinstance(vocabulary, KeyedVectors) and isinstance(vectors, (Vocabulary, list, tuple, dict)):
        # the order of gensim's own calls (vectors first): else "source must be a path ... got Vocabulary"
        raise TypeError(
            "build_embedding_matrix takes (vocabulary, vectors), and got the vectors first: call "
            "build_embedding_matrix(vocabulary, kv)."
        )
    kv = load_vectors(vectors)
    tokens, counts, reserved, oov_row = _vocabulary_parts(vocabulary)
    dim = int(kv.vector_size)
    n = len(tokens)
    matrix = np.zeros((n, dim), dtype=np.float32)
    k2i = kv.key_to_index
    src = np.full(n, -1, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int8)  # 0 missing, 1 exact, 2 lowercase, 3 subword, 4 other casing, 5 phrase
    skip = set(reserved)
    for i, tok in enumerate(tokens):
        if i in skip:
            continue
        j = k2i.get(tok)
        if j is not None:
            src[i], kind[i] = j, 1
        elif lowercase_fallback:
            low = tok.lower()
            if low != tok:
                j = k2i.get(low)
                if j is not None:
                    src[i], kind[i] = j, 2
    if lowercase_fallback:
        _match_other_casing(tokens, skip, kv, src, kind)
    _match_phrases(tokens, skip, kv, src, kind, lowercase_fallback)
    found = np.flatnonzero(src >= 0)
    if found.size:
        order = np.argsort(src[found], kind="stable")  # sorted reads are kinder to a memory map
        matrix[found[order]] = kv.vectors[src[found[order]]]
    if getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams"):  # fastText: subword vectors
        rows = [i for i in np.flatnonzero(kind == 0) if i not in skip]
        words = [tokens[i] for i in rows]
        if lowercase_fallback and any(w != w.lower() for w in words) and not _cased(kv):
            # vectors of lower-cased text: the n-grams of "AMAZZING" were never trained, those of "amazzing" were
            words = [w.lower() for w in words]
        for i, vec in zip(rows, _subword_vectors(kv, words)):
            if np.any(vec):
                matrix[i], kind[i] = vec, 3
    checked = np.ones(n, dtype=bool)
    checked[list(skip)] = False
    missing = np.flatnonzero(checked & (kind == 0))
    fill = missing if oov_row is None or n <= oov_row else np.concatenate([missing, [oov_row]])
    if fill.size and oov != "zeros" and not len(kv):
        # the mean (and spread) of no vectors is NaN: every row to fill would be NaN, and so the model's loss
        raise ValueError(
            f"build_embedding_matrix got vectors that hold no words, so oov={oov!r} has no vectors to "
            "take a mean or spread from. Check the vectors (file, limit), or use oov='zeros'."
        )
    if fill.size and oov != "zeros":
        if oov == "mean":
            # summed in float64 as before, without a float64 copy of all the vectors (5 GB for glove.840B.300d,
            # most of it read from the memory map at once): the same bits
            matrix[fill] = np.asarray(kv.vectors).mean(axis=0, dtype=np.float64).astype(np.float32)
        else:
            from sklearn.utils import check_random_state

            rng = check_random_state(random_state)
            covered_rows = np.flatnonzero(kind > 0)
            ref = matrix[covered_rows] if covered_rows.size >= 2 else np.asarray(kv.vectors[:10_000])
            mu, sd = ref.mean(axis=0), ref.std(axis=0)
            matrix[fill] = rng.normal(mu, sd, size=(fill.size, dim)).astype(np.float32)
    if 0 in skip and n:
        matrix[0] = 0.0
    n_tokens = int(checked.sum())
    if counts is not None:
        occ = int(counts[checked].sum())
        occ_cov = int(counts[checked & (kind > 0)].sum())
        top = missing[np.argsort(-counts[missing], kind="stable")][:n_top_missing]
        top_missing = [(tokens[i], int(counts[i])) for i in top]
    else:
        occ = occ_cov = None
        top_missing = [(tokens[i], None) for i in missing[:n_top_missing]]
    report = CoverageReport(
        n_tokens=n_tokens,
        n_covered=int((kind > 0).sum()),
        n_exact=int((kind == 1).sum()),
        n_lowercase=int((kind == 2).sum()),
        n_subword=int((kind == 3).sum()),
        n_cased=int((kind == 4).sum()),
        n_phrase=int((kind == 5).sum()),
        n_occurrences=occ,
        n_occurrences_covered=occ_cov,
        top_missing=top_missing,
        dim=dim,
        n_vectors=len(kv),
        oov=oov,
    )
    logger.log(logging.DEBUG if _NEW_TOKENS.get() else logging.INFO,
               "Embedding coverage: %d of %d tokens", report.n_covered, report.n_tokens)
    return matrix, report


#: True (per thread and task) while :func:`_new_tokens_matrix` runs
_NEW_TOKENS = contextvars.ContextVar("toolkit_matrix_new_tokens", default=False)


def _new_tokens_matrix(tokens, kv):
    """``build_embedding_matrix(tokens, kv, oov="zeros", n_top_missing=0)`` for tokens first seen at transform.

    Its coverage line is logged at DEBUG, not INFO: at every transform call
    it would read as the coverage of the fitted model's vocabulary.
    """
    flag = _NEW_TOKENS.set(True)
    try:
        return build_embedding_matrix(tokens, kv, oov="zeros", n_top_missing=0)
    finally:
        _NEW_TOKENS.reset(flag)



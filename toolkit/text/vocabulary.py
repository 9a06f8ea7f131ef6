"""Token lists to integer ids: a frequency-ranked vocabulary and ``pad_sequences``.

Id 0 is padding (``"<pad>"``) and id 1 the out-of-vocabulary token
(``"<unk>"``), as in Keras' ``TextVectorization``; the other tokens follow by
descending count, ties broken by first occurrence in the corpus. Everything is
numpy; Keras is never imported.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

from .._validation import Interval, Options, validate_param
from ..exceptions import DataError, ModelFormatError
from .corpus import TokenizedCorpus, _NgramCorpus

logger = logging.getLogger(__name__)

__all__ = ["OOV_ID", "PAD_ID", "Vocabulary", "pad_sequences", "shared_encoding"]

PAD_ID = 0
OOV_ID = 1
# the active shared_encoding() scope: {"via": {id(small): large}, "memo": {(id(corpus), id(vocab)): (ids, ...)}}
_SHARED_ENCODING = contextvars.ContextVar("toolkit_shared_encoding", default=None)
# id(vocabulary) -> (vocabulary, its __getstate__) while a model is saved (one_state_per_save)
_SAVED_STATES = contextvars.ContextVar("toolkit_saved_states", default=None)
# keys Vocabulary.to_json adds to to_dict's inside json_extra() (toolkit vectorize: the tokenizer settings)
_JSON_EXTRA = contextvars.ContextVar("toolkit_vocabulary_json_extra", default=None)
_FORMAT = "toolkit.vocabulary"
_VERSION = 1
# the "tokens_layout" of a saved state whose "tokens" hold only the tokens outside its n-gram index (see
# __getstate__); a state without the key (toolkit before the twenty-sixth session) holds every token
_NGRAM_CODES = "ngram_codes"
# n-grams joined per chunk when their strings are rebuilt from their codes (bounds the temporaries)
_JOIN_CHUNK = 1 << 20
# kept tokens per chunk of rows in _pad_flat (bounds its int64 index arrays)
_PAD_CHUNK = 1 << 18
# maxlen=None warns (_report_row_length) when the longest document is this many times the 99th percentile
# length and the padded matrix has this many cells: one document sets the row length of all
_SKEW_FACTOR = 10
_SKEW_MIN_CELLS = 1_000_000


class _DamagedState(ModelFormatError, DataError):
    """A saved vocabulary state that cannot be read: a :class:`ModelFormatError` (a saved model's file
    is damaged) and, as before, a :class:`DataError`."""


def _damaged(problem: str) -> _DamagedState:
    """The error for a damaged saved state, naming ``problem``."""
    return _DamagedState(f"Damaged vocabulary state: {problem}. The saved model was altered or truncated; "
                         "save it again from the fitted model (or fit it again).")


class _ReadOnlyDict(dict):
    """A dict that refuses changes: :attr:`Vocabulary.token_to_id`, which the vocabulary itself encodes with.

    Reads, ``json.dumps``, ``dict(...)`` and ``.copy()`` (plain dicts) work
    as on a dict; it pickles as a plain dict.
    """

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "Vocabulary.token_to_id is read-only (encode and decode use it): change a copy, "
            "dict(vocabulary.token_to_id), or build a new Vocabulary."
        )

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return dict, (dict(self),)


class Vocabulary:
    """A bijection between tokens and ids with reserved padding and OOV ids.

    Parameters
    ----------
    tokens : iterable of str
        The regular tokens in id order; they get ids 2, 3, ... Must be unique
        and must not contain ``pad_token`` or ``oov_token``.
    counts : array-like of int, optional
        Corpus count of each of ``tokens``; zeros when not given.
    pad_token, oov_token : str, default="<pad>", "<unk>"
        Names of the reserved ids 0 and 1 (used by :meth:`decode`).

    Attributes
    ----------
    tokens : list of str
        All tokens in id order, the reserved two first.
    counts : ndarray of int64
        Count of each id (0 for the reserved ids).
    token_to_id : dict of str to int
        The inverse of ``tokens``; read-only (changing it raises a TypeError):
        ``dict(vocab.token_to_id)`` is a copy to change, as Keras' ``word_index``.
    pad_token, oov_token : str
        The tokens of the reserved ids 0 and 1.

    Examples
    --------
    >>> from toolkit.text import Vocabulary
    >>> vocab = Vocabulary.from_documents([["a", "good", "film"], ["a", "dud"]])
    >>> vocab.tokens
    ['<pad>', '<unk>', 'a', 'good', 'film', 'dud']
    >>> vocab.encode(["a", "dud", "unseen"]).tolist()
    [2, 5, 1]
    >>> vocab.decode([0, 2, 5])
    ['a', 'dud']
    """

    def __init__(self, tokens: Iterable[str] = (), counts=None, *, pad_token: str = "<pad>", oov_token: str = "<unk>"):
        tokens = list(tokens)
        for name, value in (("pad_token", pad_token), ("oov_token", oov_token)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}.")
        if pad_token == oov_token:
            raise ValueError(f"pad_token and oov_token must differ, both are {pad_token!r}.")
        # a tuple of str, not a list: the garbage collector stops tracking it after one
        # collection, where a list of a million n-grams would be traversed at every full one
        self._tokens = (pad_token, oov_token, *tokens)
        self._token_to_id = _ReadOnlyDict(zip(self._tokens, range(len(self._tokens))))
        if len(self._token_to_id) != len(self._tokens):
            seen: set[str] = set()
            dup = next(t for t in self._tokens if t in seen or seen.add(t))
            raise ValueError(
                f"Vocabulary tokens must be unique and must not repeat the reserved tokens; "
                f"{dup!r} appears twice."
            )
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"Vocabulary tokens must be str, got {type(tok).__name__} ({tok!r}).")
        if counts is None:
            counts = np.zeros(len(tokens), dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (len(tokens),):
            raise ValueError(f"counts must have one entry per token ({len(tokens)}), got shape {counts.shape}.")
        self._counts = np.concatenate([np.zeros(2, np.int64), counts])
        self._counts.flags.writeable = False

    # ------------------------------------------------------------- building
    @classmethod
    def from_documents(cls, documents, *, max_tokens: int | None = None, min_count: int = 1) -> Vocabulary:
        """Count tokens and keep the most frequent ones.

        Parameters
        ----------
        documents : TokenizedCorpus or iterable of iterable of str
            Tokens equal to ``"<pad>"`` or ``"<unk>"`` are not counted.
        max_tokens : int >= 3, optional
            Total size of the vocabulary *including* the two reserved ids, as
            ``max_tokens`` of Keras' ``TextVectorization``. None keeps all.
        min_count : int >= 1, default=1
            Drop tokens seen fewer times.

        Returns
        -------
        Vocabulary
            Tokens ranked by descending count; equal counts keep the order of
            first occurrence in ``documents``, as the Keras ``Tokenizer``'s
            ``word_index`` does. Keras' ``TextVectorization`` ranks equal
            counts by descending string and scikit-learn's vectorizers order
            their columns alphabetically, so ids (and, for a tie at the
            ``max_tokens`` cut, the kept tokens) can differ from theirs.

        Examples
        --------
        >>> Vocabulary.from_documents([["b", "a", "a", "c"]], max_tokens=4).tokens
        ['<pad>', '<unk>', 'a', 'b']
        """
        owner = "Vocabulary.from_documents"
        validate_param(max_tokens, [Interval(int, 3, None), None], name="max_tokens", owner=owner)
        validate_param(min_count, [Interval(int, 1, None)], name="min_count", owner=owner)
        corpus = TokenizedCorpus.from_token_lists(documents)
        counts = corpus.token_counts()
        first = corpus.first_positions()
        strings = corpus.strings
        keep = counts >= min_count
        for reserved in ("<pad>", "<unk>"):
            try:
                keep[strings.index(reserved)] = False
            except ValueError:
                pass
        candidates = np.flatnonzero(keep)
        order = candidates[np.lexsort((first[candidates], -counts[candidates]))]
        if max_tokens is not None:
            order = order[: max_tokens - 2]
        vocabulary = cls([strings[i] for i in order.tolist()], counts[order])
        if isinstance(corpus, _NgramCorpus):  # lets encode() find n-grams without building their strings
            index = corpus.ngram_index(order, vocabulary._token_to_id, first_id=2)
            if index is not None:
                vocabulary._ngram_indexes = {corpus._separator: index}
                if type(vocabulary) is Vocabulary:  # (a subclass's __init__ might respell the tokens)
                    # its n-gram strings are the joins of the index's codes (the corpus made them so): saving
                    # need not check them (seconds for millions of n-grams), for this index and these tokens
                    vocabulary._spelled_by = _spelling(index, vocabulary._tokens)
        return vocabulary

    # ------------------------------------------------------------ accessors
    @property
    def tokens(self) -> list[str]:
        return list(self._tokens)

    @property
    def counts(self) -> np.ndarray:
        if self._counts.dtype != np.int64:  # as unpickled (see __setstate__): widened on first read
            counts = self._counts.astype(np.int64)
            counts.flags.writeable = False
            self._counts = counts
        return self._counts

    @property
    def token_to_id(self) -> dict[str, int]:
        # the vocabulary's own dict, read-only (tokens is a copy, counts read-only): Keras' word_index habit
        # (word_index["<START>"] = 1) changed what encode and `in` answer, not tokens, decode or a save
        return self._token_to_id

    @property
    def pad_token(self) -> str:
        return self._token(PAD_ID)

    @property
    def oov_token(self) -> str:
        return self._token(OOV_ID)

    @cached_property
    def _tokens(self) -> tuple:
        """All tokens in id order; an unpickled vocabulary decodes them here, on first use."""
        compact = self.__dict__.get("_compact")
        if compact is not None:  # the n-gram strings are rebuilt from their codes (see __getstate__)
            return _joined_tokens(len(self), *compact)
        text, lengths = self._packed
        return tuple(_split(text, lengths))

    @cached_property
    def _token_to_id(self) -> dict:
        """Token -> id; an unpickled vocabulary builds it here, on first use."""
        return _ReadOnlyDict(zip(self._tokens, range(len(self._tokens))))

    def _token(self, i: int) -> str:
        """Token ``i``, without decoding the others when they are still packed."""
        if "_tokens" in self.__dict__:
            return self._tokens[i]
        compact = self.__dict__.get("_compact")
        if compact is not None:
            text, lengths, outside_ids, index = compact
            k = int(np.searchsorted(outside_ids, i))
            if k == outside_ids.size or outside_ids[k] != i:  # an n-gram: the join of its codes' strings
                for n, (keys, values) in index._sorted.items():
                    hit = np.flatnonzero(values == i)
                    if hit.size:
                        return _join_codes(_objects(list(index.codes)), keys[hit[:1]], n, index)[0]
                raise IndexError(f"token id {i} is out of range for a vocabulary of {len(self)} tokens.")
            i = k
        else:
            text, lengths = self._packed
        start = int(np.sum(lengths[:i], dtype=np.int64))
        return text[start:start + int(lengths[i])]

    def __len__(self) -> int:
        return len(self._counts)  # one count per id, reserved ids included; decodes no token

    def __contains__(self, token) -> bool:
        return token in self._token_to_id

    def __eq__(self, other):
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._tokens == other._tokens and np.array_equal(self._counts, other._counts)

    __hash__ = None

    def __repr__(self) -> str:
        head = ", ".join(repr(self._token(i)) for i in range(2, min(len(self), 7)))
        more = ", ..." if len(self) > 7 else ""
        return f"Vocabulary(size={len(self)}, tokens=[{head}{more}])"

    # ------------------------------------------------------- encode/decode
    def encode(self, tokens) -> np.ndarray:
        """Ids of ``tokens`` (a list of str); unknown tokens get the OOV id 1.

        Id 0 is only ever padding: a token spelled like ``pad_token`` gets the
        OOV id too (as one spelled like ``oov_token`` does).

        A TokenizedCorpus or a list of token lists is encoded as one flat
        array (use :class:`toolkit.text.encoders.SequenceEncoder` for padded rows).

        The n-grams of ``corpus.ngrams(...)`` are found without building
        their strings when this vocabulary was made by :meth:`from_documents`
        from such a corpus (it keeps a :class:`~toolkit.text.corpus.NgramIndex`,
        also through pickling): each n-gram's id comes from the ids of its
        tokens. The ids are the same as a string lookup's; a vocabulary read
        from JSON looks the strings up.

        Parameters
        ----------
        tokens : list of str, TokenizedCorpus or list of token lists
            Not a single str (a TypeError).

        Returns
        -------
        ndarray of int32
            One id per token (all documents' tokens, one after the other).
        """
        if isinstance(tokens, str):
            raise TypeError("encode expects a list of tokens, got a single str; wrap it in a list or tokenize it first.")
        if isinstance(tokens, TokenizedCorpus):
            scope = _SHARED_ENCODING.get()
            if scope is None:
                return self._encode_corpus(tokens)
            key = (id(tokens), id(self))
            if key not in scope["memo"]:
                large = scope["via"].get(id(self))
                if large is not None:  # this vocabulary is the first ids of `large`: the same ids, or OOV above
                    ids = large.encode(tokens)
                    ids = np.where(ids < len(self), ids, OOV_ID).astype(ids.dtype, copy=False)
                else:
                    ids = self._encode_corpus(tokens)
                scope["memo"][key] = (ids, tokens, self)  # the references keep both ids unique in the scope
            return scope["memo"][key][0].copy()
        tokens = list(tokens)
        if tokens and not isinstance(tokens[0], str) and isinstance(tokens[0], Iterable):
            # a list of token lists (documents): one flat array, as for a corpus
            return self.encode(TokenizedCorpus.from_token_lists(tokens))
        try:  # one C pass: a None, NaN or number went to the OOV id silently (a corpus refuses them)
            "".join(tokens)
        except TypeError:
            i, bad = next((i, t) for i, t in enumerate(tokens) if not isinstance(t, str))
            what = "None" if bad is None else f"{type(bad).__name__} ({bad!r:.80})"
            raise TypeError(
                f"encode expects tokens of str, but token {i} is {what}. Give every token as a str, or drop the "
                "missing ones."
            ) from None
        get = self._token_to_id.get
        return _no_padding(np.fromiter((get(t, OOV_ID) for t in tokens), dtype=np.int32, count=len(tokens)))

    def _encode_corpus(self, tokens) -> np.ndarray:
        index = getattr(self, "_ngram_indexes", {}).get(getattr(tokens, "_separator", None))
        if index is not None and isinstance(tokens, _NgramCorpus):
            # n-gram ids from their tokens' ids: no n-gram string is built (same ids)
            ids = tokens.lookup_ids(index, OOV_ID)
            if ids is not None:
                return _no_padding(ids)
        return _no_padding(tokens.lookup(self._token_to_id, OOV_ID))

    def is_prefix_of(self, other: Vocabulary) -> bool:
        """Whether this vocabulary's tokens are the first ``len(self)`` tokens of ``other``, in id order.

        Then a token's id here is its id in ``other`` when that is below
        ``len(self)``, and OOV otherwise: two frequency-ranked vocabularies
        built from the same documents, one capped by ``max_tokens``, are
        such a pair (see :func:`shared_encoding`).

        Parameters
        ----------
        other : Vocabulary

        Returns
        -------
        bool
        """
        return len(self) <= len(other) and self._tokens == other._tokens[:len(self)]

    def decode(self, ids, *, skip_padding: bool = True) -> list[str]:
        """Tokens of ``ids``; padding ids are dropped unless ``skip_padding=False``.

        Parameters
        ----------
        ids : array-like of int
            Flattened first (a 2-D array gives one list).
        skip_padding : bool, default=True
            Drop the padding id 0.

        Returns
        -------
        list of str

        Raises
        ------
        ValueError
            If an id is negative or not below ``len(self)``, or the ids are not
        integers.
        """
        ids = np.asarray(ids)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"decode expects integer ids, got dtype {ids.dtype}.")
        ids = ids.reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            bad = ids[(ids < 0) | (ids >= len(self))][0]
            raise ValueError(f"id {bad} is out of range for a vocabulary of {len(self)} tokens (valid ids: 0..{len(self) - 1}).")
        if skip_padding:
            ids = ids[ids != PAD_ID]
        tokens = self._tokens
        return [tokens[i] for i in ids.tolist()]

    # ---------------------------------------------------------- persistence
    def __getstate__(self) -> dict:
        """Compact state for pickle, joblib, Dask and ``skops.io``: arrays, not a dict per token.

        The tokens travel as one UTF-8 byte array and their lengths; the
        token -> id dict is rebuilt on unpickling. The n-gram index (see
        :meth:`encode`) travels as arrays too, so an unpickled vocabulary keeps
        its fast path without rebuilding it. A 20,000-token vocabulary is then
        a few hundred KB in ``skops.io`` instead of megabytes.

        Unpickling decodes the tokens' text at once but builds neither the
        token strings nor the token -> id dict until something reads them:
        encoding n-grams through the index needs neither (only the dict of
        the tokens outside the index's n-grams, see :meth:`_set_ngram_indexes`).
        Unpickling the 5.4 million 1-3-grams of 25,000 IMDB reviews then takes
        0.3-0.9 s instead of ~4 s; a saved ``STACK_MANY_JOB`` model (four
        vocabularies) loads in 7.9 instead of 11.3 s and holds 0.65 GB less.

        The n-gram strings are not stored twice: when every n-gram of the
        index is spelled as its tokens' strings joined by the separator (as
        :meth:`from_documents` makes them), ``"tokens"`` holds only the
        tokens outside the index (the reserved ones and the unigrams, in id
        order), ``"tokens_layout"`` is ``"ngram_codes"``, and unpickling
        rebuilds the n-gram strings from the index's codes when something
        first reads them. The 5.4 million 1-3-grams of 25,000 IMDB reviews
        then store 0.9 MB of text instead of 83 MB, and a saved
        ``STACK_MANY_JOB`` model (three such vocabularies) takes 376 instead
        of 481 MB and loads in ~0.7 CPU s less. A state without
        ``"tokens_layout"`` (written before) holds every token and still loads.

        That spelling is checked against the token strings at the first save
        (about 2 s for the 5.1 million 1-3-grams of 25,000 IMDB reviews as
        ``SpacyTokenizer()`` splits them), except for a vocabulary loaded from
        this layout or built by :meth:`from_documents` and since given no
        other tokens or index (its n-gram strings were made as those joins):
        its first save then takes ~0.05 s, with the same state.
        """
        saved = _SAVED_STATES.get()
        if saved is not None and id(self) in saved:
            return saved[id(self)][1]
        indexes = self._ngram_index_state()
        tokens = self._outside_tokens_state()
        if tokens is not None:
            state = {"tokens": tokens, "tokens_layout": _NGRAM_CODES, "counts": _narrow(self._counts),
                     "ngram_indexes": indexes}
        else:
            state = self._full_state(indexes)
        if saved is not None:
            saved[id(self)] = (self, state)  # the vocabulary is kept alive, so its id stays its own
        return state

    def _full_state(self, indexes) -> dict:
        """The state with every token's string (the layout without ``"tokens_layout"``)."""
        packed = self.__dict__.get("_packed")
        tokens = _strings_to_arrays(self._tokens) if packed is None else (_utf8(packed[0]), packed[1])
        state = {"tokens": tokens, "counts": _narrow(self._counts)}
        if indexes:
            state["ngram_indexes"] = indexes
        return state

    def _outside_tokens_state(self):
        """``"tokens"`` of the ``"ngram_codes"`` layout (the tokens outside the n-gram index, as arrays), or None.

        None unless the vocabulary has one n-gram index whose every n-gram
        token is spelled as the join of its codes' strings: checked here
        against the tokens (a few seconds for millions of n-grams), unless
        the vocabulary was itself loaded from this layout, or :meth:`from_documents`
        built it with this index and these tokens (and nothing replaced either
        since, see :func:`_spelling`): it made the n-gram strings as those joins.
        """
        indexes = getattr(self, "_ngram_indexes", {})
        if len(indexes) != 1:
            return None
        index = next(iter(indexes.values()))
        compact = self.__dict__.get("_compact")
        if compact is not None and compact[3] is index:  # loaded so: its n-gram strings are the joins
            return _utf8(compact[0]), compact[1]
        memo = self.__dict__.get("_outside_memo")  # tokens and index never change: checked once per index
        if memo is None or memo[0] is not index:
            spelled_by = self.__dict__.get("_spelled_by")
            if spelled_by is not None and _same_objects(_spelling(index, self.__dict__.get("_tokens")), spelled_by):
                in_index = self._in_index(index)  # the arrays the check would give, without it
                outside = None if in_index is None else _outside_of(self._tokens, in_index)
            else:
                self.__dict__.pop("_spelled_by", None)  # index or tokens replaced: never trusted again
                outside = self._check_outside_tokens(index)
            memo = self._outside_memo = (index, outside)
        # new arrays at each call, as the other layout's (one_state_per_save shares them within a save)
        return None if memo[1] is None else (memo[1][0].copy(), memo[1][1].copy())

    def _check_outside_tokens(self, index):
        """:meth:`_outside_tokens_state` for a vocabulary not loaded from that layout (checks the n-gram strings)."""
        in_index = self._in_index(index)
        if in_index is None:
            return None
        # an unpickled vocabulary's strings, for this check only (they are not kept)
        tokens = self._tokens if "_tokens" in self.__dict__ or "_packed" not in self.__dict__ else _split(*self._packed)
        codes = _objects(list(index.codes))
        for n, (keys, values) in index._sorted.items():
            for start in range(0, keys.size, _JOIN_CHUNK):
                chunk = slice(start, start + _JOIN_CHUNK)
                if _join_codes(codes, keys[chunk], n, index) != list(map(tokens.__getitem__, values[chunk].tolist())):
                    return None
        return _outside_of(tokens, in_index)

    def _in_index(self, index):
        """Which ids are n-grams of ``index`` (a bool mask), or None when the index cannot hold this
        vocabulary's n-grams (no n-gram, codes packed in another base, ids out of range or twice)."""
        if not index._sorted or index.n_codes != max(len(index.codes), 1):
            return None
        n_tokens = len(self)
        in_index = np.zeros(n_tokens, dtype=bool)
        n_grams = 0
        for keys, values in index._sorted.values():
            if values.size and (values.min() <= OOV_ID or values.max() >= n_tokens):
                return None
            in_index[values] = True
            n_grams += values.size
        if int(np.count_nonzero(in_index)) != n_grams:
            return None  # an id twice
        return in_index

    def _ngram_index_state(self) -> list[dict]:
        """The n-gram indexes as arrays (one entry per separator; empty without an index)."""
        return [
            {"separator": sep, "codes": _strings_to_arrays(list(index.codes)), "n_codes": index.n_codes,
             "ns": np.array(sorted(index._sorted), dtype=np.int64),
             "keys": [index._sorted[n][0] for n in sorted(index._sorted)],
             "values": [_narrow(index._sorted[n][1]) for n in sorted(index._sorted)]}
            for sep, index in getattr(self, "_ngram_indexes", {}).items()
        ]

    def __setstate__(self, state: dict) -> None:
        """Restore :meth:`__getstate__`'s state, of either layout.

        Raises
        ------
        ModelFormatError
            (also a :class:`DataError`) Naming the problem, when the state is
            damaged: lengths that do not add up, counts or strings for another
            number of tokens, n-gram codes or ids out of range, or an unknown layout.
        """
        layout = state.get("tokens_layout")
        if layout not in (None, _NGRAM_CODES):
            raise _DamagedState(f"unknown vocabulary state layout {layout!r} (tokens_layout; this toolkit reads "
                                f"{_NGRAM_CODES!r}): was the model saved by a newer toolkit? Load it with that version.")
        self.__dict__.pop("_spelled_by", None)  # (restored over a built vocabulary: its n-grams are checked again)
        buffer, lengths = state["tokens"]
        lengths = _narrow(lengths)
        text = _decoded(buffer, lengths)
        self._set_counts(state["counts"])
        if layout == _NGRAM_CODES:
            self._set_compact(text, lengths, state.get("ngram_indexes") or ())
            return
        # the tokens stay packed (decoded text, lengths) until something reads them (see __getstate__)
        self._packed = (text, lengths)
        if len(self._counts) != len(lengths):
            raise _damaged(f"{len(lengths)} tokens but {len(self._counts)} counts")
        self._set_ngram_indexes(state.get("ngram_indexes", ()))

    def _set_compact(self, text: str, lengths: np.ndarray, entries) -> None:
        """Restore the ``"ngram_codes"`` layout: ``text``/``lengths`` are the tokens outside the one index of ``entries``."""
        if len(entries) != 1:
            raise _damaged(f"the tokens_layout {_NGRAM_CODES!r} needs one n-gram index, found {len(entries)}")
        entry = entries[0]
        n_tokens = len(self._counts)
        n_codes = len(entry["codes"][1])
        if int(entry["n_codes"]) != max(n_codes, 1):
            raise _damaged(f"the n-gram index packs its codes in base {int(entry['n_codes'])}, not by its {n_codes} codes")
        groups = []
        for n, keys, values in zip(np.asarray(entry["ns"]).tolist(), entry["keys"], entry["values"]):
            keys, values = np.asarray(keys), np.asarray(values)
            if keys.ndim != 1 or keys.shape != values.shape or not 2 <= n <= 64:  # (64: packed codes are int64)
                raise _damaged(f"the {n}-gram codes and ids of the n-gram index do not match")
            groups.append((n, keys, values))
        n_grams = sum(values.size for _, _, values in groups)
        if len(lengths) + n_grams != n_tokens:
            raise _damaged(f"{len(lengths) + n_grams} tokens but {n_tokens} counts ({len(lengths)} stored token "
                           f"strings and {n_grams} n-grams of the n-gram index)")
        in_index = np.zeros(n_tokens, dtype=bool)
        for n, keys, values in groups:
            if values.size and (values.min() <= OOV_ID or values.max() >= n_tokens):
                raise _damaged(f"a {n}-gram id is out of range for a vocabulary of {n_tokens} tokens (valid: "
                               f"{OOV_ID + 1}..{n_tokens - 1})")
            if keys.size and (keys[0] < 0 or int(keys[-1]) >= n_codes ** n):  # sorted: checked in _set_ngram_indexes
                raise _damaged(f"{n}-gram codes are out of range for the index's {n_codes} codes")
            in_index[values] = True
        if int(np.count_nonzero(in_index)) != n_grams:
            raise _damaged("an n-gram id appears twice in the n-gram index")
        outside = np.flatnonzero(~in_index)  # as many as the stored strings (the counts add up, no id twice)
        self._compact = (text, lengths, outside, None)
        self._set_ngram_indexes(entries)
        index = self._ngram_indexes[entry["separator"]]
        if len(index.codes) != n_codes:
            raise _damaged("the n-gram index repeats a code string")
        self._compact = (text, lengths, outside, index)

    def _set_counts(self, counts) -> None:
        """``self._counts`` from a saved state's counts (see :meth:`__setstate__`)."""
        counts = np.asarray(counts)
        if counts.dtype.kind in "ui" and np.can_cast(counts.dtype, np.int64, "safe"):
            # kept in the saved (narrow) dtype until `counts` is read: prediction never reads them, and
            # widening the 5.4 million counts of a 1-3-gram vocabulary costs 43 MB of new memory at load
            counts = counts.view()
        else:
            counts = np.array(counts, dtype=np.int64)
        counts.flags.writeable = False
        self._counts = counts

    def _set_ngram_indexes(self, entries) -> None:
        """Attach n-gram indexes given as :meth:`__getstate__`'s ``"ngram_indexes"`` entries."""
        from .corpus import NgramIndex

        indexes = {}
        for entry in entries:
            codes = _arrays_to_strings(*entry["codes"])
            keys = {int(n): (k, np.asarray(v, dtype=np.int64))
                    for n, k, v in zip(entry["ns"].tolist(), entry["keys"], entry["values"])}
            for n, (k, v) in keys.items():  # a damaged state: a clear error here, not an IndexError or wrong ids later
                if k.ndim != 1 or k.shape != v.shape:
                    raise _damaged(f"the {n}-gram codes and ids of the n-gram index do not match")
                if v.size and (v.min() < 0 or v.max() >= len(self)):
                    raise _damaged(f"a {n}-gram id is out of range for a vocabulary of {len(self)} tokens")
                if k.size and (k[0] < 0 or (k.size > 1 and not np.all(k[1:] > k[:-1]))):
                    raise _damaged(f"the {n}-gram codes of the n-gram index are negative or out of order")
            indexes[entry["separator"]] = NgramIndex._from_parts(
                self._outside(k[1] for k in keys.values()), entry["separator"], dict(zip(codes, range(len(codes)))),
                int(entry["n_codes"]), keys
            )
        if indexes:
            self._ngram_indexes = indexes

    def _outside(self, index_ids) -> dict:
        """Token -> id for the tokens whose ids are none of ``index_ids`` (arrays of ids): an index's mapping.

        An :class:`~toolkit.text.corpus.NgramIndex` looks single tokens (never
        holding its separator) up in its mapping, and finds its n-grams by
        their tokens' codes; the tokens outside its n-grams are all it needs
        from the mapping. With the full dict built, that dict; else a dict of
        those tokens alone (the unigrams of a 1-3-gram vocabulary, a few per
        cent of it), decoded from the packed text (in the ``"ngram_codes"``
        layout, the stored strings are those tokens).
        """
        compact = self.__dict__.get("_compact")
        if "_token_to_id" not in self.__dict__ and compact is not None and compact[3] is None:  # from _set_compact
            text, lengths, outside_ids, _ = compact
            return dict(zip(_split(text, lengths), outside_ids.tolist()))
        if "_token_to_id" in self.__dict__ or "_packed" not in self.__dict__:
            return self._token_to_id
        keep = np.ones(len(self), dtype=bool)
        for ids in index_ids:
            keep[ids] = False
        ids = np.flatnonzero(keep)
        text, lengths = self._packed
        ends = np.cumsum(lengths, dtype=np.int64)[ids]  # the bounds of these tokens alone: no full-size temporaries
        starts = ends - lengths[ids]
        return {text[a:b]: i for a, b, i in zip(starts.tolist(), ends.tolist(), ids.tolist())}

    def save_ngram_index(self, path) -> bool:
        """Write the vocabulary's n-gram index (see :meth:`encode`) to an ``.npz`` file (arrays only, no pickle).

        :meth:`to_json` keeps the tokens alone; a vocabulary read back from it
        looks new documents' n-grams up as strings, about twice the cost of
        the index (a 1-3-gram vocabulary of 25,000 IMDB reviews: 0.18 + 0.22
        against 0.14 CPU s per 2,000 reviews). :func:`toolkit.save_model`
        stores the index next to ``vocabulary.json`` and :meth:`load_ngram_index`
        attaches it again. Encoding gives the same ids with or without it.

        Parameters
        ----------
        path : str or path-like
            The ``.npz`` file to write.

        Returns
        -------
        bool
            Whether a file was written: False when the vocabulary has no
            index (it was not built from a :class:`~toolkit.text.TokenizedCorpus`
            of n-grams).
        """
        entries = self._ngram_index_state()
        if not entries:
            return False
        arrays = {"n_tokens": np.array(len(self)), "n_indexes": np.array(len(entries))}
        for i, entry in enumerate(entries):
            arrays[f"separator_{i}"] = np.array(entry["separator"])
            arrays[f"codes_{i}"], arrays[f"code_lengths_{i}"] = entry["codes"]
            arrays[f"n_codes_{i}"] = np.array(entry["n_codes"])
            arrays[f"ns_{i}"] = entry["ns"]
            for n, keys, values in zip(entry["ns"].tolist(), entry["keys"], entry["values"]):
                arrays[f"keys_{i}_{n}"], arrays[f"values_{i}_{n}"] = keys, values
        np.savez_compressed(path, **arrays)
        return True

    def load_ngram_index(self, path) -> None:
        """Attach the n-gram index that :meth:`save_ngram_index` wrote for this vocabulary.

        Parameters
        ----------
        path : str or path-like
            The ``.npz`` file.

        Raises
        ------
        ValueError
            Naming the file, when it belongs to a vocabulary of another size
            or holds ids outside this one, or unsorted keys.
        FileNotFoundError
            When the file does not exist.
        """
        entries = []
        with np.load(path, allow_pickle=False) as z:
            if int(z["n_tokens"]) != len(self):
                raise ValueError(f"{path} is the n-gram index of a vocabulary of {int(z['n_tokens'])} tokens, "
                                 f"not of this one ({len(self)}).")
            for i in range(int(z["n_indexes"])):
                ns = np.asarray(z[f"ns_{i}"], dtype=np.int64)
                entries.append({"separator": str(z[f"separator_{i}"]), "codes": (z[f"codes_{i}"], z[f"code_lengths_{i}"]),
                                "n_codes": int(z[f"n_codes_{i}"]), "ns": ns,
                                "keys": [np.asarray(z[f"keys_{i}_{n}"], dtype=np.int64) for n in ns.tolist()],
                                "values": [z[f"values_{i}_{n}"] for n in ns.tolist()]})
        for entry in entries:
            for keys, values in zip(entry["keys"], entry["values"]):
                if keys.shape != values.shape or (values.size and (values.min() < 0 or values.max() >= len(self))):
                    raise ValueError(f"{path} holds n-gram ids outside this vocabulary of {len(self)} tokens.")
                if keys.size > 1 and not np.all(keys[1:] > keys[:-1]):
                    raise ValueError(f"{path} holds n-gram keys out of order.")
        self._set_ngram_indexes(entries)

    def to_dict(self) -> dict:
        """A JSON-ready description (format tag, version, reserved tokens, tokens, counts).

        Returns
        -------
        dict
        """
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "pad_token": self.pad_token,
            "oov_token": self.oov_token,
            "tokens": list(self._tokens[2:]),
            "counts": self._counts[2:].tolist(),
        }

    @classmethod
    def from_dict(cls, data) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_dict`'s output.

        Parameters
        ----------
        data : dict
            What :meth:`to_dict` returned.

        Returns
        -------
        Vocabulary

        Raises
        ------
        DataError
            If the dict is not a vocabulary description or is inconsistent.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(
                f"Not a toolkit vocabulary: expected a dict with format={_FORMAT!r}, got "
                f"{type(data).__name__ if not isinstance(data, dict) else repr(data.get('format'))}."
            )
        if data.get("version") != _VERSION:
            raise DataError(f"Unsupported vocabulary version {data.get('version')!r}; this toolkit reads version {_VERSION}.")
        missing = [k for k in ("tokens", "counts", "pad_token", "oov_token") if k not in data]
        if missing:
            raise DataError(f"Vocabulary description lacks the key(s) {missing}.")
        try:
            return cls(data["tokens"], data["counts"], pad_token=data["pad_token"], oov_token=data["oov_token"])
        except (TypeError, ValueError) as err:
            raise DataError(f"Invalid vocabulary description: {err}") from err

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` as UTF-8 JSON, atomically (temp file, then rename).

        Parameters
        ----------
        path : str or path-like
            The file to write; a leading ``~`` is the home folder, as in
            :meth:`from_json`.

        Returns
        -------
        pathlib.Path
            ``path``, ``~`` expanded.
        """
        from .._atomic import _expand_home, atomic_output

        path = _expand_home(path)  # the path written, which from_json reads back ("~/vocab.json" too)
        # the keys of an active json_extra() block too (toolkit vectorize: its tokenizer settings)
        data = {**self.to_dict(), **(_JSON_EXTRA.get() or {})}
        # backslashreplace: a lone surrogate (text decoded with surrogateescape) is written as its JSON
        # escape, \udcXX, which json.load reads back as the same character (pickle keeps them too)
        with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", errors="backslashreplace") as fh:
            json.dump(data, fh, ensure_ascii=False)
        return path

    @classmethod
    def from_json(cls, path) -> Vocabulary:
        """Read a vocabulary written by :meth:`to_json`.

        Parameters
        ----------
        path : str or path-like
            The JSON file; a leading ``~`` is the home folder.

        Returns
        -------
        Vocabulary

        Raises
        ------
        DataError
            Naming the file, when it is not valid JSON or not a vocabulary.
        FileNotFoundError
            When the file does not exist.
        """
        return cls._read_json(path)[0]

    @classmethod
    def _read_json(cls, path) -> tuple[Vocabulary, dict]:
        """:meth:`from_json`, and the whole JSON object read (with the keys :func:`json_extra` added)."""
        from .._atomic import _expand_home

        path = _expand_home(path)
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}.") from err
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text; is this a vocabulary JSON file?") from err
        try:
            return cls.from_dict(data), data
        except DataError as err:
            raise DataError(f"{path}: {err}") from err


@contextlib.contextmanager
def json_extra(**keys):
    """Within the block, :meth:`Vocabulary.to_json` adds ``keys`` to :meth:`~Vocabulary.to_dict`'s.

    ``toolkit vectorize`` records so the tokenizer settings of the run that
    wrote a vocabulary, which ``--use-vocabulary`` compares with its own;
    :meth:`~Vocabulary.from_dict` ignores keys it does not know.
    """
    token = _JSON_EXTRA.set(keys)
    try:
        yield
    finally:
        _JSON_EXTRA.reset(token)


@contextlib.contextmanager
def one_state_per_save():
    """Within the block, a vocabulary's ``__getstate__`` returns the same arrays at every call.

    ``skops.io`` writes the state of an object each time the object is
    referenced, and an array once per array object. Estimators that share one
    fitted vocabulary (:class:`~toolkit.models.StackedTextClassifier`'s NBSVM
    and ``"ratings"`` members) would otherwise store it once per reference,
    since each call builds new arrays. :func:`toolkit.save_model` saves inside it.
    """
    token = _SAVED_STATES.set({})
    try:
        yield
    finally:
        _SAVED_STATES.reset(token)


@contextlib.contextmanager
def shared_encoding(prefixes=()):
    """Within the block, encode each :class:`~toolkit.text.TokenizedCorpus` once per vocabulary.

    :meth:`Vocabulary.encode` of the same corpus object by the same
    vocabulary returns (a copy of) the first result, and a vocabulary ``small``
    of a ``(small, large)`` pair of ``prefixes`` (``small.is_prefix_of(large)``)
    reads its ids off ``large``'s instead of looking the tokens up again.
    :class:`~toolkit.models.StackedTextClassifier` predicts inside it, so its
    NBSVM++ and NBSVM members look the n-grams of new documents up once.
    Lists of tokens (not a corpus) are encoded as usual.

    Examples
    --------
    >>> from toolkit.text import TokenizedCorpus, Vocabulary
    >>> docs = TokenizedCorpus.from_token_lists([["a", "b", "a", "c"], ["c", "a"]])
    >>> small, large = Vocabulary.from_documents(docs, max_tokens=3), Vocabulary.from_documents(docs)
    >>> small.is_prefix_of(large)
    True
    >>> with shared_encoding([(small, large)]):
    ...     small.encode(docs).tolist()
    [2, 1, 2, 1, 1, 2]
    """
    prefixes = [(small, large) for small, large in prefixes if small is not large]
    token = _SHARED_ENCODING.set({"via": {id(small): large for small, large in prefixes}, "memo": {},
                                  "pairs": prefixes})
    try:
        yield
    finally:
        _SHARED_ENCODING.reset(token)


def _no_padding(ids: np.ndarray) -> np.ndarray:
    """``ids`` with the padding id of a token spelled like the pad token (``"<pad>"`` in the text) made OOV.

    Only padding is id 0: the encoders drop it (``bag_matrix``) or read it as
    no token at all (padded rows), so a real token must never get it.
    """
    ids[ids == PAD_ID] = OOV_ID
    return ids


def _narrow(values) -> np.ndarray:
    """Non-negative integers in the smallest unsigned dtype that holds them (lossless; for saved states).

    A 1-3-gram vocabulary of 25,000 reviews has millions of entries: its
    lengths, counts and ids as int64 were most of a saved stacked model.
    """
    values = np.asarray(values)
    if values.size == 0 or values.min() < 0:
        return values
    return values.astype(np.min_scalar_type(int(values.max())), copy=False)


def _strings_to_arrays(strings) -> tuple[np.ndarray, np.ndarray]:
    """A list of str as (the UTF-8 bytes of their concatenation as uint8, their lengths in characters,
    in the smallest unsigned dtype that holds them)."""
    return _utf8("".join(strings)), _narrow(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))


def _utf8(text: str) -> np.ndarray:
    """The UTF-8 bytes of ``text`` as a uint8 array (the stored form of a vocabulary's tokens)."""
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8).copy()


def _bounds(lengths) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of strings of ``lengths`` laid end to end."""
    lengths = np.asarray(lengths)
    ends = np.cumsum(lengths, dtype=np.int64)
    return ends - lengths, ends


def _split(text: str, lengths) -> list[str]:
    """``text`` cut into strings of ``lengths``."""
    starts, ends = _bounds(lengths)
    return [text[a:b] for a, b in zip(starts.tolist(), ends.tolist())]


def _objects(strings) -> np.ndarray:
    """``strings`` as a 1-D object array (fancy indexing gives the same str objects back)."""
    out = np.empty(len(strings), dtype=object)
    out[:] = strings
    return out


def _outside_of(tokens, in_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``"ngram_codes"`` layout's ``"tokens"``: those of ``tokens`` where ``in_index`` (ids that are n-grams
    of the index) is False, as :func:`_strings_to_arrays`."""
    return _strings_to_arrays([tokens[i] for i in np.flatnonzero(~in_index).tolist()])


def _spelling(index, tokens) -> tuple:
    """What :meth:`Vocabulary.from_documents` trusts to spell n-grams as their codes' joins: ``index`` and
    the objects it reads (codes, base, separator, the per-n arrays) and the ``tokens`` tuple.

    The objects themselves, not their ids (kept alive, none can be replaced by another at the same
    address), compared by identity with :func:`_same_objects`: replacing any of them (another index,
    ``_tokens``, ``index._sorted``, a ``(keys, values)`` pair) makes the vocabulary's n-gram strings
    checked again at its next save. Never pickled: an unpickled vocabulary either is in the
    ``"ngram_codes"`` layout or is checked.
    """
    parts = [index, tokens, index.codes, index.n_codes, index.separator, index._sorted]
    for n, (keys, values) in index._sorted.items():
        parts += (n, keys, values)
    return tuple(parts)


def _same_objects(a: tuple, b: tuple) -> bool:
    """Whether ``a`` and ``b`` hold the same objects (``is``, item by item; never ``==``, which compares arrays)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _join_codes(codes: np.ndarray, keys: np.ndarray, n: int, index) -> list[str]:
    """The n-gram strings of ``keys`` (an :class:`~toolkit.text.corpus.NgramIndex`'s packed codes of n-grams of
    length ``n``): the strings of their codes (``codes``, an object array) joined by the index's separator."""
    base = index.n_codes
    digits = [(keys // base ** (n - 1 - k)) % base for k in range(n)]
    return list(map(index.separator.join, zip(*[codes[d].tolist() for d in digits])))


def _joined_tokens(n_tokens: int, text: str, lengths, outside_ids, index) -> tuple:
    """All tokens of a vocabulary in the ``"ngram_codes"`` layout: ``text``/``lengths`` are the tokens at
    ``outside_ids``, the others the n-grams of ``index``, rebuilt from their codes."""
    tokens = np.empty(n_tokens, dtype=object)
    tokens[outside_ids] = _objects(_split(text, lengths))
    codes = _objects(list(index.codes))
    for n, (keys, values) in index._sorted.items():
        for start in range(0, keys.size, _JOIN_CHUNK):
            chunk = slice(start, start + _JOIN_CHUNK)
            tokens[values[chunk]] = _objects(_join_codes(codes, keys[chunk], n, index))
    return tuple(tokens.tolist())


def _decoded(buffer, lengths) -> str:
    """The text of :func:`_strings_to_arrays`'s arrays, checked against the lengths."""
    # decoded from the array's own memory: no bytes copy of the text first (83 MB for a 1-3-gram vocabulary of IMDB)
    text = str(memoryview(np.ascontiguousarray(buffer, dtype=np.uint8)), "utf-8", "surrogatepass")
    if int(np.sum(lengths, dtype=np.int64)) != len(text):
        raise _damaged("the token lengths do not add up to the stored text")
    return text


def _arrays_to_strings(buffer, lengths) -> list[str]:
    """Inverse of :func:`_strings_to_arrays`."""
    return _split(_decoded(buffer, lengths), lengths)


# --------------------------------------------------------------------- padding
def _report_row_length(lengths, maxlen, *, owner: str, truncating: str = "pre", which: str | None = None) -> None:
    """Log what a row length does to documents of ``lengths`` tokens (at fit time, once).

    ``maxlen=None`` (every row as long as the longest document): a warning
    when one or a few documents set the row length for all, that is when the
    longest is at least ``_SKEW_FACTOR`` times the 99th percentile length and
    the matrix has at least ``_SKEW_MIN_CELLS`` cells. A ``maxlen`` that cuts
    documents: an INFO line (the user chose that ``maxlen``). ``which`` names the tokens dropped (default: from ``truncating``).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = lengths.size
    total = int(lengths.sum()) if n else 0
    if not total:
        return
    longest = int(lengths.max())
    if maxlen is None:
        typical = max(int(np.percentile(lengths, 99, method="lower")), 1)
        if longest >= _SKEW_FACTOR * typical and n * longest >= _SKEW_MIN_CELLS:
            n_long = int(np.count_nonzero(lengths >= _SKEW_FACTOR * typical))
            logger.warning(
                "%s(maxlen=None) pads every row to the longest document, %s tokens, while 99%% of the %s documents "
                "have at most %s tokens (%d document%s %d or more times longer): the %s x %s matrix is %.1f%% "
                "padding (%.0f MB as int32). Pass maxlen=%d, say (on the command line --maxlen or --set maxlen=), to "
                "bound the rows, and split long documents into parts to keep all of their text.",
                owner, f"{longest:,}", f"{n:,}", f"{typical:,}", n_long, "" if n_long == 1 else "s", _SKEW_FACTOR,
                f"{n:,}", f"{longest:,}", 100.0 * (1.0 - total / (n * longest)), n * longest * 4 / 1e6, typical,
            )
        return
    cut = lengths > maxlen
    if not cut.any():
        return
    dropped = int((lengths[cut] - maxlen).sum())
    if which is None:
        which = "the first tokens" if truncating == "pre" else "the last tokens"
    # INFO, not a warning: a maxlen is the user's choice (the chapter cuts IMDB reviews after 20 or 100 words)
    logger.info(
        "%s(maxlen=%s) cuts %s of %s documents (the longest has %s tokens), dropping %.1f%% of all tokens: %s "
        "of each (truncating=%r). Raise maxlen, or split long documents into parts, to keep more of the text.",
        owner, f"{maxlen:,}", f"{int(cut.sum()):,}", f"{n:,}", f"{longest:,}", 100.0 * dropped / total, which,
        truncating,
    )


def _pad_flat(values: np.ndarray, offsets: np.ndarray, maxlen: int, *, padding="pre", truncating="pre", value=0, dtype="int32"):
    """Pad/truncate documents stored flat (``values[offsets[i]:offsets[i+1]]``), vectorized."""
    lengths = np.diff(offsets)
    n = lengths.size
    kept = np.minimum(lengths, maxlen)
    starts = offsets[:-1] + (lengths - kept if truncating == "pre" else 0)
    cols = (maxlen - kept) if padding == "pre" else np.zeros(n, dtype=np.int64)
    out = np.full((n, maxlen) + values.shape[1:], value, dtype=dtype)
    # rows in chunks of about _PAD_CHUNK kept tokens: the index arrays (int64, several per kept token) are
    # then bounded, not 5-10 times the output (a corpus of long documents padded to the longest)
    ends = np.cumsum(kept)
    lo = 0
    while lo < n:
        base = int(ends[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(ends, base + _PAD_CHUNK, side="right")), lo + 1)
        chunk = kept[lo:hi]
        total = int(chunk.sum())
        if hi == lo + 1:  # one (long) row: a slice, no index arrays
            col, start = int(cols[lo]), int(starts[lo])
            out[lo, col : col + total] = values[start : start + total]
        elif total:
            rows = np.repeat(np.arange(lo, hi), chunk)
            within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(chunk) - chunk, chunk)
            out[rows, cols[rows] + within] = values[starts[rows] + within]
        lo = hi
    return out


def _raise_if_tokens(part, i: int, dtype, err: Exception) -> None:
    """Raise a ValueError saying what to do when ``pad_sequences`` could not make numbers of sequence ``i``
    because it holds tokens (strings): the tokenizer's output given where ids were expected."""
    token = next((t for t in part if isinstance(t, (str, bytes))), None)
    if token is None:
        return
    raise ValueError(
        f"pad_sequences got tokens, not ids: sequence {i} holds the string {token!r}, which is not a number of "
        f"dtype {np.dtype(dtype).name}. Turn token lists into ids first: SequenceEncoder(max_tokens=..., "
        "maxlen=...) numbers and pads them in one step (Keras' texts_to_sequences + pad_sequences), as does "
        "Vocabulary.encode for the ids alone; to pad the strings themselves, pass dtype=object and a string "
        "value, e.g. value=''."
    ) from err


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0):
    """Pad or truncate sequences to one length, as ``keras.utils.pad_sequences``.

    Same parameters, defaults and results as Keras (checked against it on
    randomized cases), without importing Keras, and vectorized: the only Python
    loop is one pass over the sequences to measure and convert them.

    Parameters
    ----------
    sequences : sequence of sequences
        Lists or arrays of numbers (or of equally shaped arrays).
    maxlen : int >= 1, optional
        Output length; None pads to the longest sequence (shape ``(n, 0)``
        when every sequence is empty, as in Keras).
    dtype : str or numpy dtype, default="int32"
        Type of the output.
    padding : {"pre", "post"}, default="pre"
        Pad at the start or the end.
    truncating : {"pre", "post"}, default="pre"
        Drop tokens from the start (keep the last ``maxlen``, Keras' default)
        or from the end.
    value : number or str, default=0
        Fill value.

    Returns
    -------
    ndarray of shape (len(sequences), maxlen)

    Notes
    -----
    Differences with Keras: ``maxlen`` must be positive (Keras gives wrong
    shapes for 0), and an empty ``sequences`` returns shape ``(0, 0)`` where
    Keras raises.

    Examples
    --------
    >>> from toolkit.text import pad_sequences
    >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2).tolist()
    [[0, 1], [2, 3], [5, 6]]
    >>> pad_sequences([[1], [2, 3]], padding="post").tolist()
    [[1, 0], [2, 3]]
    """
    owner = "pad_sequences"
    validate_param(maxlen, [Interval(int, 1, None), None], name="maxlen", owner=owner)
    validate_param(padding, [Options({"pre", "post"})], name="padding", owner=owner)
    validate_param(truncating, [Options({"pre", "post"})], name="truncating", owner=owner)
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(f"`sequences` must be a sequence of sequences, got {type(sequences).__name__}.")
    is_dtype_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}; "
            "use dtype=object for variable length strings."
        )
    if isinstance(sequences, TokenizedCorpus):
        sequences = list(sequences)
    lengths = np.zeros(len(sequences), dtype=np.int64)
    for i, seq in enumerate(sequences):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__len__"):
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {seq!r} at position {i}.")
        lengths[i] = len(seq)
    if maxlen is None:
        maxlen = int(lengths.max()) if lengths.size else 0
        _report_row_length(lengths, None, owner="pad_sequences")
    # Keras converts each (truncated) sequence with np.asarray(..., dtype); so do we
    kept = np.minimum(lengths, maxlen)
    parts, sample_shape = [], None
    for i, seq in enumerate(sequences):
        k = int(kept[i])
        if not k:
            continue
        part = seq[len(seq) - k :] if truncating == "pre" else seq[:k]
        try:
            piece = np.asarray(part, dtype=dtype)
        except (ValueError, TypeError) as err:
            _raise_if_tokens(part, i, dtype, err)
            raise
        if sample_shape is None:
            sample_shape = np.asarray(seq).shape[1:]
        if piece.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {piece.shape[1:]} of sequence at position {i} is different "
                f"from expected shape {sample_shape}"
            )
        parts.append(piece)
    sample_shape = sample_shape or ()
    flat = np.concatenate(parts) if parts else np.zeros((0, *sample_shape), dtype=dtype)
    offsets = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    # sequences are already cut to ``kept``; only the padding side matters now
    return _pad_flat(flat, offsets, maxlen, padding=padding, truncating="post", value=value, dtype=dtype)

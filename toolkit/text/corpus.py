"""A compact tokenized corpus: one flat id array, offsets and a string table.

Python lists of millions of token strings are slow to build, pickle, cache and
look up. :class:`TokenizedCorpus` stores the same information as three
objects -- ``ids`` (int32, one entry per token, indexing ``strings``),
``offsets`` (int64, ``len(corpus) + 1`` entries) and ``strings`` (the
distinct token strings) -- and still behaves like a read-only sequence of
token lists, so any code written for ``list[list[str]]`` keeps working while
the encoders work on the arrays directly.
"""

from __future__ import annotations

import itertools
import numbers
import sys
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .._validation import _short_repr, a_type_name, is_missing, row_label

__all__ = ["TokenizedCorpus", "NgramIndex", "check_token_lists"]


def _token_list(doc, index: int) -> list:
    """``list(doc)`` for a document that is not a list or tuple; a raw string is an error, not its characters."""
    if isinstance(doc, (str, bytes)):
        raise ValueError(
            f"Expected token lists, but document {index} is a raw {type(doc).__name__} ({doc[:40]!r}); "
            "it would be read as single characters. Tokenize first: toolkit.SpacyTokenizer, or "
            "toolkit.tokenize(texts)."
        )
    return list(doc)


def _refuse_non_str(docs: list) -> None:
    """Raise for the first token of ``docs`` that is not a str, naming its document and position.

    Such a token (None, a number, bytes) went into the corpus silently, and
    :meth:`TokenizedCorpus.ngrams` failed later with "argument of type
    'NoneType' is not iterable".
    """
    for i, doc in enumerate(docs):
        for j, tok in enumerate(doc):
            if not isinstance(tok, str):
                what = "None" if tok is None else f"{a_type_name(tok)} ({_short_repr(tok, 80)})"
                raise ValueError(  # noqa: TRY004 (ValueError, as check_token_lists and scikit-learn say it)
                    f"Expected token lists of str, but token {j} of document {i} is {what}. Give every "
                    "token as a str (e.g. [str(t) for t in tokens]), or drop the missing ones."
                )


def _is_sparse(X) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array (scipy is imported only if the caller has it loaded)."""
    scipy_sparse = sys.modules.get("scipy.sparse")
    return scipy_sparse is not None and scipy_sparse.issparse(X)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _skipped_indices(values) -> np.ndarray | None:
    """:attr:`TokenizedCorpus.skipped` from ``values`` (document indices, or None): a read-only int64 array."""
    return None if values is None else _readonly(np.asarray(values, dtype=np.int64))


def _record(params) -> tuple | None:
    """A tokenizer settings dict as the hashable record a corpus keeps: sorted (name, value) pairs, or None."""
    if params is None:
        return None
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise TypeError(f"tokenizer params must be a dict of parameter names to values or None, got {params!r}.")
    record = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    hash(record)  # a TypeError for an unhashable value: the record is compared and used in memo keys
    return record


class TokenizedCorpus(Sequence):
    """A read-only sequence of token lists stored as flat arrays.

    Parameters
    ----------
    ids : array-like of int, shape (n_tokens,)
        For each token of the corpus, in order, its index in ``strings``.
    offsets : array-like of int, shape (n_documents + 1,)
        Document ``i`` is ``ids[offsets[i]:offsets[i + 1]]``; starts at 0, never
        decreases and ends at ``n_tokens``.
    strings : sequence of str
        The string table. It may hold strings no token uses (e.g. after
        slicing); :meth:`compact` drops them. A string it repeats is merged
        into its first entry (the ids are remapped), so each token string
        has one id and one count.

    Attributes
    ----------
    ids : ndarray of int32, read-only
    offsets : ndarray of int64, read-only
    strings : tuple of str
    dtype : numpy.dtype
        ``object``: ``np.asarray(corpus)`` is a 1-D object array of one
        token list per document (see :meth:`__array__`).
    shape : tuple of int
        ``(n_documents,)``, that array's shape; with it scikit-learn's
        cross-validation selects the rows of a fold as a corpus
        (``corpus[indices, ...]``), not as a list.
    ndim : int
        1.

    See Also
    --------
    toolkit.SpacyTokenizer : returns a TokenizedCorpus from ``transform``.

    Examples
    --------
    >>> from toolkit.text import TokenizedCorpus
    >>> corpus = TokenizedCorpus.from_token_lists([["a", "good", "film"], ["a", "dud"]])
    >>> len(corpus), corpus[1], corpus.n_tokens
    (2, ['a', 'dud'], 5)
    >>> corpus.ids.tolist(), corpus.offsets.tolist(), corpus.strings
    ([0, 1, 2, 0, 3], [0, 3, 5], ('a', 'good', 'film', 'dud'))
    """

    __slots__ = ("_ids", "_offsets", "_row_index", "_skipped", "_strings", "_tokenizer")

    def __init__(self, ids, offsets, strings):
        ids = np.asarray(ids)
        offsets = np.asarray(offsets)
        strings = tuple(strings)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"ids must be a 1-D array of integers, got shape {ids.shape} and dtype {ids.dtype}.")
        if offsets.ndim != 1 or offsets.size == 0 or (offsets.size and not np.issubdtype(offsets.dtype, np.integer)):
            raise ValueError(
                "offsets must be a 1-D array of integers with n_documents + 1 entries, "
                f"got shape {offsets.shape} and dtype {offsets.dtype}."
            )
        if offsets[0] != 0 or offsets[-1] != ids.size or np.any(np.diff(offsets) < 0):
            raise ValueError(
                "offsets must start at 0, never decrease and end at len(ids) "
                f"({ids.size}); got {offsets[0]} ... {offsets[-1]}."
            )
        if ids.size and (ids.min() < 0 or ids.max() >= len(strings)):
            raise ValueError(
                f"ids must index the string table of {len(strings)} strings; got values in "
                f"[{ids.min()}, {ids.max()}]."
            )
        if len(set(strings)) != len(strings):
            table: dict[str, int] = {}
            remap = np.fromiter((table.setdefault(s, len(table)) for s in strings), dtype=np.int32, count=len(strings))
            ids, strings = remap[ids.astype(np.intp, copy=False)], tuple(table)
        self._ids = _readonly(ids.astype(np.int32, copy=ids.dtype != np.int32 or ids.flags.writeable))
        self._offsets = _readonly(offsets.astype(np.int64, copy=offsets.dtype != np.int64 or offsets.flags.writeable))
        self._strings = strings
        self._tokenizer = None
        self._row_index = None
        self._skipped = None

    @classmethod
    def _from_arrays(
        cls, ids: np.ndarray, offsets: np.ndarray, strings, tokenizer=None, row_index=None, skipped=None
    ) -> TokenizedCorpus:
        """Trusted constructor: no checks, no copies (arrays are made read-only).

        ``tokenizer`` is the record of :attr:`tokenizer_params` as sorted
        ``(name, value)`` pairs, or None (pickles of corpora made before the
        record existed call this with three arguments). ``row_index`` is
        :attr:`row_index` (a pandas Index of one label per document) or None.
        ``skipped`` is :attr:`skipped` (int64 document indices) or None.
        """
        self = object.__new__(cls)
        self._ids = _readonly(ids)
        self._offsets = _readonly(offsets)
        self._strings = strings if isinstance(strings, tuple) else tuple(strings)
        self._tokenizer = tokenizer
        self._row_index = row_index
        self._skipped = _skipped_indices(skipped)
        return self

    # ------------------------------------------------------------------ build
    @classmethod
    def from_token_lists(cls, documents: Iterable[Iterable[str]]) -> TokenizedCorpus:
        """Build a corpus from token lists (the string table in first-seen order).

        Parameters
        ----------
        documents : iterable of iterable of str
            A TokenizedCorpus is returned unchanged.

        Returns
        -------
        TokenizedCorpus

        Raises
        ------
        ValueError
            For raw text instead of token lists (a single string, or a
            document that is a string), which would otherwise become
            documents of single characters.
            For a token that is not a str (None, a number, bytes), naming
            its document and position.

        Examples
        --------
        >>> TokenizedCorpus.from_token_lists([["b", "a"], [], ["a"]]).to_list()
        [['b', 'a'], [], ['a']]
        """
        if isinstance(documents, TokenizedCorpus):
            return documents
        if isinstance(documents, (str, bytes)):
            raise ValueError(
                f"Expected a sequence of token lists, got a single {type(documents).__name__}. Tokenize "
                "first (toolkit.SpacyTokenizer), or wrap one document's tokens in a list: [tokens]."
            )
        docs = [doc if isinstance(doc, (list, tuple)) else _token_list(doc, i) for i, doc in enumerate(documents)]
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        table: dict[str, int] = {}
        setdefault = table.setdefault
        # one dict operation per token; ``len(table)`` is evaluated before insertion
        ids = np.fromiter(
            (setdefault(tok, len(table)) for tok in itertools.chain.from_iterable(docs)),
            dtype=np.int32,
            count=int(offsets[-1]),
        )
        strings = tuple(table)
        try:  # one C pass over the distinct strings (0.005 of 0.73 CPU s for 25,000 IMDB reviews)
            "".join(strings)
        except TypeError:
            _refuse_non_str(docs)
        return cls._from_arrays(ids, offsets, strings)

    @classmethod
    def concatenate(cls, corpora: Iterable[TokenizedCorpus]) -> TokenizedCorpus:
        """Join corpora end to end, merging their string tables.

        Parameters
        ----------
        corpora : iterable of TokenizedCorpus

        Returns
        -------
        TokenizedCorpus
            Empty when ``corpora`` is.

        Examples
        --------
        >>> a = TokenizedCorpus.from_token_lists([["x", "y"]])
        >>> b = TokenizedCorpus.from_token_lists([["y", "z"]])
        >>> TokenizedCorpus.concatenate([a, b]).to_list()
        [['x', 'y'], ['y', 'z']]
        """
        corpora = list(corpora)
        if not corpora:
            return cls._from_arrays(np.zeros(0, np.int32), np.zeros(1, np.int64), ())
        table: dict[str, int] = {}
        id_parts, offset_parts, start = [], [np.zeros(1, np.int64)], 0
        for corpus in corpora:
            if not isinstance(corpus, TokenizedCorpus):
                raise TypeError(f"concatenate expects TokenizedCorpus objects, got {type(corpus).__name__}.")
            remap = np.fromiter(
                (table.setdefault(s, len(table)) for s in corpus._strings), dtype=np.int32, count=len(corpus._strings)
            )
            id_parts.append(remap[corpus._ids])
            offset_parts.append(corpus._offsets[1:] + start)
            start += corpus._ids.size
        # one tokenizer made them all: the result keeps its record; mixed (or unknown) origins: none
        records = {corpus._tokenizer for corpus in corpora}
        # rows of pandas inputs: their labels end to end (as pandas.concat); any corpus without: none
        rows = [corpus._row_index for corpus in corpora]
        row_index = None if any(r is None for r in rows) else rows[0].append(rows[1:])
        return cls._from_arrays(np.concatenate(id_parts), np.concatenate(offset_parts), tuple(table),
                                records.pop() if len(records) == 1 else None, row_index)

    # ------------------------------------------------------------ properties
    @property
    def ids(self) -> np.ndarray:
        return self._ids

    @property
    def offsets(self) -> np.ndarray:
        return self._offsets

    @property
    def strings(self) -> tuple[str, ...]:
        return self._strings

    @property
    def tokenizer_params(self) -> dict | None:
        """The settings of the tokenizer that made these tokens, where known (a new dict each time).

        :class:`toolkit.text.SpacyTokenizer` records its parameters that
        decide which tokens come out of a text (the word options: ``model``,
        ``lowercase``, ``lemmatize``, ``remove_*``, ``strip_html``,
        ``unicode_form``; for a char analyzer ``analyzer`` and
        ``ngram_range``) that differ from its defaults: ``{}`` means its
        defaults. None means unknown: a corpus built from token lists, or
        changed after tokenization (:meth:`map_strings`), or joined from
        corpora of different tokenizers (:meth:`concatenate`). Selecting
        documents or tokens (slicing, :meth:`take`, :meth:`tail`,
        :meth:`compact`, :meth:`ngrams`) and pickling keep the record.

        Domain word vectors and :class:`toolkit.vectors.docvec.DocVectorizer`
        tokenize their unlabelled texts with these settings, so the vectors
        have the tokens the documents have.

        Examples
        --------
        >>> from toolkit.text import SpacyTokenizer
        >>> SpacyTokenizer(lowercase=False).transform(["A Film"])[:1].tokenizer_params
        {'lowercase': False}
        >>> TokenizedCorpus.from_token_lists([["a", "film"]]).tokenizer_params is None
        True
        """
        return None if self._tokenizer is None else dict(self._tokenizer)

    def with_tokenizer_params(self, params) -> TokenizedCorpus:
        """The same documents (arrays shared, not copied) with ``params`` as :attr:`tokenizer_params`.

        Parameters
        ----------
        params : dict or None
            Names and values of the tokenizer parameters that differ from
            :class:`toolkit.text.SpacyTokenizer`'s defaults (``{}``: its
            defaults), or None (unknown). Values must be hashable (a list
            becomes a tuple).

        Returns
        -------
        TokenizedCorpus
            ``self`` when the record is the same already.
        """
        record = _record(params)
        if record == self._tokenizer:
            return self
        return self._with_record(record)

    def _with_record(self, record) -> TokenizedCorpus:
        return TokenizedCorpus._from_arrays(self._ids, self._offsets, self._strings, record, self._row_index,
                                            self._skipped)

    @property
    def row_index(self):
        """The pandas row labels of the documents, where the texts came in a pandas Series (else None).

        :class:`toolkit.text.SpacyTokenizer` keeps the index of a Series it
        tokenizes, so that the encoders after it in a pipeline set to pandas
        output (``set_output(transform="pandas")``, e.g. in a
        ``ColumnTransformer`` next to numeric columns) give a DataFrame on
        the same rows as the input frame, as scikit-learn's own transformers
        do. Selecting documents selects their labels along (slicing,
        :meth:`take`); keeping every document keeps it (:meth:`tail`,
        :meth:`compact`, :meth:`map_strings`, :meth:`ngrams`,
        :meth:`with_tokenizer_params`, pickling); :meth:`concatenate` joins
        the labels when every corpus has them, else gives None. Equality
        (``==``) ignores it. (Not named ``index``: that is
        ``Sequence.index(value)``.)

        scikit-learn's own transformers cannot see these labels: one that
        reads the corpus (a ``FunctionTransformer`` after the tokenizer)
        numbers its pandas output 0..n-1, as for any input that is not a
        pandas object. Next to an encoder in a pandas ``FeatureUnion``, which
        joins its parts on the index without checking the row count, the two
        then do not line up: NaN-padded extra rows, or rows silently paired
        with other documents' where the labels are a shuffled 0..n-1 (in a
        ``ColumnTransformer`` the other parts read the frame, on the same
        labels, and the rows join correctly). Where the Series'
        index is not 0..n-1, give such a function's output the corpus' labels,
        ``pd.DataFrame(values, index=corpus.row_index)`` (scikit-learn keeps
        the index of a DataFrame it is given), or tokenize inside each branch
        of the union, or pass ``X.reset_index(drop=True)``.

        Examples
        --------
        >>> import pandas as pd
        >>> c = TokenizedCorpus.from_token_lists([["a"], ["b"], ["c"]]).with_row_index(pd.Index([7, 3, 5]))
        >>> c[1:].row_index.tolist(), c.take([2, 0]).row_index.tolist()
        ([3, 5], [5, 7])
        """
        return self._row_index

    def with_row_index(self, index) -> TokenizedCorpus:
        """The same documents (arrays shared, not copied) with ``index`` as :attr:`row_index`.

        Parameters
        ----------
        index : pandas.Index, array-like or None
            One label per document; None drops the labels.

        Returns
        -------
        TokenizedCorpus

        Raises
        ------
        ValueError
            When ``index`` does not have one label per document.
        """
        if index is not None:
            import pandas as pd

            index = index if isinstance(index, pd.Index) else pd.Index(index)
            if len(index) != len(self):
                raise ValueError(
                    f"with_row_index needs one label per document: got {len(index)} labels for a corpus of "
                    f"{len(self)} documents."
                )
        if index is None and self._row_index is None:
            return self
        return self._with_rows(index)

    def _with_rows(self, row_index) -> TokenizedCorpus:
        return TokenizedCorpus._from_arrays(self._ids, self._offsets, self._strings, self._tokenizer, row_index,
                                            self._skipped)

    @property
    def skipped(self) -> np.ndarray | None:
        """Indices of the documents :class:`toolkit.text.SpacyTokenizer` skipped making this corpus, else None.

        On the corpus that ``SpacyTokenizer(errors="skip").transform(X)``
        (or ``fit_transform``, or :func:`toolkit.text.tokenize`) returns:
        the positions in ``X`` (0-based, whatever the index of a pandas
        Series) of the documents longer than ``max_length`` that got an
        empty token list, in increasing order, as a read-only int64 array;
        empty when none was skipped. Each call's own result carries its own
        indices, so threads sharing one tokenizer never see each other's.
        Keeping every document in place keeps it (:meth:`tail`,
        :meth:`compact`, :meth:`map_strings`, :meth:`ngrams`,
        :meth:`with_tokenizer_params`, :meth:`with_row_index`, pickling);
        selecting or joining documents (slicing, :meth:`take`,
        :meth:`concatenate`) gives None, as positions of the tokenizer's
        input no longer apply, and so does a corpus built from token lists.
        Equality (``==``) ignores it.

        Examples
        --------
        >>> from toolkit.text import SpacyTokenizer
        >>> SpacyTokenizer(max_length=10, errors="skip").transform(["short", "far too long a text"]).skipped
        array([1])
        >>> TokenizedCorpus.from_token_lists([["a"]]).skipped is None
        True
        """
        return self._skipped

    @property
    def n_tokens(self) -> int:
        """Total number of tokens."""
        return int(self._ids.size)

    def lengths(self) -> np.ndarray:
        """Number of tokens of each document.

        Returns
        -------
        ndarray of int64 of shape (n_documents,)
        """
        return np.diff(self._offsets)

    # -------------------------------------------------------------- sequence
    def __len__(self) -> int:
        return self._offsets.size - 1

    @property
    def shape(self) -> tuple[int]:
        """``(n_documents,)``: the shape of ``np.asarray(corpus)`` (see :meth:`__array__`).

        scikit-learn selects rows (``_safe_indexing``: the folds of
        ``cross_validate``, ``GridSearchCV``, ``cross_val_predict``,
        ``train_test_split``) of an object with a ``shape`` as an array,
        ``X[indices, ...]``, which returns a corpus; without it, as a list,
        one ``X[i]`` per row, which gave each fold a plain list of token
        lists (slower to encode, and without :attr:`row_index`).
        """
        return (len(self),)

    #: one dimension: documents (their tokens are not a second axis of equal length)
    ndim = 1

    def __getitem__(self, key):
        if isinstance(key, tuple) and key and key[-1] is Ellipsis:
            # numpy-style ``corpus[indices, ...]`` (scikit-learn's ``_safe_indexing`` of an object with a shape);
            # a tuple without the Ellipsis stays a sequence of document indices, as it always was
            key = key[:-1] or (slice(None),)
            if len(key) != 1:
                raise IndexError(
                    f"too many indices for a TokenizedCorpus: it has one dimension (documents), got {len(key)} "
                    "indices before the Ellipsis. Select documents with one index, slice, integer array or "
                    "boolean mask."
                )
            key = key[0]
        if key is Ellipsis:
            key = slice(None)
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            n = len(self)
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"document index {key} out of range for a corpus of {n} documents")
            strings = self._strings
            return [strings[t] for t in self._ids[self._offsets[i] : self._offsets[i + 1]].tolist()]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                stop = max(start, stop)
                offsets = self._offsets[start : stop + 1]
                rows = None if self._row_index is None else self._row_index[start:stop]
                return TokenizedCorpus._from_arrays(
                    self._ids[offsets[0] : offsets[-1]].copy(), offsets - offsets[0], self._strings, self._tokenizer,
                    rows,
                )
            return self.take(np.arange(start, stop, step))
        return self.take(key)

    def take(self, indices) -> TokenizedCorpus:
        """Documents at ``indices`` (ints or a boolean mask) as a new corpus.

        Parameters
        ----------
        indices : array-like of int or bool
            Document indices (negative ones count from the end), or a mask of
            ``len(self)`` booleans.

        Returns
        -------
        TokenizedCorpus

        Raises
        ------
        IndexError
            For an index out of range or a mask of another length.

        Examples
        --------
        >>> c = TokenizedCorpus.from_token_lists([["a"], ["b", "c"], []])
        >>> c.take([2, 1, 1]).to_list()
        [[], ['b', 'c'], ['b', 'c']]
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise IndexError(f"boolean index of shape {idx.shape} does not match a corpus of {len(self)} documents")
            idx = np.flatnonzero(idx)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise IndexError(f"only integers, slices and 1-D integer or boolean arrays are valid indices, got {indices!r}")
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"document index out of range for a corpus of {n} documents")
        idx = np.where(idx < 0, idx + n, idx)
        starts = self._offsets[idx]
        # the row labels of the documents taken (a repeated document repeats its label)
        rows = None if self._row_index is None else self._row_index.take(idx)
        return self._segments(starts, self._offsets[idx + 1] - starts, rows)

    def _segments(self, starts: np.ndarray, lengths: np.ndarray, row_index=None, skipped=None) -> TokenizedCorpus:
        """One document per (start, length) run of the flat token array, sharing the string table."""
        offsets = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # position of every kept token in the flat array, without a Python loop
        gather = np.arange(offsets[-1], dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
        return TokenizedCorpus._from_arrays(self.ids[gather], offsets, self.strings, self._tokenizer, row_index,
                                            skipped)

    def __iter__(self):
        strings, ids, offsets = self._strings, self._ids.tolist(), self._offsets.tolist()
        for start, stop in zip(offsets[:-1], offsets[1:]):
            yield [strings[t] for t in ids[start:stop]]

    def to_list(self) -> list[list[str]]:
        """The documents as lists of tokens.

        Returns
        -------
        list of list of str
        """
        return list(self)

    #: numpy's view of a corpus (see :meth:`__array__`): scikit-learn's ``check_array(X, dtype="numeric")``
    #: reads it and asks for float64, which :meth:`__array__` refuses with a message that names the encoders
    #: (without it: a 1-D object array, and "Expected 2D array" followed by every token of every document)
    dtype = np.dtype(object)

    def __array__(self, dtype=None, copy=None):
        """The documents as numpy sees them: a 1-D object array of one token list per document.

        Without it numpy read a corpus as nested sequences: a ragged one
        failed ("inhomogeneous shape") and one of equal-length documents
        became a 2-D array of strings. scikit-learn validates ``X`` with
        numpy where only the number of rows matters, e.g. the constant
        predictor ``OneVsRestClassifier`` fits for a label with one value
        in the training rows, so ``make_pipeline(SpacyTokenizer(),
        OneVsRestClassifier(...))`` needs the corpus to convert. The
        documents are copied out of the flat arrays (as :meth:`to_list`
        does) on each call.

        Parameters
        ----------
        dtype : None or object dtype, optional
            Any other dtype is an error: token lists are not numbers.
        copy : bool or None, optional
            ``False`` is an error: the array is always built anew.

        Returns
        -------
        ndarray of object of shape (n_documents,)

        Raises
        ------
        ValueError
            For a dtype other than object (e.g. a numeric estimator given the
            tokens), saying to encode them first, or for ``copy=False``.

        Examples
        --------
        >>> import numpy as np
        >>> np.asarray(TokenizedCorpus.from_token_lists([["a", "b"], ["c", "d"]])).tolist()
        [['a', 'b'], ['c', 'd']]
        """
        if dtype is not None and np.dtype(dtype) != np.dtype(object):
            raise ValueError(
                f"A TokenizedCorpus holds token lists; it cannot become an array of dtype {np.dtype(dtype)}. "
                "Encode the tokens first: make_pipeline(SpacyTokenizer(), BagEncoder(), LogisticRegression()). "
                "Where a meta-estimator (OneVsOneClassifier, BaggingClassifier...) checks X first, let the "
                "meta-estimator wrap only the classifier: make_pipeline(SpacyTokenizer(), BagEncoder(), "
                "OneVsOneClassifier(...)); to self-train, toolkit.PseudoLabelClassifier."
            )
        if copy is False:
            raise ValueError("A TokenizedCorpus has no array of token lists to share: np.asarray(corpus) "
                             "builds one (copy=False cannot be honoured).")
        out = np.empty(len(self), dtype=object)
        for i, doc in enumerate(self):  # one by one: equal-length lists given at once would broadcast to 2-D
            out[i] = doc
        return out

    def __eq__(self, other):
        if isinstance(other, TokenizedCorpus):
            if len(self) != len(other) or not np.array_equal(self._offsets, other._offsets):
                return False
            mine = np.asarray(self._strings, dtype=object)[self._ids] if self._ids.size else np.zeros(0, object)
            theirs = np.asarray(other._strings, dtype=object)[other._ids] if other._ids.size else np.zeros(0, object)
            return bool(np.array_equal(mine, theirs))
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == list(b) for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # mutable-looking container semantics, like list

    def __repr__(self) -> str:
        return (
            f"TokenizedCorpus(n_documents={len(self)}, n_tokens={self.n_tokens}, "
            f"n_strings={len(self._strings)})"
        )

    def __reduce__(self):
        # arrays and one tuple of str pickle fast; no per-token objects. No record and no row labels: the
        # three arguments of the pickles made before they existed (and the same bytes as theirs)
        args = (self._ids.copy(), self._offsets.copy(), self._strings)
        if self._skipped is not None:  # SpacyTokenizer.transform's own output
            return (TokenizedCorpus._from_arrays, (*args, self._tokenizer, self._row_index, self._skipped.copy()))
        if self._row_index is not None:
            return (TokenizedCorpus._from_arrays, (*args, self._tokenizer, self._row_index))
        return (TokenizedCorpus._from_arrays, args if self._tokenizer is None else (*args, self._tokenizer))

    # --------------------------------------------------------------- helpers
    def token_counts(self) -> np.ndarray:
        """How many times each entry of ``strings`` occurs.

        Returns
        -------
        ndarray of int64, aligned with ``strings``
        """
        return np.bincount(self._ids, minlength=len(self._strings)).astype(np.int64, copy=False)

    def first_positions(self) -> np.ndarray:
        """Flat position of the first occurrence of each string.

        Returns
        -------
        ndarray of int64, aligned with ``strings``
            ``n_tokens`` for a string no document uses.
        """
        first = np.full(len(self._strings), self._ids.size, dtype=np.int64)
        if self._ids.size:
            uniq, index = np.unique(self._ids, return_index=True)
            first[uniq] = index
        return first

    def lookup(self, mapping: Mapping[str, int], default: int, *, dtype="int32") -> np.ndarray:
        """Map every token through ``mapping`` in one vectorized step.

        Each distinct string is looked up once; the result for the whole corpus
        is a gather. Used by the encoders to turn a corpus into vocabulary ids.

        Parameters
        ----------
        mapping : mapping of str to int
            E.g. ``Vocabulary.token_to_id``.
        default : int
            Value for strings missing from ``mapping`` (e.g. the OOV id).
        dtype : str or numpy dtype, default="int32"
            Type of the result.

        Returns
        -------
        ndarray of shape (n_tokens,)

        Examples
        --------
        >>> c = TokenizedCorpus.from_token_lists([["a", "b"], ["b", "zzz"]])
        >>> c.lookup({"a": 2, "b": 3}, default=1).tolist()
        [2, 3, 3, 1]
        """
        get = mapping.get
        table = np.fromiter((get(s, default) for s in self._strings), dtype=dtype, count=len(self._strings))
        return table[self._ids]

    def tail(self, n_tokens: int) -> TokenizedCorpus:
        """Each document's last ``n_tokens`` tokens (a shorter document whole), as a new corpus.

        The string table is shared, not compacted.

        Parameters
        ----------
        n_tokens : int
            Tokens kept at the end of each document, >= 0.

        Returns
        -------
        TokenizedCorpus

        Examples
        --------
        >>> TokenizedCorpus.from_token_lists([["a", "b", "c"], ["d"], []]).tail(2).to_list()
        [['b', 'c'], ['d'], []]
        """
        if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)) or n_tokens < 0:
            raise ValueError(f"n_tokens must be an int >= 0, got {n_tokens!r}.")
        keep = np.minimum(np.diff(self.offsets), n_tokens)
        return self._segments(self.offsets[1:] - keep, keep, self._row_index, self._skipped)

    def map_strings(self, func) -> TokenizedCorpus:
        """Apply ``func`` to each distinct string (e.g. ``str.lower``), merging equal results.

        The result has no :attr:`tokenizer_params` (its tokens are no longer
        the tokenizer's).

        Parameters
        ----------
        func : callable
            str -> str, called once per entry of ``strings``.

        Returns
        -------
        TokenizedCorpus

        Raises
        ------
        TypeError
            When ``func`` returns something other than a str (None, a
            number), naming the string it was called on.
        """
        table: dict[str, int] = {}
        remap = np.fromiter(
            (table.setdefault(func(s), len(table)) for s in self._strings), dtype=np.int32, count=len(self._strings)
        )
        results = tuple(table)
        try:  # one C pass, as from_token_lists checks its tokens: a None token would fail later, far from here
            "".join(results)
        except TypeError:
            k = next(k for k, value in enumerate(results) if not isinstance(value, str))
            source = self._strings[int(np.flatnonzero(remap == k)[0])]
            got = results[k]
            raise TypeError(
                f"map_strings: func must return a str for each token; it returned "
                f"{'None' if got is None else f'{type(got).__name__} ({got!r:.80})'} for {source!r:.80}. "
                "Return the token itself to keep it unchanged."
            ) from None
        return TokenizedCorpus._from_arrays(remap[self._ids], self._offsets, tuple(table), None, self._row_index,
                                            self._skipped)

    def compact(self) -> TokenizedCorpus:
        """The same documents with a string table holding only the strings used.

        Returns
        -------
        TokenizedCorpus
            ``self`` when every string is used, else a new corpus.
        """
        used = np.zeros(len(self._strings), dtype=bool)
        used[self._ids] = True
        if used.all():
            return self
        new_index = np.cumsum(used, dtype=np.int64) - 1
        strings = self._strings
        return TokenizedCorpus._from_arrays(
            new_index[self._ids].astype(np.int32),
            self._offsets,
            tuple(strings[i] for i in np.flatnonzero(used).tolist()),
            self._tokenizer,
            self._row_index,
            self._skipped,
        )

    def ngrams(self, ngram_range=(1, 1), *, separator: str = " ") -> TokenizedCorpus:
        """Word n-grams of each document, in scikit-learn's order.

        For each document: all n-grams for ``n = min_n``, then ``min_n + 1``...,
        each n-gram being its tokens joined by ``separator``, exactly as
        ``CountVectorizer(ngram_range=...)`` builds them from a token list.

        The result is built lazily: its offsets at once, its n-gram strings
        only when something reads them (``strings``, ``ids``, iteration...).
        :meth:`toolkit.text.Vocabulary.encode` never needs them: it finds each
        n-gram's id from the ids of its tokens (see :class:`NgramIndex`), which
        is what keeps prediction on n-gram models fast.

        Parameters
        ----------
        ngram_range : tuple (min_n, max_n), default=(1, 1)
            Ints with ``1 <= min_n <= max_n``; ``(1, 1)`` returns this corpus.
        separator : str, default=" "
            Joins the tokens of an n-gram.

        Returns
        -------
        TokenizedCorpus

        Raises
        ------
        ValueError
            For an invalid ``ngram_range``.

        Examples
        --------
        >>> c = TokenizedCorpus.from_token_lists([["not", "a", "hit"]])
        >>> c.ngrams((1, 2))[0]
        ['not', 'a', 'hit', 'not a', 'a hit']
        """
        if not (
            isinstance(ngram_range, (tuple, list, np.ndarray))
            and len(ngram_range) == 2
            and all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in ngram_range)
            and 1 <= ngram_range[0] <= ngram_range[1]
        ):
            raise ValueError(
                f"ngram_range must be a pair (min_n, max_n) of ints with 1 <= min_n <= max_n, got {ngram_range!r}."
            )
        min_n, max_n = (int(n) for n in ngram_range)
        if (min_n, max_n) == (1, 1):
            return self
        return _NgramCorpus(self, (int(min_n), int(max_n)), separator, self._tokenizer, self._skipped)


def _ngram_layout(offsets: np.ndarray, ngram_range):
    """Where each n-gram of a corpus goes, in scikit-learn's order.

    Yields ``(n, first, dest)`` per n of the range: the flat position in the
    source corpus of each n-gram's first token, and its position in the flat
    n-gram array.
    """
    min_n, max_n = ngram_range
    lengths = np.diff(offsets)
    n_docs = lengths.size
    new_offsets = _ngram_offsets(offsets, ngram_range)
    done_before = np.zeros(n_docs, dtype=np.int64)  # n-grams of smaller n already placed
    starts = offsets[:-1]
    for n in range(min_n, max_n + 1):
        counts = np.maximum(lengths - n + 1, 0)
        total = int(counts.sum())
        if total:
            # the k-th n-gram of the batch, j-th of its document d, starts at starts[d] + j and goes to
            # new_offsets[d] + done_before[d] + j: per-document shifts of k, spread with one repeat each
            first = np.arange(total, dtype=np.int64)
            first += np.repeat(starts - (np.cumsum(counts) - counts), counts)
            yield n, first, first + np.repeat(new_offsets[:-1] + done_before - starts, counts)
        done_before += counts


def _ngram_offsets(offsets: np.ndarray, ngram_range) -> np.ndarray:
    lengths = np.diff(offsets)
    new_lengths = sum(np.maximum(lengths - n + 1, 0) for n in range(ngram_range[0], ngram_range[1] + 1))
    new_offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(new_lengths, out=new_offsets[1:])
    return new_offsets


def _pack(columns: list[np.ndarray], base: int) -> np.ndarray | None:
    """Each row of ``columns`` (ints in ``[0, base)``) as one int64, in lexicographic order; None if it overflows."""
    if base ** len(columns) >= 2**63:
        return None
    packed = columns[0].astype(np.int64)
    for column in columns[1:]:
        packed = packed * base + column
    return packed


def _has_separator(strings, separator: str) -> bool:
    return any(separator in s for s in strings)


def _used_strings(strings, ids: np.ndarray):
    """``(the entries of strings that ids reference, their positions)``, in table order.

    ``strings`` itself (positions ``0..len-1``) when every entry is used.
    """
    mask = np.zeros(len(strings), dtype=bool)
    mask[ids] = True
    used = np.flatnonzero(mask)
    if used.size == len(strings):
        return strings, used
    return [strings[i] for i in used.tolist()], used


class _NgramCorpus(TokenizedCorpus):
    """The n-grams of a corpus, with the n-gram strings built on first use.

    ``_ids`` and ``_strings`` are properties that build the n-gram string
    table once (into the parent's slots); :meth:`lookup_ids` maps the n-grams
    to vocabulary ids from the source tokens without building it.
    """

    __slots__ = ("_source", "_ngram_range", "_separator", "_blocks")

    def __init__(self, source: TokenizedCorpus, ngram_range, separator: str, tokenizer=None, skipped=None):
        self._source = source
        self._ngram_range = ngram_range
        self._separator = separator
        self._blocks = None
        self._offsets = _readonly(_ngram_offsets(source.offsets, ngram_range))
        self._tokenizer = tokenizer  # the record of the words' tokenizer (None in pickles made before it)
        self._row_index = source._row_index  # one document per source document: the same rows
        self._skipped = _skipped_indices(skipped)

    def _built(self) -> bool:
        try:
            TokenizedCorpus._strings.__get__(self)
        except AttributeError:
            return False
        return True

    def _build(self):
        ids, strings, blocks = _build_ngram_strings(
            self._source, self._ngram_range, self._separator, self._offsets[-1]
        )
        self._blocks = blocks
        TokenizedCorpus._ids.__set__(self, _readonly(ids))
        TokenizedCorpus._strings.__set__(self, strings)

    def ngram_index(self, positions: np.ndarray, mapping, *, first_id: int = 0) -> NgramIndex | None:
        """The :class:`NgramIndex` of a vocabulary made of the strings at ``positions`` of the table.

        ``mapping`` sends ``strings[positions[i]]`` to ``first_id + i`` (a
        vocabulary built from this corpus, such as
        :meth:`toolkit.text.Vocabulary.from_documents` makes). The codes come
        from the source token ids, so no string is split or hashed. None when
        the n-grams are not in the plain layout (a token holds the separator,
        or the source repeats a string).
        """
        self._ids  # noqa: B018 -- builds the table and its blocks
        source_strings = self._source.strings
        if self._blocks is None or len(set(source_strings)) != len(source_strings):
            return None
        positions = np.asarray(positions, dtype=np.int64)
        value_of = np.full(len(self._strings), -1, dtype=np.int64)
        value_of[positions] = np.arange(positions.size, dtype=np.int64) + first_id
        keys = {}
        for n, start, packed in self._blocks:
            values = value_of[start : start + packed.size]
            kept = values >= 0
            keys[n] = (packed[kept], values[kept])  # a subsequence of the sorted codes: still sorted
        codes = dict(zip(source_strings, range(len(source_strings))))
        return NgramIndex._from_parts(mapping, self._separator, codes, max(len(source_strings), 1), keys)

    def take(self, indices) -> TokenizedCorpus:
        """:meth:`TokenizedCorpus.take`, still lazy: the documents' n-grams, made from their own source tokens.

        The base method reads the ids, which built the n-gram strings of
        every document first (+0.35 GB and +1.2 CPU s for 20,000 reviews'
        1-3-grams, when ``toolkit predict`` scores them in chunks).
        """
        if self._built():
            return TokenizedCorpus.take(self, indices)
        return _NgramCorpus(self._source.take(indices), self._ngram_range, self._separator, self._tokenizer)

    @property
    def _ids(self):
        if not self._built():
            self._build()
        return TokenizedCorpus._ids.__get__(self)

    @property
    def _strings(self):
        if not self._built():
            self._build()
        return TokenizedCorpus._strings.__get__(self)

    @property
    def n_tokens(self) -> int:
        return int(self._offsets[-1])

    @classmethod
    def _from_arrays(cls, ids, offsets, strings, tokenizer=None, row_index=None, skipped=None) -> TokenizedCorpus:
        return TokenizedCorpus._from_arrays(ids, offsets, strings, tokenizer, row_index, skipped)

    def _with_record(self, record) -> TokenizedCorpus:
        return self._sharing(self._source, record)

    def _with_rows(self, row_index) -> TokenizedCorpus:
        # still lazy: the row labels go on the source tokens, whose labels the n-grams take
        return self._sharing(self._source._with_rows(row_index), self._tokenizer)

    def _sharing(self, source: TokenizedCorpus, record) -> TokenizedCorpus:
        other = _NgramCorpus(source, self._ngram_range, self._separator, record, self._skipped)
        if self._built():  # share the n-gram table already built
            other._blocks = self._blocks
            TokenizedCorpus._ids.__set__(other, TokenizedCorpus._ids.__get__(self))
            TokenizedCorpus._strings.__set__(other, TokenizedCorpus._strings.__get__(self))
        return other

    def __reduce__(self):
        # the source tokens are smaller than the n-gram table; rebuilt on demand
        args = (self._source, self._ngram_range, self._separator)
        if self._skipped is not None:  # SpacyTokenizer.transform's own output
            return (_NgramCorpus, (*args, self._tokenizer, self._skipped.copy()))
        return (_NgramCorpus, args if self._tokenizer is None else (*args, self._tokenizer))

    def __repr__(self) -> str:
        return (
            f"TokenizedCorpus(n_documents={len(self)}, n_tokens={self.n_tokens}, "
            f"ngram_range={self._ngram_range})"
        )

    def lookup_ids(self, index: NgramIndex, default: int, *, dtype="int32") -> np.ndarray | None:
        """Vocabulary ids of every n-gram without building the n-gram strings.

        Returns None when the fast path cannot guarantee the result of
        :meth:`lookup` (a token of the documents holds the separator, or the
        n-gram codes would overflow); the caller then uses :meth:`lookup`.
        Once the strings exist, :meth:`lookup` is cheaper and None is
        returned too. Only the source strings the documents use are read
        (a string table entry no token points to never makes an n-gram).
        """
        if self._built() or index.separator != self._separator or not index.supports(self._ngram_range[1]):
            return None
        source = self._source
        src_ids = source.ids
        # Only the strings the documents use: a negation-marked corpus's table holds every string twice
        # (plain and marked), and a tail() shares its source's whole table (the stack's "tail" member:
        # ~7,000 of ~100,000 strings for 2,000 reviews). Unused strings never reach `out`.
        strings, used = _used_strings(source.strings, src_ids)
        if _has_separator(strings, self._separator):
            return None
        out = np.empty(self.n_tokens, dtype=dtype)
        codes = np.full(len(source.strings), -1, dtype=np.int64)
        codes[used] = index.token_codes(strings)
        for n, first, dest in _ngram_layout(source.offsets, self._ngram_range):
            if n == 1:
                table = np.empty(len(source.strings), dtype=dtype)
                table[used] = index.unigram_ids(strings, codes[used], default).astype(dtype, copy=False)
                out[dest] = table[src_ids[first]]
                continue
            window = [codes[src_ids[first + k]] for k in range(n)]
            out[dest] = index.find(window, n, default)
        return out


def _build_ngram_strings(source: TokenizedCorpus, ngram_range, separator: str, n_out: int):
    """The flat ids and string table of the n-grams of ``source`` (see :meth:`TokenizedCorpus.ngrams`).

    The string table lists the source strings (for ``min_n == 1``), then the
    distinct n-grams of each n in the lexicographic order of their token ids.
    """
    src_ids, strings = source.ids, source.strings
    out = np.empty(n_out, dtype=np.int32)
    index: dict[str, int] = {}
    table: list[str] = []
    # without the separator inside any token, every n-gram string is new and distinct
    plain = not _has_separator(strings, separator)
    blocks, grams_ns = [], []  # (n, first position in the table, sorted packed token ids) per n
    objects = np.empty(len(strings), dtype=object)
    objects[:] = strings
    for n, first, dest in _ngram_layout(source.offsets, ngram_range):
        if n == 1:
            remap = np.fromiter((index.setdefault(s, len(index)) for s in strings), dtype=np.int32, count=len(strings))
            table = list(index)
            out[dest] = remap[src_ids[first]]
            continue
        columns = [src_ids[first + k] for k in range(n)]
        packed = _pack(columns, max(len(strings), 1))
        if packed is not None:
            uniq, inverse = np.unique(packed, return_inverse=True)
            base = max(len(strings), 1)
            rows = [(uniq // base ** (n - 1 - k)) % base for k in range(n)]
        else:
            uniq, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
            rows = [uniq[:, k] for k in range(n)]
        grams = list(map(separator.join, zip(*(objects[r].tolist() for r in rows))))
        grams_ns.append(n)
        if plain and packed is not None:
            blocks.append((n, len(table), uniq))
        if plain:
            remap = np.arange(len(table), len(table) + len(grams), dtype=np.int32)
            table.extend(grams)
        else:
            remap = np.fromiter((index.setdefault(g, len(index)) for g in grams), dtype=np.int32, count=len(grams))
            table = list(index)
        out[dest] = remap[inverse.reshape(-1)]
    return out, tuple(table), (blocks if plain and len(blocks) == len(grams_ns) else None)


class NgramIndex:
    """The n-gram keys of a token -> id mapping, as integer codes of their tokens.

    A key holding ``separator`` is an n-gram: its parts get token codes and
    the key one int64 (the codes packed in base ``n_codes``), kept sorted per
    n. An n-gram of a corpus whose tokens never hold the separator is then
    found with numpy (``searchsorted``) instead of joining and hashing its
    string; the result is the same, since joining such tokens and splitting
    the key are inverse operations.

    Parameters
    ----------
    mapping : mapping of str to int
        E.g. ``Vocabulary.token_to_id``; not copied (do not change it later).
    separator : str, default=" "

    Examples
    --------
    >>> from toolkit.text.corpus import NgramIndex, TokenizedCorpus
    >>> index = NgramIndex({"not": 2, "good": 3, "not good": 4})
    >>> corpus = TokenizedCorpus.from_token_lists([["not", "good", "film"]]).ngrams((1, 2))
    >>> corpus.lookup_ids(index, default=1).tolist()
    [2, 3, 1, 4, 1]
    """

    @classmethod
    def _from_parts(cls, mapping, separator, codes, n_codes, keys) -> NgramIndex:
        """An index from token codes and, per n, (sorted packed codes, values)."""
        self = object.__new__(cls)
        self.mapping, self.separator, self.codes, self.n_codes, self._sorted = mapping, separator, codes, n_codes, keys
        return self

    def __init__(self, mapping, separator: str = " "):
        self.mapping = mapping
        self.separator = separator
        codes: dict[str, int] = {}
        setdefault = codes.setdefault
        keys: dict[int, list] = {}
        for key, value in mapping.items():
            if separator in key:
                parts = key.split(separator)
                keys.setdefault(len(parts), []).append(([setdefault(p, len(codes)) for p in parts], value))
        self.codes = codes
        self.n_codes = max(len(codes), 1)
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n, entries in keys.items():
            parts = np.array([p for p, _ in entries], dtype=np.int64)
            values = np.array([v for _, v in entries], dtype=np.int64)
            packed = _pack([parts[:, k] for k in range(n)], self.n_codes)
            if packed is None:  # too many codes for this n: supports(n) is False
                continue
            order = np.argsort(packed, kind="stable")
            self._sorted[n] = (packed[order], values[order])

    def supports(self, max_n: int) -> bool:
        """Whether :meth:`find` works for every n up to ``max_n`` (the packed codes fit in int64)."""
        return _pack([np.zeros(1, np.int64)] * max_n, self.n_codes) is not None

    def unigram_ids(self, strings, codes: np.ndarray, default: int) -> np.ndarray:
        """``mapping.get(s, default)`` for each of ``strings``, whose :meth:`token_codes` are ``codes``.

        A string with a code is looked up in a table by code (built on first
        use): the code dict is small and stays in cache, where the mapping of
        every n-gram (a million keys) costs a cache miss per look-up. Only
        strings in no n-gram key go to the mapping.
        """
        by_code = self.__dict__.get("_ids_by_code")
        if by_code is None:  # one id per code, then -1: code -1 (no n-gram key) reads that last entry
            get = self.mapping.get
            by_code = np.fromiter(itertools.chain((get(t, -1) for t in self.codes), (-1,)), dtype=np.int64,
                                  count=len(self.codes) + 1)
            self._ids_by_code = by_code
        ids = by_code[codes]
        missing = np.flatnonzero(ids < 0)
        if missing.size:
            get = self.mapping.get
            ids[missing] = np.fromiter((get(strings[i], default) for i in missing.tolist()), dtype=np.int64,
                                       count=missing.size)
        return ids

    def token_codes(self, strings) -> np.ndarray:
        """Code of each string (-1 for strings in no n-gram key)."""
        get = self.codes.get
        return np.fromiter((get(s, -1) for s in strings), dtype=np.int64, count=len(strings))

    def find(self, window: list[np.ndarray], n: int, default: int) -> np.ndarray:
        """Values of the n-grams whose token codes are the columns of ``window``; ``default`` where absent."""
        if n not in self._sorted or not window[0].size or not self._sorted[n][0].size:
            # no key of this length (a capped vocabulary may keep none of an n: it was an IndexError)
            return np.full(window[0].size, default, dtype=np.int64)
        keys, values = self._sorted[n]
        packed = _pack(window, self.n_codes)
        unknown = np.logical_or.reduce([c < 0 for c in window])
        packed[unknown] = -1  # no key is negative (a -1 code alone could pack to a real key)
        # Sorted queries: numpy's binary search starts from the previous result (several times
        # faster), and the keys and values are then read in increasing order, not at random.
        order = np.argsort(packed)
        queries = packed[order]
        pos = np.searchsorted(keys, queries)
        np.minimum(pos, keys.size - 1, out=pos)
        found = np.where(keys[pos] == queries, values[pos], default)
        result = np.empty(packed.size, dtype=np.int64)
        result[order] = found
        return result


def check_token_corpus(X, *, estimator: str, name: str = "X", raw_text_advice: str | None = None) -> TokenizedCorpus:
    """:func:`check_token_lists` (``raw_text_advice`` as there), then the documents as a :class:`TokenizedCorpus`
    (unchanged if one).

    The corpus of a pandas Series has the Series' index as
    :attr:`TokenizedCorpus.row_index`, as :class:`toolkit.text.SpacyTokenizer`'s
    output of a Series has: a step that returns tokens (``NegationMarker``)
    then passes the labels on to the encoders' pandas output. Without them
    that output of a Series of token lists was numbered 0..n-1, and a pandas
    ``ColumnTransformer`` failed to join it to the frame's other columns.
    """
    docs = check_token_lists(X, estimator=estimator, name=name, raw_text_advice=raw_text_advice)
    if isinstance(docs, TokenizedCorpus):
        return docs
    corpus = TokenizedCorpus.from_token_lists(docs)
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(X, pandas.Series):
        corpus = corpus._with_rows(X.index)
    return corpus


#: what a raw-text error tells the user to do, unless the caller knows better (``raw_text_advice``)
RAW_TEXT_ADVICE = "put SpacyTokenizer before it in a Pipeline, or use toolkit.make_text_classifier()."


def check_token_lists(X, *, estimator: str, name: str = "X", raw_text_advice: str | None = None,
                      str_document_advice: str | None = None):
    """Validate token lists (a sequence of sequences of str).

    A :class:`TokenizedCorpus` is returned unchanged; anything
    else comes back as a list of lists.

    ``raw_text_advice`` replaces :data:`RAW_TEXT_ADVICE` in the errors for
    raw strings (a model trained from a corpus store names its store's
    tokenizer). ``str_document_advice`` replaces the whole advice for a
    document that is a str, for callers that take one-token documents
    (``BagEncoder(output_mode="one_hot")``: a column of category strings is
    not raw text to tokenize, nor one document's tokens).

    Raises
    ------
    ValueError
        When raw strings are given instead of token lists, saying to put
        SpacyTokenizer first, or when an element is not a sequence of str.
    """
    advice = RAW_TEXT_ADVICE if raw_text_advice is None else raw_text_advice
    if isinstance(X, TokenizedCorpus):
        return X
    if _is_sparse(X):
        # a bag of tokens (another encoder's output) given again: its rows would read as documents of numbers
        raise ValueError(
            f"{estimator} expects a sequence of token lists for {name}, got a sparse matrix "
            f"({type(X).__name__} of shape {X.shape}); sparse input is not supported. Give it the token lists "
            "(what SpacyTokenizer returns), not another encoder's output."
        )
    if isinstance(X, (str, bytes)) or (
        not isinstance(X, Iterable)
    ):
        raise ValueError(
            f"{estimator} expects a sequence of token lists for {name}, got "
            f"{type(X).__name__}. Tokenize first: {advice}"
        )
    if (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == object and X.size
            and isinstance(X.flat[0], Iterable) and not isinstance(X.flat[0], str)):
        # a column of token lists as a table, (n, 1) (ColumnTransformer's [0] of a numpy array, or
        # permutation_importance's 2-D X): its rows would read as documents of one token list each
        raise ValueError(
            f"{estimator} expects a 1-D sequence of token lists for {name}, got a 2-D object array of shape "
            f"{X.shape} whose cells are {type(X.flat[0]).__name__}s. Select the column of token lists first, "
            "e.g. X[:, 0] (in a ColumnTransformer: 0, not [0])."
        )
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 1) != 1:
        # a DataFrame (ColumnTransformer's ["tokens"]): its rows would read as documents of one cell each
        raise ValueError(
            f"{estimator} expects a 1-D sequence of token lists for {name}, got a {type(X).__name__} with "
            f"{X.ndim} dimensions. Select the column first, e.g. df['tokens'] (in a ColumnTransformer: "
            "'tokens', not ['tokens'])."
        )
    given = X  # a pandas Series: its row labels name a bad document too
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(X, (pyarrow.Array, pyarrow.ChunkedArray)):
        # a list<string> column of a pyarrow Table (pq.read_table(...)["tokens"]): its to_numpy takes no dtype;
        # nulls become None (a missing document)
        docs = X.to_pylist()
    else:
        docs = list(X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else X)
    for i, doc in enumerate(docs):
        if isinstance(doc, (str, np.str_)):
            # strings without spaces, all of them: more likely one document's tokens (enc.transform(tokens))
            one_document = all(isinstance(d, str) and d and not any(c.isspace() for c in d) for d in docs)
            todo = RAW_TEXT_ADVICE
            if one_document:
                todo = (f"{name} looks like the tokens of one document ({', '.join(map(repr, docs[:3]))}"
                        f"{', ...' if len(docs) > 3 else ''}): wrap them in a list, [tokens], for one row. Raw "
                        f"texts: tokenize them first ({todo[:-1]}).")
            else:
                todo = f"Tokenize first: {advice}"
            if str_document_advice is not None:
                todo = str_document_advice
            raise ValueError(
                f"{estimator} expects token lists, but document {i} of {name}{row_label(given, i)} is a raw "
                f"string. {todo}"
            )
        if not isinstance(doc, Iterable):
            if is_missing(doc):  # a pandas column of token lists with a missing row (NaN / None / pd.NA)
                raise ValueError(
                    f"{estimator} expects token lists, but document {i} of {name}{row_label(given, i)} is missing "
                    "(None/NaN). Give a document without tokens an empty list (e.g. "
                    "series.apply(lambda t: t if isinstance(t, list) else [])), or drop its row (and the same "
                    "row of y)."
                )
            raise ValueError(
                f"{estimator} expects token lists, but document {i} of {name}{row_label(given, i)} is "
                f"{a_type_name(doc)}."
            )
        doc = list(doc)
        for tok in doc:
            if not isinstance(tok, str):
                hint = ""
                if isinstance(tok, numbers.Integral) and not isinstance(tok, bool):
                    # keras.datasets.imdb.load_data() and pad_sequences give word ids, which look like token lists
                    hint = (" Integer word ids (keras.datasets.imdb, a pad_sequences array) are not tokens: "
                            f"{estimator} builds its own vocabulary from words, so map the ids back to their words "
                            "(e.g. with keras.datasets.imdb.get_word_index()) and drop the padding, or start from "
                            "the raw texts (toolkit.data.load_imdb).")
                raise ValueError(
                    f"{estimator} expects token lists of str, but document {i} of {name}{row_label(given, i)} "
                    f"contains {a_type_name(tok)} ({_short_repr(tok, 80)}).{hint}"
                )
        docs[i] = doc
    return docs



def on_input_rows(output, X, estimator, method: str = "transform"):
    """``output`` as a DataFrame on the :attr:`TokenizedCorpus.row_index` of ``X``, where pandas output is set.

    scikit-learn's ``set_output(transform="pandas")`` numbers the rows of a
    transformer's DataFrame from the input's ``index`` only when the input
    is a pandas object; a corpus is not one. A DataFrame returned here keeps
    its index through scikit-learn's wrapping (which then names the
    columns), so a ``ColumnTransformer`` can join it to the other columns of
    the frame the texts came from. A scikit-learn transformer beside it in
    a ``FeatureUnion``, reading the same corpus, numbers its rows 0..n-1
    instead (see :attr:`TokenizedCorpus.row_index` for what to do): the
    transformer cannot tell the two apart, and the ``ColumnTransformer``
    case is the one kept.

    Parameters
    ----------
    output : ndarray of shape (n_documents, n_features)
        What the transformer computed from ``X``.
    X : object
        The transformer's input.
    estimator : estimator
        The transformer (its ``set_output`` setting, else scikit-learn's
        global ``transform_output``).
    method : {"transform"}, default="transform"
        The method whose output setting applies (``fit_transform`` follows
        ``transform``'s).

    Returns
    -------
    ndarray or pandas.DataFrame
        ``output`` unchanged unless ``X`` is a corpus with row labels, the
        output is set to pandas and ``output`` is a 2-D array of one row per
        label.
    """
    rows = X._row_index if isinstance(X, TokenizedCorpus) else None
    if rows is None or not isinstance(output, np.ndarray) or output.ndim != 2 or len(output) != len(rows):
        return output
    from sklearn.utils._set_output import _auto_wrap_is_configured, _get_output_config

    if not _auto_wrap_is_configured(estimator) or _get_output_config(method, estimator)["dense"] != "pandas":
        return output
    import pandas as pd

    return pd.DataFrame(output, index=rows, copy=False)

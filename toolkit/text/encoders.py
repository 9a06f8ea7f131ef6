"""Token lists to numbers: padded id sequences, bags of tokens, hashed bags.

All three take a :class:`~toolkit.text.corpus.TokenizedCorpus` (what
:class:`~toolkit.text.tokenizer.SpacyTokenizer` returns) or plain lists of
token lists, and work on the corpus' flat arrays: each distinct string is
looked up once, the rest is numpy.

- :class:`SequenceEncoder` -- the replacement of Keras' removed ``Tokenizer``
  plus ``pad_sequences``: a fitted :class:`~toolkit.text.vocabulary.Vocabulary`
  and an int32 matrix of shape (n_documents, maxlen).
- :class:`BagEncoder` -- Keras ``TextVectorization``'s ``multi_hot`` /
  ``count`` / ``tf_idf`` output modes (and ``StringLookup``'s ``one_hot``) as
  a scipy CSR matrix.
- :class:`HashingEncoder` -- the hashing trick (scikit-learn's
  ``HashingVectorizer`` hashing, so the columns agree with it), no vocabulary.
- :class:`HashingSequenceEncoder` -- the hashing trick for sequences (Keras
  2's removed ``hashing_trick`` plus ``pad_sequences``): padded rows of hashed
  ids, no vocabulary.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    Interval,
    MissingParamsMixin,
    Options,
    SparseOutputMixin,
    TextInputMixin,
    validate_params,
)
from .corpus import TokenizedCorpus, check_token_lists, on_input_rows
from .vocabulary import OOV_ID, Vocabulary, _pad_flat, _report_row_length

__all__ = ["BagEncoder", "HashingEncoder", "HashingSequenceEncoder", "SequenceEncoder", "bag_matrix", "shared_counts", "smoothed_idf"]

# the active shared_counts() scope: {"via": {id(small): large}, "large": {id(large)}, "pairs": [(small, large)],
#   "memo": {(id(corpus), id(large), padding_column, dtype): (counts, corpus, large)}}
_SHARED_COUNTS = contextvars.ContextVar("toolkit_shared_counts", default=None)
# the layout of BagEncoder's raw counts, which the NBSVM++ rows are read off inside shared_counts()
_BAG_COUNTS = {"padding_column": False, "dtype": np.float64}


def bag_matrix(X, vocabulary: Vocabulary, *, padding_column: bool = True, dtype=np.float64) -> sp.csr_matrix:
    """Sparse document-by-id token counts: the one bag builder of the toolkit.

    Used by :class:`BagEncoder`, :class:`toolkit.vectors.EmbeddingVectorizer`
    and the classifier's naive-Bayes ratios.

    Parameters
    ----------
    X : TokenizedCorpus, sequence of token lists, or 2-D int array of ids
        Token lists are looked up in ``vocabulary`` (unknown tokens count in
        the OOV column). A 2-D array holds vocabulary ids already, such as
        :class:`SequenceEncoder` output; its padding (id 0) is not counted.
    vocabulary : Vocabulary
        Gives the number of columns (``len(vocabulary)``).
    padding_column : bool, default=True
        True: column ``j`` counts id ``j`` (column 0, padding, stays empty).
        False: drop it; column ``j`` counts id ``j + 1``, the layout of
        :class:`BagEncoder`.
    dtype : numpy type, default=numpy.float64

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_documents, n_columns)
        Canonical (sorted indices, no duplicates, no explicit zeros).

    Examples
    --------
    >>> from toolkit.text import Vocabulary
    >>> from toolkit.text.encoders import bag_matrix
    >>> vocab = Vocabulary(["a", "b"])
    >>> bag_matrix([["a", "b", "a"], ["zzz"]], vocab).toarray().tolist()
    [[0.0, 0.0, 2.0, 1.0], [0.0, 1.0, 0.0, 0.0]]
    >>> import numpy as np
    >>> bag_matrix(np.array([[0, 2, 2, 3]]), vocab, padding_column=False).toarray().tolist()
    [[0.0, 2.0, 1.0]]
    """
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "iu":
        keep = X != 0
        columns = X[keep].astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
        return _bag_of_ids(columns, offsets, len(vocabulary), padding_column, dtype)
    scope = _SHARED_COUNTS.get()
    if scope is not None and isinstance(X, TokenizedCorpus) and id(vocabulary) in scope["large"]:
        # the caller may modify its matrix (BagEncoder weights it in place): a copy of the scope's
        return _scope_counts(scope, X, vocabulary, padding_column, dtype).copy()
    corpus = X if isinstance(X, TokenizedCorpus) else TokenizedCorpus.from_token_lists(X)
    return _corpus_bag(corpus, vocabulary, padding_column, dtype)


def _corpus_bag(corpus: TokenizedCorpus, vocabulary: Vocabulary, padding_column: bool, dtype) -> sp.csr_matrix:
    """:func:`bag_matrix` of a corpus, counted (no scope)."""
    columns = vocabulary.encode(corpus).astype(np.int64)
    return _bag_of_ids(columns, np.asarray(corpus.offsets, dtype=np.int64), len(vocabulary), padding_column, dtype)


def _bag_of_ids(columns: np.ndarray, offsets: np.ndarray, n_columns: int, padding_column: bool, dtype) -> sp.csr_matrix:
    """:func:`bag_matrix` of flat ids (row i = ``columns[offsets[i]:offsets[i+1]]``)."""
    if columns.size and (columns.min() < 0 or columns.max() >= n_columns):
        raise ValueError(
            f"Ids must be in [0, {n_columns}) for a vocabulary of {n_columns} ids; got ids from "
            f"{int(columns.min())} to {int(columns.max())}. Encode with the same vocabulary."
        )
    if not padding_column:
        columns = columns - 1
        n_columns -= 1
    return _count_rows(columns, offsets, n_columns, dtype)


def _sum_rows(columns: np.ndarray, offsets: np.ndarray, n_columns: int, data: np.ndarray) -> sp.csr_matrix:
    """CSR of per-document sums, built straight from the corpus layout (row i = offsets[i]:offsets[i+1])."""
    X = sp.csr_matrix((data, columns.astype(np.int64, copy=False), np.asarray(offsets, dtype=np.int64).copy()),
                      shape=(offsets.size - 1, n_columns))
    X.sum_duplicates()  # sorts indices, adds repeats
    return X


def _count_rows(columns: np.ndarray, offsets: np.ndarray, n_columns: int, dtype=np.float64) -> sp.csr_matrix:
    """CSR of per-document counts of ``columns`` (row i = offsets[i]:offsets[i+1]): :func:`_sum_rows` of ones.

    One sort of (row, column) keys finds every row's distinct columns in order
    and their counts: 0.03 against 0.045 CPU s for scipy's per-row index sort
    (``sum_duplicates``) on the 1-3-grams of 2,000 IMDB reviews. The keys come
    row by row, each row's keys above those of the rows before it, which
    numpy's stable sort (timsort for int64) exploits in its merges: 0.033 against 0.079 CPU s
    for its default sort on the 1.56 million 1-3-gram keys of 2,000 reviews.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n_rows = offsets.size - 1
    columns = np.asarray(columns)
    if n_rows * max(n_columns, 1) >= np.iinfo(np.int64).max or not columns.size:
        return _sum_rows(columns, offsets, n_columns, np.ones(columns.size, dtype=dtype))
    keys = np.repeat(np.arange(n_rows, dtype=np.int64) * n_columns, np.diff(offsets))
    keys += columns
    keys.sort(kind="stable")  # the same sorted keys, faster on row-ordered runs (see above)
    first = np.empty(keys.size, dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(starts, append=keys.size).astype(dtype)
    keys = keys[starts]
    rows = keys // n_columns
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    X = sp.csr_matrix((counts, keys - rows * n_columns, indptr), shape=(n_rows, n_columns))
    X.has_sorted_indices = True
    X.has_canonical_format = True
    return X


@contextlib.contextmanager
def shared_counts(prefixes=()):
    """Within the block, count a corpus once for a vocabulary and for its capped prefix.

    For each ``(small, large)`` pair of ``prefixes``
    (``small.is_prefix_of(large)``), :func:`bag_matrix` of a
    :class:`~toolkit.text.TokenizedCorpus` by ``large`` counts that corpus
    object at the first call and returns a copy of the counts at the next
    ones (same ``padding_column`` and ``dtype``), and each document's
    distinct ids under ``small`` -- the rows of an ``architecture="nbsvm"``
    :class:`~toolkit.models.EmbeddingClassifier` whose vocabulary is
    ``small`` -- are read off those counts instead of counted again (the
    same rows as outside the block).
    :class:`~toolkit.models.StackedTextClassifier` predicts inside it (and
    inside :func:`toolkit.text.vocabulary.shared_encoding`), so its NBSVM++
    member (the capped vocabulary) and its NBSVM member's counts (the full
    one) count the 1-3-grams of new documents once: 0.057 of the stack's
    0.62 CPU s for 2,000 tokenized IMDB reviews (``STACK_MANY_JOB`` fitted
    on 25,000). Other
    vocabularies, and lists of tokens (not a corpus), are counted as usual.

    The counts live as long as the block: leaving it drops them. The scope is
    a :mod:`contextvars` variable, so it belongs to the thread (or task) that
    opened it; another thread counts on its own.

    Parameters
    ----------
    prefixes : iterable of (Vocabulary, Vocabulary), default=()
        ``(small, large)`` pairs with ``small.is_prefix_of(large)``; a pair of
        one vocabulary with itself is ignored.

    Examples
    --------
    >>> from toolkit.text import TokenizedCorpus, Vocabulary
    >>> from toolkit.text.encoders import bag_matrix, shared_counts
    >>> docs = TokenizedCorpus.from_token_lists([["a", "b", "a"], ["b", "c"]])
    >>> small, large = Vocabulary.from_documents(docs, max_tokens=3), Vocabulary.from_documents(docs)
    >>> with shared_counts([(small, large)]):
    ...     first, again = bag_matrix(docs, large), bag_matrix(docs, large)
    >>> first is again, (first != again).nnz
    (False, 0)
    """
    pairs = [(small, large) for small, large in prefixes if small is not large]
    # "pairs" keeps the vocabularies alive, so their ids stay their own while the scope lasts
    token = _SHARED_COUNTS.set({"via": {id(small): large for small, large in pairs},
                                "large": {id(large) for _, large in pairs}, "memo": {}, "pairs": pairs})
    try:
        yield
    finally:
        _SHARED_COUNTS.reset(token)


def _scope_counts(scope: dict, corpus: TokenizedCorpus, vocabulary: Vocabulary, padding_column: bool,
                  dtype) -> sp.csr_matrix:
    """The scope's :func:`bag_matrix` of ``corpus`` by ``vocabulary``, counted at the first call (not a copy)."""
    key = (id(corpus), id(vocabulary), bool(padding_column), np.dtype(dtype))
    entry = scope["memo"].get(key)
    if entry is None:
        # the references keep both ids unique while the scope lasts
        entry = (_corpus_bag(corpus, vocabulary, padding_column, dtype), corpus, vocabulary)
        scope["memo"][key] = entry
    return entry[0]


def _distinct_ids(corpus: TokenizedCorpus, vocabulary: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Each document's distinct ids in ``vocabulary``, ascending, as flat rows: ``(ids, offsets)``.

    The input of ``architecture="nbsvm"``. Inside :func:`shared_counts`,
    where ``vocabulary`` is the small one of a pair, the rows are read off the
    large vocabulary's counts in :class:`BagEncoder`'s layout (counted then,
    or already counted by a ``BagEncoder`` in the scope): 0.003 against
    0.044 CPU s for counting the 1-3-grams of 2,000 IMDB test reviews again
    (``STACK_MANY_JOB`` fitted on 25,000 reviews: 800,000 of 5.4 million ids).
    """
    scope = _SHARED_COUNTS.get()
    large = scope["via"].get(id(vocabulary)) if scope is not None else None
    if large is not None:
        counts = _scope_counts(scope, corpus, large, **_BAG_COUNTS)
        return _prefix_rows(counts.indices, counts.indptr, len(vocabulary))
    bag = _count_rows(vocabulary.encode(corpus), corpus.offsets, len(vocabulary), np.int32)
    return bag.indices, bag.indptr


def _prefix_rows(columns: np.ndarray, indptr: np.ndarray, n_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids, ascending, under the first ``n_ids`` ids of a vocabulary, from its bag's rows.

    ``columns`` / ``indptr`` are a canonical CSR of :class:`BagEncoder`'s
    layout (column ``c`` counts id ``c + 1``, each row's columns ascending)
    over a vocabulary of which the ``n_ids``-id one is a prefix: id ``c + 1``
    stays where it is below ``n_ids``, the rest is OOV (the OOV column
    itself, and every id beyond the small vocabulary). OOV, the smallest id,
    leads a row that has it, once.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    columns = np.asarray(columns)
    starts, ends = indptr[:-1], indptr[1:]
    keep = columns < n_ids - 1  # ids 1 .. n_ids - 1: OOV (column 0) and the ids of both vocabularies
    below = np.zeros(columns.size + 1, dtype=np.int64)
    np.cumsum(keep, out=below[1:])
    n_below = below[ends] - below[starts]  # a row's columns ascend: its first n_below ones are kept
    has_zero = np.zeros(starts.size, dtype=bool)
    nonempty = ends > starts
    has_zero[nonempty] = columns[starts[nonempty]] == 0  # the OOV column, first where present
    has_oov = has_zero | (n_below < ends - starts)  # or an id beyond the small vocabulary
    keep[starts[has_zero]] = False  # OOV is inserted below, once per row that has it
    n_kept = n_below - has_zero
    kept_offsets = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(n_kept, out=kept_offsets[1:])
    ids = np.insert((columns[keep] + 1).astype(np.int32, copy=False), kept_offsets[:-1][has_oov], OOV_ID)
    offsets = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(n_kept + has_oov, out=offsets[1:])
    return ids, offsets


def smoothed_idf(counts) -> np.ndarray:
    """scikit-learn's smooth idf, ``ln((1 + n) / (1 + df)) + 1``, per column.

    The one idf formula of the toolkit (``TfidfVectorizer(smooth_idf=True)``),
    used by ``BagEncoder(output_mode="tf_idf")`` and
    ``EmbeddingVectorizer(pooling="tfidf")``.

    Parameters
    ----------
    counts : sparse or dense matrix of shape (n_documents, n_columns)
        Document-term counts, e.g. from :func:`bag_matrix`; a column's
        document frequency ``df`` is its number of nonzero entries.

    Returns
    -------
    ndarray of float64, shape (n_columns,)

    Examples
    --------
    >>> import numpy as np
    >>> smoothed_idf(np.array([[1, 0], [2, 1], [1, 0]])).round(4).tolist()
    [1.0, 1.6931]
    """
    if sp.issparse(counts):
        df = np.asarray((counts != 0).sum(axis=0)).ravel()
    else:
        df = np.count_nonzero(np.asarray(counts), axis=0)
    n = counts.shape[0]
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


def _murmur_hashes(strings) -> np.ndarray:
    """MurmurHash3 (32 bits, signed, seed 0) of each string's UTF-8 bytes, as int64: the hash of the hashing
    encoders (scikit-learn's ``HashingVectorizer``'s), the same in every process (not Python's salted ``hash``)."""
    from sklearn.utils import murmurhash3_32

    return np.fromiter(
        (murmurhash3_32(s.encode("utf-8", "surrogatepass"), seed=0) for s in strings),
        dtype=np.int64,
        count=len(strings),
    )


def _as_corpus(X, estimator: str, str_document_advice: str | None = None) -> TokenizedCorpus:
    return TokenizedCorpus.from_token_lists(
        check_token_lists(X, estimator=estimator, str_document_advice=str_document_advice))


# a column of category strings given to the one_hot mode: not raw text to tokenize, nor one document's tokens
_ONE_HOT_STRINGS = (
    "output_mode='one_hot' takes one token per document: give each category as a one-token list, e.g. "
    "series.apply(lambda c: [c]), or a 2-D array of one column, df[['column']].to_numpy(dtype=object) (each row "
    "a document). For a category column of a DataFrame in a ColumnTransformer, sklearn.preprocessing.OneHotEncoder "
    "takes the strings as they are. Raw texts: tokenize them first (SpacyTokenizer) and use 'multi_hot' or 'count'."
)


def _check_not_empty(corpus: TokenizedCorpus, estimator: str) -> None:
    if len(corpus) == 0:
        raise ValueError(f"Cannot fit {estimator} on an empty corpus (0 documents); pass at least one document.")


def _fit_vocabulary(corpus: TokenizedCorpus, estimator) -> Vocabulary:
    name = type(estimator).__name__
    _check_not_empty(corpus, name)
    vocabulary = Vocabulary.from_documents(corpus, max_tokens=estimator.max_tokens, min_count=estimator.min_count)
    if len(vocabulary) == 2:
        raise ValueError(
            f"The vocabulary of {name} is empty: no token occurs at least min_count={estimator.min_count} "
            f"time(s) in the {len(corpus)} documents ({corpus.n_tokens} tokens). Lower min_count, or "
            "check the tokenizer (its filters may have removed every token)."
        )
    return vocabulary


_TF_IDF_NEEDS_TEXTS = (
    "output_mode='tf_idf' weighs tokens by their document frequencies in the training texts, which a saved "
    "vocabulary does not hold; vectorize the training and new texts in one run, or use output_mode='count' and fit "
    "sklearn's TfidfTransformer on the training rows."
)


def _with_vocabulary(encoder, vocabulary: Vocabulary, corpus: TokenizedCorpus):
    """``encoder`` fitted with a saved ``vocabulary`` instead of one counted from documents (``toolkit vectorize
    --use-vocabulary``: new texts get the ids of the run that wrote it).

    A :class:`SequenceEncoder` without ``maxlen`` pads to the longest document of ``corpus``; a
    :class:`BagEncoder` must not be in ``"tf_idf"`` mode (its idf needs the training documents).
    """
    validate_params(encoder, encoder._parameter_constraints)
    if isinstance(encoder, BagEncoder):
        encoder._check_dtype()
        if encoder.output_mode == "tf_idf":
            raise ValueError(_TF_IDF_NEEDS_TEXTS)
    encoder.vocabulary_ = vocabulary
    if isinstance(encoder, SequenceEncoder):
        lengths = corpus.lengths()
        longest = int(lengths.max()) if lengths.size else 0
        encoder.maxlen_ = int(encoder.maxlen) if encoder.maxlen is not None else max(longest, 1)
        encoder._n_features_out = encoder.maxlen_
    return encoder


_VOCABULARY_CONSTRAINTS = {
    "max_tokens": [Interval(int, 3, None), None],
    "min_count": [Interval(int, 1, None)],
}


class SequenceEncoder(MissingParamsMixin, ClassNamePrefixFeaturesOutMixin, TextInputMixin, TransformerMixin, BaseEstimator):
    """Token lists to padded rows of vocabulary ids (Keras' Tokenizer + pad_sequences).

    Parameters
    ----------
    max_tokens : int >= 3, optional
        Vocabulary size *including* the padding (0) and OOV (1) ids, like
        ``TextVectorization(max_tokens=...)``; the most frequent tokens are
        kept. None keeps every token.
    min_count : int >= 1, default=1
        Ignore tokens seen fewer times in the training documents.
    maxlen : int >= 1, optional
        Row length. None uses the longest training document (``fit`` logs a
        warning when one document, 10 or more times the 99th percentile
        length, sets it for all). A ``maxlen`` that cuts training documents
        is logged (INFO) with the share of tokens dropped.
    padding : {"pre", "post"}, default="pre"
        Where zeros go in short documents.
    truncating : {"pre", "post"}, default="pre"
        Which end of long documents is dropped; "pre" keeps the last
        ``maxlen`` tokens (Keras' default).

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Tokens by descending training count; id 0 padding, id 1 OOV.
    maxlen_ : int
        The row length used by ``transform``.

    Notes
    -----
    The Keras ``Tokenizer``: ``Tokenizer(num_words=N, oov_token="<unk>")``'s
    ``texts_to_sequences`` then ``pad_sequences(maxlen=L)`` give the same
    ids as ``SequenceEncoder(max_tokens=N, maxlen=L)`` (it too ranks ties
    by first occurrence). Without ``oov_token`` the Tokenizer drops unknown
    tokens and numbers words from 1: ``max_tokens=N + 1`` keeps its
    ``N - 1`` words, each at its id plus one, and unknown tokens stay, as 1.

    ``TextVectorization(max_tokens=N, output_sequence_length=L)`` pads and
    truncates at the end: ``padding="post", truncating="post"``. It ranks
    tokens tied in count by descending string, so tied tokens' ids differ
    (the same tokens, and the same ids for the others, unless the tie
    straddles the ``max_tokens`` cut).

    Examples
    --------
    >>> from toolkit.text import SequenceEncoder
    >>> enc = SequenceEncoder(maxlen=4).fit([["a", "good", "film"], ["a", "dud"]])
    >>> enc.transform([["a", "dud", "and", "a", "film"], ["good"]]).tolist()
    [[5, 1, 2, 4], [0, 0, 0, 3]]
    >>> enc.inverse_transform([[5, 1, 2, 4]])
    [['dud', '<unk>', 'a', 'film']]
    """

    _parameter_constraints = {
        **_VOCABULARY_CONSTRAINTS,
        "maxlen": [Interval(int, 1, None), None],
        "padding": [Options({"pre", "post"})],
        "truncating": [Options({"pre", "post"})],
    }

    def __init__(self, *, max_tokens=None, min_count=1, maxlen=None, padding="pre", truncating="pre"):
        self.max_tokens = max_tokens
        self.min_count = min_count
        self.maxlen = maxlen
        self.padding = padding
        self.truncating = truncating

    def fit(self, X, y=None):
        """Build the vocabulary from token lists.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then encode and pad ``X``, reading it once (a generator works too).

        Parameters
        ----------
        X : TokenizedCorpus or iterable of sequences of str
        y : ignored

        Returns
        -------
        ndarray of int32, shape (n_documents, maxlen_)
            With ``set_output(transform="pandas")`` and a corpus that has
            :attr:`~toolkit.text.TokenizedCorpus.row_index` (tokens of a
            pandas Series), a DataFrame on those row labels, which a
            scikit-learn transformer reading the same corpus in a
            ``FeatureUnion`` does not use (see ``row_index``).
        """
        # pandas output of a corpus with row labels (texts from a pandas Series): a DataFrame on those rows
        return on_input_rows(self._encode(self._fit(X)), X, self)

    def _fit(self, X) -> TokenizedCorpus:
        """Fit on ``X``; returns it as a corpus."""
        validate_params(self, self._parameter_constraints)
        corpus = _as_corpus(X, type(self).__name__)
        self.vocabulary_ = _fit_vocabulary(corpus, self)
        lengths = corpus.lengths()
        longest = int(lengths.max())
        _report_row_length(lengths, self.maxlen, owner=type(self).__name__, truncating=self.truncating)
        # a Python int (maxlen=np.int64(200), from a grid of np.arange, is one too): json.dumps takes it
        self.maxlen_ = int(self.maxlen) if self.maxlen is not None else max(longest, 1)
        self._n_features_out = self.maxlen_
        return corpus

    def transform(self, X):
        """Encode and pad.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str

        Returns
        -------
        ndarray of int32, shape (n_documents, maxlen_)
            With ``set_output(transform="pandas")`` and a corpus that has
            :attr:`~toolkit.text.TokenizedCorpus.row_index` (tokens of a
            pandas Series), a DataFrame on those row labels, which a
            scikit-learn transformer reading the same corpus in a
            ``FeatureUnion`` does not use (see ``row_index``).
        """
        check_is_fitted(self, "vocabulary_")
        return on_input_rows(self._encode(_as_corpus(X, type(self).__name__)), X, self)

    def _encode(self, corpus: TokenizedCorpus) -> np.ndarray:
        ids = self.vocabulary_.encode(corpus)
        return _pad_flat(
            ids, corpus.offsets, self.maxlen_, padding=self.padding, truncating=self.truncating, value=0, dtype=np.int32
        )

    def inverse_transform(self, X):
        """Tokens of each row of ids, padding dropped (OOV shows as ``"<unk>"``).

        Parameters
        ----------
        X : array-like of int, shape (n_documents, n_columns), or sequence of sequences of int
            Rows of vocabulary ids, such as :meth:`transform` output, or
            unpadded rows of any lengths (as Keras' ``texts_to_sequences``
            gives; ``sequences_to_texts`` is ``" ".join`` of each list).

        Returns
        -------
        list of list of str
        """
        check_is_fitted(self, "vocabulary_")
        try:
            array = np.asarray(X)
        except ValueError:  # rows of different lengths (numpy refuses to make them an array)
            array = None
        if array is None or (array.dtype == object and array.ndim == 1):
            return [self.vocabulary_.decode(np.asarray(row)) for row in X]
        if array.ndim != 2:
            raise ValueError(f"Expected a 2-D array of ids, got an array of shape {array.shape}; give one "
                             "document's ids as a list of one row, [ids].")
        return [self.vocabulary_.decode(row) for row in array]


def _normalized(X: sp.csr_matrix, norm) -> sp.csr_matrix:
    """``X`` with rows scaled to unit ``norm`` (None: unchanged), in place; 0 documents give the (0, n) matrix.

    scikit-learn's ``normalize`` refuses 0 rows ("Found array with 0 sample(s)"), which made ``transform([])``
    fail with ``norm`` set and pass without it.
    """
    if norm is None or X.shape[0] == 0:
        return X
    from sklearn.preprocessing import normalize

    return normalize(X, norm=norm, copy=False)


class _BagOutputMixin(SparseOutputMixin):
    """Shared dtype check for bag-shaped outputs; the sparse output is never wrapped (:class:`SparseOutputMixin`)."""

    def _check_dtype(self):
        try:
            dtype = np.dtype(self.dtype)
        except TypeError as err:
            raise ValueError(
                f"The 'dtype' parameter of {type(self).__name__} must be a numpy floating type. Got {self.dtype!r} instead."
            ) from err
        if dtype.kind != "f":
            raise ValueError(
                f"The 'dtype' parameter of {type(self).__name__} must be a numpy floating type. Got {self.dtype!r} instead."
            )
        if dtype.itemsize < 4:  # checked at fit: scipy.sparse refused it only at the end of transform
            raise ValueError(
                f"The 'dtype' parameter of {type(self).__name__} must be a numpy floating type that scipy.sparse "
                f"matrices hold (float32 or float64). Got {self.dtype!r} instead; use numpy.float32 for the "
                "smallest matrix."
            )
        return dtype


class BagEncoder(MissingParamsMixin, _BagOutputMixin, TextInputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Token lists to a sparse bag-of-tokens matrix, Keras ``TextVectorization`` style.

    Columns are the vocabulary ids except padding: column 0 counts
    out-of-vocabulary tokens (``"<unk>"``), column ``j`` is token id ``j + 1``
    -- the layout of ``TextVectorization(output_mode="multi_hot")``.

    Parameters
    ----------
    output_mode : {"multi_hot", "count", "tf_idf", "one_hot"}, default="multi_hot"
        ``multi_hot``: 1 where a token occurs. ``count``: occurrences.
        ``tf_idf``: count times scikit-learn's smooth idf,
        ``ln((1 + n) / (1 + df)) + 1`` (not Keras' ``ln(1 + n / (1 + df))``),
        so with ``norm="l2"`` it equals ``TfidfVectorizer`` on the same
        tokens for documents without out-of-vocabulary tokens (see Notes for
        the OOV column). ``one_hot``: documents of at most one token each (a label
        or category column), like ``StringLookup(output_mode="one_hot")``.
    max_tokens : int >= 3, optional
        Vocabulary size including padding and OOV ids (output has
        ``max_tokens - 1`` columns), the ``max_tokens`` of
        :class:`SequenceEncoder` and of ``TextVectorization(output_mode="int")``.
        ``TextVectorization``'s bag modes (and ``StringLookup``'s ``one_hot``)
        count only the OOV id: their ``max_tokens=N`` (N columns) is
        ``max_tokens=N + 1`` here.
        scikit-learn's ``max_features=k`` is ``max_tokens=k + 2``.
    min_count : int >= 1, default=1
        Ignore tokens seen fewer times in the training documents: total
        occurrences, not scikit-learn's ``min_df`` (the number of documents);
        there is no ``max_df``.
    norm : {"l1", "l2"} or None, default=None
        Row normalization applied last, the OOV column included
        (``TfidfVectorizer``'s default is "l2"; Keras normalizes nothing).
    sublinear_tf : bool, default=False
        With ``tf_idf``, use ``1 + ln(count)``; the other modes ignore it.
    dtype : numpy floating type, default=numpy.float32
        Counts are floats too (``CountVectorizer``'s are int64). float32 or
        wider (scipy.sparse holds no float16).

    Attributes
    ----------
    vocabulary_ : Vocabulary
    idf_ : ndarray of float64, shape (n_features,)
        Only with ``output_mode="tf_idf"``. ``idf_[0]`` is the OOV column's,
        from the training documents that had an OOV token.

    Notes
    -----
    Columns are in vocabulary order (descending count, ties by first
    occurrence), not scikit-learn's alphabetical order:
    :meth:`get_feature_names_out` names them. Tokens tied in count at the
    ``max_tokens`` cut are kept by first occurrence; ``TextVectorization``
    keeps the greatest strings, ``CountVectorizer(max_features=...)`` any of
    them, so the kept sets can differ there.

    The OOV column (column 0) counts every token outside the vocabulary,
    as Keras' bag modes do; scikit-learn drops such tokens. With
    ``tf_idf`` its weight is its own smooth idf from the training documents
    (Keras uses the mean of the other idfs); with ``max_tokens=None`` and
    ``min_count=1`` no training document has an OOV token, so it gets the
    largest idf, ``ln(1 + n) + 1``, in new documents. Any ``norm`` includes
    it. For ``TfidfVectorizer``'s numbers on any documents drop it first:
    ``sklearn.preprocessing.normalize(BagEncoder(output_mode="tf_idf").fit(X).transform(Z)[:, 1:])``
    (columns in vocabulary order). The output is a CSR matrix with sorted
    indices.

    The Keras ``Tokenizer``'s ``texts_to_matrix`` (``M``), for
    ``Tokenizer(num_words=N, oov_token=...)``: ``mode="binary"`` /
    ``"count"`` is ``M[:, 1:]`` = ``multi_hot`` / ``count`` with
    ``max_tokens=N``, and ``"freq"`` is ``count`` with ``norm="l1"``.
    Without ``oov_token`` the Tokenizer drops unknown tokens and keeps
    ``N - 1`` words: ``M[:, 1:]`` is ``X[:, 1:]`` with ``max_tokens=N + 1``
    (``"freq"``: ``normalize(X[:, 1:], norm="l1")``). Its ``"tfidf"``,
    ``(1 + ln(count)) * ln(1 + n / (1 + df))``, is not reproduced:
    ``sublinear_tf=True`` gives its tf, the idf is scikit-learn's.

    Examples
    --------
    >>> from toolkit.text import BagEncoder
    >>> enc = BagEncoder(output_mode="count").fit([["a", "b", "a"], ["b"]])
    >>> enc.get_feature_names_out().tolist()
    ['<unk>', 'a', 'b']
    >>> enc.transform([["a", "a", "zzz"]]).toarray().tolist()
    [[1.0, 2.0, 0.0]]
    """

    _parameter_constraints = {
        **_VOCABULARY_CONSTRAINTS,
        "output_mode": [Options({"multi_hot", "count", "tf_idf", "one_hot"})],
        "norm": [Options({"l1", "l2"}), None],
        "sublinear_tf": ["boolean"],
    }

    def __init__(self, *, output_mode="multi_hot", max_tokens=None, min_count=1, norm=None, sublinear_tf=False, dtype=np.float32):
        self.output_mode = output_mode
        self.max_tokens = max_tokens
        self.min_count = min_count
        self.norm = norm
        self.sublinear_tf = sublinear_tf
        self.dtype = dtype

    def fit(self, X, y=None):
        """Build the vocabulary (and the idf weights for ``tf_idf``).

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then encode ``X``, counting its tokens once (``tf_idf``: the counts that give the idf).

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str
        y : ignored

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n_documents, len(vocabulary_) - 1)
        """
        corpus, counts = self._fit(X)
        return self._weighted(self._raw_counts(corpus) if counts is None else counts)

    def _fit(self, X):
        """Fit on ``X``: its corpus, and its raw counts where the fit needed them (``tf_idf``), else None."""
        validate_params(self, self._parameter_constraints)
        self._check_dtype()
        corpus = self._corpus(X)
        self.vocabulary_ = _fit_vocabulary(corpus, self)
        if self.output_mode == "one_hot":
            self._check_one_token(corpus)
        counts = None
        if self.output_mode == "tf_idf":
            counts = self._raw_counts(corpus)
            self.idf_ = smoothed_idf(counts)
        else:  # a refit in another mode: no idf_ of the previous fit left behind as if learnt by this one
            vars(self).pop("idf_", None)
        return corpus, counts

    def _raw_counts(self, corpus):
        return bag_matrix(corpus, self.vocabulary_, **_BAG_COUNTS)

    def _corpus(self, X) -> TokenizedCorpus:
        """``X`` as a corpus; in ``one_hot`` mode, documents given as strings are refused saying how to give them."""
        return _as_corpus(X, type(self).__name__, _ONE_HOT_STRINGS if self.output_mode == "one_hot" else None)

    def _check_one_token(self, corpus):
        lengths = corpus.lengths()
        if lengths.size and lengths.max() > 1:
            i = int(np.argmax(lengths > 1))
            raise ValueError(
                f"output_mode='one_hot' encodes one token per document (a label or category), but "
                f"document {i} has {int(lengths[i])} tokens. Use 'multi_hot' or 'count' for bags of tokens."
            )

    def transform(self, X):
        """Encode token lists.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n_documents, len(vocabulary_) - 1)
        """
        check_is_fitted(self, "vocabulary_")
        corpus = self._corpus(X)
        if self.output_mode == "one_hot":
            self._check_one_token(corpus)
        return self._weighted(self._raw_counts(corpus))

    def _weighted(self, X):
        """Raw counts -> this encoder's output (binary, tf-idf, normalized, dtype); ``X`` is modified."""
        if self.output_mode in ("multi_hot", "one_hot"):
            X.data.fill(1.0)
        elif self.output_mode == "tf_idf":
            if self.sublinear_tf:
                np.log(X.data, out=X.data)
                X.data += 1.0
            X.data *= self.idf_[X.indices]
        return _normalized(X, self.norm).astype(self._check_dtype(), copy=False)

    def inverse_transform(self, X):
        """The tokens of each row's non-zero columns, in column order (``CountVectorizer.inverse_transform``).

        Counts and order within a document are not kept by a bag, so this
        gives each document's distinct vocabulary tokens, ``"<unk>"`` where
        it had out-of-vocabulary tokens.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_documents, len(vocabulary_) - 1)
            Rows such as :meth:`transform` output.

        Returns
        -------
        list of ndarray of str objects
            One array per row, as scikit-learn's ``CountVectorizer`` returns.
        """
        from sklearn.utils.validation import check_array

        check_is_fitted(self, "vocabulary_")
        X = check_array(X, accept_sparse="csr", dtype=None, ensure_min_samples=0, input_name="X")
        names = self.get_feature_names_out()
        if X.shape[1] != names.size:
            raise ValueError(
                f"X has {X.shape[1]} columns, but this BagEncoder's vocabulary gives {names.size} (its "
                "transform output's width); pass rows of that encoder's transform."
            )
        if sp.issparse(X):
            X = X.tocsr()  # the caller's matrix is not changed: explicit zeros are skipped, not eliminated
            nonzero = X.data != 0
            return [names[np.sort(X.indices[start:stop][nonzero[start:stop]])]
                    for start, stop in zip(X.indptr[:-1].tolist(), X.indptr[1:].tolist())]
        return [names[np.flatnonzero(row)] for row in X]

    def get_feature_names_out(self, input_features=None):
        """The vocabulary tokens of the columns, ``"<unk>"`` first.

        Parameters
        ----------
        input_features : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of str objects, shape (len(vocabulary_) - 1,)
        """
        check_is_fitted(self, "vocabulary_")
        return np.asarray(self.vocabulary_.tokens[1:], dtype=object)


class _StatelessMixin:
    """What the hashing encoders share: nothing to fit (``requires_fit=False``), and ``fit``'s input check."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def _refuse_non_tokens(self, X) -> None:
        """Refuse in ``fit`` what :meth:`transform` refuses: another encoder's output (its rows would read as
        documents of numbers), or raw text."""
        if sp.issparse(X) or isinstance(X, (str, bytes)):
            check_token_lists(X, estimator=type(self).__name__)


class HashingEncoder(_StatelessMixin, MissingParamsMixin, _BagOutputMixin, TextInputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Token lists to a sparse matrix of hashed token counts (no vocabulary).

    Each token goes to column ``abs(murmurhash3_32(token, seed=0)) %
    n_features``, exactly as scikit-learn's ``HashingVectorizer``: the same
    token always lands in the same column, in any process, and the outputs of
    both agree. Stateless: ``transform`` needs no ``fit``.

    Parameters
    ----------
    n_features : int >= 1, default=2**20
        Number of columns (hash bins).
    output_mode : {"count", "multi_hot"}, default="count"
    alternate_sign : bool, default=False
        Give a token the sign of its hash, so collisions tend to cancel
        (scikit-learn's default is True).
    norm : {"l1", "l2"} or None, default=None
        Row normalization applied last (scikit-learn's default is "l2").
    dtype : numpy floating type, default=numpy.float32
        scikit-learn's default is float64. float32 or wider (scipy.sparse
        holds no float16).

    Notes
    -----
    ``HashingVectorizer(analyzer=lambda doc: doc, alternate_sign=a, norm=m,
    binary=b)`` on the same token lists gives the same matrix as
    ``HashingEncoder(alternate_sign=a, norm=m, output_mode="multi_hot" if b
    else "count")`` (up to ``dtype``). Its ``ngram_range=(1, 2)`` is
    ``corpus.ngrams((1, 2))`` of a :class:`~toolkit.text.TokenizedCorpus`
    here (the same space-joined n-grams). The hash is MurmurHash3 (32 bits,
    seed 0) of the token's UTF-8 bytes, never Python's ``hash``: columns do
    not depend on ``PYTHONHASHSEED``. Tokens whose hashes meet in one column
    are added; with ``alternate_sign`` they may cancel to an explicit zero,
    which ``multi_hot`` then sets to 1, as scikit-learn's ``binary=True``
    does.

    Examples
    --------
    >>> from toolkit.text import HashingEncoder
    >>> X = HashingEncoder(n_features=16).transform([["a", "b", "a"]])
    >>> X.shape, float(X.sum())
    ((1, 16), 3.0)
    """

    _parameter_constraints = {
        "n_features": [Interval(int, 1, np.iinfo(np.int32).max)],
        "output_mode": [Options({"count", "multi_hot"})],
        "alternate_sign": ["boolean"],
        "norm": [Options({"l1", "l2"}), None],
    }

    def __init__(self, *, n_features=2**20, output_mode="count", alternate_sign=False, norm=None, dtype=np.float32):
        self.n_features = n_features
        self.output_mode = output_mode
        self.alternate_sign = alternate_sign
        self.norm = norm
        self.dtype = dtype

    def fit(self, X=None, y=None):
        """Check the parameters; learns nothing.

        Parameters
        ----------
        X : TokenizedCorpus, sequence of token lists or None
            Not read (hashing learns nothing). A string or a sparse matrix
            (another encoder's output) is refused, as :meth:`transform`
            refuses it.
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        self
        """
        validate_params(self, self._parameter_constraints)
        self._check_dtype()
        self._refuse_non_tokens(X)
        return self

    def partial_fit(self, X=None, y=None):
        """Check the parameters; learns nothing (``HashingVectorizer.partial_fit``'s out-of-core API).

        Parameters
        ----------
        X : ignored
            Accepted for the scikit-learn API.
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        self
        """
        return self.fit(X, y)

    def transform(self, X):
        """Hash token lists.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str

        Returns
        -------
        scipy.sparse.csr_matrix, shape (n_documents, n_features)
        """
        self.fit()
        corpus = _as_corpus(X, type(self).__name__)
        hashes = _murmur_hashes(corpus.strings)
        n = self.n_features
        # abs(-2**31) does not fit int32; scikit-learn's _hashing_fast special-cases it the same way
        columns = np.where(hashes == -(2**31), (2**31 - 1 - (n - 1)) % n, np.abs(hashes) % n)[corpus.ids]
        signs = np.where(hashes >= 0, 1.0, -1.0)[corpus.ids] if self.alternate_sign else None
        data = signs if signs is not None else np.ones(columns.size, dtype=np.float64)
        X = _sum_rows(columns, corpus.offsets, n, data)
        if self.output_mode == "multi_hot":
            X.data.fill(1.0)
        return _normalized(X, self.norm).astype(self._check_dtype(), copy=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the hash bins: ``"hashingencoder0"`` ... ``"hashingencoder{n_features - 1}"``.

        A bin holds every token that hashes to it, so it has no token's name;
        these are scikit-learn's names for unnamed columns
        (``ClassNamePrefixFeaturesOutMixin``). scikit-learn's
        ``HashingVectorizer`` has none, which makes ``get_feature_names_out``
        of a ``ColumnTransformer`` or ``FeatureUnion`` holding it raise, and
        a pandas ``ColumnTransformer`` number all its columns 0..n-1 (those of
        the other columns too); with these names both work. Stateless like
        :meth:`transform`: no ``fit`` needed.

        Parameters
        ----------
        input_features : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of str objects, shape (n_features,)
        """
        validate_params(self, self._parameter_constraints)
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(int(self.n_features))], dtype=object)


class HashingSequenceEncoder(_StatelessMixin, MissingParamsMixin, TextInputMixin, TransformerMixin, BaseEstimator):
    """Token lists to padded rows of hashed ids (no vocabulary): Keras 2's ``hashing_trick`` + ``pad_sequences``.

    Each token gets the id ``abs(murmurhash3_32(token, seed=0)) %
    (n_features - 1) + 1``, in ``[1, n_features)``; 0 is padding. The ids
    feed ``keras.layers.Embedding(input_dim=n_features, mask_zero=...)``
    as :class:`SequenceEncoder`'s vocabulary ids do, without a vocabulary to
    fit or save: the same token gets the same id in any process. The hash
    is :class:`HashingEncoder`'s (MurmurHash3 of the UTF-8 bytes), never
    Python's salted ``hash``. Stateless: ``transform`` needs no ``fit``.

    Parameters
    ----------
    n_features : int >= 2, default=2**16
        Size of the id space, padding included: the ``input_dim`` of the
        Embedding layer. Distinct tokens share an id (collide) more often
        when it is small against the number of distinct tokens.
    maxlen : int >= 1, optional
        Row length. None pads each call's rows to its own longest document
        (``pad_sequences(maxlen=None)``), so two calls can give different
        widths: set it for a model that is fitted on one call and predicts
        on another. As with :class:`SequenceEncoder`, ``fit`` (and
        ``fit_transform``) logs a ``maxlen`` that cuts documents (INFO, with
        the share of tokens dropped); with ``maxlen=None``, each call that
        pads every row to one outlying long document logs a warning.
    padding : {"pre", "post"}, default="pre"
        Where zeros go in short documents (as :class:`SequenceEncoder`).
    truncating : {"pre", "post"}, default="pre"
        Which end of long documents is dropped; "pre" keeps the last
        ``maxlen`` tokens (Keras' default).

    Notes
    -----
    Keras 2's ``hashing_trick(text, n, hash_function)`` gives
    ``hash_function(w) % (n - 1) + 1`` for each word of a text split on
    spaces, unpadded; with ``hash_function="md5"`` its ids are stable too,
    but not these (another hash). Here the tokens come from the tokenizer
    (:class:`~toolkit.text.SpacyTokenizer`), and the rows are padded and
    truncated as :class:`SequenceEncoder`'s are (``n_features`` is Keras'
    ``n``). Unlike a vocabulary, hashing keeps rare tokens apart from each
    other (up to collisions) and has no out-of-vocabulary id; it cannot be
    inverted.

    Examples
    --------
    >>> from toolkit.text import HashingSequenceEncoder
    >>> enc = HashingSequenceEncoder(n_features=1000, maxlen=5)
    >>> X = enc.transform([["a", "good", "film"], ["a", "film", "and", "a", "dud", "film"]])
    >>> X.tolist()  # "a" is 945, "film" 116 in both rows (and in any process); the 1st row padded, the 2nd cut
    [[0, 0, 945, 287, 116], [116, 735, 945, 121, 116]]
    >>> X.dtype.name
    'int32'
    """

    _parameter_constraints = {  # noqa: RUF012 (read-only, as the other encoders' and scikit-learn's)
        "n_features": [Interval(int, 2, np.iinfo(np.int32).max)],
        "maxlen": [Interval(int, 1, None), None],
        "padding": [Options({"pre", "post"})],
        "truncating": [Options({"pre", "post"})],
    }

    def __init__(self, *, n_features=2**16, maxlen=None, padding="pre", truncating="pre"):
        self.n_features = n_features
        self.maxlen = maxlen
        self.padding = padding
        self.truncating = truncating

    def fit(self, X=None, y=None):
        """Check the parameters; learns nothing, but says what ``maxlen`` does to ``X``'s documents.

        Parameters
        ----------
        X : TokenizedCorpus, sequence of token lists or None
            Hashing learns nothing from it. When ``maxlen`` cuts some of its
            documents, an INFO line says how many and the share of tokens
            dropped, as :meth:`SequenceEncoder.fit` logs it. A string or a
            sparse matrix is refused, as :meth:`transform` refuses it.
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        self
        """
        validate_params(self, self._parameter_constraints)
        self._refuse_non_tokens(X)
        if X is not None and self.maxlen is not None:
            self._report_lengths(_as_corpus(X, type(self).__name__))
        return self

    def fit_transform(self, X, y=None):
        """:meth:`fit` then :meth:`transform`, reading ``X`` once (a generator works too).

        Parameters
        ----------
        X : TokenizedCorpus or iterable of sequences of str
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of int32, shape (n_documents, maxlen)
            As :meth:`transform`.
        """
        validate_params(self, self._parameter_constraints)
        self._refuse_non_tokens(X)
        corpus = _as_corpus(X, type(self).__name__)
        if self.maxlen is not None:  # (maxlen=None: _encode says what it does to this call's rows)
            self._report_lengths(corpus)
        return self._encode(corpus, X)

    def _report_lengths(self, corpus: TokenizedCorpus) -> None:
        """Log what ``maxlen`` does to the documents of ``corpus`` (:func:`~toolkit.text.vocabulary._report_row_length`):
        the documents a ``maxlen`` cuts, or, with None, a warning when one outlying document sets every row's width."""
        _report_row_length(corpus.lengths(), self.maxlen, owner=type(self).__name__, truncating=self.truncating)

    def transform(self, X):
        """Hash and pad token lists.

        As :meth:`SequenceEncoder.transform`, it logs nothing about the
        documents a ``maxlen`` cuts: :meth:`fit` (and ``fit_transform``, a
        pipeline's ``fit``) reports that for the training documents. With
        ``maxlen=None`` each call pads to its own longest document and, as
        ``pad_sequences(maxlen=None)``, logs a warning when one outlying
        document sets the width of all its rows.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of sequences of str

        Returns
        -------
        ndarray of int32, shape (n_documents, maxlen)
            Ids in ``[1, n_features)``, 0 for padding; ``maxlen=None``: as
            wide as the longest document of ``X`` (at least 1).
        """
        self.fit()
        return self._encode(_as_corpus(X, type(self).__name__), X)

    def _encode(self, corpus: TokenizedCorpus, X):
        """The padded rows of hashed ids of ``corpus`` (``X`` as a corpus), as :meth:`transform` returns them."""
        # one hash per distinct string, then numpy; int64 abs: -2**31 needs no special case here
        ids = (np.abs(_murmur_hashes(corpus.strings)) % (int(self.n_features) - 1) + 1).astype(np.int32)
        if self.maxlen is None:
            self._report_lengths(corpus)  # this call's rows: their width is its longest document's
            lengths = corpus.lengths()
            maxlen = max(int(lengths.max()) if lengths.size else 0, 1)
        else:
            maxlen = int(self.maxlen)
        rows = _pad_flat(ids[corpus.ids], corpus.offsets, maxlen, padding=self.padding, truncating=self.truncating,
                         value=0, dtype=np.int32)
        return on_input_rows(rows, X, self)

    def get_feature_names_out(self, input_features=None):
        """Names of the row positions: ``"hashingsequenceencoder0"`` ... ``"hashingsequenceencoder{maxlen - 1}"``.

        Stateless like :meth:`transform`; needs ``maxlen`` (with None the
        width depends on each call's documents).

        Parameters
        ----------
        input_features : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of str objects, shape (maxlen,)
        """
        validate_params(self, self._parameter_constraints)
        if self.maxlen is None:
            raise ValueError(
                f"{type(self).__name__}(maxlen=None) has no fixed number of output columns (each call pads to "
                "its own longest document), so its columns have no names; set maxlen, e.g. maxlen=200."
            )
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(int(self.maxlen))], dtype=object)

"""Word-vector clusters as tokens: n-gram evidence that generalizes across similar words.

:class:`WordClusterer` groups the words of a set of word vectors (GloVe,
word2vec, fastText or domain vectors trained in ``fit``) into ``n_clusters``
clusters with k-means on the unit-normalized vectors, and replaces every token
of a document by its cluster's token (``"§c17"``). N-grams of the clustered
documents are class-based n-grams (Brown et al., 1992; word-vector clusters as
features: Turian et al., 2010): "not very good" and "not really great" become
the same trigram, and a word never seen in the labelled documents still gets
the evidence of its cluster. Put the result through ``word_ngrams``, a bag
encoder and NBSVM: :class:`~toolkit.models.StackedTextClassifier` does that
as its ``"clusters"`` member.

Only the cluster of each word (the vectors' first ``max_words`` words, in the
vectors' order, which is by frequency for GloVe, word2vec and the domain
vectors) is kept, never the vectors, so the fitted transformer pickles small.

k-means runs once per set of vectors: its result is kept for the process (every
cross-validation fold of a stack clusters the same vectors) and on disk under
``<cache>/clusters/`` (``TOOLKIT_CACHE_DIR``), keyed by the content of the
vectors and the k-means settings, so a new process (a loky worker, the next
``toolkit train``) reads it instead of clustering again (about 35 s for 40,000
300-d domain vectors at 1,000 clusters). Each entry ``<key>.npy`` has its
SHA-256 in ``<key>.npy.sha256`` (``sha256sum`` format), checked on every read
(about 0.5 ms for 200,000 labels): a damaged entry (emptied, truncated, or a
byte changed) or one without its checksum is logged, recomputed and replaced;
an unwritable cache folder only costs the recomputation.

References
----------
Peter F. Brown et al. "Class-Based n-gram Models of Natural Language".
Computational Linguistics, 1992.
Joseph Turian, Lev Ratinov and Yoshua Bengio. "Word representations: A simple
and general method for semi-supervised learning". ACL 2010.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._atomic import atomic_output
from .._config import get_cache_dir
from .._fileid import stat_id
from .._memo import Memo
from .._validation import (
    Interval,
    MissingParamsMixin,
    Options,
    TextInputMixin,
    TokenOutputMixin,
    validate_params,
)
from ..text.corpus import check_token_corpus

__all__ = ["WordClusterer", "cluster_token"]

logger = logging.getLogger(__name__)

#: k-means results of vectors named by a string (path, manifest name, train=0 domain spec): every
#: cross-validation fold of a stack clusters the same vectors, so compute them once per process
_MEMO = Memo(maxsize=4)
#: cluster means of fastText vectors re-opened at transform (``subwords``), by entry folder and labels
_CENTERS = Memo(maxsize=2)

#: bumped when the k-means settings or the cache file layout change (part of the disk-cache key)
_CACHE_FORMAT = 1
_BATCH_SIZE = 4096
_N_INIT = 3

#: the prefix of cluster tokens; the tokenizer never emits it (it is not a word character)
PREFIX = "§c"


def cluster_token(cluster: int) -> str:
    """The token that stands for ``cluster`` (``"§c17"``).

    Examples
    --------
    >>> cluster_token(17)
    '§c17'
    """
    return f"{PREFIX}{int(cluster)}"


def _checksum_path(entry: Path) -> Path:
    """``<key>.npy.sha256``: the SHA-256 of the cache entry ``<key>.npy``."""
    return entry.with_name(entry.name + ".sha256")


def _read_checksum(entry: Path) -> str:
    """The SHA-256 recorded for ``entry``; ValueError when its checksum file is missing or malformed."""
    try:
        text = _checksum_path(entry).read_text(encoding="ascii")
    except FileNotFoundError:
        raise ValueError(f"it has no checksum file {_checksum_path(entry).name}: removed, or the entry was "
                         "written by a toolkit without cache checksums") from None
    except UnicodeDecodeError:
        text = ""
    match = re.fullmatch(r"([0-9a-f]{64})  (.+)\n", text)
    if match is None or match.group(2) != entry.name:
        raise ValueError(f"its checksum file {_checksum_path(entry).name} is malformed")
    return match.group(1)


def _shared_key(vectors, docs):
    """A memo key when the vectors do not depend on the training documents, else None.

    A file (the vectors, or the unlabelled texts of a ``train=0`` domain spec)
    is part of the key by its identity (resolved path and :func:`~toolkit._fileid.stat_id`:
    inode, size, modification and change times), so vectors rewritten at the
    same path are clustered again rather than answered from the memo, also
    where the rewrite put the size and modification time back (``cp -p``).
    """
    from .domain import (
        _source_marker,
        _unlabelled_settings,
        is_domain_spec,
        parse_domain_spec,
    )

    if isinstance(vectors, tuple):
        return None
    if is_domain_spec(vectors):
        spec = parse_domain_spec(vectors)
        if spec.params["train"]:
            return None
        # the unlabelled texts are tokenized like the documents (tokenizer_params): other settings, other vectors
        settings = _unlabelled_settings(spec, getattr(docs, "_tokenizer", None))
        if spec.source == "unsup":  # IMDB's unlabelled reviews do not change
            return (str(vectors), settings) if settings else str(vectors)
        marker = _source_marker(spec, tokenizer=settings)  # its name hashes the source's identity and settings
        if marker is None:
            return None
        try:  # the marker's name keeps a file's size and mtime, which a rewrite may put back
            ident = tuple(stat_id(Path(spec.source).expanduser())) if isinstance(spec.source, str) else None
        except OSError:
            return None
        return (str(vectors), marker.name, ident)
    name = str(os.fspath(vectors))
    path = Path(name).expanduser()
    try:
        ident = stat_id(path)
    except OSError:  # a manifest name, or a missing file (load_vectors names the problem)
        return name
    return (name, str(path.resolve()), *ident)


def _unit(vectors):
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _cluster_means(kv, labels, n_clusters):
    """float64 (n_clusters, dim): the mean unit vector of each cluster's words (the first ``len(labels)`` of ``kv``)."""
    unit = _unit(np.asarray(kv.vectors[:len(labels)], dtype=np.float64))
    sums = np.zeros((n_clusters, unit.shape[1]))
    np.add.at(sums, labels, unit)
    sizes = np.bincount(labels, minlength=n_clusters)[:, np.newaxis]
    return sums / np.maximum(sizes, 1)


class _TooManyClusters(ValueError):
    """More clusters asked for than words to cluster: :meth:`WordClusterer.fit`'s ValueError, with its numbers.

    An estimator that builds a clusterer from a parameter of its own
    (:class:`~toolkit.models.stacking.StackedTextClassifier`'s ``clusters``)
    catches it and raises :meth:`naming` its parameter: its user never typed
    ``n_clusters``. It keeps its numbers through joblib's and Dask's worker
    processes (``__reduce__``).
    """

    def __init__(self, n_clusters, n_words, owner="WordClusterer", param="n_clusters", n_vectors=None):
        self.n_clusters, self.n_words, self.owner, self.param = n_clusters, n_words, owner, param
        self.n_vectors = n_vectors  # the vectors' words where max_words kept fewer (n_words), else None
        # (where max_words cut the words, it says so: "the number of words with a vector (5)" of vectors with
        # hundreds of words sent the user looking for missing vectors)
        cut = ("" if n_vectors is None or n_vectors <= n_words else
               f" (max_words={n_words} keeps the first {n_words:,} of the vectors' {n_vectors:,} words: or raise "
               "max_words)")
        super().__init__(f"The {param!r} parameter of {owner} ({n_clusters}) is larger than the number of words "
                         f"with a vector ({n_words}); choose {param} <= {n_words}{cut}.")

    def __reduce__(self):
        return type(self), (self.n_clusters, self.n_words, self.owner, self.param, self.n_vectors)

    def naming(self, owner, param):
        """The same error about the parameter ``param`` of ``owner``, which set the clusterer's ``n_clusters``."""
        return type(self)(self.n_clusters, self.n_words, owner, param, self.n_vectors)


class WordClusterer(MissingParamsMixin, TextInputMixin, TokenOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Token lists -> the same token lists with each word replaced by its word-vector cluster.

    Parameters
    ----------
    vectors : str, path-like or tuple, default="glove.6B.50d"
        Word vectors: a path, a manifest name (``"glove.6B.50d"``) or a domain
        spec (``"word2vec:unsup:train=0"``; see :mod:`toolkit.vectors.domain`)
        trained in ``fit`` on the training documents plus the unlabelled texts
        it names. Resolved in ``fit``, never stored.
    n_clusters : int >= 2, default=1000
        Number of k-means clusters (``MiniBatchKMeans`` on the unit-normalized
        vectors); at most the number of words clustered, else ``fit`` raises a
        ValueError.
    max_words : int >= 2, default=200_000
        Cluster the vectors' first ``max_words`` words (the most frequent ones
        for GloVe, word2vec and domain vectors); the rest are unknown.
    unknown : {"keep", "drop"}, default="keep"
        Tokens without a cluster: kept as they are (``"keep"``), or removed.
        A token is matched as is, then lower-cased, then under another casing
        among the clustered words (the first in the vectors' order), as
        :func:`~toolkit.vectors.build_embedding_matrix` matches tokens to
        vectors: ``"The"`` (``SpacyTokenizer(lowercase=False)``) gets the
        cluster of GloVe's ``"the"``, ``"john"`` that of a cased file's
        ``"John"``; a word n-gram (``"new york"``) gets that of the vectors'
        phrase (``"new_york"``, ``"New_York"``).
    random_state : int >= 0, default=0
        Seed of k-means (a fixed default, so every fit over the same vectors
        gives the same clusters and shares one computation). None and
        ``RandomState`` instances are refused.
    subwords : bool, default=True
        With fastText vectors that carry subword vectors: a token without a
        cluster (first seen at transform, a misspelling, a word after the
        first ``max_words``) gets the cluster nearest to its fastText vector
        (its own, or one built from its character n-grams), the cluster
        being the mean of its words' unit vectors. Only the path of the
        vectors' cache entry is kept (``subword_vectors_``), opened
        memory-mapped at transform for those tokens alone (or the entry of
        the same name in the current cache folder); where neither is
        a warning says so and they are unknown, as with ``subwords=False``
        and with other vectors. Read again by transform: ``subwords=False``
        set on a fitted (or loaded) clusterer turns them off without a refit.

    Attributes
    ----------
    words_ : ndarray of object (str), shape (n_words,)
        The clustered words.
    labels_ : ndarray of int32, shape (n_words,)
        The cluster of each of ``words_``.
    cluster_sizes_ : ndarray of int64, shape (n_clusters,)
        Words per cluster.
    subword_vectors_ : str or None
        The cache entry folder of fastText vectors with subword vectors
        (``subwords``), or None.

    Examples
    --------
    >>> from toolkit.vectors.clusters import WordClusterer
    >>> clu = WordClusterer(vectors="glove.6B.50d", n_clusters=500)     # doctest: +SKIP
    >>> clu.fit_transform([["a", "great", "film"]])[0]                  # doctest: +SKIP
    ['§c41', '§c203', '§c77']
    """

    _parameter_constraints = {
        "vectors": [str, os.PathLike, tuple],
        "n_clusters": [Interval(int, 2, None)],
        "max_words": [Interval(int, 2, None)],
        "unknown": [Options({"keep", "drop"})],
        "random_state": [Interval(int, 0, None)],
        "subwords": ["boolean"],
    }

    def __init__(self, *, vectors="glove.6B.50d", n_clusters=1000, max_words=200_000, unknown="keep",
                 random_state=0, subwords=True):
        self.vectors = vectors
        self.n_clusters = n_clusters
        self.max_words = max_words
        self.unknown = unknown
        self.random_state = random_state
        self.subwords = subwords

    def _check_params(self):
        if self.vectors is None:
            raise ValueError(
                "WordClusterer needs vectors: a path to a vectors file, a manifest name such as "
                "'glove.6B.50d' or a domain spec such as 'word2vec:unsup'. Got None."
            )
        validate_params(self, self._parameter_constraints)

    def fit(self, X, y=None):
        """Cluster the words of the vectors (trained on ``X`` if a domain spec asks for it).

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
        y : ignored

        Returns
        -------
        self
        """
        from .domain import resolve_vectors
        from .loading import subword_entry

        self._check_params()
        docs = check_token_corpus(X, estimator=type(self).__name__)
        key = _shared_key(self.vectors, docs)
        key = None if key is None else (key, self.n_clusters, self.max_words, self.random_state)
        def compute():
            kv = resolve_vectors(self.vectors, docs)
            n_words = min(self.max_words, len(kv.index_to_key))
            if self.n_clusters > n_words:
                raise _TooManyClusters(self.n_clusters, n_words, n_vectors=len(kv.index_to_key))
            words, labels = self._cached_kmeans(np.asarray(kv.vectors[:n_words], dtype=np.float32),
                                                kv.index_to_key[:n_words])
            return words, labels, subword_entry(kv)

        # threads clustering the same vectors at once (a grid search on joblib's threading backend) run one k-means
        cached = compute() if key is None else _MEMO.get_or_make(key, compute)
        self.words_, self.labels_, entry = cached
        self.subword_vectors_ = entry if self.subwords else None
        self.cluster_sizes_ = np.bincount(self.labels_, minlength=self.n_clusters)
        # the word -> cluster token table, built here and on unpickling, never by transform: transform leaves
        # the estimator as it was (scikit-learn's check_dict_unchanged), also under concurrent threads
        self._table = self._build_table()
        self._casings = self._build_casings(self._table)
        return self

    def _cache_path(self, vectors, words):
        """``<cache>/clusters/<key>.npy``: the key hashes the words, their vectors and the k-means settings."""
        import sklearn

        h = hashlib.blake2b(digest_size=16)
        settings = (_CACHE_FORMAT, self.n_clusters, self.random_state, _BATCH_SIZE, _N_INIT, sklearn.__version__)
        h.update(repr(settings).encode("utf-8"))
        h.update("\n".join(words).encode("utf-8", "surrogatepass"))
        h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        return get_cache_dir() / "clusters" / f"{h.hexdigest()}.npy"

    def _read_labels(self, path, n_words):
        """The cached labels at ``path``, or None when there are none or they are damaged (a warning)."""
        if not path.is_file():
            return None
        try:
            data = path.read_bytes()  # read once: the bytes checked are the bytes loaded
            expected = _read_checksum(path)
            if hashlib.sha256(data).hexdigest() != expected:
                raise ValueError(f"its SHA-256 differs from the one in {_checksum_path(path).name}")
            labels = np.load(io.BytesIO(data), allow_pickle=False)
            if labels.shape != (n_words,) or labels.dtype != np.int32 or (
                    n_words and (labels.min() < 0 or labels.max() >= self.n_clusters)):
                raise ValueError(f"expected {n_words} int32 labels in [0, {self.n_clusters}), "
                                 f"got shape {labels.shape} and dtype {labels.dtype}")
        except (OSError, ValueError, EOFError) as err:  # EOFError: an empty file
            logger.warning("word-cluster cache %s is damaged (%s); clustering again", path, err)
            return None
        logger.info("word clusters read from %s", path)
        return labels

    def _cached_kmeans(self, vectors, words):
        """(words, labels): read from the disk cache, or :meth:`_kmeans` and written there."""
        from ..data._download import build_once

        path = self._cache_path(vectors, words)
        # fold fits on joblib workers asking for the same clusters at once run k-means once
        labels, _ = build_once(path, f"clusters-{path.stem}", read=lambda: self._read_labels(path, len(words)),
                               build=lambda: self._kmeans_and_cache(vectors, words, path),
                               purpose="clustering the same words")
        return np.asarray(words, dtype=object), labels

    def _kmeans_and_cache(self, vectors, words, path):
        """:meth:`_kmeans`, its labels written to ``path`` (kept in memory where the cache is not writable)."""
        labels = self._kmeans(vectors, words)
        buffer = io.BytesIO()
        np.save(buffer, labels, allow_pickle=False)
        data = buffer.getvalue()
        checksum = _checksum_path(path)
        try:
            # the checksum first: the entry is never in place without it (build_once holds the lock meanwhile)
            with atomic_output(checksum) as tmp:
                Path(tmp).write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n", encoding="ascii")
            with atomic_output(path) as tmp:
                Path(tmp).write_bytes(data)
        except OSError as err:  # read-only or full cache: the clusters stay in memory
            logger.warning("could not cache the word clusters in %s (%s)", path, err)
            if not path.is_file():  # no entry for the checksum just written
                with contextlib.suppress(OSError):
                    checksum.unlink(missing_ok=True)
        return labels

    def _kmeans(self, vectors, words):
        """The int32 cluster of each of ``words`` (rows of ``vectors``), by k-means on the unit vectors."""
        from sklearn.cluster import MiniBatchKMeans

        unit = _unit(vectors)
        km = MiniBatchKMeans(n_clusters=self.n_clusters, batch_size=_BATCH_SIZE, n_init=_N_INIT,
                             random_state=self.random_state).fit(unit)
        logger.info("clustered %d words into %d clusters (inertia %.1f)", len(words), self.n_clusters, km.inertia_)
        return km.labels_.astype(np.int32)

    def _build_table(self):
        """The cluster token of each of ``words_`` (one string object per cluster, shared by its words)."""
        names = np.asarray([cluster_token(c) for c in range(int(self.labels_.max(initial=-1)) + 1)], dtype=object)
        return dict(zip(self.words_.tolist(), names[self.labels_].tolist()))

    def _lookup(self):
        table = getattr(self, "_table", None)
        return self._build_table() if table is None else table  # (None: state set by hand; not stored)

    def _build_casings(self, table):
        """``{lower-cased: cluster token}`` for the "other casing" fallback of :meth:`_clusters_of`.

        For each lower-cased form that is not itself one of ``words_``, the
        cluster of the first word (in the vectors' order) that lower-cases to
        it: what :func:`~toolkit.vectors.matrix._first_casings` finds, built
        once here (at fit and unpickling) so transform never scans the words
        (a scan of 200,000 words took 27 ms of every transform call).
        """
        casings: dict = {}
        for word in self.words_.tolist():
            if not isinstance(word, str):
                continue  # a KeyedVectors built in memory may have int keys: no casing
            low = word.lower()
            if low != word and low not in table and low not in casings:
                casings[low] = table[word]
        return casings

    def _casing_lookup(self, table):
        casings = getattr(self, "_casings", None)
        return self._build_casings(table) if casings is None else casings  # (None: as in _lookup)

    def _clusters_of(self, strings):
        """``{token: cluster token}`` for each of ``strings`` with a cluster, by the vectors' casing fallback.

        A token is looked up as is, then lower-cased, then under any other
        casing of it among ``words_`` (the first in the vectors' order:
        :func:`~toolkit.vectors.matrix._first_casings`), as
        :func:`~toolkit.vectors.build_embedding_matrix` does with
        ``lowercase_fallback=True`` for every other user of word vectors: with
        cased tokens (``lowercase=False``) ``"The"`` gets the cluster of
        GloVe's ``"the"``, and with cased vectors (fastText crawl) ``"john"``
        gets that of ``"John"``. Lower-cased tokens and lower-cased vectors
        (GloVe 6B, the domain vectors of lower-cased tokens) get the clusters
        of the exact match alone, as before the fallback. A word n-gram
        (``"new york"``) without a cluster of its own gets that of the
        vectors' phrase (``"new_york"``, then another casing such as
        ``"New_York"``), as ``build_embedding_matrix`` gives it its vector.
        """
        from .matrix import _phrase_key

        table = self._lookup()
        found: dict = {}
        wanted: dict = {}  # lower-cased -> the tokens still without a cluster
        for s in strings:
            cluster = table.get(s)
            if cluster is None:
                low = s.lower()
                cluster = table.get(low) if low != s else None
                if cluster is None:
                    wanted.setdefault(low, []).append(s)
                    continue
            found[s] = cluster
        if wanted:
            casings = self._casing_lookup(table)  # (a low in wanted is no word: see _build_casings)
            for low in [low for low in wanted if low in casings]:
                for s in wanted.pop(low):
                    found[s] = casings[low]
            # a word n-gram ("new york"): the cluster of the vectors' phrase ("new_york", "New_York"), as
            # build_embedding_matrix gives it that phrase's vector
            for low in [low for low in wanted if _phrase_key(low) is not None]:
                phrase = _phrase_key(low)  # (lower-cased already: the phrase as is, then another casing)
                for s in list(wanted[low]):
                    key = _phrase_key(s)
                    cluster = table.get(key)
                    if cluster is None:
                        cluster = table.get(phrase) if phrase != key else None
                        cluster = casings.get(phrase) if cluster is None else cluster
                    if cluster is not None:
                        found[s] = cluster
                        wanted[low].remove(s)
                if not wanted[low]:
                    del wanted[low]
        # (absent: a clusterer pickled before subwords); subwords=False set after fit (a model loaded where the
        # entry is gone) turns them off without a refit, as the warning of open_subwords says
        folder = getattr(self, "subword_vectors_", None) if getattr(self, "subwords", True) else None
        if wanted and folder is not None:
            found.update(self._subword_clusters([s for tokens in wanted.values() for s in tokens], folder))
        return found

    def _subword_clusters(self, tokens, folder):
        """``{token: cluster token}`` for ``tokens`` (without a cluster) by their fastText vectors: the nearest
        cluster mean of unit vectors, as k-means assigns."""
        from .loading import open_subwords
        from .matrix import _new_tokens_matrix

        kv = open_subwords(folder, owner=type(self).__name__)
        if kv is None:
            return {}
        tokens = sorted(tokens)
        matrix, _ = _new_tokens_matrix(tokens, kv)  # (its coverage line at DEBUG)
        rows = np.flatnonzero(np.any(matrix != 0, axis=1))
        if not rows.size:
            return {}
        key = (folder, self.n_clusters, hashlib.blake2b(self.labels_.tobytes()).hexdigest())
        centers = _CENTERS.get_or_make(key, lambda: _cluster_means(kv, self.labels_, self.n_clusters))
        unit = _unit(matrix[rows])
        # squared distances up to the constant |u|^2 = 1: |c|^2 - 2 u.c
        nearest = np.argmin((centers * centers).sum(axis=1) - 2.0 * unit @ centers.T, axis=1)
        return {tokens[i]: cluster_token(c) for i, c in zip(rows.tolist(), nearest.tolist())}

    def __getstate__(self):
        """Compact state for pickle and ``skops.io``: the words as one UTF-8 byte array and their lengths."""
        from ..text.vocabulary import _strings_to_arrays

        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns the live __dict__
        state.pop("_table", None)  # rebuilt by __setstate__
        state.pop("_casings", None)  # (idem)
        if isinstance(state.get("words_"), np.ndarray):
            buffer, lengths = _strings_to_arrays(state["words_"].tolist())
            state["words_"] = {"buffer": buffer, "lengths": lengths}
        return state

    def __setstate__(self, state):
        from ..text.vocabulary import _arrays_to_strings

        state = dict(state)
        if isinstance(state.get("words_"), dict):
            state["words_"] = np.asarray(_arrays_to_strings(state["words_"]["buffer"], state["words_"]["lengths"]),
                                         dtype=object)
        super().__setstate__(state)
        if isinstance(getattr(self, "words_", None), np.ndarray) and isinstance(getattr(self, "labels_", None),
                                                                                 np.ndarray):
            self._table = self._build_table()
            self._casings = self._build_casings(self._table)

    def transform(self, X):
        """Replace each token by its cluster token.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus

        Returns
        -------
        TokenizedCorpus
            The same number of documents and (with ``unknown="keep"``) tokens.
        """
        check_is_fitted(self, "labels_")
        docs = check_token_corpus(X, estimator=type(self).__name__)
        table = self._clusters_of(docs.strings)
        if self.unknown == "keep":
            return docs.map_strings(lambda s: table.get(s, s))
        mapped = docs.map_strings(lambda s: table.get(s, ""))
        return type(mapped).from_token_lists([[t for t in doc if t] for doc in mapped]).with_row_index(docs.row_index)

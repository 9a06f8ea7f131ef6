"""Document vectors (paragraph vectors, PV-DBOW) learned from words and n-grams.

:class:`DocVectorizer` maps token lists to dense document vectors inferred by
a gensim ``Doc2Vec`` model (``dm=0``: distributed bag of words, Le & Mikolov
2014) whose "words" are a document's word n-grams (Mesnil et al. 2014;
Thongtan & Phienthrakul 2019).

The doc model is trained on an *unlabelled* source only (IMDB's ``unsup``
reviews, a text file or a tuple of texts), never on the labelled documents
given to ``fit``. So every fit with the same source and options (each
cross-validation fold, each learning-curve draw) shares one model, and train
and test documents alike get *inferred* vectors from the same procedure.

The unlabelled texts are tokenized like the documents ``fit`` receives: a
:class:`~toolkit.text.TokenizedCorpus` from :class:`~toolkit.text.SpacyTokenizer`
records the settings that decide its tokens
(:attr:`~toolkit.text.TokenizedCorpus.tokenizer_params`), and ``fit`` tokenizes
the unlabelled texts with them (``lowercase=False`` keeps "Film" in both);
plain token lists get SpacyTokenizer's defaults. The parameter
``tokenizer_params`` chooses the settings instead (``{}``: the defaults).
``fit`` keeps the settings used in ``tokenizer_params_``, so ``transform``
(which may retrain the model if its cache entry is gone) uses the same. Such
a retraining must give the fitted model's key: where the source now gives
other tokens (a text file rewritten, another tokenizer or gensim version),
``transform`` raises a :class:`~toolkit.exceptions.DataError` instead of
inferring with another model (and caching it under the fitted key).

The trained model is cached on disk by content (options, gensim version, the
tokens of the unlabelled corpus and, when not the defaults, the settings that
tokenized it; the defaults give the keys of earlier versions) as plain arrays (nothing unpickled:
keys as JSON, ``syn1neg``, ``sample_int`` and ``cum_table`` as ``.npy``,
memory-mapped) under ``<cache>/doc_vectors/<key>/``, written atomically, and
held in a small in-process memo. ``meta.json`` holds the options and the
SHA-256 of each file, checked on every read from disk (about 0.6 ms per MB,
once per process): a damaged entry (a file emptied, truncated or with a byte
changed) is logged, trained again and replaced. Nothing large is stored on
the estimator.

Inference is deterministic across calls and processes: each document starts
from a vector and a negative-sampling seed derived from a hash of its tokens
and ``random_state`` (gensim's own ``infer_vector`` seeds from Python's
``hash``, which changes between processes). Inferred vectors are memoised per
document in the process, so the several fits of a stacked model infer each
document once.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._atomic import atomic_output, remove_stale
from .._config import get_cache_dir, get_data_dir
from .._fileid import stat_id
from .._hashing import hash_file
from .._memo import Memo
from .._validation import Interval, MissingParamsMixin, TextInputMixin, validate_params
from ..exceptions import DataError
from ..text.corpus import check_token_corpus, check_token_lists, on_input_rows

__all__ = ["DocVectorizer", "clear_memo"]

logger = logging.getLogger(__name__)

#: part of the cache key: bumped when the trained doc model changes
_KEY_VERSION = 1
#: the layout of an entry (meta.json's "format"); 2 added the SHA-256 of each file, checked on every read. An
#: entry of another format is trained again and replaced in place (its key is the same).
_FORMAT_VERSION = 2
_FILES = ("keys.json", "syn1neg.npy", "sample_int.npy", "cum_table.npy")
_MODELS = Memo(maxsize=2)  # model key -> lightweight Doc2Vec for inference
_SOURCE_KEYS = Memo(maxsize=16)  # (source identity, options) -> model key (skips re-reading the source)
_VECTORS = Memo(maxsize=4)  # (model key, inference options) -> {document digest: vector}
_MAX_MEMO_DOCS = 200_000  # per inference setting: 200,000 x 100 float32 = 80 MB
#: How many doc models this process trained (tests check that a second fit loads instead).
TRAIN_COUNT = {"n": 0}


def clear_memo() -> None:
    """Forget the doc models and inferred vectors held in this process (the disk cache stays)."""
    _MODELS.clear()
    _SOURCE_KEYS.clear()
    _VECTORS.clear()


# ------------------------------------------------------------------------ sources
def _source_spec(unlabelled):
    """Check the ``unlabelled`` parameter; return "unsup", a path string or a tuple of texts."""
    if isinstance(unlabelled, os.PathLike):
        unlabelled = os.fspath(unlabelled)
    if isinstance(unlabelled, str):
        if unlabelled.strip().lower() == "unsup":
            return "unsup"
        if not unlabelled.strip():
            raise ValueError("The 'unlabelled' parameter of DocVectorizer is an empty string; give 'unsup', "
                             "a path to a UTF-8 text file (one document per line) or a tuple of texts.")
        return unlabelled
    from .domain import _sequence_of_texts

    texts, problem = _sequence_of_texts(unlabelled)  # a list, tuple, pandas Series or 1-D array of texts
    if problem is not None:
        raise ValueError("The 'unlabelled' parameter of DocVectorizer, given as a sequence, must hold raw "
                         f"text strings (one document each); {problem}. Drop the missing texts, e.g. "
                         "[t for t in texts if t].")
    if texts is not None:
        return texts
    raise ValueError(
        "The 'unlabelled' parameter of DocVectorizer must be 'unsup' (IMDB's 50,000 unlabelled reviews), a "
        f"path to a UTF-8 text file (one document per line) or a tuple of texts. Got {unlabelled!r:.80} instead."
    )


def _source_identity(source) -> tuple:
    """A cheap identity of the source, for the in-process memo of model keys (with the tokenizer settings).

    A file's is its resolved path and :func:`~toolkit._fileid.stat_id` (inode and change time too: a rewrite
    that puts the size and modification time back, ``cp -p`` onto it, is another source).
    """
    if source == "unsup":  # resolved: a relative TOOLKIT_DATA_DIR names another folder after os.chdir
        folder = get_data_dir()
        return ("unsup", None if folder is None else str(folder.resolve()))
    if isinstance(source, tuple):
        return ("texts", hashlib.sha256("\x00".join(source).encode("utf-8", "surrogatepass")).hexdigest())
    path = Path(source).expanduser()
    try:
        ident = stat_id(path)
    except OSError:
        return ("file", str(path), None)
    return ("file", str(path.resolve()), *ident)


def _describe(source) -> str:
    """The source for messages: 'unsup', the path, or how many texts."""
    if isinstance(source, tuple):
        return f"({len(source):,} texts)"
    return repr(source)


def _unlabelled_corpus(source, settings: tuple = ()):
    """The source's tokens (a TokenizedCorpus of words) with SpacyTokenizer ``settings`` (``()``: defaults)."""
    from .domain import DomainSpec, _tokenize_unlabelled, _unlabelled_texts

    try:
        texts = _unlabelled_texts(DomainSpec("word2vec", source, ()), what="the 'unlabelled' parameter of "
                                  "DocVectorizer", drop="or another source ('unsup', a file, a tuple of texts)")
    except DataError as err:
        if source != "unsup":  # the messages about a file or texts name the parameter already
            raise
        raise DataError(f"The 'unlabelled' parameter of DocVectorizer ('unsup'): {err}") from err
    corpus = _tokenize_unlabelled(texts, settings, what="the 'unlabelled' parameter of DocVectorizer")
    if corpus.n_tokens == 0:
        raise DataError("The 'unlabelled' texts of DocVectorizer hold no tokens; give texts with words in them.")
    return corpus


# ------------------------------------------------------------------------ the model
class _Tagged:
    """A restartable iterable of TaggedDocument (gensim iterates once per epoch)."""

    def __init__(self, corpus):
        self.corpus = corpus

    def __iter__(self):
        from gensim.models.doc2vec import TaggedDocument

        for i, doc in enumerate(self.corpus):
            yield TaggedDocument(doc, [i])


def _train(corpus, options, workers):
    from gensim.models.doc2vec import Doc2Vec

    model = Doc2Vec(dm=0, dbow_words=0, hs=0, vector_size=options["vector_size"], negative=options["negative"],
                    min_count=options["min_count"], max_final_vocab=options["max_final_vocab"],
                    sample=options["sample"], epochs=options["epochs"], workers=workers,
                    seed=options["random_state"])
    docs = _Tagged(corpus)
    model.build_vocab(docs)
    if len(model.wv) == 0:
        raise DataError(
            f"No n-gram occurs at least min_count={options['min_count']} times in the 'unlabelled' texts of "
            "DocVectorizer; lower min_count or give more text."
        )
    model.train(docs, total_examples=model.corpus_count, epochs=model.epochs)
    TRAIN_COUNT["n"] += 1
    return model


def _write(model, folder, options):
    remove_stale(Path(folder).parent, ".*.tmp*")  # debris of killed writes of any entry, once stale
    with atomic_output(folder, directory=True) as tmp:
        tmp = Path(tmp)
        np.save(tmp / "syn1neg.npy", np.asarray(model.syn1neg, dtype=np.float32))
        np.save(tmp / "sample_int.npy", np.asarray(model.wv.expandos["sample_int"], dtype=np.uint32))
        np.save(tmp / "cum_table.npy", np.asarray(model.cum_table, dtype=np.uint32))
        (tmp / "keys.json").write_text(json.dumps(list(model.wv.index_to_key)), encoding="utf-8")
        digests = {name: hash_file(tmp / name) for name in _FILES}
        (tmp / "meta.json").write_text(json.dumps({"format": _FORMAT_VERSION, **options, "sha256": digests}),
                                       encoding="utf-8")


def _read(folder, options):
    """A lightweight Doc2Vec holding only what inference needs, memory-mapped from ``folder``."""
    from gensim.models.doc2vec import Doc2Vec

    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"cache format {found!r}, expected {_FORMAT_VERSION}")
    if any(meta.get(name) != value for name, value in options.items()):
        raise ValueError("meta.json gives other options than the entry's key")
    digests = meta.get("sha256")
    if not isinstance(digests, dict) or sorted(digests) != sorted(_FILES):
        raise ValueError("meta.json does not list the SHA-256 of each file")

    def checked(name):
        """The bytes of the file ``name``, read once (the bytes checked are the bytes used)."""
        data = (folder / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != digests[name]:
            raise ValueError(f"the SHA-256 of {name} differs from meta.json's")
        return data

    keys = json.loads(checked("keys.json"))
    if hash_file(folder / "syn1neg.npy") != digests["syn1neg.npy"]:  # hashed, then memory-mapped
        raise ValueError("the SHA-256 of syn1neg.npy differs from meta.json's")
    syn1neg = np.load(folder / "syn1neg.npy", mmap_mode="r")
    sample_int = np.load(io.BytesIO(checked("sample_int.npy")))
    cum_table = np.load(io.BytesIO(checked("cum_table.npy")))
    if not (syn1neg.shape == (len(keys), options["vector_size"]) and len(sample_int) == len(keys)
            and len(cum_table) == len(keys)):
        raise ValueError("array shapes do not match the vocabulary")
    model = Doc2Vec(dm=0, dbow_words=0, hs=0, vector_size=options["vector_size"], negative=options["negative"],
                    sample=options["sample"], workers=1, seed=options["random_state"])
    model.wv.index_to_key = keys
    model.wv.key_to_index = {k: i for i, k in enumerate(keys)}
    model.wv.expandos["sample_int"] = sample_int
    model.syn1neg = syn1neg
    model.cum_table = cum_table
    return model


def _as_inference_model(model):
    """Drop the training-only arrays of a freshly trained model (word and doc vectors)."""
    model.wv.vectors = np.zeros((1, model.vector_size), dtype=np.float32)
    model.dv.vectors = np.zeros((1, model.vector_size), dtype=np.float32)
    return model


def _model_key(source, options, settings: tuple = ()) -> tuple:
    """(key, corpus or None): the cache key of the doc model for this source, options and tokenizer settings."""
    ident = (_source_identity(source), json.dumps(options, sort_keys=True), settings)
    key = _SOURCE_KEYS.get(ident)
    if key is not None:
        return key, None
    corpus = _unlabelled_corpus(source, settings)
    key = _corpus_key(corpus, options, settings)
    _SOURCE_KEYS.put(ident, key)
    return key, corpus


def _corpus_key(corpus, options, settings: tuple = ()) -> str:
    """The cache key of the doc model trained on ``corpus`` (the unlabelled tokens) with these options."""
    import gensim

    from .domain import _corpus_digest

    h = hashlib.sha256()
    h.update(f"docvec v{_KEY_VERSION}|{sorted(options.items())}|gensim {gensim.__version__}|".encode())
    if settings:  # the default settings give the keys of earlier versions (their caches stay valid)
        h.update(f"tokenizer {list(settings)}|".encode())
    h.update(_corpus_digest(corpus).encode())
    return h.hexdigest()[:32]


def _doc_model(source, options, *, key=None, workers=1, cache_dir=None, settings: tuple = ()):
    """(model, key, how): the doc model from the memo, the disk cache, or trained now."""
    corpus = None
    if key is None:
        key, corpus = _model_key(source, options, settings)
    model = _MODELS.get(key)
    if model is not None:
        return model, key, "memo"
    from ..data._download import build_once

    folder = get_cache_dir(cache_dir) / "doc_vectors" / key

    def build():
        unlabelled = corpus
        if unlabelled is None:  # a fitted vectorizer's key (transform) whose entry is gone: its source again
            gone = f"The doc model DocVectorizer was fitted with (key {key}) is no longer in the cache ({folder})"
            try:
                unlabelled = _unlabelled_corpus(source, settings)
            except DataError as err:
                raise DataError(
                    f"{gone}, and training it again from its 'unlabelled' source failed: {err} Restore the cache "
                    "entry (e.g. set TOOLKIT_CACHE_DIR to the cache it was fitted with) or the source, or fit the "
                    "DocVectorizer again."
                ) from err
            now = _corpus_key(unlabelled, options, settings)
            if now != key:  # a model of other texts would give other vectors, and stored under this key
                raise DataError(
                    f"{gone}, and its 'unlabelled' source {_describe(source)} now gives another key (other texts "
                    f"than at fit, or another tokenizer or gensim version: key {now}), so that model cannot be "
                    "trained again. Fit the DocVectorizer again (its vectors change), or restore the source or the "
                    "cache entry."
                )
        grams = unlabelled.ngrams(options["ngram_range"])
        logger.info("training a PV-DBOW doc model on %d unlabelled documents (%d tokens)", len(grams),
                    grams.n_tokens)
        model = _train(grams, options, workers)
        try:
            _write(model, folder, options)
            return _read(folder, options)
        except OSError as err:  # read-only or full cache: keep the model in memory
            logger.warning("could not cache the doc model in %s (%s); keeping it in memory", folder, err)
            return _as_inference_model(model)

    # fold fits on joblib workers asking for the same doc model at once train it once
    model, built = build_once(folder, f"doc_vectors-{key}", read=lambda: _read_cached(folder, options), build=build,
                              purpose="training the same doc model")
    _MODELS.put(key, model)
    return model, key, "trained" if built else "cache"


def _read_cached(folder, options):
    """The doc model cached in ``folder``, or None when it is damaged or stale (a warning)."""
    try:
        model = _read(folder, options)
    except (OSError, ValueError, EOFError) as err:  # EOFError: an empty .npy file
        logger.warning("doc model cache %s is damaged or stale (%s); training again", folder, err)
        return None
    logger.info("doc model read from %s", folder)
    return model


# ------------------------------------------------------------------------ inference
def _digest(doc, seed: int) -> bytes:
    return hashlib.blake2b("\x1f".join(doc).encode("utf-8", "surrogatepass"), digest_size=8,
                           salt=seed.to_bytes(16, "little")).digest()


def _infer_chunk(model, docs, digests, epochs):
    """Inferred vectors of ``docs``; each document seeded from its digest, so the result is order-free."""
    from gensim.models.doc2vec_inner import train_document_dbow

    model = copy.copy(model)  # own .random per thread; arrays shared (read-only during inference)
    size = model.vector_size
    out = np.empty((len(docs), size), dtype=np.float32)
    work = np.zeros(size, dtype=np.float32)
    dummy = np.zeros((1, size), dtype=np.float32)
    lockf = np.ones(1, dtype=np.float32)
    alpha0, alpha_min = model.alpha, model.min_alpha
    delta = (alpha0 - alpha_min) / max(epochs - 1, 1)
    for row, (doc, digest) in enumerate(zip(docs, digests)):
        seed = int.from_bytes(digest, "little")
        vec = ((np.random.Generator(np.random.SFC64(seed)).random(size) - 0.5) / size).astype(np.float32)
        vec = vec.reshape(1, size)
        model.random = np.random.RandomState(seed & 0xFFFFFFFF)
        alpha = alpha0
        for _ in range(epochs):
            train_document_dbow(model, doc, [0], alpha, work, train_words=False, learn_doctags=True,
                                learn_words=False, learn_hidden=False, word_vectors=dummy, words_lockf=lockf,
                                doctag_vectors=vec, doctags_lockf=lockf)
            alpha -= delta
        out[row] = vec[0]
    return out


def _infer(model, grams, digests, epochs, workers):
    docs = list(grams)
    if workers <= 1 or len(docs) < 2 * workers:
        return _infer_chunk(model, docs, digests, epochs)
    bounds = np.linspace(0, len(docs), workers + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers) as pool:  # the Cython loop releases the GIL
        parts = pool.map(lambda ab: _infer_chunk(model, docs[ab[0]:ab[1]], digests[ab[0]:ab[1]], epochs),
                         zip(bounds[:-1], bounds[1:]))
        return np.concatenate(list(parts), axis=0)


# ------------------------------------------------------------------------ estimator
class DocVectorizer(MissingParamsMixin, TextInputMixin, TransformerMixin, BaseEstimator):
    """Token lists -> paragraph vectors (PV-DBOW over word n-grams), shape (n_documents, vector_size).

    Parameters
    ----------
    unlabelled : str, path-like, or tuple or list of str, default="unsup"
        The texts the doc model is trained on, never the labelled ``X``:
        ``"unsup"`` (IMDB's 50,000 unlabelled reviews, read from
        ``TOOLKIT_DATA_DIR``), a path to a UTF-8 text file (one document per
        line, blank lines skipped; gzip, bz2 or xz compressed too; a file
        named ``.csv``, ``.tsv``, ``.jsonl``, ``.ndjson`` or ``.json`` (JSON
        Lines) gives the texts
        of its ``text`` column, one per row) or a tuple
        of raw texts (a list, a pandas
        Series or a 1-D array of them too; kept on the estimator and pickled
        with it: use a file for large text). Raw texts
        are tokenized with :class:`toolkit.text.SpacyTokenizer` as ``X`` was
        (see ``tokenizer_params``).
    vector_size : int, default=100
        Dimension of the document vectors.
    ngram_range : tuple (min_n, max_n), default=(1, 2)
        The word n-grams that are the model's "words"
        (:meth:`toolkit.text.TokenizedCorpus.ngrams`).
    epochs : int, default=10
        Training epochs over the unlabelled texts.
    infer_epochs : int or None, default=5
        Inference epochs per document; None uses ``epochs``. 5 was as
        accurate as 10 on the IMDB validation split (88.64% vs 88.44%,
        ``benchmarks/tune_docvec.py``) at about 60% of the time.
    min_count : int, default=2
        Minimum count of an n-gram in the unlabelled texts.
    max_final_vocab : int or None, default=1_000_000
        Keep at most this many n-grams (the most frequent); caps memory.
    negative : int, default=5
        Negative samples per n-gram.
    sample : float, default=1e-4
        Down-sampling threshold of frequent n-grams.
    workers : int, default=1
        Threads for training and inference. With one thread training gives
        the same model in every process and in a fresh cache (another
        machine, a new ``TOOLKIT_CACHE_DIR``). More threads train faster but
        not bit-reproducibly: the model runs once per source and options and
        is then cached, so this shows only in a fresh cache. Inference is
        deterministic for any value. ``workers`` is not part of the cache
        key: a model already cached is read whatever its value.
    random_state : int, default=0
        Seed of training and of each document's inference.
    tokenizer_params : dict or None, default=None
        :class:`~toolkit.text.SpacyTokenizer` settings for the unlabelled
        texts (those that decide the tokens: ``model``, ``lowercase``,
        ``lemmatize``, ``remove_*``, ``strip_html``, ``unicode_form``; for a
        char analyzer ``analyzer`` and ``ngram_range``). None: the settings
        of the tokenizer that made ``X`` as its
        :attr:`~toolkit.text.TokenizedCorpus.tokenizer_params` records them
        (a Pipeline's SpacyTokenizer step), SpacyTokenizer's defaults for
        plain token lists. ``{}``: the defaults, whatever ``X`` is.

    Attributes
    ----------
    model_key_ : str
        Content key of the doc model (its folder under ``<cache>/doc_vectors/``).
    model_source_ : {"trained", "cache", "memo"}
        Where ``fit`` got the doc model from.
    tokenizer_params_ : dict
        The SpacyTokenizer settings the unlabelled texts were tokenized with
        (those that differ from its defaults; ``{}``: the defaults).
    vocabulary_size_ : int
        Number of n-grams the doc model knows.
    n_features_out_ : int
        ``vector_size``.

    See Also
    --------
    toolkit.vectors.EmbeddingVectorizer : pooled word vectors.

    Notes
    -----
    A document none of whose n-grams the model knows keeps its (small,
    deterministic) starting vector. Inferred vectors are memoised per
    document in the process (up to 200,000 per setting).

    Examples
    --------
    >>> from toolkit.vectors.docvec import DocVectorizer
    >>> texts = ("a good film", "a bad film", "good acting", "bad acting") * 20
    >>> vec = DocVectorizer(unlabelled=texts, vector_size=8, epochs=2, min_count=1)
    >>> vec.fit_transform([["a", "good", "film"], ["bad", "acting"]]).shape  # doctest: +SKIP
    (2, 8)
    """

    _parameter_constraints = {
        "unlabelled": [str, os.PathLike, tuple, list, "1d_array"],
        "vector_size": [Interval(int, 1, None)],
        "ngram_range": [tuple],
        "epochs": [Interval(int, 1, None)],
        "infer_epochs": [Interval(int, 1, None), None],
        "min_count": [Interval(int, 1, None)],
        "max_final_vocab": [Interval(int, 1, None), None],
        "negative": [Interval(int, 1, None)],
        "sample": [Interval(float, 0, 1, closed="left"), Interval(int, 0, 0)],
        "workers": [Interval(int, 1, None)],
        "random_state": [Interval(int, 0, 2**32 - 1)],
        "tokenizer_params": [dict, None],
    }

    def __init__(self, *, unlabelled="unsup", vector_size=100, ngram_range=(1, 2), epochs=10, infer_epochs=5,
                 min_count=2, max_final_vocab=1_000_000, negative=5, sample=1e-4, workers=1, random_state=0,
                 tokenizer_params=None):
        self.unlabelled = unlabelled
        self.vector_size = vector_size
        self.ngram_range = ngram_range
        self.epochs = epochs
        self.infer_epochs = infer_epochs
        self.min_count = min_count
        self.max_final_vocab = max_final_vocab
        self.negative = negative
        self.sample = sample
        self.workers = workers
        self.random_state = random_state
        self.tokenizer_params = tokenizer_params

    def __setstate__(self, state):
        # DocVectorizers fitted before ``tokenizer_params`` existed: their unlabelled texts had the defaults
        # (the parameter itself is filled in by MissingParamsMixin). Defaults are added after the saved
        # entries, whose order is kept: a loaded model saves to the same bytes
        state = dict(state)
        if "model_key_" in state:
            state.setdefault("tokenizer_params_", {})
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # training on several threads is not bit-reproducible (see ``workers``); one thread is
        tags.non_deterministic = self.workers != 1
        return tags

    def _options(self) -> dict:
        """The training options: the cache key (``workers`` is not part of it)."""
        return {"vector_size": int(self.vector_size), "ngram_range": [int(n) for n in self.ngram_range],
                "epochs": int(self.epochs), "min_count": int(self.min_count),
                "max_final_vocab": None if self.max_final_vocab is None else int(self.max_final_vocab),
                "negative": int(self.negative), "sample": float(self.sample),
                "random_state": int(self.random_state)}

    def _settings(self, record) -> tuple:
        """The unlabelled texts' tokenizer settings as sorted pairs: ``tokenizer_params``, else X's ``record``."""
        from ..text.tokenizer import _check_token_settings

        if self.tokenizer_params is None:
            if record is None:
                logger.info("X carries no record of its tokenizer (token lists, or a corpus a step rebuilt): "
                            "DocVectorizer tokenizes its unlabelled texts with SpacyTokenizer's defaults; if X was "
                            "tokenized otherwise, set tokenizer_params")
                return ()
            return _check_token_settings(dict(record), what="The tokenizer settings X records")
        settings = _check_token_settings(self.tokenizer_params, what="The 'tokenizer_params' parameter of "
                                                                     "DocVectorizer")
        if record is not None and settings != record:
            logger.info("DocVectorizer(tokenizer_params=%r) tokenizes its unlabelled texts otherwise than X was "
                        "tokenized (%r): the doc model may lack some of X's tokens", self.tokenizer_params,
                        dict(record))
        return settings

    def _validate(self):
        validate_params(self, self._parameter_constraints)
        r = self.ngram_range
        if not (len(r) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in r) and 1 <= r[0] <= r[1]):
            raise ValueError(
                "The 'ngram_range' parameter of DocVectorizer must be a tuple (min_n, max_n) of integers "
                f"with 1 <= min_n <= max_n. Got {r!r} instead."
            )
        return _source_spec(self.unlabelled)

    def fit(self, X, y=None):
        """Get the doc model of the unlabelled source (memo, disk cache, or train it now).

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
            Checked only: the doc model never sees the labelled documents.
        y : ignored

        Returns
        -------
        self
        """
        source = self._validate()
        X = check_token_lists(X, estimator=type(self).__name__)
        settings = self._settings(getattr(X, "_tokenizer", None))
        model, self.model_key_, self.model_source_ = _doc_model(source, self._options(), workers=int(self.workers),
                                                                settings=settings)
        self.tokenizer_params_ = dict(settings)
        self.vocabulary_size_ = len(model.wv.index_to_key)
        self.n_features_out_ = int(self.vector_size)
        return self

    def transform(self, X):
        """Inferred document vectors of ``X``.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus

        Returns
        -------
        ndarray of shape (n_documents, vector_size), float32

        Raises
        ------
        DataError
            The doc model's cache entry is gone and the ``unlabelled`` source
            cannot give the same model again (missing, or other texts).
        """
        check_is_fitted(self, "model_key_")
        docs = check_token_corpus(X, estimator=type(self).__name__)
        options = self._options()
        model = _doc_model(_source_spec(self.unlabelled), options, key=self.model_key_, workers=int(self.workers),
                           settings=tuple(sorted(self.tokenizer_params_.items())))[0]
        epochs = int(self.infer_epochs or self.epochs)
        memo_key = (self.model_key_, epochs, int(self.random_state))
        memo = _VECTORS.get(memo_key)
        if memo is None:
            memo = {}
            _VECTORS.put(memo_key, memo)
        salt = int(self.random_state)
        digests = [_digest(doc, salt) for doc in docs]
        out = np.empty((len(digests), int(self.vector_size)), dtype=np.float32)
        todo = []
        for i, d in enumerate(digests):
            v = memo.get(d)
            if v is None:
                todo.append(i)
            else:
                out[i] = v
        if todo:
            grams = docs.take(np.asarray(todo, dtype=np.int64)).ngrams(tuple(self.ngram_range))
            out[todo] = _infer(model, grams, [digests[i] for i in todo], epochs, int(self.workers))
            if len(memo) + len(todo) > _MAX_MEMO_DOCS:
                memo.clear()
            memo.update((digests[i], out[i].copy()) for i in todo)
        return on_input_rows(out, docs, self)  # pandas output: the rows of the texts' Series

    def get_feature_names_out(self, input_features=None):
        """``docvec0``, ``docvec1``, ... one name per vector dimension.

        Parameters
        ----------
        input_features : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        ndarray of str objects, shape (n_features_out_,)
        """
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"docvec{i}" for i in range(self.n_features_out_)], dtype=object)

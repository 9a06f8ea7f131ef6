"""Train :class:`~toolkit.models.EmbeddingClassifier` from a :class:`CorpusStore` in streaming batches.

:class:`StoreBatches` is a ``keras.utils.PyDataset`` over the store's
memory-mapped vocabulary ids: each batch gathers its documents' ids and pads
them (``pad_sequences`` semantics), so the padded training matrix never exists
whole. :func:`fit_from_store` runs the estimator's own training loop (same
seeds, split, vocabulary, early stopping) with these batches in place of the
in-memory arrays; on the same corpus it builds the same vocabulary, the same
padded rows and the same batches, in the same order, as ``fit`` in memory.

Keras is imported when this module is.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from .._validation import validate_params

__all__ = ["StoreBatches", "StoreRows", "fit_from_store"]

logger = logging.getLogger(__name__)

class StoreBatches(keras.utils.PyDataset):
    """Padded batches of a store's documents, in a given order, as a Keras ``PyDataset``.

    Parameters
    ----------
    store : CorpusStore
        The store the batches read.
    rows : array-like of int
        Global document indices, in the order batches take them.
    maxlen : int
        Row length.
    n_ids : int
        Vocabulary size in use (ids past it become the OOV id).
    targets : ndarray, optional
        Target of each of ``rows`` (already encoded); None yields inputs only.
    weights : ndarray, optional
        Sample weight of each of ``rows``; batches are then ``(x, y, w)``.
    batch_size : int, default=128
        Documents per batch (the last one may be smaller).
    padding, truncating : {"pre", "post"}, default="pre"

    Examples
    --------
    >>> import tempfile, dask.bag as db
    >>> from toolkit.distributed import CorpusStore
    >>> from toolkit.distributed.streaming import StoreBatches
    >>> store = CorpusStore.build(db.from_sequence(["a b", "b c d"]), tempfile.mkdtemp() + "/s", scheduler="sync")
    >>> batches = StoreBatches(store, [1, 0], maxlen=3, n_ids=len(store.vocabulary), batch_size=2)
    >>> len(batches), batches[0].tolist()
    (1, [[2, 4, 5], [0, 3, 2]])
    """

    def __init__(self, store, rows, *, maxlen, n_ids, targets=None, weights=None, batch_size=128, padding="pre",
                 truncating="pre"):
        super().__init__(workers=1, use_multiprocessing=False)
        self.store = store
        self.rows = np.asarray(rows, dtype=np.int64)
        self.maxlen = int(maxlen)
        self.n_ids = int(n_ids)
        self.targets = targets
        self.weights = weights
        self.batch_size = int(batch_size)
        self.padding = padding
        self.truncating = truncating
        self._readers: dict = {}  # open partition files (CorpusStore.gather reads them, maps nothing)

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        chunk = slice(index * self.batch_size, (index + 1) * self.batch_size)
        x = self.store.sequences(self.rows[chunk], maxlen=self.maxlen, n_ids=self.n_ids, padding=self.padding,
                                 truncating=self.truncating, cache=self._readers)
        if self.targets is None:
            return x
        if self.weights is None:
            return x, self.targets[chunk]
        return x, self.targets[chunk], self.weights[chunk]

    def on_epoch_end(self):
        """Close the partition files read during the epoch (Keras calls it after each epoch)."""
        self._readers = {}


class StoreRows:
    """The training rows of a store, standing in for the padded matrix in the estimator's loop.

    ``len()`` is the number of rows; :meth:`epoch_data` gives the batches of
    one epoch in the estimator's shuffled order.
    """

    def __init__(self, store, rows, *, maxlen, n_ids, padding="pre", truncating="pre"):
        self.store, self.rows = store, np.asarray(rows, dtype=np.int64)
        self.options = dict(maxlen=maxlen, n_ids=n_ids, padding=padding, truncating=truncating)

    def __len__(self) -> int:
        return len(self.rows)

    def epoch_data(self, order, targets, weights, batch_size):
        return StoreBatches(self.store, self.rows[order], targets=targets[order],
                            weights=None if weights is None else weights[order], batch_size=batch_size,
                            **self.options)


def fit_from_store(estimator, store, y=None):
    """Fit an :class:`~toolkit.models.EmbeddingClassifier` on a :class:`CorpusStore`, batch by batch.

    The estimator's parameters apply as in ``fit``: its vocabulary
    (``max_tokens``, ``min_count``) is a prefix of the store's, the
    validation split is drawn from the same seed, pretrained ``vectors`` are
    loaded by path or manifest name, and training runs its own epoch loop and
    early stopping with :class:`StoreBatches` instead of in-memory arrays.
    Memory stays at one batch plus the model, whatever the corpus size.
    A store whose input files changed since its build
    (:meth:`CorpusStore.changed_sources`) is trained on as built, with a
    warning that names the files.

    Parameters
    ----------
    estimator : EmbeddingClassifier
        Fitted in place (architectures other than ``"nbsvm"`` and
        ``"nbsvm_vectors"``); ``class_weight`` applies as in ``fit``.
    store : CorpusStore or path-like
        The store, or its folder.
    y : array-like, optional
        Labels of every document of the store, in order; default the
        store's own labels.

    Returns
    -------
    estimator
        Fitted: ``predict`` then works on token lists as usual; its
        ``tokenizer_params_`` are the store's tokenizer settings, for raw
        texts: ``make_pipeline(SpacyTokenizer(**clf.tokenizer_params_), clf)``.

    Raises
    ------
    TypeError
        When ``estimator`` is not an EmbeddingClassifier.
    ValueError
        For the ``"nbsvm"`` / ``"nbsvm_vectors"`` architectures, a store with
        no documents or with an empty document, ``y`` of another length than
        the store, or ``vectors`` given as a domain spec (which needs the
        training documents in memory).

    Examples
    --------
    >>> import tempfile, dask.bag as db
    >>> from toolkit.distributed import CorpusStore, fit_from_store
    >>> from toolkit.models import EmbeddingClassifier
    >>> pairs = [("good fun", "pos"), ("bad bore", "neg")] * 10
    >>> store = CorpusStore.build(db.from_sequence(pairs), tempfile.mkdtemp() + "/s", scheduler="sync")
    >>> clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, epochs=1, random_state=0), store)
    >>> clf.predict([["good", "fun"]]).shape
    (1,)
    """
    from ..models.classifier import _NB_ARCHITECTURES, EmbeddingClassifier, _check_random_state
    from .store import CorpusStore

    if not isinstance(estimator, EmbeddingClassifier):
        raise TypeError(f"fit_from_store trains an EmbeddingClassifier; got {type(estimator).__name__}.")
    store = store if isinstance(store, CorpusStore) else CorpusStore(store)
    changed = store.changed_sources()
    if changed:  # trained on the inputs as they were: say so rather than silently
        logger.warning("fit_from_store: %d input file(s) of the store %s changed since it was built (%s%s); it holds "
                       "their earlier contents. Rebuild it to train on them as they are now: `toolkit store build "
                       "<inputs> -o %s --force` (or CorpusStore.build).", len(changed), store.path,
                       "; ".join(changed[:3]), f"; and {len(changed) - 3} more" if len(changed) > 3 else "",
                       store.path)
    validate_params(estimator, estimator._parameter_constraints)
    if estimator.architecture in _NB_ARCHITECTURES:
        raise ValueError(f"fit_from_store does not support architecture={estimator.architecture!r} (its naive-Bayes "
                         "ratios need the whole bag matrix); use another architecture (bag, cnn, rnn, flatten) or "
                         "fit in memory.")
    lengths = store.lengths()
    if len(lengths) == 0:
        raise ValueError(f"The store {store.path} holds no documents.")
    empty = np.flatnonzero(lengths == 0)
    if len(empty):
        raise ValueError(
            f"Document {int(empty[0])} of the store {store.path} has no tokens ({len(empty)} empty document(s)); "
            "EmbeddingClassifier cannot learn from an empty document. Drop empty texts before building the store."
        )
    # trained on a private copy whose state becomes the estimator's at once when training is over (as
    # EmbeddingClassifier.fit): a refit that fails or is interrupted leaves the estimator as it was, and
    # another thread predicting with it meanwhile gets the previous model's answers, never a mixture
    work = estimator._detached()
    labels = store.labels() if y is None else np.asarray(y)
    if labels.ndim and len(labels) != store.n_documents:  # scikit-learn's own message named neither
        raise ValueError(f"y has {len(labels)} labels but the store {store.path} holds {store.n_documents} "
                         "documents; give one label per document, in the store's order (or y=None: the store's "
                         "own labels).")
    y_enc = work._encode_targets(labels, store.n_documents)
    weights = work._class_sample_weights(y_enc)
    rng = _check_random_state(work.random_state)
    seeds = rng.randint(0, 2**31 - 1, size=3)

    work.vocabulary_ = store.vocabulary_for(max_tokens=work.max_tokens, min_count=work.min_count)
    work.maxlen_ = int(work.maxlen) if work.maxlen is not None else int(lengths.max())
    options = dict(maxlen=work.maxlen_, n_ids=len(work.vocabulary_),
                   padding=work.padding, truncating=work.truncating)

    indices = np.arange(store.n_documents)
    val = None
    if work.validation_split > 0:
        train_idx, val_idx = work._validation_split(y_enc, int(seeds[1]))  # the split fit() makes
        val = StoreBatches(store, val_idx, targets=y_enc[val_idx], batch_size=work.batch_size,
                           weights=None if weights is None else weights[val_idx], **options)
        indices = np.sort(train_idx)
    matrix, work.embedding_coverage_ = work._embedding_matrix(None, None, seeds[0])
    logger.info("training from %s: %d documents, %d batches per epoch", store.path, len(indices),
                -(-len(indices) // work.batch_size))
    work._train(StoreRows(store, indices, **options), y_enc[indices],
                None if weights is None else weights[indices], val, matrix, rng, int(seeds[2]))
    # the tokenizer raw texts need to be tokenized as the training documents were (the advice for raw strings)
    work.tokenizer_params_ = {k: (tuple(v) if k == "ngram_range" else v) for k, v in store.tokenizer.items()}
    estimator._publish(work)
    return estimator


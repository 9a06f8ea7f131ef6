"""NB-weighted n-gram evidence plus word vectors, in one Keras model.

The ``"nbsvm_vectors"`` architecture adds a word-vector branch to fast.ai's
NBSVM++ (:mod:`toolkit.models.builders`, ``"nbsvm"``), so the vectors add to
the n-gram evidence instead of replacing it:

- the n-gram branch is NBSVM++ unchanged: per-id learnable weights times the
  frozen naive-Bayes log-count ratios of the document's distinct n-gram ids;
- the vector branch averages the word vectors (GloVe, word2vec, fastText or
  domain vectors trained in ``fit``) of the document's distinct ids that have
  one (the unigrams; n-gram ids have none), standardizes the mean with the
  training documents' mean and standard deviation, and feeds it to a Dense
  layer (optionally with a hidden ReLU layer);
- the two logits are summed before the output activation and trained jointly;
  the word vectors themselves stay frozen (``trainable`` is ignored).

The vector rows live in a compact table (one row per id that has a vector,
row 0 = none) with an id -> row map, so a model with an 800,000 n-gram
vocabulary stores only the ~75,000 word vectors it can use. Removing the
branch (``vectors=None``) gives exactly the ``"nbsvm"`` model: the ablation.

Keras is imported inside the functions; the layers are registered for
``safe_mode`` loading by :func:`register_hybrid_layers`.
"""

from __future__ import annotations

import logging

import numpy as np

from . import builders

__all__ = ["compact_vector_table", "nb_model_outputs", "nb_row_outputs", "register_hybrid_layers",
           "standardize_pooled_vectors", "word_vector_matrix"]

logger = logging.getLogger(__name__)


def _variable_values(variable) -> np.ndarray:
    """A Keras variable's values as a NumPy array.

    ``keras.ops.convert_to_numpy`` of a variable warned on every call under
    NumPy 2 ("DeprecationWarning: __array__ implementation doesn't accept a
    copy keyword"), an error where warnings are errors (``python -W error``,
    a pytest ``filterwarnings = error``).
    """
    return np.asarray(variable.numpy())


def compact_vector_table(matrix):
    """Split a (vocab, dim) matrix with zero rows into an id -> row map and the non-zero rows.

    Parameters
    ----------
    matrix : ndarray of shape (vocab_size, dim)
        Row ``i`` is the vector of id ``i``; all-zero rows mean "no vector".

    Returns
    -------
    row_of : ndarray of int32, shape (vocab_size,)
        Row of each id in ``table`` (0 for ids without a vector).
    table : ndarray of float32, shape (n_with_vector + 1, dim)
        Row 0 is zeros.

    Examples
    --------
    >>> import numpy as np
    >>> row_of, table = compact_vector_table(np.array([[0, 0], [1, 2], [0, 0], [3, 4]]))
    >>> row_of.tolist(), table.tolist()
    ([0, 1, 0, 2], [[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    has = np.flatnonzero(np.any(matrix != 0, axis=1))
    row_of = np.zeros(matrix.shape[0], dtype=np.int32)
    row_of[has] = np.arange(1, len(has) + 1, dtype=np.int32)
    table = np.zeros((len(has) + 1, matrix.shape[1]), dtype=np.float32)
    table[1:] = matrix[has]
    return row_of, table


def word_vector_matrix(vocabulary, vectors):
    """Vectors of the word ids of an n-gram vocabulary; zero rows for n-grams and missing words.

    Only tokens without a space (words, not the ``"not good"`` n-grams) are
    looked up, through :func:`toolkit.vectors.build_embedding_matrix`
    (lower-case fallback, fastText subword vectors for unseen words).

    Parameters
    ----------
    vocabulary : toolkit.text.Vocabulary
    vectors : KeyedVectors

    Returns
    -------
    matrix : ndarray of float32, shape (len(vocabulary), dim)
    coverage : toolkit.vectors.CoverageReport
        Coverage of the word ids only, with their occurrences and the counts of
        the most frequent missing words when the vocabulary has counts.
    """
    from types import SimpleNamespace

    from ..vectors.matrix import build_embedding_matrix

    tokens = list(vocabulary.tokens)
    word_ids = np.array([i for i, t in enumerate(tokens) if i > 1 and " " not in t], dtype=np.int64)
    words = [tokens[i] for i in word_ids]
    counts = getattr(vocabulary, "counts", None)
    if counts is None:
        words_matrix, coverage = build_embedding_matrix(words, vectors)
    else:
        # the words behind the two reserved ids, with their counts: the report gives their occurrences and
        # the counts of the most frequent missing words, as for the other architectures
        counts = np.asarray(counts, dtype=np.int64)
        sub = SimpleNamespace(tokens=[*tokens[:2], *words], counts=np.r_[counts[:2], counts[word_ids]])
        words_matrix, coverage = build_embedding_matrix(sub, vectors)
        words_matrix = words_matrix[2:]
    matrix = np.zeros((len(tokens), words_matrix.shape[1]), dtype=np.float32)
    matrix[word_ids] = words_matrix
    return matrix, coverage


def _layer_class():
    import keras

    if hasattr(_layer_class, "cls"):
        return _layer_class.cls

    @keras.saving.register_keras_serializable(package="toolkit")
    class PooledVectors(keras.layers.Layer):
        """Standardized mean of the word vectors of a batch of id rows.

        Ids whose row is 0 (padding, n-grams, words without a vector) are
        skipped; a document without any vector gets the training mean (zeros
        after standardization).
        """

        def __init__(self, n_ids, n_rows, dim, trainable_vectors=False, **kwargs):
            super().__init__(**kwargs)
            self.n_ids, self.n_rows, self.dim = int(n_ids), int(n_rows), int(dim)
            self.trainable_vectors = bool(trainable_vectors)

        def build(self, input_shape):
            self.row_of = self.add_weight(shape=(self.n_ids,), dtype="int32", initializer="zeros",
                                          trainable=False, name="row_of")
            self.table = self.add_weight(shape=(self.n_rows, self.dim), initializer="zeros",
                                         trainable=self.trainable_vectors, name="vectors")
            self.center = self.add_weight(shape=(self.dim,), initializer="zeros", trainable=False,
                                          name="center")
            self.scale = self.add_weight(shape=(self.dim,), initializer="ones", trainable=False,
                                         name="scale")

        def call(self, ids):
            ops = keras.ops
            rows = ops.take(self.row_of, ops.cast(ids, "int32"), axis=0)
            vecs = ops.take(self.table, rows, axis=0)
            mask = ops.cast(ops.greater(rows, 0), vecs.dtype)
            count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
            mean = ops.sum(vecs, axis=1) / count
            has_any = ops.cast(ops.greater(ops.sum(mask, axis=1, keepdims=True), 0), mean.dtype)
            mean = has_any * mean + (1.0 - has_any) * self.center
            return (mean - self.center) / self.scale

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.dim)

        def get_config(self):
            return {**super().get_config(), "n_ids": self.n_ids, "n_rows": self.n_rows, "dim": self.dim,
                    "trainable_vectors": self.trainable_vectors}

    _layer_class.cls = PooledVectors
    return PooledVectors


@builders.add_layer_registrar
def register_hybrid_layers():
    """Register this module's custom layers with Keras (call before loading a model)."""
    _layer_class()


def pooled_statistics(sequences, row_of, table, offsets=None):
    """Mean and standard deviation of the pooled vectors of training id rows (for standardizing).

    ``sequences`` are padded id rows (2-D, padding id 0), or, with
    ``offsets``, flat rows: document ``i`` is ``sequences[offsets[i]:offsets[i + 1]]``.
    """
    if offsets is not None:
        return _flat_pooled_statistics(np.asarray(sequences), np.asarray(offsets, dtype=np.int64), row_of, table)
    rows = row_of[sequences]
    mask = rows > 0
    count = mask.sum(axis=1)
    sums = np.zeros((len(sequences), table.shape[1]), dtype=np.float64)
    for start in range(0, len(sequences), 1024):
        block = rows[start:start + 1024]
        sums[start:start + 1024] = table[block].sum(axis=1)
    return _standardizing(sums, count, table.shape[1])


def _flat_pooled_statistics(ids, offsets, row_of, table):
    """:func:`pooled_statistics` of flat rows: a sparse sum over each row's own ids (no padding cells)."""
    import scipy.sparse as sp

    n = offsets.size - 1
    rows = row_of[ids]
    has = rows > 0
    doc = np.repeat(np.arange(n), np.diff(offsets))[has]
    count = np.bincount(doc, minlength=n)
    vptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=vptr[1:])
    bag = sp.csr_matrix((np.ones(doc.size), rows[has].astype(np.int64), vptr), shape=(n, table.shape[0]))
    sums = np.asarray(bag @ np.asarray(table, dtype=np.float64))
    return _standardizing(sums, count, table.shape[1])


def _standardizing(sums, count, dim):
    """(centre, scale) of the mean vectors ``sums / count`` of the rows with ``count`` > 0."""
    keep = count > 0
    if not keep.any():
        return np.zeros(dim, np.float32), np.ones(dim, np.float32)
    means = sums[keep] / count[keep, None]
    return means.mean(axis=0).astype(np.float32), (means.std(axis=0) + 1e-6).astype(np.float32)


def split_matrix(matrix, n_outputs):
    """(naive-Bayes ratios, word vectors) of the combined matrix the classifier passes to the builder."""
    matrix = np.asarray(matrix, dtype="float32")
    return matrix[:, :n_outputs], matrix[:, n_outputs:]


@builders.register_architecture("nbsvm_vectors")
def _nbsvm_vectors(inputs, spec):
    """NBSVM++ logits plus a Dense layer over the standardized mean word vector.

    ``spec.embedding_matrix`` is ``[ratios | vectors]``: the naive-Bayes
    log-count ratios (``n_outputs`` columns) followed by the word vector of
    each id (zero rows for n-grams and words without a vector).
    """
    import keras

    init = keras.initializers
    matrix = spec.embedding_matrix
    if matrix is None or matrix.shape[1] <= spec.n_outputs:
        raise ValueError(
            "The 'nbsvm_vectors' architecture needs embedding_matrix = [naive-Bayes ratios | word "
            f"vectors], shape (vocab_size, n_outputs={spec.n_outputs} + dim)."
        )
    ratios, vectors = split_matrix(matrix, spec.n_outputs)
    w = keras.layers.Embedding(
        spec.vocab_size, 1, name="nb_weights",
        embeddings_initializer=init.RandomUniform(-0.1, 0.1, seed=spec.layer_seed(1)),
    )(inputs)
    ratio_embedding = keras.layers.Embedding(spec.vocab_size, spec.n_outputs, trainable=False,
                                             name=builders._EMBEDDING_NAME)
    r = ratio_embedding(inputs)
    ratio_embedding.set_weights([ratios])
    nb_logits = builders._nbsvm_layer_class()(w_adj=spec.nb_w_adj, r_adj=spec.nb_r_adj, name="nb_dot")([w, r])

    row_of, table = compact_vector_table(vectors)
    # the vectors stay frozen: fine-tuning them (trainable=True) diverged in
    # 450-review checks (train accuracy 0.52), and frozen needs no optimizer state
    pooled_layer = _layer_class()(spec.vocab_size, table.shape[0], table.shape[1],
                                  trainable_vectors=False, name="pooled_vectors")
    x = pooled_layer(inputs)
    pooled_layer.row_of.assign(row_of)
    pooled_layer.table.assign(table)
    x = builders.dropout(x, spec, 6)
    if spec.hidden_units:
        x = builders.dense(spec.hidden_units, "relu", spec, 5, "vector_hidden")(x)
    vec_logits = keras.layers.Dense(spec.n_outputs, name="vector_logits", kernel_initializer=init.Zeros())(x)
    logits = keras.layers.Add(name="logits")([nb_logits, vec_logits])
    return keras.layers.Activation(spec.activation, name="output", dtype=builders.output_dtype())(logits)


def standardize_pooled_vectors(model, sequences, *, offsets=None):
    """Set the pooled-vector layer's centre and scale from training id rows (call before training).

    Parameters
    ----------
    model : keras.Model
        An ``"nbsvm_vectors"`` model (its layer ``"pooled_vectors"``).
    sequences : array-like of int
        Padded id rows, shape (n_documents, length), padding id 0; or, with
        ``offsets``, the documents' ids one row after another (flat rows,
        as :class:`~toolkit.models.EmbeddingClassifier` trains on them).
    offsets : array-like of int, shape (n_documents + 1,), optional
        Where each document's row starts in flat ``sequences`` (CSR layout).
        Both layouts of the same rows give the same centre and scale.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.models import build_model
    >>> matrix = np.hstack([np.zeros((5, 1)), np.eye(5, 3, k=-1)]).astype("float32")  # id 0 (padding): no vector
    >>> model = build_model("nbsvm_vectors", vocab_size=5, maxlen=4, embedding_matrix=matrix)
    >>> standardize_pooled_vectors(model, np.array([[1, 2, 0, 0], [1, 0, 0, 0]]))
    >>> standardize_pooled_vectors(model, np.array([1, 2, 1]), offsets=[0, 2, 3])  # the same rows, flat
    >>> model.output_shape
    (None, 1)
    """
    layer = model.get_layer("pooled_vectors")
    row_of, table = _variable_values(layer.row_of), _variable_values(layer.table)
    center, scale = pooled_statistics(np.asarray(sequences), row_of, table, offsets)
    layer.center.assign(center)
    layer.scale.assign(scale)


def nb_weighted(nb_weights, w_adj, ratios):
    """The n-gram x output weights an NB model's prediction reads: ``(nb_weights + w_adj) * ratios``, in float32.

    One formula for :func:`nb_model_weights` (out of Keras) and for
    ``load_model``, which rebuilds them from ``model.keras``' arrays without
    Keras (:func:`toolkit.models.persistence._read_keras_refs`), so both give
    the same bits.
    """
    return (nb_weights + np.float32(w_adj)) * ratios


def nb_model_weights(model) -> dict:
    """The weights :func:`nb_model_outputs` reads from a fitted ``"nbsvm"`` / ``"nbsvm_vectors"`` model, as numpy.

    Reading them from Keras costs milliseconds (the pooled-vector table is
    copied out of its variable): a caller that predicts often with one
    fitted model reads them once and passes them to :func:`nb_model_outputs`.
    """
    as_np = _variable_values
    get = model.get_layer
    nb = get("nb_dot")
    weights = {
        "weighted": nb_weighted(as_np(get("nb_weights").embeddings), nb.w_adj, as_np(get("embedding").embeddings)),
        "r_adj": np.float32(nb.r_adj), "bias": as_np(nb.bias), "activation": get("output").activation.__name__,
    }
    if any(layer.name == "pooled_vectors" for layer in model.layers):
        pool = get("pooled_vectors")
        weights.update(row_of=as_np(pool.row_of), table=as_np(pool.table), center=as_np(pool.center),
                       scale=as_np(pool.scale))
        weights["dense"] = [(as_np(get(name).kernel), as_np(get(name).bias), name == "vector_hidden")
                            for name in ("vector_hidden", "vector_logits")
                            if any(layer.name == name for layer in model.layers)]
    return weights


def nb_weights_stamp(model) -> bytes:
    """A cheap check that :func:`nb_model_weights`' reading of ``model`` is still current: its NB bias.

    The bias changes with any ``model.fit`` (its gradient is the mean
    residual), ``load_weights`` or ``set_weights`` of another model's
    weights; reading it costs one variable read (tens of microseconds),
    where copying the per-id tables out of Keras costs milliseconds on large
    vocabularies. (A ``set_weights`` of one layer's table alone, leaving the
    bias as it was, is not seen.)
    """
    return np.asarray(model.get_layer("nb_dot").bias.numpy()).tobytes()


def nb_model_outputs(model, sequences, weights=None):
    """Outputs of a fitted ``"nbsvm"`` or ``"nbsvm_vectors"`` model, computed with scipy on the non-padding ids.

    The same layers and float32 weights as the Keras graph, read from it (or
    from ``weights``, :func:`nb_model_weights`' reading of the same model): the
    NB branch is ``sum((w + w_adj) * r) / r_adj + bias`` over a document's ids,
    the vector branch the standardized mean of its word vectors through the
    two Dense layers. A document costs its own ids only (Keras multiplies
    every padding column of every row); only the summation order differs
    from Keras (outputs agree to ~1e-6).
    """
    w = nb_model_weights(model) if weights is None else weights
    sequences = np.asarray(sequences)
    keep = sequences != 0
    indptr = np.zeros(sequences.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    return nb_row_outputs(sequences[keep], indptr, w)


def nb_row_outputs(ids, indptr, weights, *, raw=False):
    """:func:`nb_model_outputs` of documents given as flat rows of ids: document ``i`` is ``ids[indptr[i]:indptr[i + 1]]``.

    The same outputs as from the padded sequences (padding ids, 0, must not be
    in ``ids``), without the padded matrix: its ``n_documents x maxlen`` cells
    (``maxlen``: the longest training document's distinct n-grams) took most of
    a large batch's memory (0.5 GB of ``toolkit predict``'s 1.1 GB peak for
    20,000 reviews).

    Parameters
    ----------
    ids : ndarray of int
        The documents' ids, one row after another.
    indptr : ndarray of int, shape (n_documents + 1,)
        Where each document's row starts in ``ids`` (CSR layout).
    weights : dict
        :func:`nb_model_weights` of the fitted model.
    raw : bool, default=False
        Return the logits, before the sigmoid or softmax (exact: no float
        saturation).

    Returns
    -------
    ndarray of float64, shape (n_documents, n_outputs)
        The model's outputs (sigmoid or softmax), or its logits with ``raw``.
    """
    import scipy.sparse as sp

    w = weights
    ids = np.asarray(ids).astype(np.int64, copy=False)
    indptr = np.asarray(indptr, dtype=np.int64)
    n = indptr.size - 1
    weighted = w["weighted"]
    bag = sp.csr_matrix((np.ones(ids.size, np.float32), ids, indptr), shape=(n, weighted.shape[0]))
    logits = np.asarray(bag @ weighted) / w["r_adj"] + w["bias"]
    if "table" in w:
        rows = w["row_of"][ids]
        table, center, scale = w["table"], w["center"], w["scale"]
        has = rows > 0
        doc = np.repeat(np.arange(n), np.diff(indptr))[has]
        count = np.bincount(doc, minlength=n).astype(np.float32)[:, None]
        vptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(count[:, 0].astype(np.int64), out=vptr[1:])
        sums = np.asarray(sp.csr_matrix((np.ones(doc.size, np.float32), rows[has], vptr), shape=(n, table.shape[0])) @ table)
        mean = np.where(count > 0, sums / np.maximum(count, 1.0), center)
        x = (mean - center) / scale
        for kernel, bias, relu in w["dense"]:
            x = x @ kernel + bias
            if relu:
                x = np.maximum(x, 0.0)
        logits = logits + x
    logits = logits.astype(np.float64)
    if raw:
        return logits
    if w["activation"] == "softmax":
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    return 1.0 / (1.0 + np.exp(-logits))

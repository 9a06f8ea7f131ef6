"""Keras graph builders for text classification.

This is the only toolkit module that touches ``keras.layers``. Keras is
imported inside the functions, so importing this module is cheap; ``import
toolkit`` never imports it.

Architectures (all take a batch of padded int32 token-id sequences, id 0 being
padding):

- ``"flatten"``: Embedding -> Flatten -> [Dense(hidden_units, relu)] -> output,
  the classic chapter model (word order matters through position).
- ``"bag"``: Embedding (masked) -> GlobalAveragePooling1D -> [Dense] -> output.
  Add word n-gram tokens to the token lists (``SpacyTokenizer(ngram_range=(1, 2))``)
  to get a fastText-style n-gram bag; the model itself stays the same.
- ``"cnn"``: Embedding -> Conv1D blocks (conv, max-pool) -> GlobalMaxPooling1D
  -> [Dense] -> output.
- ``"rnn"``: Embedding (mask_zero) -> LSTM or GRU (bidirectional by default) -> [Dense] -> output.
- ``"nbsvm"``: the NB-weighted n-gram bag of fast.ai's "NBSVM++" (DotProdNB,
  2017): per-id learnable weights ``w`` (init ``w_adj``) times frozen
  naive-Bayes log-count ratios ``r`` (the ``embedding_matrix``, one column per
  output), summed over the document's ids. Feed it deduplicated uni/bi/trigram
  ids with a large vocabulary; reported at ~92% on IMDB.

Outputs: ``"binary"`` (one sigmoid unit), ``"multiclass"`` (softmax over
``n_outputs``), ``"multilabel"`` (one sigmoid per label).

Each architecture is one function ``fn(inputs, spec) -> outputs`` registered
with :func:`register_architecture`; ``ARCHITECTURES`` lists the registry, so a
new architecture is one decorated function. The shared pieces (:func:`embed`,
:func:`dense`, :func:`dropout`, :func:`output_layer`) keep the layer names
and per-layer seeds the same for every architecture.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import operator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ARCHITECTURES",
    "OUTPUTS",
    "OPTIMIZERS",
    "ModelSpec",
    "build_model",
    "compile_model",
    "dense",
    "dropout",
    "embed",
    "fresh_optimizer",
    "output_dtype",
    "output_layer",
    "register_architecture",
    "register_layers",
    "set_embedding_trainable",
    "unregister_architecture",
]

logger = logging.getLogger(__name__)

OUTPUTS = ("binary", "multiclass", "multilabel")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "adagrad", "nadam")

_EMBEDDING_NAME = "embedding"


def _nbsvm_layer_class():
    """The NBSVM dot-product layer, registered once for safe .keras loading."""
    import keras

    if hasattr(_nbsvm_layer_class, "cls"):
        return _nbsvm_layer_class.cls

    @keras.saving.register_keras_serializable(package="toolkit")
    class NBDotProduct(keras.layers.Layer):
        """``sum_i (w_i + w_adj) * r_i / r_adj`` over the non-padding ids of a document.

        Inputs are the per-id weights ``w`` (batch, length, 1) and the frozen
        log-count ratios ``r`` (batch, length, n_outputs); padding rows of ``r``
        are zero, so padding contributes nothing.
        """

        def __init__(self, w_adj=0.4, r_adj=10.0, **kwargs):
            super().__init__(**kwargs)
            self.w_adj = float(w_adj)
            self.r_adj = float(r_adj)

        def build(self, input_shape):
            n_outputs = input_shape[1][-1]
            self.bias = self.add_weight(shape=(n_outputs,), initializer="zeros", name="bias")

        def call(self, inputs):
            w, r = inputs
            return keras.ops.sum((w + self.w_adj) * r, axis=1) / self.r_adj + self.bias

        def compute_output_shape(self, input_shape):
            return (input_shape[1][0], input_shape[1][-1])

        def get_config(self):
            return {**super().get_config(), "w_adj": self.w_adj, "r_adj": self.r_adj}

    _nbsvm_layer_class.cls = NBDotProduct
    return NBDotProduct


#: Functions that register custom Keras layers; modules that define layers add theirs
#: with :func:`add_layer_registrar` (so this module imports none of them).
_LAYER_REGISTRARS: list = []


def add_layer_registrar(func):
    """Have :func:`register_layers` call ``func`` too (for modules that define custom layers)."""
    if func not in _LAYER_REGISTRARS:
        _LAYER_REGISTRARS.append(func)
    return func


def _scaled_schedule_class():
    """The learning-rate schedule of :func:`scaled_schedule`, registered once for safe .keras loading."""
    import keras

    if hasattr(_scaled_schedule_class, "cls"):
        return _scaled_schedule_class.cls

    @keras.saving.register_keras_serializable(package="toolkit")
    class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """``factor * schedule(step + offset)``: a schedule scaled, and continued ``offset`` steps on."""

        def __init__(self, schedule, factor=1.0, offset=0):
            if isinstance(schedule, dict):
                schedule = keras.saving.deserialize_keras_object(schedule)
            self.schedule = schedule
            self.factor = float(factor)
            self.offset = int(offset)

        def __call__(self, step):
            return self.factor * self.schedule(keras.ops.add(step, self.offset))

        def get_config(self):
            return {"schedule": keras.saving.serialize_keras_object(self.schedule), "factor": self.factor,
                    "offset": self.offset}

    _scaled_schedule_class.cls = ScaledSchedule
    return ScaledSchedule


def scaled_schedule(schedule, factor, offset):
    """A learning-rate schedule that is ``factor`` times ``schedule``, ``offset`` steps on.

    An optimizer made anew in the middle of a training (fine-tuning
    unfreezes the embedding and compiles again) counts its steps from 0:
    this schedule goes on where ``schedule`` was, at ``factor`` times its rate.

    Parameters
    ----------
    schedule : keras.optimizers.schedules.LearningRateSchedule
    factor : float
    offset : int
        The steps ``schedule`` has taken so far.

    Returns
    -------
    keras.optimizers.schedules.LearningRateSchedule
        Registered with Keras (``"toolkit>ScaledSchedule"``), so a model
        compiled with it saves and loads.
    """
    return _scaled_schedule_class()(schedule, factor, offset)


def register_layers():
    """Register toolkit's custom layers (and learning-rate schedule) with Keras (call before loading a model)."""
    _nbsvm_layer_class()
    _scaled_schedule_class()
    for registrar in _LAYER_REGISTRARS:
        registrar()


def _seed(rng, offset):
    """A distinct int seed per layer, or None (unseeded)."""
    return None if rng is None else int((rng + 7919 * offset) % (2**31 - 1))


@dataclass(frozen=True)
class ModelSpec:
    """The settings of one graph, as :func:`build_model` received and checked them.

    A builder reads what it needs; the helpers :func:`embed`, :func:`dense`,
    :func:`dropout` and :func:`output_layer` read the rest.
    """

    architecture: str
    vocab_size: int
    maxlen: int | None
    embedding_dim: int | None
    embedding_matrix: np.ndarray | None
    trainable: bool
    n_outputs: int
    output: str
    hidden_units: int
    dropout: float
    filters: int
    kernel_size: int
    conv_blocks: int
    rnn_cell: str
    rnn_units: int | None
    nb_w_adj: float
    nb_r_adj: float
    seed: int | None
    bidirectional: bool = True

    def layer_seed(self, offset):
        """The seed of the layer at ``offset`` (distinct per layer), or None."""
        return _seed(self.seed, offset)

    @property
    def activation(self):
        """Output activation: softmax for one class among many, sigmoid otherwise."""
        return "softmax" if self.output == "multiclass" else "sigmoid"


_BUILDERS: dict = {}


def register_architecture(name):
    """Register a graph builder under ``name`` (a decorator).

    The builder is ``fn(inputs, spec) -> outputs``: it receives the
    ``keras.Input`` of padded token ids and the :class:`ModelSpec`, and
    returns the output tensor. :func:`build_model` wraps it in a
    ``keras.Model`` named after the architecture, and compiles it on request.

    Parameters
    ----------
    name : str
        The ``architecture`` value that selects the builder. A name already
        taken is refused, except by the same function defined again (the
        same module and qualified name: a notebook cell run again after an
        edit, a reloaded module), which replaces it.

    Returns
    -------
    callable
        The decorator; it returns the builder unchanged.

    Notes
    -----
    The registry belongs to the process that registered the builder. The
    worker processes that joblib starts for ``n_jobs > 1`` (``GridSearchCV``,
    ``cross_validate``) and Dask's workers import the toolkit afresh, without
    it; search over such an architecture in threads
    (``with joblib.parallel_config(backend="threading"):``) or with
    ``n_jobs=1``.

    Layers may be left unnamed: :func:`build_model` counts Keras' default
    names (``"dense"``, ``"dense_1"``) per model, not per process, and
    renames operations that are not layers (the mask of an
    ``Embedding(mask_zero=True)``), so the same fit saves to the same bytes.
    Seed the initializers of the layers the builder makes (``seed=spec.seed``,
    as the shared pieces do): unseeded weights differ between any two fits.

    Examples
    --------
    >>> from toolkit.models import builders
    >>> @builders.register_architecture("max_bag")
    ... def max_bag(inputs, spec):
    ...     import keras
    ...     x = keras.layers.GlobalMaxPooling1D(name="max_pool")(builders.embed(inputs, spec))
    ...     return builders.output_layer(x, spec)
    >>> "max_bag" in builders.ARCHITECTURES
    True
    >>> builders.build_model("max_bag", vocab_size=100, maxlen=20, embedding_dim=8).output_shape
    (None, 1)
    >>> builders.unregister_architecture("max_bag")
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"An architecture name must be a non-empty str; got {name!r}.")

    def decorator(fn):
        if name in _BUILDERS and not _same_definition(_BUILDERS[name], fn):
            raise ValueError(
                f"The architecture {name!r} is already registered (by "
                f"{_BUILDERS[name].__module__}.{_BUILDERS[name].__qualname__}); choose another name."
            )
        _BUILDERS[name] = fn
        return fn

    return decorator


def _same_definition(old, new):
    """Whether ``new`` is ``old`` defined again: a notebook cell run again, a module reloaded."""
    key = ("__module__", "__qualname__")
    return new is old or ([getattr(old, k, None) for k in key] == [getattr(new, k, None) for k in key]
                          and "<lambda>" not in getattr(new, "__qualname__", "<lambda>"))


def unregister_architecture(name):
    """Remove the builder registered under ``name`` (for tests and plug-ins)."""
    _BUILDERS.pop(name, None)


def __getattr__(name):
    # ARCHITECTURES follows the registry, also for builders registered later
    if name == "ARCHITECTURES":
        return tuple(_BUILDERS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ----------------------------------------------------------- shared pieces
def embed(inputs, spec, *, mask_zero=False):
    """The token embedding named ``"embedding"``, initialised from the matrix if given."""
    import keras

    if spec.embedding_dim is None:
        raise ValueError("Give embedding_dim or embedding_matrix.")
    embedding = keras.layers.Embedding(
        spec.vocab_size,
        spec.embedding_dim,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=spec.layer_seed(2)),
        mask_zero=mask_zero,
        trainable=spec.trainable,
        name=_EMBEDDING_NAME,
    )
    x = embedding(inputs)  # builds the layer, so the weights can be set now
    if spec.embedding_matrix is not None:
        embedding.set_weights([spec.embedding_matrix])
    return x


def dense(units, activation, spec, offset, name, *, dtype=None):
    """A Dense layer with a seeded Glorot initializer (``dtype``: its dtype policy, None for the global one)."""
    import keras

    return keras.layers.Dense(
        units, activation=activation, name=name, dtype=dtype,
        kernel_initializer=keras.initializers.GlorotUniform(seed=spec.layer_seed(offset)),
    )


def output_dtype():
    """The dtype of a model's output layer: ``"float32"`` under a mixed-precision global policy, else None.

    With ``keras.mixed_precision.set_global_policy("mixed_float16")`` every
    layer computes in float16, and a float16 sigmoid or softmax rounds the
    probabilities to steps of up to ~5e-4 (to exactly 1.0 above ~0.9995), so
    documents tie in a ranking and log-odds saturate; Keras' mixed-precision
    guide keeps the output layer in float32. None (the global policy) leaves
    every other model's config as it was.

    Returns
    -------
    str or None
    """
    import keras

    return "float32" if keras.config.dtype_policy().compute_dtype in ("float16", "bfloat16") else None


def dropout(x, spec, offset):
    """``x`` through a seeded Dropout layer named ``f"dropout{offset}"``, or unchanged when ``spec.dropout`` is 0.

    The explicit name (not Keras' per-process ``"dropout_3"``) keeps the saved
    config, and so the saved bytes, the same for the same fit.
    """
    import keras

    if spec.dropout:
        return keras.layers.Dropout(spec.dropout, seed=spec.layer_seed(offset), name=f"dropout{offset}")(x)
    return x


def output_layer(x, spec):
    """The common head: [dropout -> Dense(hidden_units, relu)] -> dropout -> output units."""
    if spec.hidden_units:
        x = dropout(x, spec, 4)
        x = dense(spec.hidden_units, "relu", spec, 5, "hidden")(x)
    x = dropout(x, spec, 6)
    return dense(spec.n_outputs, spec.activation, spec, 7, "output", dtype=output_dtype())(x)


# ---------------------------------------------------------------- builders
@register_architecture("flatten")
def _flatten(inputs, spec):
    """Embedding -> Flatten -> head; word order matters through position."""
    import keras

    if not spec.maxlen:
        raise ValueError("The 'flatten' architecture needs a fixed maxlen.")
    x = keras.layers.Flatten(name="flatten")(embed(inputs, spec))
    return output_layer(x, spec)


@register_architecture("bag")
def _bag(inputs, spec):
    """Embedding (masked) -> mean over the document's tokens -> head."""
    import keras

    x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(embed(inputs, spec, mask_zero=True))
    return output_layer(x, spec)


@register_architecture("cnn")
def _cnn(inputs, spec):
    """Embedding -> (Conv1D, max-pool) blocks -> max over time -> head."""
    import keras

    x = dropout(embed(inputs, spec), spec, 3)
    for block in range(spec.conv_blocks):
        x = keras.layers.Conv1D(
            spec.filters, spec.kernel_size, activation="relu", padding="same", name=f"conv{block}",
            kernel_initializer=keras.initializers.GlorotUniform(seed=spec.layer_seed(10 + block)),
        )(x)
        if block < spec.conv_blocks - 1:
            x = keras.layers.MaxPooling1D(2, padding="same", name=f"pool{block}")(x)
    x = keras.layers.GlobalMaxPooling1D(name="max_pool")(x)
    return output_layer(x, spec)


@register_architecture("rnn")
def _rnn(inputs, spec):
    """Embedding (masked) -> LSTM or GRU, bidirectional unless ``spec.bidirectional`` is False -> head."""
    import keras

    if spec.rnn_cell not in ("lstm", "gru"):
        raise ValueError(f"The 'rnn_cell' parameter must be 'lstm' or 'gru'; got {spec.rnn_cell!r}.")
    x = embed(inputs, spec, mask_zero=True)
    cell = (keras.layers.LSTM if spec.rnn_cell == "lstm" else keras.layers.GRU)(
        spec.rnn_units or spec.hidden_units or 32,
        kernel_initializer=keras.initializers.GlorotUniform(seed=spec.layer_seed(20)),
        recurrent_initializer=keras.initializers.Orthogonal(seed=spec.layer_seed(21)),
        seed=spec.layer_seed(22),
        name=spec.rnn_cell,  # Bidirectional names its copies "forward_lstm" / "backward_lstm"
    )
    # one direction is the chapter's layer_lstm(units=32): the layer itself, named "lstm" / "gru"
    x = keras.layers.Bidirectional(cell, name="birnn")(x) if spec.bidirectional else cell(x)
    return output_layer(x, spec)


@register_architecture("nbsvm")
def _nbsvm(inputs, spec):
    """Learnable per-id weights times frozen naive-Bayes ratios, summed (NBSVM++)."""
    import keras

    ratios = spec.embedding_matrix
    if ratios is None or ratios.shape[1] != spec.n_outputs:
        raise ValueError(
            "The 'nbsvm' architecture needs embedding_matrix = the naive-Bayes "
            f"log-count ratios, shape (vocab_size, n_outputs={spec.n_outputs})."
        )
    w = keras.layers.Embedding(
        spec.vocab_size, 1, name="nb_weights",
        embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=spec.layer_seed(1)),
    )(inputs)
    embedding = keras.layers.Embedding(spec.vocab_size, spec.n_outputs, trainable=False, name=_EMBEDDING_NAME)
    r = embedding(inputs)
    embedding.set_weights([ratios])
    logits = _nbsvm_layer_class()(w_adj=spec.nb_w_adj, r_adj=spec.nb_r_adj, name="nb_dot")([w, r])
    return keras.layers.Activation(spec.activation, name="output", dtype=output_dtype())(logits)


def build_model(
    architecture="bag",
    *,
    vocab_size,
    maxlen,
    embedding_dim=None,
    embedding_matrix=None,
    trainable=True,
    n_outputs=1,
    output="binary",
    hidden_units=0,
    dropout=0.0,
    filters=128,
    kernel_size=5,
    conv_blocks=1,
    rnn_cell="lstm",
    rnn_units=None,
    bidirectional=True,
    nb_w_adj=0.4,
    nb_r_adj=10.0,
    seed=None,
    optimizer=None,
    learning_rate=None,
):
    """Build a Keras text classifier.

    Parameters
    ----------
    architecture : str, default="bag"
        A registered architecture, one of ``ARCHITECTURES``: ``"flatten"``,
        ``"bag"``, ``"cnn"``, ``"rnn"``, ``"nbsvm"`` (see the module docstring)
        or one added with :func:`register_architecture`.
    vocab_size : int
        Number of ids (rows of the embedding), padding id 0 included.
    maxlen : int or None
        Sequence length; required by ``"flatten"``, optional elsewhere.
    embedding_dim : int, optional
        Embedding width when ``embedding_matrix`` is None.
    embedding_matrix : ndarray of shape (vocab_size, dim), optional
        Initial embedding weights (e.g. from
        :func:`toolkit.vectors.build_embedding_matrix`). For ``"nbsvm"`` this is
        the required matrix of naive-Bayes log-count ratios, one column per output.
    trainable : bool, "frozen" or "trainable", default=True
        Whether the embedding is trained: the matrix's rows, or without one
        the random initial weights (False, or ``"frozen"`` as
        :class:`~toolkit.models.EmbeddingClassifier` spells it, keeps them, as
        Keras' ``Embedding(trainable=False)``). Ignored for ``"nbsvm"``, whose ratio
        embedding is always frozen (its per-id weights always train).
    n_outputs : int, default=1
        Output units: 1 for binary, the number of classes or labels otherwise.
    output : {"binary", "multiclass", "multilabel"}, default="binary"
    hidden_units : int, default=0
        Width of a Dense(relu) layer before the output; 0 for none.
    dropout : float, default=0.0
        Dropout rate before the hidden and output layers.
    filters, kernel_size, conv_blocks : int
        CNN settings (``"cnn"`` only).
    rnn_cell : {"lstm", "gru"}, default="lstm"
        Recurrent layer (``"rnn"`` only): ``keras.layers.LSTM`` or ``GRU``.
    rnn_units : int, optional
        Units per direction (``"rnn"`` only); defaults to ``hidden_units or 32``.
    bidirectional : bool, default=True
        Whether the recurrent layer reads both ways (``keras.layers.Bidirectional``,
        named ``"birnn"``) or only forward (the layer itself, named after
        ``rnn_cell``); ``"rnn"`` only.
    nb_w_adj, nb_r_adj : float
        NBSVM++ constants (``"nbsvm"`` only): weight offset and ratio scale.
    seed : int, optional
        Seeds every initializer and dropout layer of this model only; nothing
        global is touched.
    optimizer : str, optional
        When given, the model is compiled (see :func:`compile_model`).
    learning_rate : float, optional
        Optimizer learning rate (with ``optimizer``).

    Returns
    -------
    keras.Model
        The embedding layer is named ``"embedding"``.

    Examples
    --------
    >>> from toolkit.models import build_model
    >>> model = build_model("bag", vocab_size=100, maxlen=20, embedding_dim=8)
    >>> model.output_shape
    (None, 1)
    """
    if architecture not in _BUILDERS:
        raise ValueError(
            f"The 'architecture' parameter of build_model must be a str among "
            f"{set(_BUILDERS)}. Got {architecture!r} instead."
        )
    if output not in OUTPUTS:
        raise ValueError(
            f"The 'output' parameter of build_model must be a str among {set(OUTPUTS)}. "
            f"Got {output!r} instead."
        )
    if output == "binary" and n_outputs != 1:
        raise ValueError(f"A binary output has 1 unit; got n_outputs={n_outputs}.")
    if output == "multiclass" and n_outputs < 2:
        # a softmax over one unit is always 1, and labels >= 1 crash Keras' loss deep in fit
        raise ValueError(
            f"A multiclass output needs one unit per class: set n_outputs to the number of classes "
            f"(>= 2); got n_outputs={n_outputs}. For two classes, output='binary' (1 unit) also works."
        )
    # numpy integers (a grid of np.arange values) as Python ints: Keras layers refuse np.int64 units
    vocab_size, maxlen, embedding_dim, n_outputs, hidden_units, filters, kernel_size, conv_blocks, rnn_units = (
        _as_int(name, value) for name, value in (
            ("vocab_size", vocab_size), ("maxlen", maxlen), ("embedding_dim", embedding_dim),
            ("n_outputs", n_outputs), ("hidden_units", hidden_units), ("filters", filters),
            ("kernel_size", kernel_size), ("conv_blocks", conv_blocks), ("rnn_units", rnn_units)))
    if maxlen is not None and maxlen < 1:  # an Input of shape (0,): the model saw no token, silently
        raise ValueError(f"The 'maxlen' parameter of build_model must be an int >= 1 or None; got {maxlen}.")
    if learning_rate is not None and optimizer is None:  # else dropped without a word: the model is not compiled
        raise ValueError(
            f"learning_rate={learning_rate!r} is used when build_model compiles the model: give optimizer too "
            "(optimizer='adam'), or pass learning_rate to compile_model."
        )
    if not isinstance(bidirectional, (bool, np.bool_)):  # "no" or "False" from a text config is truthy
        raise TypeError(
            f"The 'bidirectional' parameter of build_model must be a bool. Got {bidirectional!r} instead."
        )
    embedding_matrix, embedding_dim = _check_embedding(embedding_matrix, embedding_dim, vocab_size)
    spec = ModelSpec(
        architecture=architecture, vocab_size=vocab_size, maxlen=maxlen, embedding_dim=embedding_dim,
        embedding_matrix=embedding_matrix, trainable=_as_trainable(trainable, "build_model"), n_outputs=n_outputs,
        output=output, hidden_units=hidden_units, dropout=dropout, filters=filters,
        kernel_size=kernel_size, conv_blocks=conv_blocks, rnn_cell=rnn_cell, rnn_units=rnn_units,
        nb_w_adj=nb_w_adj, nb_r_adj=nb_r_adj, seed=seed, bidirectional=bool(bidirectional),
    )
    import keras

    with _names_counted_per_model():
        inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")
        model = keras.Model(inputs, _BUILDERS[architecture](inputs, spec), name=architecture)
    _name_operations(model)
    if optimizer is not None:
        compile_model(model, optimizer=optimizer, learning_rate=learning_rate, output=output)
    return model


def _as_trainable(trainable, function):
    """``trainable`` as a bool; the estimator's words ``"frozen"`` / ``"trainable"`` are read as they mean.

    ``bool("frozen")`` is True: ``build_model(..., trainable="frozen")``, the word of
    ``EmbeddingClassifier(trainable=...)``, trained the GloVe rows it was meant to keep, without a word.
    """
    if isinstance(trainable, (bool, np.bool_)) or trainable in (0, 1) and not isinstance(trainable, str):
        return bool(trainable)
    if isinstance(trainable, str) and trainable in ("frozen", "trainable"):
        return trainable == "trainable"
    extra = (" 'finetune' (frozen first, then trained) is EmbeddingClassifier(trainable='finetune')'s: build the "
             "model frozen, train it, then set_embedding_trainable(model, True) and compile it again."
             if trainable == "finetune" else "")
    raise ValueError(
        f"The 'trainable' parameter of {function} must be a bool (False keeps the embedding as given, as "
        f"Keras' Embedding(trainable=False)) or one of 'frozen', 'trainable'. Got {trainable!r} instead.{extra}"
    )


def _as_int(name, value):
    """``value`` as a Python int (None stays None); any integer type, numpy's included, is accepted."""
    if value is None:
        return None
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(
            f"The {name!r} parameter of build_model must be an int; got {value!r} "
            f"({type(value).__name__})."
        ) from None


def _check_embedding(embedding_matrix, embedding_dim, vocab_size):
    """(float32 matrix or None, embedding width or None), consistent with each other."""
    if embedding_matrix is None:
        return None, embedding_dim
    if isinstance(embedding_matrix, tuple) and len(embedding_matrix) == 2 \
            and hasattr(embedding_matrix[1], "token_coverage"):
        # build_embedding_matrix's (matrix, report) passed whole: numpy's "setting an array element with a
        # sequence ... inhomogeneous shape" did not say which argument or what to do
        raise ValueError(
            "embedding_matrix is the (matrix, report) pair that build_embedding_matrix returns; pass the matrix: "
            "matrix, report = build_embedding_matrix(vocabulary, vectors), then embedding_matrix=matrix."
        )
    try:
        embedding_matrix = np.asarray(embedding_matrix, dtype="float32")
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"embedding_matrix must be a 2-D array of floats of shape (vocab_size={vocab_size}, dim); got a "
            f"{type(embedding_matrix).__name__} that numpy cannot read as one ({err})."
        ) from None
    if embedding_matrix.ndim != 2 or embedding_matrix.shape[0] != vocab_size:
        raise ValueError(
            f"embedding_matrix must have shape (vocab_size={vocab_size}, dim); "
            f"got {embedding_matrix.shape}."
        )
    bad = ~np.isfinite(embedding_matrix.sum(axis=1, dtype=np.float64))  # one float per row, not a (V, d) mask
    if bad.any():
        # a NaN row gives NaN outputs for every document that holds its id, and a NaN loss from the first batch
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"embedding_matrix has NaN or infinite values in {rows.size} of its {embedding_matrix.shape[0]} "
            f"rows (the first: {rows[:5].tolist()}); fill those rows (zeros, or the mean of the finite rows) "
            "before building the model."
        )
    if embedding_dim is not None and embedding_dim != embedding_matrix.shape[1]:
        raise ValueError(
            f"embedding_dim={embedding_dim} disagrees with the embedding matrix "
            f"dimension {embedding_matrix.shape[1]}; leave embedding_dim=None to use "
            "the vectors' dimension."
        )
    return embedding_matrix, embedding_matrix.shape[1]


def compile_model(model, *, optimizer="adam", learning_rate=None, output="binary"):
    """Compile ``model`` with the loss and accuracy metric that fit ``output``.

    Parameters
    ----------
    model : keras.Model
    optimizer : {"adam", "adamw", "rmsprop", "sgd", "adagrad", "nadam"} or keras.optimizers.Optimizer, default="adam"
        A name, or an optimizer instance used as a template: the model gets
        a new optimizer made from its config (:func:`fresh_optimizer`), so
        the instance can serve any number of models.
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, optional
        None keeps the optimizer's default (an instance's own rate).
    output : {"binary", "multiclass", "multilabel"}, default="binary"

    Returns
    -------
    keras.Model
        The same model, compiled.
    """
    import keras

    loss = "sparse_categorical_crossentropy" if output == "multiclass" else "binary_crossentropy"
    if isinstance(optimizer, keras.optimizers.Optimizer):
        model.compile(optimizer=fresh_optimizer(optimizer, learning_rate), loss=loss, metrics=["accuracy"])
        return model

    classes = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": keras.optimizers.SGD,
        "adagrad": keras.optimizers.Adagrad,
        "nadam": keras.optimizers.Nadam,
    }
    if optimizer not in classes:
        raise ValueError(
            f"The 'optimizer' parameter must be a str among {set(OPTIMIZERS)}. "
            f"Got {optimizer!r} instead."
        )
    kwargs = {} if learning_rate is None else {"learning_rate": _as_learning_rate(learning_rate)}
    # "accuracy" resolves to the right metric for the loss, logged as "accuracy"
    # named: Keras' default name counts up per process ("adam", "adam_1", ...), and it is saved (config and weights)
    model.compile(optimizer=classes[optimizer](name=optimizer, **kwargs), loss=loss, metrics=["accuracy"])
    return model


def _as_learning_rate(learning_rate):
    """A schedule as it is, anything else as a float."""
    import keras

    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    return float(learning_rate)


def fresh_optimizer(optimizer, learning_rate=None):
    """A new, unbuilt optimizer with the config of ``optimizer`` (and ``learning_rate`` if given).

    A Keras optimizer is built for the variables of the first model it
    trains and refuses any other ("Unknown variable ... This optimizer can
    only be called for the variables it was originally built with"); an
    estimator fitted twice, cloned or grid-searched trains a new model each
    time, so each one gets its own copy. A learning-rate schedule in the
    config is copied too. A name that Keras numbered per process
    (``"sgd_3"``) becomes the class's base name, so the same fit saves the
    same bytes in any process.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        The template; it is not changed.
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, optional
        Replaces the template's learning rate.

    Returns
    -------
    keras.optimizers.Optimizer
        Of the same class as ``optimizer``.

    Examples
    --------
    >>> import keras
    >>> from toolkit.models.builders import fresh_optimizer
    >>> template = keras.optimizers.SGD(0.1, momentum=0.9)
    >>> copy = fresh_optimizer(template, learning_rate=0.01)
    >>> type(copy).__name__, round(float(copy.learning_rate), 4), copy.momentum, copy is template
    ('SGD', 0.01, 0.9, False)
    """
    import keras

    config = optimizer.get_config()
    if learning_rate is None:
        # a schedule is stateless (a function of the step): the template's own object serves every copy, also
        # one of the user's classes that from_config could not rebuild from its serialized form
        learning_rate = getattr(optimizer, "_learning_rate", None)
        if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            learning_rate = None
    if learning_rate is not None:
        config["learning_rate"] = _as_learning_rate(learning_rate)
    if "name" in config:
        config["name"] = _unnumbered_optimizer_name(type(optimizer), config["name"])
    _unnumber_inner_optimizer(optimizer, config)
    return type(optimizer).from_config(config)


def _unnumber_inner_optimizer(optimizer, config) -> None:
    """The wrapped optimizer's name in ``config`` unnumbered too (a ``LossScaleOptimizer``'s ``"adam_3"``).

    A wrapper serializes its inner optimizer whole, with the name Keras
    numbered in this process; nested wrappers are followed.
    """
    inner = getattr(optimizer, "inner_optimizer", None)
    serialized = config.get("inner_optimizer")
    if inner is None or not isinstance(serialized, dict) or not isinstance(serialized.get("config"), dict):
        return
    inner_config = serialized["config"]
    if "name" in inner_config:
        inner_config["name"] = _unnumbered_optimizer_name(type(inner), inner_config["name"])
    _unnumber_inner_optimizer(inner, inner_config)


def _unnumbered_optimizer_name(cls, name):
    """``name`` without the number Keras appended per process (``"sgd_3"`` -> ``"sgd"``) when it is ``cls``' default.

    Keras names an optimizer after its class (``keras.src.utils.naming.to_snake_case``:
    ``"sgd"``, ``"adam_w"``, ``"rm_sprop"``) and counts those names per process.
    Any other name, one the user chose, is returned unchanged.

    Parameters
    ----------
    cls : type
        The optimizer's class.
    name : str or None
        Its name.

    Returns
    -------
    str or None
    """
    import re

    # Keras' default name (keras.src.utils.naming.to_snake_case): "sgd", "adam_w", "rm_sprop"
    base = re.sub(r"\W+", "", cls.__name__)
    base = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", base)).lower()
    if isinstance(name, str) and re.fullmatch(rf"{re.escape(base)}(_\d+)?", name):
        return base
    return name


@contextlib.contextmanager
def _names_counted_per_model():
    """Keras' default names ("dense", "dense_1", ...) counted from zero inside the block, as in a fresh process.

    Keras counts them per process, so a layer that a registered architecture
    leaves unnamed was ``"dense_7"`` in one fit and ``"dense_9"`` in the next,
    and the same fit saved to different bytes. Inside one model the names stay
    unique; the process's own counters come back afterwards.
    """
    try:  # Keras' own counters (keras.utils.get_uid reads them)
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras that keeps them elsewhere: names counted per process, as before
        yield
        return
    key = "object_name_uids"
    before = global_state.get_global_attribute(key)
    global_state.set_global_attribute(key, collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute(key, before)


def _name_operations(model):
    """Give the graph's operations that are not layers per-model names instead of Keras' per-process ones.

    Such an operation cannot be named where it is made: the ``not_equal`` that
    an ``Embedding(mask_zero=True)`` adds for its mask is ``"not_equal"`` in the
    first model a process builds and ``"not_equal_1"`` in the next. Each one is
    renamed to its base name (the class's, without Keras' counter), numbered
    within this model only, so the same architecture gets the same config, and
    the same fit saves the same bytes, in any process. Layers keep their names:
    the builders name every layer, and an architecture added with
    :func:`register_architecture` gets Keras' default names counted within
    its model (:func:`_names_counted_per_model`).
    """
    import re

    import keras

    taken = {op.name for op in model.operations if isinstance(op, keras.layers.Layer)}
    for op in model.operations:
        if isinstance(op, keras.layers.Layer):
            continue
        base = re.sub(r"_\d+$", "", op.name)
        name, k = base, 0
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        op.name = name
        taken.add(name)


def set_embedding_trainable(model, trainable):
    """Freeze or unfreeze the layer named ``"embedding"`` (recompile afterwards).

    ``trainable`` is a bool, or ``"frozen"`` / ``"trainable"`` as
    :class:`~toolkit.models.EmbeddingClassifier` spells it.
    """
    model.get_layer(_EMBEDDING_NAME).trainable = _as_trainable(trainable, "set_embedding_trainable")
    return model

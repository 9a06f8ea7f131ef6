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
- ``"rnn"``: Embedding (mask_zero) -> Bidirectional LSTM or GRU -> [Dense] -> output.
- ``"nbsvm"``: the NB-weighted n-gram bag of fast.ai's "NBSVM++" (DotProdNB,
  2017): per-id learnable weights ``w`` (init ``w_adj``) times frozen
  naive-Bayes log-count ratios ``r`` (the ``embedding_matrix``, one column per
  output), summed over the document's ids. Feed it deduplicated uni/bi/trigram
  ids with a large vocabulary; reported at ~92% on IMDB.

Outputs: ``"binary"`` (one sigmoid unit), ``"multiclass"`` (softmax over
``n_outputs``), ``"multilabel"`` (one sigmoid per label).
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = [
    "ARCHITECTURES",
    "OUTPUTS",
    "OPTIMIZERS",
    "build_model",
    "compile_model",
    "set_embedding_trainable",
    "register_layers",
]

logger = logging.getLogger(__name__)

ARCHITECTURES = ("flatten", "bag", "cnn", "rnn", "nbsvm")
OUTPUTS = ("binary", "multiclass", "multilabel")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "adagrad", "nadam")

_EMBEDDING_NAME = "embedding"


def _seed(rng, offset):
    """A distinct int seed per layer, or None (unseeded)."""
    return None if rng is None else int((rng + 7919 * offset) % (2**31 - 1))


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


def register_layers():
    """Register toolkit's custom layers with Keras (call before loading a model)."""
    _nbsvm_layer_class()


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
    nb_w_adj=0.4,
    nb_r_adj=10.0,
    seed=None,
    optimizer=None,
    learning_rate=None,
):
    """Build a Keras text classifier.

    Parameters
    ----------
    architecture : {"flatten", "bag", "cnn", "rnn", "nbsvm"}, default="bag"
        See the module docstring.
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
    trainable : bool, default=True
        Whether the embedding is trained. Ignored for ``"nbsvm"``, whose ratio
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
    rnn_units : int, optional
        Units per direction (``"rnn"`` only); defaults to ``hidden_units or 32``.
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
    import keras

    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"The 'architecture' parameter of build_model must be a str among "
            f"{set(ARCHITECTURES)}. Got {architecture!r} instead."
        )
    if output not in OUTPUTS:
        raise ValueError(
            f"The 'output' parameter of build_model must be a str among {set(OUTPUTS)}. "
            f"Got {output!r} instead."
        )
    if output == "binary" and n_outputs != 1:
        raise ValueError(f"A binary output has 1 unit; got n_outputs={n_outputs}.")
    if embedding_matrix is not None:
        embedding_matrix = np.asarray(embedding_matrix, dtype="float32")
        if embedding_matrix.ndim != 2 or embedding_matrix.shape[0] != vocab_size:
            raise ValueError(
                f"embedding_matrix must have shape (vocab_size={vocab_size}, dim); "
                f"got {embedding_matrix.shape}."
            )
        if embedding_dim is not None and embedding_dim != embedding_matrix.shape[1]:
            raise ValueError(
                f"embedding_dim={embedding_dim} disagrees with the embedding matrix "
                f"dimension {embedding_matrix.shape[1]}; leave embedding_dim=None to use "
                "the vectors' dimension."
            )
        embedding_dim = embedding_matrix.shape[1]
    if architecture == "flatten" and not maxlen:
        raise ValueError("The 'flatten' architecture needs a fixed maxlen.")
    if architecture == "nbsvm":
        if embedding_matrix is None or embedding_matrix.shape[1] != n_outputs:
            raise ValueError(
                "The 'nbsvm' architecture needs embedding_matrix = the naive-Bayes "
                f"log-count ratios, shape (vocab_size, n_outputs={n_outputs})."
            )
    elif embedding_dim is None:
        raise ValueError("Give embedding_dim or embedding_matrix.")

    init = keras.initializers
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="token_ids")

    if architecture == "nbsvm":
        w = keras.layers.Embedding(
            vocab_size, 1, embeddings_initializer=init.RandomUniform(-0.1, 0.1, seed=_seed(seed, 1)),
            name="nb_weights",
        )(inputs)
        embedding = keras.layers.Embedding(vocab_size, n_outputs, trainable=False, name=_EMBEDDING_NAME)
        r = embedding(inputs)
        logits = _nbsvm_layer_class()(w_adj=nb_w_adj, r_adj=nb_r_adj, name="nb_dot")([w, r])
        activation = "softmax" if output == "multiclass" else "sigmoid"
        outputs = keras.layers.Activation(activation, name="output")(logits)
        model = keras.Model(inputs, outputs, name="nbsvm")
        embedding.set_weights([embedding_matrix])
        return _maybe_compile(model, optimizer, learning_rate, output)

    embedding = keras.layers.Embedding(
        vocab_size,
        embedding_dim,
        embeddings_initializer=init.RandomUniform(-0.05, 0.05, seed=_seed(seed, 2)),
        mask_zero=architecture in ("bag", "rnn"),
        trainable=bool(trainable) or embedding_matrix is None,
        name=_EMBEDDING_NAME,
    )
    x = embedding(inputs)

    def dense(units, activation, offset, name):
        return keras.layers.Dense(
            units, activation=activation, name=name,
            kernel_initializer=init.GlorotUniform(seed=_seed(seed, offset)),
        )

    def drop(x, offset):
        if dropout:
            return keras.layers.Dropout(dropout, seed=_seed(seed, offset))(x)
        return x

    if architecture == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    elif architecture == "bag":
        x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x)
    elif architecture == "cnn":
        x = drop(x, 3)
        for block in range(conv_blocks):
            x = keras.layers.Conv1D(
                filters, kernel_size, activation="relu", padding="same", name=f"conv{block}",
                kernel_initializer=init.GlorotUniform(seed=_seed(seed, 10 + block)),
            )(x)
            if block < conv_blocks - 1:
                x = keras.layers.MaxPooling1D(2, padding="same", name=f"pool{block}")(x)
        x = keras.layers.GlobalMaxPooling1D(name="max_pool")(x)
    else:  # rnn
        if rnn_cell not in ("lstm", "gru"):
            raise ValueError(f"rnn_cell must be 'lstm' or 'gru'; got {rnn_cell!r}.")
        cell = keras.layers.LSTM if rnn_cell == "lstm" else keras.layers.GRU
        units = rnn_units or hidden_units or 32
        x = keras.layers.Bidirectional(
            cell(
                units,
                kernel_initializer=init.GlorotUniform(seed=_seed(seed, 20)),
                recurrent_initializer=init.Orthogonal(seed=_seed(seed, 21)),
                seed=_seed(seed, 22),
            ),
            name="birnn",
        )(x)
    if hidden_units:
        x = drop(x, 4)
        x = dense(hidden_units, "relu", 5, "hidden")(x)
    x = drop(x, 6)
    activation = "softmax" if output == "multiclass" else "sigmoid"
    outputs = dense(n_outputs, activation, 7, "output")(x)
    model = keras.Model(inputs, outputs, name=architecture)
    if embedding_matrix is not None:
        embedding.set_weights([embedding_matrix])
    return _maybe_compile(model, optimizer, learning_rate, output)


def _maybe_compile(model, optimizer, learning_rate, output):
    if optimizer is not None:
        compile_model(model, optimizer=optimizer, learning_rate=learning_rate, output=output)
    return model


def compile_model(model, *, optimizer="adam", learning_rate=None, output="binary"):
    """Compile ``model`` with the loss and accuracy metric that fit ``output``.

    Parameters
    ----------
    model : keras.Model
    optimizer : {"adam", "adamw", "rmsprop", "sgd", "adagrad", "nadam"}, default="adam"
    learning_rate : float, optional
        None keeps the optimizer's default.
    output : {"binary", "multiclass", "multilabel"}, default="binary"

    Returns
    -------
    keras.Model
        The same model, compiled.
    """
    import keras

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
    kwargs = {} if learning_rate is None else {"learning_rate": float(learning_rate)}
    loss = "sparse_categorical_crossentropy" if output == "multiclass" else "binary_crossentropy"
    # "accuracy" resolves to the right metric for the loss, logged as "accuracy"
    model.compile(optimizer=classes[optimizer](**kwargs), loss=loss, metrics=["accuracy"])
    return model


def set_embedding_trainable(model, trainable):
    """Freeze or unfreeze the layer named ``"embedding"`` (recompile afterwards)."""
    model.get_layer(_EMBEDDING_NAME).trainable = bool(trainable)
    return model

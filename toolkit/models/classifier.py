"""Keras text classifiers as scikit-learn estimators.

:class:`EmbeddingClassifier` takes token lists (or a
:class:`~toolkit.text.corpus.TokenizedCorpus`), builds a vocabulary, pads the id
sequences and trains one of the :mod:`toolkit.models` architectures, optionally
initialised from pretrained word vectors. :func:`make_text_classifier` puts a
:class:`~toolkit.text.tokenizer.SpacyTokenizer` in front, for raw text.

Keras and TensorFlow are imported inside the methods that need them.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import inspect
import logging
import numbers
import os
import reprlib
import threading
import warnings
import weakref
from functools import cache, cached_property

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    Interval,
    MissingParamsMixin,
    Options,
    TextInputMixin,
    _first_label_list,
    check_class_weight_values,
    one_hot_columns,
    refuse_tensorflow_input,
    validate_params,
)
from ..exceptions import DocumentError
from . import builders
from ._keras_io import (
    import_keras,
    keras_from_bytes,
    keras_in_safe_mode,
    keras_to_bytes,
    thread_dtype_policy,
)

__all__ = ["EmbeddingClassifier", "make_text_classifier"]

logger = logging.getLogger(__name__)

# learning rate used when learning_rate=None with an Adam-family optimizer; "bag"'s
# (and the default batch_size, 128) chosen on a validation split of the IMDB training set by
# benchmarks/tune_models.py --groups bag (results/tune_models_nbsvm_bag.json, BENCHMARKS.md)
_DEFAULT_LEARNING_RATE = {"bag": 0.02, "nbsvm": 0.02, "nbsvm_vectors": 0.02}
_NB_ARCHITECTURES = ("nbsvm", "nbsvm_vectors")  # distinct n-gram ids, naive-Bayes ratios
_ADAM_FAMILY = ("adam", "adamw", "nadam")
_LEARNED_EMBEDDING_DIM = 50
_FINETUNE_LR_FACTOR = 0.1
# a training whose kept weights' loss is over this many times an untrained model's has diverged
# (EmbeddingClassifier._check_not_diverged)
_DIVERGED_LOSS_FACTOR = 10
# predict: direct model calls up to this many batches, Model.predict beyond
# (crossover measured at 4-8 batches of 256 rows, benchmarks/bench_predict_path.py)
_DIRECT_CALL_BATCHES = 4
# oov="nearest": a word n-gram holding a new word becomes the n-gram of the mapped words where the vocabulary
# has it (True), or stays OOV (False: new words alone are mapped); benchmarks/tune_oov_nearest.py compares both
_OOV_NGRAMS = True
_OOV_WARNED: set = set()  # cache entries of oov="nearest" found gone, warned about once per process
_SAID_ONCE: set = set()  # the messages _warn_once has shown in this process
# EmbeddingClassifier._logit_head of each Keras model, made once (whichever thread asks first) and kept with the
# model, outside the estimator: prediction leaves the estimator's __dict__ as it was (scikit-learn's
# check_dict_unchanged), a pickle or a refit has nothing to drop, and the entry goes with its model
_LOGIT_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOGIT_HEAD_LOCK = threading.Lock()
# EmbeddingClassifier._nb_arrays of each Keras model of the NB architectures, (weights as numpy, stamp), read at the
# first prediction and kept with the model for the same reasons (scikit-learn's check_dict_unchanged: the first
# predict added them to the estimator's __dict__)
_NB_ARRAYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# the NB architectures train on their rows kept flat, each batch padded to its own longest row (_FlatRows); False
# pads every training row to maxlen_ first, as fit did before: the reference of tests/test_flat_training.py
_FLAT_NB_TRAINING = True
# rows gathered per step by _gather_rows (bounds its int64 index arrays)
_GATHER_CHUNK = 4096
# who hears of the documents without tokens of a prediction call (EmbeddingClassifier._warn_empty): the log (None),
# or the list of a caller that predicts one part of a larger input and says itself where they are, as
# toolkit.distributed.prediction does ("partition 3 of the bag"); set by _noting_empty_documents
_EMPTY_NOTES: contextvars.ContextVar = contextvars.ContextVar("toolkit_empty_documents", default=None)
# attributes of a Keras Model (or History) that the estimator has under another name: the hint its
# AttributeError gives
_KERAS_MODEL_HINTS = {
    "history": "fit returns the estimator, not a Keras History: the per-epoch metrics are history_ (a dict "
               "like History.history, after fit).",
    "summary": "The Keras model is model_ (after fit): clf.model_.summary().",
    "evaluate": "Score with clf.score(X, y) (accuracy) or a scikit-learn metric on clf.predict_proba(X); the "
                "Keras model is model_, and clf.model_inputs(X) is what it takes.",
    "save": "Save the estimator with toolkit.save_model(clf, path) and read it with toolkit.load_model(path); "
            "clf.model_.save(...) writes the Keras model alone, without the vocabulary and classes.",
    "save_weights": "The Keras model is model_ (after fit): clf.model_.save_weights('model.weights.h5') writes "
                    "its weights alone; toolkit.save_model(clf, path) saves the estimator with the vocabulary and "
                    "classes that predict needs.",
    "load_weights": "Read a saved estimator with toolkit.load_model(path); weights saved from clf.model_ go back "
                    "with clf.model_.load_weights(...) into an estimator fitted with the same vocabulary.",
    "get_weights": "The Keras model is model_ (after fit): clf.model_.get_weights().",
    "layers": "The Keras model is model_ (after fit): clf.model_.layers.",
}


class _KerasModelHint:
    """A class attribute that is not there: reading it raises the AttributeError of :data:`_KERAS_MODEL_HINTS`.

    A descriptor, not ``__getattr__``: that would also catch (and hide) an AttributeError raised inside a
    property such as ``model_``. ``hasattr`` stays False.
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        raise AttributeError(f"{(owner or type(obj)).__name__!r} object has no attribute {self.name!r}. "
                             f"{_KERAS_MODEL_HINTS[self.name]}", name=self.name, obj=obj)


@contextlib.contextmanager
def _noting_empty_documents():
    """Context manager: the prediction methods note their documents without tokens in the list it yields.

    One dict per prediction call that met some: ``count``, ``n`` (the
    call's documents), ``first`` (the first one's position among them) and
    ``prior`` (the class prior they get), in place of the warning that
    numbers them "of X". For a caller that predicts one part of a larger
    input and names the part itself (a Dask partition). A context variable:
    this thread (or asyncio task) only.
    """
    notes = []
    token = _EMPTY_NOTES.set(notes)
    try:
        yield notes
    finally:
        _EMPTY_NOTES.reset(token)


def _check_random_state(random_state):
    """A RandomState from None, an int, a RandomState or a numpy Generator (drawn from once)."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(0, 2**32)))
    return check_random_state(random_state)


def _check_sample_weight(sample_weight, n_samples, estimator):
    """``sample_weight`` as float32 of shape (n_samples,): a scalar is broadcast; None stays None.

    Negative, NaN/inf or all-zero weights are refused: Keras trains on them
    silently (a negative or NaN loss, or no gradient at all).
    """
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype="float64")
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},); got {weights.shape}.")
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise ValueError(
            f"sample_weight of {estimator} must be finite; got {weights[bad[0]]} at index {int(bad[0])} "
            f"({bad.size} non-finite weight(s) in all). Fill or drop the missing weights first."
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise ValueError(
            f"sample_weight of {estimator} must be non-negative; got {weights[negative[0]]} at index "
            f"{int(negative[0])} ({negative.size} negative weight(s) in all)."
        )
    if n_samples and not weights.any():
        raise ValueError(
            f"sample_weight of {estimator} is 0 for every document: nothing would be learned. Give "
            "at least one document a positive weight."
        )
    return weights.astype("float32")


class _RegisteredArchitectures(Options):
    """The architectures registered in :mod:`toolkit.models.builders`, read at check time."""

    def __init__(self):
        pass

    @property
    def values(self):
        return frozenset(builders.ARCHITECTURES)


class _KerasInstance:
    """A parameter constraint: an instance of the Keras class ``keras.<path>`` (Keras imported only to check one)."""

    def __init__(self, path):
        self.path = path

    def _class(self):
        import keras

        cls = keras
        for part in self.path.split("."):
            cls = getattr(cls, part)
        return cls

    def __contains__(self, value):
        # only an object of a Keras class (or of a subclass of one) can be one: a plain value is refused without
        # importing Keras
        keras_based = any(cls.__module__.split(".")[0] == "keras" for cls in type(value).__mro__)
        return keras_based and isinstance(value, self._class())

    def __str__(self):
        return f"a keras.{self.path} instance"


class EmbeddingClassifier(MissingParamsMixin, TextInputMixin, ClassifierMixin, BaseEstimator):
    """Keras embedding classifier over token lists, in scikit-learn's style.

    Parameters
    ----------
    architecture : {"bag", "flatten", "cnn", "rnn", "nbsvm", "nbsvm_vectors"}, default="bag"
        Model graph, see :func:`toolkit.models.build_model`. ``"nbsvm"`` is
        fast.ai's NBSVM++: it ignores ``vectors``, ``embedding_dim``,
        ``hidden_units`` and ``dropout`` (one weight per n-gram times its
        naive-Bayes ratio, summed) and computes the ratios from the training
        rows: log-count ratios for two classes (and for each label of a
        multilabel target), complement naive-Bayes ratios for more than two
        classes (with one-vs-rest ratios, classes of tens of documents scored
        22-40 points lower on 50-200 classes; :func:`_complement_ratios`). ``"nbsvm_vectors"``
        (:mod:`toolkit.models.hybrid`) adds a branch over the mean word
        vector of the document, trained jointly, so the vectors add to the
        n-gram evidence; it needs ``vectors``. Both take uni/bi/trigram tokens
        (``SpacyTokenizer(ngram_range=(1, 3))`` or ``corpus.ngrams((1, 3))``);
        the recipe chosen on validation data is
        :data:`toolkit.models.recipes.NBSVM_RECIPE`.
    vectors : str, path-like or tuple, default=None
        Pretrained word vectors as a path or a manifest name (e.g.
        ``"glove.6B.50d"``), loaded in ``fit`` through
        :func:`toolkit.vectors.load_vectors` (process-level memo), or a
        domain spec such as ``"word2vec:unsup"`` or ``"fasttext:/path/texts.txt"``:
        vectors trained in ``fit`` on the training documents plus the named
        unlabelled texts, cached by content (:mod:`toolkit.vectors.domain`).
        None learns the embedding from scratch. The vectors are never stored
        on the estimator; only the rows of the vocabulary end up in the model.
    trainable : {"trainable", "frozen", "finetune"}, default="trainable"
        What happens to pretrained vectors: trained with the rest, kept frozen,
        or frozen for the first ``frozen_epochs`` epochs and then trained with
        the learning rate times 0.1 (a schedule goes on from the step it had
        reached, times 0.1). Learned embeddings (``vectors=None``) are
        always trained.
    max_tokens : int >= 3 or None, default=20000
        Vocabulary size including the padding and OOV ids; None for no limit.
    min_count : int, default=1
        Minimum training count for a token to get an id.
    maxlen : int, default=400
        Padded sequence length; None uses the longest training document.
    padding, truncating : {"pre", "post"}, default="pre"
        Side where padding is added and where long documents are cut
        (``keras.utils.pad_sequences`` semantics; "pre" keeps the last tokens).
        ``"nbsvm"`` always keeps the most frequent distinct ids.
    embedding_dim : int, default=None
        Width of a learned embedding (None: 50). With ``vectors``, None uses
        the vectors' dimension and any other value must equal it.
    hidden_units : int, default=0
        Width of a Dense(relu) layer before the output; 0 for none. With
        ``architecture="rnn"`` and ``rnn_units=None`` it also sets the
        recurrent layer's units.
    dropout : float, default=0.0
        Dropout rate before the dense layers.
    filters : int, default=128
        Filters of each ``Conv1D`` layer (``architecture="cnn"`` only).
    kernel_size : int, default=5
        Window of each ``Conv1D`` layer, in tokens (``"cnn"`` only).
    conv_blocks : int, default=1
        Number of ``Conv1D`` layers, each but the last followed by
        ``MaxPooling1D(2)``, before the max over time (``"cnn"`` only).
    rnn_cell : {"lstm", "gru"}, default="lstm"
        Recurrent layer of ``architecture="rnn"``: ``keras.layers.LSTM`` or
        ``keras.layers.GRU``.
    rnn_units : int, default=None
        Units of the recurrent layer, per direction (``"rnn"`` only). None
        uses ``hidden_units``, or 32 when that is 0.
    bidirectional : bool, default=True
        Whether the recurrent layer reads the document both ways
        (``keras.layers.Bidirectional``, twice the units) or forward only, as
        ``keras.layers.LSTM(32)`` alone (``"rnn"`` only).

        The CNN and RNN settings above are ignored by the other built-in
        architectures, as ``embedding_dim``, ``hidden_units`` and ``dropout``
        are by ``"nbsvm"``; ``fit`` logs at INFO those set to another value
        than their default there (not a warning: a grid search over
        ``architecture`` may hold each one's settings). An architecture of
        one's own (:func:`toolkit.models.register_architecture`) reads them
        from its ``spec``.
    optimizer : {"adam", "adamw", "rmsprop", "sgd", "adagrad", "nadam"} or keras.optimizers.Optimizer, default="adam"
        A name, or a Keras optimizer instance such as
        ``keras.optimizers.SGD(0.05, momentum=0.9)``. An instance is a
        template: each model trains with a new optimizer made from its
        config (a Keras optimizer serves one model only), so the same
        estimator can be fitted again, cloned and grid-searched; the instance
        itself is never built or changed. :func:`toolkit.save_model` stores
        it, as a schedule in ``learning_rate``, as Keras' own JSON config
        (``keras.saving.serialize_keras_object``; never a pickle), and
        :func:`toolkit.load_model` rebuilds an object of the same config in
        Keras' safe mode, so the loaded estimator refits as this one does.
        A class of your own must be registered with
        ``keras.saving.register_keras_serializable`` (in a module imported
        before loading, not ``__main__``); ``save_model`` says so otherwise.
        A name Keras numbered per process (``"adam_w_2"``) is saved as its
        base name (``"adam_w"``).
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, default=None
        Replaces the optimizer's learning rate (also that of an optimizer
        instance). None keeps an instance's own rate and a named optimizer's
        default, except with the Adam family
        (adam, adamw, nadam): 0.02 for ``"bag"``, ``"nbsvm"`` and
        ``"nbsvm_vectors"``. The bag's rate and the default ``batch_size``
        were chosen on a validation split of the IMDB training set
        (``benchmarks/tune_models.py``).
    epochs : int, default=10
        Maximum number of epochs.
    batch_size : int, default=128
    validation_split : float, default=0.1
        Fraction of the training data held out (stratified) to monitor
        ``val_loss``; 0 monitors the training loss (``fit`` logs a note at
        INFO: it seldom stops falling, so early stopping seldom stops). A
        class of one document keeps it for training (the other classes' rows
        give the held-out ones); the split is not stratified when the
        held-out (or the remaining) rows are fewer than the classes. A split
        that leaves fewer training documents than classes is refused
        (``ValueError``); the training rows always hold every class, and
        held-out rows that miss a class are logged (WARNING).
    patience : int, default=2
        Early stopping: stop after this many epochs in a row without
        improvement of the monitored loss (``val_loss``, or the training loss
        when ``validation_split=0``) and restore the best weights (0 and 1
        both stop at the first such epoch, as Keras' ``EarlyStopping``).
        None trains all epochs (and still restores the best weights). With
        ``trainable="finetune"`` and ``0 < frozen_epochs < epochs`` the count
        starts at the unfreeze: the frozen epochs never stop training (train
        the head, then unfreeze and train again), and the restored weights
        are still those of the best epoch of either phase.
    frozen_epochs : int, default=2
        Epochs with frozen vectors before unfreezing (``trainable="finetune"``);
        0 trains them from the first epoch, at the full learning rate. Early
        stopping (``patience``) waits for the unfreeze; a callback that stops
        training before it logs a WARNING (the vectors were never trained).
    class_weight : dict, "balanced" or None, default=None
        Weights per class, applied as sample weights. As in scikit-learn,
        classes missing from a dict weigh 1, and keys of classes absent from
        ``y`` (a rare class a cross-validation fold lacks) are ignored when
        every class of ``y`` has a weight.
    random_state : int, RandomState instance, Generator instance or None, default=None
        Seeds the split, the per-epoch shuffling, the initializers and the
        dropout of this estimator only (no global seeding). An int gives
        identical fits on the same machine, in any process and whatever
        ``PYTHONHASHSEED``, with the same TensorFlow thread settings (one
        intra-op thread instead of the default moved a ``"cnn"`` fit's
        probabilities by up to 6e-8). Domain ``vectors`` train on one thread
        by default (their ``workers=1``), so they are the same bits in any
        fresh cache; with more threads only the same cache gives the same fit
        again (:mod:`toolkit.vectors.domain`). A ``numpy.random.Generator`` is
        drawn from once per fit, like a RandomState.
    verbose : int, default=0
        0 silent, 1 a progress bar over epochs (tqdm, on stderr), 2 Keras'
        own output on stdout: an ``Epoch k/epochs`` line and one line of
        metrics per epoch.
    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks for training (``EarlyStopping``, ``ModelCheckpoint``,
        ``CSVLogger``, ``ReduceLROnPlateau``, ``LambdaCallback``...), called
        as one ``model.fit`` would call them: ``on_train_begin`` once, the
        epochs numbered from 0 to ``epochs - 1``, ``on_train_end`` once after
        the estimator has restored its best weights (so a callback that
        restores weights of its own, such as
        ``EarlyStopping(restore_best_weights=True)``, has the last word). A
        callback that sets ``model.stop_training`` ends training after that
        epoch, beside the estimator's own early stopping (``patience``;
        ``patience=None`` leaves stopping to the callbacks). The objects
        given are templates, as scikit-learn's ``clone`` treats them: each
        ``fit`` trains with deep copies, so the objects passed stay unused
        (clonable, picklable) and a refit or a clone starts from fresh ones;
        the copies that ran are ``callbacks_``. Files a callback writes
        (``ModelCheckpoint``, ``CSVLogger``) go to the paths it names, shared
        by every fit of a grid search. :func:`toolkit.save_model` saves them
        as None (the fitted model does not depend on them).
    dtype_policy : str, default=None
        Keras' dtype policy for this estimator's models, such as
        ``"mixed_float16"`` or ``"mixed_bfloat16"`` (the output layer stays
        float32). None uses Keras' global policy
        (``keras.mixed_precision.set_global_policy``) of the thread that
        fits. Keras keeps that global policy per thread, so fits that run in
        other threads (joblib's threading backend, a ``GridSearchCV`` with
        ``n_jobs``) or processes do not see a policy set in the main thread;
        a policy given here goes with the estimator (clones, pickles,
        :func:`toolkit.save_model`) to every fit, wherever it runs. It is
        set for the fitting thread only, while the model is built and
        trained, and the thread's own policy comes back afterwards.
    oov : {"unknown", "nearest"}, default="unknown"
        What a token outside ``vocabulary_`` becomes when predicting (and in
        :meth:`model_inputs`). ``"unknown"``: the OOV id 1. ``"nearest"``:
        with fastText vectors that carry subword vectors (a fastText
        ``.bin`` file, a ``"fasttext:..."`` domain spec), the id of the
        vocabulary word whose vector is most similar (cosine) to the token's
        fastText vector (its own, or built from its character n-grams: the
        misspelling ``"awfull"`` finds ``"awful"``), when that similarity is at
        least ``oov_threshold``; the OOV id otherwise. The model is not
        changed (no row is added): the token borrows its neighbour's row.
        The candidates are the vocabulary's words (not its word n-grams),
        compared through the vectors given, not the trained embedding. In
        documents of word n-grams (``corpus.ngrams(...)``, with its own
        separator; in token lists, tokens holding a space), a new word is
        mapped, and an n-gram holding one becomes the n-gram of the mapped
        words where the vocabulary has it (the OOV id otherwise); ``"nbsvm"``
        reads ``vectors`` for this alone. ``fit`` keeps the path of the vectors'
        cache entry (``oov_vectors_``, never the vectors) and predictions
        open it memory-mapped, once per process; each token is looked up
        once per fitted estimator. Where the entry is gone (cache cleared,
        another machine) a warning says so and new tokens get the OOV id.
        With other vectors (GloVe, word2vec), fastText vectors held in
        memory, or ``vectors=None``, ``fit`` warns (``UserWarning``) that
        the option does nothing. Read when predicting: ``set_params`` of
        ``oov`` or ``oov_threshold`` on a fitted estimator takes effect
        without a refit (``oov="nearest"`` only where it was fitted so).
        Opt-in, as measured on validation splits of the IMDB training set
        (fit on 1,000 or 5,000 reviews with ``min_count=3``, 5,000 others
        scored, 3 seeds, fastText trained on 10,000 further reviews;
        ``benchmarks/tune_oov_nearest.py``): at ``oov_threshold=0.9``,
        ``"bag"`` gained 0.2 accuracy points (within 1-2 standard errors)
        and ``"nbsvm"`` lost 0.15-0.55 points: the nearest words are
        mostly alike in spelling, not in meaning (``"dwindling"`` finds
        ``"ceiling"``, ``"disaffected"`` ``"affected"``); predicting
        took about 0.2 s (``"bag"``) to 0.4 s (``"nbsvm"``, 1-3-grams) more
        per 1,000 reviews for the first call, and nothing to 0.2 s once
        the tokens are known.
    oov_threshold : float in [-1, 1], default=0.9
        The least cosine similarity for ``oov="nearest"`` to map a token.
        fastText vectors of a review corpus are alike: at 0.9 about 60-75%
        of the unknown words of IMDB reviews were mapped, at 0.5 all of
        them. 0.9 scored best for ``"bag"`` among 0.5-0.99 averaged over
        both sizes (same benchmark; 0.8 and 0.95 did as well at one size
        each); ``"nbsvm"`` lost accuracy at every threshold below 0.99.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (the label indices for multilabel targets).
    output_ : {"binary", "multiclass", "multilabel"}
        The kind of target seen in ``fit``, which sets the output layer.
    class_prior_ : ndarray of shape (n_classes,)
        Frequency of each class in the training ``y`` (of each label, for
        multilabel targets). A document with no tokens carries no evidence:
        ``predict_proba`` gives it these frequencies, and ``predict`` the most
        frequent class.
    vocabulary_ : toolkit.text.vocabulary.Vocabulary
        Token to id mapping learned in fit. Row ``i`` of the ``"embedding"``
        layer's weights (``model_.get_layer("embedding").get_weights()[0]``)
        is the vector of ``vocabulary_.tokens[i]``: ``kv = KeyedVectors(dim);
        kv.add_vectors(vocabulary_.tokens, weights)`` gives gensim's
        ``most_similar``. For ``"nbsvm"`` and ``"nbsvm_vectors"`` that layer
        holds the frozen naive-Bayes ratios; their learned weight of each
        n-gram is in :func:`toolkit.models.hybrid.nb_model_weights`
        (``"weighted"`` / ``"r_adj"``: its addition to the logit).
    maxlen_ : int
        Padded sequence length used by the model. For ``"nbsvm"`` /
        ``"nbsvm_vectors"``, the length their rows of distinct ids are cut at
        (the longest training row with ``maxlen=None``) and the width of
        :meth:`model_inputs`; their model takes rows of any length, and is
        trained on batches each padded to its own longest row only, not on
        every row padded to ``maxlen_``.
    model_ : keras.Model
        The trained model. An unpickled ``"nbsvm"`` / ``"nbsvm_vectors"``
        classifier (e.g. a :class:`~toolkit.models.StackedTextClassifier`
        member loaded by :func:`toolkit.load_model`), or one loaded from a
        model folder with ``nb_weights.npz``, predicts from its weights as
        numpy arrays and rebuilds the Keras model only when ``model_`` is
        read (a folder's in Keras' safe mode), so loading and predicting
        never import Keras. Its input is :meth:`model_inputs`; its output,
        probabilities (one column for a binary target: the second class's).
        ``model_.save("model.keras")`` writes a file that
        ``keras.saving.load_model`` reads; the NB architectures' custom
        layers need ``toolkit.models.builders.register_layers()`` first, as
        does the optimizer of a model fine-tuned (``trainable="finetune"``)
        with a schedule as ``learning_rate``: after the unfreeze it trains
        with the schedule times 0.1, continued from the step it had reached
        (:func:`toolkit.models.builders.scaled_schedule`).
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``accuracy`` and, with validation, ``val_loss``
        and ``val_accuracy``, of the last ``fit`` (which starts it afresh).
        Epochs run on the Keras model directly (``clf.model_.fit(...)``)
        are Keras' own: their ``History`` is what that call returns, and
        neither ``history_`` nor ``best_epoch_`` sees them. To keep one
        record, extend it yourself: ``for key, values in
        clf.model_.fit(...).history.items(): clf.history_.setdefault(key,
        []).extend(values)``.
    best_epoch_ : int
        Index of the epoch whose weights were kept: the estimator's best
        epoch, or the best epoch of an ``EarlyStopping(restore_best_weights=True)``
        among ``callbacks``, whose weights replace the estimator's.
    callbacks_ : list of keras.callbacks.Callback
        The copies of ``callbacks`` that ran in the last ``fit``, with their
        state (``EarlyStopping``'s ``stopped_epoch``...); they no longer hold
        the model. Empty without ``callbacks``; not pickled.
    embedding_coverage_ : toolkit.vectors.CoverageReport or None
        How much of the vocabulary the vectors cover (None without vectors).
    oov_vectors_ : str or None
        With ``oov="nearest"``: the cache entry folder of the fastText
        vectors that place new tokens; None otherwise.
    tokenizer_params_ : dict or None
        The :class:`~toolkit.text.SpacyTokenizer` parameters of the
        :class:`~toolkit.distributed.CorpusStore` that
        :func:`~toolkit.distributed.fit_from_store` trained on (the store's
        ``tokenizer``): ``make_pipeline(SpacyTokenizer(**clf.tokenizer_params_), clf)``
        predicts raw texts tokenized as the training documents were. None
        after ``fit``, whose token lists came from an unknown tokenizer.

    Notes
    -----
    Documents with no tokens (empty, or markup only once tokenized) are
    refused by ``fit`` but get a prediction from ``predict`` and the other
    prediction methods: the class prior ``class_prior_`` (logged at WARNING
    level with their count), so one such document never aborts a batch.

    Pickling stores the Keras model as ``.keras`` bytes and restores it with
    Keras' safe mode off: only unpickle files you trust. For a safe long-term
    format use :func:`toolkit.save_model` / :func:`toolkit.load_model`.

    ``keras.backend.clear_session()`` resets Keras' global state for every
    thread of the process, not only the caller's (Keras 3.15 replaces its
    per-thread store as a whole), clears TensorFlow's kernel cache and runs
    a garbage collection. Fits (``"bag"``, ``"cnn"``, ``"nbsvm"``,
    ``"rnn"``) and predictions in other threads beside a loop of
    ``clear_session()`` calls every 5-50 ms all finished, slower (kernels
    are made again); the ``"bag"`` and ``"cnn"`` fits compared gave the
    same probabilities bit for bit. What it loses is a dtype policy: one set with
    ``keras.mixed_precision.set_global_policy`` in any thread is gone, and
    a fit whose model was being built at that moment would mix float16 and
    float32 layers, so it raises a ``RuntimeError`` instead (fit again).
    ``dtype_policy`` is set again by each fit. Call ``clear_session()`` when
    no other thread fits.

    Examples
    --------
    >>> from toolkit.models import EmbeddingClassifier
    >>> docs = [["good", "film"], ["bad", "film"], ["great", "fun"], ["awful", "bore"]] * 5
    >>> clf = EmbeddingClassifier(embedding_dim=4, maxlen=3, epochs=2, random_state=0)
    >>> clf.fit(docs, ["pos", "neg", "pos", "neg"] * 5).predict([["good", "fun"]]).shape
    (1,)
    """

    _parameter_constraints = {
        "architecture": [_RegisteredArchitectures()],
        "vectors": [str, os.PathLike, tuple, None],
        "trainable": [Options({"trainable", "frozen", "finetune"})],
        "max_tokens": [Interval(int, 3, None), None],
        "min_count": [Interval(int, 1, None)],
        "maxlen": [Interval(int, 1, None), None],
        "padding": [Options({"pre", "post"})],
        "truncating": [Options({"pre", "post"})],
        "embedding_dim": [Interval(int, 1, None), None],
        "hidden_units": [Interval(int, 0, None)],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "filters": [Interval(int, 1, None)],
        "kernel_size": [Interval(int, 1, None)],
        "conv_blocks": [Interval(int, 1, None)],
        "rnn_cell": [Options({"lstm", "gru"})],
        "rnn_units": [Interval(int, 1, None), None],
        "bidirectional": ["boolean"],
        "optimizer": [Options(builders.OPTIMIZERS), _KerasInstance("optimizers.Optimizer")],
        "learning_rate": [Interval(float, 0, None, closed="neither"),
                          _KerasInstance("optimizers.schedules.LearningRateSchedule"), None],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "validation_split": [Interval(float, 0, 1, closed="left")],
        "patience": [Interval(int, 0, None), None],
        "frozen_epochs": [Interval(int, 0, None)],
        "class_weight": [dict, Options({"balanced"}), None],
        "random_state": ["random_state"],
        "verbose": [Interval(int, 0, None), "boolean"],
        "callbacks": [list, tuple, None],
        "dtype_policy": [str, None],
        "oov": [Options({"unknown", "nearest"})],
        "oov_threshold": [Interval(float, -1, 1, closed="both")],
    }

    def __new__(cls, *args, **kwargs):
        # before __init__'s bare "got an unexpected keyword argument 'warm_start'": a parameter of other
        # scikit-learn estimators is named with what this one does instead (__init__ itself stays a plain
        # keyword-only signature, which get_params, clone and the IDEs read)
        known = _init_parameter_names(cls) if kwargs else None
        unknown = [] if known is None else [name for name in kwargs if name not in known]
        if unknown:
            raise TypeError(_unknown_parameter_message(cls.__name__, unknown, known))
        return super().__new__(cls)

    def __init__(
        self,
        *,
        architecture="bag",
        vectors=None,
        trainable="trainable",
        max_tokens=20000,
        min_count=1,
        maxlen=400,
        padding="pre",
        truncating="pre",
        embedding_dim=None,
        hidden_units=0,
        dropout=0.0,
        filters=128,
        kernel_size=5,
        conv_blocks=1,
        rnn_cell="lstm",
        rnn_units=None,
        bidirectional=True,
        optimizer="adam",
        learning_rate=None,
        epochs=10,
        batch_size=128,
        validation_split=0.1,
        patience=2,
        frozen_epochs=2,
        class_weight=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        dtype_policy=None,
        oov="unknown",
        oov_threshold=0.9,
    ):
        self.architecture = architecture
        self.vectors = vectors
        self.trainable = trainable
        self.max_tokens = max_tokens
        self.min_count = min_count
        self.maxlen = maxlen
        self.padding = padding
        self.truncating = truncating
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.filters = filters
        self.kernel_size = kernel_size
        self.conv_blocks = conv_blocks
        self.rnn_cell = rnn_cell
        self.rnn_units = rnn_units
        self.bidirectional = bidirectional
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.patience = patience
        self.frozen_epochs = frozen_epochs
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.dtype_policy = dtype_policy
        self.oov = oov
        self.oov_threshold = oov_threshold

    # Keras habits (history = clf.fit(...); history.history, clf.summary()) pointed to the estimator's way
    history = _KerasModelHint()
    summary = _KerasModelHint()
    evaluate = _KerasModelHint()
    save = _KerasModelHint()
    save_weights = _KerasModelHint()
    load_weights = _KerasModelHint()
    get_weights = _KerasModelHint()
    layers = _KerasModelHint()

    def __setattr__(self, name, value):
        if name == "model_":  # the process whose TensorFlow runtime made the model (see _check_not_forked)
            object.__setattr__(self, "_model_pid", os.getpid())
        super().__setattr__(name, value)

    def _check_not_forked(self):
        """Refuse to run a Keras model made by the process this one was forked from: TensorFlow would hang."""
        pid = self.__dict__.get("_model_pid")
        if pid is not None and pid != os.getpid():
            raise RuntimeError(
                f"This {type(self).__name__}'s Keras model was made (fitted or loaded) in process {pid}, and "
                f"this process ({os.getpid()}) is a fork of it: TensorFlow hangs in a forked process once it "
                "has run in the parent, so the prediction would never return. Load the model in each worker "
                "process instead, with a parent that has not loaded it (gunicorn without --preload; "
                "multiprocessing or ProcessPoolExecutor with the 'spawn' or 'forkserver' start method, "
                "calling load_model in the worker). Models that predict without Keras (the NB architectures, "
                "the main job's) can be shared by fork."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.non_deterministic = self.random_state is None
        return tags

    def set_params(self, **params):
        """Set the parameters of this estimator (as scikit-learn's ``BaseEstimator.set_params``).

        A name that is not a parameter raises scikit-learn's ``ValueError``,
        which here also says what this estimator has instead of another
        estimator's parameter (``warm_start``, ``max_iter``, ``early_stopping``...)
        or which parameter a misspelt name meant, as the constructor's
        ``TypeError`` does. Inside a ``Pipeline`` or ``GridSearchCV`` the
        step's ``classifier__name`` reaches this method with ``name``.

        Parameters
        ----------
        **params : dict
            Estimator parameters, by name.

        Returns
        -------
        self : EmbeddingClassifier
            This estimator.

        Raises
        ------
        ValueError
            For a name that is not a parameter, listing the valid ones.
        """
        known = _init_parameter_names(type(self))
        # the name before "__" is what BaseEstimator.set_params checks (and refuses with a bare message)
        unknown = [] if known is None else [
            key for key in dict.fromkeys(name.partition("__")[0] for name in params) if key not in known]
        if unknown:
            raise ValueError(
                f"Invalid parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} for "
                f"estimator {self}.{_parameter_hints(unknown, known)}{_routed_names_hint(params, known)} "
                f"Valid parameters are: {sorted(known)!r}."
            )
        for name in params if known is not None else ():
            key, nested, _ = name.partition("__")
            value = getattr(self, key)
            if nested and not hasattr(value, "set_params"):  # BaseEstimator: "'str' object has no attribute..."
                message = (f"Invalid parameter {name!r} for estimator {self}: {key} is {reprlib.repr(value)}, not "
                           f"an estimator with parameters of its own.{_routed_names_hint([name], known)}")
                if key == "optimizer":
                    message += (" For the optimizer's other settings, give optimizer a Keras optimizer, e.g. "
                                "keras.optimizers.SGD(0.05, momentum=0.9).")
                raise ValueError(message)
        return super().set_params(**params)

    # ------------------------------------------------------------------ targets
    def _encode_targets(self, y, n_samples):
        from sklearn.utils.multiclass import type_of_target
        from sklearn.utils.validation import check_consistent_length, column_or_1d

        if y is None:
            raise ValueError(
                "EmbeddingClassifier requires y to be passed, but the target y is None."
            )
        import scipy.sparse

        if scipy.sparse.issparse(y):  # MultiLabelBinarizer(sparse_output=True): a small matrix (documents x labels)
            y = y.toarray()
        try:
            y_arr = np.asarray(y)
        except ValueError:  # lists of labels of different lengths: numpy's "inhomogeneous shape"
            y_arr = None
        if y_arr is None or _first_label_list(y_arr) is not None:
            raise ValueError(
                "EmbeddingClassifier got lists of labels for y. Turn them into a 0/1 indicator matrix with "
                "sklearn.preprocessing.MultiLabelBinarizer().fit_transform(y): EmbeddingClassifier takes that "
                "matrix as y (one sigmoid output per label)."
            )
        check_consistent_length(np.empty(n_samples), y_arr)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = column_or_1d(y_arr, warn=True)  # DataConversionWarning, as sklearn
        if y_arr.dtype.kind == "f" and np.isnan(y_arr).any():
            raise ValueError(
                f"Input y contains NaN (first at index {int(np.flatnonzero(np.isnan(y_arr).ravel())[0])}); "
                "drop or fill the missing labels first."
            )
        if y_arr.dtype == object:
            for i, label in enumerate(y_arr.ravel()):
                # pandas' NA (a "string" or "boolean" column with a gap) is missing too; comparing it raises
                if label is None or (isinstance(label, float) and np.isnan(label)) or type(label).__name__ == "NAType":
                    raise ValueError(
                        f"Input y contains NaN/None (first at index {i}); drop or fill the "
                        "missing labels first."
                    )
        first: dict = {}  # a label of each type, by type name
        if y_arr.dtype == object and y_arr.ndim == 1:
            for v in y_arr.tolist():
                first.setdefault(type(v).__name__, v)
        if len(first) > 1 and "str" in first:
            # scikit-learn's "'<' not supported between instances of 'int' and 'str'" named neither y nor the mix
            first = dict(sorted(first.items()))
            raise ValueError(
                f"y mixes label types ({', '.join(f'{k} such as {v!r}' for k, v in first.items())}): the same class "
                "written two ways (1 and '1') would be two classes. Give every label one type, e.g. "
                "y = [str(label) for label in y]."
            )
        target_type = type_of_target(y_arr, input_name="y")
        if target_type == "multilabel-indicator":
            if (n_columns := one_hot_columns(y_arr)) is not None:
                # once per process and message: a grid search or cross-validation fits a clone per candidate and fold
                _warn_once(
                    f"y is one-hot ({n_columns} columns of 0/1, one 1 per row, as Keras' to_categorical makes): "
                    f"{type(self).__name__} reads it as a multilabel indicator matrix, as scikit-learn does, and "
                    "trains one independent sigmoid per column, so predict can give a row no class or several. "
                    "For one class per document (a softmax over the classes), pass np.asarray(y).argmax(axis=1).",
                    UserWarning, stacklevel=4,
                )
            self.output_ = "multilabel"
            self.classes_ = np.arange(y_arr.shape[1])
            self.class_prior_ = y_arr.astype("float64").mean(axis=0)
            return y_arr.astype("float32")
        if target_type == "multiclass-multioutput":
            raise ValueError(
                f"EmbeddingClassifier got y of shape {y_arr.shape} whose columns are not all 0/1: several outputs "
                "of several classes each. It takes one label per document, or a 0/1 multilabel indicator matrix; "
                "for several outputs, wrap it: MultiOutputClassifier(make_text_classifier(...)) fits one model per "
                "column. If each row lists a document's labels (lists of labels of one length), turn them into that "
                "indicator matrix with sklearn.preprocessing.MultiLabelBinarizer().fit_transform(y)."
            )
        if target_type in ("continuous", "continuous-multioutput"):
            from .._validation import check_class_target

            check_class_target(y_arr, owner="EmbeddingClassifier")  # a score: names a regressor or binning
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Unknown label type: {target_type!r}. EmbeddingClassifier needs class labels "
                "(str or int), or a 2-D 0/1 multilabel indicator matrix."
            )
        classes, y_enc = np.unique(y_arr, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "EmbeddingClassifier needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {classes.tolist()[0]!r}."
            )
        self.classes_ = classes
        self.class_prior_ = np.bincount(y_enc, minlength=len(classes)) / len(y_enc)
        self.output_ = "binary" if len(classes) == 2 else "multiclass"
        return y_enc.astype("float32" if self.output_ == "binary" else "int32")

    # ---------------------------------------------------------------- sequences
    def _corpus(self, X, *, allow_empty=False):
        """Validated input as a TokenizedCorpus; an empty document is an error unless allowed."""
        from ..text.corpus import check_token_corpus

        refuse_tensorflow_input(X, type(self).__name__, tokens=True)
        corpus = check_token_corpus(X, estimator=type(self).__name__, raw_text_advice=self._store_tokenizer_advice())
        empty = np.flatnonzero(corpus.lengths() == 0)
        if len(empty) and not allow_empty:
            raise DocumentError(
                f"Document {int(empty[0])} of X has no tokens ({len(empty)} empty document(s) "
                "in all); EmbeddingClassifier cannot classify an empty document. Drop empty "
                "documents first, or loosen the tokenizer settings that removed every token.",
                document_index=int(empty[0]),
            )
        return corpus

    def _store_tokenizer_advice(self):
        """What to do with raw strings for a model ``fit_from_store`` trained: its store's tokenizer; else None.

        A default ``SpacyTokenizer`` (what the generic advice names) tokenizes
        raw texts otherwise than a store built with other settings (``lowercase``,
        ``max_length``...): the model would then predict silently worse.
        """
        params = getattr(self, "tokenizer_params_", None)
        if not params:
            return None
        from ..text.tokenizer import SpacyTokenizer

        defaults = SpacyTokenizer().get_params()
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k in defaults and defaults[k] != v)
        return (
            f"this model was trained by fit_from_store on a store tokenized with SpacyTokenizer({shown}): put that "
            "tokenizer before it, make_pipeline(SpacyTokenizer(**clf.tokenizer_params_), clf), so raw texts are "
            "tokenized as its training documents were (a default SpacyTokenizer, or toolkit.make_text_classifier(), "
            f"{'tokenizes otherwise' if shown else 'has the same settings'}).")

    def model_inputs(self, X):
        """The token-id matrix that ``model_`` takes for the documents ``X``.

        ``clf.model_.predict(clf.model_inputs(X))`` gives the probabilities
        of :meth:`predict_proba` (the positive class's column only, for a
        binary target), except for documents with no tokens: their row is
        all padding, whereas the prediction methods give them the class prior.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus

        Returns
        -------
        ndarray of int32, shape (n_samples, maxlen_)
            Padded ids of :attr:`vocabulary_` (0 is padding, 1 an unknown
            token; with ``oov="nearest"`` an unknown token may get its nearest
            word's id instead), padded and cut as in ``fit``; for ``"nbsvm"`` /
            ``"nbsvm_vectors"``, each document's distinct ids, most frequent first.

        Examples
        --------
        >>> from toolkit.models import EmbeddingClassifier
        >>> docs = [["good", "film"], ["bad", "film"], ["great", "fun"], ["awful", "bore"]] * 5
        >>> clf = EmbeddingClassifier(embedding_dim=4, maxlen=3, epochs=1, random_state=0)
        >>> clf.fit(docs, ["pos", "neg", "pos", "neg"] * 5).model_inputs([["good", "fun", "film"], ["film"]]).shape
        (2, 3)
        """
        fitted = self._fitted_view()  # one vocabulary and maxlen_, whatever a refit in another thread does
        if "vocabulary_" not in vars(fitted):
            check_is_fitted(self, "vocabulary_")
        return fitted._sequences(fitted._corpus(X, allow_empty=True))

    def _sequences(self, corpus, rows=None):
        """Padded model input of ``corpus``; for the NB architectures, ``rows`` are its :meth:`_nb_rows` if known
        (cut or not: padding cuts each row's end, as ``_nb_rows`` does)."""
        from ..text.vocabulary import _pad_flat

        if self.architecture in _NB_ARCHITECTURES:
            ids, offsets = self._nb_rows(corpus) if rows is None else rows
            lengths = np.diff(offsets)
            maxlen = self.maxlen_ if self.maxlen_ is not None else int(lengths.max()) if lengths.size else 0
            return _pad_flat(ids, offsets, maxlen, padding="post", truncating="post")
        ids = self._nearest_ids(corpus, self.vocabulary_.encode(corpus))
        lengths = np.diff(corpus.offsets)
        maxlen = self.maxlen_ if self.maxlen_ is not None else int(lengths.max()) if lengths.size else 0
        # pad_sequences' semantics on the flat ids, without a list of one array per document
        return _pad_flat(ids, corpus.offsets - corpus.offsets[0], maxlen, padding=self.padding,
                         truncating=self.truncating, dtype="int32")

    def _nb_ratios(self, sequences, y_enc, sample_weight=None):
        """Naive-Bayes log-count ratios per id (rows) and output (columns) of the padded id rows or
        :class:`_FlatRows` ``sequences``; ``sample_weight`` scales each document's counts (as
        :class:`~toolkit.models.NBSVMClassifier` does), so weight 2 counts as twice."""
        from ..text.encoders import bag_matrix
        from .naive_bayes import _binarize

        V = len(self.vocabulary_)
        if isinstance(sequences, _FlatRows):  # the same counts, from the rows themselves
            from ..text.encoders import _bag_of_ids

            ids, offsets = sequences.flat()
            D = _bag_of_ids(np.asarray(ids, dtype=np.int64), offsets, V, True, np.float32)
        else:
            D = bag_matrix(sequences, self.vocabulary_, dtype=np.float32)  # column j = id j
        if self.output_ == "binary":
            targets = y_enc.reshape(-1, 1) == 1
        elif self.output_ == "multiclass":
            targets = y_enc.reshape(-1, 1) == np.arange(len(self.classes_))
        else:
            targets = y_enc == 1
        D = _binarize(D)  # once: log_count_ratio(binarize=True) copied D for each class (200 copies at 200 classes)
        # more than two classes: complement ratios; two classes and multilabel targets: one ratio per column
        ratios = _complement_ratios if self.output_ == "multiclass" else _one_vs_rest_ratios
        return ratios(D, targets, sample_weight)

    # ---------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Build the vocabulary and train the Keras model.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (str or int), or a 0/1 multilabel indicator matrix.
        sample_weight : float or array-like of shape (n_samples,), optional
            Non-negative, finite weights, not all 0 (a float weighs every document the same). They
            weight the loss and, for ``"nbsvm"`` / ``"nbsvm_vectors"``, each document's counts in the
            naive-Bayes ratios (as ``class_weight`` does): weight 2 counts as the document twice.
        **fit_params
            None are taken: Keras' ``model.fit`` arguments (``epochs``, ``batch_size``,
            ``validation_data``...) are refused with a ``TypeError`` that says where they go (the
            estimator's parameters, set in the constructor or with ``set_params``).

        Returns
        -------
        self

        Notes
        -----
        Each call trains a new model from scratch, as in scikit-learn (a
        Keras ``model.fit`` called again would continue training). A ``fit``
        that fails or is interrupted (``KeyboardInterrupt``, a notebook's
        stop button) leaves the estimator as it was before the call: fitted
        with its previous model, or not fitted. A training that diverges
        (trained weights NaN or inf, or a loss of the weights it kept over
        10 times an untrained model's: a learning rate far too high) raises a
        ``ValueError`` that says so, rather than keep a model that predicts
        NaN or probabilities of 0 and 1.

        The new fitted state is built on a private copy of the estimator
        and replaces the previous one at once, when training is over, so
        another thread that predicts with this estimator meanwhile (a web
        app retraining the model it serves) gets the previous model's
        answers, then the new one's, never a mixture of the two.
        """
        if fit_params:
            raise TypeError(_keras_fit_arguments_message(type(self).__name__, fit_params, self.get_params()))
        refuse_tensorflow_input(X, type(self).__name__, tokens=True)  # (a Dataset of (texts, labels) comes without y)
        work = self._detached()
        work._fit(X, y, sample_weight)
        self._publish(work)
        return self

    def _detached(self):
        """A private copy to fit: this estimator's attributes (shared values), a dict of its own.

        ``fit`` trains it and :meth:`_publish` makes its state this estimator's;
        a fit that fails leaves the estimator untouched, as before the call. The previous model's state that
        the new ``model_`` replaces is left out: an unpickled or loaded NB classifier's model as bytes (not
        rebuilt yet) and its weights as arrays, which a refit kept for good (the whole ``model.keras``).
        """
        work = object.__new__(type(self))
        state = dict(vars(self))
        for name in ("_model_keras_bytes", "_model_keras_safe_mode", "_nb_weights"):
            state.pop(name, None)
        object.__setattr__(work, "__dict__", state)
        return work

    def _publish(self, work):
        """Make ``work``'s attributes this estimator's in one step (a new attribute dict, never edited in place).

        Replacing ``__dict__`` is one operation for every other thread: a
        reader that took :meth:`_fitted_view` before it keeps the previous
        state whole.
        """
        object.__setattr__(self, "__dict__", vars(work))

    def _fitted_view(self):
        """This estimator as fitted now, for one prediction: it shares the current attribute dict.

        A refit in another thread replaces that dict (:meth:`_publish`) rather
        than editing it, so the view keeps one consistent vocabulary, model
        and classes for the whole call; what the view caches (the NB weights,
        a rebuilt ``model_``) lands in the dict it shares.
        """
        view = object.__new__(type(self))
        object.__setattr__(view, "__dict__", vars(self))
        return view

    def _fit(self, X, y, sample_weight):
        from ..text.vocabulary import Vocabulary, _report_row_length

        validate_params(self, self._parameter_constraints)
        self._log_unused_layer_params()
        if self._finetunes() and self.frozen_epochs >= self.epochs:
            # once per process and message: a grid search over epochs fits a clone per candidate and fold
            _warn_once(
                f"trainable='finetune' of {type(self).__name__} never trains the vectors here: they stay frozen for "
                f"frozen_epochs={self.frozen_epochs} epochs and training ends after epochs={self.epochs}, so this "
                "fit is trainable='frozen'. Set epochs above frozen_epochs (or lower frozen_epochs), or set "
                "trainable='frozen' to silence this.",
                stacklevel=3,
            )
        import_keras()  # a backend that is not installed is named now, before the vocabulary is built
        _check_dtype_policy(self.dtype_policy)
        self._fit_oov(None, quiet=True)  # (a refit's copy holds the previous fit's: the training ids never map)
        self.tokenizer_params_ = None  # token lists: their tokenizer is unknown (a copy kept fit_from_store's)
        docs = self._corpus(X)
        if len(docs) == 0:
            raise ValueError(
                "EmbeddingClassifier cannot be fitted on 0 documents: X is empty. Pass token "
                "lists of at least 2 classes."
            )
        y_enc = self._encode_targets(y, len(docs))
        rng = _check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=3)

        self.vocabulary_ = Vocabulary.from_documents(
            docs, max_tokens=self.max_tokens, min_count=self.min_count
        )
        # maxlen=None: rows as long as the longest training document (distinct ids for nbsvm)
        self.maxlen_, rows = None, None
        if self.architecture in _NB_ARCHITECTURES:  # rows of distinct ids (uncut), the rarest cut first
            rows = self._nb_rows(docs)
            lengths, which = np.diff(rows[1]), "the rarest distinct n-grams"
        else:
            lengths, which = np.diff(docs.offsets), None
        if self.maxlen is not None or not self._flat_training():
            # (flat rows with maxlen=None: a long document widens its own batch only, so nothing to warn about)
            _report_row_length(lengths, self.maxlen, owner=type(self).__name__, truncating=self.truncating,
                               which=which)
        self.maxlen_ = None if self.maxlen is None else int(self.maxlen)
        if self._flat_training():
            # the rows stay flat, cut at maxlen as _sequences cuts them; each batch is padded to its own longest row
            sequences = _FlatRows(*_cut_rows(*rows, self.maxlen_))
            if self.maxlen_ is None:
                self.maxlen_ = int(sequences.lengths().max())
        else:
            sequences = self._sequences(docs, rows)
            self.maxlen_ = int(sequences.shape[1])

        weights = _check_sample_weight(sample_weight, len(docs), type(self).__name__)
        cw_weights = self._class_sample_weights(y_enc)
        if cw_weights is not None:
            weights = cw_weights if weights is None else weights * cw_weights
            if len(weights) and not weights.any():  # Keras trained on it without a gradient, silently
                raise ValueError(
                    f"class_weight={self.class_weight!r}"
                    + ("" if sample_weight is None else " times sample_weight")
                    + " gives every document of X weight 0: nothing would be learned. Give a class of y a "
                    "positive weight."
                )

        indices = np.arange(len(docs))
        val = None
        if self.validation_split > 0:
            train_idx, val_idx = self._validation_split(y_enc, int(seeds[1]))
            if isinstance(sequences, _FlatRows):  # batches as Model.evaluate cuts the arrays, each padded alone
                val = sequences.epoch_data(val_idx, y_enc, weights, self.batch_size)
            else:
                val = (sequences[val_idx], y_enc[val_idx])
                if weights is not None:
                    val = (*val, weights[val_idx])
            indices = np.sort(train_idx)
        # naive-Bayes ratios see the training rows only (no validation labels), with their weights
        matrix, self.embedding_coverage_ = self._embedding_matrix(
            sequences[indices], y_enc[indices], seeds[0], docs, None if weights is None else weights[indices]
        )

        self._train(sequences[indices], y_enc[indices],
                    None if weights is None else weights[indices], val, matrix, rng, int(seeds[2]))
        return self

    def _log_unused_layer_params(self):
        """Log (INFO) the layer settings that differ from their defaults under a built-in architecture that ignores them.

        ``EmbeddingClassifier(architecture="nbsvm", hidden_units=16)`` or
        ``architecture="bag", rnn_cell="gru"`` train without them. A log
        line, not a warning, for every architecture: a grid search over
        ``architecture`` with each architecture's settings on the estimator
        (or ``toolkit train --set architecture=nbsvm`` on the main job's
        ``hidden_units`` and ``dropout``) is ordinary use, and scikit-learn's
        parallel wrapper shows a warning again for every fit of every fold.
        A setting left at its default is never named; an architecture of
        one's own may read any of them from its spec, so it is never named.
        """
        if self.architecture not in _BUILT_IN_ARCHITECTURES:
            return
        defaults = _init_defaults(EmbeddingClassifier)  # (a subclass may take **kwargs)
        unused = [name for name, readers in _LAYER_PARAMETERS.items()
                  if self.architecture not in readers and not _same_value(getattr(self, name), defaults[name])]
        if unused:
            readers = {}
            for name in unused:
                readers.setdefault(_LAYER_PARAMETERS[name], []).append(name)
            logger.info(
                "architecture=%r does not use %s: ignored (%s). Choose that architecture, or leave them at "
                "their defaults.", self.architecture, ", ".join(f"{name}={getattr(self, name)!r}" for name in unused),
                "; ".join(f"{', '.join(names)}: architecture={' or '.join(map(repr, owners))}"
                          for owners, names in readers.items()),
            )

    def _flat_training(self):
        """Whether training keeps its rows flat (:class:`_FlatRows`): the NB architectures', unless switched off."""
        return self.architecture in _NB_ARCHITECTURES and _FLAT_NB_TRAINING

    def _validation_split(self, y_enc, seed):
        """(training rows, validation rows) for ``validation_split`` > 0, stratified when possible.

        Stratified unless a class has one document, or the held-out (or the
        remaining) rows are fewer than the classes, where ``train_test_split``
        would refuse to stratify; an error when no training row would remain,
        or (one label per document) fewer training rows than classes. The
        document of a class of one always trains (the split is made of the
        other rows) while the other rows can give the held-out ones, and the
        training rows hold every class (a split that left one out swaps one
        of its held-out rows for a training row of the largest class). Held-out
        rows that miss a class of two or more documents are logged (WARNING).
        """
        n = len(y_enc)
        # a Python float: train_test_split refuses numpy's float32 (np.linspace(..., dtype="float32") in a grid)
        # with an error about its own test_size, and float32 arithmetic would count other rows than it does
        fraction = float(self.validation_split)
        n_val = int(np.ceil(fraction * n))  # as train_test_split counts
        if n_val >= n:
            raise ValueError(
                f"validation_split={self.validation_split} holds out all {n} documents, leaving none "
                "to train on; lower validation_split, or set it to 0 to monitor the training loss."
            )
        n_classes = len(self.classes_)
        too_few = self.output_ != "multilabel" and n - n_val < n_classes  # (labels of a multilabel y: any number)
        if fraction > 0.5 and not too_few:
            # the share held out, taken for the share kept? (too few training rows: the error below says more)
            logger.warning(
                "validation_split=%s holds out %d of %d documents and trains on %d: it is the share of X held out "
                "to monitor val_loss (as in Keras' model.fit), not the share trained on. Did you mean "
                "validation_split=%.3g?", self.validation_split, n_val, n, n - n_val, 1 - fraction,
            )
        if self.output_ == "multilabel":
            return self._split_rows(y_enc, n_val, fraction, seed)
        if too_few:
            # the classes beyond the training rows would never be learnt (Keras trains on, silently)
            most = np.floor((n - n_classes) / n * 1000) / 1000
            lower = f"Lower validation_split to {most:g} or less, or set it to 0" if most > 0 else "Set it to 0"
            raise ValueError(
                f"validation_split={self.validation_split} holds out {n_val} of {n} documents, leaving {n - n_val} "
                f"to train on: fewer than the {n_classes} classes of y, so the model could not learn every class. "
                f"{lower} to monitor the training loss (or give more documents)."
            )
        train, val = self._split_rows(y_enc, n_val, fraction, seed)
        train, val = _every_class_trains(y_enc, np.asarray(train), np.asarray(val), n_classes)
        counts = np.bincount(y_enc.astype(int), minlength=n_classes)
        unseen = np.setdiff1d(np.flatnonzero(counts >= 2), y_enc[val].astype(int))
        if unseen.size:
            names = self.classes_[unseen].tolist()
            least = np.ceil(n_classes / n * 1000) / 1000
            logger.warning(
                "validation_split=%s holds out %d of %d documents, and none of class(es) %s (%d classes in all): "
                "val_loss, which early stopping (patience) and the restored best weights go by, says nothing of "
                "them. Raise validation_split to %g or more (or give more documents), or set it to 0 to "
                "monitor the training loss.", self.validation_split, len(val), n, reprlib.repr(names), n_classes,
                least,
            )
        return train, val

    def _split_rows(self, y_enc, n_val, fraction, seed):
        """:meth:`_validation_split`'s draw: ``train_test_split``, stratified when it can be, classes of one kept."""
        from sklearn.model_selection import train_test_split

        n = len(y_enc)
        stratify = None
        if self.output_ != "multilabel":
            counts = np.bincount(y_enc.astype(int))
            if counts.min() >= 2 and min(n_val, n - n_val) >= len(self.classes_):
                stratify = y_enc
            else:
                alone = counts[y_enc.astype(int)] == 1
                rows = np.flatnonzero(~alone)
                if alone.any() and 0 < n_val < len(rows):
                    # a class of one document trains: held out, it was never learnt (a tenth of the fits of a
                    # 10% split); the other classes' rows are split as usual, stratified when they can be
                    logger.info("validation split of %d of %d documents: %d document(s) of a class of one kept "
                                "for training", n_val, n, int(alone.sum()))
                    kept = y_enc[rows]
                    both = min(n_val, len(rows) - n_val) >= len(np.unique(kept))
                    train, val = train_test_split(rows, test_size=n_val, stratify=kept if both else None,
                                                  random_state=seed)
                    return np.concatenate([train, np.flatnonzero(alone)]), val
                logger.info("validation split of %d of %d documents is not stratified: a class has one "
                            "document, or there are fewer rows than classes on one side", n_val, n)
        return train_test_split(np.arange(n), test_size=fraction, stratify=stratify,
                                random_state=seed)

    def _embedding_matrix(self, sequences, y_enc, seed, docs=None, sample_weight=None):
        if self.architecture == "nbsvm":
            if self.vectors is not None and self.oov == "nearest":  # the vectors place new tokens, nothing else
                from ..vectors.domain import resolve_vectors

                self._fit_oov(resolve_vectors(self.vectors, docs), docs)
            else:
                self._fit_oov(None)
                if self.vectors is not None:
                    logger.info("architecture='nbsvm' does not use vectors=%r", self.vectors)
            return self._nb_ratios(sequences, y_enc, sample_weight), None
        if self.vectors is None:
            self._fit_oov(None)
            if self.architecture == "nbsvm_vectors":
                raise ValueError(
                    "architecture='nbsvm_vectors' needs word vectors: set vectors to a file, a "
                    "manifest name ('glove.6B.50d') or a domain spec ('word2vec:unsup'); "
                    "architecture='nbsvm' is the same model without them."
                )
            return None, None
        from ..vectors.domain import is_domain_spec, parse_domain_spec, resolve_vectors, spec_label
        from ..vectors.matrix import build_embedding_matrix

        if self.embedding_dim is not None and is_domain_spec(self.vectors):
            # before the training of the vectors (minutes for 'word2vec:unsup'), not after it
            dim = parse_domain_spec(self.vectors).params["dim"]
            if dim != self.embedding_dim:
                raise ValueError(f"The domain spec {spec_label(self.vectors)} trains vectors of dimension {dim} "
                                 f"(its dim option), but embedding_dim={self.embedding_dim}. Set "
                                 f"embedding_dim=None, or dim={self.embedding_dim} in the spec.")
        kv = resolve_vectors(self.vectors, docs)  # a domain spec trains on the training documents
        self._fit_oov(kv, docs)
        if self.embedding_dim is not None and self.embedding_dim != kv.vector_size:
            raise ValueError(
                f"The vectors {self._vectors_label()} have dimension {kv.vector_size}, but "
                f"embedding_dim={self.embedding_dim}. Set embedding_dim=None (or "
                f"{kv.vector_size}) to use these vectors."
            )
        if self.architecture == "nbsvm_vectors":
            from .hybrid import word_vector_matrix

            vectors, coverage = word_vector_matrix(self.vocabulary_, kv)
            logger.debug("word-vector coverage: %s", coverage)  # the whole table; build_embedding_matrix logs one line at INFO
            return np.hstack([self._nb_ratios(sequences, y_enc, sample_weight), vectors]), coverage
        matrix, coverage = build_embedding_matrix(self.vocabulary_, kv, random_state=int(seed))
        logger.debug("embedding coverage: %s", coverage)  # the whole table; build_embedding_matrix logs one line at INFO
        return matrix, coverage

    def _fit_oov(self, kv, docs=None, *, quiet=False):
        """Set ``oov_vectors_`` and the candidates of ``oov="nearest"`` for the vectors ``kv`` (None: no vectors)
        and the training corpus ``docs`` (its n-gram separator: n-grams are never candidates).

        A warning (unless ``quiet``) where ``oov="nearest"`` cannot work: no
        vectors, vectors without subword vectors, or fastText vectors that
        come from no cache entry (they could not be opened again to place
        new tokens).
        """
        self.oov_vectors_ = None
        self.__dict__.pop("_oov_state", None)  # (a refit's copy holds the previous fit's)
        if self.oov != "nearest" or quiet:
            return
        from ..vectors.loading import subword_entry

        entry = None if kv is None else subword_entry(kv)
        if entry is None:
            if kv is None:
                why = "vectors=None gives no word vectors"
            elif getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams"):
                why = (f"the fastText vectors {self._vectors_label()} come from no cache entry (held in memory, or "
                       "the cache folder is not writable), so predictions could not open them again")
            else:
                why = (f"the vectors {self._vectors_label()} have no subword vectors (GloVe, word2vec: only "
                       "fastText vectors give any token a vector)")
            # once per process and message: a grid search or cross-validation fits a clone per candidate and fold
            _warn_once(
                f"oov='nearest' of {type(self).__name__} does nothing here: {why}. Tokens outside the "
                "vocabulary get the OOV id, as with oov='unknown'. Use fastText vectors (a fastText .bin "
                "file or a 'fasttext:...' domain spec), or set oov='unknown' to silence this.",
                stacklevel=5,
            )
            return
        from ..vectors.neighbours import unit_word_rows

        separator = _ngram_separator(docs)
        self.oov_vectors_ = entry
        self._oov_state = {separator: _OovState(unit_word_rows(self.vocabulary_.tokens, kv, separator=separator))}

    def _class_sample_weights(self, y_enc):
        """``class_weight`` as float32 sample weights over ``y_enc`` (None when class_weight is None)."""
        from sklearn.utils.class_weight import compute_sample_weight

        cw = self.class_weight
        if cw is None:
            return None
        check_class_weight_values(cw, owner=type(self).__name__)  # a negative or NaN weight: a loss gone wrong
        if isinstance(cw, dict) and self.output_ == "multilabel":
            # scikit-learn's message asks for a list of dicts, which the 'class_weight' constraint refuses
            raise ValueError(
                "class_weight as a dict weighs classes of one label per document; with a multilabel indicator y "
                "use class_weight='balanced' (each label's positives and negatives balanced), or fit "
                "OneVsRestClassifier(make_text_classifier(class_weight={0: 1, 1: w}, ...)) to weigh each label."
            )
        if isinstance(cw, dict) and self.output_ != "multilabel":
            index = {label: i for i, label in enumerate(self.classes_.tolist())}
            unknown = [k for k in cw if k not in index]
            # as scikit-learn: keys for classes absent from y (a rare class a CV training fold lacks)
            # are ignored when every class of y has a weight; otherwise they are most likely a typo
            if unknown and not all(label in cw for label in index):
                classes = self.classes_.tolist()
                hint = ""
                if all(isinstance(k, numbers.Integral) and not isinstance(k, bool) and 0 <= k < len(classes)
                       for k in cw):  # Keras' model.fit(class_weight={0: 1.0, 1: 3.0}) keys are class indices
                    hint = (" Its keys are the labels of y, not class indices as in Keras' model.fit: class_weight="
                            f"{ {classes[k]: v for k, v in cw.items()} !r}.")
                raise ValueError(
                    f"class_weight has labels not in y: {unknown}; the classes are {classes}.{hint}"
                )
            cw = {index[k]: v for k, v in cw.items() if k in index}
        return compute_sample_weight(cw, y_enc).astype("float32")

    def _learning_rate(self):
        if self.learning_rate is not None:  # a float, or a Keras schedule
            return float(self.learning_rate) if isinstance(self.learning_rate, numbers.Real) else self.learning_rate
        if isinstance(self.optimizer, str) and self.optimizer in _ADAM_FAMILY:
            return _DEFAULT_LEARNING_RATE.get(self.architecture)
        return None

    def _train(self, X_train, y_train, w_train, val, matrix, rng, model_seed):
        """Train under ``dtype_policy`` (:meth:`_train_epochs`); also ``toolkit.distributed.fit_from_store``'s entry."""
        _check_dtype_policy(self.dtype_policy)
        with thread_dtype_policy(self.dtype_policy):
            self._train_epochs(X_train, y_train, w_train, val, matrix, rng, model_seed)

    def _train_epochs(self, X_train, y_train, w_train, val, matrix, rng, model_seed):
        """Train epoch by epoch with early stopping; set ``model_``, ``history_``, ``best_epoch_``."""
        model = self._new_model(matrix, model_seed)
        if self.architecture == "nbsvm_vectors":
            from .hybrid import standardize_pooled_vectors

            if isinstance(X_train, _FlatRows):
                ids, offsets = X_train.flat()
                standardize_pooled_vectors(model, ids, offsets=offsets)
            else:
                standardize_pooled_vectors(model, X_train)
        monitor = "val_loss" if val is not None else "loss"
        if val is None and self.patience is not None and self.epochs > 1:
            logger.info(
                "validation_split=0: early stopping (patience=%d) goes by the training loss, which seldom stops "
                "falling, so training runs up to epochs=%d, and the weights kept are those of the lowest training "
                "loss. Set validation_split (such as 0.1) to stop when held-out documents stop improving.",
                self.patience, self.epochs,
            )
        # fine-tuning that unfreezes: early stopping counts from the unfreeze, as in the transfer-learning recipe
        # (train the head, then unfreeze and train again); the best weights are still those of every epoch
        unfreezes = self._finetunes() and 0 < self.frozen_epochs < self.epochs
        history: dict[str, list[float]] = {}
        best = _BestWeights(self.patience)
        callbacks = _whole_fit_callbacks(self._user_callbacks(), epochs=self.epochs, verbose=self.verbose)
        with _EpochProgress(self.epochs if self.verbose == 1 else 0) as progress, _no_retracing_warning():
            for epoch in range(self.epochs):
                if self._unfreezes_at(epoch):
                    self._unfreeze_embedding(model, epoch)
                    best.waited = 0  # patience counts the epochs with the vectors trained
                # by keyword, and only when there are some: a wrapper of the 7-argument method keeps working
                extra = {} if callbacks is None else {"callbacks": callbacks}
                self._fit_one_epoch(model, X_train, y_train, w_train, val, rng, history, **extra)
                progress.update(history)
                logger.debug("epoch %d: %s", epoch, {k: v[-1] for k, v in history.items()})
                stop = best.stop_after(epoch, history[monitor][-1], model)
                if stop and unfreezes and epoch < self.frozen_epochs:
                    logger.info("epoch %d: %s did not improve for patience=%d epoch(s), but the vectors are "
                                "unfrozen at epoch frozen_epochs=%d: training goes on", epoch, monitor,
                                self.patience, self.frozen_epochs)
                    stop = False
                if stop:
                    logger.info("early stopping after epoch %d (best epoch %d)", epoch, best.epoch)
                    self._log_stopped_frozen(epoch, f"early stopping (patience={self.patience})")
                    break
                if model.stop_training:  # set by a callback (EarlyStopping, TerminateOnNaN...)
                    logger.info("a callback stopped training after epoch %d", epoch)
                    self._log_stopped_frozen(epoch, "a callback")
                    break
            best.restore(model)
            self.callbacks_ = callbacks.finish() if callbacks is not None else []
        best_epoch = best.epoch
        for callback in self.callbacks_:  # ended in this order: the last one to restore weights chose them
            restored = _restored_epoch(callback)
            if restored is not None:
                best_epoch = restored
        # the epoch whose weights the model has: the best one, or the last when none was kept
        kept = best_epoch if best.weights is not None or best_epoch != best.epoch else best.last_epoch
        self._check_not_diverged(model, history, w_train, kept, val)
        self.model_ = model
        self.history_ = history
        self.best_epoch_ = best_epoch

    def _log_stopped_frozen(self, epoch, stopper):
        """Log (WARNING) a fine-tuning stopped before its vectors were unfrozen: it trained as ``"frozen"``."""
        if self._finetunes() and epoch < self.frozen_epochs:
            logger.warning(
                "%s stopped training after epoch %d (epochs from 0), before trainable='finetune' unfroze the vectors "
                "at epoch frozen_epochs=%d: they were never trained, as with trainable='frozen'. Raise patience, or "
                "lower frozen_epochs.", stopper, epoch, self.frozen_epochs,
            )

    def _check_not_diverged(self, model, history, w_train=None, kept=None, val=None):
        """Refuse a model whose training diverged: trained weights not finite (NaN or inf), or a loss gone huge.

        Keras trains on without a word, and the loss it logs can stay finite
        meanwhile (a ``"cnn"`` at ``optimizer="sgd", learning_rate=100``:
        weights NaN, losses about 12); such a model predicts NaN, or, through
        ``Model.predict`` (larger inputs), one constant probability for every
        document. One pass over the trainable weights (0.8 ms for 800,000 weights).

        Weights can also explode and stay finite (``learning_rate=1e3`` with
        Adam: weights of 1e4, losses of 1e7, every probability 0 or 1): the
        fit is refused when the loss of the weights it kept (those of epoch
        ``kept``) is over :data:`_DIVERGED_LOSS_FACTOR` times that of an
        untrained model, one that gives every class the same probability
        (ln 2 per label, ln k for k classes, times the mean sample weight of
        the rows it is measured on). That loss is ``val_loss`` of epoch
        ``kept`` (measured on the kept weights), or without validation rows
        the training loss of the next epoch (which starts from them; the
        epoch's own when it is the last). An ordinary fit starts near the
        untrained loss and goes down; an overfit one's ``val_loss`` climbs to
        a few times it at most, and the best epoch is kept.
        """
        from keras import ops

        # reduced in the backend: ops.convert_to_numpy of a variable warns (a DeprecationWarning of TensorFlow's
        # __array__, an error under -W error) and copies it
        if all(bool(ops.all(ops.isfinite(weights))) for weights in model.trainable_weights):
            key = "val_loss" if history.get("val_loss") else "loss"
            losses = history.get(key, [])
            if not losses:
                return
            kept = min(len(losses) - 1, max(0, len(losses) - 1 if kept is None else kept))
            epoch = kept if key == "val_loss" else min(kept + 1, len(losses) - 1)
            weights = w_train
            if key == "val_loss":
                weights = val[2] if isinstance(val, tuple) and len(val) == 3 else w_train
            weight = 1.0 if weights is None or not len(weights) else float(np.mean(weights))
            n_classes = len(self.classes_) if self.output_ == "multiclass" else 2
            untrained = float(np.log(n_classes)) * weight
            loss = float(losses[epoch])
            if np.isfinite(loss) and loss <= _DIVERGED_LOSS_FACTOR * untrained:
                return
            largest = max((float(ops.max(ops.abs(w))) for w in model.trainable_weights if np.prod(w.shape)),
                          default=0.0)
            name = "val_loss" if key == "val_loss" else "training loss"
            raise ValueError(
                f"The training of {type(self).__name__} diverged: the loss of the weights it kept, {loss:.3g} "
                f"({name} of epoch {epoch}, from 0), is over {_DIVERGED_LOSS_FACTOR} times that of an untrained "
                f"model ({untrained:.3g}: the same probability for each of {n_classes} classes), and its largest "
                f"weight is {largest:.3g}, so its probabilities would be meaningless (mostly 0 and 1). Lower "
                f"learning_rate (this fit's: {self._rate_label()}), or choose another optimizer; the estimator is "
                "left as it was before this fit."
            )
        bad = [(key, epoch) for key, values in history.items() for epoch in np.flatnonzero(~np.isfinite(values))]
        if bad:
            key, epoch = min(bad, key=lambda pair: (pair[1], pair[0] != "loss"))
            losses = f"{key} was {history[key][epoch]} at epoch {epoch} (from 0)"
        else:
            losses = "loss per epoch " + ", ".join(f"{value:.3g}" for value in history.get("loss", []))
        raise ValueError(
            f"The training of {type(self).__name__} diverged: the weights it ended with are not finite (NaN or "
            f"inf; {losses}), so its predictions would be NaN or meaningless. Lower learning_rate (this fit's: "
            f"{self._rate_label()}), or choose another optimizer; the estimator is left as it was before this fit."
        )

    def _rate_label(self):
        """This fit's learning rate for a message: a number, a schedule's class name or "the optimizer's default"."""
        rate = self._learning_rate()
        return ("the optimizer's default" if rate is None
                else f"{rate:g}" if isinstance(rate, numbers.Real) else type(rate).__name__)

    def _user_callbacks(self):
        """Deep copies of ``callbacks`` (checked to be Keras callback instances), or [] for None."""
        import keras

        given = self.callbacks if self.callbacks is not None else []
        for i, callback in enumerate(given):
            if isinstance(callback, keras.callbacks.Callback):
                continue
            if isinstance(callback, type) and issubclass(callback, keras.callbacks.Callback):
                raise TypeError(
                    f"callbacks[{i}] of {type(self).__name__} is the class {callback.__name__}, not a callback: "
                    f"pass an instance, such as {callback.__name__}()."
                )
            raise TypeError(
                f"callbacks[{i}] of {type(self).__name__} must be a keras.callbacks.Callback instance; got "
                f"{callback!r} ({type(callback).__name__})."
            )
        try:
            return copy.deepcopy(list(given))
        except Exception as err:
            raise TypeError(
                f"The callbacks of {type(self).__name__} cannot be copied ({err}): each fit trains with deep "
                "copies of them (as clone makes), so the objects passed stay unused. Pass callbacks that "
                "copy.deepcopy can copy: new instances, not ones another model.fit has used."
            ) from err

    def _finetunes(self):
        return self.vectors is not None and self.trainable == "finetune" and self.architecture not in _NB_ARCHITECTURES

    def _new_model(self, matrix, model_seed):
        """The compiled Keras model (embedding frozen for now when fine-tuning)."""
        import keras

        n_outputs = 1 if self.output_ == "binary" else len(self.classes_)
        # each layer takes the policy in force when it is made: dtype_policy's (set by _train), else the thread's
        policy = keras.config.dtype_policy().name
        expected = policy if self.dtype_policy is None else self.dtype_policy
        model = builders.build_model(
            self.architecture,
            vocab_size=len(self.vocabulary_),
            maxlen=None if self._flat_training() else self.maxlen_,  # flat rows: batches of any width
            embedding_dim=None if matrix is not None else (self.embedding_dim or _LEARNED_EMBEDDING_DIM),
            embedding_matrix=matrix,
            trainable=self.trainable != "frozen" or matrix is None,
            n_outputs=n_outputs,
            output=self.output_,
            hidden_units=self.hidden_units,
            dropout=self.dropout,
            filters=self.filters,
            kernel_size=self.kernel_size,
            conv_blocks=self.conv_blocks,
            rnn_cell=self.rnn_cell,
            rnn_units=self.rnn_units,
            bidirectional=bool(self.bidirectional),
            seed=model_seed,
        )
        _check_policy_kept(expected, policy, keras.config.dtype_policy().name)
        if self._finetunes() and self.frozen_epochs > 0:
            builders.set_embedding_trainable(model, False)
        builders.compile_model(model, optimizer=self.optimizer, learning_rate=self._learning_rate(),
                               output=self.output_)
        return model

    def _unfreezes_at(self, epoch):
        return self._finetunes() and epoch == self.frozen_epochs and epoch > 0

    def _unfreeze_embedding(self, model, epoch):
        """Fine-tuning: train the vectors from now on, at a tenth of the current learning rate."""
        import keras
        from keras import ops

        optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # (a LossScaleOptimizer's)
        lr = float(ops.convert_to_numpy(model.optimizer.learning_rate)) * _FINETUNE_LR_FACTOR
        rate = lr
        schedule = getattr(optimizer, "_learning_rate", None)
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            # the new optimizer counts its steps from 0: the schedule goes on from the step it was at, times 0.1
            # (its value at the step alone would stay constant for the remaining epochs)
            steps = int(np.asarray(optimizer.iterations.numpy()))  # (convert_to_numpy warns: _head_weights)
            rate = builders.scaled_schedule(schedule, _FINETUNE_LR_FACTOR, steps)
        builders.set_embedding_trainable(model, True)
        builders.compile_model(model, optimizer=self.optimizer, learning_rate=rate, output=self.output_)
        logger.info("epoch %d: embedding unfrozen, learning rate %.2g", epoch, lr)

    def _fit_one_epoch(self, model, X_train, y_train, w_train, val, rng, history, callbacks=None):
        """One pass over the training rows in this estimator's own shuffled order.

        The epoch is the number of epochs in ``history`` so far; Keras sees
        it as ``initial_epoch``, so ``callbacks`` (:func:`_whole_fit_callbacks`)
        number the epochs as one ``model.fit`` over all of them would.
        """
        epoch = len(history.get("loss", ()))
        order = rng.permutation(len(X_train))
        # Keras' output (verbose=2) comes from the progress bar among the callbacks, which knows every epoch
        epochs = {"initial_epoch": epoch, "epochs": epoch + 1, "verbose": 0, "shuffle": False,
                  "validation_data": val, "callbacks": None if callbacks is None else [callbacks]}
        if hasattr(X_train, "epoch_data"):  # rows on disk (toolkit.distributed.fit_from_store), or flat (_FlatRows)
            data = X_train.epoch_data(order, y_train, w_train, self.batch_size)
            fitted = model.fit(data, **epochs)
        else:
            fitted = model.fit(
                X_train[order], y_train[order],
                sample_weight=None if w_train is None else w_train[order],
                batch_size=self.batch_size, **epochs,
            )
        for key, values in fitted.history.items():
            values = [v for v in values if isinstance(v, numbers.Real)]  # what a callback logs may be anything
            history.setdefault(key, []).extend(float(v) for v in values)

    # ------------------------------------------------------------------ predict
    def _probabilities(self, X):
        """Model outputs per document; documents with no tokens get the class prior."""
        if "model_" not in vars(self) and "_model_keras_bytes" not in vars(self):
            check_is_fitted(self, "model_")  # not hasattr: it would rebuild an unpickled Keras model
        corpus = self._corpus(X, allow_empty=True)
        empty = corpus.lengths() == 0
        nb = self.architecture in _NB_ARCHITECTURES
        if not empty.any():
            return self._nb_outputs(corpus) if nb else self._model_outputs(self._sequences(corpus))
        self._warn_empty(empty)
        if nb:  # an empty document's row has no ids: computing it costs nothing
            proba = self._nb_outputs(corpus)
        else:
            proba = np.empty((len(empty), self._n_outputs()))
            if not empty.all():
                proba[~empty] = self._model_outputs(self._sequences(corpus)[~empty])
        proba[empty] = self._empty_output()
        return proba

    def _vectors_label(self) -> str:
        """``vectors`` for messages: a tuple domain spec's texts by their number, not their 50,000 reprs."""
        from ..vectors.domain import spec_label

        return spec_label(self.vectors) if isinstance(self.vectors, tuple) else repr(str(self.vectors))

    def _warn_empty(self, empty):
        """Log that the documents of the mask ``empty`` (some of them) have no tokens and get the class prior.

        Inside :func:`_noting_empty_documents` they are noted in its list
        instead, for the caller to say where they are.
        """
        prior = self._empty_output()
        if self.output_ == "binary":  # both classes, as predict_proba gives them (the model's one output: the second)
            prior = np.concatenate([1 - prior, prior])
        # by class: "[0.475]" named neither the class nor the other one's 0.525
        note = {"count": int(empty.sum()), "n": len(empty), "first": int(np.argmax(empty)),
                "prior": dict(zip(self.classes_.tolist(), np.round(prior, 4).tolist()))}
        notes = _EMPTY_NOTES.get()
        if notes is not None:
            notes.append(note)
            return
        logger.warning(
            "%d of %d document(s) have no tokens (first: document %d of X); they get the "
            "class prior %s.", note["count"], note["n"], note["first"], note["prior"],
        )

    def _n_outputs(self):
        """Columns of the model's output: 1 (binary), else one per class or label."""
        return 1 if self.output_ == "binary" else len(self.classes_)

    def _nb_rows(self, corpus):
        """The NB architectures' input: each document's distinct ids as flat rows ``(ids, offsets)``, cut at ``maxlen_``.

        A binarized n-gram bag: distinct ids, most frequent first (ids are
        frequency ranked), so cutting at ``maxlen_`` drops the rarest ones. One
        sort finds every row's distinct ids (1.7-3x faster than np.unique per
        row), or, inside a stack's prediction, they are read off its NBSVM
        member's counts of the same documents
        (:func:`toolkit.text.encoders.shared_counts`). :meth:`_sequences` pads
        these rows; :meth:`_nb_outputs` scores them as they are.
        """
        from ..text.encoders import _count_rows, _distinct_ids

        if self._oov_active():  # the ids once, mapped, then counted (not counted, then encoded again)
            flat = self._nearest_ids(corpus, self.vocabulary_.encode(corpus))
            bag = _count_rows(flat, corpus.offsets, len(self.vocabulary_), np.int32)
            ids, offsets = bag.indices, bag.indptr
        else:
            ids, offsets = _distinct_ids(corpus, self.vocabulary_)
        return _cut_rows(ids, offsets, self.maxlen_)

    def _oov_active(self):
        """Whether ``oov="nearest"`` places new tokens: asked for now, and fitted so (``oov_vectors_``)."""
        # (getattr: an estimator pickled or fitted from a store before oov existed)
        return getattr(self, "oov", "unknown") == "nearest" and getattr(self, "oov_vectors_", None) is not None

    def _oov_lookup(self, separator=" "):
        """(the state of ``oov="nearest"`` for n-grams joined by ``separator``, the fastText vectors), or None
        where they cannot be opened.

        The state of the training corpus' separator is made at fit; an
        unpickled or loaded estimator, or a corpus of another separator, makes
        one here from ``oov_vectors_`` (two threads may both make it: the same
        candidates, one of them kept).
        """
        from ..vectors.loading import _relocated_entry, open_subwords

        folder = self.oov_vectors_
        if _relocated_entry(folder) is None:  # (open_subwords' own warning would name EmbeddingVectorizer's switch)
            if folder not in _OOV_WARNED:
                _OOV_WARNED.add(folder)
                logger.warning("%s cannot open the fastText vectors it was fitted with: their cache entry %s no "
                               "longer exists (the cache was cleared or moved, or this is another machine). Tokens "
                               "outside the vocabulary get the OOV id, as with oov='unknown'. Fit again where the "
                               "vectors are, or set oov='unknown' (set_params, no refit needed) to silence this.",
                               type(self).__name__, folder)
            return None
        kv = open_subwords(folder, owner=type(self).__name__, switch="oov='unknown'")
        if kv is None:
            return None
        states = self.__dict__.get("_oov_state")
        if states is None:
            states = self.__dict__.setdefault("_oov_state", {})
        state = states.get(separator)
        if state is None:
            from ..vectors.neighbours import unit_word_rows

            state = states.setdefault(separator, _OovState(unit_word_rows(self.vocabulary_.tokens, kv,
                                                                          separator=separator)))
        return state, kv

    def _nearest_ids(self, corpus, ids):
        """``ids`` (``vocabulary_.encode(corpus)``) with each OOV id replaced by its token's neighbour's id
        (``oov="nearest"``), where there is one; ``ids`` itself when nothing changes.

        The n-grams of :meth:`TokenizedCorpus.ngrams` are split by their own
        separator; the tokens of any other corpus holding ``" "`` are taken
        for word n-grams joined by ``" "``."""
        if not self._oov_active():
            return ids
        from ..text.corpus import _NgramCorpus
        from ..text.vocabulary import OOV_ID

        positions = np.flatnonzero(ids == OOV_ID)
        if not positions.size:
            return ids
        found = self._oov_lookup(_ngram_separator(corpus))
        if found is None:
            return ids
        state, kv = found
        vocabulary, threshold = self.vocabulary_, float(self.oov_threshold)
        known = vocabulary.token_to_id
        if isinstance(corpus, _NgramCorpus):
            # map the words of the source corpus, then look its n-grams up (their strings are never built, and
            # their separator is the corpus' own, whether built or not). Only OOV positions change: a known n-gram
            # keeps its id even where one of its words is unknown (a tie at the max_tokens cut)
            source = corpus._source.compact()
            words = state.neighbours([s for s in source.strings if s not in known], kv, vocabulary, threshold)
            if not words:
                return ids
            mapped = source.map_strings(lambda s: words.get(s, s)).ngrams(corpus._ngram_range,
                                                                         separator=corpus._separator)
            if not _OOV_NGRAMS:  # the unigram positions only
                from ..text.corpus import _ngram_layout

                unigram = np.zeros(ids.size, dtype=bool)
                for n, _, dest in _ngram_layout(corpus._source.offsets, corpus._ngram_range):
                    if n == 1:
                        unigram[dest] = True
                positions = positions[unigram[positions]]
            out = ids.copy()
            out[positions] = vocabulary.encode(mapped)[positions]
            return out
        strings = corpus.strings
        which = np.asarray(corpus.ids)[positions]
        distinct = np.unique(which)
        wanted = [strings[i] for i in distinct.tolist()]
        unknown = [s for s in wanted if s not in known and (_OOV_NGRAMS or " " not in s)]
        parts = {s: s.split(" ") for s in unknown if " " in s}  # word n-grams: the n-gram of the mapped words
        words = state.neighbours(sorted({w for s in unknown for w in parts.get(s, (s,)) if w not in known}),
                                 kv, vocabulary, threshold)
        if not words:
            return ids
        new = np.full(len(strings), OOV_ID, dtype=ids.dtype)
        for i, s in zip(distinct.tolist(), wanted):
            if s in parts:
                if any(w in words for w in parts[s]):
                    new[i] = known.get(" ".join(words.get(w, w) for w in parts[s]), OOV_ID)
            elif s in words:
                new[i] = known[words[s]]
        out = ids.copy()
        out[positions] = new[which]
        return out

    def _nb_outputs(self, corpus):
        """The NB architectures' outputs from :meth:`_nb_rows`, never padded.

        A padded matrix of ``n_documents x maxlen_`` cells (``maxlen_``: the
        longest training document's distinct n-grams, ~3,000 after 400 IMDB
        reviews) took about half of the memory of a large batch.
        """
        from .hybrid import nb_row_outputs

        ids, offsets = self._nb_rows(corpus)
        return nb_row_outputs(ids, offsets, self._nb_arrays()).astype("float64", copy=False)

    def _empty_output(self):
        """The model-output row of a document without tokens: the training class prior."""
        prior = getattr(self, "class_prior_", None)
        if prior is None:  # fitted before class_prior_ existed: no preference
            prior = np.full(len(self.classes_), 0.5 if self.output_ == "multilabel" else 1 / len(self.classes_))
        return prior[1:] if self.output_ == "binary" else prior

    def _model_outputs(self, sequences, model=None):
        """Model outputs, in batches of ``max(256, batch_size)`` rows.

        Up to ``_DIRECT_CALL_BATCHES`` batches, direct (eager) calls: they
        trace nothing and skip ``Model.predict``'s set-up, which dominates
        single documents and the test folds of a grid search (where a new
        ``tf.function`` per fitted model made TensorFlow log "triggered
        tf.function retracing"). Beyond that, ``Model.predict``'s compiled
        step is faster (benchmarks/bench_predict_path.py); its one trace per
        model is not reported as retracing. Under JAX, ``Model.predict``
        always. The NB architectures are computed
        with scipy over each document's own ids (:func:`.hybrid.nb_model_outputs`).
        ``model``: another Keras model of the same input (:meth:`_logit_head`'s), for a Keras architecture.
        """
        if self.architecture in _NB_ARCHITECTURES:
            # a sparse sum over each document's own ids: no padding columns, no Keras call; the weights are
            # read out of Keras once per fitted model (a new fit makes a new model_); an unpickled classifier
            # brings them as arrays, for a model_ not rebuilt yet (None), so it never imports Keras
            from .hybrid import nb_model_outputs

            return nb_model_outputs(None, sequences, self._nb_arrays()).astype("float64", copy=False)
        if len(sequences) == 0:  # no call: a convolution of 0 rows fails in TensorFlow (Conv1D, AddV2)
            return np.zeros((0, self._n_outputs()))
        self._check_not_forked()
        import keras
        from keras import ops

        keras_model = self.model_ if model is None else model
        batch_size = max(256, self.batch_size)
        # JAX runs a direct call op by op, compiling each op for each new shape: Model.predict's one compiled
        # step was faster there at any size (1 review: 0.16 against 0.56 CPU s for a first call, 1,000: 0.64
        # against 1.3; warm calls too)
        if len(sequences) > _DIRECT_CALL_BATCHES * batch_size or keras.backend.backend() == "jax":
            with _no_retracing_warning():
                proba = keras_model.predict(sequences, batch_size=batch_size, verbose=0)
            return np.asarray(proba, dtype="float64")
        outputs = [
            ops.convert_to_numpy(keras_model(sequences[start:start + batch_size], training=False))
            for start in range(0, len(sequences), batch_size)
        ]
        return np.concatenate(outputs).astype("float64", copy=False)

    def predict_proba(self, X, **predict_params):
        """Class probabilities.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
            Documents with no tokens get the class prior ``class_prior_``.
        **predict_params
            None is taken: Keras' ``model.predict`` arguments (``batch_size``,
            ``verbose``...) raise a TypeError that names the estimator's
            parameter or attribute to use instead.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; each row sums to 1 in float64
            (scikit-learn's ``log_loss`` checks that), except for multilabel
            targets: one independent probability per label.
        """
        if predict_params:
            raise TypeError(_keras_predict_arguments_message(type(self).__name__, "predict_proba", predict_params))
        fitted = self._fitted_view()  # one model, vocabulary and classes, whatever a refit in another thread does
        proba = fitted._probabilities(X)
        if fitted.output_ == "binary":
            proba = proba.reshape(-1)
            return np.column_stack([1.0 - proba, proba])
        if fitted.output_ == "multiclass" and len(proba):
            # Keras' float32 softmax rows sum to 1 within float32 rounding only (off by up to ~1e-7), which
            # scikit-learn's log_loss (scoring="neg_log_loss", CalibrationDisplay...) flags in float64 with
            # "The y_prob values do not sum to one"; renormalized in float64, the order within a row is kept
            proba = proba / proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
            Documents with no tokens get the class prior ``class_prior_``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def decision_function(self, X):
        """Confidence scores: log-odds of the positive class (binary, shape
        (n_samples,)), log-probabilities (multiclass) or per-label log-odds
        (multilabel).

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
            Documents with no tokens get the class prior ``class_prior_``.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)

        Notes
        -----
        These are the model's own logits, the input of its output layer (as
        a linear model's raw scores), in float64: not capped. The
        probabilities, float32 in the Keras graph, saturate at 1.0 beyond a
        log-odds of about 16.6, so log-odds read back from them were clipped
        at ``log((1 - eps) / eps)`` (``eps`` float32's 2**-23), about 15.94,
        where confident documents tied (a quarter of the reviews an
        ``"nbsvm"`` model was fitted on). For a multiclass target they are
        the exact log-softmax of the logits: ``exp`` of a row sums to 1 and
        equals :meth:`predict_proba`'s row within float32 rounding. Documents
        with no tokens get the class prior's log-odds (log-probabilities).
        The sign (binary) and the argmax (multiclass) agree with
        :meth:`predict` (for a Keras model, except for logits within float32
        rounding of a tie). A registered architecture of one's own whose
        probabilities do not come from a layer named ``"output"`` (a Dense
        or an Activation with the target's sigmoid or softmax, giving the
        model's output) gets the clipped values above.
        """
        fitted = self._fitted_view()  # one model, vocabulary and classes, whatever a refit in another thread does
        logits = fitted._logits(X)
        if fitted.output_ == "binary":
            return logits.reshape(-1)
        if fitted.output_ == "multiclass":  # log-softmax in float64: exact log-probabilities
            shifted = logits - logits.max(axis=1, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return logits

    def _logits(self, X):
        """The model's logits per document (float64); documents with no tokens get the class prior's.

        A model without the built-in architectures' output layer (see
        :meth:`_logit_head`: a registered architecture of one's own) gets the
        log-odds of its probabilities (the log-probabilities for a multiclass
        target), clipped at float32's ``eps`` (2**-23) as before.
        """
        if "model_" not in vars(self) and "_model_keras_bytes" not in vars(self):
            check_is_fitted(self, "model_")  # not hasattr: it would rebuild an unpickled Keras model
        nb = self.architecture in _NB_ARCHITECTURES
        head = None if nb else self._logit_head()
        if not nb and head is None:
            eps = np.finfo("float32").eps
            return self._log_odds(np.clip(self._probabilities(X), eps, 1 - eps))
        corpus = self._corpus(X, allow_empty=True)
        empty = corpus.lengths() == 0
        if empty.any():
            self._warn_empty(empty)
        if nb:  # an empty document's row has no ids: it costs nothing
            from .hybrid import nb_row_outputs

            ids, offsets = self._nb_rows(corpus)
            logits = nb_row_outputs(ids, offsets, self._nb_arrays(), raw=True)
        else:
            features, kernel, bias = _head_weights(head)  # read now: model_.load_weights / fit may have changed them
            logits = np.zeros((len(empty), self._n_outputs()))
            if not empty.all():
                x = self._model_outputs(self._sequences(corpus)[~empty], model=features)
                logits[~empty] = x if kernel is None else x @ kernel + bias
        if empty.any():
            logits[empty] = self._log_odds(np.clip(self._empty_output(), 1e-12, 1 - 1e-12))
        return logits

    def _log_odds(self, proba):
        """Log-odds of probabilities (log-probabilities for a multiclass target), as :meth:`_logits` gives."""
        return np.log(proba) - (0.0 if self.output_ == "multiclass" else np.log1p(-proba))

    def _logit_head(self):
        """(``model_`` up to its output layer's input, that layer), made once per model; None for a model without
        such an output layer. :func:`_head_weights` reads the layer's kernel and bias at each call.

        The output layer is the layer named ``"output"`` that gives the
        model's only output: a Dense or an Activation whose activation is
        the one :meth:`predict_proba` reads (softmax for a multiclass target,
        sigmoid otherwise). A registered architecture of one's own without
        it (another name, another layer after it, a sigmoid over several
        classes) gets None: :meth:`_logits` reads its probabilities instead.
        """
        model = self.model_
        activation = "softmax" if self.output_ == "multiclass" else "sigmoid"
        with _LOGIT_HEAD_LOCK:  # one sub-model per model, also when threads ask for it at once
            heads = _LOGIT_HEADS.get(model)
            if heads is None:
                heads = _LOGIT_HEADS[model] = {}
            if activation not in heads:  # (the sub-model refers to the model's layers, not to the model itself)
                heads[activation] = _output_head(model, activation)
            return heads[activation]

    def predict(self, X, **predict_params):
        """Predicted class labels (a 0/1 indicator matrix for multilabel targets).

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
            Documents with no tokens get the class prior ``class_prior_``.
        **predict_params
            None is taken: Keras' ``model.predict`` arguments (``batch_size``,
            ``verbose``...) raise a TypeError that names the estimator's
            parameter or attribute to use instead.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        if predict_params:
            raise TypeError(_keras_predict_arguments_message(type(self).__name__, "predict", predict_params))
        fitted = self._fitted_view()  # one model, vocabulary and classes, whatever a refit in another thread does
        proba = fitted._probabilities(X)
        if fitted.output_ == "binary":
            return fitted.classes_[(proba.reshape(-1) > 0.5).astype(int)]
        if fitted.output_ == "multiclass":
            return fitted.classes_[proba.argmax(axis=1)]
        return (proba > 0.5).astype(int)

    def _nb_arrays(self):
        """The NB architectures' weights as numpy (:func:`.hybrid.nb_model_weights`), read once per model and
        again when its weights changed (``model_.load_weights``, ``set_weights``, ``model_.fit``: checked by
        :func:`.hybrid.nb_weights_stamp`, its NB bias, which any of them changes)."""
        from .hybrid import nb_model_weights, nb_weights_stamp

        model = self.__dict__.get("model_")  # None: unpickled, not rebuilt
        cached = self.__dict__.get("_nb_weights")
        kept = None if model is None else _NB_ARRAYS.get(model)
        if kept is not None:  # read by an earlier prediction of this model
            cached = (model, *kept)
        # (model, arrays, stamp); an unpickled classifier's (None, arrays) serves until model_ is rebuilt. In a
        # fork of the process that made model_ no TensorFlow call is made (it would hang there): the arrays serve
        forked = self.__dict__.get("_model_pid") not in (None, os.getpid())
        stamp = None if model is None or forked else nb_weights_stamp(model)
        if cached is None or cached[0] is not model or (stamp is not None and cached[2:] != (stamp,)):
            cached = (model, nb_model_weights(self.model_), stamp)
            if model is None:  # (model_ was rebuilt just now, from pickled bytes without their arrays)
                self._nb_weights = cached
            else:  # kept with the model, outside the estimator: prediction leaves its __dict__ as it was
                _NB_ARRAYS[model] = cached[1:]
        return cached[1]

    @cached_property
    def model_(self):
        """The Keras model of an unpickled NB classifier, rebuilt on first read (see the class docstring)."""
        data = self.__dict__.get("_model_keras_bytes")
        if data is None:  # not fitted
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'model_'")
        if not self.__dict__.get("_model_keras_safe_mode", False):
            model = keras_from_bytes(data, safe_mode=False)  # pickles are trusted-only; the bytes are ours
        else:  # the model.keras of a folder loaded by load_model: Keras' safe mode, as load_model itself uses
            model = keras_in_safe_mode(lambda: keras_from_bytes(data, safe_mode=True),
                                       "The saved model.keras of this classifier")
        self.__dict__.pop("_model_keras_bytes", None)  # pop: two threads may rebuild it at once (Python >= 3.12)
        self.__dict__.pop("_model_keras_safe_mode", None)
        self._model_pid = os.getpid()  # cached_property stores model_ in __dict__, past __setattr__
        cached = self.__dict__.get("_nb_weights")
        if cached is not None and cached[0] is None:  # the arrays of this very model: not read out of Keras again
            from .hybrid import nb_weights_stamp

            self._nb_weights = (model, cached[1], nb_weights_stamp(model))
        return model

    def __dir__(self):
        # BaseEstimator.__dir__ lists the attributes hasattr finds, and so read model_: dir() (a notebook's tab
        # completion) and inspect.getmembers (the "Fitted attributes" of the HTML repr a notebook shows,
        # variable explorers) rebuilt an unpickled NB classifier's Keras model, importing Keras. Until it is
        # built, model_ stays readable by name but is not listed
        unbuilt = "_model_keras_bytes" in vars(self) and "model_" not in vars(self)
        return [name for name in object.__dir__(self) if not (unbuilt and name == "model_") and hasattr(self, name)]

    # -------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        state = dict(state)
        state.pop("_nb_weights", None)
        state.pop("_oov_state", None)  # candidates and memo of oov="nearest": made again from oov_vectors_
        state.pop("_model_pid", None)  # this process's: an unpickled copy records its own (saved bytes stay the same)
        # the callbacks of the last training run: a record of it, not of the model, and often not picklable (a
        # CSVLogger keeps its closed file); the callbacks parameter itself is pickled as given
        state.pop("callbacks_", None)
        model = state.pop("model_", None)
        if model is not None:
            state["_model_keras_bytes"] = keras_to_bytes(model)
        if self.architecture in _NB_ARCHITECTURES and "_model_keras_bytes" in state:
            # the weights prediction reads, as arrays, for a model_ that the unpickled copy has not rebuilt
            state["_nb_weights"] = (None, self._nb_arrays())
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "_model_keras_bytes" in state and "_nb_weights" not in state:
            # a model that predicts through Keras (or an NB pickle without its weights as arrays) is rebuilt
            # now; the NB ones rebuild model_ on first read only. Pickles are trusted-only; the bytes are ours
            state["model_"] = keras_from_bytes(state.pop("_model_keras_bytes"), safe_mode=False)
        if "model_" in state:  # rebuilt by this process's TensorFlow
            state["_model_pid"] = os.getpid()
        else:
            state.pop("_model_pid", None)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:
            self.__dict__.update(state)


# inspect.signature(EmbeddingClassifier) reads __new__ before __init__: the parameters, not (*args, **kwargs)
EmbeddingClassifier.__new__.__signature__ = inspect.signature(EmbeddingClassifier.__init__)


def _one_vs_rest_ratios(D, targets, sample_weight=None):
    """Ratios of the NB architectures for two classes and for multilabel targets: one
    :func:`~toolkit.models.naive_bayes.log_count_ratio` per column of ``targets`` (bool, shape
    (n_documents, n_columns)) against the rest, on the binarized id counts ``D``; row 0 (padding) is zero."""
    from .naive_bayes import log_count_ratio

    ratios = np.zeros((D.shape[1], targets.shape[1]), dtype="float32")
    for c in range(targets.shape[1]):
        ratios[:, c] = log_count_ratio(D, targets[:, c].astype(int), pos_label=1, sample_weight=sample_weight,
                                       binarize=False)
    ratios[0] = 0.0
    return ratios


def _complement_ratios(D, targets, sample_weight=None, alpha=1.0):
    """Ratios of the NB architectures for more than two classes: complement naive Bayes, one column per class.

    Column ``c`` is ``-(K - 1)`` times the log-probability of each id under the
    smoothed counts of the documents *not* in class ``c`` (Rennie et al. 2003,
    "Tackling the poor assumptions of naive Bayes text classifiers"), centred
    over the ``K`` classes (a constant per id cancels in the softmax). For two
    classes it gives the binary model's ratio: column 1 minus column 0 is
    ``log_count_ratio``. The one-vs-rest ratio of each class against the rest,
    which this replaces for ``K > 2``, rests on the counts of one class: with
    tens of documents per class and a large n-gram vocabulary its smoothing
    outweighs them, its normalizer moves each class's score by an amount that
    grows with the document's length, and each training document's own rare
    n-grams make the training rows separable at once (training loss near 0
    after the first epoch), so the learned weights could not correct it. The
    complement of a class holds nearly all the documents, whatever ``K``.
    ``K - 1`` keeps the differences between classes, which shrink about as
    ``1 / K``, at the binary ratio's scale: on validation splits of IMDB
    training reviews (``benchmarks/bench_many_classes.py``; scratch probes of
    ``MAIN_JOB``'s schedule) the scale 1 scored 86.8% on 50 movies
    (``"nbsvm"``) and 10 scored 79.1% on 200 (``"nbsvm_vectors"``), against
    95.8% and 90.8% for ``K - 1`` (25 and 50 the same as ``K - 1``). At that scale the model predicts about as
    scikit-learn's ``ComplementNB`` does; its learned weights add little.

    Parameters
    ----------
    D : sparse matrix of shape (n_documents, n_ids)
        Binarized id counts of the training rows.
    targets : ndarray of bool, shape (n_documents, K)
        One-hot classes.
    sample_weight : ndarray of shape (n_documents,), optional
        Multiplies each document's counts.
    alpha : float, default=1.0
        Additive smoothing of the complement counts.

    Returns
    -------
    ndarray of float32, shape (n_ids, K)
        Row 0 (padding) is zero.
    """
    D = D.tocsc() if hasattr(D, "tocsc") else D
    n_classes = targets.shape[1]
    weights = np.ones(D.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = np.asarray(D.T @ weights, dtype=np.float64).ravel() + alpha  # smoothed counts of all the documents
    log_norms = np.empty(n_classes)
    ratios = np.empty((D.shape[1], n_classes), dtype="float32")
    for c in range(n_classes):
        counts = np.asarray(D.T @ (weights * targets[:, c]), dtype=np.float64).ravel()
        # log(complement count) = log(total) + log1p(-counts / total): the second term alone, small and exact in
        # float32; log(total) is the same for every class and cancels in the centring
        ratios[:, c] = np.log1p(-counts / total)
        log_norms[c] = np.log(total.sum() - counts.sum())
    ratios -= (log_norms - log_norms.mean()).astype("float32")
    ratios -= ratios.mean(axis=1, dtype=np.float64, keepdims=True).astype("float32")
    ratios *= -(n_classes - 1)
    ratios[0] = 0.0
    return ratios


def _every_class_trains(y_enc, train, val, n_classes):
    """``train`` and ``val`` rows with every class among the training rows (one label per document).

    A split that left a class out of ``train`` (all its documents held out: an
    unstratified split of few rows, or a stratified one that rounded a small
    class to none) swaps one of that class's held-out rows with a training row
    of the class with the most training rows; the sizes stay. ``train`` has at
    least ``n_classes`` rows, so such a class always has two or more.
    """
    swapped = []
    for label in range(n_classes):
        in_train = np.bincount(y_enc[train].astype(int), minlength=n_classes)
        if in_train[label]:
            continue
        held = np.flatnonzero(y_enc[val].astype(int) == label)
        if not held.size:  # (no document of the class at all: not a class of y)
            continue
        donor = np.flatnonzero(y_enc[train].astype(int) == int(np.argmax(in_train)))[-1]
        train, val = train.copy(), val.copy()
        train[donor], val[held[0]] = val[held[0]], train[donor]
        swapped.append(label)
    if swapped:
        logger.info("validation split: a held-out document of each of %d class(es) that had none for training "
                    "swapped with a training document", len(swapped))
    return train, val


def _cut_rows(ids, offsets, maxlen):
    """Flat rows ``(ids, offsets)`` with each row cut after its first ``maxlen`` ids (None: uncut)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    if maxlen is None or not lengths.size or lengths.max() <= maxlen:
        return ids, offsets
    kept = np.minimum(lengths, maxlen)
    within = np.arange(ids.size, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    ids = ids[within < np.repeat(kept, lengths)]
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    return ids, offsets


def _gather_rows(ids, offsets, rows):
    """The flat rows ``rows`` (row numbers, in that order) of the flat rows ``(ids, offsets)``, as new flat rows."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    out_offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), dtype=ids.dtype)
    for lo in range(0, rows.size, _GATHER_CHUNK):  # the index arrays of a chunk of rows at a time
        hi = min(lo + _GATHER_CHUNK, rows.size)
        begin, end = int(out_offsets[lo]), int(out_offsets[hi])
        shift = np.repeat(starts[lo:hi] - out_offsets[lo:hi], lengths[lo:hi])
        out[begin:end] = ids[np.arange(begin, end, dtype=np.int64) + shift]
    return out, out_offsets


class _FlatRows:
    """The NB architectures' training rows, kept flat, in place of the padded matrix in the training loop.

    Row ``i`` is ``ids[offsets[j]:offsets[j + 1]]`` with ``j = rows[i]``:
    indexing with row numbers selects rows without copying any id, as
    ``sequences[indices]`` did on the padded matrix. :meth:`epoch_data`
    gives Keras the rows of an epoch in the estimator's order, in batches of
    ``batch_size`` consecutive rows, each batch padded (post, with 0, as
    :meth:`EmbeddingClassifier._sequences` pads) to its own longest row only
    (rounded up on backends other than TensorFlow, :func:`_keras_batches`):
    the same batches as the padded matrix gave, less their padding columns,
    which contribute nothing to the NB models (padding id 0 has a zero ratio
    and no word vector). ``toolkit.distributed.StoreRows`` is the same
    stand-in for rows on disk.
    """

    def __init__(self, ids, offsets, rows=None):
        self.ids = ids
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.rows = np.arange(self.offsets.size - 1, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)

    def __len__(self) -> int:
        return self.rows.size

    def __getitem__(self, index):
        return _FlatRows(self.ids, self.offsets, self.rows[index])

    def lengths(self):
        """Number of ids of each row."""
        return self.offsets[self.rows + 1] - self.offsets[self.rows]

    def flat(self):
        """``(ids, offsets)`` of these rows, in their order (the stored arrays when they are all of them, in order)."""
        if self.rows.size == self.offsets.size - 1 and np.array_equal(self.rows, np.arange(self.rows.size)):
            return self.ids, self.offsets
        return _gather_rows(self.ids, self.offsets, self.rows)

    def padded(self, positions, widen=None):
        """int32 matrix of the rows at ``positions``, post-padded with 0 to the longest of them (at least 1 column),
        or to ``widen(that width)`` columns."""
        from ..text.vocabulary import _pad_flat

        ids, offsets = _gather_rows(self.ids, self.offsets, self.rows[positions])
        width = max(int(np.diff(offsets).max(initial=0)), 1)
        return _pad_flat(ids, offsets, width if widen is None else widen(width), padding="post", truncating="post",
                         dtype="int32")

    def epoch_data(self, order, targets, weights, batch_size):
        """Keras input of one pass over the rows ``order`` (positions) with their ``targets`` and ``weights``."""
        return _keras_batches(_flat_batches_class()(self, order, targets, weights, batch_size))


@cache
def _flat_batches_class():
    """The ``keras.utils.PyDataset`` of :meth:`_FlatRows.epoch_data` (made once, Keras imported)."""
    import keras

    class FlatBatches(keras.utils.PyDataset):
        """Consecutive batches of ``batch_size`` rows of ``order``, each padded to its own longest row;
        ``(x, y)`` or ``(x, y, sample_weight)``."""

        def __init__(self, rows, order, targets, weights, batch_size):
            super().__init__(workers=1, use_multiprocessing=False)
            self.source = rows
            self.order = np.asarray(order, dtype=np.int64)
            self.targets = targets[self.order]
            self.weights = None if weights is None else weights[self.order]
            self.batch_size = int(batch_size)
            self.widest = None  # the epoch's longest row: widths rounded up, at most to it (set by _keras_batches)

        def __len__(self) -> int:
            return int(-(-self.order.size // self.batch_size))

        def __getitem__(self, index):
            if not 0 <= index < len(self):
                raise IndexError(f"batch {index} out of range for {len(self)} batches")
            chunk = slice(index * self.batch_size, (index + 1) * self.batch_size)
            rows = self.order[chunk]
            widen = None
            if self.widest is not None:  # a short last batch: as wide as the widest, one shape for every epoch
                widest = self.widest
                widen = (lambda width: widest) if rows.size < self.batch_size else (
                    lambda width: min(_bucket_width(width), widest))
            x = self.source.padded(rows, widen)
            if self.weights is None:
                return x, self.targets[chunk]
            return x, self.targets[chunk], self.weights[chunk]

    return FlatBatches


def _bucket_width(width):
    """``width`` rounded up to a multiple of an eighth of the power of two at or below it (at most 1/8 wider)
    when above 16: eight widths per doubling instead of one per batch."""
    width = int(width)
    if width <= 16:
        return width
    step = 1 << (width.bit_length() - 4)
    return -(-width // step) * step


def _keras_batches(batches):
    """``batches`` (the PyDataset of :func:`_flat_batches_class`, whose widths vary) as ``Model.fit`` /
    ``evaluate`` take them.

    Keras turns a PyDataset into a ``tf.data`` pipeline whose shapes it reads
    off the first two batches: two of the same width would fix the width,
    and a later batch of another width would fail. On TensorFlow the same
    batches come from a ``tf.data`` pipeline of its own instead: the rows of
    the epoch, in order, as a ``RaggedTensor``, cut into batches of
    ``batch_size`` and each padded (post, with 0) to its own longest row, at
    least one column, with every dimension left open (one trace of the train
    step for all widths). Built in TensorFlow, not from a Python generator
    (``Dataset.from_generator`` prints a C++ notice, "Memory patch applied",
    on the first use in a process, into the CLI's output). Other backends
    take the PyDataset, its widths rounded up (:func:`_bucket_width`, at
    most to the epoch's longest row; a short last batch to that row): JAX
    compiles the train step once per batch shape, and a width per batch
    compiled it 22 times fitting ``"nbsvm"`` on 2,000 IMDB reviews, about
    0.8 s each. The extra padding columns contribute nothing to the NB models.
    """
    import keras

    if not len(batches):
        return batches
    if keras.backend.backend() != "tensorflow":
        batches.widest = int(batches.source[batches.order].lengths().max(initial=1))
        return batches
    import tensorflow as tf

    ids, offsets = batches.source[batches.order].flat()
    rows = tf.RaggedTensor.from_row_splits(np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64),
                                           validate=False)
    parts = (rows, batches.targets) if batches.weights is None else (rows, batches.targets, batches.weights)

    @tf.autograph.experimental.do_not_convert
    def padded(x, *rest):
        x = x.to_tensor()  # each row padded with 0 at its end to the batch's longest
        return (tf.pad(x, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(x)[1])]]), *rest)  # at least one column

    data = tf.data.Dataset.from_tensor_slices(parts).ragged_batch(batches.batch_size).map(padded)
    return data.prefetch(2)


def _ngram_separator(corpus):
    """The separator of the word n-grams of ``corpus`` (:meth:`TokenizedCorpus.ngrams`'), else ``" "``."""
    from ..text.corpus import _NgramCorpus

    return corpus._separator if isinstance(corpus, _NgramCorpus) else " "


class _OovState:
    """What ``oov="nearest"`` needs when predicting: the candidates' ids and unit vectors
    (:func:`toolkit.vectors.neighbours.unit_word_rows`) and a memo ``{token: (nearest id, similarity)}``.

    Never pickled (a fitted estimator's ``__getstate__`` drops it): it is made
    again from ``oov_vectors_``. The memo is a plain dict, read and written
    whole entries at a time, so threads share it safely (two threads may
    compute the same token: the same answer); it is cleared past
    ``max_memo`` tokens. The threshold is applied at each call, so
    ``set_params(oov_threshold=...)`` needs no refit.
    """

    max_memo = 1_000_000

    def __init__(self, candidates):
        self.ids, self.unit = candidates
        self.memo = {}

    def neighbours(self, tokens, kv, vocabulary, threshold):
        """``{token: the vocabulary word it maps to}`` for those of ``tokens`` (outside ``vocabulary``) whose
        nearest word is at least ``threshold`` similar."""
        from ..vectors.neighbours import nearest_words

        memo = self.memo
        found = {}
        for token in tokens:
            hit = memo.get(token)  # (get: another thread may clear the memo meanwhile)
            if hit is not None:
                found[token] = hit
        new = [t for t in tokens if t not in found]
        if new:
            best, similarity = nearest_words(new, kv, self.ids, self.unit)
            fresh = dict(zip(new, zip(best.tolist(), similarity.tolist())))
            if len(memo) + len(fresh) > self.max_memo:
                memo.clear()
            memo.update(fresh)
            found.update(fresh)
        words = vocabulary._tokens  # (cached by the vocabulary)
        return {token: words[best] for token, (best, similarity) in found.items()
                if best >= 0 and similarity >= threshold}


def _check_policy_kept(expected, first, last):
    """Refuse a model built under another dtype policy than ``expected`` (in force when its first and its last
    layer were made): Keras' global state was reset while it was built."""
    lost = next((policy for policy in (first, last) if policy != expected), None)
    if lost is None:
        return
    raise RuntimeError(
        f"Keras' global state was reset while EmbeddingClassifier built its model: the dtype policy in force "
        f"went from {expected!r} to {lost!r}, so the model would not have the policy it was meant to have, or "
        "would mix the two. keras.backend.clear_session() does this to every thread of the process: do not "
        "call it while another thread fits. Fit again."
    )


def _check_dtype_policy(name):
    """Refuse a ``dtype_policy`` that Keras does not know, before anything is built."""
    if name is None:
        return
    import keras

    try:
        keras.DTypePolicy(name)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"The 'dtype_policy' parameter of EmbeddingClassifier must be a Keras dtype policy name such as "
            f"'mixed_float16', 'mixed_bfloat16' or 'float32', or None. Got {name!r} instead ({err})."
        ) from err


class _RetracingWarningFilter(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def _output_head(model, activation):
    """:meth:`EmbeddingClassifier._logit_head` of the Keras ``model`` whose probabilities come from ``activation``."""
    import keras

    try:
        layer = model.get_layer("output")
    except ValueError:
        return None
    outputs = getattr(model, "outputs", None) or []
    if len(outputs) != 1 or outputs[0] is not layer.output:
        return None  # another layer after it (or its call that gives the output is not its first)
    if getattr(getattr(layer, "activation", None), "__name__", None) != activation:
        return None
    if type(layer) is keras.layers.Activation:
        dense = None
    elif type(layer) is keras.layers.Dense and getattr(layer, "quantization_mode", None) is None:
        dense = layer
    else:
        return None
    try:
        features = keras.Model(model.input, layer.input)  # one input, as model_ takes it (no structure warning)
    except (ValueError, TypeError, AttributeError):  # a graph Keras cannot cut there: the probabilities, then
        return None
    return features, dense


def _head_weights(head):
    """(features model, the output Dense layer's kernel and bias in float64, or None, None for an Activation) of
    a :func:`_output_head`, the weights read now: ``model_.load_weights``, ``set_weights`` or a Keras ``fit``
    of ``model_`` change them in place (the features model shares its layers with ``model_``)."""
    features, dense = head
    if dense is None:
        return features, None, None
    # Variable.numpy(): keras.ops.convert_to_numpy of a variable warns under NumPy 2 (DeprecationWarning "__array__
    # implementation doesn't accept a copy keyword"), an error where warnings are errors
    kernel = np.asarray(dense.kernel.numpy(), dtype=np.float64)
    bias = (np.asarray(dense.bias.numpy(), dtype=np.float64) if dense.use_bias else np.zeros(kernel.shape[1]))
    return features, kernel, bias


@contextlib.contextmanager
def _no_retracing_warning():
    """Silence TensorFlow's retracing warning while this estimator trains.

    Every new Keras model traces its train and test steps once, and TensorFlow
    counts the traces of all models together (they share the step's code), so
    a grid search of short fits trips its "5 out of the last 10 calls
    triggered tf.function retracing" warning although nothing is retraced
    needlessly. The filter sits on the ``tensorflow`` logger only while this
    estimator trains or runs ``Model.predict`` (see ``_model_outputs``).
    """
    tf_logger = logging.getLogger("tensorflow")
    noise = _RetracingWarningFilter()
    tf_logger.addFilter(noise)
    try:
        yield
    finally:
        tf_logger.removeFilter(noise)


class _BestWeights:
    """Early stopping on a loss, keeping the weights of the best epoch.

    ``stop_after`` answers True once ``patience`` epochs in a row did not
    improve on the best loss (Keras' ``EarlyStopping``: 0 and 1 both stop at
    the first epoch without improvement); None never stops.
    """

    def __init__(self, patience):
        self.patience = patience
        self.loss, self.weights, self.epoch, self.waited = np.inf, None, 0, 0
        self.last_epoch = -1

    def stop_after(self, epoch, loss, model):
        self.last_epoch = epoch
        if loss < self.loss:
            self.loss, self.weights, self.epoch, self.waited = loss, model.get_weights(), epoch, 0
            return False
        self.waited += 1
        return self.patience is not None and self.waited >= max(self.patience, 1)

    def restore(self, model):
        if self.weights is not None and self.epoch != self.last_epoch:
            model.set_weights(self.weights)


#: Parameters of other scikit-learn estimators (MLPClassifier, SGDClassifier...) that EmbeddingClassifier does
#: not take, with what it has instead
_OTHER_ESTIMATORS_PARAMETERS = {
    "warm_start": "EmbeddingClassifier has no warm_start, nor partial_fit: each fit trains a new model from "
                  "scratch, on a vocabulary built again from X. To train longer, fit again with a larger epochs "
                  "(patience stops early when val_loss no longer improves); to train the fitted model further on "
                  "the same vocabulary, train its Keras model: clf.model_.fit(clf.model_inputs(X), "
                  "np.searchsorted(clf.classes_, y), "
                  "epochs=...) (for a multilabel y, the 0/1 indicator matrix itself).",
    "max_iter": "The number of passes over the training documents is epochs.",
    "n_iter_no_change": "Early stopping is patience: the epochs without a better val_loss (on validation_split "
                        "of X) before training stops; None trains all epochs.",
    "early_stopping": "Early stopping is patience (None: off), on validation_split of X (the training loss when "
                      "validation_split=0).",
    "validation_fraction": "The share of X held out to stop early is validation_split.",
    "learning_rate_init": "The optimizer's step size is learning_rate.",
    "lr": "The optimizer's step size is learning_rate.",
    "n_jobs": "EmbeddingClassifier has no n_jobs: Keras trains each model on all CPU cores itself. To run "
              "several fits at once, give n_jobs to GridSearchCV or cross_val_score; SpacyTokenizer takes n_jobs "
              "for tokenizing.",
    "seed": "The seed of the initial weights, the validation split and the order of the documents is "
            "random_state.",
    "shuffle": "Training always shuffles the documents every epoch, in an order drawn from random_state.",
    "hidden_layer_sizes": "The one Dense(relu) layer before the output is hidden_units (0 for none).",
    "solver": "The optimizer is optimizer ('adam', 'sgd', ... or a Keras optimizer).",
    "max_features": "The vocabulary size is max_tokens.",
    "num_words": "The vocabulary size is max_tokens.",
}


_EMBEDDING_ARCHITECTURES = ("flatten", "bag", "cnn", "rnn")
#: the layer settings, in __init__'s order, and the built-in architectures that read them (``fit`` logs those
#: set under another one)
_LAYER_PARAMETERS = {
    "embedding_dim": (*_EMBEDDING_ARCHITECTURES, "nbsvm_vectors"),  # the vectors' dimension, checked
    "hidden_units": (*_EMBEDDING_ARCHITECTURES, "nbsvm_vectors"),
    "dropout": (*_EMBEDDING_ARCHITECTURES, "nbsvm_vectors"),
    "filters": ("cnn",),
    "kernel_size": ("cnn",),
    "conv_blocks": ("cnn",),
    "rnn_cell": ("rnn",),
    "rnn_units": ("rnn",),
    "bidirectional": ("rnn",),
}
_BUILT_IN_ARCHITECTURES = frozenset({"flatten", "bag", "cnn", "rnn", "nbsvm", "nbsvm_vectors"})


@cache
def _init_parameters(cls) -> tuple:
    """``cls.__init__``'s parameters but ``self``, in order (:class:`inspect.Parameter`), read once per class."""
    return tuple(p for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self")


def _init_defaults(cls) -> dict:
    """``cls.__init__``'s parameters and their defaults, in order."""
    return {p.name: p.default for p in _init_parameters(cls)}


_ONCE_ACTIONS = frozenset({"default", "module", "once", "ignore"})


def _warn_once(message, category=UserWarning, stacklevel=2):
    """``warnings.warn(message, category)`` the first time in this process; after that, only where the warning
    filters show every occurrence (``"always"``, ``"error"``: ``pytest.warns``, ``-W error``).

    Python's ``"default"`` action shows a warning once per place, but
    scikit-learn's parallel wrapper resets the warning filters around every fit
    of ``GridSearchCV`` or ``cross_validate``, which empties that memory: a
    setting that does nothing was warned about once per candidate and fold.
    """
    if message in _SAID_ONCE and _filters_show_once(message, category):
        return
    _SAID_ONCE.add(message)
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def _filters_show_once(message, category) -> bool:
    """Whether the warning filters show ``message`` at most once per place (or never); False where the first
    filter that may apply shows every occurrence, or raises."""
    for action, text, kind, module, lineno in warnings.filters:
        if not issubclass(category, kind) or (text is not None and not text.match(message)):
            continue
        if module is None and not lineno:
            return action in _ONCE_ACTIONS
        if action not in _ONCE_ACTIONS:  # a filter of some modules or lines alone: may apply, shows every one
            return False
    return warnings.defaultaction in _ONCE_ACTIONS


def _same_value(value, default) -> bool:
    """Whether a parameter holds its default (``np.int64(5)`` is 5, ``np.True_`` is True; 1 is not True)."""
    if value is None or default is None or isinstance(default, bool):
        return value is default or isinstance(value, np.bool_) and bool(value) is default
    return value == default


def _init_parameter_names(cls) -> frozenset | None:
    """The names ``cls.__init__`` takes, or None when it takes any (``**kwargs``: a subclass of one's own)."""
    parameters = _init_parameters(cls)
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


def _unknown_parameter_message(owner, names, known):
    """The ``TypeError`` message for keyword arguments ``names`` that ``owner.__init__`` does not take."""
    which = "an unexpected keyword argument" if len(names) == 1 else "unexpected keyword arguments"
    return (f"{owner}.__init__() got {which} {', '.join(map(repr, names))}.{_parameter_hints(names, known)} "
            f"The parameters of {owner} are: {', '.join(sorted(known))}.")


def _parameter_hints(names, known) -> str:
    """For each of ``names`` (not parameters), what the estimator has instead, or the parameter meant; " ..." or ""."""
    import difflib

    message = ""
    for name in names:
        hint = _OTHER_ESTIMATORS_PARAMETERS.get(name)
        if hint is None:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f"Did you mean {close[0]!r}?" if close else None
        if hint is not None:
            message += f" {hint}"
    return message


def _routed_names_hint(names, known) -> str:
    """For ``model__hidden_units`` or ``optimizer__learning_rate`` (scikeras' routing), the parameter's own name."""
    own = sorted({name.rsplit("__", 1)[-1] for name in names if "__" in name} & set(known))
    if not own:
        return ""
    example = ", ".join(f"{name}=..." for name in own)
    return (f" This estimator takes {', '.join(own)} by {'its' if len(own) == 1 else 'their'} own name: "
            f"set_params({example}), or {', '.join(f'classifier__{name}' for name in own)} in a pipeline "
            "(prefixes such as model__ and optimizer__ are scikeras' routing).")


def _keras_fit_arguments_message(owner, fit_params, params):
    """The ``TypeError`` message for keyword arguments of Keras' ``model.fit`` given to the estimator's ``fit``."""
    names = sorted(fit_params)
    message = f"{owner}.fit() got unexpected keyword argument(s) {', '.join(map(repr, names))}."
    settable = [name for name in names if name in params]
    if settable:
        example = ", ".join(f"{name}={reprlib.repr(fit_params[name])}" for name in settable)
        message += (f" Unlike Keras' model.fit, the estimator takes {', '.join(settable)} as parameters: "
                    f"{owner}({example}, ...) or clf.set_params({example}) before fit.")
    if "validation_data" in fit_params:
        message += (" There is no validation_data: fit holds out validation_split of X (stratified) to "
                    "monitor val_loss for early stopping (patience); score your own held-out documents after "
                    "fit with clf.score(X_val, y_val) or clf.predict_proba(X_val).")
    return message


def _keras_predict_arguments_message(owner, method, predict_params):
    """The ``TypeError`` message for keyword arguments of Keras' ``model.predict`` given to ``method``."""
    names = sorted(predict_params)
    message = (f"{owner}.{method}() got unexpected keyword argument(s) {', '.join(map(repr, names))}: unlike "
               f"Keras' model.predict, it takes the documents only, and predicts without a progress bar")
    if "batch_size" in predict_params:
        message += ", in batches of max(256, batch_size) rows (batch_size is the estimator's training parameter)"
    return message + (". The Keras model itself is clf.model_, and clf.model_inputs(X) is what it takes: "
                      "clf.model_.predict(clf.model_inputs(X), ...) accepts Keras' arguments.")


def _restored_epoch(callback):
    """The epoch whose weights ``callback`` put back when training ended, or None where it restored none.

    Keras' ``EarlyStopping(restore_best_weights=True)`` (or a subclass) sets
    the weights of its best epoch in ``on_train_end``, whether or not it
    stopped training: they replace those the estimator restored.
    """
    import keras

    if (isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights
            and getattr(callback, "best_weights", None) is not None):
        return int(callback.best_epoch)
    return None


def _whole_fit_callbacks(callbacks, *, epochs, verbose):
    """The user's Keras callbacks (and Keras' progress output) over the estimator's epoch-by-epoch training.

    The estimator calls ``model.fit`` once per epoch (its own shuffling, early
    stopping and fine-tuning happen between the calls); passed to each call
    as they are, the callbacks would see a whole training per epoch:
    ``on_train_begin`` every epoch (``EarlyStopping`` forgets its best loss,
    ``CSVLogger`` rewrites its file), and ``params["epochs"]`` of 1. Each
    ``model.fit`` gets this one callback instead, which forwards every call
    but the repeated ``on_train_begin`` / ``on_train_end`` (with ``epochs``
    set to the estimator's); its ``finish()``, called once after training,
    ends the training for them. None when there is nothing to call (no
    callbacks, ``verbose`` < 2).
    """
    keras_output = bool(verbose and verbose > 1)  # Keras' own lines, "Epoch k/epochs" included
    if not callbacks and not keras_output:
        return None
    return _proxy_callback_class()(callbacks, epochs=epochs, keras_output=keras_output)


@cache
def _proxy_callback_class():
    """The ``keras.callbacks.Callback`` subclass of :func:`_whole_fit_callbacks` (made once, Keras imported)."""
    import keras

    class WholeFit(keras.callbacks.Callback):
        # the callbacks are called directly, not through a keras.callbacks.CallbackList: that one copies the
        # logs, and what a callback adds to them (ReduceLROnPlateau's "learning_rate") would miss history_
        def __init__(self, callbacks, *, epochs, keras_output):
            super().__init__()
            self.user = list(callbacks)
            self.all = [*self.user, *([keras.callbacks.ProgbarLogger()] if keras_output else [])]
            self.fixed = {"epochs": epochs, "verbose": 2 if keras_output else 0}
            self.begun = False
            self.last_logs = None

        def set_model(self, model):
            super().set_model(model)
            for callback in self.all:
                callback.set_model(model)

        def set_params(self, params):
            params = {**params, **self.fixed}
            super().set_params(params)
            for callback in self.all:
                callback.set_params(params)

        def on_train_begin(self, logs=None):
            if not self.begun:
                self.begun = True
                for callback in self.all:
                    callback.on_train_begin(logs)

        def on_train_end(self, logs=None):
            self.last_logs = logs  # the training ends in finish

        def finish(self):
            """End the training for the callbacks; return the user's, no longer holding the model."""
            if self.begun:
                for callback in self.all:
                    callback.on_train_end(self.last_logs)
            for callback in self.all:
                callback.set_model(None)  # a pickle or copy of a callback would hold a second model
            return self.user

    def forward(name):
        def method(self, *args, **kwargs):
            for callback in self.all:
                getattr(callback, name)(*args, **kwargs)

        method.__name__ = name
        return method

    for name in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
                 "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end"):
        setattr(WholeFit, name, forward(name))
    return WholeFit


class _EpochProgress:
    """A tqdm bar over epochs (on stderr) when ``total`` > 0; nothing otherwise."""

    def __init__(self, total):
        self.total = total
        self.bar = None

    def __enter__(self):
        if self.total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc="epochs", unit="epoch")
        return self

    def update(self, history):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v[-1]:.4f}" for k, v in history.items()})

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


def make_text_classifier(*, estimator=None, memory=None, **params):
    """A ``Pipeline(SpacyTokenizer, EmbeddingClassifier)`` for raw text.

    Parameters
    ----------
    estimator : estimator, default=None
        The classifier step, unfitted; ``None`` is a new
        :class:`EmbeddingClassifier`. Any classifier that takes token lists
        works, e.g. :class:`~toolkit.models.StackedTextClassifier` (what
        ``toolkit train --model stack`` fits). It is cloned, never modified.
    memory : str, path-like or joblib.Memory, default=None
        Caches the fitted tokenizer and its output, so a grid search over
        classifier parameters tokenizes each fold once.
    **params
        Parameters of :class:`~toolkit.text.tokenizer.SpacyTokenizer` or of
        the classifier, by name (``ngram_range=(1, 2)``,
        ``epochs=5``); a name both have goes to the classifier, and
        ``tokenizer__name`` / ``classifier__name`` address one step explicitly
        (``classifier__estimator__epochs`` a parameter of the estimator
        inside the classifier, as ``set_params`` takes it).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``"tokenizer"`` and ``"classifier"``.

    Raises
    ------
    ValueError
        For a parameter neither step has, listing the valid names.

    Examples
    --------
    >>> from toolkit.models import make_text_classifier
    >>> pipe = make_text_classifier(lowercase=True, epochs=3)
    >>> [name for name, _ in pipe.steps]
    ['tokenizer', 'classifier']
    >>> from toolkit.models import StackedTextClassifier
    >>> make_text_classifier(estimator=StackedTextClassifier(), vectors=None)[-1]
    StackedTextClassifier(vectors=None)
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from ..text.tokenizer import SpacyTokenizer

    tokenizer = SpacyTokenizer()
    classifier = EmbeddingClassifier() if estimator is None else clone(estimator)
    tok_names = set(tokenizer.get_params(deep=False))
    clf_names = set(classifier.get_params(deep=False))
    # an explicit step prefix may also reach a nested estimator's parameter (set_params does):
    # classifier__estimator__epochs for a PseudoLabelClassifier(EmbeddingClassifier())
    nested = {"tokenizer": set(tokenizer.get_params(deep=True)), "classifier": set(classifier.get_params(deep=True))}
    routed = {}
    for name, value in params.items():
        if name.startswith(("tokenizer__", "classifier__")):
            step, _, inner = name.partition("__")
            valid = tok_names if step == "tokenizer" else clf_names
            if inner not in nested[step]:
                raise ValueError(
                    f"Invalid parameter {name!r} for make_text_classifier: {step} has no "
                    f"parameter {inner!r}. Valid {step} parameters: {sorted(valid)}."
                )
            routed[name] = value
        elif name in clf_names:
            routed[f"classifier__{name}"] = value
        elif name in tok_names:
            routed[f"tokenizer__{name}"] = value
        else:
            # make_text_classifier(estimator=CalibratedClassifierCV(EmbeddingClassifier()), epochs=5): the name
            # belongs to the estimator inside the classifier, which takes it by its full name
            inner = sorted(f"classifier__{p}" for p in nested["classifier"] if p.endswith(f"__{name}"))
            hint = f" The estimator inside the classifier has it: pass {inner[0]}={value!r}." if inner else ""
            if not inner and isinstance(classifier, EmbeddingClassifier) and name in _OTHER_ESTIMATORS_PARAMETERS:
                hint = f" {_OTHER_ESTIMATORS_PARAMETERS[name]}"  # warm_start, max_iter...: what it does instead
                if "clf." in hint:
                    hint += " In the pipeline, clf is pipe[-1] and X is pipe[0].transform(texts)."
            raise ValueError(
                f"Invalid parameter {name!r} for make_text_classifier. Valid tokenizer "
                f"parameters: {sorted(tok_names)}; valid classifier parameters: "
                f"{sorted(clf_names)}.{hint}"
            )
    pipe = Pipeline([("tokenizer", tokenizer), ("classifier", classifier)], memory=memory)
    return pipe.set_params(**routed)

"""Save and load fitted text classifiers without pickle.

A saved Keras-based model (``EmbeddingClassifier``, alone or after a
``SpacyTokenizer`` in a ``Pipeline``) is a folder::

    model.keras        the Keras model, loaded with safe_mode=True
    vocabulary.json    the token -> id vocabulary
    config.json        format version, toolkit and Keras versions, estimator
                       parameters (a Keras optimizer or learning-rate schedule
                       as Keras' own JSON config, rebuilt in safe mode), class
                       labels and fitted settings, tokenizer parameters (for a
                       Pipeline)
    ngram_index.npz    (when the vocabulary has one) its n-gram index as arrays:
                       new documents' n-grams are looked up without joining
                       their strings, as in the process that fitted the model
    spans.npz          (a pipeline starting with a SpacyTokenizer) spaCy's
                       output per span seen at fit, so the loaded tokenizer
                       starts warm
    nb_weights.npz     (the "nbsvm" / "nbsvm_vectors" architectures) the
                       weights prediction reads, as arrays: the loaded model
                       predicts without Keras, and model.keras is loaded (in
                       safe mode) only when ``model_`` is read. Its large
                       tables (n-grams x outputs, word vectors) are not stored
                       a second time: it records where model.keras' weights
                       hold them and the SHA-256 of that model.keras, and
                       they are read from its bytes (format version 3; a
                       50-class main-job folder 227 -> 123 MB)
    checksums.json     the SHA-256 of each file above and one digest over the
                       whole folder (names and hashes of all its files)

The folder is written through :func:`toolkit._atomic.atomic_output`: under a
temporary name next to the target, renamed into place when complete, so an
interrupted save leaves no half-written model (and the debris of a killed save
is swept by a later one).

Any other fitted scikit-learn estimator built from scikit-learn and toolkit
parts (e.g. ``Pipeline(SpacyTokenizer, StackedTextClassifier)``) is saved
with ``skops.io``, a format that stores objects as JSON plus ``.npy`` arrays
and loads them without unpickling::

    model.skops        the estimator, written by skops.io.dumps (object ids renumbered,
                       member dates fixed: :func:`_write_reproducible_skops`). A large
                       dict of str -> int or set of str (a CountVectorizer's or
                       TfidfVectorizer's ``vocabulary_``) is
                       stored as three arrays (format version 4,
                       :class:`_StringTable`), not as skops' JSON node per entry:
                       6,000 IMDB reviews' 1-3-grams 929 MB -> 48 MB, the size of
                       their pickle, loaded in 2.8 instead of 110 s
    config.json        format version, toolkit and scikit-learn versions, estimator name
    checksums.json     as above, over config.json and model.skops

The same fit saves to the same bytes, in one process or another, so a
folder's checksums (and DVC's or a cache's hash of it) change only when the
model does: ``model.keras`` carries no save time and no memory addresses
(:func:`toolkit.models._keras_io.save_keras`; its ``metadata.json`` says
``"date_saved": "1980-01-01@00:00:00"``, the zip format's epoch, and when a
model was saved is the files' modification time), the builders name every
layer, operation and optimizer, and ``model.skops`` is normalised likewise.
A loaded Keras model saves to the same bytes again.

On load only types from scikit-learn, toolkit, NumPy and SciPy (and ``pathlib`` paths) are trusted;
a file naming any other type is refused before it is read.

On load, before anything is parsed, the folder must hold every file its
``checksums.json`` lists and match its digest: a missing, truncated or edited
file (``config.json`` included: a swapped class list would invert every
prediction) raises :class:`~toolkit.exceptions.ModelFormatError` naming the
file. Other files in the folder (a ``history.png`` a notebook saved beside
the model, notes, a file manager's ``.DS_Store``) are never read: the load
logs their names at INFO level and goes on. One named as a file of the
format (a ``model.skops`` in a Keras model's folder) that the checksum file
does not list is refused: files of two models were mixed. Saving again
into the folder replaces the model's files and keeps those other files
(:func:`save_model`). The digest
detects corruption and edits; it is not a signature, so a folder from someone
you do not trust is only as safe as Keras' safe mode. Then the config must
agree with the model (class count against the output units, vocabulary size
against the embedding rows, ``maxlen`` against the input; for a folder with
``nb_weights.npz``, the same counts against its arrays, and ``model.keras``'
zip directory is checked at load, its content by Keras' safe mode when
``model_`` is first read), the recorded
versions must be loadable (another major version of toolkit or Keras is
refused, another minor version warns with
:class:`~toolkit.exceptions.ModelVersionWarning`), and the installed Keras must
be at least :data:`~toolkit.models._keras_io.KERAS_MIN_VERSION`.

Pickle (``joblib.dump``) also works for estimators and pipelines, but a pickle
runs code when loaded: unpickle only files you trust.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import hashlib
import inspect
import io
import itertools
import json
import logging
import os
import re
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._atomic import (
    _expand_home,
    atomic_output,
    missing_folders,
    nearest_existing_parent,
    recover_moved_aside,
    remove_created_folders,
    write_error,
)
from .._hashing import hash_file
from ..exceptions import ModelFormatError, ModelVersionWarning
from ._keras_io import RESAVE_HINT as _RESAVE_HINT
from ._keras_io import (
    check_keras_archive,
    check_keras_version,
    keras_in_safe_mode,
    load_keras,
    portable_optimizer_config,
    save_keras,
)
from .hybrid import nb_weighted  # numpy only: hybrid imports Keras inside its functions

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model"]

logger = logging.getLogger(__name__)

FORMAT_NAME = "toolkit-text-classifier"
#: 2: checksums.json (one digest over the folder, config.json included) and keras_version. 3: nb_weights.npz
#: takes its large arrays from model.keras' weights instead of holding a second copy (:func:`_save_nb_weights`).
#: 4: model.skops holds large str -> int dicts and sets / lists of str packed as arrays (:class:`_StringTable`),
#: which older toolkits cannot construct. A folder records the lowest version that reads it (a folder without such
#: an nb_weights.npz or table says 2, so older toolkits still load it); :func:`load_model` reads versions 2 to 4.
FORMAT_VERSION = 4
#: The oldest format_version :func:`load_model` reads (version 1 had no folder digest)
_MIN_FORMAT_VERSION = 2
#: The format_version of a folder whose nb_weights.npz takes arrays from model.keras
_KERAS_REFS_VERSION = 3
#: The format_version of a sklearn-kind folder whose model.skops holds a :class:`_StringTable`
_STRING_TABLES_VERSION = 4
_MODEL_FILE = "model.keras"
_VOCAB_FILE = "vocabulary.json"
_CONFIG_FILE = "config.json"
_CHECKSUMS_FILE = "checksums.json"
_SKOPS_FILE = "model.skops"
#: Optional: spaCy's tokens of the spans the saving process had tokenized (``toolkit.text.tokenizer.export_span_cache``)
_SPANS_FILE = "spans.npz"
#: Optional: the vocabulary's n-gram index of a Keras model (``Vocabulary.save_ngram_index``)
_INDEX_FILE = "ngram_index.npz"
#: Optional: the weights of an ``"nbsvm"`` / ``"nbsvm_vectors"`` model as arrays (:func:`_save_nb_weights`), which
#: its prediction reads instead of ``model.keras``: loading it then imports no Keras
_NB_WEIGHTS_FILE = "nb_weights.npz"
#: files a folder may hold besides its kind's (:data:`_KIND_FILES`): any of these, in this order
_OPTIONAL_FILES = tuple(combo for r in range(4)
                        for combo in itertools.combinations((_SPANS_FILE, _INDEX_FILE, _NB_WEIGHTS_FILE), r))
_CONTENT_FILES = (_CONFIG_FILE, _MODEL_FILE, _VOCAB_FILE)
#: The files of each kind of model folder (the checksum file lists exactly one of these sets).
_KIND_FILES = {"keras": _CONTENT_FILES, "sklearn": (_CONFIG_FILE, _SKOPS_FILE)}
#: Modules whose types a ``model.skops`` file may name (everything else is refused).
_TRUSTED_MODULES = ("sklearn.", "toolkit.", "numpy.", "scipy.")
#: Most members of a genuine model.skops (one .npy per array; a stacked model has hundreds).
_SKOPS_MAX_MEMBERS = 100_000
_MAX_SMALL_JSON = 16 * 2**20  # checksums.json / config.json are KBs
_FITTED_SCALARS = ("output_", "maxlen_", "best_epoch_")
#: a load longer than this (seconds) ends with a full garbage collection (load_model): the saved STACK_MANY_JOB
#: loads in ~2.4 s since its n-gram strings are rebuilt from their codes (3.2 s before, when 3.0 was chosen), the
#: main job in ~1.7 s, where the collection bought nothing (BENCHMARKS.md, twenty-second and twenty-sixth sessions)
_COLLECT_AFTER_S = 2.0


def _to_json_value(value):
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return [_to_json_value(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _to_json_value(v) for k, v in value.items()}
        return {"__pairs__": [[_to_json_value(k), _to_json_value(v)] for k, v in value.items()]}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return None
    return value


#: Parameters that shape training only and hold live objects (Keras callbacks): saved as None, so a loaded
#: model predicts the same and refits without them
_TRAINING_ONLY_PARAMS = frozenset({"callbacks"})


#: Parameters that may hold a Keras object, and the Keras class (under ``keras.``) it must be an instance of: saved as
#: Keras' own JSON config (:func:`_keras_param_to_json`), rebuilt by Keras in safe mode (:func:`_keras_param_from_json`)
_KERAS_PARAMS = {"optimizer": "optimizers.Optimizer", "learning_rate": "optimizers.schedules.LearningRateSchedule"}
#: The key of the one-key dict that holds a Keras object's config in ``config.json``'s parameters
_KERAS_MARKER = "__keras__"


def _keras_based(value) -> bool:
    """Whether ``value`` is an instance of a Keras class or of a subclass of one (Keras is not imported)."""
    return any(cls.__module__.split(".")[0] == "keras" for cls in type(value).__mro__)


def _keras_class(path: str):
    import keras

    cls = keras
    for part in path.split("."):
        cls = getattr(cls, part)
    return cls


def _keras_param_to_json(estimator, name: str, value) -> dict:
    """The Keras object ``value`` (parameter ``name``) as ``{"__keras__": config}``, Keras' JSON config of it.

    The config is ``keras.saving.serialize_keras_object``'s (the class, its
    module or registered name, and ``get_config()``: no pickle, no code). An
    optimizer's name that Keras numbered per process (``"adam_w_2"``) is
    stored as its base name, as the trained model's own optimizer is named,
    so the same fit saves the same bytes in any process. Checked now, while
    the estimator is at hand: the config must rebuild, in safe mode, an
    object with the same config, or :func:`load_model` could not give it back.

    Raises
    ------
    TypeError
        When ``value`` is not what the parameter takes, its class is not
        registered with Keras, or its config does not rebuild it.
    """
    import keras

    from .builders import _unnumbered_optimizer_name

    owner = type(estimator).__name__
    expected = _keras_class(_KERAS_PARAMS[name]) if name in _KERAS_PARAMS else None
    if expected is None or not isinstance(value, expected):
        raise TypeError(
            f"Cannot save parameter {name!r}={value!r} of {owner}: a Keras object is saved only as "
            f"{', '.join(f'{k} (keras.{v})' for k, v in _KERAS_PARAMS.items())}. Set it to a plain value "
            "(str, number, list, dict) before saving."
        )
    config = keras.saving.serialize_keras_object(value)
    if isinstance(value, keras.optimizers.Optimizer) and isinstance(config.get("config"), dict) \
            and "name" in config["config"]:
        config["config"]["name"] = _unnumbered_optimizer_name(type(value), config["config"]["name"])
    portable_optimizer_config(config)  # an optimizer made under torch: recorded as keras.optimizers' class
    config = _to_json_value(config)
    try:
        config = json.loads(json.dumps(config))  # what load_model will read
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"Cannot save parameter {name!r} of {owner}: the config of its {type(value).__name__} holds values "
            f"JSON cannot store ({err}); its get_config() must return plain values (str, number, list, dict)."
        ) from err
    unregistered = _unregistered_keras_classes(config)
    if unregistered:
        raise TypeError(
            f"Cannot save parameter {name!r} of {owner}: {_unregistered_message(unregistered)} "
            "load_model could not rebuild it. Decorate the class with @keras.saving.register_keras_serializable() "
            "in an importable module (not __main__), and import that module before load_model; or use a "
            "built-in Keras class or a name."
        )
    try:
        rebuilt = keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
        again = portable_optimizer_config(keras.saving.serialize_keras_object(rebuilt))
        same = json.loads(json.dumps(_to_json_value(again))) == config
    except Exception as err:
        raise TypeError(
            f"Cannot save parameter {name!r} of {owner}: Keras cannot rebuild its {type(value).__name__} from "
            f"its config in safe mode ({err}), so load_model could not. Give the class a get_config() that "
            "from_config accepts, or use a built-in Keras class or a name."
        ) from err
    if not same:
        raise TypeError(
            f"Cannot save parameter {name!r} of {owner}: its {type(value).__name__} rebuilt from its config "
            "(keras.saving.serialize_keras_object) has another config, so the loaded estimator would train "
            "differently. Give the class a get_config() that returns every argument of its __init__."
        )
    return {_KERAS_MARKER: config}


def _unregistered_keras_classes(config) -> list:
    """The classes named in the Keras config ``config`` (nested ones too) that Keras cannot find, sorted.

    A class outside Keras' own modules is found only through
    ``keras.saving.register_keras_serializable`` (its registered name).
    """
    from keras.saving import get_registered_object

    missing, stack = set(), [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        class_name = node.get("class_name")
        # Keras' special forms ("__numpy__", "__lambda__": refused in safe mode) and functions are Keras' to judge
        if not isinstance(class_name, str) or "config" not in node or class_name.startswith("__") \
                or class_name == "function":
            continue
        module = node.get("module")
        if isinstance(module, str) and (module == "keras" or module.startswith("keras.")):
            continue
        registered = node.get("registered_name") or class_name
        if get_registered_object(registered) is None:
            missing.add((class_name, str(registered)))
    return sorted(missing)


def _unregistered_message(classes) -> str:
    names = ", ".join(f"{cls} (registered name {registered!r})" for cls, registered in classes)
    return f"Keras does not know the class{'es' if len(classes) > 1 else ''} {names}: not registered with Keras, so"


def _keras_param_from_json(config, name: str, file: Path):
    """The Keras object of parameter ``name`` rebuilt from its stored config (:func:`_keras_param_to_json`).

    Rebuilt by ``keras.saving.deserialize_keras_object`` in safe mode (no
    lambdas, only Keras' classes and registered ones), and checked to be
    what the parameter takes.

    Raises
    ------
    ModelFormatError
        Naming ``file``, the parameter and, for a class Keras cannot find,
        the class and what to do.
    """
    from ._keras_io import import_keras

    keras = import_keras()
    if name not in _KERAS_PARAMS or not isinstance(config, dict):
        raise ModelFormatError(f"{file} stores parameter {name!r} as a Keras object, which it cannot be. "
                               f"{_RESAVE_HINT}")
    unregistered = _unregistered_keras_classes(config)
    if unregistered:
        raise ModelFormatError(
            f"{file} stores parameter {name!r} as a Keras object, and {_unregistered_message(unregistered)} "
            "it cannot be rebuilt. Import the module that defines the class, decorated with "
            "@keras.saving.register_keras_serializable(), before load_model."
        )
    try:
        value = keras.saving.deserialize_keras_object(copy.deepcopy(config), safe_mode=True)
    except Exception as err:
        raise ModelFormatError(
            f"{file} stores parameter {name!r} as a Keras object that Keras cannot rebuild in safe mode "
            f"({err}). {_RESAVE_HINT}"
        ) from err
    expected = _keras_class(_KERAS_PARAMS[name])
    if not isinstance(value, expected):
        raise ModelFormatError(
            f"{file} stores parameter {name!r} as a {type(value).__name__}, not a keras.{_KERAS_PARAMS[name]}. "
            f"{_RESAVE_HINT}"
        )
    return value


def _params_to_json(estimator) -> dict:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name in _TRAINING_ONLY_PARAMS:
            if value is not None:
                logger.info("%s's %s are not saved (training-time objects); the loaded model has %s=None",
                            type(estimator).__name__, name, name)
            params[name] = None
            continue
        if _keras_based(value):
            params[name] = _keras_param_to_json(estimator, name, value)
            continue
        converted = _to_json_value(value)
        try:
            json.dumps(converted)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"Cannot save parameter {name!r}={value!r} of {type(estimator).__name__} "
                "to JSON; set it to a plain value (str, number, list, dict) before saving."
            ) from err
        params[name] = converted
    return params


def _params_from_json(cls, params: dict, file: Path, saved_by=None) -> dict:
    """Inverse of :func:`_params_to_json`; ``file`` (the ``config.json``) names where they come from in errors.

    ``saved_by``, the toolkit version that saved the folder, explains parameters ``cls`` does not have: a
    newer toolkit's (they were a bare "unexpected keyword argument" and "Save the model again").
    """
    from .. import __version__

    defaults = {
        name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
    }
    names = params if isinstance(params, dict) else {}
    unknown = sorted(str(name) for name in names if name not in defaults or name == "self")
    if unknown and isinstance(saved_by, str) and saved_by != __version__:
        raise ModelFormatError(
            f"{file} sets {cls.__name__} parameter(s) {', '.join(map(repr, unknown))}, which this toolkit "
            f"({__version__}) does not have: the model was saved with toolkit {saved_by}. Load it with that "
            "version or a newer one (upgrade toolkit)."
        )
    out = {}
    for name, value in params.items():
        if isinstance(value, dict) and set(value) == {_KERAS_MARKER}:
            value = _keras_param_from_json(value[_KERAS_MARKER], name, file)
        elif isinstance(value, dict) and set(value) == {"__pairs__"}:
            value = {(tuple(k) if isinstance(k, list) else k): v for k, v in value["__pairs__"]}
        elif isinstance(value, list) and isinstance(defaults.get(name), tuple):
            value = tuple(value)
        out[name] = value
    return out


def _holds_keras(estimator) -> bool:
    """Whether an EmbeddingClassifier sits anywhere in ``estimator``'s parameters (deep)."""
    from sklearn.base import BaseEstimator

    from .classifier import EmbeddingClassifier

    if isinstance(estimator, EmbeddingClassifier):
        return True
    if not isinstance(estimator, BaseEstimator):
        return False
    return any(isinstance(v, EmbeddingClassifier) for v in estimator.get_params(deep=True).values())


def _split(estimator):
    """(tokenizer or None, classifier, step names) of a Keras-based model; None for another estimator."""
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    from .classifier import EmbeddingClassifier

    if isinstance(estimator, EmbeddingClassifier):
        return None, estimator, None
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 2:
        from ..text.tokenizer import SpacyTokenizer

        (tok_name, tokenizer), (clf_name, classifier) = estimator.steps
        if isinstance(tokenizer, SpacyTokenizer) and isinstance(classifier, EmbeddingClassifier):
            return tokenizer, classifier, [tok_name, clf_name]
    if isinstance(estimator, BaseEstimator) and not _holds_keras(estimator):
        return None
    if isinstance(getattr(estimator, "best_estimator_", None), BaseEstimator):
        raise TypeError(
            f"save_model saves a fitted model, not the {type(estimator).__name__} that chose it: save its "
            "best_estimator_, the best model refitted on all the data (save_model(grid.best_estimator_, path))."
        )
    raise TypeError(
        "save_model saves an EmbeddingClassifier, a Pipeline(SpacyTokenizer, EmbeddingClassifier) "
        "such as make_text_classifier() returns, or a scikit-learn estimator without Keras parts "
        f"(saved with skops.io); got {type(estimator).__name__}. Use joblib.dump for other objects "
        "(trusted use only)."
    )


def save_model(estimator, path) -> Path:
    """Save a fitted classifier (or tokenizer + classifier pipeline) to a folder.

    Parameters
    ----------
    estimator : EmbeddingClassifier, Pipeline or scikit-learn estimator
        A fitted :class:`~toolkit.models.classifier.EmbeddingClassifier`, a
        ``Pipeline(SpacyTokenizer, EmbeddingClassifier)``, or any fitted
        scikit-learn estimator built from scikit-learn and toolkit parts
        without Keras (stored with ``skops.io``; e.g. a
        ``Pipeline(SpacyTokenizer, StackedTextClassifier)``).
    path : str or path-like
        Target folder (``~`` is the home folder). An existing toolkit model
        folder there (a ``config.json`` of this format) is replaced: the files
        :func:`save_model` writes go, with a file manager's ``.DS_Store`` and
        the like, and the user's own files in it (a ``history.png`` plotted
        into it, notes) stay, in the new folder. Any other existing non-empty
        folder or file is an error and is left as it is. A
        symbolic link to a folder is followed: the folder it points to is
        replaced. A new path named like a single model file (``.keras``,
        ``.h5``, ``.pkl``, ``.joblib``...) is refused: the error names the
        folder to pass instead, and how to write that file
        (``clf.model_.save("x.keras")`` for the Keras network alone); a str
        ending in a separator (``"exp.keras/"``) names a folder and is taken.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the estimator (the classifier of a pipeline) is not fitted.
    FileExistsError
        When ``path`` is a file, a non-empty folder that is not a toolkit
        model folder, or a model folder holding a folder (or other non-file)
        named like one of the files save_model writes.
    ValueError
        When ``path`` is ``"."`` (the current folder), ``".."`` or the root:
        name the model folder to write; or when a new ``path`` ends in a
        single-file model suffix (``"imdb.keras"``).
    TypeError
        When the estimator holds Keras outside the supported shapes, or
        types from outside scikit-learn, toolkit, NumPy and SciPy (which
        :func:`load_model` would refuse), or a Keras optimizer or schedule
        that Keras cannot rebuild from its config (a class not registered
        with ``keras.saving.register_keras_serializable``).

    Notes
    -----
    A pipeline that starts with a ``SpacyTokenizer`` also gets ``spans.npz``:
    spaCy's output for every span this process has tokenized with the
    tokenizer's settings (:func:`toolkit.text.tokenizer.export_span_cache`).
    :func:`load_model` fills the loading process's table from it, so the
    loaded pipeline tokenizes new text without calling spaCy again for those
    spans (2,000 IMDB reviews: about 0.35 instead of 0.9 CPU s after a
    25,000-review fit). Tokens are the same with or without it. It holds
    whatever this process tokenized, so save right after ``fit`` to keep other
    texts (a test set) out of it, as ``toolkit train`` does.

    Saves to one path at once (threads or processes) run one after the
    other, the last one's model staying; a :func:`load_model` meanwhile waits
    for the save and gets the whole new folder. Both hold an advisory lock
    (``flock``) on the folder that holds the model folder, so saves and loads
    of models beside it wait too (not on Windows, nor on file systems that
    refuse the lock). An error writing the folder (a full disk, a folder not
    writable, a name too long) is an ``OSError`` naming ``path`` and what to
    do; the folder there, if any, is left as it was.

    The new folder replaces the old one in two renames, once it is complete;
    the user's files are hard-linked into it (copied where the file system
    has no hard links) just before, so until the swap the old folder is
    untouched, and a failed save leaves it, with those files, as it was.

    Examples
    --------
    >>> from toolkit.models import save_model, load_model  # doctest: +SKIP
    >>> save_model(clf, "imdb-model")                            # doctest: +SKIP
    >>> load_model("imdb-model").predict(docs)                   # doctest: +SKIP
    """
    from sklearn.utils.validation import check_is_fitted

    _check_path_type(path, "save_model")
    parts = _split(estimator)
    check_is_fitted(estimator if parts is None else parts[1], None if parts is None else "model_")
    # "exp.keras/": a folder, by the separator the user typed, which Path drops (_check_folder_name)
    folder = os.fspath(path).endswith(tuple(sep for sep in (os.sep, os.altsep) if sep))
    # "~user/..." of no such user: a name, as os.path.expanduser and atomic_output take it (pathlib's
    # expanduser raised a bare "RuntimeError: Could not determine home directory.")
    path = _check_save_target(_expand_home(path), estimator, parts, folder=folder)
    created = missing_folders(path)  # the folders this save creates (_folder_lock): removed again if it fails
    try:
        # one save or load of a folder of this parent at a time (_folder_lock): two processes saving to one path
        # at once both succeed, one after the other, and a load never sees a folder half swapped
        with _folder_lock(path, exclusive=True), atomic_output(path, directory=True, keep=_users_entry) as tmp:
            spans = _save_span_cache(estimator, tmp)
            if parts is None:
                _save_skops(estimator, tmp, spans)
            else:
                tokenizer, clf, step_names = parts
                save_keras(clf.model_, tmp / _MODEL_FILE)
                clf.vocabulary_.to_json(tmp / _VOCAB_FILE)
                index = (_INDEX_FILE,) if clf.vocabulary_.save_ngram_index(tmp / _INDEX_FILE) else ()
                version = _save_nb_weights(clf, tmp / _NB_WEIGHTS_FILE, tmp / _MODEL_FILE)
                weights = (_NB_WEIGHTS_FILE,) if version else ()
                config = _config(clf, tokenizer, step_names)
                config["format_version"] = max(config["format_version"], version)  # 3: what older toolkits cannot read
                _write_json(tmp / _CONFIG_FILE, config)
                _write_checksums(tmp, _CONTENT_FILES + spans + index + weights)
    except OSError as err:
        remove_created_folders(created)
        # a full disk, a folder not writable...: the same class and errno, naming the target, not the temporary folder
        error = write_error(err, path, action="save the model to", noun="model folder",
                            space="disk space (a model folder needs about its size again while it is written)")
        if error is None:
            raise
        raise error from err
    except BaseException:  # a TypeError of an estimator skops cannot store, a KeyboardInterrupt...
        remove_created_folders(created)
        raise
    logger.info("saved %s to %s", type(estimator).__name__, path)
    return path


@contextlib.contextmanager
def _folder_lock(path: Path, *, exclusive: bool):
    """Hold an advisory lock (``flock``) on the folder that holds the model folder ``path`` for the block.

    :func:`save_model` holds it exclusively from before the check of what is
    at ``path`` to after the new folder was renamed into place,
    :func:`load_model` shared while it reads the files. Without it, two saves
    to one path at once failed with "[Errno 39] Directory not empty" or
    "No such file or directory" naming a temporary folder and left the old
    model as hidden debris, and a load during a save found no folder (or
    files of two models). The lock is on the parent folder (opened, never
    written: no lock file is left behind, and a read-only folder loads), so
    saves and loads of other models beside it wait too. Where ``flock`` is
    missing (Windows) or refused (some network file systems), the block runs
    without it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    parent, fd = path.parent, None
    try:
        if exclusive:  # the folders atomic_output would create (never through a link to nowhere: it names that)
            parent.mkdir(parents=True, exist_ok=True)
        parent = Path(os.path.realpath(path)).parent  # a link to a model folder: the folder holding its target
        fd = os.open(parent, os.O_RDONLY)
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another save or load of a model in %s", parent)
            fcntl.flock(fd, mode)
    except OSError as err:  # no such folder, a link to nowhere, a file system without flock
        logger.debug("model folder lock on %s not taken (%s)", parent, err)
        if fd is not None:
            os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):  # released for a forked child that shares the descriptor, too
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


#: Every name a folder written by :func:`save_model` can hold (the kinds' files, the optional ones, the checksums).
_MODEL_FOLDER_NAMES = frozenset((*_CONTENT_FILES, _SKOPS_FILE, _CHECKSUMS_FILE, _SPANS_FILE, _INDEX_FILE,
                                 _NB_WEIGHTS_FILE))


#: What file managers and notebooks put in any folder they show (macOS Finder, Windows Explorer, Jupyter's editor):
#: never part of a model, never read. A model folder copied to a Mac and opened there holds a .DS_Store
_OS_METADATA_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".ipynb_checkpoints"})


def _os_metadata(name: str) -> bool:
    """Whether ``name`` is a file manager's metadata (:data:`_OS_METADATA_NAMES`, or a macOS ``._`` AppleDouble
    file), which :func:`load_model` ignores and :func:`save_model` replaces with the folder."""
    return name in _OS_METADATA_NAMES or name.startswith("._")


#: Suffixes of single-file model formats: a path ending in one names a file to the user, never a folder
_FILE_FORMAT_SUFFIXES = (".keras", ".h5", ".hdf5", ".pkl", ".pickle", ".joblib")


def _check_folder_name(path: Path, estimator=None, parts=None) -> None:
    """Refuse a new ``path`` named like a single model file (``imdb.keras``, ``clf.pkl``): save_model writes a folder.

    ``save_model(clf, "imdb.keras")`` wrote a folder named ``imdb.keras``
    (config.json, vocabulary.json, model.keras...), which
    ``keras.models.load_model`` refuses and a user takes for a file. The
    error says what save_model writes and how to get the file that was meant.
    An existing folder of such a name (a model saved before this check) is
    still replaced as before (:func:`_check_save_target`). ``parts``: :func:`_split`'s; without ``estimator``
    (the CLI's check of ``--output`` before training) a tokenizer + classifier pipeline is meant.
    """
    name = path.name.lower()
    suffix = next((s for s in _FILE_FORMAT_SUFFIXES if name.endswith(s)), None)
    if suffix is None or path.is_dir():
        return
    stem = path.name[:-len(suffix)]
    stem = stem[:-len(".weights")] if stem.lower().endswith(".weights") else stem
    folder = str(path.with_name(stem or "model"))
    skops = parts is None and estimator is not None  # a scikit-learn model without Keras: model.skops
    files = ("config.json, model.skops, checksums.json" if skops
             else "model.keras, vocabulary.json, config.json, checksums.json")
    if suffix in (".pkl", ".pickle", ".joblib"):
        alternative = (f"For a pickle instead, joblib.dump(estimator, {str(path)!r}) writes one (a pickle runs "
                       "code when loaded: load only files you trust).")
    elif skops:
        alternative = (f"A {type(estimator).__name__} holds no Keras network to write as a {suffix} file: the "
                       "folder stores it as model.skops (skops.io).")
    else:
        owner = "clf" if parts is not None and parts[2] is None else "pipe[-1]"
        method = "save_weights" if name.endswith(".weights.h5") else "save"
        reads = ("model.load_weights reads it into the same network" if method == "save_weights" else
                 "keras.saving.load_model reads it after toolkit.models.register_layers(), which the NB "
                 "architectures' layers need")
        alternative = (f"For the Keras network alone, {owner}.model_.{method}({str(path)!r}) writes that file "
                       f"({reads}); the network takes token ids, not text, and without the vocabulary, tokenizer "
                       "and classes it cannot classify a review.")
    raise ValueError(
        f"The 'path' parameter of save_model names the folder to write, got {str(path)!r}: a name ending in "
        f"{suffix!r} reads as a single file. save_model writes a folder ({files}); pass a folder name, e.g. "
        f"save_model(estimator, {folder!r}), which load_model({folder!r}) reads. {alternative} A folder of that "
        f"name all the same: end the path with a separator, {str(path) + os.sep!r}."
    )


def _users_entry(entry: Path) -> bool:
    """Whether ``entry`` of a model folder being replaced is the user's own, which the new folder keeps.

    Not: a file of the format's names (listed in ``checksums.json`` or not: a
    leftover of another save is replaced, as always) and file managers'
    metadata (:func:`_os_metadata`), which describes the old files; but
    Jupyter's ``.ipynb_checkpoints`` is kept: it holds the saved checkpoints
    of the user's notebooks in the folder.
    """
    if entry.name == ".ipynb_checkpoints":
        return True
    return not (_os_metadata(entry.name) or entry.name in _MODEL_FOLDER_NAMES and entry.is_file())


def _check_save_target(path: Path, estimator=None, parts=None, *, folder: bool = False) -> Path:
    """The folder :func:`save_model` writes for ``path``; an error when writing there would destroy other data.

    Replaced only: a missing path, an empty folder, or a toolkit model folder:
    nothing but the files of a model folder (file managers' metadata, such as
    a ``.DS_Store``, aside: :func:`_os_metadata`), with a ``config.json`` naming
    :data:`FORMAT_NAME` (or damaged past reading, so a broken model can be
    saved again). A symbolic link is resolved, so the folder it points to is
    replaced and the link kept.

    ``estimator`` and ``parts`` (:func:`_split`'s) word :func:`_check_folder_name`'s error; ``folder``: the
    path was given with a trailing separator (``"exp.keras/"``), so it names a folder whatever its suffix.

    Raises
    ------
    FileExistsError
        When ``path`` is a file, a folder that is not a toolkit model folder
        (e.g. another library's model folder with its own ``config.json``), or
        a model folder holding a folder or link named like a file save_model
        writes (which the new folder could not keep beside its own).
    NotADirectoryError
        When a parent of ``path`` is a file.
    ValueError
        When ``path`` is ``"."``, ``".."`` or the root: a folder the model folder cannot replace; or a new
        ``path`` named like a single model file (:func:`_check_folder_name`).
    """
    if path.name in ("", ".."):
        # "." (the current folder), "" or "..": "ValueError: PosixPath('.') has an empty name" from deep in the
        # atomic write named no parameter; replacing the folder the process works in would leave it in a deleted one
        raise ValueError(
            f"save_model writes a model folder of its own, and {str(path)!r} is the current folder, one above it or "
            "the root; pass the new folder's name, e.g. save_model(clf, 'imdb-model') (load_model('imdb-model') "
            "reads it)."
        )
    if not folder:
        _check_folder_name(path, estimator, parts)
    if path.is_symlink() and path.is_dir():
        path = path.resolve()
    parent = nearest_existing_parent(path)
    if not parent.is_dir():
        raise NotADirectoryError(f"Cannot save the model to {path}: {parent} is a file, not a folder. Choose another path.")
    if not path.exists() or (path.is_dir() and all(_os_metadata(entry.name) for entry in path.iterdir())):
        return path
    config = path / _CONFIG_FILE
    if path.is_dir() and config.is_file() and _config_format(config) in (FORMAT_NAME, None):
        foreign = sorted(entry.name for entry in path.iterdir() if _users_entry(entry) and not _os_metadata(entry.name))
        if not foreign:
            return path
        if _config_format(config) == FORMAT_NAME:
            # the user's own files (a history.png plotted into the folder) are kept in the new folder
            # (atomic_output's keep); one named like a model file but no plain file cannot sit beside the new one
            clash = [name for name in foreign if name in _MODEL_FOLDER_NAMES]
            if not clash:
                return path
            raise FileExistsError(
                f"{path} is a toolkit model folder but also holds {', '.join(clash)}: no file, but the name of "
                "one save_model writes there, so the new model cannot be written beside it; move it out or "
                "choose another path."
            )
        # a config.json that cannot be read: a damaged model's, or another program's, whose folder this may be
        raise FileExistsError(
            f"{path} holds a config.json that cannot be read, and {', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}, which save_model did not write: whether it is a damaged "
            "toolkit model folder cannot be told, so it is left as it is. Move those files out to save over the "
            "damaged model, or choose another path."
        )
    held = sorted(entry.name for entry in path.iterdir() if not _os_metadata(entry.name)) if path.is_dir() else []
    # (a notebook that wrote history.png into the model folder before saving the model: the name says why)
    holds = f" (it holds {', '.join(held[:3])}{', ...' if len(held) > 3 else ''})" if held else ""
    # a notebook's first run that plots into the model folder before saving: the order that works
    after = (f" To save the model inside it, pass a new folder there, e.g. {str(path / 'model')!r}. Files of "
             "your own (a plot, notes) can go into a model folder once save_model wrote it: saving again keeps "
             "them." if path.is_dir() and held else "")
    raise FileExistsError(
        f"{path} exists and is not a toolkit model folder{holds}; save_model replaces only a model folder, so "
        f"choose another path or remove it first.{after}"
    )


def _config_format(file: Path):
    """The ``format`` a ``config.json`` names; None when it cannot be read (a damaged model config), "" when it
    is JSON without a toolkit ``format`` (another program's config)."""
    try:
        if file.stat().st_size > _MAX_SMALL_JSON:
            return ""  # no toolkit config is that large
        config = _read_small_json(file, "config")
    except (OSError, ModelFormatError):
        return None
    return config.get("format") or "" if isinstance(config, dict) else ""


def _save_nb_weights(clf, file: Path, keras_file: Path | None = None) -> int:
    """Write the weights an NB-architecture classifier predicts from (arrays only).

    Returns the format version the file needs (2, or 3 when it takes arrays
    from ``keras_file``); 0, and nothing written, for other architectures.

    With ``keras_file`` (the folder's ``model.keras``, already written), the
    large arrays that its ``model.weights.h5`` already holds are not stored
    twice (format version 3): ``"weighted"`` (n-grams x outputs) is replaced
    by ``w_adj`` and the places of the two Keras tables it is made of, and the
    vector table and its row map by their places (:func:`_keras_refs`), with
    the SHA-256 of ``keras_file``; :func:`_read_keras_refs` reads them from
    ``model.keras``' bytes, with neither Keras nor h5py. An array is
    referred to only when reading it back from the written file, as the
    loader does, gives exactly this process's array; otherwise it is stored
    here, as without ``keras_file`` (format version 2).
    """
    from .classifier import _NB_ARCHITECTURES

    if clf.architecture not in _NB_ARCHITECTURES:
        return 0
    w = clf._nb_arrays()
    arrays = {"weighted": w["weighted"], "r_adj": np.asarray(w["r_adj"]), "bias": w["bias"],
              "activation": np.array(w["activation"])}
    if "table" in w:
        arrays.update({key: w[key] for key in ("row_of", "table", "center", "scale")})
        for i, (kernel, bias, relu) in enumerate(w["dense"]):
            arrays.update({f"dense_kernel_{i}": kernel, f"dense_bias_{i}": bias, f"dense_relu_{i}": np.array(relu)})
    refs, w_adj = _keras_refs(clf.model_, w, keras_file) if keras_file is not None else ({}, None)
    if "nb_weights" in refs:
        del arrays["weighted"]
        arrays["w_adj"] = np.asarray(w_adj)
    for key in ("row_of", "table"):
        if key in refs:
            del arrays[key]
    if refs:
        arrays[_KERAS_SHA256] = np.array(hash_file(keras_file))
        arrays.update({f"{_KERAS_PREFIX}{name}": np.array(place, dtype=np.int64) for name, place in refs.items()})
    with open(file, "wb") as fh:
        np.savez(fh, **arrays)
    return _KERAS_REFS_VERSION if refs else _MIN_FORMAT_VERSION


#: The arrays ``nb_weights.npz`` may take from ``model.keras`` (format version 3), with their dtypes: the trained
#: n-gram weights (n-grams x 1) and the naive-Bayes ratios (n-grams x outputs) that ``"weighted"`` is made of,
#: the word-vector row of each n-gram and the word-vector table
_REF_DTYPES = {"nb_weights": np.dtype("<f4"), "ratios": np.dtype("<f4"), "row_of": np.dtype("<i4"),
               "table": np.dtype("<f4")}
#: ``nb_weights.npz`` member ``keras_<name>``: ``[offset, *shape]``, the array's bytes at ``offset`` in the
#: ``model.weights.h5`` member of ``model.keras`` (an HDF5 dataset stored contiguously, uncompressed)
_KERAS_PREFIX = "keras_"
#: ``nb_weights.npz`` member: the SHA-256 of the ``model.keras`` those offsets point into
_KERAS_SHA256 = "model_keras_sha256"
_KERAS_WEIGHTS_MEMBER = "model.weights.h5"


def _keras_refs(model, weights: dict, keras_file: Path) -> tuple:
    """({name: [offset, *shape]} of the arrays ``keras_file`` holds exactly, the ``w_adj`` they need).

    For :func:`_save_nb_weights`. The datasets are found by content (shape,
    dtype and values) among the layers' weights of the file's
    ``model.weights.h5``, since Keras names them by class
    (``layers/embedding_1/vars/0``), not by layer name; the first in sorted
    order wins, so the same model gives the same places. Then they are read
    back from the file's bytes as :func:`_read_keras_refs` reads them, and
    each is kept only if that gives this process's array bit for bit (the
    pair behind ``"weighted"``: only if :func:`~toolkit.models.hybrid.nb_weighted` of them gives
    ``weights["weighted"]``).
    """
    import h5py

    from .hybrid import _variable_values

    refs, w_adj = {}, None
    try:
        w_adj = np.float32(model.get_layer("nb_dot").w_adj)
        wanted = {"nb_weights": _variable_values(model.get_layer("nb_weights").embeddings),
                  "ratios": _variable_values(model.get_layer("embedding").embeddings)}
        if "table" in weights:
            wanted.update(row_of=weights["row_of"], table=weights["table"])
        data = Path(keras_file).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf, \
                h5py.File(io.BytesIO(zf.read(_KERAS_WEIGHTS_MEMBER)), "r") as h5:
            paths = []
            if isinstance(h5.get("layers"), h5py.Group):
                h5["layers"].visititems(lambda name, obj: paths.append(f"layers/{name}")
                                        if isinstance(obj, h5py.Dataset) else None)
            for name, array in wanted.items():
                for path in sorted(paths) if array.dtype == _REF_DTYPES[name] else ():
                    ds = h5[path]
                    if ds.shape == array.shape and ds.dtype == array.dtype and ds.chunks is None \
                            and ds.id.get_offset() is not None and np.array_equal(ds[()], array):
                        refs[name] = [ds.id.get_offset(), *array.shape]
                        break
        if ("nb_weights" in refs) != ("ratios" in refs):
            refs.pop("nb_weights", None), refs.pop("ratios", None)
        if ("row_of" in refs) != ("table" in refs):
            refs.pop("row_of", None), refs.pop("table", None)
        read = _read_keras_refs({"_refs": dict(refs), "_sha256": None, "w_adj": w_adj, **{
            key: weights[key] for key in ("weighted", "activation") if key not in refs}}, data, keras_file)
    except (OSError, ValueError, KeyError, AttributeError, ModelFormatError) as err:  # all stay in the npz
        logger.info("%s stores its arrays itself: %s", _NB_WEIGHTS_FILE, err)
        return {}, w_adj
    if "table" in refs and not (np.array_equal(read["row_of"], wanted["row_of"])
                                and np.array_equal(read["table"], wanted["table"])):
        del refs["row_of"], refs["table"]
    if "nb_weights" in refs and not (read["weighted"].dtype == weights["weighted"].dtype
                                     and np.array_equal(read["weighted"], weights["weighted"])):
        del refs["nb_weights"], refs["ratios"]
    missing = [name for name in wanted if name not in refs]
    if missing:
        logger.info("%s stores %s itself: model.keras holds no identical copy", _NB_WEIGHTS_FILE, ", ".join(missing))
    return refs, w_adj


def _read_nb_weights(file: Path) -> dict:
    """Inverse of :func:`_save_nb_weights` (``allow_pickle=False``); ValueError or KeyError when it is not one.

    The arrays the file takes from ``model.keras`` (format version 3) are
    left out: ``"_refs"`` gives their places and ``"_sha256"`` the
    ``model.keras`` they are in, for :func:`_read_keras_refs`.
    """
    with np.load(file, allow_pickle=False) as z:
        w = {"r_adj": np.float32(z["r_adj"]), "bias": z["bias"], "activation": str(z["activation"])}
        refs = {}
        for member in z.files:
            if member.startswith(_KERAS_PREFIX):
                name, place = member[len(_KERAS_PREFIX):], z[member]
                if name not in _REF_DTYPES or place.dtype.kind != "i" or place.ndim != 1 \
                        or len(place) != (2 if name == "row_of" else 3):
                    raise ValueError(f"member {member} is not a place in model.keras ([offset, *shape])")
                refs[name] = [int(v) for v in place]
        if ("nb_weights" in refs) != ("ratios" in refs) or ("row_of" in refs) != ("table" in refs):
            raise ValueError("it names only part of a pair of arrays in model.keras")
        w["_refs"], w["_sha256"] = refs, (str(z[_KERAS_SHA256]) if refs else None)
        if "nb_weights" in refs:
            w["w_adj"] = np.float32(z["w_adj"])
        else:
            w["weighted"] = z["weighted"]
        if "center" in z.files:
            w.update({key: z[key] for key in ("row_of", "table", "center", "scale") if key not in refs})
            w["dense"] = [(z[f"dense_kernel_{i}"], z[f"dense_bias_{i}"], bool(z[f"dense_relu_{i}"]))
                          for i in range(sum(name.startswith("dense_kernel_") for name in z.files))]
        elif "table" in refs:
            raise ValueError("it names a vector table in model.keras, but has no vector branch")
    if "weighted" in w:
        _check_weighted(w)
    return w


def _check_weighted(w: dict) -> None:
    if w["activation"] not in ("sigmoid", "softmax") or w["weighted"].ndim != 2 or w["weighted"].dtype.kind != "f":
        raise ValueError(f"not NB weights (activation {w['activation']!r}, weights of shape {w['weighted'].shape} "
                         f"and dtype {w['weighted'].dtype})")


def _stored_member_span(data: bytes, name: str) -> tuple:
    """(start, size) of the bytes of the uncompressed member ``name`` of the zip archive ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{name} is compressed")
    header = info.header_offset
    if data[header:header + 4] != b"PK\x03\x04":
        raise ValueError(f"no local header for {name}")
    name_len = int.from_bytes(data[header + 26:header + 28], "little")
    extra_len = int.from_bytes(data[header + 28:header + 30], "little")
    start = header + 30 + name_len + extra_len
    if start + info.file_size > len(data):
        raise ValueError(f"{name} runs past the end of the archive")
    return start, info.file_size


def _read_keras_refs(weights: dict, data: bytes, model_file: Path, sha256: str | None = None) -> dict:
    """``weights`` (:func:`_read_nb_weights`) with the arrays it takes from ``model.keras`` read in.

    ``data`` is the bytes of ``model_file`` and ``sha256`` their SHA-256, as
    checked against ``checksums.json`` (None: not compared). Each array is
    copied out of the ``model.weights.h5`` member at its recorded offset
    (:func:`_keras_refs` checked at save that the bytes there are the array);
    neither Keras nor h5py is imported. ``"weighted"`` is made from its two
    tables as the fitted model made it, so it is the same bit for bit.

    Raises
    ------
    ModelFormatError
        Naming ``model_file`` when it is not the ``model.keras`` the arrays
        were saved with, or a place lies outside its weights.
    """
    refs, expected_sha = weights.pop("_refs"), weights.pop("_sha256")
    if not refs:
        return weights
    if sha256 is not None and expected_sha != sha256:
        raise ModelFormatError(f"{model_file} is not the model.keras that {_NB_WEIGHTS_FILE} takes its weights "
                               f"from (SHA-256 {sha256}, expected {expected_sha}): the files come from different "
                               f"models. {_RESAVE_HINT}")
    try:
        start, size = _stored_member_span(data, _KERAS_WEIGHTS_MEMBER)
    except (KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ModelFormatError(f"{model_file} does not hold the weights {_NB_WEIGHTS_FILE} takes from it ({err}). "
                               f"{_RESAVE_HINT}") from err
    arrays = {}
    for name, (offset, *shape) in refs.items():
        dtype = _REF_DTYPES[name]
        count = int(np.prod(shape, dtype=np.int64))
        if offset < 0 or min(shape) < 0 or offset + count * dtype.itemsize > size:
            raise ModelFormatError(f"{_NB_WEIGHTS_FILE} places {name} of shape {tuple(shape)} at byte {offset} of "
                                   f"{_KERAS_WEIGHTS_MEMBER} in {model_file}, past its {size} bytes. {_RESAVE_HINT}")
        arrays[name] = np.frombuffer(data, dtype=dtype, count=count, offset=start + offset).reshape(shape)
    if "nb_weights" in arrays:
        nb_weights, ratios = arrays.pop("nb_weights"), arrays.pop("ratios")
        if nb_weights.shape != (ratios.shape[0], 1):
            raise ModelFormatError(f"{_NB_WEIGHTS_FILE} places n-gram weights of shape {nb_weights.shape} and "
                                   f"ratios of shape {ratios.shape} in {model_file}. {_RESAVE_HINT}")
        weights["weighted"] = nb_weighted(nb_weights, weights.pop("w_adj"), ratios)  # a new array
    # copies in native byte order: no view keeps the model.keras bytes alive once model_ is rebuilt from them
    weights.update({name: array.astype(array.dtype.newbyteorder("=")) for name, array in arrays.items()})
    try:
        _check_weighted(weights)
    except ValueError as err:
        raise ModelFormatError(f"{model_file}: {err}. {_RESAVE_HINT}") from err
    return weights


def _pipeline_tokenizer(estimator):
    """The SpacyTokenizer that starts ``estimator`` (a Pipeline), or None."""
    from sklearn.pipeline import Pipeline

    from ..text.tokenizer import SpacyTokenizer

    if isinstance(estimator, Pipeline) and estimator.steps and isinstance(estimator.steps[0][1], SpacyTokenizer):
        return estimator.steps[0][1]
    return None


def _save_span_cache(estimator, folder: Path) -> tuple:
    """Write ``spans.npz`` for a pipeline that starts with a SpacyTokenizer; the file names written."""
    from ..text.tokenizer import export_span_cache

    tokenizer = _pipeline_tokenizer(estimator)
    if tokenizer is None or not export_span_cache(tokenizer, folder / _SPANS_FILE):
        return ()
    return (_SPANS_FILE,)


def _load_span_cache(estimator, path: Path) -> None:
    from ..text.tokenizer import import_span_cache

    tokenizer = _pipeline_tokenizer(estimator)
    if tokenizer is None:
        raise ModelFormatError(f"{path / _SPANS_FILE} belongs to a pipeline that starts with a SpacyTokenizer, "
                               f"but {path} holds a {type(estimator).__name__} without one. {_RESAVE_HINT}")
    added = _read_npz(path / _SPANS_FILE, lambda file: import_span_cache(tokenizer, file), max_members=16,
                      note="numpy compresses text ~3-5:1")
    logger.info("tokenizer span table: %d spans from %s", added, path / _SPANS_FILE)


def _read_npz(file: Path, read, *, max_members: int, note: str):
    """``read(file)`` for an optional ``.npz`` of a model folder, after the zip checks; its errors as ModelFormatError.

    Checked like the other archives before anything is inflated (a checksum
    is not a signature).
    """
    import zipfile

    from ._keras_io import check_zip_archive

    check_zip_archive(file, what=".npz", max_members=max_members, note=note)
    try:
        return read(file)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFormatError(f"{file} cannot be read ({err}). {_RESAVE_HINT}") from err


#: A dict of str -> int, or a set, frozenset or list of str, with at least this many entries is stored packed
#: (:class:`_StringTable`); smaller ones keep skops' own nodes, so a small model's folder is as before
_PACK_MIN_ITEMS = 1000
_INT64 = (-(2**63), 2**63 - 1)


class _StringTable:
    """A large dict of str -> int, or a set, frozenset or list of str, as arrays in ``model.skops``.

    skops stores a dict entry by entry, each value a JSON node of ~600 bytes in
    an uncompressed ``schema.json``, and builds a node object per entry on
    load: a ``CountVectorizer(ngram_range=(1, 3))`` fitted on 6,000 IMDB
    reviews (1.57 million n-grams; a 48 MB pickle) made a 929 MB
    ``model.skops`` that loaded in 110 s. :func:`_save_skops` stores such a
    container (a vectorizer's ``vocabulary_``, older scikit-learn's ``stop_words_``) as an
    instance of this class: the strings joined into one UTF-8 array, their
    lengths and (a dict) the values, three ``.npy`` members that skops
    writes and reads as plain arrays.

    On load skops calls ``_StringTable(kind, where, text, lengths, values)``
    (its ``__reduce__``), which returns the restored container itself, after
    checking the arrays: no instance of this class is left in the loaded
    estimator. Its module and name are part of the format (version 4).
    """

    __slots__ = ("_args",)

    def __new__(cls, kind, where, text, lengths, values):
        return _unpack_strings(kind, where, text, lengths, values)

    def __reduce__(self):
        return type(self), self._args

    @classmethod
    def pack(cls, value, where: str):
        """``value`` as a table (``where`` names it in errors), or None when it is not one of the packed kinds."""
        kind = type(value).__name__
        if kind not in ("dict", "set", "frozenset", "list") or len(value) < _PACK_MIN_ITEMS:
            return None
        if not all(type(key) is str for key in value):
            return None
        values = None
        if kind == "dict":
            if not all(type(v) is int for v in value.values()):  # (a bool or NumPy integer would come back an int)
                return None
            if min(value.values()) < _INT64[0] or max(value.values()) > _INT64[1]:
                return None
            values = _smallest_int(np.fromiter(value.values(), dtype=np.int64, count=len(value)))
        strings = list(value)
        text = np.frombuffer("".join(strings).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        lengths = _smallest_int(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))
        table = object.__new__(cls)
        table._args = (kind, where, text, lengths, values)
        return table


def _smallest_int(array):
    """``array`` (int64) as int32 when its values fit."""
    if array.size and (array.min() < -(2**31) or array.max() >= 2**31):
        return array
    return array.astype(np.int32)


def _unpack_strings(kind, where, text, lengths, values):
    """The container a :class:`_StringTable` packed; ValueError naming it when the arrays do not make one."""
    name = where if isinstance(where, str) else "table"

    def damaged(reason):
        return ValueError(f"the packed {name} ({kind!r} of strings) is damaged: {reason}")

    if kind not in ("dict", "set", "frozenset", "list"):
        raise damaged("unknown kind")
    if not (isinstance(text, np.ndarray) and text.dtype == np.uint8 and text.ndim == 1):
        raise damaged("its text is not a 1-D uint8 array")
    if not (isinstance(lengths, np.ndarray) and lengths.dtype.kind == "i" and lengths.ndim == 1):
        raise damaged("its lengths are not a 1-D integer array")
    if (values is None) != (kind != "dict") or (values is not None and not (
            isinstance(values, np.ndarray) and values.dtype.kind == "i" and values.shape == lengths.shape)):
        raise damaged(f"its values are not a 1-D integer array of {len(lengths):,} entries")
    try:
        joined = text.tobytes().decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as err:
        raise damaged(f"its text is not UTF-8 ({err})") from err
    if lengths.size and lengths.min() < 0:
        raise damaged("a negative length")
    ends = np.cumsum(lengths, dtype=np.int64)
    if (int(ends[-1]) if ends.size else 0) != len(joined):
        raise damaged(f"its lengths add up to {int(ends[-1]) if ends.size else 0:,} characters, its text holds "
                      f"{len(joined):,}")
    ends = ends.tolist()
    strings = list(map(joined.__getitem__, map(slice, [0, *ends[:-1]], ends)))
    if kind == "list":
        return strings
    restored = dict(zip(strings, values.tolist())) if kind == "dict" else (set if kind == "set" else frozenset)(strings)
    if len(restored) != len(strings):
        raise damaged(f"{len(strings) - len(restored):,} repeated strings")
    return restored


def _with_string_tables(estimator) -> tuple:
    """(``estimator`` as :func:`_save_skops` stores it, the number of :class:`_StringTable` in it).

    Copy-on-write: an object whose state (``__dict__``) holds a packable
    container, directly or through lists, tuples, dicts or other such
    objects, is replaced by a shallow copy holding the table; the rest is
    shared, and ``estimator`` itself is never changed (a thread predicting
    with it meanwhile is not disturbed). Only objects that skops stores
    from their ``__dict__`` are entered (the default ``__getstate__`` or
    scikit-learn's, no ``__reduce__`` of their own); others are stored as
    before. An object reached twice gets one copy, so sharing is kept.
    """
    from sklearn.base import BaseEstimator

    plain_state = (getattr(object, "__getstate__", None), BaseEstimator.__getstate__)
    memo, tables = {}, [0]
    leaves = (str, int, float, bool, type(None), np.ndarray)  # nothing to enter (checked before naming a child)

    def visit(value, where):
        kind = type(value)
        if kind in leaves:
            return value
        if id(value) in memo:
            return memo[id(value)][1]
        memo[id(value)] = (value, value)  # (a cycle back to this object keeps the original)
        new = value
        table = _StringTable.pack(value, where) if kind in (dict, set, frozenset, list) else None
        if table is not None:
            tables[0] += 1
            new = table
        elif kind in (list, tuple):
            items = [visit(item, where) for item in value]
            if any(a is not b for a, b in zip(items, value)):
                new = kind(items)
        elif isinstance(value, dict):
            changed = {}
            for k, v in value.items():
                stored = v if type(v) in leaves else visit(v, f"{where}[{k!r}]")
                if stored is not v:
                    changed[k] = stored
            if changed:
                new = dict(value) if kind is dict else copy.copy(value)  # (a Bunch keeps its type)
                new.update(changed)
        elif (hasattr(value, "__dict__") and not isinstance(value, type) and getattr(kind, "__getstate__", None)
              in plain_state and kind.__reduce__ is object.__reduce__ and kind.__reduce_ex__ is object.__reduce_ex__):
            state, changed = vars(value), {}
            for k, v in list(state.items()):
                stored = v if type(v) in leaves else visit(v, f"{kind.__name__}.{k}")
                if stored is not v:
                    changed[k] = stored
            if changed:
                new = kind.__new__(kind)  # as skops rebuilds it: no __init__
                vars(new).update(state)
                vars(new).update(changed)
        memo[id(value)] = (value, new)
        return new

    return visit(estimator, type(estimator).__name__), tables[0]


def _save_skops(estimator, folder: Path, extra: tuple = ()) -> None:
    """The sklearn kind: ``model.skops`` (skops.io, no pickle) and its config."""
    import sklearn
    import skops.io as sio

    from .. import __version__
    from ..text.vocabulary import one_state_per_save

    # skops writes a file of its own, rewritten member by member (never the whole archive in memory: a stack
    # fitted on 25,000 reviews is ~460 MB); both files are in the folder save_model stages and removes on failure
    raw = folder / (_SKOPS_FILE + ".raw")
    try:
        # a large vocabulary_ / stop_words_ as three arrays, not a JSON node per entry (_StringTable)
        stored, tables = _with_string_tables(estimator)
        with one_state_per_save():  # a vocabulary shared by several steps is stored once
            sio.dump(stored, raw)
        del stored
    except OSError:  # a full disk or a folder not writable: not a type skops cannot store (save_model names it)
        raise
    except Exception as err:  # skops names the object it cannot store
        raise TypeError(
            f"save_model cannot store {type(estimator).__name__} with skops.io ({err}). Use "
            "joblib.dump for it (trusted use only)."
        ) from err
    with open(folder / _SKOPS_FILE, "wb") as fh:
        _write_reproducible_skops(raw, fh)
    raw.unlink()
    refused = _refused_types(sio.get_untrusted_types(file=folder / _SKOPS_FILE))
    if refused:  # load_model would refuse the folder: fail now, while the fitted estimator is still at hand
        raise TypeError(
            f"save_model cannot store {type(estimator).__name__}: it holds types outside scikit-learn, toolkit, "
            f"NumPy and SciPy ({', '.join(refused)}), which load_model refuses to load. Build it from those "
            "libraries' parts (a module-level function of an importable package instead of a lambda or a "
            "function of __main__), or use joblib.dump (trusted use only)."
        )
    _write_json(folder / _CONFIG_FILE, {
        "format": FORMAT_NAME,
        # 4 only when a table is stored: a folder without one still loads in toolkits that read 2 to 3
        "format_version": _STRING_TABLES_VERSION if tables else _MIN_FORMAT_VERSION,
        "kind": "sklearn",
        "toolkit_version": __version__,
        "sklearn_version": sklearn.__version__,
        "estimator": type(estimator).__name__,
    })
    _write_checksums(folder, _KIND_FILES["sklearn"] + tuple(extra))


#: An object id (``"__id__": 140128133953360``) or a member name (``"file": "140128133953360.npy"``) in skops'
#: schema.json. A quote inside a JSON string is escaped, and a dict's entries are nodes (``{``), so neither
#: pattern matches inside stored content.
_SKOPS_REF = re.compile(r'"(__id__|file)": ("[^"\\]*"|\d+)')
_SKOPS_ARRAY_FILE = re.compile(r"(\d+)(\.npy)")


def _write_reproducible_skops(source, fileobj) -> None:
    """Copy the skops archive ``source`` (a path) to ``fileobj`` so that the same estimator gives the same bytes.

    skops names an object by ``id(obj)`` (``"__id__"``, and an array's member
    ``"<id>.npy"``), a ``bytes`` member by a random UUID, and dates every
    member with the save time, so two saves of one model differ. Here the ids
    are renumbered 1, 2, ... in order of first appearance in ``schema.json``
    (a one-to-one map: what was shared stays shared, and an array's member
    keeps its node's number), other members are named ``member<k>`` with
    their suffix, and every member gets the zip format's epoch as its date (:func:`toolkit.models._keras_io.copy_zip_member`).
    Members keep skops' order and compression; ``schema.json`` is edited as
    text (only the matched numbers and names change).
    """
    numbers, names = {}, {}

    def number(old: str) -> str:
        return str(numbers.setdefault(old, len(numbers) + 1))

    def rename(match):
        key, value = match.groups()
        if key == "__id__":
            return f'"__id__": {number(value)}'
        old = value[1:-1]
        if old not in names:
            array = _SKOPS_ARRAY_FILE.fullmatch(old)
            names[old] = (f"{number(array.group(1))}.npy" if array
                          else f"member{len(names) + 1}{os.path.splitext(old)[1]}")
        return f'"file": "{names[old]}"'

    from ._keras_io import copy_zip_member

    with zipfile.ZipFile(source) as zin:
        schema = _SKOPS_REF.sub(rename, zin.read("schema.json").decode("utf-8"))
        with zipfile.ZipFile(fileobj, "w") as zout:
            for info in zin.infolist():
                copy_zip_member(zin, info, zout, name=names.get(info.filename),
                                data=schema.encode("utf-8") if info.filename == "schema.json" else None)


def _config(clf, tokenizer, step_names) -> dict:
    from .. import __version__
    from ._keras_io import installed_keras_version

    coverage = getattr(clf, "embedding_coverage_", None)
    if coverage is not None and hasattr(coverage, "to_dict"):
        coverage = coverage.to_dict()
    return {
        "format": FORMAT_NAME,
        "format_version": _MIN_FORMAT_VERSION,  # save_model raises it when the folder needs more
        "toolkit_version": __version__,
        "keras_version": installed_keras_version(),
        "estimator": type(clf).__name__,
        "params": _params_to_json(clf),
        "fitted": {
            **{name: _to_json_value(getattr(clf, name)) for name in _FITTED_SCALARS},
            "classes": clf.classes_.tolist(),
            "classes_dtype": clf.classes_.dtype.str if clf.classes_.dtype != object else "object",
            "class_prior": None if getattr(clf, "class_prior_", None) is None else clf.class_prior_.tolist(),
            "history": clf.history_,
            "embedding_coverage": _to_json_value(coverage),
            # oov="nearest": the cache entry of the fastText vectors that place new tokens (a path, found again
            # in a moved cache by its name; None otherwise)
            "oov_vectors": getattr(clf, "oov_vectors_", None),
            # fit_from_store: the store's SpacyTokenizer settings, which raw texts need (None after fit)
            "tokenizer_params": _to_json_value(getattr(clf, "tokenizer_params_", None)),
        },
        "pipeline": None if tokenizer is None else {
            "steps": step_names,
            "tokenizer": type(tokenizer).__name__,
            "tokenizer_params": _params_to_json(tokenizer),
        },
    }


def _write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)


def _folder_digest(hashes: dict) -> str:
    """The one digest of a model folder: SHA-256 over each file's name and SHA-256, in name order."""
    h = hashlib.sha256()
    for name in sorted(hashes):
        h.update(f"{name}\0{hashes[name]}\n".encode())
    return h.hexdigest()


def _write_checksums(folder: Path, names=_CONTENT_FILES) -> None:
    hashes = {name: hash_file(folder / name) for name in names}
    _write_json(folder / _CHECKSUMS_FILE, {"algorithm": "sha256", "files": hashes,
                                           "folder_sha256": _folder_digest(hashes)})


def _read_small_json(file: Path, what: str):
    size = file.stat().st_size
    if size > _MAX_SMALL_JSON:
        raise ModelFormatError(
            f"{file} is {size / 2**20:,.1f} MB; a model's {what} is a few KB (cap "
            f"{_MAX_SMALL_JSON // 2**20} MB). The folder is not a toolkit model. {_RESAVE_HINT}"
        )
    try:
        with open(file, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFormatError(
            f"{file} is not valid JSON ({err}); the file is truncated or was edited. {_RESAVE_HINT}"
        ) from err


def _newer_format_error(config_path: Path, version, saved_by) -> ModelFormatError:
    """The error for a folder of a newer ``format_version`` than this toolkit reads (``saved_by``: its toolkit version)."""
    from .. import __version__

    by = f" (it was saved with toolkit {saved_by}; this is {__version__})" if isinstance(saved_by, str) else ""
    return ModelFormatError(
        f"{config_path} has format_version {version!r}; this toolkit reads versions "
        f"{_MIN_FORMAT_VERSION} to {FORMAT_VERSION}. Upgrade toolkit to load it{by}."
    )


def _check_not_newer(path: Path) -> None:
    """Raise :func:`_newer_format_error` when ``path/config.json`` names a newer format_version; else nothing.

    For a folder whose files do not match what this toolkit writes: a newer
    toolkit may write other files, or another checksum file, and such a folder
    was called edited or damaged ("Save the model again"), which the user
    loading it cannot do; upgrading toolkit is what loads it.
    """
    try:
        config = _read_small_json(path / _CONFIG_FILE, "config")
    except (ModelFormatError, OSError):
        return
    if not isinstance(config, dict):
        return
    version = config.get("format_version")
    if (config.get("format") == FORMAT_NAME and isinstance(version, int) and not isinstance(version, bool)
            and version > FORMAT_VERSION):
        raise _newer_format_error(path / _CONFIG_FILE, version, config.get("toolkit_version"))


def _verify_folder(path: Path) -> tuple:
    """Check the folder's files against ``checksums.json`` and its one digest, before parsing any.

    Returns the folder's content files (one of :data:`_KIND_FILES`) and their
    checked SHA-256 by name.
    """
    checksums_path = path / _CHECKSUMS_FILE
    if not (path / _CONFIG_FILE).is_file() and (path / "model" / _CONFIG_FILE).is_file():
        raise ModelFormatError(
            f"{path} holds no model but a 'model' folder: it looks like the run folder of `toolkit train`. "
            f"Load {path / 'model'}."
        )
    if not (path / _CONFIG_FILE).is_file():
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} is missing: {path} is not a toolkit model folder (or is "
            f"incomplete). {_RESAVE_HINT}"
        )
    if not checksums_path.is_file():
        raise ModelFormatError(
            f"{checksums_path} is missing, so {path} cannot be verified (it was saved by an older "
            f"toolkit, or a file was removed). {_RESAVE_HINT}"
        )
    checksums = _read_small_json(checksums_path, "checksum file")
    files = checksums.get("files") if isinstance(checksums, dict) else None
    digest = checksums.get("folder_sha256") if isinstance(checksums, dict) else None
    content = next((names + optional for names in _KIND_FILES.values() for optional in _OPTIONAL_FILES
                    if isinstance(files, dict) and set(files) == set(names + optional)), None)
    if content is None or not isinstance(digest, str):
        _check_not_newer(path)
        raise ModelFormatError(
            f"{checksums_path} does not list the SHA-256 of {', '.join(_CONTENT_FILES)} (or of "
            f"{', '.join(_KIND_FILES['sklearn'])}) and the folder digest: it was edited or is not a "
            f"toolkit checksum file. {_RESAVE_HINT}"
        )
    extra = sorted(p.name for p in path.iterdir() if p.name not in (*content, _CHECKSUMS_FILE)
                   and not _os_metadata(p.name))  # a .DS_Store of a folder opened in Finder: never read
    unlisted = [name for name in extra if name in _MODEL_FOLDER_NAMES]
    if unlisted:
        # a file of the model format that checksums.json does not list: files of two saves were mixed (a
        # model.skops copied into a Keras model's folder); which one is the model cannot be told
        _check_not_newer(path)
        one = len(unlisted) == 1
        raise ModelFormatError(
            f"{path} holds {', '.join(unlisted)}, {'a file' if one else 'files'} save_model writes, but "
            f"{_CHECKSUMS_FILE} does not list {'it' if one else 'them'}: files of two saved models were mixed in "
            f"the folder. Load each model from its own folder, or {_RESAVE_HINT[0].lower()}{_RESAVE_HINT[1:]}"
        )
    if extra:
        # the user's own files (a history.png saved beside the model in a notebook, notes, a README): never read
        logger.info("%s: ignoring %s, not written by save_model (a model folder's files are listed in %s)",
                    path, ", ".join(extra), _CHECKSUMS_FILE)
    for name in content:
        file = path / name
        if not file.is_file():
            _check_not_newer(path)
            raise ModelFormatError(f"{file} is missing from the model folder. {_RESAVE_HINT}")
        actual = hash_file(file)
        if actual != files[name]:
            _check_not_newer(path)  # (a newer toolkit's checksum file may hash otherwise)
            if _lfs_pointer(file):
                # a model folder kept in a Git repository with Git LFS, cloned without it: the files are
                # ~130-byte pointers, and "truncated or modified ... Save the model again" sent the user to refit
                raise ModelFormatError(
                    f"{file} is a Git LFS pointer, not the file itself: the model folder was checked out without "
                    "Git LFS. Fetch the files (git lfs install, then git lfs pull in the repository) and load "
                    "it again."
                )
            raise ModelFormatError(
                f"{file} does not match the SHA-256 recorded in {_CHECKSUMS_FILE} (expected "
                f"{files[name]}, got {actual}): the file was truncated or modified. {_RESAVE_HINT}"
            )
    if _folder_digest(files) != digest:
        raise ModelFormatError(
            f"{checksums_path} does not match its own folder digest: the checksum file was edited. "
            f"{_RESAVE_HINT}"
        )
    return content, files


def _lfs_pointer(file: Path) -> bool:
    """Whether ``file`` is a Git LFS pointer (what a clone without Git LFS holds in place of a tracked file)."""
    try:
        with open(file, "rb") as fh:
            return fh.read(len(_LFS_POINTER_START)) == _LFS_POINTER_START
    except OSError:
        return False


#: How every Git LFS pointer file begins (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)
_LFS_POINTER_START = b"version https://git-lfs.github.com/spec/v1\n"


def _read_config(path: Path, kind: str) -> dict:
    config_path = path / _CONFIG_FILE
    config = _read_small_json(config_path, "config")
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFormatError(
            f"{config_path} is not a toolkit model config (expected format {FORMAT_NAME!r}). "
            f"{_RESAVE_HINT}"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _newer_format_error(config_path, version, config.get("toolkit_version"))
    if version < _MIN_FORMAT_VERSION:
        raise ModelFormatError(
            f"{config_path} has format_version {version}, from an older toolkit without a folder "
            f"digest; this toolkit reads versions {_MIN_FORMAT_VERSION} to {FORMAT_VERSION}. {_RESAVE_HINT}"
        )
    if config.get("kind", "keras") != kind:
        raise ModelFormatError(
            f"{config_path} says kind {config.get('kind')!r} but the folder holds "
            f"{', '.join(_KIND_FILES[kind])}. {_RESAVE_HINT}"
        )
    for key in (() if kind == "sklearn" else ("params", "fitted")):
        if not isinstance(config.get(key), dict):
            raise ModelFormatError(f"{config_path} has no {key!r} section. {_RESAVE_HINT}")
    return config


def _check_versions(config: dict, config_path: Path, libraries) -> None:
    """Refuse another major version of a library; warn on another minor version.

    ``libraries``: (config key, library name, installed version) triples.
    """
    from packaging.version import InvalidVersion, Version

    for key, library, installed in libraries:
        saved = config.get(key)
        try:
            saved_v, installed_v = Version(str(saved)), Version(installed)
        except InvalidVersion as err:
            raise ModelFormatError(
                f"{config_path} has {key} {saved!r}, which is not a version number. {_RESAVE_HINT}"
            ) from err
        if saved_v.major != installed_v.major:
            raise ModelFormatError(
                f"{config_path} was saved with {library} {saved}; {library} {installed} is installed "
                f"and cannot load models of {library} {saved_v.major}.x. Load it with {library} "
                f"{saved_v.major}.{saved_v.minor}, or save the model again with this version."
            )
        if saved_v.minor != installed_v.minor:
            warnings.warn(
                f"{config_path} was saved with {library} {saved} and is loaded with {library} "
                f"{installed}; predictions may differ. Save the model again with this version to "
                "silence this warning.",
                ModelVersionWarning,
                stacklevel=3,
            )


def _check_nb_agreement(clf, weights: dict, path: Path) -> None:
    """As :func:`_check_agreement`, for the arrays of ``nb_weights.npz``: classes vs outputs, vocabulary vs rows."""
    from .classifier import _NB_ARCHITECTURES

    file = path / _NB_WEIGHTS_FILE
    if clf.architecture not in _NB_ARCHITECTURES:
        raise ModelFormatError(f"{file} holds NB weights, but {path / _CONFIG_FILE} names architecture "
                               f"{clf.architecture!r}. {_RESAVE_HINT}")
    rows, outputs = weights["weighted"].shape
    _check_outputs(clf, outputs, file, path)
    if rows != len(clf.vocabulary_) or ("row_of" in weights and len(weights["row_of"]) != rows):
        raise ModelFormatError(f"{path / _VOCAB_FILE} has {len(clf.vocabulary_)} tokens but {file} has weights for "
                               f"{rows}: the files come from different models. {_RESAVE_HINT}")


def _check_outputs(clf, n_outputs: int, file: Path, path: Path) -> None:
    """The config's classes must match the ``n_outputs`` of the model in ``file``."""
    n_classes = len(clf.classes_)
    expected = 1 if clf.output_ == "binary" else n_classes
    if clf.output_ == "binary" and n_classes != 2:
        expected = None
    if expected != n_outputs:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} lists {n_classes} classes for a {clf.output_!r} output, but "
            f"{file} has {n_outputs} output unit(s): the files come from different "
            f"models. {_RESAVE_HINT}"
        )


def _check_agreement(clf, path: Path) -> None:
    """The config must describe the Keras model: classes vs outputs, vocabulary vs embedding, maxlen vs input."""
    model = clf.model_
    _check_outputs(clf, model.outputs[0].shape[-1], path / _MODEL_FILE, path)
    try:
        rows = model.get_layer("embedding").input_dim
    except ValueError as err:
        raise ModelFormatError(
            f"{path / _MODEL_FILE} has no layer named 'embedding'; it was not built by toolkit. "
            f"{_RESAVE_HINT}"
        ) from err
    if len(clf.vocabulary_) != rows:
        raise ModelFormatError(
            f"{path / _VOCAB_FILE} has {len(clf.vocabulary_)} tokens but the model's embedding has "
            f"{rows} rows: the files come from different models. {_RESAVE_HINT}"
        )
    input_len = model.inputs[0].shape[-1]
    if isinstance(clf.maxlen_, int) and input_len is not None and input_len != clf.maxlen_:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} has maxlen_ {clf.maxlen_} but {path / _MODEL_FILE} takes "
            f"sequences of {input_len} tokens: the files come from different models. {_RESAVE_HINT}"
        )


def load_model(path):
    """Load a folder written by :func:`save_model`.

    Checks, in this order and before anything is parsed: the folder holds
    the saved files and matches its digest (``checksums.json``; other files,
    such as a plot saved beside the model, are logged and never read); for a
    Keras model, the installed Keras is at least the pinned minimum; the
    recorded toolkit and Keras (or scikit-learn) versions can load. A
    ``model.skops`` file is loaded only when every type it names comes from
    scikit-learn, toolkit, NumPy or SciPy. The Keras model is loaded with
    ``safe_mode=True`` (no arbitrary code) after its zip directory passed the
    size caps, and the config must agree with it. A folder of a newer format
    (or parameters a newer toolkit added) is refused as such, naming the
    toolkit version that saved it, whatever files it holds. A Keras optimizer or
    learning-rate schedule among the parameters is rebuilt from its JSON
    config by ``keras.saving.deserialize_keras_object`` in safe mode; a class
    of the user's own must be registered with Keras
    (``keras.saving.register_keras_serializable``) and imported first.

    A load that takes more than three seconds ends with one full garbage
    collection (~0.1 s for a large stack), so the objects it made leave the
    collector's young generations and the first ``predict`` does not pay for
    walking them.

    Parameters
    ----------
    path : str or path-like
        The folder (``~`` is the home folder).

    Returns
    -------
    EmbeddingClassifier, Pipeline or scikit-learn estimator
        What was saved, fitted and ready to predict.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ModelFormatError
        When ``path`` is a file (such as the folder's ``model.keras``), or a
        file is missing, truncated, modified, from a newer format or another
        major version, or disagrees with the model.
    DependencyError
        When the installed Keras is older than the minimum toolkit pins.

    Warns
    -----
    ModelVersionWarning
        When the model was saved with another minor version of toolkit or Keras.

    Examples
    --------
    >>> from toolkit.models import load_model            # doctest: +SKIP
    >>> load_model("imdb-model").predict(["A fine film."])  # doctest: +SKIP
    """
    started = time.perf_counter()
    try:
        return _load_model(path)
    finally:
        if time.perf_counter() - started > _COLLECT_AFTER_S:
            # what the load built sits in the collector's young generations; left there, the first
            # predict's full collection walks it (0.11 of 1.19 CPU s on 2,000 reviews for a loaded
            # STACK_MANY_JOB, BENCHMARKS.md twenty-second session): collect here, where the load pays
            gc.collect()


def _check_path_type(path, owner: str) -> None:
    """Refuse a ``path`` that is no str or path-like (None, bytes, a number), naming the parameter: pathlib's
    "expected str, bytes or os.PathLike object, not NoneType" named neither."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise TypeError(f"The 'path' parameter of {owner} must be a str or path-like naming the model folder "
                        f"(e.g. 'runs/imdb/model'), got {type(path).__name__} {path!r}.")


def _load_model(path):
    """:func:`load_model` without the closing collection."""
    _check_path_type(path, "load_model")
    path = _expand_home(path)  # "~user/..." of no such user: a name, as save_model wrote it
    with _folder_lock(path, exclusive=False):  # a save to this path meanwhile waits (or is awaited)
        recover_moved_aside(path)  # a save killed between its two renames had hidden the previous model
        return _load_locked(path)


def _load_locked(path: Path):
    """:func:`_load_model` of the expanded ``path``, while the folder lock is held."""
    from .. import __version__
    from ..text.vocabulary import Vocabulary
    from .classifier import EmbeddingClassifier

    if path.is_file():
        raise ModelFormatError(_not_a_folder_message(path))
    if not path.is_dir():
        raise FileNotFoundError(f"No saved model folder at {path}.")
    content, hashes = _verify_folder(path)
    kind = "sklearn" if _SKOPS_FILE in content else "keras"
    config = _read_config(path, kind)
    if kind == "sklearn":
        for name in (_INDEX_FILE, _NB_WEIGHTS_FILE):
            if name in content:
                raise ModelFormatError(f"{path / name} belongs to a Keras model folder, but {path} holds "
                                       f"{_SKOPS_FILE}. {_RESAVE_HINT}")
        estimator = _load_skops(path, config)
        if _SPANS_FILE in content:
            _load_span_cache(estimator, path)
        return estimator
    installed_keras = check_keras_version()
    if config.get("estimator") != EmbeddingClassifier.__name__:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} names estimator {config.get('estimator')!r}; only "
            "EmbeddingClassifier folders can be loaded."
        )
    _check_versions(config, path / _CONFIG_FILE, (("toolkit_version", "toolkit", __version__),
                                                  ("keras_version", "Keras", installed_keras)))
    model_file, vocab_file = path / _MODEL_FILE, path / _VOCAB_FILE
    try:
        clf = EmbeddingClassifier(**_params_from_json(EmbeddingClassifier, config["params"], path / _CONFIG_FILE,
                                                      config.get("toolkit_version")))
        fitted = config["fitted"]
        dtype = fitted["classes_dtype"]
        clf.classes_ = np.array(fitted["classes"], dtype=object if dtype == "object" else np.dtype(dtype))
        for name in _FITTED_SCALARS:
            setattr(clf, name, fitted[name])
        clf.history_ = {k: list(v) for k, v in fitted["history"].items()}
        if fitted.get("class_prior") is not None:  # absent in folders saved before it existed
            clf.class_prior_ = np.asarray(fitted["class_prior"], dtype=np.float64)
        clf.embedding_coverage_ = _coverage_from_dict(fitted.get("embedding_coverage"))
        oov_vectors = fitted.get("oov_vectors")  # absent in folders saved before oov existed
        if oov_vectors is not None and not isinstance(oov_vectors, str):
            raise TypeError(f"'oov_vectors' must be a path or null, got {oov_vectors!r}")
        clf.oov_vectors_ = oov_vectors
        tokenizer_params = fitted.get("tokenizer_params")  # absent in folders saved before it existed
        if tokenizer_params is not None and not isinstance(tokenizer_params, dict):
            raise TypeError(f"'tokenizer_params' must be an object or null, got {tokenizer_params!r}")
        if tokenizer_params is not None and isinstance(tokenizer_params.get("ngram_range"), list):
            tokenizer_params = {**tokenizer_params, "ngram_range": tuple(tokenizer_params["ngram_range"])}
        clf.tokenizer_params_ = tokenizer_params
    except ModelFormatError:  # a Keras parameter that cannot be rebuilt (_keras_param_from_json) says why itself
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} has invalid or missing fitted settings ({err!r}). {_RESAVE_HINT}"
        ) from err
    try:
        clf.vocabulary_ = Vocabulary.from_json(vocab_file)
    except Exception as err:
        raise ModelFormatError(f"{vocab_file} cannot be read ({err}). {_RESAVE_HINT}") from err
    if _INDEX_FILE in content:  # the vocabulary's n-gram index (Vocabulary.save_ngram_index)
        _read_npz(path / _INDEX_FILE, clf.vocabulary_.load_ngram_index, max_members=256,
                  note="numpy compresses sorted int64 keys ~2-4:1")
    if _NB_WEIGHTS_FILE in content:
        # an NB architecture predicts from these arrays: model.keras waits, checked and in memory, until
        # something reads model_ (then Keras loads it in safe mode), so loading imports no Keras
        weights = _read_npz(path / _NB_WEIGHTS_FILE, _read_nb_weights, max_members=64,
                            note="an uncompressed .npz of float arrays")
        if weights["_refs"] and config["format_version"] < _KERAS_REFS_VERSION:
            raise ModelFormatError(f"{path / _NB_WEIGHTS_FILE} takes arrays from {_MODEL_FILE}, which format "
                                   f"version {_KERAS_REFS_VERSION} introduced, but {path / _CONFIG_FILE} says version "
                                   f"{config['format_version']}. {_RESAVE_HINT}")
        check_keras_archive(model_file)
        data = model_file.read_bytes()
        # (format version 3) its tables from model.keras' bytes, with neither Keras nor h5py
        weights = _read_keras_refs(weights, data, model_file, hashes[_MODEL_FILE])
        _check_nb_agreement(clf, weights, path)
        clf._nb_weights = (None, weights)
        clf._model_keras_bytes, clf._model_keras_safe_mode = data, True
    else:
        clf.model_ = keras_in_safe_mode(lambda: load_keras(model_file, safe_mode=True), model_file)
        _check_agreement(clf, path)
    pipeline = config.get("pipeline")
    if pipeline is None:
        return clf
    from sklearn.pipeline import Pipeline

    from ..text.tokenizer import SpacyTokenizer

    try:
        tok_name, clf_name = pipeline["steps"]
        tokenizer = SpacyTokenizer(**_params_from_json(SpacyTokenizer, pipeline["tokenizer_params"],
                                                       path / _CONFIG_FILE, config.get("toolkit_version")))
    except ModelFormatError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} has an invalid 'pipeline' section ({err!r}). {_RESAVE_HINT}"
        ) from err
    tokenizer = _fit_stateless(tokenizer)
    pipeline = Pipeline([(tok_name, tokenizer), (clf_name, clf)])
    if _SPANS_FILE in content:
        _load_span_cache(pipeline, path)
    return pipeline


def _not_a_folder_message(path: Path) -> str:
    """Why :func:`load_model` refuses the file ``path``, and what loads it."""
    if path.name in _MODEL_FOLDER_NAMES and (path.parent / _CONFIG_FILE).is_file():
        return (f"{path} is a file of a saved model folder; load_model reads the whole folder: "
                f"load_model({str(path.parent)!r}).")
    if path.name.endswith(".weights.h5"):
        # the chapter's model.save_weights(...): "loads with keras.models.load_model" was wrong for it (Keras
        # refuses a weights file there too)
        return (f"{path} holds the weights of a Keras model only (model.save_weights), no model: build the same "
                "model again and call model.load_weights(path) on it. To keep a whole classifier (model, "
                "vocabulary, tokenizer), save it with save_model(clf, folder) and load that folder.")
    return (f"{path} is a file; load_model reads a folder written by toolkit's save_model. A Keras .keras "
            "file loads with keras.models.load_model, a joblib pickle with joblib.load (only files you trust).")


def _load_skops(path: Path, config: dict):
    """Load the sklearn kind: only scikit-learn / toolkit / NumPy / SciPy types are trusted."""
    import sklearn
    import skops.io as sio

    from .. import __version__
    from ._keras_io import MAX_JSON_MEMBER_BYTES, check_zip_archive

    config_path, file = path / _CONFIG_FILE, path / _SKOPS_FILE
    _check_versions(config, config_path, (("toolkit_version", "toolkit", __version__),
                                          ("sklearn_version", "scikit-learn", sklearn.__version__)))
    # skops writes its schema.json uncompressed, ~600 bytes per entry of a fitted dict: a TfidfVectorizer's
    # vocabulary of 55,000 n-grams (300 IMDB reviews) makes 35 MB. So the JSON cap is the archive's own
    # size (a stored member cannot hold more than the file; a compressed one still meets the ratio cap)
    check_zip_archive(file, what=".skops", max_members=_SKOPS_MAX_MEMBERS,
                      note="skops stores arrays uncompressed",
                      max_json_bytes=max(MAX_JSON_MEMBER_BYTES, file.stat().st_size))
    try:
        tree_reader = _skops_tree_reader()
    except ImportError:  # another skops than the ones known: its public API, which reads the file twice
        tree_reader = None
    with contextlib.ExitStack() as stack:
        try:
            if tree_reader is None:
                types, tree = sio.get_untrusted_types(file=file), None
            else:
                zip_file = stack.enter_context(_DeferredArraysZip(file))
                tree = tree_reader(zip_file)
                types = sorted(tree.get_unsafe_set())  # what sio.get_untrusted_types returns
        except Exception as err:
            raise ModelFormatError(f"{file} is not a skops file ({err}). {_RESAVE_HINT}") from err
        refused = _refused_types(types)
        if refused:
            raise ModelFormatError(
                f"{file} names types outside scikit-learn, toolkit, NumPy and SciPy ({', '.join(refused)}); "
                "toolkit does not load them. If you trust the file, load it with skops.io.load(..., "
                "trusted=[...]) yourself."
            )
        try:
            if tree is None:
                estimator = sio.load(file, trusted=types)
            else:  # the tree that was audited is the one constructed; each array is read once, into itself
                _read_deferred_arrays(tree, zip_file)
                estimator = tree.construct()
        except Exception as err:
            raise ModelFormatError(f"{file} cannot be loaded by skops.io ({err}). {_RESAVE_HINT}") from err
    if type(estimator).__name__ != config.get("estimator"):
        raise ModelFormatError(
            f"{config_path} names estimator {config.get('estimator')!r} but {file} holds a "
            f"{type(estimator).__name__}: the files come from different models. {_RESAVE_HINT}"
        )
    return estimator


#: The skops series whose private modules :func:`_skops_tree_reader` uses (others load through the public API).
_SKOPS_TREE_SERIES = "0.16."


def _skops_tree_reader():
    """A function that reads skops' node tree of a :class:`_DeferredArraysZip` once, to audit and then construct.

    ``skops.io.get_untrusted_types`` and ``skops.io.load`` each build that
    tree, and building it reads every array member into a bytes object that
    ``numpy.load`` then copies into the array: a saved ``STACK_MANY_JOB``'s
    478 MB read twice and copied once more, mostly paid as first touches of
    new memory (read once, into the arrays: its load after the imports took
    3.3 -> 2.5 CPU s and peak memory 1.55 -> 1.09 GB, medians of four fresh
    processes). This is ``skops.io.load``'s own
    sequence (read the schema, build the tree, audit it, construct it), from
    its modules (skops 0.16), with the plain arrays' members left unread
    (:meth:`_DeferredArraysZip.defer`) until :func:`_read_deferred_arrays`.
    :class:`ImportError` with a skops other than the 0.16 series these
    private modules were read from (their signatures may differ), or one
    that lacks them: the caller then uses the public API.
    """
    import skops

    if not str(getattr(skops, "__version__", "")).startswith(_SKOPS_TREE_SERIES):
        raise ImportError(f"skops {getattr(skops, '__version__', '?')}: not the {_SKOPS_TREE_SERIES} series")
    from skops.io._audit import NODE_TYPE_MAPPING, get_tree
    from skops.io._numpy import NdArrayNode
    from skops.io._protocol import PROTOCOL
    from skops.io._utils import read_schema

    def read(zip_file):
        schema, load_context = read_schema(zip_file)

        def is_plain_array(state) -> bool:  # the state of a numeric ndarray stored as a .npy member
            loader = state.get("__loader__")
            node_cls = NODE_TYPE_MAPPING.get((loader, load_context.protocol), NODE_TYPE_MAPPING.get((loader, PROTOCOL)))
            return (node_cls is NdArrayNode and state.get("type") == "numpy" and state.get("__module__") == "numpy"
                    and state.get("__class__") == "ndarray")

        zip_file.defer(schema, is_plain_array, NdArrayNode)
        return get_tree(schema, load_context, trusted=None)

    return read


class _DeferredArraysZip(zipfile.ZipFile):
    """``model.skops`` as skops' nodes read it, with the members of plain arrays read later, into the arrays.

    skops' array node reads its member into a bytes object when the tree is
    built, and ``numpy.load`` copies it into the array when it is
    constructed. Here :meth:`read` gives such a member as a short marker,
    and :func:`_read_deferred_arrays` reads it after the audit with
    ``numpy.lib.format.read_array`` (``numpy.load``'s own reader: same
    header checks, object arrays refused, same array) straight from the
    member, whose CRC is checked as before. A marker left unread fails to
    load (it is no ``.npy``), so nothing is silently empty.
    """

    _MARKER = b"\x93toolkit-deferred-member\x00"
    _deferred: frozenset = frozenset()
    _array_node = None

    def defer(self, schema, is_plain_array, array_node) -> None:
        """Defer the members that only plain arrays' states of ``schema`` name (each array is stored once)."""
        plain, other, stack = set(), set(), [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                name = node.get("file")
                if isinstance(name, str):
                    (plain if is_plain_array(node) else other).add(name)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        self._deferred, self._array_node = frozenset(plain - other), array_node

    def read(self, name, pwd=None):
        if isinstance(name, str) and name in self._deferred:
            return self._MARKER + name.encode("utf-8")
        return super().read(name, pwd)

    def deferred_member(self, node):
        """The member whose reading ``node`` (a skops node) waits for, or None."""
        if type(node) is not self._array_node or getattr(node, "type", None) != "numpy":
            return None
        buffer = node.children.get("content")  # the node's BytesIO (skops mirrors its parts in `children`)
        if not isinstance(buffer, io.BytesIO):
            return None
        head = buffer.read(len(self._MARKER))
        buffer.seek(0)
        if head != self._MARKER:
            return None
        return buffer.getvalue()[len(self._MARKER):].decode("utf-8")


def _read_deferred_arrays(tree, zip_file: _DeferredArraysZip) -> None:
    """Read the arrays that ``zip_file`` deferred into their nodes of ``tree``, as ``numpy.load`` would."""
    seen, stack = set(), [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        name = zip_file.deferred_member(node)
        if name is not None:
            with zip_file.open(name) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
                while member.read(1 << 20):  # to the end, where zipfile checks the CRC (numpy.load ignores
                    pass  # bytes after the array too)
            node._constructed = array  # what the node's construct() returns (skops caches it there)
            continue
        for child in getattr(node, "children", {}).values():
            children = child.values() if isinstance(child, dict) else child if isinstance(child, list) else [child]
            stack.extend(c for c in children if hasattr(c, "children"))


#: Types outside those modules that are plain data: a path given as a parameter (``vectors=Path(...)``) is
#: rebuilt from its text, nothing more (``pathlib._local`` is where Python 3.13 defines them)
_TRUSTED_TYPES = frozenset(f"pathlib.{where}{kind}" for where in ("", "_local.")
                           for kind in ("PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"))


def _refused_types(types) -> list:
    """The type names of a skops file that :func:`load_model` does not trust, sorted."""
    return sorted(t for t in types if not t.startswith(_TRUSTED_MODULES) and t not in _TRUSTED_TYPES)


def _fit_stateless(tokenizer):
    """Fitted state of SpacyTokenizer comes from its parameters only."""
    return tokenizer.fit([])


def _coverage_from_dict(data):
    if data is None:
        return None
    try:
        from ..vectors.matrix import CoverageReport
    except ImportError:  # pragma: no cover
        return data
    from_dict = getattr(CoverageReport, "from_dict", None)
    return from_dict(data) if from_dict is not None else data

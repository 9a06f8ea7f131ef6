"""Save and load fitted text classifiers without pickle.

A saved model is a folder::

    model.keras        the Keras model, loaded with safe_mode=True
    vocabulary.json    the token -> id vocabulary
    config.json        format version, toolkit version, estimator parameters,
                       class labels and fitted settings, tokenizer parameters
                       (for a Pipeline), and the SHA-256 of the two files above

The folder is written under a temporary name next to the target and renamed
into place, so an interrupted save leaves no half-written model. On load, a
missing, truncated or modified file raises :class:`~toolkit.exceptions.ModelFormatError`
naming the file and what to do.

Pickle (``joblib.dump``) also works for estimators and pipelines, but a pickle
runs code when loaded: unpickle only files you trust.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .._hashing import hash_file
from ..exceptions import ModelFormatError
from ._keras_io import load_keras, save_keras

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model"]

logger = logging.getLogger(__name__)

FORMAT_NAME = "toolkit-text-classifier"
FORMAT_VERSION = 1
_MODEL_FILE = "model.keras"
_VOCAB_FILE = "vocabulary.json"
_CONFIG_FILE = "config.json"
_FITTED_SCALARS = ("output_", "maxlen_", "best_epoch_")
_RESAVE_HINT = "Save the model again from the fitted estimator (toolkit.persistence.save_model)."


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


def _params_to_json(estimator) -> dict:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
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


def _params_from_json(cls, params: dict) -> dict:
    defaults = {
        name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
    }
    out = {}
    for name, value in params.items():
        if isinstance(value, dict) and set(value) == {"__pairs__"}:
            value = {(tuple(k) if isinstance(k, list) else k): v for k, v in value["__pairs__"]}
        elif isinstance(value, list) and isinstance(defaults.get(name), tuple):
            value = tuple(value)
        out[name] = value
    return out


def _split(estimator):
    """(tokenizer or None, classifier, step names) of what is being saved."""
    from sklearn.pipeline import Pipeline

    from .classifier import EmbeddingClassifier

    if isinstance(estimator, EmbeddingClassifier):
        return None, estimator, None
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 2:
        from ..text.tokenizer import SpacyTokenizer

        (tok_name, tokenizer), (clf_name, classifier) = estimator.steps
        if isinstance(tokenizer, SpacyTokenizer) and isinstance(classifier, EmbeddingClassifier):
            return tokenizer, classifier, [tok_name, clf_name]
    raise TypeError(
        "save_model saves an EmbeddingClassifier or a Pipeline(SpacyTokenizer, "
        f"EmbeddingClassifier) such as make_text_classifier() returns; got "
        f"{type(estimator).__name__}. Use joblib.dump for other objects (trusted use only)."
    )


def save_model(estimator, path) -> Path:
    """Save a fitted classifier (or tokenizer + classifier pipeline) to a folder.

    Parameters
    ----------
    estimator : EmbeddingClassifier or Pipeline
        A fitted :class:`~toolkit.classifier.EmbeddingClassifier`, or a
        ``Pipeline(SpacyTokenizer, EmbeddingClassifier)``.
    path : str or path-like
        Target folder. An existing toolkit model folder there is replaced; any
        other existing non-empty folder or file is an error.

    Returns
    -------
    pathlib.Path
        The folder written.

    Examples
    --------
    >>> from toolkit.models import save_model, load_model  # doctest: +SKIP
    >>> save_model(clf, "imdb-model")                            # doctest: +SKIP
    >>> load_model("imdb-model").predict(docs)                   # doctest: +SKIP
    """
    from sklearn.utils.validation import check_is_fitted

    from .. import __version__

    tokenizer, clf, step_names = _split(estimator)
    check_is_fitted(clf, "model_")
    path = Path(path)
    if path.exists() and not (path / _CONFIG_FILE).is_file():
        if path.is_file() or any(path.iterdir()):
            raise FileExistsError(
                f"{path} exists and is not a toolkit model folder; choose another path or "
                "remove it first."
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        save_keras(clf.model_, tmp / _MODEL_FILE)
        clf.vocabulary_.to_json(tmp / _VOCAB_FILE)
        coverage = getattr(clf, "embedding_coverage_", None)
        if coverage is not None and hasattr(coverage, "to_dict"):
            coverage = coverage.to_dict()
        config = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "toolkit_version": __version__,
            "estimator": type(clf).__name__,
            "params": _params_to_json(clf),
            "fitted": {
                **{name: _to_json_value(getattr(clf, name)) for name in _FITTED_SCALARS},
                "classes": clf.classes_.tolist(),
                "classes_dtype": clf.classes_.dtype.str if clf.classes_.dtype != object else "object",
                "history": clf.history_,
                "embedding_coverage": _to_json_value(coverage),
            },
            "pipeline": None if tokenizer is None else {
                "steps": step_names,
                "tokenizer": type(tokenizer).__name__,
                "tokenizer_params": _params_to_json(tokenizer),
            },
            "files": {name: hash_file(tmp / name) for name in (_MODEL_FILE, _VOCAB_FILE)},
        }
        with open(tmp / _CONFIG_FILE, "w", encoding="utf-8") as fh:
            json.dump(config, fh, indent=2, ensure_ascii=False)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / "model")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("saved %s to %s", type(estimator).__name__, path)
    return path


def _read_config(path: Path) -> dict:
    config_path = path / _CONFIG_FILE
    if not config_path.is_file():
        raise ModelFormatError(
            f"{config_path} is missing: {path} is not a toolkit model folder (or is "
            f"incomplete). {_RESAVE_HINT}"
        )
    try:
        with open(config_path, encoding="utf-8") as fh:
            config = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFormatError(
            f"{config_path} is not valid JSON ({err}); the file is truncated or was edited. "
            f"{_RESAVE_HINT}"
        ) from err
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFormatError(
            f"{config_path} is not a toolkit model config (expected format {FORMAT_NAME!r}). "
            f"{_RESAVE_HINT}"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFormatError(
            f"{config_path} has format_version {version!r}; this toolkit reads version "
            f"{FORMAT_VERSION} or older. Upgrade toolkit to load it."
        )
    for key in ("params", "fitted", "files"):
        if not isinstance(config.get(key), dict):
            raise ModelFormatError(f"{config_path} has no {key!r} section. {_RESAVE_HINT}")
    return config


def _check_file(path: Path, name: str, config: dict) -> Path:
    file = path / name
    if not file.is_file():
        raise ModelFormatError(f"{file} is missing from the model folder. {_RESAVE_HINT}")
    expected = config["files"].get(name)
    actual = hash_file(file)
    if expected != actual:
        raise ModelFormatError(
            f"{file} does not match the SHA-256 recorded in {_CONFIG_FILE} (expected "
            f"{expected}, got {actual}): the file was truncated or modified. {_RESAVE_HINT}"
        )
    return file


def load_model(path):
    """Load a folder written by :func:`save_model`.

    The Keras model is loaded with ``safe_mode=True`` (no arbitrary code),
    after checking each file against the SHA-256 in ``config.json``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    EmbeddingClassifier or Pipeline
        What was saved, fitted and ready to predict.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ModelFormatError
        When a file is missing, truncated, modified or from a newer format.
    """

    from ..text.vocabulary import Vocabulary
    from .classifier import EmbeddingClassifier

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"No saved model folder at {path}.")
    config = _read_config(path)
    if config.get("estimator") != EmbeddingClassifier.__name__:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} names estimator {config.get('estimator')!r}; only "
            "EmbeddingClassifier folders can be loaded."
        )
    model_file = _check_file(path, _MODEL_FILE, config)
    vocab_file = _check_file(path, _VOCAB_FILE, config)
    try:
        clf = EmbeddingClassifier(**_params_from_json(EmbeddingClassifier, config["params"]))
        fitted = config["fitted"]
        dtype = fitted["classes_dtype"]
        clf.classes_ = np.array(fitted["classes"], dtype=object if dtype == "object" else np.dtype(dtype))
        for name in _FITTED_SCALARS:
            setattr(clf, name, fitted[name])
        clf.history_ = {k: list(v) for k, v in fitted["history"].items()}
        clf.embedding_coverage_ = _coverage_from_dict(fitted.get("embedding_coverage"))
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} has invalid or missing fitted settings ({err!r}). {_RESAVE_HINT}"
        ) from err
    try:
        clf.vocabulary_ = Vocabulary.from_json(vocab_file)
    except Exception as err:
        raise ModelFormatError(f"{vocab_file} cannot be read ({err}). {_RESAVE_HINT}") from err
    try:
        clf.model_ = load_keras(model_file, safe_mode=True)
    except Exception as err:
        raise ModelFormatError(
            f"{model_file} cannot be loaded by Keras in safe mode ({err}). {_RESAVE_HINT}"
        ) from err
    if len(clf.vocabulary_) != clf.model_.get_layer("embedding").input_dim:
        raise ModelFormatError(
            f"{vocab_file} has {len(clf.vocabulary_)} tokens but the model's embedding has "
            f"{clf.model_.get_layer('embedding').input_dim} rows: the files come from "
            f"different models. {_RESAVE_HINT}"
        )
    pipeline = config.get("pipeline")
    if pipeline is None:
        return clf
    from sklearn.pipeline import Pipeline

    from ..text.tokenizer import SpacyTokenizer

    try:
        tok_name, clf_name = pipeline["steps"]
        tokenizer = SpacyTokenizer(**_params_from_json(SpacyTokenizer, pipeline["tokenizer_params"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFormatError(
            f"{path / _CONFIG_FILE} has an invalid 'pipeline' section ({err!r}). {_RESAVE_HINT}"
        ) from err
    tokenizer = _fit_stateless(tokenizer)
    return Pipeline([(tok_name, tokenizer), (clf_name, clf)])


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

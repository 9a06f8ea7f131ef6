"""The one ``.keras`` round trip of the toolkit: files and bytes, loaded with the custom layers registered.

:func:`save_keras` / :func:`load_keras` serve :mod:`toolkit.models.persistence`
(a ``model.keras`` file inside a saved folder, loaded with ``safe_mode=True``);
:func:`keras_to_bytes` / :func:`keras_from_bytes` serve pickling of a fitted
:class:`~toolkit.models.EmbeddingClassifier` (joblib, process pools, Dask).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile

__all__ = ["save_keras", "load_keras", "keras_to_bytes", "keras_from_bytes"]

_NAME = "model.keras"


def save_keras(model, path) -> None:
    """Write ``model`` to the ``.keras`` file ``path``."""
    model.save(path)


def load_keras(path, *, safe_mode: bool = True):
    """Load a ``.keras`` file with the toolkit's custom layers registered.

    Parameters
    ----------
    path : str or path-like
        The ``.keras`` file.
    safe_mode : bool, default=True
        Keras' safe mode: refuses configs that would run code (``Lambda``
        layers). Only pickles, which are trusted-only anyway, load with it off.
    """
    import keras

    from .builders import register_layers

    register_layers()
    return keras.saving.load_model(path, safe_mode=safe_mode)


def keras_to_bytes(model) -> bytes:
    """The bytes of ``model`` saved as a ``.keras`` file."""
    with tempfile.TemporaryDirectory(prefix="toolkit-model-") as tmp:
        path = os.path.join(tmp, _NAME)
        save_keras(model, path)
        with open(path, "rb") as fh:
            return fh.read()


def keras_from_bytes(data: bytes, *, safe_mode: bool = True):
    """Inverse of :func:`keras_to_bytes`.

    Raises
    ------
    ValueError
        When ``data`` is not a ``.keras`` (zip) archive.
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError("The stored Keras model is not a .keras (zip) archive.")
    with tempfile.TemporaryDirectory(prefix="toolkit-model-") as tmp:
        path = os.path.join(tmp, _NAME)
        with open(path, "wb") as fh:
            fh.write(data)
        return load_keras(path, safe_mode=safe_mode)

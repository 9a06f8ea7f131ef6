"""The one ``.keras`` round trip of the toolkit: files and bytes, loaded with the custom layers registered.

:func:`save_keras` / :func:`load_keras` serve :mod:`toolkit.models.persistence`
(a ``model.keras`` file inside a saved folder, loaded with ``safe_mode=True``);
:func:`keras_to_bytes` / :func:`keras_from_bytes` serve pickling of a fitted
:class:`~toolkit.models.EmbeddingClassifier` (joblib, process pools, Dask).

Before Keras reads anything, :func:`load_keras` checks the installed Keras
against :data:`KERAS_MIN_VERSION` and the archive's zip directory against
size caps (:func:`check_keras_archive`), so a crafted file is refused before
a byte of it is inflated.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from importlib import metadata

from ..exceptions import DependencyError, ModelFormatError

__all__ = [
    "KERAS_MIN_VERSION",
    "MAX_JSON_MEMBER_BYTES",
    "MAX_COMPRESSION_RATIO",
    "check_keras_version",
    "check_keras_archive",
    "save_keras",
    "load_keras",
    "keras_to_bytes",
    "keras_from_bytes",
    "keras_in_safe_mode",
    "RESAVE_HINT",
]

_NAME = "model.keras"
#: What a message about a saved model that cannot be read tells the user to do
RESAVE_HINT = "Save the model again from the fitted estimator (toolkit.save_model)."

#: Lowest Keras that loads models: 3.14 fixes the safe_mode bypasses
#: (CVE-2025-1550, -8747, -9905, -9906) and a path traversal. Keep equal to
#: the lower bound of ``keras`` in pyproject.toml (a test checks it).
KERAS_MIN_VERSION = "3.14"
#: Cap on the declared size of a JSON member (``config.json``, ``metadata.json``)
#: of a ``.keras`` file; a real one is a few KB to a few MB, and Keras parses it in memory.
MAX_JSON_MEMBER_BYTES = 16 * 2**20
#: Cap on declared size / stored size of any member above :data:`_RATIO_FLOOR_BYTES`.
#: Keras stores members uncompressed (1:1); a re-zipped file stays far below this.
MAX_COMPRESSION_RATIO = 100
_RATIO_FLOOR_BYTES = 2**20
_MAX_MEMBERS = 1000


def installed_keras_version() -> str:
    """The version of the installed ``keras`` distribution (without importing it)."""
    return metadata.version("keras")


def check_keras_version() -> str:
    """Refuse to load models with a Keras older than :data:`KERAS_MIN_VERSION`.

    Returns
    -------
    str
        The installed Keras version.

    Raises
    ------
    DependencyError
        When the installed Keras is older than the minimum.
    """
    from packaging.version import Version

    installed = installed_keras_version()
    if Version(installed) < Version(KERAS_MIN_VERSION):
        raise DependencyError(
            f"Keras {installed} is installed, but loading a model needs Keras >= {KERAS_MIN_VERSION}: "
            "older versions let a crafted .keras file run code despite safe_mode "
            "(CVE-2025-1550, CVE-2025-8747, CVE-2025-9905, CVE-2025-9906). "
            f"Upgrade it: pip install 'keras>={KERAS_MIN_VERSION}'."
        )
    return installed


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def check_keras_archive(path) -> None:
    """Check a ``.keras`` file's zip directory before anything is inflated.

    Only the central directory is read: each member's declared size and stored
    size. A JSON member over :data:`MAX_JSON_MEMBER_BYTES`, any member over
    1 MB that inflates more than :data:`MAX_COMPRESSION_RATIO` times, or more
    than 1000 members is refused.

    Parameters
    ----------
    path : str or path-like
        The ``.keras`` file.

    Raises
    ------
    ModelFormatError
        When the file is not a zip archive or breaks a cap; the message names
        the file, the member and the cap.

    Examples
    --------
    >>> import tempfile, os, zipfile
    >>> path = os.path.join(tempfile.mkdtemp(), "bomb.keras")
    >>> with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
    ...     zf.writestr("config.json", " " * (32 * 2**20))
    >>> check_keras_archive(path)
    Traceback (most recent call last):
    ...
    toolkit.exceptions.ModelFormatError: ...config.json in ...bomb.keras declares 32.0 MB; the cap is 16.0 MB...
    """
    check_zip_archive(path, what=".keras", max_members=_MAX_MEMBERS, note="Keras stores members uncompressed")


def check_zip_archive(path, *, what: str, max_members: int, note: str, max_json_bytes: int = MAX_JSON_MEMBER_BYTES) -> None:
    """Check a zip archive's directory (member count, JSON member sizes, inflation ratio) before reading it.

    Shared by ``.keras`` files and ``.skops`` files (:mod:`toolkit.models.persistence`).

    Parameters
    ----------
    path : str or path-like
    what : str
        The kind of file, for messages (``".keras"``).
    max_members : int
        Most members a genuine file of this kind has.
    note : str
        Why the ratio cap holds for genuine files, for messages.
    max_json_bytes : int, default=MAX_JSON_MEMBER_BYTES
        Cap on the declared size of a ``.json`` member.

    Raises
    ------
    ModelFormatError
        Naming the file, the member and the cap.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFormatError(f"{path} is not a {what} (zip) archive ({err}).") from err
    if len(members) > max_members:
        raise ModelFormatError(
            f"{path} has {len(members)} archive members; a {what} file has far fewer "
            f"(cap {max_members}). Refusing to read it."
        )
    for info in members:
        name, size, stored = info.filename, info.file_size, info.compress_size
        if name.endswith(".json") and size > max_json_bytes:
            raise ModelFormatError(
                f"{name} in {path} declares {_mb(size)}; the cap is {_mb(max_json_bytes)} "
                f"(a {what} config is a few KB to a few MB). Refusing to read it: the file is crafted or corrupt."
            )
        if size > _RATIO_FLOOR_BYTES and size > MAX_COMPRESSION_RATIO * max(stored, 1):
            raise ModelFormatError(
                f"{name} in {path} inflates {size / max(stored, 1):,.0f}:1 ({_mb(stored)} stored, "
                f"{_mb(size)} declared); the cap is {MAX_COMPRESSION_RATIO}:1 ({note}). Refusing to "
                "read it: the file is crafted or corrupt."
            )


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

    Raises
    ------
    DependencyError
        When the installed Keras is older than :data:`KERAS_MIN_VERSION`.
    ModelFormatError
        When the archive breaks a size cap (:func:`check_keras_archive`);
        checked before Keras reads it.
    """
    check_keras_version()
    check_keras_archive(path)
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


def keras_in_safe_mode(load, what):
    """``load()`` (a Keras load in safe mode), its errors as a ModelFormatError naming ``what``.

    :func:`toolkit.models.load_model` loads a folder's ``model.keras`` through
    it, and so does an NB-architecture classifier loaded from a folder when it
    rebuilds ``model_`` on first read.
    """
    try:
        return load()
    except ModelFormatError:
        raise
    except Exception as err:
        raise ModelFormatError(f"{what} cannot be loaded by Keras in safe mode ({err}). {RESAVE_HINT}") from err

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

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from ..exceptions import DependencyError, ModelFormatError

__all__ = [
    "KERAS_MIN_VERSION",
    "MAX_JSON_MEMBER_BYTES",
    "MAX_COMPRESSION_RATIO",
    "check_keras_version",
    "import_keras",
    "check_keras_archive",
    "save_keras",
    "load_keras",
    "keras_to_bytes",
    "keras_from_bytes",
    "keras_in_safe_mode",
    "thread_dtype_policy",
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


#: The packages of Keras' backends (each is also the ``KERAS_BACKEND`` value that selects it)
_BACKEND_PACKAGES = frozenset({"tensorflow", "jax", "torch", "openvino"})


def import_keras():
    """``import keras``, with a backend that is not installed named as the setting that chose it.

    Keras imports the backend named by the ``KERAS_BACKEND`` environment
    variable (or ``~/.keras/keras.json``) when it is first imported; a
    backend that is not installed fails deep inside Keras with "No module
    named 'jax'", which says nothing of the setting.

    Returns
    -------
    module
        The ``keras`` module.

    Raises
    ------
    DependencyError
        When the backend's package is not installed; the message names the
        setting and the fix. The ``ImportError`` is its cause.
    """
    try:
        import keras
    except ImportError as err:
        missing = (getattr(err, "name", None) or "").split(".")[0]
        if missing not in _BACKEND_PACKAGES:
            raise
        chosen = os.environ.get("KERAS_BACKEND")
        where = (f"KERAS_BACKEND={chosen!r} in the environment" if chosen
                 else "Keras' backend setting (KERAS_BACKEND is not set: ~/.keras/keras.json, else tensorflow)")
        other = ("" if missing == "tensorflow" else
                 ", or set KERAS_BACKEND=tensorflow (the backend toolkit is tested with) before Python imports Keras")
        raise DependencyError(
            f"Keras cannot load its backend: {missing!r} is not installed, and {where} selects it. "
            f"Install {missing}{other}."
        ) from err
    return keras


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
    """Write ``model`` to the ``.keras`` file ``path``: the same model gives the same bytes.

    Keras writes the file (``model.save``) under a temporary name next to
    ``path``; :func:`_write_reproducible` then copies it to ``path`` with its
    time- and process-dependent parts fixed (see there). Nothing is left at
    ``path`` if either step fails.

    Parameters
    ----------
    model : keras.Model
    path : str or path-like
        The ``.keras`` file to write (replaced if it exists).
    """
    path = Path(path)
    raw = path.with_name(f".{path.stem}.keras-raw.keras")  # Keras wants the .keras suffix
    try:
        model.save(raw)
        with open(path, "wb") as fh:
            _write_reproducible(raw, fh)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        raw.unlink(missing_ok=True)


#: The date of every member of a ``.keras`` file the toolkit writes (the zip format's epoch, which Keras already
#: gives its JSON members), and so the ``date_saved`` of its ``metadata.json`` (Keras' format, ``%Y-%m-%d@%H:%M:%S``)
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_FIXED_DATE_SAVED = "1980-01-01@00:00:00"
_COPY_CHUNK = 2**20


#: Value-like objects whose sharing between layers means nothing: a loaded model's layers hold equal copies
_UNSHARED_CLASSES = frozenset({"DTypePolicy"})


def _without_object_ids(config):
    """``config`` (a Keras model config) with its ``shared_object_id`` values independent of memory addresses.

    Keras marks an object that several layers share with ``id(obj)``, a
    memory address: the default dtype policy, which every layer holds, gets a
    different number in every process. The marks of a ``DTypePolicy`` are
    dropped (a loaded model's layers hold equal, unshared policies, so its
    save has none either); any other object's are renumbered 1, 2, ... in
    order of first appearance, which keeps what is shared with what.
    """
    numbers = {}

    def visit(node):
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: visit(value) for key, value in node.items()}
        if "shared_object_id" in out:
            if out.get("class_name") in _UNSHARED_CLASSES:
                del out["shared_object_id"]
            else:
                out["shared_object_id"] = numbers.setdefault(out["shared_object_id"], len(numbers) + 1)
        return out

    return visit(config)


def _write_reproducible(src, fileobj) -> None:
    """Copy the ``.keras`` archive ``src`` to ``fileobj`` without the parts Keras makes time- or process-dependent.

    Keras stamps ``metadata.json`` with ``"date_saved"`` (the second of the
    save), gives ``model.weights.h5`` the save time as its zip date, and
    numbers shared objects in ``config.json`` by memory address; all else it
    writes is a function of the model (given the explicit names of
    :mod:`toolkit.models.builders`). Here ``date_saved`` is set to
    :data:`_FIXED_DATE_SAVED`, every member gets the date :data:`_FIXED_DATE`
    and the same attributes, and the shared-object numbers are made
    address-free (:func:`_without_object_ids`), so the same model gives the
    same bytes in any process, and a folder's checksums only change when the
    model does. The ``date_saved`` key is kept (``keras.saving.KerasFileEditor``
    reads it); when a model was saved is the file's own modification time.
    The members are copied in Keras' order, stored (uncompressed) as Keras
    stores them, the weights in 1 MB chunks; the JSON is written as Keras
    writes it (``json.dumps`` defaults).
    """
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(fileobj, "w") as zout:
        for info in zin.infolist():
            data = None
            if info.filename == "metadata.json":
                metadata = json.loads(zin.read(info))
                if "date_saved" in metadata:
                    metadata["date_saved"] = _FIXED_DATE_SAVED
                data = json.dumps(metadata).encode("utf-8")
            elif info.filename == "config.json":
                config = _portable_optimizer(_without_object_ids(json.loads(zin.read(info))))
                data = json.dumps(config).encode("utf-8")
            copy_zip_member(zin, info, zout, data=data)


def portable_optimizer_config(entry):
    """``entry`` (a serialized Keras optimizer) with its classes recorded as the public Keras classes of their names.

    Under the torch backend ``keras.optimizers.Adam(...)`` makes torch's own
    subclass, and Keras serializes that class' module
    (``keras.src.backend.torch.optimizers.torch_adam``): loading it imports
    torch, and fails where torch is not installed ("Could not deserialize
    class 'Adam' because its parent module ... cannot be imported"), a
    TensorFlow-only server for one. Recorded as ``keras.optimizers.Adam``, as
    the JAX and TensorFlow backends serialize it, it loads on every backend
    (under torch as torch's subclass again). Nested entries too: the inner
    optimizer of a ``LossScaleOptimizer`` (``"mixed_float16"``). Changed in
    place, and returned.
    """
    if isinstance(entry, dict):
        if str(entry.get("module", "")).startswith("keras.src.backend.") and "class_name" in entry:
            entry["module"], entry["registered_name"] = "keras.optimizers", None
        for value in entry.values():
            portable_optimizer_config(value)
    return entry


def _portable_optimizer(config):
    """``config`` (a Keras model config) with its optimizer made portable (:func:`portable_optimizer_config`)."""
    compiled = config.get("compile_config")
    if isinstance(compiled, dict):
        portable_optimizer_config(compiled.get("optimizer"))
    return config


def copy_zip_member(zin, info, zout, *, name=None, data=None) -> None:
    """Copy member ``info`` of ``zin`` to ``zout`` (as ``name``, or with the bytes ``data`` instead) reproducibly.

    The copy gets the date :data:`_FIXED_DATE`, Unix attributes ``0o644`` and
    ``info``'s compression, whatever the clock and the platform; its content
    is streamed in 1 MB chunks (never a whole member in memory).
    """
    out = zipfile.ZipInfo(info.filename if name is None else name, date_time=_FIXED_DATE)
    out.compress_type = info.compress_type
    out.create_system = 3  # Unix, on any platform
    out.external_attr = 0o644 << 16
    if data is not None:
        zout.writestr(out, data)
        return
    out.file_size = info.file_size  # known in advance: open() chooses ZIP64 headers from it, as the writer did
    with zin.open(info) as src_member, zout.open(out, "w") as dst_member:
        shutil.copyfileobj(src_member, dst_member, _COPY_CHUNK)


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
    keras = import_keras()

    from .builders import register_layers

    register_layers()
    # a model trained under "mixed_float16" was compiled with a LossScaleOptimizer, which Keras rebuilds only
    # under that policy: loaded under another, its optimizer state is skipped with a warning
    with thread_dtype_policy(_saved_mixed_policy(path)):
        return keras.saving.load_model(path, safe_mode=safe_mode)


def _saved_mixed_policy(path):
    """The mixed dtype policy (``"mixed_float16"``...) of the saved model's ``"embedding"`` layer, else None.

    Read from the archive's ``config.json`` (its size already capped by
    :func:`check_keras_archive`); anything unexpected gives None, and Keras'
    own load judges the file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
        layers = config["config"]["layers"]
        for layer in layers:
            if layer["config"]["name"] == "embedding":
                dtype = layer["config"].get("dtype")
                name = dtype["config"]["name"] if isinstance(dtype, dict) else dtype
                return name if isinstance(name, str) and name.startswith("mixed_") else None
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile):
        return None
    return None


@contextlib.contextmanager
def thread_dtype_policy(name):
    """Keras' global dtype policy set to ``name`` for the block, in this thread only (None: left as it is).

    Keras keeps its global policy per thread, so setting it here touches no
    other thread; afterwards the thread's own setting comes back, unset
    included (then Keras' default follows ``keras.config.floatx()`` again).

    Parameters
    ----------
    name : str or None
        A Keras dtype policy name, such as ``"mixed_float16"``.
    """
    if name is None:
        yield
        return
    keras = import_keras()
    try:  # Keras' own per-thread store (keras.config.dtype_policy reads it): "unset" is restored as unset
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras that keeps it elsewhere: the policy in force is restored
        global_state = None
    before = (global_state.get_global_attribute("dtype_policy") if global_state is not None
              else keras.config.dtype_policy())
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        if global_state is not None:
            global_state.set_global_attribute("dtype_policy", before)
        else:
            keras.config.set_dtype_policy(before)


def keras_to_bytes(model) -> bytes:
    """The bytes of ``model`` saved as a ``.keras`` file (the same bytes for the same model, as :func:`save_keras`)."""
    with tempfile.TemporaryDirectory(prefix="toolkit-model-") as tmp:
        path = os.path.join(tmp, _NAME)
        model.save(path)
        buffer = io.BytesIO()
        _write_reproducible(path, buffer)
        return buffer.getvalue()


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

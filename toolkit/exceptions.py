"""Exceptions raised by toolkit.

Every error a user can cause derives from :class:`ToolkitError` and from the
builtin that fits it (``ValueError``, ``FileNotFoundError``...), so callers can
catch either. Messages name the problem (file, line, parameter) and what to do.
"""

from __future__ import annotations

__all__ = [
    "ToolkitError",
    "DataError",
    "ChecksumError",
    "ManifestError",
    "VectorsFormatError",
    "VectorsNotFoundError",
    "ModelFormatError",
    "DependencyError",
    "ModelVersionWarning",
]


class ToolkitError(Exception):
    """Base class of all errors raised on purpose by toolkit."""


class DataError(ToolkitError, ValueError):
    """A data file or folder is missing, unreadable or malformed."""


class ChecksumError(DataError):
    """A file's hash differs from the one its manifest or SHA256SUMS gives."""


class ManifestError(ToolkitError, ValueError):
    """A data manifest is missing, unknown or invalid."""


class VectorsFormatError(DataError):
    """A word-vector file cannot be parsed; the message names file and line."""


class VectorsNotFoundError(DataError, FileNotFoundError):
    """No vectors file at the given path, and no manifest of that name."""


class ModelFormatError(ToolkitError, ValueError):
    """A saved model folder is missing parts, tampered with or from elsewhere."""


class DependencyError(ToolkitError, RuntimeError):
    """An installed dependency is too old (or unsafe) for what was asked; the message says what to install."""


class ModelVersionWarning(UserWarning):
    """A saved model comes from another minor version of toolkit or Keras; it may not behave the same."""

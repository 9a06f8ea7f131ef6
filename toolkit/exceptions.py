"""Exceptions raised by toolkit.

Every error a user can cause derives from :class:`ToolkitError` and from the
builtin that fits it (``ValueError``, ``FileNotFoundError``...), so callers can
catch either. Messages name the problem (file, line, parameter) and what to do.
"""

from __future__ import annotations

import re

__all__ = [
    "ToolkitError",
    "DataError",
    "DocumentError",
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


class DocumentError(DataError):
    """One document of an estimator's input cannot be used (too long, or without tokens).

    Parameters
    ----------
    message : str
        What is wrong and what to do; it names the document as "Document N of X".
    document_index : int, optional
        N: the document's position in the ``X`` the estimator was given (or,
        where a wrapper such as a stack re-raises it, in the ``X`` the wrapper
        was given), so a caller that knows where ``X`` came from can name the
        record of the user's file.

    Attributes
    ----------
    document_index : int or None
    """

    def __init__(self, message, *, document_index=None):
        super().__init__(message)
        self.document_index = None if document_index is None else int(document_index)

    def __reduce__(self):  # through joblib / Dask worker processes with its index (args alone would drop it)
        return _document_error, (str(self), self.document_index)

    def naming(self, subject: str) -> str:
        """The message with its document called ``subject`` instead of "Document N of X".

        Parameters
        ----------
        subject : str
            How the caller knows the document, e.g. "Document 41 of X" (a
            stack: the position in its own X) or "Record 41 (line 42) of
            reviews.jsonl" (the CLI: the user's file).

        Returns
        -------
        str
            ``"<subject>: <message>"`` when the message does not start so.
        """
        message = str(self).rstrip()
        lead = _DOCUMENT_OF_X.match(message)
        return f"{subject}{message[lead.end():]}" if lead else f"{subject}: {message}"


#: How a DocumentError's message names its document (the estimators' wording)
_DOCUMENT_OF_X = re.compile(r"^Document \d+ of X\b")


def _document_error(message, document_index):
    return DocumentError(message, document_index=document_index)


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

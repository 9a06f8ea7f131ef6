"""File digests: the one SHA-256 (or other hashlib) file hasher of the toolkit."""

from __future__ import annotations

import hashlib
import os

__all__ = ["hash_file"]

_CHUNK = 1 << 20


def hash_file(path: str | os.PathLike, alg: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks.

    Parameters
    ----------
    path : str or path-like
        The file to hash.
    alg : str, default="sha256"
        Any algorithm name :func:`hashlib.new` accepts.

    Returns
    -------
    str
        The hex digest.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
    ...     _ = fh.write(b"abc")
    >>> hash_file(fh.name)[:16]
    'ba7816bf8f01cfea'
    >>> os.remove(fh.name)
    """
    h = hashlib.new(alg)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()

"""File identity: what tells a file's content apart from a rewrite of it, for the caches keyed on a source file.

A file's path, size and modification time do not: a rewrite that puts the
time back (``cp -p`` or ``rsync -t`` onto it, a tar extraction, ``touch -r``,
``os.utime``) keeps all three. Its inode and change time (``st_ctime_ns``,
which no call can set) do change, so :func:`stat_id` keys in-process memos;
a record kept on disk, which a copy of the file to another folder or machine
should still find, also keeps the file's SHA-256 (:func:`fingerprint`) and is
checked by :func:`same_content`, which reads the file only when its
:func:`stat_id` differs from the recorded one.
"""

from __future__ import annotations

import os

__all__ = ["fingerprint", "same_content", "stat_id"]


def stat_id(path: str | os.PathLike) -> list:
    """What identifies a file's content without reading it: inode, size, modification and change times.

    Parameters
    ----------
    path : str or path-like
        An existing file (``OSError`` otherwise).

    Returns
    -------
    list of int
        ``[st_ino, st_size, st_mtime_ns, st_ctime_ns]`` (a list: it is stored as JSON).
    """
    st = os.stat(path)
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def fingerprint(path: str | os.PathLike) -> tuple:
    """What a record keeps of a file for :func:`same_content`: its :func:`stat_id` and SHA-256.

    Returns
    -------
    (list or None, str)
        The stat id (None when the file was written to while it was hashed:
        no stat to trust) and the hex SHA-256.
    """
    from ._hashing import hash_file

    before = stat_id(path)
    digest = hash_file(path)
    return (before if stat_id(path) == before else None), digest


def same_content(path: str | os.PathLike, stat, sha256, current: list | None = None) -> bool:
    """Whether ``path`` still holds the content recorded as (``stat``, ``sha256``) by :func:`fingerprint`.

    True at once when its :func:`stat_id` (``current``, taken here when None)
    is ``stat``; else its SHA-256 is compared with ``sha256`` (False when no
    digest was recorded). A caller that finds it the same records the new stat
    id where it can, so the file is hashed once per copy, not on every check.
    """
    if current is None:
        current = stat_id(path)
    if stat is not None and list(stat) == current:
        return True
    if not isinstance(sha256, str):
        return False
    from ._hashing import hash_file

    return hash_file(path) == sha256

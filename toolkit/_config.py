"""Where toolkit reads offline data and keeps its cache.

Resolution: an explicit argument wins, then the environment variable
(``TOOLKIT_DATA_DIR`` / ``TOOLKIT_CACHE_DIR``), then the default (no data
folder; the platform's user cache folder).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "CACHE_DIR_ENV", "get_data_dir", "get_cache_dir"]

DATA_DIR_ENV = "TOOLKIT_DATA_DIR"
CACHE_DIR_ENV = "TOOLKIT_CACHE_DIR"


def _not_empty(value, name: str, variable: str):
    """``value``, refused when it is an empty string: ``Path("")`` is the current folder, silently.

    An empty environment variable counts as unset; an empty argument is a
    mistake (an unset shell variable in ``data_dir=os.environ.get(...)``,
    a blank field of a config file) that would read or write the current
    folder instead.
    """
    if isinstance(value, (str, bytes)) and not value:
        from .exceptions import DataError

        raise DataError(f"{name} is an empty string, which would be the current folder. Pass a folder, or None "
                        f"to use {variable} (or the default where it is unset).")
    return value


def get_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the offline data folder, or None when none is configured.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit folder; overrides ``TOOLKIT_DATA_DIR``. An empty string is
        refused (:class:`~toolkit.exceptions.DataError`); an empty variable
        counts as unset.
    """
    value = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    return None if value is None else Path(_not_empty(value, "data_dir", DATA_DIR_ENV)).expanduser()


def get_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache folder (created on demand by the callers that write).

    Parameters
    ----------
    cache_dir : path-like, optional
        Explicit folder; overrides ``TOOLKIT_CACHE_DIR``. The default is the
        platform's user cache folder (``platformdirs.user_cache_dir("toolkit")``).
        An empty string is refused (:class:`~toolkit.exceptions.DataError`);
        an empty variable counts as unset.
    """
    value = cache_dir if cache_dir is not None else os.environ.get(CACHE_DIR_ENV) or None
    if value is not None:
        value = _not_empty(value, "cache_dir", CACHE_DIR_ENV)
    if value is None:
        import platformdirs

        return Path(platformdirs.user_cache_dir("toolkit"))
    return Path(value).expanduser()

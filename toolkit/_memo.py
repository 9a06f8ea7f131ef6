"""The one in-process memo of the toolkit: a small, thread-safe, bounded LRU mapping.

Every process-level cache (loaded vectors, spaCy engines, parsed datasets, file
hashes) uses :class:`Memo`, so none grows without bound during a grid search and
all are cleared the same way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["Memo"]

_MISSING = object()


class Memo:
    """A bounded least-recently-used mapping, safe to share between threads.

    Parameters
    ----------
    maxsize : int
        How many entries to keep; the least recently used one is dropped first.

    Examples
    --------
    >>> memo = Memo(maxsize=2)
    >>> memo.put("a", 1); memo.put("b", 2); memo.get("a")
    1
    >>> memo.put("c", 3)          # drops "b", the least recently used
    >>> memo.get("b") is None, len(memo)
    (True, 2)
    """

    def __init__(self, maxsize: int):
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}.")
        self.maxsize = maxsize
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        """The value for ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Store ``value`` under ``key``, dropping the oldest entries beyond ``maxsize``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()

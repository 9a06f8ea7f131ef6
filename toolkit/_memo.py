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
        self._making: dict = {}  # key -> [lock held while its value is made, threads using that lock]

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

    def get_or_make(self, key, make):
        """The value for ``key``, made by ``make()`` and stored when missing, once for all threads.

        Threads that ask for a missing key together wait for the first one's
        ``make()`` and get the very object it made (two threads loading the
        same vectors on a cold memo parse them once, and share one copy). If
        ``make()`` raises, the error is the first thread's; a waiting thread
        then calls ``make()`` itself. A ``make()`` that asks for its own key
        again (in the same thread) makes it again rather than waiting on itself.

        Parameters
        ----------
        key : hashable
        make : callable
            ``make()`` returns the value; it runs without the memo's own lock held.

        Returns
        -------
        object

        Examples
        --------
        >>> memo = Memo(maxsize=2)
        >>> memo.get_or_make("a", lambda: [1])
        [1]
        >>> memo.get_or_make("a", lambda: [2])  # made once: the stored value
        [1]
        """
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        with self._lock:
            entry = self._making.get(key)
            if entry is None:
                entry = self._making[key] = [threading.RLock(), 0]
            entry[1] += 1
        try:
            with entry[0]:
                value = self.get(key, _MISSING)  # made meanwhile by the thread this one waited for
                if value is _MISSING:
                    value = make()
                    self.put(key, value)
                return value
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1] and self._making.get(key) is entry:
                    del self._making[key]

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

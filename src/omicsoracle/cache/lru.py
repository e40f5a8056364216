"""The in-process (L1) cache: least recently used entries go first, each has a deadline.

Bounded twice: by the number of entries and by the bytes of their values, where a
value's size is the length of its encoded form (measured once, when it is encoded for
L2 anyway, rather than guessed from Python object sizes). Synchronous and guarded by a
lock, because code running in worker threads may use it as well as the event loop.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum
from typing import Final, Literal, NamedTuple

__all__ = ["LRU", "MISSING", "Missing"]


class Missing(Enum):
    """The type of ``MISSING``: a lookup found nothing (``None`` is a valid value)."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing.MISSING


class _Entry(NamedTuple):
    value: object
    size: int
    expires_at: float


class LRU:
    """Least-recently-used map with a time to live, bounded by entries and by bytes.

    Parameters
    ----------
    max_entries
        Most entries kept; ``0`` keeps nothing.
    max_bytes
        Most bytes of values kept (sizes as given to ``set``); a single value larger
        than this is not kept at all.
    clock
        Seconds, monotonic; tests pass a fake one.
    """

    def __init__(
        self, max_entries: int, max_bytes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("max_entries and max_bytes must not be negative")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.evictions = 0
        self.expirations = 0

    def get(self, key: str) -> object | Literal[Missing.MISSING]:
        """The live value under ``key`` (now the most recently used), or ``MISSING``."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return MISSING
            if entry.expires_at <= self._clock():
                del self._data[key]
                self._bytes -= entry.size
                self.expirations += 1
                return MISSING
            self._data.move_to_end(key)
            return entry.value

    def set(self, key: str, value: object, size: int, ttl: float) -> bool:
        """Keep ``value`` for ``ttl`` seconds, evicting the least recently used as needed.

        ``size`` is the value's encoded length. Returns whether the value is kept: not
        when caching is off (``max_entries == 0``) or the value alone exceeds
        ``max_bytes``; any older value under ``key`` is dropped either way.
        """
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if self.max_entries == 0 or size > self.max_bytes:
                return False
            self._data[key] = _Entry(value, size, self._clock() + ttl)
            self._bytes += size
            data = self._data
            while len(data) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = data.popitem(last=False)
                self._bytes -= evicted.size
                self.evictions += 1
            return True

    def delete(self, key: str) -> None:
        """Forget ``key`` if present."""
        with self._lock:
            entry = self._data.pop(key, None)
            if entry is not None:
                self._bytes -= entry.size

    def clear(self) -> None:
        """Forget every entry (the eviction count is kept)."""
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` holds a live value (does not count as a use)."""
        if not isinstance(key, str):
            return False
        with self._lock:
            entry = self._data.get(key)
            return entry is not None and entry.expires_at > self._clock()

    @property
    def bytes(self) -> int:
        """Bytes of the values held (expired entries count until they are dropped)."""
        return self._bytes

"""Opaque, tamper-evident page cursors and the snapshot cache they page over.

A cursor is base64url(orjson) of ``{v, e, g, h, o, k, r, m}``: format version, engine,
snapshot generation, fingerprint of the request (query, filters, sort), results already
returned, the last sort key, whether the first page was relaxed (so later pages page
the same relaxed match set), and a keyed BLAKE2b MAC. The MAC key lives in the index
directory (``cursor.key``), so every process serving that index accepts the cursors of
the others, and any edited or made-up cursor fails with InvalidCursor instead of
reaching the engine.

Engines keep the snapshots of recent generations in a bounded LRU so a cursor keeps
paging the snapshot it started on after new commits; once evicted -> CursorExpired.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from omicsoracle.search.base import CursorExpired, InvalidCursor, SearchRequest

VERSION = 2  # 2: added "r" (relaxed)
MAX_CURSOR_CHARS = 512
MAX_OFFSET = 10**9
_B64_RE = re.compile(r"[A-Za-z0-9_-]+")
_HEX16_RE = re.compile(r"[0-9a-f]{16}")
_KEYS = frozenset("veghokrm")
SECRET_FILE = "cursor.key"

T = TypeVar("T")


@dataclass(frozen=True)
class CursorState:
    """Where the next page starts: snapshot generation, count so far, last sort key."""

    generation: int
    offset: int
    key: int | float | None
    relaxed: bool = False  # the match set is the relaxed one (see plan.Plan.relaxed)


def load_secret(directory: Path) -> bytes:
    """The directory's cursor MAC key, created once (atomically) on first use."""
    path = directory / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    tmp = directory / f".{SECRET_FILE}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_bytes(os.urandom(32))
    try:
        os.link(tmp, path)  # fails if another process won the race: then use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def fingerprint(request: SearchRequest) -> str:
    """What a cursor is bound to: the same query, filters, sort and mode (not the limit)."""
    payload: list[Any] = [request.query, dataclasses.astuple(request.filters), request.sort]
    if request.literal:  # appended only when set, so cursors issued before stay valid
        payload.append(True)
    payload_bytes = orjson.dumps(payload)
    return hashlib.blake2b(payload_bytes, digest_size=8).hexdigest()


class CursorCodec:
    """Encodes and strictly validates cursors for one engine and MAC key."""

    def __init__(self, engine: str, secret: bytes):
        self.engine = engine
        self._secret = secret

    def _mac(self, body: list[object]) -> str:
        return hashlib.blake2b(orjson.dumps(body), key=self._secret, digest_size=8).hexdigest()

    def encode(self, request: SearchRequest, state: CursorState) -> str:
        """The opaque cursor string for the page after ``state``."""
        body: list[object] = [VERSION, self.engine, state.generation, fingerprint(request),
                              state.offset, state.key, state.relaxed]  # fmt: skip
        data = dict(zip("veghokr", body, strict=True))
        data["m"] = self._mac(body)
        return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode("ascii")

    def decode(self, request: SearchRequest, cursor: str) -> CursorState:
        """Validate ``cursor`` for ``request``; InvalidCursor on anything unexpected."""
        if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
            raise InvalidCursor("malformed cursor")
        if not _B64_RE.fullmatch(cursor):
            raise InvalidCursor("malformed cursor")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = orjson.loads(raw)
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            raise InvalidCursor("malformed cursor") from None
        if not isinstance(data, dict) or set(data) != _KEYS:
            raise InvalidCursor("malformed cursor")
        v, e, g, h, o, k, r, m = (data[x] for x in "veghokrm")
        ints_ok = all(type(x) is int for x in (v, g, o)) and type(r) is bool
        key_ok = k is None or type(k) is int or (type(k) is float and math.isfinite(k))
        strs_ok = isinstance(e, str) and isinstance(h, str) and isinstance(m, str)
        if not (ints_ok and key_ok and strs_ok):
            raise InvalidCursor("malformed cursor")
        if not (_HEX16_RE.fullmatch(h) and _HEX16_RE.fullmatch(m)):
            raise InvalidCursor("malformed cursor")
        if not hmac.compare_digest(m, self._mac([v, e, g, h, o, k, r])):
            raise InvalidCursor("cursor was not issued by this index (or was altered)")
        if v != VERSION or e != self.engine:
            raise InvalidCursor("cursor was issued by another engine or version")
        if h != fingerprint(request):
            raise InvalidCursor("cursor belongs to a different query, filters or sort")
        if not (g >= 0 and 0 < o <= MAX_OFFSET):
            raise InvalidCursor("malformed cursor")
        return CursorState(generation=g, offset=o, key=k, relaxed=r)


class SnapshotCache(Generic[T]):
    """Recent snapshots by generation: bounded in count and age, thread-safe.

    Each kept snapshot pins old index files (tantivy segments, SQLite WAL frames), so
    the bound is small; a cursor older than that must search again.
    """

    def __init__(self, capacity: int = 8, max_age: float = 1800.0,
                 on_evict: Callable[[T], None] | None = None):  # fmt: skip
        self.capacity = capacity
        self.max_age = max_age
        self._on_evict = on_evict
        self._items: OrderedDict[int, tuple[T, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, generation: int, snapshot: T) -> None:
        """Remember ``snapshot`` as the newest use of ``generation``."""
        evicted: list[T] = []
        with self._lock:
            old = self._items.pop(generation, None)
            if old is not None and old[0] is not snapshot:
                evicted.append(old[0])
            self._items[generation] = (snapshot, time.monotonic())
            evicted += self._trim()
        self._evict(evicted)

    def get(self, generation: int) -> T | None:
        """The snapshot of ``generation`` if still kept (refreshing its LRU position)."""
        with self._lock:
            evicted = self._trim()
            item = self._items.get(generation)
            if item is not None:
                self._items.move_to_end(generation)
        self._evict(evicted)
        return item[0] if item is not None else None

    def require(self, generation: int) -> T:
        """Like get, but a missing snapshot is CursorExpired."""
        snapshot = self.get(generation)
        if snapshot is None:
            raise CursorExpired()
        return snapshot

    def drop(self, generation: int) -> None:
        """Forget one generation (tests use it to simulate eviction)."""
        with self._lock:
            item = self._items.pop(generation, None)
        if item is not None:
            self._evict([item[0]])

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            items = [v[0] for v in self._items.values()]
            self._items.clear()
        self._evict(items)

    def _trim(self) -> list[T]:
        out = []
        now = time.monotonic()
        while len(self._items) > self.capacity:
            out.append(self._items.popitem(last=False)[1][0])
        # Age only retires old generations: the newest is the live index, in use.
        newest = max(self._items, default=None)
        while self._items:
            generation, (_, created) = next(iter(self._items.items()))
            if generation == newest or now - created <= self.max_age:
                break
            out.append(self._items.popitem(last=False)[1][0])
        return out

    def _evict(self, items: list[T]) -> None:
        if self._on_evict is not None:
            for item in items:
                self._on_evict(item)

"""The cache the application uses: L1 in the process, L2 in Redis, one computation per miss.

A lookup tries L1 (a few microseconds: no encoding, no I/O), then L2, then computes.
Concurrent misses on one key share the L2 lookup and the computation (single-flight).
A computed value is encoded once: its length is its L1 size, and the bytes go to L2 in
the background, so the response never waits for Redis.

Keys carry the corpus generation (the store's latest change id, bumped by every
committed ingest), so new data makes every older entry unreachable at once; those
entries simply age out by TTL and LRU order, nothing has to be deleted.

L1 hands out the very objects it holds, to every caller. Callers must treat returned
values as immutable: mutating one would change what later callers get.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from hashlib import blake2b
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import orjson

from omicsoracle.cache.codec import CodecError, decode, encode
from omicsoracle.cache.flight import SingleFlight
from omicsoracle.cache.lru import LRU, MISSING, Missing
from omicsoracle.cache.remote import Remote, RemoteUnavailable

if TYPE_CHECKING:
    from omicsoracle.config import Settings

__all__ = ["Cache", "LookupHook"]

log = logging.getLogger("omicsoracle.cache")

T = TypeVar("T")

LookupHook = Callable[[str, str], None]
"""Called as ``hook(layer, result)`` on every lookup: layer ``"l1"`` or ``"l2"``,
result ``"hit"``, ``"miss"`` or (L2 only) ``"error"``."""

# Background L2 writes in flight at most; beyond that (Redis slower than the request
# rate) further writes are dropped rather than queued without bound.
MAX_PENDING_WRITES = 1000


class Cache:
    """Two-level cache of JSON-like values with single-flight computation.

    Parameters
    ----------
    max_entries
        Most entries in L1; ``0`` turns caching off (every call computes, L2 unused).
    max_bytes
        Most bytes of encoded values in L1.
    ttl
        Default lifetime of an entry, in seconds, in L1 and L2.
    redis_url
        Redis for the L2 cache shared by processes; ``None``: L1 only.
    redis_timeout
        Seconds a Redis call may take before it counts as a failure.
    namespace
        Prefix of every key (several deployments or tests can share one Redis).
    on_lookup
        ``on_lookup(layer, result)`` for metrics, see ``LookupHook``.
    clock
        Seconds, monotonic: L1 deadlines and the Redis back-off (tests pass a fake one).

    Use it from one event loop; close it with ``await cache.close()``.
    """

    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        ttl: float,
        redis_url: str | None = None,
        redis_timeout: float = 0.25,
        namespace: str = "omicsoracle",
        on_lookup: LookupHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.ttl = ttl
        self.namespace = namespace
        self._prefix = f"{namespace}:"
        self._enabled = max_entries > 0
        self._l1 = LRU(max_entries, max_bytes, clock)
        self._remote = (
            Remote(redis_url, redis_timeout, clock) if redis_url and self._enabled else None
        )
        self._flight = SingleFlight()
        self._on_lookup = on_lookup
        self._generation = 0
        self._generation_lock = threading.Lock()
        self._writes: set[asyncio.Task[bool]] = set()
        self._l1_hits = 0
        self._l1_misses = 0
        self._l2_hits = 0
        self._l2_misses = 0
        self._l2_errors = 0
        self._writes_dropped = 0

    @classmethod
    def from_settings(cls, settings: Settings, on_lookup: LookupHook | None = None) -> Cache:
        """The cache ``settings`` describe (``cache_*`` and ``redis_*``)."""
        return cls(
            max_entries=settings.cache_max_entries,
            max_bytes=settings.cache_max_mb * 1024 * 1024,
            ttl=settings.cache_ttl_seconds,
            redis_url=settings.redis_url,
            redis_timeout=settings.redis_timeout_seconds,
            on_lookup=on_lookup,
        )

    # -- keys -------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The corpus generation keys are built with (the store's latest change id).

        Assigning to it is ``set_generation``: it never goes backwards.
        """
        return self._generation

    @generation.setter
    def generation(self, generation: int) -> None:
        self.set_generation(generation)

    def set_generation(self, generation: int) -> int:
        """Move to ``generation`` if it is newer; returns the generation now in use.

        Entries of older generations become unreachable at once. Monotonic, so a
        process that learns of two ingests out of order still ends on the newest.
        """
        with self._generation_lock:
            if generation > self._generation:
                self._generation = generation
            return self._generation

    @property
    def enabled(self) -> bool:
        """False when ``max_entries`` is 0: every call computes."""
        return self._enabled

    def key(self, namespace: str, *parts: object) -> str:
        """The key of ``parts`` (JSON-encodable) in ``namespace`` at the current generation.

        ``namespace`` names what is cached (``"search"``, ``"facets"``); change it when
        the shape of its values changes, so processes of two versions sharing a Redis
        do not read each other's values. Dicts among ``parts`` are equal whatever
        their key order. Read the key *before* computing: a value computed from newer
        data under an older generation's key is harmless, the reverse is not.
        """
        digest = blake2b(
            orjson.dumps(parts, option=orjson.OPT_SORT_KEYS), digest_size=16
        ).hexdigest()
        return f"{self._prefix}{namespace}:{self._generation}:{digest}"

    # -- lookups ------------------------------------------------------------------------

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[T]], ttl: float | None = None
    ) -> T:
        """The value under ``key``; on a miss, ``await compute()``, cached for ``ttl``.

        ``compute`` is called with no argument and returns an awaitable of a JSON-like
        value (``TypeError`` otherwise, and nothing is cached). Concurrent misses on one
        key run it once; if it raises, every waiter gets the exception and nothing is
        cached. Redis failures never reach the caller. The returned value may be shared
        with other callers: do not mutate it.
        """
        if not self._enabled:
            return await self._flight.do(key, compute)
        value = self._l1.get(key)
        if value is not MISSING:
            self._l1_hits += 1
            if self._on_lookup is not None:
                self._on_lookup("l1", "hit")
            return cast(T, value)
        self._l1_misses += 1
        if self._on_lookup is not None:
            self._on_lookup("l1", "miss")
        return await self._flight.do(
            key, lambda: self._fill(key, compute, self.ttl if ttl is None else ttl)
        )

    async def get(self, key: str) -> object | Literal[Missing.MISSING]:
        """The value under ``key`` in L1 or L2, or ``MISSING``; never computes."""
        if not self._enabled:
            return MISSING
        value = self._l1.get(key)
        if value is not MISSING:
            self._report_l1("hit")
            return value
        self._report_l1("miss")
        if self._remote is None:
            return MISSING
        return await self._get_l2(self._remote, key, self.ttl)

    async def set(self, key: str, value: object, ttl: float | None = None) -> None:
        """Cache ``value`` (JSON-like) under ``key`` in L1 and, awaited, in L2.

        A Redis failure is logged and otherwise ignored, as everywhere.
        """
        if not self._enabled:
            return
        ttl = self.ttl if ttl is None else ttl
        data = encode(value)
        self._l1.set(key, value, len(data), ttl)
        if self._remote is not None:
            await self._remote.set(key, data, ttl)

    def clear_l1(self) -> None:
        """Empty this process's L1 (L2 keeps its entries)."""
        self._l1.clear()

    def stats(self) -> dict[str, int]:
        """Counters since construction, and what L1 holds now."""
        return {
            "l1_hits": self._l1_hits,
            "l1_misses": self._l1_misses,
            "l2_hits": self._l2_hits,
            "l2_misses": self._l2_misses,
            "l2_errors": self._l2_errors,
            "entries": len(self._l1),
            "bytes": self._l1.bytes,
            "evictions": self._l1.evictions,
            "expirations": self._l1.expirations,
            "computing": len(self._flight),
            "l2_writes_pending": len(self._writes),
            "l2_writes_dropped": self._writes_dropped,
        }

    async def drain(self) -> None:
        """Wait until the background L2 writes started so far are done."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def close(self) -> None:
        """Finish (or, past the Redis timeout, cancel) pending L2 writes; close Redis."""
        if self._remote is None:
            return
        if self._writes:
            _, late = await asyncio.wait(self._writes, timeout=self._remote.timeout + 1.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._remote.close()

    # -- internals ------------------------------------------------------------------------

    def _report_l1(self, result: Literal["hit", "miss"]) -> None:
        if result == "hit":
            self._l1_hits += 1
        else:
            self._l1_misses += 1
        if self._on_lookup is not None:
            self._on_lookup("l1", result)

    def _report_l2(self, result: Literal["hit", "miss", "error"]) -> None:
        if result == "hit":
            self._l2_hits += 1
        elif result == "miss":
            self._l2_misses += 1
        else:
            self._l2_errors += 1
        if self._on_lookup is not None:
            self._on_lookup("l2", result)

    async def _fill(self, key: str, compute: Callable[[], Awaitable[T]], ttl: float) -> T:
        """One flight: L2, else compute and store in both layers."""
        remote = self._remote
        if remote is not None:
            found = await self._get_l2(remote, key, ttl)
            if found is not MISSING:
                return cast(T, found)
        value = await compute()
        data = encode(value)
        self._l1.set(key, value, len(data), ttl)
        if remote is not None:
            self._write_behind(remote, key, data, ttl)
        return value

    async def _get_l2(
        self, remote: Remote, key: str, ttl: float
    ) -> object | Literal[Missing.MISSING]:
        try:
            data = await remote.get(key)
        except RemoteUnavailable:
            # Also while Redis is skipped in back-off: the error count then shows how
            # many lookups went without L2 during an outage.
            self._report_l2("error")
            return MISSING
        if data is None:
            self._report_l2("miss")
            return MISSING
        try:
            value = decode(data)
        except CodecError as exc:
            log.warning("unreadable value in Redis under %s ignored: %s", key, exc)
            self._report_l2("error")
            return MISSING
        self._report_l2("hit")
        # L1 counts the full ttl from now although the L2 entry is older: values are
        # pure functions of key and generation, so this only delays eviction a little.
        self._l1.set(key, value, len(data), ttl)
        return value

    def _write_behind(self, remote: Remote, key: str, data: bytes, ttl: float) -> None:
        if len(self._writes) >= MAX_PENDING_WRITES:
            self._writes_dropped += 1
            return
        task = asyncio.create_task(remote.set(key, data, ttl))
        self._writes.add(task)
        task.add_done_callback(self._write_done)

    def _write_done(self, task: asyncio.Task[bool]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("L2 cache write failed", exc_info=exc)

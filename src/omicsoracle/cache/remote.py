"""The shared (L2) cache in Redis, which must never fail or hold up a request.

Every call is bounded by the timeout (connect and reply alike) and is never retried:
a cache that answers late is worse than none, the caller just computes. After a
failure Redis is left alone for a back-off (1 s, doubling up to 30 s); then a single
caller probes it while the others keep skipping it, so a dead server costs one timeout
per back-off period rather than one per request. One warning starts an outage and one
info line ends it, whatever the request rate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

__all__ = ["Remote", "RemoteUnavailable"]

log = logging.getLogger("omicsoracle.cache")

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0

# What a broken, restarting, overloaded or unreachable server raises; anything else is
# a bug and propagates.
_FAILURES = (RedisError, OSError, TimeoutError)


class RemoteUnavailable(Exception):
    """Redis failed or was too slow just now, or is being skipped after a failure."""


def redact(url: str) -> str:
    """``url`` without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class Remote:
    """Byte values in Redis under string keys, with time-outs and a back-off.

    Parameters
    ----------
    url
        ``redis://host:port/db`` (any URL redis-py accepts).
    timeout
        Seconds a call may take, connecting included, before it counts as a failure.
    clock
        Seconds, monotonic (drives the back-off; tests pass a fake one).
    """

    def __init__(
        self,
        url: str,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        backoff_first: float = BACKOFF_FIRST_S,
        backoff_max: float = BACKOFF_MAX_S,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.url = redact(url)
        self.timeout = timeout
        self._clock = clock
        self._backoff_first = backoff_first
        self._backoff_max = backoff_max
        # redis-py retries timeouts and connection errors 10 times by default, which
        # would turn one slow call into many; here a failure is reported at once.
        self._client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._delay = backoff_first

    @property
    def down(self) -> bool:
        """Whether the last verdict on Redis is "failing" (calls are being skipped)."""
        return self._down_since is not None

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, ``None`` if absent.

        Raises ``RemoteUnavailable`` when Redis fails, times out, or is in back-off.
        """
        probing = self._admit()
        try:
            async with asyncio.timeout(self.timeout):
                # bytes: the client is built without decode_responses.
                data = cast(bytes | None, await self._client.get(key))
        except _FAILURES as exc:
            self._failed(exc, probing)
            raise RemoteUnavailable(str(exc) or type(exc).__name__) from exc
        self._succeeded(probing)
        return data

    async def set(self, key: str, data: bytes, ttl: float) -> bool:
        """Store ``data`` under ``key`` for ``ttl`` seconds; whether Redis took it.

        Never raises for an unavailable Redis: a lost write only costs a later miss.
        """
        try:
            probing = self._admit()
        except RemoteUnavailable:
            return False
        try:
            async with asyncio.timeout(self.timeout):
                await self._client.set(key, data, px=max(1, round(ttl * 1000)))
        except _FAILURES as exc:
            self._failed(exc, probing)
            return False
        self._succeeded(probing)
        return True

    async def close(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    def _admit(self) -> bool:
        """Whether this call is a probe of a failing server; raises if it must skip."""
        if self._down_since is None:
            return False
        now = self._clock()
        if now < self._retry_at:
            raise RemoteUnavailable(f"Redis at {self.url} is in back-off after a failure")
        # Callers arriving while this probe is out keep skipping; if the probe fails
        # or is cancelled, the next one comes after the (doubled) delay.
        self._retry_at = now + self._delay
        return True

    def _failed(self, exc: BaseException, probing: bool) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
            self._delay = self._backoff_first
            self._retry_at = now + self._delay
            log.warning(
                "Redis L2 cache at %s unavailable (%s: %s); serving from L1 and computing "
                "without it, next try in %.0f s",
                self.url,
                type(exc).__name__,
                exc,
                self._delay,
            )
        elif probing:
            self._delay = min(self._delay * 2, self._backoff_max)
            self._retry_at = now + self._delay
        # else: a call started before the outage was noticed; the back-off already runs.

    def _succeeded(self, probing: bool) -> None:
        # Only the probe ends an outage: a late answer to a call sent before it began
        # says nothing about the server now, and would make the log flap.
        if self._down_since is not None and probing:
            log.info(
                "Redis L2 cache at %s is back after %.1f s",
                self.url,
                self._clock() - self._down_since,
            )
            self._down_since = None
            self._delay = self._backoff_first
            self._retry_at = 0.0

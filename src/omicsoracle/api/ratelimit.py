"""Per-client token buckets for the expensive endpoints (export, ingest, later ask).

In process memory: each server process limits what reaches it. A client gets
``burst`` requests at once, then ``per_minute`` a minute; beyond that a 429 with
``Retry-After`` says when the next one will be accepted.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

# Clients remembered at once; the least recently seen are forgotten first, so a flood
# of distinct addresses cannot grow memory without bound.
MAX_CLIENTS = 10_000


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int):
        self.per_minute = per_minute
        self.burst = burst
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str, group: str, now: float | None = None) -> None:
        """Take one token for ``client`` in ``group`` or raise RateLimited."""
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        key = (client, group)
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            self._buckets[key] = bucket
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
            if bucket.tokens < 1.0:
                raise RateLimited(max(1, math.ceil((1.0 - bucket.tokens) / rate)))
            bucket.tokens -= 1.0


def client_key(request: Request) -> str:
    # The peer address; behind a reverse proxy, uvicorn's --proxy-headers (with
    # --forwarded-allow-ips) makes this the real client rather than the proxy.
    return request.client.host if request.client else "unknown"


def limit(group: str) -> Callable[[Request], None]:
    """A route dependency that charges one request to ``group``."""

    def dependency(request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.check(client_key(request), group)

    return dependency

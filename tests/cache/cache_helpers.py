"""Helpers of the cache tests: a private redis-server and a clock moved by hand."""

from __future__ import annotations

from private_servers import PrivateRedis as PrivateRedis


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

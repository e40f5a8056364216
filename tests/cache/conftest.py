"""Redis for the cache tests: the shared server (a key namespace per test) and private ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_helpers import FakeClock, PrivateRedis

from private_servers import redis_prefix, require_binaries


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A key namespace of this test's own on the shared Redis, emptied afterwards."""
    with redis_prefix(redis_url, "test-cache") as name:
        yield name


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own on a free port, stopped afterwards."""
    require_binaries("redis-server")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that only moves when the test says so."""
    return FakeClock()

"""Redis for the cache tests: the shared server (a key namespace per test) and private ones."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cache_helpers import FakeClock, PrivateRedis

SHARED_REDIS_URL = os.environ.get("OMICSORACLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _absent(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI has the server: its absence is a failure
    pytest.skip(reason)


@pytest.fixture
def redis_url() -> str:
    """The shared Redis server's URL (skips, or fails in CI, when it does not answer)."""
    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _absent(f"Redis not reachable at {SHARED_REDIS_URL}: {exc}")
    finally:
        client.close()
    return SHARED_REDIS_URL


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A key namespace of this test's own on the shared Redis, emptied afterwards."""
    ns = f"test-cache-{uuid.uuid4().hex[:12]}"
    yield ns
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{ns}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own on a free port, stopped afterwards."""
    if shutil.which("redis-server") is None:
        _absent("redis-server is not installed")
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

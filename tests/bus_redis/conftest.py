"""The shared Redis for the Redis bus tests, with a stream prefix of each test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from omicsoracle.bus.message import register

SHARED_REDIS_URL = os.environ.get("OMICSORACLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

TEST_TYPE = register("test.redis_bus", "a message of the Redis bus tests")


@pytest.fixture
def redis_url() -> str:
    """The shared Redis server's URL (skips, or fails in CI, when it does not answer)."""
    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis not reachable at {SHARED_REDIS_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI has the server: its absence is a failure
        pytest.skip(reason)
    finally:
        client.close()
    return SHARED_REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix of this test's own; every key under it is deleted afterwards."""
    name = f"test-bus-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain synchronous client, to look at (or vandalise) the streams directly."""
    c = redis.Redis.from_url(redis_url)
    try:
        yield c
    finally:
        c.close()

"""The shared Redis for the Redis bus tests, with a stream prefix of each test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from omicsoracle.bus.message import register

TEST_TYPE = register("test.redis_bus", "a message of the Redis bus tests")


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

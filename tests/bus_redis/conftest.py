"""The shared Redis for the Redis bus tests, with a stream prefix of each test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from omicsoracle.bus.message import register
from private_servers import redis_prefix

TEST_TYPE = register("test.redis_bus", "a message of the Redis bus tests")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix of this test's own; every key under it is deleted afterwards."""
    with redis_prefix(redis_url, "test-bus") as name:
        yield name


@pytest.fixture
def client(redis_client: redis.Redis) -> redis.Redis:
    """The shared plain client (tests/conftest.py), under the name these tests use."""
    return redis_client

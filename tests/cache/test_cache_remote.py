"""Redis down or slow: callers get computed values, one warning per outage, L2 comes back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from cache_helpers import FakeClock, PrivateRedis

from omicsoracle.cache import Cache
from omicsoracle.cache.remote import redact
from servers import free_port

MB = 1024 * 1024


def constant(value: object) -> Callable[[], Awaitable[object]]:
    async def compute() -> object:
        return value

    return compute


async def never() -> object:
    raise AssertionError("this value must come from L2")


def cache_logs(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "omicsoracle.cache" and r.levelno == level
    ]


def test_redis_down_then_back(
    private_redis: PrivateRedis, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omicsoracle.cache")
    seen: list[tuple[str, str]] = []

    async def computed(cache: Cache, key: str, value: int) -> object:
        return await cache.get_or_compute(key, constant({"n": value}))

    async def scenario() -> None:
        cache = Cache(
            100,
            MB,
            600,
            redis_url=private_redis.url,
            redis_timeout=0.5,  # generous: a refused connection fails at once anyway
            on_lookup=lambda layer, result: seen.append((layer, result)) if layer == "l2" else None,
            clock=clock,
        )
        try:
            # Up: a value goes to L2 and comes back from it.
            await computed(cache, "k0", 0)
            await cache.drain()
            cache.clear_l1()
            assert await cache.get_or_compute("k0", never) == {"n": 0}
            assert seen == [("l2", "miss"), ("l2", "hit")]

            # Down: every call still returns its computed value, no exception.
            private_redis.stop()
            seen.clear()
            values = [await computed(cache, f"k{i}", i) for i in range(1, 6)]
            assert values == [{"n": i} for i in range(1, 6)]
            await cache.drain()
            assert seen == [("l2", "error")] * 5
            assert len(cache_logs(caplog, logging.WARNING)) == 1

            # Still in back-off: Redis is not even tried, and nothing more is logged.
            clock.advance(0.5)
            assert await computed(cache, "k6", 6) == {"n": 6}
            assert len(cache_logs(caplog, logging.WARNING)) == 1
            assert not cache_logs(caplog, logging.INFO)

            # Back on the same port: after the back-off, one probe finds it and L2 is used.
            private_redis.start()
            clock.advance(1.0)
            seen.clear()
            assert await computed(cache, "k7", 7) == {"n": 7}
            assert seen == [("l2", "miss")]
            back = cache_logs(caplog, logging.INFO)
            assert len(back) == 1
            assert "is back" in back[0]
            await cache.drain()
            cache.clear_l1()
            assert await cache.get_or_compute("k7", never) == {"n": 7}
            assert seen[-1] == ("l2", "hit")

            # A second outage is a second warning.
            private_redis.stop()
            cache.clear_l1()
            assert await computed(cache, "k8", 8) == {"n": 8}
            assert len(cache_logs(caplog, logging.WARNING)) == 2
        finally:
            await cache.close()

    asyncio.run(scenario())
    warning = cache_logs(caplog, logging.WARNING)[0]
    assert private_redis.url in warning
    assert "unavailable" in warning


def test_back_off_doubles_up_to_thirty_seconds_while_redis_stays_down(
    private_redis: PrivateRedis, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omicsoracle.cache")
    url = private_redis.url
    private_redis.stop()

    async def scenario() -> list[float]:
        cache = Cache(100, MB, 600, redis_url=url, redis_timeout=0.5, clock=clock)
        assert cache._remote is not None
        start, next_tries = clock.now, list[float]()
        try:
            for _ in range(200):  # a lookup every half second for 100 s
                await cache.get("k")
                next_try = cache._remote._retry_at - start
                if not next_tries or next_try != next_tries[-1]:
                    next_tries.append(next_try)
                clock.advance(0.5)
            assert cache.stats()["l2_errors"] == 200  # tried or skipped, L2 gave nothing
        finally:
            await cache.close()
        return next_tries

    next_tries = asyncio.run(scenario())
    assert next_tries == [1.0, 3.0, 7.0, 15.0, 31.0, 61.0, 91.0, 121.0]
    assert len(cache_logs(caplog, logging.WARNING)) == 1


def test_slow_redis_does_not_hold_the_caller(
    private_redis: PrivateRedis, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omicsoracle.cache")
    seen: list[tuple[str, str]] = []

    async def scenario() -> tuple[object, dict[str, int]]:
        cache = Cache(
            100,
            MB,
            60,
            redis_url=private_redis.url,
            redis_timeout=0.05,
            on_lookup=lambda layer, result: seen.append((layer, result)),
            clock=clock,
        )
        admin = private_redis.client()
        try:
            # Connect first, so that below only the reply is late. On a loaded machine
            # even this may miss 50 ms: then leave the back-off and connect again.
            for _ in range(20):
                await cache.get("warm-up")
                if cache.stats()["l2_misses"]:
                    break
                clock.advance(60)
            seen.clear()
            caplog.clear()
            before = cache.stats()
            # CLIENT PAUSE rather than DEBUG SLEEP: it answers the admin at once and
            # then holds every other client's commands, so the lookup below is surely
            # held (DEBUG SLEEP would race with it, and needs enable-debug-command).
            admin.execute_command("CLIENT", "PAUSE", "1000", "ALL")
            value = await cache.get_or_compute("k", constant({"computed": True}))
            after = cache.stats()
            return value, {name: after[name] - before[name] for name in before}
        finally:
            admin.close()
            await cache.close()

    value, counted = asyncio.run(scenario())
    assert value == {"computed": True}
    assert seen == [("l1", "miss"), ("l2", "error")]
    assert counted["l2_errors"] == 1
    [warning] = cache_logs(caplog, logging.WARNING)
    assert "TimeoutError" in warning


def test_unreachable_redis_from_the_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="omicsoracle.cache")
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    async def scenario() -> list[object]:
        cache = Cache(100, MB, 60, redis_url=url, redis_timeout=0.5)
        try:
            return [await cache.get_or_compute(f"k{i}", constant({"n": i})) for i in range(3)]
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len(cache_logs(caplog, logging.WARNING)) == 1


def test_passwords_stay_out_of_logs() -> None:
    assert redact("redis://user:s3cret@host:6380/1") == "redis://user:***@host:6380/1"
    assert redact("redis://:s3cret@host/0") == "redis://:***@host/0"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"

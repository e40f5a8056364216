"""The two-level cache: keys and generations, single-flight, L2 shared by processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable

import pytest
import redis
from cache_helpers import FakeClock

from omicsoracle.cache import MISSING, Cache
from omicsoracle.config import Settings

MB = 1024 * 1024


class Counted:
    """An async computation that counts its calls and can be held until released."""

    def __init__(self, value: object = None, error: Exception | None = None) -> None:
        self.value = {"answer": 42} if value is None else value
        self.error = error
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


def l1_cache(**kwargs: object) -> Cache:
    return Cache(max_entries=100, max_bytes=MB, ttl=60, **kwargs)  # type: ignore[arg-type]


# -- keys and generations ----------------------------------------------------------------


def test_key_is_compact_and_independent_of_dict_order() -> None:
    cache = l1_cache(namespace="ns")
    a = cache.key("search", "liver", {"organism": ["human"], "limit": 10})
    b = cache.key("search", "liver", {"limit": 10, "organism": ["human"]})
    assert a == b
    assert a.startswith("ns:search:0:")
    assert len(a) == len("ns:search:0:") + 32
    assert cache.key("search", "liver", {"limit": 20, "organism": ["human"]}) != a
    assert cache.key("facets", "liver", {"limit": 10, "organism": ["human"]}) != a


def test_generation_only_moves_forward() -> None:
    cache = l1_cache()
    assert cache.set_generation(5) == 5
    assert cache.set_generation(3) == 5
    cache.generation = 4
    assert cache.generation == 5
    cache.generation = 7
    assert cache.generation == 7


def test_a_new_generation_does_not_serve_old_entries() -> None:
    async def scenario() -> tuple[object, object, object, int]:
        cache = l1_cache()
        cache.set_generation(10)
        old = cache.key("search", "q")
        await cache.set(old, {"total": 1})
        before = await cache.get(cache.key("search", "q"))
        cache.set_generation(11)
        after = await cache.get(cache.key("search", "q"))
        compute = Counted({"total": 2})
        fresh = await cache.get_or_compute(cache.key("search", "q"), compute)
        await cache.close()
        return before, after, fresh, compute.calls

    before, after, fresh, calls = asyncio.run(scenario())
    assert before == {"total": 1}
    assert after is MISSING
    assert (fresh, calls) == ({"total": 2}, 1)


# -- L1 and single-flight ----------------------------------------------------------------


def test_second_call_is_an_l1_hit_and_lookups_are_reported() -> None:
    seen: list[tuple[str, str]] = []

    async def scenario() -> tuple[object, object, int, dict[str, int]]:
        cache = l1_cache(on_lookup=lambda layer, result: seen.append((layer, result)))
        compute = Counted()
        first = await cache.get_or_compute("k", compute)
        second = await cache.get_or_compute("k", compute)
        await cache.close()
        return first, second, compute.calls, cache.stats()

    first, second, calls, stats = asyncio.run(scenario())
    assert first is second  # L1 hands out the object itself, no copy, no decoding
    assert calls == 1
    assert seen == [("l1", "miss"), ("l1", "hit")]  # no L2 configured: no L2 lookup
    assert stats["l1_hits"] == 1
    assert stats["l1_misses"] == 1
    assert stats["entries"] == 1
    assert stats["bytes"] == len(b"\x81\xa6answer*")  # the msgpack length of {"answer": 42}


def test_hundred_concurrent_misses_compute_once() -> None:
    async def scenario() -> tuple[list[object], int, dict[str, int]]:
        cache = l1_cache()
        compute = Counted({"rows": list(range(10))})
        compute.release.clear()
        waiters = [asyncio.create_task(cache.get_or_compute("hot", compute)) for _ in range(100)]
        await asyncio.sleep(0)  # every task has looked up and joined the flight
        compute.release.set()
        values = await asyncio.gather(*waiters)
        await cache.close()
        return values, compute.calls, cache.stats()

    values, calls, stats = asyncio.run(scenario())
    assert calls == 1
    assert len(values) == 100
    assert all(v == {"rows": list(range(10))} for v in values)
    assert stats["l1_misses"] == 100
    assert stats["computing"] == 0


def test_failed_computation_reaches_every_waiter_and_is_not_cached() -> None:
    async def scenario() -> tuple[list[object], int, object, int]:
        cache = l1_cache()
        failing = Counted(error=RuntimeError("database went away"))
        failing.release.clear()
        waiters = [asyncio.create_task(cache.get_or_compute("k", failing)) for _ in range(100)]
        await asyncio.sleep(0)
        failing.release.set()
        outcomes = await asyncio.gather(*waiters, return_exceptions=True)
        cached = await cache.get("k")
        retry = Counted({"ok": True})
        await cache.get_or_compute("k", retry)
        await cache.close()
        return outcomes, failing.calls, cached, retry.calls

    outcomes, calls, cached, retry_calls = asyncio.run(scenario())
    assert calls == 1
    assert all(isinstance(o, RuntimeError) and "went away" in str(o) for o in outcomes)
    assert cached is MISSING
    assert retry_calls == 1  # the next call computes afresh


def test_a_cancelled_waiter_does_not_cancel_the_computation_for_the_others() -> None:
    async def scenario() -> tuple[bool, list[object], int]:
        cache = l1_cache()
        compute = Counted({"v": 1})
        compute.release.clear()
        first = asyncio.create_task(cache.get_or_compute("k", compute))
        others = [asyncio.create_task(cache.get_or_compute("k", compute)) for _ in range(5)]
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        compute.release.set()
        values = await asyncio.gather(*others)
        cancelled = first.cancelled()
        await cache.close()
        return cancelled, values, compute.calls

    cancelled, values, calls = asyncio.run(scenario())
    assert cancelled
    assert values == [{"v": 1}] * 5
    assert calls == 1


def test_zero_entries_turns_caching_off_but_keeps_single_flight() -> None:
    async def scenario() -> tuple[int, int, dict[str, int]]:
        cache = Cache(max_entries=0, max_bytes=MB, ttl=60)
        compute = Counted()
        await cache.get_or_compute("k", compute)
        await cache.get_or_compute("k", compute)
        sequential = compute.calls
        compute.release.clear()
        burst = [asyncio.create_task(cache.get_or_compute("k", compute)) for _ in range(10)]
        await asyncio.sleep(0)
        compute.release.set()
        await asyncio.gather(*burst)
        await cache.close()
        return sequential, compute.calls - sequential, cache.stats()

    sequential, burst, stats = asyncio.run(scenario())
    assert sequential == 2
    assert burst == 1
    assert stats["entries"] == 0


def test_entries_expire_with_the_cache_ttl(clock: FakeClock) -> None:
    async def scenario() -> int:
        cache = Cache(max_entries=10, max_bytes=MB, ttl=30, clock=clock)
        compute = Counted()
        await cache.get_or_compute("k", compute)
        clock.advance(29)
        await cache.get_or_compute("k", compute)
        clock.advance(2)
        await cache.get_or_compute("k", compute)
        await cache.get_or_compute("k2", compute, ttl=1)
        clock.advance(1)
        await cache.get_or_compute("k2", compute)
        await cache.close()
        return compute.calls

    assert asyncio.run(scenario()) == 4


def test_values_that_are_not_json_like_are_refused_and_not_cached() -> None:
    async def scenario() -> object:
        cache = l1_cache()

        async def compute() -> object:
            return {"when": {1, 2}}

        with pytest.raises(TypeError, match="JSON-like"):
            await cache.get_or_compute("k", compute)
        found = await cache.get("k")
        await cache.close()
        return found

    assert asyncio.run(scenario()) is MISSING


def test_from_settings() -> None:
    settings = Settings(cache_max_entries=7, cache_max_mb=2, cache_ttl_seconds=9)
    cache = Cache.from_settings(settings)
    assert (cache.ttl, cache._l1.max_entries, cache._l1.max_bytes) == (9, 7, 2 * MB)
    assert cache._remote is None  # no redis_url: L1 only


# -- L2 on the shared Redis -------------------------------------------------------------


def two_processes(url: str, namespace: str) -> tuple[Cache, Cache, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    writer = Cache(100, MB, 60, redis_url=url, redis_timeout=1.0, namespace=namespace)
    reader = Cache(
        100,
        MB,
        60,
        redis_url=url,
        redis_timeout=1.0,
        namespace=namespace,
        on_lookup=lambda layer, result: seen.append((layer, result)),
    )
    return writer, reader, seen


def test_l2_is_shared_between_two_caches(redis_url: str, namespace: str) -> None:
    async def scenario() -> tuple[object, int, dict[str, int], list[tuple[str, str]]]:
        writer, reader, seen = two_processes(redis_url, namespace)
        try:
            computed = Counted({"total": 3, "results": ["GSE1", "GSE2", "GSE3"]})
            key = writer.key("search", "liver")
            await writer.get_or_compute(key, computed)
            await writer.drain()
            never = Counted(error=AssertionError("the reader must not compute"))
            value = await reader.get_or_compute(reader.key("search", "liver"), never)
            again = await reader.get_or_compute(key, never)
            assert again is value  # the L2 hit was kept in the reader's L1
            return value, computed.calls, reader.stats(), seen
        finally:
            await writer.close()
            await reader.close()

    value, calls, stats, seen = asyncio.run(scenario())
    assert value == {"total": 3, "results": ["GSE1", "GSE2", "GSE3"]}
    assert calls == 1
    assert seen == [("l1", "miss"), ("l2", "hit"), ("l1", "hit")]
    assert (stats["l2_hits"], stats["l2_misses"], stats["l2_errors"]) == (1, 0, 0)


def test_l2_holds_msgpack_with_the_ttl(redis_url: str, namespace: str) -> None:
    async def scenario() -> str:
        cache = Cache(100, MB, 60, redis_url=redis_url, redis_timeout=1.0, namespace=namespace)
        try:
            key = cache.key("search", "q")
            await cache.get_or_compute(key, Counted({"a": [1.5, None, "é"]}))
            await cache.drain()
            return key
        finally:
            await cache.close()

    key = asyncio.run(scenario())
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.get(key)
        ttl_ms = client.pttl(key)
    finally:
        client.close()
    assert isinstance(raw, bytes)
    assert raw == b"\x81\xa1a\x93\xcb?\xf8\x00\x00\x00\x00\x00\x00\xc0\xa2\xc3\xa9"
    assert raw[:1] != b"\x80"  # not a pickle (protocol 2+ starts with PROTO 0x80)
    assert 0 < ttl_ms <= 60_000


def test_unreadable_l2_value_counts_as_error_and_is_recomputed(
    redis_url: str, namespace: str
) -> None:
    async def scenario() -> tuple[object, dict[str, int]]:
        cache = Cache(100, MB, 60, redis_url=redis_url, redis_timeout=1.0, namespace=namespace)
        try:
            key = cache.key("search", "q")
            client = redis.Redis.from_url(redis_url)
            client.set(key, b"\x92\x01")  # truncated: a list of two with one element
            client.close()
            value = await cache.get_or_compute(key, Counted({"fresh": True}))
            return value, cache.stats()
        finally:
            await cache.close()

    value, stats = asyncio.run(scenario())
    assert value == {"fresh": True}
    assert stats["l2_errors"] == 1


SECOND_PROCESS = textwrap.dedent(
    """
    import asyncio, json, sys
    from omicsoracle.cache import Cache

    async def main():
        url, namespace = sys.argv[1], sys.argv[2]
        cache = Cache(10, 1 << 20, 60, redis_url=url, redis_timeout=2.0, namespace=namespace)
        cache.set_generation(17)
        key = cache.key("facets", "neuroblastoma", {"organism": ["human"]})

        async def compute():
            return {"organism": {"Homo sapiens": 12, "unknown": 1}, "pid": "other"}

        await cache.get_or_compute(key, compute)
        await cache.close()  # finishes the background write
        print(json.dumps({"key": key, "stats": cache.stats()}))

    asyncio.run(main())
    """
)


def test_value_written_by_another_process_is_an_l2_hit(redis_url: str, namespace: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, redis_url, namespace],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    other = json.loads(done.stdout)
    assert other["stats"]["l2_misses"] == 1

    async def scenario() -> tuple[str, object, list[tuple[str, str]]]:
        seen: list[tuple[str, str]] = []
        cache = Cache(
            10,
            MB,
            60,
            redis_url=redis_url,
            redis_timeout=1.0,
            namespace=namespace,
            on_lookup=lambda layer, result: seen.append((layer, result)),
        )
        try:
            cache.set_generation(17)
            key = cache.key("facets", "neuroblastoma", {"organism": ["human"]})
            never: Callable[[], Awaitable[object]] = Counted(error=AssertionError("computed"))
            return key, await cache.get_or_compute(key, never), seen
        finally:
            await cache.close()

    key, value, seen = asyncio.run(scenario())
    assert key == other["key"]  # both processes build the same key
    assert value == {"organism": {"Homo sapiens": 12, "unknown": 1}, "pid": "other"}
    assert seen == [("l1", "miss"), ("l2", "hit")]

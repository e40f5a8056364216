"""``@cached`` on sync and async functions, with and without a configured cache."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator

import pytest

from omicsoracle.cache import Cache, cached, configure, configured

MB = 1024 * 1024
calls: list[str] = []


@cached(ttl=30)
def facet_counts(query: str, organisms: list[str] | None = None) -> dict[str, object]:
    """Sync and slow in real life: must run off the event loop."""
    calls.append("facets")
    return {"query": query, "organisms": organisms, "thread": threading.get_ident()}


@cached()
async def suggestions(prefix: str, limit: int = 5) -> list[str]:
    calls.append("suggest")
    return [f"{prefix}{i}" for i in range(limit)]


class Stats:
    """A method: ``self`` is no JSON, so a ``key`` function names the parts."""

    def __init__(self, name: str) -> None:
        self.name = name

    @cached(key=lambda self, year: (self.name, year))
    async def per_year(self, year: int) -> dict[str, int]:
        calls.append(f"stats-{self.name}")
        return {"year": year}


@pytest.fixture(autouse=True)
def no_cache_left_configured() -> Iterator[None]:
    calls.clear()
    yield
    configure(None)


def test_without_a_configured_cache_every_call_computes() -> None:
    assert configured() is None

    async def scenario() -> None:
        await facet_counts("liver")
        await facet_counts("liver")
        await suggestions("neu")
        await suggestions("neu")

    asyncio.run(scenario())
    assert calls == ["facets", "facets", "suggest", "suggest"]


def test_sync_function_is_cached_and_runs_in_a_worker_thread() -> None:
    async def scenario() -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
        cache = Cache(100, MB, 60)
        configure(cache)
        try:
            first = await facet_counts("liver", organisms=["human"])
            second = await facet_counts("liver", organisms=["human"])
            other = await facet_counts("lung", organisms=["human"])
            return first, second, other
        finally:
            await cache.close()

    first, second, other = asyncio.run(scenario())
    assert first is second
    assert other["query"] == "lung"
    assert calls == ["facets", "facets"]
    assert first["thread"] != threading.get_ident()  # not the event loop's thread


def test_async_function_is_cached_by_its_arguments() -> None:
    async def scenario() -> list[list[str]]:
        cache = Cache(100, MB, 60)
        configure(cache)
        try:
            return [
                await suggestions("neu"),
                await suggestions("neu"),
                await suggestions("neu", limit=2),
                await suggestions("neu", limit=2),
            ]
        finally:
            await cache.close()

    results = asyncio.run(scenario())
    assert results[0] == results[1] == ["neu0", "neu1", "neu2", "neu3", "neu4"]
    assert results[2] == results[3] == ["neu0", "neu1"]
    assert calls == ["suggest", "suggest"]


def test_key_function_builds_the_key_from_arguments() -> None:
    async def scenario() -> None:
        cache = Cache(100, MB, 60)
        configure(cache)
        try:
            a, b = Stats("a"), Stats("b")
            assert await a.per_year(2020) == {"year": 2020}
            assert await Stats("a").per_year(2020) == {"year": 2020}  # same name: same key
            assert await b.per_year(2020) == {"year": 2020}
        finally:
            await cache.close()

    asyncio.run(scenario())
    assert calls == ["stats-a", "stats-b"]


def test_concurrent_calls_compute_once() -> None:
    async def scenario() -> None:
        cache = Cache(100, MB, 60)
        configure(cache)
        try:
            results = await asyncio.gather(*(facet_counts("burst") for _ in range(50)))
            assert len({id(r) for r in results}) == 1
        finally:
            await cache.close()

    asyncio.run(scenario())
    assert calls == ["facets"]


def test_functions_do_not_share_keys() -> None:
    @cached()
    async def one(x: int) -> str:
        return "one"

    @cached()
    async def two(x: int) -> str:
        return "two"

    async def scenario() -> tuple[str, str]:
        cache = Cache(100, MB, 60)
        configure(cache)
        try:
            return await one(1), await two(1)
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == ("one", "two")


def test_arguments_that_are_not_json_are_refused() -> None:
    async def scenario() -> None:
        cache = Cache(100, MB, 60)
        configure(cache)
        try:
            with pytest.raises(TypeError):
                await facet_counts(object())  # type: ignore[arg-type]
        finally:
            await cache.close()

    asyncio.run(scenario())
    assert calls == []


def test_configure_none_turns_it_off_again() -> None:
    cache = Cache(100, MB, 60)
    configure(cache)
    assert configured() is cache
    configure(None)
    assert configured() is None


def test_wrapper_keeps_the_name_and_docstring() -> None:
    assert facet_counts.__name__ == "facet_counts"
    assert "event loop" in (facet_counts.__doc__ or "")
    assert inspect.iscoroutinefunction(facet_counts)

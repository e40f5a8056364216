"""The in-process LRU: bounded by entries and bytes, entries expire, big values are not kept."""

from __future__ import annotations

import threading

import pytest
from cache_helpers import FakeClock

from omicsoracle.cache import LRU, MISSING


def test_least_recently_used_entry_goes_first_when_full(clock: FakeClock) -> None:
    lru = LRU(max_entries=3, max_bytes=1000, clock=clock)
    for key in "abc":
        lru.set(key, key.upper(), size=1, ttl=60)
    assert lru.get("a") == "A"  # now "b" is the least recently used
    lru.set("d", "D", size=1, ttl=60)
    assert lru.get("b") is MISSING
    assert [lru.get(k) for k in "acd"] == ["A", "C", "D"]
    assert len(lru) == 3
    assert lru.evictions == 1


def test_bytes_bound_evicts_until_the_new_value_fits(clock: FakeClock) -> None:
    lru = LRU(max_entries=100, max_bytes=100, clock=clock)
    lru.set("a", "A", size=40, ttl=60)
    lru.set("b", "B", size=40, ttl=60)
    assert lru.bytes == 80
    lru.set("c", "C", size=50, ttl=60)  # 130 > 100: "a" goes, 90 stays
    assert lru.get("a") is MISSING
    assert lru.get("b") == "B"
    assert lru.get("c") == "C"
    assert lru.bytes == 90
    assert lru.evictions == 1


def test_value_larger_than_the_whole_cache_is_not_kept(clock: FakeClock) -> None:
    lru = LRU(max_entries=10, max_bytes=100, clock=clock)
    lru.set("small", 1, size=10, ttl=60)
    assert lru.set("big", "x" * 200, size=200, ttl=60) is False
    assert lru.get("big") is MISSING
    assert lru.get("small") == 1  # nothing was evicted to make room for nothing
    assert lru.bytes == 10


def test_replacing_with_a_value_too_big_drops_the_old_one(clock: FakeClock) -> None:
    lru = LRU(max_entries=10, max_bytes=100, clock=clock)
    lru.set("k", "old", size=10, ttl=60)
    lru.set("k", "new but huge", size=500, ttl=60)
    assert lru.get("k") is MISSING
    assert lru.bytes == 0


def test_replacing_a_value_accounts_its_new_size(clock: FakeClock) -> None:
    lru = LRU(max_entries=10, max_bytes=100, clock=clock)
    lru.set("k", "v1", size=30, ttl=60)
    lru.set("k", "v2", size=50, ttl=60)
    assert lru.get("k") == "v2"
    assert (len(lru), lru.bytes) == (1, 50)


def test_entries_expire_after_their_ttl(clock: FakeClock) -> None:
    lru = LRU(max_entries=10, max_bytes=1000, clock=clock)
    lru.set("short", "s", size=5, ttl=10)
    lru.set("long", "l", size=5, ttl=100)
    clock.advance(9.9)
    assert lru.get("short") == "s"
    clock.advance(0.1)
    assert lru.get("short") is MISSING
    assert "short" not in lru
    assert lru.get("long") == "l"
    assert (len(lru), lru.bytes, lru.expirations) == (1, 5, 1)
    clock.advance(100)
    assert "long" not in lru


def test_none_is_a_value_not_a_miss(clock: FakeClock) -> None:
    lru = LRU(max_entries=10, max_bytes=1000, clock=clock)
    lru.set("nothing", None, size=1, ttl=60)
    assert lru.get("nothing") is None


def test_zero_entries_keeps_nothing(clock: FakeClock) -> None:
    lru = LRU(max_entries=0, max_bytes=1000, clock=clock)
    assert lru.set("k", "v", size=1, ttl=60) is False
    assert lru.get("k") is MISSING


def test_negative_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        LRU(max_entries=-1, max_bytes=10)


def test_clear_and_delete(clock: FakeClock) -> None:
    lru = LRU(max_entries=10, max_bytes=1000, clock=clock)
    lru.set("a", 1, size=3, ttl=60)
    lru.set("b", 2, size=4, ttl=60)
    lru.delete("a")
    lru.delete("absent")
    assert (len(lru), lru.bytes) == (1, 4)
    lru.clear()
    assert (len(lru), lru.bytes) == (0, 0)


def test_bounds_hold_under_threads() -> None:
    lru = LRU(max_entries=50, max_bytes=400)

    def work(worker: int) -> None:
        for i in range(2000):
            lru.set(f"{worker}-{i % 97}", i, size=1 + i % 13, ttl=60)
            lru.get(f"{worker}-{(i * 7) % 97}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(lru) <= 50
    assert lru.bytes <= 400
    assert lru.bytes == sum(entry.size for entry in lru._data.values())

"""The token bucket: never more than ``rate`` starts in any one-second window.

The window guarantee is checked on a fake clock (exact, 8 threads); the real-clock
test only checks the lower bound of the spacing, never a speed.
"""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest

from omicsoracle.sync.ratelimit import TokenBucket, ncbi_rate


class FakeClock:
    """A shared virtual clock: each read moves it on a little (threads arriving)."""

    def __init__(self, seed: int) -> None:
        self.now = 1000.0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.local = threading.local()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        with self._lock:
            # Mostly bursts of arrivals, sometimes an idle second (tokens must not pile up).
            self.now += self._rng.choice([0.0, 0.001, 0.01, 0.05, 1.5])
            self.local.read = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def max_in_window(starts: list[float], window: float = 1.0) -> int:
    """The most starts in any half-open window ``[t, t + window)``."""
    ordered = sorted(starts)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@pytest.mark.parametrize(("rate", "seed"), [(3.0, 1), (10.0, 2), (3.0, 3), (0.5, 4)])
def test_never_more_than_rate_starts_in_any_second_under_8_threads(rate: float, seed: int) -> None:
    fake = FakeClock(seed)
    bucket = TokenBucket(rate, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            waited = bucket.acquire()
            start = fake.local.read + waited  # the moment this thread would start
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(starts) == 200
    assert max_in_window(starts) <= max(1, int(rate))
    ordered = sorted(starts)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    assert min(gaps) >= 1 / rate  # burst=1: spacing at least 1/rate (plus the margin)
    assert fake.sleeps  # the threads did have to wait


def test_burst_allows_that_many_at_once_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, burst=3, clock=lambda: now[0], sleep=lambda _s: None, margin=0)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(1.0)


def test_idle_time_does_not_bank_tokens() -> None:
    now = [0.0]
    bucket = TokenBucket(3.0, clock=lambda: now[0], sleep=lambda _s: None)
    bucket.acquire()
    now[0] = 100.0  # long idle
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(bucket.interval)


def test_real_clock_starts_are_spaced_in_order() -> None:
    rate = 40.0
    bucket = TokenBucket(rate)
    base = time.monotonic()
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            bucket.acquire()
            t = time.monotonic()
            with lock:
                starts.append(t)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each start is at or after its reserved slot, and slot k is k intervals after the
    # first: the k-th start (sorted) is at least k intervals after `base`. Lower bounds
    # only: a loaded machine may start them later, never earlier.
    for k, t in enumerate(sorted(starts)):
        assert t - base >= k / rate - 1e-3


def test_unlimited_bucket_never_waits() -> None:
    def no_sleep(_seconds: float) -> None:
        raise AssertionError("an unlimited bucket slept")

    bucket = TokenBucket(None, sleep=no_sleep)
    assert all(bucket.acquire() == 0.0 for _ in range(1000))
    assert bucket.interval == 0.0


def test_ncbi_rate() -> None:
    assert ncbi_rate(None) == 3.0
    assert ncbi_rate("") == 3.0
    assert ncbi_rate("abc123") == 10.0


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"rate_per_second": 0}, "rate must be positive"),
        ({"rate_per_second": -1.0}, "rate must be positive"),
        ({"rate_per_second": 3.0, "burst": 0}, "burst must be at least 1"),
        ({"rate_per_second": 3.0, "margin": -0.1}, "margin must not be negative"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        TokenBucket(**kwargs)  # type: ignore[arg-type]

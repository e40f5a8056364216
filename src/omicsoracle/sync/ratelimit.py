"""The token bucket every E-utilities request of the process draws from.

NCBI allows 3 requests per second without an API key and 10 with one, counted over
all the requests of a client; going past it gets 429s and, when repeated, a block.
The bucket is a GCRA scheduler (the "virtual scheduling" form of a token bucket):
each ``acquire`` reserves the next free start slot under a lock and then sleeps
outside it, so concurrent threads are served in the order they asked and no thread
holds the lock while it waits.

With ``burst=1`` (the default) two starts are never closer than ``1/rate`` seconds
(plus a small safety margin), so in any window of one second at most ``rate``
requests start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# 10 % more spacing than 1/rate: float accumulation (1/3 + 1/3 + 1/3 may fall just
# short of 1.0) and the jitter between a start here and its arrival at NCBI must not
# put a fourth request inside a one-second window. At 1 % (3 ms a gap, 10 ms over a
# window) a loaded CI machine delivered 4 in one second to the stand-in; 10 % lets the
# first of four arrive up to 100 ms late. NCBI blocks a client that goes over; a
# sync 10 % slower is the cheaper mistake.
SAFETY_MARGIN = 0.1


def ncbi_rate(api_key: str | None) -> float:
    """NCBI's request rate: 3.0 per second without an API key, 10.0 with one."""
    return 10.0 if api_key else 3.0


class TokenBucket:
    """Thread-safe; shared by every request of a process.

    ``rate_per_second`` None means unlimited (``acquire`` never waits). ``clock``
    and ``sleep`` are injectable for tests (a fake clock never really sleeps).
    """

    def __init__(
        self,
        rate_per_second: float | None,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = SAFETY_MARGIN,
    ) -> None:
        if rate_per_second is not None and not rate_per_second > 0:
            raise ValueError(f"rate must be positive or None (unlimited), not {rate_per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        if margin < 0:
            raise ValueError(f"margin must not be negative, not {margin}")
        self.rate = rate_per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._interval = (1.0 + margin) / rate_per_second if rate_per_second else 0.0
        # How far ahead of the schedule a start may be: the burst beyond the first token.
        self._tolerance = (burst - 1) * self._interval
        self._next: float | None = None  # theoretical arrival time of the next request
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        """Seconds between two starts at the steady rate (0 when unlimited)."""
        return self._interval

    def reserve(self) -> float:
        """Reserve the next start slot; returns the seconds to wait until it (no sleep)."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = self._clock()
            # An idle bucket does not bank more than `burst` tokens: the schedule is
            # never behind the present.
            scheduled = now if self._next is None else max(self._next, now)
            wait = max(0.0, scheduled - self._tolerance - now)
            self._next = scheduled + self._interval
        return wait

    def acquire(self) -> float:
        """Block until a token is free; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

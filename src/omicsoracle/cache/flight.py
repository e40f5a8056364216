"""Single-flight: concurrent callers asking for the same missing key share one computation.

Without it, a burst of identical requests arriving on a cold key (a popular query right
after an ingest changed the generation) would each run the expensive computation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

__all__ = ["SingleFlight"]

T = TypeVar("T")


class SingleFlight:
    """At most one running computation per key, in one event loop.

    The computation runs in a task of its own: a caller that is cancelled (a client
    went away) stops waiting, but the others still get the result. If it raises, every
    caller waiting for it gets the exception.
    """

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[Any]] = {}

    async def do(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """The result of ``compute()``, or of the one already running under ``key``."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(compute())
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return cast(T, await asyncio.shield(task))

    def __len__(self) -> int:
        """Computations running now."""
        return len(self._running)

    def _finished(self, key: str, task: asyncio.Future[Any]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        # Mark the outcome as seen: if every caller was cancelled, nobody awaits it,
        # and asyncio would log "exception was never retrieved".
        if not task.cancelled():
            task.exception()

"""The in-process bus: a bounded priority queue on asyncio (issue 5).

Envelopes pass as objects, never encoded. One deque per priority instead of a heap:
with four priorities "the first non-empty deque from CRITICAL down" is the highest
priority, and a deque is FIFO by construction, so no sequence counter is needed and
both publish and get are O(1).

Full-bus policies (``policy=``), applied when ``depth() == maxsize``:

``"wait"``
    ``publish`` waits until a consumer frees a slot (the default).
``"refuse"``
    ``publish`` raises :class:`~omicsoracle.bus.base.BusFull`; counted as ``refused``.
``"drop_lowest"``
    ``publish`` never waits and never raises: of the queued messages *and the new one*,
    the newest among those with the lowest priority is dropped. So a new message of
    higher priority than the lowest queued evicts the most recently queued message of
    that lowest priority, and a new message whose priority is equal to or lower than
    every queued one is itself dropped. Each drop is counted as ``dropped`` and logged
    as a warning with the message's type, id and priority.

Delivery is at-most-once: ``get`` removes the message and nothing re-delivers it unless
the consumer calls ``nack``, which queues ``envelope.retried()`` again until
``max_attempts`` attempts have failed; then the envelope goes to :attr:`dead_letters`
with the reason. A re-queue never waits (a lone consumer waiting for its own queue
would deadlock): when the bus is full under "wait" or "refuse" the message is
dead-lettered with the reason "bus full on retry"; under "drop_lowest" the drop rule
applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from omicsoracle.bus.base import BusFull
from omicsoracle.bus.message import Envelope, Priority, require_registered

log = logging.getLogger(__name__)

FullPolicy = Literal["wait", "refuse", "drop_lowest"]
POLICIES: Final = ("wait", "refuse", "drop_lowest")
_LEVELS: Final = tuple(reversed(range(len(Priority))))  # CRITICAL first


class BusClosed(RuntimeError):
    """Publishing on a bus that was closed."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that will not be delivered again, and why."""

    envelope: Envelope
    reason: str


class MemoryBus:
    """Bounded in-process priority bus; see the module docstring for the policies.

    Parameters
    ----------
    maxsize
        Most messages queued at once (at least 1).
    policy
        What ``publish`` does when the bus is full: "wait", "refuse" or "drop_lowest".
    max_attempts
        Deliveries before a nacked message is dead-lettered.
    """

    def __init__(self, maxsize: int, policy: FullPolicy = "wait", max_attempts: int = 5) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.maxsize = maxsize
        self.policy: FullPolicy = policy
        self.max_attempts = max_attempts
        self.dead_letters: list[DeadLetter] = []
        self._queues: tuple[deque[Envelope], ...] = tuple(deque() for _ in Priority)
        self._depth = 0
        self._getters: deque[asyncio.Future[object]] = deque()
        self._putters: deque[asyncio.Future[object]] = deque()
        self._closed = False
        self._published = 0
        self._delivered = 0
        self._dropped = 0
        self._refused = 0
        self._retried = 0
        self._acked = 0

    # -- publishing ---------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> None:
        """Queue ``envelope``; when full, apply the policy (see the module docstring)."""
        require_registered(envelope.type)
        while self._depth >= self.maxsize:
            if self._closed:
                raise BusClosed("bus is closed")
            if self.policy == "refuse":
                self._refused += 1
                raise BusFull(f"bus full ({self.maxsize} messages); {envelope.type} refused")
            if self.policy == "drop_lowest":
                if not self._evict_for(envelope):
                    return
                break
            await self._wait_for_space()
        if self._closed:
            raise BusClosed("bus is closed")
        self._queues[envelope.priority].append(envelope)
        self._depth += 1
        self._published += 1
        self._wake(self._getters)

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        """Queue several in order. Under "refuse" it is all or nothing: if they do not
        all fit, :class:`BusFull` is raised and none is queued."""
        if self.policy == "refuse" and self._depth + len(envelopes) > self.maxsize:
            for envelope in envelopes:
                require_registered(envelope.type)
            self._refused += len(envelopes)
            raise BusFull(
                f"bus full ({self._depth}/{self.maxsize}); {len(envelopes)} messages refused"
            )
        for envelope in envelopes:
            await self.publish(envelope)

    def _evict_for(self, envelope: Envelope) -> bool:
        """Apply "drop_lowest" for a new ``envelope``; False when the new one is dropped."""
        lowest = next(level for level in reversed(_LEVELS) if self._queues[level])
        if envelope.priority <= lowest:
            self._record_drop(envelope)
            return False
        self._record_drop(self._queues[lowest].pop())
        self._depth -= 1
        return True

    def _record_drop(self, envelope: Envelope) -> None:
        self._dropped += 1
        log.warning(
            "bus full (%d messages): dropped %s message %s (priority %s); %d dropped so far",
            self.maxsize,
            envelope.type,
            envelope.id,
            Priority(envelope.priority).name,
            self._dropped,
        )

    async def _wait_for_space(self) -> None:
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._putters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            self._pass_on(fut, self._putters)
            raise

    # -- consuming ----------------------------------------------------------------

    async def get(self, timeout: float | None = None) -> Envelope | None:
        """The next message, highest priority first and FIFO within one priority.

        Waits up to ``timeout`` seconds (forever when None); None on timeout or once the
        bus is closed and empty.
        """
        while not self._depth:
            if self._closed:
                return None
            if timeout is not None and timeout <= 0:
                return None
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[object] = loop.create_future()
            self._getters.append(fut)
            timer = None if timeout is None else loop.call_later(timeout, _expire, fut)
            try:
                woken = await fut
            except asyncio.CancelledError:
                self._pass_on(fut, self._getters)
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if woken is _TIMED_OUT:
                with contextlib.suppress(ValueError):
                    self._getters.remove(fut)
                return self._take() if self._depth else None
        return self._take()

    def _take(self) -> Envelope:
        queues = self._queues
        for level in _LEVELS:
            if queues[level]:
                envelope = queues[level].popleft()
                break
        self._depth -= 1
        self._delivered += 1
        self._wake(self._putters)
        return envelope

    async def ack(self, envelope: Envelope) -> None:
        """Handled. In-process delivery is at-most-once, so this only counts it."""
        self._acked += 1

    async def nack(self, envelope: Envelope, reason: str) -> None:
        """Failed: queue ``envelope.retried()`` again, or dead-letter it after
        ``max_attempts`` attempts (or when the bus is full, see the module docstring)."""
        if envelope.attempt >= self.max_attempts:
            self.dead_letters.append(
                DeadLetter(envelope, f"{reason} (gave up after {envelope.attempt} attempts)")
            )
            log.warning("dead-lettered %s message %s: %s", envelope.type, envelope.id, reason)
            return
        retry = envelope.retried()
        if self._closed or (self._depth >= self.maxsize and self.policy != "drop_lowest"):
            why = "bus closed" if self._closed else "bus full on retry"
            self.dead_letters.append(DeadLetter(retry, f"{reason} ({why})"))
            log.warning("dead-lettered %s message %s: %s", envelope.type, envelope.id, why)
            return
        self._retried += 1
        await self.publish(retry)

    async def close(self) -> None:
        """Refuse further publishing; waiting consumers get what is left, then None."""
        self._closed = True
        for waiters in (self._getters, self._putters):
            while waiters:
                fut = waiters.popleft()
                if not fut.done():
                    fut.set_result(None)

    # -- inspection ---------------------------------------------------------------

    def depth(self) -> int:
        """Messages queued now."""
        return self._depth

    def stats(self) -> dict[str, int]:
        """Counters since creation, and the current depth."""
        return {
            "published": self._published,
            "delivered": self._delivered,
            "acked": self._acked,
            "retried": self._retried,
            "dropped": self._dropped,
            "refused": self._refused,
            "dead": len(self.dead_letters),
            "depth": self._depth,
        }

    # -- waking -------------------------------------------------------------------

    @staticmethod
    def _wake(waiters: deque[asyncio.Future[object]]) -> None:
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _pass_on(self, fut: asyncio.Future[object], waiters: deque[asyncio.Future[object]]) -> None:
        """A cancelled waiter that had just been woken hands its wake-up to the next."""
        with contextlib.suppress(ValueError):
            waiters.remove(fut)
        if fut.done() and not fut.cancelled():
            self._wake(waiters)


_TIMED_OUT: Final = object()


def _expire(fut: asyncio.Future[object]) -> None:
    if not fut.done():
        fut.set_result(_TIMED_OUT)

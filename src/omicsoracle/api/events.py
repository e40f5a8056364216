"""Fan-out of job events to WebSocket clients.

The job store is the source of truth (any process may be running the job), so one
poller per watched job reads its new events and offers them to each subscriber's
bounded queue. Nothing ever waits on a subscriber: when its queue is full, the
events it could not take are read back from the store once it has drained (a burst
costs a fast client nothing), and a client whose queue stays full, or whose socket
does not accept a message, for ``send_timeout`` seconds is dropped. Memory per
client is its queue; one slow client never holds back the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from omicsoracle.jobs import JobEvent, JobStore

log = logging.getLogger(__name__)

# How often a poller looks for events written by another process.
POLL_SECONDS = 0.5
BATCH = 500


@dataclass(eq=False)
class Subscriber:
    """One WebSocket connection's outbox and its position in each job's events."""

    queue: asyncio.Queue[dict[str, Any]]
    send_timeout: float
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    last_seq: dict[str, int] = field(default_factory=dict)  # per job: last event queued
    behind: set[str] = field(default_factory=set)  # jobs with events left in the store
    full_since: float | None = None

    def put(self, message: dict[str, Any]) -> bool:
        """Queue a message; False (and remember since when) if the queue is full."""
        if self.dropped.is_set():
            return False
        loop = asyncio.get_running_loop()
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            if self.full_since is None:
                self.full_since = loop.time()
            elif loop.time() - self.full_since > self.send_timeout:
                self.dropped.set()
            return False
        self.full_since = None
        return True

    def offer(self, ev: JobEvent) -> None:
        if ev.job in self.behind or ev.seq <= self.last_seq.get(ev.job, 0):
            return  # it catches up from the store, or already has this one
        if self.put(ev.to_message()):
            self.last_seq[ev.job] = ev.seq
        else:
            self.behind.add(ev.job)


@dataclass(eq=False)
class _Watch:
    subscribers: set[Subscriber] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    seq: int = 0  # last event the poller has handed out
    finished: bool = False


class EventHub:
    def __init__(self, jobs: JobStore, queue_size: int, send_timeout: float = 10.0):
        self.jobs = jobs
        self._queue_size = queue_size
        self._send_timeout = send_timeout
        self._watches: dict[str, _Watch] = {}
        self._subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped_total = 0

    def connect(self) -> Subscriber:
        self._loop = asyncio.get_running_loop()
        sub = Subscriber(asyncio.Queue(self._queue_size), self._send_timeout)
        self._subscribers.add(sub)
        return sub

    def queued(self) -> int:
        """Events waiting in every client's queue (the ``queue_depth`` gauge)."""
        return sum(sub.queue.qsize() for sub in self._subscribers)

    async def disconnect(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        if sub.dropped.is_set():
            self.dropped_total += 1
            log.warning("dropped a WebSocket client that stopped taking events")
        for job_id in list(sub.last_seq):
            watch = self._watches.get(job_id)
            if watch is None:
                continue
            watch.subscribers.discard(sub)
            if not watch.subscribers:
                await self._stop(job_id)

    def subscribe(self, sub: Subscriber, job_id: str) -> None:
        """Stream this job's events, from its first one, to ``sub``."""
        if job_id in sub.last_seq:
            return
        sub.last_seq[job_id] = 0
        # Everything before the poller's position comes from the store (catch_up).
        sub.behind.add(job_id)
        watch = self._watches.get(job_id)
        if watch is None:
            watch = self._watches[job_id] = _Watch()
            watch.task = asyncio.create_task(self._poll(job_id, watch))
        watch.subscribers.add(sub)

    async def catch_up(self, sub: Subscriber) -> None:
        """Refill ``sub``'s queue from the store for jobs it fell behind on."""
        for job_id in list(sub.behind):
            watch = self._watches.get(job_id)
            if watch is None:
                sub.behind.discard(job_id)
                continue
            room = self._queue_size - sub.queue.qsize()
            if room <= 0:
                return
            after = sub.last_seq.get(job_id, 0)
            events = await to_thread.run_sync(self.jobs.events_since, job_id, after, room)
            for ev in events:
                if not sub.put(ev.to_message()):
                    return
                sub.last_seq[job_id] = ev.seq
            # Rejoin the live stream only at the poller's position; no await between
            # this check and the rejoin, so no event is missed or sent twice.
            if sub.last_seq[job_id] >= watch.seq:
                sub.behind.discard(job_id)

    def notify(self, job_id: str) -> None:
        """Thread-safe: a job in this process wrote events; wake its poller now."""
        loop = self._loop
        watch = self._watches.get(job_id)
        if loop is not None and watch is not None and not loop.is_closed():
            loop.call_soon_threadsafe(watch.wake.set)

    async def close(self) -> None:
        for job_id in list(self._watches):
            await self._stop(job_id)

    async def _poll(self, job_id: str, watch: _Watch) -> None:
        while True:
            try:
                events = await to_thread.run_sync(self.jobs.events_since, job_id, watch.seq, BATCH)
            except Exception:
                log.exception("reading events of job %s failed; retrying", job_id)
                events = []
            for ev in events:
                for sub in list(watch.subscribers):
                    sub.offer(ev)
                watch.seq = ev.seq
            if events and events[-1].event == "done":
                watch.finished = True
                return  # the job is over: nothing more will come
            if len(events) >= BATCH:
                continue  # more are waiting
            watch.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.wake.wait(), POLL_SECONDS)

    async def _stop(self, job_id: str) -> None:
        watch = self._watches.pop(job_id, None)
        if watch is None or watch.task is None:
            return
        watch.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch.task

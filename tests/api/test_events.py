"""The WebSocket fan-out: a stuck client is dropped, the others get every event."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from omicsoracle.api.events import EventHub
from omicsoracle.api.jobs import _send
from omicsoracle.config import Settings
from omicsoracle.jobs import JobStore


class Socket:
    """The part of a WebSocket the sender uses; ``stuck`` never accepts a message
    (a client that stopped reading, once the TCP buffers are full)."""

    def __init__(self, stuck: bool = False):
        self.stuck = stuck
        self.sent: list[dict[str, Any]] = []

    async def send_text(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(orjson.loads(text))


def _job_with_events(jobs: JobStore, n: int) -> str:
    job = jobs.create("ingest", {})
    for i in range(n):
        jobs.progress(job.id, {"records": i})
    jobs.finish(job.id, "done", {})
    return job.id


def test_stuck_client_is_dropped_and_a_burst_reaches_the_others(tmp_path: Path) -> None:
    jobs = JobStore.open(Settings(data_dir=tmp_path))
    n_events = 60
    job_id = _job_with_events(jobs, n_events)

    async def scenario() -> tuple[Socket, Socket, bool, bool, int]:
        # Queues far smaller than the burst: a client that keeps up still gets it all
        # (the rest is read back from the store), one that is stuck is dropped.
        hub = EventHub(jobs, queue_size=8, send_timeout=0.3)
        stuck_sock, fast_sock = Socket(stuck=True), Socket()
        stuck, fast = hub.connect(), hub.connect()
        hub.subscribe(stuck, job_id)
        hub.subscribe(fast, job_id)
        senders = [
            asyncio.create_task(_send(stuck_sock, hub, stuck, 30.0)),  # type: ignore[arg-type]
            asyncio.create_task(_send(fast_sock, hub, fast, 30.0)),  # type: ignore[arg-type]
        ]
        for _ in range(100):
            if fast_sock.sent and fast_sock.sent[-1]["event"] == "done" and stuck.dropped.is_set():
                break
            await asyncio.sleep(0.05)
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        await hub.disconnect(stuck)
        await hub.disconnect(fast)
        await hub.close()
        return (
            stuck_sock,
            fast_sock,
            stuck.dropped.is_set(),
            fast.dropped.is_set(),
            hub.dropped_total,
        )

    try:
        _, fast_sock, stuck_dropped, fast_dropped, dropped_total = asyncio.run(scenario())
    finally:
        jobs.close()
    assert stuck_dropped
    assert not fast_dropped
    assert dropped_total == 1
    seqs = [m["seq"] for m in fast_sock.sent]
    assert len(seqs) == n_events + 1  # every progress event and the final "done", once
    assert seqs == sorted(set(seqs))
    assert fast_sock.sent[-1]["event"] == "done"


def test_late_subscriber_gets_the_history(tmp_path: Path) -> None:
    jobs = JobStore.open(Settings(data_dir=tmp_path))
    job_id = _job_with_events(jobs, 1)

    async def scenario() -> list[str]:
        hub = EventHub(jobs, queue_size=100)
        first = hub.connect()
        hub.subscribe(first, job_id)
        await asyncio.sleep(0.2)  # the poller has handed out everything
        late = hub.connect()
        hub.subscribe(late, job_id)
        await hub.catch_up(late)
        events = [late.queue.get_nowait()["event"] for _ in range(late.queue.qsize())]
        await hub.close()
        return events

    try:
        assert asyncio.run(scenario()) == ["progress", "done"]
    finally:
        jobs.close()

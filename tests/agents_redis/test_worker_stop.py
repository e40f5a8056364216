"""A worker whose agent hangs still stops: at the end of its grace period after SIGTERM,
or at once on a second signal, leaving the request it held to another worker.

The hanging agent is registered through ``register_agent`` by ``stuck_worker.py``,
which then runs the real ``omicsoracle worker`` command."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import redis
from worker_helpers import StartWorker, wait_for

from omicsoracle.agents.messages import SUMMARY
from omicsoracle.agents.transport import RedisTransport
from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.message import Envelope

STUCK = [sys.executable, str(Path(__file__).with_name("stuck_worker.py"))]
PAGE: dict[str, Any] = {"total": 0, "results": [], "facets": {}}


def _ask_summary(url: str, prefix: str, reply_to: str) -> Envelope:
    request = Envelope(SUMMARY.request, {"search": PAGE, "reply_to": reply_to})

    async def publish() -> None:
        transport = RedisTransport(url, prefix=prefix)
        try:
            await transport.bus(transport.agent_address("summary")).publish(request)
        finally:
            await transport.close()

    asyncio.run(publish())
    return request


def _replies(client: redis.Redis, reply_to: str) -> list[Envelope]:
    codec = codec_by_name("orjson")
    found = []
    for p in range(4):
        rows: Any = client.xrange(f"{reply_to}:p{p}")
        found += [codec.decode(fields[b"e"]) for _entry, fields in rows]
    return found


def test_sigterm_stops_a_stuck_worker_after_the_grace_period_and_its_request_is_redelivered(
    redis_url: str, agents_prefix: str, rclient: redis.Redis, start_worker: StartWorker
) -> None:
    stuck, log = start_worker(
        "stuck",
        "--agents",
        "summary",
        "--concurrency",
        "1",
        command=STUCK,
        env={"OMICSORACLE_AGENT_STOP_GRACE_SECONDS": "1"},
    )
    reply_to = f"{agents_prefix}:reply:test"
    request = _ask_summary(redis_url, agents_prefix, reply_to)
    wait_for("the request to reach the stuck agent", lambda: "stuck agent:" in log.read_text())

    stuck.send_signal(signal.SIGTERM)
    # Without the grace period this would wait for the agent, forever.
    assert stuck.wait(timeout=60) == 128 + signal.SIGTERM
    text = log.read_text()
    assert "SIGTERM: finishing the requests in flight" in text
    assert "grace period of 1 s over: stopping now; 1 request(s) left unacknowledged" in text
    assert _replies(rclient, reply_to) == []

    # Left unacknowledged: a healthy worker claims it after the visibility timeout.
    start_worker("healthy", "--agents", "summary")
    wait_for("the redelivered request answered", lambda: bool(_replies(rclient, reply_to)))
    (reply,) = _replies(rclient, reply_to)
    assert reply.payload["request_id"] == request.id
    assert "result" in reply.payload


def test_a_second_signal_stops_a_stuck_worker_at_once(
    redis_url: str, agents_prefix: str, start_worker: StartWorker
) -> None:
    # A grace period far longer than the test waits: only the second signal ends it.
    stuck, log = start_worker(
        "stuck",
        "--agents",
        "summary",
        command=STUCK,
        env={"OMICSORACLE_AGENT_STOP_GRACE_SECONDS": "3600"},
    )
    _ask_summary(redis_url, agents_prefix, f"{agents_prefix}:reply:test")
    wait_for("the request to reach the stuck agent", lambda: "stuck agent:" in log.read_text())

    stuck.send_signal(signal.SIGTERM)
    wait_for("the first signal handled", lambda: "finishing the requests" in log.read_text())
    assert stuck.poll() is None  # still finishing (it never will)
    stuck.send_signal(signal.SIGINT)  # SIGINT counts too (not swallowed)
    assert stuck.wait(timeout=60) == 128 + signal.SIGINT
    assert "SIGINT again: stopping now; 1 request(s) left unacknowledged" in log.read_text()

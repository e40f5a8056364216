"""Two `omicsoracle worker` processes; one is SIGKILLed in the middle of 1,000 pipeline
requests (all four agents). Every request is answered exactly once in effect: none is
lost (the survivor claims what the victim held), and a request redelivered after its
reply went out is absorbed by its done marker (reply and marker are one Lua script)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Sequence
from typing import Any

import redis
from worker_helpers import StartWorker, wait_for

from omicsoracle.agents import SearchAgent
from omicsoracle.agents.messages import MESSAGES
from omicsoracle.agents.transport import RedisTransport
from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.message import Envelope
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime

MESSAGES_SENT = 1000
SHARE = {"query": 400, "search": 200, "enrichment": 200, "summary": 200}
CODEC = codec_by_name("orjson")


def _requests(page: dict[str, Any], reply_to: str) -> list[Envelope]:
    questions = ["NSCLC RNA-seq human", "HCC liver tumour", "AML at least 20 samples", "T2D islets"]
    sent: list[Envelope] = []
    for agent, n in SHARE.items():
        for i in range(n):
            payload: dict[str, Any] = {"reply_to": reply_to}
            if agent in ("query", "search"):
                payload.update(question=questions[i % len(questions)], limit=5)
            else:
                payload["search"] = page
            sent.append(Envelope(MESSAGES[agent].request, payload, correlation_id=f"job-{i}"))
    assert len(sent) == MESSAGES_SENT
    return sent


def _publish(url: str, prefix: str, sent: Sequence[Envelope]) -> None:
    async def run() -> None:
        transport = RedisTransport(url, prefix=prefix)
        try:
            for agent, m in MESSAGES.items():
                batch = [e for e in sent if e.type == m.request]
                await transport.bus(transport.agent_address(agent)).publish_many(batch)
        finally:
            await transport.close()

    asyncio.run(run())


def _replies(client: redis.Redis, reply_to: str) -> list[Envelope]:
    found = []
    for p in range(4):
        rows: Any = client.xrange(f"{reply_to}:p{p}")
        found += [CODEC.decode(fields[b"e"]) for _entry, fields in rows]
    return found


def _count(client: redis.Redis, reply_to: str) -> int:
    """Replies published so far: XLEN only, so polling every 50 ms takes no CPU from the
    workers (decoding every reply each time did, on a 2-core box)."""
    pipe = client.pipeline(transaction=False)
    for p in range(4):
        pipe.xlen(f"{reply_to}:p{p}")
    return sum(pipe.execute())


def _by(replies: Sequence[Envelope], pid: int) -> int:
    """Replies from the worker process ``pid`` (names are host:pid:random)."""
    return sum(f":{pid}:" in r.payload["worker"] for r in replies)


def test_a_killed_worker_loses_no_request_and_none_is_answered_twice(
    redis_url: str,
    agents_prefix: str,
    rclient: redis.Redis,
    demo_settings: Settings,
    start_worker: StartWorker,
) -> None:
    with Runtime.open(demo_settings) as rt:
        page = SearchAgent(rt).process({"question": "lung cancer", "limit": 5})
    page = {k: page[k] for k in ("total", "results", "facets")}
    reply_to = f"{agents_prefix}:reply:test"
    sent = _requests(page, reply_to)
    victim, _ = start_worker("victim", "--concurrency", "4")
    survivor, _ = start_worker("survivor", "--concurrency", "4")

    _publish(redis_url, agents_prefix, sent)
    # Two workers share the inboxes: by a third of the replies both have answered some
    # (checked on the decoded replies once, below).
    wait_for("a third of the replies", lambda: _count(rclient, reply_to) >= MESSAGES_SENT // 3)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    answered_at_kill = _count(rclient, reply_to)
    inboxes = [f"{agents_prefix}:agent:{a}" for a in SHARE]
    wait_for("every request answered", lambda: _count(rclient, reply_to) >= MESSAGES_SENT)
    wait_for(
        "empty inboxes (all acknowledged)",
        lambda: sum(rclient.xlen(f"{i}:p{p}") for i in inboxes for p in range(4)) == 0,
    )

    assert answered_at_kill < MESSAGES_SENT  # the kill did land mid-stream
    replies = _replies(rclient, reply_to)
    by_victim = _by(replies, victim.pid)
    per_request = Counter(r.payload["request_id"] for r in replies)
    assert set(per_request) == {e.id for e in sent}  # none lost
    assert set(per_request.values()) == {1}  # none answered twice
    assert all("result" in r.payload for r in replies), [
        r.payload.get("error") for r in replies if "error" in r.payload
    ][:3]
    by_type = Counter(r.type for r in replies)
    assert by_type == Counter({MESSAGES[a].result: n for a, n in SHARE.items()})
    assert all(
        rclient.exists(f"{agents_prefix}:agent:{a}:done:{e.id}")
        for a in SHARE
        for e in sent
        if e.type == MESSAGES[a].request
    )
    for inbox in inboxes:
        assert rclient.xlen(f"{inbox}:dead") == 0
    survivor_replies = _by(replies, survivor.pid)
    assert by_victim > 0
    assert survivor_replies > 0
    assert by_victim + survivor_replies == MESSAGES_SENT
    assert survivor.poll() is None

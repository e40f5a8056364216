"""Agent inboxes' dead letters through `omicsoracle bus dead-letters --agent` and
`bus replay --agent`, and the expiry of reply streams, on the real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import redis
from typer.testing import CliRunner
from worker_helpers import StartWorker, wait_for

from omicsoracle.agents.messages import QUERY
from omicsoracle.agents.orchestrator import Orchestrator
from omicsoracle.agents.transport import REPLY_TTL_SECONDS, RedisTransport
from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.message import Envelope
from omicsoracle.cli import app

runner = CliRunner()


def _env(url: str, prefix: str) -> dict[str, str]:
    return {
        "OMICSORACLE_BUS": "redis",
        "OMICSORACLE_REDIS_URL": url,
        "OMICSORACLE_AGENT_STREAM_PREFIX": prefix,
    }


def _publish(url: str, prefix: str, request: Envelope) -> None:
    async def run() -> None:
        transport = RedisTransport(url, prefix=prefix)
        try:
            await transport.bus(transport.agent_address("query")).publish(request)
        finally:
            await transport.close()

    asyncio.run(run())


def _replies(client: redis.Redis, stream: str) -> list[Envelope]:
    rows: Any = client.xrange(stream)
    return [codec_by_name("orjson").decode(fields[b"e"]) for _entry, fields in rows]


def _listed(url: str, prefix: str, *args: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["bus", "dead-letters", "--json", *args], env=_env(url, prefix))
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = orjson.loads(result.stdout)
    return rows


def test_an_agents_dead_letters_are_listed_replayed_and_then_handled(
    redis_url: str, agents_prefix: str, rclient: redis.Redis, start_worker: StartWorker
) -> None:
    inbox = f"{agents_prefix}:agent:query"
    reply_to = f"{agents_prefix}:reply:test"
    reply_stream = f"{reply_to}:p1"  # NORMAL priority, as the request
    # Undecodable bytes, and a request whose reply cannot be written (its reply stream
    # is a string key: WRONGTYPE) until an operator fixes it.
    rclient.xadd(f"{inbox}:p1", {b"e": b"\x00 not an envelope"})
    rclient.set(reply_stream, "not a stream")
    request = Envelope(QUERY.request, {"question": "HCC", "reply_to": reply_to})
    _publish(redis_url, agents_prefix, request)
    start_worker("worker", "--agents", "query")
    wait_for(
        "both in the query inbox's dead letters (after every attempt)",
        lambda: rclient.xlen(f"{inbox}:dead") == 2,
    )

    rows = _listed(redis_url, agents_prefix, "--agent", "query")
    assert {r["agent"] for r in rows} == {"query"}
    unreadable = next(r for r in rows if r["type"] is None)
    failed = next(r for r in rows if r["type"] == QUERY.request)
    assert failed["message"] == request.id
    assert "not acknowledged" in failed["reason"]
    assert "undecodable" in unreadable["reason"]
    # Without --agent: every registered agent's inbox, each row naming its agent.
    everything = _listed(redis_url, agents_prefix)
    assert {r["id"] for r in everything if r["agent"] == "query"} == {r["id"] for r in rows}
    assert not [r for r in everything if r["agent"] in ("search", "enrichment", "summary")]

    env = _env(redis_url, agents_prefix)
    kept = runner.invoke(app, ["bus", "replay", "--agent", "query", unreadable["id"]], env=env)
    assert kept.exit_code == 1
    assert orjson.loads(kept.stdout)["unreadable"] == [unreadable["id"]]

    rclient.delete(reply_stream)  # the operator's fix
    replayed = runner.invoke(app, ["bus", "replay", "--agent", "query", failed["id"]], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert orjson.loads(replayed.stdout)["replayed"] == [failed["id"]]
    wait_for("the replayed request answered", lambda: bool(_replies(rclient, reply_stream)))
    (reply,) = _replies(rclient, reply_stream)
    assert reply.payload["request_id"] == request.id
    assert reply.payload["result"]["concepts"][0]["name"] == "hepatocellular carcinoma"
    assert [r["id"] for r in _listed(redis_url, agents_prefix, "--agent", "query")] == [
        unreadable["id"]
    ]
    # A reply stream written by a worker expires unless its orchestrator renews it.
    assert 0 < rclient.ttl(reply_stream) <= REPLY_TTL_SECONDS


def test_an_unknown_agent_is_refused(redis_url: str, agents_prefix: str) -> None:
    result = runner.invoke(
        app, ["bus", "dead-letters", "--agent", "nope"], env=_env(redis_url, agents_prefix)
    )
    assert result.exit_code == 2
    assert "unknown agent 'nope'" in result.stderr


def test_an_orchestrators_reply_streams_expire(
    redis_url: str, agents_prefix: str, rclient: redis.Redis
) -> None:
    async def scenario() -> tuple[str, list[int]]:
        transport = RedisTransport(redis_url, prefix=agents_prefix)
        orchestrator = Orchestrator(transport)
        try:
            await orchestrator.start()
            address = orchestrator.reply_address
            return address, [rclient.ttl(f"{address}:p{p}") for p in range(4)]
        finally:
            await orchestrator.close()
            await transport.close()

    address, ttls = asyncio.run(scenario())
    # Created with their expiry: a process dying right now leaves nothing for good.
    assert all(0 < ttl <= REPLY_TTL_SECONDS for ttl in ttls), ttls
    assert not rclient.exists(*(f"{address}:p{p}" for p in range(4)))  # closed: deleted

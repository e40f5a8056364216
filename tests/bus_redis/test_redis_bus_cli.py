"""`omicsoracle bus dead-letters` and `bus replay` against the real Redis bus."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from redis import Redis
from typer.testing import CliRunner

from omicsoracle.bus import Envelope, codec_by_name, register
from omicsoracle.bus.redis_bus import RedisBus
from omicsoracle.cli import app

runner = CliRunner()
TYPE = register("test.cli_dead_letter", "a message the CLI test lets fail")
PREFIX = "omicsoracle:bus"  # the CLI's bus: the default prefix


@pytest.fixture
def clean(redis_url: str) -> Iterator[str]:
    def wipe() -> None:
        client = Redis.from_url(redis_url)
        try:
            for key in client.scan_iter(f"{PREFIX}:*"):
                client.delete(key)
        finally:
            client.close()

    wipe()
    yield redis_url
    wipe()


def _env(url: str) -> dict[str, str]:
    return {"OMICSORACLE_BUS": "redis", "OMICSORACLE_REDIS_URL": url}


async def _kill_one(url: str) -> str:
    bus = RedisBus(url, codec=codec_by_name("orjson"), max_attempts=1)
    try:
        envelope = Envelope(TYPE, {"n": 1})
        await bus.publish(envelope)
        got = await bus.get(timeout=2)
        assert got is not None
        await bus.nack(got, "handler failed: test")
        return envelope.id
    finally:
        await bus.close()


async def _next(url: str) -> Envelope | None:
    bus = RedisBus(url, codec=codec_by_name("orjson"))
    try:
        got = await bus.get(timeout=2)
        if got is not None:
            await bus.ack(got)
        return got
    finally:
        await bus.close()


def test_without_a_redis_bus_the_commands_say_what_to_set() -> None:
    result = runner.invoke(app, ["bus", "dead-letters"], env={"OMICSORACLE_BUS": "memory"})
    assert result.exit_code == 2
    assert "OMICSORACLE_BUS=redis" in result.stderr


def test_list_and_replay_a_dead_letter(clean: str) -> None:
    message_id = asyncio.run(_kill_one(clean))
    listed = runner.invoke(app, ["bus", "dead-letters", "--json"], env=_env(clean))
    assert listed.exit_code == 0, listed.output
    rows = orjson.loads(listed.stdout)
    assert [(r["message"], r["type"]) for r in rows] == [(message_id, TYPE)]
    assert "handler failed" in rows[0]["reason"]

    replayed = runner.invoke(app, ["bus", "replay", rows[0]["id"]], env=_env(clean))
    assert replayed.exit_code == 0, replayed.output
    assert orjson.loads(replayed.stdout)["replayed"] == [rows[0]["id"]]
    again = asyncio.run(_next(clean))
    assert again is not None
    assert (again.id, again.attempt) == (message_id, 1)
    listed = runner.invoke(app, ["bus", "dead-letters", "--json"], env=_env(clean))
    assert orjson.loads(listed.stdout) == []

    missing = runner.invoke(app, ["bus", "replay", "0-1"], env=_env(clean))
    assert missing.exit_code == 1
    assert orjson.loads(missing.stdout)["missing"] == ["0-1"]

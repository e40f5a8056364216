"""The Redis bus against the shared Redis: order, acks, claims, dead letters, idempotency."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis

from omicsoracle.bus.base import BusFull
from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.message import Envelope, Priority, register
from omicsoracle.bus.redis_bus import BusUnavailable, RedisBus, UnknownDelivery

TYPE = register("test.redis_bus", "a message of the Redis bus tests")
T = TypeVar("T")


def run(url: str, prefix: str, scenario: Callable[[RedisBus], Awaitable[T]], **options: Any) -> T:
    """Run ``scenario`` with a bus of its own, closed afterwards."""

    async def main() -> T:
        options.setdefault("codec", codec_by_name("msgpack"))
        bus = RedisBus(url, stream_prefix=prefix, consumer="c1", **options)
        try:
            return await scenario(bus)
        finally:
            await bus.close()

    return asyncio.run(main())


def message(n: int, priority: Priority = Priority.NORMAL) -> Envelope:
    return Envelope(TYPE, {"n": n, "text": "x" * 50}, priority=priority)


def test_higher_priorities_are_served_first(redis_url: str, prefix: str) -> None:
    order = [Priority.LOW, Priority.NORMAL, Priority.CRITICAL, Priority.HIGH, Priority.LOW]

    async def scenario(bus: RedisBus) -> list[tuple[Priority, int]]:
        for i, priority in enumerate(order):
            await bus.publish(message(i, priority))
        got = []
        while (env := await bus.get(timeout=0)) is not None:
            got.append((env.priority, env.payload["n"]))
            await bus.ack(env)
        return got

    assert run(redis_url, prefix, scenario) == [
        (Priority.CRITICAL, 2),
        (Priority.HIGH, 3),
        (Priority.NORMAL, 1),
        (Priority.LOW, 0),
        (Priority.LOW, 4),
    ]


def test_fifo_within_a_priority_and_none_on_timeout(redis_url: str, prefix: str) -> None:
    async def scenario(bus: RedisBus) -> tuple[list[int], Envelope | None]:
        for i in range(30):
            await bus.publish(message(i))
        got = []
        for _ in range(30):
            env = await bus.get(timeout=1.0)
            assert env is not None
            got.append(env.payload["n"])
            await bus.ack(env)
        return got, await bus.get(timeout=0.05)

    got, last = run(redis_url, prefix, scenario)
    assert got == list(range(30))
    assert last is None


def test_a_blocked_get_wakes_up_for_a_message(redis_url: str, prefix: str) -> None:
    async def scenario(bus: RedisBus) -> Envelope | None:
        async def later() -> None:
            await asyncio.sleep(0.1)
            await bus.publish(message(7, Priority.HIGH))

        task = asyncio.create_task(later())
        env = await bus.get(timeout=3.0)
        await task
        return env

    env = run(redis_url, prefix, scenario, block_ms=200)
    assert env is not None
    assert env.payload["n"] == 7


def test_ack_removes_the_message_from_pending_and_stream(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    seen: dict[str, Any] = {}

    async def scenario(bus: RedisBus) -> None:
        await bus.publish(message(1))
        env = await bus.get(timeout=1.0)
        assert env is not None
        seen["pending_before"] = client.xpending(f"{prefix}:p1", "workers")["pending"]
        await bus.ack(env)
        with pytest.raises(UnknownDelivery):
            await bus.ack(env)

    run(redis_url, prefix, scenario)
    assert seen["pending_before"] == 1
    assert client.xpending(f"{prefix}:p1", "workers")["pending"] == 0
    assert client.xlen(f"{prefix}:p1") == 0


def test_a_dead_consumers_message_is_claimed_after_the_visibility_timeout(
    redis_url: str, prefix: str
) -> None:
    async def scenario() -> tuple[Envelope | None, Envelope | None, Envelope | None]:
        codec = codec_by_name("orjson")
        dead = RedisBus(redis_url, stream_prefix=prefix, consumer="dead", codec=codec)
        alive = RedisBus(
            redis_url,
            stream_prefix=prefix,
            consumer="alive",
            codec=codec,
            visibility_timeout=0.2,
            block_ms=50,
        )
        try:
            await dead.publish(message(1))
            first = await dead.get(timeout=1.0)  # then "dies": never acks
            too_early = await alive.get(timeout=0)
            claimed = await alive.get(timeout=5.0)
            assert claimed is not None
            await alive.ack(claimed)
            return first, too_early, claimed
        finally:
            await dead.close()
            await alive.close()

    first, too_early, claimed = asyncio.run(scenario())
    assert first is not None
    assert too_early is None
    assert claimed is not None
    assert (claimed.id, claimed.attempt) == (first.id, 2)


def test_nacked_until_max_attempts_then_dead_lettered(redis_url: str, prefix: str) -> None:
    async def scenario(bus: RedisBus) -> tuple[list[int], Envelope | None, Any]:
        original = message(1, Priority.HIGH)
        await bus.publish(original)
        attempts = []
        for _ in range(3):
            env = await bus.get(timeout=1.0)
            assert env is not None
            assert env.id == original.id
            attempts.append(env.attempt)
            await bus.nack(env, f"boom {env.attempt}")
        return attempts, await bus.get(timeout=0.05), await bus.dead_letters()

    attempts, after, dead = run(redis_url, prefix, scenario, max_attempts=3)
    assert attempts == [1, 2, 3]
    assert after is None
    assert len(dead) == 1
    assert dead[0].reason == "boom 3"
    assert dead[0].attempts == 3
    assert dead[0].source == f"{prefix}:p2"
    assert dead[0].envelope is not None
    assert dead[0].envelope.payload == {"n": 1, "text": "x" * 50}


def test_timed_out_attempts_count_towards_the_dead_letter(redis_url: str, prefix: str) -> None:
    async def scenario(bus: RedisBus) -> tuple[list[int], Envelope | None, Any]:
        await bus.publish(message(1))
        attempts = []
        for _ in range(2):
            env = await bus.get(timeout=5.0)  # never acked: the handler "hangs"
            assert env is not None
            attempts.append(env.attempt)
        await asyncio.sleep(0.3)
        return attempts, await bus.get(timeout=0.5), await bus.dead_letters()

    attempts, after, dead = run(
        redis_url, prefix, scenario, max_attempts=2, visibility_timeout=0.2, block_ms=50
    )
    assert attempts == [1, 2]
    assert after is None
    assert len(dead) == 1
    assert dead[0].reason.startswith("not acknowledged within 0.2 s")
    assert dead[0].attempts == 2


def test_dead_letters_are_listed_and_replayed(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    async def scenario(bus: RedisBus) -> tuple[Any, Any, Any, Envelope | None]:
        for i in range(3):
            await bus.publish(message(i))
        for _ in range(3):
            env = await bus.get(timeout=1.0)
            assert env is not None
            await bus.nack(env, "bad input")
        client.xadd(f"{prefix}:p1", {"e": b"\x00not an envelope"})
        assert await bus.get(timeout=0.05) is None
        listed = await bus.dead_letters(limit=10)
        assert [d.reason for d in listed[:3]] == ["bad input"] * 3
        assert len(await bus.dead_letters(limit=2)) == 2
        ids = [listed[0].id, listed[3].id, "1-1"]
        report = await bus.replay(ids)
        replayed = await bus.get(timeout=1.0)
        assert replayed is not None
        await bus.ack(replayed)
        return listed, report, await bus.dead_letters(), replayed

    listed, report, remaining, replayed = run(redis_url, prefix, scenario, max_attempts=1)
    assert report.replayed == [listed[0].id]
    assert report.unreadable == [listed[3].id]
    assert report.missing == ["1-1"]
    assert [d.id for d in remaining] == [d.id for d in listed[1:]]
    assert replayed.id == listed[0].envelope.id
    assert replayed.attempt == 1


def test_malformed_entries_are_dead_lettered_without_crashing(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    stream = f"{prefix}:p1"

    async def scenario(bus: RedisBus) -> tuple[Envelope | None, Envelope | None, Any]:
        await bus.get(timeout=0)  # creates the group, so the vandal's entries are unread
        client.xadd(stream, {"e": b"garbage"})
        client.xadd(stream, {"other": b"field"})
        client.xadd(stream, {"e": b'[1,"id","no.such.type",1,null,1.0,1,{}]'})
        await bus.publish(message(42))
        env = await bus.get(timeout=1.0)
        assert env is not None
        await bus.ack(env)
        return env, await bus.get(timeout=0.05), await bus.dead_letters()

    env, after, dead = run(redis_url, prefix, scenario, codec=codec_by_name("orjson"))
    assert env is not None
    assert env.payload["n"] == 42
    assert after is None
    assert len(dead) == 3
    assert all(d.envelope is None and d.source == stream for d in dead)
    assert dead[0].reason.startswith("undecodable: not JSON")
    assert dead[0].data == b"garbage"
    assert dead[1].reason == "entry has no envelope field 'e'"
    assert "no.such.type" in dead[2].reason
    assert client.xpending(stream, "workers")["pending"] == 0
    assert client.xlen(stream) == 0


def test_the_idempotency_marker(redis_url: str, prefix: str, client: redis.Redis) -> None:
    env = message(1)

    async def scenario(bus: RedisBus) -> list[bool]:
        return [
            await bus.seen(env),
            await bus.mark_done(env),
            await bus.seen(env),
            await bus.mark_done(env),
        ]

    assert run(redis_url, prefix, scenario, done_ttl=60) == [False, True, True, False]
    key = f"{prefix}:done:{env.id}"
    assert 0 < client.ttl(key) <= 60


@pytest.mark.parametrize("codec", ["msgpack", "orjson"])
def test_publish_many_round_trip(
    redis_url: str, prefix: str, client: redis.Redis, codec: str
) -> None:
    sent = [message(i, Priority(i % 4)) for i in range(500)]

    async def scenario(bus: RedisBus) -> list[Envelope]:
        await bus.publish_many(sent)
        got: list[Envelope] = []
        while batch := await bus.get_many(64, timeout=0):
            assert len(batch) <= 64
            got += batch
            await bus.ack_many(batch)
        return got

    got = run(redis_url, prefix, scenario, codec=codec_by_name(codec))
    assert sorted(got, key=lambda e: e.payload["n"]) == sent
    assert [e.priority for e in got] == sorted((e.priority for e in sent), reverse=True)
    for priority in Priority:
        assert [e.payload["n"] for e in got if e.priority == priority] == [
            e.payload["n"] for e in sent if e.priority == priority
        ]
    assert sum(client.xlen(f"{prefix}:p{p}") for p in range(4)) == 0


def test_a_full_stream_refuses_the_whole_batch(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    async def scenario(bus: RedisBus) -> None:
        await bus.publish_many([message(i) for i in range(2)])
        with pytest.raises(BusFull):
            await bus.publish_many([message(i) for i in range(2, 4)])
        await bus.publish(message(9, Priority.HIGH))  # another stream has room

    run(redis_url, prefix, scenario, maxlen=3)
    assert client.xlen(f"{prefix}:p1") == 2
    assert client.xlen(f"{prefix}:p2") == 1


def test_an_unreachable_redis_raises_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    url = f"redis://:secret@127.0.0.1:{port}/0"

    async def scenario(bus: RedisBus) -> None:
        with pytest.raises(
            BusUnavailable, match=rf"publish to the Redis bus at redis://:\*\*\*@127.0.0.1:{port}/0"
        ):
            await bus.publish(message(1))
        with pytest.raises(BusUnavailable):
            await bus.get(timeout=0)

    run(url, "unused", scenario, timeout=0.5, block_ms=100)


def test_constructor_rejects_a_block_longer_than_the_timeout() -> None:
    with pytest.raises(ValueError, match="block_ms"):
        RedisBus("redis://127.0.0.1:1/0", codec=codec_by_name("msgpack"), timeout=1, block_ms=1000)


def test_a_wake_up_on_several_streams_is_served_by_priority(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    codec = codec_by_name("msgpack")
    low, critical = message(1, Priority.LOW), message(2, Priority.CRITICAL)

    async def scenario(bus: RedisBus) -> list[Priority]:
        async def later() -> None:
            await asyncio.sleep(0.1)
            # LOW first in one transaction: the blocked read wakes up on the LOW stream.
            pipe = client.pipeline(transaction=True)
            pipe.xadd(f"{prefix}:p0", {"e": codec.encode(low)})
            pipe.xadd(f"{prefix}:p3", {"e": codec.encode(critical)})
            pipe.execute()

        task = asyncio.create_task(later())
        got = await bus.get_many(8, timeout=3.0)
        await task
        await bus.ack_many(got)
        return [e.priority for e in got]

    assert run(redis_url, prefix, scenario, block_ms=500) == [Priority.CRITICAL, Priority.LOW]


def test_ack_many_with_a_stranger_acks_nothing(redis_url: str, prefix: str) -> None:
    async def scenario(bus: RedisBus) -> Envelope | None:
        await bus.publish(message(1))
        env = await bus.get(timeout=1.0)
        assert env is not None
        with pytest.raises(UnknownDelivery):
            await bus.ack_many([env, message(2)])
        await bus.ack(env)  # still known: the failed batch settled nothing
        return await bus.get(timeout=0.05)

    assert run(redis_url, prefix, scenario) is None


def test_a_publish_redis_refuses_raises_and_the_bus_goes_on(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    client.set(f"{prefix}:p2", "not a stream")

    async def scenario(bus: RedisBus) -> list[int]:
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            await bus.publish_many([message(1, Priority.HIGH), message(2)])
        client.delete(f"{prefix}:p2")
        await bus.publish(message(3, Priority.HIGH))
        got = await bus.get_many(8, timeout=1.0)
        await bus.ack_many(got)
        return [e.payload["n"] for e in got]

    # MULTI does not roll back: the NORMAL message queued with the refused one went in.
    assert run(redis_url, prefix, scenario) == [3, 2]


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes connections; nothing ever replies
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"

        async def scenario(bus: RedisBus) -> None:
            with pytest.raises(BusUnavailable, match="publish to"):
                await bus.publish(message(1))
            with pytest.raises(BusUnavailable, match="read from"):
                await bus.get(timeout=0)
            with pytest.raises(BusUnavailable, match="read from"):
                await bus.seen(message(2))

        run(url, "unused", scenario, timeout=0.3, block_ms=100)


def test_a_higher_priority_published_after_an_ack_is_served_next(
    redis_url: str, prefix: str
) -> None:
    async def scenario(bus: RedisBus) -> list[Priority]:
        await bus.publish_many([message(i) for i in range(3)])
        first = await bus.get(timeout=1.0)
        assert first is not None
        await bus.ack(first)  # also reads the lags the next get may plan with
        await asyncio.sleep(0.05)  # long past them
        await bus.publish(message(9, Priority.CRITICAL))
        got = await bus.get_many(8, timeout=1.0)
        await bus.ack_many(got)
        return [e.priority for e in got]

    assert run(redis_url, prefix, scenario) == [Priority.CRITICAL, Priority.NORMAL, Priority.NORMAL]

"""The in-process bus: priority order, the bound, full policies, timeouts, retries."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
from bus_payload import PING_TYPE
from hypothesis import given, settings
from hypothesis import strategies as st

from omicsoracle.bus import BusClosed, BusFull, Envelope, MemoryBus, Priority
from omicsoracle.bus.message import UnknownMessageType

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Run ``coro`` on a fresh loop and check that it left no task behind."""

    async def main() -> T:
        try:
            return await coro
        finally:
            others = asyncio.all_tasks() - {asyncio.current_task()}
            assert not others, others

    return asyncio.run(main())


def msg(n: int, priority: Priority = Priority.NORMAL) -> Envelope:
    return Envelope(PING_TYPE, {"n": n}, priority=priority)


async def drain(bus: MemoryBus) -> list[Envelope]:
    out = []
    while (envelope := await bus.get(timeout=0)) is not None:
        out.append(envelope)
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(Priority), max_size=200))
def test_consumed_in_priority_order_and_fifo_within_a_priority(
    priorities: list[Priority],
) -> None:
    async def go() -> list[Envelope]:
        bus = MemoryBus(maxsize=max(1, len(priorities)))
        for n, priority in enumerate(priorities):
            await bus.publish(msg(n, priority))
        return await drain(bus)

    got = [(e.priority, e.payload["n"]) for e in run(go())]
    assert got == sorted(((p, n) for n, p in enumerate(priorities)), key=lambda t: (-t[0], t[1]))


@settings(max_examples=60, deadline=None)
@given(
    maxsize=st.integers(1, 8),
    policy=st.sampled_from(["wait", "refuse", "drop_lowest"]),
    ops=st.lists(st.one_of(st.sampled_from(Priority), st.just("get")), max_size=80),
)
def test_the_bound_is_never_exceeded_and_every_message_is_accounted_for(
    maxsize: int, policy: Any, ops: list[Any]
) -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=maxsize, policy=policy)
        consumed = 0
        for n, op in enumerate(ops):
            if op == "get":
                consumed += (await bus.get(timeout=0)) is not None
            elif policy == "wait" and bus.depth() == maxsize:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(bus.publish(msg(n, op)), timeout=0.001)
            else:
                full = policy == "refuse" and bus.depth() == maxsize
                with pytest.raises(BusFull) if full else contextlib.nullcontext():
                    await bus.publish(msg(n, op))
            assert 0 <= bus.depth() <= maxsize
        stats = bus.stats()
        assert stats["depth"] == bus.depth()
        assert stats["delivered"] == consumed
        attempts = sum(op != "get" for op in ops)
        if policy == "drop_lowest":  # never waits or refuses: the new one or a victim goes
            dropped_new = attempts - stats["published"]
            evicted = stats["dropped"] - dropped_new
            assert stats["depth"] == stats["published"] - stats["delivered"] - evicted
        else:
            assert stats["dropped"] == 0
            assert stats["depth"] == stats["published"] - stats["delivered"]
            if policy == "refuse":
                assert attempts == stats["published"] + stats["refused"]

    run(go())


def test_wait_policy_blocks_the_publisher_until_a_slot_frees() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=2, policy="wait")
        await bus.publish(msg(0))
        await bus.publish(msg(1))
        blocked = asyncio.create_task(bus.publish(msg(2, Priority.CRITICAL)))
        await asyncio.sleep(0.01)
        assert not blocked.done()
        assert bus.depth() == 2
        first = await bus.get()
        assert first is not None
        assert first.payload["n"] == 0
        await blocked
        assert [e.payload["n"] for e in await drain(bus)] == [2, 1]
        assert bus.stats()["published"] == 3

    run(go())


def test_refuse_policy_raises_bus_full_and_counts() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=1, policy="refuse")
        await bus.publish(msg(0))
        with pytest.raises(BusFull):
            await bus.publish(msg(1, Priority.CRITICAL))
        with pytest.raises(BusFull):
            await bus.publish_many([msg(2)])
        assert bus.stats()["refused"] == 2
        assert bus.depth() == 1

    run(go())


def test_refuse_policy_publish_many_is_all_or_nothing() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=3, policy="refuse")
        await bus.publish(msg(0))
        with pytest.raises(BusFull):
            await bus.publish_many([msg(1), msg(2), msg(3)])
        assert bus.depth() == 1
        await bus.publish_many([msg(1), msg(2)])
        assert bus.depth() == 3

    run(go())


def test_drop_lowest_evicts_the_newest_lowest_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def go() -> MemoryBus:
        bus = MemoryBus(maxsize=3, policy="drop_lowest")
        await bus.publish(msg(0, Priority.LOW))
        await bus.publish(msg(1, Priority.LOW))
        await bus.publish(msg(2, Priority.HIGH))
        await bus.publish(msg(3, Priority.NORMAL))  # evicts LOW 1, the newest LOW
        await bus.publish(msg(4, Priority.LOW))  # no lower one queued: itself dropped
        await bus.publish(msg(5, Priority.NORMAL))  # evicts LOW 0
        await bus.publish(msg(6, Priority.NORMAL))  # equal to the lowest: itself dropped
        return bus

    with caplog.at_level(logging.WARNING, logger="omicsoracle.bus.memory"):
        bus = run(go())
    assert [e.payload["n"] for e in run(drain(bus))] == [2, 3, 5]
    stats = bus.stats()
    assert stats["dropped"] == 4
    assert stats["published"] == 5
    assert len([r for r in caplog.records if "dropped" in r.getMessage()]) == 4


def test_get_returns_none_on_timeout_and_leaves_no_waiter() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=4)
        assert await bus.get(timeout=0.01) is None
        assert await bus.get(timeout=0) is None
        assert not bus._getters
        await bus.publish(msg(7))
        got = await bus.get(timeout=0.01)
        assert got is not None
        assert got.payload["n"] == 7

    run(go())


def test_a_waiting_consumer_is_woken_by_a_publish() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=4)
        waiting = asyncio.create_task(bus.get(timeout=5))
        await asyncio.sleep(0.01)
        await bus.publish(msg(1))
        got = await waiting
        assert got is not None
        assert got.payload["n"] == 1

    run(go())


def test_a_cancelled_consumer_passes_its_wake_up_on() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=4)
        first = asyncio.create_task(bus.get())
        second = asyncio.create_task(bus.get(timeout=5))
        await asyncio.sleep(0)
        await bus.publish(msg(1))  # wakes the first ...
        first.cancel()  # ... which is cancelled before it runs
        got = await second
        assert got is not None
        assert got.payload["n"] == 1
        with pytest.raises(asyncio.CancelledError):
            await first

    run(go())


def test_nack_retries_then_dead_letters_with_the_reason() -> None:
    async def go() -> MemoryBus:
        bus = MemoryBus(maxsize=4, max_attempts=3)
        await bus.publish(msg(1))
        attempts = []
        while (envelope := await bus.get(timeout=0)) is not None:
            attempts.append(envelope.attempt)
            await bus.nack(envelope, "handler failed")
        assert attempts == [1, 2, 3]
        return bus

    bus = run(go())
    [dead] = bus.dead_letters
    assert dead.envelope.attempt == 3
    assert dead.envelope.payload == {"n": 1}
    assert "handler failed" in dead.reason
    assert bus.stats()["dead"] == 1
    assert bus.stats()["retried"] == 2


def test_nack_on_a_full_bus_dead_letters_instead_of_waiting() -> None:
    async def go() -> MemoryBus:
        bus = MemoryBus(maxsize=1, policy="wait")
        await bus.publish(msg(1))
        taken = await bus.get()
        assert taken is not None
        await bus.publish(msg(2))
        await bus.nack(taken, "boom")
        return bus

    bus = run(go())
    [dead] = bus.dead_letters
    assert "bus full on retry" in dead.reason
    assert dead.envelope.attempt == 2


def test_ack_counts_and_never_redelivers() -> None:
    async def go() -> MemoryBus:
        bus = MemoryBus(maxsize=2)
        await bus.publish(msg(1))
        envelope = await bus.get()
        assert envelope is not None
        await bus.ack(envelope)
        assert await bus.get(timeout=0) is None
        return bus

    assert run(go()).stats()["acked"] == 1


def test_unknown_type_is_rejected_at_publish() -> None:
    # Envelope() itself refuses unknown types; publish checks again for envelopes made
    # some other way, which only object.__new__ can do here.
    rogue = object.__new__(Envelope)
    for field in dataclasses.fields(Envelope):
        object.__setattr__(rogue, field.name, getattr(msg(0), field.name))
    object.__setattr__(rogue, "type", "never.registered")

    async def go() -> None:
        with pytest.raises(UnknownMessageType):
            await MemoryBus(maxsize=2).publish(rogue)

    run(go())
    with pytest.raises(UnknownMessageType):
        Envelope("never.registered", {})


def test_close_wakes_consumers_and_refuses_publishers() -> None:
    async def go() -> None:
        bus = MemoryBus(maxsize=1)
        await bus.publish(msg(1))
        blocked = asyncio.create_task(bus.publish(msg(2)))
        await asyncio.sleep(0)
        await bus.close()
        with pytest.raises(BusClosed):
            await blocked
        got = await bus.get()
        assert got is not None  # what was queued is still delivered
        assert await bus.get() is None

    run(go())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"maxsize": 0}, "maxsize"),
        ({"maxsize": 1, "policy": "block"}, "policy"),
        ({"maxsize": 1, "max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MemoryBus(**kwargs)


def test_one_producer_one_consumer_through_a_small_queue() -> None:
    async def go() -> list[int]:
        bus = MemoryBus(maxsize=8)
        got: list[int] = []

        async def consume() -> None:
            while len(got) < 2_000:
                envelope = await bus.get(timeout=5)
                assert envelope is not None
                got.append(envelope.payload["n"])
                await bus.ack(envelope)

        async def produce() -> None:
            for n in range(2_000):
                await bus.publish(msg(n))

        await asyncio.gather(produce(), consume())
        return got

    assert run(go()) == list(range(2_000))

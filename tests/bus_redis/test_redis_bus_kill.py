"""Two worker processes on the Redis bus; one is SIGKILLed mid-stream, none of 1,000 is lost.

Each handler applies its effect (a counter) in the same Lua script as the idempotency
marker ``SET <prefix>:done:<id> NX``, so a message redelivered after the kill (its effect
applied, its ack lost) is absorbed: exactly once in effect.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import redis

from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.message import Envelope, register
from omicsoracle.bus.redis_bus import RedisBus

TYPE = register("test.redis_bus", "a message of the Redis bus tests")
MESSAGES = 1000

WORKER = """
import asyncio, sys, time
from redis.asyncio import Redis
from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.message import register
from omicsoracle.bus.redis_bus import RedisBus

url, prefix, name = sys.argv[1:4]
register("test.redis_bus", "a message of the Redis bus tests")
APPLY = '''
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', 600) then
  redis.call('INCR', KEYS[2])
  return 1
end
return 0
'''

async def main():
    bus = RedisBus(url, stream_prefix=prefix, consumer=name, codec=codec_by_name("msgpack"),
                   visibility_timeout=0.5, block_ms=100)
    effects = Redis.from_url(url)  # where the handler's effect lives
    apply = effects.register_script(APPLY)
    while True:
        batch = await bus.get_many(10, timeout=0.5)
        for env in batch:
            time.sleep(0.002)  # some work, so that the kill lands mid-batch
            await effects.hincrby(f"{prefix}:deliveries", env.id, 1)
            await apply(keys=[bus.done_key(env), f"{prefix}:count"])
        await bus.ack_many(batch)

asyncio.run(main())
"""


def _worker(url: str, prefix: str, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WORKER, url, prefix, name])


def _wait_for(condition: str, check: Callable[[], bool], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {condition}")
        time.sleep(0.02)


def test_a_killed_worker_loses_nothing_and_duplicates_are_absorbed(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    sent = [Envelope(TYPE, {"n": i}) for i in range(MESSAGES)]

    async def publish() -> None:
        bus = RedisBus(redis_url, stream_prefix=prefix, codec=codec_by_name("msgpack"))
        try:
            await bus.publish_many(sent)
        finally:
            await bus.close()

    asyncio.run(publish())
    count = f"{prefix}:count"
    victim = _worker(redis_url, prefix, "victim")
    survivor = _worker(redis_url, prefix, "survivor")
    try:
        _wait_for("a third of the messages", lambda: int(client.get(count) or 0) >= MESSAGES // 3)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        done_at_kill = int(client.get(count) or 0)
        _wait_for("every message", lambda: int(client.get(count) or 0) >= MESSAGES)
        # The survivor may still be acknowledging its last batch.
        _wait_for(
            "empty streams",
            lambda: sum(client.xlen(f"{prefix}:p{p}") for p in range(4)) == 0,
        )
    finally:
        for proc in (victim, survivor):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)

    assert done_at_kill < MESSAGES  # the kill did land mid-stream
    assert int(client.get(count) or 0) == MESSAGES
    assert all(client.exists(f"{prefix}:done:{e.id}") for e in sent)
    deliveries = {k.decode(): int(v) for k, v in client.hgetall(f"{prefix}:deliveries").items()}
    assert set(deliveries) == {e.id for e in sent}
    assert client.xpending(f"{prefix}:p1", "workers")["pending"] == 0
    assert client.xlen(f"{prefix}:dead") == 0

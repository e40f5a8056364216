"""Message bus benchmark: codecs on a realistic payload, and each bus's throughput and latency.

    .venv/bin/python -m bench.bus_bench [--json] [--redis-url URL] [--messages 200000]
    omicsoracle bench bus [--json] [--redis-url URL]

- ``codecs``: median microseconds to encode and to decode one envelope holding a page of
  20 search results built from the demo corpus (``tests/bus/bus_payload.py``), for msgpack
  and orjson; ``faster`` names the codec with the smaller encode+decode (the default).
- ``memory``: the in-process bus, bounded (maxsize 1024, policy "wait"), one producer
  task and one consumer task on one event loop (so one core). Throughput: ``--messages``
  envelopes, built beforehand, published one by one and consumed (get + ack).
  ``msgs_per_s`` is the lock-step run (the producer yields after every publish, so every
  message goes through a consumer wake-up, the slow case); ``burst_msgs_per_s`` lets the
  producer fill the queue before the consumer drains it. Latency: a separate run paced
  at half ``msgs_per_s``; each message's latency is from just before ``publish`` to the
  consumer's ``get`` returning it.
- ``redis`` (only with ``--redis-url`` and when ``omicsoracle.bus.redis_bus.RedisBus``
  exists): the same two runs on the Redis bus with the realistic payload, so its figures
  include the codec; the producer publishes in batches (``publish_many``) of ``--batch``
  and the consumer takes and acknowledges batches (``get_many``/``ack_many``); a
  publish refused because the streams are full (``BusFull``) is retried after 1 ms.
  ``--batch`` is 50 by default: each batch costs three round trips (publish, read,
  acknowledge), 70-100 us of CPU each on this VM, which batches of 25 pay twice as
  often; a batch of 100 decodes to ~4 MB of objects, more than the 2 MB L2 cache, and
  decoding and freeing each payload then cost 1.5-2x. 50 was the fastest of 25, 40,
  50, 64 and 100 here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tests.bus.bus_payload import PING_TYPE, page_envelope, page_payload

from omicsoracle.bus import Bus, BusFull, Envelope, MemoryBus, codec_by_name

CODECS = ("msgpack", "orjson")
MAXSIZE = 1024


def _median_us(call: Callable[[], object], rounds: int = 30, batch: int = 200) -> float:
    for _ in range(batch):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return round(statistics.median(samples), 2)


def bench_codecs() -> dict[str, Any]:
    """Encode/decode medians of the realistic envelope for each codec."""
    envelope = page_envelope()
    out: dict[str, Any] = {}
    for name in CODECS:
        codec = codec_by_name(name)
        data = codec.encode(envelope)
        if codec.decode(data) != envelope:
            raise AssertionError(f"{name} does not round-trip the payload")
        encode_us = _median_us(lambda codec=codec: codec.encode(envelope))  # type: ignore[misc]
        decode_us = _median_us(lambda codec=codec, data=data: codec.decode(data))  # type: ignore[misc]
        out[name] = {
            "bytes": len(data),
            "encode_us": encode_us,
            "decode_us": decode_us,
            "round_trip_us": round(encode_us + decode_us, 2),
        }
    out["faster"] = min(CODECS, key=lambda name: out[name]["round_trip_us"])
    return out


async def _consume(bus: Bus, count: int, received: dict[str, float] | None, batch: int = 1) -> None:
    get_many = getattr(bus, "get_many", None)
    ack_many = getattr(bus, "ack_many", None)
    left = count
    if batch > 1 and get_many is not None and ack_many is not None:
        while left:
            left -= await _consume_batch(get_many, ack_many, min(batch, left), received)
        return
    clock = time.perf_counter
    while left:
        envelope = await bus.get(timeout=30)
        if envelope is None:
            raise RuntimeError("bus went quiet for 30 s before every message arrived")
        if received is not None:
            received[envelope.id] = clock()
        await bus.ack(envelope)
        left -= 1


async def _consume_batch(
    get_many: Callable[..., Awaitable[list[Envelope]]],
    ack_many: Callable[[Sequence[Envelope]], Awaitable[None]],
    n: int,
    received: dict[str, float] | None,
) -> int:
    """Get up to ``n`` messages, note when they came, acknowledge them; how many came.

    A function of its own so that the batch is freed as soon as it is handled, as in a
    worker, rather than kept alive through the next read and decode (as a loop variable
    would be): with payloads of ~800 objects, freeing a batch whose memory had left the
    CPU cache cost more than decoding it.
    """
    envelopes = await get_many(n, timeout=30)
    if not envelopes:
        raise RuntimeError("bus went quiet for 30 s before every message arrived")
    if received is not None:
        now = time.perf_counter()
        for envelope in envelopes:
            received[envelope.id] = now
    await ack_many(envelopes)
    return len(envelopes)


async def _publish(bus: Bus, chunk: Sequence[Envelope]) -> None:
    """Publish ``chunk``; a bus that refuses when full (Redis) is retried, as a producer
    on a bounded queue would."""
    while True:
        try:
            if len(chunk) == 1:
                await bus.publish(chunk[0])
            else:
                await bus.publish_many(chunk)
            return
        except BusFull:
            await asyncio.sleep(0.001)


async def throughput(
    bus: Bus, envelopes: Sequence[Envelope], batch: int = 1, *, lockstep: bool = False
) -> float:
    """Messages per second published and consumed, one producer and one consumer.

    ``lockstep`` makes the producer give the loop back after every publish, so each
    message wakes the waiting consumer (the slowest steady state); without it the
    producer runs until the queue is full and the consumer then drains it.
    """

    async def produce() -> None:
        if batch == 1:
            for envelope in envelopes:
                await bus.publish(envelope)
                if lockstep:
                    await asyncio.sleep(0)
        else:
            for start in range(0, len(envelopes), batch):
                await _publish(bus, envelopes[start : start + batch])
                if lockstep:
                    await asyncio.sleep(0)

    began = time.perf_counter()
    await asyncio.gather(produce(), _consume(bus, len(envelopes), None, batch))
    return len(envelopes) / (time.perf_counter() - began)


async def latency(
    bus: Bus, envelopes: Sequence[Envelope], rate: float, batch: int = 1
) -> dict[str, float]:
    """Publish-to-consume latency percentiles (ms) with publishing paced at ``rate``/s."""
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    clock = time.perf_counter

    async def produce() -> None:
        began = clock()
        for start in range(0, len(envelopes), batch):
            due = began + start / rate
            while clock() < due:
                await asyncio.sleep(0)  # let the consumer run while we wait for the slot
            chunk = envelopes[start : start + batch]
            now = clock()
            for envelope in chunk:
                sent[envelope.id] = now
            await _publish(bus, chunk)
            # A paced producer gives the loop back after each publish, as a real one
            # awaiting its next input would; otherwise, once behind schedule, it would
            # fill the queue without letting the consumer run.
            await asyncio.sleep(0)

    began = clock()
    await asyncio.gather(produce(), _consume(bus, len(envelopes), received, batch))
    elapsed = clock() - began
    ms = sorted((received[key] - sent[key]) * 1000 for key in sent)
    return {
        "p50_ms": round(ms[len(ms) // 2], 4),
        "p95_ms": round(ms[int(len(ms) * 0.95)], 4),
        "p99_ms": round(ms[int(len(ms) * 0.99)], 4),
        "rate_per_s": round(rate),
        "achieved_per_s": round(len(envelopes) / elapsed),
    }


def _small_envelopes(count: int) -> list[Envelope]:
    # In process the payload is passed by reference, so its size does not matter.
    payload = page_payload()
    return [Envelope(PING_TYPE, payload) for _ in range(count)]


def _settle() -> None:
    gc.collect()
    gc.freeze()  # the prebuilt envelopes are not garbage; keep collections off them


async def bench_memory(messages: int) -> dict[str, Any]:
    """Throughput and paced latency of the in-process bus."""
    envelopes = _small_envelopes(messages)
    _settle()
    burst = await throughput(MemoryBus(MAXSIZE, "wait"), envelopes)
    rate = await throughput(MemoryBus(MAXSIZE, "wait"), envelopes, lockstep=True)
    paced = envelopes[: max(1000, min(messages, int(rate)))]  # about two seconds
    lat = await latency(MemoryBus(MAXSIZE, "wait"), paced, rate / 2)
    gc.unfreeze()
    return {
        "msgs_per_s": round(rate),
        "p95_ms": lat["p95_ms"],
        "burst_msgs_per_s": round(burst),
        "latency": lat,
    }


# publish_many/get_many size of the Redis runs (see the module docstring for why 50).
BATCH = 50
# gc thresholds of a bus consumer (generation 0 collects after this many allocations).
CONSUMER_GC = (100_000, 50, 1000)
LATENCY_BATCH = 10


def redis_bus_class() -> tuple[type[Any] | None, str]:
    """The other backend if it is there, else None and why."""
    try:
        module = importlib.import_module("omicsoracle.bus.redis_bus")
    except ImportError as exc:
        return None, f"omicsoracle.bus.redis_bus is not importable ({exc})"
    cls = getattr(module, "RedisBus", None)
    if cls is None:
        return None, "omicsoracle.bus.redis_bus has no RedisBus"
    return cls, ""


async def bench_redis(url: str, messages: int, batch: int, codec: str) -> dict[str, Any]:
    """Throughput and paced latency of the Redis bus with the realistic payload."""
    cls, why = redis_bus_class()
    if cls is None:
        return {"skipped": why}
    results: dict[str, Any] = {
        "codec": codec,
        "batch": batch,
        "latency_batch": LATENCY_BATCH,
        "gc_threshold": CONSUMER_GC,
    }
    payload = page_payload()
    # A consumer decoding ~1,000 tree-shaped payloads per batch triggers the cyclic
    # collector constantly at the default threshold (700 allocations): measured here,
    # 3,642 msgs/s and p95 57 ms with it, see docs/benchmarks.md. A worker process
    # sets the same threshold; what it decodes is short-lived and acyclic.
    previous = gc.get_threshold()
    gc.set_threshold(*CONSUMER_GC)
    try:
        return await _bench_redis(cls, url, messages, batch, codec, payload, results)
    finally:
        gc.set_threshold(*previous)


async def _bench_redis(
    cls: type[Any],
    url: str,
    messages: int,
    batch: int,
    codec: str,
    payload: dict[str, Any],
    results: dict[str, Any],
) -> dict[str, Any]:
    for run in ("throughput", "latency"):
        prefix = f"bench-bus-{uuid.uuid4().hex[:8]}"
        bus = cls(
            url, stream_prefix=prefix, group="bench", consumer="c1", codec=codec_by_name(codec)
        )
        try:
            if run == "throughput":
                envelopes = [Envelope(PING_TYPE, payload) for _ in range(messages)]
                _settle()
                results["msgs_per_s"] = round(await throughput(bus, envelopes, batch))
            else:
                rate = results["msgs_per_s"] / 2
                count = max(1000, min(messages, int(rate * 2)))
                envelopes = [Envelope(PING_TYPE, payload) for _ in range(count)]
                _settle()
                # Smaller batches when paced: a batch of 100 at ~5,000/s waits ~20 ms to
                # fill, which is batching delay, not the bus.
                lat = await latency(bus, envelopes, rate, LATENCY_BATCH)
                results["p95_ms"] = lat["p95_ms"]
                results["latency"] = lat
        finally:
            gc.unfreeze()
            await _drop_streams(bus, url, prefix)
            await bus.close()
    return results


async def _drop_streams(bus: Any, url: str, prefix: str) -> None:
    """Delete the streams this run made (the shared Redis must not keep bench data)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"codecs": bench_codecs()}
    results["memory"] = await bench_memory(args.messages)
    if args.redis_url:
        codec = args.codec or results["codecs"]["faster"]
        redis = await bench_redis(args.redis_url, args.redis_messages, args.batch, codec)
        if "skipped" in redis:  # stderr: --json keeps stdout to the one object
            print(f"redis: skipped: {redis['skipped']}", file=sys.stderr)
        else:
            results["redis"] = redis
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--redis-url", default=None, help="also measure the Redis bus")
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--redis-messages", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=BATCH, help="Redis publish_many/get_many size")
    parser.add_argument("--codec", choices=CODECS, default=None, help="Redis codec")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    if args.json:
        # The exact shape: each bus gives only its two acceptance figures.
        for name in ("memory", "redis"):
            if name in results:
                results[name] = {key: results[name][key] for key in ("msgs_per_s", "p95_ms")}
        print(json.dumps(results))
        return
    codecs = results["codecs"]
    print("codecs: one envelope holding a page of 20 search results")
    for name in CODECS:
        c = codecs[name]
        print(
            f"  {name:8} {c['bytes']:6,} bytes  encode {c['encode_us']:7.2f} us"
            f"  decode {c['decode_us']:7.2f} us  round trip {c['round_trip_us']:7.2f} us"
        )
    print(f"  faster: {codecs['faster']}")
    if "memory" in results:
        print(f"memory, burst: {results['memory']['burst_msgs_per_s']:,} msgs/s")
    for name in ("memory", "redis"):
        if name in results:
            r = results[name]
            lat = r["latency"]
            print(
                f"{name}: {r['msgs_per_s']:,} msgs/s; paced at {lat['rate_per_s']:,}/s"
                f" (achieved {lat['achieved_per_s']:,}/s) latency"
                f" p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms"
            )


if __name__ == "__main__":
    main()

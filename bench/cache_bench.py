"""Cache microbenchmark: what the cache adds to a request, in nanoseconds.

    .venv/bin/python -m bench.cache_bench [--redis-url URL] [--rounds 30] [--loop uvloop] [--json]

Medians over ``--rounds`` samples of:

- ``l1_hit``: ``await cache.get_or_compute(key, compute)`` on a warm key (the hot path:
  a dict lookup and a move to the end, nothing encoded, no Redis);
- ``l1_hit_metrics``: the same with a Prometheus counter as ``on_lookup``, as the
  server wires it;
- ``key``: ``cache.key("search", query, filters)`` for a typical search request;
- ``miss``: a single-flight miss computing a small search-like response (task, encoding,
  L1 insert; L1 only, so no Redis write);
- ``l2_hit``: a lookup answered by Redis (``--redis-url``, default the shared server):
  the round trip, decoding and the L1 insert; skipped when Redis does not answer.

Batches of calls are timed together where one call is far below the timer's
resolution; L2 hits, a network round trip each, are timed one by one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter
from redis import Redis
from redis.exceptions import RedisError

from omicsoracle.cache import Cache

MB = 1024 * 1024
BATCH = 2000

RESPONSE = {
    "query": "hepatocellular carcinoma rna-seq",
    "total": 87,
    "results": [
        {
            "accession": f"GSE{100000 + i}",
            "title": "Transcriptome of hepatocellular carcinoma and adjacent liver tissue",
            "snippet": {
                "text": "...tumour and matched non-tumour liver...",
                "highlights": [[3, 9]],
            },
            "organisms": ["Homo sapiens"],
            "types": ["Expression profiling by high throughput sequencing"],
            "platforms": ["GPL16791"],
            "n_samples": 24 + i,
            "release_date": "2019-05-01",
            "pubmed_ids": ["31000000"],
            "score": 12.5 - i / 10,
        }
        for i in range(20)
    ],
    "facets": {"organism": {"Homo sapiens": 80, "Mus musculus": 7}},
    "next_cursor": "c2VhcmNo",
    "did_you_mean": None,
    "relaxed": False,
}
FILTERS = {"organism": ["human"], "min_samples": 20, "sort": "relevance", "limit": 20}


async def _response() -> dict[str, object]:
    return RESPONSE


async def batched(call: Callable[[], Awaitable[object]], rounds: int) -> float:
    """Median nanoseconds per awaited call, from ``rounds`` batches."""
    for _ in range(BATCH):
        await call()
    samples = []
    for _ in range(rounds):
        gc.disable()
        t0 = time.perf_counter_ns()
        for _ in range(BATCH):
            await call()
        samples.append((time.perf_counter_ns() - t0) / BATCH)
        gc.enable()
    return statistics.median(samples)


def batched_sync(call: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        gc.disable()
        t0 = time.perf_counter_ns()
        for _ in range(BATCH):
            call()
        samples.append((time.perf_counter_ns() - t0) / BATCH)
        gc.enable()
    return statistics.median(samples)


async def l1_hit(rounds: int, with_metrics: bool) -> float:
    on_lookup = None
    if with_metrics:
        requests = Counter(
            "cache_requests", "lookups", ["layer", "result"], registry=CollectorRegistry()
        )
        on_lookup = lambda layer, result: requests.labels(layer, result).inc()  # noqa: E731
    cache = Cache(10_000, 128 * MB, 300, on_lookup=on_lookup)
    key = cache.key("search", "hepatocellular carcinoma", FILTERS)
    try:
        return await batched(lambda: cache.get_or_compute(key, _response), rounds)
    finally:
        await cache.close()


def key_cost(rounds: int) -> float:
    cache = Cache(10_000, 128 * MB, 300)
    cache.set_generation(123_456)
    return batched_sync(lambda: cache.key("search", "hepatocellular carcinoma", FILTERS), rounds)


async def miss(rounds: int) -> float:
    # Room for every key, so no eviction cost is mixed in.
    cache = Cache(BATCH * (rounds + 1), 1024 * MB, 300)
    counter = iter(range(10**9))
    try:
        return await batched(lambda: cache.get_or_compute(f"k{next(counter)}", _response), rounds)
    finally:
        await cache.close()


async def l2_hit(url: str, rounds: int) -> float | None:
    cache = Cache(10_000, 128 * MB, 300, redis_url=url, redis_timeout=1.0,
                  namespace=f"bench-{uuid.uuid4().hex[:8]}")  # fmt: skip
    key = cache.key("search", "hepatocellular carcinoma", FILTERS)
    samples = []
    try:
        await cache.set(key, RESPONSE)
        for _ in range(rounds * 20):
            cache.clear_l1()
            gc.disable()
            t0 = time.perf_counter_ns()
            await cache.get(key)
            samples.append(time.perf_counter_ns() - t0)
            gc.enable()
    finally:
        await cache.close()
        client = Redis.from_url(url, socket_connect_timeout=1.0)
        with contextlib.suppress(RedisError):
            client.delete(key)
        client.close()
    if cache.stats()["l2_hits"] != len(samples):
        return None  # Redis did not answer every lookup: these are no L2 hit times
    return statistics.median(samples)


async def run(args: argparse.Namespace) -> dict[str, float | None]:
    return {
        "l1_hit": await l1_hit(args.rounds, with_metrics=False),
        "l1_hit_metrics": await l1_hit(args.rounds, with_metrics=True),
        "key": key_cost(args.rounds),
        "miss": await miss(args.rounds),
        "l2_hit": await l2_hit(args.redis_url, args.rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OMICSORACLE_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        results = uvloop.run(run(args))
    else:
        results = asyncio.run(run(args))
    if args.json:
        print(json.dumps({"median_ns": results, "loop": args.loop}))
        return
    print(f"cache microbenchmark ({args.loop}), median ns per call")
    for name, ns in results.items():
        shown = "skipped (Redis not answering)" if ns is None else f"{ns:12,.0f} ns"
        print(f"  {name:15} {shown}")


if __name__ == "__main__":
    main()

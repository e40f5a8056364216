"""The Prometheus instruments of a process, and what a scrape of them returns.

One server process keeps its values in memory, on prometheus_client's default
registry. Several (``omicsoracle serve --workers N``) each write theirs to files in
``$PROMETHEUS_MULTIPROC_DIR`` and a scrape of any one of them sums the files.

prometheus_client reads that variable once, when ``prometheus_client.values`` is
imported, to choose where every later metric keeps its values. The CLI imports this
module before ``serve`` sets the variable, so the instruments are built on first use
and the choice is re-read then: the variable has to be set before the first value is
recorded, not before the first import.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Most answers take a few milliseconds: finer buckets at the low end than the default.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
AGENT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

CACHE_LAYERS = ("l1", "l2")
CACHE_RESULTS = ("hit", "miss", "error")


class Instruments:
    """Every metric the service exports, registered once per process."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.request_duration = Histogram(
            "request_duration_seconds",
            "HTTP request time by method and route template.",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.active_connections = Gauge(
            "active_connections",
            "Open WebSocket connections.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.agent_processing = Histogram(
            "agent_processing_seconds",
            "Time of one run of a background agent.",
            ["agent"],
            buckets=AGENT_BUCKETS,
            registry=registry,
        )
        self.cache_requests = Counter(
            "cache_requests",
            "Cache lookups by layer (l1, l2) and result (hit, miss, error).",
            ["layer", "result"],
            registry=registry,
        )
        self.db_query_duration = Histogram(
            "db_query_duration_seconds",
            "Database statement time by kind (select, insert, update, delete, other).",
            ["kind"],
            buckets=QUERY_BUCKETS,
            registry=registry,
        )
        self.ingest_records = Counter(
            "ingest_records",
            "Records ingested (committed) by record type.",
            ["record_type"],
            registry=registry,
        )
        self.ingest_errors = Counter(
            "ingest_errors", "Rejected records and failed files at ingest.", registry=registry
        )
        # Each process measures the lag of the index it reads; the worst live one counts.
        self.index_lag = Gauge(
            "index_lag_changes",
            "Store changes not yet in the search index.",
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "queue_depth",
            "Items waiting: ingest jobs not started, events queued for WebSocket clients.",
            ["queue"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        # Children made up front: the cache calls on every lookup, and every series
        # shows (at 0) from the first scrape.
        self.cache_children = {
            (layer, result): self.cache_requests.labels(layer, result)
            for layer in CACHE_LAYERS
            for result in CACHE_RESULTS
        }


_instruments: Instruments | None = None
_build_lock = threading.Lock()


def instruments() -> Instruments:
    """This process's instruments (built on first call)."""
    built = _instruments
    if built is None:
        built = _build()
    return built


def _build() -> Instruments:
    global _instruments
    with _build_lock:
        if _instruments is None:
            if multiprocess_dir() is not None and not getattr(
                values.ValueClass, "_multiprocess", False
            ):
                # The variable was set after prometheus_client was imported (see the
                # module docstring): values go to the files, as the variable asks.
                values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
            _instruments = Instruments()
        return _instruments


def multiprocess_dir() -> Path | None:
    """The directory shared by the server processes, if several run."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


# -- recording ----------------------------------------------------------------------------


def record_cache_lookup(layer: str, result: str) -> None:
    """Count one cache lookup; ``layer`` is l1 or l2, ``result`` hit, miss or error.

    The cache's ``on_lookup`` callback.
    """
    inst = instruments()
    child = inst.cache_children.get((layer, result))
    if child is None:
        child = inst.cache_requests.labels(layer, result)
    child.inc()


def observe_agent(agent: str, seconds: float) -> None:
    """Record one run of a background agent (indexer, ingest, suggester, ...)."""
    instruments().agent_processing.labels(agent).observe(seconds)


@contextmanager
def agent_timer(agent: str) -> Iterator[None]:
    """Time the block as one run of ``agent`` (recorded also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        observe_agent(agent, time.perf_counter() - started)


def count_ingest(records: Mapping[str, int], errors: int) -> None:
    """Count committed records by type, and rejections (records or whole files)."""
    inst = instruments()
    for record_type, n in records.items():
        if n:
            inst.ingest_records.labels(record_type).inc(n)
    if errors:
        inst.ingest_errors.inc(errors)


def connection_opened() -> None:
    """A WebSocket connection was accepted."""
    instruments().active_connections.inc()


def connection_closed() -> None:
    """A WebSocket connection ended."""
    instruments().active_connections.dec()


def set_index_lag(changes: int) -> None:
    """Store changes the index has not applied yet."""
    instruments().index_lag.set(changes)


def set_queue_depth(queue: str, depth: int) -> None:
    """Items waiting in ``queue`` (``ingest``, ``websocket``; the bus adds its own)."""
    instruments().queue_depth.labels(queue).set(depth)


# -- exposition ---------------------------------------------------------------------------


def render(directory: Path | None = None) -> bytes:
    """The Prometheus text exposition of this process or, with several processes
    (``directory``, by default ``$PROMETHEUS_MULTIPROC_DIR``), of all of them."""
    directory = directory or multiprocess_dir()
    if directory is None:
        instruments()  # a scrape before any request still lists every metric
        return generate_latest(REGISTRY)
    # A registry of its own per scrape: the collector reads the files afresh.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def mark_process_dead(pid: int, directory: Path | None = None) -> None:
    """Forget the live gauges (connections, queue depth, index lag) of a server
    process that exited; its counters and histograms keep counting in the sums.

    Call it from whatever supervises the workers when one exits (uvicorn does not);
    a no-op with a single process.
    """
    directory = directory or multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]

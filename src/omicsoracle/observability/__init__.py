"""Prometheus metrics and the slow-query log (``/metrics``; see README "Metrics")."""

from __future__ import annotations

from omicsoracle.observability.dbtiming import instrument_engine, instrument_engines
from omicsoracle.observability.metrics import (
    agent_timer,
    count_ingest,
    mark_process_dead,
    observe_agent,
    record_cache_lookup,
    render,
)

__all__ = [
    "agent_timer",
    "count_ingest",
    "instrument_engine",
    "instrument_engines",
    "mark_process_dead",
    "observe_agent",
    "record_cache_lookup",
    "render",
]

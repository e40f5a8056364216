"""Several server processes: each writes its values to files, a scrape sums them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from metrics_helpers import parse, scrape, value

from omicsoracle.observability import mark_process_dead, render
from omicsoracle.observability.metrics import MULTIPROC_ENV, instruments

# What one server process records; argv[1] sets its amounts apart from the other's.
WORKER = """
import sys
from omicsoracle.observability import metrics
n = int(sys.argv[1])
metrics.count_ingest({"series": n}, 1)
metrics.connection_opened()
metrics.set_index_lag(n)
metrics.set_queue_depth("ingest", 2)
metrics.observe_agent("indexer", 0.5)
metrics.record_cache_lookup("l1", "hit")
"""
# The CLI imports everything before `serve` sets the variable: it must still count.
LATE = """
import os, sys
import prometheus_client
from omicsoracle.observability import metrics
os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
metrics.count_ingest({"platform": 5}, 0)
"""


def _run(code: str, *args: str, directory: Path | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    if directory is not None:
        env[MULTIPROC_ENV] = str(directory)
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env)
    assert proc.wait(timeout=120) == 0
    return proc.pid


def test_values_of_all_processes_are_summed(tmp_path: Path) -> None:
    first = _run(WORKER, "3", directory=tmp_path)
    _run(WORKER, "4", directory=tmp_path)

    samples = parse(render(tmp_path).decode())
    assert value(samples, "ingest_records_total", record_type="series") == 7
    assert value(samples, "ingest_errors_total") == 2
    assert value(samples, "active_connections") == 2  # livesum
    assert value(samples, "index_lag_changes") == 4  # the worst process
    assert value(samples, "queue_depth", queue="ingest") == 4
    assert value(samples, "agent_processing_seconds_count", agent="indexer") == 2
    assert value(samples, "agent_processing_seconds_sum", agent="indexer") == 1.0
    assert value(samples, "cache_requests_total", layer="l1", result="hit") == 2

    # A dead process's live gauges go; what it counted stays in the totals.
    mark_process_dead(first, tmp_path)
    samples = parse(render(tmp_path).decode())
    assert value(samples, "active_connections") == 1
    assert value(samples, "queue_depth", queue="ingest") == 2
    assert value(samples, "ingest_records_total", record_type="series") == 7


def test_the_variable_may_be_set_after_import(tmp_path: Path) -> None:
    _run(LATE, str(tmp_path))
    samples = parse(render(tmp_path).decode())
    assert value(samples, "ingest_records_total", record_type="platform") == 5


def test_metrics_route_renders_the_shared_directory(
    app_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    _run(WORKER, "6", directory=shared)
    instruments()  # this process keeps its in-memory values (built before the variable)
    monkeypatch.setenv(MULTIPROC_ENV, str(shared))
    samples = scrape(app_client)
    assert value(samples, "ingest_records_total", record_type="series") == 6
    assert value(samples, "active_connections") == 1
    # Per-process collectors (gc, process) are not summed across processes.
    assert not any(name.startswith("python_gc") for name, _ in samples)

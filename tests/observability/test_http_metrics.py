"""GET /metrics over a real app: route labels, connections, agents, ingest, gauges."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from metrics_helpers import TOKEN, Samples, scrape, value

from omicsoracle.observability import record_cache_lookup
from omicsoracle.observability.asgi import UNMATCHED

DATA = Path(__file__).parents[1] / "data"
FAMILY = DATA / "soft" / "GSE93431_family.soft.gz"
METRICS = (
    "request_duration_seconds",
    "active_connections",
    "agent_processing_seconds",
    "cache_requests_total",
    "db_query_duration_seconds",
    "ingest_records_total",
    "ingest_errors_total",
    "index_lag_changes",
    "queue_depth",
)


def _until(client: TestClient, done: object, tries: int = 200) -> Samples:
    """Scrape until ``done(samples)`` holds (work finishing in another thread)."""
    for _ in range(tries):
        samples = scrape(client)
        if done(samples):  # type: ignore[operator]
            return samples
        time.sleep(0.05)
    raise AssertionError("the metrics never reached the expected values")


def test_metrics_is_prometheus_text_outside_the_schema(app_client: TestClient) -> None:
    response = app_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    for name in METRICS:
        assert f"# TYPE {name} " in response.text, name
    assert "/metrics" not in app_client.get("/openapi.json").json()["paths"]


def test_route_label_is_the_template_however_many_ids(app_client: TestClient) -> None:
    route = "/api/v1/records/{identifier}"
    earlier = scrape(app_client)
    before = value(earlier, "request_duration_seconds_count", method="GET", route=route)
    for i in range(1000):
        assert app_client.get(f"/api/v1/records/GSE{100_000 + i}").status_code == 404
    app_client.get("/no/such/page")
    app_client.get("/static/app.css")
    app_client.request("BREW", "/api/v1/stats")
    samples = scrape(app_client)

    after = value(samples, "request_duration_seconds_count", method="GET", route=route)
    assert after - before == 1000
    # The registry is the process's: other tests' requests are in it too.
    label_sets = {labels for name, labels in samples if name == "request_duration_seconds_count"}
    known = {labels for name, labels in earlier if name == "request_duration_seconds_count"}
    assert len(label_sets - known) <= 4, sorted(label_sets - known)
    assert value(samples, "request_duration_seconds_count", method="GET", route=UNMATCHED) >= 1
    assert value(samples, "request_duration_seconds_count", method="GET", route="/static") >= 1
    assert value(samples, "request_duration_seconds_count", method="OTHER", route="/api/v1/stats")
    assert not any("GSE" in v for labels in label_sets for _, v in labels)


def test_websockets_are_connections_not_requests(app_client: TestClient) -> None:
    before = value(scrape(app_client), "active_connections")
    with app_client.websocket_connect("/api/v1/ws") as ws:
        ws.send_text('{"subscribe": "nonsense"}')
        assert ws.receive_json()["event"] == "invalid"
        samples = scrape(app_client)
        assert value(samples, "active_connections") == before + 1
    _until(app_client, lambda s: value(s, "active_connections") == before)
    routes = {dict(labels).get("route") for name, labels in scrape(app_client)}
    assert "/api/v1/ws" not in routes


def test_database_statements_are_timed_by_kind(app_client: TestClient) -> None:
    before = value(scrape(app_client), "db_query_duration_seconds_count", kind="select")
    app_client.get("/api/v1/records/GSE1")
    after = value(scrape(app_client), "db_query_duration_seconds_count", kind="select")
    assert after > before


def test_cache_lookups_are_counted() -> None:
    from omicsoracle.observability.metrics import render

    def hits() -> float:
        from metrics_helpers import parse

        return value(parse(render().decode()), "cache_requests_total", layer="l2", result="error")

    before = hits()
    record_cache_lookup("l2", "error")
    record_cache_lookup("l2", "error")
    assert hits() == before + 2


def test_an_ingest_job_feeds_the_agent_ingest_and_gauge_metrics(app_client: TestClient) -> None:
    def agent(s: Samples, name: str) -> float:
        return value(s, "agent_processing_seconds_count", agent=name)

    before = scrape(app_client)
    with FAMILY.open("rb") as fh:
        response = app_client.post(
            "/api/v1/ingest",
            files={"file": (FAMILY.name, fh)},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 202
    job = response.json()["job"]
    for _ in range(1200):
        if app_client.get(f"/api/v1/jobs/{job}").json()["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert app_client.get(f"/api/v1/jobs/{job}").json()["state"] == "done"

    # The suggester runs on the server's next catch-up tick.
    after = _until(app_client, lambda s: agent(s, "suggester") > agent(before, "suggester"))
    assert agent(after, "ingest") == agent(before, "ingest") + 1
    assert agent(after, "indexer") >= agent(before, "indexer") + 1
    series = value(after, "ingest_records_total", record_type="series")
    assert series == value(before, "ingest_records_total", record_type="series") + 1
    assert value(after, "ingest_records_total", record_type="sample") > value(
        before, "ingest_records_total", record_type="sample"
    )
    assert value(after, "index_lag_changes") == 0
    assert value(after, "queue_depth", queue="ingest") == 0
    assert value(after, "queue_depth", queue="websocket") == 0


def test_rejected_files_count_as_ingest_errors(app_client: TestClient, tmp_path: Path) -> None:
    empty = tmp_path / "empty.soft"
    empty.write_bytes(b"")
    before = value(scrape(app_client), "ingest_errors_total")
    with empty.open("rb") as fh:
        response = app_client.post(
            "/api/v1/ingest",
            files={"file": (empty.name, fh)},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 202
    _until(app_client, lambda s: value(s, "ingest_errors_total") > before)


def test_every_metric_is_documented() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    from omicsoracle.observability.metrics import render

    names = {
        line.split()[2] for line in render().decode().splitlines() if line.startswith("# TYPE")
    }
    # prometheus_client's own (python_gc, process) and its *_created timestamps aside.
    ours = {
        n for n in names if not n.startswith(("python_", "process_")) and not n.endswith("_created")
    }
    assert set(METRICS) <= ours
    missing = [n for n in sorted(ours) if f"`{n}`" not in readme]
    assert not missing, f"metrics missing from README.md: {missing}"

"""``POST /api/v1/sync`` (token, job, WebSocket progress, one at a time) and the
scheduled sync of ``serve`` (two apps on one store: one sync per interval)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import PROBLEM, TOKEN, AppFactory
from fastapi.testclient import TestClient

from job_helpers import job_events, wait_for_job
from omicsoracle.api.app import create_app
from omicsoracle.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
import itertools

from standin import EutilsStandin

AUTH = {"authorization": f"Bearer {TOKEN}"}
SINCE, UNTIL = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
BODY = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}


@pytest.fixture
def standin() -> Iterator[EutilsStandin]:
    with EutilsStandin(records=10, start=SINCE, end=UNTIL) as s:
        yield s


def _overrides(standin: EutilsStandin, **extra: Any) -> dict[str, Any]:
    return {
        "api_token": TOKEN,
        "eutils_url": standin.url,
        "geo_ftp_url": standin.ftp_url,
        "sync_requests_per_second": 0,
        "sync_window_days": 400,
        **extra,
    }


def test_sync_needs_the_token(make_client: AppFactory, standin: EutilsStandin) -> None:
    off = make_client(eutils_url=standin.url)
    response = off.post("/api/v1/sync", json=BODY)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    client = make_client(**_overrides(standin))
    for headers in ({}, {"authorization": "Bearer wrong"}):
        assert client.post("/api/v1/sync", json=BODY, headers=headers).status_code == 401
    assert standin.count() == 0


def test_sync_job_with_websocket_progress(make_client: AppFactory, standin: EutilsStandin) -> None:
    client = make_client(**_overrides(standin))
    # The first esearch waits a little, so the subscription sees every event.
    standin.fault("slow", times=1, match="esearch", delay=0.5)
    response = client.post("/api/v1/sync", json=BODY, headers=AUTH)
    assert response.status_code == 202
    job_id = response.json()["job"]
    events = job_events(client, job_id)
    stages = [e.get("stage") for e in events if e["event"] == "progress"]
    assert "window" in stages
    job = wait_for_job(client, job_id)
    assert job["state"] == "done", job
    assert job["kind"] == "sync"
    assert job["result"]["records"] == len(standin.records)
    assert job["params"]["trigger"] == "api"
    found = client.get("/api/v1/records/GSE94489")
    assert found.status_code == 200


def test_one_sync_at_a_time(make_client: AppFactory, standin: EutilsStandin) -> None:
    client = make_client(**_overrides(standin))
    standin.fault("slow", times=1, match="esearch", delay=1.5)
    first = client.post("/api/v1/sync", json=BODY, headers=AUTH)
    assert first.status_code == 202
    second = client.post("/api/v1/sync", json=BODY, headers=AUTH)
    assert second.status_code == 409
    assert "already running" in second.json()["detail"]
    assert wait_for_job(client, first.json()["job"])["state"] == "done"
    third = client.post("/api/v1/sync", json=BODY, headers=AUTH)
    assert third.status_code == 202  # the lease was released
    assert wait_for_job(client, third.json()["job"])["state"] == "done"


def test_failed_sync_job_names_the_request(make_client: AppFactory, standin: EutilsStandin) -> None:
    client = make_client(**_overrides(standin))
    standin.fault("eutils_error", times=None, match="esearch", message="Search Backend failed")
    job_id = client.post("/api/v1/sync", json=BODY, headers=AUTH).json()["job"]
    job = wait_for_job(client, job_id)
    assert job["state"] == "failed"
    assert "esearch" in job["result"]["error"]
    assert "esearch" in job["errors"][0]["reason"]


def test_bad_body_is_refused(make_client: AppFactory, standin: EutilsStandin) -> None:
    client = make_client(**_overrides(standin))
    for body in ({"since": "yesterday"}, {"limit": 0}, {"unknown": 1},
                 {"since": "2024-05-01", "until": "2024-01-01"}):  # fmt: skip
        assert client.post("/api/v1/sync", json=body, headers=AUTH).status_code == 422, body


def test_schedule_runs_once_per_interval_on_one_of_two_apps(
    tmp_path: Path, standin: EutilsStandin
) -> None:
    interval = 1.0
    settings = Settings(data_dir=tmp_path / "var", **_overrides(standin, sync_interval=interval))
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        deadline = time.monotonic() + 60
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = _scheduled_jobs(one)
            if len([r for r in runs if r["state"] in ("done", "failed")]) >= 3:
                break
            time.sleep(0.2)
        del two
    finished = [r for r in runs if r["state"] in ("done", "failed")]
    assert len(finished) >= 3
    assert all(r["state"] == "done" for r in finished), finished
    claimed = sorted(r["params"]["claimed_at"] for r in runs)
    gaps = [b - a for a, b in itertools.pairwise(claimed)]
    assert min(gaps) >= 0.9 * interval, gaps
    # The first run synced everything; later runs resumed and found it unchanged.
    assert finished[0]["result"]["records"] == len(standin.records)


def _scheduled_jobs(client: TestClient) -> list[dict[str, Any]]:
    """Every sync job in the job store both apps share, by the time its slot was claimed."""
    import sqlalchemy as sa

    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    with jobs._engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM jobs WHERE kind = 'sync'"))]
    found = [j.to_dict() for j in (jobs.get(i) for i in ids) if j is not None]
    return sorted(found, key=lambda j: j["params"]["claimed_at"])

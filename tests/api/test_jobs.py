"""Upload-and-ingest jobs: auth, size limit, job state in the store, WebSocket events."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from api_helpers import PROBLEM, TOKEN, AppFactory
from fastapi.testclient import TestClient
from sqlalchemy import text

from job_helpers import job_events
from omicsoracle.api.app import create_app
from omicsoracle.config import Settings
from omicsoracle.jobs import JobStore
from omicsoracle.runtime import Runtime

DATA = Path(__file__).parents[1] / "data"
FAMILY = DATA / "soft" / "GSE93431_family.soft.gz"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def _upload(
    client: TestClient, path: Path, headers: dict[str, str] | None = None, **form: str
) -> Any:
    with path.open("rb") as fh:
        return client.post(
            "/api/v1/ingest", files={"file": (path.name, fh)}, data=form, headers=headers or {}
        )


def _wait(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["state"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def test_write_api_is_off_without_a_token(make_client: AppFactory) -> None:
    client = make_client()
    response = _upload(client, FAMILY, AUTH)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "OMICSORACLE_API_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"}],
)
def test_wrong_or_missing_token_is_401(make_client: AppFactory, headers: dict[str, str]) -> None:
    client = make_client(api_token=TOKEN)
    response = _upload(client, FAMILY, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == PROBLEM


def test_upload_over_the_limit_is_413(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(api_token=TOKEN, max_upload_mb=1)
    big = DATA / "soft" / "GPL97.annot.gz"  # 2.0 MB of real annotation
    assert big.stat().st_size > 1024 * 1024
    response = _upload(client, big, AUTH)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    # Nothing of it is left behind.
    assert not list((tmp_path / "var" / "uploads").rglob("*.gz"))


def test_not_multipart_is_400(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN)
    response = client.post("/api/v1/ingest", content=b"hello", headers=AUTH)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_bad_on_error_option_is_422(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN)
    response = _upload(client, FAMILY, AUTH, on_error="ignore")
    assert response.status_code == 422


def test_ingest_job_returns_at_once_and_ends_searchable(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN)
    response = _upload(client, FAMILY, AUTH)
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["state"] == "queued"
    assert response.headers["location"] == f"/api/v1/jobs/{accepted['job']}"
    job = _wait(client, accepted["job"])
    assert job["state"] == "done", job
    assert job["kind"] == "ingest"
    assert job["params"]["filename"] == FAMILY.name
    assert job["result"]["status"] == "ok"
    # The enrichment step runs after an upload as after `omicsoracle ingest`: the
    # series' entities are stored, not only extracted on the fly.
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    with rt.store.read_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM entities WHERE record_id = 'GSE93431'")
        ).scalar_one()
    assert stored > 0
    assert job["result"]["parsed"]["series"] == 1
    assert job["result"]["parsed"]["sample"] == 32
    assert job["errors"] == []
    assert job["progress"]["records"] >= 33
    # Searchable as soon as the job says done.
    assert client.get("/api/v1/series/GSE93431").status_code == 200
    hits = client.get("/api/v1/search", params={"q": "GSE93431"}).json()["results"]
    assert hits[0]["accession"] == "GSE93431"


def test_job_state_lives_in_the_store(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(api_token=TOKEN)
    job_id = _upload(client, FAMILY, AUTH).json()["job"]
    _wait(client, job_id)
    # Another process reads the same database: here, a JobStore of its own.
    other = JobStore.open(Settings(data_dir=tmp_path / "var"))
    try:
        job = other.get(job_id)
        assert job is not None
        assert job.state == "done"
        assert [e.event for e in other.events_since(job_id, 0)][-1] == "done"
    finally:
        other.close()


def test_bad_records_are_job_errors(make_client: AppFactory, tmp_path: Path) -> None:
    # A real family file whose first sample has a damaged accession: skip mode keeps
    # the rest and reports the bad record with its line.
    with gzip.open(FAMILY, "rt") as fh:
        lines = fh.read().splitlines()
    first_sample = next(i for i, line in enumerate(lines) if line.startswith("^SAMPLE"))
    lines[first_sample] = "^SAMPLE = GSM-damaged"
    broken = tmp_path / "GSE93431_broken.soft"
    broken.write_text("\n".join(lines) + "\n")
    client = make_client(api_token=TOKEN)
    job = _wait(client, _upload(client, broken, AUTH, on_error="skip").json()["job"])
    assert job["n_errors"] == 1, job
    error = job["errors"][0]
    assert error["path"] == broken.name  # the client's name, not a server path
    assert error["line"] == first_sample + 1
    assert error["record"] == "GSM-damaged"
    assert broken.name in error["message"]
    assert job["state"] == "done"
    assert job["result"]["status"] == "partial"


def test_an_unparseable_upload_fails_the_job(make_client: AppFactory, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not a GEO or PubMed file\n")
    client = make_client(api_token=TOKEN)
    job = _wait(client, _upload(client, junk, AUTH).json()["job"])
    assert job["state"] == "failed"
    assert job["n_errors"] >= 1


def test_unknown_and_malformed_job_ids(client: TestClient) -> None:
    missing = client.get(f"/api/v1/jobs/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert client.get("/api/v1/jobs/../../etc").status_code in (404, 422)
    assert client.get("/api/v1/jobs/xyz").status_code == 422


def test_websocket_streams_progress_and_done(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN, ingest_batch_size=5)
    job_id = _upload(client, FAMILY, AUTH).json()["job"]
    events = job_events(client, job_id)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "subscribed"
    assert "progress" in kinds
    assert kinds[-1] == "done"
    assert all(e["job"] == job_id for e in events)
    assert events[-1]["state"] == "done"
    assert events[-1]["result"]["parsed"]["sample"] == 32
    seqs = [e["seq"] for e in events if "seq" in e]
    assert seqs == sorted(seqs)


def test_websocket_heartbeat_and_bad_messages(make_client: AppFactory) -> None:
    client = make_client(ws_heartbeat_seconds=0.2)
    with client.websocket_connect("/api/v1/ws") as ws:
        assert ws.receive_json()["event"] == "heartbeat"
        ws.send_text("not json")
        assert ws.receive_json()["event"] == "invalid"
        ws.send_json({"subscribe": "0" * 32})
        reply = ws.receive_json()
        while reply["event"] == "heartbeat":
            reply = ws.receive_json()
        assert reply["event"] == "unknown"


def test_ingest_is_rate_limited_with_retry_after(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN, rate_limit_per_minute=2, rate_limit_burst=1)
    assert _upload(client, FAMILY, AUTH).status_code == 202
    limited = _upload(client, FAMILY, AUTH)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == PROBLEM
    assert 1 <= int(limited.headers["retry-after"]) <= 30


def test_an_empty_token_setting_keeps_the_write_api_off(make_client: AppFactory) -> None:
    client = make_client(api_token="  ")
    response = _upload(client, FAMILY, {"authorization": "Bearer "})
    assert response.status_code == 403


def test_an_empty_presented_token_is_refused(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN)
    assert _upload(client, FAMILY, {"authorization": "Bearer "}).status_code == 401


def test_wrong_tokens_count_against_the_rate_limit(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN, rate_limit_per_minute=1, rate_limit_burst=2)
    wrong = {"authorization": "Bearer guess"}
    assert [_upload(client, FAMILY, wrong).status_code for _ in range(3)] == [401, 401, 429]


def test_form_fields_count_against_the_upload_limit(make_client: AppFactory) -> None:
    client = make_client(api_token=TOKEN, max_upload_mb=1)
    many = {f"f{i}": "x" * 1000 for i in range(15)}
    too_many = {f"f{i}": "x" for i in range(40)}
    with FAMILY.open("rb") as fh:
        response = client.post(
            "/api/v1/ingest", files={"file": (FAMILY.name, fh)}, data=too_many, headers=AUTH
        )
    assert response.status_code == 400
    assert "form fields" in response.json()["detail"]
    big = b"x" * (1024 * 1024 - 2000)  # the file alone fits; with the fields it does not
    response = client.post(
        "/api/v1/ingest", files={"file": ("a.soft", big)}, data=many, headers=AUTH
    )
    assert response.status_code == 413


def test_websocket_binary_frames_get_an_answer(make_client: AppFactory) -> None:
    client = make_client()
    with client.websocket_connect("/api/v1/ws") as ws:
        ws.send_bytes(b"\x00\xff not json")
        assert ws.receive_json()["event"] == "invalid"
        ws.send_bytes(orjson.dumps({"subscribe": "0" * 32}))
        assert ws.receive_json()["event"] == "unknown"


def test_shutdown_leaves_no_job_queued_or_running(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(api_token=TOKEN)
    ids = [_upload(client, FAMILY, AUTH).json()["job"] for _ in range(3)]
    client.__exit__(None, None, None)  # the server stops at once
    jobs = JobStore.open(Settings(data_dir=tmp_path / "var"))
    try:
        states = {jobs.get(i).state for i in ids}  # type: ignore[union-attr]
    finally:
        jobs.close()
    assert states <= {"done", "failed"}
    assert not list((tmp_path / "var" / "uploads").rglob("*.gz"))


def test_orphans_of_a_dead_predecessor_fail_siblings_keep_running(tmp_path: Path) -> None:
    import os
    import socket

    from sqlalchemy import update

    from omicsoracle.jobs import jobs_table

    store = JobStore.open(Settings(data_dir=tmp_path))
    host = socket.gethostname()
    try:
        reused = store.create("ingest", {})  # our pid, an earlier boot: a restarted container
        sibling = store.create("ingest", {})  # a live process of this host (our parent)
        with store._engine.begin() as conn:  # type: ignore[attr-defined]
            for job, owner in (
                (reused, f"{host}:{os.getpid()}:oldboot"),
                (sibling, f"{host}:{os.getppid()}:otherboot"),
            ):
                conn.execute(
                    update(jobs_table)
                    .where(jobs_table.c.id == job.id)
                    .values(owner=owner, state="running")
                )
        assert store.fail_orphans() == 1
        assert store.get(reused.id).state == "failed"  # type: ignore[union-attr]
        assert store.get(sibling.id).state == "running"  # type: ignore[union-attr]
    finally:
        store.close()


def test_ingest_job_and_search_on_every_store(make_client: AppFactory, store_url: str) -> None:
    # The same API over SQLite and over PostgreSQL (records, jobs and job events all
    # in the server database).
    client = make_client(api_token=TOKEN, database_url=store_url)
    job = _wait(client, _upload(client, FAMILY, AUTH).json()["job"])
    assert job["state"] == "done", job
    assert client.get("/api/v1/series/GSE93431").json()["samples_page"]["total"] == 32
    hits = client.get("/api/v1/search", params={"q": "cohesin chromosome"}).json()["results"]
    assert hits[0]["accession"] == "GSE93431"
    related = client.post("/api/v1/series/related", json={"accessions": ["GSE93431"]}).json()
    assert related["publications"]["GSE93431"]


def test_shutdown_stops_a_long_ingest_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No grace at all: shutdown must ask the running ingest to stop, wait for its
    # thread, and leave nothing half-written (the file's transaction rolls back).
    monkeypatch.setattr("omicsoracle.api.jobs.SHUTDOWN_GRACE_SECONDS", 0.0)
    settings = Settings(data_dir=tmp_path / "var", api_token=TOKEN, ingest_batch_size=20)
    client = TestClient(create_app(settings))
    client.__enter__()
    corpus = DATA.parents[1] / "data" / "corpus" / "geo_series.jsonl.gz"
    job_id = _upload(client, corpus, AUTH).json()["job"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/jobs/{job_id}").json()["state"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client.__exit__(None, None, None)  # the lifespan's shutdown

    jobs = JobStore.open(settings)
    try:
        job = jobs.get(job_id)
        assert job is not None
        assert job.state == "failed"
        reasons = [e.body for e in jobs.events_since(job_id, 0) if e.event == "error"]
        assert any("shut down" in orjson.dumps(r).decode() for r in reasons)
    finally:
        jobs.close()
    with Runtime.open(settings, catch_up_index=False) as rt:
        assert rt.store.stats()["counts"]["series"] == 0
    assert not list((tmp_path / "var").glob("uploads/*/*"))  # the upload was removed

"""Following a job through the API: poll it to its end, or read its WebSocket events."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient


def wait_for_job(client: TestClient, job_id: str, limit: float = 60.0) -> dict[str, Any]:
    """The job once it is done or failed (polled; fails the test after ``limit`` s)."""
    deadline = time.monotonic() + limit
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['state']}"
        time.sleep(0.05)


def job_events(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    """Every event of a job from the WebSocket, heartbeats left out, up to "done"."""
    events: list[dict[str, Any]] = []
    with client.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"subscribe": job_id})
        while True:
            message = ws.receive_json()
            if message.get("event") == "heartbeat":
                continue
            events.append(message)
            if message.get("event") == "done":
                return events

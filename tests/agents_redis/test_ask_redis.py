"""The ask pipeline distributed: an API app on bus=redis only publishes; one
`omicsoracle worker` process runs the agents and answers; SIGTERM stops it cleanly."""

from __future__ import annotations

import signal

from fastapi.testclient import TestClient
from worker_helpers import StartWorker

from job_helpers import wait_for_job
from omicsoracle.api.app import create_app
from omicsoracle.config import Settings

QUESTION = "NSCLC RNA-seq human at least 20 samples"


def test_ask_through_redis_is_answered_by_a_worker_process(
    redis_url: str, agents_prefix: str, demo_settings: Settings, start_worker: StartWorker
) -> None:
    worker, log = start_worker("worker", "--agents", "query,search,enrichment,summary")
    settings = demo_settings.model_copy(
        update={"bus": "redis", "redis_url": redis_url, "agent_stream_prefix": agents_prefix}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.ask_runner.pipeline.runners == []  # no agent runs here
        response = client.post("/api/v1/ask", json={"question": QUESTION})
        assert response.status_code == 202
        job = wait_for_job(client, response.json()["job_id"])
    answer = job["result"]
    assert job["state"] == "done"
    assert answer["partial"] is False, answer["errors"]
    understood = answer["understood"]
    assert "non-small cell lung cancer" in [c["name"] for c in understood["concepts"]]
    assert understood["filters"]["min_samples"] == 20
    assert understood["filters"]["organism"] == ["Homo sapiens"]
    hits = answer["results"]["results"]
    assert hits
    assert all(h["n_samples"] >= 20 and "Homo sapiens" in h["organisms"] for h in hits)
    assert answer["summary"]["text"]
    assert answer["enrichment"]["samples"]["min"] >= 20
    assert job["progress"]["stage"] == "summarized"  # the last stage event

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    text = log.read_text()
    assert "agents query,search,enrichment,summary" in text
    assert "SIGTERM: finishing the requests in flight" in text
    assert "stopped after 4 requests" in text

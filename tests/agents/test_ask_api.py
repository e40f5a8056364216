"""POST /api/v1/ask on the demo corpus: the job holds the answer, the WebSocket shows
the stages in order, bad questions get a clear 422."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from job_helpers import job_events, wait_for_job
from omicsoracle.api.app import create_app
from omicsoracle.config import Settings

QUESTION = "NSCLC RNA-seq human at least 20 samples"


@pytest.fixture(scope="module")
def client(demo_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo_settings.model_copy(update={"bus": "memory"}))) as c:
        yield c


def check_nsclc_answer(job: dict[str, Any]) -> None:
    """What issue 5's acceptance asks of the NSCLC question's answer."""
    assert job["kind"] == "ask"
    assert job["state"] == "done"
    answer = job["result"]
    assert answer["question"] == QUESTION
    assert answer["partial"] is False, answer["errors"]
    understood = answer["understood"]
    # The abbreviation, expanded (curated: never missing).
    assert "non-small cell lung cancer" in [c["name"] for c in understood["concepts"]]
    assert "non-small cell lung cancer" in understood["display"]
    assert understood["filters"]["min_samples"] == 20
    assert understood["filters"]["organism"] == ["Homo sapiens"]
    hits = answer["results"]["results"]
    assert hits
    assert answer["results"]["total"] >= len(hits)
    for hit in hits:
        assert hit["n_samples"] >= 20
        assert "Homo sapiens" in hit["organisms"]
    assert answer["summary"]["text"].startswith(f"{answer['results']['total']:,} series match")
    assert answer["summary"]["top"]["accession"] == hits[0]["accession"]
    assert answer["enrichment"]["samples"]["min"] >= 20
    assert set(answer["timings_ms"]) >= {"query", "search", "enrichment", "summary"}


def test_ask_answers_in_the_job_with_stages_on_the_websocket(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": QUESTION})
    assert response.status_code == 202
    body = response.json()
    job_id = body["job_id"]
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"
    events = job_events(client, job_id)
    stages = [e["stage"] for e in events if e["event"] == "progress"]
    assert stages == ["understood", "searched", "enriched", "summarized"]
    assert events[0]["event"] == "subscribed"
    understood = next(e for e in events if e.get("stage") == "understood")
    assert understood["understood"]["filters"]["min_samples"] == 20
    assert events[-1]["state"] == "done"
    check_nsclc_answer(wait_for_job(client, job_id))


def test_ask_takes_a_limit(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "breast cancer", "limit": 3})
    assert response.status_code == 202
    job = wait_for_job(client, response.json()["job_id"])
    assert job["params"] == {"question": "breast cancer", "limit": 3}
    assert len(job["result"]["results"]["results"]) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 1001}, "question"),
        ({}, "question"),
        ({"question": "HCC", "limit": 0}, "limit"),
        ({"question": "HCC", "limit": 500}, "limit"),
        ({"question": 5}, "question"),
    ],
)
def test_bad_questions_are_refused_with_422(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/ask", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["loc"][-1] for e in problem["errors"]] == [field]
    assert problem["errors"][0]["msg"]

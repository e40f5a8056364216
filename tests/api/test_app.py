"""The minimal HTTP API, in-process (ASGI) on the demo corpus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from omicsoracle.api.app import create_app
from omicsoracle.config import Settings


@pytest.fixture(scope="module")
def client(demo_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo_settings)) as c:
        yield c


def test_search_returns_ranked_json(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "neuroblastoma"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["total"] > 20
    assert body["took_ms"] >= 0
    assert body["results"][0]["score"] >= body["results"][-1]["score"]
    assert (
        "neuroblastoma"
        in (body["results"][0]["title"] + body["results"][0]["snippet"]["text"]).lower()
    )


def test_search_filters(client: TestClient) -> None:
    body = client.get(
        "/api/v1/search",
        params={"q": "liver", "organism": "mouse", "year_from": 2010, "year_to": 2012},
    ).json()
    assert body["total"] > 0
    for hit in body["results"]:
        assert "Mus musculus" in hit["organisms"]
        assert hit["release_date"] is None or "2010" <= hit["release_date"][:4] <= "2012"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "x", "limit": 0}, 422),
        ({"q": "x", "limit": 101}, 422),
        ({"q": "x", "sort": "random"}, 422),
    ],
)
def test_invalid_parameters_are_problem_json(
    client: TestClient, params: dict[str, object], status: int
) -> None:
    response = client.get("/api/v1/search", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_bad_cursor(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "liver", "cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_records(client: TestClient) -> None:
    assert client.get("/api/v1/records/GSE100007").json()["samples_page"]["total"] == 52
    missing = client.get("/api/v1/records/GSE999999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/records/nonsense").status_code == 422


def test_health_and_stats(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["indexed"] == ready["series"]
    assert client.get("/api/v1/stats").json()["counts"]["series"] >= 42129

"""The HTTP API in-process (ASGI) on the demo corpus: search, health, headers, docs."""

from __future__ import annotations

import pytest
from api_helpers import AppFactory
from fastapi.testclient import TestClient

from omicsoracle.api.app import create_app
from omicsoracle.config import Settings


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


def test_search_understands_the_question(client: TestClient) -> None:
    q = "NSCLC RNA-seq human at least 20 samples"
    body = client.get("/api/v1/search", params={"q": q}).json()
    understood = body["understood"]
    assert understood["literal"] is False
    assert understood["filters"] == {
        "organism": ["Homo sapiens"],
        "type": ["Expression profiling by high throughput sequencing"],
        "min_samples": 20,
    }
    [nsclc] = understood["concepts"]
    assert nsclc["text"] == "NSCLC"
    assert nsclc["name"] == "non-small cell lung cancer"
    assert understood["display"].startswith("NSCLC (non-small cell lung cancer)")
    assert [w["text"] for w in understood["from_words"]] == [
        "RNA-seq",
        "human",
        "at least 20 samples",
    ]
    assert body["total"] > 0
    for hit in body["results"]:
        assert "Homo sapiens" in hit["organisms"]
        assert "Expression profiling by high throughput sequencing" in hit["types"]
        assert hit["n_samples"] >= 20
    # The same filters typed as key:value give the same match set.
    explicit = "NSCLC type:rna-seq organism:human samples:>=20"
    assert client.get("/api/v1/search", params={"q": explicit}).json()["total"] == body["total"]


def test_search_literal_matches_the_words_as_typed(client: TestClient) -> None:
    params = {"q": "human liver", "literal": "true"}
    literal = client.get("/api/v1/search", params=params).json()
    assert literal["understood"]["literal"] is True
    assert literal["understood"]["filters"] == {}
    understood = client.get("/api/v1/search", params={"q": "human liver"}).json()
    assert understood["understood"]["filters"] == {"organism": ["Homo sapiens"]}
    assert literal["total"] != understood["total"]
    facets = client.get("/api/v1/facets", params=params).json()
    assert facets["total"] == literal["total"]
    assert client.get("/api/v1/search", params={"q": "x", "literal": "maybe"}).status_code == 422


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


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for path in (
        "/",
        "/api/v1/search?q=liver",
        "/api/v1/series/GSE999999999",
        "/static/js/docs.js",
    ):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "'self'" in script_src
        assert "unsafe-inline" not in script_src
        assert "unsafe-eval" not in script_src
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_large_bodies_are_gzipped(client: TestClient) -> None:
    response = client.get(
        "/api/v1/search", params={"q": "cancer", "limit": 100}, headers={"accept-encoding": "gzip"}
    )
    assert response.headers["content-encoding"] == "gzip"
    small = client.get("/healthz", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_cors_is_closed_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/stats", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/api/v1/search",
        headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_opens_to_configured_origins(make_client: AppFactory) -> None:
    c = make_client(cors_origins=["https://lab.example"])
    allowed = c.get("/healthz", headers={"origin": "https://lab.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://lab.example"
    other = c.get("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_openapi_and_docs_are_served_offline(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/v1/search",
        "/api/v1/suggest",
        "/api/v1/facets",
        "/api/v1/export",
        "/api/v1/series/{accession}",
        "/api/v1/series/{accession}/similar",
        "/api/v1/series/related",
        "/api/v1/ingest",
        "/api/v1/jobs/{job_id}",
    ):
        assert path in schema["paths"], path
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "https://" not in docs.text  # no CDN: the Swagger UI files are ours
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_facets_alone(client: TestClient) -> None:
    full = client.get("/api/v1/search", params={"q": "liver", "organism": "mouse"}).json()
    body = client.get("/api/v1/facets", params={"q": "liver", "organism": "mouse"}).json()
    assert body["total"] == full["total"]
    assert body["facets"] == full["facets"]
    assert "results" not in body


def test_stats_say_data_as_of(client: TestClient) -> None:
    body = client.get("/api/v1/stats").json()
    assert body["data_as_of"]
    assert body["counts"]["publication"] > 0
    assert body["counts"]["dataset"] == 1


def test_search_pages_by_cursor_without_overlap(client: TestClient) -> None:
    first = client.get("/api/v1/search", params={"q": "neuroblastoma", "limit": 10}).json()
    second = client.get(
        "/api/v1/search",
        params={"q": "neuroblastoma", "limit": 10, "cursor": first["next_cursor"]},
    ).json()
    assert second["results"]
    assert {h["accession"] for h in first["results"]}.isdisjoint(
        h["accession"] for h in second["results"]
    )


def test_suggest_completes_titles_terms_and_accessions(client: TestClient) -> None:
    body = client.get("/api/v1/suggest", params={"q": "neurobl", "limit": 8}).json()
    assert body["query"] == "neurobl"
    assert 1 <= len(body["suggestions"]) <= 8
    assert any("neuroblastoma" in s["text"].lower() for s in body["suggestions"])
    nsclc = client.get("/api/v1/suggest", params={"q": "NSCL"}).json()["suggestions"]
    assert any(s["kind"] == "term" and s["text"] == "NSCLC" for s in nsclc)
    series = client.get("/api/v1/suggest", params={"q": "GSE203"}).json()["suggestions"]
    assert series
    assert all(s["accession"].startswith("GSE203") for s in series)
    assert client.get("/api/v1/suggest", params={"q": "  "}).json()["suggestions"] == []


def test_suggest_opens_any_complete_record_id(client: TestClient) -> None:
    # A PubMed article no series of the corpus cites is still one keystroke away.
    pub = client.get("/api/v1/suggest", params={"q": "41603352"}).json()["suggestions"][0]
    assert pub["accession"] == "41603352"
    assert pub["detail"] == "publication"
    assert pub["text"] == client.get("/api/v1/publications/41603352").json()["title"]
    sample = client.get("/api/v1/suggest", params={"q": "gsm11805"}).json()["suggestions"][0]
    assert (sample["accession"], sample["detail"]) == ("GSM11805", "sample")
    assert client.get("/api/v1/suggest", params={"q": "GSE999999999"}).json()["suggestions"] == []


def test_suggest_limit_is_bounded(client: TestClient) -> None:
    assert client.get("/api/v1/suggest", params={"q": "a", "limit": 21}).status_code == 422


def test_405_says_what_is_allowed(client: TestClient) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"] == "application/problem+json"


def test_unexpected_errors_are_problems_with_security_headers(demo_settings: Settings) -> None:
    app = create_app(demo_settings)

    async def boom() -> None:
        raise RuntimeError("/secret/path/in/a/traceback")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"

"""Record routes: full records with links, 404/422 problems, similar, related."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from omicsoracle.runtime import Runtime

PROBLEM = "application/problem+json"


def test_series_with_samples_platforms_publications(client: TestClient) -> None:
    body = client.get("/api/v1/series/GSE100007").json()
    assert body["record_type"] == "series"
    assert body["accession"] == "GSE100007"
    assert body["platforms"]
    page = body["samples_page"]
    assert page["total"] == 52
    assert len(page["items"]) == 50
    rest = client.get(
        "/api/v1/series/GSE100007", params={"samples_offset": 50, "samples_limit": 50}
    ).json()["samples_page"]
    assert rest["offset"] == 50
    assert len(rest["items"]) == 2
    assert {s["accession"] for s in page["items"]}.isdisjoint(s["accession"] for s in rest["items"])


def test_series_publications_carry_relation_and_confidence(client: TestClient) -> None:
    pubs = client.get("/api/v1/series/GSE2034").json()["publications"]
    assert pubs
    assert pubs[0]["pmid"] == "15721472"
    assert pubs[0]["relation"] == "primary"
    assert 0 < pubs[0]["confidence"] <= 1


@pytest.mark.parametrize(
    ("route", "ident", "key"),
    [
        ("samples", "GSM11805", "accession"),
        ("platforms", "GPL20301", "accession"),
        ("datasets", "GDS507", "accession"),
        ("publications", "41603352", "pmid"),
    ],
)
def test_each_record_type(client: TestClient, route: str, ident: str, key: str) -> None:
    response = client.get(f"/api/v1/{route}/{ident}")
    assert response.status_code == 200, response.text
    assert response.json()[key] == ident


def test_dataset_has_subsets_and_table(client: TestClient) -> None:
    body = client.get("/api/v1/datasets/GDS507").json()
    kinds = {(s["type"], s["description"]) for s in body["subsets_detail"]}
    assert ("disease state", "RCC") in kinds
    assert body["table"]["rows"] == 22645


def test_publication_links_back_to_series(client: TestClient) -> None:
    # PMID 41603352 (pubmed26n1335) names two GEO series in its DataBank list.
    body = client.get("/api/v1/publications/41603352").json()
    assert body["title"]
    links = {(link["series"], link["relation"]) for link in body["series_links"]}
    assert {("GSE149758", "mentions"), ("GSE200151", "mentions")} <= links


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/series/GSE999999999", 404),
        ("/api/v1/samples/GSM999999999", 404),
        ("/api/v1/platforms/GPL999999999", 404),
        ("/api/v1/datasets/GDS999999999", 404),
        ("/api/v1/publications/999999999", 404),
        ("/api/v1/series/GSM11805", 422),  # a sample id on the series route
        ("/api/v1/series/nonsense", 422),
        ("/api/v1/samples/GSE1", 422),
        ("/api/v1/publications/PMC123", 422),
        ("/api/v1/series/GSE0", 422),
        ("/api/v1/series/GSE999999999/similar", 404),
        ("/api/v1/series/GDS507/similar", 422),
    ],
)
def test_unknown_is_404_malformed_is_422(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    assert "Traceback" not in response.text


def test_samples_page_bounds_are_validated(client: TestClient) -> None:
    response = client.get("/api/v1/series/GSE100007", params={"samples_limit": 501})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_similar_series_share_the_topic(client: TestClient) -> None:
    body = client.get("/api/v1/series/GSE2034/similar", params={"limit": 5}).json()
    assert body["accession"] == "GSE2034"
    results = body["results"]
    assert len(results) == 5
    assert "GSE2034" not in {r["accession"] for r in results}
    # GSE2034 is "Breast cancer relapse free survival": neighbours are breast cancer studies.
    breast = [r for r in results if "breast" in (r["title"] + r["snippet"]["text"]).lower()]
    assert len(breast) >= 4, [r["title"] for r in results]


def test_related_publications_in_one_statement(client: TestClient) -> None:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = rt.store.read_engine  # type: ignore[attr-defined]
    accessions = [f"GSE{n}" for n in range(2000, 2100)]
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post("/api/v1/series/related", json={"accessions": accessions})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    pubs = response.json()["publications"]
    assert set(pubs) == set(accessions)
    assert pubs["GSE2034"][0]["pmid"] == "15721472"
    assert pubs["GSE2034"][0]["relation"] == "primary"
    # One query for all 100 (the reader's BEGIN is transaction control, not a query).
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1, statements


@pytest.mark.parametrize(
    "body",
    [
        {"accessions": []},
        {"accessions": [f"GSE{n}" for n in range(1, 102)]},
        {"accessions": ["GSM11805"]},
        {"accessions": "GSE2034"},
        {},
    ],
)
def test_related_rejects_bad_bodies(client: TestClient, body: object) -> None:
    response = client.post("/api/v1/series/related", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM

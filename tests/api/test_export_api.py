"""GET /api/v1/export: every match of a search, streamed, in five formats."""

from __future__ import annotations

import csv
import io

import orjson
from api_helpers import PROBLEM, AppFactory
from fastapi.testclient import TestClient


def _total(client: TestClient, **params: object) -> int:
    total: int = client.get("/api/v1/search", params={**params, "limit": 1}).json()["total"]
    return total


def test_csv_has_every_match_not_only_the_first_page(client: TestClient) -> None:
    params = {"q": "neuroblastoma"}
    total = _total(client, **params)
    assert total > 200  # more than one export page (200 rows each)
    response = client.get("/api/v1/export", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="omicsoracle-export.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == total
    assert len({r["accession"] for r in rows}) == total
    first = client.get("/api/v1/search", params={**params, "limit": 5}).json()["results"]
    assert [r["accession"] for r in rows[:5]] == [h["accession"] for h in first]


def test_filters_apply_to_the_export(client: TestClient) -> None:
    params = {"q": "liver", "organism": "mouse", "year_from": 2010, "year_to": 2012}
    body = client.get("/api/v1/export", params={**params, "format": "json"}).json()
    assert len(body) == _total(client, **params)
    assert all("Mus musculus" in row["organisms"] for row in body)


def test_tsv_and_json_agree(client: TestClient) -> None:
    params = {"q": "GDS507 OR renal carcinoma", "organism": "human"}
    tsv = client.get("/api/v1/export", params={**params, "format": "tsv"}).text.splitlines()
    js = orjson.loads(client.get("/api/v1/export", params={**params, "format": "json"}).content)
    header = tsv[0].split("\t")
    assert len(tsv) - 1 == len(js)
    assert all(len(line.split("\t")) == len(header) for line in tsv)
    assert [line.split("\t")[header.index("accession")] for line in tsv[1:]] == [
        row["accession"] for row in js
    ]


def test_no_match_exports_an_empty_document(client: TestClient) -> None:
    params = {"q": "zzzqqqxxy", "format": "json"}
    assert client.get("/api/v1/export", params=params).json() == []
    header = client.get("/api/v1/export", params={**params, "format": "csv"}).text
    assert header.startswith("accession,")


def test_bibtex_and_ris_hold_the_linked_publications(client: TestClient) -> None:
    # Liver series in the demo corpus cite PubMed articles the corpus has no record of:
    # each still gets an entry with what is known (PMID, link, the citing series).
    params = {"q": "liver", "organism": "mouse", "year_from": 2003, "year_to": 2003}
    series = client.get("/api/v1/export", params={**params, "format": "json"}).json()
    cited = {pmid for row in series for pmid in row["pubmed_ids"]}
    assert "15238619" in cited  # GSE363, "Diet induced changes in mouse liver"
    bib = client.get("/api/v1/export", params={**params, "format": "bibtex"})
    assert bib.status_code == 200
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.count("@article{") == len(cited)
    assert "@article{pmid15238619," in bib.text
    assert "GSE363" in bib.text
    assert bib.text.count("{") == bib.text.count("}")
    ris = client.get("/api/v1/export", params={**params, "format": "ris"}).text
    records = [r for r in ris.split("ER  -") if r.strip()]
    assert len(records) == len(cited)
    assert all(r.strip().startswith("TY  - JOUR") for r in records)
    assert ris.count("AN  - 15238619") == 1  # one entry per PMID


def test_unknown_format_is_422(client: TestClient) -> None:
    response = client.get("/api/v1/export", params={"q": "liver", "format": "xlsx"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_export_is_rate_limited(make_client: AppFactory) -> None:
    c = make_client(rate_limit_per_minute=1, rate_limit_burst=2)
    assert [c.get("/api/v1/export").status_code for _ in range(2)] == [200, 200]
    limited = c.get("/api/v1/export")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    # Cheap endpoints are not limited.
    assert c.get("/api/v1/search", params={"q": "x"}).status_code == 200


def test_export_streams_page_by_page(client: TestClient) -> None:
    # Every 200-row page is sent as it is formatted: the body arrives in several
    # chunks, never built whole in memory first.
    with client.stream(
        "GET", "/api/v1/export", params={"q": "neuroblastoma", "format": "tsv"}
    ) as r:
        chunks = [len(chunk) for chunk in r.iter_raw() if chunk]
    assert len(chunks) >= 2

"""The pg engine chosen by settings: it lives in the store's PostgreSQL database and schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from omicsoracle.api.app import create_app
from omicsoracle.config import Settings
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime
from omicsoracle.search import SearchRequest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "data" / "demo" / "GSE93431_family.soft.gz"  # cohesin removal, Hi-C
# Only the PostgreSQL store of the shared ``store_url`` fixture.
on_postgres = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)


def _schema(url: str) -> str:
    options = str(make_url(url).query["options"])
    return options.split("search_path=", 1)[1]


@on_postgres
def test_runtime_with_pg_engine_indexes_in_the_store_schema(store_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=store_url, search_engine="pg")
    with Runtime.open(settings) as rt:
        results = ingest_paths(rt.store, [FIXTURE])
        assert not [p for r in results for p in r.problems]
        caught = rt.catch_up()
        assert caught.applied_change_id == rt.store.max_change_id()
        response = rt.search(SearchRequest("cohesin chromosome organization"))
        assert [h.accession for h in response.results] == ["GSE93431"]
        assert response.results[0].pubmed_ids == ("29094699",)
        with rt.store.read_engine.connect() as conn:  # type: ignore[attr-defined]
            tables = {
                name
                for (name,) in conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :s AND table_name LIKE 'search%'"
                    ),
                    {"s": _schema(store_url)},
                )
            }
    assert tables == {"search_docs", "search_meta", "search_stems", "search_words"}
    # Reopened, the index is found again in the database, up to date.
    with Runtime.open(settings) as rt:
        assert rt.index.applied_change_id() == rt.store.max_change_id()
        assert rt.search(SearchRequest("GSE93431")).total == 1


@on_postgres
def test_app_with_pg_engine_serves_search_end_to_end(store_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=store_url,
        search_engine="pg",
        rate_limit_per_minute=0,
    )
    with Runtime.open(settings) as rt:
        ingest_paths(rt.store, [FIXTURE])
    # The app's own start catches the index up from the store's change log.
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/v1/search", params={"q": "cohesin removal"}).json()
        assert [r["accession"] for r in body["results"]] == ["GSE93431"]
        assert body["results"][0]["snippet"]["highlights"]
        facets = client.get("/api/v1/facets", params={"q": "cohesin"}).json()
        assert facets["facets"]["organism"]
        record = client.get("/api/v1/series/GSE93431").json()
        assert record["accession"] == "GSE93431"


def test_pg_engine_with_a_sqlite_store_is_refused_before_anything_opens(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "var", search_engine="pg")
    with pytest.raises(ValueError, match="not PostgreSQL: set OMICSORACLE_DATABASE_URL"):
        Runtime.open(settings)
    assert not (tmp_path / "var" / "omicsoracle.sqlite").exists()

"""Shared fixtures for the search tests: SearchDocs from the real demo corpus.

``load_corpus()`` merges the two files in data/corpus (42,129 distinct series): for a
series in both, text/organisms/types/platforms/n_samples come from the JSONL (fuller)
and release date, PubMed IDs, datasets and supplementary types from the CSV (the JSONL
has none of those). It is also used by bench/ so benchmarks index the same documents.

Indexes are built once per session in a tmp dir, on a subset for speed: every JSONL
series (all the judged relevance topics live there) plus a deterministic slice of the
CSV-only series, which are title-only like much of old GEO.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from omicsoracle.search import SearchIndex, open_index
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.pg_write import conninfo

ROOT = Path(__file__).resolve().parents[2]
JSONL = ROOT / "data" / "corpus" / "geo_series.jsonl.gz"
CSV = ROOT / "data" / "corpus" / "geo_browse_series_2014.csv.gz"
# The test server of tests/conftest.py (a SQLAlchemy URL, as the store takes it).
PG_URL = os.environ.get(
    "OMICSORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Every pg index of this session lives in a schema with this prefix (dropped at the end).
PG_SCHEMA_PREFIX = f"test_search_{uuid.uuid4().hex[:8]}"


def _pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(conninfo(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


PG_AVAILABLE = _pg_reachable(PG_URL)


def pg_schema_url(directory: Path) -> str:
    """The URL of a schema of this session's own for ``directory`` (created if new).

    The pg engine lives in the schema its URL selects, as it does beside a store; one
    schema per directory keeps the tests' indexes apart, and reopening the directory
    finds its index again.
    """
    digest = hashlib.blake2b(str(directory.resolve()).encode(), digest_size=6).hexdigest()
    schema = f"{PG_SCHEMA_PREFIX}_{digest}"
    with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")  # type: ignore[arg-type]
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def open_engine(engine: str, directory: Path) -> SearchIndex:
    """``open_index`` for the engine tests: pg gets a schema of its own per directory."""
    url = pg_schema_url(directory) if engine == "pg" else None
    return open_index(engine, directory, url)


def drop_pg_schemas() -> None:
    """Drop every schema this session created."""
    if not PG_AVAILABLE:
        return
    with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [PG_SCHEMA_PREFIX + "%"]
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')  # type: ignore[arg-type]


ENGINES = ("tantivy", "sql", "pg") if PG_AVAILABLE else ("tantivy", "sql")
CSV_ONLY_SLICE = 6  # keep every 6th CSV-only series in the test subset (~5.8k)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def _csv_date(value: str) -> str | None:
    try:
        return datetime.strptime(value.strip(), "%b %d, %Y").date().isoformat()
    except ValueError:
        return None


def _read_jsonl(path: Path = JSONL) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _read_csv(path: Path = CSV) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def load_corpus() -> list[SearchDoc]:
    """All 42,129 merged series of the demo corpus, in accession order of appearance."""
    docs: dict[str, SearchDoc] = {}
    for rec in _read_jsonl():
        acc = str(rec["accession"])
        n = rec.get("n_samples")
        docs[acc] = SearchDoc(
            accession=acc,
            title=str(rec.get("title") or ""),
            summary=str(rec.get("summary") or ""),
            overall_design=str(rec.get("overall_design") or ""),
            organisms=list(rec.get("organisms") or []),  # type: ignore[call-overload]
            types=list(rec.get("types") or []),  # type: ignore[call-overload]
            platforms=list(rec.get("platforms") or []),  # type: ignore[call-overload]
            n_samples=int(n) if isinstance(n, int) else None,
            supplementary_types=list(rec.get("supplementary_formats") or []),  # type: ignore[call-overload]
        )
    for row in _read_csv():
        acc = row["Accession"].strip()
        count = row["Sample Count"].strip()
        csv_fields = {
            "release_date": _csv_date(row["Release Date"]),
            "pubmed_ids": _split(row["PubMed ID"]),
            "datasets": _split(row["Datasets"]),
            "supplementary_types": _split(row["Supplementary Types"]),
        }
        doc = docs.get(acc)
        if doc is None:
            docs[acc] = SearchDoc(
                accession=acc,
                title=row["Title"].strip(),
                organisms=_split(row["Taxonomy"]),
                types=_split(row["Series Type"]),
                n_samples=int(count) if count.isdigit() else None,
                **csv_fields,  # type: ignore[arg-type]
            )
        else:
            doc.release_date = csv_fields["release_date"]  # type: ignore[assignment]
            doc.pubmed_ids = csv_fields["pubmed_ids"]  # type: ignore[assignment]
            doc.datasets = csv_fields["datasets"]  # type: ignore[assignment]
            if csv_fields["supplementary_types"]:
                doc.supplementary_types = csv_fields["supplementary_types"]  # type: ignore[assignment]
    return list(docs.values())


def test_subset(docs: list[SearchDoc]) -> list[SearchDoc]:
    """The session subset: all JSONL-backed series plus every Nth CSV-only one."""
    jsonl = {str(r["accession"]) for r in _read_jsonl()}
    csv_only = [d for d in docs if d.accession not in jsonl]
    return [d for d in docs if d.accession in jsonl] + csv_only[::CSV_ONLY_SLICE]


test_subset.__test__ = False  # type: ignore[attr-defined]  # not a test despite the name


@pytest.fixture(scope="session", autouse=True)
def pg_schemas() -> Iterator[None]:
    """Drops this session's pg engine schemas after the last test."""
    yield
    drop_pg_schemas()


@pytest.fixture(name="open_engine")
def open_engine_fixture() -> Callable[[str, Path], SearchIndex]:
    """``open_engine(engine, directory)``: a fresh or reopened index of the engine."""
    return open_engine


@pytest.fixture(scope="session")
def corpus() -> list[SearchDoc]:
    """The whole merged demo corpus."""
    return load_corpus()


@pytest.fixture(scope="session")
def subset(corpus: list[SearchDoc]) -> list[SearchDoc]:
    """Documents indexed by the shared session indexes."""
    return test_subset(corpus)


@pytest.fixture(scope="session")
def indexes(
    subset: list[SearchDoc], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, SearchIndex]]:
    """One read-mostly index per engine over the subset, built once per session."""
    built = {}
    for engine in ENGINES:
        index = open_engine(engine, tmp_path_factory.mktemp(f"shared-{engine}"))
        index.apply(subset, [], upto_change_id=len(subset))
        built[engine] = index
    yield built
    for index in built.values():
        index.close()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Engine name; tests taking it run once per engine."""
    return str(request.param)


@pytest.fixture
def index(engine: str, indexes: dict[str, SearchIndex]) -> SearchIndex:
    """The shared session index of the engine under test (do not write to it)."""
    return indexes[engine]

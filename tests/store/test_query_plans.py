"""The store's read queries use indexes on realistic data, and page in few statements.

The plans are those of the statements the store really sends (captured from its read
engine, with their parameters), on a store loaded through the ingest functions with
the demo corpus (42k series, 30k links, 74k changes) plus generated samples and
ingest runs, so that every table these reads touch is large. After ANALYZE, a
sequential scan over a large table fails the test (PostgreSQL ``EXPLAIN (FORMAT
JSON)``; SQLite ``EXPLAIN QUERY PLAN``: a ``SCAN`` without an index).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from omicsoracle.ingest import ingest_paths
from omicsoracle.model import Sample
from omicsoracle.store import Store, open_store

REPO = Path(__file__).resolve().parents[2]
DEMO_PATHS = [REPO / "data" / "corpus", REPO / "data" / "demo"]
# A table with at least this many rows counts as large: a scan of it is a bug.
LARGE = 2000
# Tables the checked reads touch that must be large here, or the test proves nothing.
MUST_BE_LARGE = {"series", "samples", "series_samples", "relationships", "changes", "ingest_runs"}
# Generated samples, spread as in GEO: a batch of 100 series touches a few percent.
SAMPLES_PER_SERIES = 20
SAMPLED_SERIES = 1000
PADDING_RUNS = 3000
# Links and samples of other series, added in bulk (SQL), so that these two tables
# have the size of a real deployment's (GEO: millions): at a few thousand rows
# reading all of a table is cheaper than 100 index probes, and the planner knows it.
PADDING_SAMPLES = 400_000
# The size of a real sample record (title, source, a dozen characteristics).
PADDING_DOC = json.dumps(
    {
        "title": "liver, replicate 1",
        "source_name": "primary hepatocytes",
        "characteristics": [[f"key {k}", f"value of characteristic {k}"] for k in range(16)],
        "description": "RNA extracted with TRIzol; " * 8,
    }
)
_PADDING = (
    "INSERT INTO {table} ({columns}) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
    "SELECT i + 1 FROM n WHERE i < :count) SELECT {values} FROM n"
)


ANALYZED = (
    "series",
    "samples",
    "series_samples",
    "relationships",
    "changes",
    "ingest_runs",
    "publications",
    "publication_terms",
    "datasets",
    "data_tables",
)
# SQLite plans name a table by its alias in the store's queries.
ALIASES = {"l": "series_samples", "s": "samples", "r": "relationships", "p": "publications",
           "t": "publication_terms"}  # fmt: skip


def _load(store: Store) -> tuple[list[str], str]:
    """Demo corpus + generated samples + past runs: 100 series (50 sampled), a PMID."""
    results = ingest_paths(store, DEMO_PATHS)
    assert not [p for r in results for p in r.problems]
    first = next(store.iter_series_accessions(2000))
    sampled = first[:SAMPLED_SERIES]
    page = first[SAMPLED_SERIES - 50 : SAMPLED_SERIES + 50]
    samples = [
        Sample(
            accession=f"GSM9{i:03d}{j:03d}",
            source="geo_soft",
            title=f"{acc} sample {j}",
            series=[acc],
            characteristics=[("tissue", "liver")],
        )
        for i, acc in enumerate(sampled)
        for j in range(SAMPLES_PER_SERIES)
    ]
    with store.transaction(None) as tx:
        tx.write(samples)
    engine = store._write  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ingest_runs (path, file_hash, format, on_error, status, "
                "started_at, counts, errors) VALUES (:p, :h, 'soft', 'abort', :s, "
                "'2024-01-01T00:00:00', '{}', '[]')"
            ),
            [
                {"p": f"/old/{n}.soft", "h": f"{n:064x}", "s": "ok" if n % 3 else "failed"}
                for n in range(PADDING_RUNS)
            ],
        )
    with engine.begin() as conn:
        conn.execute(
            text(
                _PADDING.format(
                    table="samples",
                    columns="accession, doc, content_hash, updated_at",
                    values="'GSM8' || i, :doc, 'x', '2024-01-01T00:00:00'",
                )
            ),
            {"count": PADDING_SAMPLES, "doc": PADDING_DOC},
        )
        conn.execute(
            text(
                _PADDING.format(
                    table="series_samples",
                    columns="series, sample",
                    values="'GSE8' || (i / 40), 'GSM8' || i",
                )
            ),
            {"count": PADDING_SAMPLES},
        )
    with engine.begin() as conn:
        for table in ANALYZED:
            conn.execute(text(f"ANALYZE {table}"))
        # A publication linked to a series, for its record page.
        pmid = conn.execute(
            text("SELECT min(p.pmid) FROM publications p JOIN relationships r ON r.pmid = p.pmid")
        ).scalar_one()
    return page, str(pmid)


@contextmanager
def _captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(_c: object, _cur: object, statement: str, params: Any, *_a: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    engine = store.read_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _exercise(store: Store, page: list[str], pmid: str) -> None:
    """The reads behind record pages, related publications and the index feed."""
    record = store.get(page[0], sample_limit=10, sample_offset=10)
    assert record is not None
    assert record["samples_page"]["total"] == SAMPLES_PER_SERIES
    assert store.get(f"GSM9000{SAMPLES_PER_SERIES - 1:03d}") is not None
    assert store.get(pmid)["series_links"]  # type: ignore[index]
    assert len(store.publications_of(page)) == 100
    assert len(store.search_docs(page)) == 100
    middle = store.max_change_id() // 2
    changes = store.changes_since(middle, 1000)
    store.affected_series(changes)
    store.change_fingerprint(middle)
    pages = store.iter_series_accessions(2000)
    next(pages)
    next(pages)
    assert not store.seen_file("f" * 64)


def _row_counts(store: Store) -> dict[str, int]:
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ANALYZED
        }


def _pg_scans(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield str(plan["Relation Name"])
    for child in plan.get("Plans", ()):
        yield from _pg_scans(child)


def _scanned_tables(store: Store, statement: str, params: Any) -> list[str]:
    """Tables the plan of ``statement`` reads in full (no index)."""
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        if store.url.startswith("postgresql"):
            raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar_one()
            plan = raw if isinstance(raw, list) else json.loads(raw)
            return list(_pg_scans(plan[0]["Plan"]))
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    scanned = []
    for *_ids, detail in rows:
        words = str(detail).split()
        if words[0] == "SCAN" and "INDEX" not in words and "KEY" not in words:
            scanned.append(words[1])
    return scanned


def test_store_reads_use_indexes_on_large_tables(store_url: str) -> None:
    store = open_store(store_url)
    try:
        page, pmid = _load(store)
        counts = _row_counts(store)
        large = {t for t, n in counts.items() if n >= LARGE}
        assert large >= MUST_BE_LARGE, counts
        with _captured(store) as statements:
            _exercise(store, page, pmid)
        assert len(statements) > 15
        offenders = []
        for statement, params in statements:
            scanned = _scanned_tables(store, statement, params)
            full = {ALIASES.get(t, t) for t in scanned} & large
            if full:
                offenders.append((sorted(full), " ".join(statement.split())[:160]))
        assert not offenders, offenders
    finally:
        store.close()


def test_related_records_of_a_result_page_take_one_statement(store_url: str) -> None:
    # What the API sends for a page of 100 search results (POST /series/related):
    # one statement for all of their publications, on either backend.
    store = open_store(store_url)
    try:
        results = ingest_paths(store, [REPO / "data" / "demo"])
        assert not [p for r in results for p in r.problems]
        stored = [a for batch in store.iter_series_accessions() for a in batch]
        page = (stored + [f"GSE{n}" for n in range(1, 101)])[:100]
        with _captured(store) as statements:
            related = store.publications_of(page)
        assert len(statements) == 1, statements
        assert set(related) == set(page)
        assert sum(map(len, related.values())) > 0
    finally:
        store.close()

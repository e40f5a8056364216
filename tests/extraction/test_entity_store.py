"""The enrichment step on SQLite and PostgreSQL: stored, incremental, re-runnable."""

from __future__ import annotations

from pathlib import Path

from omicsoracle.extraction.store import enrich, entities_of
from omicsoracle.ingest import ingest_paths
from omicsoracle.store import Store

REPO = Path(__file__).resolve().parents[2]
MINIML = REPO / "tests" / "data" / "miniml" / "GSE100007_family.xml"
PUBMED = REPO / "tests" / "data" / "pubmed" / "pubmedsample_2019.xml.gz"


def test_enrich_stores_entities_and_characteristics(store: Store) -> None:
    results = ingest_paths(store, [MINIML])
    assert all(r.ok for r in results)
    first = enrich(store)
    assert first.records["series"] == 1
    assert first.records["sample"] > 10
    assert first.entities > 0
    assert first.characteristics > 0

    series = entities_of(store, "gse100007")
    assert series is not None
    assert series["id"] == "GSE100007"
    types = {e["type"] for e in series["entities"]}
    assert {"organism", "cell_type", "tissue"} <= types
    keys = {(c["key"], c["value"]) for c in series["characteristics"]}
    assert ("cell type", "Human embryonic stem cells (hESC)") in keys

    # The characteristics' cell type values joined the vocabulary: found in sample text.
    sample = entities_of(store, series["characteristics"][0]["sample"])
    assert sample is not None
    assert any(e["source"] == "corpus characteristics" for e in sample["entities"])

    # Nothing changed: nothing to do; --all does everything again, same result.
    assert enrich(store).entities == 0
    again = enrich(store, full=True)
    assert again.entities == first.entities
    assert entities_of(store, "GSE100007") == series


def test_only_changed_records_are_enriched(store: Store) -> None:
    ingest_paths(store, [MINIML])
    enrich(store)
    ingest_paths(store, [PUBMED])
    report = enrich(store)
    assert set(report.records) == {"publication"}
    pmid = next(iter(store.publication_docs(["10094537"]) or [{}])).get("pmid") or None
    if pmid:
        assert entities_of(store, pmid) is not None


def test_unknown_and_malformed(store: Store) -> None:
    assert entities_of(store, "GSE999999") is None
    try:
        entities_of(store, "nonsense")
    except ValueError:
        pass
    else:
        raise AssertionError("a malformed id is a ValueError")

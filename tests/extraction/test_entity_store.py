"""The enrichment step on SQLite and PostgreSQL: stored, incremental, re-runnable."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_vocabulary_reads_the_stored_platform_annotations(store: Store) -> None:
    """Gene symbols come from the platform annotations in the store (GPL97.annot here),
    old ones resolved to today's HGNC symbol; without them, from HGNC alone."""
    from omicsoracle.extraction import vocabulary
    from omicsoracle.extraction.store import vocabulary_for

    bare, before = vocabulary_for(store)
    renamed = {
        sym: official
        for sym, (official, source) in vocabulary.gene_table().items()
        if source == "platform symbol, HGNC official" and sym not in bare.exact
    }
    assert renamed, "GPL97's 2008 symbols include renamed genes"
    results = ingest_paths(store, [REPO / "tests" / "data" / "soft" / "GPL97.annot.gz"])
    assert all(r.ok for r in results)
    vocab, after = vocabulary_for(store)
    assert after != before  # a new annotation is a new vocabulary (enrich --all to apply)
    found = [vocab.exact.get(sym) for sym in renamed]
    assert sum(t is not None for t in found) > 0.9 * len(renamed)
    sym, official = next((s, o) for s, o in renamed.items() if vocab.exact.get(s))
    term = vocab.exact[sym]
    assert (term.type, term.normalized, term.source) == (
        "gene",
        official,
        "platform symbol, HGNC official",
    )


def test_a_store_enriched_by_another_extractor_version_is_enriched_again(store: Store) -> None:
    from sqlalchemy import text

    from omicsoracle.extraction.store import outdated

    ingest_paths(store, [MINIML])
    first = enrich(store)
    assert not first.full
    assert not outdated(store)
    assert enrich(store).entities == 0  # up to date: nothing to do
    with store.transaction(None) as session:  # as an older version left it
        session.conn.execute(  # type: ignore[attr-defined]
            text("UPDATE enrichment_state SET vocabulary = '1:0123' WHERE name = 'entities'")
        )
    assert outdated(store)
    # An upload job's enrichment does not turn into a whole-corpus pass: it says so,
    # enriches what the upload wrote, and leaves the store marked for the upgrade.
    ingest_paths(store, [PUBMED])
    quiet = enrich(store)
    assert quiet.outdated
    assert not quiet.full
    assert set(quiet.records) == {"publication"}
    assert outdated(store)
    again = enrich(store, upgrade=True)  # the CLI's ingest and enrich
    assert again.full
    assert again.entities > first.entities  # the MINIML series and the PubMed articles
    assert not outdated(store)


def test_an_idle_enrichment_moves_past_its_own_annotation_changes(store: Store) -> None:
    from sqlalchemy import text

    ingest_paths(store, [MINIML])
    first = enrich(store)
    assert first.series == 1  # one annotation row queued for the index
    idle = enrich(store)
    assert idle.entities == 0
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        state = conn.execute(
            text("SELECT change_id FROM enrichment_state WHERE name = 'entities'")
        ).scalar_one()
    assert state == idle.last_change == store.max_change_id()


def test_a_run_in_small_windows_writes_what_one_window_writes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change log is read WINDOW records at a time (bounded memory at GEO scale)."""
    from omicsoracle.extraction import store as enrichment

    ingest_paths(store, [MINIML, PUBMED])
    monkeypatch.setattr(enrichment, "WINDOW", 7)
    windowed = enrich(store)
    assert windowed.records["sample"] > 7
    found = {k: entities_of(store, k) for k in ("GSE100007", "10094537")}
    monkeypatch.setattr(enrichment, "WINDOW", 200_000)
    whole = enrich(store, full=True)
    assert (whole.entities, whole.characteristics) == (windowed.entities, windowed.characteristics)
    assert whole.series == windowed.series
    assert {k: entities_of(store, k) for k in found} == found
    monkeypatch.setattr(enrichment, "WINDOW", 7)
    assert enrich(store, full=True).entities == whole.entities  # --all in windows too

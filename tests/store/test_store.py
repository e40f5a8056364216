"""Store behaviour on every backend (SQLite, PostgreSQL): upserts, merge rule, change log, rollback, backup."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from omicsoracle.model import (
    Author,
    MeshHeading,
    Publication,
    PublicationDeletion,
    Relationship,
    Sample,
    Series,
)
from omicsoracle.store import Store, open_store


def _jsonl_series() -> Series:
    return Series(
        accession="GSE53",
        source="geo_jsonl",
        title="Human mammary epithelium and breast cancer",
        summary="Distinctive gene expression patterns in human mammary epithelial cells.",
        organisms=["Homo sapiens"],
        types=["Expression profiling by array"],
        platforms=["GPL170"],
        n_samples=26,
    )


def _csv_series() -> Series:
    return Series(
        accession="GSE53",
        source="geo_browse_csv",
        title="Human mammary epithelium and breast cancer (csv title)",
        organisms=["Homo sapiens"],
        n_samples=25,
        release_date="2001-03-02",
        pubmed_ids=["10963602"],
        contact="Charles Perou",
    )


def test_merge_rule_is_order_independent(store: Store, other_store: Store) -> None:
    with store.transaction(None) as tx:
        tx.write([_jsonl_series()])
        tx.write([_csv_series()])
    first = store.get("GSE53")
    assert first is not None
    # text, organisms, types, platforms, sample count from the JSONL ...
    assert first["title"] == "Human mammary epithelium and breast cancer"
    assert first["n_samples"] == 26
    # ... release date, PubMed IDs, contact from the CSV.
    assert first["release_date"] == "2001-03-02"
    assert first["pubmed_ids"] == ["10963602"]
    assert first["contact"] == "Charles Perou"

    with other_store.transaction(None) as tx:
        tx.write([_csv_series()])
        tx.write([_jsonl_series()])
    second = other_store.get("GSE53")
    assert second is not None
    drop = ("updated_at",)
    assert {k: v for k, v in first.items() if k not in drop} == {
        k: v for k, v in second.items() if k not in drop
    }


def test_upsert_is_idempotent_and_logged(store: Store) -> None:
    with store.transaction(None) as tx:
        tx.write([_jsonl_series()])
        assert tx.counts.inserted == {"series": 1}
    assert [c.accession for c in store.changes_since(0, 10)] == ["GSE53"]
    with store.transaction(None) as tx:
        tx.write([_jsonl_series()])
        assert tx.counts.unchanged == {"series": 1}
        assert tx.counts.changed == 0
    assert store.max_change_id() == 1  # nothing new in the log
    changed = _jsonl_series()
    changed.summary = "A revised summary."
    with store.transaction(None) as tx:
        tx.write([changed])
        assert tx.counts.updated == {"series": 1}
    assert store.max_change_id() == 2


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    def write_then_fail() -> None:
        with store.transaction(None) as tx:
            tx.write([_jsonl_series()])
            raise RuntimeError("parser failed half-way")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert store.get("GSE53") is None
    assert store.max_change_id() == 0


def test_links_and_deletion(store: Store) -> None:
    article = Publication(
        pmid="33002004",
        source="pubmed_xml",
        title="An article",
        year=2020,
        authors=[Author(last_name="Doe", fore_name="Jane", initials="J")],
        mesh=[MeshHeading(descriptor="Neuroblastoma", major=True)],
        geo_accessions=["GSE53"],
    )
    with store.transaction(None) as tx:
        tx.write(
            [
                _jsonl_series(),
                Sample(accession="GSM1", source="geo_soft", title="tumour 1", series=["GSE53"]),
                article,
                Relationship("GSE53", "33002004", "mentions", "pubmed_databank", 0.9),
                Relationship("GSE53", "10963602", "primary", "geo_soft", 1.0),
            ]
        )
    series = store.get("GSE53")
    assert series is not None
    assert series["samples_page"]["total"] == 1
    assert {(p["pmid"], p["source"]) for p in series["publications"]} == {
        ("33002004", "pubmed_databank"),
        ("10963602", "geo_soft"),
    }
    doc = store.search_docs(["GSE53"])[0]
    assert doc.samples == ["GSM1"]
    assert set(doc.pubmed_ids) == {"33002004", "10963602"}
    assert "Neuroblastoma" in doc.extra_text
    assert "tumour 1" in doc.extra_text

    with store.transaction(None) as tx:
        tx.write([PublicationDeletion(pmids=["33002004"])])
        assert tx.counts.deleted == {"publication": 1, "relationship": 1}
    assert store.get("33002004") is None
    series = store.get("GSE53")
    assert series is not None
    # The submitter's own link stays; PubMed's link goes with the withdrawn article.
    assert [p["pmid"] for p in series["publications"]] == ["10963602"]
    affected, _ = store.affected_series(store.changes_since(0, 100))
    assert affected == {"GSE53"}


def test_malformed_and_unknown_identifiers(store: Store) -> None:
    assert store.get("GSE999999") is None
    assert store.get("12345") is None
    with pytest.raises(ValueError, match="not a GEO accession"):
        store.get("GSEabc")


def test_backup_is_a_consistent_copy(store: Store, tmp_path: Path) -> None:
    with store.transaction(None) as tx:
        tx.write([_jsonl_series()])
    target = tmp_path / "copy" / "backup"
    store.backup(target)
    if store.url.startswith("postgresql"):
        # A pg_dump archive of this store's schema: its data restores as SQL.
        restored = subprocess.run(
            ["pg_restore", "--file=-", str(target)], check=True, capture_output=True, text=True
        ).stdout
        assert "GSE53" in restored
        assert "CREATE TABLE" in restored
        return
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("SELECT count(*) FROM series").fetchone() == (1,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_writers_of_two_processes_commit_in_change_id_order(store_url: str) -> None:
    # The index feed reads changes with id > last applied: a writer that took a lower
    # id but committed later would be skipped for good. Writers serialise instead
    # (SQLite's write lock, PostgreSQL's advisory lock), so ids commit in order.
    first, second = open_store(store_url), open_store(store_url)
    order: list[str] = []
    inside = threading.Event()
    try:

        def late_writer() -> None:
            inside.wait(10)
            with second.transaction(None) as tx:
                tx.write([dataclasses.replace(_jsonl_series(), accession="GSE54")])
                order.append("second writes")

        thread = threading.Thread(target=late_writer)
        thread.start()
        with first.transaction(None) as tx:
            tx.write([_jsonl_series()])
            inside.set()
            time.sleep(0.5)  # the second writer is now waiting for us
            order.append("first commits")
        thread.join(30)
        assert order == ["first commits", "second writes"]
        changes = first.changes_since(0, 10)
        assert [c.accession for c in changes] == ["GSE53", "GSE54"]
        assert changes[0].id < changes[1].id
    finally:
        first.close()
        second.close()

"""The enrichment's extraction processes: same store as in-process, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from omicsoracle.extraction import store as enrichment
from omicsoracle.extraction.worker import ExtractorDied, ExtractorPool
from omicsoracle.ingest import ingest_paths
from omicsoracle.store import Store

REPO = Path(__file__).resolve().parents[2]
MINIML = REPO / "tests" / "data" / "miniml" / "GSE100007_family.xml"
PUBMED = REPO / "tests" / "data" / "pubmed" / "pubmedsample_2019.xml.gz"


def _tables(store: Store) -> dict[str, list[Any]]:
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            "entities": [
                tuple(r)
                for r in conn.execute(text("SELECT * FROM entities ORDER BY record_id, seq"))
            ],
            "characteristics": [
                tuple(r)
                for r in conn.execute(
                    text("SELECT * FROM sample_characteristics ORDER BY sample, seq")
                )
            ],
            "state": [
                tuple(r)
                for r in conn.execute(text("SELECT change_id, vocabulary FROM enrichment_state"))
            ],
        }


def test_parallel_enrichment_writes_what_one_process_writes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert all(r.ok for r in ingest_paths(store, [MINIML, PUBMED]))
    monkeypatch.setattr(enrichment, "PARALLEL_MIN_RECORDS", 1)
    parallel = enrichment.enrich(store, jobs=2)
    assert parallel.records["sample"] > 10
    assert parallel.records["publication"] > 0
    after_parallel = _tables(store)
    assert after_parallel["entities"]

    alone = enrichment.enrich(store, full=True, jobs=1)
    assert alone.entities == parallel.entities
    again = _tables(store)
    assert again["entities"] == after_parallel["entities"]  # rows and spans
    assert again["characteristics"] == after_parallel["characteristics"]
    # The same vocabulary fingerprint (the change id moved past the annotation rows).
    assert [v for _, v in again["state"]] == [v for _, v in after_parallel["state"]]


def test_a_worker_killed_mid_enrichment_fails_it_and_a_rerun_completes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert all(r.ok for r in ingest_paths(store, [MINIML, PUBMED]))
    before = _tables(store)["state"]

    class Killing(ExtractorPool):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.procs[1].proc.kill()  # as the OOM killer would

    monkeypatch.setattr(enrichment, "PARALLEL_MIN_RECORDS", 1)
    monkeypatch.setattr(enrichment, "ExtractorPool", Killing)
    with pytest.raises(ExtractorDied, match="killed by signal 9"):
        enrichment.enrich(store, jobs=2)
    # The position did not move: the next run redoes every record, nothing is lost.
    assert _tables(store)["state"] == before
    monkeypatch.setattr(enrichment, "ExtractorPool", ExtractorPool)
    rerun = enrichment.enrich(store, jobs=2)
    assert rerun.records["sample"] > 10
    clean = _tables(store)
    enrichment.enrich(store, full=True, jobs=1)
    assert _tables(store)["entities"] == clean["entities"]


def test_a_document_a_worker_cannot_read_is_a_clear_error() -> None:
    with ExtractorPool(1, [("tissue", "liver")], {}) as pool:
        good = '{"accession": "GSM1", "title": "liver tissue", "characteristics": []}'
        ((record_type, keys, rows),) = pool.map([("sample", ["GSM1"], [("GSM1", good)])])
        assert (record_type, keys) == ("sample", ["GSM1"])
        assert {"tissue"} <= {r["type"] for r in rows}
        with pytest.raises(ExtractorDied, match="JSONDecodeError"):
            list(pool.map([("sample", ["GSM2"], [("GSM2", "{not json")])]))

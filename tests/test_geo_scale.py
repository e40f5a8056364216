"""The GEO-scale generator: every accession it writes is one GEO could issue."""

from __future__ import annotations

import sys
from pathlib import Path

from omicsoracle.ingest import ingest_paths
from omicsoracle.model import ACCESSION_RE
from omicsoracle.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is not installed
from bench import geo_scale


def test_sample_numbers_are_consecutive_and_valid_at_full_size() -> None:
    plan = geo_scale.plan_for("full")
    offsets = geo_scale.sample_offsets(plan)
    last_chunk = len(offsets) - 1
    end = offsets[-1] + geo_scale.chunk_samples(plan, last_chunk)
    # 7.5M samples from GSM10000000: 8 digits, as GEO's own (a block of 5,000 numbers
    # per series reached GSM1000000000 at series 198,000, which the ingest rejects).
    assert 7_400_000 < end - geo_scale.SAMPLE_BASE < 7_600_000
    assert ACCESSION_RE.match(f"GSM{end - 1}")
    assert offsets == sorted(set(offsets))


def test_a_generated_tree_ingests_without_a_rejected_file(tmp_path: Path, store: Store) -> None:
    plan = geo_scale.Plan(series=40, platforms=4, articles=60, seed=13)
    tree = tmp_path / "geo"
    manifest = geo_scale.generate(tree, plan, jobs=1)
    results = ingest_paths(store, [tree, tree / "pubmed"])
    assert [r.path for r in results if not r.ok] == []
    counts = store.stats()["counts"]
    assert counts["sample"] == manifest["samples"] > 40
    assert counts["series"] == 40

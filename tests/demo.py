"""The bundled demo corpus, ingested once per test session (shared read-only)."""

from __future__ import annotations

from pathlib import Path

from omicsoracle.config import Settings
from omicsoracle.extraction.store import enrich
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime

REPO = Path(__file__).resolve().parents[1]
DEMO_PATHS = [REPO / "data" / "corpus", REPO / "data" / "demo"]


def load_demo(data_dir: Path) -> Settings:
    """Ingest the demo corpus into ``data_dir`` and build its index; returns settings."""
    settings = Settings(data_dir=data_dir)
    with Runtime.open(settings, catch_up_index=False) as rt:
        results = ingest_paths(rt.store, DEMO_PATHS)
        bad = [str(p) for r in results for p in r.problems]
        assert not bad, bad
        # As `make run` (omicsoracle ingest) does: the enrichment step, then the index,
        # so entity and characteristic facets are there.
        enrich(rt.store)
        rt.catch_up()
    return settings

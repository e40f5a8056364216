"""What the sync tests share: settings against the stand-in, a store snapshot to compare."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import text

from omicsoracle.config import Settings
from omicsoracle.store import Store
from omicsoracle.sync.geo import SyncOptions, SyncReport, run_sync

# The stand-in's default corpus lies in these dates; one window covers it all unless a
# test asks for several.
SINCE = dt.date(2024, 1, 1)
UNTIL = dt.date(2024, 12, 31)


def sync_settings(standin: Any, data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a sync against ``standin`` (no rate limit unless a test sets one)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "eutils_url": standin.url,
        "geo_ftp_url": standin.ftp_url,
        "sync_requests_per_second": 0,
        "sync_window_days": 400,
        "sync_max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)


def sync(settings: Settings, store: Store, **options: Any) -> SyncReport:
    options.setdefault("since", SINCE)
    options.setdefault("until", UNTIL)
    return run_sync(settings, store, SyncOptions(**options))


# Every table a sync writes, and the columns that say what it holds (never timestamps).
SNAPSHOT = {
    "series": "SELECT accession, content_hash FROM series",
    "samples": "SELECT accession, content_hash FROM samples",
    "datasets": "SELECT accession, content_hash FROM datasets",
    "platforms": "SELECT accession, content_hash FROM platforms",
    "publications": "SELECT pmid, content_hash FROM publications",
    "series_samples": "SELECT series, sample FROM series_samples",
    "relationships": "SELECT series, pmid, source, relation, confidence FROM relationships",
    "dataset_subsets": "SELECT dataset, subset_id, samples FROM dataset_subsets",
    "authors": "SELECT pmid, position, last_name FROM authors",
}


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """The store's content, row by row in a fixed order (duplicates would show)."""
    engine = store.read_engine  # type: ignore[attr-defined]
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, sql in SNAPSHOT.items():
            out[name] = sorted(tuple(r) for r in conn.execute(text(sql)))
    return out


def changed_since(store: Store, after: int) -> set[tuple[str, str]]:
    """(record_type, accession) of the upserts logged after change ``after``."""
    return {
        (c.record_type, c.accession)
        for c in store.changes_since(after, 1_000_000)
        if c.op == "upsert"
    }


def served(standin: Any, entrytype: str | None = None) -> set[str]:
    return {
        acc
        for acc, rec in standin.records.items()
        if entrytype is None or rec.entrytype == entrytype
    }

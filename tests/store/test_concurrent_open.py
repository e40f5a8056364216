"""Several processes opening one empty database at once: one upgrades it, the others
wait, none deadlocks, all end at the head revision.

On PostgreSQL the migration lock is a session lock and every write transaction takes the
writer lock first; a store waiting for the migration lock inside such a transaction
deadlocked with the one migrating (seen once in CI, 2026-12-02). Processes, not threads:
Alembic's migration context is process-global."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy import text

from omicsoracle.store import open_store

OPENERS = 3


def _open(url: str) -> str:
    store = open_store(url)
    try:
        with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        store.close()


def test_stores_opening_at_once_all_reach_the_head(store_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(OPENERS, mp_context=spawn) as pool:
        # Imports first, so the opens themselves start together.
        list(pool.map(str, range(OPENERS)))
        versions = list(pool.map(_open, [store_url] * OPENERS))
    assert len(set(versions)) == 1
    assert versions[0] >= "0005"

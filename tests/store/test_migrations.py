"""Schema upgrades of a store that already holds data (0001 -> head).

On PostgreSQL the query indexes of 0002 are then built CONCURRENTLY, outside any
transaction. That form waits for every older transaction in the database, so the
test runs on a private server (``server`` fixture), where no other session's open
transaction can hold it up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from omicsoracle.formats import detect
from omicsoracle.formats.source import Source
from omicsoracle.model import Rejected
from omicsoracle.store import Store, open_store
from omicsoracle.store.sql import MIGRATIONS
from private_servers import PrivatePostgres as PrivateServer

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "data" / "demo" / "GSE93431_family.soft.gz"
NEW_INDEXES = {"ix_series_samples_order", "ix_ingest_runs_seen"}


def _at_first_revision_with_data(url: str) -> Store:
    store = open_store(url, upgrade=False)
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with store._write.connect() as conn:  # type: ignore[attr-defined]
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    # Written through the write session, not ingest_file: today's ingest also records
    # the file in file_stats (0006), a table a 0001 store does not have yet.
    source = Source(FIXTURE)
    records = list(detect(source).parse(source))
    assert not [r for r in records if isinstance(r, Rejected)]
    run = store.begin_run(str(FIXTURE), "soft", "abort")
    with store.transaction(run) as tx:
        tx.write(records)
    store.finish_run(run, "ok", {}, [])
    return store


def _head() -> str:
    # Later migrations (0003 expression matrices, ...) add tables; the upgrade goes to head.
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return str(ScriptDirectory.from_config(config).get_current_head())


def _version(store: Store) -> str:
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def test_postgres_upgrade_builds_indexes_concurrently_on_live_tables(
    server: PrivateServer,
) -> None:
    store = _at_first_revision_with_data(server.url)
    try:
        with store._write.begin() as conn:  # type: ignore[attr-defined]
            # A CONCURRENTLY build that failed half-way leaves an invalid index of the
            # same name behind (here: a unique one over duplicates); the upgrade
            # must replace it rather than keep it because it "exists".
            conn.execute(text("INSERT INTO ingest_runs (path, on_error, status, started_at) "
                              "VALUES ('/x', 'abort', 'ok', 'now')"))  # fmt: skip
        with store._write.connect() as conn:  # type: ignore[attr-defined]
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            with pytest.raises(IntegrityError, match="could not create unique index"):
                conn.execute(
                    text(
                        "CREATE UNIQUE INDEX CONCURRENTLY ix_ingest_runs_seen ON ingest_runs (status)"
                    )
                )
        statements: list[str] = []

        def capture(_c: object, _cur: object, statement: str, *_a: object) -> None:
            statements.append(statement)

        event.listen(store._write, "before_cursor_execute", capture)  # type: ignore[attr-defined]
        store.upgrade()
        event.remove(store._write, "before_cursor_execute", capture)  # type: ignore[attr-defined]
        assert _version(store) == _head()
        built = [s for s in statements if "CREATE INDEX CONCURRENTLY" in s]
        assert {s.split()[6] for s in built} == NEW_INDEXES, statements
        with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
            valid = dict(
                conn.execute(
                    text(
                        "SELECT c.relname, i.indisvalid FROM pg_index i "
                        "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'ix_%'"
                    )
                ).all()
            )
        assert {name: valid.get(name) for name in NEW_INDEXES} == dict.fromkeys(NEW_INDEXES, True)
        store.upgrade()  # again: nothing to do
        assert store.get("GSE93431") is not None
    finally:
        store.close()


def test_sqlite_upgrade_adds_indexes_to_a_store_with_data(tmp_path: Path) -> None:
    store = _at_first_revision_with_data(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        store.upgrade()
        assert _version(store) == _head()
        with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
            names = {
                n
                for (n,) in conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'index'")
                )
            }
        assert names >= NEW_INDEXES
        assert store.get("GSE93431") is not None
    finally:
        store.close()

"""PostgreSQL store: the same schema and SQL as SQLite, for deployments of many processes.

Writers serialise on a transaction-scoped advisory lock: the change log's ids are
then committed in order, so the index feed's ``changes_since(id > applied)`` can never
skip a row that an earlier-started writer commits late.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from omicsoracle.store.base import PoolOptions
from omicsoracle.store.sql import SqlStore

# pg_advisory_xact_lock key of the store's single writer (any fixed 64-bit number).
WRITER_LOCK = 4_711_002
# pg_advisory_lock key held through a whole schema upgrade.
MIGRATION_LOCK = 4_711_003
MIGRATION_RETRY_SECONDS = 0.05


def _engine(url: str, pool: PoolOptions) -> Engine:
    return create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout,
        pool_recycle=pool.recycle,
        pool_pre_ping=True,  # a restarted server: stale connections are replaced, not used
    )


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, pool: PoolOptions | None = None) -> None:
        pool = pool or PoolOptions()
        # One writer at a time anyway (the advisory lock): a small pool of its own.
        write = _engine(
            url, PoolOptions(size=1, overflow=1, timeout=pool.timeout, recycle=pool.recycle)
        )
        read = _engine(url, pool)

        @event.listens_for(write, "begin")
        def _single_writer(conn: Any) -> None:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")

        super().__init__(url, write, read)

    @contextmanager
    def _migrating(self, conn: Connection) -> Iterator[None]:
        # A migration may commit half-way (an autocommit block releases the writer's
        # transaction lock), so a second process must not read the version table
        # until the first has finished: a session lock spans the whole upgrade.
        # Tried, never waited for: this transaction holds the writer lock (the write
        # engine's "begin" takes it), and the process holding the migration lock waits
        # for the writer lock in its next transaction; waiting here would be a lock-order
        # deadlock (seen in CI: two stores opening at once). Each try's commit lets the
        # writer lock go, so the migrating process gets on.
        while True:
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({MIGRATION_LOCK})").scalar()
            conn.commit()
            if got:
                break
            time.sleep(MIGRATION_RETRY_SECONDS)
        try:
            yield
        finally:
            conn.rollback()
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
            conn.commit()

    def backup(self, target: Path) -> None:
        """A consistent dump (pg_dump's snapshot), safe while the server runs."""
        target.parent.mkdir(parents=True, exist_ok=True)
        u = make_url(self.url)
        tmp = target.with_name(target.name + ".part")
        cmd = ["pg_dump", "--format=custom", f"--file={tmp}", "--no-owner"]
        if u.host:
            cmd.append(f"--host={u.host}")
        if u.port:
            cmd.append(f"--port={u.port}")
        if u.username:
            cmd.append(f"--username={u.username}")
        # A store confined to one schema (search_path in the URL's options) dumps that.
        options = str(u.query.get("options", ""))
        if "search_path=" in options:
            cmd.append(f"--schema={options.split('search_path=', 1)[1].split()[0]}")
        cmd.append(u.database or "")
        subprocess.run(cmd, check=True, capture_output=True)
        tmp.replace(target)

"""The embedded default store: one SQLite file in WAL mode.

datasette's rule: one writer connection (writes never contend inside a process),
a pool of read-only connections (readers never block on the writer in WAL).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from omicsoracle.store.sql import SqlStore

# Busy timeout for a second process (an ingest while the server runs): wait for
# the other writer rather than failing.
BUSY_TIMEOUT_MS = 30_000


def _tune(dbapi_conn: Any, *, read_only: bool) -> None:
    # Autocommit at the driver level so SQLAlchemy's "begin" event decides the
    # transaction kind (BEGIN IMMEDIATE for the writer, below).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute(
        "PRAGMA synchronous = NORMAL"
    )  # safe with WAL: no corruption, at most the last commit
    # A bounded page cache per connection and no mmap, so memory stays flat however
    # large the store grows: each connection's cache fills up to its size on a big
    # store, so readers get a small one (the OS page cache serves them anyway).
    # Readers: 2 MiB each (reads are indexed point lookups; at 8 MiB the four readers of
    # each server process held 32 MiB of duplicated pages at 10x).
    cur.execute(f"PRAGMA cache_size = {-2048 if read_only else -32768}")  # KiB: 2 / 32 MiB
    if read_only:
        cur.execute("PRAGMA query_only = ON")
    cur.close()


def _engine(url: str, *, read_only: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=0 if not read_only else pool_size,
        # LIFO keeps reusing the warm connection instead of filling every cache in turn.
        pool_use_lifo=True,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        _tune(dbapi_conn, read_only=read_only)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction never fails
        # half-way on a lock upgrade; readers use deferred transactions.
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class SQLiteStore(SqlStore):
    """SQLite store: WAL, one writer, a pool of readers."""

    def __init__(self, url: str, *, readers: int = 4) -> None:
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the SQLite store needs a file path (readers and writer share it)")
        self.path = Path(database)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # sqlite3's context manager commits but never closes: close explicitly.
        with closing(sqlite3.connect(self.path)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        super().__init__(
            url,
            _engine(url, read_only=False, pool_size=1),
            _engine(url, read_only=True, pool_size=readers),
        )

    def backup(self, target: Path) -> None:
        """Online backup: a consistent snapshot while readers and writers go on."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst, pages=4096)
        finally:
            dst.close()
            src.close()
        tmp.replace(target)

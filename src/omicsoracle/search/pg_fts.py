"""The PostgreSQL full-text engine "pg": same analyzed text, same plan, ts_rank with weights.

It lives inside the store's PostgreSQL database, in the schema the store's URL selects
(``options=-csearch_path=...``), so a deployment has one database to run, back up and
restore. The pieces: ``pg_query`` compiles plans to tsquery and SQL, ``pg_write`` owns
the tables and the one-transaction writes, ``pg_read`` the snapshots; snapshot
bookkeeping is shared with the SQLite engine (``db_index``).

A server restart drops every connection: the probe notices on its next use,
reconnects, and the snapshots of the old connections are let go (their cursors
expire), so searches recover without a restart of the process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg

from omicsoracle.search.db_index import DbIndex
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.pg_read import PgSnapshot
from omicsoracle.search.pg_write import connect, conninfo, create_schema, write

_GENERATION = "SELECT value FROM search_meta WHERE key = 'generation'"


class PgIndex(DbIndex[PgSnapshot]):
    """SearchIndex on PostgreSQL full text; see the module docstring."""

    name = "pg"
    probe_is_generation = True

    def __init__(self, url: str, directory: Path):
        super().__init__(directory)
        self._info = conninfo(url)
        create_schema(self._info)
        self._probe_conn: psycopg.Connection[Any] = connect(self._info, autocommit=True)
        self._probe_lock = threading.Lock()
        self._init_snapshots()

    def _open_snapshot(self) -> PgSnapshot:
        return PgSnapshot(self._info)

    def _probe(self) -> int:
        with self._probe_lock:
            try:
                row = self._probe_conn.execute(_GENERATION).fetchone()
            except psycopg.OperationalError:
                # The connection is gone (a server restart, a dropped link): so are
                # the snapshots' connections. Reconnect once; a server still down
                # raises here and the next search tries again.
                self._probe_conn.close()
                self._drop_snapshots()
                self._probe_conn = connect(self._info, autocommit=True)
                row = self._probe_conn.execute(_GENERATION).fetchone()
        return int(row[0]) if row else 0

    def _close_probe(self) -> None:
        with self._probe_lock:
            self._probe_conn.close()

    def _write(self, inserts: list[SearchDoc], removed: list[str], applied: int,
               wipe: bool) -> None:  # fmt: skip
        write(self._info, inserts, removed, applied, wipe)


def open_pg_index(url: str, directory: Path) -> PgIndex:
    """Open (creating its tables if needed) the pg engine in the database at ``url``.

    ``url`` is the store's SQLAlchemy URL; ``directory`` holds only the cursor key.
    """
    return PgIndex(url, directory)

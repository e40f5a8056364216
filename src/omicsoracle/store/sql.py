"""A Store over SQLAlchemy: one writer engine, one engine for reads.

Dialect-specific tuning (SQLite pragmas, PostgreSQL pools) lives in subclasses;
everything here is portable SQL with bound parameters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from omicsoracle.search.document import SearchDoc
from omicsoracle.store import expression, records, sync_state
from omicsoracle.store.base import Change
from omicsoracle.store.writer import SqlWriteSession, dumps, now_iso

MIGRATIONS = str(Path(__file__).with_name("migrations"))
# Record type -> (table, key column), for ``existing`` (never a user string in the SQL).
_KEYED = {
    "series": ("series", "accession"),
    "sample": ("samples", "accession"),
    "platform": ("platforms", "accession"),
    "dataset": ("datasets", "accession"),
    "publication": ("publications", "pmid"),
}


class SqlStore:
    """Store operations shared by every SQL backend."""

    def __init__(self, url: str, write_engine: Engine, read_engine: Engine) -> None:
        self.url = url
        self._write = write_engine
        self._read = read_engine
        # One writer per process; the database serialises writers across processes.
        self._write_lock = threading.Lock()

    # -- schema -------------------------------------------------------------------------

    @property
    def read_engine(self) -> Engine:
        """The engine queries run on (tests count its statements)."""
        return self._read

    def upgrade(self) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        # A connection outside any transaction: Alembic begins its own (the writer's
        # "begin" hook still serialises it), so a migration can step out of it for
        # what PostgreSQL runs only outside a transaction (CREATE INDEX CONCURRENTLY).
        with self._write_lock, self._write.connect() as conn, self._migrating(conn):
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def _migrating(self, conn: Connection) -> Iterator[None]:
        """Held around a whole upgrade; a backend whose transactions alone do not
        serialise concurrent upgrades takes a lock here."""
        yield

    # -- ingest runs and writes ---------------------------------------------------------

    def begin_run(
        self, path: str, fmt: str | None, on_error: str, file_hash: str | None = None
    ) -> int:
        with self._write_lock, self._write.begin() as conn:
            result = conn.execute(
                text(
                    "INSERT INTO ingest_runs (path, file_hash, format, on_error, status, started_at, "
                    "counts, errors) VALUES (:p, :h, :f, :o, 'running', :t, '{}', '[]') RETURNING id"
                ),
                {"p": path, "h": file_hash, "f": fmt, "o": on_error, "t": now_iso()},
            )
            return int(result.scalar_one())

    def seen_file(self, file_hash: str) -> bool:
        with self._read.connect() as conn:
            row = conn.execute(
                text("SELECT 1 FROM ingest_runs WHERE file_hash = :h AND status = 'ok' LIMIT 1"),
                {"h": file_hash},
            ).first()
            return row is not None

    def file_stats(self, chunk: int = 10_000) -> Iterator[tuple[str, tuple[int, int, str]]]:
        from omicsoracle.store import file_stats

        with self._read.connect() as conn:
            yield from file_stats.iter_rows(conn, chunk)

    def finish_run(
        self, run_id: int, status: str, counts: dict[str, Any], errors: list[dict[str, Any]]
    ) -> None:
        with self._write_lock, self._write.begin() as conn:
            conn.execute(
                text(
                    "UPDATE ingest_runs SET status = :s, format = :f, finished_at = :t, counts = :c, "
                    "errors = :e WHERE id = :id"
                ),
                {
                    "s": status,
                    "f": counts.get("format"),
                    "t": now_iso(),
                    "c": dumps(counts),
                    "e": dumps(errors),
                    "id": run_id,
                },
            )

    @contextmanager
    def transaction(self, run_id: int | None) -> Iterator[SqlWriteSession]:
        with self._write_lock, self._write.begin() as conn:
            yield SqlWriteSession(conn, run_id)

    # -- change feed --------------------------------------------------------------------

    def max_change_id(self) -> int:
        with self._read.connect() as conn:
            return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM changes")).scalar_one())

    def change_fingerprint(self, change_id: int) -> str | None:
        with self._read.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT id, record_type, accession, op, run_id, at FROM changes WHERE id = :i"
                ),
                {"i": change_id},
            ).first()
        return None if row is None else "|".join(str(v) for v in row)

    def changes_since(self, after_id: int, limit: int) -> list[Change]:
        with self._read.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, record_type, accession, op FROM changes WHERE id > :a "
                    "ORDER BY id LIMIT :n"
                ),
                {"a": after_id, "n": limit},
            )
            return [Change(*row) for row in rows]

    def affected_series(self, changes: Sequence[Change]) -> tuple[set[str], int]:
        series: set[str] = set()
        by_type: dict[str, list[str]] = {}
        for change in changes:
            if change.record_type in ("series", "annotation"):
                series.add(change.accession)
            elif change.record_type == "relationship":
                series.add(change.accession.split("|", 1)[0])
            else:
                by_type.setdefault(change.record_type, []).append(change.accession)
        queries = {
            "sample": "SELECT series FROM series_samples WHERE sample IN :keys",
            "dataset": "SELECT reference_series FROM datasets WHERE accession IN :keys",
            "publication": "SELECT series FROM relationships WHERE pmid IN :keys",
        }
        with self._read.connect() as conn:
            for record_type, keys in by_type.items():
                sql = queries.get(record_type)
                if sql is None:
                    continue
                for start in range(0, len(keys), 5000):
                    chunk = keys[start : start + 5000]
                    series.update(
                        s for (s,) in conn.execute(records._in(sql), {"keys": chunk}) if s
                    )
        last = max((c.id for c in changes), default=0)
        return series, last

    def search_docs(self, accessions: Sequence[str]) -> list[SearchDoc]:
        with self._read.connect() as conn:
            return records.search_docs(conn, accessions)

    def iter_series_accessions(self, batch: int = 2000) -> Iterator[list[str]]:
        after = ""
        while True:
            with self._read.connect() as conn:
                keys = [
                    k
                    for (k,) in conn.execute(
                        text(
                            "SELECT accession FROM series WHERE accession > :a "
                            "ORDER BY accession LIMIT :n"
                        ),
                        {"a": after, "n": batch},
                    )
                ]
            if not keys:
                return
            yield keys
            after = keys[-1]

    # -- reads --------------------------------------------------------------------------

    def get(
        self, identifier: str, *, sample_limit: int = 50, sample_offset: int = 0
    ) -> dict[str, Any] | None:
        with self._read.connect() as conn:
            return records.get_record(
                conn, identifier, sample_limit=sample_limit, sample_offset=sample_offset
            )

    def publications_of(self, accessions: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        with self._read.connect() as conn:
            return records.publications_of(conn, accessions)

    def publication_docs(self, pmids: Sequence[str]) -> list[dict[str, Any]]:
        with self._read.connect() as conn:
            return records.publication_docs(conn, pmids)

    def stats(self) -> dict[str, Any]:
        with self._read.connect() as conn:
            return records.stats(conn)

    def ingest_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._read.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, path, format, on_error, status, started_at, finished_at, counts, "
                    "errors FROM ingest_runs ORDER BY id DESC LIMIT :n"
                ),
                {"n": limit},
            ).mappings()
            return [
                {
                    **row,
                    "counts": orjson.loads(row["counts"]),
                    "errors": orjson.loads(row["errors"]),
                }
                for row in rows
            ]

    # -- expression matrices (issue 6: statistics) ------------------------------------

    def data_table_hash(self, owner: str) -> str | None:
        with self._read.connect() as conn:
            return expression.table_hash(conn, owner)

    def data_table(self, owner: str) -> Iterator[tuple[list[str], list[list[str]]]]:
        with self._read.connect() as conn:
            yield from expression.table_chunks(conn, owner)

    def expression_matrix(self, accession: str) -> tuple[str, bytes] | None:
        with self._read.connect() as conn:
            return expression.get_matrix(conn, accession)

    def datasets_of_series(self, series: str) -> list[str]:
        with self._read.connect() as conn:
            return expression.datasets_of_series(conn, series)

    def put_expression_matrix(
        self, accession: str, source_hash: str, shape: tuple[int, int], blob: bytes
    ) -> None:
        with self._write_lock, self._write.begin() as conn:
            expression.put_matrix(conn, accession, source_hash, shape, blob)

    # -- NCBI sync (issue 13) ------------------------------------------------------------

    def existing(self, record_type: str, keys: Sequence[str]) -> set[str]:
        table, key = _KEYED[record_type]
        found: set[str] = set()
        with self._read.connect() as conn:
            for start in range(0, len(keys), 5000):
                chunk = list(keys[start : start + 5000])
                sql = f"SELECT {key} FROM {table} WHERE {key} IN :keys"
                found.update(k for (k,) in conn.execute(records._in(sql), {"keys": chunk}))
        return found

    def sync_position(self, name: str) -> dict[str, Any] | None:
        with self._read.connect() as conn:
            return sync_state.get_position(conn, name)

    def pending(self, name: str, limit: int = 100) -> list[str]:
        with self._read.connect() as conn:
            return sync_state.list_pending(conn, name, limit)

    def drop_pending(self, name: str, accession: str) -> None:
        with self._write_lock, self._write.begin() as conn:
            sync_state.drop_pending(conn, name, accession)

    def take_lease(self, name: str, holder: str, ttl: float) -> bool:
        with self._write_lock, self._write.begin() as conn:
            return sync_state.take_lease(conn, name, holder, time.time(), ttl)

    def release_lease(self, name: str, holder: str) -> None:
        with self._write_lock, self._write.begin() as conn:
            sync_state.release_lease(conn, name, holder)

    def lease_holder(self, name: str) -> str | None:
        with self._read.connect() as conn:
            return sync_state.lease_holder(conn, name, time.time())

    def close(self) -> None:
        self._write.dispose()
        self._read.dispose()

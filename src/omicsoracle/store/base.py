"""The Store interface: the system of record every backend implements.

SQLite (``sqlite.py``) is the embedded default; a PostgreSQL store drops in
beside it through the same registry (``omicsoracle.store.open_store``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from omicsoracle.model import Record
from omicsoracle.search.document import SearchDoc


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the change log: what the search index must catch up on."""

    id: int
    record_type: str
    accession: str
    op: str  # upsert | delete


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """Connection pool of a server database (SQLite's readers are ``reader_pool_size``)."""

    size: int = 5
    overflow: int = 10
    timeout: float = 10.0
    recycle: int = 1800


@dataclass(slots=True)
class WriteCounts:
    """Per record type: how many were new, changed, unchanged or deleted."""

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def bump(self, bucket: dict[str, int], record_type: str, n: int = 1) -> None:
        bucket[record_type] = bucket.get(record_type, 0) + n

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "inserted": dict(self.inserted),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
            "deleted": dict(self.deleted),
        }

    @property
    def changed(self) -> int:
        return sum(self.inserted.values()) + sum(self.updated.values()) + sum(self.deleted.values())


class Savepoint(Protocol):
    def release(self) -> None: ...

    def rollback(self) -> None: ...


class WriteSession(Protocol):
    """One file's transaction: batches are written, and committed together."""

    counts: WriteCounts

    def write(self, records: Sequence[Record]) -> None: ...

    def savepoint(self) -> Savepoint:
        """Open a nested transaction (one record and its data table)."""

    def truncate_table(self, owner: str, last_seq: int) -> None:
        """Drop stored table chunks of ``owner`` after ``last_seq`` (a shorter new table)."""

    def changed_keys(self, record_type: str) -> set[str]:
        """Keys of ``record_type`` this session inserted or changed so far."""

    def put_sync_position(self, name: str, position: dict[str, Any]) -> None:
        """Where sync ``name`` stands, committed together with this session's records."""

    def queue_pending(self, name: str, accessions: Sequence[str]) -> None:
        """Queue accessions for sync ``name``'s follow-up work, in this transaction."""

    def put_file_stat(self, path: str, size: int, mtime_ns: int, file_hash: str) -> None:
        """Record ``path`` as ingested cleanly (size, mtime, sha256), in this transaction."""


class Store(Protocol):
    """System of record for GEO and PubMed records."""

    url: str

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""

    def begin_run(
        self, path: str, fmt: str | None, on_error: str, file_hash: str | None = None
    ) -> int: ...

    def seen_file(self, file_hash: str) -> bool:
        """Whether a file with this sha256 was already ingested without problems."""

    def file_stats(self, chunk: int = 10_000) -> Iterator[tuple[str, tuple[int, int, str]]]:
        """Every ``file_stats`` row as (path, (size, mtime_ns, sha256)), read in chunks."""

    def ingest_runs(self, limit: int = 20) -> list[dict[str, Any]]: ...

    def finish_run(
        self, run_id: int, status: str, counts: dict[str, Any], errors: list[dict[str, Any]]
    ) -> None: ...

    def transaction(self, run_id: int | None) -> AbstractContextManager[WriteSession]:
        """All writes of one file; rolled back whole if the block raises."""

    def max_change_id(self) -> int: ...

    def changes_since(self, after_id: int, limit: int) -> list[Change]: ...

    def change_fingerprint(self, change_id: int) -> str | None:
        """Identity of one change-log row (tells two store histories apart)."""

    def affected_series(self, changes: Sequence[Change]) -> tuple[set[str], int]:
        """Series whose search documents these changes alter, and the last change id."""

    def search_docs(self, accessions: Sequence[str]) -> list[SearchDoc]: ...

    def iter_series_accessions(self, batch: int = 2000) -> Iterator[list[str]]: ...

    def get(
        self, identifier: str, *, sample_limit: int = 50, sample_offset: int = 0
    ) -> dict[str, Any] | None:
        """A record with its links, by GEO accession or PMID; None when unknown."""

    def publications_of(self, accessions: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Linked publications (with relation and confidence) of each series, in one query."""

    def publication_docs(self, pmids: Sequence[str]) -> list[dict[str, Any]]:
        """Stored publication records in the order asked, in one query."""

    def stats(self) -> dict[str, Any]: ...

    def data_table_hash(self, owner: str) -> str | None:
        """Digest of a record's stored data table (None: it has none)."""

    def data_table(self, owner: str) -> Iterator[tuple[list[str], list[list[str]]]]:
        """A record's data table, chunk by chunk: (columns, rows)."""

    def expression_matrix(self, accession: str) -> tuple[str, bytes] | None:
        """A dataset's stored value matrix blob and the table digest it was built from."""

    def datasets_of_series(self, series: str) -> list[str]:
        """GDS accessions that name ``series`` as their reference series (issue 6)."""

    def put_expression_matrix(
        self, accession: str, source_hash: str, shape: tuple[int, int], blob: bytes
    ) -> None: ...

    # -- NCBI sync (issue 13) ------------------------------------------------------------

    def existing(self, record_type: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` (accessions, or PMIDs for "publication") the store holds."""

    def sync_position(self, name: str) -> dict[str, Any] | None:
        """The committed position of sync ``name`` (None: it never committed a batch)."""

    def pending(self, name: str, limit: int = 100) -> list[str]:
        """Accessions queued for sync ``name``'s follow-up, oldest first."""

    def drop_pending(self, name: str, accession: str) -> None:
        """Remove one queued accession (its follow-up is done, or cannot be done)."""

    def take_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the database lease ``name`` for ``ttl`` seconds; False if held."""

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up (a no-op unless ``holder`` holds it)."""

    def lease_holder(self, name: str) -> str | None:
        """Who holds the lease ``name`` now (None: free or expired)."""

    def backup(self, target: Path) -> None:
        """A consistent copy of the store, safe while it serves."""

    def close(self) -> None: ...

"""What the database-backed engines (SQLite FTS5, PostgreSQL full text) share.

Both keep the index in a database and a snapshot is a connection inside one read
transaction (``db_snapshot``). This base finds the newest committed snapshot through a
cheap probe, keeps recent ones for cursors, and turns a batch of upserts and deletes
into the net change each engine writes in one transaction.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from omicsoracle.search.base import CursorExpired
from omicsoracle.search.cursor import SnapshotCache
from omicsoracle.search.db_snapshot import DbSnapshot
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.engine import SnapshotIndex

S = TypeVar("S", bound=DbSnapshot)


def net_changes(
    docs: Sequence[SearchDoc], deleted: Sequence[str]
) -> tuple[list[SearchDoc], list[str]]:
    """(docs to insert, accessions to remove first) for one apply().

    Same outcome as tantivy's order (upserts, then deletes): the last version of each
    upserted series, minus the deleted ones. Every accession named is removed before
    the inserts, so an upsert replaces the old row.
    """
    final = {doc.accession: doc for doc in docs}
    gone = set(deleted)
    inserts = [doc for accession, doc in final.items() if accession not in gone]
    return inserts, sorted(set(final) | gone)


class DbIndex(SnapshotIndex, Generic[S]):
    """Snapshot bookkeeping and apply/clear for an engine living in a database."""

    # True when the probe names the committed generation itself; False when it only
    # says "something may have changed" (SQLite's data_version), so refresh() must
    # look at the generation again.
    probe_is_generation = False

    def _init_snapshots(self) -> None:
        self._snapshots: SnapshotCache[S] = SnapshotCache(on_evict=DbSnapshot.close)
        self._current: S | None = None
        self._seen: Hashable | None = None
        self._lock = threading.RLock()

    # --- what an engine provides -------------------------------------------------------
    @abstractmethod
    def _open_snapshot(self) -> S:
        """A new snapshot of the newest commit (a new connection and read transaction)."""

    @abstractmethod
    def _probe(self) -> Hashable:
        """A value that changes whenever another commit may have landed."""

    @abstractmethod
    def _write(self, inserts: list[SearchDoc], removed: list[str], applied: int,
               wipe: bool) -> None:  # fmt: skip
        """One transaction: wipe (or delete ``removed``), insert, record ``applied``."""

    @abstractmethod
    def _close_probe(self) -> None:
        """Release the probe's connection."""

    # --- snapshots -----------------------------------------------------------------------
    def current_snapshot(self) -> S:
        """Newest committed snapshot; a new read transaction after any commit."""
        with self._lock:
            seen = self._probe()
            current = self._current
            if current is None or current.closed or seen != self._seen:
                snap = self._open_snapshot()
                if (
                    current is not None
                    and not current.closed
                    and (snap.generation == current.generation)
                ):
                    snap.close()  # nothing new committed: keep the one cursors pin
                else:
                    self._current = snap
                    self._snapshots.put(snap.generation, snap)
                self._seen = seen
            assert self._current is not None
            return self._current

    def pinned_snapshot(self, generation: int) -> S:
        """The snapshot a cursor started on, or CursorExpired."""
        snap = self._snapshots.get(generation)
        if snap is not None and not snap.closed:
            return snap
        current = self.current_snapshot()
        if current.generation == generation:
            return current
        raise CursorExpired()

    @contextmanager
    def private_snapshot(self) -> Iterator[S]:
        # Its own transaction: cache eviction closes cached snapshots' connections.
        snap = self._open_snapshot()
        try:
            yield snap
        finally:
            snap.close()

    def _drop_snapshots(self) -> None:
        with self._lock:
            self._snapshots.clear()
            if self._current is not None:
                self._current.close()
            self._current = None
            self._seen = None

    def commit_stamp(self) -> object | None:
        """The probe's value: it changes on every commit of any process (one cheap read)."""
        with self._lock:
            return self._probe()

    def refresh(self) -> None:
        """Pick up commits made by another process."""
        if not self.probe_is_generation:
            with self._lock:
                self._seen = None
        self.current_snapshot()

    # --- writing -------------------------------------------------------------------------
    def apply(self, docs: Sequence[SearchDoc], deleted: Sequence[str], upto_change_id: int) -> None:
        """Upsert ``docs`` by accession, delete ``deleted``, record the id: one transaction."""
        inserts, removed = net_changes(docs, deleted)
        self._write(inserts, removed, upto_change_id, False)
        self.refresh()

    def clear(self) -> None:
        """Delete everything; the applied change id goes back to 0."""
        self._write([], [], 0, True)
        self.refresh()

    # --- info ----------------------------------------------------------------------------
    def applied_change_id(self) -> int:
        """Change id recorded by the newest commit."""
        return self.current_snapshot().applied

    def doc_count(self) -> int:
        """Series in the newest snapshot."""
        return self.current_snapshot().doc_count()

    def close(self) -> None:
        """Close every connection."""
        self._drop_snapshots()
        self._close_probe()

"""Ingest files into the store: detect, stream, batch, apply the error policy.

Each file is one transaction, so ``--on-error abort`` leaves nothing of a bad
file visible, while ``skip`` commits the good records and reports the rest.
Batches bound memory: records are flushed every ``batch_size`` records or
``MAX_BATCH_ROWS`` data-table rows, whichever comes first.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from omicsoracle.formats import detect
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.model import (
    Dataset,
    DataTable,
    Platform,
    Publication,
    PublicationDeletion,
    Record,
    Rejected,
    Relationship,
    Sample,
    Series,
)
from omicsoracle.observability.metrics import count_ingest
from omicsoracle.store import Store
from omicsoracle.store.base import Savepoint, WriteSession

MAX_BATCH_ROWS = 50_000

RECORD_NAMES: dict[type, str] = {
    Series: "series",
    Sample: "sample",
    Platform: "platform",
    Dataset: "dataset",
    DataTable: "table_chunk",
    Publication: "publication",
    PublicationDeletion: "deletion",
    Relationship: "relationship",
}


class OnError(StrEnum):
    ABORT = "abort"
    SKIP = "skip"


@dataclass(slots=True)
class Problem:
    """A rejected record or a file-level failure, located for a human."""

    path: str
    line: int | None
    record: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        what = f" record {self.record}:" if self.record else ""
        return f"{where}:{what} {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "record": self.record, "reason": self.reason}


@dataclass(slots=True)
class FileResult:
    """What happened to one file."""

    path: str
    format: str | None = None
    status: str = "running"  # ok | partial | aborted | failed | skipped
    parsed: dict[str, int] = field(default_factory=dict)
    written: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(self.parsed.values())

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "status": self.status,
            "parsed": self.parsed,
            "written": self.written,
            "problems": [p.as_dict() for p in self.problems],
            "seconds": round(self.seconds, 3),
        }


class _Abort(Exception):
    """Raised inside the file transaction to roll it back."""


Progress = Callable[[int], None]


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    store: Store,
    path: Path,
    *,
    on_error: OnError = OnError.ABORT,
    batch_size: int = 1000,
    progress: Progress | None = None,
    skip_seen: bool = False,
) -> FileResult:
    """Ingest one file. Never raises for bad input: problems are in the result."""
    started = time.perf_counter()
    result = FileResult(path=str(path))
    digest = file_hash(path) if path.is_file() else None
    if skip_seen and digest is not None and store.seen_file(digest):
        result.status = "skipped"
        return result
    run_id = store.begin_run(str(path), None, on_error.value, digest)
    try:
        _ingest(store, Source(path), run_id, on_error, batch_size, progress, result)
    except Exception as exc:
        # A bug or an input no parser check foresaw: the file's transaction rolled
        # back; report it like any rejection instead of dying mid-batch.
        result.problems.append(
            Problem(str(path), None, None, f"ingest failed: {type(exc).__name__}: {exc}")
        )
        result.status = "failed"
        result.written = {}
    finally:
        result.seconds = time.perf_counter() - started
        store.finish_run(
            run_id,
            result.status,
            {"parsed": result.parsed, "written": result.written, "format": result.format},
            [p.as_dict() for p in result.problems],
        )
    committed = result.status in ("ok", "partial")
    count_ingest(result.parsed if committed else {}, len(result.problems))
    return result


def _ingest(
    store: Store,
    source: Source,
    run_id: int,
    on_error: OnError,
    batch_size: int,
    progress: Progress | None,
    result: FileResult,
) -> None:
    if not source.path.is_file():
        result.problems.append(Problem(source.name, None, None, "no such file"))
        result.status = "failed"
        return
    try:
        fmt = detect(source)
    except FormatError as exc:
        result.problems.append(Problem(exc.path, exc.line, None, exc.reason))
        result.status = "failed"
        return
    result.format = fmt.name
    try:
        with store.transaction(run_id) as tx:
            _FileWriter(tx, source, on_error, batch_size, progress, result).run(fmt.parse(source))
            result.written = tx.counts.as_dict()
    except _Abort:
        result.status = "aborted"
        result.written = {}
        return
    result.status = "partial" if result.problems else "ok"


def _key(record: Record) -> str | None:
    key = getattr(record, "accession", None)
    return key if isinstance(key, str) else None


# Records that can carry a data table after them (a series matrix's table is the series').
_TABLE_OWNERS = (Series, Sample, Platform, Dataset)


class _FileWriter:
    """Batches one file's records into its transaction.

    A parser only knows that a data table is short (or missing its end) once the
    table has streamed past, and then it rejects the table's owner. So the newest
    record that could own a table, with whatever followed it (a GDS is followed
    by its PubMed link), is held back from flushing as the "tail"; when a table
    starts, the tail moves into a SAVEPOINT with the table. A rejection of that
    owner drops the tail or rolls the savepoint back: in skip mode that record
    alone is undone, and its previously stored version (if any) stays.
    """

    def __init__(
        self,
        tx: WriteSession,
        source: Source,
        on_error: OnError,
        batch_size: int,
        progress: Progress | None,
        result: FileResult,
    ) -> None:
        self.tx = tx
        self.source = source
        self.on_error = on_error
        self.batch_size = batch_size
        self.progress = progress
        self.result = result
        self.batch: list[Record] = []
        self.rows = 0
        self.tail = 0  # batch[tail:] is the newest possible table owner and its followers
        self.tail_owner: str | None = None
        self.table_owner: str | None = None
        self.last_seq = -1
        self.savepoint: Savepoint | None = None

    def run(self, records: Iterable[Record]) -> None:
        try:
            for record in records:
                if isinstance(record, Rejected):
                    self._reject(
                        Problem(self.source.name, record.line, record.record, record.reason)
                    )
                elif isinstance(record, DataTable):
                    self._table_chunk(record)
                else:
                    if self.savepoint is not None:
                        self._close_table()
                    self._add(record)
        except FormatError as exc:
            # skip: keep what parsed cleanly before the damage, minus a half-read table.
            owner = self.table_owner or self.tail_owner
            self._reject(Problem(exc.path, exc.line, owner, exc.reason))
        if self.savepoint is not None:
            self._close_table()
        self._flush(len(self.batch))

    def _count(self, record: Record) -> None:
        name = RECORD_NAMES[type(record)]
        self.result.parsed[name] = self.result.parsed.get(name, 0) + 1

    def _add(self, record: Record) -> None:
        self._count(record)
        if self.savepoint is None and isinstance(record, _TABLE_OWNERS):
            self.tail = len(self.batch)
            self.tail_owner = _key(record)
        self.batch.append(record)
        if len(self.batch) >= self.batch_size or self.rows >= MAX_BATCH_ROWS:
            waiting = self.savepoint is None and self.tail_owner is not None
            held = len(self.batch) - self.tail if waiting else 0
            # A tail that outgrows a whole batch is not waiting for a table.
            self._flush(self.tail if 0 < held < self.batch_size else len(self.batch))

    def _table_chunk(self, chunk: DataTable) -> None:
        if self.savepoint is None or chunk.owner != self.table_owner:
            if self.savepoint is not None:
                self._close_table()
            carry: list[Record] = []
            if self.tail_owner == chunk.owner:
                carry = self.batch[self.tail :]
                del self.batch[self.tail :]
            self._flush(len(self.batch))
            self.savepoint = self.tx.savepoint()
            self.table_owner = chunk.owner
            self.last_seq = -1
            self.batch = carry
        self.last_seq = max(self.last_seq, chunk.seq)
        self.rows += len(chunk.rows)
        self._add(chunk)

    def _close_table(self) -> None:
        self._flush(len(self.batch))
        assert self.savepoint is not None
        assert self.table_owner is not None
        # A shorter table than the stored one must not keep the old table's tail.
        self.tx.truncate_table(self.table_owner, self.last_seq)
        self.savepoint.release()
        self.savepoint = None
        self.table_owner = None

    def _reject(self, problem: Problem) -> None:
        self.result.problems.append(problem)
        if self.on_error is OnError.ABORT:
            raise _Abort
        if problem.record is None:
            return
        if self.savepoint is not None and problem.record == self.table_owner:
            self.batch.clear()
            self.rows = 0
            self.savepoint.rollback()
            self.savepoint = None
            self.table_owner = None
        elif self.savepoint is None and problem.record == self.tail_owner:
            del self.batch[self.tail :]
            self.tail = len(self.batch)
            self.tail_owner = None

    def _flush(self, upto: int) -> None:
        """Write ``batch[:upto]``; the rest (the held-back tail) stays."""
        if upto <= 0:
            return
        head, self.batch = self.batch[:upto], self.batch[upto:]
        self.tx.write(head)
        if self.progress is not None:
            self.progress(len(head))
        self.tail = max(0, self.tail - upto)
        if not self.batch:
            self.tail_owner = None
        self.rows = sum(len(r.rows) for r in self.batch if isinstance(r, DataTable))


def ingest_paths(
    store: Store,
    paths: Iterable[Path],
    *,
    on_error: OnError = OnError.ABORT,
    batch_size: int = 1000,
    progress: Progress | None = None,
    skip_seen: bool = False,
) -> list[FileResult]:
    """Ingest files one after another (directories are walked, sorted)."""
    return [
        ingest_file(
            store,
            path,
            on_error=on_error,
            batch_size=batch_size,
            progress=progress,
            skip_seen=skip_seen,
        )
        for path in expand_paths(paths)
    ]


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
            )
        else:
            out.append(path)
    return out

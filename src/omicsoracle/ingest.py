"""Ingest files into the store: detect, stream, batch, apply the error policy.

Each file is one transaction, so ``--on-error abort`` leaves nothing of a bad
file visible, while ``skip`` commits the good records and reports the rest.
Batches bound memory: records are flushed every ``batch_size`` records or
``MAX_BATCH_ROWS`` data-table rows, whichever comes first.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from stat import S_ISREG as stat_is_file
from typing import Any, Protocol

from omicsoracle.formats import Format, detect
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


@dataclass(frozen=True, slots=True)
class FileStat:
    """What a stat says of a file when it was read, and its sha256."""

    size: int
    mtime_ns: int
    digest: str


class ParsedFile(Protocol):
    """One file on its way to the writer: parsed here, or in a parser process."""

    def stat(self) -> FileStat | None:
        """Size, mtime and sha256; None when there is no such file."""

    def detect(self) -> str:
        """The format's name; FormatError when the content is no known format."""

    def records(self) -> Iterator[Record]:
        """The parser's records; FormatError where the file cannot be read further."""


class LocalParse:
    """A file parsed in this process (``--jobs 1``: no process boundary to cross)."""

    def __init__(self, path: Path) -> None:
        self.source = Source(path)
        self._format: Format | None = None

    def stat(self) -> FileStat | None:
        try:
            st = self.source.path.stat()
        except OSError:
            return None
        if not stat_is_file(st.st_mode):
            return None
        return FileStat(st.st_size, st.st_mtime_ns, file_hash(self.source.path))

    def detect(self) -> str:
        self._format = detect(self.source)
        return self._format.name

    def records(self) -> Iterator[Record]:
        assert self._format is not None
        return self._format.parse(self.source)


class SeenFiles:
    """``file_stats`` in memory: an unchanged file costs a stat and a dict lookup.

    Rows exist only for files that ingested cleanly, so a (size, mtime_ns) match
    means its content is already stored.
    """

    def __init__(self, store: Store) -> None:
        self._rows = {path: (size, mtime) for path, (size, mtime, _) in store.file_stats()}

    def __len__(self) -> int:
        return len(self._rows)

    def unchanged(self, path: Path) -> bool:
        known = self._rows.get(stat_key(path))
        if known is None:
            return False
        try:
            st = path.stat()
        except OSError:
            return False
        return known == (st.st_size, st.st_mtime_ns)


def stat_key(path: Path) -> str:
    """The ``file_stats`` key of ``path``: absolute, without resolving links (no syscall)."""
    return str(path.absolute())


def describe_failure(exc: BaseException) -> str:
    """The problem text of an unexpected exception while ingesting a file."""
    remote = getattr(exc, "remote_type", None)
    name = remote if isinstance(remote, str) else type(exc).__name__
    return f"ingest failed: {name}: {exc}"


def skipped(path: Path) -> FileResult:
    """The result of a file ``--skip-seen`` did not read."""
    return FileResult(path=str(path), status="skipped")


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
    return write_parsed(
        store,
        path,
        LocalParse(path),
        on_error=on_error,
        batch_size=batch_size,
        progress=progress,
        skip_seen=skip_seen,
    )


def write_parsed(
    store: Store,
    path: Path,
    parsed: ParsedFile,
    *,
    on_error: OnError = OnError.ABORT,
    batch_size: int = 1000,
    progress: Progress | None = None,
    skip_seen: bool = False,
) -> FileResult:
    """Write one file's records in its own transaction (wherever they were parsed)."""
    started = time.perf_counter()
    result = FileResult(path=str(path))
    failure: Exception | None = None
    try:
        stat = parsed.stat()
    except Exception as exc:  # a parser process that died before answering
        stat, failure = None, exc
    digest = stat.digest if stat is not None else None
    if skip_seen and stat is not None and store.seen_file(stat.digest):
        # Same content under a new name or mtime: remember the stat, so the next
        # pass skips it without hashing.
        with store.transaction(None) as tx:
            tx.put_file_stat(stat_key(path), stat.size, stat.mtime_ns, stat.digest)
        return skipped(path)
    run_id = store.begin_run(str(path), None, on_error.value, digest)
    try:
        if failure is not None:
            raise failure
        _ingest(store, path, parsed, stat, run_id, on_error, batch_size, progress, result)
    except Exception as exc:
        # A bug or an input no parser check foresaw: the file's transaction rolled
        # back; report it like any rejection instead of dying mid-batch.
        result.problems.append(Problem(str(path), None, None, describe_failure(exc)))
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
    path: Path,
    parsed: ParsedFile,
    stat: FileStat | None,
    run_id: int,
    on_error: OnError,
    batch_size: int,
    progress: Progress | None,
    result: FileResult,
) -> None:
    if stat is None:
        result.problems.append(Problem(str(path), None, None, "no such file"))
        result.status = "failed"
        return
    try:
        result.format = parsed.detect()
    except FormatError as exc:
        result.problems.append(Problem(exc.path, exc.line, None, exc.reason))
        result.status = "failed"
        return
    try:
        with store.transaction(run_id) as tx:
            writer = _FileWriter(tx, str(path), on_error, batch_size, progress, result)
            writer.run(parsed.records())
            if not result.problems:
                # Seen only with its records: a kill before this commit re-reads the file.
                tx.put_file_stat(stat_key(path), stat.size, stat.mtime_ns, stat.digest)
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
        name: str,
        on_error: OnError,
        batch_size: int,
        progress: Progress | None,
        result: FileResult,
    ) -> None:
        self.tx = tx
        self.name = name
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
                    self._reject(Problem(self.name, record.line, record.record, record.reason))
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
    jobs: int = 1,
) -> list[FileResult]:
    """Ingest files in order (directories and GEO mirrors are walked, see ``mirror``)."""
    from omicsoracle.ingest_parallel import run_ingest

    report = run_ingest(
        store,
        paths,
        on_error=on_error,
        batch_size=batch_size,
        progress=progress,
        skip_seen=skip_seen,
        jobs=jobs,
    )
    return report.files


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Every file ``ingest`` would read under ``paths``, in order."""
    from omicsoracle.mirror import walk

    return list(walk(paths))

"""``ingest --jobs N``: N parser processes feed the one writer (this process).

Files are handed out in walk order, one in flight per worker; the writer takes them
back in the same order and writes each in its own transaction exactly as the
in-process path does (:func:`omicsoracle.ingest.write_parsed`), so the store after
``--jobs 4`` equals the store after ``--jobs 1``. While the writer works on one file,
the other workers parse the next ones until their pipe is full (1 MiB where Linux
allows): that backpressure bounds memory whatever the corpus size.

A worker that dies mid-file fails that file (its transaction rolls back) and is
replaced; the remaining files still ingest. With one job no process is started.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

from omicsoracle.formats.record_codec import from_wire
from omicsoracle.formats.source import FormatError
from omicsoracle.ingest import (
    FileResult,
    FileStat,
    LocalParse,
    OnError,
    ParsedFile,
    Progress,
    SeenFiles,
    skipped,
    write_parsed,
)
from omicsoracle.ingest_worker import read_frame, write_frame
from omicsoracle.mirror import WalkCounts, walk
from omicsoracle.model import Record
from omicsoracle.store import Store

_F_SETPIPE_SZ = 1031  # Linux fcntl; absent elsewhere (the default 64 KiB pipe then)
PIPE_BYTES = 1 << 20


@dataclass(slots=True)
class CleanFiles:
    """The sums of the clean files a report did not keep one by one."""

    files: int = 0
    skipped: int = 0  # of ``files``: --skip-seen passed them unread
    seconds: float = 0.0
    parsed: dict[str, int] = field(default_factory=dict)
    written: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.skipped += result.status == "skipped"
        self.seconds += result.seconds
        for kind, n in result.parsed.items():
            self.parsed[kind] = self.parsed.get(kind, 0) + n
        for bucket, counts in result.written.items():
            into = self.written.setdefault(bucket, {})
            for kind, n in counts.items():
                into[kind] = into.get(kind, 0) + n

    @property
    def records(self) -> int:
        return sum(self.parsed.values())

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "parsed": self.parsed, "written": self.written}  # fmt: skip


@dataclass(slots=True)
class IngestReport:
    """Every file's result (or the first clean ones and the sums of the rest), and what
    the walk passed over."""

    files: list[FileResult] = field(default_factory=list)
    walk: WalkCounts = field(default_factory=WalkCounts)
    # The clean files past ``run_ingest(keep_clean=N)``'s first N: counted, not kept.
    more_clean: CleanFiles = field(default_factory=CleanFiles)


class WorkerDied(Exception):
    """The parser process of a file exited before finishing it."""


class RemoteError(Exception):
    """An unexpected exception in a parser process (its type name kept for the report)."""

    def __init__(self, remote_type: str, message: str) -> None:
        super().__init__(message)
        self.remote_type = remote_type


class _Worker:
    def __init__(self, batch_size: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omicsoracle.ingest_worker", str(batch_size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.stdin = cast(IO[bytes], self.proc.stdin)
        self.stdout = cast(IO[bytes], self.proc.stdout)
        # Not Linux, or above /proc/sys/fs/pipe-max-size: the default pipe size.
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.stdout.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)

    def send(self, path: Path) -> None:
        # Dead already: the read of its answer reports it.
        with contextlib.suppress(OSError):
            write_frame(self.stdin, str(path))  # type: ignore[arg-type]

    def receive(self) -> Any:
        try:
            frame = read_frame(self.stdout)  # type: ignore[arg-type]
        except (EOFError, OSError, ValueError) as exc:
            raise WorkerDied(self._death(f"sent a broken frame ({exc})")) from exc
        if frame is None:
            raise WorkerDied(self._death("exited"))
        return frame

    def _death(self, what: str) -> str:
        code = self.proc.wait()
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return f"parser process {self.proc.pid} {what} while parsing this file ({how})"

    def close(self) -> None:
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RemoteParse:
    """One file as a worker parses it: its frames, read as the writer asks for them."""

    def __init__(self, worker: _Worker, path: Path) -> None:
        self.worker = worker
        self.path = path
        self.done = False  # the worker finished this file (or died)

    def _next(self) -> Any:
        try:
            frame = self.worker.receive()
        except WorkerDied:
            self.done = True
            raise
        if frame[0] in ("end", "missing"):
            self.done = True
        return frame

    def stat(self) -> FileStat | None:
        frame = self._next()
        if frame[0] == "missing":
            return None
        if frame[0] == "crash":
            self._next()  # its "end"
            raise RemoteError(frame[1], frame[2])
        _, size, mtime_ns, digest = frame
        return FileStat(int(size), int(mtime_ns), str(digest))

    def detect(self) -> str:
        frame = self._next()
        if frame[0] == "detect_error":
            self._next()  # its "end"
            raise FormatError(frame[1], frame[2], frame[3])
        return str(frame[1])

    def records(self) -> Iterator[Record]:
        while not self.done:
            frame = self._next()
            kind = frame[0]
            if kind == "records":
                yield from (from_wire(item) for item in frame[1])
            elif kind == "format_error":
                self._next()  # its "end"
                raise FormatError(frame[1], frame[2], frame[3])
            elif kind == "crash":
                self._next()
                raise RemoteError(frame[1], frame[2])

    def drain(self) -> bool:
        """Read what is left of this file (the writer stopped early); False if it died."""
        try:
            while not self.done:
                self._next()
        except WorkerDied:
            return False
        return self.worker.proc.poll() is None


class ParserPool:
    """``jobs`` worker processes, restarted when one dies."""

    def __init__(self, jobs: int, batch_size: int) -> None:
        self.batch_size = batch_size
        self.workers = [_Worker(batch_size) for _ in range(jobs)]

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            if exc_alive(worker):
                worker.proc.terminate()  # may be blocked writing a file nobody reads
            worker.close()

    def parses(self, paths: Iterable[Path]) -> Iterator[RemoteParse]:
        """Each path's parse, in order; the caller consumes one before the next."""
        pending = iter(paths)
        inflight: deque[tuple[int, RemoteParse]] = deque()

        def hand_out(slot: int) -> None:
            path = next(pending, None)
            if path is not None:
                self.workers[slot].send(path)
                inflight.append((slot, RemoteParse(self.workers[slot], path)))

        for slot in range(len(self.workers)):
            hand_out(slot)
        while inflight:
            slot, parse = inflight.popleft()
            yield parse
            if not parse.drain():
                self.workers[slot].close()
                self.workers[slot] = _Worker(self.batch_size)
                # Files already handed to the dead worker: none (one in flight each).
            hand_out(slot)


def exc_alive(worker: _Worker) -> bool:
    return worker.proc.poll() is None


def run_ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    on_error: OnError = OnError.ABORT,
    batch_size: int = 1000,
    progress: Progress | None = None,
    skip_seen: bool = False,
    jobs: int = 1,
    on_file: Callable[[FileResult], None] | None = None,
    keep_clean: int | None = None,
) -> IngestReport:
    """Ingest ``paths`` (files, directories, GEO mirrors) with ``jobs`` parser processes.

    ``keep_clean``: keep only the first N results of files that went in whole (status
    ok or skipped, no problem) and sum the rest into ``report.more_clean``. A mirror is
    ~275,000 files: a result each held ~300 MiB in the writer, through the enrichment
    that follows. Files with problems are always kept.
    """
    report = IngestReport()
    seen = SeenFiles(store) if skip_seen else None
    # Skipped files are done while parsed ones are still in flight: the walk position
    # puts the report back in walk order. Held for the files in flight and the kept ones.
    order: dict[str, deque[int]] = {}
    placed: dict[int, int] = {}
    kept_clean = 0

    def done(result: FileResult) -> None:
        nonlocal kept_clean
        waiting = order.get(result.path)
        position = waiting.popleft() if waiting else -1
        if not waiting:
            order.pop(result.path, None)
        clean = result.ok and result.status in ("ok", "skipped")
        if not clean or keep_clean is None or kept_clean < keep_clean:
            kept_clean += clean
            report.files.append(result)
            placed[id(result)] = position
        else:
            report.more_clean.add(result)
        if on_file is not None:
            on_file(result)

    def to_read() -> Iterator[Path]:
        for position, path in enumerate(walk(paths, report.walk)):
            order.setdefault(str(path), deque()).append(position)
            if seen is not None and seen.unchanged(path):
                done(skipped(path))
            else:
                yield path

    def write(path: Path, parsed: ParsedFile) -> None:
        done(
            write_parsed(
                store,
                path,
                parsed,
                on_error=on_error,
                batch_size=batch_size,
                progress=progress,
                skip_seen=skip_seen,
            )
        )

    if jobs <= 1:
        for path in to_read():
            write(path, LocalParse(path))
        return report
    with ParserPool(jobs, batch_size) as pool:
        for parse in pool.parses(to_read()):
            write(parse.path, parse)
    report.files.sort(key=lambda r: placed.get(id(r), -1))
    return report


def default_jobs() -> int:
    """The default ``--jobs``: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)

"""Entity extraction in N processes: the enrichment's CPU work beside its one writer.

At full GEO scale the enrichment scans ~10M records; one process does that at one
core's speed while the machine's other cores idle. :class:`ExtractorPool` starts
``python -m omicsoracle.extraction.worker`` processes, sends each one the vocabulary's
inputs once (the corpus characteristic values and the platform gene symbols: each
worker builds the same vocabulary, whose fingerprint the enrichment stores), then
chunks of stored record documents; a worker answers with the entity rows of a chunk.

Frames are length-prefixed msgpack, as between ``ingest --jobs`` and its parsers
(:mod:`omicsoracle.ingest_worker`): never pickled. One chunk is in flight per worker,
so neither side can block the other on a full pipe, and results come back in the order
the chunks went out: the store after ``jobs=4`` equals the store after ``jobs=1``.

Requests: ``["vocabulary", [[type, value], ...], {symbol: gene_id}]`` once, then
``["extract", record_type, [[key, doc_json], ...]]``. Answers: ``["rows", [row, ...]]``
(the ``entities`` table's columns as a mapping) or ``["crash", type, message]``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import IO, Any, cast

import orjson

from omicsoracle.extraction import vocabulary
from omicsoracle.extraction.entities import Entity, extract_record
from omicsoracle.ingest_worker import read_frame, write_frame
from omicsoracle.memory import limit_arenas, release_free_memory


class ExtractorDied(RuntimeError):
    """A worker exited or answered with an error: the enrichment stops, nothing of the
    chunk is written, and the next ``enrich`` starts again from the same change."""


def entity_rows(record_type: str, key: str, found: list[Entity]) -> list[dict[str, Any]]:
    """The ``entities`` rows of one record's mentions."""
    return [
        {"record_id": key, "seq": i, "record_type": record_type, "type": e.type, "text": e.text,
         "normalized": e.normalized, "field": e.field, "span_start": e.start, "span_end": e.end,
         "source": e.source, "context": e.context}
        for i, e in enumerate(found)
    ]  # fmt: skip


def extract_docs(
    record_type: str, docs: Iterable[tuple[str, Any]], vocab: vocabulary.Vocabulary
) -> list[dict[str, Any]]:
    """Entity rows of stored documents (parsed or as their JSON text)."""
    rows: list[dict[str, Any]] = []
    for key, doc in docs:
        parsed = orjson.loads(doc) if isinstance(doc, (str, bytes)) else doc
        rows.extend(entity_rows(record_type, key, extract_record(record_type, parsed, vocab)))
    return rows


class _Process:
    def __init__(self, values: Sequence[tuple[str, str]], genes: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omicsoracle.extraction.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.stdin = cast(IO[bytes], self.proc.stdin)
        self.stdout = cast(IO[bytes], self.proc.stdout)
        self.send(["vocabulary", [list(v) for v in values], genes])

    def send(self, request: list[Any]) -> None:
        try:
            write_frame(self.stdin, request)  # type: ignore[arg-type]
        except OSError as exc:
            raise ExtractorDied(self._death(f"stopped reading ({exc})")) from exc

    def receive(self) -> list[dict[str, Any]]:
        try:
            frame = read_frame(self.stdout)  # type: ignore[arg-type]
        except (EOFError, OSError, ValueError) as exc:
            raise ExtractorDied(self._death(f"sent a broken frame ({exc})")) from exc
        if frame is None:
            raise ExtractorDied(self._death("exited"))
        if frame[0] == "crash":
            raise ExtractorDied(f"extraction process {self.proc.pid}: {frame[1]}: {frame[2]}")
        return cast(list[dict[str, Any]], frame[1])

    def _death(self, what: str) -> str:
        code = self.proc.wait()
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return f"extraction process {self.proc.pid} {what} ({how})"

    def close(self) -> None:
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ExtractorPool:
    """``jobs`` extraction processes sharing one vocabulary (see the module docstring)."""

    def __init__(self, jobs: int, values: Sequence[tuple[str, str]], genes: dict[str, str]):
        self.procs: list[_Process] = []
        try:
            for _ in range(jobs):
                self.procs.append(_Process(values, genes))
        except BaseException:
            self.close()
            raise

    def map(
        self, chunks: Iterable[tuple[str, Sequence[str], list[tuple[str, str]]]]
    ) -> Iterator[tuple[str, Sequence[str], list[dict[str, Any]]]]:
        """(record type, keys, entity rows) per (record type, keys, raw docs) chunk, in order."""
        pending: deque[tuple[_Process, str, Sequence[str]]] = deque()
        free = deque(self.procs)
        for record_type, keys, docs in chunks:
            if not free:
                proc, done_type, done_keys = pending.popleft()
                yield done_type, done_keys, proc.receive()
                free.append(proc)
            proc = free.popleft()
            proc.send(["extract", record_type, [[k, d] for k, d in docs]])
            pending.append((proc, record_type, keys))
        while pending:
            proc, done_type, done_keys = pending.popleft()
            yield done_type, done_keys, proc.receive()

    def close(self) -> None:
        for proc in self.procs:
            proc.close()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            for proc in self.procs:  # a chunk may be half-answered: do not wait for it
                with contextlib.suppress(OSError):
                    proc.proc.kill()
        self.close()


def main() -> int:
    """Serve requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the enrichment decides when we stop
    limit_arenas()
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints must not corrupt the frames
    vocab: vocabulary.Vocabulary | None = None
    try:
        while (request := read_frame(stdin)) is not None:
            try:
                if request[0] == "vocabulary":
                    vocab = vocabulary.build([(t, v) for t, v in request[1]], request[2])
                    vocabulary.drop_sources()
                    del request
                    gc.collect()
                    release_free_memory()  # one copy of this per worker: keep it small
                    continue
                if vocab is None:
                    raise ValueError("an extract request before the vocabulary")
                docs = [(str(k), d) for k, d in request[2]]
                write_frame(stdout, ["rows", extract_docs(str(request[1]), docs, vocab)])
            except Exception as exc:  # reported to the enrichment, which stops
                write_frame(stdout, ["crash", type(exc).__name__, str(exc)])
    except BrokenPipeError:
        return 0  # the enrichment went away
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdout.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A parser process of ``ingest --jobs N``: paths in on stdin, records out on stdout.

Run as ``python -m omicsoracle.ingest_worker BATCH_SIZE``. Both directions carry
length-prefixed msgpack frames (4-byte big-endian length, then the payload); records
are encoded by :mod:`omicsoracle.formats.record_codec`, never pickled.

Per requested path the worker answers, in order:

- ``["stat", size, mtime_ns, sha256]`` or ``["missing"]`` (then nothing else);
- ``["format", name]`` or ``["detect_error", path, line, reason]`` (then ``["end"]``);
- ``["records", [record, ...]]`` batches of at most BATCH_SIZE records or
  ``MAX_BATCH_ROWS`` table rows;
- ``["format_error", path, line, reason]`` where the file cannot be read further, or
  ``["crash", type, message]`` for an unexpected exception;
- ``["end"]``.

Writes block when the writer is behind (the pipe is the only buffer), which is what
keeps memory constant. SIGINT is ignored: the parent decides when workers stop
(it closes stdin or terminates them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import sys
from pathlib import Path
from stat import S_ISREG
from typing import Any, BinaryIO

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

from omicsoracle.formats import detect
from omicsoracle.formats.record_codec import to_wire
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.ingest import MAX_BATCH_ROWS, file_hash
from omicsoracle.model import DataTable

HEADER = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> Any | None:
    """The next frame's value; None at a clean end of stream."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    payload = _read_exactly(stream, length)
    if payload is None:
        raise EOFError(f"stream ended inside a {length}-byte frame")
    return msgpack.unpackb(payload, raw=False, use_list=True, strict_map_key=True)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            if got:
                raise EOFError(f"stream ended after {got} of {size} bytes")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_frame(stream: BinaryIO, value: Any) -> None:
    """Write one frame and flush it (blocks while the reader is behind)."""
    payload: bytes = msgpack.packb(value, use_bin_type=True)
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def parse_file(out: BinaryIO, path: Path, batch_size: int) -> None:
    """Answer one request (see the module docstring)."""
    try:
        _parse_file(out, path, batch_size)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        # Unreadable (permissions, vanished): the file fails, the worker goes on.
        write_frame(out, ["crash", type(exc).__name__, str(exc)])
        write_frame(out, ["end"])


def _parse_file(out: BinaryIO, path: Path, batch_size: int) -> None:
    try:
        st = path.stat()
    except OSError:
        st = None
    if st is None or not S_ISREG(st.st_mode):
        write_frame(out, ["missing"])
        return
    write_frame(out, ["stat", st.st_size, st.st_mtime_ns, file_hash(path)])
    source = Source(path)
    try:
        fmt = detect(source)
    except FormatError as exc:
        write_frame(out, ["detect_error", exc.path, exc.line, exc.reason])
        write_frame(out, ["end"])
        return
    write_frame(out, ["format", fmt.name])
    batch: list[list[Any]] = []
    rows = 0
    try:
        for record in fmt.parse(source):
            batch.append(to_wire(record))
            if isinstance(record, DataTable):
                rows += len(record.rows)
            if len(batch) >= batch_size or rows >= MAX_BATCH_ROWS:
                write_frame(out, ["records", batch])
                batch, rows = [], 0
        if batch:
            write_frame(out, ["records", batch])
    except FormatError as exc:
        if batch:
            write_frame(out, ["records", batch])
        write_frame(out, ["format_error", exc.path, exc.line, exc.reason])
    except Exception as exc:  # reported to the writer as the file's failure
        write_frame(out, ["crash", type(exc).__name__, str(exc)])
    write_frame(out, ["end"])


def main(argv: list[str]) -> int:
    """Serve requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    batch_size = int(argv[0]) if argv else 1000
    stdin = sys.stdin.buffer
    # Frames get a private copy of fd 1; anything a library prints goes to stderr
    # instead of corrupting the stream.
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        while (request := read_frame(stdin)) is not None:
            parse_file(stdout, Path(request), batch_size)
    except BrokenPipeError:
        return 0  # the writer went away: nothing left to do
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdout.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

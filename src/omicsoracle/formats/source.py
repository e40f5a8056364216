"""Opening input files: gzip by magic bytes, text decoding with a fallback.

Decoding rule (documented in the README): each line is decoded as UTF-8; a line
that is not valid UTF-8 is decoded as Windows-1252 (old GEO files are Latin-1,
and cp1252 is its superset for printable text), with any byte cp1252 leaves
undefined mapped through Latin-1. Decoding therefore never fails, and the
choice is per line, so one bad byte does not re-decode a whole file.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from typing_extensions import Buffer

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024


class FormatError(Exception):
    """A file-level problem: the file cannot be read past this point."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


def decode_line(raw: bytes) -> str:
    """Decode one line by the UTF-8 then cp1252/Latin-1 rule."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(_decode_cp1252_byte(b) for b in raw)


def _decode_cp1252_byte(b: int) -> str:
    try:
        return bytes((b,)).decode("cp1252")
    except UnicodeDecodeError:
        return chr(b)  # the five bytes cp1252 leaves undefined: Latin-1 control chars


@dataclass(frozen=True, slots=True)
class Source:
    """One input file. Every read is a fresh, streaming pass over it."""

    path: Path

    @property
    def name(self) -> str:
        return str(self.path)

    def is_gzip(self) -> bool:
        with self.path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC

    def open_binary(self) -> BinaryIO:
        """The decompressed bytes. Errors from a damaged gzip surface as FormatError."""
        raw = self.path.open("rb")
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            checked = _CheckedReader(raw, self.name)
            return io.BufferedReader(checked, buffer_size=1 << 16)
        raw.seek(0)
        return raw

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first bytes of the decompressed content (for format detection)."""
        if self.path.stat().st_size == 0:
            raise FormatError(self.name, None, "empty file (0 bytes)")
        with self.open_binary() as fh:
            try:
                data = fh.read(size)
            except FormatError:
                # A gzip truncated inside the head: detect on what decompresses.
                data = _partial_gunzip(self.path, size)
        if not data.strip():
            raise FormatError(self.name, None, "empty file (no content after decompression)")
        return data

    def lines(self) -> Iterator[tuple[int, str]]:
        """(1-based line number, decoded line without its line ending)."""
        number = 0
        with self.open_binary() as fh:
            try:
                for number, raw in enumerate(fh, start=1):
                    yield number, decode_line(raw.rstrip(b"\r\n"))
            except FormatError as exc:
                # Damage is found while reading the line after the last good one.
                raise FormatError(exc.path, number + 1, exc.reason) from exc


class _CheckedReader(io.RawIOBase):
    """Decompresses a gzip file; truncation and corruption become FormatError."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._raw = raw  # GzipFile.close() does not close a file it was handed: we do
        self._inner = gzip.GzipFile(fileobj=raw, mode="rb")
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        try:
            return self._inner.readinto(buffer)
        except EOFError as exc:
            raise FormatError(self._name, None, f"truncated gzip: {exc}") from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise FormatError(self._name, None, f"corrupt gzip: {exc}") from exc

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self._raw.close()
        super().close()


def _partial_gunzip(path: Path, size: int) -> bytes:
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with path.open("rb") as fh:
        return decomp.decompress(fh.read(size * 4), size)

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
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from typing_extensions import Buffer

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
# A POSIX tar header carries "ustar" at offset 257 (GEO's MINiML .tgz files do).
_TAR_MAGIC_AT = 257
_TAR_MAGIC = b"ustar"


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
            stream = io.BufferedReader(checked, buffer_size=1 << 16)
            if _is_tar(stream):
                # GEO ships MINiML as GSExxx_family.xml.tgz (the XML plus per-sample
                # tables): stream the XML member, nothing is extracted to disk.
                return _tar_xml_member(stream, self.name)
            return stream
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


def _is_tar(stream: io.BufferedReader[Any]) -> bool:
    try:
        head = stream.peek(_TAR_MAGIC_AT + len(_TAR_MAGIC))
    except FormatError:
        return False  # damaged gzip: the reader reports it where it is read
    return head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + len(_TAR_MAGIC)] == _TAR_MAGIC


def _tar_xml_member(stream: io.BufferedReader[Any], name: str) -> BinaryIO:
    """The first ``.xml`` member of a (decompressed) tar stream, read in stream mode."""
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115  # closed by _TarMember
        for member in archive:
            if member.isfile() and member.name.endswith(".xml"):
                inner = archive.extractfile(member)
                if inner is not None:
                    return io.BufferedReader(_TarMember(archive, inner, stream, name), 1 << 16)
    except tarfile.TarError as exc:
        stream.close()
        raise FormatError(name, None, f"corrupt tar archive: {exc}") from exc
    except BaseException:
        stream.close()
        raise
    archive.close()
    stream.close()
    raise FormatError(name, None, "tar archive holds no .xml member (expected MINiML)")


class _TarMember(io.RawIOBase):
    """One tar member's bytes; closing it closes the archive and the file under it."""

    def __init__(
        self, archive: tarfile.TarFile, inner: IO[bytes], stream: BinaryIO, name: str
    ) -> None:
        self._archive = archive
        self._inner = inner
        self._stream = stream
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._inner.read(len(view))
        except tarfile.TarError as exc:
            raise FormatError(self._name, None, f"corrupt tar archive: {exc}") from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self._archive.close()
            self._stream.close()
        super().close()


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

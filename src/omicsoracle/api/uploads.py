"""Receive a multipart upload straight to disk, enforcing the size limit as it streams.

Starlette's form parser spools files of any size before a handler sees them; here
the limit is checked on every chunk, so an oversized upload is refused after at most
``max_bytes`` were read, and memory holds one chunk at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

# Form fields other than the file are short options ("on_error"): cap their size and
# number, and the size of each part's headers, so no part of a body escapes a limit.
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16
MAX_HEADER_BYTES = 16 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UploadTooLarge(Exception):
    def __init__(self, max_bytes: int):
        super().__init__(f"the upload exceeds the limit of {max_bytes // (1024 * 1024)} MiB")


class BadUpload(ValueError):
    """Not a multipart form with one file part."""


@dataclass
class Upload:
    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


def safe_filename(name: str) -> str:
    """The base name with anything but letters, digits, dot, dash and underscore replaced.

    Keeps the extension (``.soft.gz``), which format detection and gzip handling read.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).lstrip(".")
    return cleaned[:200] or "upload"


class _Receiver:
    def __init__(self, directory: Path, max_bytes: int, file_field: str):
        self.directory = directory
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.fields: dict[str, str] = {}
        self.upload: Upload | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._buffer = bytearray()
        self._out: IO[bytes] | None = None
        self._is_file = False
        self._header_bytes = 0
        self.total = 0  # every body byte the parser hands over, file or not

    def _count(self, n: int) -> None:
        self.total += n
        if self.total > self.max_bytes:
            raise UploadTooLarge(self.max_bytes)

    def on_part_begin(self) -> None:
        if len(self.fields) >= MAX_FIELDS:
            raise BadUpload(f"at most {MAX_FIELDS} form fields")
        self._header_bytes = 0
        self._headers = {}
        self._buffer = bytearray()
        self._is_file = False

    def _header(self, n: int) -> None:
        self._header_bytes += n
        self._count(n)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise BadUpload("multipart part headers are too long")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header(end - start)
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header(end - start)
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and self._name == self.file_field:
            if self.upload is not None:
                raise BadUpload(f"send one file in the {self.file_field!r} field")
            name = safe_filename(filename.decode("utf-8", "replace"))
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / name
            self._out = path.open("wb")
            self.upload = Upload(path, name, 0)
            self._is_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        self._count(len(chunk))
        if self._is_file:
            assert self._out is not None
            assert self.upload is not None
            self.upload.size += len(chunk)
            self._out.write(chunk)
        else:
            self._buffer += chunk
            if len(self._buffer) > MAX_FIELD_BYTES:
                raise BadUpload(f"form field {self._name!r} is too long")

    def on_part_end(self) -> None:
        if self._is_file:
            self.close()
        elif self._name:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def _discard(receiver: _Receiver) -> None:
    receiver.close()
    if receiver.upload is not None:
        receiver.upload.path.unlink(missing_ok=True)


async def receive_upload(
    request: Request, directory: Path, max_bytes: int, file_field: str = "file"
) -> Upload:
    """Stream the request's multipart body; the file lands in ``directory``."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise BadUpload("send the file as multipart/form-data")
    declared = request.headers.get("content-length")
    # Refuse before reading a byte when the client says it is too big (the multipart
    # framing adds a few hundred bytes, hence the allowance).
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise UploadTooLarge(max_bytes)
    receiver = _Receiver(directory, max_bytes, file_field)
    parser = MultipartParser(
        options[b"boundary"],
        callbacks={
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (MultipartParseError, ClientDisconnect) as exc:
        _discard(receiver)
        raise BadUpload(f"malformed or interrupted multipart body: {exc}") from exc
    except BaseException:
        # Our own limits (UploadTooLarge, BadUpload) go to the client as they are; a
        # server-side failure (a full disk) stays a 500 without the server's paths.
        _discard(receiver)
        raise
    receiver.close()
    if receiver.upload is None:
        raise BadUpload(f"no file in the {file_field!r} form field")
    receiver.upload.fields = receiver.fields
    return receiver.upload

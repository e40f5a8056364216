"""Codecs: envelopes to bytes and back, for process boundaries only (issue 5).

Inside one process envelopes pass as objects; a codec is used where bytes travel (the
Redis bus). Two codecs are offered, msgpack and orjson; pickle is not (bytes from the
network must never be able to run code).

Wire layout, identical for both codecs: one array
``[1, id, type, priority, correlation_id, created_at, attempt, payload]``. The leading 1
is the layout version. An array instead of a map keeps the field names off the wire and
out of the decoder's work (measured in ``bench/bus_bench.py``).

Everything that goes wrong while decoding (bytes that are not msgpack/JSON, a wrong
shape, a field of the wrong type, an unregistered message type, a non JSON-like value in
the payload) raises :class:`CodecError`, whose message quotes at most
:data:`PREVIEW_BYTES` bytes of the input, so a worker can dead-letter it and go on.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

import msgpack  # type: ignore[import-untyped]  # no stubs, no py.typed
import orjson

from omicsoracle.bus.message import Envelope, Priority, UnknownMessageType, require_registered

LAYOUT_VERSION: Final = 1
PREVIEW_BYTES: Final = 32
_PRIORITIES: Final = tuple(Priority)
_SCALARS: Final = (str, int, float, bool, type(None))


class CodecError(ValueError):
    """Bytes that are not a valid envelope, or an envelope that cannot be encoded."""


class Codec(Protocol):
    """Turns envelopes into bytes and back."""

    name: str

    def encode(self, envelope: Envelope) -> bytes:
        """The envelope as bytes; :class:`CodecError` if the payload is not JSON-like."""

    def decode(self, data: bytes) -> Envelope:
        """The envelope in ``data``; :class:`CodecError` for anything else."""


def preview(data: bytes) -> str:
    """A short, safe description of ``data`` for error messages."""
    head = bytes(data[:PREVIEW_BYTES])
    more = "..." if len(data) > PREVIEW_BYTES else ""
    return f"{len(data)} bytes starting {head!r}{more}"


def _fields(envelope: Envelope) -> list[Any]:
    return [
        LAYOUT_VERSION,
        envelope.id,
        envelope.type,
        int(envelope.priority),
        envelope.correlation_id,
        envelope.created_at,
        envelope.attempt,
        envelope.payload,
    ]


def _json_like(value: Any) -> bool:
    """True when ``value`` holds only dict (str keys), list, str, int, float, bool, None.

    Tuples count as lists (both codecs write them as arrays; decoding gives lists).

    msgpack can carry more than JSON (bytes, timestamps, extension types); handlers are
    promised JSON-like payloads whichever codec carried them.
    """
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        cls = type(item)
        if cls is dict:
            for key, sub in item.items():
                if type(key) is not str:
                    return False
                if type(sub) in (dict, list, tuple):
                    push(sub)
                elif not isinstance(sub, _SCALARS):
                    return False
        elif cls is list or cls is tuple:
            for sub in item:
                if type(sub) in (dict, list, tuple):
                    push(sub)
                elif not isinstance(sub, _SCALARS):
                    return False
        elif not isinstance(item, _SCALARS):
            return False
    return True


def _envelope(fields: Any, data: bytes, *, deep: bool) -> Envelope:
    """Check the decoded array field by field and build the envelope.

    ``deep`` also walks the payload; JSON decoders only ever build JSON values.
    """
    if type(fields) is not list or len(fields) != 8 or fields[0] != LAYOUT_VERSION:
        raise CodecError(f"not an envelope (layout {LAYOUT_VERSION} array of 8): {preview(data)}")
    _, id_, type_, priority, correlation_id, created_at, attempt, payload = fields
    if type(id_) is not str or not id_:
        raise CodecError(f"envelope id must be a non-empty string: {preview(data)}")
    if type(type_) is not str:
        raise CodecError(f"envelope type must be a string: {preview(data)}")
    if type(priority) is not int or not 0 <= priority < len(_PRIORITIES):
        raise CodecError(f"envelope priority must be an int 0..3: {preview(data)}")
    if correlation_id is not None and type(correlation_id) is not str:
        raise CodecError(f"envelope correlation_id must be a string or null: {preview(data)}")
    if type(created_at) is not float and type(created_at) is not int:
        raise CodecError(f"envelope created_at must be a number: {preview(data)}")
    if type(attempt) is not int or attempt < 1:
        raise CodecError(f"envelope attempt must be an int >= 1: {preview(data)}")
    if type(payload) is not dict or (deep and not _json_like(payload)):
        raise CodecError(f"envelope payload must be a JSON-like object: {preview(data)}")
    try:
        require_registered(type_)
    except UnknownMessageType as exc:
        raise CodecError(f"{exc}: {preview(data)}") from None
    return Envelope(
        type=type_,
        payload=payload,
        priority=_PRIORITIES[priority],
        id=id_,
        correlation_id=correlation_id,
        created_at=float(created_at),
        attempt=attempt,
    )


class MsgpackCodec:
    """msgpack (binary; strings as UTF-8).

    Decoding refuses msgpack's non-JSON types (bin, timestamps, extension types) through
    the unpacker's own limits, so it needs no walk over the payload. Encoding is not
    walked either (a walk cost more than the encoding): tuples and int/float/str
    subclasses are written as their JSON counterparts, other objects raise
    :class:`CodecError`, but ``bytes`` in a payload are written as msgpack bin and only
    refused by the decoder (the orjson codec refuses them when encoding).
    """

    name = "msgpack"

    def encode(self, envelope: Envelope) -> bytes:
        """See :class:`Codec`."""
        try:
            return msgpack.packb(  # type: ignore[no-any-return]
                _fields(envelope), use_bin_type=True, strict_types=True, default=_to_json_like
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise CodecError(f"cannot encode {envelope.type} message: {exc}") from None

    def decode(self, data: bytes) -> Envelope:
        """See :class:`Codec`."""
        try:
            fields = msgpack.unpackb(
                data, raw=False, max_bin_len=0, max_ext_len=0, ext_hook=_no_ext
            )
        except CodecError:
            raise
        # msgpack reports bad input through ValueError subclasses (ExtraData, FormatError,
        # StackError, OutOfData, UnicodeDecodeError, the length limits) and TypeError
        # (unhashable map keys).
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise CodecError(f"not a msgpack envelope ({exc}): {preview(data)}") from None
        # max_bin_len=0 still lets an empty bin (0xc4 0x00) through as b"": only then walk.
        return _envelope(fields, data, deep=_EMPTY_BIN in data)


_EMPTY_BIN: Final = b"\xc4\x00"


def _to_json_like(obj: Any) -> Any:
    """``default`` of the packer (strict_types): what msgpack would not write exactly."""
    if isinstance(obj, tuple):
        return list(obj)
    for base in (bool, int, float, str):  # IntEnum, StrEnum and the like
        if isinstance(obj, base):
            return base(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-like")


def _no_ext(code: int, data: bytes) -> Any:
    raise CodecError(f"msgpack extension type {code} is not allowed in an envelope")


class OrjsonCodec:
    """JSON through orjson (UTF-8 text; readable with redis-cli)."""

    name = "orjson"

    def encode(self, envelope: Envelope) -> bytes:
        """See :class:`Codec`."""
        try:
            return orjson.dumps(_fields(envelope))
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise CodecError(f"cannot encode {envelope.type} message: {exc}") from None

    def decode(self, data: bytes) -> Envelope:
        """See :class:`Codec`."""
        try:
            fields = orjson.loads(data)
        except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError: ValueError
            raise CodecError(f"not JSON ({type(exc).__name__}): {preview(data)}") from None
        # orjson only ever builds JSON values, so the payload needs no deep check here.
        return _envelope(fields, data, deep=False)


CODECS: Final[dict[str, type[MsgpackCodec] | type[OrjsonCodec]]] = {
    "msgpack": MsgpackCodec,
    "orjson": OrjsonCodec,
}


def codec_by_name(name: str) -> Codec:
    """The codec called ``name`` ("msgpack" or "orjson")."""
    try:
        return CODECS[name]()
    except KeyError:
        raise ValueError(f"unknown codec {name!r}; choose one of {', '.join(CODECS)}") from None

"""The dead-letter stream of the Redis bus: what is written there, and how it is read back.

A message lands in ``<prefix>:dead`` when it failed ``max_attempts`` times (nacked, or
not acknowledged within the visibility timeout) or when its bytes could not be decoded
(something other than this bus wrote to the stream). Each dead-letter entry keeps the
bytes exactly as they were, the reason, the stream and entry id they came from, the
attempt count and when it died, so an operator can list them and replay the decodable
ones (``omicsoracle bus dead-letters`` / ``bus replay``, through
:meth:`RedisBus.dead_letters` and :meth:`RedisBus.replay`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from omicsoracle.bus.codec import Codec
from omicsoracle.bus.message import Envelope

__all__ = ["DeadLetter", "ReplayReport", "dead_fields", "parse_dead_letter"]

_DATA = b"data"
_REASON = b"reason"
_SOURCE = b"source"
_ENTRY = b"entry"
_ATTEMPTS = b"attempts"
_AT = b"at"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One entry of the dead-letter stream.

    ``envelope`` is the decoded message, or ``None`` when its bytes are not a valid
    envelope (``error`` then says why, and the message cannot be replayed).
    """

    id: str
    reason: str
    source: str
    source_entry: str
    attempts: int
    dead_at: float
    data: bytes
    envelope: Envelope | None
    error: str | None = None


@dataclass(slots=True)
class ReplayReport:
    """What :meth:`RedisBus.replay` did with each requested dead-letter id."""

    replayed: list[str] = field(default_factory=list)
    """Dead-letter ids published again (attempt reset to 1) and removed from the stream."""
    missing: list[str] = field(default_factory=list)
    """Ids not in the dead-letter stream (never there, or replayed already)."""
    unreadable: list[str] = field(default_factory=list)
    """Ids whose bytes are not an envelope; left in the stream for inspection."""


def dead_fields(
    data: bytes, reason: str, source: str, source_entry: str, attempts: int
) -> dict[bytes, bytes | str | int | float]:
    """The fields of a new dead-letter entry."""
    return {
        _DATA: data,
        _REASON: reason,
        _SOURCE: source,
        _ENTRY: source_entry,
        _ATTEMPTS: attempts,
        _AT: time.time(),
    }


def _text(fields: dict[bytes, bytes], key: bytes, default: str = "") -> str:
    value = fields.get(key)
    return default if value is None else value.decode("utf-8", "replace")


def parse_dead_letter(
    entry_id: bytes | str, fields: dict[bytes, bytes], codec: Codec
) -> DeadLetter:
    """A dead-letter entry as read by XRANGE (never raises for odd content)."""
    data = fields.get(_DATA, b"")
    envelope: Envelope | None = None
    error: str | None = None
    try:
        envelope = codec.decode(data)
    except ValueError as exc:  # CodecError, or anything else a codec calls bad input
        error = str(exc)
    ident = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return DeadLetter(
        id=ident,
        reason=_text(fields, _REASON),
        source=_text(fields, _SOURCE),
        source_entry=_text(fields, _ENTRY),
        attempts=_int(fields.get(_ATTEMPTS)),
        dead_at=_float(fields.get(_AT)),
        data=data,
        envelope=envelope,
        error=error,
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0

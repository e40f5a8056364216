"""The message envelope every bus carries, and the registry of message types.

An envelope is what travels: an id, a registered type, a priority, when it was made,
the correlation id of the request it serves, the delivery attempt and a JSON-like
payload. Inside one process envelopes pass as objects; codecs (``codec.py``) turn
them into bytes only at process boundaries.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any


class Priority(IntEnum):
    """Higher is served first; FIFO within one priority."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    CRITICAL = 3


class UnknownMessageType(ValueError):
    """Publishing or receiving a type nobody registered."""


_TYPES: dict[str, str] = {}


def register(name: str, description: str) -> str:
    """Register a message type (idempotent for the same name); returns the name."""
    if not name or not name.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"bad message type name {name!r}")
    _TYPES.setdefault(name, description)
    return name


def registered() -> dict[str, str]:
    """Every registered type with its description."""
    return dict(_TYPES)


def require_registered(name: str) -> None:
    if name not in _TYPES:
        raise UnknownMessageType(f"message type {name!r} is not registered")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message. ``payload`` is JSON-like data (dict, list, str, int, float, bool, None)."""

    type: str
    payload: dict[str, Any]
    priority: Priority = Priority.NORMAL
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    correlation_id: str | None = None
    created_at: float = field(default_factory=time.time)
    attempt: int = 1

    def __post_init__(self) -> None:
        require_registered(self.type)

    def retried(self) -> Envelope:
        """The same message for its next delivery attempt."""
        return replace(self, attempt=self.attempt + 1)

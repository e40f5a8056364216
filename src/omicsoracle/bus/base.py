"""The interface every bus backend implements (in-process, Redis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from omicsoracle.bus.message import Envelope


class BusFull(Exception):
    """The bounded bus refused a message (policy "refuse")."""


class Bus(Protocol):
    """Publish envelopes; consumers get the highest priority first and acknowledge."""

    async def publish(self, envelope: Envelope) -> None:
        """Queue one message (what happens when full is the backend's documented policy)."""

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        """Queue several at once (one round trip on a networked backend)."""

    async def get(self, timeout: float | None = None) -> Envelope | None:
        """The next message, highest priority first, FIFO within one; None on timeout."""

    async def ack(self, envelope: Envelope) -> None:
        """Handled: never delivered again."""

    async def nack(self, envelope: Envelope, reason: str) -> None:
        """Failed: delivered again (attempt + 1) until the attempt limit, then dead-lettered."""

    async def close(self) -> None: ...

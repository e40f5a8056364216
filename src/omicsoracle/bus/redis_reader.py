"""Reading a Redis bus's priority streams as one consumer of the group (see ``redis_bus``).

Delivers each entry once to this consumer, highest priority first, claims the messages
of dead consumers after the visibility timeout, and moves what cannot be delivered
(undecodable bytes, too many attempts) to the dead-letter stream.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Final

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from omicsoracle.bus.codec import Codec
from omicsoracle.bus.message import Envelope
from omicsoracle.bus.redis_dead_letters import dead_fields

__all__ = ["FIELD", "GroupReader", "as_str"]

FIELD: Final = b"e"
"""The stream-entry field holding the encoded envelope."""
# A delivered stream entry: (stream index, entry id, envelope bytes, redeliveries counted).
_Row = tuple[int, bytes, bytes | None, int]


def as_str(value: bytes | str) -> str:
    """``value`` as text (Redis replies bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def _field(fields: Any) -> bytes | None:
    """The envelope bytes of a stream entry, given as a dict or a flat [k, v, ...] list."""
    if isinstance(fields, dict):
        value = fields.get(FIELD)
        return value if isinstance(value, bytes) else None
    if isinstance(fields, list):
        for key, value in zip(fields[::2], fields[1::2], strict=False):
            if key == FIELD and isinstance(value, bytes):
                return value
    return None


class GroupReader:
    """One consumer's reads of the priority streams (``streams``: highest first).

    ``delivered`` maps each delivered envelope id to its (stream index, entry id) until
    the owner acknowledges it.
    """

    def __init__(
        self,
        client: Redis,
        streams: list[str],
        dead_stream: str,
        *,
        group: str,
        consumer: str,
        codec: Codec,
        visibility_timeout: float,
        max_attempts: int,
        block_ms: int,
    ) -> None:
        self._client = client
        self.streams = streams
        self.dead_stream = dead_stream
        self.group = group
        self.consumer = consumer
        self.codec = codec
        self.visibility_timeout = visibility_timeout
        self.max_attempts = max_attempts
        self.block_ms = block_ms
        self.delivered: dict[str, tuple[int, bytes]] = {}
        self._ready = False
        self._buffer: list[Envelope] = []
        self._claim_every = visibility_timeout / 2
        self._next_claim = 0.0
        self._claim_from = ["0-0"] * len(streams)

    async def read(self, n: int, deadline: float | None) -> list[Envelope]:
        """Up to ``n`` envelopes, as soon as there is one; empty at ``deadline``."""
        while True:
            if self._buffer:
                got, self._buffer = self._buffer[:n], self._buffer[n:]
                return got
            try:
                if await self._read_ready(n, deadline):
                    continue
            except redis_errors.ResponseError as exc:
                if "NOGROUP" not in str(exc) and "no such key" not in str(exc):
                    raise
                self._ready = False  # the streams were deleted under us: recreate
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return []

    async def _ensure_groups(self) -> None:
        if self._ready:
            return
        pipe = self._client.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xgroup_create(stream, self.group, id="0", mkstream=True)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result
        self._ready = True

    async def _read_ready(self, n: int, deadline: float | None) -> bool:
        """One step of ``get_many``: claim, read, or block; whether the buffer may have grown."""
        await self._ensure_groups()
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + self._claim_every
            if await self._claim(n):
                return True
        if await self._read_planned(n):
            return True
        block = self._block_time(deadline)
        if block is None:
            return False
        streams: Any = dict.fromkeys(self.streams, ">")
        found = await self._client.xreadgroup(
            self.group, self.consumer, streams, count=n, block=block
        )
        if await self._accept_reads([found]) and len(self._buffer) < n:
            # A wake-up answers with the one stream that woke it; what was published with
            # it on the other streams (higher priorities too) is read now, not next time.
            await self._read_planned(n - len(self._buffer))
        return True

    async def _read_planned(self, n: int) -> bool:
        """Read what :meth:`_plan` says; whether anything came."""
        plan = await self._plan(n)
        if not plan:
            return False
        pipe = self._client.pipeline(transaction=False)
        for index, count in plan:
            pipe.xreadgroup(self.group, self.consumer, {self.streams[index]: ">"}, count=count)
        # False when the lag announced entries that are gone (taken by another consumer,
        # or deleted unread): the caller then waits rather than plan on the same lag.
        return await self._accept_reads(await pipe.execute())

    async def _plan(self, n: int) -> list[tuple[int, int]]:
        """How many to read from which stream, highest priority first, ``n`` at most.

        The group's ``lag`` per stream (XINFO GROUPS, tiny replies) counts the entries
        not yet delivered, so one pipelined read takes exactly those, in priority order,
        and nothing is read ahead. The lag stays exact here because only delivered
        entries are ever deleted; when Redis cannot tell (``None``) that stream takes
        the rest of the batch.
        """
        pipe = self._client.pipeline(transaction=False)
        for key in self.streams:
            pipe.xinfo_groups(key)
        infos: list[Any] = await pipe.execute()
        plan: list[tuple[int, int]] = []
        left = n
        for index, groups in enumerate(infos):
            ours = [g for g in groups if as_str(g["name"]) == self.group]
            if not ours:
                raise redis_errors.ResponseError(f"NOGROUP {self.group} on {self.streams[index]}")
            lag = ours[0]["lag"]
            count = left if lag is None else min(left, int(lag))
            if count > 0:
                plan.append((index, count))
                left -= count
            if left == 0 or lag is None:
                break
        return plan

    async def _accept_reads(self, replies: list[Any]) -> bool:
        """Accept XREADGROUP replies; whether they held any entry."""
        batch: list[_Row] = []
        for found in replies:
            # RESP2 replies are [[stream, entries], ...]; RESP3 ones a mapping.
            pairs = found.items() if isinstance(found, dict) else (found or [])
            for name, entries in pairs:
                index = self.streams.index(as_str(name))
                batch += [(index, entry, _field(fields), 0) for entry, fields in entries]
        await self._accept(batch)
        return bool(batch)

    def _block_time(self, deadline: float | None) -> int | None:
        """Milliseconds to block for: until the deadline, the next claim, or ``block_ms``."""
        now = time.monotonic()
        limit = min(self.block_ms / 1000, max(0.0, self._next_claim - now))
        if deadline is not None:
            if deadline <= now:
                return None
            limit = min(limit, deadline - now)
        return max(1, math.ceil(limit * 1000))

    async def _claim(self, n: int) -> bool:
        """Take over messages idle past the visibility timeout; whether any came."""
        idle = max(1, round(self.visibility_timeout * 1000))
        pipe = self._client.pipeline(transaction=False)
        for key, start in zip(self.streams, self._claim_from, strict=True):
            pipe.xautoclaim(key, self.group, self.consumer, idle, start_id=start, count=n)
        claimed: list[tuple[int, bytes, Any]] = []
        results: list[Any] = await pipe.execute()
        for index, result in enumerate(results):
            self._claim_from[index] = as_str(result[0])
            claimed += [(index, entry, fields) for entry, fields in result[1] if entry]
        if not claimed:
            return False
        pipe = self._client.pipeline(transaction=False)
        for index, entry, _ in claimed:
            pipe.xpending_range(self.streams[index], self.group, min=entry, max=entry, count=1)
        pending: list[Any] = await pipe.execute()
        batch: list[_Row] = []
        for (index, entry, fields), rows in zip(claimed, pending, strict=True):
            # Redis counted the claim as a delivery; an entry gone from the pending list
            # meanwhile was acked by its slow owner, and counts as one redelivery.
            redeliveries = int(rows[0]["times_delivered"]) - 1 if rows else 1
            batch.append((index, entry, _field(fields), redeliveries))
        await self._accept(batch)
        return True

    async def _accept(self, batch: list[_Row]) -> None:
        """Decode delivered entries into the buffer; dead-letter the bad and the expired."""
        dead: list[tuple[int, bytes, bytes, str, int]] = []
        for stream, entry, data, redeliveries in batch:
            if data is None:
                dead.append((stream, entry, b"", "entry has no envelope field 'e'", 0))
                continue
            try:
                envelope = self.codec.decode(data)
            except ValueError as exc:  # CodecError; UnknownMessageType too
                dead.append((stream, entry, data, f"undecodable: {exc}", 0))
                continue
            attempt = envelope.attempt + redeliveries
            if attempt > self.max_attempts:
                reason = (
                    f"not acknowledged within {self.visibility_timeout:g} s"
                    f" in {attempt - 1} attempts"
                )
                dead.append((stream, entry, data, reason, attempt - 1))
                continue
            if redeliveries:
                envelope = replace(envelope, attempt=attempt)
            self.delivered[envelope.id] = (stream, entry)
            self._buffer.append(envelope)
        # Stable sort: FIFO holds within a priority.
        self._buffer.sort(key=lambda e: -e.priority)
        if dead:
            pipe = self._client.pipeline(transaction=True)
            for stream, entry, data, reason, attempts in dead:
                key = self.streams[stream]
                fields = dead_fields(data, reason, key, as_str(entry), attempts)
                pipe.xadd(self.dead_stream, fields)  # type: ignore[arg-type]
                pipe.xack(key, self.group, entry)
                pipe.xdel(key, entry)
            await pipe.execute()

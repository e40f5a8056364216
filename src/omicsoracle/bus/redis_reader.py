"""Reading a Redis bus's priority streams as one consumer of the group (see ``redis_bus``).

Delivers each entry once to this consumer, highest priority first, claims the messages
of dead consumers after the visibility timeout, and moves what cannot be delivered
(undecodable bytes, too many attempts) to the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import replace
from typing import Any, Final

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from omicsoracle.bus.codec import Codec
from omicsoracle.bus.message import Envelope
from omicsoracle.bus.redis_dead_letters import dead_fields

__all__ = ["FIELD", "GroupReader", "as_str"]

FIELD: Final = b"e"
"""The stream-entry field holding the encoded envelope."""
# KEYS: the priority streams; ARGV[1]: the group. Each stream's lag for the group (its
# entries not yet delivered): -1 when Redis cannot tell, -2 when the group is missing.
# One small reply instead of four XINFO GROUPS replies to parse.
_LAGS: Final = """
local lags = {}
for i, key in ipairs(KEYS) do
  lags[i] = -2
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local name, lag
    for j = 1, #group, 2 do
      if group[j] == 'name' then name = group[j + 1] end
      if group[j] == 'lag' then lag = group[j + 1] end
    end
    if name == ARGV[1] then lags[i] = lag or -1 end
  end
end
return lags
"""
# How long lags read with an acknowledgement may plan the next read (see note_lags).
_LAGS_FRESH: Final = 0.002
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
        timeout: float,
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
        self.timeout = timeout
        self.delivered: dict[str, tuple[int, bytes]] = {}
        self._ready = False
        self._buffer: list[Envelope] = []
        self._claim_every = visibility_timeout / 2
        self._next_claim = 0.0
        self._claim_from = ["0-0"] * len(streams)
        self._lags_script = client.register_script(_LAGS)
        self._lags: tuple[float, Any] | None = None  # (when, reply) of note_lags

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

    async def _execute(self, pipe: Pipeline, *, raise_on_error: bool = True) -> list[Any]:
        """Run ``pipe``: one round trip, :class:`TimeoutError` after ``timeout``."""
        async with asyncio.timeout(self.timeout):
            return await pipe.execute(raise_on_error=raise_on_error)

    async def _ensure_groups(self) -> None:
        if self._ready:
            return
        pipe = self._client.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xgroup_create(stream, self.group, id="0", mkstream=True)
        for result in await self._execute(pipe, raise_on_error=False):
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
        noted = self._noted_plan(n)
        # Lags noted just now say every stream is empty: if this get may wait, it waits
        # at once (the blocking read also returns what came since, without waiting).
        may_wait = noted == [] and self._block_time(deadline) is not None
        if not may_wait and await self._read_planned(n, noted):
            return True
        block = self._block_time(deadline)
        if block is None:
            return False
        streams: Any = dict.fromkeys(self.streams, ">")
        async with asyncio.timeout(self.timeout):
            found = await self._client.xreadgroup(
                self.group, self.consumer, streams, count=n, block=block
            )
        if await self._accept_reads([found]) and len(self._buffer) < n:
            # A wake-up answers with the one stream that woke it; what was published with
            # it on the other streams (higher priorities too) is read now, not next time.
            await self._read_planned(n - len(self._buffer))
        return True

    async def _read_planned(self, n: int, plan: list[tuple[int, int]] | None = None) -> bool:
        """Read what ``plan`` (or else :meth:`_plan`) says; whether anything came."""
        plan = plan or await self._plan(n)
        if not plan:
            return False
        pipe = self._client.pipeline(transaction=False)
        for index, count in plan:
            pipe.xreadgroup(self.group, self.consumer, {self.streams[index]: ">"}, count=count)
        # False when the lag announced entries that are gone (taken by another consumer,
        # or deleted unread): the caller then waits rather than plan on the same lag.
        return await self._accept_reads(await self._execute(pipe))

    def ask_lags(self, pipe: Pipeline) -> None:
        """Add the lag query to the owner's ``pipe`` (give its reply to :meth:`note_lags`).

        Sent with each acknowledgement, which a worker's next read follows at once.
        """
        # EVALSHA, not the Script object: a pipeline holding one checks SCRIPT EXISTS
        # first, a round trip. Until _plan has loaded the script this reply is NOSCRIPT.
        pipe.evalsha(self._lags_script.sha, len(self.streams), *self.streams, self.group)

    def note_lags(self, reply: Any) -> None:
        """Keep the reply of :meth:`ask_lags` to plan the next read without asking again.

        That saves the next read a round trip (about a third of a batch's round trips
        with the benchmark's one producer and one consumer). It is used at most once
        and only within 2 ms: a message published in between at a higher priority waits
        for the following batch, as one published between the lag query and the reads
        always may. When they say every stream is empty, a get that may wait blocks at
        once; should messages have come to several streams meanwhile, that read takes
        up to ``n`` of each (kept in the buffer, like a wake-up's).
        """
        self._lags = None if isinstance(reply, Exception) else (time.monotonic(), reply)

    def _noted_plan(self, n: int) -> list[tuple[int, int]] | None:
        """The plan from lags noted just now; ``None`` when there are none."""
        noted, self._lags = self._lags, None
        if noted is None or time.monotonic() - noted[0] > _LAGS_FRESH:
            return None
        return self._plan_from(noted[1], n)

    async def _plan(self, n: int) -> list[tuple[int, int]]:
        """How many to read from which stream, highest priority first, ``n`` at most.

        The group's ``lag`` per stream counts the entries not yet delivered, so one
        pipelined read takes exactly those, in priority order, and nothing is read
        ahead. The lag stays exact here because only delivered entries are ever
        deleted; when Redis cannot tell, that stream takes the rest of the batch.
        """
        async with asyncio.timeout(self.timeout):
            lags = await self._lags_script(keys=self.streams, args=[self.group])
        return self._plan_from(lags, n)

    def _plan_from(self, lags: Any, n: int) -> list[tuple[int, int]]:
        plan: list[tuple[int, int]] = []
        left = n
        for index, lag in enumerate(lags):
            if lag == -2:
                raise redis_errors.ResponseError(f"NOGROUP {self.group} on {self.streams[index]}")
            count = left if lag == -1 else min(left, int(lag))
            if count > 0:
                plan.append((index, count))
                left -= count
            if left == 0 or lag == -1:
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
        results: list[Any] = await self._execute(pipe)
        for index, result in enumerate(results):
            self._claim_from[index] = as_str(result[0])
            claimed += [(index, entry, fields) for entry, fields in result[1] if entry]
        if not claimed:
            return False
        pipe = self._client.pipeline(transaction=False)
        for index, entry, _ in claimed:
            pipe.xpending_range(self.streams[index], self.group, min=entry, max=entry, count=1)
        pending: list[Any] = await self._execute(pipe)
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
            await self._execute(pipe)

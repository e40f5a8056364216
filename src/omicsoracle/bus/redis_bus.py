"""The distributed bus: Redis Streams with one consumer group, for workers on many machines.

Layout (``prefix`` is ``stream_prefix``):

- ``<prefix>:p3`` .. ``<prefix>:p0``: one stream per priority (CRITICAL .. LOW); each
  entry holds one encoded envelope in the field ``e``. All consumers share the group.
- ``<prefix>:dead``: the dead-letter stream (see :mod:`.redis_dead_letters`).
- ``<prefix>:done:<message id>``: idempotency markers (see below).

**Priority.** ``get`` first asks how many undelivered entries each stream holds (the
group's lag, one small round trip; ``ack`` asks it too, so the read that follows an
acknowledgement at once, within 2 ms, plans with that answer instead), then reads
exactly that many in priority order in one pipelined round trip, so CRITICAL is served
before HIGH, FIFO holds within a stream, and nothing is read ahead. (A Lua script doing
the XREADGROUPs in order was 4x slower with 7 KB messages: Lua copies every payload
twice.) Only when all are empty does it block, on all four streams at once; what that
wake-up returns (rarely more than one stream's worth) is kept in a small local buffer
and served, highest priority first, before Redis is read again. The trade-off: a message
arriving while that buffer is non-empty may wait behind a few lower-priority ones
already delivered here; strict priority across the whole group would need one stream and
a sorted index beside it, with more round trips.

**Acknowledgement.** A delivered message stays in the group's pending list until
``ack`` (XACK, then XDEL so the stream only holds unfinished work). ``nack`` re-queues it
at the tail of its stream with ``attempt + 1``, or dead-letters it when it has had
``max_attempts`` attempts.

**Dead workers.** A message not acknowledged within ``visibility_timeout`` seconds is
claimed by the next consumer that looks (XAUTOCLAIM, at most every half timeout); its
attempt is the encoded attempt plus the redeliveries Redis counted (XPENDING), and past
``max_attempts`` it is dead-lettered instead of delivered.

**Full.** Each priority stream holds at most ``maxlen`` unfinished messages (a soft
bound: concurrent publishers may each overshoot it by one batch); ``publish`` and
``publish_many`` refuse (:class:`BusFull`, all or nothing) rather than trim, because
trimming a stream silently drops its oldest unhandled messages.

**Malformed entries** (bytes another program wrote, an unregistered type) never reach a
handler and never crash the consumer: they are moved to the dead-letter stream with the
:class:`CodecError` message and acknowledged.

**Idempotency.** Delivery is at least once: a slow worker's message can be claimed by
another and handled twice, and a worker can die between its effect and its ``ack``. So
handlers are idempotent by message id, with a marker ``SET <prefix>:done:<id> NX EX ttl``::

    env = await bus.get(timeout=1.0)
    if env is not None:
        if await bus.seen(env):          # effect applied by an earlier delivery
            await bus.ack(env)
        else:
            await apply_effect(env)
            await bus.mark_done(env)
            await bus.ack(env)

When the effect itself lives in Redis, write it in the same MULTI/Lua script as the
marker (key :meth:`RedisBus.done_key`) so that "done" and the effect cannot part; when
it lives elsewhere (a database row keyed by message id), that key is the idempotency
check and the marker only saves work.

Connection failures and timeouts raise :class:`BusUnavailable` at once (redis-py's own
retries are off); what to do next is the worker's decision.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from omicsoracle.bus.base import BusFull
from omicsoracle.bus.codec import Codec
from omicsoracle.bus.message import Envelope, Priority, require_registered
from omicsoracle.bus.redis_dead_letters import (
    DeadLetter,
    ReplayReport,
    dead_fields,
    parse_dead_letter,
)
from omicsoracle.bus.redis_reader import FIELD, GroupReader, as_str

__all__ = ["BusUnavailable", "DeadLetter", "RedisBus", "ReplayReport", "UnknownDelivery"]

_PRIORITIES: Final = sorted(Priority, reverse=True)  # CRITICAL first

# What a dead, unreachable, restarting or overloaded server raises.
_UNAVAILABLE: Final = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    OSError,
    TimeoutError,
)


# The commands publish_many sends, in Redis's wire format (RESP).
_MULTI: Final = b"*1\r\n$5\r\nMULTI\r\n"
_EXEC: Final = b"*1\r\n$4\r\nEXEC\r\n"
# XADD key * e <data>: the data and CRLF follow.
_XADD: Final = b"*5\r\n$4\r\nXADD\r\n$%d\r\n%b\r\n$1\r\n*\r\n$1\r\n" + FIELD + b"\r\n$%d\r\n"
_XLEN: Final = b"*2\r\n$4\r\nXLEN\r\n$%d\r\n%b\r\n"


class BusUnavailable(ConnectionError):
    """Redis could not be reached, or did not answer within the timeout."""


class UnknownDelivery(LookupError):
    """``ack``/``nack`` of an envelope this bus did not deliver (or already settled)."""


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


class RedisBus:
    """The :class:`~omicsoracle.bus.base.Bus` on Redis Streams (see the module docstring).

    Parameters
    ----------
    url
        ``redis://host:port/db`` (any URL redis-py accepts).
    stream_prefix
        Prefix of every key this bus uses; buses with different prefixes are independent.
    group
        The consumer group; every worker of one pipeline uses the same group.
    consumer
        This consumer's name within the group (default ``<host>:<pid>``).
    codec
        Turns envelopes into the bytes stored in the streams.
    maxlen
        Unfinished messages each priority stream may hold before publishing is refused.
    visibility_timeout
        Seconds a delivered message may stay unacknowledged before another consumer
        may claim it.
    max_attempts
        Deliveries a message gets before it goes to the dead-letter stream.
    block_ms
        Longest single blocking read; between reads the consumer looks for messages of
        dead workers. Must be shorter than ``timeout``.
    timeout
        Seconds to connect and for each round trip before :class:`BusUnavailable`.
    done_ttl
        Seconds an idempotency marker (:meth:`mark_done`) lives.
    """

    def __init__(
        self,
        url: str,
        *,
        codec: Codec,
        stream_prefix: str = "omicsoracle:bus",
        group: str = "workers",
        consumer: str | None = None,
        maxlen: int = 100_000,
        visibility_timeout: float = 30.0,
        max_attempts: int = 5,
        block_ms: int = 1000,
        timeout: float = 5.0,
        done_ttl: float = 86_400.0,
    ) -> None:
        if maxlen < 1 or max_attempts < 1:
            raise ValueError("maxlen and max_attempts must be at least 1")
        if visibility_timeout <= 0 or timeout <= 0 or done_ttl <= 0:
            raise ValueError("visibility_timeout, timeout and done_ttl must be positive")
        if not 1 <= block_ms < timeout * 1000:
            raise ValueError("block_ms must be at least 1 and shorter than timeout")
        self.url = _redact(url)
        self.prefix = stream_prefix
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.codec = codec
        self.maxlen = maxlen
        self.visibility_timeout = visibility_timeout
        self.max_attempts = max_attempts
        self.block_ms = block_ms
        self.done_ttl = done_ttl
        self.streams = [f"{stream_prefix}:p{int(p)}" for p in _PRIORITIES]
        self.dead_stream = f"{stream_prefix}:dead"
        self.timeout = timeout
        # Retries off: a retried XADD after a lost reply would publish twice, and a retried
        # read would only hide an outage the caller should see. No socket timeout: redis-py
        # would arm one timer per reply (a third of the client's time publishing a batch
        # of 100, one QUEUED reply per XADD); each round trip gets one instead (_guard).
        self._client = Redis.from_url(
            url, socket_timeout=None, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self._keys = [key.encode() for key in self.streams]
        self._lengths = [0] * len(self.streams)  # as seen by this bus's last publish
        self._reader = GroupReader(
            self._client,
            self.streams,
            self.dead_stream,
            group=self.group,
            consumer=self.consumer,
            codec=codec,
            visibility_timeout=visibility_timeout,
            max_attempts=max_attempts,
            block_ms=block_ms,
            timeout=timeout,
        )
        self._delivered = self._reader.delivered

    # -- publishing ------------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> None:
        """Queue one message; :class:`BusFull` when its priority stream holds ``maxlen``."""
        await self.publish_many((envelope,))

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        """Queue several messages in one round trip (MULTI), or none (:class:`BusFull`)."""
        if not envelopes:
            return
        added: dict[int, list[bytes]] = {}
        for envelope in envelopes:
            require_registered(envelope.type)
            index = _PRIORITIES.index(envelope.priority)
            added.setdefault(index, []).append(self.codec.encode(envelope))
        async with self._guard("publish to"):
            if any(self._lengths[i] + len(batch) > self.maxlen for i, batch in added.items()):
                await self._refuse_if_full(added)
            # Highest priority first: a blocked consumer wakes up on the first stream.
            commands: list[bytes] = []
            for index, batch in sorted(added.items()):
                key = self._keys[index]
                for data in batch:
                    commands += (_XADD % (len(key), key, len(data)), data, b"\r\n")
            commands += (_XLEN % (len(self._keys[i]), self._keys[i]) for i in added)
            replies = await self._transaction(commands, len(envelopes) + len(added))
            lengths = replies[-len(added) :]
        for index, length in zip(added, lengths, strict=True):
            self._lengths[index] = int(length)

    async def _transaction(self, commands: list[bytes], count: int) -> Any:
        """EXEC's reply to MULTI, the ``count`` packed ``commands``, EXEC, in one write.

        Packed here rather than by a redis-py pipeline, which cost 6 us of CPU per XADD
        of 10 KB to pack (against 0.2 us here) and parses replies the same way.
        """
        pool = self._client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command([_MULTI, *commands, _EXEC], check_health=False)
            for _ in range(count + 1):  # +OK, then +QUEUED for each command
                await connection.read_response()
            replies = await connection.read_response()
        except BaseException:
            # An error reply leaves the rest unread: this connection cannot be reused.
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)
        # A command failing at EXEC (WRONGTYPE: a key of another type) fails the publish.
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _refuse_if_full(self, added: dict[int, list[bytes]]) -> None:
        """Raise :class:`BusFull` if a stream has no room for its part of the batch.

        Only asked when the length seen at the last publish says the stream may be full:
        a Lua script checking and adding atomically cost 2.7x the pipeline with 7 KB
        messages, so the bound is soft: concurrent publishers may each overshoot it by
        one batch.
        """
        pipe = self._client.pipeline(transaction=False)
        for index in added:
            pipe.xlen(self.streams[index])
        for index, length in zip(added, await pipe.execute(), strict=True):
            self._lengths[index] = int(length)
            if int(length) + len(added[index]) > self.maxlen:
                raise BusFull(
                    f"{self.streams[index]} holds {length} of at most {self.maxlen} messages"
                )

    # -- consuming -------------------------------------------------------------------

    async def get(self, timeout: float | None = None) -> Envelope | None:
        """The next message, highest priority first; ``None`` after ``timeout`` seconds.

        ``timeout=None`` waits until a message comes; ``0`` does not wait.
        """
        got = await self.get_many(1, timeout)
        return got[0] if got else None

    async def get_many(self, n: int, timeout: float | None = None) -> list[Envelope]:
        """Up to ``n`` messages, highest priority first (empty after ``timeout``).

        Returns as soon as at least one message is there; each must be acked or nacked.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        deadline = None if timeout is None else time.monotonic() + timeout
        # The reader times each of its round trips itself: a get may wait for long.
        async with self._guard("read from", timed=False):
            return await self._reader.read(n, deadline)

    async def ack(self, envelope: Envelope) -> None:
        """Handled: remove the message for good."""
        await self.ack_many((envelope,))

    async def ack_many(self, envelopes: Sequence[Envelope]) -> None:
        """Acknowledge several messages in one round trip."""
        by_stream: dict[int, list[bytes]] = {}
        for envelope in envelopes:
            stream, entry = self._delivery(envelope)
            by_stream.setdefault(stream, []).append(entry)
        if not by_stream:
            return
        async with self._guard("acknowledge on"):
            pipe = self._client.pipeline(transaction=False)
            for stream, entries in by_stream.items():
                pipe.xack(self.streams[stream], self.group, *entries)
                pipe.xdel(self.streams[stream], *entries)
            self._reader.ask_lags(pipe)  # for the next read, which usually follows
            results = await pipe.execute(raise_on_error=False)
            for result in results[:-1]:
                if isinstance(result, Exception):
                    raise result
            self._reader.note_lags(results[-1])
        for envelope in envelopes:
            self._delivered.pop(envelope.id, None)

    async def nack(self, envelope: Envelope, reason: str) -> None:
        """Failed: queue it again with ``attempt + 1``, or dead-letter it after the last."""
        stream, entry = self._delivery(envelope)
        key = self.streams[stream]
        async with self._guard("nack on"):
            pipe = self._client.pipeline(transaction=True)
            if envelope.attempt >= self.max_attempts:
                fields = dead_fields(
                    self.codec.encode(envelope), reason, key, as_str(entry), envelope.attempt
                )
                pipe.xadd(self.dead_stream, fields)  # type: ignore[arg-type]
            else:
                pipe.xadd(key, {FIELD: self.codec.encode(envelope.retried())})
            pipe.xack(key, self.group, entry)
            pipe.xdel(key, entry)
            await pipe.execute()
        del self._delivered[envelope.id]

    # -- idempotency -----------------------------------------------------------------

    def done_key(self, envelope: Envelope) -> str:
        """The Redis key marking ``envelope``'s effect as applied."""
        return f"{self.prefix}:done:{envelope.id}"

    async def seen(self, envelope: Envelope) -> bool:
        """Whether a delivery of this message id was already marked done."""
        async with self._guard("read from"):
            return bool(await self._client.exists(self.done_key(envelope)))

    async def mark_done(self, envelope: Envelope) -> bool:
        """Mark the message id done (for ``done_ttl``); False if it already was."""
        async with self._guard("write to"):
            ttl = max(1, math.ceil(self.done_ttl))
            return bool(await self._client.set(self.done_key(envelope), b"1", nx=True, ex=ttl))

    # -- dead letters ----------------------------------------------------------------

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters, oldest first."""
        async with self._guard("read from"):
            rows: Any = await self._client.xrange(self.dead_stream, count=limit)
        return [parse_dead_letter(entry, fields, self.codec) for entry, fields in rows]

    async def replay(self, ids: Sequence[str]) -> ReplayReport:
        """Publish the given dead letters again (attempt reset to 1) and remove them.

        Undecodable ones stay in the dead-letter stream; raises :class:`BusFull` (and
        replays none) when their streams are full.
        """
        report = ReplayReport()
        async with self._guard("replay on"):
            pipe = self._client.pipeline(transaction=False)
            for ident in ids:
                pipe.xrange(self.dead_stream, min=ident, max=ident, count=1)
            found = await pipe.execute() if ids else []
            envelopes: list[Envelope] = []
            for ident, rows in zip(ids, found, strict=True):
                if not rows:
                    report.missing.append(ident)
                    continue
                letter = parse_dead_letter(rows[0][0], rows[0][1], self.codec)
                if letter.envelope is None:
                    report.unreadable.append(ident)
                    continue
                envelopes.append(replace(letter.envelope, attempt=1))
                report.replayed.append(ident)
            await self.publish_many(envelopes)
            if report.replayed:
                await self._client.xdel(self.dead_stream, *report.replayed)
        return report

    async def close(self) -> None:
        """Close the connections (messages delivered but not acked will be claimed)."""
        await self._client.aclose()

    # -- internals -------------------------------------------------------------------

    @asynccontextmanager
    async def _guard(self, doing: str, *, timed: bool = True) -> AsyncIterator[None]:
        """Turn an outage into :class:`BusUnavailable`; ``timed``: give up after ``timeout``."""
        try:
            if timed:
                async with asyncio.timeout(self.timeout):
                    yield
            else:
                yield
        except _UNAVAILABLE as exc:
            raise BusUnavailable(
                f"cannot {doing} the Redis bus at {self.url}: {exc or type(exc).__name__}"
            ) from exc

    def _delivery(self, envelope: Envelope) -> tuple[int, bytes]:
        """Where ``envelope`` came from (forgotten only once its ack/nack went through)."""
        try:
            return self._delivered[envelope.id]
        except KeyError:
            raise UnknownDelivery(
                f"message {envelope.id} was not delivered by this bus, or was settled already"
            ) from None

"""Where agents read their requests and where replies go: one bus per address.

Every agent has an address (its inbox) and every orchestrator instance one of its own
for replies, so a reply reaches the process that asked even when several API nodes
share one Redis. Two implementations side by side, picked by ``settings.bus``:

``memory``
    one :class:`~omicsoracle.bus.MemoryBus` per address in this process; envelopes
    pass as objects, never encoded.
``redis``
    one :class:`~omicsoracle.bus.redis_bus.RedisBus` per address (stream prefix
    ``<agent_stream_prefix>:agent:<name>`` or ``...:reply:<instance>``), all in one
    consumer group, so any number of ``omicsoracle worker`` processes share the work.

**Exactly once in effect.** An agent's only effect is its reply. ``publish_once``
marks the request done and publishes the reply atomically (one Lua script on Redis),
so a request redelivered after a worker died (its reply published, its ack lost) is
recognised by its done marker and only acknowledged; one that died before publishing
is simply handled again. The script touches two keys, so the agents' Redis must be one
node (not a cluster), which is how the bus is deployed.

**Reply streams expire.** An orchestrator deletes its reply streams when it closes;
one whose process died never does, so every reply stream carries a TTL
(:data:`REPLY_TTL_SECONDS`), set when it is created, renewed by each reply (in the
same script) and by the living orchestrator (:meth:`RedisTransport.keep_reply_address`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Final, Protocol

from redis.asyncio import Redis

from omicsoracle.bus.codec import codec_by_name
from omicsoracle.bus.memory import MemoryBus
from omicsoracle.bus.message import Envelope, Priority
from omicsoracle.bus.redis_bus import RedisBus
from omicsoracle.bus.redis_reader import FIELD
from omicsoracle.config import Settings

GROUP: Final = "agents"
# Messages one in-process address holds before publishers wait ("wait" policy).
MEMORY_BUS_SIZE: Final = 10_000
# Request ids remembered as done by the in-process transport (a bounded window).
MEMORY_DONE_WINDOW: Final = 100_000
DONE_TTL_SECONDS: Final = 86_400
# Lifetime of a reply stream nobody renews: an API process that died (SIGKILL, a lost
# machine) never deletes its streams, and without a TTL each would stay in Redis for
# good. An hour is far beyond any ask (agent timeouts are seconds) and the living
# orchestrator renews it every REPLY_RENEW_SECONDS, so only orphans expire.
REPLY_TTL_SECONDS: Final = 3600
REPLY_RENEW_SECONDS: Final = 600.0

# KEYS: done marker, reply stream; ARGV: marker ttl, encoded reply, envelope field,
# reply stream ttl. The marker is set only after XADD succeeded: a script is not rolled
# back, and a marker without its reply (XADD failing, e.g. WRONGTYPE) would make every
# redelivery a no-op. EXPIRE in the same script: no reply stream is ever left without
# a TTL, even by a worker dying right after the XADD.
_PUBLISH_ONCE: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('XADD', KEYS[2], '*', ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return 1
"""

# Containers often share a hostname pattern and each runs its worker as pid 1: the
# random part keeps two workers' consumer names (and so their pending lists) apart.
_INSTANCE: Final = uuid.uuid4().hex[:8]


class TransportClosed(RuntimeError):
    """The transport was closed; it hands out no bus any more."""


def agent_address(prefix: str, agent: str) -> str:
    """The inbox of ``agent`` under the agent stream prefix (its Redis key prefix)."""
    return f"{prefix}:agent:{agent}"


def worker_name() -> str:
    """How replies name the process that handled a request: ``host:pid:random``; the
    same for the whole life of the process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_INSTANCE}"


class Transport(Protocol):
    """Buses by address, and the done markers that make handling idempotent."""

    def agent_address(self, agent: str) -> str:
        """The inbox of ``agent``."""
        ...

    def new_reply_address(self) -> str:
        """A reply address of one orchestrator instance's own."""
        ...

    def bus(self, address: str) -> Any:
        """The bus at ``address`` (built on first use, then reused); after :meth:`close`
        raises :class:`TransportClosed`."""
        ...

    async def keep_reply_address(self, address: str) -> None:
        """Create the reply address's storage if needed and renew its expiry."""
        ...

    async def seen(self, address: str, request: Envelope) -> bool:
        """Whether ``request`` (read from ``address``) was handled already."""
        ...

    async def publish_once(
        self, address: str, request: Envelope, reply: Envelope, reply_address: str
    ) -> bool:
        """Mark ``request`` done and publish ``reply`` together; False if it was done."""
        ...

    async def discard(self, address: str) -> None:
        """Forget the bus at ``address`` and what it holds (a reply address at shutdown)."""
        ...

    async def close(self) -> None: ...


async def take(bus: Any, n: int, timeout: float) -> list[Envelope]:
    """Up to ``n`` messages (one round trip on Redis), empty after ``timeout``."""
    get_many = getattr(bus, "get_many", None)
    if get_many is not None:
        got: list[Envelope] = await get_many(n, timeout)
        return got
    one = await bus.get(timeout)
    return [] if one is None else [one]


async def dead_letter(bus: Any, envelope: Envelope, reason: str) -> None:
    """Send a delivered ``envelope`` straight to ``bus``'s dead letters.

    The bus interface has no call for it: both buses dead-letter a nack of the last
    attempt, so this nacks the envelope as its ``max_attempts``-th (the dead letter
    records that attempt number; the reason says why).
    """
    last = max(envelope.attempt, int(getattr(bus, "max_attempts", envelope.attempt)))
    await bus.nack(replace(envelope, attempt=last), f"{reason} (not retried)")


async def ack_all(bus: Any, envelopes: Sequence[Envelope]) -> None:
    """Acknowledge several (one round trip on Redis)."""
    ack_many = getattr(bus, "ack_many", None)
    if ack_many is not None:
        await ack_many(envelopes)
        return
    for envelope in envelopes:
        await bus.ack(envelope)


class MemoryTransport:
    """In-process buses: the agents run as tasks of this process."""

    def __init__(self, prefix: str = "agents") -> None:
        self.prefix = prefix
        self._buses: dict[str, MemoryBus] = {}
        self._done: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> MemoryTransport:
        return cls(settings.agent_stream_prefix)

    def agent_address(self, agent: str) -> str:
        return agent_address(self.prefix, agent)

    def new_reply_address(self) -> str:
        return f"{self.prefix}:reply:{uuid.uuid4().hex}"

    def bus(self, address: str) -> MemoryBus:
        found = self._buses.get(address)
        if found is None:
            if self._closed:
                raise TransportClosed("the agent transport is closed")
            found = self._buses[address] = MemoryBus(MEMORY_BUS_SIZE)
        return found

    async def keep_reply_address(self, address: str) -> None:
        self.bus(address)  # lives as long as this process

    async def seen(self, address: str, request: Envelope) -> bool:
        return (address, request.id) in self._done

    async def publish_once(
        self, address: str, request: Envelope, reply: Envelope, reply_address: str
    ) -> bool:
        key = (address, request.id)
        if key in self._done:
            return False
        self._done[key] = None
        while len(self._done) > MEMORY_DONE_WINDOW:
            self._done.popitem(last=False)
        await self.bus(reply_address).publish(reply)
        return True

    async def discard(self, address: str) -> None:
        bus = self._buses.pop(address, None)
        if bus is not None:
            await bus.close()

    async def close(self) -> None:
        self._closed = True
        for address in list(self._buses):
            await self.discard(address)


class RedisTransport:
    """Buses on one Redis server, shared by the API processes and the workers."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        codec: str = "orjson",
        visibility_timeout: float = 15.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.codec = codec_by_name(codec)
        self.visibility_timeout = visibility_timeout
        self.timeout = timeout
        self._buses: dict[str, RedisBus] = {}
        self._closed = False
        self._client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._publish_once = self._client.register_script(_PUBLISH_ONCE)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisTransport:
        if not settings.redis_url:
            raise ValueError("OMICSORACLE_BUS=redis needs OMICSORACLE_REDIS_URL")
        return cls(
            settings.redis_url,
            prefix=settings.agent_stream_prefix,
            codec=settings.codec,
            visibility_timeout=settings.agent_visibility_timeout_seconds,
        )

    def agent_address(self, agent: str) -> str:
        return agent_address(self.prefix, agent)

    def new_reply_address(self) -> str:
        return f"{self.prefix}:reply:{uuid.uuid4().hex}"

    def bus(self, address: str) -> RedisBus:
        found = self._buses.get(address)
        if found is None:
            # Refused, not rebuilt: a task still running after close (a late reply, a
            # cancelled ask) would otherwise open a Redis client nobody closes.
            if self._closed:
                raise TransportClosed("the agent transport is closed")
            found = self._buses[address] = RedisBus(
                self.url,
                codec=self.codec,
                stream_prefix=address,
                group=GROUP,
                consumer=worker_name(),
                visibility_timeout=self.visibility_timeout,
                # Short blocking reads: a stopping worker notices within a fraction of a
                # second, and dead workers' messages are looked for that often.
                block_ms=250,
                timeout=self.timeout,
                done_ttl=DONE_TTL_SECONDS,
            )
        return found

    async def keep_reply_address(self, address: str) -> None:
        # The streams the reply bus reads (its group created here, as its reader would),
        # each with the TTL a dead orchestrator's streams expire by.
        streams = [f"{address}:p{int(p)}" for p in Priority]
        pipe = self._client.pipeline(transaction=False)
        for stream in streams:
            pipe.xgroup_create(stream, GROUP, id="0", mkstream=True)
        for stream in streams:
            pipe.expire(stream, REPLY_TTL_SECONDS)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result

    async def seen(self, address: str, request: Envelope) -> bool:
        return await self.bus(address).seen(request)

    async def publish_once(
        self, address: str, request: Envelope, reply: Envelope, reply_address: str
    ) -> bool:
        done_key = self.bus(address).done_key(request)
        # The reply bus's stream for this priority (see RedisBus's key layout).
        stream = f"{reply_address}:p{int(reply.priority)}"
        ttl = max(1, math.ceil(DONE_TTL_SECONDS))
        added = await self._publish_once(
            keys=[done_key, stream],
            args=[ttl, self.codec.encode(reply), FIELD, REPLY_TTL_SECONDS],
        )
        return bool(added)

    async def discard(self, address: str) -> None:
        bus = self._buses.pop(address, None)
        if bus is not None:
            await bus.close()
        # A reply address dies with its orchestrator: nobody else would read it.
        keys = [key async for key in self._client.scan_iter(match=f"{address}:*", count=1000)]
        if keys:
            await self._client.delete(*keys)

    async def close(self) -> None:
        # Bounded: a shutdown must not hang on a Redis that stopped answering.
        self._closed = True
        for bus in list(self._buses.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.close(), self.timeout)
        self._buses.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._client.aclose(), self.timeout)


TRANSPORTS: Final[dict[str, Callable[[Settings], Transport]]] = {
    "memory": MemoryTransport.from_settings,
    "redis": RedisTransport.from_settings,
}


def open_transport(settings: Settings) -> Transport:
    """The transport ``settings.bus`` names."""
    return TRANSPORTS[settings.bus](settings)

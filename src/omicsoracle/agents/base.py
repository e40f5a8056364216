"""What an agent is, the registry of agents, and the loop that runs one on a bus.

An agent is a small class around one module: ``process`` turns a request payload into
a result (plain, synchronous, JSON-like in and out); the :class:`AgentRunner` does
everything about the bus. Built-in agents are registered with :func:`register_agent`
exactly as another package's would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from omicsoracle.agents.messages import MESSAGES, AgentMessages, reply_to
from omicsoracle.agents.transport import Transport, ack_all, dead_letter, take, worker_name
from omicsoracle.bus.message import Envelope
from omicsoracle.observability.metrics import observe_agent
from omicsoracle.runtime import Runtime

log = logging.getLogger(__name__)

# How long one read of the inbox waits before the runner looks at its stop flag.
POLL_SECONDS: Final = 0.5

T = TypeVar("T")


class Agent(ABC):
    """One step of the ask pipeline. Subclasses set ``name`` and implement ``process``."""

    name: ClassVar[str]

    @property
    def messages(self) -> AgentMessages:
        return MESSAGES[self.name]

    @abstractmethod
    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The result for one request (runs in a worker thread; may raise)."""

    def warm_up(self) -> None:
        """Load what the first request would otherwise wait for (runs in a thread)."""
        return  # optional: most agents have nothing to load


@dataclass(frozen=True)
class AgentSpec:
    """How to build an agent, and whether it needs the store and index."""

    name: str
    build: Callable[[Runtime | None], Agent]
    needs_runtime: bool


AGENTS: dict[str, AgentSpec] = {}


def register_agent(
    name: str, build: Callable[[Runtime | None], Agent], *, needs_runtime: bool
) -> None:
    """Make an agent known to the pipeline and to ``omicsoracle worker --agents``."""
    if name not in MESSAGES:
        raise ValueError(f"no message types for agent {name!r}")
    AGENTS[name] = AgentSpec(name, build, needs_runtime)


def require_runtime(rt: Runtime | None, agent: str) -> Runtime:
    if rt is None:
        raise ValueError(f"the {agent} agent needs the store and index (a Runtime)")
    return rt


class AgentRunner:
    """Runs one agent on its inbox: up to ``concurrency`` requests at a time.

    Each request is handled once in effect: one already marked done (a redelivery
    after a worker died) is only acknowledged; otherwise the agent's result, or its
    error, is published to the request's ``reply_to`` together with the done marker
    (:meth:`Transport.publish_once`), then the request is acknowledged. An agent that
    raises answers with ``{"error": ...}`` at once, so the orchestrator need not wait
    for its timeout; only a dead worker leads to a redelivery.
    """

    def __init__(self, agent: Agent, transport: Transport, concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.agent = agent
        self.transport = transport
        self.concurrency = concurrency
        self.address = transport.agent_address(agent.name)
        self.inbox = transport.bus(self.address)
        self.handled = 0  # replies published (effects), not deliveries
        self._worker = worker_name()
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._warm = False

    @property
    def in_flight(self) -> int:
        """Requests taken and not settled yet."""
        return len(self._in_flight)

    def stop(self) -> None:
        """Take no new request; :meth:`run` returns once those in flight are settled
        (cancel its task to stop at once: what it held stays unacknowledged)."""
        self._stopping.set()

    async def warm_up(self) -> None:
        """Warm the agent up once (before the first read: a cold start, seconds for the
        vocabulary, must not eat the first request's timeout)."""
        if self._warm:
            return
        self._warm = True
        try:
            await in_daemon_thread(self.agent.warm_up)
        except Exception:
            log.exception("%s agent: warm-up failed; requests will load it", self.agent.name)

    async def run(self) -> None:
        """Read and handle requests until :meth:`stop` (or cancellation)."""
        await self.warm_up()
        try:
            while not self._stopping.is_set():
                free = self.concurrency - len(self._in_flight)
                if free <= 0:
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    batch = await take(self.inbox, free, POLL_SECONDS)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s agent: reading its inbox failed; retrying", self.agent.name)
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                for envelope in batch:
                    task = asyncio.create_task(self._handle(envelope))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
        finally:
            # In flight: finish, publish, acknowledge (a SIGTERM'd worker exits clean).
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _handle(self, request: Envelope) -> None:
        try:
            await self._settle(request)
        except Exception:
            # Not acknowledged: redelivered after the visibility timeout (Redis).
            log.exception("%s agent: request %s not settled", self.agent.name, request.id)

    async def _settle(self, request: Envelope) -> None:
        address = request.payload.get("reply_to")
        if not isinstance(address, str) or not address:
            # No retry could ever answer it: straight to the dead letters, not
            # max_attempts deliveries first.
            await dead_letter(self.inbox, request, "the request has no reply_to address")
            return
        if await self.transport.seen(self.address, request):
            await ack_all(self.inbox, [request])
            return
        started = time.perf_counter()
        try:
            result = await in_daemon_thread(self.agent.process, request.payload)
            body: dict[str, Any] = {"result": result}
        except Exception as exc:
            log.warning(
                "%s agent failed on request %s: %s", self.agent.name, request.id, exc, exc_info=True
            )
            body = {"error": f"{type(exc).__name__}: {exc}"}
        seconds = time.perf_counter() - started
        observe_agent(self.agent.name, seconds)
        body.update(agent=self.agent.name, worker=self._worker, ms=round(seconds * 1000, 3))
        reply = reply_to(request, self.agent.messages.result, body)
        # False: a concurrent delivery of the same message answered first.
        if await self.transport.publish_once(self.address, request, reply, address):
            self.handled += 1
        await ack_all(self.inbox, [request])


async def in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a daemon thread of its own (as :func:`asyncio.to_thread` would,
    context included).

    Why not ``to_thread``: an agent stuck in ``process`` would then hold a thread of the
    loop's default executor, which ``asyncio.run`` and the interpreter join at exit, so
    a cancelled runner would still keep its process alive (issue 5 review). A daemon
    thread is abandoned instead; cancelling the await drops its result. A thread per
    request costs about what to_thread's hand-off does (median ~80 us against ~70 us
    here), next to agent runs of milliseconds.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():  # cancelled meanwhile: nobody wants the outcome
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        value: Any
        try:
            ok, value = True, context.run(fn, *args)
        except BaseException as exc:  # handed to the awaiting task, as to_thread does
            ok, value = False, exc
        # The loop is closed: the caller is gone, and so is any interest in the outcome.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, ok, value)

    name = f"agent-{getattr(fn, '__qualname__', 'call')}"
    threading.Thread(target=work, name=name, daemon=True).start()
    return await fut

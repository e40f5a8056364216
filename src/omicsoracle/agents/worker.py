"""``omicsoracle worker``: agents as a process of their own, on the Redis bus.

Any number of workers, on any machines, share each agent's inbox (one consumer group).
SIGTERM or SIGINT stops reading; requests in flight are finished, their replies
published and acknowledged, and the process exits 0. Finishing is bounded: past
``agent_stop_grace_seconds``, or on a second SIGTERM/SIGINT, the worker stops at once
(exit status 128 + the signal number), leaving what it held unacknowledged. A worker
that dies (SIGKILL, a lost machine, or that forced stop) leaves its requests
unacknowledged: another worker claims them after ``agent_visibility_timeout_seconds``
and the done markers absorb any reply that had already gone out.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Final

from omicsoracle.agents.base import AGENTS, AgentRunner
from omicsoracle.agents.pipeline import build_agents
from omicsoracle.agents.transport import RedisTransport, worker_name
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime

log = logging.getLogger(__name__)

# gc thresholds of a bus consumer, as bench/bus_bench.py measured them: what a worker
# decodes is short-lived and acyclic, and the default generation-0 threshold ran the
# cyclic collector over every batch (3.6k msgs/s instead of 10k+, docs/benchmarks.md).
CONSUMER_GC: Final = (100_000, 50, 1000)
# How often a worker with the search index picks up new records (as the API does).
KEEP_UP_SECONDS: Final = 1.0
# A forced stop's own bound: cancelling the runners and closing the transport may not
# take longer than this (a Redis that stopped answering), then the process exits anyway.
FORCED_EXIT_SECONDS: Final = 3.0


async def run_worker(settings: Settings, agents: Sequence[str], concurrency: int) -> int:
    """Run ``agents`` until SIGTERM/SIGINT; returns the requests handled.

    A forced stop (grace period over, or a second signal) does not return: the process
    exits from here (see :meth:`Stopper.force`).
    """
    if settings.bus != "redis" or not settings.redis_url:
        raise ValueError("a worker needs OMICSORACLE_BUS=redis and OMICSORACLE_REDIS_URL")
    names = list(dict.fromkeys(agents))
    unknown = [n for n in names if n not in AGENTS]
    if not names or unknown:
        raise ValueError(f"unknown agents: {', '.join(unknown) or '(none given)'}")
    gc.set_threshold(*CONSUMER_GC)
    rt = None
    if any(AGENTS[n].needs_runtime for n in names):
        rt = await asyncio.to_thread(Runtime.open, settings, shared_index=True)
    transport = RedisTransport.from_settings(settings)
    runners = [AgentRunner(a, transport, concurrency) for a in build_agents(names, rt)]
    await asyncio.gather(*(r.warm_up() for r in runners))
    tasks = [asyncio.create_task(r.run()) for r in runners]
    stopper = Stopper(runners, tasks, settings.agent_stop_grace_seconds)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopper.signal, signum)
    stopping = asyncio.Event()
    keeper = asyncio.create_task(_keep_up(rt, stopping)) if rt is not None else None
    log.info(
        "worker %s started: agents %s, concurrency %d, redis bus prefix %s",
        worker_name(),
        ",".join(names),
        concurrency,
        settings.agent_stream_prefix,
    )
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        if stopper.forced is None:
            raise
        await _abandon(transport, stopper.forced)  # exits the process
    finally:
        stopper.finished()
        for task in tasks:  # a runner failed: the others stop too
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # The keep-up thread finishes its round before the index closes: cancelling the
        # task would not stop the thread, and rt.close() under it closes what it reads.
        stopping.set()
        if keeper is not None:
            await keeper
        await transport.close()
        if rt is not None:
            await asyncio.to_thread(rt.close)
    handled = sum(r.handled for r in runners)
    log.info("worker %s stopped after %d requests", worker_name(), handled)
    return handled


class Stopper:
    """What SIGTERM/SIGINT do: the first stops reading and starts the grace period; the
    grace period's end or a second signal forces the stop (runners cancelled)."""

    def __init__(
        self, runners: Sequence[AgentRunner], tasks: Sequence[asyncio.Task[None]], grace: float
    ) -> None:
        self.runners = runners
        self.tasks = tasks
        self.grace = grace
        self.first: int | None = None
        self.forced: int | None = None  # the exit status of a forced stop
        self._grace_timer: asyncio.TimerHandle | None = None

    def signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.first is not None:
            self.force(signum, f"{name} again")
            return
        self.first = signum
        log.info(
            "%s: finishing the requests in flight, then exiting (at most %g s; "
            "send it again to stop at once)",
            name,
            self.grace,
        )
        for runner in self.runners:
            runner.stop()
        self._grace_timer = asyncio.get_running_loop().call_later(
            self.grace, self.force, signum, f"grace period of {self.grace:g} s over"
        )

    def finished(self) -> None:
        """The runners returned: the grace period has nothing left to bound."""
        if self._grace_timer is not None:
            self._grace_timer.cancel()

    def force(self, signum: int, why: str) -> None:
        if self.forced is not None:
            return
        held = sum(r.in_flight for r in self.runners)
        log.warning(
            "%s: stopping now; %d request(s) left unacknowledged for other workers", why, held
        )
        self.forced = 128 + signum  # the shell's status for "ended by this signal"
        for task in self.tasks:
            task.cancel()
        # The backstop: should the cleanup itself hang, exit anyway.
        asyncio.get_running_loop().call_later(FORCED_EXIT_SECONDS, _exit_now, self.forced)


async def _abandon(transport: RedisTransport, status: int) -> None:
    """Close the transport (bounded) and exit without waiting for agent threads.

    Safe to abandon: what the runners held is unacknowledged and another worker claims
    it after the visibility timeout; a reply already published is absorbed by its done
    marker.
    """
    with contextlib.suppress(Exception, TimeoutError):
        await asyncio.wait_for(transport.close(), FORCED_EXIT_SECONDS)
    _exit_now(status)


def _exit_now(status: int) -> None:
    # os._exit, not sys.exit: a thread stuck in an agent's process() (or in keep_up)
    # cannot be interrupted, and a normal exit would join it (executor threads) or
    # finalise the interpreter under it (daemon threads in native code can crash
    # there). Nothing is lost by skipping the cleanup: requests not acknowledged are
    # redelivered, and the logs are flushed first.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


async def _keep_up(rt: Runtime, stopping: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), KEEP_UP_SECONDS)
        if stopping.is_set():
            return
        try:
            await asyncio.to_thread(rt.keep_up)
        except Exception:
            log.exception("search index catch-up failed; retrying")

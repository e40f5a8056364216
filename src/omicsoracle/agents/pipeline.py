"""A running ask pipeline: the transport, an orchestrator and, on the in-process bus,
the agents themselves (as tasks of this process). On Redis the agents run in
``omicsoracle worker`` processes and this process only publishes and reads replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Final

from omicsoracle.agents.base import AGENTS, Agent, AgentRunner
from omicsoracle.agents.orchestrator import Orchestrator
from omicsoracle.agents.transport import Transport, open_transport
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime

log = logging.getLogger(__name__)

# How long closing waits for in-process agents to finish what they hold.
CLOSE_GRACE_SECONDS: Final = 5.0


def build_agents(names: Iterable[str], rt: Runtime | None) -> list[Agent]:
    """The registered agents ``names`` (a ValueError names the unknown ones)."""
    names = list(names)
    unknown = [n for n in names if n not in AGENTS]
    if unknown:
        raise ValueError(f"unknown agents: {', '.join(unknown)}; known: {', '.join(AGENTS)}")
    return [AGENTS[n].build(rt) for n in names]


class Pipeline:
    """Use :meth:`open`; ``orchestrator.ask(...)`` answers questions until :meth:`close`."""

    def __init__(
        self, transport: Transport, orchestrator: Orchestrator, runners: list[AgentRunner]
    ) -> None:
        self.transport = transport
        self.orchestrator = orchestrator
        self.runners = runners
        self._tasks = [asyncio.create_task(r.run()) for r in runners]

    @classmethod
    async def open(
        cls,
        settings: Settings,
        rt: Runtime | None,
        *,
        agents: Mapping[str, Agent] | None = None,
        in_process: bool | None = None,
    ) -> Pipeline:
        """Open the transport of ``settings.bus`` and start the orchestrator.

        ``in_process`` (default: the bus is memory) runs every agent here, ``agents``
        replacing the registered ones by name.
        """
        transport = open_transport(settings)
        runners: list[AgentRunner] = []
        if settings.bus == "memory" if in_process is None else in_process:
            chosen = {a.name: a for a in build_agents(AGENTS, rt)}
            chosen.update(agents or {})
            runners = [
                AgentRunner(agent, transport, settings.agent_concurrency)
                for agent in chosen.values()
            ]
        # Ready before the first ask (an ask sent earlier would wait for the warm-up).
        await asyncio.gather(*(r.warm_up() for r in runners))
        orchestrator = Orchestrator(transport, settings.agent_timeouts_seconds)
        await orchestrator.start()
        return cls(transport, orchestrator, runners)

    async def close(self) -> None:
        """Stop the in-process agents (cancelled after :data:`CLOSE_GRACE_SECONDS`), then
        the orchestrator and the transport; nothing of the pipeline runs afterwards.

        An agent stuck in ``process`` cannot be interrupted: its thread (a daemon, see
        :func:`~omicsoracle.agents.base.in_daemon_thread`) is abandoned, its result
        dropped, and it does not keep the process from exiting.
        """
        for runner in self.runners:
            runner.stop()
        try:
            if self._tasks:
                _, late = await asyncio.wait(self._tasks, timeout=CLOSE_GRACE_SECONDS)
                for task in late:
                    log.warning("closing the ask pipeline: cancelling a stuck agent runner")
                    task.cancel()
                # Every outcome retrieved (a runner that failed is logged, not left as
                # "exception never retrieved"), every cancellation awaited.
                outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
                for outcome in outcomes:
                    if isinstance(outcome, Exception):
                        log.error("an agent runner failed", exc_info=outcome)
        finally:
            # Also when close itself is cancelled: no reader task, no Redis client left.
            try:
                await self.orchestrator.close()
            finally:
                await self.transport.close()

"""Nothing of an ask outlives it: cancelled, or its progress callback failing, every
call it started is cancelled; a closed pipeline leaves no task and its transport hands
out no bus. Real agents on the real in-process bus; the search agent blocks."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from omicsoracle.agents import Pipeline, SearchAgent
from omicsoracle.agents.transport import MemoryTransport, TransportClosed
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime

QUESTION = "NSCLC RNA-seq human at least 20 samples"


class StuckSearch(SearchAgent):
    """Blocks until released (a search stuck on a slow disk)."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.entered = threading.Event()
        self.release = threading.Event()

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(60)
        return super().process(payload)


def _calls() -> list[asyncio.Task[Any]]:
    """The orchestrator's per-agent calls still alive."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and t.get_coro().__qualname__ == "Orchestrator._call"  # type: ignore[union-attr]
    ]


async def _open(settings: Settings, rt: Runtime, search: StuckSearch) -> Pipeline:
    return await Pipeline.open(
        settings.model_copy(update={"bus": "memory"}), rt, agents={"search": search}
    )


async def _until(event: threading.Event) -> None:
    for _ in range(600):
        if event.is_set():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the stuck agent was never called")


def test_a_cancelled_ask_leaves_no_call_running(demo_settings: Settings, demo_rt: Runtime) -> None:
    search = StuckSearch(demo_rt)

    async def scenario() -> tuple[int, int]:
        pipeline = await _open(demo_settings, demo_rt, search)
        try:
            ask = asyncio.create_task(pipeline.orchestrator.ask(QUESTION))
            await _until(search.entered)
            during = len(_calls())
            ask.cancel()
            with pytest.raises(asyncio.CancelledError):
                await ask
            return during, len(_calls())
        finally:
            search.release.set()
            await pipeline.close()

    during, after = asyncio.run(scenario())
    assert during >= 1  # the search call was running when the ask was cancelled
    assert after == 0


def test_an_on_stage_that_raises_leaves_no_call_running(
    demo_settings: Settings, demo_rt: Runtime
) -> None:
    search = StuckSearch(demo_rt)

    async def on_stage(stage: str, body: dict[str, Any]) -> None:
        raise RuntimeError(f"the job store is down ({stage})")

    async def scenario() -> int:
        pipeline = await _open(demo_settings, demo_rt, search)
        try:
            # "understood" comes while the search is still stuck.
            with pytest.raises(RuntimeError, match="job store is down"):
                await pipeline.orchestrator.ask(QUESTION, on_stage=on_stage)
            return len(_calls())
        finally:
            search.release.set()
            await pipeline.close()

    assert asyncio.run(scenario()) == 0


def test_a_closed_pipeline_leaves_no_task_and_no_bus(
    demo_settings: Settings, demo_rt: Runtime
) -> None:
    search = StuckSearch(demo_rt)

    async def scenario() -> list[asyncio.Task[Any]]:
        pipeline = await _open(demo_settings, demo_rt, search)
        ask = asyncio.create_task(pipeline.orchestrator.ask(QUESTION))
        await _until(search.entered)
        ask.cancel()
        await asyncio.gather(ask, return_exceptions=True)
        # The search runner still holds the stuck request: closing cancels it after the
        # grace period instead of waiting for the agent.
        await pipeline.close()
        with pytest.raises(TransportClosed):
            pipeline.transport.bus("omicsoracle:agents:agent:new")
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    try:
        assert asyncio.run(scenario()) == []
    finally:
        search.release.set()


def test_a_closed_transport_refuses_new_buses() -> None:
    async def scenario() -> None:
        transport = MemoryTransport()
        bus = transport.bus("a")
        await transport.close()
        with pytest.raises(TransportClosed):
            transport.bus("a")  # discarded by close: not rebuilt either
        assert bus is not None

    asyncio.run(scenario())

"""The orchestrator over the in-process bus: full answers, and partial ones when an
agent fails or is too slow (real agents that misbehave, on the real bus)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from omicsoracle.agents import EnrichmentAgent, Pipeline, SearchAgent, SummaryAgent
from omicsoracle.agents.base import Agent
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime

QUESTION = "NSCLC RNA-seq human at least 20 samples"


class BrokenSummary(SummaryAgent):
    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("summary backend is down")


class SlowEnrichment(EnrichmentAgent):
    """Answers, but long after its timeout (released when the test is done)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.release.wait(10)
        return super().process(payload)


class BrokenSearch(SearchAgent):
    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise OSError("index unreadable")


def _ask(
    settings: Settings, rt: Runtime, agents: dict[str, Agent] | None = None, **overrides: Any
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    stages: list[tuple[str, dict[str, Any]]] = []

    async def on_stage(name: str, body: dict[str, Any]) -> None:
        stages.append((name, body))

    async def scenario() -> dict[str, Any]:
        pipeline = await Pipeline.open(
            settings.model_copy(update={"bus": "memory", **overrides}), rt, agents=agents
        )
        try:
            return await pipeline.orchestrator.ask(
                QUESTION, limit=10, correlation_id="job-x", on_stage=on_stage
            )
        finally:
            for agent in (agents or {}).values():
                if isinstance(agent, SlowEnrichment):
                    agent.release.set()
            await pipeline.close()

    return asyncio.run(scenario()), stages


def test_the_whole_pipeline_answers(demo_settings: Settings, demo_rt: Runtime) -> None:
    answer, stages = _ask(demo_settings, demo_rt)
    assert [s for s, _ in stages] == ["understood", "searched", "enriched", "summarized"]
    assert not answer["partial"]
    assert answer["errors"] == []
    assert answer["question"] == QUESTION
    assert answer["understood"]["filters"]["min_samples"] == 20
    results = answer["results"]
    assert set(results) == {"total", "results", "facets"}
    assert 1 <= len(results["results"]) <= 10
    assert answer["enrichment"]["organisms"][0]["value"] == "Homo sapiens"
    assert answer["summary"]["text"]
    assert set(answer["timings_ms"]) == {"query", "search", "enrichment", "summary", "total"}


def test_a_failing_and_a_slow_agent_give_a_partial_answer(
    demo_settings: Settings, demo_rt: Runtime
) -> None:
    agents: dict[str, Agent] = {"summary": BrokenSummary(demo_rt), "enrichment": SlowEnrichment()}
    answer, stages = _ask(
        demo_settings, demo_rt, agents, agent_timeouts_seconds={"enrichment": 0.3}
    )
    assert answer["partial"] is True
    by_agent = {e["agent"]: e["error"] for e in answer["errors"]}
    assert set(by_agent) == {"summary", "enrichment"}
    assert "summary backend is down" in by_agent["summary"]
    assert "within 0.3 s" in by_agent["enrichment"]
    # What did work is all there.
    assert answer["results"]["results"]
    assert answer["understood"]["filters"]["organism"] == ["Homo sapiens"]
    assert answer["enrichment"] is None
    assert answer["summary"] is None
    assert [s for s, _ in stages] == ["understood", "searched", "enriched", "summarized"]


def test_without_search_results_the_later_agents_are_skipped(
    demo_settings: Settings, demo_rt: Runtime
) -> None:
    answer, _ = _ask(demo_settings, demo_rt, {"search": BrokenSearch(demo_rt)})
    assert answer["partial"] is True
    assert [e["agent"] for e in answer["errors"]] == ["search", "enrichment", "summary"]
    assert "index unreadable" in answer["errors"][0]["error"]
    assert answer["results"] == {"total": 0, "results": [], "facets": {}}
    assert answer["understood"]["concepts"]  # the query agent still answered

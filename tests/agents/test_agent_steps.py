"""Each agent on the demo corpus, and the runner's bus contract (idempotent, metered)."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from omicsoracle.agents import EnrichmentAgent, QueryAgent, SearchAgent, SummaryAgent
from omicsoracle.agents.base import AgentRunner
from omicsoracle.agents.messages import QUERY
from omicsoracle.agents.transport import MemoryTransport
from omicsoracle.bus.message import Envelope
from omicsoracle.runtime import Runtime

QUESTION = "NSCLC RNA-seq human at least 20 samples"


def _search(rt: Runtime) -> dict[str, Any]:
    return SearchAgent(rt).process({"question": QUESTION, "limit": 20})


def test_query_agent_understands_abbreviation_filters_and_sizes() -> None:
    understood = QueryAgent().process({"question": QUESTION})
    assert understood["filters"]["organism"] == ["Homo sapiens"]
    assert understood["filters"]["min_samples"] == 20
    assert understood["filters"]["type"]  # RNA-seq became the GEO series type
    names = [c["name"] for c in understood["concepts"]]
    assert "non-small cell lung cancer" in names
    assert "non-small cell lung cancer" in understood["display"]


def test_search_agent_applies_the_understood_filters(demo_rt: Runtime) -> None:
    found = _search(demo_rt)
    assert found["total"] >= 1
    for hit in found["results"]:
        assert "Homo sapiens" in hit["organisms"]
        assert hit["n_samples"] >= 20
    assert found["understood"]["filters"]["min_samples"] == 20


def test_enrichment_agent_aggregates_the_records(demo_rt: Runtime) -> None:
    found = _search(demo_rt)
    enriched = EnrichmentAgent().process({"search": found})
    n = len(found["results"])
    assert [r["accession"] for r in enriched["records"]] == [
        h["accession"] for h in found["results"]
    ]
    assert {"value": "Homo sapiens", "count": n} in enriched["organisms"]
    assert enriched["samples"]["records"] == n
    assert enriched["samples"]["min"] >= 20
    assert enriched["samples"]["total"] == sum(h["n_samples"] for h in found["results"])
    assert enriched["assays"][0]["count"] == n


def test_summary_agent_summarises_the_page_and_the_top_record(demo_rt: Runtime) -> None:
    found = _search(demo_rt)
    summary = SummaryAgent(demo_rt).process({"search": found})
    assert summary["text"].startswith(f"{found['total']:,} series match.")
    assert summary["total"] == found["total"]
    top = summary["top"]
    assert top["accession"] == found["results"][0]["accession"]
    assert top["text"]  # from the stored record's summary, not only the title


def test_summary_agent_on_no_results(demo_rt: Runtime) -> None:
    summary = SummaryAgent(demo_rt).process({"search": {"total": 0, "results": [], "facets": {}}})
    assert summary["text"] == "No series match."
    assert summary["top"] is None


def _processing_count(agent: str) -> float:
    value = REGISTRY.get_sample_value("agent_processing_seconds_count", {"agent": agent})
    return value or 0.0


def test_runner_answers_once_per_message_id_and_meters_the_agent() -> None:
    async def scenario() -> tuple[list[Envelope], int]:
        transport = MemoryTransport()
        # One at a time: the copies are seen as done (concurrent ones are absorbed by
        # publish_once instead, after the work).
        runner = AgentRunner(QueryAgent(), transport, concurrency=1)
        task = asyncio.create_task(runner.run())
        request = Envelope(
            QUERY.request, {"question": "HCC", "reply_to": "replies"}, correlation_id="job-1"
        )
        inbox = transport.bus(transport.agent_address("query"))
        # The same message delivered three times (as after a lost acknowledgement).
        for _ in range(3):
            await inbox.publish(request)
        replies = transport.bus("replies")
        got = []
        first = await replies.get(timeout=30)
        assert first is not None
        got.append(first)
        while (more := await replies.get(timeout=0.5)) is not None:
            got.append(more)
        runner.stop()
        await task
        await transport.close()
        return got, runner.handled

    before = _processing_count("query")
    replies, handled = asyncio.run(scenario())
    assert len(replies) == 1
    reply = replies[0]
    assert reply.type == QUERY.result
    assert reply.correlation_id == "job-1"
    assert reply.payload["agent"] == "query"
    assert reply.payload["result"]["concepts"][0]["name"] == "hepatocellular carcinoma"
    assert handled == 1
    assert _processing_count("query") == before + 1


def test_a_request_without_reply_address_is_dead_lettered_after_one_attempt() -> None:
    async def scenario() -> tuple[list[Any], dict[str, int]]:
        transport = MemoryTransport()
        runner = AgentRunner(QueryAgent(), transport)
        inbox = transport.bus(transport.agent_address("query"))
        await inbox.publish(Envelope(QUERY.request, {"question": "HCC"}))
        # Warm first: a cold vocabulary load on a loaded machine must not eat the polling.
        await runner.warm_up()
        task = asyncio.create_task(runner.run())
        for _ in range(100):
            if inbox.dead_letters:
                break
            await asyncio.sleep(0.05)
        runner.stop()
        await task
        return list(inbox.dead_letters), inbox.stats()

    letters, stats = asyncio.run(scenario())
    assert len(letters) == 1
    assert "no reply_to" in letters[0].reason
    assert stats["delivered"] == 1  # one attempt: no retry could ever answer it
    assert stats["retried"] == 0

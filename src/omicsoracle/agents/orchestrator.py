"""The orchestrator: one pipeline per question, correlated by the job id.

query and search -> enrichment and summary, each a request on the bus to the agent's
inbox and a reply on this instance's own reply address. The search agent does not wait
for the query agent: the engine applies the same understanding itself, so both start
at once, and their stage events still come in pipeline order ("understood", then
"searched"). Enrichment and summary both need the search results and run side by side.

Every agent has its own timeout. An agent that fails or does not answer in time leaves
its part of the answer empty, the answer is marked ``partial`` and ``errors`` names
the agent; a late reply is dropped when it comes. Only without search results are
enrichment and summary skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from omicsoracle.agents.messages import MESSAGES, RESULT_TYPES
from omicsoracle.agents.transport import REPLY_RENEW_SECONDS, Transport, ack_all, take
from omicsoracle.bus.message import Envelope, Priority
from omicsoracle.config import DEFAULT_AGENT_TIMEOUTS

log = logging.getLogger(__name__)

STAGES: Final = ("understood", "searched", "enriched", "summarized")
REPLY_BATCH: Final = 64
READ_SECONDS: Final = 1.0
CLOSE_SECONDS: Final = 5.0

OnStage = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Call:
    """What one agent answered: its result, or why there is none, and the round trip."""

    agent: str
    result: dict[str, Any] | None
    error: str | None
    ms: float


class Orchestrator:
    """Runs ask pipelines over ``transport``; :meth:`start` before, :meth:`close` after."""

    def __init__(
        self,
        transport: Transport,
        timeouts: Mapping[str, float] | None = None,
        priority: Priority = Priority.HIGH,
    ) -> None:
        self.transport = transport
        self.timeouts = {**DEFAULT_AGENT_TIMEOUTS, **(timeouts or {})}
        # A researcher is waiting: asks go before batch work on a shared bus.
        self.priority = priority
        self.reply_address = transport.new_reply_address()
        self._replies = transport.bus(self.reply_address)
        self._waiting: dict[str, asyncio.Future[Envelope]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._reader is None:
            # The reply streams exist (with their expiry) before the first request names
            # them, and the reader renews that expiry as long as this instance lives.
            await self.transport.keep_reply_address(self.reply_address)
            self._reader = asyncio.create_task(self._read_replies())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for fut in self._waiting.values():
            fut.cancel()
        # Bounded: a shutdown must not hang on a Redis that stopped answering.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.transport.discard(self.reply_address), CLOSE_SECONDS)

    async def ask(
        self,
        question: str,
        *,
        limit: int = 20,
        correlation_id: str | None = None,
        on_stage: OnStage | None = None,
    ) -> dict[str, Any]:
        """The answer to ``question`` (see the module docstring); never raises for an
        agent's failure. ``on_stage(stage, body)`` is awaited after each stage."""
        cid = correlation_id or uuid.uuid4().hex
        # Every call started for this ask: cancelled on the way out, so an ask that is
        # cancelled (server shutdown) or whose on_stage raises leaves none running.
        calls_started: list[asyncio.Task[Call]] = []

        def call(agent: str, payload: dict[str, Any]) -> asyncio.Task[Call]:
            task = asyncio.create_task(self._call(agent, payload, cid))
            calls_started.append(task)
            return task

        try:
            return await self._ask(question, limit, call, on_stage)
        finally:
            for task in calls_started:
                task.cancel()
            if calls_started:
                # Their cancellation is awaited: none outlives the ask.
                await asyncio.gather(*calls_started, return_exceptions=True)

    async def _ask(
        self,
        question: str,
        limit: int,
        call: Callable[[str, dict[str, Any]], asyncio.Task[Call]],
        on_stage: OnStage | None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        calls: list[Call] = []

        async def stage(name: str, body: dict[str, Any]) -> None:
            if on_stage is not None:
                await on_stage(name, {"stage": name, **body})

        query = call("query", {"question": question})
        search_task = call("search", {"question": question, "limit": limit})
        understood_call = await query
        calls.append(understood_call)
        understood = understood_call.result
        await stage(
            "understood",
            {"understood": understood, "display": (understood or {}).get("display")},
        )
        search_call = await search_task
        calls.append(search_call)
        search = search_call.result
        if understood is None and search is not None:
            # The engine understood the question the same way; show what it used.
            understood = search.get("understood") or None
        await stage(
            "searched",
            {
                "total": (search or {}).get("total", 0),
                "results": len((search or {}).get("results") or ()),
            },
        )
        enrichment = summary = None
        if search is not None:
            page = {k: search.get(k) for k in ("total", "results", "facets")}
            enriching = call("enrichment", {"search": page})
            summarizing = call("summary", {"search": page})
            enriched = await enriching
            calls.append(enriched)
            enrichment = enriched.result
            await stage("enriched", _enrichment_brief(enrichment))
            summarized = await summarizing
            calls.append(summarized)
            summary = summarized.result
            await stage("summarized", {"summary": (summary or {}).get("text")})
        errors = [{"agent": c.agent, "error": c.error} for c in calls if c.error is not None]
        if search is None:
            errors += [
                {"agent": agent, "error": "skipped: no search results to work on"}
                for agent in ("enrichment", "summary")
            ]
        timings = {c.agent: c.ms for c in calls}
        timings["total"] = round((time.perf_counter() - started) * 1000, 3)
        return {
            "question": question,
            "understood": understood,
            "results": {
                "total": (search or {}).get("total", 0),
                "results": (search or {}).get("results") or [],
                "facets": (search or {}).get("facets") or {},
            },
            "enrichment": enrichment,
            "summary": summary,
            "partial": bool(errors),
            "errors": errors,
            "timings_ms": timings,
        }

    async def _call(self, agent: str, payload: dict[str, Any], cid: str) -> Call:
        """Ask ``agent`` and wait for its reply, at most its timeout."""
        timeout = self.timeouts[agent]
        request = Envelope(
            MESSAGES[agent].request,
            {**payload, "reply_to": self.reply_address},
            priority=self.priority,
            correlation_id=cid,
        )
        fut: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._waiting[request.id] = fut
        started = time.perf_counter()

        def done(result: dict[str, Any] | None, error: str | None) -> Call:
            return Call(agent, result, error, round((time.perf_counter() - started) * 1000, 3))

        try:
            async with asyncio.timeout(timeout):
                await self.transport.bus(self.transport.agent_address(agent)).publish(request)
                reply = await fut
        except TimeoutError:
            return done(None, f"no answer within {timeout:g} s")
        except Exception as exc:  # the bus refused or is unreachable
            log.warning("ask %s: %s agent not reached: %s", cid, agent, exc)
            return done(None, f"not reached: {type(exc).__name__}: {exc}")
        finally:
            self._waiting.pop(request.id, None)
        error = reply.payload.get("error")
        if error is not None:
            return done(None, str(error))
        result = reply.payload.get("result")
        if not isinstance(result, dict):
            return done(None, "answered without a result")
        return done(result, None)

    async def _read_replies(self) -> None:
        """Hand each reply to the call waiting for it; drop late and repeated ones."""
        renewed = time.monotonic()
        while True:
            try:
                if time.monotonic() - renewed > REPLY_RENEW_SECONDS:
                    await self.transport.keep_reply_address(self.reply_address)
                    renewed = time.monotonic()
                batch = await take(self._replies, REPLY_BATCH, READ_SECONDS)
                for reply in batch:
                    fut = self._waiting.get(str(reply.payload.get("request_id")))
                    if reply.type in RESULT_TYPES and fut is not None and not fut.done():
                        fut.set_result(reply)
                if batch:
                    await ack_all(self._replies, batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading ask replies failed; retrying in %.0f s", READ_SECONDS)
                await asyncio.sleep(READ_SECONDS)


def _enrichment_brief(enrichment: dict[str, Any] | None) -> dict[str, Any]:
    """The aggregate part of an enrichment, for the progress event (not every record)."""
    if enrichment is None:
        return {"enrichment": None}
    return {"enrichment": {k: v for k, v in enrichment.items() if k != "records"}}

"""The message types of the ask pipeline (issue 5), registered on the bus.

Every agent consumes one request type and answers with one result type. A request's
payload carries ``reply_to``, the address of the orchestrator that asked; the result
goes there with the request's correlation id (the job id) and an id derived from the
request's id, so a reply published twice (a worker killed between publishing and
acknowledging) is recognisably the same reply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from omicsoracle.bus.message import Envelope, register


@dataclass(frozen=True, slots=True)
class AgentMessages:
    """The request an agent consumes and the result it publishes."""

    agent: str
    request: str
    result: str


def _pair(agent: str, request_doc: str, result_doc: str) -> AgentMessages:
    return AgentMessages(
        agent,
        register(f"ask.{agent}", request_doc),
        register(f"ask.{agent}.result", result_doc),
    )


QUERY: Final = _pair(
    "query",
    "a question to understand: {question, reply_to}",
    "what the query agent understood: {request_id, agent, worker, result | error}",
)
SEARCH: Final = _pair(
    "search",
    "a question to search for: {question, limit, reply_to}",
    "a page of search results: {request_id, agent, worker, result | error}",
)
ENRICHMENT: Final = _pair(
    "enrichment",
    "a page of search results to enrich: {search, reply_to}",
    "organisms, assays, platforms, sizes and years of the records: {request_id, ..., result | error}",
)
SUMMARY: Final = _pair(
    "summary",
    "a page of search results to summarise: {search, reply_to}",
    "an extractive summary of the results and the top record: {request_id, ..., result | error}",
)

MESSAGES: Final = {m.agent: m for m in (QUERY, SEARCH, ENRICHMENT, SUMMARY)}
RESULT_TYPES: Final = frozenset(m.result for m in MESSAGES.values())


def reply_id(request: Envelope) -> str:
    """The id of the reply to ``request``: the same for every delivery of it."""
    return hashlib.blake2b(f"reply:{request.id}".encode(), digest_size=16).hexdigest()


def reply_to(request: Envelope, result_type: str, body: dict[str, Any]) -> Envelope:
    """The reply envelope: same correlation id and priority, id derived from the request."""
    return Envelope(
        result_type,
        {"request_id": request.id, **body},
        priority=request.priority,
        id=reply_id(request),
        correlation_id=request.correlation_id,
    )

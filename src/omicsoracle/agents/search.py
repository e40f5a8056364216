"""The search agent: runs the question on the search engine (which understands it the
same way the query agent does: synonyms, abbreviations, filters from words)."""

from __future__ import annotations

from typing import Any

from omicsoracle.agents.base import Agent, register_agent, require_runtime
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import MAX_LIMIT, SearchRequest
from omicsoracle.understanding import understand

DEFAULT_LIMIT = 20


class SearchAgent(Agent):
    """``{question, limit}`` -> the search response's dict (total, results, facets, ...)."""

    name = "search"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        limit = int(payload.get("limit") or DEFAULT_LIMIT)
        request = SearchRequest(
            query=str(payload["question"]), limit=max(1, min(limit, MAX_LIMIT)), literal=False
        )
        return self.rt.search(request).to_dict()

    def warm_up(self) -> None:
        # The engine understands every query: load the vocabulary before the first.
        understand("warm up")


def _build(rt: Runtime | None) -> Agent:
    return SearchAgent(require_runtime(rt, "search"))


register_agent("search", _build, needs_runtime=True)

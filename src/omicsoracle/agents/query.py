"""The query agent: a question in plain words to what it asks for (``understanding``)."""

from __future__ import annotations

from typing import Any

from omicsoracle.agents.base import Agent, register_agent
from omicsoracle.runtime import Runtime
from omicsoracle.understanding import understand


class QueryAgent(Agent):
    """``{question}`` -> the understanding's dict (concepts, genes, filters, display)."""

    name = "query"

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        return understand(str(payload["question"])).to_dict()

    def warm_up(self) -> None:
        # The vocabulary loads on first use (seconds); the query timeout is 5 s.
        understand("warm up")


def _build(_rt: Runtime | None) -> Agent:
    return QueryAgent()


register_agent("query", _build, needs_runtime=False)

"""The summary agent: an extractive summary of the result page and of its top record
(``summary.summarize_results`` and ``summarize_series``; no network, nothing generated)."""

from __future__ import annotations

from typing import Any

from omicsoracle.agents.base import Agent, register_agent, require_runtime
from omicsoracle.runtime import Runtime
from omicsoracle.summary import summarize_results, summarize_series


class SummaryAgent(Agent):
    """``{search}`` -> ``{results: ResultSummary dict, top: summarize_series | None}``."""

    name = "summary"

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        search: dict[str, Any] = payload.get("search") or {}
        body = summarize_results(search).to_dict()
        rows = search.get("results") or []
        top = None
        if rows:
            # The page's row has no summary text: the stored record has.
            record = self.rt.store.get(str(rows[0]["accession"]), sample_limit=0)
            top = summarize_series(record if record is not None else rows[0])
        return {**body, "top": top}


def _build(rt: Runtime | None) -> Agent:
    return SummaryAgent(require_runtime(rt, "summary"))


register_agent("summary", _build, needs_runtime=True)

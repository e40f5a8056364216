"""The enrichment agent: what the found records are, per record and over the page.

Until text extraction lands (the analysis issue), the entities are the records' own
structured fields: organisms, assays (GEO series types), platforms, sample counts and
release years.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from omicsoracle.agents.base import Agent, register_agent
from omicsoracle.runtime import Runtime


def _counts(values: Iterable[str]) -> list[dict[str, Any]]:
    """Value counts, most common first (ties by value, so the order is stable)."""
    counted = Counter(v for v in values if v)
    return [
        {"value": v, "count": n} for v, n in sorted(counted.items(), key=lambda vn: (-vn[1], vn[0]))
    ]


def _year(hit: Mapping[str, Any]) -> int | None:
    date = str(hit.get("release_date") or "")[:4]
    return int(date) if date.isdigit() else None


def enrich(hits: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-record entities and their aggregate over ``hits`` (search result rows)."""
    records: list[dict[str, Any]] = [
        {
            "accession": hit.get("accession"),
            "organisms": list(hit.get("organisms") or []),
            "assays": list(hit.get("types") or []),
            "platforms": list(hit.get("platforms") or []),
            "n_samples": hit.get("n_samples"),
            "year": _year(hit),
        }
        for hit in hits
    ]
    sizes = [int(r["n_samples"]) for r in records if r["n_samples"]]
    years = [r["year"] for r in records if r["year"] is not None]
    return {
        "records": records,
        "organisms": _counts(o for r in records for o in r["organisms"]),
        "assays": _counts(a for r in records for a in r["assays"]),
        "platforms": _counts(p for r in records for p in r["platforms"]),
        "samples": {
            "records": len(sizes),
            "total": sum(sizes),
            "median": statistics.median(sizes),
            "min": min(sizes),
            "max": max(sizes),
        }
        if sizes
        else {"records": 0},
        "years": {"from": min(years), "to": max(years), "by_year": _counts(str(y) for y in years)}
        if years
        else {},
    }


class EnrichmentAgent(Agent):
    """``{search}`` (a search response dict) -> :func:`enrich` of its result rows."""

    name = "enrichment"

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        return enrich((payload.get("search") or {}).get("results") or [])


def _build(_rt: Runtime | None) -> Agent:
    return EnrichmentAgent()


register_agent("enrichment", _build, needs_runtime=False)

"""Helpers for the bus tests and bench/bus_bench.py: the realistic payload, message types.

``page_payload()`` is the issue's "page of 20 search results, about 7 KB": the first 20
series of the demo corpus (data/corpus/geo_series.jsonl.gz) as ``SearchHit``s with real
snippets, in a ``SearchResponse.to_dict()``, which is what the search agent publishes.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
from pathlib import Path
from typing import Any

from omicsoracle.bus import Envelope, Priority, register
from omicsoracle.search import FacetCount, SearchHit, SearchResponse
from omicsoracle.search.analysis import stem
from omicsoracle.search.snippets import make_snippet

JSONL = Path(__file__).resolve().parents[2] / "data" / "corpus" / "geo_series.jsonl.gz"
PAGE_TYPE = register("test.search_page", "a page of search results (bus tests and bench)")
PING_TYPE = register("test.ping", "a small message (bus tests and bench)")


@functools.cache
def _page() -> str:
    with gzip.open(JSONL, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in itertools.islice(lines, 20)]
    highlight = frozenset(stem(w) for w in ("breast", "cancer", "expression", "cell"))
    hits = tuple(
        SearchHit(
            accession=row["accession"],
            title=row["title"],
            snippet=make_snippet(row.get("summary", ""), row["title"], highlight),
            organisms=tuple(row.get("organisms", ())),
            types=tuple(row.get("types", ())),
            platforms=tuple(row.get("platforms", ())),
            n_samples=row.get("n_samples"),
            release_date=f"{2001 + i // 4}-0{1 + i % 9}-15",
            pubmed_ids=(str(11_000_000 + 37 * i),),
            score=round(14.2 - i * 0.31, 4),
        )
        for i, row in enumerate(rows)
    )
    response = SearchResponse(
        query="breast cancer expression",
        total=1_284,
        results=hits,
        facets={
            "organism": (FacetCount("Homo sapiens", 1_020), FacetCount("Mus musculus", 214)),
            "type": (FacetCount("Expression profiling by array", 903),),
            "platform": (FacetCount("GPL570", 288), FacetCount("GPL96", 101)),
            "year": (FacetCount("2012", 97), FacetCount("2013", 121)),
            "samples": (FacetCount("10-49", 512), FacetCount("50-199", 388)),
        },
        next_cursor="eyJzIjoxNC4yLCJhIjoiR1NFMTIzIn0",
        interpreted={"terms": ["breast", "cancer", "expression"]},
    )
    return json.dumps(response.to_dict())


def page_payload() -> dict[str, Any]:
    """A fresh copy of the realistic payload (about 7 KB as JSON)."""
    payload: dict[str, Any] = json.loads(_page())
    return payload


def page_envelope(priority: Priority = Priority.NORMAL) -> Envelope:
    """The realistic payload in an envelope, as the search agent would publish it."""
    return Envelope(
        PAGE_TYPE, page_payload(), priority=priority, correlation_id="req-0123456789abcdef"
    )

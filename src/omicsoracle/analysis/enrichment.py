"""Over-representation of a result set's facets against the whole corpus (issue 6).

For each organism, series type, platform and extracted entity or sample characteristic
(disease, tissue, cell type, cell line, gene, characteristic) of the results: how many
results carry
it (k of n) against the corpus (K of N), the one-sided hypergeometric p-value of
seeing k or more by chance, BH-adjusted over every term tested, and the fold
enrichment (k/n)/(K/N). Counts come from the search engine's own facets, so they
equal what the page shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom

from omicsoracle.analysis.de import bh_adjust
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import ANNOTATION_FACETS, SearchFilters, SearchRequest

# The enrichment step's entities and characteristics are facets too (search.base).
FIELDS = ("organism", "type", "platform", *ANNOTATION_FACETS)


# The corpus counts come from one search with long facet lists: a results value outside
# them costs a search of its own (a filter on that value), so the lists are made long.
CORPUS_FACET_SIZE = 100


def _facets(
    rt: Runtime,
    query: str,
    filters: SearchFilters,
    facet_size: int | None = None,
    literal: bool = False,
) -> tuple[int, dict[str, dict[str, int]]]:
    request = SearchRequest(
        query=query, limit=1, filters=filters, facet_size=facet_size, literal=literal
    )
    body = rt.search(request).to_dict()
    counts = {f: {b["value"]: b["count"] for b in body["facets"].get(f, [])} for f in FIELDS}
    return int(body["total"]), counts


def _only(field: str, value: str) -> SearchFilters:
    only: dict[str, Any] = {field: [value]}
    return SearchFilters.build(**only)


def for_query(
    rt: Runtime, query: str, filters: SearchFilters, literal: bool = False
) -> dict[str, Any]:
    """The enrichment document of the results of ``query`` with ``filters`` (``literal``:
    the words as typed, as the search did)."""
    total, found = _facets(rt, query, filters, literal=literal)
    corpus, everywhere = _facets(rt, "", SearchFilters(), CORPUS_FACET_SIZE)
    rows: list[dict[str, Any]] = []
    for field in FIELDS:
        for value, k in found[field].items():
            big_k = everywhere[field].get(value)
            if big_k is None:
                # Past the corpus facet's top values: count it with a filter of its own.
                big_k = _facets(rt, "", _only(field, value))[0]
            rows.append(
                {"field": field, "value": value, "in_results": k, "in_corpus": max(big_k, k)}
            )
    if rows and total and corpus:
        hits = np.array([r["in_results"] for r in rows])
        big = np.array([r["in_corpus"] for r in rows])
        # P(X >= k), X ~ hypergeometric(N=corpus, K, n=total).
        p = hypergeom.sf(hits - 1, corpus, big, total)
        adjusted = bh_adjust(p)
        for row, pv, adj in zip(rows, p.tolist(), adjusted.tolist(), strict=True):
            row["p"] = pv
            row["p_adj"] = adj
            row["fold"] = (row["in_results"] / total) / (row["in_corpus"] / corpus)
    rows.sort(key=lambda r: (r.get("p_adj", 1.0), -r.get("fold", 0.0), r["field"], r["value"]))
    return {"query": query, "total": total, "corpus": corpus, "terms": rows}

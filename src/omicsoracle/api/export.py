"""``GET /api/v1/export``: every match of a search, streamed page by page.

The search is walked with its own cursor (one index snapshot, so the export is
consistent even while new data lands) and each page is formatted and sent before
the next is read: memory holds one page, however many series match.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from omicsoracle import export
from omicsoracle.api.deps import runtime
from omicsoracle.api.ratelimit import limit
from omicsoracle.api.search import Filters, Literal_, QueryText, Sort
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import MAX_LIMIT, SearchRequest

router = APIRouter(prefix="/api/v1", tags=["export"])


def _pages(rt: Runtime, request: SearchRequest) -> Iterator[list[dict[str, Any]]]:
    for hits in rt.index.scan(request):
        yield [hit.to_dict() for hit in hits]


def _publication_pages(
    rt: Runtime, pages: Iterator[list[dict[str, Any]]]
) -> Iterator[list[dict[str, Any]]]:
    """The linked publications of each page of series, each PMID once."""
    seen: set[str] = set()  # PMIDs only: far fewer than series, a few bytes each
    for page in pages:
        links = rt.store.publications_of([hit["accession"] for hit in page])
        series_of: dict[str, list[str]] = {}
        for hit in page:
            for pmid in hit["pubmed_ids"]:
                series_of.setdefault(pmid, []).append(hit["accession"])
            for link in links.get(hit["accession"], ()):
                series_of.setdefault(link["pmid"], []).append(hit["accession"])
        fresh = [pmid for pmid in series_of if pmid not in seen]
        seen.update(fresh)
        docs = {doc["pmid"]: doc for doc in rt.store.publication_docs(fresh)}
        out = [
            {**docs.get(pmid, {"pmid": pmid}), "series": list(dict.fromkeys(series_of[pmid]))}
            for pmid in fresh
        ]
        if out:
            yield out


@router.get(
    "/export",
    summary="Stream every match of a search as CSV, TSV, JSON, BibTeX or RIS",
    dependencies=[Depends(limit("export"))],
    response_class=StreamingResponse,
)
def export_matches(
    request: Request,
    filters: Filters,
    q: QueryText = "",
    format: Literal["csv", "tsv", "json", "bibtex", "ris"] = "csv",
    sort: Sort = "relevance",
    literal: Literal_ = False,
) -> Response:
    """Series rows (csv, tsv, json) or their linked publications (bibtex, ris)."""
    rt = runtime(request)
    search = SearchRequest(query=q, limit=MAX_LIMIT, filters=filters, sort=sort, literal=literal)
    pages = _pages(rt, search)
    if format in ("bibtex", "ris"):
        body = export.publication_entries(format, _publication_pages(rt, pages))
    else:
        body = export.series_rows(format, pages)
    name = f"omicsoracle-export.{export.FILE_EXTENSIONS[format]}"
    return StreamingResponse(
        body,
        media_type=export.MEDIA_TYPES[format],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )

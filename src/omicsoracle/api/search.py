"""Search, facets and search-box suggestions."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from omicsoracle.api.deps import json_response, runtime
from omicsoracle.api.errors import CURSOR_RESPONSES, problem
from omicsoracle.api.suggestions import Suggestions
from omicsoracle.search.base import CursorExpired, InvalidCursor, SearchFilters, SearchRequest
from omicsoracle.search.suggest import Suggestion
from omicsoracle.store.records import record_type_of

router = APIRouter(prefix="/api/v1", tags=["search"])

QueryText = Annotated[str, Query(max_length=1000, description="Plain-language query")]
Sort = Literal["relevance", "date", "samples"]
# Repeated values of one filter are OR-ed; different filters are AND-ed.
FilterValues = Annotated[list[str] | None, Query(max_length=50)]
AnnotationValues = Annotated[
    list[str] | None,
    Query(max_length=50, description="An extracted entity, as its facet shows it"),
]


async def search_filters(
    organism: FilterValues = None,
    type: FilterValues = None,
    platform: FilterValues = None,
    min_samples: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    max_samples: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    year_from: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    year_to: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    raw_data: FilterValues = None,
    disease: AnnotationValues = None,
    tissue: AnnotationValues = None,
    cell_type: AnnotationValues = None,
    cell_line: AnnotationValues = None,
    gene: AnnotationValues = None,
    characteristic: Annotated[
        list[str] | None,
        Query(max_length=50, description='A sample characteristic "key: value", or a bare key'),
    ] = None,
) -> SearchFilters:
    """Filters shared by search, facets and export (async: a sync dependency would cost
    every request a hop through the thread pool). The annotation filters (disease ...
    characteristic) take the values of their facets."""
    return SearchFilters.build(
        organism=organism,
        type=type,
        platform=platform,
        min_samples=min_samples,
        max_samples=max_samples,
        year_from=year_from,
        year_to=year_to,
        raw_data=raw_data,
        disease=disease,
        tissue=tissue,
        cell_type=cell_type,
        cell_line=cell_line,
        gene=gene,
        characteristic=characteristic,
    )


Filters = Annotated[SearchFilters, Depends(search_filters)]
# Off by default: the query is understood (synonyms, abbreviations, filters from words).
Literal_ = Annotated[
    bool,
    Query(description="Match the words as typed: no synonyms, corrections or filters from words"),
]


@router.get("/search", summary="Search series", responses=CURSOR_RESPONSES)
async def search(
    request: Request,
    filters: Filters,
    q: QueryText = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    sort: Sort = "relevance",
    literal: Literal_ = False,
) -> Response:
    """Ranked series with snippets, facets over all matches and a cursor to the next page
    (the same JSON as ``omicsoracle search --json``), what the query was understood to
    ask for (``understood``) and ``took_ms``."""
    rt = runtime(request)
    search_request = SearchRequest(
        query=q, limit=limit, cursor=cursor, sort=sort, filters=filters, literal=literal
    )
    loop = asyncio.get_running_loop()
    started = loop.time()

    try:
        response = await to_thread.run_sync(rt.search, search_request)
    except CursorExpired as exc:
        return problem(410, "Cursor Expired", str(exc))
    except InvalidCursor as exc:
        return problem(400, "Invalid Cursor", str(exc))
    body = response.to_dict()
    # Last, always: a cached copy of this body gets the time of the request it answers
    # (see api/response_cache.py).
    body["took_ms"] = round((loop.time() - started) * 1000, 3)
    return json_response(body)


@router.get("/facets", summary="Facet counts of a search")
async def facets(
    request: Request, filters: Filters, q: QueryText = "", literal: Literal_ = False
) -> Response:
    """Facets over every match of the query (no result rows)."""
    rt = runtime(request)
    search_request = SearchRequest(query=q, limit=1, filters=filters, literal=literal)
    response = await to_thread.run_sync(rt.search, search_request)
    body = response.to_dict()
    return json_response(
        {"query": q, "total": body["total"], "facets": body["facets"], "relaxed": body["relaxed"]}
    )


@router.get("/suggest", summary="Completions for the search box")
async def suggest(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Response:
    """Terms, organisms, titles and accessions starting like the typed text."""
    suggestions: Suggestions = request.app.state.suggestions
    suggester = await suggestions.get()
    found = suggester.suggest(q, limit)
    # A complete id of any record type (a sample, a DataSet, a PMID...) opens that
    # record: the suggester only completes series, and most PubMed articles are
    # reachable from no series of the corpus.
    record = await _record_suggestion(request, q)
    if record is not None:
        found = [record, *(s for s in found if s.accession != record.accession)][:limit]
    return json_response({"query": q, "suggestions": [s.to_dict() for s in found]})


async def _record_suggestion(request: Request, text: str) -> Suggestion | None:
    kind = record_type_of(text)
    if kind is None:
        return None
    rt = runtime(request)
    doc = await to_thread.run_sync(lambda: rt.store.get(kind[1], sample_limit=1))
    if doc is None:
        return None
    return Suggestion(
        text=doc.get("title") or kind[1], kind="accession", accession=kind[1], detail=kind[0]
    )

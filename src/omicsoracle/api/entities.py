"""Extracted entities of a record: mentions with spans, normalised characteristics."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from omicsoracle.api.deps import json_response, runtime
from omicsoracle.api.errors import problem
from omicsoracle.extraction.store import entities_of

router = APIRouter(prefix="/api/v1", tags=["extraction"])

RecordId = Annotated[
    str,
    Path(
        pattern=r"^([Gg][Ss][EeMm]|[Gg][Pp][Ll]|[Gg][Dd][Ss]|PMID:)?[1-9][0-9]{0,8}$",
        examples=["GSE2034", "GDS507", "15721472"],
    ),
]


@router.get(
    "/entities/{identifier}",
    summary="Entities (organisms, tissues, genes, statistics...) with spans, and characteristics",
)
async def entities(request: Request, identifier: RecordId) -> Response:
    rt = runtime(request)
    found = await to_thread.run_sync(lambda: entities_of(rt.store, identifier))
    if found is None:
        return problem(404, "Not Found", f"{identifier} is not in this corpus")
    return json_response(found)

"""Records by accession or PMID, with their links; similar series; related publications."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from omicsoracle.api.deps import json_response, runtime
from omicsoracle.api.errors import problem
from omicsoracle.model import ACCESSION_RE
from omicsoracle.store.records import record_type_of

router = APIRouter(prefix="/api/v1", tags=["records"])

# Record routes name their type; an id of another type (a GSM on /series) is malformed
# for that route, so it is a 422 like any other malformed id.
PREFIX = {"series": "GSE", "sample": "GSM", "platform": "GPL", "dataset": "GDS"}
SampleOffset = Annotated[int, Query(ge=0, le=10_000_000, description="First sample of the page")]
SampleLimit = Annotated[int, Query(ge=1, le=500, description="Samples per page")]
# Patterns document the id forms (case-insensitive, as typed by people); the handler
# still checks the type, so /series/GSM1 is a 422 like any other malformed id.
_ACC = r"[1-9][0-9]{0,8}"
SeriesId = Annotated[str, Path(pattern=rf"^[Gg][Ss][Ee]{_ACC}$", examples=["GSE2034"])]
SampleId = Annotated[str, Path(pattern=rf"^[Gg][Ss][Mm]{_ACC}$", examples=["GSM11805"])]
PlatformId = Annotated[str, Path(pattern=rf"^[Gg][Pp][Ll]{_ACC}$", examples=["GPL570"])]
DatasetId = Annotated[str, Path(pattern=rf"^[Gg][Dd][Ss]{_ACC}$", examples=["GDS507"])]
Pmid = Annotated[str, Path(pattern=rf"^(PMID:)?{_ACC}$", examples=["15721472"])]
RecordId = Annotated[
    str,
    Path(
        pattern=rf"^([Gg][Ss][EeMm]|[Gg][Pp][Ll]|[Gg][Dd][Ss]|PMID:)?{_ACC}$", examples=["GSE2034"]
    ),
]


async def _record(
    request: Request, record_type: str, identifier: str, offset: int = 0, limit: int = 50
) -> Response:
    kind = record_type_of(identifier)
    if kind is None or kind[0] != record_type:
        expected = PREFIX.get(record_type, "a PubMed ID like ")
        return problem(
            422,
            "Unprocessable Content",
            f"{identifier!r} is not a {record_type} id (expected {expected}<digits>)",
        )
    rt = runtime(request)
    found = await to_thread.run_sync(
        lambda: rt.store.get(kind[1], sample_limit=limit, sample_offset=offset)
    )
    if found is None:
        return problem(404, "Not Found", f"{kind[1]} is not in this corpus")
    return json_response(found)


@router.get("/series/{accession}", summary="A series with samples (paged), platforms, publications")
async def series(
    request: Request,
    accession: SeriesId,
    samples_offset: SampleOffset = 0,
    samples_limit: SampleLimit = 50,
) -> Response:
    return await _record(request, "series", accession, samples_offset, samples_limit)


@router.get("/samples/{accession}", summary="A sample")
async def sample(request: Request, accession: SampleId) -> Response:
    return await _record(request, "sample", accession)


@router.get("/platforms/{accession}", summary="A platform")
async def platform(request: Request, accession: PlatformId) -> Response:
    return await _record(request, "platform", accession)


@router.get("/datasets/{accession}", summary="A curated GEO DataSet with its subsets")
async def dataset(request: Request, accession: DatasetId) -> Response:
    return await _record(request, "dataset", accession)


@router.get("/publications/{pmid}", summary="A PubMed article with its linked series")
async def publication(request: Request, pmid: Pmid) -> Response:
    return await _record(request, "publication", pmid)


@router.get("/records/{identifier}", summary="Any record by accession or PMID")
async def record(request: Request, identifier: RecordId) -> Response:
    kind = record_type_of(identifier)
    if kind is None:
        return problem(
            422, "Unprocessable Content", f"not a GEO accession or PubMed ID: {identifier!r}"
        )
    return await _record(request, kind[0], identifier)


@router.get("/series/{accession}/similar", summary="Series like this one")
async def similar(
    request: Request,
    accession: SeriesId,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    kind = record_type_of(accession)
    if kind is None or kind[0] != "series":
        return problem(
            422, "Unprocessable Content", f"{accession!r} is not a series id (GSE<digits>)"
        )
    rt = runtime(request)
    found = await to_thread.run_sync(lambda: rt.store.get(kind[1], sample_limit=1))
    if found is None:
        return problem(404, "Not Found", f"{kind[1]} is not in this corpus")
    text = " ".join(x for x in (found.get("summary"), found.get("overall_design")) if x)
    hits = await to_thread.run_sync(
        rt.index.similar, found.get("title") or "", text, kind[1], limit
    )
    return json_response({"accession": kind[1], "results": [h.to_dict() for h in hits]})


class RelatedRequest(BaseModel):
    accessions: list[Annotated[str, Field(pattern=rf"^[Gg][Ss][Ee]{_ACC}$")]] = Field(
        min_length=1, max_length=100, description="Up to 100 GSE accessions"
    )


@router.post("/series/related", summary="Publications of many series in one round trip")
async def related(request: Request, body: RelatedRequest) -> Response:
    keys: list[str] = []
    bad: list[str] = []
    for acc in body.accessions:
        m = ACCESSION_RE.match(acc.strip().upper())
        if m and m.group(1) == "GSE":
            keys.append(m.group(0))
        else:
            bad.append(acc)
    if bad:
        return problem(
            422, "Unprocessable Content", f"not series accessions: {', '.join(map(repr, bad[:10]))}"
        )
    rt = runtime(request)
    links: dict[str, Any] = await to_thread.run_sync(
        rt.store.publications_of, list(dict.fromkeys(keys))
    )
    return json_response({"publications": links})

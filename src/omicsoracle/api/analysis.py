"""Statistics over HTTP (issue 6): sample groups, differential-expression jobs, TSV,
and over-representation of a result set's facets against the corpus.

A comparison runs as a job of the API's job model (its whole result in
``GET /api/v1/jobs/{id}``, its stages on the WebSocket). The page reads only what it
draws: one page of the top table (``GET /de/{id}?limit=&offset=``) and the volcano's
columns (``GET /de/{id}/volcano``); the full table stays in the job, the CLI and the TSV. The same request on the same
data gets the job already computed: the cache maps the inputs (with the dataset
table's digest) to the job id, so the big result is stored once, in the job store.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from omicsoracle.analysis import comparison
from omicsoracle.analysis import enrichment as over_represented
from omicsoracle.analysis.comparison import AnalysisError
from omicsoracle.api.deps import json_response, runtime
from omicsoracle.api.errors import problem
from omicsoracle.api.events import EventHub
from omicsoracle.api.job_tasks import JobTasks
from omicsoracle.api.ratelimit import limit
from omicsoracle.api.search import Filters, Literal_, QueryText
from omicsoracle.cache import Cache
from omicsoracle.jobs import Job, JobStore
from omicsoracle.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])

# A finished comparison is found again for a day (the job store keeps it longer).
CACHE_TTL_SECONDS = 24 * 3600
JOB_KIND = "de"

JobId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]
SortField = Literal["probe", "gene", "log2fc", "t", "p", "p_adj", "mod_t", "mod_p", "mod_p_adj"]
# Rows of the top table one request can ask for (the page shows 100).
MAX_PAGE = 1000
Accession = Annotated[str, Path(min_length=3, max_length=32, pattern=r"^(GDS|GSE)[1-9][0-9]{0,8}$")]
GroupSpec = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300, pattern=r".+:.+")
]


class DeBody(BaseModel):
    """Two sample groups of one dataset, each ``key:value`` (a subset or characteristic)."""

    model_config = ConfigDict(extra="forbid")

    accession: str = Field(min_length=3, max_length=32, pattern=r"^(GDS|GSE)[1-9][0-9]{0,8}$")
    group: GroupSpec = Field(description='First group, e.g. "disease state:RCC".')
    vs: GroupSpec = Field(description='Group it is compared with, e.g. "disease state:normal".')


class DeRunner(JobTasks):
    """Runs this process's comparisons one at a time (each uses a core fully)."""

    def __init__(self, rt: Runtime, jobs: JobStore, hub: EventHub) -> None:
        super().__init__(jobs, hub)
        self.rt = rt
        self._gate = asyncio.Semaphore(1)

    def submit(self, job_id: str, body: DeBody) -> None:
        self._start(job_id, self._run(job_id, body))

    async def _run(self, job_id: str, body: DeBody) -> None:
        loop = asyncio.get_running_loop()

        def progress(stage: str, done: float) -> None:
            # Called from the worker thread: the job row is written there, the
            # WebSocket hub is told on the event loop.
            self.jobs.progress(job_id, {"stage": stage, "fraction": done})
            loop.call_soon_threadsafe(self.hub.notify, job_id)

        try:
            async with self._gate:
                await to_thread.run_sync(self.jobs.start, job_id)
                result = await to_thread.run_sync(
                    lambda: comparison.run(
                        self.rt.store, body.accession, body.group, body.vs, progress
                    )
                )
                await to_thread.run_sync(self.jobs.finish, job_id, "done", result)
        except asyncio.CancelledError:
            await self._fail(job_id, "the server shut down before the comparison finished")
            raise
        except AnalysisError as exc:
            await self._fail(job_id, exc.message)
            return
        except Exception as exc:  # the job must end, whatever happened
            log.exception("comparison job %s failed", job_id)
            await self._fail(job_id, f"{type(exc).__name__}: {exc}")
            return
        self.hub.notify(job_id)


def _error(exc: AnalysisError) -> Response:
    titles = {404: "Not Found", 422: "Unprocessable Content"}
    return problem(exc.status, titles.get(exc.status, "Bad Request"), exc.message)


@router.get("/groups/{accession}", summary="Sample groups of a dataset, for a comparison")
async def groups(request: Request, accession: Accession) -> Response:
    rt = runtime(request)
    try:
        body = await to_thread.run_sync(comparison.groups_summary, rt.store, accession)
    except AnalysisError as exc:
        return _error(exc)
    return json_response(body)


@router.post(
    "/de",
    summary="Differential expression of two sample groups (returns a job id at once)",
    status_code=202,
    dependencies=[Depends(limit("analysis"))],
)
async def differential_expression(request: Request, body: DeBody) -> Response:
    rt = runtime(request)
    jobs: JobStore = request.app.state.jobs
    cache: Cache = request.app.state.cache
    # Checked before a job exists: a bad request is answered at once, not by a failed job.
    try:
        src, a, b = await to_thread.run_sync(
            comparison.resolve, rt.store, body.accession, body.group, body.vs
        )
    except AnalysisError as exc:
        return _error(exc)
    digest = await to_thread.run_sync(rt.store.data_table_hash, src.values_from)
    key = cache.key(
        JOB_KIND, src.accession, src.values_from, digest, a.label.lower(), b.label.lower()
    )
    cached = await cache.get(key)
    if isinstance(cached, str):
        job = await to_thread.run_sync(jobs.get, cached)
        if job is not None and job.state != "failed":
            return _accepted(job.id, job.state, cached=True)
    params = {
        "accession": src.accession,
        "values_from": src.values_from,
        "group": a.label,
        "vs": b.label,
    }
    job = await to_thread.run_sync(jobs.create, JOB_KIND, params)
    await cache.set(key, job.id, CACHE_TTL_SECONDS)
    runner: DeRunner = request.app.state.de_runner
    runner.submit(job.id, body)
    return _accepted(job.id, job.state, cached=False)


def _accepted(job_id: str, state: str, *, cached: bool) -> Response:
    url = f"/api/v1/jobs/{job_id}"
    return json_response(
        {
            "job_id": job_id,
            "state": state,
            "url": url,
            "tsv": f"/api/v1/analysis/de/{job_id}.tsv",
            "table": f"/api/v1/analysis/de/{job_id}",
            "volcano": f"/api/v1/analysis/de/{job_id}/volcano",
            "events": "/api/v1/ws",
            "cached": cached,
        },
        status=202,
        headers={"location": url},
    )


async def _comparison_job(request: Request, job_id: str) -> Job | Response:
    jobs: JobStore = request.app.state.jobs
    job = await to_thread.run_sync(jobs.get, job_id)
    if job is None or job.kind != JOB_KIND:
        return problem(404, "Not Found", f"no comparison job {job_id}")
    return job


async def _finished_job(request: Request, job_id: str) -> Job | Response:
    """The comparison job with its result, or the 404/409 to answer instead."""
    job = await _comparison_job(request, job_id)
    if isinstance(job, Response):
        return job
    if job.state != "done" or not job.result:
        return problem(409, "Conflict", f"job {job.id} is {job.state}, not done")
    return job


@router.get("/de/{job_id}.tsv", summary="A finished comparison's top table as TSV")
async def de_tsv(request: Request, job_id: JobId) -> Response:
    """Every probe, sorted by ``mod_p_adj``: the columns of ``analyze de --json``."""
    job = await _finished_job(request, job_id)
    if isinstance(job, Response):
        return job
    assert job.result is not None
    text = await to_thread.run_sync(comparison.to_tsv, job.result)
    name = f"{job.result['accession']}_de.tsv"
    return Response(
        text,
        media_type="text/tab-separated-values; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/de/{job_id}",
    summary="A comparison job's state; when done, one page of its top table "
    "(?limit=1..1000&offset=&sort=&descending=) with the total row count",
)
async def de_table(
    request: Request,
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows to return.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
    sort: Annotated[
        SortField, Query(description="Column to sort by (fold change and t by size).")
    ] = "mod_p_adj",
    descending: Annotated[bool, Query(description="Largest first.")] = False,
) -> Response:
    """What the statistics page polls instead of ``GET /api/v1/jobs/{id}`` (whose
    result holds all 22,645 rows of GDS507, several MB): ``{"id", "state",
    "progress", "error"}``, and once ``state`` is ``done`` the result without its full
    table: ``results`` (``limit`` rows from ``offset``, sorted by ``sort``, by default
    ``mod_p_adj`` ascending), ``total``, ``significant`` (counts at adjusted p < 0.05),
    ``groups``, ``heatmap``, ``log_scale``. A bad ``limit``/``offset``/``sort`` is a 422.
    """
    job = await _comparison_job(request, job_id)
    if isinstance(job, Response):
        return job
    body: dict[str, Any] = {"id": job.id, "state": job.state, "progress": job.progress}
    if job.state == "failed":
        body["error"] = (job.result or {}).get("error") or "the comparison failed"
    if job.state == "done" and job.result:
        page = await to_thread.run_sync(
            comparison.top_table, job.result, limit, offset, sort, descending
        )
        body.update(page)
    return json_response(body)


@router.get(
    "/de/{job_id}/volcano",
    summary="A finished comparison's volcano data as parallel arrays "
    "(probe, gene, log2fc, neg_log10_p_adj)",
)
async def de_volcano(request: Request, job_id: JobId) -> Response:
    """Probe, gene, log2 fold change (4 decimals) and -log10 of the BH-adjusted
    moderated p (3 decimals) as parallel arrays: about a fifth of the row objects."""
    job = await _finished_job(request, job_id)
    if isinstance(job, Response):
        return job
    assert job.result is not None
    body = await to_thread.run_sync(comparison.volcano, job.result)
    return json_response(body)


@router.get("/enrichment", summary="Facets over-represented in a result set against the corpus")
async def enrichment(
    request: Request, filters: Filters, q: QueryText = "", literal: Literal_ = False
) -> Response:
    """Organisms, series types, platforms and extracted entities / sample characteristics
    over-represented in the results of a search (hypergeometric test, BH-adjusted over
    every term); ``literal`` as in ``/search``, so the result set is the one on screen."""
    rt = runtime(request)
    body = await to_thread.run_sync(over_represented.for_query, rt, q, filters, literal)
    return json_response(body)

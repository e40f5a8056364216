"""``POST /api/v1/sync`` and the scheduled sync of ``serve`` (issue 13).

A sync runs in a thread of the API process that started it, as a job (kind
``sync``): its progress goes to the job store and out on the WebSocket like an
ingest's. One sync at a time in the whole deployment: the run holds the ``sync``
lease in the database (409 while another holds it). With ``OMICSORACLE_SYNC_INTERVAL``
set, each server process ticks and the one that claims the interval's slot runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import date
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from omicsoracle.api.deps import json_response
from omicsoracle.api.errors import WRITE_RESPONSES, problem
from omicsoracle.api.events import EventHub
from omicsoracle.api.job_tasks import JobTasks
from omicsoracle.api.ratelimit import limit
from omicsoracle.api.security import require_token
from omicsoracle.extraction.store import enrich
from omicsoracle.jobs import JobStore
from omicsoracle.runtime import Runtime
from omicsoracle.sync.geo import SyncError, SyncInterrupted, SyncOptions, run_sync
from omicsoracle.sync.schedule import RUN_LEASE, RUN_TTL_SECONDS, DbLease, claim_slot

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["jobs"])

PROGRESS_EVERY_SECONDS = 0.5
# How often each server process looks whether the interval's scheduled sync is due.
SCHEDULE_TICKS_PER_INTERVAL = 4


class SyncBody(BaseModel):
    """What to sync; every field optional (default: resume, up to today)."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(default=None, description="First modification date (YYYY-MM-DD).")
    until: date | None = Field(
        default=None, description="Last modification date (default today, UTC)."
    )
    limit: int | None = Field(default=None, ge=1, description="Stop after N series and DataSets.")
    full: bool = Field(
        default=False, description="Also fetch each new or changed series' family SOFT."
    )


class SyncRunner(JobTasks):
    """Runs this process's sync jobs, each under the deployment-wide ``sync`` lease."""

    def __init__(
        self, rt: Runtime, jobs: JobStore, hub: EventHub, *, ttl: float = RUN_TTL_SECONDS
    ) -> None:
        super().__init__(jobs, hub)
        self.rt = rt
        self.ttl = ttl
        self._stop = threading.Event()

    def try_lease(self) -> DbLease | None:
        """The ``sync`` lease, or None while a sync runs anywhere (blocking: call in a thread)."""
        lease = DbLease(self.rt.store, RUN_LEASE, ttl=self.ttl)
        return lease if lease.take() else None

    def submit(self, job_id: str, options: SyncOptions, lease: DbLease) -> None:
        self._start(job_id, self._run(job_id, options, lease))

    async def _run(self, job_id: str, options: SyncOptions, lease: DbLease) -> None:
        lost = threading.Event()
        renewer = asyncio.create_task(self._renew(lease, lost))
        try:
            await to_thread.run_sync(self.jobs.start, job_id)
            # Not cancellable once started (a thread): close() sets the stop flag and
            # the sync ends at its next batch, its position committed.
            body, ok = await asyncio.shield(to_thread.run_sync(self._sync, job_id, options, lost))
            state = "done" if ok else "failed"
            if not ok:
                await to_thread.run_sync(self.jobs.errors, job_id, [{"reason": body["error"]}])
            await to_thread.run_sync(self.jobs.finish, job_id, state, body)
        except asyncio.CancelledError:
            await self._fail(job_id, "the server shut down during this sync")
            raise
        except Exception as exc:  # the job must end, whatever happened
            log.exception("sync job %s failed", job_id)
            await self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            with contextlib.suppress(Exception):
                await to_thread.run_sync(lease.release)
        self.hub.notify(job_id)

    async def _renew(self, lease: DbLease, lost: threading.Event) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                held = await to_thread.run_sync(lease.renew)
            except Exception:
                log.exception("sync lease renewal failed; retrying")
                continue
            if not held:
                log.error("sync lease lost to another node; stopping this sync")
                lost.set()
                return

    def _sync(
        self, job_id: str, options: SyncOptions, lost: threading.Event
    ) -> tuple[dict[str, Any], bool]:
        last = 0.0

        def progress(event: dict[str, Any]) -> None:
            nonlocal last
            now = time.monotonic()
            if event.get("stage") == "batch" and now - last < PROGRESS_EVERY_SECONDS:
                return
            last = now
            self.jobs.progress(job_id, event)
            self.hub.notify(job_id)

        def stop() -> bool:
            return self._stop.is_set() or lost.is_set()

        try:
            report = run_sync(
                self.rt.settings, self.rt.store, options, progress=progress, stop=stop
            )
        except SyncError as exc:
            body = exc.report.as_dict() if exc.report is not None else {}
            body["error"] = str(exc)
            body["interrupted"] = isinstance(exc, SyncInterrupted)
            return body, False
        if report.records or report.full:
            # As after an ingest job: entities of what was written; the server's
            # catch-up loop then indexes the series (with their facets).
            self.jobs.progress(job_id, {"stage": "enriching", "records": report.records})
            self.hub.notify(job_id)
            try:
                enrich(self.rt.store)
            except Exception:
                log.exception("enrichment after sync job %s failed", job_id)
        return report.as_dict(), True

    async def close(self) -> None:
        self._stop.set()
        tasks = list(self._tasks)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def start_job(self, options: SyncOptions, params: dict[str, Any]) -> str | None:
        """Create and start a sync job if the lease is free; its id, or None (busy)."""
        lease = await to_thread.run_sync(self.try_lease)
        if lease is None:
            return None
        try:
            job = await to_thread.run_sync(self.jobs.create, "sync", params)
        except BaseException:
            await to_thread.run_sync(lease.release)
            raise
        self.submit(job.id, options, lease)
        return job.id


async def schedule(runner: SyncRunner, interval: float) -> None:
    """Every interval, one server process of the deployment runs a sync (resuming)."""
    tick = interval / SCHEDULE_TICKS_PER_INTERVAL
    while True:
        await asyncio.sleep(tick)
        try:
            if not await to_thread.run_sync(claim_slot, runner.rt.store, interval):
                continue
            claimed = time.time()
            job_id = await runner.start_job(
                SyncOptions(), {"trigger": "schedule", "claimed_at": claimed}
            )
            if job_id is None:
                log.info("scheduled sync skipped: another sync is running")
        except Exception:
            log.exception("scheduled sync could not start; trying again next interval")


@router.post(
    "/sync",
    summary="Sync GEO from NCBI E-utilities now (returns a job id at once)",
    status_code=202,
    responses={**WRITE_RESPONSES, 409: {"description": "A sync is already running"}},
    dependencies=[Depends(limit("ingest")), Depends(require_token)],
)
async def sync(request: Request, body: SyncBody | None = None) -> Response:
    body = body or SyncBody()
    if body.since is not None and body.until is not None and body.since > body.until:
        return problem(422, "Unprocessable Content", "since is after until")
    runner: SyncRunner = request.app.state.sync_runner
    options = SyncOptions(since=body.since, until=body.until, limit=body.limit, full=body.full)
    params = {"trigger": "api", **body.model_dump(mode="json")}
    job_id = await runner.start_job(options, params)
    if job_id is None:
        return problem(409, "Conflict", "a sync is already running; try again when it is done")
    url = f"/api/v1/jobs/{job_id}"
    return json_response(
        {"job": job_id, "state": "queued", "url": url, "events": "/api/v1/ws"},
        status=202,
        headers={"location": url},
    )

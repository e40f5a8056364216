"""Jobs over HTTP: upload-and-ingest, job state, and the WebSocket event stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
import time
from pathlib import Path as PathType
from typing import Annotated, Any

import orjson
from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Request, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from omicsoracle.api.deps import json_response, settings
from omicsoracle.api.errors import WRITE_RESPONSES, problem
from omicsoracle.api.events import EventHub, Subscriber
from omicsoracle.api.ratelimit import limit
from omicsoracle.api.security import require_token
from omicsoracle.api.uploads import BadUpload, UploadTooLarge, receive_upload
from omicsoracle.extraction.store import enrich
from omicsoracle.ingest import FileResult, OnError, Problem, ingest_file
from omicsoracle.jobs import JobStore
from omicsoracle.leases import FileLease
from omicsoracle.observability.metrics import agent_timer, connection_closed, connection_opened
from omicsoracle.runtime import Runtime
from omicsoracle.store.writer import now_iso

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["jobs"])

# Progress events at most this often: a fast ingest flushes many batches a second.
PROGRESS_EVERY_SECONDS = 0.5
# How long shutdown waits for a running ingest to commit before marking it failed.
SHUTDOWN_GRACE_SECONDS = 30.0
# An ingest job's records are searchable before it reports done; a server process that
# is not the index writer waits this long for the writer to fold them in.
INDEX_WAIT_SECONDS = 60.0
POLL_LEASE_SECONDS = 0.2


class IngestInterrupted(Exception):
    """The server is shutting down and its grace period for the running ingest is over."""


JobId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]


class IngestRunner:
    """Runs ingest jobs of this process one at a time (the store has one writer).

    On shutdown no job is left "running" or "queued": the running ingest gets
    ``SHUTDOWN_GRACE_SECONDS`` to finish (its file transaction commits whole or not at
    all), queued ones do not start, and whatever is left is marked failed.
    """

    def __init__(self, rt: Runtime, jobs: JobStore, hub: EventHub):
        self.rt = rt
        self.jobs = jobs
        self.hub = hub
        self._gate = asyncio.Semaphore(1)
        self._store_lease = FileLease(rt.settings.data_dir / "ingest.lease")
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._closing = False
        self._waiting = 0
        # Threads cannot be cancelled: after the grace period the running ingest is
        # asked to stop at its next batch, and waited for.
        self._abort = threading.Event()

    @property
    def waiting(self) -> int:
        """Jobs submitted to this process and not started yet (the queue-depth gauge)."""
        return self._waiting

    def submit(self, job_id: str, path: PathType, on_error: OnError) -> None:
        task = asyncio.create_task(self._run(job_id, path, on_error))
        self._tasks[task] = job_id
        task.add_done_callback(lambda t: self._tasks.pop(t, None))

    async def _run(self, job_id: str, path: PathType, on_error: OnError) -> None:
        self._waiting += 1
        started = False
        try:
            async with self._gate:
                started = True
                self._waiting -= 1
                if self._closing:
                    await self._fail(job_id, "the server shut down before this job started")
                    return
                try:
                    # Never cancelled while the thread runs (close() asks the ingest to
                    # stop instead), so the upload is removed only once the thread
                    # reading it has finished.
                    await to_thread.run_sync(self._ingest, job_id, path, on_error)
                except Exception as exc:  # the job must end, whatever happened
                    log.exception("ingest job %s failed", job_id)
                    await self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            if not started:  # cancelled while queued
                self._waiting -= 1
            shutil.rmtree(path.parent, ignore_errors=True)

    async def _fail(self, job_id: str, reason: str) -> None:
        await to_thread.run_sync(self.jobs.errors, job_id, [{"reason": reason}])
        await to_thread.run_sync(self.jobs.finish, job_id, "failed", {"error": reason})
        self.hub.notify(job_id)

    def _ingest(self, job_id: str, path: PathType, on_error: OnError) -> None:
        # The gate above is per process; with several server processes on one data
        # directory, this lease queues their jobs (SQLite holds its writer for a whole
        # file, and a second writer would time out instead of waiting its turn).
        while not self._store_lease.try_acquire():
            if self._closing:
                raise RuntimeError("the server shut down before this job started")
            time.sleep(POLL_LEASE_SECONDS)
        try:
            with agent_timer("ingest"):
                result = self._ingest_leased(job_id, path, on_error)
        finally:
            # Released before waiting for the index: the next job may write meanwhile.
            self._store_lease.release()
        # Searchable before the job says done: a client that sees "done" and searches
        # finds the new records. A shutdown stops the wait.
        wait = 0.0 if self._abort.is_set() else INDEX_WAIT_SECONDS
        caught = self.rt.wait_indexed(self.rt.store.max_change_id(), wait, stop=self._abort.is_set)
        state = "done" if result.status in ("ok", "partial") else "failed"
        body = result.as_dict()
        body.pop("problems")
        body["path"] = path.name
        body["indexed_change_id"] = caught.applied_change_id
        self.jobs.finish(job_id, state, body)
        self.hub.notify(job_id)

    def _ingest_leased(self, job_id: str, path: PathType, on_error: OnError) -> FileResult:
        self.jobs.start(job_id)
        records = 0
        started = last = time.monotonic()

        def progress(n: int) -> None:
            nonlocal records, last
            if self._abort.is_set():
                # Raised between batches: ingest_file rolls the file's transaction
                # back and reports the job failed, so nothing half-written stays.
                raise IngestInterrupted("the server shut down during this ingest")
            records += n
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_SECONDS:
                last = now
                self._progress(job_id, records, now - started, "ingesting")

        result = ingest_file(
            self.rt.store,
            path,
            on_error=on_error,
            batch_size=self.rt.settings.ingest_batch_size,
            progress=progress,
        )
        self._progress(job_id, result.records, time.monotonic() - started, "indexing")
        self.jobs.errors(job_id, [_error(p) for p in result.problems])
        if result.ok:
            # The enrichment step (issue 6), as `omicsoracle ingest` runs it: entities of
            # what this upload wrote. Its failure does not undo a good ingest.
            self._progress(job_id, result.records, time.monotonic() - started, "enriching")
            try:
                enrich(self.rt.store)
            except Exception:
                log.exception("enrichment after ingest job %s failed", job_id)
        return result

    def _progress(self, job_id: str, records: int, seconds: float, stage: str) -> None:
        self.jobs.progress(
            job_id,
            {
                "stage": stage,
                "records": records,
                "seconds": round(seconds, 3),
                "records_per_s": round(records / seconds, 1) if seconds > 0 else None,
            },
        )
        self.hub.notify(job_id)

    async def close(self) -> None:
        self._closing = True
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
        if late:
            self._abort.set()
            await asyncio.wait(late)


def _error(p: Problem) -> dict[str, Any]:
    # The uploaded file's temporary path means nothing to the client: keep its name.
    body = p.as_dict()
    body["path"] = body["path"].rsplit("/", 1)[-1]
    body["message"] = (
        f"{body['path']}{':' + str(p.line) if p.line else ''}: "
        + (f"record {p.record}: " if p.record else "")
        + p.reason
    )
    return body


@router.post(
    "/ingest",
    summary="Upload a GEO or PubMed file to ingest (returns a job id at once)",
    status_code=202,
    responses=WRITE_RESPONSES,
    # The limit first: failed token guesses count against it too.
    dependencies=[Depends(limit("ingest")), Depends(require_token)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "on_error": {"type": "string", "enum": ["abort", "skip"]},
                        },
                    }
                }
            },
        }
    },
)
async def ingest(request: Request) -> Response:
    cfg = settings(request)
    jobs: JobStore = request.app.state.jobs
    staging = cfg.data_dir / "uploads" / f"{time.time_ns():x}"
    try:
        upload = await receive_upload(request, staging, cfg.max_upload_mb * 1024 * 1024)
    except UploadTooLarge as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return problem(413, "Content Too Large", str(exc))
    except BadUpload as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return problem(400, "Bad Request", str(exc))
    try:
        on_error = OnError(upload.fields.get("on_error", "abort"))
    except ValueError:
        shutil.rmtree(staging, ignore_errors=True)
        return problem(422, "Unprocessable Content", "on_error must be 'abort' or 'skip'")
    job = await to_thread.run_sync(
        jobs.create,
        "ingest",
        {"filename": upload.filename, "bytes": upload.size, "on_error": on_error.value},
    )
    runner: IngestRunner = request.app.state.ingest_runner
    runner.submit(job.id, upload.path, on_error)
    return json_response(
        {"job": job.id, "state": job.state, "url": f"/api/v1/jobs/{job.id}"},
        status=202,
        headers={"location": f"/api/v1/jobs/{job.id}"},
    )


@router.get("/jobs/{job_id}", summary="State, progress, errors and result of a job")
async def job(request: Request, job_id: JobId) -> Response:
    jobs: JobStore = request.app.state.jobs
    found = await to_thread.run_sync(jobs.get, job_id)
    if found is None:
        return problem(404, "Not Found", f"no job {job_id}")
    return json_response(found.to_dict())


@router.websocket("/ws")
async def events(websocket: WebSocket) -> None:
    """Job events: send ``{"subscribe": "<job id>"}``; receive ``{"job", "event", ...}``."""
    hub: EventHub = websocket.app.state.hub
    cfg = websocket.app.state.settings
    await websocket.accept()
    sub = hub.connect()
    sender = asyncio.create_task(_send(websocket, hub, sub, cfg.ws_heartbeat_seconds))
    connection_opened()
    try:
        while not sub.dropped.is_set():
            receive = asyncio.create_task(websocket.receive())
            dropped = asyncio.create_task(sub.dropped.wait())
            done, _ = await asyncio.wait(
                {receive, dropped, sender}, return_when=asyncio.FIRST_COMPLETED
            )
            dropped.cancel()
            if receive not in done:
                receive.cancel()
                break
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:  # a binary frame: commands are JSON text
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            reply = await _command(hub, sub, text)
            if reply is not None and not sub.put(reply):
                break
    except WebSocketDisconnect:
        pass
    finally:
        connection_closed()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        await hub.disconnect(sub)
        if sub.dropped.is_set():
            # 1013 "try again later": the client fell too far behind.
            with contextlib.suppress(Exception):
                await websocket.close(code=1013, reason="too slow: events dropped")


async def _command(hub: EventHub, sub: Subscriber, text: str) -> dict[str, Any] | None:
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"event": "invalid", "detail": 'send JSON like {"subscribe": "<job id>"}'}
    job_id = message.get("subscribe") if isinstance(message, dict) else None
    if not isinstance(job_id, str) or len(job_id) != 32:
        return {"event": "invalid", "detail": 'send JSON like {"subscribe": "<job id>"}'}
    jobs: JobStore = hub.jobs
    if await to_thread.run_sync(jobs.get, job_id) is None:
        return {"job": job_id, "event": "unknown", "detail": f"no job {job_id}"}
    # The acknowledgement goes first: the job's events follow it.
    sub.put({"job": job_id, "event": "subscribed"})
    hub.subscribe(sub, job_id)
    return None


async def _send(websocket: WebSocket, hub: EventHub, sub: Subscriber, heartbeat: float) -> None:
    """Drain the subscriber's queue (refilling it from the store when it fell behind);
    a heartbeat goes out every ``heartbeat`` seconds. A message the socket does not
    accept within the send timeout drops the client."""
    loop = asyncio.get_running_loop()
    next_beat = loop.time() + heartbeat
    while True:
        if sub.behind and sub.queue.empty():
            await hub.catch_up(sub)
        wait = max(0.0, next_beat - loop.time())
        if sub.behind and sub.queue.empty():
            wait = min(wait, 0.1)  # the store is being written: look again soon
        try:
            message = await asyncio.wait_for(sub.queue.get(), wait)
        except TimeoutError:
            if loop.time() < next_beat:
                continue
            message = {"event": "heartbeat", "at": now_iso()}
            next_beat = loop.time() + heartbeat
        try:
            await asyncio.wait_for(
                websocket.send_text(orjson.dumps(message).decode()), sub.send_timeout
            )
        except TimeoutError:
            sub.dropped.set()
            return

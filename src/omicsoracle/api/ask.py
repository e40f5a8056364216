"""``POST /api/v1/ask``: a question in, a job id out; the pipeline answers in the job.

The route only validates and hands over: the job model holds the answer
(``GET /api/v1/jobs/{id}``) and the WebSocket streams its stage events, from any API
node, since jobs live in the shared database.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from omicsoracle.agents.pipeline import Pipeline
from omicsoracle.api.deps import json_response
from omicsoracle.api.events import EventHub
from omicsoracle.api.job_tasks import JobTasks
from omicsoracle.api.ratelimit import limit
from omicsoracle.jobs import JobStore
from omicsoracle.search.base import MAX_LIMIT

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["ask"])

MAX_QUESTION = 1000
DEFAULT_LIMIT = 20


class AskBody(BaseModel):
    """A question in plain words, and how many results the answer lists."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION)
    ] = Field(description="The question, 1 to 1000 characters (blank is refused).")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Results to list.")


class AskRunner(JobTasks):
    """Runs the pipelines of this process's ask jobs and records them in the job store.

    On shutdown no ask job is left running: unfinished ones are cancelled and failed.
    """

    def __init__(self, pipeline: Pipeline, jobs: JobStore, hub: EventHub) -> None:
        super().__init__(jobs, hub)
        self.pipeline = pipeline

    def submit(self, job_id: str, question: str, limit: int) -> None:
        self._start(job_id, self._run(job_id, question, limit))

    async def _run(self, job_id: str, question: str, limit: int) -> None:
        try:
            await to_thread.run_sync(self.jobs.start, job_id)
            answer = await self.pipeline.orchestrator.ask(
                question,
                limit=limit,
                correlation_id=job_id,
                on_stage=lambda _stage, body: self._progress(job_id, body),
            )
            agent_errors = answer["errors"]
            if agent_errors:
                await to_thread.run_sync(self.jobs.errors, job_id, agent_errors)
            await to_thread.run_sync(self.jobs.finish, job_id, "done", answer)
        except asyncio.CancelledError:
            await self._fail(job_id, "the server shut down before the answer was ready")
            raise
        except Exception as exc:  # the job must end, whatever happened
            log.exception("ask job %s failed", job_id)
            await self._fail(job_id, f"{type(exc).__name__}: {exc}")
        self.hub.notify(job_id)

    async def _progress(self, job_id: str, body: dict[str, Any]) -> None:
        await to_thread.run_sync(self.jobs.progress, job_id, body)
        self.hub.notify(job_id)


@router.post(
    "/ask",
    summary="Ask a question in plain words (returns a job id at once; the job holds the answer)",
    status_code=202,
    dependencies=[Depends(limit("ask"))],
)
async def ask(request: Request, body: AskBody) -> Response:
    jobs: JobStore = request.app.state.jobs
    runner: AskRunner = request.app.state.ask_runner
    job = await to_thread.run_sync(
        jobs.create, "ask", {"question": body.question, "limit": body.limit}
    )
    runner.submit(job.id, body.question, body.limit)
    url = f"/api/v1/jobs/{job.id}"
    return json_response(
        {"job_id": job.id, "job": job.id, "state": job.state, "url": url, "events": "/api/v1/ws"},
        status=202,
        headers={"location": url},
    )

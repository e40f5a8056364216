"""The in-process side of a job kind: its asyncio tasks, failing a job, stopping them all.

Ask pipelines and comparisons run as tasks of the API process that accepted them; the
job store holds their state, so any node answers ``GET /api/v1/jobs/{id}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from anyio import to_thread

from omicsoracle.api.events import EventHub
from omicsoracle.jobs import JobStore


class JobTasks:
    """Tracks the running tasks of one job kind; on shutdown none is left running."""

    def __init__(self, jobs: JobStore, hub: EventHub) -> None:
        self.jobs = jobs
        self.hub = hub
        self._tasks: dict[asyncio.Task[None], str] = {}

    def _start(self, job_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks[task] = job_id
        task.add_done_callback(lambda t: self._tasks.pop(t, None))

    async def _fail(self, job_id: str, reason: str) -> None:
        """Record ``reason`` and end the job failed (best effort: the store may be down)."""
        with contextlib.suppress(Exception):
            await to_thread.run_sync(self.jobs.errors, job_id, [{"reason": reason}])
            await to_thread.run_sync(self.jobs.finish, job_id, "failed", {"error": reason})
        self.hub.notify(job_id)

    async def close(self) -> None:
        """Cancel every running task (each marks its job failed) and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

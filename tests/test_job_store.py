"""The job store on both backends: retention of finished jobs and their events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omicsoracle.jobs import JobStore, jobs_table


@pytest.fixture
def jobs(store_url: str) -> Iterator[JobStore]:
    job_store = JobStore(store_url)
    try:
        yield job_store
    finally:
        job_store.close()


def _age(jobs: JobStore, job_id: str, finished_at: str) -> None:
    with jobs._engine.begin() as conn:
        conn.execute(
            jobs_table.update().where(jobs_table.c.id == job_id).values(finished_at=finished_at)
        )


def test_prune_removes_old_finished_jobs_and_their_events_only(jobs: JobStore) -> None:
    old = jobs.create("ingest", {"path": "a"}).id
    recent = jobs.create("ingest", {"path": "b"}).id
    running = jobs.create("ingest", {"path": "c"}).id
    for job_id in (old, recent, running):
        jobs.start(job_id)
        jobs.progress(job_id, {"records": 1})
    jobs.finish(old, "done", {})
    jobs.finish(recent, "failed", {})
    _age(jobs, old, "2020-01-01T00:00:00+00:00")

    assert jobs.prune(older_than_days=7) == 1
    assert jobs.get(old) is None
    assert jobs.events_since(old, 0) == []
    for kept in (recent, running):
        assert jobs.get(kept) is not None
        assert jobs.events_since(kept, 0)
    assert jobs.prune(older_than_days=7) == 0

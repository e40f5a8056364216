"""Background jobs: one model for all long work (ingest now; pipelines and analyses later).

A job's state and its event stream live in a database, not in process memory, so any
server process can answer ``GET /api/v1/jobs/{id}`` and stream its events. With the
embedded SQLite store the jobs get a database file of their own beside it: SQLite
admits one writer at a time and an ingest holds the store's write transaction for a
whole file, so progress written to the store itself would only appear once the file
was done. On a server database the jobs share the store's database.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from omicsoracle.config import Settings
from omicsoracle.leases import FileLease
from omicsoracle.store.writer import now_iso

STATES = ("queued", "running", "done", "failed")
FINISHED = frozenset({"done", "failed"})
# Errors kept on the job row itself; the event stream carries each one as it happens.
MAX_JOB_ERRORS = 200

_metadata = sa.MetaData()
jobs_table = sa.Table(
    "jobs",
    _metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),  # host:pid of the process running it
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("started_at", sa.Text),
    sa.Column("finished_at", sa.Text),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("progress", sa.Text, nullable=False, server_default="{}"),
    sa.Column("errors", sa.Text, nullable=False, server_default="[]"),
    sa.Column("n_errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("result", sa.Text),
)
events_table = sa.Table(
    "job_events",
    _metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.Text, nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # progress | error | done
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Index("ix_job_events_job_seq", "job", "seq"),
)


# Tells this process apart from an earlier one that had the same pid (a restarted
# container's server is often pid 1 again).
_BOOT = uuid.uuid4().hex[:12]


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_BOOT}"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    state: str
    owner: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    params: dict[str, Any]
    progress: dict[str, Any]
    errors: list[dict[str, Any]]
    n_errors: int
    result: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "params": self.params,
            "progress": self.progress,
            "errors": self.errors,
            "n_errors": self.n_errors,
            "result": self.result,
        }


@dataclass(frozen=True)
class JobEvent:
    seq: int
    job: str
    event: str
    body: dict[str, Any]
    at: str

    def to_message(self) -> dict[str, Any]:
        """The WebSocket message: ``{"job", "event", "seq", "at", ...body}``."""
        return {**self.body, "job": self.job, "event": self.event, "seq": self.seq, "at": self.at}


def jobs_url(settings: Settings) -> str:
    url = settings.resolved_database_url
    if make_url(url).get_backend_name() == "sqlite":
        return f"sqlite:///{(settings.data_dir / 'jobs.sqlite').resolve()}"
    return url


def _sqlite_tune(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class JobStore:
    """Jobs and their events in a database shared by every process of a deployment."""

    def __init__(self, url: str):
        self.url = url
        self._engine: Engine = create_engine(url, pool_pre_ping=True)
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_tune)
        _metadata.create_all(self._engine, checkfirst=True)

    @classmethod
    def open(cls, settings: Settings) -> JobStore:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Workers of one server start together: one at a time creates the tables
        # (two concurrent CREATE TABLEs on a fresh database fail one of them).
        with FileLease(settings.data_dir / "startup.lease"):
            return cls(jobs_url(settings))

    def create(self, kind: str, params: dict[str, Any]) -> Job:
        job_id = uuid.uuid4().hex  # unguessable: a job's errors may name uploaded files
        with self._engine.begin() as conn:
            conn.execute(
                jobs_table.insert().values(
                    id=job_id,
                    kind=kind,
                    state="queued",
                    owner=this_process(),
                    created_at=now_iso(),
                    params=_dumps(params),
                )
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(jobs_table.select().where(jobs_table.c.id == job_id)).mappings()
            found = row.first()
        if found is None:
            return None
        return Job(
            id=found["id"],
            kind=found["kind"],
            state=found["state"],
            owner=found["owner"],
            created_at=found["created_at"],
            started_at=found["started_at"],
            finished_at=found["finished_at"],
            params=orjson.loads(found["params"]),
            progress=orjson.loads(found["progress"]),
            errors=orjson.loads(found["errors"]),
            n_errors=found["n_errors"],
            result=None if found["result"] is None else orjson.loads(found["result"]),
        )

    def start(self, job_id: str) -> None:
        self._update(job_id, state="running", started_at=now_iso())

    def progress(self, job_id: str, progress: dict[str, Any]) -> None:
        """Record progress and publish it as a ``progress`` event (one transaction)."""
        with self._engine.begin() as conn:
            conn.execute(
                jobs_table.update()
                .where(jobs_table.c.id == job_id)
                .values(progress=_dumps(progress))
            )
            self._event(conn, job_id, "progress", progress)

    def errors(self, job_id: str, errors: Sequence[dict[str, Any]]) -> None:
        """Append errors: the row and the event stream keep the first MAX_JOB_ERRORS
        (one event each), ``n_errors`` counts them all."""
        if not errors:
            return
        with self._engine.begin() as conn:
            row = conn.execute(
                sa.select(jobs_table.c.errors, jobs_table.c.n_errors).where(
                    jobs_table.c.id == job_id
                )
            ).first()
            if row is None:
                return
            kept: list[dict[str, Any]] = orjson.loads(row[0])
            kept.extend(errors[: max(0, MAX_JOB_ERRORS - len(kept))])
            conn.execute(
                jobs_table.update()
                .where(jobs_table.c.id == job_id)
                .values(errors=_dumps(kept), n_errors=row[1] + len(errors))
            )
            room = max(0, MAX_JOB_ERRORS - (row[1]))
            for error in errors[:room]:
                self._event(conn, job_id, "error", {"error": error})

    def finish(self, job_id: str, state: str, result: dict[str, Any]) -> None:
        """Mark the job done or failed and publish the final ``done`` event."""
        if state not in FINISHED:
            raise ValueError(f"a job finishes as done or failed, not {state!r}")
        with self._engine.begin() as conn:
            conn.execute(
                jobs_table.update()
                .where(jobs_table.c.id == job_id)
                .values(state=state, finished_at=now_iso(), result=_dumps(result))
            )
            self._event(conn, job_id, "done", {"state": state, "result": result})

    def events_since(self, job_id: str, after_seq: int, limit: int = 500) -> list[JobEvent]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                events_table.select()
                .where(events_table.c.job == job_id, events_table.c.seq > after_seq)
                .order_by(events_table.c.seq)
                .limit(limit)
            ).mappings()
            return [
                JobEvent(r["seq"], r["job"], r["event"], orjson.loads(r["body"]), r["at"])
                for r in rows
            ]

    def fail_orphans(self) -> int:
        """Fail unfinished jobs of this host whose process is gone (a crash or restart)."""
        host = socket.gethostname()
        failed = 0
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(jobs_table.c.id, jobs_table.c.owner).where(
                    jobs_table.c.state.in_(("queued", "running"))
                )
            ).all()
        me = this_process()
        for job_id, owner in rows:
            owner_host, pid, _boot = ([*owner.split(":"), "", ""])[:3]
            if owner_host != host or owner == me:
                continue
            # Our own pid under another boot id is a dead predecessor; any other live
            # pid may be a sibling server process still running it.
            if pid != str(os.getpid()) and _pid_alive(pid):
                continue
            self.errors(job_id, [{"reason": "the server process running this job stopped"}])
            self.finish(job_id, "failed", {"interrupted": True})
            failed += 1
        return failed

    def prune(self, older_than_days: float) -> int:
        """Delete finished jobs (and their events) that ended more than that long ago.

        Events are kept per job for WebSocket catch-up; without this the table only
        grows (every progress tick of every ingest). Returns the jobs removed.
        """
        cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
        old = (
            sa.select(jobs_table.c.id)
            .where(jobs_table.c.state.in_(tuple(FINISHED)))
            .where(jobs_table.c.finished_at < cutoff)  # ISO-8601 UTC: text order is time order
        )
        with self._engine.begin() as conn:
            conn.execute(events_table.delete().where(events_table.c.job.in_(old)))
            removed = conn.execute(jobs_table.delete().where(jobs_table.c.id.in_(old)))
            return int(removed.rowcount or 0)

    def close(self) -> None:
        self._engine.dispose()

    def _update(self, job_id: str, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(**values))

    @staticmethod
    def _event(conn: sa.Connection, job_id: str, kind: str, body: dict[str, Any]) -> None:
        conn.execute(
            events_table.insert().values(job=job_id, event=kind, body=_dumps(body), at=now_iso())
        )


def _pid_alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

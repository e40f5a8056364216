"""Fault run: load while ingest jobs commit, Redis stopped and started, PostgreSQL restarted.

A real ``omicsoracle serve --workers 2`` on a private PostgreSQL and a private Redis
(never the shared servers), the demo corpus split into files that ingest jobs commit
one after another while reader threads search and open records. In the middle Redis
is stopped and started again, then PostgreSQL is restarted. Afterwards every batch
whose job said "done" is in the store, every batch is in after the ingester retried
the ones the outage failed, and errors stop once the servers are back.

The figures (requests and errors per phase, recovery time) are printed and written to
``test-artifacts/faults.json``; docs/benchmarks.md quotes them.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text

from private_servers import PrivatePostgres, PrivateRedis, require_binaries
from servers import ServerFailed, serve

REPO = Path(__file__).parents[1]
CORPUS = REPO / "data" / "corpus" / "geo_series.jsonl.gz"
ARTIFACTS = REPO / "test-artifacts"
LINES_PER_BATCH = 250
TOKEN = "fault-run-token"
QUERIES = ["breast cancer", "mouse liver", "RNA-seq", "T cells", "neuroblastoma", "HCC"]
READERS = 4
# After a server is back, requests may fail for this long (pool pre-ping, reconnects).
RECOVERY_S = 5.0


@dataclass
class Outcome:
    at: float
    ok: bool
    what: str


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        self.marks[name] = time.monotonic() - self.started


def _batches(directory: Path) -> list[tuple[Path, list[str]]]:
    """The demo corpus as files of LINES_PER_BATCH series, with their accessions."""
    directory.mkdir()
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    out = []
    for n, start in enumerate(range(0, len(lines), LINES_PER_BATCH)):
        chunk = lines[start : start + LINES_PER_BATCH]
        path = directory / f"geo_series-{n:03d}.jsonl"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        out.append((path, [orjson.loads(line)["accession"] for line in chunk]))
    return out


class Load:
    """Reader threads: searches (tantivy + cache) and record pages (PostgreSQL)."""

    def __init__(self, url: str, timeline: Timeline) -> None:
        self.url = url
        self.timeline = timeline
        self.outcomes: list[Outcome] = []
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(READERS)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def _run(self, seed: int) -> None:
        queries = itertools.cycle(QUERIES[seed:] + QUERIES[:seed])
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self._stop.is_set():
                q = next(queries)
                self._one(http, "search", "/api/v1/search", {"q": q})
                self._one(http, "record", "/api/v1/series/GSE53", {})
                time.sleep(0.01)

    def _one(self, http: httpx.Client, what: str, path: str, params: dict[str, str]) -> None:
        try:
            status = http.get(path, params=params).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            at = time.monotonic() - self.timeline.started
            self.outcomes.append(Outcome(at, status == 200, what))


class Ingester:
    """Submits one ingest job per batch file, in order; retries a batch whose job failed."""

    def __init__(self, url: str, batches: list[tuple[Path, list[str]]]) -> None:
        self.url = url
        self.batches = batches
        self.done: list[int] = []
        self.failed_attempts = 0
        self.thread = threading.Thread(target=self._run)

    def run_first(self) -> None:
        """The first batch before the load starts (the readers open one of its records)."""
        with httpx.Client(base_url=self.url, timeout=30) as http:
            assert self._attempt(http, self.batches[0][0]) == "done"
        self.done.append(0)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for n, (path, _) in enumerate(self.batches):
                if n in self.done:
                    continue
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    if self._attempt(http, path) == "done":
                        self.done.append(n)
                        break
                    self.failed_attempts += 1
                    time.sleep(0.5)

    def _attempt(self, http: httpx.Client, path: Path) -> str:
        try:
            with path.open("rb") as fh:
                response = http.post(
                    "/api/v1/ingest",
                    files={"file": (path.name, fh)},
                    headers={"authorization": f"Bearer {TOKEN}"},
                )
            if response.status_code != 202:
                return "refused"
            job = response.json()["job"]
            while True:
                state = http.get(f"/api/v1/jobs/{job}").json()["state"]
                if state in ("done", "failed"):
                    return str(state)
                time.sleep(0.1)
        except (httpx.HTTPError, ValueError, KeyError):
            return "error"


@pytest.fixture
def private_servers(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    require_binaries("initdb", "pg_ctl", "redis-server")
    # Not under tmp_path: the postgres user must reach the cluster's directory.
    root = Path(tempfile.mkdtemp(prefix="omicsoracle-faults-"))
    pg = PrivatePostgres(root)
    cache = PrivateRedis(tmp_path / "redis")
    try:
        pg.init()
        pg.start()
        cache.start()
        yield pg, cache
    finally:
        cache.stop()
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _phase_errors(outcomes: list[Outcome], start: float, end: float) -> tuple[int, int]:
    inside = [o for o in outcomes if start <= o.at < end]
    return len(inside), sum(not o.ok for o in inside)


def test_load_with_ingest_redis_stop_and_postgres_restart(
    tmp_path: Path, private_servers: tuple[PrivatePostgres, PrivateRedis]
) -> None:
    pg, cache = private_servers
    batches = _batches(tmp_path / "batches")
    env = {
        "OMICSORACLE_DATABASE_URL": pg.url,
        "OMICSORACLE_REDIS_URL": cache.url,
        "OMICSORACLE_API_TOKEN": TOKEN,
        "OMICSORACLE_RATE_LIMIT_PER_MINUTE": "0",
        "OMICSORACLE_DB_POOL_TIMEOUT": "2",
    }
    timeline = Timeline()
    log = tmp_path / "serve.log"
    try:
        with serve(tmp_path / "var", log, env, "--workers", "2", "--no-access-log") as url:
            ingester = Ingester(url, batches)
            ingester.run_first()
            with Load(url, timeline) as load:
                ingester.thread.start()
                time.sleep(3)
                timeline.mark("redis_stop")
                cache.stop()
                time.sleep(3)
                cache.start()
                timeline.mark("redis_start")
                time.sleep(3)
                timeline.mark("pg_stop")
                pg.stop("fast")
                time.sleep(2)
                pg.start()
                timeline.mark("pg_start")
                ingester.thread.join(timeout=240)
                assert not ingester.thread.is_alive(), "the ingester did not finish"
                time.sleep(RECOVERY_S + 3)  # load goes on past the recovery window
                timeline.mark("end")
            outcomes = load.outcomes
            statuses = load.statuses
    except ServerFailed as exc:
        pytest.fail(str(exc))

    marks = timeline.marks
    # Every batch whose job said "done" is in the store, and after the retries all are.
    engine = create_engine(pg.url)
    try:
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT accession FROM series"))}
    finally:
        engine.dispose()
    assert ingester.done == list(range(len(batches)))
    missing = [acc for n in ingester.done for acc in batches[n][1] if acc not in stored]
    assert missing == []

    phases = {
        "before faults": (0.0, marks["redis_stop"]),
        "redis down": (marks["redis_stop"], marks["redis_start"]),
        "redis back": (marks["redis_start"], marks["pg_stop"]),
        "postgres restarting": (marks["pg_stop"], marks["pg_start"] + RECOVERY_S),
        "after recovery": (marks["pg_start"] + RECOVERY_S, marks["end"]),
    }
    figures: dict[str, Any] = {
        "batches": len(batches),
        "series": sum(len(b[1]) for b in batches),
        "failed_job_attempts": ingester.failed_attempts,
        "marks_s": {k: round(v, 2) for k, v in marks.items()},
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "phases": {},
    }
    for name, (start, end) in phases.items():
        total, errors = _phase_errors(outcomes, start, end)
        figures["phases"][name] = {"requests": total, "errors": errors}
    back = [o.at for o in outcomes if o.at >= marks["pg_start"] and o.ok and o.what == "record"]
    figures["record_reads_back_after_s"] = round(back[0] - marks["pg_start"], 2) if back else None
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "faults.json").write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())

    for name in ("before faults", "redis down", "redis back", "after recovery"):
        assert figures["phases"][name]["requests"] > 0, name
        assert figures["phases"][name]["errors"] == 0, (name, figures)
    # While PostgreSQL was down, record reads were refused as retryable (503), never
    # a 500: the server knew what was wrong.
    assert "500" not in figures["statuses"], figures

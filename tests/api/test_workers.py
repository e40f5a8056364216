"""``omicsoracle serve --workers 2``: several processes behind one port, one index writer.

Requests land on whichever worker the kernel hands the connection to, so each check
asks until it has heard from both processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import ServerFailed, cli, serve

FAMILY = Path(__file__).parents[1] / "data" / "soft" / "GSE93431_family.soft.gz"
WAIT_S = 30.0


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("workers") / "var"
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    try:
        with serve(data, log, None, "--workers", "2", "--no-access-log") as url:
            yield url, data
    except ServerFailed as exc:
        pytest.fail(str(exc))


def _ready_by_pid(url: str, want: int = 2) -> dict[int, dict[str, Any]]:
    """/readyz answers until ``want`` different processes have answered."""
    seen: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + WAIT_S
    while len(seen) < want and time.monotonic() < deadline:
        # A new connection each time: keep-alive would pin one worker.
        body = httpx.get(f"{url}/readyz", timeout=10, headers={"connection": "close"}).json()
        seen[body["pid"]] = body
    assert len(seen) >= want, f"only heard from {sorted(seen)}"
    return seen


def _writers(url: str) -> set[int]:
    return {pid for pid, body in _ready_by_pid(url).items() if body["index_writer"]}


def test_exactly_one_worker_writes_the_index(deployment: tuple[str, Path]) -> None:
    url, data = deployment
    deadline = time.monotonic() + WAIT_S
    writers = _writers(url)
    while len(writers) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        writers = _writers(url)
    assert len(writers) == 1
    lease = data / "index" / "writer.lease"
    assert int(lease.read_text().strip()) in writers


def test_ingest_elsewhere_is_searchable_on_every_worker_at_once(
    deployment: tuple[str, Path],
) -> None:
    url, data = deployment
    before = httpx.get(f"{url}/api/v1/search", params={"q": "GSE93431"}, timeout=10).json()
    assert before["total"] == 0
    # Another process (the CLI) commits and indexes; the next search on any worker,
    # with no pause, must see it -- a cached answer from before would not.
    env = {**os.environ, "OMICSORACLE_DATA_DIR": str(data)}
    subprocess.run([cli(), "ingest", str(FAMILY)], env=env, check=True, capture_output=True)
    for _ in range(40):
        response = httpx.get(
            f"{url}/api/v1/search",
            params={"q": "GSE93431"},
            headers={"connection": "close"},
            timeout=10,
        )
        body = response.json()
        assert body["results"], "a worker answered from before the ingest"
        assert body["results"][0]["accession"] == "GSE93431"
    generations = {body["generation"] for body in _ready_by_pid(url).values()}
    assert len(generations) == 1
    assert generations.pop() > 0


def test_a_dead_writer_is_replaced(deployment: tuple[str, Path]) -> None:
    url, _ = deployment
    (writer,) = _writers(url)
    os.kill(writer, signal.SIGKILL)
    # uvicorn's supervisor starts a new worker; whichever process takes the free
    # lease on its next catch-up tick becomes the writer.
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            writers = _writers(url)
        except (httpx.HTTPError, AssertionError):
            writers = set()
        if len(writers) == 1 and writer not in writers:
            break
        time.sleep(0.5)
    else:
        pytest.fail("no worker took over the index writer lease")

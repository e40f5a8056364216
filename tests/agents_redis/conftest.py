"""`omicsoracle worker` processes on the shared Redis, each test under a prefix of its own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
import redis
from worker_helpers import StartWorker, wait_for

from omicsoracle.config import Settings
from private_servers import redis_prefix
from servers import cli


@pytest.fixture
def agents_prefix(redis_url: str) -> Iterator[str]:
    """An agent stream prefix of this test's own; its keys are deleted afterwards."""
    with redis_prefix(redis_url, "test-agents") as name:
        yield name


@pytest.fixture
def rclient(redis_client: redis.Redis) -> redis.Redis:
    """The shared plain client (tests/conftest.py)."""
    return redis_client


@pytest.fixture
def start_worker(
    redis_url: str, agents_prefix: str, demo_settings: Settings, tmp_path: Path
) -> Iterator[StartWorker]:
    """Start ``omicsoracle worker`` on the demo corpus; waits until it reads its inbox.

    ``command`` replaces the ``omicsoracle`` executable (a script running the same CLI);
    ``env`` adds variables.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(
        name: str,
        *args: str,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[subprocess.Popen[bytes], Path]:
        environ = {
            **os.environ,
            "OMICSORACLE_DATA_DIR": str(demo_settings.data_dir),
            "OMICSORACLE_BUS": "redis",
            "OMICSORACLE_REDIS_URL": redis_url,
            "OMICSORACLE_AGENT_STREAM_PREFIX": agents_prefix,
            # A killed worker's requests go to the other one after a second.
            "OMICSORACLE_AGENT_VISIBILITY_TIMEOUT_SECONDS": "1",
            **(env or {}),
        }
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*(command or [cli(), "worker"]), *args],
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"worker {name} exited: {log.read_text()}")
            return " started: agents " in log.read_text()

        wait_for(f"worker {name} to start", ready, limit=90)
        return proc, log

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)

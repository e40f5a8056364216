"""Private PostgreSQL and Redis servers for tests that stop and start them.

The shared servers (127.0.0.1:5432 and :6379) serve every other test; a test that
kills a server to see what happens starts its own on a free port in a temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import redis

from servers import free_port


def unavailable(reason: str) -> NoReturn:
    """A server or tool a test needs is missing: a failure in CI (which has them all),
    a skip with the reason printed elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def require_binaries(*names: str) -> None:
    """``unavailable`` when a server binary is missing."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        unavailable(f"not installed: {', '.join(missing)}")


class PrivatePostgres:
    """A throwaway PostgreSQL cluster run as the ``postgres`` user (initdb refuses root).

    ``root`` must be a directory the postgres user can reach (``tempfile.mkdtemp``,
    not pytest's tmp_path, whose parents only root may enter).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:  # the cluster's files belong to the user running it
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


class PrivateRedis:
    """A redis-server of the test's own (no persistence), which the test may stop and start."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server on its port and wait until it answers."""
        assert self._proc is None, "already running"
        self._workdir.mkdir(parents=True, exist_ok=True)
        with (self._workdir / "redis.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self._workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (its data is gone)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def client(self) -> redis.Redis:
        """A plain synchronous client of this server."""
        return redis.Redis(port=self.port, socket_timeout=5)


@contextmanager
def redis_prefix(redis_url: str, label: str) -> Iterator[str]:
    """A key prefix of one test's own on the shared Redis; its keys are deleted after."""
    name = f"{label}-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()

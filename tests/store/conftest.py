"""Store test fixtures: a private PostgreSQL server for tests that stop and start one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from private_servers import PrivatePostgres as PrivateServer
from private_servers import unavailable


@pytest.fixture
def server() -> Iterator[PrivateServer]:
    """A private PostgreSQL server on a free port, removed after the test."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not on PATH: cannot run a private PostgreSQL server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("running as root without runuser: initdb cannot run as postgres")
    root = Path(tempfile.mkdtemp(prefix="omicsoracle-pg-"))
    srv = PrivateServer(root)
    try:
        srv.init()
        srv.start()
        yield srv
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            srv.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)

"""Names the agent worker tests share (conftest fixtures build on them)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

StartWorker = Callable[..., tuple[subprocess.Popen[bytes], Path]]


def wait_for(what: str, check: Callable[[], bool], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)

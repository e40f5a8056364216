"""A real ``omicsoracle serve`` process on a free port, as users start it.

Shared by the browser tests, the real-server API tests and the API benchmark.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

READY_TIMEOUT_S = 60.0


class ServerFailed(RuntimeError):
    """The server exited or did not become ready; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli() -> str:
    beside = Path(sys.executable).with_name("omicsoracle")
    found = str(beside) if beside.exists() else shutil.which("omicsoracle")
    if not found:
        raise ServerFailed("the omicsoracle command is not installed (make install)")
    return found


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = READY_TIMEOUT_S
) -> None:
    """Until ``url``/readyz answers 200; ServerFailed (with the log) if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(
                f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServerFailed(
        f"server not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')}"
    )


@contextmanager
def serve(
    data_dir: Path, log: Path, env: Mapping[str, str] | None = None, *args: str
) -> Iterator[str]:
    """Run the server on ``data_dir`` until the block ends; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "OMICSORACLE_DATA_DIR": str(data_dir), **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [cli(), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(url, proc, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

"""The server under load: a real ``omicsoracle serve`` process, its memory and its metrics.

Started as an operator would start it in production (access log off, one worker per
core when the CLI has ``--workers``), in its own process group so that stopping it
also stops its workers and nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from tests.servers import free_port, wait_ready

from bench.loadtest.dataset import cli

READY_TIMEOUT_S = 180.0  # a 10x corpus opens its index and pools before /readyz says yes


@dataclass
class Server:
    """A running server: its base URL, master pid and the command that started it."""

    url: str
    pid: int
    command: list[str]
    workers: int | None
    log: Path


def supports_workers() -> bool:
    """Whether ``omicsoracle serve`` has ``--workers`` (being added; used only when listed)."""
    out = subprocess.run(
        [cli(), "serve", "--help"], capture_output=True, text=True, check=False, env=_plain_env()
    ).stdout
    return "--workers" in out


@contextmanager
def serve(env: Mapping[str, str], log: Path, workers: int | None) -> Iterator[Server]:
    """Run the server until the block ends (SIGTERM to its process group, then SIGKILL)."""
    port = free_port()
    command = [cli(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    if workers is not None:
        command += ["--workers", str(workers)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = Server(f"http://127.0.0.1:{port}", proc.pid, command, workers, log)
        try:
            wait_ready(server.url, proc, server.log, READY_TIMEOUT_S)
            yield server
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # The group is the one this process created for the server (start_new_session).
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _plain_env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200"}


def get(url: str, timeout: float = 30.0) -> bytes:
    """Body of a GET (raises on a non-2xx status)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body


# --- memory -------------------------------------------------------------------------


@dataclass
class ProcessMemory:
    """Largest VmRSS seen and the kernel's own peak (VmHWM) of one server process, in MiB."""

    pid: int
    role: str
    max_rss_mib: float = 0.0
    hwm_mib: float = 0.0


@dataclass
class RssSampler:
    """Samples every process of the server's tree every ``interval`` s in a thread."""

    root: int
    interval: float = 0.5
    processes: dict[int, ProcessMemory] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        """Read /proc/<pid>/status of the master and all its descendants once."""
        for pid in [self.root, *_descendants(self.root)]:
            status = _status(pid)
            if status is None:
                continue
            mem = self.processes.setdefault(
                pid, ProcessMemory(pid, "master" if pid == self.root else _role(pid))
            )
            mem.max_rss_mib = max(mem.max_rss_mib, status.get("VmRSS", 0) / 1024)
            mem.hwm_mib = max(mem.hwm_mib, status.get("VmHWM", 0) / 1024)


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        children: list[int] = []
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
        found += children
        todo += children
    return found


def _status(pid: int) -> dict[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def _role(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "child"
    text = b" ".join(argv).decode(errors="replace")
    if "multiprocessing" in text and "resource_tracker" in text:
        return "resource tracker"
    return "worker" if "spawn_main" in text or "serve" in text else "child"


# --- cache metrics ------------------------------------------------------------------


CacheCounts = dict[tuple[str, str], float]  # (layer, result) -> count


def cache_counts(url: str) -> CacheCounts | None:
    """``cache_requests_total`` by (layer, result) from /metrics; None when not exported."""
    try:
        text = get(f"{url}/metrics", timeout=10).decode()
    except (urllib.error.URLError, OSError):
        return None
    counts: CacheCounts = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("cache_requests_total"):
                key = (sample.labels.get("layer", ""), sample.labels.get("result", ""))
                counts[key] = counts.get(key, 0.0) + sample.value
    return counts or None


def hit_rates(before: CacheCounts | None, after: CacheCounts | None) -> dict[str, float | None]:
    """Hit rates over the interval: per layer, and overall (L1 or L2 hit per L1 lookup)."""
    if before is None or after is None:
        return {"l1": None, "l2": None, "overall": None}

    def delta(layer: str, result: str) -> float:
        return after.get((layer, result), 0.0) - before.get((layer, result), 0.0)

    def rate(hits: float, lookups: float) -> float | None:
        return hits / lookups if lookups > 0 else None

    l1_hit, l1_miss = delta("l1", "hit"), delta("l1", "miss")
    l2_hit, l2_miss = delta("l2", "hit"), delta("l2", "miss")
    if min(l1_hit, l1_miss, l2_hit, l2_miss) < 0:
        # Counters only grow: the two scrapes came from different worker processes
        # whose registries are not aggregated, so no interval can be computed.
        return {"l1": None, "l2": None, "overall": None}
    # Every request looks in L1 first; an L1 miss goes to L2 (when configured).
    return {
        "l1": rate(l1_hit, l1_hit + l1_miss),
        "l2": rate(l2_hit, l2_hit + l2_miss),
        "overall": rate(l1_hit + l2_hit, l1_hit + l1_miss),
    }

"""Exclusive leases between the processes of one machine, on lock files.

Several server processes (``omicsoracle serve --workers N``) share one data directory:
exactly one of them may write the search index, and one ingest at a time may hold the
store's writer. ``flock`` fits both: the kernel drops a lease when its holder dies, so
a crashed worker never leaves a stale lock behind, and a non-blocking attempt costs one
system call, cheap enough to retry on every catch-up tick.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

# How often a blocking acquire retries (flock cannot wait with a timeout).
POLL_SECONDS = 0.05


class LeaseTimeout(TimeoutError):
    """Another process held the lease for longer than the caller would wait."""


class FileLease:
    """An exclusive lease on ``path``, held by at most one open lease machine-wide.

    Two ``FileLease`` objects on the same path exclude each other even inside one
    process (each has its own open file description), so the lease also serialises
    threads. A lease is not re-entrant.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if it is free (or already ours); never waits."""
        with self._mutex:
            if self._fd is not None:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            # For an operator wondering who holds it; the lock itself is the flock.
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return True

    def acquire(self, timeout: float | None = None) -> None:
        """Wait for the lease; ``LeaseTimeout`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.try_acquire():
            if deadline is not None and time.monotonic() >= deadline:
                raise LeaseTimeout(f"{self.path} is held by another process")
            time.sleep(POLL_SECONDS)

    def release(self) -> None:
        with self._mutex:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            # Closing drops the flock; the file stays (unlinking it would let two
            # processes lock two different files of the same name).
            os.close(fd)

    def __enter__(self) -> FileLease:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

"""File leases: exclusive across processes and threads, dropped when the holder dies."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from omicsoracle.leases import FileLease, LeaseTimeout

HOLD = """
import sys, time
from pathlib import Path
from omicsoracle.leases import FileLease
lease = FileLease(Path(sys.argv[1]))
assert lease.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_two_leases_on_one_file_exclude_each_other(tmp_path: Path) -> None:
    a, b = FileLease(tmp_path / "x.lease"), FileLease(tmp_path / "x.lease")
    assert a.try_acquire()
    assert a.try_acquire()  # already ours
    assert not b.try_acquire()
    with pytest.raises(LeaseTimeout):
        b.acquire(timeout=0.2)
    a.release()
    assert b.try_acquire()
    assert b.held
    assert not a.held
    b.release()


def test_a_killed_holder_releases_the_lease(tmp_path: Path) -> None:
    path = tmp_path / "writer.lease"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        lease = FileLease(path)
        assert not lease.try_acquire()
        assert int(path.read_text()) == holder.pid  # who holds it, for an operator
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 10
        while not lease.try_acquire():
            assert time.monotonic() < deadline, "the lease outlived its holder"
            time.sleep(0.05)
        lease.release()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

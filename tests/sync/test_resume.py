"""SIGKILL ``omicsoracle sync geo`` at chosen requests, then run it to the end: the store
equals an uninterrupted sync's (nothing lost, nothing doubled), on SQLite and PostgreSQL.

The stand-in runs in this process; its ``on_request`` hook kills the sync process as
request n arrives (before it is answered) or a moment after (while the client parses
the page and writes it: some kills land inside the batch's transaction).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from standin import EutilsStandin
from sync_helpers import SINCE, UNTIL, snapshot, sync, sync_settings

from omicsoracle.store import Store
from servers import cli

RECORDS = 20
BATCH = 4
WINDOW_DAYS = 120
# (request of the run at which to kill, seconds after its arrival): 0 kills before the
# answer; a delay kills while the page is being parsed and written. Each run resumes,
# so runs get shorter: the kill points stay small.
KILLS = [(2, 0.0), (3, 0.15), (4, 0.0), (3, 0.05), (5, 0.3), (2, 0.02), (4, 0.1)]


@pytest.fixture
def standin() -> Iterator[EutilsStandin]:
    with EutilsStandin(records=RECORDS, start=SINCE, end=UNTIL) as s:
        yield s


def _command() -> list[str]:
    return [
        cli(), "sync", "geo",
        "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(),
        "--batch-size", str(BATCH), "--json",
    ]  # fmt: skip


def _env(standin: EutilsStandin, data_dir: Path, store_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMICSORACLE_")}
    env.update(
        OMICSORACLE_DATA_DIR=str(data_dir),
        OMICSORACLE_DATABASE_URL=store_url,
        OMICSORACLE_EUTILS_URL=standin.url,
        OMICSORACLE_GEO_FTP_URL=standin.ftp_url,
        OMICSORACLE_SYNC_REQUESTS_PER_SECOND="0",
        OMICSORACLE_SYNC_WINDOW_DAYS=str(WINDOW_DAYS),
    )
    return env


def test_sigkill_at_any_point_then_resume(
    standin: EutilsStandin, store: Store, store_url: str, other_store: Store, tmp_path: Path
) -> None:
    reference_settings = sync_settings(
        standin, tmp_path / "reference", sync_window_days=WINDOW_DAYS
    )
    sync(reference_settings, other_store, batch_size=BATCH)
    total = standin.count()
    assert total > max(k for k, _ in KILLS), "the reference sync needs more requests"

    state: dict[str, object] = {}
    lock = threading.Lock()

    def on_request(n: int, _endpoint: str) -> None:
        with lock:
            if n != state.get("kill_at"):
                return
            proc = state["proc"]
            delay = float(state["delay"])  # type: ignore[arg-type]
        assert isinstance(proc, subprocess.Popen)
        if delay:
            threading.Timer(delay, proc.send_signal, (signal.SIGKILL,)).start()
        else:
            proc.send_signal(signal.SIGKILL)

    standin.on_request(on_request)
    env = _env(standin, tmp_path / "var", store_url)
    killed = 0
    for k, delay in KILLS:
        with lock:
            state["kill_at"] = standin.count() + k
            state["delay"] = delay
            proc = subprocess.Popen(
                _command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            state["proc"] = proc
        _out, err = proc.communicate(timeout=120)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:  # it finished before request k: fine, but then it must have succeeded
            assert proc.returncode == 0, err.decode()
    assert killed >= 4, f"only {killed} of {len(KILLS)} runs were killed"
    with lock:
        state.clear()
    final = subprocess.run(_command(), env=env, capture_output=True, timeout=120)
    assert final.returncode == 0, final.stderr.decode()
    assert snapshot(store) == snapshot(other_store)
    mine, theirs = store.sync_position("geo"), other_store.sync_position("geo")
    assert mine is not None
    assert mine == theirs
    assert mine["window"] is None
    assert mine["complete"] == UNTIL.isoformat()


def test_plan_resumes_an_unfinished_window_exactly() -> None:
    import datetime as dt

    from omicsoracle.sync.position import FIRST_DATE, Position, Window, plan

    window = Window(dt.date(2024, 5, 1), dt.date(2024, 5, 30))
    killed = Position(SINCE, UNTIL, window, 500, 1234, dt.date(2024, 4, 30))
    # Same run (no --since, or the same one): that window first, at its offset.
    for since in (None, SINCE):
        p = plan(killed, since, dt.date(2025, 1, 10), 30)
        assert p.windows[0] == window
        assert (p.resume_retstart, p.resume_count) == (500, 1234)
        assert p.windows[1].start == dt.date(2024, 5, 31)
        assert p.windows[-1].end == dt.date(2025, 1, 10)
    # Another --since starts there, from 0.
    other = plan(killed, dt.date(2023, 1, 1), UNTIL, 30)
    assert other.windows[0].start == dt.date(2023, 1, 1)
    assert other.resume_retstart == 0
    # A finished run: one day of overlap before its last complete window's end.
    done = Position(SINCE, UNTIL, None, 0, None, UNTIL)
    assert plan(done, None, dt.date(2025, 1, 31), 30).since == UNTIL - dt.timedelta(days=1)
    assert plan(None, None, dt.date(2001, 2, 1), 30).since == FIRST_DATE
    # Position round trip; garbage is refused.
    assert Position.from_dict(killed.as_dict()) == killed
    with pytest.raises(ValueError, match="unreadable sync position"):
        Position.from_dict({"since": "yesterday"})


def test_unreadable_position_and_bad_dates_fail_clearly(
    standin: EutilsStandin, store: Store, tmp_path: Path
) -> None:
    from omicsoracle.sync.geo import SyncError

    settings = sync_settings(standin, tmp_path / "var")
    with pytest.raises(SyncError, match="is after --until"):
        sync(settings, store, since=UNTIL, until=SINCE)
    with store.transaction(None) as tx:
        tx.put_sync_position("geo", {"window": "garbage"})
    with pytest.raises(SyncError, match="unreadable sync position"):
        sync(settings, store)
    assert standin.count() == 0


def test_stop_between_batches_keeps_the_position(
    standin: EutilsStandin, store: Store, tmp_path: Path
) -> None:
    from omicsoracle.sync.geo import SyncInterrupted, SyncOptions, run_sync

    settings = sync_settings(standin, tmp_path / "var")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2  # after the first page of the first window

    options = SyncOptions(since=SINCE, until=UNTIL, batch_size=BATCH)
    with pytest.raises(SyncInterrupted, match="resumes from the last batch"):
        run_sync(settings, store, options, stop=stop)
    position = store.sync_position("geo")
    assert position is not None
    assert position["retstart"] in (BATCH, 2 * BATCH)
    run_sync(settings, store, options)
    final = store.sync_position("geo")
    assert final is not None
    assert final["window"] is None

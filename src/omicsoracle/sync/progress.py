"""The terminal progress bar of ``omicsoracle sync geo``.

The bar's total is the current window's esearch count, so its ETA is the window's.
A count pass over every window first would give an ETA for the whole run, but costs
one request per window (300 windows of 30 days since 2001: 100 s at 3 requests/s)
before anything is synced, and the counts move while the sync runs; the overall
rate (records/s) and the window number show how far the run is instead.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} records/s" if speed else "", style="cyan")


class SyncBar:
    """Progress events of a sync run drawn as a bar (a no-op when disabled)."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._console = console

    def __enter__(self) -> SyncBar:
        if self.enabled:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self._console,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("sync", total=None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)

    def update(self, event: dict[str, Any]) -> None:
        bar, task = self._bar, self._task
        if bar is None or task is None:
            return
        stage = event.get("stage")
        if stage == "window":
            label = f"{event['window'][0]}..{event['window'][1]} ({event['index'] + 1}/{event['windows']})"
            bar.reset(task, total=event["count"], completed=event["offset"], description=label)
        elif stage == "batch":
            bar.update(task, completed=event["offset"])
        elif stage == "counting":
            bar.update(task, description=f"counting {event['window'][0]}..{event['window'][1]}")
        elif stage == "full":
            bar.update(task, description=f"full text {event['accession']}", total=None)

"""Date windows of a GEO sync and the position stored after every committed batch.

A position is what ``sync_state`` holds for ``"geo"`` (JSON)::

    {"since": "2001-01-01", "until": "2026-12-07",
     "window": ["2026-11-08", "2026-12-07"] | null,   # the window being synced
     "retstart": 500,     # esummary offset of the next batch in that window
     "count": 1234,       # the window's esearch count when retstart was reached
     "complete": "2026-11-07" | null}                 # end of the last complete window

Written in the transaction of the batch it follows, so it never runs ahead of (or
behind) what the store holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# GEO's first series date from 2001; a first sync with no --since starts there.
FIRST_DATE = date(2001, 1, 1)
# A finished sync starts its next run this many days before the last complete window's
# end: records modified late that day (NCBI dates have no time) are seen again.
OVERLAP_DAYS = 1


@dataclass(frozen=True, slots=True)
class Window:
    """Modification dates ``start`` to ``end``, both inclusive."""

    start: date
    end: date

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def as_list(self) -> list[str]:
        return [self.start.isoformat(), self.end.isoformat()]


def windows(since: date, until: date, days: int) -> Iterator[Window]:
    """Consecutive windows of ``days`` days from ``since`` to ``until`` (the last shorter)."""
    start = since
    while start <= until:
        end = min(start + timedelta(days=days - 1), until)
        yield Window(start, end)
        start = end + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Position:
    since: date
    until: date
    window: Window | None
    retstart: int
    count: int | None
    complete: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "window": None if self.window is None else self.window.as_list(),
            "retstart": self.retstart,
            "count": self.count,
            "complete": None if self.complete is None else self.complete.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        """Parse a stored position; ``ValueError`` if it is not one this code wrote."""
        try:
            window = data.get("window")
            complete = data.get("complete")
            count = data.get("count")
            return cls(
                since=date.fromisoformat(data["since"]),
                until=date.fromisoformat(data["until"]),
                window=None
                if window is None
                else Window(date.fromisoformat(window[0]), date.fromisoformat(window[1])),
                retstart=int(data.get("retstart") or 0),
                count=None if count is None else int(count),
                complete=None if complete is None else date.fromisoformat(complete),
            )
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"unreadable sync position {data!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a run starts: its date range, its windows, the offset into the first."""

    since: date
    until: date
    windows: list[Window]
    resume_retstart: int  # offset into the first window (0: from its start)
    resume_count: int | None  # that window's esearch count when the offset was stored


def plan(stored: Position | None, since: date | None, until: date, days: int) -> Plan:
    """Decide where a run starts.

    - An unfinished window in the stored position (the last run was killed or
      failed) comes first, exactly as stored, resumed at its stored offset, if this
      run covers it (no ``--since``, or the same ``--since`` as that run): nothing
      committed is fetched again. The windows after it run up to ``until``.
    - Otherwise no ``--since`` starts one day before the end of the last complete
      window (or at 2001-01-01 when nothing was ever synced), an explicit one there.
    """
    if stored is not None and stored.window is not None:
        same_run = since is None or since == stored.since
        if same_run and stored.window.start <= until:
            first = stored.window
            rest = list(windows(first.end + timedelta(days=1), until, days))
            return Plan(stored.since, until, [first, *rest], stored.retstart, stored.count)
    if since is None:
        since = FIRST_DATE
        if stored is not None and stored.complete is not None:
            since = max(FIRST_DATE, stored.complete - timedelta(days=OVERLAP_DAYS))
        since = min(since, until)
    return Plan(since, until, list(windows(since, until, days)), 0, None)

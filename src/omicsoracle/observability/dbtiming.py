"""Time every database statement, and log the slow ones without their parameters.

SQLAlchemy's cursor events bracket the driver call itself, so the time is the
database's (plus the driver's), not the pool's or the ORM's. A slow statement is
logged by ``omicsoracle.slowquery`` at WARNING with its duration and the first
``STATEMENT_CHARS`` characters of its SQL text: never its bound parameters, which
carry user input.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event

from omicsoracle.observability.metrics import instruments

log = logging.getLogger("omicsoracle.slowquery")

STATEMENT_CHARS = 200
KINDS = ("select", "insert", "update", "delete", "other")

_START = "omicsoracle.query_started"
_FIRST_WORD = re.compile(r"\s*(\w+)")
_WRITE_VERB = re.compile(r"\b(insert|update|delete)\b", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    """select, insert, update, delete or other, from the statement's verb."""
    match = _FIRST_WORD.match(statement)
    word = match.group(1).lower() if match else ""
    if word == "with":
        # A CTE ends in its main statement; any write verb in it makes it a write.
        verb = _WRITE_VERB.search(statement)
        return verb.group(1).lower() if verb else "select"
    return word if word in KINDS else "other"


class _Timing:
    """The listeners of one engine, with its slow-statement threshold."""

    def __init__(self, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        hist = instruments().db_query_duration
        self._children = {kind: hist.labels(kind) for kind in KINDS}

    def before(self, conn: Any, *_args: Any) -> None:
        # One slot per connection, not a stack: a statement that fails never reaches
        # ``after``, and the next one simply overwrites its start.
        conn.info[_START] = time.perf_counter()

    def after(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started = conn.info.pop(_START, None)
        if started is None:
            return
        seconds = time.perf_counter() - started
        kind = statement_kind(statement)
        self._children[kind].observe(seconds)
        if 0 < self.slow_seconds <= seconds:
            text = " ".join(statement.split())[:STATEMENT_CHARS]
            ms = seconds * 1000
            log.warning(
                "slow %s statement: %.1f ms: %s",
                kind,
                ms,
                text,
                extra={"duration_ms": round(ms, 1), "statement": text, "kind": kind},
            )


_timings: WeakKeyDictionary[Engine, _Timing] = WeakKeyDictionary()


def instrument_engine(engine: Engine, slow_query_ms: float) -> None:
    """Time ``engine``'s statements into ``db_query_duration_seconds`` and log those
    slower than ``slow_query_ms`` (0: none). Calling it again only updates the
    threshold: the listeners are attached once."""
    timing = _timings.get(engine)
    if timing is None:
        timing = _timings[engine] = _Timing(slow_query_ms / 1000)
        event.listen(engine, "before_cursor_execute", timing.before)
        event.listen(engine, "after_cursor_execute", timing.after)
    timing.slow_seconds = slow_query_ms / 1000


def instrument_engines(owner: object, slow_query_ms: float) -> int:
    """Instrument every SQLAlchemy engine held as an attribute of ``owner`` (a store's
    writer and reader engines, the job store's engine); returns how many."""
    attributes = getattr(owner, "__dict__", {})
    engines = [v for v in attributes.values() if isinstance(v, Engine)]
    for engine in engines:
        instrument_engine(engine, slow_query_ms)
    return len(engines)

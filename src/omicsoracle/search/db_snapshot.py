"""What the database-backed engines' snapshots share: one connection held in one read
transaction, closed at most once, and answering the planner's vocabulary questions."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Self

from omicsoracle.search.base import CursorExpired


class DbSnapshot:
    """Base of SqlSnapshot (SQLite FTS5) and PgSnapshot (PostgreSQL full text)."""

    conn: Any  # a DB-API connection (sqlite3 or psycopg) inside its read transaction

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False

    def close(self) -> None:
        """End the read transaction (waits for a search in progress)."""
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()

    def _one(self, query: str, args: Sequence[object]) -> int:
        with self.lock:
            if self.closed:
                raise CursorExpired()
            row = self.conn.execute(query, args).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def vocabulary(self) -> Self:
        """This snapshot answers the planner's vocabulary questions itself."""
        return self

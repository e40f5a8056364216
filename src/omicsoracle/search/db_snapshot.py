"""What the database-backed engines' snapshots share: one connection held in one read
transaction, closed at most once, answering the planner's vocabulary questions, and
paging and faceting the match set an engine has materialized into its ``hits`` table."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Self

from omicsoracle.search.base import CursorExpired
from omicsoracle.search.cursor import CursorState
from omicsoracle.search.engine import Page, Row
from omicsoracle.search.fields import SAMPLE_BUCKETS, UNKNOWN
from omicsoracle.search.plan import Plan
from omicsoracle.search.spelling import SpellingVocabulary

SORT_COLUMNS = {"date": "date_key", "samples": "samples_key"}


def range_conditions(plan: Plan, mark: str) -> tuple[list[str], list[int]]:
    """The plan's sample-count and year ranges as SQL on the docs table ``d``.

    A range excludes series without the value (as tantivy's range queries do).
    """
    conds: list[str] = []
    args: list[int] = []
    for column, ranges in (("n_samples", plan.sample_ranges), ("year", plan.year_ranges)):
        for lo, hi in ranges:
            conds.append(f"d.{column} IS NOT NULL")
            if lo is not None:
                conds.append(f"d.{column} >= {mark}")
                args.append(lo)
            if hi is not None:
                conds.append(f"d.{column} <= {mark}")
                args.append(hi)
    return conds, args


class DbSnapshot(ABC):
    """Base of SqlSnapshot (SQLite FTS5) and PgSnapshot (PostgreSQL full text).

    An engine's ``_execute`` fills ``hits_table`` (key, score, exact, date_key,
    samples_key, bucket, year) with the whole match set; paging, the total and the
    year and sample-count facets are read from it here.
    """

    conn: Any  # a DB-API connection (sqlite3 or psycopg) inside its read transaction
    generation: int
    applied: int
    mark = "?"  # the driver's parameter marker
    docs_table = "docs"
    hits_table = "temp.hits"
    hit_key = "id"  # the hits column naming a docs row
    spelling_sql = ""  # (word, document frequency) for every surface word

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self._spelling: SpellingVocabulary | None = None

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

    @abstractmethod
    def word_doc_freq(self, word: str) -> int:
        """Series containing the surface word."""

    @abstractmethod
    def stem_doc_freq(self, stem: str) -> int:
        """Sum over the text fields of the series containing the stem (as tantivy)."""

    def spelling(self) -> SpellingVocabulary:
        """All surface words with document frequencies (loaded on first need)."""
        with self.lock:
            if self.closed:
                raise CursorExpired()
            if self._spelling is None:
                self._spelling = SpellingVocabulary(self.conn.execute(self.spelling_sql).fetchall())
            return self._spelling

    def doc_count(self) -> int:
        """Series in this snapshot."""
        return self._one(f"SELECT count(*) FROM {self.docs_table}", ())

    # --- execution ---------------------------------------------------------------------
    def matches_fewer(self, plan: Plan, n: int) -> bool:
        """Unknown here: the strict plan is executed and relaxed after (see Snapshot)."""
        return False

    def execute(self, plan: Plan, sort: str, after: CursorState | None, limit: int) -> Page:
        """Materialize the match set once, then page, count and facet from it."""
        with self.lock:
            if self.closed:
                raise CursorExpired()
            self._materialize(plan)
            total = int(self.conn.execute(f"SELECT count(*) FROM {self.hits_table}").fetchone()[0])
            rows = self._page(sort, after, limit)
            facets = self._facets()
            facets.update(self._numeric_facets())
            return Page(rows=rows, total=total, facets=facets)

    @abstractmethod
    def _materialize(self, plan: Plan) -> None:
        """Replace the hits table's rows with the plan's match set."""

    @abstractmethod
    def _shows(self, keys: list[Any]) -> dict[Any, bytes]:
        """Display payloads of these docs rows, by hit key."""

    @abstractmethod
    def _facets(self) -> dict[str, dict[str, int]]:
        """Organism, type and platform counts over the hits (``unknown`` for none)."""

    def _page(self, sort: str, after: CursorState | None, limit: int) -> list[Row]:
        m, key = self.mark, self.hit_key
        args: list[object]
        if sort == "relevance":
            # OFFSET over this query's own materialized hits, never over a stored table.
            query = (
                f"SELECT {key}, score, score FROM {self.hits_table} "
                f"ORDER BY exact DESC, score DESC, {key} LIMIT {m} OFFSET {m}"
            )
            args = [limit, after.offset if after else 0]
        else:
            column = SORT_COLUMNS[sort]
            cond = f"WHERE {column} < {m}" if after is not None else ""
            query = (
                f"SELECT {key}, 0.0, {column} FROM {self.hits_table} {cond} "
                f"ORDER BY {column} DESC LIMIT {m}"
            )
            args = [after.key, limit] if after is not None else [limit]
        found = self.conn.execute(query, args).fetchall()
        shows = self._shows([r[0] for r in found]) if found else {}
        return [Row(show=bytes(shows[k]), score=float(s), key=v) for k, s, v in found]

    def _numeric_facets(self) -> dict[str, dict[str, int]]:
        hits = self.hits_table
        return {
            "year": {
                (str(y) if y is not None else UNKNOWN): int(n)
                for y, n in self.conn.execute(f"SELECT year, count(*) FROM {hits} GROUP BY year")
            },
            "samples": {
                (SAMPLE_BUCKETS[b][1] if b < len(SAMPLE_BUCKETS) else UNKNOWN): int(n)
                for b, n in self.conn.execute(
                    f"SELECT bucket, count(*) FROM {hits} GROUP BY bucket"
                )
            },
        }

"""The SQLite FTS5 engine: same analyzed text, same plan, bm25() with column weights.

One file ``fts.sqlite`` in ``directory`` (WAL mode): an FTS5 table over the analyzed
text plus tag/ID columns (``ascii`` tokenizer, which splits the analyzer's output
exactly where tantivy's whitespace tokenizer does), a plain ``docs`` table for sort
keys/filters/display, ``facet_values`` for organism/type/platform counts, a ``words``
FTS5 table for the spelling vocabulary, and ``meta`` (applied change id, generation),
all written in one transaction per apply().

The MATCH expression is generated only from analyzed tokens, each inside double quotes
(tokens are [alnum]+ so they cannot break out), and bound as a parameter.

Snapshots: a snapshot is a connection holding an open read transaction (WAL readers
see the database as of their first read), kept in the same bounded LRU as tantivy's
searchers, so cursors page a pinned snapshot here too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from omicsoracle.search.base import CursorExpired
from omicsoracle.search.cursor import CursorState, SnapshotCache
from omicsoracle.search.db_snapshot import DbSnapshot
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.engine import Page, Row, SnapshotIndex
from omicsoracle.search.fields import ALL_TAG, SAMPLE_BUCKETS, TEXT_FIELDS, UNKNOWN, index_doc
from omicsoracle.search.plan import COORDINATION_BOOST, Clause, Plan
from omicsoracle.search.spelling import SpellingVocabulary

# Same order of preference as tantivy's FIELD_WEIGHTS (title > summary > design > extra);
# tag and ID columns only filter (weight 0).
COLUMN_WEIGHTS = (2.0, 1.0, 0.5, 0.3, 0.0, 0.0)
FILE_NAME = "fts.sqlite"
BUSY_TIMEOUT_MS = 120_000
_TEXT_COLS = "{" + " ".join(TEXT_FIELDS) + "}"
_SORT_COLUMNS = {"date": "date_key", "samples": "samples_key"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('applied', 0), ('generation', 0);
CREATE TABLE IF NOT EXISTS docs(
    id INTEGER PRIMARY KEY, accession TEXT NOT NULL UNIQUE, year INTEGER, n_samples INTEGER,
    date_key INTEGER NOT NULL, samples_key INTEGER NOT NULL, bucket INTEGER NOT NULL,
    show BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS facet_values(doc INTEGER NOT NULL, facet TEXT NOT NULL,
    value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS facet_values_doc ON facet_values(doc);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5({", ".join(TEXT_FIELDS)}, tags, ids,
    tokenize='ascii');
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5(w, tokenize='ascii', detail='none');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_col USING fts5vocab(fts, 'col');
CREATE VIRTUAL TABLE IF NOT EXISTS words_row USING fts5vocab(words, 'row');
"""
_HITS = """CREATE TEMP TABLE IF NOT EXISTS hits(id INTEGER PRIMARY KEY, score REAL,
    exact INTEGER, date_key INTEGER, samples_key INTEGER, bucket INTEGER, year INTEGER)"""


def _quote(stems: Sequence[str]) -> str:
    return '"' + " ".join(stems) + '"'


def _clause(clause: Clause) -> str:
    parts = []
    if clause.alts:
        parts.append(f"{_TEXT_COLS} : (" + " OR ".join(_quote(a.stems) for a in clause.alts) + ")")
    if clause.tags:
        parts.append("{tags} : (" + " OR ".join(_quote([t]) for t, _ in clause.tags) + ")")
    if clause.ids:
        parts.append("{ids} : (" + " OR ".join(_quote([i]) for i in clause.ids) + ")")
    return "(" + " OR ".join(parts) + ")"


def match_expression(plan: Plan) -> str:
    """The FTS5 MATCH string for the plan (built from analyzed tokens only)."""
    if plan.relaxed and plan.required:
        parts = ["(" + " OR ".join(_clause(c) for c in plan.required) + ")"]
    else:
        parts = [_clause(c) for c in plan.required]
    parts += [
        "({tags} : (" + " OR ".join(_quote([t]) for t in tags) + "))" for tags in plan.tag_filters
    ]
    expr = " AND ".join(parts) if parts else '{tags} : "' + ALL_TAG + '"'
    if plan.excluded:
        expr = "(" + expr + ") NOT (" + " OR ".join(_clause(c) for c in plan.excluded) + ")"
    return expr


def _coordination(plan: Plan) -> tuple[str, list[object]]:
    """Relaxed plans: SQL adding COORDINATION_BOOST per required clause a row matches.

    FTS5 cannot tell which part of an OR matched, so each clause is its own MATCH
    subquery (evaluated once, uncorrelated); only relaxed plans pay for it.
    """
    if not plan.relaxed:
        return "", []
    sql = " + ".join("(d.id IN (SELECT rowid FROM fts WHERE fts MATCH ?))" for _ in plan.required)
    return f" + {COORDINATION_BOOST!r} * ({sql})", [_clause(c) for c in plan.required]


def _ranges(plan: Plan) -> tuple[str, list[int]]:
    sql, args = [], []
    for column, ranges in (("n_samples", plan.sample_ranges), ("year", plan.year_ranges)):
        for lo, hi in ranges:
            sql.append(f"d.{column} IS NOT NULL")
            if lo is not None:
                sql.append(f"d.{column} >= ?")
                args.append(lo)
            if hi is not None:
                sql.append(f"d.{column} <= ?")
                args.append(hi)
    return "".join(" AND " + s for s in sql), args


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


class SqlSnapshot(DbSnapshot):
    """A connection inside one read transaction: a frozen view of one generation."""

    def __init__(self, path: Path):
        super().__init__()
        self.conn = _connect(path)
        self.conn.execute(_HITS)
        self.conn.execute("BEGIN")
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        self.generation = int(row[0])
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'applied'").fetchone()
        self.applied = int(row[0])
        self._spelling: SpellingVocabulary | None = None

    # --- VocabularySource ---------------------------------------------------------
    def word_doc_freq(self, word: str) -> int:
        """Series containing the surface word."""
        return self._one("SELECT doc FROM words_row WHERE term = ?", (word,))

    def stem_doc_freq(self, stem: str) -> int:
        """Sum over the text columns of the series containing the stem (as tantivy)."""
        marks = ",".join("?" * len(TEXT_FIELDS))
        sql = f"SELECT sum(doc) FROM fts_col WHERE term = ? AND col IN ({marks})"
        return self._one(sql, (stem, *TEXT_FIELDS))

    def spelling(self) -> SpellingVocabulary:
        """All surface words with document frequencies (loaded on first need)."""
        with self.lock:
            if self.closed:
                raise CursorExpired()
            if self._spelling is None:
                rows = self.conn.execute("SELECT term, doc FROM words_row").fetchall()
                self._spelling = SpellingVocabulary(rows)
            return self._spelling

    # --- execution ------------------------------------------------------------------
    def execute(self, plan: Plan, sort: str, after: CursorState | None, limit: int) -> Page:
        """Materialize the match set once, then page, count and facet from it."""
        with self.lock:
            if self.closed:
                raise CursorExpired()
            return self._execute(plan, sort, after, limit)

    def _execute(self, plan: Plan, sort: str, after: CursorState | None, limit: int) -> Page:
        c = self.conn
        where, args = _ranges(plan)
        exact = ",".join("?" * len(plan.exact_ids))
        exact_sql = f"d.accession IN ({exact})" if exact else "0"
        exact_args = [i.upper() for i in plan.exact_ids]
        weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
        coord_sql, coord_args = _coordination(plan)
        c.execute("DELETE FROM temp.hits")
        c.execute(
            f"""INSERT INTO temp.hits SELECT d.id, -bm25(fts, {weights}){coord_sql}, {exact_sql},
                   d.date_key, d.samples_key, d.bucket, d.year
                FROM fts JOIN docs d ON d.id = fts.rowid
                WHERE fts MATCH ?{where}""",
            [*coord_args, *exact_args, match_expression(plan), *args],
        )
        total = int(c.execute("SELECT count(*) FROM temp.hits").fetchone()[0])
        if sort == "relevance":
            page_sql = "SELECT id, score, score FROM temp.hits ORDER BY exact DESC, score DESC, id"
            page_sql += " LIMIT ? OFFSET ?"
            page_args: list[object] = [limit, after.offset if after else 0]
        else:
            column = _SORT_COLUMNS[sort]
            cond = f"WHERE {column} < ?" if after is not None else ""
            page_sql = (
                f"SELECT id, 0.0, {column} FROM temp.hits {cond} ORDER BY {column} DESC LIMIT ?"
            )
            page_args = [after.key, limit] if after is not None else [limit]
        found = c.execute(page_sql, page_args).fetchall()
        shows = dict(
            c.execute(
                f"SELECT id, show FROM docs WHERE id IN ({','.join('?' * len(found))})",
                [r[0] for r in found],
            ).fetchall()
        ) if found else {}  # fmt: skip
        rows = [Row(show=bytes(shows[i]), score=float(s), key=k) for i, s, k in found]
        facets: dict[str, dict[str, int]] = {"organism": {}, "type": {}, "platform": {}}
        for facet, value, count in c.execute(
            """SELECT f.facet, f.value, count(*) FROM temp.hits h
               JOIN facet_values f ON f.doc = h.id GROUP BY f.facet, f.value"""
        ):
            facets[facet][value] = count
        facets["year"] = {
            (str(y) if y is not None else UNKNOWN): n
            for y, n in c.execute("SELECT year, count(*) FROM temp.hits GROUP BY year")
        }
        facets["samples"] = {
            (SAMPLE_BUCKETS[b][1] if b < len(SAMPLE_BUCKETS) else UNKNOWN): n
            for b, n in c.execute("SELECT bucket, count(*) FROM temp.hits GROUP BY bucket")
        }
        return Page(rows=rows, total=total, facets=facets)


class SqlIndex(SnapshotIndex):
    """SearchIndex on SQLite FTS5; see the module docstring."""

    name = "sql"

    def __init__(self, directory: Path):
        super().__init__(directory)
        self.path = directory / FILE_NAME
        setup = _connect(self.path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.executescript(_SCHEMA)
        setup.close()
        self._probe = _connect(self.path)
        self._probe_lock = threading.Lock()
        self._data_version: int | None = None
        self._snapshots: SnapshotCache[SqlSnapshot] = SnapshotCache(on_evict=SqlSnapshot.close)
        self._current: SqlSnapshot | None = None
        self._lock = threading.RLock()

    # --- snapshots -----------------------------------------------------------------
    def current_snapshot(self) -> SqlSnapshot:
        """Newest committed snapshot; a new read transaction after any commit."""
        with self._lock:
            with self._probe_lock:
                version = int(self._probe.execute("PRAGMA data_version").fetchone()[0])
            if self._current is None or self._current.closed or version != self._data_version:
                snap = SqlSnapshot(self.path)
                if (
                    self._current is not None
                    and not self._current.closed
                    and (snap.generation == self._current.generation)
                ):
                    snap.close()  # nothing new committed: keep the pinned one
                else:
                    self._current = snap
                    self._snapshots.put(snap.generation, snap)
                self._data_version = version
            assert self._current is not None
            return self._current

    def pinned_snapshot(self, generation: int) -> SqlSnapshot:
        """The snapshot a cursor started on, or CursorExpired."""
        snap = self._snapshots.get(generation)
        if snap is not None and not snap.closed:
            return snap
        current = self.current_snapshot()
        if current.generation == generation:
            return current
        raise CursorExpired()

    @contextmanager
    def private_snapshot(self) -> Iterator[SqlSnapshot]:
        # Its own read transaction: cache eviction closes cached snapshots' connections.
        snap = SqlSnapshot(self.path)
        try:
            yield snap
        finally:
            snap.close()

    def refresh(self) -> None:
        """Pick up commits made by another process."""
        with self._lock:
            self._data_version = None
        self.current_snapshot()

    # --- writing -------------------------------------------------------------------
    def _write(self, docs: Sequence[SearchDoc], deleted: Sequence[str], applied: int,
               wipe: bool) -> None:  # fmt: skip
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            if wipe:
                for table in ("docs", "facet_values", "fts", "words"):
                    conn.execute(f"DELETE FROM {table}")
            # Same order as tantivy: upserts, then deletes (a doc in both ends deleted).
            for doc in docs:
                self._delete(conn, doc.accession)
                self._insert(conn, doc)
            for accession in deleted:
                self._delete(conn, accession)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'applied'", (applied,))
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        self.refresh()

    @staticmethod
    def _delete(conn: sqlite3.Connection, accession: str) -> None:
        row = conn.execute("SELECT id FROM docs WHERE accession = ?", (accession,)).fetchone()
        if row is None:
            return
        for sql in (
            "DELETE FROM fts WHERE rowid = ?",
            "DELETE FROM words WHERE rowid = ?",
            "DELETE FROM facet_values WHERE doc = ?",
            "DELETE FROM docs WHERE id = ?",
        ):
            conn.execute(sql, row)  # fmt: skip

    @staticmethod
    def _insert(conn: sqlite3.Connection, doc: SearchDoc) -> None:
        ix = index_doc(doc)
        cur = conn.execute(
            """INSERT INTO docs(accession, year, n_samples, date_key, samples_key, bucket, show)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (ix.accession, ix.year, ix.n_samples, ix.date_key, ix.samples_key,
             ix.samples_bucket, ix.show),
        )  # fmt: skip
        doc_id = cur.lastrowid
        texts = [ix.texts[f] for f in TEXT_FIELDS]
        conn.execute(
            "INSERT INTO fts(rowid, title, summary, design, extra, tags, ids) VALUES (?,?,?,?,?,?,?)",
            (doc_id, *texts, " ".join(ix.tags), " ".join(ix.ids)),
        )
        conn.execute("INSERT INTO words(rowid, w) VALUES (?, ?)", (doc_id, ix.words))
        values = [
            (doc_id, facet, value)
            for facet, items in (("organism", ix.organisms), ("type", ix.types),
                                 ("platform", ix.platforms))
            for value in (items or [UNKNOWN])
        ]  # fmt: skip
        conn.executemany("INSERT INTO facet_values VALUES (?, ?, ?)", values)

    def apply(self, docs: Sequence[SearchDoc], deleted: Sequence[str], upto_change_id: int) -> None:
        """Upsert ``docs`` by accession, delete ``deleted``, record the id: one transaction."""
        self._write(docs, deleted, upto_change_id, wipe=False)

    def clear(self) -> None:
        """Delete everything; the applied change id goes back to 0."""
        self._write((), (), 0, wipe=True)

    # --- info ----------------------------------------------------------------------
    def applied_change_id(self) -> int:
        """Change id recorded by the newest commit."""
        return self.current_snapshot().applied

    def doc_count(self) -> int:
        """Series in the newest snapshot."""
        return self.current_snapshot()._one("SELECT count(*) FROM docs", ())

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            self._snapshots.clear()
            if self._current is not None:
                self._current.close()
            self._current = None
            with self._probe_lock:
                self._probe.close()

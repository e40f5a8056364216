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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omicsoracle.search.base import ANNOTATION_FACETS
from omicsoracle.search.db_index import DbIndex
from omicsoracle.search.db_snapshot import DbSnapshot, range_conditions
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.fields import ALL_TAG, INDEX_FORMAT, TEXT_FIELDS, UNKNOWN, index_doc
from omicsoracle.search.plan import COORDINATION_BOOST, Clause, Plan

# Same order of preference as tantivy's FIELD_WEIGHTS (title > summary > design > extra);
# tag and ID columns only filter (weight 0).
COLUMN_WEIGHTS = (2.0, 1.0, 0.5, 0.3, 0.0, 0.0)
FILE_NAME = "fts.sqlite"
BUSY_TIMEOUT_MS = 120_000
_TEXT_COLS = "{" + " ".join(TEXT_FIELDS) + "}"

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
    conds, args = range_conditions(plan, "?")
    return "".join(" AND " + c for c in conds), args


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


class SqlSnapshot(DbSnapshot):
    """A connection inside one read transaction: a frozen view of one generation."""

    spelling_sql = "SELECT term, doc FROM words_row"

    def __init__(self, path: Path):
        super().__init__()
        self.conn = _connect(path)
        self.conn.execute(_HITS)
        self.conn.execute("BEGIN")
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        self.generation = int(row[0])
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'applied'").fetchone()
        self.applied = int(row[0])

    # --- VocabularySource ---------------------------------------------------------
    def word_doc_freq(self, word: str) -> int:
        """Series containing the surface word."""
        return self._one("SELECT doc FROM words_row WHERE term = ?", (word,))

    def stem_doc_freq(self, stem: str) -> int:
        """Sum over the text columns of the series containing the stem (as tantivy)."""
        marks = ",".join("?" * len(TEXT_FIELDS))
        sql = f"SELECT sum(doc) FROM fts_col WHERE term = ? AND col IN ({marks})"
        return self._one(sql, (stem, *TEXT_FIELDS))

    # --- execution ------------------------------------------------------------------
    def _materialize(self, plan: Plan) -> None:
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

    def _shows(self, keys: list[Any]) -> dict[Any, bytes]:
        marks = ",".join("?" * len(keys))
        return dict(self.conn.execute(f"SELECT id, show FROM docs WHERE id IN ({marks})", keys))

    def _facets(self) -> dict[str, dict[str, int]]:
        facets: dict[str, dict[str, int]] = {
            name: {} for name in ("organism", "type", "platform", *ANNOTATION_FACETS)
        }
        for facet, value, count in self.conn.execute(
            """SELECT f.facet, f.value, count(*) FROM temp.hits h
               JOIN facet_values f ON f.doc = h.id GROUP BY f.facet, f.value"""
        ):
            facets[facet][value] = count
        return facets


def _check_format(conn: sqlite3.Connection) -> None:
    """Empty an index written under another INDEX_FORMAT (applied id 0: the next catch-up
    rebuilds it from the store), as tantivy does for its schema version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != INDEX_FORMAT:
            for table in ("docs", "facet_values", "fts", "words"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("UPDATE meta SET value = 0 WHERE key = 'applied'")
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (INDEX_FORMAT,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class SqlIndex(DbIndex[SqlSnapshot]):
    """SearchIndex on SQLite FTS5; see the module docstring."""

    name = "sql"

    def __init__(self, directory: Path):
        super().__init__(directory)
        self.path = directory / FILE_NAME
        setup = _connect(self.path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.executescript(_SCHEMA)
        _check_format(setup)
        setup.close()
        self._probe_conn = _connect(self.path)
        self._probe_lock = threading.Lock()
        self._init_snapshots()

    def _open_snapshot(self) -> SqlSnapshot:
        return SqlSnapshot(self.path)

    def _probe(self) -> int:
        with self._probe_lock:
            return int(self._probe_conn.execute("PRAGMA data_version").fetchone()[0])

    def _close_probe(self) -> None:
        with self._probe_lock:
            self._probe_conn.close()

    def _write(self, inserts: list[SearchDoc], removed: list[str], applied: int,
               wipe: bool) -> None:  # fmt: skip
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            if wipe:
                for table in ("docs", "facet_values", "fts", "words"):
                    conn.execute(f"DELETE FROM {table}")
            for accession in removed:
                self._delete(conn, accession)
            for doc in inserts:
                self._insert(conn, doc)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'applied'", (applied,))
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

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
        # Annotation facets have no "unknown" bucket (as in tantivy).
        values += [(doc_id, facet, v) for facet, items in ix.annotations.items() for v in items]
        conn.executemany("INSERT INTO facet_values VALUES (?, ?, ?)", values)

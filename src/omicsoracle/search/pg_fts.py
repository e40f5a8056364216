"""The PostgreSQL full-text engine: same analyzed text, same plan, ts_rank with weights.

One schema per index directory (``OMICSORACLE_PG_SEARCH_SCHEMA`` prefix plus a hash of
the directory path, so reopening the directory finds its tables): ``docs`` with one
``tsvector`` over the four text fields (weights A=title, B=summary, C=design, D=extra),
tag and ID arrays, sort keys, facet values and the display payload; ``words`` and
``stems`` with document frequencies for the spelling vocabulary and the planner;
``meta`` with the applied change id and the generation. GIN indexes on the tsvector
and the arrays, btree indexes on the sort keys; every apply() is one transaction.

The tsvector is built here from our own stems and positions (a tsvector literal, no
PostgreSQL parser), so both the lexemes and their positions are exactly the analyzer's
token stream; fields are separated by a position gap. Queries are tsquery literals
built from analyzed stems only, each quoted, and bound as parameters: a run of stems
becomes ``'a':W <-> 'b':W`` per field weight W, OR-ed, so a phrase matches inside one
field as in the other engines.

Snapshots: a snapshot is a connection holding a REPEATABLE READ transaction, kept in
the same bounded LRU as the other engines' snapshots.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from omicsoracle.search.base import CursorExpired
from omicsoracle.search.cursor import CursorState, SnapshotCache
from omicsoracle.search.db_snapshot import DbSnapshot
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.engine import Page, Row, SnapshotIndex
from omicsoracle.search.fields import (
    SAMPLE_BUCKETS,
    TEXT_FIELDS,
    UNKNOWN,
    IndexedDoc,
    accession_number,
    index_doc,
)
from omicsoracle.search.plan import COORDINATION_BOOST, Clause, Plan
from omicsoracle.search.spelling import SpellingVocabulary

URL_ENV = "OMICSORACLE_PG_SEARCH_URL"
SCHEMA_ENV = "OMICSORACLE_PG_SEARCH_SCHEMA"
DEFAULT_SCHEMA_PREFIX = "omicsoracle_search"
# ts_rank weights in PostgreSQL's order {D, C, B, A}: extra, design, summary, title
# (the same order of preference as the other engines' field weights).
RANK_WEIGHTS = "{0.15, 0.25, 0.5, 1.0}"  # at most 1 (PostgreSQL)
RANK_SCALE = 20.0  # ts_rank is small; keeps tag boosts a mild signal on top
FIELD_WEIGHTS = dict(zip(TEXT_FIELDS, "ABCD", strict=True))
MAX_POSITION = 16383  # PostgreSQL clamps larger positions
MAX_POSITIONS_PER_LEXEME = 256
_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SORT_COLUMNS = {"date": "date_key", "samples": "samples_key"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO meta VALUES ('applied', 0), ('generation', 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS docs(
    accession text PRIMARY KEY, acc_num bigint NOT NULL, year integer, n_samples integer,
    date_key bigint NOT NULL, samples_key bigint NOT NULL, bucket integer NOT NULL,
    body tsvector NOT NULL, tags text[] NOT NULL, ids text[] NOT NULL,
    organisms text[] NOT NULL, types text[] NOT NULL, platforms text[] NOT NULL,
    words text[] NOT NULL, stems text[] NOT NULL, show bytea NOT NULL);
CREATE INDEX IF NOT EXISTS docs_body ON docs USING gin(body);
CREATE INDEX IF NOT EXISTS docs_tags ON docs USING gin(tags);
CREATE INDEX IF NOT EXISTS docs_ids ON docs USING gin(ids);
CREATE INDEX IF NOT EXISTS docs_date_key ON docs(date_key);
CREATE INDEX IF NOT EXISTS docs_samples_key ON docs(samples_key);
CREATE TABLE IF NOT EXISTS words(term text PRIMARY KEY, doc integer NOT NULL);
CREATE TABLE IF NOT EXISTS stems(term text PRIMARY KEY, doc integer NOT NULL);
"""
_HITS = """CREATE TEMP TABLE IF NOT EXISTS hits(accession text PRIMARY KEY, score float8,
    exact boolean, date_key bigint, samples_key bigint, bucket integer, year integer,
    organisms text[], types text[], platforms text[])"""


def _lexeme(term: str) -> str:
    """A quoted tsvector/tsquery lexeme (quotes and backslashes escaped)."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(texts: dict[str, str]) -> str:
    """The tsvector of the analyzed fields: our stems, positions and field weights."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for name in TEXT_FIELDS:
        weight = FIELD_WEIGHTS[name]
        for term in texts[name].split():
            pos += 1
            if pos > MAX_POSITION:
                break
            slots = positions.setdefault(term, [])
            if len(slots) < MAX_POSITIONS_PER_LEXEME:
                slots.append(f"{pos}{weight}")
        pos += 1  # a gap: no phrase runs across two fields
    return " ".join(f"{_lexeme(t)}:{','.join(p)}" for t, p in positions.items())


def _alt_query(stems: Sequence[str]) -> str:
    if len(stems) == 1:
        return _lexeme(stems[0])
    per_field = (" <-> ".join(f"{_lexeme(s)}:{w}" for s in stems) for w in "ABCD")
    return " | ".join(f"({q})" for q in per_field)


def text_query(clauses: Sequence[Clause]) -> str | None:
    """The tsquery literal OR-ing every text alternative of ``clauses`` (None: none)."""
    parts = [f"({_alt_query(a.stems)})" for c in clauses for a in c.alts]
    return " | ".join(parts) if parts else None


def _clause_sql(clause: Clause) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    query = text_query([clause])
    if query is not None:
        parts.append("d.body @@ %s::tsquery")
        args.append(query)
    if clause.tags:
        parts.append("d.tags && %s::text[]")
        args.append([t for t, _ in clause.tags])
    if clause.ids:
        parts.append("d.ids && %s::text[]")
        args.append(list(clause.ids))
    return ("(" + " OR ".join(parts) + ")" if parts else "FALSE"), args


def match_sql(plan: Plan) -> tuple[str, list[Any]]:
    """The WHERE condition (on ``docs d``) selecting exactly the plan's match set."""
    conds: list[str] = []
    args: list[Any] = []
    required = [_clause_sql(c) for c in plan.required]
    if plan.relaxed and required:
        conds.append("(" + " OR ".join(s for s, _ in required) + ")")
        args += [a for _, xs in required for a in xs]
    else:
        for s, xs in required:
            conds.append(s)
            args += xs
    for tags in plan.tag_filters:
        conds.append("d.tags && %s::text[]")
        args.append(list(tags))
    for column, ranges in (("n_samples", plan.sample_ranges), ("year", plan.year_ranges)):
        for lo, hi in ranges:
            conds.append(f"d.{column} IS NOT NULL")
            if lo is not None:
                conds.append(f"d.{column} >= %s")
                args.append(lo)
            if hi is not None:
                conds.append(f"d.{column} <= %s")
                args.append(hi)
    if plan.excluded:
        excluded = [_clause_sql(c) for c in plan.excluded]
        conds.append("NOT (" + " OR ".join(s for s, _ in excluded) + ")")
        args += [a for _, xs in excluded for a in xs]
    return (" AND ".join(conds) if conds else "TRUE"), args


def score_sql(plan: Plan) -> tuple[str, list[Any]]:
    """The relevance expression: weighted ts_rank, tag boosts, coordination if relaxed."""
    terms: list[str] = []
    args: list[Any] = []
    query = text_query(plan.required)
    if query is not None:
        terms.append(f"{RANK_SCALE!r} * ts_rank('{RANK_WEIGHTS}'::float4[], d.body, %s::tsquery)")
        args.append(query)
    for clause in plan.required:
        for t, w in clause.tags:
            terms.append(f"{float(w)!r} * (d.tags @> %s::text[])::int")
            args.append([t])
    for t, w in plan.boost_tags:
        terms.append(f"{float(w)!r} * (d.tags @> %s::text[])::int")
        args.append([t])
    if plan.relaxed:
        for clause in plan.required:
            s, xs = _clause_sql(clause)
            terms.append(f"{COORDINATION_BOOST!r} * ({s})::int")
            args += xs
    return (" + ".join(terms) if terms else "0.0"), args


def _connect(url: str, schema: str, autocommit: bool) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=autocommit)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    if not autocommit:
        conn.commit()
    return conn


def schema_for(directory: Path, prefix: str | None = None) -> str:
    """The schema of the index stored for ``directory`` (stable across reopening)."""
    prefix = prefix or os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA_PREFIX
    digest = hashlib.blake2b(str(directory.resolve()).encode(), digest_size=6).hexdigest()
    name = f"{prefix}_{digest}".lower()
    if not _SCHEMA_RE.fullmatch(name):
        raise ValueError(f"invalid PostgreSQL schema name {name!r}")
    return name


class PgSnapshot(DbSnapshot):
    """A connection inside one REPEATABLE READ transaction: one generation, frozen."""

    def __init__(self, url: str, schema: str):
        super().__init__()
        self.conn = _connect(url, schema, autocommit=False)
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.execute(_HITS)  # before the first read: the snapshot starts there
        rows = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        self.generation = int(rows["generation"])
        self.applied = int(rows["applied"])
        self._spelling: SpellingVocabulary | None = None

    # --- VocabularySource ---------------------------------------------------------
    def word_doc_freq(self, word: str) -> int:
        """Series containing the surface word."""
        return self._one("SELECT doc FROM words WHERE term = %s", (word,))

    def stem_doc_freq(self, stem: str) -> int:
        """Sum over the text fields of the series containing the stem (as tantivy)."""
        return self._one("SELECT doc FROM stems WHERE term = %s", (stem,))

    def spelling(self) -> SpellingVocabulary:
        """All surface words with document frequencies (loaded on first need)."""
        with self.lock:
            if self.closed:
                raise CursorExpired()
            if self._spelling is None:
                rows = self.conn.execute("SELECT term, doc FROM words WHERE doc > 0").fetchall()
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
        where, where_args = match_sql(plan)
        score, score_args = score_sql(plan)
        c.execute("TRUNCATE hits")
        c.execute(
            f"""INSERT INTO hits SELECT d.accession, {score}, d.accession = ANY(%s::text[]),
                   d.date_key, d.samples_key, d.bucket, d.year, d.organisms, d.types,
                   d.platforms
                FROM docs d WHERE {where}""",
            [*score_args, [i.upper() for i in plan.exact_ids], *where_args],
        )
        row = c.execute("SELECT count(*) FROM hits").fetchone()
        total = int(row[0]) if row else 0
        page_args: list[object]
        if sort == "relevance":
            page_sql = """SELECT accession, score, score FROM hits
                ORDER BY exact DESC, score DESC, accession LIMIT %s OFFSET %s"""
            page_args = [limit, after.offset if after else 0]
        else:
            column = _SORT_COLUMNS[sort]
            cond = f"WHERE {column} < %s" if after is not None else ""
            page_sql = (
                f"SELECT accession, 0.0, {column} FROM hits {cond} ORDER BY {column} DESC LIMIT %s"
            )
            page_args = [after.key, limit] if after is not None else [limit]
        found = c.execute(page_sql, page_args).fetchall()
        shows = dict(
            c.execute(
                "SELECT accession, show FROM docs WHERE accession = ANY(%s)",
                [[r[0] for r in found]],
            ).fetchall()
        )
        rows = [Row(show=bytes(shows[a]), score=float(s), key=k) for a, s, k in found]
        facets: dict[str, dict[str, int]] = {}
        for facet in ("organisms", "types", "platforms"):
            facets[facet[:-1]] = {
                value: int(n)
                for value, n in c.execute(
                    f"""SELECT v, count(*) FROM hits,
                        unnest(CASE WHEN cardinality({facet}) = 0 THEN ARRAY[%s]
                               ELSE {facet} END) v GROUP BY v""",
                    [UNKNOWN],
                )
            }
        facets["year"] = {
            (str(y) if y is not None else UNKNOWN): int(n)
            for y, n in c.execute("SELECT year, count(*) FROM hits GROUP BY year")
        }
        facets["samples"] = {
            (SAMPLE_BUCKETS[b][1] if b < len(SAMPLE_BUCKETS) else UNKNOWN): int(n)
            for b, n in c.execute("SELECT bucket, count(*) FROM hits GROUP BY bucket")
        }
        return Page(rows=rows, total=total, facets=facets)


def _stem_counts(ix: IndexedDoc) -> list[str]:
    """Each stem once per text field it occurs in (what stems.doc sums)."""
    out: list[str] = []
    for name in TEXT_FIELDS:
        out += dict.fromkeys(ix.texts[name].split())
    return out


class PgIndex(SnapshotIndex):
    """SearchIndex on PostgreSQL full text; see the module docstring."""

    name = "pg"

    def __init__(self, url: str, directory: Path, schema: str | None = None):
        super().__init__(directory)
        self.url = url
        self.schema = schema or schema_for(directory)
        with psycopg.connect(url, autocommit=True) as setup:
            setup.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            setup.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            setup.execute("SELECT pg_advisory_lock(hashtext(current_schema()))")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        setup.execute(statement)
            finally:
                setup.execute("SELECT pg_advisory_unlock(hashtext(current_schema()))")
        self._probe = _connect(url, self.schema, autocommit=True)
        self._probe_lock = threading.Lock()
        self._snapshots: SnapshotCache[PgSnapshot] = SnapshotCache(on_evict=PgSnapshot.close)
        self._current: PgSnapshot | None = None
        self._lock = threading.RLock()

    # --- snapshots -----------------------------------------------------------------
    def _committed_generation(self) -> int:
        with self._probe_lock:
            row = self._probe.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def current_snapshot(self) -> PgSnapshot:
        """Newest committed snapshot; a new transaction after any commit."""
        with self._lock:
            generation = self._committed_generation()
            current = self._current
            if current is None or current.closed or current.generation != generation:
                snap = PgSnapshot(self.url, self.schema)
                self._current = snap
                self._snapshots.put(snap.generation, snap)
            assert self._current is not None
            return self._current

    def pinned_snapshot(self, generation: int) -> PgSnapshot:
        """The snapshot a cursor started on, or CursorExpired."""
        snap = self._snapshots.get(generation)
        if snap is not None and not snap.closed:
            return snap
        current = self.current_snapshot()
        if current.generation == generation:
            return current
        raise CursorExpired()

    @contextmanager
    def private_snapshot(self) -> Iterator[PgSnapshot]:
        # Its own transaction: cache eviction closes cached snapshots' connections.
        snap = PgSnapshot(self.url, self.schema)
        try:
            yield snap
        finally:
            snap.close()

    def refresh(self) -> None:
        """Pick up commits made by another process."""
        self.current_snapshot()

    # --- writing -------------------------------------------------------------------
    def _write(self, docs: Sequence[SearchDoc], deleted: Sequence[str], applied: int,
               wipe: bool) -> None:  # fmt: skip
        # Same outcome as tantivy's order (upserts, then deletes): the last version of
        # each upserted series, minus the deleted ones.
        final = {doc.accession: doc for doc in docs}
        gone = set(deleted)
        inserts = [index_doc(d) for a, d in final.items() if a not in gone]
        removed = sorted(set(final) | gone)
        with _connect(self.url, self.schema, autocommit=False) as conn, conn.transaction():
            conn.execute("SELECT value FROM meta WHERE key = 'generation' FOR UPDATE")
            words: Counter[str] = Counter()
            stems: Counter[str] = Counter()
            if wipe:
                for table in ("docs", "words", "stems"):
                    conn.execute(f"DELETE FROM {table}")
            else:
                old = conn.execute(
                    "DELETE FROM docs WHERE accession = ANY(%s) RETURNING words, stems", [removed]
                ).fetchall()
                for old_words, old_stems in old:
                    words.subtract(old_words)
                    stems.subtract(old_stems)
            rows = []
            for ix in inserts:
                doc_words = list(dict.fromkeys(ix.words.split()))
                doc_stems = _stem_counts(ix)
                words.update(doc_words)
                stems.update(doc_stems)
                rows.append((
                    ix.accession, accession_number(ix.accession), ix.year, ix.n_samples,
                    ix.date_key, ix.samples_key, ix.samples_bucket, tsvector_literal(ix.texts),
                    ix.tags, ix.ids, ix.organisms, ix.types, ix.platforms, doc_words,
                    doc_stems, ix.show,
                ))  # fmt: skip
            with conn.cursor() as cur:
                cur.executemany(
                    """INSERT INTO docs VALUES (%s, %s, %s, %s, %s, %s, %s, %s::tsvector, %s,
                       %s, %s, %s, %s, %s, %s, %s)""",
                    rows,
                )
                for table, counts in (("words", words), ("stems", stems)):
                    deltas = [(t, n) for t, n in counts.items() if n]
                    cur.executemany(
                        f"""INSERT INTO {table} VALUES (%s, %s) ON CONFLICT (term)
                            DO UPDATE SET doc = {table}.doc + excluded.doc""",
                        deltas,
                    )
                    cur.execute(f"DELETE FROM {table} WHERE doc <= 0")
            conn.execute("UPDATE meta SET value = %s WHERE key = 'applied'", [applied])
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        if len(inserts) > 1000:
            with _connect(self.url, self.schema, autocommit=True) as conn:
                conn.execute("ANALYZE docs")
        self.refresh()

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


def open_pg_index(url: str, directory: Path) -> PgIndex:
    """Open (creating if needed) the PostgreSQL index of ``directory`` at ``url``."""
    return PgIndex(url, directory)

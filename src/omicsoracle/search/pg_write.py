"""The pg engine's tables and its one-transaction writes.

The engine lives in the store's own database and schema (the connection's
``search_path``, as the store's URL sets it), in tables prefixed ``search_``:
``search_docs`` with one ``tsvector`` over the four text fields (weights A=title,
B=summary, C=design, D=extra), tag and ID arrays, sort keys, facet values and the
display payload; ``search_words`` and ``search_stems`` with document frequencies for
the spelling vocabulary and the planner; ``search_meta`` with the applied change id
and the generation.

The tsvector is built here from our own stems and positions (a tsvector literal, no
PostgreSQL parser), so both the lexemes and their positions are exactly the
analyzer's token stream; fields are separated by a position gap.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from omicsoracle.search.document import SearchDoc
from omicsoracle.search.fields import (
    INDEX_FORMAT,
    TEXT_FIELDS,
    IndexedDoc,
    accession_number,
    index_doc,
)
from omicsoracle.search.pg_query import FIELD_WEIGHTS, lexeme

ANNOTATION_SEP = "\x1f"
MAX_POSITION = 16383  # PostgreSQL clamps larger positions
MAX_POSITIONS_PER_LEXEME = 256
# Past this many new rows in one commit the planner's statistics are refreshed at once
# (autovacuum would get there, but a first bulk load is searched right away).
ANALYZE_AFTER = 1000

# GIN on the text and the tag/ID arrays (organism, type, platform, raw-data filters
# are tags); btree on the two range filters, so a filter-only search (no words, or
# "samples:>=500") reads an index range instead of every row. The sort keys need no
# index: results are sorted from the materialized match set, never from this table.
SCHEMA = """
CREATE TABLE IF NOT EXISTS search_meta(key text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO search_meta VALUES ('applied', 0), ('generation', 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS search_docs(
    accession text PRIMARY KEY, acc_num bigint NOT NULL, year integer, n_samples integer,
    date_key bigint NOT NULL, samples_key bigint NOT NULL, bucket integer NOT NULL,
    body tsvector NOT NULL, tags text[] NOT NULL, ids text[] NOT NULL,
    organisms text[] NOT NULL, types text[] NOT NULL, platforms text[] NOT NULL,
    words text[] NOT NULL, stems text[] NOT NULL, show bytea NOT NULL,
    annotations text[] NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS search_docs_body ON search_docs USING gin(body);
CREATE INDEX IF NOT EXISTS search_docs_tags ON search_docs USING gin(tags);
CREATE INDEX IF NOT EXISTS search_docs_ids ON search_docs USING gin(ids);
CREATE INDEX IF NOT EXISTS search_docs_n_samples ON search_docs(n_samples)
    WHERE n_samples IS NOT NULL;
CREATE INDEX IF NOT EXISTS search_docs_year ON search_docs(year) WHERE year IS NOT NULL;
CREATE TABLE IF NOT EXISTS search_words(term text PRIMARY KEY, doc integer NOT NULL);
CREATE TABLE IF NOT EXISTS search_stems(term text PRIMARY KEY, doc integer NOT NULL);
"""


def conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (``postgresql+psycopg://...`` -> ``postgresql://``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string()}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def connect(info: str, *, autocommit: bool) -> psycopg.Connection[Any]:
    """A connection in the URL's schema (its ``options`` carry any ``search_path``)."""
    return psycopg.connect(info, autocommit=autocommit)


def create_schema(info: str) -> None:
    """Create the engine's tables in the connection's current schema (idempotent)."""
    with connect(info, autocommit=True) as setup:
        schema = setup.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise ValueError("the pg search engine's search_path names no existing schema")
        # Two processes opening at once must not race on CREATE ... IF NOT EXISTS.
        setup.execute("SELECT pg_advisory_lock(hashtext(current_schema() || '.search'))")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    setup.execute(statement)
            _add_annotations_column(setup)
            _check_format(setup)
        finally:
            setup.execute("SELECT pg_advisory_unlock(hashtext(current_schema() || '.search'))")


def _add_annotations_column(conn: psycopg.Connection[Any]) -> None:
    """Add the column tables created before INDEX_FORMAT 3 lack. Looked up first: ALTER
    TABLE takes an exclusive lock even when the column exists, and would make every
    process start wait for (and block) the searches of the running ones."""
    found = conn.execute(
        """SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
           AND table_name = 'search_docs' AND column_name = 'annotations'"""
    ).fetchone()
    if found is None:
        conn.execute("ALTER TABLE search_docs ADD COLUMN annotations text[] NOT NULL DEFAULT '{}'")


def _check_format(conn: psycopg.Connection[Any]) -> None:
    """Empty tables written under another INDEX_FORMAT (applied id 0: the next catch-up
    rebuilds them from the store), as tantivy does for its schema version."""
    row = conn.execute("SELECT value FROM search_meta WHERE key = 'format'").fetchone()
    if row is not None and row[0] == INDEX_FORMAT:
        return
    with conn.transaction():
        for table in ("search_docs", "search_words", "search_stems"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE search_meta SET value = 0 WHERE key = 'applied'")
        conn.execute("UPDATE search_meta SET value = value + 1 WHERE key = 'generation'")
        conn.execute(
            """INSERT INTO search_meta VALUES ('format', %s)
               ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
            [INDEX_FORMAT],
        )


def annotation_entries(ix: IndexedDoc) -> list[str]:
    """The annotation facets as one array: ``facet<US>value`` (US = unit separator, which
    normalised values never contain), so one unnest counts all of them."""
    return [f"{name}{ANNOTATION_SEP}{v}" for name, values in ix.annotations.items() for v in values]


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
    return " ".join(f"{lexeme(t)}:{','.join(p)}" for t, p in positions.items())


def _stem_counts(ix: IndexedDoc) -> list[str]:
    """Each stem once per text field it occurs in (what search_stems.doc sums)."""
    out: list[str] = []
    for name in TEXT_FIELDS:
        out += dict.fromkeys(ix.texts[name].split())
    return out


def write(info: str, inserts: list[SearchDoc], removed: list[str], applied: int,
          wipe: bool) -> None:  # fmt: skip
    """One transaction: wipe (or delete ``removed``), insert, record ``applied``."""
    indexed = [index_doc(d) for d in inserts]
    with connect(info, autocommit=False) as conn, conn.transaction():
        # Serialises writers of this schema; readers never wait (MVCC).
        conn.execute("SELECT value FROM search_meta WHERE key = 'generation' FOR UPDATE")
        words: Counter[str] = Counter()
        stems: Counter[str] = Counter()
        if wipe:
            for table in ("search_docs", "search_words", "search_stems"):
                conn.execute(f"DELETE FROM {table}")
        elif removed:
            old = conn.execute(
                "DELETE FROM search_docs WHERE accession = ANY(%s) RETURNING words, stems",
                [removed],
            ).fetchall()
            for old_words, old_stems in old:
                words.subtract(old_words)
                stems.subtract(old_stems)
        rows = []
        for ix in indexed:
            doc_words = list(dict.fromkeys(ix.words.split()))
            doc_stems = _stem_counts(ix)
            words.update(doc_words)
            stems.update(doc_stems)
            rows.append((
                ix.accession, accession_number(ix.accession), ix.year, ix.n_samples,
                ix.date_key, ix.samples_key, ix.samples_bucket, tsvector_literal(ix.texts),
                ix.tags, ix.ids, ix.organisms, ix.types, ix.platforms, doc_words,
                doc_stems, ix.show, annotation_entries(ix),
            ))  # fmt: skip
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO search_docs VALUES (%s, %s, %s, %s, %s, %s, %s, %s::tsvector,
                   %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                rows,
            )
            for table, counts in (("search_words", words), ("search_stems", stems)):
                deltas = [(t, n) for t, n in counts.items() if n]
                cur.executemany(
                    f"""INSERT INTO {table} VALUES (%s, %s) ON CONFLICT (term)
                        DO UPDATE SET doc = {table}.doc + excluded.doc""",
                    deltas,
                )
                cur.execute(f"DELETE FROM {table} WHERE doc <= 0")
        conn.execute("UPDATE search_meta SET value = %s WHERE key = 'applied'", [applied])
        conn.execute("UPDATE search_meta SET value = value + 1 WHERE key = 'generation'")
    if len(indexed) > ANALYZE_AFTER:
        with connect(info, autocommit=True) as conn:
            conn.execute("ANALYZE search_docs")

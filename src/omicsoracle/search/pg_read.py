"""Reads of the pg engine: a snapshot is one REPEATABLE READ transaction.

The plan's match set is materialized once into a temporary ``hits`` table (score,
sort keys, facet values); the page, the total and every facet are read from it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from omicsoracle.search.base import ANNOTATION_FACETS
from omicsoracle.search.db_snapshot import DbSnapshot
from omicsoracle.search.fields import UNKNOWN
from omicsoracle.search.pg_query import match_sql, score_sql
from omicsoracle.search.pg_write import ANNOTATION_SEP, connect
from omicsoracle.search.plan import Plan

_HITS = """CREATE TEMP TABLE IF NOT EXISTS hits(accession text PRIMARY KEY, score float8,
    exact boolean, date_key bigint, samples_key bigint, bucket integer, year integer,
    organisms text[], types text[], platforms text[], annotations text[])"""
FACET_COLUMNS = {"organism": "organisms", "type": "types", "platform": "platforms"}


class PgSnapshot(DbSnapshot):
    """A connection inside one REPEATABLE READ transaction: one generation, frozen."""

    mark = "%s"
    docs_table = "search_docs"
    hits_table = "hits"
    hit_key = "accession"
    spelling_sql = "SELECT term, doc FROM search_words WHERE doc > 0"

    def __init__(self, info: str):
        super().__init__()
        self.conn: psycopg.Connection[Any] = connect(info, autocommit=False)
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.execute(_HITS)  # before the first read: the snapshot starts there
        rows = dict(self.conn.execute("SELECT key, value FROM search_meta").fetchall())
        self.generation = int(rows["generation"])
        self.applied = int(rows["applied"])

    # --- VocabularySource ---------------------------------------------------------
    def word_doc_freq(self, word: str) -> int:
        """Series containing the surface word."""
        return self._one("SELECT doc FROM search_words WHERE term = %s", (word,))

    def stem_doc_freq(self, stem: str) -> int:
        """Sum over the text fields of the series containing the stem (as tantivy)."""
        return self._one("SELECT doc FROM search_stems WHERE term = %s", (stem,))

    # --- execution ------------------------------------------------------------------
    def _materialize(self, plan: Plan) -> None:
        where, where_args = match_sql(plan)
        score, score_args = score_sql(plan)
        self.conn.execute("TRUNCATE hits")
        self.conn.execute(
            f"""INSERT INTO hits SELECT d.accession, {score}, d.accession = ANY(%s::text[]),
                   d.date_key, d.samples_key, d.bucket, d.year, d.organisms, d.types,
                   d.platforms, d.annotations
                FROM search_docs d WHERE {where}""",
            [*score_args, [i.upper() for i in plan.exact_ids], *where_args],
        )

    def _shows(self, keys: list[Any]) -> dict[Any, bytes]:
        return dict(
            self.conn.execute(
                "SELECT accession, show FROM search_docs WHERE accession = ANY(%s)", [keys]
            ).fetchall()
        )

    def _facets(self) -> dict[str, dict[str, int]]:
        facets = {
            name: {
                value: int(n)
                for value, n in self.conn.execute(
                    f"""SELECT v, count(*) FROM hits,
                        unnest(CASE WHEN cardinality({column}) = 0 THEN ARRAY[%s]
                               ELSE {column} END) v GROUP BY v""",
                    [UNKNOWN],
                )
            }
            for name, column in FACET_COLUMNS.items()
        }
        facets.update({name: {} for name in ANNOTATION_FACETS})
        for entry, n in self.conn.execute(
            "SELECT v, count(*) FROM hits, unnest(annotations) v GROUP BY v"
        ):
            name, _, value = entry.partition(ANNOTATION_SEP)
            if name in facets:
                facets[name][value] = int(n)
        return facets

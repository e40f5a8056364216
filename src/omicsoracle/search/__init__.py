"""Full-text search over GEO series: one interface, three engines.

``open_index("tantivy", directory)`` (default engine, BM25 in Rust),
``open_index("sql", directory)`` (SQLite FTS5) or
``open_index("pg", directory, database_url)`` (PostgreSQL full text inside the store's
database, in the schema its URL selects). All index the same analyzed text and compile
the same match plan, so they return the same match sets; see ``base`` for the
request/response types.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omicsoracle.search.base import (
    CursorExpired,
    FacetCount,
    InvalidCursor,
    SearchFilters,
    SearchHit,
    SearchIndex,
    SearchRequest,
    SearchResponse,
    Snippet,
)
from omicsoracle.search.document import SearchDoc

DEFAULT_ENGINE = "tantivy"


def _open_tantivy(directory: Path, _url: str | None) -> SearchIndex:
    # Imported lazily: importing the package (e.g. for the query language) must not
    # load the native engines.
    from omicsoracle.search.tantivy_index import TantivyIndex

    return TantivyIndex(directory)


def _open_sql(directory: Path, _url: str | None) -> SearchIndex:
    from omicsoracle.search.sql_fts import SqlIndex

    return SqlIndex(directory)


def _open_pg(directory: Path, url: str | None) -> SearchIndex:
    from omicsoracle.search.pg_fts import open_pg_index

    return open_pg_index(url or "", directory)


def check_engine_url(engine: str, database_url: str | None) -> None:
    """Raise ValueError when ``engine`` cannot run beside the store at ``database_url``."""
    if engine == "pg" and not (database_url or "").startswith("postgresql"):
        raise ValueError(
            "search engine 'pg' keeps its index in the store's PostgreSQL database, but "
            "the store is not PostgreSQL: set OMICSORACLE_DATABASE_URL to a postgresql:// "
            "URL, or choose OMICSORACLE_SEARCH_ENGINE=tantivy or sql"
        )


ENGINES: dict[str, Callable[[Path, str | None], SearchIndex]] = {
    "tantivy": _open_tantivy,
    "sql": _open_sql,
    "pg": _open_pg,
}


def open_index(engine: str, directory: Path, database_url: str | None = None) -> SearchIndex:
    """Open (creating if needed) the ``engine`` index stored in ``directory``.

    ``database_url`` is the store's SQLAlchemy URL: the pg engine lives in that
    database (and ``directory`` keeps only its cursor key); the others ignore it.
    """
    try:
        factory = ENGINES[engine]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown search engine {engine!r}; choose one of: {known}") from None
    check_engine_url(engine, database_url)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return factory(directory, database_url)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "CursorExpired",
    "FacetCount",
    "InvalidCursor",
    "SearchDoc",
    "SearchFilters",
    "SearchHit",
    "SearchIndex",
    "SearchRequest",
    "SearchResponse",
    "Snippet",
    "check_engine_url",
    "open_index",
]

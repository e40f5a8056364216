"""Full-text search over GEO series: one interface, two engines.

``open_index("tantivy", directory)`` (default engine, BM25 in Rust) or
``open_index("sql", directory)`` (SQLite FTS5) or ``open_index("pg", directory)``
(PostgreSQL full text; URL in ``$OMICSORACLE_PG_SEARCH_URL``). Both index the same analyzed text and
compile the same match plan, so they return the same match sets; see ``base`` for the
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


def _open_tantivy(directory: Path) -> SearchIndex:
    # Imported lazily: importing the package (e.g. for the query language) must not
    # load the native engines.
    from omicsoracle.search.tantivy_index import TantivyIndex

    return TantivyIndex(directory)


def _open_sql(directory: Path) -> SearchIndex:
    from omicsoracle.search.sql_fts import SqlIndex

    return SqlIndex(directory)


def _open_pg(directory: Path) -> SearchIndex:
    import os

    from omicsoracle.search.pg_fts import URL_ENV, open_pg_index

    url = os.environ.get(URL_ENV)
    if not url:
        raise ValueError(f"the pg search engine needs a PostgreSQL URL in ${URL_ENV}")
    return open_pg_index(url, directory)


ENGINES: dict[str, Callable[[Path], SearchIndex]] = {
    "tantivy": _open_tantivy,
    "sql": _open_sql,
    "pg": _open_pg,
}


def open_index(engine: str, directory: Path) -> SearchIndex:
    """Open (creating if needed) the ``engine`` index stored in ``directory``."""
    try:
        factory = ENGINES[engine]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown search engine {engine!r}; choose one of: {known}") from None
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return factory(directory)


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
    "open_index",
]

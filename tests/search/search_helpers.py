"""Helpers shared by the search test modules."""

from __future__ import annotations

from omicsoracle.search import SearchIndex, SearchRequest
from omicsoracle.search.analysis import tokens
from omicsoracle.search.document import SearchDoc


def all_matches(index: SearchIndex, request: SearchRequest) -> list[str]:
    """Page through every result with cursors."""
    out: list[str] = []
    cursor = None
    for _ in range(1000):
        req = SearchRequest(request.query, limit=request.limit, cursor=cursor,
                            filters=request.filters, sort=request.sort)  # fmt: skip
        resp = index.search(req)
        out += [h.accession for h in resp.results]
        cursor = resp.next_cursor
        if cursor is None:
            break
    return out


def by_acc(subset: list[SearchDoc]) -> dict[str, SearchDoc]:
    return {d.accession: d for d in subset}


def doc_tokens(doc: SearchDoc) -> list[list[str]]:
    return [tokens(t) for t in (doc.title, doc.summary, doc.overall_design, doc.extra_text)]


def has_run(fields: list[list[str]], run: list[str]) -> bool:
    n = len(run)
    return any(f[i : i + n] == run for f in fields for i in range(len(f) - n + 1))


def pg_reachable() -> bool:
    """Whether the test PostgreSQL server answers (the URL tests/search/conftest.py uses)."""
    import os

    import psycopg

    from omicsoracle.search.pg_write import conninfo

    url = os.environ.get(
        "OMICSORACLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        with psycopg.connect(conninfo(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False

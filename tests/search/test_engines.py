"""The shared engine suite: every test runs on tantivy, SQLite FTS5 and PostgreSQL (pg)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from search_helpers import all_matches, by_acc, doc_tokens, has_run

from omicsoracle.search import (
    CursorExpired,
    InvalidCursor,
    SearchFilters,
    SearchHit,
    SearchIndex,
    SearchRequest,
    SearchResponse,
)
from omicsoracle.search.analysis import stem, tokens
from omicsoracle.search.base import FACET_NAMES
from omicsoracle.search.document import SearchDoc
from private_servers import unavailable

OpenEngine = Callable[[str, Path], SearchIndex]

# --- the two engines agree ---------------------------------------------------------

SAME_MATCH_CASES = [
    ("down syndrome", SearchFilters()),
    ("trisomy 21", SearchFilters()),
    ("DS brain", SearchFilters()),
    ("Parkinson's substantia nigra", SearchFilters()),
    ("PD dopaminergic neurons", SearchFilters()),
    ("parkinsns", SearchFilters()),
    ("alzheimers diseese", SearchFilters()),
    ("NSCLC", SearchFilters(organism=("human",))),
    ("triple-negative breast cancer", SearchFilters()),
    ('"breast cancer" -mouse', SearchFilters(min_samples=10)),
    ("mouse liver", SearchFilters()),
    ("rna-seq T cells", SearchFilters(min_samples=3)),
    ("sequencing cells", SearchFilters(year_from=2010, year_to=2014)),
    ("cancer type:microarray platform:GPL570", SearchFilters()),
    ("organism:rat year:2005..2010", SearchFilters(raw_data=("CEL",))),
    ("GSE1397, GSE30517 GDS5", SearchFilters()),
    ("scRNA-seq", SearchFilters(max_samples=50)),
    ("-cancer -tumor", SearchFilters(organism=("Danio rerio",))),
    ("", SearchFilters(type=("methylation",))),
    ("HCC RNA-seq in human liver tumours, at least 20 samples", SearchFilters()),
    ("effect of smoking on lung", SearchFilters()),
    ("the of and", SearchFilters()),
    ("brain datasets from 2008 to 2012 with over 10 samples", SearchFilters()),
    ("parkinson disease blood microglia", SearchFilters()),  # relaxed
    ("Down syndrome hippocampus -mouse", SearchFilters(min_samples=5)),  # relaxed
]


@pytest.mark.parametrize(("query", "filters"), SAME_MATCH_CASES)
def test_engines_return_the_same_match_set(
    indexes: dict[str, SearchIndex], query: str, filters: SearchFilters
) -> None:
    request = SearchRequest(query, limit=200, filters=filters)
    results = {}
    for name, index in indexes.items():
        first = index.search(request)
        matches = all_matches(index, request)
        assert len(matches) == first.total
        results[name] = (first.total, set(matches), first.did_you_mean, first.relaxed)
    for name in results:
        assert results[name] == results["tantivy"], (name, query)
    assert results["tantivy"][0] > 0, query


# --- matching ------------------------------------------------------------------------


def test_counts(index: SearchIndex, subset: list[SearchDoc]) -> None:
    assert index.doc_count() == len(subset)
    assert index.applied_change_id() == len(subset)
    assert index.search(SearchRequest("")).total == len(subset)


def test_filters(index: SearchIndex, subset: list[SearchDoc]) -> None:
    docs = by_acc(subset)
    resp = index.search(SearchRequest("organism:mouse samples:>=20 year:2010..2014", limit=200))
    assert resp.total > 0
    for hit in resp.results:
        assert "Mus musculus" in hit.organisms
        assert hit.n_samples is not None
        assert hit.n_samples >= 20
        assert hit.release_date is not None
        assert 2010 <= int(hit.release_date[:4]) <= 2014
    filters = SearchFilters(type=("rna-seq",), platform=("gpl24676",))
    for hit in index.search(SearchRequest("brain", limit=100, filters=filters)).results:
        assert "Expression profiling by high throughput sequencing" in hit.types
        assert "GPL24676" in hit.platforms
    raw = SearchFilters(raw_data=("cel",))
    for hit in index.search(SearchRequest("liver", limit=100, filters=raw)).results:
        assert "CEL" in docs[hit.accession].supplementary_types
    # request and query filters are AND-ed
    both = SearchRequest("organism:human", filters=SearchFilters(organism=("mouse",)))
    for hit in index.search(SearchRequest(both.query, 100, filters=both.filters)).results:
        assert {"Homo sapiens", "Mus musculus"} <= set(hit.organisms)
    assert index.search(SearchRequest("cancer samples:50..10")).total == 0


def test_phrases_and_exclusions(index: SearchIndex, subset: list[SearchDoc]) -> None:
    docs = by_acc(subset)
    phrase = all_matches(index, SearchRequest('"gene expression" -cancer', limit=200))
    assert phrase
    for acc in phrase:
        fields = doc_tokens(docs[acc])
        assert has_run(fields, ["gene", "express"])
        assert not any("cancer" in f for f in fields)


def test_accession_and_pmid_lookup(index: SearchIndex, subset: list[SearchDoc]) -> None:
    resp = index.search(SearchRequest("GSE1397"))
    assert [h.accession for h in resp.results] == ["GSE1397"]
    resp = index.search(SearchRequest("gse30517; GSE1397"))
    assert {h.accession for h in resp.results[:2]} == {"GSE30517", "GSE1397"}
    with_pmid = next(d for d in subset if d.pubmed_ids and len(d.pubmed_ids[0]) >= 7)
    resp = index.search(SearchRequest(with_pmid.pubmed_ids[0]))
    assert with_pmid.accession in {h.accession for h in resp.results}
    with_gds = next(d for d in subset if d.datasets)
    resp = index.search(SearchRequest(with_gds.datasets[0]))
    assert with_gds.accession in {h.accession for h in resp.results}
    resp = index.search(SearchRequest("GPL570", limit=5))
    assert resp.total > 5
    assert all("GPL570" in h.platforms for h in resp.results)


def test_misspellings(index: SearchIndex) -> None:
    resp = index.search(SearchRequest("neuroblastma"))
    assert resp.total > 0
    assert resp.did_you_mean == "neuroblastoma"
    assert any("neuroblastoma" in h.title.lower() for h in resp.results)
    resp = index.search(SearchRequest("alzheimers diseese"))
    assert resp.total > 0
    assert resp.did_you_mean == "alzheimers disease"
    resp = index.search(SearchRequest("parkinsns"))
    assert resp.total > 100
    none = index.search(SearchRequest("qqxqzvbnmw"))
    assert none.total == 0
    assert none.results == ()
    assert none.next_cursor is None


def test_normalisation_and_synonyms(index: SearchIndex) -> None:
    def total(q: str) -> int:
        return index.search(SearchRequest(q)).total

    assert total("Parkinson's") == total("Parkinsons") == total("parkinson") > 0
    assert total("triple-negative breast") == total('"triple negative" breast') > 0
    assert total("NSCLC") == total("non-small cell lung cancer") > 0
    assert total("T2D") == total("type 2 diabetes") > 0
    assert total("trisomy 21") == total("Down syndrome") > 0
    # Organism and assay words are understood as filters (issue 5)...
    assert total("mouse liver") == total("organism:mouse liver") > 0
    assert total("RNA-seq") == total("type:rna-seq") > 0
    hcc = index.search(SearchRequest("HCC"))
    assert hcc.interpreted["expansions"]["HCC"][0] == "hepatocellular carcinoma"


def test_literal_switches_understanding_off(index: SearchIndex) -> None:
    def search(q: str, literal: bool) -> SearchResponse:
        return index.search(SearchRequest(q, literal=literal))

    # "mouse" as typed: a word in the text, of any organism, not the organism filter.
    understood, literal = search("mouse liver", False), search("mouse liver", True)
    assert understood.understood["filters"] == {"organism": ["Mus musculus"]}
    assert literal.understood["filters"] == {}
    assert literal.understood["literal"] is True
    assert literal.total != understood.total > 0
    assert any("Mus musculus" not in hit.organisms for hit in all_hits(index, "mouse liver", True))
    # No abbreviation expansion: NSCLC alone finds fewer than its expansion.
    assert 0 < search("NSCLC", True).total < search("NSCLC", False).total
    assert search("NSCLC", True).interpreted["expansions"] == {}
    # No English filters: "at least 20 samples" stays words.
    words = search("liver at least 20 samples", True)
    assert words.understood["filters"] == {}
    assert words.understood["from_words"] == []
    assert search("liver at least 20 samples", False).understood["filters"] == {"min_samples": 20}
    # No spelling correction.
    assert search("hepatocelular", True).did_you_mean is None
    # Cursors are bound to the mode: a literal cursor is refused on an understood search.
    page = index.search(SearchRequest("brain", limit=5, literal=True))
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursor):
        index.search(SearchRequest("brain", limit=5, cursor=page.next_cursor))


def all_hits(index: SearchIndex, q: str, literal: bool) -> list[SearchHit]:
    return [hit for page in index.scan(SearchRequest(q, literal=literal)) for hit in page]


# --- paging ---------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "date", "samples"])
def test_cursor_pages_cover_matches_once(index: SearchIndex, sort: str) -> None:
    request = SearchRequest("brain", limit=97, sort=sort)  # type: ignore[arg-type]
    first = index.search(request)
    seen = all_matches(index, request)
    assert first.total > 300
    assert len(seen) == len(set(seen)) == first.total


def test_cursor_pages_carry_the_first_pages_total_and_facets(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later page answers the same total and facets as the first (tantivy memoises
    them per snapshot; a page whose first page was pushed out counts them again)."""
    from omicsoracle.search import tantivy_index

    monkeypatch.setattr(tantivy_index, "FACET_MEMO", 1)
    requests = [
        SearchRequest("brain", limit=7),
        SearchRequest("cancer", limit=7, filters=SearchFilters.build(organism=["Homo sapiens"])),
        SearchRequest("liver", limit=7, sort="date"),
    ]
    firsts = [index.search(r) for r in requests]
    for request, first in zip(requests, firsts, strict=True):
        assert first.next_cursor
        assert first.total > 14
        cursor = first.next_cursor
        for _ in range(2):
            later = index.search(dataclasses.replace(request, cursor=cursor))
            assert later.total == first.total
            assert later.facets == first.facets
            cursor = later.next_cursor


def test_tantivy_knows_a_small_strict_plan_without_executing_it(
    indexes: dict[str, SearchIndex],
) -> None:
    """matches_fewer (the shortcut to the relaxed plan) is never wrong, and takes the
    shortcut for the relaxed cases of the suite; the other engines never take it."""
    from omicsoracle.search.engine import RELAX_BELOW
    from omicsoracle.search.plan import Planner
    from omicsoracle.understanding import understand

    answers = set()
    for name, index in indexes.items():
        snapshot = index.current_snapshot()
        for query, filters in SAME_MATCH_CASES:
            request = SearchRequest(query, filters=filters)
            plan = Planner(snapshot.vocabulary()).plan(request, understand(query).parsed)
            strict = snapshot.execute(plan, "relevance", None, 1).total
            for n in (1, RELAX_BELOW, 100, 10_000):
                fewer = snapshot.matches_fewer(plan, n)
                assert not fewer or strict < n, (name, query, n)
                if name != "tantivy":
                    assert not fewer
                answers.add((name, fewer))
        if name == "tantivy":
            for query in ("parkinson disease blood microglia", "trisomy 21 iPSC cardiomyocytes"):
                plan = Planner(snapshot.vocabulary()).plan(
                    SearchRequest(query), understand(query).parsed
                )
                assert plan.can_relax()
                assert snapshot.matches_fewer(plan, RELAX_BELOW), query
                assert index.search(SearchRequest(query)).relaxed
    assert ("tantivy", True) in answers
    assert ("tantivy", False) in answers


def test_sort_orders(index: SearchIndex) -> None:
    resp = index.search(SearchRequest("liver", limit=200, sort="date"))
    dates = [h.release_date for h in resp.results]
    known = [d for d in dates if d is not None]
    assert known == sorted(known, reverse=True)
    assert dates[: len(known)] == known  # missing dates last
    everything = all_matches(index, SearchRequest("", limit=200, sort="date"))
    assert everything[0] != everything[-1]
    resp = index.search(SearchRequest("liver", limit=200, sort="samples"))
    counts = [h.n_samples for h in resp.results]
    assert counts == sorted(counts, key=lambda n: -1 if n is None else n, reverse=True)


def test_invalid_cursors(index: SearchIndex) -> None:
    first = index.search(SearchRequest("brain", limit=5))
    assert first.next_cursor
    good = first.next_cursor
    second = index.search(SearchRequest("brain", limit=5, cursor=good))
    assert {h.accession for h in second.results}.isdisjoint(h.accession for h in first.results)
    tampered = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
    for bad in ["", "x", "!!!", "eyJ2IjoxfQ", good + "A", tampered, good[::-1], "a" * 600]:
        with pytest.raises(InvalidCursor):
            index.search(SearchRequest("brain", limit=5, cursor=bad))
    with pytest.raises(InvalidCursor):  # valid cursor, other query
        index.search(SearchRequest("liver", limit=5, cursor=good))
    with pytest.raises(InvalidCursor):  # valid cursor, other sort
        index.search(SearchRequest("brain", limit=5, cursor=good, sort="date"))


# --- response content ---------------------------------------------------------------


def test_facets_cover_the_whole_match_set(index: SearchIndex) -> None:
    resp = index.search(SearchRequest("breast cancer", limit=3))
    assert resp.total > 100
    for name in ("year", "samples"):
        assert sum(b.count for b in resp.facets[name]) == resp.total
    for name in ("organism", "type", "platform"):
        assert resp.facets[name]
        assert all(0 < b.count <= resp.total for b in resp.facets[name])
    organisms = {b.value: b.count for b in resp.facets["organism"]}
    filtered = index.search(SearchRequest("breast cancer organism:human"))
    assert filtered.total == organisms["Homo sapiens"]


def test_snippets_highlight_query_terms(index: SearchIndex) -> None:
    wanted = {stem(w) for w in ("breast", "cancer", "parkinson", "disease", "pd")}
    for query in ("breast cancer", "PD"):
        resp = index.search(SearchRequest(query, limit=20))
        assert resp.results
        marked = 0
        for hit in resp.results:
            text = hit.snippet.text
            assert len(text) <= 320
            for start, end in hit.snippet.highlights:
                assert 0 <= start < end <= len(text)
                assert tokens(text[start:end])[0] in wanted
                marked += 1
        assert marked > 0


def test_response_json_shape(index: SearchIndex) -> None:
    resp = index.search(SearchRequest("Parkinson's substantia nigra", limit=3))
    data = orjson.loads(orjson.dumps(resp.to_dict()))
    assert set(data) >= {"query", "total", "results", "facets", "next_cursor", "did_you_mean"}
    assert set(data["facets"]) == set(FACET_NAMES)
    hit = data["results"][0]
    assert set(hit) == {"accession", "title", "snippet", "organisms", "types", "platforms",
                        "n_samples", "release_date", "pubmed_ids", "score"}  # fmt: skip
    assert set(hit["snippet"]) == {"text", "highlights"}
    assert data["interpreted"]["expansions"]


# --- writing, snapshots, processes --------------------------------------------------


def _fresh(
    open_engine: OpenEngine, engine: str, tmp_path: Path, docs: list[SearchDoc]
) -> SearchIndex:
    index = open_engine(engine, tmp_path / engine)
    index.apply(docs, [], upto_change_id=7)
    return index


def test_upsert_delete_clear_and_reopen(
    open_engine: OpenEngine, engine: str, tmp_path: Path, subset: list[SearchDoc]
) -> None:
    docs = subset[:300]
    index = _fresh(open_engine, engine, tmp_path, docs)
    assert index.doc_count() == 300
    assert index.applied_change_id() == 7
    changed = SearchDoc(accession=docs[0].accession, title="zebra okapi study", summary="okapi")
    index.apply([changed, changed], [docs[1].accession], upto_change_id=9)
    assert index.doc_count() == 299
    assert index.applied_change_id() == 9
    assert [h.accession for h in index.search(SearchRequest("okapi")).results] == [
        changed.accession
    ]
    assert index.search(SearchRequest(docs[1].accession)).total == 0
    index.close()
    reopened = open_engine(engine, tmp_path / engine)
    assert reopened.applied_change_id() == 9
    assert reopened.doc_count() == 299
    reopened.clear()
    assert reopened.doc_count() == 0
    assert reopened.applied_change_id() == 0
    assert reopened.search(SearchRequest("okapi")).total == 0
    reopened.close()


def test_cursor_pins_snapshot_across_commits(
    open_engine: OpenEngine, engine: str, tmp_path: Path, subset: list[SearchDoc]
) -> None:
    index = _fresh(open_engine, engine, tmp_path, subset[:2000])
    request = SearchRequest("cell", limit=10)
    before = all_matches(index, SearchRequest("cell", limit=200))
    page = index.search(request)
    assert page.next_cursor
    new = [SearchDoc(accession=f"GSE9{i:07d}", title=f"new cell study {i}") for i in range(30)]
    index.apply(new, [before[0]], upto_change_id=8)  # a commit in the middle of paging
    seen = [h.accession for h in page.results]
    cursor = page.next_cursor
    while cursor:
        page = index.search(SearchRequest("cell", limit=10, cursor=cursor))
        seen += [h.accession for h in page.results]
        cursor = page.next_cursor
    assert sorted(seen) == sorted(before)  # the old snapshot, every match once
    fresh = index.search(SearchRequest("cell", limit=10))
    assert fresh.total == len(before) - 1 + 30
    # once the old snapshot is evicted, its cursor expires
    old = index.search(request)  # current snapshot
    index.apply(new[:1], [], upto_change_id=10)
    cursor = old.next_cursor
    assert cursor
    index.search(SearchRequest("cell", limit=10, cursor=cursor))  # still pinned
    index._snapshots.clear()  # type: ignore[attr-defined]  # simulate LRU eviction
    with pytest.raises(CursorExpired, match="search again"):
        index.search(SearchRequest("cell", limit=10, cursor=cursor))
    index.close()


def test_other_process_commits_are_picked_up(
    open_engine: OpenEngine, engine: str, tmp_path: Path, subset: list[SearchDoc]
) -> None:
    writer = _fresh(open_engine, engine, tmp_path, subset[:100])
    reader = open_engine(engine, tmp_path / engine)  # another "process" on the directory
    assert reader.doc_count() == 100
    writer.apply([SearchDoc(accession="GSE99999991", title="okapi")], [], upto_change_id=8)
    reader.refresh()
    assert reader.applied_change_id() == 8
    assert reader.search(SearchRequest("okapi")).total == 1
    writer.apply([SearchDoc(accession="GSE99999992", title="okapi")], [], upto_change_id=9)
    assert reader.search(SearchRequest("okapi")).total == 2  # noticed without refresh()
    writer.close()
    reader.close()


def test_response_is_a_search_response(index: SearchIndex) -> None:
    assert isinstance(index.search(SearchRequest("x")), SearchResponse)


@pytest.mark.parametrize("sort", ["relevance", "date", "samples"])
def test_scan_yields_every_match_once_in_order(index: SearchIndex, sort: str) -> None:
    request = SearchRequest("brain", limit=200, sort=sort)  # type: ignore[arg-type]
    scanned = [h.accession for page in index.scan(request, page_size=97) for h in page]
    assert scanned == all_matches(index, request)


def test_scan_outlives_commits_and_cache_eviction(
    open_engine: OpenEngine, engine: str, tmp_path: Path, subset: list[SearchDoc]
) -> None:
    # An export in progress while new data lands: it finishes on the snapshot it
    # started on, even once the cursor cache has let that snapshot go.
    index = _fresh(open_engine, engine, tmp_path, subset[:2000])
    before = all_matches(index, SearchRequest("cell", limit=200))
    pages = index.scan(SearchRequest("cell"), page_size=10)
    seen = [h.accession for h in next(pages)]
    new = [SearchDoc(accession=f"GSE9{i:07d}", title=f"new cell study {i}") for i in range(30)]
    index.apply(new, [before[0]], upto_change_id=8)
    index.search(SearchRequest("cell"))  # the new snapshot becomes current
    index._snapshots.clear()  # type: ignore[attr-defined]  # eviction, as in the cursor test
    seen += [h.accession for page in pages for h in page]
    assert seen == before
    index.close()


# --- PostgreSQL specifics -------------------------------------------------------------


def test_pg_match_query_uses_the_indexes(indexes: dict[str, SearchIndex]) -> None:
    if "pg" not in indexes:
        unavailable("no PostgreSQL reachable at 127.0.0.1:5432 (the pg engine is untested)")
    from omicsoracle.query import parse_query
    from omicsoracle.search.pg_fts import PgIndex
    from omicsoracle.search.pg_query import match_sql
    from omicsoracle.search.plan import Planner

    index = indexes["pg"]
    assert isinstance(index, PgIndex)
    snapshot = index.current_snapshot()
    request = SearchRequest("hippocampus")
    plan = Planner(snapshot.vocabulary()).plan(request, parse_query(request.query))
    where, args = match_sql(plan)
    with snapshot.lock:
        snapshot.conn.execute("ANALYZE search_docs")
        rows = snapshot.conn.execute(
            f"EXPLAIN SELECT d.accession FROM search_docs d WHERE {where}",
            args,
        ).fetchall()
    explained = "\n".join(r[0] for r in rows)
    assert "Seq Scan on search_docs" not in explained, explained
    assert "search_docs_body" in explained, explained

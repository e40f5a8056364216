"""Plain-language queries on both engines: stop words, English filters, relaxation."""

from __future__ import annotations

import pytest
from search_helpers import all_matches, by_acc, doc_tokens, has_run

from omicsoracle.search import SearchFilters, SearchIndex, SearchRequest
from omicsoracle.search.base import SearchResponse
from omicsoracle.search.cursor import CursorCodec, CursorState
from omicsoracle.search.document import SearchDoc

FLAGSHIP = "HCC RNA-seq in human liver tumours, at least 20 samples"
HTS = "Expression profiling by high throughput sequencing"
# Realistic queries that no series matches word for word (checked on the subset).
NO_STRICT_MATCH = [
    "parkinson disease blood microglia",
    "trisomy 21 iPSC neurons cardiomyocytes",
    "HCC RNA-seq in human liver tumours, at least 50 samples",
    "Down syndrome hippocampus -mouse",
]


def total(index: SearchIndex, query: str, **kw: object) -> int:
    return index.search(SearchRequest(query, **kw)).total  # type: ignore[arg-type]


# --- stop words -------------------------------------------------------------------


def test_flagship_query(index: SearchIndex, subset: list[SearchDoc]) -> None:
    resp = index.search(SearchRequest(FLAGSHIP, limit=20))
    assert resp.total > 0
    assert resp.interpreted["filters"]["min_samples"] == 20
    assert resp.interpreted["filter_phrases"] == ["at least 20 samples"]
    assert "in" in resp.interpreted["stopwords"]
    first = resp.results[0]
    doc = by_acc(subset)[first.accession]
    text = f"{doc.title} {doc.summary}".lower()
    assert "hepatocellular" in text or "hcc" in text
    assert HTS in first.types
    assert "Homo sapiens" in first.organisms
    assert all(h.n_samples is not None and h.n_samples >= 20 for h in resp.results)


def test_stop_and_filler_words_are_not_required(index: SearchIndex) -> None:
    assert total(index, "effect of smoking on lung") == total(index, "smoking lung") > 2
    assert total(index, "datasets of breast cancer studies") == total(index, "breast cancer")
    assert total(index, "T2D islets") == total(index, "the T2D islets data")


def test_stop_words_only_query_still_matches(index: SearchIndex) -> None:
    for query in ("the of and", "data", "in the"):
        resp = index.search(SearchRequest(query))
        assert resp.total > 0, query
        assert not resp.relaxed
        assert resp.interpreted["stopwords"] == []
    assert total(index, "studies") > 0
    assert total(index, "cancer studies") == total(index, "cancer")


def test_stop_words_count_inside_phrases(index: SearchIndex, subset: list[SearchDoc]) -> None:
    docs = by_acc(subset)
    # A phrase alone (many strict matches, so never relaxed): stop words inside it count.
    first = index.search(SearchRequest('"in response to"', limit=10))
    assert not first.relaxed
    matches = all_matches(index, SearchRequest('"in response to"', limit=200))
    assert len(matches) >= 10
    for acc in matches:
        assert has_run(doc_tokens(docs[acc]), ["in", "respons", "to"])
    assert len(matches) < total(index, "in response to") == total(index, "response")


# --- English filters --------------------------------------------------------------

EQUIVALENT = [
    ("liver from 2008 to 2012", "liver year:2008..2012"),
    ("brain studies since 2010", "brain year:>=2010"),
    ("brain before 2006", "brain year:<2006"),
    ("cancer fewer than 10 samples", "cancer samples:<10"),
    ("mouse liver with more than 50 samples", "mouse liver samples:>50"),
    ("T cells between 10 and 40 samples in 2012", "T cells samples:10..40 year:2012"),
]


@pytest.mark.parametrize(("natural", "explicit"), EQUIVALENT)
def test_english_filters_equal_explicit_ones(
    index: SearchIndex, natural: str, explicit: str
) -> None:
    a = all_matches(index, SearchRequest(natural, limit=200))
    b = all_matches(index, SearchRequest(explicit, limit=200))
    assert a
    assert sorted(a) == sorted(b)


# --- relaxation -------------------------------------------------------------------


@pytest.mark.parametrize("query", NO_STRICT_MATCH)
def test_zero_result_queries_are_relaxed(index: SearchIndex, query: str) -> None:
    resp = index.search(SearchRequest(query, limit=20))
    assert resp.relaxed
    assert resp.to_dict()["relaxed"] is True
    assert resp.total > 20
    assert resp.next_cursor
    for name in ("year", "samples"):
        assert sum(b.count for b in resp.facets[name]) == resp.total
    scores = [h.score for h in resp.results]
    assert scores == sorted(scores, reverse=True)
    assert any(h.snippet.highlights for h in resp.results)


def test_relaxation_keeps_filters_and_exclusions_hard(
    index: SearchIndex, subset: list[SearchDoc]
) -> None:
    docs = by_acc(subset)
    resp = index.search(SearchRequest("HCC RNA-seq in human liver tumours, at least 50 samples"))
    assert resp.relaxed
    matches = all_matches(index, SearchRequest(resp.query, limit=200))
    assert len(matches) == resp.total
    assert all((docs[a].n_samples or 0) >= 50 for a in matches)
    for acc in all_matches(index, SearchRequest("Down syndrome hippocampus -mouse", limit=200)):
        assert not any("mous" in f for f in doc_tokens(docs[acc]))
    filtered = SearchRequest(
        "parkinson disease blood microglia", filters=SearchFilters(max_samples=10)
    )
    resp = index.search(filtered)
    assert resp.relaxed
    assert all(h.n_samples is not None and h.n_samples <= 10 for h in resp.results)


def test_relaxed_ranking_prefers_more_matched_concepts(index: SearchIndex) -> None:
    resp = index.search(SearchRequest("parkinson disease blood microglia", limit=10))
    assert resp.relaxed
    for hit in resp.results[:5]:
        text = f"{hit.title} {hit.snippet.text}".lower()
        assert "parkinson" in text
        assert "blood" in text or "microglia" in text


def test_strict_results_are_not_relaxed(index: SearchIndex) -> None:
    resp = index.search(SearchRequest("breast cancer", limit=5))
    assert not resp.relaxed
    assert resp.to_dict()["relaxed"] is False
    # a single clause with no match has nothing to relax, nor do impossible filters
    assert not index.search(SearchRequest("qqxqzvbnmw")).relaxed
    assert index.search(SearchRequest("qqxqzvbnmw brain")).relaxed
    impossible = index.search(SearchRequest("cancer brain samples:50..10"))
    assert (impossible.total, impossible.relaxed) == (0, False)


@pytest.mark.parametrize("sort", ["relevance", "date", "samples"])
def test_relaxed_cursor_pages_the_relaxed_set(index: SearchIndex, sort: str) -> None:
    request = SearchRequest("trisomy 21 iPSC neurons cardiomyocytes", limit=150, sort=sort)  # type: ignore[arg-type]
    first = index.search(request)
    assert first.relaxed
    assert first.next_cursor
    second = index.search(
        SearchRequest(request.query, limit=150, sort=request.sort, cursor=first.next_cursor)
    )
    assert second.relaxed
    assert second.total == first.total
    seen = all_matches(index, request)
    assert len(seen) == len(set(seen)) == first.total


def test_relaxed_flag_is_part_of_the_signed_cursor() -> None:
    codec = CursorCodec("sql", b"k" * 32)
    req = SearchRequest("x y")
    cursor = codec.encode(req, CursorState(1, 20, 3.0, relaxed=True))
    assert codec.decode(req, cursor) == CursorState(1, 20, 3.0, relaxed=True)
    assert codec.decode(req, codec.encode(req, CursorState(1, 20, 3.0))).relaxed is False


def test_engines_agree_in_relaxed_mode(indexes: dict[str, SearchIndex]) -> None:
    for query in [*NO_STRICT_MATCH, "cancer xqzvw brain", "zebrafish heart okapi -fin"]:
        request = SearchRequest(query, limit=200, filters=SearchFilters(min_samples=3))
        out: dict[str, tuple[int, set[str], bool]] = {}
        for name, index in indexes.items():
            resp: SearchResponse = index.search(request)
            matches = all_matches(index, request)
            assert len(matches) == resp.total
            out[name] = (resp.total, set(matches), resp.relaxed)
        for name in out:
            assert out[name] == out["tantivy"], (name, query)
        assert out["tantivy"][2], query

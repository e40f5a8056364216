"""Property tests: no user input breaks either engine, and both agree on it."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omicsoracle.search import InvalidCursor, SearchFilters, SearchIndex, SearchRequest
from omicsoracle.search.analysis import analyzed_text, words

# Characters that mean something to query parsers, FTS5 or SQL, plus a few words.
_NASTY = st.sampled_from(
    ['"', "'", "-", "+", "*", ":", "(", ")", "{", "}", "[", "]", "^", "~", "\\", ";", "--",
     "\x00", " ", "NOT", "AND", "OR", "NEAR", "organism:", "samples:>=", "year:..", "GSE",
     "cancer", "brain", "PD", "Parkinson's", "é", "β", "中文", "🧬", "\u0301", "ﬁ", "ℍ",
     # plain language: stop words, English filters (also broken ones), relaxation
     "the", "in", "samples", "at least 20 samples", "≥", "20+", "more than", "since 2015",
     "2010-2014", "between 10 and", "before 1990", "qqxqzv"]
)  # fmt: skip
QUERIES = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(_NASTY, st.text(max_size=6)), max_size=12).map("".join),
    st.lists(st.one_of(_NASTY, st.text(max_size=6)), max_size=8).map(" ".join),
)
FILTERS = st.builds(
    SearchFilters,
    organism=st.lists(st.sampled_from(["human", "mouse", "", "x\x00\"'"]), max_size=2).map(tuple),
    min_samples=st.none() | st.integers(-5, 10**12),
    year_to=st.none() | st.integers(-(10**12), 3000),
)
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(query=QUERIES, filters=FILTERS)
def test_any_query_is_safe_and_engines_agree(
    indexes: dict[str, SearchIndex], query: str, filters: SearchFilters
) -> None:
    request = SearchRequest(query, limit=50, filters=filters)
    out = {}
    for name, index in indexes.items():
        resp = index.search(request)
        data = resp.to_dict()
        assert data["total"] == resp.total >= len(resp.results)
        out[name] = (resp.total, {h.accession for h in resp.results} if resp.total <= 50 else None)
    for name in out:
        assert out[name] == out["tantivy"], name


@SETTINGS
@given(
    cursor=st.text(max_size=80)
    | st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
)
def test_garbage_cursors_are_invalid_never_a_crash(
    indexes: dict[str, SearchIndex], cursor: str
) -> None:
    for index in indexes.values():
        try:
            index.search(SearchRequest("brain", limit=5, cursor=cursor))
        except InvalidCursor:
            continue
        raise AssertionError(f"accepted garbage cursor {cursor!r}")


@given(st.text(max_size=200))
def test_analyzed_tokens_are_engine_safe(text: str) -> None:
    # Tokens never hold whitespace or ASCII punctuation: tantivy's whitespace tokenizer
    # and FTS5's ascii tokenizer then split them identically.
    for token in analyzed_text(text).split(" "):
        if token:
            assert all(ch.isalnum() for ch in token), token
            assert not any(ch.isascii() and ch.isupper() for ch in token)
    assert " ".join(words(text)) == " ".join(words(text))

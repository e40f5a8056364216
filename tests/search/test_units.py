"""Unit tests of the shared pieces: analyzer, snippets, cursors, spelling, lexicon."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omicsoracle.search import CursorExpired, InvalidCursor, SearchFilters, SearchRequest
from omicsoracle.search.analysis import tokens, word_spans, words
from omicsoracle.search.cursor import CursorCodec, CursorState, SnapshotCache, fingerprint
from omicsoracle.search.fields import date_key, parse_date, samples_bucket, samples_key, tag
from omicsoracle.search.snippets import LEAD, WINDOW, _best_window, make_snippet
from omicsoracle.search.spelling import SpellingVocabulary
from omicsoracle.search.synonyms import canonical_organism, lexicon, types_for


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Parkinson's disease", "parkinsons diseases"),
        ("Parkinson’s", "PARKINSON"),
        ("triple-negative", "triple negative"),
        ("TNF-α", "tnf alpha"),
        ("naïve café", "naive cafe"),
        ("RNA-Seq", "rna seq"),
    ],
)
def test_analyzer_equivalences(a: str, b: str) -> None:
    assert tokens(a) == tokens(b)


def test_word_spans_match_words_and_offsets() -> None:
    text = "Parkinson’s disease: α-synuclein (SNCA) in naïve mice"
    spans = word_spans(text)
    assert [w for w, _, _ in spans] == words(text)
    assert [text[s:e] for _, s, e in spans][:3] == ["Parkinson", "disease", "α"]


def test_snippet_window_and_offsets() -> None:
    summary = ("Filler text about nothing in particular. " * 12
               + "Here the breast cancer cohort is described in detail. " + "More filler. " * 10)  # fmt: skip
    snip = make_snippet(summary, "title", frozenset(tokens("breast cancer")))
    assert 100 < len(snip.text) <= 300
    assert [snip.text[s:e] for s, e in snip.highlights] == ["breast", "cancer"]
    assert snip.text.startswith("…")
    assert make_snippet(summary + "x " * 200, "", frozenset(["breast"])).text.endswith("…")
    short = make_snippet("", "Breast Cancer title", frozenset(tokens("cancer")))
    assert short.text == "Breast Cancer title"
    assert short.highlights == ((7, 13),)


def _best_window_by_rescan(hits: list[tuple[int, int, str]], length: int) -> int:
    """The window rule stated directly: every candidate start, its hits counted afresh."""
    best_start, best_score = 0, (-1, -1)
    for start, _, _ in hits:
        win_start = max(0, min(start - LEAD, length - WINDOW))
        inside = [h for h in hits if h[0] >= start and h[1] <= win_start + WINDOW]
        score = (len({h[2] for h in inside}), len(inside))
        if score > best_score:
            best_start, best_score = win_start, score
    return best_start


@given(
    st.lists(
        st.tuples(st.integers(0, 3000), st.integers(1, 300), st.sampled_from("abcde")),
        max_size=60,
    )
)
def test_snippet_window_one_pass_equals_rescan(raw: list[tuple[int, int, str]]) -> None:
    # Hits as _matches gives them: sorted by start, not overlapping; some longer than
    # a window's tail (a word of 300 characters ends past the window it starts in).
    hits, end = [], 0
    for gap, width, stem in raw:
        start = end + gap % 200
        hits.append((start, start + width, stem))
        end = start + width + 1
    length = end + 10
    assert _best_window(hits, length) == _best_window_by_rescan(hits, length)


def test_cursor_codec_roundtrip_and_binding() -> None:
    codec = CursorCodec("tantivy", b"k" * 32)
    req = SearchRequest("brain", filters=SearchFilters(organism=("human",)))
    cur = codec.encode(req, CursorState(3, 20, 1.5))
    assert codec.decode(req, cur) == CursorState(3, 20, 1.5)
    with pytest.raises(InvalidCursor):
        CursorCodec("tantivy", b"x" * 32).decode(req, cur)  # another index's key
    with pytest.raises(InvalidCursor):
        CursorCodec("sql", b"k" * 32).decode(req, cur)
    with pytest.raises(InvalidCursor):
        codec.decode(SearchRequest("brain"), cur)
    assert fingerprint(req) == fingerprint(SearchRequest("brain", limit=7, filters=req.filters))


def test_snapshot_cache_bounds() -> None:
    evicted: list[str] = []
    cache: SnapshotCache[str] = SnapshotCache(capacity=2, on_evict=evicted.append)
    for gen in (1, 2, 3):
        cache.put(gen, f"s{gen}")
    assert evicted == ["s1"]
    assert cache.get(1) is None
    assert cache.get(3) == "s3"
    with pytest.raises(CursorExpired):
        cache.require(1)


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="limit"):
        SearchRequest("x", limit=0)
    with pytest.raises(ValueError, match="sort"):
        SearchRequest("x", sort="random")  # type: ignore[arg-type]


def test_sort_keys_and_buckets() -> None:
    d1, d2 = parse_date("2010-01-02"), parse_date("2011-05-06")
    assert date_key(d2, 1) > date_key(d1, 999) > date_key(None, 10**9 - 1)
    assert samples_key(5, 1) > samples_key(4, 99) > samples_key(None, 5)
    assert [samples_bucket(n) for n in (None, 0, 5, 6, 20, 21, 501)] == [7, 0, 0, 1, 2, 3, 6]
    assert parse_date("2010-13-45") is None
    assert tag("organism", "Homo  Sapiens") == tag("organism", "homo sapiens")


def test_spelling_candidates() -> None:
    vocab = SpellingVocabulary([("disease", 500), ("diseases", 90), ("decease", 3), ("x1", 9)])
    assert vocab.candidates("diseese", 1)[0][:2] == ("disease", 1)
    assert vocab.candidates("nothing", 1) == []


def test_lexicon_tables() -> None:
    assert canonical_organism("human") == "Homo sapiens"
    assert canonical_organism("Mice") == "Mus musculus"
    assert canonical_organism("Unknownia") == "Unknownia"
    assert types_for("RNA-seq") == ("Expression profiling by high throughput sequencing",)
    assert len(types_for("methylation")) >= 2
    assert ("nsclc",) in lexicon()
    assert tuple(tokens("down syndrome")) in lexicon()

"""The query language: parsing only (no index)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omicsoracle.query import parse_query, parse_range
from omicsoracle.search import SearchFilters


def test_words_phrases_exclusions() -> None:
    q = parse_query('breast cancer "gene expression" -mouse -"cell line" NOT rat AND OR (x)')
    assert q.terms == ("breast", "cancer", "x")
    assert q.phrases == ("gene expression",)
    assert q.excluded == ("mouse", "cell line", "rat")


def test_filters_are_normalised() -> None:
    q = parse_query(
        "liver organism:human,mouse type:rna-seq platform:gpl570 samples:>=20 "
        'year:2010..2014 raw:cel organism:"Danio rerio" species: rat'
    )
    assert q.terms == ("liver",)
    assert q.filters == SearchFilters(
        organism=("Homo sapiens", "Mus musculus", "Danio rerio", "Rattus norvegicus"),
        type=("Expression profiling by high throughput sequencing",),
        platform=("GPL570",),
        min_samples=20,
        year_from=2010,
        year_to=2014,
        raw_data=("CEL",),
    )


def test_bad_filters_are_reported_not_raised() -> None:
    q = parse_query("samples:lots year: -organism:human brain")
    assert q.terms == ("brain",)
    assert q.filters.is_empty()
    assert set(q.ignored) == {"samples:lots", "year:", "-organism:human"}
    assert parse_query("foo:bar").terms == ("foo:bar",)  # unknown key: plain text


def test_ranges() -> None:
    assert parse_range(">=20") == (20, None)
    assert parse_range(">20") == (21, None)
    assert parse_range("<5") == (None, 4)
    assert parse_range("7") == (7, 7)
    assert parse_range("2010-2014") == (2010, 2014)
    assert parse_range("..100") == (None, 100)
    assert parse_range("abc") is None
    q = parse_query("samples:>=10 samples:<=50 samples:>=20")
    assert (q.filters.min_samples, q.filters.max_samples) == (20, 50)


def test_id_lookup() -> None:
    assert parse_query("GSE1234").ids == ("GSE1234",)
    assert parse_query("gse1, GSM22;GPL570 gds5 12345678").ids == (
        "GSE1", "GSM22", "GPL570", "GDS5", "12345678",
    )  # fmt: skip
    mixed = parse_query("GSE1234 cancer")
    assert mixed.ids == ()
    assert mixed.terms == ("GSE1234", "cancer")
    assert parse_query("GSE0").ids == ()


def test_unclosed_quote_and_empty() -> None:
    assert parse_query('"breast cancer').phrases == ("breast cancer",)
    assert parse_query("").is_empty()
    assert parse_query("   ( ) ").is_empty()
    assert parse_query("organism:human").is_empty() is False


@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    q = parse_query(text)
    assert isinstance(q.terms, tuple)

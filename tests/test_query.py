"""The query language: parsing only (no index)."""

from __future__ import annotations

import pytest
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


NATURAL_CASES = [
    ("HCC RNA-seq in human liver tumours, at least 20 samples", {"min_samples": 20}),
    ("liver ≥20 samples", {"min_samples": 20}),
    ("liver >= 20 samples", {"min_samples": 20}),
    ("liver 20+ samples", {"min_samples": 20}),
    ("liver with 20 samples", {"min_samples": 20}),
    ("liver more than 50 samples", {"min_samples": 51}),
    ("liver over 50 samples", {"min_samples": 51}),
    ("liver fewer than 10 samples", {"max_samples": 9}),
    ("liver at most 10 samples", {"max_samples": 10}),
    ("liver between 10 and 50 samples", {"min_samples": 10, "max_samples": 50}),
    ("liver 10-50 samples", {"min_samples": 10, "max_samples": 50}),
    ("liver since 2015", {"year_from": 2015}),
    ("liver after 2012", {"year_from": 2013}),
    ("liver before 2010", {"year_to": 2009}),
    ("liver from 2010 to 2014", {"year_from": 2010, "year_to": 2014}),
    ("liver 2010-2014", {"year_from": 2010, "year_to": 2014}),
    ("liver between 2010 and 2014", {"year_from": 2010, "year_to": 2014}),
    ("liver in 2013", {"year_from": 2013, "year_to": 2013}),
    ("liver in 2013, at least 5 samples", {"year_from": 2013, "year_to": 2013, "min_samples": 5}),
]


@pytest.mark.parametrize(("text", "expected"), NATURAL_CASES)
def test_natural_language_filters(text: str, expected: dict[str, int]) -> None:
    q = parse_query(text)
    assert q.filters.to_dict() == expected
    assert q.understood
    leftover = " ".join(q.terms).lower()
    for word in ("least", "samples", "more", "fewer", "between", "since", "2013", "2010"):
        assert word not in leftover.split(), (text, q.terms)


def test_natural_filters_leave_other_numbers_alone() -> None:
    assert parse_query("trisomy 21 samples").filters.is_empty()
    assert parse_query("over 50").terms == ("over", "50")
    assert parse_query("in 1850").filters.is_empty()  # not a GEO year
    assert parse_query("liver 2014-2010").filters.is_empty()  # backwards span
    assert parse_query('"at least 20 samples"').phrases == ("at least 20 samples",)
    assert parse_query('"at least 20 samples"').filters.is_empty()
    assert parse_query("-2010-2014 liver").filters.is_empty()
    q = parse_query("in 2000 samples")  # a count, not the year 2000
    assert (q.filters.min_samples, q.filters.year_from) == (2000, None)


def test_natural_filters_merge_with_explicit_ones() -> None:
    q = parse_query("brain samples:<=100 at least 20 samples year:2005..2015 since 2010")
    assert q.filters.to_dict() == {
        "min_samples": 20, "max_samples": 100, "year_from": 2010, "year_to": 2015,
    }  # fmt: skip
    assert q.understood == ("at least 20 samples", "since 2010")
    assert q.terms == ("brain",)


def test_stop_words_do_not_break_id_lookup() -> None:
    assert parse_query("GSE1234 and GSE5678").ids == ("GSE1234", "GSE5678")


def test_quoted_annotation_values_keep_their_commas() -> None:
    """Ontology labels have commas; a quoted annotation value is one value."""
    f = parse_query('cell_type:"B cell, CD19-positive" tissue:liver,brain').filters
    assert f.cell_type == ("B cell, CD19-positive",)
    assert f.tissue == ("liver", "brain")
    assert parse_query('organism:"human, mouse"').filters.organism == (
        "Homo sapiens",
        "Mus musculus",
    )

"""Abbreviations the corpus defines itself (Schwartz-Hearst), and the shipped table."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from omicsoracle.search import abbreviations
from omicsoracle.search.abbreviations import definitions, mine

REPO = Path(__file__).parents[2]
CORPUS = REPO / "data" / "corpus" / "geo_series.jsonl.gz"
SHIPPED = REPO / "src" / "omicsoracle" / "search" / "vocab" / "corpus_abbreviations.tsv"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Profiling of non-small cell lung cancer (NSCLC) tumours",
            ("NSCLC", "non-small cell lung cancer"),
        ),
        ("in hepatocellular carcinoma (HCC) and", ("HCC", "hepatocellular carcinoma")),
        ("patients with type 2 diabetes (T2D)", ("T2D", "type 2 diabetes")),
        ("single-cell RNA sequencing (scRNA-seq) of", ("scRNA-seq", "single-cell RNA sequencing")),
    ],
)
def test_a_definition_is_found(text: str, expected: tuple[str, str]) -> None:
    assert list(definitions(text)) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "mice were treated (n = 12) with",
        "as described before (2015) in",
        "a significant change (p < 0.05) was",
        "cells from the liver (see above) were",  # no letters of the form in order
        "a stromal marker (CD44) was",  # nothing before spells it
    ],
)
def test_what_is_not_a_definition(text: str) -> None:
    assert list(definitions(text)) == []


@pytest.fixture(scope="module")
def mined() -> dict[str, tuple[str, int]]:
    return {s: (long, n) for s, long, n in mine(abbreviations.corpus_texts(CORPUS))}


def test_the_corpus_defines_the_abbreviations_researchers_type(
    mined: dict[str, tuple[str, int]],
) -> None:
    assert mined["NSCLC"][0] == "non-small cell lung cancer"
    assert mined["HCC"][0] == "hepatocellular carcinoma"
    assert mined["AML"][0] == "acute myeloid leukemia"
    assert mined["MS"][0] == "multiple sclerosis"
    assert mined["TNBC"][0] == "triple-negative breast cancer"
    assert all(n >= abbreviations.MIN_SERIES for _, n in mined.values())


def test_the_shipped_table_is_what_the_command_makes() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert abbreviations.main([str(CORPUS)]) == 0
    assert out.getvalue() == SHIPPED.read_text(encoding="utf-8")

"""Extractive summaries of real search results: every number checkable on the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import SearchRequest
from omicsoracle.summary import summarize_results, summarize_series, themes


@pytest.fixture(scope="module")
def rt(demo_settings: Settings) -> Iterator[Runtime]:
    with Runtime.open(demo_settings, catch_up_index=False) as runtime:
        yield runtime


def _search(rt: Runtime, q: str) -> dict[str, Any]:
    return rt.search(SearchRequest(query=q, limit=20)).to_dict()


def test_a_result_set_summary_names_what_the_studies_share(rt: Runtime) -> None:
    response = _search(rt, "NSCLC")
    summary = summarize_results(response)
    assert summary.total == response["total"]
    assert summary.based_on == len(response["results"])
    assert summary.themes[0]["text"] == "non small cell lung cancer"  # one phrase, not 4 pairs
    # Every theme count is true of the rows it was read from.
    titles = [r["title"].lower().replace("-", " ") for r in response["results"]]
    for theme in summary.themes:
        assert sum(theme["text"] in t for t in titles) >= theme["results"] * 0.9
    # Organisms and assays are the facets over all matches, in facet order.
    assert [o["value"] for o in summary.organisms] == [
        f["value"] for f in response["facets"]["organism"] if f["value"] != "unknown"
    ][:3]
    assert summary.assays[0]["value"] == response["facets"]["type"][0]["value"]
    sizes = [r["n_samples"] for r in response["results"] if r["n_samples"]]
    assert summary.samples["min"] == min(sizes)
    assert summary.samples["max"] == max(sizes)
    assert f"{response['total']:,} series match." in summary.text
    assert "Homo sapiens" in summary.text


def test_no_matches_says_so(rt: Runtime) -> None:
    summary = summarize_results(_search(rt, "zzzqqqxxy"))
    assert summary.total == 0
    assert summary.text == "No series match."


def test_themes_do_not_cross_clauses() -> None:
    got = themes(
        [
            "Breast cancer: brain metastasis",
            "Breast cancer: brain metastasis in mice",
            "Breast cancer, liver",
        ]
    )
    texts = [t["text"] for t in got]
    assert "breast cancer" in texts
    assert "cancer brain" not in " | ".join(texts)


def test_a_series_summary_is_its_own_words(rt: Runtime) -> None:
    record = rt.store.get("GSE93431")
    assert record is not None
    summary = summarize_series(record)
    assert summary["accession"] == "GSE93431"
    first = " ".join(str(record.get("summary") or "").split())[:40]
    assert summary["text"].startswith(first)

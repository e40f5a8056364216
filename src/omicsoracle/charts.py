"""Chart data of a result set, computed from its search facets (issue 6, visualization).

The page draws the same charts from the search response already on screen
(``tabs/visualization.js`` mirrors :func:`result_charts`), so this module adds no numbers
of its own: every bar is a facet count, the timeline is the year facet with the years
between filled in as zero, and the histogram is the sample-count facet in bucket order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omicsoracle.search.fields import SAMPLE_BUCKETS, UNKNOWN

# Facet -> (title, axis label of the category) of its bar chart.
BARS: dict[str, tuple[str, str]] = {
    "organism": ("Series by organism", "Organism"),
    "type": ("Series by experiment type", "Experiment type"),
    "platform": ("Series by platform", "Platform"),
}
COUNT_LABEL = "Series"

Facets = Mapping[str, Sequence[Mapping[str, Any]]]


def result_charts(total: int, facets: Facets) -> dict[str, Any]:
    """``{"total", "charts": {organism, type, platform, year, samples}}`` from facets."""
    charts: dict[str, Any] = {
        name: bar_chart(facets.get(name, ()), title, label) for name, (title, label) in BARS.items()
    }
    charts["year"] = timeline(facets.get("year", ()))
    charts["samples"] = histogram(facets.get("samples", ()))
    return {"total": total, "charts": charts}


def bar_chart(buckets: Sequence[Mapping[str, Any]], title: str, label: str) -> dict[str, Any]:
    """Horizontal bars in facet order (most first); "unknown" stays a bar of its own,
    so the bars add up to what the facet says."""
    return {
        "kind": "bar",
        "title": title,
        "x_label": COUNT_LABEL,
        "y_label": label,
        "categories": [str(b["value"]) for b in buckets],
        "counts": [int(b["count"]) for b in buckets],
    }


def timeline(buckets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Series per release year from the first year to the last, gaps as 0; series
    without a release date are counted in ``unknown`` and not drawn."""
    by_year: dict[int, int] = {}
    unknown = 0
    for b in buckets:
        value = str(b["value"])
        if value.isdigit() and len(value) == 4:
            by_year[int(value)] = int(b["count"])
        else:
            unknown += int(b["count"])
    years = list(range(min(by_year), max(by_year) + 1)) if by_year else []
    return {
        "kind": "timeline",
        "title": "Release timeline",
        "x_label": "Release year",
        "y_label": COUNT_LABEL,
        "categories": [str(y) for y in years],
        "counts": [by_year.get(y, 0) for y in years],
        "unknown": unknown,
    }


def histogram(buckets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Series per sample-count bucket, every bucket in size order (empty ones as 0)."""
    counts = {str(b["value"]): int(b["count"]) for b in buckets}
    labels = [label for _, label in SAMPLE_BUCKETS]
    return {
        "kind": "histogram",
        "title": "Sample-size histogram",
        "x_label": "Samples per series",
        "y_label": COUNT_LABEL,
        "categories": labels,
        "counts": [counts.get(label, 0) for label in labels],
        "unknown": counts.get(UNKNOWN, 0),
    }

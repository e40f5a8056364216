"""Extractive summaries: of a result set (what the studies share) and of one series.

Nothing here is generated: every statement is a count over the search response (its
facets cover every match, its rows the best ones) or a phrase copied from the titles
and texts. A researcher can check each number against the page, and the default path
needs no network (an LLM summary, if ever added, sits behind a setting).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from omicsoracle.search.analysis import words
from omicsoracle.search.stopwords import STOPWORDS

# Words of a title that say nothing about its topic, on top of the English stop words.
_GENERIC = frozenset(
    [
        "analysis",
        "analyses",
        "data",
        "dataset",
        "datasets",
        "study",
        "studies",
        "profiling",
        "profile",
        "profiles",
        "expression",
        "gene",
        "genes",
        "genome",
        "genomic",
        "genomics",
        "transcriptome",
        "transcriptomic",
        "sequencing",
        "seq",
        "array",
        "arrays",
        "microarray",
        "human",
        "mouse",
        "mice",
        "cells",
        "cell",
        "cellular",
        "sample",
        "samples",
        "using",
        "based",
        "identification",
        "role",
        "effect",
        "effects",
        "response",
        "reveals",
        "characterization",
        "comparison",
        "comparative",
        "associated",
        "novel",
        "different",
        "during",
        "specific",
        "related",
        "high",
        "low",
        "two",
        "three",
        "various",
    ]
)
# A phrase counts as shared when at least this share of the top results has it.
SHARED_AT = 0.2
MAX_THEMES = 6
MAX_PHRASE = 5
# Organisms below this share of the matches are not named in the text.
MIN_SHARE = 0.02
_CLAUSE = re.compile(r"[,:;()\[\]]|\s[-–]\s|\.\s")
MAX_FACETS = 3
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


@dataclass
class ResultSummary:
    """What a result set holds; ``text`` says it in two or three sentences."""

    text: str
    total: int
    based_on: int  # rows the themes were read from (facets cover every match)
    themes: list[dict[str, Any]] = field(default_factory=list)
    organisms: list[dict[str, Any]] = field(default_factory=list)
    assays: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)
    years: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 2 and not w.isdigit()]


def _segments(title: str) -> list[list[str]]:
    """Content words of each clause (a phrase never spans a colon, comma or bracket)."""
    return [_content_words(part) for part in _CLAUSE.split(title)]


def themes(titles: Sequence[str], limit: int = MAX_THEMES) -> list[dict[str, Any]]:
    """Phrases (one to MAX_PHRASE words) that at least SHARED_AT of the titles contain.

    A longer phrase is said instead of the shorter ones inside it when nearly as common
    (80%), so "non small cell lung cancer" is said once rather than as four pairs.
    """
    if not titles:
        return []
    docs = Counter[str]()
    for title in titles:
        grams: set[str] = set()
        for tokens in _segments(title):
            for n in range(1, MAX_PHRASE + 1):
                for k in range(len(tokens) - n + 1):
                    window = tokens[k : k + n]
                    if not all(w in _GENERIC for w in window):
                        grams.add(" ".join(window))
        docs.update(grams)
    floor = max(2, round(SHARED_AT * len(titles)))
    common = {g: n for g, n in docs.items() if n >= floor}

    def inside(small: str, big: str) -> bool:
        return small != big and f" {small} " in f" {big} "

    kept = {
        g: n
        for g, n in common.items()
        if not any(inside(g, big) and bn >= 0.8 * n for big, bn in common.items())
    }
    chosen: list[tuple[str, int]] = []
    for gram, n in sorted(kept.items(), key=lambda gn: (-gn[1], -len(gn[0]), gn[0])):
        if any(inside(gram, c) or inside(c, gram) for c, _ in chosen):
            continue
        chosen.append((gram, n))
        if len(chosen) == limit:
            break
    return [{"text": g, "results": n} for g, n in chosen]


def _top(facet: Sequence[Mapping[str, Any]], limit: int = MAX_FACETS) -> list[dict[str, Any]]:
    rows = [f for f in facet if f.get("value") not in (None, "", "unknown")]
    return [{"value": f["value"], "count": int(f["count"])} for f in rows[:limit]]


def _share(part: int, total: int) -> str:
    return f"{round(100 * part / total)}%" if total else "0%"


def summarize_results(response: Mapping[str, Any]) -> ResultSummary:
    """Summarise a search response (``SearchResponse.to_dict()`` or the API's JSON)."""
    total = int(response.get("total") or 0)
    rows: Sequence[Mapping[str, Any]] = response.get("results") or []
    facets: Mapping[str, Sequence[Mapping[str, Any]]] = response.get("facets") or {}
    if total == 0:
        return ResultSummary(text="No series match.", total=0, based_on=0)
    organisms = _top(facets.get("organism", ()))
    assays = _top(facets.get("type", ()))
    sizes = [int(r["n_samples"]) for r in rows if r.get("n_samples")]
    samples: dict[str, Any] = {}
    if sizes:
        samples = {
            "median": statistics.median(sizes),
            "min": min(sizes),
            "max": max(sizes),
            "of_results": len(sizes),
        }
    years_seen = sorted(
        int(str(r["release_date"])[:4])
        for r in rows
        if str(r.get("release_date") or "")[:4].isdigit()
    )
    year_facet = [f for f in facets.get("year", ()) if str(f.get("value", "")).isdigit()]
    years: dict[str, Any] = {}
    if year_facet:
        values = sorted(int(f["value"]) for f in year_facet)
        busiest = max(year_facet, key=lambda f: (int(f["count"]), int(f["value"])))
        years = {"from": values[0], "to": values[-1], "busiest": int(busiest["value"])}
    elif years_seen:
        years = {"from": years_seen[0], "to": years_seen[-1]}
    shared = themes([str(r.get("title") or "") for r in rows])

    sentences = [f"{total:,} series match."]
    if shared:
        listed = ", ".join(f'"{t["text"]}" ({t["results"]} of {len(rows)})' for t in shared[:4])
        sentences.append(f"The top {len(rows)} share {listed}.")
    if organisms or assays:
        parts = []
        if organisms:
            named = [o for o in organisms if o["count"] >= MIN_SHARE * total] or organisms[:1]
            parts.append(", ".join(f"{o['value']} ({_share(o['count'], total)})" for o in named))
        if assays:
            parts.append(", ".join(f"{a['value'].lower()} ({a['count']:,})" for a in assays[:2]))
        sentences.append("Organisms and assays: " + "; ".join(parts) + ".")
    if samples:
        sentences.append(
            f"Samples per series among the top {samples['of_results']}: median "
            f"{samples['median']:g}, {samples['min']}–{samples['max']}."
        )
    if years:
        span = f"released {years['from']}–{years['to']}"
        if "busiest" in years:
            span += f", most in {years['busiest']}"
        sentences.append(span[0].upper() + span[1:] + ".")
    return ResultSummary(
        text=" ".join(sentences),
        total=total,
        based_on=len(rows),
        themes=shared,
        organisms=organisms,
        assays=assays,
        samples=samples,
        years=years,
    )


def summarize_series(record: Mapping[str, Any], max_sentences: int = 2) -> dict[str, Any]:
    """One series in a few lines: its first summary sentences, design, organisms, size."""
    summary = " ".join(str(record.get("summary") or "").split())
    first = _SENTENCE.split(summary)[:max_sentences] if summary else []
    organisms = list(record.get("organisms") or [])
    facts = []
    if organisms:
        facts.append(", ".join(organisms))
    if record.get("types"):
        facts.append("; ".join(str(t).lower() for t in record["types"]))
    n = record.get("n_samples") or record.get("sample_count")
    if n:
        facts.append(f"{n} samples")
    text = " ".join(first)
    if facts:
        text = (text + " " if text else "") + "(" + ", ".join(facts) + ".)"
    return {
        "accession": record.get("accession"),
        "title": record.get("title"),
        "text": text or str(record.get("title") or ""),
        "design": " ".join(str(record.get("overall_design") or "").split())[:400] or None,
    }

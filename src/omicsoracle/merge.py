"""How records about the same series from different sources combine.

A series can arrive from several files: the corpus JSONL has full text but no
dates or PubMed IDs, the GEO Browse CSV has dates, PubMed IDs, contact and SRA
but titles only, and a SOFT/MINiML/series-matrix file is GEO's full record.
Each source has a priority per field; a non-empty value replaces the stored one
when its priority is at least the stored value's. The result does not depend on
the order files are ingested in, and re-ingesting a file changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Full GEO records (SOFT, MINiML, series matrix) are authoritative for every field.
_FULL_RECORD = {"*": 3}

FIELD_PRIORITY: Mapping[str, Mapping[str, int]] = {
    "geo_soft": _FULL_RECORD,
    "geo_miniml": _FULL_RECORD,
    "geo_series_matrix": _FULL_RECORD,
    # The merge rule: text, organisms, types, platforms and sample count
    # from the JSONL; release date, PubMed IDs, contact, SRA, supplementary types
    # from the CSV.
    "geo_jsonl": {
        "title": 2,
        "summary": 2,
        "overall_design": 2,
        "organisms": 2,
        "types": 2,
        "platforms": 2,
        "n_samples": 2,
        "*": 1,
    },
    "geo_browse_csv": {
        "release_date": 2,
        "pubmed_ids": 2,
        "contact": 2,
        "sra": 2,
        "supplementary_types": 2,
        "*": 1,
    },
    "geo_text_export": {"*": 1},
}

# Fields that describe provenance, not the series; never merged.
_NOT_MERGED = frozenset({"accession", "source"})


def priority(source: str, field: str) -> int:
    """Priority of ``source`` for ``field`` (0 for an unknown source)."""
    table = FIELD_PRIORITY.get(source)
    if table is None:
        return 0
    return table.get(field, table.get("*", 0))


def is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merge_series(
    stored: dict[str, Any] | None,
    stored_sources: dict[str, str] | None,
    incoming: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge an incoming series doc into the stored one.

    Returns the merged doc and, per field, the source its value came from.
    """
    source = incoming["source"]
    if stored is None:
        doc = dict(incoming)
        sources = {
            k: source for k, v in incoming.items() if k not in _NOT_MERGED and not is_empty(v)
        }
        doc["source"] = _sources_label(sources)
        return doc, sources
    doc = dict(stored)
    sources = dict(stored_sources or {})
    for field, value in incoming.items():
        if field in _NOT_MERGED or is_empty(value):
            continue
        held_by = sources.get(field)
        if held_by is None or priority(source, field) >= priority(held_by, field):
            doc[field] = value
            sources[field] = source
    doc["source"] = _sources_label(sources)
    return doc, sources


def _sources_label(sources: Mapping[str, str]) -> str:
    return ",".join(sorted(set(sources.values())))

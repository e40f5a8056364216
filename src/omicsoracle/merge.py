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
    # NCBI's esummary (`omicsoracle sync geo`): current for what a docsum carries, but
    # only a summary: it has no overall design, contact or sample characteristics, and
    # a full GEO record (priority 3) always wins. Empty values never replace stored
    # ones (see merge_series), so a docsum does not blank what a SOFT file set.
    "geo_eutils": {
        "title": 2,
        "summary": 2,
        "organisms": 2,
        "types": 2,
        "platforms": 2,
        "n_samples": 2,
        "release_date": 2,
        "pubmed_ids": 2,
        "supplementary_types": 2,
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


# Breaks ties between two sources of equal priority when record dates cannot:
# the earlier in this list wins, so the merge never depends on ingest order.
SOURCE_RANK = (
    "geo_soft",
    "geo_miniml",
    "geo_series_matrix",
    "geo_eutils",  # above the exports: NCBI's current docsum beats a file's older copy
    "geo_jsonl",
    "geo_browse_csv",
    "geo_text_export",
)


def _rank(source: str) -> int:
    return SOURCE_RANK.index(source) if source in SOURCE_RANK else len(SOURCE_RANK)


def _wins(
    source: str, held_by: str | None, field: str, incoming: dict[str, Any], stored: dict[str, Any]
) -> bool:
    if held_by is None or held_by == source:
        return True  # new field, or the same source's newer version of its record
    base = field.split(".", 1)[0]
    new, old = priority(source, base), priority(held_by, base)
    if new != old:
        return new > old
    # Equal priority: the more recently updated record wins, then the fixed rank.
    new_date, old_date = incoming.get("last_update_date"), stored.get("last_update_date")
    if new_date and old_date and new_date != old_date:
        return bool(new_date > old_date)
    return _rank(source) < _rank(held_by)


def merge_series(
    stored: dict[str, Any] | None,
    stored_sources: dict[str, str] | None,
    incoming: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge an incoming series doc into the stored one.

    Returns the merged doc and, per field, the source its value came from
    (``extra`` is merged key by key, tracked as ``extra.<key>``).
    """
    source = incoming["source"]
    doc: dict[str, Any] = dict(stored) if stored is not None else {}
    sources = dict(stored_sources or {})
    reference = stored or {}
    for field, value in incoming.items():
        if field in _NOT_MERGED or is_empty(value):
            continue
        if field == "extra":
            extra = dict(doc.get("extra") or {})
            for key, item in value.items():
                name = f"extra.{key}"
                if not is_empty(item) and _wins(
                    source, sources.get(name), name, incoming, reference
                ):
                    extra[key] = item
                    sources[name] = source
            doc["extra"] = extra
            continue
        if _wins(source, sources.get(field), field, incoming, reference):
            doc[field] = value
            sources[field] = source
    for field, value in incoming.items():
        doc.setdefault(field, value)  # keep the record's shape: [] and {} for empty fields
    doc["accession"] = incoming["accession"]
    doc["source"] = _sources_label(sources)
    return doc, sources


def _sources_label(sources: Mapping[str, str]) -> str:
    return ",".join(sorted(set(sources.values())))

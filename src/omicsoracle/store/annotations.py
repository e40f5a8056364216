"""The enrichment facets of series search documents, read from the enrichment tables.

A series is annotated with what the extraction step (``omicsoracle.extraction``) found
in it and in the records it links: entities of its own text, of its samples, of its
GEO DataSets and of its PubMed articles; and the normalised characteristics of its
samples plus its DataSets' subsets ("disease state: RCC"), as ``key: value``.

Keys whose values are one per sample (donor IDs, barcodes, replicate labels) would flood
the facet with values that each name one series; only their key is kept (as a filter).
At GEO's size they are most of the distinct values (~7.5M samples), and counting them
made every facetted search several times slower.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from omicsoracle.extraction.characteristics import facet_value, normalize_key, normalize_value

GROUP = 2  # the sample count given to a DataSet subset's value: more than one sample
ENTITY_FACETS = ("disease", "tissue", "cell_type", "cell_line", "gene")
# Past this many distinct values of one key in one series, the key is an identifier-like
# column (donor, age, barcode) rather than a grouping: its values stay out of the facet.
MAX_VALUES_PER_KEY = 50
# A key of at least this many values, nine in ten carried by one sample of the series,
# is an identifier too ("donor: D1".."donor: D12"). Fewer values, or values repeated
# over samples (groups, pairs), are a design: "treatment: LPS" of three unreplicated
# arms, "cell line: U266" on six samples, stay facet values.
MIN_IDENTIFIER_VALUES = 4

# (series, entity type, normalised form) of each record kind a series links to. Each
# join must read the entities table by its primary-key prefix (record_id): "CROSS JOIN"
# is SQLite's way to fix the join order (without it, SQLite started from the type index
# and scanned every gene mention: 28 s per batch on the demo corpus); PostgreSQL treats
# it as a plain join and plans it well on its own.
_ENTITY_SQL = (
    # No type condition here: with one, SQLite reads the (type, normalized) index, every
    # gene mention of the corpus, instead of the primary key (17x slower on the demo).
    "SELECT e.record_id, e.type, e.normalized FROM entities e WHERE e.record_id IN :keys",
    "SELECT l.series, e.type, e.normalized FROM series_samples l CROSS JOIN entities e "
    "WHERE e.record_id = l.sample AND l.series IN :keys AND e.type IN :types",
    "SELECT d.reference_series, e.type, e.normalized FROM datasets d CROSS JOIN entities e "
    "WHERE e.record_id = d.accession AND d.reference_series IN :keys AND e.type IN :types",
    "SELECT r.series, e.type, e.normalized FROM relationships r CROSS JOIN entities e "
    "WHERE e.record_id = r.pmid AND r.series IN :keys AND e.type IN :types",
)
_CHARACTERISTICS_SQL = (
    "SELECT l.series, c.key, c.value, count(*) FROM series_samples l "
    "CROSS JOIN sample_characteristics c WHERE c.sample = l.sample AND l.series IN :keys "
    "GROUP BY l.series, c.key, c.value"
)


def _bound(sql: str, *names: str) -> Any:
    return text(sql).bindparams(*(bindparam(n, expanding=True) for n in names))


def series_annotations(
    conn: Connection,
    keys: Sequence[str],
    subsets: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, list[str]]]:
    """series -> facet -> values (entities and characteristics), for search documents.

    ``subsets`` are the GDS subsets of each series (already read with the GDS rows).
    """
    out: dict[str, dict[str, dict[str, None]]] = defaultdict(lambda: defaultdict(dict))
    for sql in _ENTITY_SQL:
        names = ("keys", "types") if ":types" in sql else ("keys",)
        params: dict[str, Any] = {"keys": list(keys), "types": list(ENTITY_FACETS)}
        rows = conn.execute(_bound(sql, *names), {n: params[n] for n in names})
        for series, kind, value in rows:
            if series and value and kind in ENTITY_FACETS:
                out[series][kind][value] = None
    # (key, value, samples carrying it) per series.
    pairs: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for series, key, value, samples in conn.execute(
        _bound(_CHARACTERISTICS_SQL, "keys"), {"keys": list(keys)}
    ):
        pairs[series].append((key, value, int(samples)))
    for series, items in subsets.items():
        for subset in items:
            key, unit = normalize_key(str(subset.get("type") or ""))
            value = normalize_value(key, str(subset.get("description") or ""), unit)
            if key and value:
                # A DataSet subset is a curated group of samples, never an identifier.
                pairs[series].append((key, value, GROUP))
    for series, found in pairs.items():
        characteristics = _characteristics(found)
        out[series]["characteristic"] = dict.fromkeys(characteristics)
        out[series]["characteristic_key"] = dict.fromkeys(k for k, _, _ in found)
    return {s: {name: list(values) for name, values in facets.items()} for s, facets in out.items()}


def _characteristics(pairs: Iterable[tuple[str, str, int]]) -> list[str]:
    """The facet values of one series' (key, value, samples) rows; see the module doc."""
    by_key: dict[str, dict[str, int]] = defaultdict(dict)
    for key, value, samples in pairs:
        values = by_key[key]
        values[value] = values.get(value, 0) + samples
    return [
        facet_value(key, value)
        for key, values in by_key.items()
        if not _identifier_like(values)
        for value in values
    ]


def _identifier_like(values: dict[str, int]) -> bool:
    """Values (-> samples carrying each) of one key in one series name samples, not groups."""
    if len(values) > MAX_VALUES_PER_KEY:
        return True
    singles = sum(1 for n in values.values() if n == 1)
    return len(values) >= MIN_IDENTIFIER_VALUES and singles * 10 >= len(values) * 9

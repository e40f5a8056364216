"""A dataset's expression values and sample groups, as the statistics need them.

A GDS's values arrive as text table chunks (``data_tables``: ID_REF, IDENTIFIER, one
column per sample). The first comparison turns them into one float64 matrix stored as
a compressed ``.npz`` blob (``expression_matrices``), so later ones read one row
instead of parsing 22k text rows; the blob is rebuilt when the table changes.
Only plain arrays go in the blob and it is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omicsoracle.extraction.characteristics import normalize_key, normalize_value
from omicsoracle.store.base import Store

# Platform annotation columns that hold the gene symbol (GPL annot / full SOFT).
_SYMBOL_COLUMNS = ("Gene symbol", "Gene Symbol", "GENE_SYMBOL", "Symbol", "gene_assignment")
_PROBE_COLUMNS = ("ID", "ID_REF")


@dataclass(slots=True)
class Matrix:
    """Probes x samples values of one dataset (NaN = missing)."""

    probes: NDArray[np.str_]
    identifiers: NDArray[np.str_]  # the GDS's own IDENTIFIER column ("" when absent)
    samples: NDArray[np.str_]
    values: NDArray[np.float64]


@dataclass(slots=True)
class Group:
    """A set of samples picked by a GDS subset (``type:description``) or a normalised
    sample characteristic (``key: value``, the characteristic facet's value)."""

    key: str
    value: str
    samples: list[str]
    characteristic: bool = False

    @property
    def label(self) -> str:
        # Subset labels keep the contract's "disease state:RCC"; characteristic ones are
        # spelt like the search facet ("tissue: liver") so the two can be matched.
        return f"{self.key}: {self.value}" if self.characteristic else f"{self.key}:{self.value}"


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:  # "null", "", "NA": missing
        return math.nan
    return value if math.isfinite(value) else math.nan


def build_matrix(store: Store, accession: str) -> Matrix | None:
    """Parse the dataset's table chunks; None when it has no sample value columns."""
    probes: list[str] = []
    identifiers: list[str] = []
    rows: list[list[float]] = []
    samples: list[str] = []
    first = 2
    for columns, chunk in store.data_table(accession):
        if not samples:
            has_identifier = len(columns) > 1 and columns[1].upper() == "IDENTIFIER"
            first = 2 if has_identifier else 1
            samples = [c for c in columns[first:] if c.upper().startswith("GSM")]
            if not samples:
                return None
            first = columns.index(samples[0])
        for row in chunk:
            probes.append(row[0])
            identifiers.append(row[1] if first == 2 else "")
            rows.append([_number(v) for v in row[first : first + len(samples)]])
    if not rows:
        return None
    return Matrix(
        probes=np.array(probes, dtype=np.str_),
        identifiers=np.array(identifiers, dtype=np.str_),
        samples=np.array(samples, dtype=np.str_),
        values=np.array(rows, dtype=np.float64),
    )


def _encode(m: Matrix) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(
        out, probes=m.probes, identifiers=m.identifiers, samples=m.samples, values=m.values
    )
    return out.getvalue()


def _decode(blob: bytes) -> Matrix:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return Matrix(
            probes=z["probes"],
            identifiers=z["identifiers"],
            samples=z["samples"],
            values=z["values"],
        )


def load_matrix(store: Store, accession: str) -> Matrix | None:
    """The dataset's matrix from its blob, built and stored first when missing or stale."""
    source = store.data_table_hash(accession)
    if source is None:
        return None
    stored = store.expression_matrix(accession)
    if stored is not None and stored[0] == source:
        return _decode(stored[1])
    matrix = build_matrix(store, accession)
    if matrix is None:
        return None
    store.put_expression_matrix(accession, source, matrix.values.shape, _encode(matrix))
    return matrix


def gene_symbols(store: Store, platform: str | None, probes: NDArray[np.str_]) -> list[str | None]:
    """Gene symbol of each probe from the platform's annotation table (None: unknown)."""
    mapping: dict[str, str] = {}
    if platform:
        probe_col = symbol_col = -1
        for columns, rows in store.data_table(platform):
            if probe_col < 0:
                probe_col = next((columns.index(c) for c in _PROBE_COLUMNS if c in columns), -1)
                symbol_col = next((columns.index(c) for c in _SYMBOL_COLUMNS if c in columns), -1)
                if probe_col < 0 or symbol_col < 0:
                    break
            for row in rows:
                if len(row) > symbol_col and row[symbol_col]:
                    mapping[row[probe_col]] = row[symbol_col]
    return [mapping.get(str(p)) for p in probes]


def dataset_groups(record: dict[str, Any]) -> list[Group]:
    """Sample groups of a record: its GDS subsets, else its samples' characteristics
    normalised like the characteristic facets (``Tissue: Liver`` and ``tissue: liver``
    are one group, ``tissue: liver``; values differing only in case, ``HeLa`` and
    ``HELA``, are one group spelt the way most samples spell it)."""
    subsets = record.get("subsets_detail") or record.get("subsets") or []
    groups = [
        Group(
            str(s.get("type") or "subset"), str(s.get("description") or s["id"]), list(s["samples"])
        )
        for s in subsets
    ]
    if groups:
        return groups
    # Values that differ only in case are one group, as they are one facet value
    # (the store keeps one spelling per key and lower(value)): "HeLa" and "HELA".
    by_pair: dict[tuple[str, str], list[str]] = {}
    spellings: dict[tuple[str, str], Counter[str]] = {}
    # A series record lists its samples' accessions in "samples" and their summaries
    # (with characteristics) in "samples_page" (store/records.py get_record).
    samples = (record.get("samples_page") or {}).get("items") or []
    for sample in samples:
        for char in sample.get("characteristics") or []:
            key, value = _characteristic(char)
            if not value:
                continue
            slot = (key, value.lower())
            spellings.setdefault(slot, Counter())[value] += 1
            members = by_pair.setdefault(slot, [])
            if sample["accession"] not in members:  # one sample, two spellings
                members.append(sample["accession"])
    groups = [
        Group(key, _most_frequent(spellings[(key, lowered)]), members, characteristic=True)
        for (key, lowered), members in by_pair.items()
    ]
    return sorted(groups, key=lambda g: (g.key, g.value))


def _most_frequent(counts: Counter[str]) -> str:
    # Ties go to the smallest spelling, so the label never depends on sample order.
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def _characteristic(char: Any) -> tuple[str, str]:
    """A stored characteristic normalised (extraction.characteristics): ``[key, value]``
    pairs, ``"key: value"`` strings and ``{"key", "value"}`` objects are read."""
    if isinstance(char, dict):
        raw_key, raw_value = str(char.get("key") or ""), str(char.get("value") or "")
    elif isinstance(char, list | tuple) and len(char) == 2:
        raw_key, raw_value = str(char[0] or ""), str(char[1] or "")
    else:
        raw_key, _, raw_value = str(char).partition(":")
    return _normalised(raw_key, raw_value)


def _normalised(raw_key: str, raw_value: str) -> tuple[str, str]:
    # The same rule as the stored characteristics (extraction/store.py): a pair
    # without a key is filed under "characteristic".
    key, unit = normalize_key(raw_key) if raw_key.strip() else ("characteristic", None)
    return key, normalize_value(key, raw_value, unit)


def find_group(groups: list[Group], spec: str) -> Group | None:
    """The group named ``key:value``, None when there is none.

    Matched case-insensitively as written (``Disease State:rcc``) or after the
    characteristic normalisation (``Tissue: Liver``, ``organism part:liver`` and
    ``tissue: liver`` all name the group ``tissue: liver``).
    """
    raw_key, _, raw_value = spec.partition(":")
    as_written = (" ".join(raw_key.split()).casefold(), " ".join(raw_value.split()).casefold())
    key, value = _normalised(raw_key, raw_value)
    as_normalised = (key.casefold(), value.casefold())
    for g in groups:
        if (g.key.casefold(), g.value.casefold()) == as_written:
            return g
    for g in groups:
        if _normalised(g.key, g.value) == (key, value) or (
            (g.key.casefold(), g.value.casefold()) == as_normalised
        ):
            return g
    return None

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
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    """A set of samples picked by a subset or a characteristic: ``key:value``."""

    key: str
    value: str
    samples: list[str]

    @property
    def label(self) -> str:
        return f"{self.key}:{self.value}"


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
    """Sample groups of a record: its GDS subsets, else its samples' characteristics."""
    subsets = record.get("subsets_detail") or record.get("subsets") or []
    groups = [
        Group(
            str(s.get("type") or "subset"), str(s.get("description") or s["id"]), list(s["samples"])
        )
        for s in subsets
    ]
    if groups:
        return groups
    by_pair: dict[tuple[str, str], list[str]] = {}
    # A series record lists its samples' accessions in "samples" and their summaries
    # (with characteristics) in "samples_page" (store/records.py get_record).
    samples = (record.get("samples_page") or {}).get("items") or []
    for sample in samples:
        for char in sample.get("characteristics") or []:
            key, value = _characteristic(char)
            if key and value:
                by_pair.setdefault((key, value), []).append(sample["accession"])
    return [Group(k, v, s) for (k, v), s in sorted(by_pair.items())]


def _characteristic(char: Any) -> tuple[str, str]:
    # Stored as [key, value] pairs ("tissue: liver" strings and {"key", "value"}
    # objects are read too); keys compare
    # case-insensitively (GEO submitters write "Tissue" and "tissue").
    if isinstance(char, dict):
        key, value = str(char.get("key") or ""), str(char.get("value") or "")
    elif isinstance(char, list | tuple) and len(char) == 2:
        key, value = str(char[0] or ""), str(char[1] or "")
    else:
        key, _, value = str(char).partition(":")
    return " ".join(key.split()).lower(), " ".join(value.split())


def find_group(groups: list[Group], spec: str) -> Group | None:
    """The group named ``key:value`` (case-insensitive), None when there is none."""
    key, _, value = spec.partition(":")
    key, value = key.strip().lower(), value.strip().lower()
    for g in groups:
        if g.key.lower() == key and g.value.lower() == value:
            return g
    return None

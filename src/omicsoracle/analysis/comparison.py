"""One differential-expression comparison of a dataset: request in, top table out.

Shared by the CLI (``omicsoracle analyze de``) and the API job
(``POST /api/v1/analysis/de``); a bad request raises :class:`AnalysisError` with the
HTTP status the API answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from omicsoracle.analysis import de
from omicsoracle.analysis.expression import (
    Group,
    dataset_groups,
    find_group,
    gene_symbols,
    load_matrix,
)
from omicsoracle.store.base import Store

HEATMAP_PROBES = 50
# Enough for any GEO series' characteristics groups (the page shows 50 samples).
MAX_SAMPLES = 100_000
RESULT_FIELDS = ("probe", "gene", "log2fc", "t", "p", "p_adj", "mod_t", "mod_p", "mod_p_adj")

Progress = Callable[[str, float], None]


class AnalysisError(Exception):
    """A request the analysis cannot answer; ``status`` is the HTTP status to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def record_of(store: Store, accession: str) -> dict[str, Any]:
    try:
        record = store.get(accession, sample_limit=MAX_SAMPLES)
    except ValueError as exc:  # malformed accession
        raise AnalysisError(422, str(exc)) from exc
    if record is None or record.get("record_type") not in ("dataset", "series"):
        raise AnalysisError(404, f"no dataset or series {accession}")
    return record


def groups_summary(store: Store, accession: str) -> dict[str, Any]:
    """The ``/analysis/groups`` answer: pickable groups and whether values exist."""
    record = record_of(store, accession)
    groups = dataset_groups(record)
    table = record.get("table") or {}
    samples = {s for g in groups for s in g.samples}
    return {
        "accession": record["accession"],
        "has_values": bool(table.get("rows")),
        "n_samples": record.get("n_samples") or len(samples),
        "groups": [
            {"key": g.key, "value": g.value, "n": len(g.samples), "samples": g.samples}
            for g in groups
        ],
    }


def resolve(
    store: Store, accession: str, group: str, vs: str
) -> tuple[dict[str, Any], Group, Group]:
    """The record and both groups of a request, or the AnalysisError to answer."""
    record = record_of(store, accession)
    groups = dataset_groups(record)
    picked = []
    for spec in (group, vs):
        if ":" not in spec:
            raise AnalysisError(422, f"a group is written key:value, got {spec!r}")
        found = find_group(groups, spec)
        if found is None:
            known = ", ".join(g.label for g in groups) or "none"
            raise AnalysisError(422, f"{accession} has no group {spec!r} (groups: {known})")
        picked.append(found)
    a, b = picked
    if a.label.lower() == b.label.lower():
        raise AnalysisError(422, "the two groups must differ")
    for g in picked:
        if len(g.samples) < 2:
            raise AnalysisError(
                422, f"group {g.label!r} has {len(g.samples)} sample(s); 2 are needed"
            )
    if not (record.get("table") or {}).get("rows"):
        raise AnalysisError(422, f"{accession} has no expression values to compare")
    return record, a, b


def _columns(samples: Any, wanted: list[str]) -> list[int]:
    index = {str(s): i for i, s in enumerate(samples)}
    return [index[s] for s in wanted if s in index]


def _clean(x: float) -> float | None:
    return None if math.isnan(x) else x


def run(
    store: Store, accession: str, group: str, vs: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Compare two groups of a dataset; the JSON document of the contract."""

    def step(stage: str, done: float) -> None:
        if progress is not None:
            progress(stage, done)

    record, a, b = resolve(store, accession, group, vs)
    step("loading values", 0.1)
    matrix = load_matrix(store, record["accession"])
    if matrix is None:
        raise AnalysisError(422, f"{accession} has no expression values to compare")
    ia, ib = _columns(matrix.samples, a.samples), _columns(matrix.samples, b.samples)
    for g, cols in ((a, ia), (b, ib)):
        if len(cols) < 2:
            raise AnalysisError(
                422, f"group {g.label!r} has {len(cols)} sample(s) with values; 2 are needed"
            )
    step("testing", 0.4)
    logged, transformed = de.log2_values(matrix.values[:, ia + ib])
    result = de.compare(logged[:, : len(ia)], logged[:, len(ia) :])
    step("annotating", 0.8)
    symbols = gene_symbols(store, record.get("platform"), matrix.probes)
    genes = [s or (str(i) or None) for s, i in zip(symbols, matrix.identifiers, strict=True)]
    # Sorted by moderated adjusted p (NaN last), then moderated p, then probe id.
    order = np.lexsort(
        (
            matrix.probes,
            np.nan_to_num(result.mod_p, nan=np.inf),
            np.nan_to_num(result.mod_p_adj, nan=np.inf),
        )
    )
    columns = [
        matrix.probes[order].tolist(),
        [genes[i] for i in order],
        *([_clean(x) for x in getattr(result, name)[order].tolist()] for name in RESULT_FIELDS[2:]),
    ]
    rows = [dict(zip(RESULT_FIELDS, values, strict=True)) for values in zip(*columns, strict=True)]
    top = order[:HEATMAP_PROBES]
    samples = [str(s) for s in matrix.samples[ia + ib]]
    z = de.zscores(logged[top])
    step("done", 1.0)
    return {
        "accession": record["accession"],
        "groups": {
            "group": {"label": a.label, "samples": [samples[i] for i in range(len(ia))]},
            "vs": {"label": b.label, "samples": samples[len(ia) :]},
        },
        "log_transformed": transformed,
        "n_probes": len(rows),
        "prior": {"df": _finite(result.df_prior), "s2": _finite(result.s2_prior)},
        "results": rows,
        "heatmap": {
            "probes": matrix.probes[top].tolist(),
            "genes": [genes[i] for i in top],
            "samples": samples,
            "groups": ["group"] * len(ia) + ["vs"] * len(ib),
            "values": [[_round(v) for v in row] for row in z.tolist()],
        },
    }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def to_tsv(result: dict[str, Any]) -> str:
    """The top table as tab-separated text (header line first; empty cell = NA)."""
    lines = ["\t".join(RESULT_FIELDS)]
    for row in result["results"]:
        lines.append("\t".join("" if row[f] is None else str(row[f]) for f in RESULT_FIELDS))
    return "\n".join(lines) + "\n"

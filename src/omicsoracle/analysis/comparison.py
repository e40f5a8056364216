"""One differential-expression comparison of a dataset: request in, top table out.

Shared by the CLI (``omicsoracle analyze de``) and the API job
(``POST /api/v1/analysis/de``); a bad request raises :class:`AnalysisError` with the
HTTP status the API answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(slots=True)
class Source:
    """Where a request's values and groups come from.

    ``values`` is the record whose table and groups are used: the record asked for, or,
    for a series without values of its own, a stored GDS whose reference series it is
    (GEO curates a series' values into its DataSets: GDS507 holds GSE781's).
    """

    accession: str  # as asked (normalised)
    record: dict[str, Any] | None  # None: only the GDS knows the series
    values: dict[str, Any]

    @property
    def values_from(self) -> str:
        return str(self.values["accession"])

    @property
    def has_values(self) -> bool:
        return bool((self.values.get("table") or {}).get("rows"))


def _get(store: Store, accession: str) -> dict[str, Any] | None:
    try:
        return store.get(accession, sample_limit=MAX_SAMPLES)
    except ValueError as exc:  # malformed accession
        raise AnalysisError(422, str(exc)) from exc


def _dataset_with_values(store: Store, datasets: list[str]) -> dict[str, Any] | None:
    for acc in datasets:
        if store.data_table_hash(acc) is None:
            continue
        found = store.get(acc, sample_limit=MAX_SAMPLES)
        if found is not None and found.get("record_type") == "dataset":
            return found
    return None


def source_of(store: Store, accession: str) -> Source:
    """The record asked for and the record whose values answer it (404 when neither)."""
    record = _get(store, accession)
    if record is not None and record.get("record_type") == "dataset":
        return Source(record["accession"], record, record)
    if record is not None and record.get("record_type") != "series":
        raise AnalysisError(404, f"no dataset or series {accession}")
    series = record["accession"] if record is not None else accession.strip().upper()
    own = record is not None and bool((record.get("table") or {}).get("rows"))
    if not own and series.startswith("GSE"):
        gds = _dataset_with_values(store, store.datasets_of_series(series))
        if gds is not None:
            return Source(series, record, gds)
    if record is None:
        raise AnalysisError(404, f"no dataset or series {accession}")
    return Source(series, record, record)


def groups_summary(store: Store, accession: str) -> dict[str, Any]:
    """The ``/analysis/groups`` answer: pickable groups and whether values exist.

    ``values_from`` names the record whose values a comparison uses (a series' GDS
    when the series has none of its own); ``record_stored`` is False when only that
    GDS knows the series.
    """
    src = source_of(store, accession)
    groups = dataset_groups(src.values)
    samples = {s for g in groups for s in g.samples}
    return {
        "accession": src.accession,
        "values_from": src.values_from,
        "record_stored": src.record is not None,
        "has_values": src.has_values,
        "n_samples": src.values.get("n_samples") or len(samples),
        "groups": [
            {
                "key": g.key,
                "value": g.value,
                "label": g.label,
                "n": len(g.samples),
                "samples": g.samples,
            }
            for g in groups
        ],
    }


def resolve(store: Store, accession: str, group: str, vs: str) -> tuple[Source, Group, Group]:
    """The source and both groups of a request, or the AnalysisError to answer."""
    src = source_of(store, accession)
    # Before the groups: without values no pair of groups can be compared, and naming a
    # missing group first would send the user looking for the right one in vain.
    if not src.has_values:
        raise AnalysisError(422, f"{accession} has no expression values to compare")
    groups = dataset_groups(src.values)
    picked = []
    for spec in (group, vs):
        if ":" not in spec:
            raise AnalysisError(422, f"a group is written key:value, got {spec!r}")
        found = find_group(groups, spec)
        if found is None:
            known = ", ".join(g.label for g in groups) or "none"
            where = "" if src.values is src.record else f" (values from {src.values_from})"
            raise AnalysisError(422, f"{accession}{where} has no group {spec!r} (groups: {known})")
        picked.append(found)
    a, b = picked
    if a.label.lower() == b.label.lower():
        raise AnalysisError(422, "the two groups must differ")
    for g in picked:
        if len(g.samples) < 2:
            raise AnalysisError(
                422, f"group {g.label!r} has {len(g.samples)} sample(s); 2 are needed"
            )
    return src, a, b


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

    src, a, b = resolve(store, accession, group, vs)
    record = src.values
    step("loading values", 0.1)
    matrix = load_matrix(store, src.values_from)
    if matrix is None:
        raise AnalysisError(422, f"{accession} has no expression values to compare")
    ia, ib = _columns(matrix.samples, a.samples), _columns(matrix.samples, b.samples)
    for g, cols in ((a, ia), (b, ib)):
        if len(cols) < 2:
            raise AnalysisError(
                422, f"group {g.label!r} has {len(cols)} sample(s) with values; 2 are needed"
            )
    step("testing", 0.4)
    logged, scale = de.log2_values(matrix.values[:, ia + ib], record.get("value_type"))
    result = de.compare(logged[:, : len(ia)], logged[:, len(ia) :])
    step("annotating", 0.8)
    # A GDS names one platform; a series lists its platforms (a series matrix file holds
    # one platform's samples: the first listed, as GEO writes single-platform series).
    platform = record.get("platform") or next(iter(record.get("platforms") or ()), None)
    symbols = gene_symbols(store, platform, matrix.probes)
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
        "accession": src.accession,
        "values_from": src.values_from,
        "groups": {
            "group": {"label": a.label, "samples": [samples[i] for i in range(len(ia))]},
            "vs": {"label": b.label, "samples": samples[len(ia) :]},
        },
        "log_transformed": scale.transformed,
        "log_scale": scale.as_dict(),
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


# Columns the top table can be sorted by; fold change and t by size, largest first.
SORTABLE = frozenset(RESULT_FIELDS)
_BY_SIZE = frozenset({"log2fc", "t", "mod_t"})


def _sorted(rows: list[dict[str, Any]], field: str, descending: bool) -> list[dict[str, Any]]:
    # Stable: ties keep the stored order (by mod_p_adj); missing values go last.
    present = [r for r in rows if r[field] is not None]
    missing = [r for r in rows if r[field] is None]
    key: Callable[[dict[str, Any]], Any]
    if field in ("probe", "gene"):
        key = lambda r: r[field].casefold()  # noqa: E731
    elif field in _BY_SIZE:
        key = lambda r: abs(r[field])  # noqa: E731
    else:
        key = lambda r: r[field]  # noqa: E731
    present.sort(key=key, reverse=descending)
    return present + missing


def top_table(
    result: dict[str, Any],
    limit: int,
    offset: int = 0,
    sort: str = "mod_p_adj",
    descending: bool = False,
) -> dict[str, Any]:
    """A finished comparison without its full table: ``limit`` rows from ``offset`` of
    the table sorted by ``sort`` (stored order, by ``mod_p_adj``, by default), the
    total row count, and everything else of the result (groups, heatmap, prior)."""
    if sort not in SORTABLE:
        raise AnalysisError(422, f"sort must be one of {', '.join(RESULT_FIELDS)}")
    rows: list[dict[str, Any]] = result["results"]
    if sort != "mod_p_adj" or descending:
        rows = _sorted(rows, sort, descending)
    out = {k: v for k, v in result.items() if k != "results"}
    out.update(
        total=len(rows),
        offset=offset,
        limit=limit,
        sort=sort,
        descending=descending,
        # Counts of the whole table the page summarises (not only the rows sent).
        significant=_significant(result["results"]),
        results=rows[offset : offset + limit],
    )
    return out


def _significant(rows: list[dict[str, Any]], alpha: float = 0.05) -> dict[str, Any]:
    hits = [r for r in rows if r["mod_p_adj"] is not None and r["mod_p_adj"] < alpha]
    up = sum(1 for r in hits if (r["log2fc"] or 0) > 0)
    return {"alpha": alpha, "n": len(hits), "up": up, "down": len(hits) - up}


def volcano(result: dict[str, Any]) -> dict[str, Any]:
    """The volcano plot's data as parallel arrays (about a fifth of the row objects):
    probe, gene, log2 fold change (4 decimals) and -log10 of the BH-adjusted moderated
    p-value (3 decimals; p = 0 is capped at 1e-300). Probes without both are left out."""
    probe: list[str] = []
    gene: list[str | None] = []
    log2fc: list[float] = []
    neg_log10: list[float] = []
    for r in result["results"]:
        fc, p = r["log2fc"], r["mod_p_adj"]
        if fc is None or p is None:
            continue
        probe.append(r["probe"])
        gene.append(r["gene"])
        log2fc.append(round(fc, 4))
        neg_log10.append(round(-math.log10(max(p, 1e-300)), 3))
    return {
        "accession": result["accession"],
        "values_from": result.get("values_from", result["accession"]),
        "groups": {k: {"label": g["label"]} for k, g in result["groups"].items()},
        "log_transformed": result["log_transformed"],
        "n_probes": result["n_probes"],
        "probe": probe,
        "gene": gene,
        "log2fc": log2fc,
        "neg_log10_p_adj": neg_log10,
    }

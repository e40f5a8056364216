"""A differential-expression result of GDS507 (RCC vs normal) shaped like the statistics
API's job result, for drawing the volcano plot and heatmap without that API.

Real numbers: GDS507's values, log2-transformed (GEO2R's rule: "count" values are not
log-scaled), a Welch t-test per probe (scipy) and Benjamini-Hochberg adjusted p-values.
The moderated fields (``mod_t``, ``mod_p``, ``mod_p_adj``) carry the Welch statistics:
the charts only need numbers of the right shape and size.
"""

from __future__ import annotations

import gzip
import math
from typing import Any

import numpy as np
from scipy import stats

from demo import REPO

GDS507 = REPO / "data" / "demo" / "GDS507.soft.gz"
HEATMAP_PROBES = 50


def _read(path: Any) -> tuple[dict[str, list[str]], list[str], list[str], list[str], np.ndarray]:
    subsets: dict[str, list[str]] = {}
    description = ""
    probes: list[str] = []
    genes: list[str] = []
    rows: list[list[float]] = []
    header: list[str] = []
    in_table = False
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("!subset_description"):
                description = line.split("=", 1)[1].strip()
            elif line.startswith("!subset_sample_id"):
                subsets[description] = line.split("=", 1)[1].strip().split(",")
            elif line.startswith("!dataset_table_begin"):
                in_table = True
            elif line.startswith("!dataset_table_end"):
                break
            elif in_table and not header:
                header = line.split("\t")
            elif in_table:
                cells = line.split("\t")
                probes.append(cells[0])
                genes.append(cells[1])
                rows.append([float(c) if c not in ("", "null") else math.nan for c in cells[2:]])
    return subsets, header[2:], probes, genes, np.array(rows)


def _clean(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def gds507_de_result() -> dict[str, Any]:
    subsets, samples, probes, genes, values = _read(GDS507)
    rcc, normal = subsets["RCC"], subsets["normal"]
    with np.errstate(invalid="ignore", divide="ignore"):
        logged = np.log2(np.where(values > 0, values, np.nan))
    a = logged[:, [samples.index(s) for s in rcc]]
    b = logged[:, [samples.index(s) for s in normal]]
    t, p = stats.ttest_ind(a, b, equal_var=False, axis=1, nan_policy="omit")
    t, p = np.asarray(t, dtype=float), np.asarray(p, dtype=float)
    log2fc = np.nanmean(a, axis=1) - np.nanmean(b, axis=1)
    ok = np.isfinite(p)
    p_adj = np.full_like(p, np.nan)
    p_adj[ok] = stats.false_discovery_control(p[ok], method="bh")
    order = sorted(range(len(probes)), key=lambda i: (not ok[i], p_adj[i] if ok[i] else 0.0))
    results = [
        {
            "probe": probes[i],
            "gene": genes[i] or None,
            "log2fc": _clean(log2fc[i]),
            "t": _clean(t[i]),
            "p": _clean(p[i]),
            "p_adj": _clean(p_adj[i]),
            "mod_t": _clean(t[i]),
            "mod_p": _clean(p[i]),
            "mod_p_adj": _clean(p_adj[i]),
        }
        for i in order
    ]
    top = [i for i in order if np.all(np.isfinite(logged[i]))][:HEATMAP_PROBES]
    columns = [samples.index(s) for s in rcc + normal]
    block = logged[np.ix_(top, columns)]
    z = (block - block.mean(axis=1, keepdims=True)) / block.std(axis=1, ddof=1, keepdims=True)
    return {
        "accession": "GDS507",
        "groups": {
            "group": {"label": "disease state: RCC", "samples": rcc},
            "vs": {"label": "disease state: normal", "samples": normal},
        },
        "log_transformed": True,
        "n_probes": len(probes),
        "results": results,
        "heatmap": {
            "probes": [probes[i] for i in top],
            "genes": [genes[i] for i in top],
            "samples": rcc + normal,
            "groups": ["group"] * len(rcc) + ["vs"] * len(normal),
            "values": [[round(float(v), 4) for v in row] for row in z],
        },
    }


def volcano_classes(
    result: dict[str, Any], alpha: float = 0.05, min_fc: float = 1.0
) -> dict[str, int]:
    """How many probes the volcano plot colours up, down and not significant."""
    counts = {"up": 0, "down": 0, "ns": 0}
    for r in result["results"]:
        if r["log2fc"] is None or r["mod_p_adj"] is None:
            continue
        if r["mod_p_adj"] < alpha and r["log2fc"] >= min_fc:
            counts["up"] += 1
        elif r["mod_p_adj"] < alpha and r["log2fc"] <= -min_fc:
            counts["down"] += 1
        else:
            counts["ns"] += 1
    return counts

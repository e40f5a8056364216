"""GDS507 (renal clear cell carcinoma vs normal kidney): the statistics against the
field's reference implementations (scipy, statsmodels, inmoose's port of limma)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from inmoose.limma import eBayes, lmFit
from scipy import stats
from statsmodels.stats.multitest import multipletests

from omicsoracle.analysis import comparison, de
from omicsoracle.analysis.expression import load_matrix
from omicsoracle.config import Settings
from omicsoracle.store import Store, open_store

RCC, NORMAL = "disease state:RCC", "disease state:normal"


@pytest.fixture(scope="module")
def gds_store(gds_settings: Settings) -> Iterator[Store]:
    s = open_store(gds_settings.resolved_database_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def result(gds_store: Store) -> dict[str, Any]:
    return comparison.run(gds_store, "GDS507", RCC, NORMAL)


@pytest.fixture(scope="module")
def logged(gds_store: Store, result: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """log2 values of the RCC and normal samples, rows in the matrix's probe order."""
    m = load_matrix(gds_store, "GDS507")
    assert m is not None
    cols = {str(s): i for i, s in enumerate(m.samples)}
    a = [cols[s] for s in result["groups"]["group"]["samples"]]
    b = [cols[s] for s in result["groups"]["vs"]["samples"]]
    values = np.log2(m.values)
    return values[:, a], values[:, b], [str(p) for p in m.probes]


def _by_probe(result: dict[str, Any], probes: list[str], field: str) -> np.ndarray:
    rows = {r["probe"]: r for r in result["results"]}
    return np.array([np.nan if rows[p][field] is None else rows[p][field] for p in probes])


def test_shape_and_log_detection(result: dict[str, Any]) -> None:
    # GDS507 holds MAS5 counts (99th percentile far above 100): GEO2R logs them.
    assert result["log_transformed"] is True
    assert result["n_probes"] == len(result["results"]) == 22645
    assert len(result["groups"]["group"]["samples"]) == 9
    assert len(result["groups"]["vs"]["samples"]) == 8
    adj = [r["mod_p_adj"] for r in result["results"]]
    assert adj == sorted(adj)
    assert set(result["results"][0]) == set(comparison.RESULT_FIELDS)


def test_welch_equals_scipy(result: dict[str, Any], logged: Any) -> None:
    a, b, probes = logged
    ref = stats.ttest_ind(a, b, axis=1, equal_var=False)
    np.testing.assert_allclose(_by_probe(result, probes, "t"), ref.statistic, rtol=0, atol=1e-9)
    np.testing.assert_allclose(_by_probe(result, probes, "p"), ref.pvalue, rtol=0, atol=1e-9)
    fc = a.mean(axis=1) - b.mean(axis=1)
    np.testing.assert_allclose(_by_probe(result, probes, "log2fc"), fc, rtol=0, atol=1e-9)


def test_bh_equals_statsmodels(result: dict[str, Any], logged: Any) -> None:
    _, _, probes = logged
    for raw, adjusted in (("p", "p_adj"), ("mod_p", "mod_p_adj")):
        p = _by_probe(result, probes, raw)
        ref = multipletests(p, method="fdr_bh")[1]
        np.testing.assert_allclose(_by_probe(result, probes, adjusted), ref, rtol=0, atol=1e-9)


def test_bh_leaves_missing_out() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03])
    ref = multipletests(p[~np.isnan(p)], method="fdr_bh")[1]
    out = de.bh_adjust(p)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[~np.isnan(p)], ref, atol=1e-12)


def test_moderated_t_equals_inmoose_limma(result: dict[str, Any], logged: Any) -> None:
    a, b, probes = logged
    design = np.column_stack(
        [np.ones(a.shape[1] + b.shape[1]), [1.0] * a.shape[1] + [0.0] * b.shape[1]]
    )
    fit = eBayes(lmFit(pd.DataFrame(np.hstack([a, b])), design))
    np.testing.assert_allclose(result["prior"]["df"], float(fit.df_prior), rtol=1e-9)
    np.testing.assert_allclose(result["prior"]["s2"], float(fit.s2_prior), rtol=1e-9)
    mod_t = np.asarray(fit.t)[:, 1]
    mod_p = np.asarray(fit.p_value)[:, 1]
    np.testing.assert_allclose(_by_probe(result, probes, "mod_t"), mod_t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(_by_probe(result, probes, "mod_p"), mod_p, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        _by_probe(result, probes, "log2fc"), np.asarray(fit.coefficients)[:, 1], atol=1e-9
    )


# Hand-checked on HG-U133B (GPL97 has no CA9, NDUFA4L2 or VEGFA probe): hypoxia / HIF
# targets rise in clear cell RCC (VHL loss), tubule transport genes fall as the
# nephron's epithelium is replaced by tumour.
EXPECTED = {
    "222847_s_at": ("EGLN3", "up"),  # HIF prolyl hydroxylase 3, a HIF target
    "223333_s_at": ("ANGPTL4", "up"),  # HIF target, ccRCC marker
    "231559_at": ("NNMT", "up"),  # highly expressed in ccRCC
    "238248_at": ("UMOD", "down"),  # uromodulin, thick ascending limb
    "243562_at": ("KNG1", "down"),  # kininogen, distal tubule
    "231352_at": ("SLC22A8", "down"),  # OAT3, proximal tubule
    "231634_at": ("SLC12A3", "down"),  # NCC, distal convoluted tubule
    "236630_at": ("AQP2", "down"),  # aquaporin 2, collecting duct
}


@pytest.mark.parametrize("probe", sorted(EXPECTED))
def test_hand_checked_probes(result: dict[str, Any], probe: str) -> None:
    gene, direction = EXPECTED[probe]
    row = next(r for r in result["results"] if r["probe"] == probe)
    assert row["gene"] == gene
    assert (row["log2fc"] > 0) == (direction == "up")
    assert abs(row["log2fc"]) > 2  # more than four-fold
    assert row["mod_p_adj"] < 1e-3


def test_log_detection_rule() -> None:
    logged_like = np.random.default_rng(1).normal(8, 2, size=(1000, 6))
    assert not de.needs_log2(logged_like)
    assert de.needs_log2(2**logged_like)
    values, scale = de.log2_values(np.array([[4.0, 0.0, 1000.0, 200.0]]))
    assert scale.transformed
    assert values[0, 0] == 2.0
    assert np.isnan(values[0, 1])  # GEO2R: non-positive values become missing


def test_missing_values_use_the_samples_present() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, (200, 5)), rng.normal(0.5, 1, (200, 4))
    a[3, 1] = np.nan
    res = de.compare(a, b)
    ref = stats.ttest_ind(a[3, ~np.isnan(a[3])], b[3], equal_var=False)
    assert res.t[3] == pytest.approx(ref.statistic, abs=1e-9)
    assert np.all(np.isfinite(res.mod_t))


def test_heatmap_of_the_top_probes(result: dict[str, Any]) -> None:
    heat = result["heatmap"]
    assert heat["probes"] == [r["probe"] for r in result["results"][:50]]
    assert len(heat["values"]) == 50
    assert len(heat["samples"]) == len(heat["groups"]) == 17
    assert heat["groups"].count("group") == 9
    assert abs(sum(heat["values"][0])) < 1e-2  # each row z-scored


def test_tsv(result: dict[str, Any]) -> None:
    lines = comparison.to_tsv(result).splitlines()
    assert lines[0].split("\t") == list(comparison.RESULT_FIELDS)
    assert len(lines) == 22646
    assert lines[1].split("\t")[0] == result["results"][0]["probe"]

"""When the values are log2-transformed: GEO2R's quantile rule, and a GDS's declared
``!dataset_value_type`` (issue 6)."""

from __future__ import annotations

import numpy as np
import pytest

from omicsoracle.analysis import de


def _geo2r(ex: np.ndarray) -> bool:
    """GEO2R's R code, line for line (R's quantile type 7 is numpy's linear; R's
    qx[i] is qx[i - 1] here)."""
    qx = np.nanquantile(ex, [0.0, 0.25, 0.5, 0.75, 0.99, 1.0])
    return bool(
        (qx[4] > 100)
        or (qx[5] - qx[0] > 50 and qx[1] > 0)
        or (qx[1] > 0 and qx[1] < 1 and qx[3] > 1 and qx[3] < 2)
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # qx[5] (99th percentile) above 100: unlogged.
        ([1.0, 2.0, 3.0, 4.0, 500.0], True),
        # 99th percentile at most 100 and range at most 50: looks logged.
        ([2.0, 4.0, 6.0, 8.0, 10.0], False),
        # Range above 50 with a positive first quartile: unlogged.
        ([1.0, 5.0, 10.0, 30.0, 60.0], True),
        # Range above 50 but first quartile 0: logged (log ratios cross zero).
        ([-60.0, 0.0, 0.0, 1.0, 2.0], False),
        # Range exactly 50: not "more than 50".
        ([1.0, 2.0, 3.0, 4.0, 51.0], False),
        # 99th percentile exactly 100: not "above 100" (and the range is 40).
        ([60.0, 70.0, 80.0, 100.0, 100.0], False),
        # Unlogged ratios: first quartile in (0, 1), third in (1, 2).
        ([0.5, 0.8, 1.0, 1.5, 1.9], True),
        # ... both bounds strict: a first quartile of 1 is not a ratio below 1,
        ([0.5, 1.0, 1.0, 1.5, 1.9], False),
        # a third quartile of 2 is not below 2,
        ([0.5, 0.8, 1.0, 2.0, 2.0], False),
        # and log ratios (first quartile below 0) are left alone.
        ([-1.0, -0.5, 0.2, 1.5, 1.9], False),
        # Missing values are dropped (na.rm = TRUE).
        ([np.nan, 1.0, 5.0, 10.0, 30.0, 60.0], True),
        ([np.nan, np.nan], False),
    ],
)
def test_quantile_rule_is_geo2rs(values: list[float], expected: bool) -> None:
    ex = np.array([values])
    assert de.needs_log2(ex) is expected
    if np.isfinite(ex).any():
        assert _geo2r(ex) is expected


def test_quantile_rule_on_random_matrices_equals_the_r_code() -> None:
    rng = np.random.default_rng(3)
    for scale in (0.5, 5.0, 20.0, 80.0, 400.0):
        ex = rng.gamma(2.0, scale, size=(300, 6)) - rng.uniform(0, 5)
        assert de.needs_log2(ex) is _geo2r(ex)
    for sigma in (0.1, 0.5, 1.0, 2.0):
        ex = rng.lognormal(0.0, sigma, size=(300, 6))
        assert de.needs_log2(ex) is _geo2r(ex)


def test_unlogged_ratios_are_transformed() -> None:
    # Two-colour ratios as a GDS without a declared type may hold them: lognormal
    # around 1 (first quartile ~0.7, third ~1.4). Only the third clause catches them.
    rng = np.random.default_rng(6)
    ratios = rng.lognormal(0.0, 0.5, size=(2000, 8))
    q1, q3, q99, top = np.quantile(ratios, [0.25, 0.75, 0.99, 1.0])
    assert 0.6 < q1 < 0.8
    assert 1.3 < q3 < 1.5
    assert q99 <= 100
    assert top - ratios.min() <= 50
    values, scale = de.log2_values(ratios)
    assert (scale.transformed, scale.decided_by) == (True, "quantiles")
    assert np.allclose(values, np.log2(ratios))
    # Once on a log2 scale they are centred on 0 and stay as they are.
    _, again = de.log2_values(values)
    assert not again.transformed


def test_transform_sets_non_positive_to_missing() -> None:
    values, scale = de.log2_values(np.array([[4.0, 0.0, -3.0, 1000.0, 200.0]]))
    assert scale.transformed
    assert scale.decided_by == "quantiles"
    assert values[0, 0] == 2.0
    assert np.isnan(values[0, 1])
    assert np.isnan(values[0, 2])  # GEO2R: ex[which(ex <= 0)] <- NaN


UNLOGGED = np.array([[10.0, 200.0, 3000.0, 45.0], [120.0, 80.0, 900.0, 4000.0]])
# Log-scale values with a wide positive range (GEO2R's second clause would transform
# them) but nothing above 100.
WIDE_LOGGED = np.array([[1.0, 5.0, 10.0, 30.0], [60.0, 8.0, 12.0, 3.0]])
LOGGED_DECLARATIONS = ["log2 ratio", "log10 ratio", "log e ratio", "log ratio", "transformed count"]


@pytest.mark.parametrize("value_type", LOGGED_DECLARATIONS)
def test_declared_logged_values_are_left_alone(value_type: str) -> None:
    # Values the quantile rule would transform: the GDS's declaration wins.
    assert de.needs_log2(WIDE_LOGGED)
    values, scale = de.log2_values(WIDE_LOGGED, value_type)
    assert values is WIDE_LOGGED
    assert scale.as_dict() == {
        "transformed": False,
        "decided_by": "value_type",
        "value_type": value_type,
    }


@pytest.mark.parametrize("value_type", LOGGED_DECLARATIONS)
def test_declared_logged_but_plainly_unlogged_values_are_transformed(value_type: str) -> None:
    # 99th percentile far above 100: no log scale gives that, whatever the GDS says.
    values, scale = de.log2_values(UNLOGGED, value_type)
    assert values[0, 0] == pytest.approx(np.log2(10.0))
    assert scale.as_dict() == {
        "transformed": True,
        "decided_by": "quantiles (declared type contradicted)",
        "value_type": value_type,
    }


def test_declared_ratio_is_log2_transformed() -> None:
    # Third quartile above 2: GEO2R's ratio clause misses them, the declaration does not.
    ratios = np.array([[0.5, 1.0, 2.0, 4.0], [0.25, 3.0, 0.0, 8.0]])
    assert not de.needs_log2(ratios)  # the quantile rule alone would keep them
    values, scale = de.log2_values(ratios, "ratio")
    assert scale.transformed
    assert scale.decided_by == "value_type"
    assert values[0].tolist() == [-1.0, 0.0, 1.0, 2.0]
    assert np.isnan(values[1, 2])


@pytest.mark.parametrize("value_type", ["count", None, ""])
def test_counts_and_undeclared_values_use_the_quantile_rule(value_type: str | None) -> None:
    values, scale = de.log2_values(UNLOGGED, value_type)
    assert scale.transformed
    assert scale.decided_by == "quantiles"
    assert values[0, 0] == pytest.approx(np.log2(10.0))
    logged = np.log2(UNLOGGED)
    same, kept = de.log2_values(logged, value_type)
    assert same is logged
    assert not kept.transformed

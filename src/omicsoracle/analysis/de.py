"""Two-group differential expression, vectorised over probes (issue 6).

What GEO2R does for a GDS, without R: detect whether the values are already on a
log scale (GEO2R's quantile rule), log2-transform if not, then per probe a Welch
t-test (scipy's ``ttest_ind(equal_var=False)``) and limma's moderated t-test (a
linear model per probe, variances squeezed towards a prior by empirical Bayes,
Smyth 2004), both with Benjamini–Hochberg adjusted p-values. Every step is a numpy
expression over the whole probes x samples matrix: no Python loop over probes.

Missing values are allowed: each probe uses the samples it has, so its residual
degrees of freedom may differ (limma's ``lmFit`` does the same for NA).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

Array = NDArray[np.float64]


def _quantiles(values: Array) -> Array | None:
    # R's default quantile (type 7) is numpy's default ("linear"); ``na.rm`` drops the
    # missing values (NaN here).
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return np.quantile(finite, [0.0, 0.25, 0.5, 0.75, 0.99, 1.0])


def needs_log2(values: Array) -> bool:
    """GEO2R's rule, as its R template writes it::

        qx <- quantile(ex, c(0., 0.25, 0.5, 0.75, 0.99, 1.0), na.rm=T)
        LogC <- (qx[5] > 100) ||
                (qx[6]-qx[1] > 50 && qx[2] > 0) ||
                (qx[2] > 0 && qx[2] < 1 && qx[4] > 1 && qx[4] < 2)

    The three clauses: large values, a wide range of positive values, and unlogged
    ratios (first quartile between 0 and 1, third between 1 and 2: ratios around 1,
    which on a log scale would be centred on 0).
    """
    qx = _quantiles(values)
    if qx is None:
        return False
    return bool(
        qx[4] > 100 or (qx[5] - qx[0] > 50 and qx[1] > 0) or (0 < qx[1] < 1 and 1 < qx[3] < 2)
    )


def _plainly_unlogged(values: Array) -> bool:
    # GEO2R's first clause alone: no log scale puts 1% of the values above 100.
    qx = _quantiles(values)
    return qx is not None and bool(qx[4] > 100)


def _log2(values: Array) -> Array:
    # GEO2R: ex[which(ex <= 0)] <- NaN; ex <- log2(ex)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log2(np.where(values > 0, values, np.nan))


# GDS ``!dataset_value_type`` values (GEO's DataSet documentation): which are on a log
# scale already and which are plain ratios.
LOGGED_TYPES = frozenset(
    {"log ratio", "log2 ratio", "log10 ratio", "log e ratio", "ln ratio", "transformed count",
     "transformed ratio", "log2 count", "log10 count", "log count"}
)  # fmt: skip
RATIO_TYPES = frozenset({"ratio", "count ratio"})


@dataclass(slots=True)
class LogScale:
    """Why the values were (or were not) log2-transformed before testing."""

    transformed: bool
    # "value_type" (the GDS said), "quantiles" (GEO2R's rule) or CONTRADICTED.
    decided_by: str
    value_type: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "transformed": self.transformed,
            "decided_by": self.decided_by,
            "value_type": self.value_type,
        }


# A declared log scale the values plainly do not have (issue 6 review).
CONTRADICTED = "quantiles (declared type contradicted)"


def log_scale(values: Array, value_type: str | None = None) -> LogScale:
    """Decide the transform: a GDS's declared value type when it says the values are
    logged (or transformed) or are plain ratios; otherwise GEO2R's quantile rule
    (``count`` and undeclared values).

    A declared log scale is not taken on trust when the values are plainly unlogged
    (99th percentile above 100, GEO2R's first clause): they are transformed and
    ``decided_by`` says the declaration was contradicted. The other clauses are not
    enough to overrule a declaration (logged counts can have a wide positive range).
    """
    declared = " ".join((value_type or "").split()).casefold() or None
    if declared is not None and (declared in LOGGED_TYPES or declared.startswith("log")):
        if _plainly_unlogged(values):
            return LogScale(transformed=True, decided_by=CONTRADICTED, value_type=value_type)
        return LogScale(transformed=False, decided_by="value_type", value_type=value_type)
    if declared in RATIO_TYPES:
        # A ratio around 1 often passes the quantile rule as "already logged", but an
        # unlogged ratio is skewed: log2 makes up and down changes symmetric.
        return LogScale(transformed=True, decided_by="value_type", value_type=value_type)
    return LogScale(transformed=needs_log2(values), decided_by="quantiles", value_type=value_type)


def log2_values(values: Array, value_type: str | None = None) -> tuple[Array, LogScale]:
    """The matrix on a log2 scale, and how that was decided (see :func:`log_scale`)."""
    scale = log_scale(values, value_type)
    return (_log2(values) if scale.transformed else values), scale


def bh_adjust(p: Array) -> Array:
    """Benjamini–Hochberg adjusted p-values; NaN stays NaN and is not counted (R's
    ``p.adjust(method="BH")``)."""
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    n = q.size
    if n == 0:
        return out
    order = np.argsort(q)[::-1]  # largest first: the running minimum goes downwards
    ranks = np.arange(n, 0, -1, dtype=np.float64)
    adjusted = np.minimum.accumulate(q[order] * n / ranks)
    back = np.empty(n)
    back[order] = np.minimum(adjusted, 1.0)
    out[ok] = back
    return out


def trigamma_inverse(x: Array) -> Array:
    """Solve trigamma(y) = x by Newton's method (limma's ``trigammaInverse``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.where(x > 1e7, 1.0 / np.sqrt(np.maximum(x, 1e-300)), 0.5 + 1.0 / x)
    big = x > 1e7
    small = x < 1e-6
    work = ~(big | small)
    for _ in range(50):
        tri = special.polygamma(1, y)
        dif = tri * (1.0 - tri / x) / special.polygamma(2, y)
        y = np.where(work, y + dif, y)
        if np.max(np.where(work, -dif / y, 0.0), initial=0.0) < 1e-8:
            break
    return np.where(small, 1.0 / np.maximum(x, 1e-300), np.where(big, 1.0 / np.sqrt(x), y))


def fit_f_dist(s2: Array, df1: Array) -> tuple[float, float]:
    """Scale ``s0^2`` and degrees of freedom ``d0`` of the prior on the variances, by
    moments of log(s2) (limma's ``fitFDist`` without covariate)."""
    ok = np.isfinite(s2) & np.isfinite(df1) & (df1 > 1e-15)
    x = np.maximum(s2[ok], 0.0)
    d = df1[ok]
    if x.size < 2:
        return float("nan"), float("nan")
    m = float(np.median(x))
    if m == 0:
        m = 1.0
    x = np.maximum(x, 1e-5 * m)
    e = np.log(x) - special.digamma(d / 2) + np.log(d / 2)
    emean = float(np.mean(e))
    evar = float(np.sum((e - emean) ** 2) / (e.size - 1)) - float(
        np.mean(special.polygamma(1, d / 2))
    )
    if evar > 0:
        d0 = 2.0 * float(trigamma_inverse(np.array([evar]))[0])
        s20 = float(np.exp(emean + special.digamma(d0 / 2) - np.log(d0 / 2)))
    else:
        d0 = float("inf")
        s20 = float(np.exp(emean))
    return s20, d0


@dataclass(slots=True)
class Comparison:
    """Per-probe statistics of ``group`` versus ``vs`` (arrays of one length)."""

    log2fc: Array
    t: Array
    p: Array
    p_adj: Array
    mod_t: Array
    mod_p: Array
    mod_p_adj: Array
    df_prior: float
    s2_prior: float


def compare(group: Array, vs: Array) -> Comparison:
    """Welch and moderated t statistics of every row of ``group`` against ``vs``.

    Both are probes x samples matrices on a log2 scale (NaN = missing).
    """
    n1 = np.sum(np.isfinite(group), axis=1).astype(np.float64)
    n2 = np.sum(np.isfinite(vs), axis=1).astype(np.float64)
    usable = (n1 >= 2) & (n2 >= 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = np.nansum(group, axis=1) / n1
        m2 = np.nansum(vs, axis=1) / n2
        ss1 = np.nansum((group - m1[:, None]) ** 2, axis=1)
        ss2 = np.nansum((vs - m2[:, None]) ** 2, axis=1)
        log2fc = np.where(n1 * n2 > 0, m1 - m2, np.nan)

        # Welch: unequal variances, Welch–Satterthwaite degrees of freedom.
        v1 = ss1 / (n1 - 1) / n1
        v2 = ss2 / (n2 - 1) / n2
        se = np.sqrt(v1 + v2)
        t = np.where(usable, log2fc / se, np.nan)
        df_w = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        p = np.where(usable, 2 * stats.t.sf(np.abs(t), df_w), np.nan)

        # limma: one linear model per probe (group means), pooled residual variance.
        fit_ok = (n1 >= 1) & (n2 >= 1) & (n1 + n2 >= 3)
        df_res = np.where(fit_ok, n1 + n2 - 2, np.nan)
        s2 = np.where(fit_ok, (ss1 + ss2) / df_res, np.nan)
        unscaled = np.sqrt(1 / n1 + 1 / n2)
    s20, d0 = fit_f_dist(s2, df_res)
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.isinf(d0):
            s2_post = np.full(s2.shape, s20)
        else:
            s2_post = (df_res * s2 + d0 * s20) / (df_res + d0)
        mod_t = np.where(fit_ok, log2fc / unscaled / np.sqrt(s2_post), np.nan)
        df_total = np.minimum(df_res + d0, np.nansum(df_res))
        mod_p = np.where(fit_ok, 2 * stats.t.sf(np.abs(mod_t), df_total), np.nan)
    return Comparison(
        log2fc=log2fc,
        t=t,
        p=p,
        p_adj=bh_adjust(p),
        mod_t=mod_t,
        mod_p=mod_p,
        mod_p_adj=bh_adjust(mod_p),
        df_prior=d0,
        s2_prior=s20,
    )


def zscores(values: Array) -> Array:
    """Each row centred and scaled by its own standard deviation (heatmap rows)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(values, axis=1, keepdims=True)
        sd = np.nanstd(values, axis=1, ddof=1, keepdims=True)
        return np.where(sd > 0, (values - mean) / sd, 0.0)

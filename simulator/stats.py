"""Confidence intervals for means over seeds.

For replicates ``x_1..x_n`` of one sweep point the mean is ``x̄`` and the
Student-t interval at level ``1 - α`` is ``x̄ ± t_{1-α/2, n-1} · s / √n`` with
``s`` the sample standard deviation (ddof=1); it assumes roughly normal
replicate means, which the central limit theorem gives for averages over many
rounds. The bootstrap alternative resamples the replicates (scipy's
``bootstrap``, BCa by default) and makes no normality assumption, at the price
of needing more seeds. With one replicate there is no interval (NaN bounds).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np
from scipy import stats as scipy_stats

Method = Literal["t", "bootstrap"]


def _finite(values: Sequence[float]) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """The finite values, and the answer when there are too few for an interval (else None)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return x, (math.nan, math.nan, math.nan)
    if x.size < 2:
        return x, (float(x.mean()), math.nan, math.nan)
    return x, None


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t confidence interval of the mean."""
    x, degenerate = _finite(values)
    if degenerate:
        return degenerate
    mean = float(x.mean())
    half = float(scipy_stats.t.ppf(0.5 + level / 2, df=x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def bootstrap_interval(
    values: Sequence[float], level: float = 0.95, *, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)``: a bootstrap (BCa) confidence interval of the mean, seeded for reproducibility."""
    x, degenerate = _finite(values)
    if degenerate:
        return degenerate
    mean = float(x.mean())
    if np.allclose(x, x[0]):
        return mean, mean, mean  # no spread: every resample has the same mean
    result = scipy_stats.bootstrap(
        (x,), np.mean, confidence_level=level, n_resamples=n_resamples, method="BCa", rng=np.random.default_rng(seed)
    )
    low, high = result.confidence_interval
    return mean, float(low), float(high)


def mean_ci(values: Sequence[float], level: float = 0.95, method: Method = "t") -> tuple[float, float, float]:
    """``(mean, low, high)`` by the Student-t interval (``"t"``) or the bootstrap (``"bootstrap"``)."""
    if method == "t":
        return t_interval(values, level)
    if method == "bootstrap":
        return bootstrap_interval(values, level)
    raise ValueError(f"unknown interval method {method!r}; allowed: t, bootstrap")


def summarize(frame, by: list[str], value: str, level: float = 0.95, method: Method = "t"):
    """Group ``frame`` by the ``by`` columns and give ``n, mean, sd, ci_low, ci_high`` of ``value`` per group."""
    import pandas as pd

    rows = []
    groups = frame.groupby(by, sort=True, dropna=False) if by else [((), frame)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        x = pd.to_numeric(group[value], errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        mean, low, high = mean_ci(x, level, method)
        rows.append({**dict(zip(by, key)), "n": int(x.size), "mean": mean,
                     "sd": float(x.std(ddof=1)) if x.size > 1 else math.nan, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=[*by, "n", "mean", "sd", "ci_low", "ci_high"])

"""Confidence intervals against scipy's own t distribution and textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simulator.stats import bootstrap_interval, mean_ci, summarize, t_interval


def test_t_interval_matches_scipy_and_the_t_table():
    x = np.array([4.1, 5.3, 3.8, 6.0, 5.1, 4.7, 5.5])
    mean, low, high = t_interval(x, 0.95)
    oracle = stats.t.interval(0.95, df=len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(x.mean())
    assert (low, high) == pytest.approx(oracle)
    # Two observations: half-width = t_{0.975, 1} * s / sqrt(2) with t_{0.975,1} = 12.706 (t table).
    _, low, high = t_interval([1.0, 3.0], 0.95)
    assert (high - low) / 2 == pytest.approx(12.706 * math.sqrt(2.0) / math.sqrt(2), rel=1e-4)


def test_one_replicate_has_no_interval_and_nans_are_ignored():
    mean, low, high = t_interval([2.5])
    assert mean == 2.5 and math.isnan(low) and math.isnan(high)
    assert t_interval([1.0, float("nan"), 3.0])[0] == pytest.approx(2.0)


def test_bootstrap_interval_is_reproducible_and_close_to_t_for_normal_data():
    x = np.random.default_rng(0).normal(10.0, 2.0, size=60)
    mean, low, high = bootstrap_interval(x, 0.95)
    assert low < mean < high
    assert bootstrap_interval(x, 0.95) == (mean, low, high)
    _, t_low, t_high = t_interval(x, 0.95)
    assert low == pytest.approx(t_low, abs=0.25) and high == pytest.approx(t_high, abs=0.25)
    assert mean_ci([3.0, 3.0, 3.0], method="bootstrap") == (3.0, 3.0, 3.0)
    with pytest.raises(ValueError):
        mean_ci(x, method="jackknife")


def test_summarize_groups_and_gives_scipy_bounds():
    import pandas as pd

    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 3, "v": [1.0, 2.0, 4.0, 3.0, 10.0, 12.0, 11.0]})
    table = summarize(frame, ["g"], "v")
    for _, row in table.iterrows():
        values = frame.loc[frame["g"] == row["g"], "v"].to_numpy()
        oracle = stats.t.interval(0.95, df=len(values) - 1, loc=values.mean(), scale=stats.sem(values))
        assert row["n"] == len(values)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(oracle)

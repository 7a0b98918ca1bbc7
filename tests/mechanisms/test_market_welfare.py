"""Marketplace welfare baselines (mechanisms.market_welfare) against Magentic's published numbers.

Oracle: Magentic Marketplace's own ``data/mexican_10_30/baseline_utilities.json``
and ``data/mexican_33_99/baseline_utilities.json`` (microsoft/multi-agent-marketplace),
written by ``data/data_generation_scripts/baseline_utilities.py`` (function ``main``)
for the data sets copied into ``tests/data/magentic/mexican_10_30`` and
``tests/data/magentic/mexican_33_99`` (the latter with its baseline_utilities.json,
read here as is).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from mechanisms.market_welfare import advantage_ratio, baselines, customer_utility, pair_utilities, welfare_fraction
from simulator.worlds.marketplace import data as market_data

MAGENTIC_DATA = Path(__file__).resolve().parents[1] / "data" / "magentic"
MEXICAN_10_30 = MAGENTIC_DATA / "mexican_10_30"
MEXICAN_33_99 = MAGENTIC_DATA / "mexican_33_99"

# From Magentic's data/mexican_10_30/baseline_utilities.json.
MAGENTIC_OPTIMAL = 185.61               # pick_optimal_baseline.constant
MAGENTIC_CHEAPEST = 111.31              # pick_cheapest_baseline.constant
MAGENTIC_ANY_IQR = (24.685000000000002, 98.8825)            # pick_any_baseline q1, q3 (1000 Monte Carlo sums)
MAGENTIC_ANY_AMENITIES_IQR = (167.44, 174.82999999999998)   # pick_any_with_amenities_baseline q1, q3


def _magentic_saved(root: Path) -> dict:
    """Magentic's own baseline_utilities.json, copied byte for byte next to the data set."""
    return json.loads((root / "baseline_utilities.json").read_text())


_SAVED_33_99 = _magentic_saved(MEXICAN_33_99)
# (optimal constant, cheapest constant, pick_any (q1, q3), pick_any_with_amenities (q1, q3)) per data set.
MAGENTIC_EXPECTED = {
    "mexican_10_30": (MAGENTIC_OPTIMAL, MAGENTIC_CHEAPEST, MAGENTIC_ANY_IQR, MAGENTIC_ANY_AMENITIES_IQR),
    "mexican_33_99": (
        _SAVED_33_99["pick_optimal_baseline"]["constant"],              # 762.53
        _SAVED_33_99["pick_cheapest_baseline"]["constant"],             # 414.50000000000017
        (_SAVED_33_99["pick_any_baseline"]["q1"], _SAVED_33_99["pick_any_baseline"]["q3"]),
        (_SAVED_33_99["pick_any_with_amenities_baseline"]["q1"], _SAVED_33_99["pick_any_with_amenities_baseline"]["q3"]),
    ),
}


@pytest.fixture(scope="module")
def mexican():
    data = market_data.load(MEXICAN_10_30)
    return market_data.compile_arrays(data)


def _baselines(arrays, **kw):
    return baselines(arrays.value, arrays.cand_customer, arrays.cand_business, arrays.cand_price, arrays.cand_qualifies, **kw)


@pytest.fixture(scope="module", params=sorted(MAGENTIC_EXPECTED))
def published(request):
    data = market_data.load(MAGENTIC_DATA / request.param)
    return market_data.compile_arrays(data), MAGENTIC_EXPECTED[request.param]


def test_optimal_and_cheapest_match_magentic_to_the_cent(published):
    arrays, (optimal, cheapest, _, _) = published
    result = _baselines(arrays)
    assert round(result.optimal, 2) == round(optimal, 2)
    assert round(result.cheapest, 2) == round(cheapest, 2)
    # Magentic adds up every tied cheapest candidate; no ties in either set, so both rules agree.
    assert round(_baselines(arrays, ties="all").cheapest, 2) == round(cheapest, 2)


def test_exact_random_baselines_sit_inside_magentics_monte_carlo_quartiles(published):
    arrays, (_, _, any_iqr, any_amenities_iqr) = published
    result = _baselines(arrays)
    assert any_iqr[0] < result.random < any_iqr[1]
    assert any_amenities_iqr[0] < result.random_with_amenities < any_amenities_iqr[1]


def test_random_baselines_are_the_mean_of_uniform_picks(mexican):
    # Law of large numbers: simulate Magentic's random.choice per customer many times.
    result = _baselines(mexican)
    rng = np.random.default_rng(7)
    u = mexican.cand_utility
    ptr = mexican.cand_indptr
    draws = 20_000
    total_any = np.zeros(draws)
    total_amen = np.zeros(draws)
    for c in range(len(ptr) - 1):
        lo, hi = ptr[c], ptr[c + 1]
        total_any += u[lo:hi][rng.integers(0, hi - lo, size=draws)]
        good = u[lo:hi][mexican.cand_qualifies[lo:hi]]
        total_amen += good[rng.integers(0, len(good), size=draws)]
    se_any = total_any.std() / np.sqrt(draws)
    se_amen = total_amen.std() / np.sqrt(draws)
    assert abs(total_any.mean() - result.random) < 5 * se_any
    assert abs(total_amen.mean() - result.random_with_amenities) < 5 * se_amen


def test_hand_computed_market():
    # Customer 0: value 20 (WTP 10). Candidates: b0 price 8 qualifies (u=12), b1 price 5 lacks amenity (u=-5),
    # b2 price 5 qualifies (u=15). Customer 1: value 6, one candidate b1 price 4 not qualifying (u=-4).
    # Customer 2: no candidate.
    value = np.array([20.0, 6.0, 10.0])
    customer = np.array([0, 0, 0, 1])
    business = np.array([0, 1, 2, 1])
    price = np.array([8.0, 5.0, 5.0, 4.0])
    qualifies = np.array([True, False, True, False])
    np.testing.assert_allclose(pair_utilities(value, customer, price, qualifies), [12, -5, 15, -4])
    r = baselines(value, customer, business, price, qualifies)
    assert r.optimal == pytest.approx(15 - 4)
    assert r.cheapest == pytest.approx(-5 - 4)          # tie at price 5: lowest business index (b1)
    assert baselines(value, customer, business, price, qualifies, ties="all").cheapest == pytest.approx(-5 + 15 - 4)
    assert r.random == pytest.approx((12 - 5 + 15) / 3 - 4)
    assert r.random_with_amenities == pytest.approx((12 + 15) / 2)   # customer 1 has no qualifying candidate
    assert r.customers_without_candidates == 1
    assert r.customers_without_qualifying == 2
    np.testing.assert_allclose(r.per_customer_optimal, [15, -4, 0])


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        baselines(np.array([1.0]), np.array([0]), np.array([0]), np.array([-1.0]), np.array([True]))
    with pytest.raises(ValueError, match="same shape"):
        baselines(np.array([1.0]), np.array([0, 0]), np.array([0]), np.array([1.0]), np.array([True]))
    with pytest.raises(ValueError, match="ties"):
        baselines(np.array([1.0]), np.array([0]), np.array([0]), np.array([1.0]), np.array([True]), ties="first")


def test_small_helpers():
    assert customer_utility(20.0, 7.0, True) == 13.0
    assert customer_utility(20.0, 7.0, False) == -7.0
    assert welfare_fraction(50.0, 200.0) == 0.25
    assert np.isnan(welfare_fraction(1.0, 0.0))
    assert advantage_ratio(10, 2) == 5.0
    assert advantage_ratio(3, 0) == float("inf")
    assert np.isnan(advantage_ratio(0, 0))


def test_capacity_optimum_by_hand():
    from mechanisms.market_welfare import capacity_optimum

    # Both customers value 20 and like b0 best (price 5 -> u 15); b1 costs 9 (u 11) for both.
    value = np.array([20.0, 20.0])
    customer = np.array([0, 0, 1, 1])
    business = np.array([0, 1, 0, 1])
    price = np.array([5.0, 9.0, 5.0, 9.0])
    qualifies = np.ones(4, dtype=bool)
    total, chosen = capacity_optimum(value, customer, business, price, qualifies, 2, capacity=1)
    assert total == pytest.approx(15 + 11) and sorted(chosen.tolist()) == [0, 1]
    total, chosen = capacity_optimum(value, customer, business, price, qualifies, 2, capacity=2)
    assert total == pytest.approx(30) and chosen.tolist() == [0, 0]
    # A negative-utility pair is never forced: one business of capacity 1 that fails the amenities.
    total, chosen = capacity_optimum(np.array([20.0]), np.array([0]), np.array([0]), np.array([5.0]), np.array([False]), 1, capacity=1)
    assert total == 0.0 and chosen.tolist() == [-1]


def test_capacity_optimum_without_binding_capacity_is_the_optimum(mexican):
    from mechanisms.market_welfare import capacity_optimum

    total, _ = capacity_optimum(mexican.value, mexican.cand_customer, mexican.cand_business, mexican.cand_price, mexican.cand_qualifies, 30, capacity=10)
    assert round(total, 2) == MAGENTIC_OPTIMAL
    tight, _ = capacity_optimum(mexican.value, mexican.cand_customer, mexican.cand_business, mexican.cand_price, mexican.cand_qualifies, 30, capacity=1)
    assert tight <= total + 1e-9

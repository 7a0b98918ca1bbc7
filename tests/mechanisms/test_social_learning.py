"""Bayesian herding (BHW 1992) and the planner's dynamic program (Steering the Herd)."""

import itertools

import numpy as np
import pytest

from mechanisms import social_learning as sl


def _two_agents_by_hand(p, tie):
    """P(correct, wrong cascade after 2 agents | theta = 1), enumerating both signals and the tie coin."""
    correct = wrong = 0.0
    for s1, s2 in itertools.product([0, 1], repeat=2):
        prob = (p if s1 == 1 else 1 - p) * (p if s2 == 1 else 1 - p)
        a1 = s1                                   # agent 1 follows its signal
        if s2 == a1:
            outcomes = [(a1, 1.0)]
        else:                                     # agent 2 indifferent
            outcomes = [(0, 0.5), (1, 0.5)] if tie == "coin" else [(s2, 1.0)]
        for a2, w in outcomes:
            if a1 == a2 == 1:
                correct += prob * w
            elif a1 == a2 == 0:
                wrong += prob * w
    return correct, wrong


@pytest.mark.parametrize("tie", ["coin", "own_signal"])
@pytest.mark.parametrize("p", [0.6, 0.75, 0.9])
def test_closed_form_matches_enumeration_for_two_agents(p, tie):
    correct, wrong = _two_agents_by_hand(p, tie)
    got = sl.cascade_probabilities(p, 2, tie)
    assert got["correct"] == pytest.approx(correct)
    assert got["wrong"] == pytest.approx(wrong)
    assert got["none"] == pytest.approx(1 - correct - wrong)


@pytest.mark.parametrize("tie", ["coin", "own_signal"])
@pytest.mark.parametrize("p,n", [(0.6, 4), (0.7, 5), (0.75, 10), (0.9, 3)])
def test_simulated_cascades_within_three_standard_errors_of_bhw(p, n, tie):
    sim = sl.simulate_cascades(p, n, 20000, rng=[int(p * 100), n, int(tie == "coin")], tie=tie)
    theory = sl.cascade_probabilities(p, n, tie)
    for key in ("correct", "wrong", "none"):
        se = max(sim[f"se_{key}"], np.sqrt(theory[key] * (1 - theory[key]) / 20000), 1e-4)
        assert abs(sim[key] - theory[key]) <= 3 * se, (key, sim, theory)


def test_cascade_probabilities_limits_and_parity():
    p = 0.7
    lim = sl.cascade_probabilities(p)
    assert lim["none"] == 0.0
    assert lim["correct"] == pytest.approx(p * (p + 1) / (2 * (1 - p + p * p)))   # BHW's limit
    assert sl.cascade_probabilities(p, 7) == sl.cascade_probabilities(p, 6)
    for n in (0, 1, 2, 9, 50):
        probs = sl.cascade_probabilities(p, n, "coin")
        assert sum(probs.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="strictly between"):
        sl.cascade_probabilities(0.5)
    with pytest.raises(ValueError, match="tie must be one of"):
        sl.cascade_probabilities(0.7, 3, tie="majority")


def test_belief_update_by_hand():
    # from 1/2 with q = 0.7 the first action reveals the signal: belief 0.7
    assert float(sl.update_belief(0.5, 1, 0.7)) == pytest.approx(0.7)
    # in a cascade (belief 0.9 > q = 0.7) the action reveals nothing
    assert float(sl.update_belief(0.9, 1, 0.7)) == pytest.approx(0.9)
    assert int(sl.in_cascade(0.9, 0.7)) == 1 and int(sl.in_cascade(0.6, 0.7)) == 0


@pytest.mark.parametrize("base,scale,discount", [(0.6, 1.5, 0.9), (0.55, 3.0, 0.8), (0.7, 0.5, 0.95)])
def test_altruistic_value_function_is_convex_on_the_grid(base, scale, discount):
    sol = sl.solve_planner("altruistic", base_precision=base, cost_scale=scale, discount=discount)
    assert sol.converged
    assert sl.is_convex_on_grid(sol.beliefs, sol.value)
    # symmetric problem: V(pi) = V(1 - pi)
    assert np.allclose(sol.value, sol.value[::-1], atol=1e-8)


def test_convexity_check_rejects_a_concave_function():
    x = np.linspace(0, 1, 51)
    assert not sl.is_convex_on_grid(x, -(x - 0.5) ** 2)
    assert sl.is_convex_on_grid(x, (x - 0.5) ** 2)


def test_altruistic_planner_raises_the_share_of_correct_actions():
    q0, n = 0.6, 20
    sol = sl.solve_planner("altruistic", base_precision=q0, cost_scale=1.5)
    without = sl.expected_outcomes(q0, n)
    with_planner = sl.expected_outcomes(sol.precision, n)
    assert with_planner["correct_share"] > without["correct_share"] + 0.1
    assert without["correct_share"] > q0   # social learning already helps a little


def test_biased_planner_obfuscates_where_the_public_leans_its_way():
    q0 = 0.6
    sol = sl.solve_planner("biased", base_precision=q0, cost_scale=2.0, target=1)
    # with 1/2 < pi < q0 agents would still follow their signals; lowering q below pi starts a herd on 1
    for pi in (0.52, 0.55, 0.58):
        assert sol.precision(pi) < pi < q0
    intervals = sol.obfuscation_intervals()
    assert any(lo <= 0.55 <= hi for lo, hi in intervals)
    # ... and it pays off for the planner: more target actions than without it
    assert sl.expected_outcomes(sol.precision, 20, prior=0.55)["target_share"] > sl.expected_outcomes(q0, 20, prior=0.55)["target_share"] + 0.2


def test_value_iteration_matches_a_hand_computed_myopic_case():
    # discount 0: V(pi) = max_q r(pi, q) - c(q); altruistic with free precision up to 0.99: V = max(pi, 1-pi, 0.99)
    sol = sl.solve_planner("altruistic", base_precision=0.6, cost_scale=0.0, discount=0.0)
    assert np.allclose(sol.value, np.maximum(np.maximum(sol.beliefs, 1 - sol.beliefs), 0.99))

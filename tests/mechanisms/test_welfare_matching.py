"""Welfare measures against closed forms; optimal assignment against brute force and networkx."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from mechanisms import welfare
from mechanisms.matching import optimal_assignment
from mechanisms.normal_form import stack, support_enumeration

# ----------------------------------------------------------------------------- welfare


def test_welfare_functions_closed_forms():
    u = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(welfare.utilitarian(u), [6, 6])
    np.testing.assert_allclose(welfare.egalitarian(u), [1, 2])
    np.testing.assert_allclose(welfare.nash_welfare(u), [6, 8])
    np.testing.assert_allclose(welfare.nash_welfare(u, log=True), np.log([6, 8]))
    assert welfare.nash_welfare([3.0, 1.0], disagreement=[1.0, 1.0]) == 0.0
    assert welfare.nash_welfare([3.0, 1.0], disagreement=1.0, log=True) == -np.inf


def test_gini_closed_forms():
    # Equality -> 0; one agent holds everything -> (n - 1) / n; [1, 2, 3, 4]: mean |diff| = 1.25 -> G = 1.25 / (2 * 2.5).
    assert welfare.gini([5, 5, 5, 5]) == 0.0
    assert welfare.gini([0, 0, 0, 7]) == pytest.approx(3 / 4)
    assert welfare.gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert welfare.gini([0, 0]) == 0.0
    np.testing.assert_allclose(welfare.gini([[1, 1], [0, 1]]), [0.0, 0.5])
    # Against the definition: sum |v_i - v_j| / (2 n^2 mean).
    v = np.random.default_rng(0).random(9)
    assert welfare.gini(v) == pytest.approx(np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean()))
    with pytest.raises(ValueError, match="non-negative"):
        welfare.gini([-1, 2])


def test_price_of_anarchy_prisoners_dilemma_and_pigou():
    # Prisoner's dilemma: the only equilibrium (D, D) has welfare 2, the optimum (C, C) 6: PoA = PoS = 3.
    u = stack([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    eqs = support_enumeration(*u)
    report = welfare.efficiency([e.payoffs for e in eqs], u)
    assert report["optimum"] == 6 and report["price_of_anarchy"] == pytest.approx(3) and report["price_of_stability"] == pytest.approx(3)
    # Pigou's example (Roughgarden & Tardos 2002): equilibrium cost 1, optimal cost 3/4 -> PoA 4/3.
    assert welfare.price_of_anarchy([1.0], 0.75, objective="cost") == pytest.approx(4 / 3)
    # Battle of the sexes: equilibria with welfare 3, 3 and 4/3; optimum 3 -> PoA 9/4, PoS 1.
    u = stack([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    report = welfare.efficiency([e.payoffs for e in support_enumeration(*u)], u)
    assert report["price_of_anarchy"] == pytest.approx(9 / 4) and report["price_of_stability"] == pytest.approx(1)
    with pytest.raises(ValueError):
        welfare.price_of_anarchy([], 1.0)


# ----------------------------------------------------------------------------- matching


def _brute_force(w, cap_left, cap_right, banned):
    """Best total over every set of allowed pairs that respects the capacities (tiny instances only)."""
    L, R = w.shape
    allowed = [(i, j) for i in range(L) for j in range(R) if not banned[i, j]]
    best = 0.0
    for r in range(len(allowed) + 1):
        for subset in itertools.combinations(allowed, r):
            if all(sum(1 for a, _ in subset if a == i) <= cap_left[i] for i in range(L)) and all(
                sum(1 for _, b in subset if b == j) <= cap_right[j] for j in range(R)
            ):
                best = max(best, sum(w[i, j] for i, j in subset))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_assignment_with_capacities_and_forbidden_pairs_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    L, R = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    w = rng.integers(-3, 10, (L, R)).astype(float)
    banned = rng.random((L, R)) < 0.25
    cap_left = rng.integers(1, 3, L)
    cap_right = rng.integers(1, 3, R) if seed % 2 else np.ones(R, int)  # odd seeds need the MILP path
    result = optimal_assignment(w, cap_left, cap_right, forbidden=banned)
    assert result.total == pytest.approx(_brute_force(w, cap_left, cap_right, banned))
    assert len(set(result.pairs)) == len(result.pairs)
    assert all(not banned[i, j] for i, j in result.pairs)
    assert (result.left_load <= cap_left).all() and (result.right_load <= cap_right).all()


@pytest.mark.parametrize("seed", range(5))
def test_unit_assignment_matches_networkx_max_weight_matching(seed):
    rng = np.random.default_rng(seed)
    L, R = 7, 9
    w = rng.integers(1, 100, (L, R)).astype(float)
    g = nx.Graph()
    for i in range(L):
        for j in range(R):
            g.add_edge(("l", i), ("r", j), weight=w[i, j])
    matching = nx.max_weight_matching(g)
    best = sum(g[a][b]["weight"] for a, b in matching)
    result = optimal_assignment(w)
    assert result.total == pytest.approx(best)
    assert len(result.pairs) == L  # all weights positive: everyone on the smaller side is matched


def test_assignment_options():
    w = np.array([[5.0, -1.0], [-2.0, -3.0]])
    # Not perfect: the second left agent stays unmatched rather than lose value.
    assert optimal_assignment(w).pairs == [(0, 0)]
    # Perfect: forced to take a negative pair.
    assert optimal_assignment(w, perfect=True).total == pytest.approx(2.0)
    # Costs: minimise.
    assert optimal_assignment(np.array([[4.0, 1.0], [2.0, 8.0]]), maximize=False, perfect=True).pairs == [(0, 1), (1, 0)]
    # Forbidden pairs by list, and an impossible perfect assignment.
    assert optimal_assignment(np.ones((2, 2)), forbidden=[(0, 0)]).pairs == [(0, 1), (1, 0)]
    with pytest.raises(ValueError, match="no feasible"):
        optimal_assignment(np.ones((2, 2)), forbidden=[(0, 0), (1, 0)], perfect=True)
    with pytest.raises(ValueError, match="cap_left"):
        optimal_assignment(np.ones((2, 2)), cap_left=[1, 2, 3])
    assert optimal_assignment(np.ones((2, 3)), cap_left=0).pairs == []
    assert optimal_assignment(np.array([[3.0, 2.0]]), cap_left=2).partner(0) == [0, 1]

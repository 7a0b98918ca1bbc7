"""mechanisms.public_goods: SPNE from the backward-induction solver, Nash equilibria, welfare.

The expected equilibria are facts about the games, checked on what the
solver returns: zero contribution for the standard game with r < n (a strictly
dominant strategy, "Everyone Contributes!" §3), full contribution under the
redesigned reward when gamma > 1 - r/n (the proposition in the module
docstring). Outside oracles: nashpy for the two-player simultaneous game, and
a brute-force backward induction written here for small sequential games.
"""

from __future__ import annotations

import itertools

import nashpy
import numpy as np
import pytest

from mechanisms import public_goods as pg

CASES = [(2, 10, 1.5, 1), (3, 4, 2.0, 1), (4, 6, 1.6, 2), (5, 3, 4.5, 1), (3, 10, 2.9, 5)]


@pytest.mark.parametrize("n, e, r, step", CASES)
def test_standard_spgg_spne_is_zero_contribution(n, e, r, step):
    spne = pg.spgg_spne(n, e, r, step=step)
    assert spne["contributions"] == [0.0] * n
    assert spne["unique"] is True
    assert spne["payoffs"] == pytest.approx([e] * n, abs=1e-12)
    assert spne["welfare"] == pytest.approx(n * e, abs=1e-12)


@pytest.mark.parametrize("n, e, r, step", CASES)
def test_mac_spgg_spne_is_full_contribution(n, e, r, step):
    spne = pg.spgg_spne(n, e, r, reward="mac_spgg", step=step)
    assert spne["contributions"] == [float(e)] * n
    assert spne["unique"] is True
    # Everyone ends up with more than the standard game's equilibrium payoff e.
    assert min(spne["payoffs"]) > e


@pytest.mark.parametrize("n, e, r", [(3, 4, 2.0), (4, 4, 1.2)])
def test_mac_spgg_needs_its_condition(n, e, r):
    # With no bonus and no penalty the rule is the standard game again: zero contribution.
    assert pg.spgg_spne(n, e, r, reward="mac_spgg", gamma=0.0, penalty=0.0)["contributions"] == [0.0] * n
    # Just above the bound gamma > 1 - r/n, full contribution (even without the penalty).
    gamma = 1 - r / n + 0.01
    assert pg.mac_spgg_condition(n, r, gamma)
    assert pg.spgg_spne(n, e, r, reward="mac_spgg", gamma=gamma, penalty=0.0)["contributions"] == [float(e)] * n
    # Below it, the first mover (no predecessors, so no bonus multiplier) loses by giving the full
    # endowment unless that drags its successors up: the sufficient condition is no longer met.
    low = 1 - r / n - 0.01
    assert not pg.mac_spgg_condition(n, r, low)
    assert pg.spgg_spne(n, e, r, reward="mac_spgg", gamma=low, penalty=0.0)["contributions"] != [float(e)] * n


def _brute_force_spne(n, grid, reward):
    """Backward induction by plain recursion over histories (independent of extensive_form)."""

    def solve(history):
        if len(history) == n:
            return reward(np.array(history))
        mover = len(history)
        options = [solve(history + (c,)) for c in grid]
        best = max(range(len(grid)), key=lambda k: (options[k][mover], -k))
        return options[best]

    return solve(())


@pytest.mark.parametrize("reward", ["standard", "mac_spgg"])
@pytest.mark.parametrize("n, e, r", [(2, 4, 1.5), (3, 3, 2.5)])
def test_solver_agrees_with_brute_force(reward, n, e, r):
    grid = [float(x) for x in range(e + 1)]
    brute = _brute_force_spne(n, grid, lambda c: pg.payoffs(c, e, r, reward))
    assert pg.spgg_spne(n, e, r, reward=reward)["payoffs"] == pytest.approx(list(brute), abs=1e-12)


def test_ties_when_r_equals_n_are_reported():
    spne = pg.spgg_spne(3, 4, 3.0)
    assert spne["unique"] is False


def test_two_player_simultaneous_game_matches_nashpy():
    grid, u = pg.payoff_tensor(2, 4, 1.5)
    equilibria = list(nashpy.Game(u[0], u[1]).support_enumeration())
    assert len(equilibria) == 1
    row, col = equilibria[0]
    assert grid[int(np.argmax(row))] == 0.0 and grid[int(np.argmax(col))] == 0.0
    assert pg.pgg_nash(2, 4, 1.5) == [[0.0, 0.0]]
    assert pg.pgg_nash(3, 2, 2.0, reward="mac_spgg") == [[2.0, 2.0, 2.0]]


@pytest.mark.parametrize("n, e, r", [(3, 4, 2.0), (4, 6, 1.6)])
def test_welfare_and_price_of_anarchy(n, e, r):
    theory = pg.spgg_theory(n, e, r, step=2 if e % 2 == 0 else 1)
    # Material welfare n e + (r - 1) sum c: n e at zero contribution, r n e at full.
    assert theory["equilibrium_material_welfare"] == pytest.approx(n * e)
    assert theory["optimum_material_welfare"] == pytest.approx(r * n * e)
    assert theory["welfare_gap"] == pytest.approx((r - 1) * n * e)
    assert theory["price_of_anarchy"] == pytest.approx(r)
    mac = pg.spgg_theory(n, e, r, reward="mac_spgg", step=2)
    assert mac["price_of_anarchy"] == pytest.approx(1.0)
    assert mac["welfare_gap"] == pytest.approx(0.0)


def test_social_optimum_under_standard_rule_is_full_contribution():
    best = pg.social_optimum(3, 4, 2.0)
    assert best["contributions"] == [4.0, 4.0, 4.0]
    assert best["welfare"] == pytest.approx(2.0 * 3 * 4)


def test_reward_rules_are_pluggable():
    def refund(c, endowment, multiplier, bonus=0.5):
        """Contributions are refunded with a bonus, plus the usual share: contributing is dominant."""
        return endowment + bonus * c + multiplier / c.size * c.sum()

    assert pg.spgg_spne(3, 4, 1.5, reward=refund)["contributions"] == [4.0, 4.0, 4.0]
    name = "test_refund_rule"
    if name not in pg.reward_names():
        pg.register_reward(name)(refund)
    assert pg.spgg_spne(2, 4, 1.5, reward=name, bonus=0.1)["contributions"] == [4.0, 4.0]
    with pytest.raises(ValueError, match="allowed: .*mac_spgg.*standard"):
        pg.get_reward("no_such_rule")
    with pytest.raises(ValueError, match="does not take"):
        pg.reward_params_ok("standard", {"gamma": 1.0})


def test_grid_and_size_errors():
    with pytest.raises(ValueError, match="multiple of step"):
        pg.spgg_spne(2, 10, 1.5, step=3)
    with pytest.raises(ValueError, match="coarser step"):
        pg.spgg_spne(12, 10, 1.5, step=1)


def test_payoffs_of_equation_1_by_hand():
    c = np.array([0.0, 10.0, 10.0, 10.0])
    assert pg.payoffs(c, 10.0, 1.6).tolist() == pytest.approx([22.0, 12.0, 12.0, 12.0])
    # Every profile: payoffs sum to n e + (r - 1) sum c.
    for profile in itertools.product([0.0, 2.0, 4.0], repeat=3):
        assert pg.payoffs(np.array(profile), 4.0, 2.0).sum() == pytest.approx(12 + sum(profile))

"""Backward induction against closed forms and against the definition of subgame perfection.

Oracles: textbook answers (ultimatum game, a commitment/Stackelberg game, the
linear public goods game), and a brute-force check of the definition — the
one-shot deviation principle at every subgame, plus enumeration of all pure
strategy profiles on small random trees — written independently of the solver.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mechanisms.extensive_form import (
    Node,
    TooManyEquilibria,
    all_spne,
    backward_induction,
    decision,
    solve_sequential,
    stackelberg_tree,
    terminal,
    tree_from_sequential,
    ultimatum_tree,
)


def test_ultimatum_game_textbook_spne():
    # Osborne & Rubinstein Ex. 6.2 (discrete offers): exactly two SPNE, offers 0 and 1.
    tree = ultimatum_tree(10)
    first = backward_induction(tree, tie_break="first")  # responder accepts when indifferent
    assert first.path == ["0", "accept"]
    np.testing.assert_array_equal(first.payoffs, [10, 0])
    assert not first.unique and first.ties_anywhere
    assert first.on_path_ties == [("0",)]
    last = backward_induction(tree, tie_break="last")  # responder rejects when indifferent
    assert last.path == ["1", "accept"]
    np.testing.assert_array_equal(last.payoffs, [9, 1])
    outcomes = sorted((tuple(s.path), tuple(s.payoffs)) for s in all_spne(tree))
    assert outcomes == [(("0", "accept"), (10.0, 0.0)), (("1", "accept"), (9.0, 1.0))]


def test_stackelberg_commitment_beats_simultaneous_play():
    # von Stengel & Zamir (2010), Fig. 1: simultaneous NE (T, l) pays the leader 2;
    # committing to B makes the follower play r and pays the leader 3.
    A = np.array([[2, 4], [1, 3]])
    B = np.array([[1, 0], [0, 2]])
    result = backward_induction(stackelberg_tree(A, B, ["T", "B"], ["l", "r"]))
    assert result.path == ["B", "r"]
    np.testing.assert_array_equal(result.payoffs, [3, 2])
    assert result.unique and not result.ties_anywhere
    assert result.strategy == {(): "B", ("T",): "l", ("B",): "r"}


def test_welfare_tie_break_picks_highest_total():
    tree = decision(0, {"a": terminal(1, 0), "b": terminal(1, 5), "c": terminal(0, 9)})
    assert backward_induction(tree, tie_break="first").path == ["a"]
    assert backward_induction(tree, tie_break="welfare").path == ["b"]
    assert backward_induction(tree, tie_break="last").path == ["b"]
    with pytest.raises(ValueError, match="allowed: first, last, welfare"):
        backward_induction(tree, tie_break="random")


def _linear_pgg(n, endowment, r):
    def player_of(state):
        return len(state) if len(state) < n else None

    def actions(state):
        return range(endowment + 1)

    def step(state, action):
        return state + (action,)

    def payoffs(state):
        return [endowment - c + r / n * sum(state) for c in state]

    return player_of, actions, step, payoffs


@pytest.mark.parametrize("n,endowment,r", [(3, 4, 2.0), (6, 3, 5.5)])
def test_sequential_public_goods_free_riding(n, endowment, r):
    # Linear PGG with r/n < 1: contributing is strictly dominated, so the unique SPNE is zero contribution.
    result = solve_sequential((), *_linear_pgg(n, endowment, r))
    assert result.path == [0] * n
    np.testing.assert_allclose(result.payoffs, [endowment] * n)
    assert result.unique and not result.ties_anywhere


def test_sequential_public_goods_full_contribution_when_r_exceeds_n():
    n, endowment, r = 5, 4, 6.0  # r/n > 1: each unit returns more than it costs
    result = solve_sequential((), *_linear_pgg(n, endowment, r))
    assert result.path == [endowment] * n
    np.testing.assert_allclose(result.payoffs, [r * endowment] * n)
    assert result.unique


def test_sequential_memoises_on_state():
    # State = (next mover, total so far): 8 players x 11 levels is tiny even though histories number 11**8.
    n, endowment, r = 8, 10, 4.0
    calls = []

    def player_of(state):
        return state[0] if state[0] < n else None

    def step(state, a):
        calls.append(state)
        return (state[0] + 1, state[1] + a)

    def payoffs(state):  # symmetric by construction, only the total matters in this test
        return [r / n * state[1]] * n

    result = solve_sequential((0, 0), player_of, lambda s: range(endowment + 1), step, payoffs)
    assert len(calls) < 9 * (n * endowment + 1) * (endowment + 1)
    assert result.path[0] == endowment  # contributing raises everyone's (shared) payoff


def test_cycle_and_bad_trees_are_reported():
    with pytest.raises(ValueError, match="reachable from itself"):
        solve_sequential(0, lambda s: 0, lambda s: [1], lambda s, a: (s + a) % 2, lambda s: [0.0])
    with pytest.raises(ValueError, match="no payoffs"):
        backward_induction(Node(0, None, {"x": Node(None, None)}))
    with pytest.raises(ValueError, match="player 3"):
        backward_induction(decision(3, {"x": terminal(1, 2)}))
    with pytest.raises(ValueError, match="others have"):
        backward_induction(decision(0, {"x": terminal(1, 2), "y": terminal(1, 2, 3)}))


def test_all_spne_limit():
    # The responder gets 0 whatever happens, so she is indifferent at all 11 nodes (2**11 replies).
    # If she accepts some k >= 1 the proposer's best offer is unique; if she accepts nothing, or only
    # k = 0, all 11 offers pay the proposer 0: 2**11 - 2 + 2 * 11 SPNE in all.
    tree = decision(0, {str(k): decision(1, {"a": terminal(k, 0), "r": terminal(0, 0)}) for k in range(11)})
    with pytest.raises(TooManyEquilibria):
        all_spne(tree, limit=100)
    assert len(all_spne(tree, limit=5000)) == 2**11 - 2 + 2 * 11


# ----------------------------------------------------------------------------- definition-based oracle


def _random_tree(rng, depth, n_players, branching, ties):
    if depth == 0 or (depth < 3 and rng.random() < 0.2):
        pay = rng.integers(0, 3, n_players) if ties else rng.random(n_players)
        return terminal(*pay)
    k = int(rng.integers(1, branching + 1))
    return decision(int(rng.integers(n_players)), {f"a{i}": _random_tree(rng, depth - 1, n_players, branching, ties) for i in range(k)})


def _decision_nodes(tree):
    out, stack = [], [(tree, ())]
    while stack:
        node, h = stack.pop()
        if node.player is not None:
            out.append((node, h))
            stack.extend((c, h + (a,)) for a, c in node.children.items())
    return out


def _outcome(node, h, strategy):
    while node.player is not None:
        a = strategy[h]
        node, h = node.children[a], h + (a,)
    return np.asarray(node.payoffs, dtype=float)


def _is_subgame_perfect(tree, strategy):
    """No player gains by deviating at any node given the rest of the profile (one-shot deviation principle)."""
    for node, h in _decision_nodes(tree):
        current = _outcome(node, h, strategy)[node.player]
        for a, child in node.children.items():
            if _outcome(child, h + (a,), strategy)[node.player] > current + 1e-12:
                return False
    return True


@pytest.mark.parametrize("seed", range(20))
def test_random_trees_match_definition(seed):
    rng = np.random.default_rng(seed)
    ties = seed % 2 == 1
    tree = _random_tree(rng, depth=4, n_players=3, branching=3, ties=ties)
    result = backward_induction(tree)
    assert _is_subgame_perfect(tree, result.strategy)
    nodes = _decision_nodes(tree)
    if len(nodes) > 14:
        return
    # Brute force: every pure strategy profile that is subgame perfect is found by all_spne, and only those.
    choices = [list(node.children) for node, _ in nodes]
    histories = [h for _, h in nodes]
    brute = set()
    for combo in itertools.product(*choices):
        strategy = dict(zip(histories, combo))
        if _is_subgame_perfect(tree, strategy):
            brute.add(tuple(sorted(strategy.items())))
    found = {tuple(sorted(s.strategy.items())) for s in all_spne(tree)}
    assert found == brute
    if not ties:
        assert len(found) == 1 and result.unique


def test_tree_from_sequential_agrees_with_dp():
    spec = _linear_pgg(3, 2, 2.0)
    tree = tree_from_sequential((), *spec)
    a = backward_induction(tree)
    b = solve_sequential((), *spec)
    np.testing.assert_allclose(a.payoffs, b.payoffs)
    assert [int(x) for x in a.path] == b.path

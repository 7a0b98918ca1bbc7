"""mechanisms.game_tree: chance nodes, information sets, perfect recall, behaviour strategies, best responses.

Oracles: closed forms worked by hand on small games, and brute force over every pure
behaviour profile (a best response must be as good as the best pure strategy).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from mechanisms import extensive_form as ef
from mechanisms import game_tree as gt
from mechanisms.game_tree import CHANCE, Node, chance, decision, terminal


def matching_pennies_hidden() -> gt.ExtensiveGame:
    """Player 1 picks H/T; player 2 picks without seeing it (one information set)."""
    p2 = lambda a, b: decision(1, "guess", {"H": terminal(a, -a), "T": terminal(b, -b)})  # noqa: E731
    return gt.ExtensiveGame(decision(0, "pick", {"H": p2(1, -1), "T": p2(-1, 1)}))


def coin_then_bet() -> gt.ExtensiveGame:
    """A fair coin; player 1 sees it and bets or folds; player 2 sees only the bet and calls or folds."""
    def after(coin_wins: bool) -> Node:
        stake = 2 if coin_wins else -2
        call_fold = decision(1, "facing bet", {"call": terminal(stake, -stake), "fold": terminal(1, -1)})
        return decision(0, f"coin {'heads' if coin_wins else 'tails'}", {"bet": call_fold, "fold": terminal(-1, 1)})
    return gt.ExtensiveGame(chance({"heads": ("1/2", after(True)), "tails": ("1/2", after(False))}))


def test_sequences_and_infosets_are_indexed_in_preorder():
    game = coin_then_bet()
    assert [i.label for i in game.infosets] == ["coin heads", "facing bet", "coin tails"]
    assert game.n_sequences == [5, 3]  # empty + 2 + 2 for player 1; empty + 2 for player 2
    facing = game.infoset_of(1, "facing bet")
    assert len(facing.nodes) == 2 and facing.parent_sequence == 0
    assert game.perfect_recall and not game.is_perfect_information
    assert game.leaf_chance_exact.tolist() == [Fraction(1, 2)] * 6


def test_expected_payoffs_match_a_hand_computation():
    game = coin_then_bet()
    # player 1 always bets, player 2 calls with probability 1/3
    b = gt.behaviour_from_dict(game, {0: {"coin heads": [1, 0], "coin tails": [1, 0]}, 1: {"facing bet": ["1/3", "2/3"]}}, exact=True)
    # heads: 1/3 * 2 + 2/3 * 1 = 4/3; tails: 1/3 * -2 + 2/3 * 1 = 0; mean 2/3
    assert gt.expected_payoffs(game, b, exact=True).tolist() == [Fraction(2, 3), Fraction(-2, 3)]


def test_realization_plans_round_trip_to_behaviour():
    game = coin_then_bet()
    rng = np.random.default_rng(3)
    b = rng.dirichlet([1, 1], size=3).ravel()
    plans = [gt.realization_plan(game, b, i) for i in range(2)]
    assert np.allclose(gt.behaviour_from_plans(game, plans), b)
    assert plans[0][0] == 1 and np.isclose(plans[0][1] + plans[0][2], 1)


def pure_profiles(game):
    for choice in itertools.product(*[range(len(i.actions)) for i in game.infosets]):
        b = np.zeros(game.n_slots)
        for info, a in zip(game.infosets, choice):
            b[info.offset + a] = 1.0
        yield b


@pytest.mark.parametrize("make", [coin_then_bet, matching_pennies_hidden])
def test_best_response_beats_every_pure_deviation(make):
    game = make()
    rng = np.random.default_rng(7)
    sizes = [len(i.actions) for i in game.infosets]
    for _ in range(5):
        b = np.concatenate([rng.dirichlet(np.ones(k)) for k in sizes])
        for player in range(2):
            br = gt.best_response(game, b, player)
            mine = game.slot_player == player
            best = max(gt.expected_payoffs(game, np.where(mine, pure, b))[player] for pure in pure_profiles(game))
            assert br.value == pytest.approx(best, abs=1e-12)
            assert gt.expected_payoffs(game, br.behaviour)[player] == pytest.approx(best, abs=1e-12)


def test_matching_pennies_uniform_is_the_equilibrium():
    game = matching_pennies_hidden()
    assert gt.nash_conv(game, gt.uniform_behaviour(game)) == pytest.approx(0.0, abs=1e-15)
    b = gt.behaviour_from_dict(game, {0: {"pick": [0.75, 0.25]}})
    # player 2 best-responds with T and wins 1/2; player 1 loses 1/2 relative to 0
    assert gt.nash_conv(game, b) == pytest.approx(0.5)
    assert gt.exploitability(game, b) == pytest.approx(0.25)


def test_imperfect_recall_is_detected_and_named():
    # player 1 moves, then forgets its move: both of its second nodes share one set
    forget = lambda: decision(0, "second", {"x": terminal(1, 0), "y": terminal(0, 1)})  # noqa: E731
    root = decision(0, "first", {"L": forget(), "R": forget()})
    with pytest.raises(gt.GameTreeError, match="imperfect recall.*'second'"):
        gt.ExtensiveGame(root)
    game = gt.ExtensiveGame(root, require_perfect_recall=False)
    assert not game.perfect_recall


def test_inconsistent_information_sets_and_chance_are_refused():
    bad_actions = decision(0, "root", {"a": decision(1, "s", {"x": terminal(0, 0)}), "b": decision(1, "s", {"y": terminal(0, 0)})})
    with pytest.raises(gt.GameTreeError, match="information set 's'.*actions"):
        gt.ExtensiveGame(bad_actions)
    with pytest.raises(gt.GameTreeError, match="sum to 1"):
        gt.ExtensiveGame(Node(CHANCE, {"a": terminal(0), "b": terminal(1)}, probs=["1/2", "1/3"]))
    with pytest.raises(gt.GameTreeError, match="2 payoffs; others have 1"):
        gt.ExtensiveGame(decision(0, None, {"a": terminal(0), "b": terminal(1, 2)}))


def test_perfect_information_trees_convert_from_extensive_form():
    tree = ef.decision(0, {"out": ef.terminal(0, 2), "in": ef.decision(1, {"fight": ef.terminal(-1, -1), "accommodate": ef.terminal(1, 1)})})
    game = gt.from_perfect_information(tree)
    assert game.is_perfect_information and game.n_sequences == [3, 3]
    spne = ef.backward_induction(tree)
    b = gt.behaviour_from_dict(game, {0: {game.infosets[0].label: [0, 1]}, 1: {game.infosets[1].label: [0, 1]}})
    assert spne.path == ["in", "accommodate"]
    assert gt.expected_payoffs(game, b).tolist() == [1.0, 1.0]
    assert gt.nash_conv(game, b) == 0.0

"""OpenSpiel as an oracle for the extensive-form code: Kuhn and Leduc poker, values and exploitability.

OpenSpiel's ``kuhn_poker`` and ``leduc_poker`` are walked state by state into an
:class:`ExtensiveGame` (information sets = OpenSpiel's information-state strings). Then:
the shipped .efg files are the same games (sizes, LP values); our exploitability of
random and CFR+ policies equals OpenSpiel's ``exploitability``; the sequence-form LP's
strategies are unexploitable by OpenSpiel's measure.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pyspiel  # open_spiel, a dev dependency (the oracle); never skipped
import pytest
from open_spiel.python import policy as os_policy
from open_spiel.python.algorithms import exploitability as os_exploitability

from mechanisms import cfr, efg_format
from mechanisms import game_tree as gt
from mechanisms import sequence_form as sf

ROOT = Path(__file__).resolve().parents[2]


def from_openspiel(game) -> gt.ExtensiveGame:
    """The full tree of an OpenSpiel game; actions are labelled by their OpenSpiel ids."""

    def walk(state) -> gt.Node:
        if state.is_terminal():
            return gt.terminal(*[Fraction(r).limit_denominator(10_000) for r in state.returns()])
        if state.is_chance_node():
            outcomes = state.chance_outcomes()
            return gt.Node(gt.CHANCE, {str(a): walk(state.child(a)) for a, _ in outcomes},
                           probs=[Fraction(p).limit_denominator(10_000) for _, p in outcomes])
        player = state.current_player()
        return gt.Node(player, {str(a): walk(state.child(a)) for a in state.legal_actions()},
                       infoset=state.information_state_string(player))

    return gt.ExtensiveGame(walk(game.new_initial_state()), ["Player 1", "Player 2"])


def to_tabular(os_game, game: gt.ExtensiveGame, behaviour: np.ndarray):
    tab = os_policy.TabularPolicy(os_game)
    for info in game.infosets:
        row = tab.state_lookup[info.label]
        tab.action_probability_array[row, :] = 0.0
        for j, a in enumerate(info.actions):
            tab.action_probability_array[row, int(a)] = behaviour[info.offset + j]
    return tab


@pytest.fixture(scope="module")
def kuhn_os():
    return pyspiel.load_game("kuhn_poker")


@pytest.fixture(scope="module")
def leduc_os():
    return pyspiel.load_game("leduc_poker")


def test_shipped_kuhn_is_openspiels_kuhn(kuhn_os):
    walked = from_openspiel(kuhn_os)
    shipped = efg_format.read_efg((ROOT / "games" / "kuhn_poker.efg").read_text())
    assert walked.n_sequences == shipped.n_sequences and walked.n_nodes == shipped.n_nodes
    assert sf.zero_sum_lp(walked).value == pytest.approx(-1 / 18, abs=1e-9)
    assert sf.zero_sum_lp(shipped).value == pytest.approx(sf.zero_sum_lp(walked).value, abs=1e-12)


def test_shipped_leduc_is_openspiels_leduc(leduc_os):
    walked = from_openspiel(leduc_os)
    shipped = efg_format.read_efg((ROOT / "games" / "leduc_poker.efg").read_text())
    assert walked.n_nodes == shipped.n_nodes == 9457
    assert walked.n_sequences == shipped.n_sequences
    assert len(walked.infosets) == len(shipped.infosets) == 936
    # the same terminal (probability, payoff) multiset, and the same game value
    key = lambda g: sorted(zip(g.leaf_chance_exact.tolist(), map(tuple, g.leaf_payoff_exact.tolist())))  # noqa: E731
    assert key(walked) == key(shipped)
    assert sf.zero_sum_lp(shipped).value == pytest.approx(sf.zero_sum_lp(walked).value, abs=1e-9)


@pytest.mark.parametrize("name", ["kuhn_poker", "leduc_poker"])
def test_exploitability_equals_openspiels_on_random_policies(name):
    os_game = pyspiel.load_game(name)
    game = from_openspiel(os_game)
    rng = np.random.default_rng(11)
    for _ in range(3):
        b = np.concatenate([rng.dirichlet(np.ones(len(i.actions))) for i in game.infosets])
        theirs = os_exploitability.exploitability(os_game, to_tabular(os_game, game, b))
        assert gt.exploitability(game, b) == pytest.approx(theirs, abs=1e-10)


def test_cfr_plus_and_lp_strategies_on_kuhn_by_openspiels_measure(kuhn_os):
    game = from_openspiel(kuhn_os)
    result = cfr.cfr_plus(game, iterations=1000, target=1e-4, check_every=25)
    theirs = os_exploitability.exploitability(kuhn_os, to_tabular(kuhn_os, game, result.average))
    assert theirs < 1e-3
    assert result.exploitability == pytest.approx(theirs, abs=1e-10)
    lp = sf.zero_sum_lp(game)
    assert os_exploitability.exploitability(kuhn_os, to_tabular(kuhn_os, game, lp.behaviour)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name, checkpoints", [("kuhn_poker", (10, 50, 200)), ("leduc_poker", (10, 20))])
def test_cfr_plus_tracks_openspiels_cfr_plus_iteration_by_iteration(name, checkpoints):
    """Same algorithm (regret matching+, alternating updates, linear averaging): the same average strategies."""
    os_game = pyspiel.load_game(name)
    game = from_openspiel(os_game)
    ours = dict(cfr.cfr_plus(game, iterations=max(checkpoints), check_every=10).history)
    solver = pyspiel.CFRPlusSolver(os_game)
    for t in range(1, max(checkpoints) + 1):
        solver.evaluate_and_update_policy()
        if t in checkpoints:
            assert ours[t] == pytest.approx(pyspiel.exploitability(os_game, solver.average_policy()), abs=1e-9), f"iteration {t}"

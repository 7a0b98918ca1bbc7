"""The YAML `tree:` format with chance nodes and information sets: solved like .efg files, errors located in the file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pygambit
import pytest

from mechanisms import efg_format
from mechanisms import sequence_form as sf
from simulator.scenario import ScenarioError
from simulator.solve import load_game, load_game_text, solve_game

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_yaml_with_chance_and_infosets_matches_gambit(tmp_path):
    game = load_game(ROOT / "games" / "hidden_coin.yaml")
    assert game.kind == "extensive"
    tree = game.extensive
    assert [len(s) for s in tree.player_infosets] == [1, 2]  # the guesser cannot tell heads from tails
    path = tmp_path / "hidden_coin.efg"
    path.write_text(efg_format.write_efg(tree))
    g = pygambit.read_efg(str(path))
    value = Fraction(pygambit.nash.lp_solve(g, rational=True).equilibria[0].payoff(list(g.players)[0]))
    assert sf.zero_sum_lp(tree).value == pytest.approx(float(value), abs=1e-12)
    report = solve_game(game)
    assert report.method == "sequence-lp" and report.equilibria[0]["exact"]["payoffs"] == [str(value), str(-value)]


def test_perfect_information_trees_still_use_backward_induction():
    game = load_game(ROOT / "games" / "entry_deterrence.yaml")
    assert game.kind == "tree"


@pytest.mark.parametrize("body, line, fragment", [
    ("tree:\n  chance: {a: 1/2, b: 1/3}\n  children:\n    a: {payoffs: [1, 0]}\n    b: {payoffs: [0, 1]}\n", 2, "sum to 1; they sum to 5/6"),
    ("tree:\n  chance: {a: 1/2, c: 1/2}\n  children:\n    a: {payoffs: [1, 0]}\n    b: {payoffs: [0, 1]}\n", 2, "one probability per child"),
    ("players: [x, y]\ntree:\n  player: z\n  infoset: s\n  children:\n    a: {payoffs: [1, 0]}\n", 3, "unknown player 'z'; allowed: x, y"),
    ("tree:\n  player: 0\n  children:\n    a: {player: 0, infoset: s, children: {x: {payoffs: [1, 0]}}}\n"
     "    b: {player: 0, infoset: s, children: {x: {payoffs: [0, 1]}}}\n", 5, "imperfect recall"),
    ("tree:\n  player: 0\n  children:\n    a: {player: 1, infoset: s, children: {x: {payoffs: [1, 0]}}}\n"
     "    b: {player: 1, infoset: s, children: {y: {payoffs: [0, 1]}}}\n", 5, "node b has actions y but node a has x"),
])
def test_bad_trees_are_located(body, line, fragment):
    with pytest.raises(ScenarioError) as info:
        load_game_text(body, "g.yaml")
    problem = info.value.problems[0]
    assert problem.line == line and fragment in problem.message, str(info.value)

"""`agora solve` as a user runs it: exact fractions, JSON output, file:line errors."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simulator.cli import app

runner = CliRunner()
GAMES = Path(__file__).resolve().parents[2] / "games"


def invoke(*args):
    return runner.invoke(app, ["solve", *map(str, args)])


def test_battle_of_the_sexes_prints_fractions():
    result = invoke(GAMES / "battle_of_the_sexes.yaml")
    assert result.exit_code == 0, result.output
    # The textbook mixed equilibrium: Alice opera 2/3, Bob opera 1/3, each expects 2/3.
    assert "opera: 2/3, football: 1/3" in result.output
    assert "opera: 1/3, football: 2/3" in result.output
    assert "3 equilibria" in result.output
    assert "price of anarchy 9/4" in result.output


def test_json_list_with_row_col_payoffs():
    result = invoke(GAMES / "battle_of_the_sexes.yaml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, list) and len(data) == 3
    for entry in data:
        assert {"row", "col", "payoffs"} <= set(entry)
    mixed = [e for e in data if 0 < e["row"][0] < 1]
    assert len(mixed) == 1
    np.testing.assert_allclose(mixed[0]["row"], [2 / 3, 1 / 3])
    np.testing.assert_allclose(mixed[0]["col"], [1 / 3, 2 / 3])
    assert mixed[0]["exact"]["payoffs"] == ["2/3", "2/3"]
    pure = sorted(tuple(e["payoffs"]) for e in data if e not in mixed)
    assert pure == [(1.0, 2.0), (2.0, 1.0)]


def test_json_game_file_zero_sum_and_other_methods():
    data = json.loads(invoke(GAMES / "rock_paper_scissors.json", "--json").output)
    assert [[Fraction(p) for p in s] for s in data[0]["exact"]["strategies"]] == [[Fraction(1, 3)] * 3] * 2
    value = invoke(GAMES / "rock_paper_scissors.json", "--method", "zero-sum")
    assert value.exit_code == 0 and "value of the zero-sum game for the row player: 0" in value.output
    lh = json.loads(invoke(GAMES / "battle_of_the_sexes.yaml", "--method", "lemke-howson", "--json").output)
    assert len(lh) == 3
    qre = json.loads(invoke(GAMES / "battle_of_the_sexes.yaml", "--method", "logit", "--lam", "0", "--json").output)
    assert qre[0]["row"] == pytest.approx([0.5, 0.5])
    ce = json.loads(invoke(GAMES / "battle_of_the_sexes.yaml", "--method", "correlated", "--json").output)
    assert sum(ce[0]["payoffs"]) == pytest.approx(3.0)  # best CE: the coordinated outcomes, welfare 3


def test_n_player_table_and_trees():
    data = json.loads(invoke(GAMES / "public_goods_3.yaml", "--json").output)
    assert [e["strategies"] for e in data] == [[[1.0, 0.0]] * 3]  # everyone keeps (strictly dominant)
    tree = json.loads(invoke(GAMES / "entry_deterrence.yaml", "--json").output)
    assert tree[0]["path"] == ["in", "accommodate"] and tree[0]["payoffs"] == [1.0, 1.0] and tree[0]["unique"]
    spne = json.loads(invoke(GAMES / "ultimatum.yaml", "--method", "all-spne", "--json").output)
    assert sorted(tuple(e["payoffs"]) for e in spne) == [(3.0, 1.0), (4.0, 0.0)]


def test_degenerate_game_falls_back_to_vertex_enumeration(tmp_path):
    path = tmp_path / "degenerate.yaml"
    path.write_text("A: [[1, 0], [0, 1]]\nB: [[1, 1], [0, 2]]\n")
    result = invoke(path)
    assert result.exit_code == 0, result.output
    assert "vertex" in result.output and "degenerate" in result.output
    assert "0: 1/2, 1: 1/2" in result.output  # the extreme point (top, (1/2, 1/2)) of the continuum


@pytest.mark.parametrize(
    "text,expected",
    [
        ("A: [[1, 2], [3, 4]]\nB: [[1, 2, 3], [3, 4, 5]]\n", "bad.yaml:2:1: B: B has shape 2x3 but A has 2x2"),
        ("name: g\nA: [[1, 2], [3, x/y]]\n", "bad.yaml:2:17: A.1.1: 'x/y' is not a number"),
        ("A: [[1]]\nBee: 3\n", "bad.yaml:2:1: Bee: unknown field; allowed: name, description, players, actions, A, B, payoffs, tree"),
        ("A: [[1, 2]\n", "bad.yaml:2:1: invalid YAML"),
        ("players: [a, b]\ntree:\n  player: c\n  children:\n    x: {payoffs: [1, 2]}\n",
         "bad.yaml:3:3: tree.player: unknown player 'c'; allowed: a, b"),
        ("tree:\n  player: 0\n  children:\n    x: {payoffs: [1, 2]}\n    y: {payoffs: [1]}\n",
         "bad.yaml:5:9: tree.children.y.payoffs: has 1 payoffs; the game has 2 players"),
        ("payoffs: [[[1, 2], [3]]]\n", "bad.yaml:1:1: payoffs: must be regular nested lists"),
        ("name: nothing\n", "give exactly one of A (+ B), payoffs, tree; got none"),
    ],
)
def test_bad_files_get_file_line_errors(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = invoke(path)
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_bad_method_combinations():
    result = invoke(GAMES / "battle_of_the_sexes.yaml", "--method", "all-spne")
    assert result.exit_code == 2 and "needs a sequential game" in result.output
    result = invoke(GAMES / "public_goods_3.yaml", "--method", "support")
    assert result.exit_code == 2 and "two-player" in result.output
    result = invoke(GAMES / "battle_of_the_sexes.yaml", "--method", "magic")
    assert result.exit_code == 2 and "allowed: auto, support" in result.output


def test_exact_output_equals_gambit_rational(tmp_path):
    import pygambit

    rng = np.random.default_rng(8)
    for k in range(5):
        A, B = rng.integers(-50, 51, (3, 4)), rng.integers(-50, 51, (3, 4))
        path = tmp_path / f"g{k}.yaml"
        path.write_text(f"A: {A.tolist()}\nB: {B.tolist()}\n")
        data = json.loads(invoke(path, "--json").output)
        ours = sorted(tuple(Fraction(p) for s in e["exact"]["strategies"] for p in s) for e in data)
        game = pygambit.Game.from_arrays(A, B)
        theirs = sorted(tuple(Fraction(eq[s]) for p in game.players for s in p.strategies)
                        for eq in pygambit.nash.enummixed_solve(game).equilibria)
        assert ours == theirs

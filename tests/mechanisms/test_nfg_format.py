"""Gambit's .nfg format: files written here by hand and by our writer, read by us and by pygambit.

Oracle: pygambit 16 (``read_nfg``, ``enummixed_solve``). The two-player equilibrium sets that
``agora solve FILE.nfg`` reads directly from the file must equal Gambit's on the same file.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pygambit
import pytest
from typer.testing import CliRunner

from mechanisms import nfg_format
from mechanisms import normal_form as nf
from simulator.cli import app
from tests.mechanisms.oracles import gambit_profiles, same_set
from tests.mechanisms.test_conditioning import A75, B75

runner = CliRunner()

# Payoff version, strategy counts; a 3x2 game with three equilibria (one mixed), written by hand.
PAYOFF_NFG = '''NFG 1 R "hand-written 3x2" { "Row" "Col" } { 3 2 }
"profiles listed with the first player's strategy changing fastest"

3 2  0 0  1 1
0 0  2 3  1/2 1
'''

# Outcome version with names, commas between payoffs, a null outcome (0) and a repeated outcome.
OUTCOME_NFG = '''NFG 1 R "hand-written outcome game" { "Alice" "Bob" }

{ { "opera" "football" "home" }
{ "opera" "football" }
}
""

{
{ "both opera" 2, 1 }
{ "both football" 1, 2 }
{ "mismatch" 0, 0 }
{ "" 1/3 1/4 }
}
1 3 0 2 4 4
'''

# A degenerate game (a continuum of equilibria): Gambit's enummixed lists the extreme ones.
DEGENERATE_NFG = '''NFG 1 D "degenerate" { "1" "2" } { 2 2 }
""
1 1  1 0  0.5 1  0 0
'''


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def gambit_payoffs(path: Path) -> np.ndarray:
    game = pygambit.read_nfg(str(path))
    players = list(game.players)
    shape = tuple(len(p.strategies) for p in players)
    out = np.empty((len(players),) + shape, dtype=object)
    for profile in np.ndindex(*shape):
        chosen = [list(p.strategies)[k] for p, k in zip(players, profile)]
        outcome = game[chosen]  # None: the null outcome, zero payoffs
        for i, p in enumerate(players):
            out[(i,) + profile] = Fraction(0) if outcome is None else Fraction(str(outcome[p]))
    return out


def gambit_equilibria(path: Path) -> list[np.ndarray]:
    game = pygambit.read_nfg(str(path))
    return gambit_profiles(game, pygambit.nash.enummixed_solve(game, rational=True))


def solve_json(path: Path, *options: str) -> list[dict]:
    result = runner.invoke(app, ["solve", str(path), "--json", *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("name,text", [("payoff.nfg", PAYOFF_NFG), ("outcome.nfg", OUTCOME_NFG), ("degenerate.nfg", DEGENERATE_NFG)])
def test_hand_written_files_read_like_gambit_and_solve_to_gambits_set(tmp_path, name, text):
    path = write(tmp_path, name, text)
    ours = nfg_format.read_nfg(path)
    assert (ours.payoffs == gambit_payoffs(path)).all()
    data = solve_json(path, "--method", "vertex")
    assert same_set([np.concatenate(e["strategies"]) for e in data], gambit_equilibria(path), tol=1e-9)


def test_outcome_version_details(tmp_path):
    game = nfg_format.read_nfg(write(tmp_path, "o.nfg", OUTCOME_NFG))
    assert game.players == ["Alice", "Bob"] and game.strategies == [["opera", "football", "home"], ["opera", "football"]]
    assert list(game.payoffs[:, 2, 0]) == [0, 0]  # outcome 0: no outcome, zero payoffs
    assert list(game.payoffs[:, 1, 1]) == [Fraction(1, 3), Fraction(1, 4)]
    assert game.outcome_names[(0, 0)] == "both opera"


@pytest.mark.parametrize("version", ["payoff", "outcome"])
@pytest.mark.parametrize("seed", range(4))
def test_written_files_equal_gambits_reading_and_equilibria(tmp_path, version, seed):
    rng = np.random.default_rng(seed)
    m, n = rng.integers(2, 5, 2)
    u = rng.integers(-9, 10, (2, m, n))
    path = write(tmp_path, f"g{seed}.nfg", nfg_format.write_nfg(nfg_format.from_payoffs(u, f"random {seed}"), version))
    assert (gambit_payoffs(path) == u).all()
    assert (nfg_format.read_nfg(path).payoffs == u).all()
    data = solve_json(path, "--method", "vertex")
    assert same_set([np.concatenate(e["strategies"]) for e in data], gambit_equilibria(path), tol=1e-9)


def test_reads_what_pygambit_writes(tmp_path):
    A, B = np.array([[3, 0, 1], [0, 2, 5]]), np.array([[1, 4, 0], [2, 0, 3]])
    game = pygambit.Game.from_arrays(A, B, title="from pygambit")
    path = write(tmp_path, "pg.nfg", game.to_nfg())
    ours = nfg_format.read_nfg(path)
    assert ours.title == "from pygambit" and (ours.payoffs == np.stack([A, B])).all()


def test_round_trip_three_players_with_names():
    u = np.random.default_rng(7).integers(-5, 6, (3, 2, 3, 2))
    game = nfg_format.from_payoffs(u, 'a "quoted" title', ["x", "y", "z"], [["a", "b"], ["c", "d", "e"], ["f", "g"]])
    for version in ("payoff", "outcome"):
        back = nfg_format.parse_nfg(nfg_format.write_nfg(game, version))
        assert (back.payoffs == u).all() and back.title == 'a "quoted" title'
        assert back.players == ["x", "y", "z"] and back.strategies == game.strategies


def test_75_equilibrium_game_read_from_nfg(tmp_path):
    path = write(tmp_path, "vs75.nfg", nfg_format.write_nfg(nfg_format.from_payoffs(np.stack([A75, B75]), "von Stengel 6x6")))
    data = solve_json(path)
    assert len(data) == 75
    assert same_set([np.concatenate(e["strategies"]) for e in data], gambit_equilibria(path), tol=1e-9)
    full = [e for e in data if "0" not in e["exact"]["strategies"][0]]
    assert full[0]["exact"]["strategies"][0] == ["132/245", "66/245", "6/49", "12/245", "4/245", "1/245"]


BAD_FILES = [
    ("EFG 1 R \"x\" { \"a\" }\n", "bad.nfg:1:1: a .nfg file starts with 'NFG 1 R'"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n\n1 2 3 4 5 x 7 8\n', "bad.nfg:3:11: expected payoff of 'b' at profile (1, 2)"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n\n1 2 3 4 5 6 7\n', "bad.nfg:4:1: expected payoff of 'b' at profile (2, 2)"),
    ('NFG 1 R "x" { "a" "b" } { 2 2 }\n\n1 2 3 4 5 6 7 8 9\n', "bad.nfg:3:17: expected end of file after 4 profiles"),
    ('NFG 1 R "x" { "a" "b" } { 2 0 }\n1 2\n', "bad.nfg:1:29: the number of strategies of 'b' must be an integer >= 1"),
    ('NFG 1 R "x" { "a" "b" }\n{ { "1" "2" } { "1" } }\n""\n{ { "" 1, 2 } }\n1 2\n', "bad.nfg:5:3: the outcome of profile (2, 1) must be an integer in 0..1"),
    ('NFG 1 R "x" { "a" "b" }\n{ { "1" } { "1" } }\n""\n{ { "" 1 } }\n1\n', "bad.nfg:4:10: expected payoff of 'b' in outcome 1"),
    ('NFG 1 R "x\n', "bad.nfg:1:9: unterminated string"),
    ('NFG 2 R "x" { "a" } { 1 }\n1\n', "bad.nfg:1:5: expected format version 1"),
]


@pytest.mark.parametrize("text,expected", BAD_FILES)
def test_bad_files_give_line_and_column(tmp_path, text, expected):
    path = write(tmp_path, "bad.nfg", text)
    with pytest.raises(nfg_format.NfgFormatError) as info:
        nfg_format.read_nfg(path)
    assert str(info.value).replace(str(tmp_path) + "/", "").startswith(expected)
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert expected.split(": ", 1)[1] in result.output and ":" + expected.split(":")[1] + ":" in result.output


def test_three_player_nfg_without_pure_equilibrium_gets_a_verified_mixed_one(tmp_path):
    # Each player i wants to match player i+1 (mod 3) in a cycle: no pure equilibrium (Jordan 1993).
    u = np.zeros((3, 2, 2, 2), dtype=int)
    for s in np.ndindex(2, 2, 2):
        u[0][s] = 1 if s[0] == s[1] else 0
        u[1][s] = 1 if s[1] == s[2] else 0
        u[2][s] = 1 if s[2] != s[0] else 0
    assert nf.pure_equilibria(u) == []
    path = write(tmp_path, "cycle.nfg", nfg_format.write_nfg(nfg_format.from_payoffs(u, "matching cycle")))
    data = solve_json(path)
    assert len(data) == 1
    sigma = [np.array(s) for s in data[0]["strategies"]]
    assert nf.regret(u, sigma).max() <= 1e-9
    assert data[0]["exact"]["strategies"] == [["1/2", "1/2"]] * 3  # the unique equilibrium, confirmed exactly

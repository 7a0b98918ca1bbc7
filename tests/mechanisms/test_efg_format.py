"""mechanisms.efg_format and `agora solve FILE.efg`: round trips, the format's optional parts, line-numbered errors."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mechanisms import efg_format, poker
from simulator.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

COMPACT = '''EFG 2 R "compact" { "P1" "P2" } "a comment"
p "" 1 1 "x" { "a" "b" } 1 "entry fee" { -1/2 0 }
p "" 2 1 "y" { "c" "d" } 0
t "" 2 "ac" { 3 1 }
t "" 3 "ad" { 0, 0 }
p "" 2 1 0
t "" 4 "bc" { .5 2.25 }
t "" 3
'''


def test_round_trip_preserves_the_game():
    for game in (poker.kuhn_poker(), efg_format.read_efg((ROOT / "tests/data/efg/signalling.efg").read_text())):
        text = efg_format.write_efg(game)
        again = efg_format.read_efg(text)
        assert efg_format.write_efg(again) == text
        assert again.leaf_payoff_exact.tolist() == game.leaf_payoff_exact.tolist()
        assert again.n_sequences == game.n_sequences


def test_optional_parts_inner_outcomes_and_number_forms():
    game = efg_format.read_efg(COMPACT)
    assert game.players == ["P1", "P2"] and game.title == "compact"
    # the entry fee on the root is added to every terminal below it; ".5" and "2.25" are decimals
    assert game.leaf_payoff_exact.tolist() == [[Fraction(5, 2), 1], [Fraction(-1, 2), 0], [0, Fraction(9, 4)], [Fraction(-1, 2), 0]]
    assert len(game.infoset_of(1, (1, "y")).nodes) == 2  # the second node names only the set's number


@pytest.mark.parametrize("text, line, column, message", [
    ('EFG 3 R "t" { "a" }\nt "" 1 "o" { 1 }\n', 1, 5, "unsupported format version 3"),
    ('EFG 2 R "t" { "a" "b" }\np "" 3 1 "s" { "x" } 0\nt "" 1 "o" { 1 2 }\n', 2, 6, "player 3 does not exist; allowed: 1..2"),
    ('EFG 2 R "t" { "a" "b" }\nc "" 1 "s" { "x" 1/2 "y" 1/3 } 0\nt "" 1 "o" { 1 2 }\nt "" 1\n', 2, 6, "sum to 5/6, not 1"),
    ('EFG 2 R "t" { "a" "b" }\np "" 1 1 "s" { "x" } 0\nt "" 1 "o" { 1 }\n', 3, 6, "outcome 1 has 1 payoffs; the game has 2 players"),
    ('EFG 2 R "t" { "a" "b" }\np "" 1 1 "s" { "x" "y" } 0\nt "" 1 "o" { 1 2 }\n', 3, 19, "expected a node: \'c\' (chance), \'p\' (player) or \'t\' (terminal), found the end of the file"),
    ('EFG 2 R "t" { "a" "b" }\nq "" 1\n', 2, 1, "expected a node: 'c' (chance), 'p' (player) or 't' (terminal), found 'q'"),
    ('EFG 2 R "t" { "a" "b" }\np "" 1 1 "s { "x" } 0\n', 2, 17, "unterminated string"),
    ('EFG 2 R "t" { "a" "b" }\np "" 1 1 0\n', 2, 8, "appears for the first time without its actions"),
    ('EFG 2 R "t" { "a" "b" }\nt "" 1 "o" { 1 2 }\nt "" 2 "o" { 1 2 }\n', 3, 1, "unexpected 't' after the last node"),
])
def test_bad_files_name_line_and_column(text, line, column, message):
    with pytest.raises(efg_format.EfgError) as info:
        efg_format.read_efg(text)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert message in info.value.message


def test_imperfect_recall_file_is_refused_with_the_set_named():
    text = ('EFG 2 R "forgetful" { "a" "b" }\np "" 1 1 "first" { "L" "R" } 0\n'
            'p "" 1 2 "second" { "x" "y" } 0\nt "" 1 "o1" { 1 0 }\nt "" 2 "o2" { 0 1 }\n'
            'p "" 1 2 "second" { "x" "y" } 0\nt "" 1\nt "" 2\n')
    with pytest.raises(efg_format.EfgError, match="imperfect recall.*second") as info:
        efg_format.read_efg(text)
    assert (info.value.line, info.value.column) == (6, 1)  # the second node of the forgetful set


def invoke(*args):
    return runner.invoke(app, ["solve", *map(str, args)])


def test_cli_solves_kuhn_from_the_efg_file():
    result = invoke(ROOT / "games" / "kuhn_poker.efg", "--json")
    assert result.exit_code == 0, result.output
    [eq] = json.loads(result.output)
    assert eq["exact"]["payoffs"] == ["-1/18", "1/18"] and eq["value"] == pytest.approx(-1 / 18)
    assert eq["exact"]["behaviour"]["Player 2"]["Qb"] == {"pass": "2/3", "bet": "1/3"}
    text = invoke(ROOT / "games" / "kuhn_poker.efg")
    assert "value of the game for Player 1: -1/18" in text.output


def test_cli_methods_on_efg_files():
    lcp = invoke(ROOT / "tests/data/efg/entry_simultaneous.efg", "--method", "sequence-lcp", "--json")
    assert lcp.exit_code == 0, lcp.output
    assert {tuple(e["exact"]["payoffs"]) for e in json.loads(lcp.output)} >= {("2", "5"), ("3", "1")}
    auto = invoke(ROOT / "tests/data/efg/signalling.efg", "--json")  # general-sum: auto is the LCP
    assert auto.exit_code == 0 and json.loads(auto.output)[0]["nash_conv"] == 0
    cfr = invoke(ROOT / "games" / "kuhn_poker.efg", "--method", "cfr", "--json")
    assert cfr.exit_code == 0 and json.loads(cfr.output)[0]["exploitability"] < 1e-3
    # a normal-form method runs on the strategic form (64 x 64 pure strategies for Kuhn)
    strategic = invoke(ROOT / "games" / "kuhn_poker.efg", "--method", "zero-sum")
    assert strategic.exit_code == 0 and "value of the zero-sum game for the row player: -1/18" in strategic.output
    assert "solved on the strategic form" in strategic.output
    huge = invoke(ROOT / "games" / "leduc_poker.efg", "--method", "pure")
    assert huge.exit_code == 2 and "use the extensive-form methods" in huge.output
    general = invoke(ROOT / "tests/data/efg/signalling.efg", "--method", "sequence-lp")
    assert general.exit_code == 2 and "zero-sum" in general.output


def test_cli_perfect_information_efg_uses_backward_induction(tmp_path):
    path = tmp_path / "entry.efg"
    path.write_text('EFG 2 R "entry" { "E" "I" }\np "" 1 1 "e" { "out" "in" } 0\nt "" 1 "out" { 0 2 }\n'
                    'p "" 2 1 "i" { "fight" "share" } 0\nt "" 2 "f" { -1 -1 }\nt "" 3 "s" { 1 1 }\n')
    result = invoke(path, "--method", "backward-induction", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["path"] == ["in", "share"]


def test_cli_bad_efg_is_one_line_with_position_and_exit_2(tmp_path):
    path = tmp_path / "bad.efg"
    path.write_text('EFG 2 R "t" { "a" "b" }\np "" 1 1 "s" { "x" } 0\nt "" 1 "o" { 1 }\n')
    result = invoke(path)
    assert result.exit_code == 2
    assert f"{path}:3:6:" in result.output and "outcome 1 has 1 payoffs" in result.output
    assert "Traceback" not in result.output

"""Kuhn and Leduc poker: sequence-form LP and LCP values, CFR+ exploitability, the shipped .efg files.

Oracles: Kuhn's closed-form value -1/18 (Kuhn 1950), the exact best-response check, and the
shipped files regenerated from mechanisms.poker. OpenSpiel comparisons are in test_openspiel_oracle.py.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mechanisms import cfr, efg_format
from mechanisms import game_tree as gt
from mechanisms import sequence_form as sf

ROOT = Path(__file__).resolve().parents[2]
KUHN_VALUE = Fraction(-1, 18)


@pytest.fixture(scope="module")
def kuhn() -> gt.ExtensiveGame:
    return efg_format.read_efg((ROOT / "games" / "kuhn_poker.efg").read_text())


def test_kuhn_file_has_the_known_structure(kuhn):
    assert kuhn.n_players == 2 and kuhn.perfect_recall
    assert [len(kuhn.player_infosets[i]) for i in range(2)] == [6, 6]
    assert kuhn.n_sequences == [13, 13] and len(kuhn.leaves) == 30


def test_kuhn_value_by_the_sequence_form_lp_is_minus_one_eighteenth(kuhn):
    s = sf.zero_sum_lp(kuhn)
    assert s.value == pytest.approx(float(KUHN_VALUE), abs=1e-9)
    assert Fraction(s.value).limit_denominator(1000) == KUHN_VALUE
    assert s.payoffs[0] == pytest.approx(float(KUHN_VALUE), abs=1e-9)
    assert s.nash_conv == pytest.approx(0.0, abs=1e-9)
    # Kuhn's equilibrium family: with the jack, player 1 bets (bluffs) with probability alpha in [0, 1/3];
    # with the king it bets with probability 3 alpha; player 2 with the queen calls a bet with probability 1/3
    table = [{efg_format.infoset_name(label): probs for label, probs in sets.items()} for sets in gt.behaviour_table(kuhn, s.behaviour)]
    alpha = table[0]["J"]["bet"]
    assert -1e-9 <= alpha <= 1 / 3 + 1e-9
    assert table[0]["K"]["bet"] == pytest.approx(3 * alpha, abs=1e-7)
    assert table[1]["Qb"]["bet"] == pytest.approx(1 / 3, abs=1e-7)
    assert table[1]["Jp"]["bet"] == pytest.approx(1 / 3, abs=1e-7)


def test_kuhn_lcp_gives_an_exact_equilibrium_of_value_minus_one_eighteenth(kuhn):
    result = sf.lcp_equilibria(kuhn, exact=True, max_starts=3)
    assert result.equilibria and not result.unverified
    for e in result.equilibria:
        assert e.payoffs.tolist() == [KUHN_VALUE, -KUHN_VALUE]
        assert gt.nash_conv(kuhn, e.behaviour, exact=True) == 0


def test_cfr_plus_on_kuhn_gets_below_1e_3_exploitability_in_bounded_iterations(kuhn):
    result = cfr.cfr_plus(kuhn, iterations=1000, target=1e-4, check_every=25)
    assert result.exploitability < 1e-3
    assert result.iterations <= 1000
    # the measured exploitability is the best-response gap of the returned average strategy
    assert gt.exploitability(kuhn, result.average) == pytest.approx(result.exploitability, rel=1e-12)
    assert gt.expected_payoffs(kuhn, result.average)[0] == pytest.approx(float(KUHN_VALUE), abs=2e-3)
    # exploitability falls over the run (CFR+ is not monotone step to step, but the trend is down)
    trace = [e for _, e in result.history]
    assert trace[-1] < trace[0] / 10


def test_cfr_refuses_general_sum_games():
    game = efg_format.read_efg((ROOT / "tests" / "data" / "efg" / "bayesian_coordination.efg").read_text())
    with pytest.raises(ValueError, match="zero-sum"):
        cfr.cfr_plus(game, iterations=10)


def test_shipped_poker_files_are_what_the_generator_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_poker_games", ROOT / "scripts" / "make_poker_games.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.texts().items():
        assert (ROOT / "games" / name).read_text() == text, f"games/{name} is stale: run scripts/make_poker_games.py"


@pytest.fixture(scope="module")
def leduc() -> gt.ExtensiveGame:
    return efg_format.read_efg((ROOT / "games" / "leduc_poker.efg").read_text())


def test_leduc_lp_value_equals_cfr_plus_limit_and_verifies(leduc):
    assert [len(s) for s in leduc.player_infosets] == [468, 468]
    s = sf.zero_sum_lp(leduc)
    assert s.nash_conv == pytest.approx(0.0, abs=1e-8)  # maximin plans are an equilibrium
    r = cfr.cfr_plus(leduc, iterations=300, check_every=100)
    assert r.exploitability < 5e-3
    # the CFR+ average's payoff is within its exploitability of the LP value
    assert abs(gt.expected_payoffs(leduc, r.average)[0] - s.value) <= 2 * r.exploitability
    assert np.isfinite(s.value) and s.value < 0  # the second mover has the edge in Leduc too

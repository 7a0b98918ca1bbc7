"""Extensive games against pygambit: .efg files read by both, the sequence-form LCP equal to Gambit's lcp_solve.

The .efg files in tests/data/efg were written for these tests (Gambit's own game library is
GPL and is not copied); random games are written by mechanisms.efg_format and read back by
both libraries. Gambit's tree ``lcp_solve`` follows one Lemke path (covering vector 1, payoffs
shifted below zero), as our first start does, so the first equilibrium must equal Gambit's
exactly; the further equilibria our other starts find are checked by Gambit's own regret.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pygambit
import pytest

from mechanisms import efg_format
from mechanisms import game_tree as gt
from mechanisms import sequence_form as sf
from mechanisms.game_tree import CHANCE, Node, terminal

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "tests" / "data" / "efg").glob("*.efg")) + [ROOT / "games" / "kuhn_poker.efg"]


def ours_by_name(game: gt.ExtensiveGame, behaviour) -> dict:
    return {(info.player, efg_format.infoset_name(info.label)): tuple(Fraction(v) for v in behaviour[info.offset:info.offset + len(info.actions)])
            for info in game.infosets}


def gambit_by_name(g, profile) -> dict:
    return {(i, info.label): tuple(Fraction(profile[a]) for a in info.actions) for i, p in enumerate(g.players) for info in p.infosets}


def gambit_regret(g, game: gt.ExtensiveGame, behaviour) -> Fraction:
    """Gambit's max regret of our behaviour profile (0 at an equilibrium)."""
    profile = g.mixed_behavior_profile(rational=True)
    mine = ours_by_name(game, behaviour)
    for i, p in enumerate(g.players):
        for info in p.infosets:
            for a, v in zip(info.actions, mine[(i, info.label)]):
                profile[a] = v
    return Fraction(profile.max_regret())


def random_signalling_game(rng: np.random.Generator) -> gt.ExtensiveGame:
    """Chance picks a state; A sees it and sends a message; B hears only the message and responds."""
    n_states, n_messages, n_replies = (int(v) for v in rng.integers(2, 4, size=3))
    cuts = sorted(rng.choice(np.arange(1, 12), size=n_states - 1, replace=False))
    probs = [Fraction(b - a, 12) for a, b in zip([0, *cuts], [*cuts, 12])]
    states = {}
    for s in range(n_states):
        messages = {f"m{m}": Node(1, {f"r{r}": terminal(int(rng.integers(-9, 10)), int(rng.integers(-9, 10))) for r in range(n_replies)},
                                  infoset=f"heard m{m}") for m in range(n_messages)}
        states[f"s{s}"] = Node(0, messages, infoset=f"state s{s}")
    return gt.ExtensiveGame(Node(CHANCE, states, probs=probs, infoset="nature"), ["A", "B"], title="random signalling")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_read_the_same_in_both_libraries(path):
    ours = efg_format.read_efg(path.read_text())
    g = pygambit.read_efg(str(path))
    assert ours.players == [p.label for p in g.players]
    assert [len(ours.player_infosets[i]) for i in range(ours.n_players)] == [len(p.infosets) for p in g.players]
    assert len(ours.leaves) == sum(1 for n in g.nodes if n.is_terminal)
    assert ours.perfect_recall == g.is_perfect_recall
    # the same payoff for the same (uniform) behaviour profile
    assert gt.expected_payoffs(ours, gt.uniform_behaviour(ours, exact=True), exact=True).tolist() == \
        [Fraction(g.mixed_behavior_profile(rational=True).payoff(p)) for p in g.players]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_lcp_first_equilibrium_equals_gambit_lcp_solve(path):
    ours = efg_format.read_efg(path.read_text())
    g = pygambit.read_efg(str(path))
    theirs = pygambit.nash.lcp_solve(g, rational=True).equilibria
    result = sf.lcp_equilibria(ours, exact=True, max_starts=16)
    assert not result.unverified
    assert len(theirs) == 1  # Gambit's tree LCP follows one path
    first = result.equilibria[0]
    assert ours_by_name(ours, first.behaviour) == gambit_by_name(g, theirs[0])
    assert first.payoffs.tolist() == [Fraction(theirs[0].payoff(p)) for p in g.players]
    for e in result.equilibria:  # every equilibrium we report is one by Gambit's measure too
        assert gambit_regret(g, ours, e.behaviour) == 0


def test_lcp_finds_more_than_one_equilibrium_where_there_are_several():
    path = ROOT / "tests" / "data" / "efg" / "entry_simultaneous.efg"
    ours = efg_format.read_efg(path.read_text())
    payoffs = {tuple(e.payoffs.tolist()) for e in sf.lcp_equilibria(ours, exact=True).equilibria}
    # stay out (2, 5) with the incumbent ready to play b, and enter playing (A, a) for (3, 1)
    assert {(2, 5), (3, 1)} <= payoffs


def test_random_signalling_games_agree_with_gambit(tmp_path):
    rng = np.random.default_rng(2024)
    for k in range(12):
        game = random_signalling_game(rng)
        path = tmp_path / f"random_{k}.efg"
        path.write_text(efg_format.write_efg(game))
        ours = efg_format.read_efg(path.read_text())
        g = pygambit.read_efg(str(path))
        theirs = pygambit.nash.lcp_solve(g, rational=True).equilibria
        result = sf.lcp_equilibria(ours, exact=True, max_starts=8)
        assert ours_by_name(ours, result.equilibria[0].behaviour) == gambit_by_name(g, theirs[0]), f"game {k}"
        for e in result.equilibria:
            assert gambit_regret(g, ours, e.behaviour) == 0


def test_float_lcp_matches_exact(tmp_path):
    rng = np.random.default_rng(5)
    for _ in range(5):
        game = random_signalling_game(rng)
        exact = sf.lcp_equilibria(game, exact=True, max_starts=1).equilibria[0]
        approx = sf.lcp_equilibria(game, exact=False, max_starts=1).equilibria[0]
        assert np.allclose(np.array(exact.behaviour, dtype=float), approx.behaviour, atol=1e-9)


def test_gambit_written_files_read_back(tmp_path):
    """Gambit's own writer (to_efg) produces files our reader takes, with the same game."""
    for path in FILES:
        g = pygambit.read_efg(str(path))
        out = tmp_path / path.name
        out.write_text(g.to_efg())
        original, again = efg_format.read_efg(path.read_text()), efg_format.read_efg(out.read_text())
        assert efg_format.write_efg(again) == efg_format.write_efg(original)


def test_zero_sum_lp_value_equals_gambit_on_kuhn():
    g = pygambit.read_efg(str(ROOT / "games" / "kuhn_poker.efg"))
    theirs = pygambit.nash.lp_solve(g, rational=True).equilibria[0]
    ours = sf.zero_sum_lp(efg_format.read_efg((ROOT / "games" / "kuhn_poker.efg").read_text()))
    assert Fraction(theirs.payoff(list(g.players)[0])) == Fraction(-1, 18)
    assert ours.value == pytest.approx(float(theirs.payoff(list(g.players)[0])), abs=1e-9)


CATALOG = sorted(Path(pygambit.__path__[0], "catalog_data").rglob("*.efg"))  # installed with pygambit; not copied here


def index_path(game: gt.ExtensiveGame, k: int) -> tuple[int, ...]:
    path = []
    while game.parent[k] >= 0:
        path.append(game.action_index[k])
        k = game.parent[k]
    return tuple(reversed(path))


def gambit_index_path(node) -> tuple[int, ...]:
    path = []
    while node.parent is not None:
        path.append(list(node.parent.children).index(node))
        node = node.parent
    return tuple(reversed(path))


def test_pygambit_ships_its_catalog():
    assert len(CATALOG) >= 30  # pygambit 16.7 ships 32 .efg files; fewer means the oracle set below shrank


@pytest.mark.parametrize("path", CATALOG, ids=lambda p: "/".join(p.parts[-3:]))
def test_gambit_catalog_games_read_and_solve_like_gambit(path):
    """Every .efg in pygambit's catalog: the same game; imperfect recall refused; the same LCP equilibrium."""
    g = pygambit.read_efg(str(path))
    if not g.is_perfect_recall:
        with pytest.raises(efg_format.EfgError, match="imperfect recall") as info:
            efg_format.read_efg(path.read_text())
        assert info.value.line is not None
        return
    ours = efg_format.read_efg(path.read_text())
    assert [len(ours.player_infosets[i]) for i in range(ours.n_players)] == [len(p.infosets) for p in g.players]
    assert len(ours.leaves) == sum(1 for n in g.nodes if n.is_terminal)
    assert gt.expected_payoffs(ours, gt.uniform_behaviour(ours, exact=True), exact=True).tolist() == \
        [Fraction(g.mixed_behavior_profile(rational=True).payoff(p)) for p in g.players]
    if ours.n_players != 2:
        return
    theirs = pygambit.nash.lcp_solve(g, rational=True).equilibria[0]
    first = sf.lcp_equilibria(ours, exact=True, max_starts=1).equilibria[0]
    mine = {tuple(sorted(index_path(ours, k) for k in info.nodes)): tuple(first.behaviour[info.offset:info.offset + len(info.actions)])
            for info in ours.infosets}
    gambit = {tuple(sorted(gambit_index_path(n) for n in info.members)): tuple(Fraction(theirs[a]) for a in info.actions)
              for p in g.players for info in p.infosets}
    assert mine == gambit


@pytest.mark.parametrize("path", [p for p in CATALOG if pygambit.read_efg(str(p)).is_perfect_recall
                                  and len(pygambit.read_efg(str(p)).players) > 2], ids=lambda p: "/".join(p.parts[-3:]))
def test_n_player_extensive_games_pure_equilibria_on_the_strategic_form_match_gambit(path):
    """`agora solve FILE.efg --method pure` on N-player games: the same equilibrium outcomes as Gambit's enumpure_solve.

    Our strategic form is unreduced (Gambit's is reduced), so strategies differing only where they are
    never reached are listed separately: the sets of equilibrium payoff vectors agree, not the counts.
    """
    from simulator.solve import load_game, solve_game

    g = pygambit.read_efg(str(path))
    theirs = {tuple(Fraction(e.payoff(p)) for p in g.players) for e in pygambit.nash.enumpure_solve(g).equilibria}
    report = solve_game(load_game(path), "pure")
    assert {tuple(Fraction(v) for v in e["exact"]["payoffs"]) for e in report.equilibria} == theirs
    assert theirs  # these games have pure equilibria


def test_strategic_form_of_kuhn_has_the_lp_value():
    """The unreduced strategic form (64 x 64 for Kuhn) solved as a matrix game gives the same value -1/18."""
    from mechanisms import normal_form as nf

    u, strategies = gt.strategic_form(efg_format.read_efg((ROOT / "games" / "kuhn_poker.efg").read_text()))
    assert u.shape == (2, 64, 64) and len(strategies[0]) == 64
    assert nf.zero_sum_value(u[0]).value == pytest.approx(-1 / 18, abs=1e-9)

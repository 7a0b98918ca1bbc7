"""Repeated matrix games and scripted strategies, against known textbook payoffs."""

import numpy as np
import pytest

from simulator.run import run_scenario
from simulator.scenario import load_scenario, load_scenario_text
from simulator.world import World
from simulator.worlds.matrix_game import MatrixGame, MatrixGameConfig


def pd(rounds, alice, bob, **world):
    extra = "".join(f"\n  {k}: {v}" for k, v in world.items())
    return load_scenario_text(
        f"""
world:
  type: matrix_game
  game: prisoners_dilemma
  players: [alice, bob]
  rounds: {rounds}{extra}
agents:
  alice: {alice}
  bob: {bob}
"""
    )


def test_matrix_game_implements_the_world_protocol():
    world = MatrixGame(MatrixGameConfig(type="matrix_game", game="stag_hunt"), np.random.default_rng(0))
    assert isinstance(world, World)


def test_tit_for_tat_vs_always_defect_over_10_rounds():
    # T=5, R=3, P=1, S=0: TFT is exploited once (S), then mutual defection 9 times (P).
    result = run_scenario(pd(10, "tit_for_tat", "always_defect"), seed=1)
    assert result.metrics["payoffs"] == {"alice": 0 + 9 * 1, "bob": 5 + 9 * 1}
    assert result.metrics["welfare"] == 23
    assert result.metrics["measures"]["rounds"] == 10


def test_mutual_tit_for_tat_cooperates_throughout():
    result = run_scenario(pd(10, "tit_for_tat", "tit_for_tat"), seed=1)
    assert result.metrics["payoffs"] == {"alice": 30, "bob": 30}
    assert result.metrics["measures"]["action_frequencies"]["alice"]["cooperate"] == 1.0


def test_grim_trigger_never_forgives():
    # Bob defects only in round 0 (win-stay-lose-shift starting with defect vs grim):
    # grim cooperates in round 0, then defects forever.
    scenario = pd(6, "grim_trigger", "{policy: win_stay_lose_shift, params: {first: defect}}")
    result = run_scenario(scenario, seed=0)
    # Pavlov starting with D: D (gets 5, stays) D (gets 1, shifts) C (gets 0, shifts) D ...
    # grim: C then D forever -> grim's payoffs: 0, 1, 5, 1, 5, 1
    assert result.metrics["payoffs"]["alice"] == 0 + 1 + 5 + 1 + 5 + 1


def test_win_stay_lose_shift_recovers_from_mutual_defection():
    # Two Pavlovs, one starting with defect: (D,C) -> D wins stays, C loses shifts -> (D,D) both lose,
    # shift -> (C,C) forever: payoffs alice 5,1,3,3,... bob 0,1,3,3,...
    scenario = pd(8, "{policy: win_stay_lose_shift, params: {first: defect}}", "win_stay_lose_shift")
    result = run_scenario(scenario, seed=0)
    assert result.metrics["payoffs"] == {"alice": 5 + 1 + 3 * 6, "bob": 0 + 1 + 3 * 6}


def test_fictitious_play_learns_to_defect_against_a_cooperator_and_best_responds_in_coordination():
    result = run_scenario(pd(20, "fictitious_play", "always_cooperate"), seed=0)
    assert result.metrics["measures"]["action_frequencies"]["alice"]["defect"] == 1.0  # D strictly dominant
    scenario = load_scenario_text(
        """
world: {type: matrix_game, game: battle_of_the_sexes, players: [row, col], rounds: 30}
agents:
  row: {policy: always, params: {action: football}}
  col: fictitious_play
"""
    )
    result = run_scenario(scenario, seed=0)
    assert result.metrics["measures"]["action_frequencies"]["col"]["football"] == 1.0


def test_mixed_strategy_frequencies_converge():
    scenario = pd(4000, "{policy: mixed, params: {probabilities: [0.3, 0.7]}}", "uniform_random")
    freq = run_scenario(scenario, seed=2).metrics["measures"]["action_frequencies"]
    # 3.5 standard errors of a binomial proportion over 4000 draws
    assert abs(freq["alice"]["cooperate"] - 0.3) < 3.5 * np.sqrt(0.3 * 0.7 / 4000)
    assert abs(freq["bob"]["cooperate"] - 0.5) < 3.5 * np.sqrt(0.25 / 4000)


def test_continuation_probability_gives_geometric_match_lengths():
    lengths = [
        run_scenario(pd(10_000, "always_cooperate", "always_cooperate", continuation=0.9), seed=s).metrics["measures"]["rounds"]
        for s in range(300)
    ]
    # Expected length 1 / (1 - 0.9) = 10, sd = sqrt(0.9) / 0.1 ~ 9.5
    assert abs(np.mean(lengths) - 10) < 3.5 * 9.5 / np.sqrt(300)


def test_three_player_user_table():
    # A 3-player public-goods-like table: each contributes (1) or not (0);
    # payoff = 1 - c_i + 0.6 * sum(c) ; leaves list the 3 payoffs.
    table = np.zeros((2, 2, 2, 3))
    for c in np.ndindex(2, 2, 2):
        table[c] = [1 - c[i] + 0.6 * sum(c) for i in range(3)]
    scenario = load_scenario_text(
        f"""
world: {{type: matrix_game, payoffs: {table.tolist()}, actions: [[keep, give], [keep, give], [keep, give]], rounds: 3}}
agents: {{default: {{policy: always, params: {{action: give}}}}}}
"""
    )
    result = run_scenario(scenario, seed=0)
    assert result.metrics["payoffs"] == pytest.approx({"p0": 3 * 1.8, "p1": 3 * 1.8, "p2": 3 * 1.8})
    # Free riding is dominant (0.6 < 1), so the only pure equilibrium is (keep, keep, keep).
    assert result.metrics["theory"]["stage_pure_equilibria"] == [["keep", "keep", "keep"]]


def test_axelrod_tournament_ranks_every_entrant_and_plays_every_pair():
    scenario, _ = load_scenario("scenarios/axelrod_tournament.yaml", [("world.rounds", 50), ("world.tournament.repetitions", 1)])
    result = run_scenario(scenario, seed=7)
    measures = result.metrics["measures"]
    entrants = scenario.world_config.players
    assert sorted(measures["ranking"]) == sorted(entrants)
    assert len(measures["matches"]) == len(entrants) * (len(entrants) - 1) // 2
    tft_vs_alld = next(m for m in measures["matches"] if m["players"] == ["tit_for_tat", "always_defect"])
    assert tft_vs_alld["scores"] == [49.0, 54.0]  # S then 49 x P for TFT; T then 49 x P for AllD
    # Always-cooperate is exploited by always-defect in every round.
    coop = next(m for m in measures["matches"] if m["players"] == ["always_defect", "always_cooperate"])
    assert coop["scores"] == [250.0, 0.0]


def test_same_seed_same_metrics_and_events():
    scenario, _ = load_scenario("scenarios/prisoners_dilemma.yaml")
    a, b = run_scenario(scenario, seed=11), run_scenario(scenario, seed=11)
    assert a.metrics == b.metrics and a.events == b.events


def test_theory_reports_mixed_equilibria_and_price_of_anarchy():
    scenario = load_scenario_text("world: {type: matrix_game, game: battle_of_the_sexes, rounds: 1}\n")
    theory = run_scenario(scenario, seed=0).metrics["theory"]
    # Two pure equilibria and the mixed one (row plays opera 2/3, column 1/3) with payoffs (2/3, 2/3).
    assert len(theory["stage_equilibria"]) == 3
    [mixed] = [e for e in theory["stage_equilibria"] if len(e[0]) == 2]
    assert mixed[0] == pytest.approx({"opera": 2 / 3, "football": 1 / 3})
    assert mixed[1] == pytest.approx({"opera": 1 / 3, "football": 2 / 3})
    assert [["opera", "opera"], ["football", "football"]] == theory["stage_pure_equilibria"]
    assert theory["stage_optimum"] in (["opera", "opera"], ["football", "football"])
    assert sorted(theory["stage_equilibrium_welfare"]) == pytest.approx([4 / 3, 3, 3])
    assert theory["stage_price_of_anarchy"] == pytest.approx(9 / 4) and theory["stage_price_of_stability"] == 1

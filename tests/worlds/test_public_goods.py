"""The public goods world: payoffs by hand, institutions, learning, and every scenario file.

The headline check reproduces the qualitative finding of Dasgupta & Musolesi
(arXiv:2301.08278) on a PGG: learning agents contribute more with punishment +
reputation + partner selection than without, averaged over 10 seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator.run import run_scenario
from simulator.scenario import ScenarioError, load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parents[2]
# This scenario files (others, e.g. LLM-driven ones, are tested where they are written).
SCENARIOS = [
    ROOT / "scenarios" / f"public_goods_{name}.yaml"
    for name in ("simultaneous", "sequential", "mac_spgg", "learning", "third_party")
]
LEARNING = ROOT / "scenarios" / "public_goods_learning.yaml"

# The stated margin: learners' late-round mean contribution (fraction of the
# endowment) with the institutions on exceeds that with them off by >= 0.25.
MARGIN = 0.25


def run(text: str, seed: int = 0) -> dict:
    result = run_scenario(load_scenario_text(text), seed)
    assert result.status == "finished"
    assert result.counters["fallbacks"] == 0
    return result.metrics


def test_payoffs_of_one_round_by_hand():
    metrics = run("""
world: {type: public_goods, players: [rider, a, b, c], endowment: 10, multiplier: 1.6, rounds: 1}
agents: {rider: free_rider, default: full_contributor}
""")
    # Public good 1.6 * 30 = 48 shared by four: 12 each; the rider keeps its 10.
    assert metrics["payoffs"] == pytest.approx({"rider": 22.0, "a": 12.0, "b": 12.0, "c": 12.0})
    assert metrics["theory"]["equilibrium_contributions"] == [0.0] * 4
    assert metrics["theory"]["price_of_anarchy"] == pytest.approx(1.6)


def test_sequential_players_see_their_predecessors():
    metrics = run("""
world: {type: public_goods, players: [first, second, third], endowment: 6, step: 1, multiplier: 2.0, mode: sequential, regroup: fixed, rounds: 3}
agents: {first: full_contributor, default: {policy: conditional_cooperator, params: {first: 0.0}}}
""")
    # Groups are shuffled once; whoever follows the full contributor copies the running mean.
    contributions = metrics["measures"]["mean_contribution_by_agent"]
    assert contributions["first"] == 1.0
    assert metrics["theory"]["solution"] == "SPNE (backward induction)"


def test_direct_punishment_costs_and_fines():
    metrics = run("""
world:
  type: public_goods
  players: [punisher, rider]
  endowment: 10
  multiplier: 1.5
  rounds: 1
  institutions: {punishment: {cost: 1, fine: 3, max_points: 2}}
agents: {punisher: altruistic_punisher, rider: free_rider}
""")
    # Base: punisher 0 + 7.5 = 7.5, rider 10 + 7.5 = 17.5; 2 points: punisher -2, rider -6.
    assert metrics["payoffs"] == pytest.approx({"punisher": 5.5, "rider": 11.5})
    assert metrics["measures"]["punishment_points_received"]["rider"] == 2


def test_third_party_punishment_reaches_other_groups():
    text = """
world:
  type: public_goods
  players: [punisher, mate, rider1, rider2]
  group_size: 2
  regroup: fixed
  endowment: 4
  multiplier: 1.5
  rounds: 1
  institutions: {punishment: {max_points: 1, third_party: THIRD}}
agents: {punisher: altruistic_punisher, mate: full_contributor, default: free_rider}
"""
    direct = run(text.replace("THIRD", "false"), seed=1)["measures"]["punishment_points_received"]
    third = run(text.replace("THIRD", "true"), seed=1)["measures"]["punishment_points_received"]
    assert third["rider1"] == 1 and third["rider2"] == 1
    assert direct["rider1"] + direct["rider2"] <= 1  # only a rider in the punisher's own group


def test_partner_selection_leaves_a_free_rider_out():
    metrics = run("""
world:
  type: public_goods
  players: [rider, a, b, c]
  endowment: 10
  multiplier: 1.6
  rounds: 3
  institutions: {reputation: {}, partner_selection: {quorum: 0.5}}
agents: {rider: free_rider, default: full_contributor}
""")
    # Round 1: everyone plays; the rider's image drops to -1 and all three refuse it, so it sits out
    # round 2 (keeping its endowment) while the others share 1.6 * 30 / 3 = 16. Sitting out moves its
    # image back to 0, nobody refuses it, and it free-rides again in round 3.
    assert metrics["measures"]["exclusion_rounds"] == 1
    assert metrics["payoffs"]["rider"] == pytest.approx(22.0 + 10.0 + 22.0)
    assert metrics["payoffs"]["a"] == pytest.approx(12.0 + 16.0 + 12.0)


def test_continuous_contributions():
    metrics = run("""
world: {type: public_goods, players: [a, b, c], endowment: 3, step: null, multiplier: 2.0, rounds: 4}
agents: {a: full_contributor, default: {policy: conditional_cooperator, params: {first: 0.37}}}
""")
    # Round 1: b and c give 0.37 * 3 = 1.11 (off any grid); later rounds they match the others' mean.
    assert metrics["measures"]["contribution_by_round"][0] == pytest.approx((3 + 2 * 1.11) / 9)
    assert metrics["theory"]["theory_grid_step"] == pytest.approx(0.3)
    assert metrics["theory"]["equilibrium_contribution"] == 0.0


def test_mac_spgg_reward_in_the_world():
    metrics = run("""
world: {type: public_goods, players: 3, endowment: 4, multiplier: 2.0, mode: sequential, reward: mac_spgg, rounds: 1}
agents: {default: full_contributor}
""")
    assert metrics["theory"]["equilibrium_contributions"] == [4.0, 4.0, 4.0]
    assert metrics["theory"]["mac_spgg_condition_holds"] is True
    assert metrics["theory"]["price_of_anarchy"] == pytest.approx(1.0)


@pytest.mark.parametrize("policy", ["q_learning", "roth_erev"])
def test_learners_cooperate_with_institutions_and_not_without(policy):
    """Average over 10 seeds of the learners' late contribution, institutions on vs off."""
    off = [
        ("world.institutions.punishment.enabled", False),
        ("world.institutions.reputation.enabled", False),
        ("world.institutions.partner_selection.enabled", False),
    ]
    learners = ["q0", "q1", "q2", "q3", "q4"]

    def mean_learner_contribution(overrides):
        scenario, _ = load_scenario(LEARNING, overrides + [("run.record_events", False), ("agents.default", policy)])
        values = []
        for seed in range(10):
            late = run_scenario(scenario, seed).metrics["measures"]["late_contribution_by_agent"]
            values.append(np.mean([late[a] for a in learners if late[a] is not None]))
        return float(np.mean(values))

    with_institutions = mean_learner_contribution([])
    without = mean_learner_contribution(off)
    assert with_institutions - without >= MARGIN, (with_institutions, without)
    assert without < 0.3  # cooperation collapses towards the zero-contribution equilibrium


def test_bad_config_points_at_the_field():
    text = "world:\n  type: public_goods\n  endowment: 10\n  step: 3\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "pg.yaml")
    assert "multiple of step" in str(info.value.problems[0])
    text = "world:\n  type: public_goods\n  reward: nope\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "pg.yaml")
    problem = str(info.value.problems[0])
    assert "pg.yaml:3" in problem and "mac_spgg" in problem


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_files_run_and_report_theory(path):
    scenario, _ = load_scenario(path, [("world.rounds", 15), ("run.record_events", False)])
    result = run_scenario(scenario)
    assert result.status == "finished" and result.counters["fallbacks"] == 0
    theory, measures = result.metrics["theory"], result.metrics["measures"]
    assert theory["equilibrium_contribution"] in (0.0, 1.0)
    assert 0.0 <= measures["mean_contribution"] <= 1.0

"""The information-acquisition world: theory (the LP) beside what obedient, strategic and lazy agents realise."""

import numpy as np
import pytest

from simulator.run import run_scenario
from simulator.scenario import ScenarioError, load_scenario, load_scenario_text
from simulator.world import World
from simulator.worlds.information import InformationConfig, InformationWorld


def _run(path, seed=None, **overrides):
    scenario, _ = load_scenario(path, list(overrides.items()))
    return run_scenario(scenario, seed=seed).metrics


def test_world_implements_the_protocol():
    world = InformationWorld(InformationConfig(type="information"), np.random.default_rng(0))
    assert isinstance(world, World)


def test_obedient_agents_realise_the_lp_value_within_sampling_error():
    m = _run("scenarios/information_correlated.yaml", **{"world.rounds": 1500})
    measures, theory = m["measures"], m["theory"]
    assert theory["optimal_utility"] == pytest.approx(0.58)
    assert theory["best_independent_utility"] < theory["optimal_utility"]
    assert measures["obedience_rate"] == 1.0 and measures["truthful_rate"] == 1.0
    assert abs(measures["principal_utility_per_round"] - theory["optimal_utility"]) <= 4 * measures["principal_utility_se"]
    # the realised recommendation mix is the LP's: (shirk, shirk) never drawn
    assert measures["rounds"] == 1500


def test_strategic_agents_obey_an_incentive_compatible_mechanism():
    text = """
world: {type: information, instance: correlation, rounds: 300}
agents: {default: strategic}
"""
    m = run_scenario(load_scenario_text(text), seed=2).metrics
    assert m["measures"]["obedience_rate"] == 1.0
    assert m["measures"]["truthful_rate"] == 1.0


def test_a_lazy_agent_costs_the_principal():
    base = "world: {type: information, instance: online, rounds: 1500}\nagents: {default: %s}\n"
    obedient = run_scenario(load_scenario_text(base % "obedient"), seed=4).metrics["measures"]
    lazy = run_scenario(load_scenario_text(base % "lazy"), seed=4).metrics["measures"]
    assert lazy["best_decision_share"] < obedient["best_decision_share"] - 0.1


def test_online_principal_learns_and_reports_regret():
    m = _run("scenarios/information_online.yaml", **{"world.rounds": 2000})
    assert m["theory"]["explore_rounds"] < 2000
    assert m["theory"]["expected_regret_explore_then_commit"] > 0
    assert "committed_utility_true_model" in m["measures"]
    # regret is measured against the optimum the principal could not compute without knowing the signals
    assert m["measures"]["regret_vs_optimal"] == pytest.approx(
        2000 * m["theory"]["optimal_utility"] - 2000 * m["measures"]["principal_utility_per_round"], rel=1e-9)


def test_bad_inline_instance_is_located_and_explained():
    text = """
world:
  type: information
  instance: {prior: [0.5, 0.5], utility: [[1, 0], [0, 1]], costs: [[0, 0.1]], signals: [[[[0.5, 0.6], [0.5, 0.5]], [[1, 0], [0, 1]]]]}
"""
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "inline.yaml")
    message = str(info.value.problems[0])
    assert "inline.yaml" in message and "world.instance" in message and "sum to 1" in message

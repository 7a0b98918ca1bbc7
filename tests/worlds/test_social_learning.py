"""The social-learning world: cascades against BHW, planners against their DP, networks from networkx."""

import numpy as np
import pytest

from simulator.run import run_scenario
from simulator.scenario import load_scenario, load_scenario_text
from simulator.world import World
from simulator.worlds.social_learning import NetworkConfig, SocialLearning, SocialLearningConfig, observation_network


def _run(path, seed=None, **overrides):
    scenario, _ = load_scenario(path, list(overrides.items()))
    return run_scenario(scenario, seed=seed).metrics


def test_world_implements_the_protocol():
    assert isinstance(SocialLearning(SocialLearningConfig(type="social_learning"), np.random.default_rng(0)), World)


def test_bayesian_agents_cascade_as_bhw_predict():
    episodes = 1500
    m = _run("scenarios/social_learning_cascade.yaml", **{"world.episodes": episodes})
    for key in ("cascade_correct", "cascade_wrong"):
        p = m["theory"][key]
        assert abs(m["measures"][key] - p) <= 3 * np.sqrt(p * (1 - p) / episodes), key
    assert abs(m["measures"]["correct_share"] - m["theory"]["no_planner_correct_share"]) <= 3.5 * m["measures"]["correct_share_se"]


def test_altruistic_planner_beats_no_planner_in_simulation():
    m = _run("scenarios/social_learning_altruistic.yaml", **{"world.episodes": 300})
    measures, theory = m["measures"], m["theory"]
    assert theory["value_function_convex"] is True
    assert measures["correct_share"] > theory["no_planner_correct_share"] + 5 * measures["correct_share_se"]
    assert abs(measures["correct_share"] - theory["planner_correct_share"]) <= 4 * max(measures["correct_share_se"], 0.005)


def test_biased_planner_obfuscates_and_herds_agents_onto_its_target():
    m = _run("scenarios/social_learning_biased.yaml", **{"world.episodes": 200})
    measures, theory = m["measures"], m["theory"]
    assert theory["obfuscates_on_beliefs"], "the optimal policy should lower precision somewhere"
    assert theory["planner_precision_at_prior"] < 0.6
    assert measures["obfuscated_share"] > 0
    assert measures["mean_precision"] < 0.6
    assert measures["action_1_share"] > theory["no_planner_target_share"] + 0.1
    assert measures["correct_share"] < theory["no_planner_correct_share"]


@pytest.mark.parametrize("kind,extra", [("complete", {}), ("last_k", {"k": 2}), ("erdos_renyi", {"p": 0.3}),
                                        ("watts_strogatz", {"k": 4, "p": 0.2}), ("none", {})])
def test_observation_networks_only_look_back_in_time(kind, extra):
    g = observation_network(12, NetworkConfig(kind=kind, **extra), np.random.default_rng(1))
    assert all(j < t for j, t in g.edges)
    assert g.number_of_nodes() == 12
    if kind == "complete":
        assert g.number_of_edges() == 12 * 11 // 2
    if kind == "none":
        assert g.number_of_edges() == 0


def test_isolated_agents_are_right_as_often_as_their_signal():
    text = """
world: {type: social_learning, n_agents: 10, episodes: 400, precision: 0.7, network: {kind: none}}
agents: {default: bayesian}
"""
    m = run_scenario(load_scenario_text(text), seed=5).metrics["measures"]
    assert abs(m["correct_share"] - 0.7) <= 3 * np.sqrt(0.21 / 4000)


def test_network_scenario_runs_every_scripted_policy():
    m = _run("scenarios/social_learning_network.yaml", **{"world.episodes": 60})
    assert 0.5 < m["measures"]["correct_share"] <= 1.0
    assert "complete_network_bayesian_correct_share" in m["theory"]


def test_majority_followers_all_copy_the_first_agent():
    # agent 1 sees only agent 0 and copies it; then the majority is unanimous: every episode is all-right or all-wrong
    text = """
world: {type: social_learning, n_agents: 8, episodes: 200, precision: 0.7, network: {kind: complete}}
agents: {default: majority, agent_0: signal_only}
"""
    m = run_scenario(load_scenario_text(text), seed=6).metrics["measures"]
    assert m["correct_share"] == pytest.approx(m["last_agent_correct"], abs=1e-12)
    assert abs(m["correct_share"] - 0.7) <= 3 * np.sqrt(0.21 / 200)

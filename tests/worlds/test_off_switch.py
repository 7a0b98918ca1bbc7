"""The off-switch world: simulated averages against the paper's theory, and the scenario files.

Simulated mean utilities must lie within 3 standard errors of what
mechanisms.off_switch predicts; the closed form 1/sqrt(2 pi) (U ~ N(0,1),
rational human) is the anchor.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simulator.run import run_scenario
from simulator.scenario import ScenarioError, load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parents[2]
# This scenario files (others, e.g. LLM-driven ones, are tested where they are written).
SCENARIOS = [ROOT / "scenarios" / f"off_switch_{name}.yaml" for name in ("rational", "noisy", "sweep", "traditional")]


def run(text: str, seed: int = 0) -> dict:
    result = run_scenario(load_scenario_text(text), seed)
    assert result.status == "finished"
    return result.metrics


def scenario(robot: str, human: str, mu: float, sigma: float, beta: float, episodes: int = 4000, extra: str = "") -> str:
    return f"""
world:
  type: off_switch
  episodes: {episodes}
  utility: {{distribution: normal, mu: {mu}, sigma: {sigma}}}
  human: {{beta: {beta}}}
  {extra}
agents:
  robot: {robot}
  human: {human}
run: {{record_events: false}}
"""


def within_3_se(measures: dict, expected: float) -> None:
    mean, se = measures["mean_utility"], measures["se_utility"]
    assert abs(mean - expected) < 3 * se, f"simulated {mean} +- {se}, theory {expected}"


def test_rational_human_expected_utility_robot_defers_and_earns_delta():
    metrics = run(scenario("eu_robot", "rational_human", 0.0, 1.0, 0.0), seed=3)
    m, t = metrics["measures"], metrics["theory"]
    assert abs(t["value_wait"] - 1 / math.sqrt(2 * math.pi)) < 1e-9
    assert abs(t["delta"] - 1 / math.sqrt(2 * math.pi)) < 1e-9
    assert m["choice_frequencies"]["wait"] == 1.0 and m["override_rate"] == 0.0
    assert m["human_error_rate"] == 0.0 and m["mean_regret"] == 0.0
    within_3_se(m, 1 / math.sqrt(2 * math.pi))


def test_always_act_robot_earns_the_mean_and_pays_regret():
    metrics = run(scenario("always_act", "rational_human", 0.4, 1.0, 0.0), seed=4)
    m, t = metrics["measures"], metrics["theory"]
    within_3_se(m, 0.4)
    assert m["override_rate"] == 1.0
    assert abs(m["mean_regret"] - t["regret_by_choice"]["act"]) < 3 * m["se_regret"]


@pytest.mark.parametrize("mu, sigma, beta", [(0.25, 1.0, 0.5), (-0.5, 2.0, 1.0)])
def test_noisy_human_deferring_robot_matches_numeric_integration(mu, sigma, beta):
    metrics = run(scenario("always_defer", "model_human", mu, sigma, beta), seed=5)
    within_3_se(metrics["measures"], metrics["theory"]["value_wait"])
    assert metrics["measures"]["human_error_rate"] > 0  # a Boltzmann human errs


def test_robot_disables_the_off_switch_once_the_human_is_noisy_enough():
    mu, sigma = 0.5, 1.0  # beta* = sigma^2 / (2 mu) = 1
    below = run(scenario("eu_robot", "model_human", mu, sigma, 0.8, episodes=300), seed=6)
    above = run(scenario("eu_robot", "model_human", mu, sigma, 1.25, episodes=300), seed=6)
    assert below["theory"]["beta_star"] == pytest.approx(1.0, abs=1e-9)
    assert below["measures"]["override_rate"] == 0.0 and below["theory"]["best_choice"] == "wait"
    assert above["measures"]["override_rate"] == 1.0 and above["theory"]["best_choice"] == "act"


def test_discrete_and_sample_priors():
    discrete = scenario("eu_robot", "rational_human", 0, 1, 0.0, extra="prior: {distribution: discrete, values: [-1.0, 2.0], probabilities: [0.9, 0.1]}")
    metrics = run(discrete, seed=7)
    # R believes U is mostly -1: switching off beats acting; deferring beats both under a rational H.
    assert metrics["theory"]["prior_values"]["act"] == pytest.approx(-0.7)
    assert metrics["theory"]["robot_choice_under_prior"] == "wait"
    samples = scenario("always_defer", "rational_human", 0, 1, 0.0, extra="prior: {distribution: samples, samples: [-1.0, 0.5, 3.0]}")
    assert run(samples, seed=7)["theory"]["prior_values"]["wait"] == pytest.approx(3.5 / 3)


def test_bad_distribution_is_reported_with_its_location():
    text = "world:\n  type: off_switch\n  utility: {distribution: discrete}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "bad.yaml")
    message = str(info.value.problems[0])
    assert "bad.yaml:3" in message and "values" in message


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_files_run_and_print_theory_beside_simulation(path):
    loaded, _ = load_scenario(path, [("world.episodes", 300), ("run.record_events", False)])
    result = run_scenario(loaded)
    assert result.status == "finished"
    metrics = result.metrics
    assert metrics["theory"]["value_wait"] is not None and metrics["measures"]["episodes"] == 300
    assert abs(metrics["measures"]["mean_utility"] - metrics["theory"]["value_of_played_choices"]) < 4 * metrics["measures"]["se_utility"] + 1e-12

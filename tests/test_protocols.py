"""The World and Policy protocols: any policy can sit in any world."""

import numpy as np
from pydantic import BaseModel

from agents.policy import Policy
from agents.registry import load_all
from simulator.run import run_scenario
from simulator.scenario import load_scenario_text
from simulator.world import Metrics
from simulator.worlds import load_all as load_worlds


def test_every_registered_policy_implements_the_policy_protocol():
    policies = load_all()
    assert {"tit_for_tat", "random_legal"} <= set(policies)
    for name, entry in policies.items():
        assert callable(getattr(entry.cls, "act", None)), name
        assert issubclass(entry.params, BaseModel), name
    built = policies["tit_for_tat"].build(policies["tit_for_tat"].params(), np.random.default_rng(0))
    assert isinstance(built, Policy)


def test_every_world_declares_config_and_default_policy():
    for name, cls in load_worlds().items():
        assert issubclass(cls.Config, BaseModel), name
        assert cls.Config.model_fields["type"].annotation.__args__ == (name,)


def test_a_schema_only_policy_plays_a_world_it_knows_nothing_about():
    scenario = load_scenario_text(
        """
world: {type: matrix_game, game: rock_paper_scissors, rounds: 300}
agents: {default: random_legal}
"""
    )
    result = run_scenario(scenario, seed=4)
    assert result.counters["fallbacks"] == 0
    assert result.metrics["measures"]["rounds"] == 300
    freq = result.metrics["measures"]["action_frequencies"]["p0"]
    assert set(freq) == {"rock", "paper", "scissors"} and min(freq.values()) > 0.2


def test_invalid_actions_fall_back_to_the_default_and_are_counted():
    from agents.registry import register

    @register("test_bad_policy", worlds=["matrix_game"])
    class Bad:
        def __init__(self, params, rng):
            self.calls = 0

        def act(self, observation, action_model):
            self.calls += 1
            if self.calls % 2:
                return {"action": "not-a-move"}
            raise RuntimeError("policy crashed")

    scenario = load_scenario_text(
        """
world: {type: matrix_game, game: prisoners_dilemma, rounds: 4, players: [a, b]}
agents: {a: test_bad_policy, b: always_defect}
"""
    )
    result = run_scenario(scenario, seed=0)
    assert result.status == "finished"
    assert result.counters["fallbacks"] == 4
    # The default action is the first label (cooperate): a is exploited every round.
    assert result.metrics["payoffs"] == {"a": 0, "b": 20}


def test_metrics_default_welfare_is_the_utilitarian_sum():
    metrics = Metrics(payoffs={"a": 1.5, "b": np.float64(2.0)}, measures={"x": np.arange(3)})
    data = metrics.to_dict()
    assert data["welfare"] == 3.5
    assert data["measures"]["x"] == [0, 1, 2] and type(data["payoffs"]["b"]) is float

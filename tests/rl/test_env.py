"""Every world as a PettingZoo environment: PettingZoo's own checks, and the adapter against `agora run`.

Oracles: PettingZoo's ``api_test``, ``parallel_api_test`` and ``seed_test``;
and ``simulator.run.run_scenario`` itself — a learner that replays the seats'
own scenario policies through the adapter must reproduce the run's metrics
exactly, and its rewards must add up to the run's payoffs.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the rl extra (pettingzoo, gymnasium) is not installed")

from pettingzoo.test import api_test, parallel_api_test, seed_test  # noqa: E402
from pettingzoo.test.seed_test import parallel_seed_test  # noqa: E402

from simulator.rl import spaces as action_spaces  # noqa: E402
from simulator.rl.env import agora_env, agora_parallel_env  # noqa: E402
from simulator.run import run_scenario  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402
from simulator.worlds import load_all as load_worlds  # noqa: E402

# One shipped scenario per world, made small; the public goods one has all three phases.
SCENARIOS = {
    "matrix_game": ("scenarios/prisoners_dilemma.yaml", [("world.rounds", 12)]),
    "public_goods": ("scenarios/public_goods_learning.yaml", [("world.rounds", 4)]),
    "off_switch": ("scenarios/off_switch_rational.yaml", [("world.episodes", 30)]),
    "information": ("scenarios/information_correlated.yaml", [("world.rounds", 15)]),
    "social_learning": ("scenarios/social_learning_cascade.yaml", [("world.episodes", 3)]),
    "marketplace": ("scenarios/marketplace_small.yaml", [("run.max_time", 15)]),
}


def scenario_of(world):
    path, overrides = SCENARIOS[world]
    return load_scenario(path, overrides)[0]


def test_every_world_has_a_scenario_here():
    assert set(SCENARIOS) == set(load_worlds())


@pytest.mark.parametrize("world", sorted(SCENARIOS))
def test_pettingzoo_api_and_seed_tests_pass(world):
    scenario = scenario_of(world)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PettingZoo's style advice (agent names, space classes)
        api_test(agora_env(scenario), num_cycles=40)
        parallel_api_test(agora_parallel_env(scenario), num_cycles=40)
        seed_test(lambda: agora_env(scenario), num_cycles=40)
        parallel_seed_test(lambda: agora_parallel_env(scenario), num_cycles=40)


def replay_scenario_policies(env, seed):
    """Drive the learner seats with the policies the scenario gives them (built by the env with
    the run's seeds), through the action spaces; returns the summed rewards per seat."""
    env.reset(seed=seed)
    returns = {a: 0.0 for a in env.possible_agents}
    fallbacks = []
    for agent in env.agent_iter():
        _, reward, termination, truncation, info = env.last()
        returns[agent] += reward
        if termination or truncation:
            env.step(None)
            continue
        observation, model = env.requests[agent]
        raw = env.sim.seats[agent].policy.act(observation, model)
        action = model.model_validate(raw.model_dump() if hasattr(raw, "model_dump") else raw).model_dump(mode="json")
        env.step(action_spaces.encode(env.codecs[agent], info["action_kind"], action))
        fallbacks.append(env.infos.get(agent, {}).get("fallback"))
    assert not any(fallbacks), fallbacks
    return returns


@pytest.mark.parametrize("world", sorted(SCENARIOS))
def test_replaying_the_scenario_policies_reproduces_agora_run(world):
    scenario = scenario_of(world)
    expected = run_scenario(scenario, seed=5).metrics
    env = agora_env(scenario)
    returns = replay_scenario_policies(env, seed=5)
    assert env.metrics() == expected
    scale = expected["measures"]["episodes"] if world == "social_learning" else 1  # it reports payoffs per episode
    for agent, total in returns.items():
        assert total == pytest.approx(expected["payoffs"][agent] * scale, abs=1e-9)


def test_a_learner_beside_fixed_opponents_changes_only_its_own_seat():
    scenario = scenario_of("public_goods")
    env = agora_env(scenario, learners=["q0"])
    assert env.possible_agents == ["q0"]
    assert set(env.action_space("q0").spaces) == {"contribution", "punish", "refuse"}
    env.reset(seed=3)
    seen_kinds = set()
    for agent in env.agent_iter():
        _, _, termination, truncation, info = env.last()
        if termination or truncation:
            env.step(None)
            continue
        seen_kinds.add(info["action_kind"])
        env.step(action_spaces.encode(env.codecs[agent], info["action_kind"],
                                      {"contribution": 10.0, "punish": {}, "refuse": []}))
    measures = env.metrics()["measures"]
    assert seen_kinds == {"contribution", "punish", "refuse"}
    assert measures["mean_contribution_by_agent"]["q0"] == 1.0
    assert env.sim.counters["fallbacks"] == 0


def test_masks_follow_what_is_legal_now():
    scenario = scenario_of("public_goods")  # groups of 4 out of 8: only group mates can be punished
    env = agora_env(scenario, learners=["q0"])
    env.reset(seed=1)
    checked, contributed = 0, 0
    for agent in env.agent_iter():
        _, _, termination, truncation, info = env.last()
        if termination or truncation:
            env.step(None)
            continue
        contributed += info["action_kind"] == "contribution"
        if info["action_kind"] == "punish":
            group = set(info["observation"]["group"]) - {"q0"}
            universe = env.codecs["q0"].codecs["punish"].universe
            rows = info["action_mask"]["punish"]
            for target, row in zip(universe, rows):
                assert row.tolist() == ([1, 1, 1, 1] if target in group else [1, 0, 0, 0]), target
            checked += 1
        env.step(env.action_space(agent).sample(info["action_mask"]))
    assert checked == contributed >= 1  # one punish decision in every round q0 is not left out
    assert env.sim.counters["fallbacks"] == 0  # masked random actions are always legal


def test_an_invalid_action_falls_back_and_says_why():
    env = agora_env(scenario_of("marketplace"), learners=["customer_0001"])
    env.reset()
    assert env.infos["customer_0001"]["fallback"] is None
    env.step("not json")
    assert "JSON" in env.infos["customer_0001"]["fallback"] and env.sim.counters["fallbacks"] == 1
    env.step('{"action": {"kind": "search", "query": "tacos"}}')  # a valid JSON action is the agent's own
    assert env.infos["customer_0001"]["fallback"] is None and env.sim.counters["fallbacks"] == 1


def test_max_time_truncates_and_seed_none_is_the_scenario_seed():
    scenario = load_scenario("scenarios/prisoners_dilemma.yaml", [("run.max_time", 4.5), ("world.continuation", 1.0)])[0]
    env = agora_env(scenario)
    env.reset()
    steps = 0
    for agent in env.agent_iter():
        _, _, termination, truncation, _ = env.last()
        if termination or truncation:
            assert truncation and not termination
            env.step(None)
            continue
        env.step(0)
        steps += 1
    assert steps == 2 * 5  # decisions at t = 0..4; the one at t = 5 is past max_time
    assert env.seed_used == scenario.seed


def test_different_seeds_give_different_episodes():
    def contributions(seed):
        env = agora_env(scenario_of("public_goods"), learners=["q0"])
        env.reset(seed=seed)
        env.action_space("q0").seed(0)  # the learner's own randomness is the same in every episode
        for agent in env.agent_iter():
            _, _, termination, truncation, info = env.last()
            env.step(None if termination or truncation else env.action_space(agent).sample(info["action_mask"]))
        return env.metrics()["measures"]["contribution_by_round"]

    assert contributions(1) == contributions(1)
    assert contributions(1) != contributions(2)


def test_unknown_learners_are_rejected_with_the_allowed_ids():
    with pytest.raises(ValueError, match="unknown agent.*'nobody'.*alice, bob"):
        agora_env("scenarios/prisoners_dilemma.yaml", learners=["nobody"])


def test_render_is_text():
    env = agora_env("scenarios/prisoners_dilemma.yaml", render_mode="ansi")
    env.reset()
    text = env.render()
    assert "prisoners_dilemma" in text and "to act: alice, bob" in text
    env.step(0)
    env.step(1)
    assert "alice=0" in env.render() and "bob=5" in env.render()


def test_observations_are_inside_their_spaces_for_every_agent():
    env = agora_env(scenario_of("information"))
    env.reset(seed=2)
    for agent in env.agent_iter(60):
        observation, _, termination, truncation, info = env.last()
        assert env.observation_space(agent).contains(observation)
        assert isinstance(observation, np.ndarray) and observation.dtype == np.float32
        env.step(None if termination or truncation else env.action_space(agent).sample(info["action_mask"]))


def test_an_amount_without_a_grid_is_a_box_and_passes_the_api_test():
    scenario = load_scenario("scenarios/public_goods_simultaneous.yaml", [("world.step", None), ("world.rounds", 5)])[0]
    env = agora_env(scenario, learners=["cc1"])
    space = env.action_space("cc1")
    assert space.shape == (1,) and space.low[0] == 0 and space.high[0] == 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(env, num_cycles=20)
    env.reset(seed=1)
    for agent in env.agent_iter():
        _, _, termination, truncation, _ = env.last()
        env.step(None if termination or truncation else np.array([3.25], dtype=np.float32))
    assert env.metrics()["measures"]["mean_contribution_by_agent"]["cc1"] == pytest.approx(0.325)


def test_a_learner_trains_against_an_llm_seat(tmp_path):
    """bob is an LLM behind an OpenAI-compatible stub on 127.0.0.1; only bob's decisions reach it."""
    import sys
    from pathlib import Path

    import yaml

    sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))
    from stub_server import StubServer

    from simulator.scenario import load_scenario_text

    with StubServer() as server:
        text = yaml.safe_dump({
            "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["alice", "bob"], "rounds": 6},
            "agents": {"alice": "tit_for_tat", "bob": "llm"},
            "llm": {"base_url": server.base_url, "model": "stub", "cache": "off"},
        })
        env = agora_env(load_scenario_text(text), learners=["alice"])
        requests_before = len(server.requests)  # building the env probes the world, not the model
        env.reset(seed=1)
        for agent in env.agent_iter():
            _, _, termination, truncation, _ = env.last()
            env.step(None if termination or truncation else 1)  # alice always defects
        measures = env.metrics()["measures"]
    assert len(server.requests) - requests_before == 6
    assert measures["action_frequencies"]["alice"] == {"cooperate": 0.0, "defect": 1.0}
    assert sum(measures["action_frequencies"]["bob"].values()) == pytest.approx(1.0)
    assert env.sim.counters["decisions"] == 12


def test_the_parallel_env_steps_one_decision_batch_at_a_time():
    env = agora_parallel_env(scenario_of("off_switch"))
    _, infos = env.reset(seed=4)
    acting = lambda: {a for a in env.agents if infos[a]["acting"]}  # noqa: E731
    assert acting() == {"robot"}
    _, rewards, _, _, infos = env.step({"robot": 2, "human": None})  # robot: wait -> the human decides next
    assert acting() == {"human"} and rewards == {"robot": 0.0, "human": 0.0}
    utility = infos["human"]["observation"]["utility"]
    _, rewards, _, _, infos = env.step({"robot": None, "human": 0})  # allow: both get U
    assert acting() == {"robot"} and rewards == {"robot": pytest.approx(utility), "human": pytest.approx(utility)}
    _, rewards, _, _, infos = env.step({"robot": 1, "human": None})  # off: 0, and the robot acts again
    assert acting() == {"robot"} and rewards == {"robot": 0.0, "human": 0.0}

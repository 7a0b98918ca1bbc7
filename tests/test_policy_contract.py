"""The Policy contract (agents/policy.py) checked for every registered policy, as PettingZoo's api_test checks
every environment: built from its ``Params()`` defaults or its entry's declared examples, hooks with the
declared signatures, and it plays every world it says it plays (the world's smallest shipped scenario, the
``scenarios/llm_*.yaml`` one, with the policy in one role and the world's defaults elsewhere; the LLM
policy talks to the loopback stub server of tests/llm)."""

from __future__ import annotations

import gc
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from agents.policy import BatchPolicy, Policy, SeatedPolicy
from agents.registry import Example, load_all, register
from simulator.run import build_simulation, run_scenario
from simulator.scenario import ScenarioError, load_scenario_text
from simulator.worlds import load_all as load_worlds

sys.path.insert(0, str(Path(__file__).parent / "llm"))
from stub_server import StubServer  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED_WORLDS = ("information", "marketplace", "matrix_game", "off_switch", "public_goods", "social_learning")


def _llm_scenarios() -> dict[str, Path]:
    """``{world type: scenarios/llm_*.yaml}``: each world's scenario sized for LLM seats, its smallest."""
    found = {}
    for path in sorted(SCENARIOS.glob("llm_*.yaml")):
        found.setdefault(yaml.safe_load(path.read_text())["world"]["type"], path)
    return found


LLM_SCENARIOS = _llm_scenarios()


def smallest_scenario(world_type: str) -> dict:
    return yaml.safe_load(LLM_SCENARIOS[world_type].read_text())


def world_types() -> list[str]:
    """Worlds with a shipped scenario (a world registered by another test module has none)."""
    return sorted(w for w in load_worlds() if w in LLM_SCENARIOS)


def examples_of(entry, folder: Path) -> dict:
    """``{world or None: Example}`` the policy is built and played from: its declared examples, else ``Params()``."""
    if entry.examples is not None:
        return dict(entry.examples(folder))
    return {None: Example()}


def positional(method) -> int:
    """How many positional arguments a bound method takes (all of them required)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = [p for p in inspect.signature(method).parameters.values() if p.kind in kinds]
    assert all(p.default is inspect.Parameter.empty for p in params), method
    return len(params)


def test_every_shipped_world_has_a_smallest_scenario():
    assert set(SHIPPED_WORLDS) <= set(world_types())


@pytest.mark.parametrize("name", sorted(load_all()))
def test_a_policy_is_built_from_its_declared_params_with_the_declared_hooks(name, tmp_path):
    entry = load_all()[name]
    assert issubclass(entry.params, BaseModel)
    assert entry.worlds is None or set(entry.worlds) <= set(load_worlds()), entry.worlds
    init = inspect.signature(entry.cls.__init__)
    assert list(init.parameters)[1:3] == ["params", "rng"], init  # cls(params, rng)
    for example in examples_of(entry, tmp_path).values():
        policy = entry.build(entry.params.model_validate(example.params), np.random.default_rng(0))
        assert isinstance(policy, Policy)
        assert positional(policy.act) == 2  # (observation, action_model), called positionally by the host
        if isinstance(policy, BatchPolicy):
            assert positional(policy.act_batch) == 1  # (requests)
            assert float(policy.batch_window) >= 0
            hash(policy.batch_key)  # a dict key for the host's batches
        if isinstance(policy, SeatedPolicy):
            assert positional(policy.bind) == 1  # (seat)
    if entry.settings is not None:
        assert entry.settings_key and issubclass(entry.settings, BaseModel)
        entry.settings()  # a scenario without the block gets the defaults
    if entry.examples is None and any(f.is_required() for f in entry.params.model_fields.values()):
        pytest.fail(f"{name}: Params() cannot build it and its entry declares no examples")


def _plays(name: str, example: Example, world_type: str, base_url: str) -> list[str]:
    """Seat the policy in each role of the world's smallest scenario in turn; the roles it played without a fallback."""
    data = smallest_scenario(world_type)
    if example.world is not None:
        data["world"] = example.world
    data["llm"] = {**data.get("llm", {}), "base_url": base_url, "cache": "off", "max_retries": 0, "timeout": 60}
    data.pop("agents", None)
    probe = build_simulation(load_scenario_text(yaml.safe_dump(data)), 0)
    roles = sorted({probe.world.role(a) for a in probe.world.agent_ids()})
    played = []
    for role in roles:
        data["agents"] = {role: {"policy": name, "params": example.params}}
        scenario = load_scenario_text(yaml.safe_dump(data), f"<{name} as {role} in {world_type}>")
        sim = build_simulation(scenario, 1)
        mine = {a for a, seat in sim.seats.items() if seat.policy_name == name}
        result = sim.run(max_time=scenario.run.max_time)
        assert result.status == "finished", (name, role, world_type, result.reason)
        acted = {e[2] for e in sim.events if e[3] == "action" and e[2] in mine}
        fell_back = {e[2] for e in sim.events if e[3] == "fallback" and e[2] in mine}
        if acted and not fell_back:
            played.append(role)
    return played


@pytest.fixture(scope="module")
def stub():
    server = StubServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("name", sorted(load_all()))
def test_a_policy_plays_every_world_it_says_it_plays(name, stub, tmp_path):
    entry = load_all()[name]
    examples = examples_of(entry, tmp_path)
    worlds = [w for w in world_types() if entry.plays(w) and (w in examples or None in examples)]
    assert worlds, f"{name}: no shipped world to play (its worlds: {entry.worlds}, examples for: {list(examples)})"
    for world_type in worlds:
        example = examples.get(world_type, examples.get(None))
        assert _plays(name, example, world_type, stub.base_url), f"{name} played no role of {world_type} without fallbacks"


def test_a_policy_outside_its_worlds_is_refused_with_file_and_line():
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text("world: {type: off_switch}\nagents: {default: tit_for_tat}\n", "s.yaml")
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.path) == ("s.yaml", 2, "agents.default")
    assert "unknown policy 'tit_for_tat' for world 'off_switch'" in problem.message


# --------------------------------------------------------------------------- the seat context and settings blocks


CLOSED: list[list[str]] = []  # the seats of every Shared closed so far


class Shared(dict):
    """A per-run resource that records being closed."""

    def __init__(self) -> None:
        super().__init__(seats=[])

    def close(self) -> None:
        CLOSED.append(self["seats"])


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    greeting: str = "hello"


@register("test_contract_seated", worlds=["matrix_game"], settings=Echo, settings_key="test_contract")
class Seated:
    """Records what its seat offers; batches its decisions under one key per run."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.seat = None
        self.batches = 0

    def bind(self, seat) -> None:
        self.seat = seat
        self.shared = seat.resource("test_contract.shared", Shared)
        self.shared["seats"].append(seat.agent_id)
        seat.on_finish(self.finish)

    @property
    def batch_key(self):
        return id(self.shared)

    batch_window = 0.0

    def act(self, observation, action_model):
        return self.act_batch([(self.seat.agent_id, observation, action_model)])[0]

    def act_batch(self, requests):
        self.seat.counters["test_contract_batches"] = self.seat.counters.get("test_contract_batches", 0) + 1
        self.seat.log("test_contract", None, n=len(requests), greeting=self.seat.settings.greeting)
        return [{"action": "cooperate"} for _ in requests]

    def finish(self, status, reason, metrics):
        metrics["test_contract"] = list(self.shared["seats"])
        return status, reason


def test_the_seat_context_offers_settings_counters_resources_and_finish_hooks():
    scenario = load_scenario_text(
        "world: {type: matrix_game, game: prisoners_dilemma, rounds: 3, players: [a, b]}\n"
        "agents: {a: test_contract_seated, b: test_contract_seated}\n"
        "test_contract: {greeting: hi}\n"
    )
    assert scenario.settings_block("test_contract") == {"greeting": "hi"}
    sim = build_simulation(scenario, 0)
    seat = sim.seats["a"].policy.seat
    assert (seat.agent_id, seat.role, seat.world_type, seat.settings) == ("a", "player", "matrix_game", Echo(greeting="hi"))
    offered = {name for name in dir(seat) if not name.startswith("_")}
    assert offered == {"agent_id", "role", "world_type", "settings", "counters", "records_exchanges", "now", "rules",
                       "log", "record_exchange", "resource", "on_finish"}  # the SeatContext, not the simulation
    assert sim.seats["a"].policy.shared is sim.seats["b"].policy.shared  # one resource per run
    result = sim.run()
    assert result.metrics["test_contract"] == ["a", "b"]
    assert result.counters["test_contract_batches"] == 3  # both seats' decisions of a round in one batch
    logged = [e[4] for e in sim.events if e[3] == "test_contract"]
    assert logged == [{"n": 2, "greeting": "hi"}] * 3
    other = build_simulation(scenario, 0)
    assert other.seats["a"].policy.shared is not sim.seats["a"].policy.shared  # another run, another resource


def test_a_runs_resources_are_closed_when_the_run_is_discarded():
    scenario = load_scenario_text(
        "world: {type: matrix_game, game: prisoners_dilemma, rounds: 2, players: [x, y]}\n"
        "agents: {default: test_contract_seated}\n"
    )
    sim = build_simulation(scenario, 0)
    sim.run()
    shared = sim.seats["x"].policy.shared
    assert all(seats is not shared["seats"] for seats in CLOSED)
    del sim
    gc.collect()
    assert any(seats is shared["seats"] for seats in CLOSED)  # nothing of the run keeps it (or its resources) alive


def test_a_settings_block_is_validated_by_its_policy_model_with_file_and_line():
    text = "world: {type: matrix_game, game: prisoners_dilemma}\ntest_contract:\n  greting: hi\n"
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "s.yaml")
    problem = caught.value.problems[0]
    assert (problem.line, problem.path) == (3, "test_contract.greting")
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text("world: {type: matrix_game, game: prisoners_dilemma}\ntest_contrct: {}\n", "s.yaml")
    problem = caught.value.problems[0]
    assert (problem.line, problem.path) == (2, "test_contrct")
    assert "unknown field" in problem.message and "did you mean 'test_contract'" in problem.message


def test_a_settings_key_cannot_be_taken_twice_or_shadow_a_scenario_field():
    with pytest.raises(ValueError, match="already policy 'test_contract_seated'"):
        register("test_contract_other", settings=Echo, settings_key="test_contract")(type("Other", (), {}))
    with pytest.raises(ValueError, match="is a scenario field"):
        register("test_contract_world", settings=Echo, settings_key="world")(type("Other", (), {}))

"""simulator.seating: the per-class protocol answer, and params picked once per agents: key (copied or shared)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from agents import registry as policy_registry
from agents.policy import BatchPolicy, SeatedPolicy
from simulator import seating
from simulator.scenario import PolicySpec, load_scenario_text
from simulator.seating import build_policies, conforms


class Plain:
    def act(self, observation, action_model):
        return {}


class Seated(Plain):
    def bind(self, seat):
        self.seat = seat


class Batching(Plain):
    batch_key = "k"

    def __init__(self, window=None):
        if window is not None:
            self.batch_window = window   # an instance member: typing's check then depends on the instance

    def act_batch(self, requests):
        return [{} for _ in requests]


def test_conforms_answers_as_isinstance_per_instance():
    cases = [Plain(), Seated(), Batching(), Batching(0.5), Batching(), Batching(0.1)]
    for policy in cases * 2:   # the second pass answers from the per-class cache
        for protocol in (SeatedPolicy, BatchPolicy):
            assert conforms(policy, protocol) == isinstance(policy, protocol), (policy, protocol)
    assert conforms(Batching(0.5), BatchPolicy) and not conforms(Batching(), BatchPolicy)
    assert conforms(Seated(), SeatedPolicy) and not conforms(Plain(), SeatedPolicy)


class _World:
    """Three agents: two customers, one business (what build_policies reads of a world)."""

    roles = {"c1": "customer", "c2": "customer", "b1": "business"}

    def agent_ids(self):
        return list(self.roles)

    def role(self, agent_id):
        return self.roles[agent_id]

    def default_policy(self, role):
        return "free_params" if role == "business" else "frozen_params"


class FreeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = 1
    tags: list[str] = []


class FrozenParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: int = 1


class Recorder:
    def __init__(self, params, rng):
        self.params, self.rng = params, rng

    def act(self, observation, action_model):
        return {}


def _entries(monkeypatch):
    entries = {
        "free_params": policy_registry.PolicyEntry("free_params", Recorder, FreeParams, None, "test"),
        "frozen_params": policy_registry.PolicyEntry("frozen_params", Recorder, FrozenParams, None, "test"),
    }
    monkeypatch.setattr(seating.policy_registry, "get", entries.get)


def _scenario(agents: dict):
    scenario = load_scenario_text("world: {type: matrix_game, game: prisoners_dilemma}\n", "<test>")
    scenario.agents = {key: PolicySpec(**spec) for key, spec in agents.items()}   # by hand: params_for gives None
    return scenario


def test_unfrozen_params_are_one_copy_per_seat_frozen_ones_are_shared(monkeypatch):
    _entries(monkeypatch)
    scenario = _scenario({"customer": {"policy": "free_params", "params": {"level": 3, "tags": ["x"]}},
                          "c2": {"policy": "frozen_params", "params": {"level": 4}}})
    scenario.validated_params = {   # as validate_scenario fills it in
        "customer": ("free_params", {"level": 3, "tags": ["x"]}, FreeParams(level=3, tags=["x"])),
        "c2": ("frozen_params", {"level": 4}, FrozenParams(level=4)),
    }
    seats = build_policies(scenario, _World(), np.random.SeedSequence(1))
    c1, c2, b1 = (seats[a][0] for a in ("c1", "c2", "b1"))
    assert seats["c1"][1] == "free_params" and seats["c2"][1] == "frozen_params" and seats["b1"][1] == "free_params"
    assert c1.params == FreeParams(level=3, tags=["x"]) and c1.params is not scenario.validated_params["customer"][2]
    assert c2.params is scenario.validated_params["c2"][2]    # frozen: nothing can change it, one object serves
    assert b1.params == FreeParams()                           # the world's default policy, validated from {}


def test_each_agent_keeps_numpys_stream(monkeypatch):
    _entries(monkeypatch)
    seats = build_policies(_scenario({}), _World(), np.random.SeedSequence(9))
    expected = [np.random.default_rng(s).random() for s in np.random.SeedSequence(9).spawn(3)]
    assert [seats[a][0].rng.random() for a in ("c1", "c2", "b1")] == expected


def test_hand_built_params_are_validated_per_seat(monkeypatch):
    _entries(monkeypatch)
    scenario = _scenario({"customer": {"policy": "free_params", "params": {"tags": ["y"]}}})
    seats = build_policies(scenario, _World(), np.random.SeedSequence(2))
    a, b = seats["c1"][0].params, seats["c2"][0].params
    assert a == b == FreeParams(tags=["y"]) and a is not b and a.tags is not b.tags


class _Node:
    def __init__(self):
        self.me = self   # a reference cycle: only the cyclic collector frees it


def test_a_build_leaves_no_young_generation_and_its_cycles_stay_collectable():
    import gc
    import weakref

    from simulator.run import collector_paused

    gc.collect()
    enabled = gc.isenabled()
    gc.enable()
    try:
        with collector_paused():
            kept = [[k] for k in range(5_000)]   # what a build keeps: far past the youngest generation's threshold
            garbage = weakref.ref(_Node())       # a cycle dropped during the build
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() == 0
        assert gc.get_count()[0] < gc.get_threshold()[0]   # the next allocation does not rescan the build
        assert garbage() is not None
        gc.collect()
        assert garbage() is None and len(kept) == 5_000   # the cycle is still freed by a full collection
    finally:
        if not enabled:
            gc.disable()

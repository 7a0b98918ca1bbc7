"""Every world against a policy that knows nothing but the action schema.

``random_legal`` fills each world's action model at random (as an LLM might),
so this checks that any policy can sit in any world: no crash, schema-valid
actions accepted, metrics with payoffs and welfare, and theory beside them.
"""

from pathlib import Path

import pytest

from simulator.run import run_scenario
from simulator.scenario import load_scenario
from simulator.worlds import load_all

SCENARIOS = sorted(p for p in Path("scenarios").glob("*.yaml") if not p.name.startswith(("llm_", "sweep_")))


def smallest_scenario_per_world() -> dict[str, Path]:
    """One shipped scenario per world: a ``*small*`` one if any, else the shortest file."""
    chosen: dict[str, Path] = {}
    for path in sorted(SCENARIOS, key=lambda p: ("small" not in p.name, p.stat().st_size)):
        scenario, _ = load_scenario(path)
        chosen.setdefault(scenario.world_type, path)
    return chosen


def test_every_world_has_a_shipped_scenario():
    assert set(load_all()) <= set(smallest_scenario_per_world())


@pytest.mark.parametrize("world", sorted(load_all()))
def test_random_schema_policy_plays_every_world(world):
    path = smallest_scenario_per_world()[world]
    scenario, _ = load_scenario(path, [("agents", {"default": "random_legal"}), ("run.max_time", 30)])
    result = run_scenario(scenario, seed=0)
    assert result.status == "finished", (path, result.reason)
    assert result.counters["decisions"] > 0
    # Schema-valid random actions may be semantically poor, but they are actions, not fallbacks.
    assert result.counters["fallbacks"] <= result.counters["decisions"] // 2
    metrics = result.metrics
    assert isinstance(metrics["welfare"], (int, float)) and metrics["payoffs"]
    assert metrics["theory"], f"{world} reports no theory beside the simulation"

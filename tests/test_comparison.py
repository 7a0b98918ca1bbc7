"""Theory paired with simulation (contract 2, issue 18): every world's ``paired`` rows resolve on its shipped
scenarios, and the one table (simulator/comparison.py) rounds sensibly and computes the gap."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import worlds as world_registry
from simulator.comparison import comparison, comparison_for, resolve
from simulator.run import run_scenario
from simulator.scenario import read_scenario
from simulator.world import Pairing

ROOT = Path(__file__).resolve().parents[1]
# Every shipped single-run scenario that needs no LLM, server or large data set.
SHIPPED = sorted(
    path for path in (ROOT / "scenarios").glob("*.yaml")
    if not path.name.startswith(("llm_", "sweep_")) and path.name != "marketplace_large.yaml"
)
WORLDS = sorted(world_registry.BUILTIN)


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[str, dict]]:
    """{scenario file name: (world type, metrics)} of one run of each shipped scenario."""
    done = {}
    for path in SHIPPED:
        scenario = read_scenario(path).scenario
        done[path.name] = scenario.world_type, run_scenario(scenario).metrics
    return done


def test_every_world_has_a_shipped_scenario_here():
    assert {read_scenario(path).scenario.world_type for path in SHIPPED} == set(WORLDS)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_a_shipped_scenario_has_theory_beside_simulation(runs, path):
    world, metrics = runs[path.name]
    rows = comparison_for(world, metrics)
    assert rows, f"{path.name}: no pair of {world}'s resolves"
    for row in rows:
        assert row.theory is not None and row.theory != "" and row.simulated is not None, row
        if isinstance(row.theory, (int, float)) and isinstance(row.simulated, (int, float)):
            assert row.gap == pytest.approx(row.simulated - row.theory, abs=1e-4 * max(1, abs(row.theory)))


@pytest.mark.parametrize("world", WORLDS)
def test_every_declared_pair_resolves_on_some_shipped_scenario(runs, world):
    cls = world_registry.get_world(world)
    assert cls.paired, f"{world} declares no theory/simulation pairs"
    resolved = set()
    for world_type, metrics in runs.values():
        if world_type == world:
            resolved |= {pairing.quantity for pairing in cls.paired if comparison([pairing], metrics)}
    assert resolved == {pairing.quantity for pairing in cls.paired}


def test_values_are_rounded_and_the_gap_is_simulated_minus_theory():
    metrics = {"welfare": 10.0, "theory": {"p": 0.49999999999999994, "w": [2.0], "f": {"a": 0.25, "b": 0.75}},
               "measures": {"p": 0.5, "rounds": 4, "fixed": {"a": 1.0, "b": 0.0}}}
    rows = comparison([Pairing("p", "theory.p", "measures.p", "n"), Pairing("per round", "theory.w.0", "welfare / measures.rounds"),
                       Pairing("fix", "theory.f.*", "measures.fixed.*"), Pairing("absent", "theory.nothing", "welfare")], metrics)
    assert [(r.quantity, r.theory, r.simulated, r.gap) for r in rows] == [
        ("p", 0.5, 0.5, 0), ("per round", 2, 2.5, 0.5), ("fix: a", 0.25, 1, 0.75), ("fix: b", 0.75, 0, -0.75)]
    assert rows[0].note == "n"
    assert resolve("theory.w.0", metrics) == 2.0 and resolve("theory.w.5", metrics) is None


def test_the_api_run_detail_carries_the_comparison(runs):
    from api.services import run_view

    world, metrics = runs["prisoners_dilemma.yaml"]
    stored = {"id": "x", "world": world, "metrics": metrics, "scenario_text": "", "created_at": 1.0, "started_at": 2.0}
    view = run_view(stored, with_text=True)
    assert view["comparison"] == [row.to_dict() for row in comparison_for(world, metrics)]
    assert {"quantity", "theory", "simulated", "gap", "note"} <= set(view["comparison"][0])

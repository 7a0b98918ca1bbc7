"""Run plots (simulator/plots.py, issue 18): distributions for many agents, welfare over time with its theory
line, and the cache of a finished run's images (dropped when the run is stored again)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import plots
from simulator.run import stored_run
from simulator.scenario import read_scenario
from simulator.store import Store
from tests.run_loop_cases import ROOT


def stored(store: Store, name: str, overrides=()) -> str:
    loaded = read_scenario(ROOT / "scenarios" / f"{name}.yaml", list(overrides))
    run_id, _ = stored_run(loaded.scenario, loaded.text, store, overrides=list(loaded.overrides))
    return run_id


def synthetic(store: Store, agents: int, run_id: str | None = None, scale: float = 1.0) -> str:
    rng = np.random.default_rng(0)
    run_id = store.create_run(scenario_name="many", world="public_goods", scenario_text="", seed=0, run_id=run_id)
    store.append_events(run_id, [(i, float(i), None, "round", {"payoffs": (scale * rng.random(agents)).tolist()}) for i in range(5)])
    payoffs = {f"a{i}": float(scale * x) for i, x in enumerate(rng.random(agents))}
    store.finish_run(run_id, "finished", {"welfare": sum(payoffs.values()), "payoffs": payoffs, "measures": {}, "theory": {}}, {})
    return run_id


@pytest.mark.parametrize("name, overrides", [
    ("prisoners_dilemma", []), ("public_goods_simultaneous", []), ("off_switch_rational", [("world.episodes", 200)])])
def test_welfare_over_time_has_the_theory_line(tmp_path, name, overrides):
    with Store(tmp_path / "a.db") as store:
        run_id = stored(store, name, overrides)
        run = store.get_run(run_id)
        label, kind, value = plots.welfare_theory(run["world"], run["metrics"])
        assert kind == "per step"
        fig, data = plots.run_figure(store, run_id, "welfare")
        lines = {line.get_label(): line for line in fig.axes[0].lines}
        assert set(lines) == {"simulated", f"theory: {label}"}
        # the theory line rises by the per-round value at each round that paid
        assert data["theory"].iloc[-1] == pytest.approx(value * len(data))
        assert data["welfare"].iloc[-1] == pytest.approx(run["metrics"]["welfare"])


def test_a_total_theory_is_a_level(tmp_path):
    with Store(tmp_path / "a.db") as store:
        run_id = stored(store, "marketplace_small")
        run = store.get_run(run_id)
        label, kind, value = plots.welfare_theory("marketplace", run["metrics"])
        assert kind == "total" and value == pytest.approx(run["metrics"]["theory"]["optimal"])
        _, data = plots.run_figure(store, run_id, "welfare")
        assert value in list(data.get("welfare", [])) + list(data.get("theory", []))


def test_many_agents_are_a_distribution_few_are_bars(tmp_path):
    with Store(tmp_path / "a.db") as store:
        many, few = synthetic(store, 2000), synthetic(store, 10)
        fig, data = plots.run_figure(store, many, "payoffs")
        assert len(fig.axes) == 2 and len(data) == 2000  # histogram and ECDF; the CSV keeps every agent
        assert sum(patch.get_height() for patch in fig.axes[0].patches) == 2000
        fig, data = plots.run_figure(store, few, "payoffs")
        assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 10


def test_a_finished_runs_images_are_cached_until_it_is_stored_again(tmp_path, monkeypatch):
    with Store(tmp_path / "a.db") as store:
        run_id = synthetic(store, 100)
        drawn = []
        real = plots.run_figure
        monkeypatch.setattr(plots, "run_figure", lambda *args: drawn.append(args[1:]) or real(*args))
        first = plots.plot_run(store, run_id, "payoffs", "svg")
        assert plots.plot_run(store, run_id, "payoffs", "svg") == first and len(drawn) == 1
        store.delete_run(run_id)
        synthetic(store, 100, run_id=run_id, scale=5.0)  # the same id, other results
        again = plots.plot_run(store, run_id, "payoffs", "svg")
        assert len(drawn) == 2 and again != first

"""``import agora`` (simulator/python_api.py): the same runs as the CLI, the whole event log, overrides, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import agora
from simulator.parsing import ScenarioError
from simulator.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_is_the_cli_run_and_its_event_log_is_whole(tmp_path):
    db = tmp_path / "a.db"
    run = agora.run("prisoners_dilemma", seed=5, set={"world.rounds": 700, "world.continuation": 1}, db=db)
    cli = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(ROOT / "scenarios/prisoners_dilemma.yaml"), "--seed", "5",
                          "--set", "world.rounds=700", "--set", "world.continuation=1", "--json", "--db", str(tmp_path / "b.db")],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["metrics"] == run.metrics
    with Store(db) as store:
        stored = store.count_events(run.id)
    assert stored > 1000 and len(run.events) == stored  # no 1,000-row cap
    assert list(run.events.columns) == ["seq", "t", "kind", "agent", "data"]
    assert run.measures["rounds"] == 700
    again = agora.open_run(run.id, db=db)
    assert again.metrics == run.metrics and again.comparison.equals(run.comparison)
    assert list(run.comparison.columns) == ["quantity", "theory", "simulated", "gap", "note"]
    assert run.comparison["theory"].notna().all()


def test_scenarios_from_a_mapping_text_or_name(tmp_path):
    data = {"world": {"type": "matrix_game", "game": "stag_hunt", "players": ["a", "b"], "rounds": 3}}
    assert agora.load(data).scenario.world_config.rounds == 3
    assert agora.load("world: {type: matrix_game, game: stag_hunt, rounds: 2}\n").scenario.world_config.rounds == 2
    assert agora.load("prisoners_dilemma", set={"world.rounds": 9}).scenario.world_config.rounds == 9


def test_bad_input_names_the_field():
    with pytest.raises(ScenarioError) as caught:
        agora.load({"world": {"type": "matrix_game", "game": "prisoners_dilemma", "rounds": -1}})
    assert "world.rounds" in str(caught.value.problems[0])


def test_a_plot_is_a_figure(tmp_path):
    run = agora.run("prisoners_dilemma", db=tmp_path / "a.db")
    assert "welfare" in run.plots
    figure = run.plot("welfare")
    assert figure.axes and figure.axes[0].lines

"""`agora run` draws a big run's figures as it ends, as the API's workers do (issue 18: the run page's first view).

A run stored by `agora run` with at least ``DRAW_AHEAD_EVENTS`` logged events leaves every figure and its welfare
chart in ``<store>.figures.db`` (``simulator.draw_ahead``), equal to what drawing them gives, so `agora serve`
only reads bytes on the first view; a small run leaves nothing to draw and imports no plotting library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from simulator import figure_cache, plots
from simulator.comparison import comparison_for
from simulator.draw_ahead import DRAW_AHEAD_EVENTS
from simulator.store import Store
from simulator.welfare_series import welfare_series

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 4000  # a prisoner's dilemma logs 3 events a round: 12,000 events, above DRAW_AHEAD_EVENTS


def agora_run(db: Path, *overrides: str) -> str:
    """``agora run scenarios/prisoners_dilemma.yaml --json`` in a fresh process; the run id."""
    command = [sys.executable, "-m", "simulator.cli", "run", "scenarios/prisoners_dilemma.yaml", "--json", "--db", str(db)]
    for item in overrides:
        command += ["--set", item]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["run_id"]


def test_a_big_run_stored_by_agora_run_has_its_figures_and_chart_drawn(tmp_path):
    db = tmp_path / "agora.db"
    run_id = agora_run(db, f"world.rounds={ROUNDS}", "world.continuation=1.0")
    cache_file = tmp_path / ("agora.db" + figure_cache.SUFFIX)
    assert cache_file.is_file()
    cache = figure_cache.FigureCache(cache_file)
    with Store(db) as store:
        run = store.get_run(run_id)
        assert run["summary"]["events"] >= DRAW_AHEAD_EVENTS
        version = figure_cache.version_of(run)
        names = plots.available_plots(run)
        assert {"welfare", "payoffs"} <= set(names)
        for name in names:
            kept = cache.get(run_id, name, "png", version)
            assert kept is not None, name
            assert kept == plots.to_bytes(plots.run_figure(store, run_id, name)[0], "png"), name
        chart = cache.get(run_id, "series", "json", version)
        assert chart is not None
        comparison = [row.to_dict() for row in comparison_for(run["world"], run["metrics"])]
        assert json.loads(chart) == json.loads(json.dumps(welfare_series(store, run, comparison)))
    assert json.loads(chart)["steps"] == ROUNDS


def test_a_small_run_leaves_its_figures_to_be_drawn_when_asked(tmp_path):
    db = tmp_path / "agora.db"
    run_id = agora_run(db)
    cache_file = tmp_path / ("agora.db" + figure_cache.SUFFIX)
    with Store(db) as store:
        run = store.get_run(run_id)
    assert run["status"] == "finished" and run["summary"]["events"] < DRAW_AHEAD_EVENTS
    if cache_file.exists():  # nothing drawn: the file, if any, holds no figure of the run
        assert all(figure_cache.FigureCache(cache_file).get(run_id, name, "png", figure_cache.version_of(run)) is None
                   for name in plots.available_plots(run))

"""A big run's figures are drawn once, when it ends, and kept beside the store (issue 18: the run page's first load).

``simulator.draw_ahead.draw_ahead`` (called by the API's workers and `agora run`) draws every figure and the welfare chart of an ended run with at least
``DRAW_AHEAD_EVENTS`` logged events into ``<store>.figures.db`` (``simulator.figure_cache``); the plot and
chart routes then only read bytes. Checked: what is served from the cache is what drawing gives, a
process serving cached figures never imports the plotting libraries, a run stored again under its id is
drawn again, and the API's own workers draw ahead as runs end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import SHIPPED_SCENARIOS, Settings
from simulator import welfare_series as series_module
from simulator import figure_cache, plots
from simulator.draw_ahead import DRAW_AHEAD_EVENTS, draw_ahead
from simulator.run import stored_run
from simulator.scenario import read_scenario
from simulator.store import Store

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 4000  # a prisoner's dilemma logs 3 events a round: 12,000 events, above DRAW_AHEAD_EVENTS
LONG = [("world.rounds", ROUNDS), ("world.continuation", 1.0)]


def store_run(db: Path, overrides=LONG) -> str:
    loaded = read_scenario(SHIPPED_SCENARIOS / "prisoners_dilemma.yaml", overrides)
    with Store(db) as store:
        run_id, _ = stored_run(loaded.scenario, loaded.text, store, overrides=list(loaded.overrides))
    return run_id


def forget_memory() -> None:
    """What this process remembers of drawn figures and welfare readings (the disk cache stays)."""
    plots.forget_drawn()


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("figures") / "agora.db"
    return db, store_run(db)


def test_draw_ahead_keeps_every_figure_and_the_chart_and_they_are_served_from_disk(big, monkeypatch):
    db, run_id = big
    with Store(db) as store:
        run = store.get_run(run_id)
        assert run["summary"]["events"] >= DRAW_AHEAD_EVENTS
        forget_memory()
        drawn = {name: plots.to_bytes(plots.run_figure(store, run_id, name)[0], "png") for name in plots.available_plots(run)}
        chart = series_module.cached_welfare_series(store, run)  # also computes and keeps it
        assert draw_ahead(store, run_id) is True
    assert (db.parent / ("agora.db" + figure_cache.SUFFIX)).is_file()
    assert set(drawn) >= {"welfare", "payoffs"}

    forget_memory()
    def no_drawing(*args, **kwargs):
        raise AssertionError("drawn again although the figure cache has it")
    monkeypatch.setattr(plots, "run_figure", no_drawing)
    monkeypatch.setattr(series_module, "welfare_steps", no_drawing)
    app = create_app(Settings(db=db), start_pool=False)
    with TestClient(app) as client:
        for name, image in drawn.items():
            served = client.get(f"/runs/{run_id}/plots/{name}.png")
            assert served.status_code == 200 and served.headers["content-type"] == "image/png"
            assert served.content == image
        got = client.get(f"/ui/api/runs/{run_id}/series").json()
    assert got == chart
    assert got["steps"] == ROUNDS and got["points"][-1][1] == pytest.approx(run["metrics"]["welfare"])


def test_a_process_serving_cached_figures_imports_no_plotting_library(big):
    db, run_id = big
    with Store(db) as store:
        assert draw_ahead(store, run_id) is True
    script = f"""
import json, sys
from fastapi.testclient import TestClient
from api.app import create_app
from api.settings import Settings
with TestClient(create_app(Settings(db={str(db)!r}), start_pool=False)) as client:
    names = client.get("/runs/{run_id}/plots").json()["items"]
    sizes = [len(client.get(f"/runs/{run_id}/plots/{{name}}.png").content) for name in names]
    steps = client.get("/ui/api/runs/{run_id}/series").json()["steps"]
print(json.dumps({{"names": names, "sizes": sizes, "steps": steps,
                  "loaded": [m for m in ("matplotlib", "pandas", "scipy.stats") if m in sys.modules]}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert "welfare" in out["names"] and all(size > 1000 for size in out["sizes"]) and out["steps"] == ROUNDS
    assert out["loaded"] == []


def test_a_run_stored_again_under_its_id_is_drawn_again(tmp_path):
    db = tmp_path / "agora.db"
    run_id = store_run(db)
    with Store(db) as store:
        assert draw_ahead(store, run_id) is True
        first = store.get_run(run_id)
        cache = figure_cache.for_store(store)
        old = figure_cache.version_of(first)
        assert cache.get(run_id, "welfare", "png", old) is not None
        store.finish_run(run_id, "finished", {**first["metrics"], "welfare": first["metrics"]["welfare"] + 1000},
                         first["summary"])  # a later end time: a new version of the run
        again = store.get_run(run_id)
        assert figure_cache.version_of(again) != old
        assert cache.get(run_id, "welfare", "png", figure_cache.version_of(again)) is None
        forget_memory()
        chart = series_module.cached_welfare_series(store, again)
        assert chart["final"] == pytest.approx(first["metrics"]["welfare"] + 1000)


def test_small_and_unfinished_runs_are_not_drawn_ahead(tmp_path):
    db = tmp_path / "agora.db"
    small = store_run(db, overrides=[])
    with Store(db) as store:
        assert store.get_run(small)["summary"]["events"] < DRAW_AHEAD_EVENTS
        assert draw_ahead(store, small) is False
        queued = store.create_run(scenario_name="q", world="matrix_game", scenario_text="", seed=0)
        assert figure_cache.version_of(store.get_run(queued)) is None
        assert draw_ahead(store, queued) is False


def test_the_api_workers_draw_a_big_run_ahead_as_it_ends(tmp_path):
    db = tmp_path / "agora.db"
    app = create_app(Settings(db=db, api_workers=1))
    with TestClient(app) as client:
        created = client.post("/runs", json={"file": "prisoners_dilemma",
                                             "overrides": [f"world.rounds={ROUNDS}", "world.continuation=1.0"]})
        assert created.status_code == 202, created.text
        run_id = created.json()["id"]
        cache = figure_cache.FigureCache(db.parent / ("agora.db" + figure_cache.SUFFIX))
        deadline = time.monotonic() + 240
        found = None
        while time.monotonic() < deadline and found is None:
            run = client.get(f"/runs/{run_id}").json()
            version = figure_cache.version_of(run) if run["status"] not in ("queued", "running") else None
            found = version and cache.get(run_id, "series", "json", version)
            time.sleep(0.2)
        assert run["status"] == "finished", run
        assert found, "the worker did not draw the run's chart ahead"
        assert json.loads(found)["steps"] == ROUNDS
        for name in client.get(f"/runs/{run_id}/plots").json()["items"]:
            assert cache.get(run_id, name, "png", version) is not None, name

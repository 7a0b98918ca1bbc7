"""The run store on both backends (``store_target``: an SQLite file, a PostgreSQL database): runs, events,
metrics; interrupted runs are marked, earlier runs stay intact."""

import os
import signal
import subprocess
import sys
import time

import pytest

from agents.registry import register
from simulator.run import stored_run
from simulator.scenario import load_scenario, load_scenario_text
from simulator.store import RunNotFound, Store

LONG = """
world: {type: matrix_game, game: prisoners_dilemma, rounds: 10000000}
agents: {default: uniform_random}
"""


def test_a_stored_run_has_its_row_events_and_metrics(store_target):
    scenario, text = load_scenario("scenarios/prisoners_dilemma.yaml")
    with Store(store_target) as store:
        run_id, result = stored_run(scenario, text, store, seed=3)
        run = store.get_run(run_id)
        assert run["status"] == "finished" and run["seed"] == 3 and run["scenario_text"] == text
        assert run["progress"] == 1.0 and run["duration"] >= 0
        assert run["metrics"]["welfare"] == result.metrics["welfare"]
        events = store.events(run_id, limit=10_000)
        assert len(events) == result.events == store.count_events(run_id)
        assert [e["seq"] for e in events] == list(range(len(events)))
        actions = [e for e in events if e["kind"] == "action"]
        assert {e["agent"] for e in actions} == {"alice", "bob"}
        assert store.list_runs()[0]["id"] == run_id
        with pytest.raises(RunNotFound):
            store.get_run("nope")


def test_pagination_and_filters(store_target):
    scenario = load_scenario_text("world: {type: matrix_game, game: chicken, rounds: 2}\n", "chicken.yaml")
    with Store(store_target) as store:
        ids = [stored_run(scenario, "", store, seed=s)[0] for s in range(5)]
        first = store.list_runs(limit=2)
        second = store.list_runs(limit=2, before=first[-1]["order"])
        third = store.list_runs(limit=2, before=second[-1]["order"])
        assert [r["id"] for r in first + second + third] == ids[::-1]
        assert store.list_runs(world="matrix_game", status="finished", scenario="chicken", limit=10)
        assert store.list_runs(world="public_goods") == []
        with_metrics = store.list_runs(limit=10, metrics=True)  # one query for the page's metrics
        assert [r["metrics"] for r in with_metrics] == [store.get_run(i)["metrics"] for i in ids[::-1]]
        assert with_metrics[0]["metrics"]["welfare"] is not None


@register("test_explodes_after_3", worlds=["matrix_game"])
class Explodes:
    def __init__(self, params, rng):
        self.n = 0

    def act(self, observation, action_model):
        self.n += 1
        if self.n > 3:
            raise SystemExit("boom")  # not an ordinary policy fault: it escapes the fallback
        return {"action": "cooperate"}


def test_a_failing_run_is_marked_failed_and_keeps_its_events(store_target):
    scenario = load_scenario_text("world: {type: matrix_game, game: prisoners_dilemma, rounds: 10}\nagents: {default: test_explodes_after_3}\n")
    with Store(store_target) as store:
        with pytest.raises(SystemExit):
            stored_run(scenario, "", store, seed=0)
        [run] = store.list_runs()
        assert run["status"] == "failed" and "boom" in run["error"]
        assert store.count_events(run["id"]) > 0


def _start_long_run(tmp_path, db):
    path = tmp_path / "long.yaml"
    path.write_text(LONG)
    env = {**os.environ, "AGORA_DB": db}
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "run", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180  # generous: a loaded CI machine
    while time.time() < deadline:  # wait until the run has stored some events
        time.sleep(0.2)
        if proc.poll() is not None:
            raise AssertionError(f"agora run ended before its run started: {proc.stderr.read().decode()[-2000:]}")
        if db.startswith("postgresql://") or os.path.exists(db):
            with Store(db, recover=False) as store:
                running = store.list_runs(status="running")
                if running and store.count_events(running[0]["id"]) > 0:
                    return proc, running[0]["id"]
    proc.kill()
    raise AssertionError("the long run never started")


@pytest.mark.parametrize("sig, expected", [(signal.SIGKILL, "interrupted"), (signal.SIGTERM, "interrupted"), (signal.SIGINT, "interrupted")])
def test_killed_run_is_marked_interrupted_and_earlier_runs_stay_intact(tmp_path, store_target, sig, expected):
    db = store_target
    scenario, text = load_scenario("scenarios/prisoners_dilemma.yaml")
    with Store(db) as store:
        earlier, _ = stored_run(scenario, text, store, seed=1)
        before = store.get_run(earlier)
    proc, run_id = _start_long_run(tmp_path, db)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    with Store(db) as store:  # opening recovers runs whose process is gone
        run = store.get_run(run_id)
        assert run["status"] == expected
        assert run["error"]
        assert store.count_events(run_id) > 0
        assert store.get_run(earlier) == before
        assert store.integrity_check() == "ok"
    if sig != signal.SIGKILL:
        assert proc.returncode == 130 and b"interrupted" in proc.stderr.read()

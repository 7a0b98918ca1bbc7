"""Running sweeps: results match single runs, Dask matches the process pool, an interrupted sweep resumes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from simulator.run import run_scenario
from simulator.scenario import load_scenario_text
from simulator.store import Store
from simulator.sweep import export_table, load_table, run_sweep, table

from sweep_helpers import SWEEP_YAML, comparable

AGORA = str(Path(sys.executable).with_name("agora"))


def test_each_cell_is_the_single_run_of_its_scenario_and_seed(sweep_file, tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        outcome = run_sweep(sweep_file, store=store, workers=2)
        assert (outcome.n_cells, outcome.ran, outcome.skipped, outcome.failed) == (24, 24, 0, 0)
        assert store.get_sweep(outcome.sweep_id)["status"] == "finished"
        runs = store.list_runs(sweep_id=outcome.sweep_id, limit=100)
        assert len(runs) == 24 and {r["status"] for r in runs} == {"finished"}
    frame = load_table(outcome.sweep_id, db=db)
    assert len(frame) == 24
    assert {"world.rounds", "agents.bob.params.probabilities.0", "seed", "welfare", "payoffs.alice", "theory.stage_optimum_welfare"} <= set(frame.columns)
    # The oracle: the plain `agora run` code path on the same overrides and seed.
    for _, row in frame.iloc[::5].iterrows():
        overrides = [("agents.bob.params.probabilities", json.loads(row["agents.bob.params.probabilities"])),
                     ("world.rounds", int(row["world.rounds"]))]
        single = run_scenario(load_scenario_text(SWEEP_YAML, "x.yaml", overrides), int(row["seed"]))
        assert single.metrics["welfare"] == pytest.approx(row["welfare"])
        assert single.metrics["payoffs"]["bob"] == pytest.approx(row["payoffs.bob"])
    # Seeds differ between replicates, so welfare varies within a point.
    assert frame.groupby("point")["welfare"].nunique().max() > 1


def test_dask_local_cluster_gives_the_same_table_as_the_process_pool(sweep_file, tmp_path):
    with Store(tmp_path / "s.db") as store:
        pool = run_sweep(sweep_file, store=store, executor="process", workers=2)
        dask = run_sweep(sweep_file, store=store, executor="dask", workers=2, dask_processes=False)
        assert dask.ran == 24 and dask.failed == 0
        pd.testing.assert_frame_equal(comparable(table(store, pool.sweep_id)), comparable(table(store, dask.sweep_id)))


def test_table_exports_to_csv_and_parquet(sweep_file, tmp_path):
    with Store(tmp_path / "s.db") as store:
        outcome = run_sweep(sweep_file, store=store, workers=1)
        frame = table(store, outcome.sweep_id)
    csv = pd.read_csv(export_table(frame, tmp_path / "t.csv"))
    assert len(csv) == 24 and list(csv.columns) == list(frame.columns)
    assert csv["welfare"].tolist() == pytest.approx(frame["welfare"].tolist())
    parquet = pd.read_parquet(export_table(frame, tmp_path / "t.parquet"))
    assert parquet["seed"].tolist() == frame["seed"].tolist()
    assert parquet["welfare"].tolist() == pytest.approx(frame["welfare"].tolist())


SLOW_YAML = textwrap.dedent(
    """\
    name: slow_sweep
    seed: 9
    world: {type: matrix_game, game: prisoners_dilemma, players: [alice, bob], rounds: 500}
    agents: {alice: tit_for_tat, bob: {policy: mixed, params: {probabilities: [0.5, 0.5]}}}
    sweep:
      grid: {world.rounds: [500, 520, 540, 560, 580, 600]}
      seeds: 2
    """
)


def _finished(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs WHERE status='finished'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_a_killed_sweep_resumes_with_only_the_missing_cells(tmp_path):
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SLOW_YAML)
    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [AGORA, "sweep", str(scenario), "--workers", "1", "--quiet", "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _finished(db) < 4:
            assert proc.poll() is None, f"the sweep ended before it was killed: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, like kill -9 or a power cut
        proc.wait()
    done_before = _finished(db)
    assert 4 <= done_before < 12, done_before

    with Store(db) as store:
        sweep_id = store.list_sweeps()[0]["id"]
        assert store.get_sweep(sweep_id)["status"] == "interrupted"
        outcome = run_sweep(store=store, resume=sweep_id, workers=2)
        assert outcome.skipped == done_before
        assert outcome.ran == 12 - done_before  # only the missing cells
        assert outcome.status == "finished"
        runs = store.list_runs(sweep_id=sweep_id, limit=100)
        assert len(runs) == 12 and {r["status"] for r in runs} == {"finished"}
        resumed = comparable(table(store, sweep_id))
        again = run_sweep(store=store, resume=sweep_id)
        assert (again.ran, again.skipped) == (0, 12)
        fresh = run_sweep(scenario, store=store, workers=2)
        pd.testing.assert_frame_equal(resumed, comparable(table(store, fresh.sweep_id)))


def test_a_degraded_cell_counts_as_done_and_a_failed_one_runs_again(sweep_file, tmp_path):
    """Resume skips the cells in sweep.DONE: a degraded run (it finished, with fallbacks) is one, a failed run is not."""
    from concurrent.futures import ThreadPoolExecutor

    with Store(tmp_path / "s.db") as store, ThreadPoolExecutor(2) as pool:
        sweep_id = run_sweep(sweep_file, store=store, executor=pool).sweep_id
        degraded, failed = (run["id"] for run in store.list_runs(sweep_id=sweep_id, limit=2))
        with sqlite3.connect(tmp_path / "s.db") as conn:
            conn.execute("UPDATE runs SET status='degraded' WHERE id=?", (degraded,))
            conn.execute("UPDATE runs SET status='failed' WHERE id=?", (failed,))
        store.set_sweep_status(sweep_id, "interrupted")
        again = run_sweep(store=store, resume=sweep_id, executor=pool)
        assert (again.ran, again.skipped, again.failed) == (1, 23, 0)
        statuses = {run["id"]: run["status"] for run in store.list_runs(sweep_id=sweep_id, limit=100)}
        assert statuses[degraded] == "degraded" and statuses[failed] == "finished"
        assert set(table(store, sweep_id)["status"]) == {"finished", "degraded"}


def test_a_cell_stopped_by_a_limit_is_not_done_and_the_sweep_is_not_finished(sweep_file, tmp_path):
    """A cell that ended without a result (the API's per-run limits: limit_exceeded) counts against the sweep."""
    from concurrent.futures import ThreadPoolExecutor

    from simulator.sweep import plan_sweep, run_cell

    def stopped_first_cell(text, source, name, params, seed, keep_events, **kwargs):
        outcome = run_cell(text, source, name, params, seed, keep_events, **kwargs)
        if seed == first_seed and params == first_params:
            outcome["status"] = "limit_exceeded"
        return outcome

    class LimitingPool(ThreadPoolExecutor):  # stands in for the API's pool, whose limits stop a run
        def submit(self, fn, *args, **kwargs):
            return super().submit(stopped_first_cell, *args, **kwargs)

    first = plan_sweep(sweep_file).cells[0]
    first_seed, first_params = first["seed"], first["params"]
    with Store(tmp_path / "s.db") as store, LimitingPool(2) as pool:
        outcome = run_sweep(sweep_file, store=store, executor=pool)
        assert (outcome.ran, outcome.failed, outcome.status) == (24, 1, "failed")
        assert store.get_sweep(outcome.sweep_id)["runs"].get("limit_exceeded") == 1
        with ThreadPoolExecutor(1) as plain:
            again = run_sweep(store=store, resume=outcome.sweep_id, executor=plain)
        assert (again.ran, again.skipped, again.failed, again.status) == (1, 23, 0, "finished")


def test_list_and_random_points_become_table_columns(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    text = textwrap.dedent(
        """\
        seed: 1
        world: {type: matrix_game, game: prisoners_dilemma, rounds: 5}
        sweep:
          list:
            - {world.game: prisoners_dilemma}
            - {world.game: stag_hunt}
          random:
            samples: 3
            params:
              world.rounds: {integers: [2, 9]}
          seeds: 2
        """
    )
    with Store(tmp_path / "s.db") as store, ThreadPoolExecutor(2) as pool:
        outcome = run_sweep(text=text, store=store, executor=pool)
        frame = table(store, outcome.sweep_id)
        cells = store.get_sweep(outcome.sweep_id)["cells"]
    assert len(frame) == len(cells) == 2 * 3 * 2
    for row, cell in zip(frame.to_dict("records"), cells):
        assert row["world.game"] == cell["params"]["world.game"]
        assert row["world.rounds"] == cell["params"]["world.rounds"]
        assert 2 <= row["world.rounds"] <= 9
        assert row["measures.rounds"] == row["world.rounds"]  # the world really played the drawn number of rounds

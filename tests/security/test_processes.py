"""Every child process dies with the server (kill -9 and SIGTERM), during runs and during sweeps;
sweeps share the run workers and ``DELETE /sweeps/{id}`` stops one."""

from __future__ import annotations

import time

import httpx
import pytest

from simulator.store import Store
from tests.security.conftest import alive, descendants
from tests.serve import Server

LONG_RUNS = {"AGORA_MAX_ROUNDS": "10000000"}
LONG = ["world.rounds=10000000", "world.continuation=1", "run.record_events=false"]
# A sweep whose cells each take a while: 12 replicates of a 100,000-round game without an event log.
SWEEP = {"name": "slow_sweep", "seed": 1,
         "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["a", "b"], "rounds": 100_000, "continuation": 1},
         "agents": {"a": "tit_for_tat", "b": "win_stay_lose_shift"}, "run": {"record_events": False},
         "sweep": {"grid": {"world.game": ["prisoners_dilemma", "stag_hunt"]}, "seeds": 6}}


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout}s")


def survivors(pids: set[int], timeout: float = 20) -> set[int]:
    """The processes of ``pids`` still alive after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {pid for pid in pids if alive(pid)}
        if not left:
            return set()
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}


def busy(api: httpx.Client, n: int) -> bool:
    return api.get("/health").json()["running"] >= n


@pytest.mark.parametrize("stop", ["kill9", "sigterm"])
def test_no_orphans_after_the_server_dies_during_runs(tmp_path, stop):
    server = Server(tmp_path / "agora.db", workers=2, env=LONG_RUNS).start(timeout=60)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            ids = [api.post("/runs", json={"file": "prisoners_dilemma", "overrides": LONG}).json()["id"] for _ in range(3)]
            wait_for(lambda: busy(api, 2), what="two runs running")
            api.post("/solve", json={"game": {"A": [[2, 0], [0, 1]], "B": [[1, 0], [0, 2]]}})  # a solver process too
        children = descendants(server.process.pid)
        assert len(children) >= 3, children  # two run workers and a solver at least
        server.kill9() if stop == "kill9" else server.stop()
        assert survivors(children) == set()
    finally:
        server.stop()
    with Store(tmp_path / "agora.db") as store:  # opening it recovers the killed server's runs
        assert store.integrity_check() == "ok"
        assert {store.get_run(i)["status"] for i in ids} <= {"interrupted"}


@pytest.mark.parametrize("stop", ["kill9", "sigterm"])
def test_no_orphans_after_the_server_dies_during_a_sweep(tmp_path, stop):
    server = Server(tmp_path / "agora.db", workers=2).start(timeout=60)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            response = api.post("/sweeps", json={"scenario": SWEEP})
            assert response.status_code == 202, response.text
            sweep_id = response.json()["id"]
            wait_for(lambda: busy(api, 2), what="two cells running")
            assert api.get("/health").json()["running"] == 2  # the sweep uses the server's two workers, no more
        children = descendants(server.process.pid)
        assert 2 <= len(children) <= 4, children  # the run workers (and multiprocessing's resource tracker), no sweep pool
        server.kill9() if stop == "kill9" else server.stop()
        assert survivors(children) == set()
    finally:
        server.stop()
    with Store(tmp_path / "agora.db") as store:
        assert store.integrity_check() == "ok"
        sweep = store.get_sweep(sweep_id)
        assert sweep["runs"].get("finished", 0) < sweep["n_cells"]


def test_delete_a_sweep_and_runs_go_on(tmp_path):
    server = Server(tmp_path / "agora.db", workers=2).start(timeout=60)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as api:
            sweep_id = api.post("/sweeps", json={"scenario": SWEEP, "workers": 1}).json()["id"]
            wait_for(lambda: busy(api, 1), what="a cell running")
            assert api.get("/health").json()["running"] == 1  # workers: 1 caps this sweep at one cell at a time
            run = api.post("/runs", json={"file": "prisoners_dilemma"}).json()  # the other worker is free for runs
            wait_for(lambda: api.get(f"/runs/{run['id']}").json()["status"] == "finished", what="the run finished")
            response = api.delete(f"/sweeps/{sweep_id}")
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "cancelled" and response.json()["done"] < response.json()["n_cells"]
            wait_for(lambda: api.get("/health").json()["running"] == 0, what="no cell running")
            assert api.delete(f"/sweeps/{sweep_id}").status_code == 409
            again = api.post("/runs", json={"file": "prisoners_dilemma"}).json()
            wait_for(lambda: api.get(f"/runs/{again['id']}").json()["status"] == "finished", what="a run after the cancel")
    finally:
        server.stop()

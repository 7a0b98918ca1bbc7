"""The API as a real ``agora serve`` (uvicorn) process on 127.0.0.1: every world end to end, CLI parity,
200 concurrent runs, and kill -9 durability."""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.api.conftest import AGORA, SCENARIO_FILES, SMALL, WORLD_SCENARIOS, Server, read_sse, wait_until_ended
from typer.testing import CliRunner

from simulator.cli import app as cli_app
from simulator.store import Store

LONG = ["world.rounds=10000000", "world.continuation=1", "run.record_events=false"]
LONG_RUNS = {"AGORA_MAX_ROUNDS": "10000000"}  # the API's default limit is 100,000 rounds


def plain(value):
    """JSON as the API sends it: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("path", WORLD_SCENARIOS.values(), ids=list(WORLD_SCENARIOS))
def test_each_world_submit_stream_results_matches_cli(path, http, tmp_path):
    """Every world that ships a scenario: submit -> stream -> results, and the same metrics as `agora run`."""
    response = http.post("/runs", json={"scenario": path.read_text(), "seed": 4, "overrides": SMALL})
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    with http.stream("GET", f"{location}/stream") as stream:
        messages = read_sse(stream.iter_lines())
    kinds = [kind for kind, _ in messages]
    assert "progress" in kinds and kinds[-1] == "end" and kinds.count("end") == 1
    end = messages[-1][1]
    assert end["status"] == "finished", end["error"]
    streamed = [data for kind, data in messages if kind == "event"]
    assert len(streamed) == http.get(f"{location}/events", params={"limit": 5000}).json()["items"].__len__()
    api_run = http.get(location).json()
    assert api_run["metrics"] == end["metrics"] and api_run["metrics"]["payoffs"]

    result = CliRunner().invoke(
        cli_app, ["run", str(path), "--seed", "4", *sum((["--set", s] for s in SMALL), []), "--json", "--db", str(tmp_path / "cli.db")]
    )
    assert result.exit_code == 0, result.output
    cli_run = json.loads(result.stdout)
    assert plain(cli_run["metrics"]) == api_run["metrics"]
    assert cli_run["summary"]["events"] == api_run["summary"]["events"]


def test_console_script_and_api_agree(http, tmp_path):
    """The real `agora run` process, not just its function, gives the API's metrics."""
    path = SCENARIO_FILES[0].parent / "prisoners_dilemma.yaml"
    out = subprocess.run(
        [AGORA, "run", str(path), "--seed", "99", "--json", "--db", str(tmp_path / "cli.db")],
        capture_output=True, text=True, timeout=60, check=True,
    )
    run = http.post("/runs", json={"file": "prisoners_dilemma", "seed": 99}).json()
    assert plain(json.loads(out.stdout)["metrics"]) == wait_until_ended(http, run["id"])["metrics"]


def test_200_runs_from_50_concurrent_clients_all_complete(server):
    def client_job(index: int) -> list[str]:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            ids = []
            for k in range(4):
                r = c.post("/runs", json={"file": "prisoners_dilemma", "seed": index * 4 + k, "name": "load200"})
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
            return ids

    with ThreadPoolExecutor(50) as pool:
        submitted = sum(pool.map(client_job, range(50)), [])
    assert len(submitted) == 200 and len(set(submitted)) == 200
    with httpx.Client(base_url=server.url, timeout=30) as c:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            health = c.get("/health").json()
            if health["queued"] == 0 and health["running"] == 0:
                break
            time.sleep(0.2)
        listed, cursor = [], None
        while True:
            page = c.get("/runs", params={"scenario": "load200", "limit": 200} | ({"cursor": cursor} if cursor else {})).json()
            listed += page["items"]
            if not (cursor := page["next_cursor"]):
                break
    assert sorted(r["id"] for r in listed) == sorted(submitted)  # none lost, none duplicated
    assert {r["status"] for r in listed} == {"finished"}
    assert sorted(r["seed"] for r in listed) == list(range(200))


def test_kill_9_then_restart(tmp_path):
    db = tmp_path / "agora.db"
    server = Server(db, workers=1, env=LONG_RUNS).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            done = [c.post("/runs", json={"file": "prisoners_dilemma", "seed": s}).json()["id"] for s in range(3)]
            before = {run_id: wait_until_ended(c, run_id) for run_id in done}
            assert {r["status"] for r in before.values()} == {"finished"}
            long = [c.post("/runs", json={"file": "prisoners_dilemma", "overrides": LONG}).json()["id"]]
            queued = [c.post("/runs", json={"file": "prisoners_dilemma", "overrides": LONG}).json()["id"] for _ in range(2)]
            deadline = time.monotonic() + 30
            while {c.get(f"/runs/{i}").json()["status"] for i in long} != {"running"}:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with Store(db, recover=False) as store:
            worker_pids = {store.get_run(i)["pid"] for i in long}
        assert server.process.pid not in worker_pids and len(worker_pids) == 1
        server.kill9()
    finally:
        server.stop()
    deadline = time.monotonic() + 10  # the workers die with the server (PR_SET_PDEATHSIG)
    while any(_alive(pid) for pid in worker_pids):
        assert time.monotonic() < deadline, "worker processes outlived the killed server"
        time.sleep(0.05)

    restarted = Server(db, workers=1, env=LONG_RUNS).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as c:
            for run_id, run in before.items():
                assert c.get(f"/runs/{run_id}").json() | {"scenario_text": None} == run | {"scenario_text": None}
            for run_id in long + queued:
                run = c.get(f"/runs/{run_id}").json()
                assert run["status"] == "interrupted", run
                assert "stopped before it finished" in run["error"]
            fresh = c.post("/runs", json={"file": "prisoners_dilemma", "seed": 1}).json()["id"]
            assert wait_until_ended(c, fresh)["status"] == "finished"
            # a graceful stop (SIGTERM) marks what it abandons at once
            last = c.post("/runs", json={"file": "prisoners_dilemma", "overrides": LONG}).json()["id"]
            deadline = time.monotonic() + 30
            while c.get(f"/runs/{last}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        restarted.stop()
    with Store(db, recover=False) as store:
        assert store.integrity_check() == "ok"
        statuses = {r["id"]: r["status"] for r in store.list_runs(limit=100)}
        assert "server stopped while the run was executing" in store.get_run(last)["error"]
    assert statuses == {**{i: "finished" for i in done + [fresh]}, **{i: "interrupted" for i in long + queued + [last]}}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0): look at its state
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
    return True

"""Runs through the in-process app (TestClient) with a real 2-process worker pool."""

from __future__ import annotations

import os
import signal
import time

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import SHIPPED_SCENARIOS, Settings
from tests.api.conftest import read_sse, wait_until_ended
from tests.serve import silent_listener

from simulator.store import Store

LONG = ["world.rounds=10000000", "world.continuation=1", "run.record_events=false"]


def submit(client, **body) -> dict:
    response = client.post("/runs", json=body)
    assert response.status_code == 202, response.text
    run = response.json()
    assert response.headers["location"] == f"/runs/{run['id']}"
    assert run["status"] == "queued"
    return run


def wait_running(client, run_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] == "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never started: {run}")


def test_submit_stream_results(client):
    run = submit(client, file="prisoners_dilemma", seed=11)
    with client.stream("GET", f"/runs/{run['id']}/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        messages = read_sse(stream.iter_lines())
    kinds = [kind for kind, _ in messages]
    assert kinds[0] == "progress" and kinds[-1] == "end"
    end = messages[-1][1]
    assert end["status"] == "finished" and end["progress"] == 1.0
    events = [data for kind, data in messages if kind == "event"]
    assert [e["seq"] for e in events] == list(range(end["summary"]["events"]))
    stored = client.get(f"/runs/{run['id']}").json()
    assert stored["metrics"] == end["metrics"] and stored["metrics"]["welfare"] == sum(stored["metrics"]["payoffs"].values())
    assert stored["duration"] is not None and stored["queued_seconds"] is not None
    assert stored["scenario_text"].startswith("# The iterated Prisoner's Dilemma")
    # resuming a stream after the last event sends no events again
    with client.stream("GET", f"/runs/{run['id']}/stream?after={events[-1]['seq']}") as stream:
        again = read_sse(stream.iter_lines())
    assert [k for k, _ in again] == ["progress", "end"]
    headers = {"Last-Event-ID": str(events[-3]["seq"])}  # an EventSource reconnecting
    with client.stream("GET", f"/runs/{run['id']}/stream", headers=headers) as stream:
        resumed = read_sse(stream.iter_lines())
    assert [d["seq"] for k, d in resumed if k == "event"] == [e["seq"] for e in events[-2:]]


def test_a_run_executed_by_another_process_is_not_cancelled_here(client, db_path):
    store = Store(db_path, recover=False)
    run_id = store.create_run(scenario_name="elsewhere", world="matrix_game", scenario_text="{}", seed=0)  # this process
    response = client.delete(f"/runs/{run_id}")
    assert response.status_code == 409 and response.json()["type"] == "urn:agora:problem:run-not-owned"
    assert f"pid {os.getpid()}" in response.json()["detail"]
    assert client.get(f"/runs/{run_id}").json()["status"] == "running"
    store.fail_run(run_id, "failed", "test over")


def test_events_are_paginated(client):
    run = wait_until_ended(client, submit(client, file="prisoners_dilemma", seed=2)["id"])
    seen, after = [], -1
    while True:
        page = client.get(f"/runs/{run['id']}/events", params={"after": after, "limit": 7}).json()
        seen += page["items"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert [e["seq"] for e in seen] == list(range(run["summary"]["events"]))
    assert {e["kind"] for e in seen} >= {"action"}


def test_list_runs_cursor_pagination_and_filters(client):
    ids = [submit(client, file="prisoners_dilemma", seed=s, name="paging")["id"] for s in range(5)]
    for run_id in ids:
        wait_until_ended(client, run_id)
    pages, cursor = [], None
    while True:
        params = {"scenario": "paging", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/runs", params=params).json()
        pages.append([r["id"] for r in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == ids[::-1]  # newest first, none twice, none missing
    finished = client.get("/runs", params={"scenario": "paging", "status": "finished", "world": "matrix_game"}).json()
    assert {r["id"] for r in finished["items"]} == set(ids)
    assert client.get("/runs", params={"scenario": "paging", "world": "off_switch"}).json()["items"] == []


def test_cancel_queued_and_running_runs(client):
    a = submit(client, file="prisoners_dilemma", overrides=LONG)
    b = submit(client, file="prisoners_dilemma", overrides=LONG)
    wait_running(client, a["id"])
    wait_running(client, b["id"])
    c = submit(client, file="prisoners_dilemma", overrides=LONG)  # both workers busy: c waits
    assert client.get("/health").json()["queued"] == 1

    response = client.delete(f"/runs/{c['id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["started_at"] is None

    response = client.delete(f"/runs/{a['id']}")
    assert response.status_code in (200, 202), response.text  # 202: not stopped within 2 s (a loaded machine)
    run = wait_until_ended(client, a["id"])
    assert run["status"] == "cancelled" and run["error"] is None  # stopped by itself, not killed
    assert run["summary"]["reason"] == "cancelled by DELETE /runs/{id}"
    assert run["summary"]["counters"]["decisions"] > 0  # it really ran, and stopped part-way
    assert run["metrics"]["measures"]["rounds"] < 10_000_000

    response = client.delete(f"/runs/{a['id']}")
    assert response.status_code == 409 and "already cancelled" in response.json()["detail"]
    assert client.delete(f"/runs/{b['id']}").status_code in (200, 202)
    assert wait_until_ended(client, b["id"])["status"] == "cancelled"
    # the workers are free again
    assert wait_until_ended(client, submit(client, file="prisoners_dilemma")["id"])["status"] == "finished"


def test_a_worker_that_dies_fails_its_run_and_is_replaced(client, db_path):
    run = submit(client, file="prisoners_dilemma", overrides=LONG)
    pid = wait_running(client, run["id"]) and Store(db_path, recover=False).get_run(run["id"])["pid"]
    assert pid != os.getpid()  # executed in a worker process, not the server
    os.kill(pid, signal.SIGKILL)
    ended = wait_until_ended(client, run["id"])
    assert ended["status"] == "failed" and "worker process died" in ended["error"]
    for _ in range(3):  # the pool is back at full strength
        assert wait_until_ended(client, submit(client, file="prisoners_dilemma")["id"])["status"] == "finished"
    assert client.get("/health").json() | {"version": None} == {
        "status": "ok", "version": None, "workers": 2, "queued": 0, "running": 0,
    }


def test_scenarios_listing_and_validation(client):
    listed = {s["name"]: s for s in client.get("/scenarios").json()}
    assert "prisoners_dilemma" in listed and listed["prisoners_dilemma"]["world"] == "matrix_game"
    assert all(s["valid"] for s in listed.values()), [s["problems"] for s in listed.values() if not s["valid"]]
    detail = client.get("/scenarios/prisoners_dilemma").json()
    assert "tit_for_tat" in detail["text"]
    ok = client.post("/scenarios/validate", json={"scenario": detail["text"]}).json()
    assert ok == {"valid": True, "name": "prisoners_dilemma", "world": "matrix_game", "problems": [], "warnings": []}
    unseated = client.post("/scenarios/validate", json={"scenario": detail["text"].replace("  alice: tit_for_tat\n", "")}).json()
    assert unseated["valid"] is True
    (warning,) = unseated["warnings"]
    assert warning["path"] == "agents" and "alice" in warning["message"] and "'uniform_random'" in warning["message"]
    bad = client.post("/scenarios/validate", json={"scenario": detail["text"].replace("rounds: 50", "rounds: many")}).json()
    assert bad["valid"] is False
    (problem,) = bad["problems"]
    assert problem["path"] == "world.rounds" and problem["line"] == 10


def test_scenario_listing_checks_a_file_again_only_when_it_changes(tmp_path, monkeypatch):
    """GET /scenarios validates each shipped file once, then answers from the cache until the file changes."""
    from api import services

    shipped = SHIPPED_SCENARIOS / "prisoners_dilemma.yaml"
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(shipped.read_text())
    checked: list[str] = []
    check = services.check_scenario_file
    monkeypatch.setattr(services, "check_scenario_file", lambda path, text: checked.append(path.name) or check(path, text))
    app = create_app(Settings(db=tmp_path / "agora.db", scenarios=tmp_path), start_pool=False)
    with TestClient(app) as c:
        first = c.get("/scenarios").json()
        assert sorted(checked) == ["a.yaml", "b.yaml"] and all(s["valid"] for s in first)
        assert c.get("/scenarios").json() == first and len(checked) == 2  # answered from the cache
        assert "tit_for_tat" in c.get("/scenarios/a").json()["text"] and len(checked) == 2
        edited = tmp_path / "b.yaml"
        edited.write_text(shipped.read_text().replace("rounds: 50", "rounds: many"))
        stat = edited.stat()  # a later modification time even on a coarse clock
        os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        listed = {s["name"]: s for s in c.get("/scenarios").json()}
        assert checked[2:] == ["b.yaml"]
        assert listed["a"]["valid"] and not listed["b"]["valid"]
        assert [p["path"] for p in listed["b"]["problems"]] == ["world.rounds"]
        assert "rounds: many" in c.get("/scenarios/b").json()["text"]


def test_plots_are_drawn_by_simulator_plots(client, db_path):
    import io

    import matplotlib.image

    from simulator.plots import plot_run

    run = wait_until_ended(client, submit(client, file="prisoners_dilemma", seed=8)["id"])
    names = client.get(f"/runs/{run['id']}/plots").json()["items"]
    assert {"welfare", "payoffs"} <= set(names)
    png = client.get(f"/runs/{run['id']}/plots/payoffs.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content == plot_run(Store(db_path, recover=False), run["id"], "payoffs", "png")
    height, width, _ = matplotlib.image.imread(io.BytesIO(png.content), format="png").shape
    assert width > 100 and height > 100
    svg = client.get(f"/runs/{run['id']}/plots/welfare.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    missing = client.get(f"/runs/{run['id']}/plots/nonsense.png")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert "available: welfare, payoffs" in missing.json()["detail"]
    assert client.get(f"/runs/{run['id']}/plots/payoffs.gif").status_code == 422


def test_a_run_stuck_in_a_policy_call_is_killed_after_the_grace_period(client, monkeypatch):
    """An LLM seat waiting on an endpoint that never answers cannot poll for the cancel: its worker is killed."""
    with silent_listener() as (port, held):
        monkeypatch.setattr(client.app.state.settings, "llm_endpoints", (f"http://127.0.0.1:{port}/v1",))  # allow it
        scenario = {
            "name": "stuck_llm",
            "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["alice", "bob"], "rounds": 5},
            "agents": {"default": "llm"},
            "llm": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "cache": "off", "timeout": 120, "max_retries": 0},
        }
        run = submit(client, scenario=scenario)
        wait_running(client, run["id"])
        deadline = time.monotonic() + 20
        while not held:  # the policy is now blocked in its HTTP call
            assert time.monotonic() < deadline
            time.sleep(0.05)
        response = client.delete(f"/runs/{run['id']}")
        assert response.status_code == 202 and response.json()["status"] == "running"  # not stopped within 2 s
        ended = wait_until_ended(client, run["id"], timeout=20)
        assert ended["status"] == "cancelled" and "worker was killed" in ended["error"]
    assert wait_until_ended(client, submit(client, file="prisoners_dilemma")["id"])["status"] == "finished"


def test_stream_is_live_and_ends_when_the_run_is_cancelled(client):
    import threading

    run = submit(client, file="prisoners_dilemma", overrides=LONG)
    wait_running(client, run["id"])
    canceller = threading.Timer(1.5, lambda: client.delete(f"/runs/{run['id']}"))
    canceller.start()
    try:
        with client.stream("GET", f"/runs/{run['id']}/stream") as stream:
            messages = read_sse(stream.iter_lines())
    finally:
        canceller.join()
    running = [data["progress"] for kind, data in messages if kind == "progress" and data["status"] == "running"]
    assert len(running) >= 2 and running == sorted(running) and 0 < running[-1] < 1
    assert messages[-1][0] == "end" and messages[-1][1]["status"] == "cancelled"

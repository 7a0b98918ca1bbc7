"""Event log filters and keyset paging (store and API), the streamed CSV, run lists without sweep cells,
full ids in pipes, and the web page's data routes (series, comparison, world help).

The oracle for every filtered answer is the unfiltered log, filtered here in Python; the CSV is checked
against the JSON pages; the blank scenarios against ``agora validate``'s own check.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest

from simulator.store import Store
from tests.api.conftest import AGORA, wait_until_ended

LOG = [  # (seq, t, agent, kind, data)
    (i, float(i // 3), ["alice", "bob", None][i % 3], ["action", "action", "payoff"][i % 3],
     {"payoffs": [1, 2]} if i % 3 == 2 else {"action": "c" if i % 2 else "d", "i": i})
    for i in range(2500)
]


@pytest.fixture(scope="module")
def logged(db_path) -> str:
    with Store(db_path) as store:
        run_id = store.create_run(scenario_name="logged", world="matrix_game", scenario_text="name: logged\n", seed=3)
        store.append_events(run_id, LOG)
        store.finish_run(run_id, "finished", {"welfare": 2500.0, "payoffs": {"alice": 1.0, "bob": 2.0}}, {"events": len(LOG)})
    return run_id


def as_dicts(rows) -> list[dict]:
    return [{"seq": s, "t": t, "agent": a, "kind": k, "data": d} for s, t, a, k, d in rows]


def test_store_filters_and_keyset_pages_cover_the_whole_log(db_path, logged):
    with Store(db_path) as store:
        every = list(store.iter_events(logged, page=700))
        assert every == as_dicts(LOG)  # no cap: 2,500 events in pages of 700
        want = as_dicts([e for e in LOG if e[2] == "bob" and 10 <= e[1] <= 200])
        pages, after = [], -1
        while True:
            page = store.events(logged, after=after, limit=64, agents=["bob"], t_min=10, t_max=200)
            pages += page
            if len(page) < 64:
                break
            after = page[-1]["seq"]
        assert pages == want and len(want) > 64
        assert store.count_events(logged, agents=["bob"], t_min=10, t_max=200) == len(want)
        assert store.count_events(logged, kinds=["payoff"]) == sum(e[3] == "payoff" for e in LOG)
        assert store.events(logged, kinds=["payoff", "action"], agents=["alice"], limit=10**6) == as_dicts([e for e in LOG if e[2] == "alice"])
        assert store.event_kinds(logged) == {"action": 1667, "payoff": 833}
        assert store.event_span(logged) == {"events": 2500, "agents": 2, "t_min": 0.0, "t_max": 833.0}


def test_api_events_filters_pages_and_counts(client, logged):
    want = as_dicts([e for e in LOG if e[2] in ("alice", "bob") and e[3] == "action" and e[1] >= 500])
    got, after = [], -1
    while after is not None:
        page = client.get(f"/runs/{logged}/events", params={"agent": ["alice", "bob"], "kind": "action", "t_min": 500,
                                                             "after": after, "limit": 100, "count": True}).json()
        assert page["matched"] == len(want)
        got += page["items"]
        after = page["next_after"]
    assert got == want
    summary = client.get(f"/runs/{logged}/events/summary").json()
    assert summary["kinds"] == {"action": 1667, "payoff": 833} and summary["events"] == 2500
    bad = client.get(f"/runs/{logged}/events", params={"t_min": "nan"})
    assert bad.status_code == 422
    assert client.get("/runs/nope/events/summary").status_code == 404


def test_events_csv_streams_every_matching_event(client, logged):
    response = client.get(f"/runs/{logged}/events.csv", params={"kind": "action"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    want = as_dicts([e for e in LOG if e[3] == "action"])
    assert len(rows) == len(want) > 1000  # past the old 1,000-row page
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in want]
    assert [json.loads(r["data"]) for r in rows] == [e["data"] for e in want]
    assert [r["agent"] or None for r in rows] == [e["agent"] for e in want]
    empty = client.get(f"/runs/{logged}/events.csv", params={"agent": "nobody"}).text
    assert empty.strip() == "seq,t,agent,kind,data"


def test_runs_of_sweeps_are_hidden_from_lists_unless_asked_and_ids_are_whole_in_pipes(client, db_path):
    with Store(db_path) as store:
        own = store.create_run(scenario_name="by_hand", world="matrix_game", scenario_text="name: by_hand\n", seed=1, status="finished")
        cells = [store.create_run(scenario_name="swept", world="matrix_game", scenario_text="name: swept\n", seed=i,
                                  status="finished", sweep_id="sw_listed", run_id=f"sw_listed-{i:04d}-a-long-run-id-{'x' * 30}")
                 for i in range(3)]
    listed = {r["id"] for r in client.get("/runs", params={"limit": 200}).json()["items"]}
    assert own in listed and not listed & set(cells)
    every = {r["id"] for r in client.get("/runs", params={"limit": 200, "include_sweep_cells": True}).json()["items"]}
    assert {own, *cells} <= every
    # paging without sweep cells: pages of 1 reach the same runs as one page
    seen, cursor = [], None
    while True:
        page = client.get("/runs", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(seen) == listed and len(seen) == len(listed)

    env = {"AGORA_DB": str(db_path), "PATH": "/usr/bin:/bin"}
    plain = subprocess.run([AGORA, "runs", "list", "--limit", "500"], capture_output=True, text=True, env=env, timeout=120)
    assert plain.returncode == 0, plain.stderr
    lines = [line.split("\t") for line in plain.stdout.splitlines()]
    assert lines[0][0] == "run" and own in {line[0] for line in lines[1:]}
    assert not {line[0] for line in lines} & set(cells)
    every_line = subprocess.run([AGORA, "runs", "list", "--all", "--limit", "500"], capture_output=True, text=True, env=env, timeout=120)
    ids = {line.split("\t")[0] for line in every_line.stdout.splitlines()[1:]}
    assert set(cells) <= ids  # whole 59-character ids in a pipe


def test_sweeps_list_prints_whole_ids_in_a_pipe(db_path):
    sweep_id = "sw" + "0123456789abcdef" * 3
    with Store(db_path) as store:
        store.create_sweep(sweep_id=sweep_id, scenario_name="piped", world="matrix_game", source="x.yaml",
                           scenario_text="name: piped\n", spec={"grid": {}}, cells=[])
    out = subprocess.run([AGORA, "sweeps", "list"], capture_output=True, text=True,
                         env={"AGORA_DB": str(db_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sweep_id in [line.split("\t")[0] for line in out.stdout.splitlines()]


def test_series_compare_and_world_help(client):
    first = client.post("/runs", json={"file": "prisoners_dilemma", "seed": 1}).json()["id"]
    second = client.post("/runs", json={"file": "prisoners_dilemma", "seed": 2, "overrides": ["world.rounds=9"]}).json()["id"]
    a, b = (wait_until_ended(client, run_id) for run_id in (first, second))
    series = client.get(f"/ui/api/runs/{first}/series").json()
    events = client.get(f"/runs/{first}/events", params={"limit": 5000}).json()["items"]
    steps = [e for e in events if isinstance(e["data"].get("payoffs"), (list, dict))]
    assert series["steps"] == len(steps) == len(series["points"])
    assert series["points"][-1][1] == pytest.approx(a["metrics"]["welfare"])  # the curve ends at the run's welfare
    assert [p[0] for p in series["points"]] == [e["t"] for e in steps]
    assert series["theory"]  # the stage game's benchmarks, times the rounds played

    compared = client.get("/ui/api/compare", params={"ids": [first, second]}).json()
    differing = {row["path"]: row["values"] for row in compared["parameters"] if row["differs"]}
    assert differing == {"seed": [1, 2], "world.rounds": [50, 9]}  # prisoners_dilemma.yaml has rounds: 50
    welfare = next(m["values"] for m in compared["metrics"] if m["path"] == "welfare")
    assert welfare == [a["metrics"]["welfare"], b["metrics"]["welfare"]]
    assert client.get("/ui/api/compare", params={"ids": [first]}).status_code == 422
    assert client.get("/ui/api/compare", params={"ids": [first, "no/such"]}).status_code == 422

    for world in client.get("/ui/api/worlds").json():
        help_ = client.get(f"/ui/api/worlds/{world['name']}").json()
        assert help_["fields"] and help_["world"] == world["name"]
        check = client.post("/scenarios/validate", json={"scenario": help_["blank"]}).json()
        assert check["valid"], (world["name"], check["problems"])  # every blank scenario is a valid start
        assert check["world"] == world["name"]
    assert client.get("/ui/api/worlds/no_such_world").status_code == 404

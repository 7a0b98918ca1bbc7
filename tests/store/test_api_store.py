"""The API on both store backends (in-process app, its run pool started): submit, list with metrics and
cursors, events, transcripts' route, cancel a queued and a running run, health."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.serve import wait_until_ended

LONG = ["world.rounds=10000000", "world.continuation=1.0"]


@pytest.fixture
def client(store_target):
    app = create_app(Settings(db=store_target, api_workers=2, api_cancel_grace=3.0, max_rounds=10**7, server_lease=5.0))
    with TestClient(app) as c:
        yield c


def _submit(client, **body) -> dict:
    response = client.post("/runs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def _wait_status(client, run_id: str, status: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] == status:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never became {status}: {run}")


def test_runs_through_the_api_on_both_backends(client):
    ids = [_submit(client, file="prisoners_dilemma", seed=s, name="both")["id"] for s in range(3)]
    finished = [wait_until_ended(client, run_id) for run_id in ids]
    assert {r["status"] for r in finished} == {"finished"}
    page = client.get("/runs", params={"scenario": "both", "limit": 2}).json()
    rest = client.get("/runs", params={"scenario": "both", "limit": 2, "cursor": page["next_cursor"]}).json()
    assert [r["id"] for r in page["items"] + rest["items"]] == ids[::-1] and rest["next_cursor"] is None
    by_id = {r["id"]: r for r in finished}
    for item in page["items"] + rest["items"]:  # the listing's metrics are the run's own
        assert item["metrics"] == by_id[item["id"]]["metrics"] and item["metrics"]["welfare"] is not None
    events = client.get(f"/runs/{ids[0]}/events", params={"limit": 5}).json()
    assert [e["seq"] for e in events["items"]] == list(range(5))
    assert client.get("/health").json()["status"] == "ok"


def test_cancel_queued_and_running_on_both_backends(client):
    a = _submit(client, file="prisoners_dilemma", overrides=LONG)
    b = _submit(client, file="prisoners_dilemma", overrides=LONG)
    _wait_status(client, a["id"], "running")
    _wait_status(client, b["id"], "running")
    c = _submit(client, file="prisoners_dilemma", overrides=LONG)  # both workers busy: c waits
    response = client.delete(f"/runs/{c['id']}")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    for run in (a, b):
        response = client.delete(f"/runs/{run['id']}")
        assert response.status_code in (200, 202)
        ended = _wait_status(client, run["id"], "cancelled")
        assert ended["summary"]["events"] > 0

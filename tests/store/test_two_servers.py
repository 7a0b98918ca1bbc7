"""Two ``agora serve`` processes on one PostgreSQL database (loopback only, bounded in count and time).

- 200 runs submitted across both servers by 50 client threads: every run is stored, ends ``finished``
  and is executed once (claimed by one server; its event log has each sequence number once).
- A cancel sent to one server stops a run that the other server executes.
- ``kill -9`` of one server mid-run: the other marks that server's runs ``interrupted`` once, after the
  lease (``AGORA_SERVER_LEASE``) runs out; its own runs go on.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from simulator.store import Store
from tests.serve import Server

SMALL = "world: {type: matrix_game, game: prisoners_dilemma, rounds: 5}\nagents: {default: tit_for_tat}\n"
LONG = "world: {type: matrix_game, game: prisoners_dilemma, rounds: 10000000}\nagents: {default: uniform_random}\n"
LEASE = 3.0


@pytest.fixture
def two_servers(tmp_path, pg_url):
    env = {"AGORA_DB": pg_url, "AGORA_SERVER_LEASE": str(LEASE), "AGORA_MAX_ROUNDS": "10000000", "AGORA_RUN_MAX_SECONDS": "600"}
    servers = [Server(tmp_path / f"server{i}.db", workers=2, env=env).start(timeout=60) for i in range(2)]
    try:
        yield pg_url, servers
    finally:
        for server in servers:
            server.stop()


def _server_id(store: Store, server: Server) -> str:
    prefix = f"{socket.gethostname()}:{server.process.pid}:"
    with store.session() as s:
        ids = [r["id"] for r in s.rows("SELECT id FROM servers") if r["id"].startswith(prefix)]
    assert len(ids) == 1, ids
    return ids[0]


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:g} s")


def test_200_runs_from_50_clients_across_two_servers_each_run_once(two_servers):
    url, servers = two_servers
    submitted: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx.Client(timeout=60) as http:
            for k in range(4):  # 50 clients x 4 = 200 runs, alternating servers
                server = servers[(index + k) % 2]
                response = http.post(f"{server.url}/runs", json={"scenario": SMALL, "seed": index * 4 + k})
                assert response.status_code == 202, response.text
                with lock:
                    submitted.append(response.json()["id"])

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(client, range(50)))
    assert len(submitted) == len(set(submitted)) == 200

    with Store(url, recover=False) as store:
        def all_ended():
            with store.session() as s:
                return s.value("SELECT COUNT(*) AS n FROM runs WHERE status IN ('queued','running')") == 0
        _wait(all_ended, 600, "the 200 runs did not end")
        runs = store.list_runs(limit=1000)
        assert sorted(r["id"] for r in runs) == sorted(submitted)  # none lost, none added
        assert {r["status"] for r in runs} == {"finished"}, [(r["id"], r["status"], r["error"]) for r in runs if r["status"] != "finished"]
        with store.session() as s:
            per_run = s.rows("SELECT run_id, COUNT(*) AS n, COUNT(DISTINCT seq) AS distinct_seq, MAX(seq) AS last"
                             " FROM events GROUP BY run_id")
        assert len(per_run) == 200
        for row in per_run:  # one execution: each event once, numbered 0..n-1
            assert row["n"] == row["distinct_seq"] == row["last"] + 1
        counts = {r["id"]: r["summary"]["events"] for r in runs}
        assert all(counts[row["run_id"]] == row["n"] for row in per_run)
        by_server = {}
        for r in runs:
            by_server[r["server_id"]] = by_server.get(r["server_id"], 0) + 1
        assert len(by_server) == 2 and None not in by_server, by_server  # both servers claimed runs


def test_cancel_across_servers_and_kill_9_recovers_once(two_servers):
    url, (a, b) = two_servers
    with Store(url, recover=False) as store, httpx.Client(timeout=60) as http:
        ids = [http.post(f"{server.url}/runs", json={"scenario": LONG, "seed": i}).json()["id"] for i, server in enumerate((a, b, a, b))]

        def all_running():
            runs = [store.get_run(i) for i in ids]
            return runs if all(r["status"] == "running" and store.count_events(r["id"]) > 0 for r in runs) else None
        runs = _wait(all_running, 120, "the four long runs did not all start")
        a_id, b_id = _server_id(store, a), _server_id(store, b)  # registered: their dispatchers have claimed runs
        on_a = [r["id"] for r in runs if r["server_id"] == a_id]
        on_b = [r["id"] for r in runs if r["server_id"] == b_id]
        assert len(on_a) == len(on_b) == 2  # each server's two workers hold one run each

        # A cancel sent to A for a run B executes: B sees the flag and stops it.
        response = http.delete(f"{a.url}/runs/{on_b[0]}")
        assert response.status_code in (200, 202), response.text
        _wait(lambda: store.get_run(on_b[0])["status"] == "cancelled", 60, "the run on B was not cancelled through A")

        a.kill9()
        killed_at = time.time()
        recovered = _wait(lambda: [store.get_run(i) for i in on_a] if all(store.get_run(i)["status"] == "interrupted" for i in on_a) else None,
                          60, "B did not mark A's runs interrupted")
        for run in recovered:
            assert f"recovered by server {b_id}" in run["error"] and run["finished_at"] >= killed_at
            assert store.count_events(run["id"]) > 0
        time.sleep(2 * LEASE)  # more recovery rounds of B: nothing is marked again
        assert [store.get_run(i) for i in on_a] == recovered
        assert store.get_run(on_b[1])["status"] == "running"  # B's own run goes on
        log = b.log.read_text()
        assert all(log.count(run_id) == 1 for run_id in on_a), log[-3000:]  # one warning naming each, once
        with store.session() as s:
            assert s.value("SELECT COUNT(*) AS n FROM servers WHERE id=?", (a_id,)) == 0

        response = http.delete(f"{b.url}/runs/{on_b[1]}")
        assert response.status_code in (200, 202)
        _wait(lambda: store.get_run(on_b[1])["status"] == "cancelled", 60, "B did not cancel its own run")

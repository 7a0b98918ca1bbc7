"""Every LLM exchange is stored with its run (cache on or off) and shown by the CLI and the API (real HTTP stub)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.settings import Settings
from simulator.cli import app
from simulator.run import stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store
from test_llm_policy import pd_text


def test_a_cache_off_run_stores_every_exchange_keyed_by_agent_and_decision(stub, tmp_path):
    server = stub(malformed_rate=0.4, fail_statuses=[500])
    text = pd_text(server.base_url, rounds=6, max_fallback_share=1.0, max_concurrency=1)
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(load_scenario_text(text), text, store, seed=3)
        rows = store.transcript(run_id, limit=10_000)
        alice = store.transcript(run_id, agent="alice", limit=10_000)
        assert store.transcript_agents(run_id) == {"alice": len(alice), "bob": len(rows) - len(alice)}
    assert len(rows) == result.counters["llm_calls"] == len(server.requests) - 1  # the 500 was retried inside one call
    assert [r["seq"] for r in rows] == list(range(len(rows)))
    assert {r["agent"] for r in alice} == {"alice"}
    # what was sent and what came back, exactly as the server saw it
    for row, body, reply in zip(rows, [b for b, s in zip(server.requests, server.statuses) if s == 200],
                                [r for r in server.replies if r is not None]):
        assert row["messages"] == body["messages"] and row["reply"] == reply
        assert row["sampling_seed"] == body["seed"] and row["cached"] is False and row["cache_mode"] == "off"
        assert (row["action"] is None) == (row["error"] is not None)
    assert rows[0]["attempts"] == 2 and "HTTP 500" in rows[0]["retry_errors"][0]
    reasks = [r for r in rows if r["attempt"] == 1]
    assert len(reasks) == result.counters["llm_reasks"] > 0
    for reask in reasks:  # a re-ask belongs to the same decision as the invalid first reply before it
        first = next(r for r in rows if r["agent"] == reask["agent"] and r["decision"] == reask["decision"] and r["attempt"] == 0)
        assert first["error_kind"] in ("parse", "schema") and first["seq"] < reask["seq"]
    decisions = {(r["agent"], r["decision"]) for r in rows}
    assert decisions == {(agent, d) for agent in ("alice", "bob") for d in range(6)}
    tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    assert tokens == result.counters["llm_prompt_tokens"] + result.counters["llm_completion_tokens"]


def test_replayed_exchanges_are_marked_as_cached_and_match_the_recording(stub, tmp_path):
    server = stub(malformed_rate=0.3)
    cache = str(tmp_path / "llm.db")
    text = pd_text(server.base_url, rounds=4, cache="record", cache_path=cache, max_fallback_share=1.0)
    with Store(tmp_path / "runs.db") as store:
        first_id, _ = stored_run(load_scenario_text(text), text, store, seed=1)
        server.stop()
        replay = load_scenario_text(text, overrides=[("llm.cache", "replay")])
        replay_id, _ = stored_run(replay, text, store, seed=1)
        recorded, replayed = store.transcript(first_id), store.transcript(replay_id)
    assert len(recorded) == len(replayed) > 0
    assert all(not r["cached"] for r in recorded) and all(r["cached"] for r in replayed)
    same = ("agent", "decision", "attempt", "messages", "reply", "action", "error", "sampling_seed", "prompt_tokens")
    assert [{k: r[k] for k in same} for r in recorded] == [{k: r[k] for k in same} for r in replayed]


def test_cli_transcript_shows_every_exchange_per_agent_and_as_json(stub, tmp_path):
    server = stub(responder=lambda body: '{"action": "defect"}')
    path = tmp_path / "pd.yaml"
    path.write_text(pd_text(server.base_url, rounds=3))
    db = str(tmp_path / "runs.db")
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(path), "--db", db, "--json"])
    assert ran.exit_code == 0, ran.output
    run_id = json.loads(ran.stdout)["run_id"]
    shown = runner.invoke(app, ["runs", "transcript", run_id, "--db", db])
    assert shown.exit_code == 0, shown.output
    headers = [line for line in shown.output.splitlines() if line.startswith("#")]
    assert len(headers) == 6 and sum(" alice decision " in h for h in headers) == 3
    assert shown.output.count('action: {"action": "defect"}') == 6
    one = runner.invoke(app, ["runs", "transcript", run_id, "--agent", "bob", "--json", "--db", db])
    rows = json.loads(one.stdout)
    assert [r["decision"] for r in rows] == [0, 1, 2] and {r["agent"] for r in rows} == {"bob"}
    assert rows[0]["messages"][0]["role"] == "system" and rows[0]["reply"] == '{"action": "defect"}'
    full = runner.invoke(app, ["runs", "transcript", run_id, "--agent", "bob", "--full", "--db", db])
    assert "  system: " in full.output
    missing = runner.invoke(app, ["runs", "transcript", run_id, "--agent", "carol", "--db", db])
    assert missing.exit_code == 2 and "agents with exchanges: alice, bob" in missing.output
    unknown = runner.invoke(app, ["runs", "transcript", "nope", "--db", db])
    assert unknown.exit_code == 2 and "no run 'nope'" in unknown.output


def test_api_serves_the_transcript_a_page_at_a_time(stub, tmp_path):
    server = stub()
    db = tmp_path / "runs.db"
    text = pd_text(server.base_url, rounds=3)
    with Store(db) as store:
        run_id, _ = stored_run(load_scenario_text(text), text, store, seed=1)
        expected = store.transcript(run_id)
    with TestClient(create_app(Settings(db=db, api_workers=1))) as client:
        page = client.get(f"/runs/{run_id}/transcript", params={"limit": 4}).json()
        assert page["agents"] == {"alice": 3, "bob": 3} and len(page["items"]) == 4 and page["next_after"] == 3
        rest = client.get(f"/runs/{run_id}/transcript", params={"after": page["next_after"]}).json()
        assert page["items"] + rest["items"] == json.loads(json.dumps(expected)) and rest["next_after"] is None
        bob = client.get(f"/runs/{run_id}/transcript", params={"agent": "bob"}).json()["items"]
        assert [r["decision"] for r in bob] == [0, 1, 2]
        assert client.get("/runs/doesnotexist/transcript").status_code == 404

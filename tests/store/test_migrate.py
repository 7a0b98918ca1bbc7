"""``agora store migrate``: an SQLite store copied into PostgreSQL reads the same, verified by counts and checksums."""

from __future__ import annotations

from typer.testing import CliRunner

from simulator.cli import app
from simulator.run import stored_run
from simulator.scenario import load_scenario
from simulator.store import TABLES, Store
from simulator.store.migrate import checksum, columns


def _fill(path) -> list[str]:
    scenario, text = load_scenario("scenarios/prisoners_dilemma.yaml")
    with Store(path) as store:
        ids = [stored_run(scenario, text, store, seed=seed)[0] for seed in range(3)]
        store.append_exchanges(ids[0], [
            {"agent": "alice", "decision": 0, "attempt": 0, "t": 0.0, "prompt_tokens": 12, "completion_tokens": 3,
             "latency_ms": 4.5, "cached": False, "messages": [{"role": "user", "content": "héllo \u2603"}], "reply": "C"},
            {"agent": "bob", "decision": 0, "attempt": 1, "t": 1.0, "error_kind": "invalid", "prompt_tokens": 0,
             "completion_tokens": 0, "latency_ms": 0.25, "cached": True, "reply": None},
        ])
        store.create_sweep(sweep_id="sw1", scenario_name="pd", world="matrix_game", source="pd.yaml", scenario_text=text,
                           spec={"grid": {"world.rounds": [1, 2]}}, cells=[{"world.rounds": 1}, {"world.rounds": 2}])
        store.set_sweep_status("sw1", "finished")
    return ids


def test_migrate_copies_everything_and_verifies_it(tmp_path, pg_url):
    source = tmp_path / "agora.db"
    ids = _fill(source)
    result = CliRunner().invoke(app, ["store", "migrate", "--from", str(source), "--to", pg_url, "--json"])
    assert result.exit_code == 0, result.output
    import json

    report = {row["table"]: row for row in json.loads(result.stdout)}
    assert set(report) == set(TABLES) and report["runs"]["rows"] == 3 and report["exchanges"]["rows"] == 2
    with Store(source, recover=False) as old, Store(pg_url, recover=False) as new:
        assert report["events"]["rows"] == sum(old.count_events(i) for i in ids) > 0
        for run_id in ids:
            assert new.get_run(run_id) == old.get_run(run_id)
            assert new.events(run_id, limit=100_000) == old.events(run_id, limit=100_000)
            assert new.transcript(run_id) == old.transcript(run_id)
        assert new.list_runs() == old.list_runs()
        assert new.get_sweep("sw1")["cells"] == old.get_sweep("sw1")["cells"]
        for table in TABLES:  # the checksums are those of an independent read of each side
            cols = columns(old, table)
            assert checksum(new, table, cols) == checksum(old, table, cols)
        later = new.create_run(scenario_name="after", world="matrix_game", scenario_text="{}", seed=0)
        assert new.list_runs()[0]["id"] == later  # the order sequence continues after the copied runs
        with new.session() as s:  # a change on one side shows in its checksum
            s.run("UPDATE events SET data='{}' WHERE run_id=? AND seq=0", (ids[1],))
        assert checksum(new, "events", columns(old, "events")) != checksum(old, "events", columns(old, "events"))


def test_migrate_refuses_a_target_that_is_not_empty_and_a_missing_source(tmp_path, pg_url):
    source = tmp_path / "agora.db"
    _fill(source)
    runner = CliRunner()
    assert runner.invoke(app, ["store", "migrate", "--from", str(source), "--to", pg_url]).exit_code == 0
    again = runner.invoke(app, ["store", "migrate", "--from", str(source), "--to", pg_url])
    assert again.exit_code == 2 and "already holds" in again.stderr and "Traceback" not in again.output
    missing = runner.invoke(app, ["store", "migrate", "--from", str(tmp_path / "nope.db"), "--to", pg_url])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: --from:") and len(missing.stderr.splitlines()) == 1
    assert not (tmp_path / "nope.db").exists()

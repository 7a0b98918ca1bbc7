"""The CLI on a PostgreSQL store: ``--db URL`` and ``AGORA_DB=URL`` work as a file does; a bad URL is one line, status 2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from simulator.cli import app


def test_run_and_list_on_postgres_by_option_and_by_variable(pg_url):
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "scenarios/prisoners_dilemma.yaml", "--seed", "5", "--json", "--db", pg_url])
    assert ran.exit_code == 0, ran.output
    run = json.loads(ran.stdout)
    listed = runner.invoke(app, ["runs", "list", "--json"], env={"AGORA_DB": pg_url})
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["run_id"] == run["run_id"] and row["metrics"] == run["metrics"]  # metrics come with the listing
    table = runner.invoke(app, ["runs", "list", "--db", pg_url])
    assert table.exit_code == 0 and run["run_id"] in table.stdout


def test_an_unreachable_database_is_one_line_and_status_2(postgres_server):
    url = f"postgresql://agora:hunter2@127.0.0.1:{postgres_server.port}/missing_db"
    result = CliRunner().invoke(app, ["runs", "list", "--db", url])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --db: cannot connect to the store") and len(result.stderr.strip().splitlines()) == 1
    assert "hunter2" not in result.stderr and "Traceback" not in result.output

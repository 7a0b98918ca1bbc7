"""The `agora` command line, as a user runs it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("AGORA_DB", str(path))
    return path


def invoke(*args):
    return runner.invoke(app, list(args))


def test_run_json_is_reproducible_for_the_same_seed(db):
    first = invoke("run", "scenarios/prisoners_dilemma.yaml", "--seed", "1", "--json")
    second = invoke("run", "scenarios/prisoners_dilemma.yaml", "--seed", "1", "--json")
    assert first.exit_code == 0, first.output
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert {"run_id", "status", "metrics"} <= set(a)
    assert a["status"] == "finished" and a["run_id"] != b["run_id"]
    assert a["metrics"] == b["metrics"]
    from simulator.store import Store

    with Store(db) as store:
        assert store.events(a["run_id"], limit=10**6) == store.events(b["run_id"], limit=10**6)
    other = json.loads(invoke("run", "scenarios/prisoners_dilemma.yaml", "--seed", "2", "--json").stdout)
    assert other["metrics"] != a["metrics"]


def test_run_prints_a_table_with_theory_and_set_overrides(db):
    result = invoke("run", "scenarios/prisoners_dilemma.yaml", "--set", "world.rounds=3", "--set", "world.continuation=1")
    assert result.exit_code == 0, result.output
    assert "welfare" in result.stdout and "stage_pure_equilibria" in result.stdout
    assert "payoff alice" in result.stdout


def test_run_prints_from_its_result_what_runs_show_prints_from_the_store(db):
    """`agora run` prints the metrics it has in hand; the stored row must read the same (only the timing may differ)."""
    ran = invoke("run", "scenarios/public_goods_simultaneous.yaml", "--seed", "5")
    assert ran.exit_code == 0, ran.output
    listed = json.loads(invoke("runs", "list", "--json", "--limit", "1").stdout)
    shown = invoke("runs", "show", listed[0]["run_id"])
    header = lambda text: text.splitlines()[0].rsplit(" ", 2)[0]  # without "<seconds> s"
    assert header(ran.stdout) == header(shown.stdout) and listed[0]["run_id"] in header(ran.stdout)
    assert ran.stdout.splitlines()[1:] == shown.stdout.splitlines()[1:]


def test_runs_list_and_show(db):
    run_id = json.loads(invoke("run", "scenarios/prisoners_dilemma.yaml", "--json").stdout)["run_id"]
    listed = invoke("runs", "list")
    assert run_id in listed.stdout and "prisoners_dilemma" in listed.stdout
    shown = json.loads(invoke("runs", "show", run_id, "--json", "--events", "3").stdout)
    assert shown["run_id"] == run_id and len(shown["events"]) == 3
    assert json.loads(invoke("runs", "list", "--json").stdout)[0]["run_id"] == run_id
    missing = invoke("runs", "show", "doesnotexist")
    assert missing.exit_code == 2 and "no run 'doesnotexist'" in missing.stderr


def test_validate_reports_file_line_and_field_and_exits_nonzero(tmp_path, db):
    bad = tmp_path / "bad.yaml"
    bad.write_text("world:\n  type: matrix_game\n  game: prisoners_dilemma\n  rounds: many\n  playrs: [a, b]\n")
    result = invoke("validate", "scenarios/prisoners_dilemma.yaml", str(bad))
    assert result.exit_code == 2
    assert "ok: scenarios/prisoners_dilemma.yaml" in result.stdout
    assert f"{bad}:4:3: world.rounds:" in result.stderr
    assert f"{bad}:5:3: world.playrs: unknown field" in result.stderr and "did you mean 'players'" in result.stderr
    assert "Traceback" not in result.output


def test_run_on_a_bad_file_gives_no_traceback(tmp_path, db):
    bad = tmp_path / "bad.yaml"
    bad.write_text("world: {type: matrix_game, game: prisoners_dilema}\n")
    result = invoke("run", str(bad))
    assert result.exit_code == 2 and "world.game" in result.stderr and "prisoners_dilemma" in result.stderr
    result = invoke("run", "scenarios/prisoners_dilemma.yaml", "--set", "world.rounds")
    assert result.exit_code == 2 and "expected key=value" in result.stderr


def test_the_installed_console_script_runs_a_scenario(tmp_path):
    script = shutil.which("agora", path=str(Path(sys.executable).parent))
    assert script, "the agora console script is installed next to the interpreter"
    env = {**os.environ, "AGORA_DB": str(tmp_path / "script.db")}
    proc = subprocess.run([script, "run", "scenarios/axelrod_tournament.yaml", "--json", "--set", "world.rounds=20"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "finished" and len(data["metrics"]["measures"]["ranking"]) == 7


def test_a_fault_inside_a_world_is_one_line_not_a_traceback(db, monkeypatch):
    from simulator.worlds import matrix_game

    def broken(*args, **kwargs):
        raise ZeroDivisionError("theory blew up")

    monkeypatch.setattr(matrix_game, "stage_game_theory", broken)
    result = invoke("run", "scenarios/prisoners_dilemma.yaml")
    assert result.exit_code == 1
    assert "error: ZeroDivisionError: theory blew up" in result.stderr and "stored as 'failed'" in result.stderr
    assert "Traceback" not in result.output
    listed = json.loads(invoke("runs", "list", "--json").stdout)
    assert listed[0]["status"] == "failed" and "theory blew up" in listed[0]["error"]


def test_the_cli_loads_neither_the_api_nor_fastapi_unless_serving():
    """simulator/ does not depend on api/: `agora serve` imports it inside the command (docs/architecture.md)."""
    code = ("import sys; sys.argv = ['agora', 'validate', 'scenarios/prisoners_dilemma.yaml']\n"
            "from simulator.cli import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('api', 'fastapi', 'uvicorn'))\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ok: scenarios/prisoners_dilemma.yaml" in done.stdout


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`agora runs list | head`: the pipe closes before the table is written; no 'Broken pipe' error, status 0."""
    script = shutil.which("agora", path=str(Path(sys.executable).parent))
    db = tmp_path / "a.db"
    env = {**os.environ, "AGORA_DB": str(db)}
    root = Path(__file__).resolve().parents[1]
    subprocess.run([script, "run", "scenarios/prisoners_dilemma.yaml"], env=env, cwd=root, capture_output=True, timeout=300, check=True)
    reader_gone = subprocess.Popen([script, "runs", "list"], env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader_gone.stdout.close()   # before the process has started up, so its first write meets a closed pipe
    _, err = reader_gone.communicate(timeout=300)
    assert reader_gone.returncode == 0, err
    assert b"Broken pipe" not in err and b"Traceback" not in err, err

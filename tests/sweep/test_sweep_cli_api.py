"""`agora sweep` / `agora plot` / `agora sweeps` and the /sweeps API routes."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import yaml
from fastapi.testclient import TestClient
from sweep_helpers import SWEEP_YAML
from typer.testing import CliRunner

from simulator.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def agora(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_sweep_then_plot_from_the_command_line(sweep_file, tmp_path):
    db = tmp_path / "c.db"
    result = agora("sweep", sweep_file, "--workers", "2", "--json", "--db", db, "--out", tmp_path / "tables")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["cells"], data["ran"], data["failed"], data["status"]) == (24, 24, 0, "finished")
    assert len(pd.read_csv(tmp_path / "tables" / "table.csv")) == 24
    sweep_id = data["sweep_id"]

    result = agora("plot", sweep_id, "--db", db, "--out", tmp_path / "figs")
    assert result.exit_code == 0, result.output
    for name in ("welfare", "welfare_per_round"):
        assert (tmp_path / "figs" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        ET.parse(tmp_path / "figs" / f"{name}.svg")
        assert {"mean", "ci_low", "ci_high"} <= set(pd.read_csv(tmp_path / "figs" / f"{name}.csv").columns)

    result = agora("plot", sweep_id, "--db", db, "--metric", "payoffs.alice", "--x", "world.rounds", "--out", tmp_path / "custom")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "custom" / "payoffs_alice_vs_world_rounds.png").exists()

    result = agora("plot", sweep_id, "--db", db, "--metric", "measures.nope")
    assert result.exit_code == 2 and "no column 'measures.nope'" in result.output

    result = agora("sweeps", "list", "--json", "--db", db)
    assert json.loads(result.stdout)[0]["runs"] == {"finished": 24}
    result = agora("sweeps", "table", sweep_id, "--out", tmp_path / "t.csv", "--db", db)
    assert result.exit_code == 0 and len(pd.read_csv(tmp_path / "t.csv")) == 24

    run_id = f"{sweep_id}-0000"
    result = agora("plot", run_id, "--db", db, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "payoffs.png").exists()

    result = agora("sweep", "--resume", sweep_id, "--db", db, "--json")
    assert json.loads(result.stdout)["ran"] == 0


def test_bad_input_is_a_located_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SWEEP_YAML.replace("world.rounds: [10, 30]", "world.rounds: [10, -30]"))
    result = agora("sweep", bad, "--db", tmp_path / "c.db")
    assert result.exit_code == 2
    assert f"{bad}:15:" in result.output and "world.rounds=-30 is not allowed" in result.output
    assert "Traceback" not in result.output
    result = agora("sweep", "--resume", "nope", "--db", tmp_path / "c.db")
    assert result.exit_code == 2 and "no sweep 'nope'" in result.output
    result = agora("plot", "nope", "--db", tmp_path / "c.db")
    assert result.exit_code == 2 and "neither a sweep nor a run" in result.output
    result = agora("sweep", bad, "--executor", "ray")
    assert result.exit_code == 2 and "allowed: process, dask" in result.output


def test_api_sweep_routes(tmp_path):
    from api.app import create_app
    from api.settings import Settings

    app_ = create_app(Settings(db=tmp_path / "api.db", api_workers=1))  # sweep cells run on the server's pool
    with TestClient(app_) as client:
        response = client.post("/sweeps", json={"scenario": yaml.safe_load(SWEEP_YAML), "workers": 1})
        assert response.status_code == 202, response.text
        sweep_id = response.json()["id"]
        assert response.headers["location"] == f"/sweeps/{sweep_id}"
        deadline = time.monotonic() + 300  # 24 cells on one worker process, on a loaded machine
        while (view := client.get(f"/sweeps/{sweep_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert (view["status"], view["done"], view["n_cells"]) == ("finished", 24, 24)

        table = client.get(f"/sweeps/{sweep_id}/table.csv")
        assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
        assert len(table.text.strip().splitlines()) == 25
        assert client.get(f"/sweeps/{sweep_id}/plots").json()["items"] == ["welfare", "welfare_per_round"]
        png = client.get(f"/sweeps/{sweep_id}/plots/welfare.png")
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
        svg = client.get(f"/sweeps/{sweep_id}/plots/welfare_per_round.svg")
        assert svg.headers["content-type"] == "image/svg+xml"
        ET.fromstring(svg.content)
        csv = client.get(f"/sweeps/{sweep_id}/plots/welfare.csv").text
        assert csv.splitlines()[0].startswith("world.rounds,agents.bob.params.probabilities.0,n,mean")

        missing = client.get(f"/sweeps/{sweep_id}/plots/nope.png")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert client.get("/sweeps/nope").status_code == 404
        bad = client.post("/sweeps", json={"scenario": SWEEP_YAML.replace("seeds: 4", "seeds: 0")})
        assert bad.status_code == 422 and bad.json()["errors"][0]["line"] == 16
        assert client.post(f"/sweeps/{sweep_id}/resume").status_code == 409  # nothing left to run

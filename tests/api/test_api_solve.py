"""POST /solve gives what `agora solve --json` gives, checked against nashpy; bad games are 422 problems."""

from __future__ import annotations

import json

import nashpy
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.settings import SHIPPED_GAMES, Settings
from simulator.cli import app as cli_app

GAME_FILES = sorted(p for p in SHIPPED_GAMES.glob("*") if p.suffix in (".yaml", ".json"))


@pytest.fixture(scope="module")
def solver_client(tmp_path_factory):
    settings = Settings(db=tmp_path_factory.mktemp("solve") / "agora.db", api_solve_timeout=2.0)
    with TestClient(create_app(settings, start_pool=False)) as c:
        yield c


@pytest.mark.parametrize("path", GAME_FILES, ids=[p.stem for p in GAME_FILES])
def test_solve_matches_the_cli(path, solver_client):
    cli = CliRunner().invoke(cli_app, ["solve", str(path), "--json"])
    assert cli.exit_code == 0, cli.output
    by_file = solver_client.post("/solve", json={"file": path.stem})
    assert by_file.status_code == 200, by_file.text
    assert by_file.json()["equilibria"] == json.loads(cli.stdout)
    by_text = solver_client.post("/solve", json={"game": path.read_text()}).json()
    assert by_text["equilibria"] == by_file.json()["equilibria"]


def test_bimatrix_equilibria_agree_with_nashpy(solver_client):
    A = [[3, 0, 2], [0, 2, 1], [1, 1, 0]]
    B = [[2, 1, 0], [0, 3, 1], [1, 0, 2]]
    result = solver_client.post("/solve", json={"game": {"A": A, "B": B}, "method": "support"}).json()
    ours = sorted((tuple(np.round(e["row"], 9)), tuple(np.round(e["col"], 9))) for e in result["equilibria"])
    theirs = sorted((tuple(np.round(r, 9)), tuple(np.round(c, 9))) for r, c in nashpy.Game(np.array(A), np.array(B)).support_enumeration())
    assert ours == theirs
    assert result["kind"] == "bimatrix" and result["welfare"]["optimum"] == 5


def test_bad_games_are_problems(solver_client):
    response = solver_client.post("/solve", json={"game": "name: g\nA: [[1, 2], [3]]\n"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:agora:problem:invalid-game" and body["errors"][0]["path"] == "A" and body["errors"][0]["line"] == 2
    tree = {"players": ["a", "b"], "tree": {"player": "a", "children": {"x": {"payoffs": [1, 0]}, "y": {"payoffs": [0, 1]}}}}
    wrong = solver_client.post("/solve", json={"game": tree, "method": "support"})
    assert wrong.status_code == 422 and "backward-induction" in wrong.json()["detail"]
    assert solver_client.post("/solve", json={"file": "nope"}).status_code == 404
    assert solver_client.post("/solve", json={"game": {"A": [[1]]}, "method": "magic"}).status_code == 422


def test_a_game_too_hard_times_out_and_the_solver_recovers(solver_client):
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 100, (40, 40)).tolist(), rng.integers(0, 100, (40, 40)).tolist()
    response = solver_client.post("/solve", json={"game": {"A": A, "B": B}, "method": "support"})
    assert response.status_code == 422 and response.json()["type"] == "urn:agora:problem:solve-timeout"
    battle_of_the_sexes = {"A": [[2, 0], [0, 1]], "B": [[1, 0], [0, 2]]}  # two pure equilibria and one mixed
    again = solver_client.post("/solve", json={"game": battle_of_the_sexes})
    assert again.status_code == 200 and len(again.json()["equilibria"]) == 3

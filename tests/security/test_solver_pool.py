"""The solver pool: a 2x2 game is solved while four hard solves run, a full pool answers 503 with
Retry-After, and the key solve tests pass alongside CPU-burning processes (a loaded machine)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.settings import SHIPPED_GAMES, Settings
from simulator.cli import app as cli_app

BATTLE_OF_THE_SEXES = {"A": [[2, 0], [0, 1]], "B": [[1, 0], [0, 2]]}  # two pure equilibria and one mixed


def hard_game(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"A": rng.integers(0, 100, (14, 14)).tolist(), "B": rng.integers(0, 100, (14, 14)).tolist()}


@pytest.fixture
def solver_client(tmp_path):
    settings = Settings(db=tmp_path / "agora.db", api_solve_timeout=4.0, api_solve_workers=2, api_solve_queue=2)
    with TestClient(create_app(settings, start_pool=False)) as client:
        yield client


def wait_for(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def test_a_small_game_is_solved_while_four_hard_ones_run(solver_client):
    answers: list = []

    def hard(seed: int) -> None:
        answers.append(solver_client.post("/solve", json={"game": hard_game(seed), "method": "support"}))

    threads = [threading.Thread(target=hard, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    solver = solver_client.app.state.solver
    wait_for(lambda: solver.load()["general"]["busy"] == 2 and solver.load()["general"]["waiting"] == 2)
    small = solver_client.post("/solve", json={"game": BATTLE_OF_THE_SEXES})
    assert small.status_code == 200, small.text
    assert len(small.json()["equilibria"]) == 3
    full = solver_client.post("/solve", json={"game": hard_game(9), "method": "support"})
    assert full.status_code == 503 and full.headers["Retry-After"] and full.json()["type"] == "urn:agora:problem:solver-busy"
    assert solver.load()["general"]["waiting"] == 2  # the four are still in
    for thread in threads:
        thread.join(300)  # generous: on a loaded machine a killed process's replacement is slow to spawn
        assert not thread.is_alive(), "a solve request did not come back"
    # each timed out after 4 s of its own computing, the two that waited included (the clock starts with the job)
    assert sorted(a.json()["type"] for a in answers) == ["urn:agora:problem:solve-timeout"] * 4
    last = solver_client.post("/solve", json={"game": BATTLE_OF_THE_SEXES})
    assert last.status_code == 200, last.text


@pytest.fixture
def burners():
    """Two CPU-burning processes (this machine has two cores): the tests below run on a loaded machine."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait(10)


def test_the_solve_tests_key_case_on_a_loaded_machine(burners, tmp_path):
    """tests/api/test_api_solve.py's key cases, with the CPU taken: a timeout frees the solver, files match the CLI."""
    settings = Settings(db=tmp_path / "agora.db", api_solve_timeout=10.0)
    with TestClient(create_app(settings, start_pool=False)) as client:
        rng = np.random.default_rng(0)
        A, B = rng.integers(0, 100, (40, 40)).tolist(), rng.integers(0, 100, (40, 40)).tolist()
        response = client.post("/solve", json={"game": {"A": A, "B": B}, "method": "support"})
        assert response.status_code == 422 and response.json()["type"] == "urn:agora:problem:solve-timeout"
        again = client.post("/solve", json={"game": BATTLE_OF_THE_SEXES})
        assert again.status_code == 200 and len(again.json()["equilibria"]) == 3
        path = SHIPPED_GAMES / "battle_of_the_sexes.yaml"
        cli = CliRunner().invoke(cli_app, ["solve", str(path), "--json"])
        assert cli.exit_code == 0, cli.output
        by_file = client.post("/solve", json={"file": path.stem})
        assert by_file.status_code == 200 and by_file.json()["equilibria"] == json.loads(cli.stdout)
    assert all(proc.poll() is None for proc in burners)  # they really burned all along

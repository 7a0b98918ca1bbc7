"""Per-run limits end runs as ``limit_exceeded`` with their results so far; the worker environment is scrubbed."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from api import trust
from api.settings import Settings
from api.worker import Limits, RunPool
from simulator.run import run_scenario
from simulator.scenario import load_scenario_text
from tests.serve import AGORA, Server, silent_listener
from tests.security import hogs
from tests.security.conftest import wait_ended

LONG = ["world.rounds=10000000", "world.continuation=1", "run.record_events=false"]
PD_TEXT = "name: pd\nworld: {type: matrix_game, game: prisoners_dilemma, players: [a, b], rounds: 10000000}\n"


def test_the_time_cap_stops_a_run_and_keeps_its_metrics():
    """The worker's limit check (the run's should_stop), on a real run: it ends ``limit_exceeded`` with metrics computed so far."""
    from api.worker import limiter

    scenario = load_scenario_text(PD_TEXT, "<t>", [("run.record_events", False)])
    result = run_scenario(scenario, should_stop=limiter(Limits(max_seconds=0.5), time.monotonic()))
    assert result.status == "limit_exceeded" and "AGORA_RUN_MAX_SECONDS" in result.reason
    assert 0 < result.events < 10_000_000 * 2 and result.metrics["payoffs"]


def test_the_event_cap_on_a_live_server(tmp_path):
    env = {"AGORA_RUN_MAX_EVENTS": "5000", "AGORA_MAX_ROUNDS": "10000000"}
    server = Server(tmp_path / "agora.db", workers=1, env=env).start(timeout=60)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            response = api.post("/runs", json={"file": "prisoners_dilemma", "overrides": ["world.rounds=10000000", "world.continuation=1"]})
            assert response.status_code == 202, response.text
            run = wait_ended(api, response.json()["id"])
            assert run["status"] == "limit_exceeded" and "AGORA_RUN_MAX_EVENTS" in run["summary"]["reason"], run
            assert run["metrics"]["payoffs"]  # partial results kept
            events = api.get(f"/runs/{run['id']}/events", params={"limit": 10}).json()["items"]
            assert events  # and the events logged so far
            quick = api.post("/runs", json={"file": "prisoners_dilemma"}).json()
            assert wait_ended(api, quick["id"])["status"] == "finished"  # the worker goes on
    finally:
        server.stop()


def test_a_run_stuck_past_its_time_limit_is_killed(tmp_path):
    """A policy blocked in a call never reaches the progress check: the dispatcher kills the worker."""
    with silent_listener() as (port, _held):
        url = f"http://127.0.0.1:{port}/v1"
        env = {"AGORA_RUN_MAX_SECONDS": "8", "AGORA_API_CANCEL_GRACE": "1", "AGORA_LLM_ENDPOINTS": url}
        server = Server(tmp_path / "agora.db", workers=1, env=env).start(timeout=60)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as api:
                scenario = {"name": "stuck", "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["a", "b"], "rounds": 3},
                            "agents": {"default": "llm"}, "llm": {"base_url": url, "model": "m", "cache": "off", "timeout": 120, "max_retries": 0}}
                response = api.post("/runs", json={"scenario": scenario})
                assert response.status_code == 202, response.text
                run = wait_ended(api, response.json()["id"], timeout=90)
                # (on a loaded machine it may still be starting its LLM client when the limit passes: killed all the same)
                assert run["status"] == "limit_exceeded" and "AGORA_RUN_MAX_SECONDS" in run["error"], run
                assert "worker was killed" in run["error"]
        finally:
            server.stop()


def test_a_worker_above_the_memory_limit_is_killed(tmp_path):
    pool = RunPool(tmp_path / "agora.db", workers=1, limits=Limits(max_memory_mib=400))
    pool.start()
    try:
        result = pool.submit_call(hogs.hold_memory, (900, 30), {}).result(timeout=60)
        assert result["status"] == "limit_exceeded" and "AGORA_RUN_MAX_MEMORY" in result["summary"]["reason"], result
        assert pool.submit_call(hogs.quick, (), {}).result(timeout=60)["status"] == "finished"  # a fresh worker
    finally:
        pool.stop()


def test_workers_get_only_the_allowed_variables():
    settings = Settings(llm_key_envs=("AGENT_KEY", "AGORA_API_KEY"), db="x/agora.db")
    env = trust.worker_env(settings, {"PATH": "/bin", "HOME": "/root", "OPENAI_API_KEY": "s", "AGENT_KEY": "k",
                                      "AGORA_API_KEY": "server", "AWS_SECRET_ACCESS_KEY": "a"})
    assert set(env) == {"PATH", "AGENT_KEY", "AGORA_LLM_CACHE"} and env["AGENT_KEY"] == "k"
    assert env["AGORA_LLM_CACHE"].endswith("x/agora.db.llm-cache.db")


def test_a_live_worker_has_the_scrubbed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("AGENT_KEY", "allowed")
    settings = Settings(db=tmp_path / "agora.db", llm_key_envs=("AGENT_KEY",))
    pool = RunPool(settings.db, workers=1, limits=Limits.from_settings(settings))
    pool.start()
    try:
        import os

        seen = pool.submit_call(hogs.environment, (), {}).result(timeout=60)
        env = seen["env"]
        assert "OPENAI_API_KEY" not in env and env["AGENT_KEY"] == "allowed" and "HOME" not in env
        assert seen["kwargs"] == ["context", "prepare", "should_stop"]  # sweep cells get the untrusted context and limits
        assert os.environ["OPENAI_API_KEY"] == "sk-secret"  # the server's own environment is untouched
    finally:
        pool.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_serving_beyond_loopback_needs_an_api_key(host, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "AGORA_DB": str(tmp_path / "agora.db")}
    done = subprocess.run([AGORA, "serve", "--host", host, "--port", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "AGORA_API_KEY" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "agora.db").exists()

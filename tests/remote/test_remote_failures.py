"""The remote policy's failure policy is the LLM policy's: failures never pass as data.

Against real loopback servers: an agent that is down or dies mid-run ends the
run ``failed`` (exit 1) with its events and counters kept; garbage replies are
counted fallbacks that make the run ``degraded`` (exit 3) unless
``remote.max_fallback_share`` allows them; HTTP errors, timeouts and invalid
actions are classified; retries, the re-ask and the token header work; a
redirect is not followed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from simulator.run import build_simulation
from simulator.scenario import load_scenario_text
from tests.remote.conftest import reply

AGORA = str(Path(sys.executable).with_name("agora"))
WORLD = {"type": "public_goods", "players": ["ann", "ben", "cat"], "endowment": 10, "step": 1, "multiplier": 1.6, "rounds": 3}
FAST = {"retries": 1, "backoff_base": 0.01, "backoff_max": 0.05, "timeout": 30}


def give(amount: float):
    return lambda request: reply(request, {"contribution": amount})


def scenario_text(url: str, remote: dict | None = None, **params) -> str:
    data = {"name": "remote_failures", "seed": 1, "world": WORLD,
            "agents": {"default": {"policy": "remote", "params": {"url": url, **FAST, **params}}}}
    if remote is not None:
        data["remote"] = remote
    return yaml.safe_dump(data)


def simulate(text: str):
    sim = build_simulation(load_scenario_text(text), 1)
    return sim, sim.run()


def cli_run(tmp_path: Path, text: str, *extra: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    db = str(tmp_path / "agora.db")
    done = subprocess.run([AGORA, "run", str(path), "--db", db, "--json", *extra], capture_output=True, text=True, timeout=180, env=env)
    stored = json.loads(done.stdout)  # the stored run, however it ended
    stored["reason"] = stored["summary"].get("reason") or stored.get("error") or ""
    return done, stored


def test_an_agent_that_is_down_fails_the_run_at_once_with_exit_1(agent_server, tmp_path):
    server = agent_server(give(5))
    server.stop()  # nothing listens on the port any more
    done, stored = cli_run(tmp_path, scenario_text(server.url))
    assert done.returncode == 1, done.stdout + done.stderr
    assert stored["status"] == "failed"
    assert "cannot reach the remote agent" in stored["reason"]
    counters = stored["summary"]["counters"]
    assert counters["remote_failed_connection"] == 3 and counters["remote_requests"] == 3 * (FAST["retries"] + 1)
    assert stored["metrics"]["remote"]["own_decisions"] == 0


def test_an_agent_killed_mid_run_fails_it_and_keeps_the_events_and_counters_so_far(agent_server, tmp_path):
    box = {}

    def dies_after_round_one(request):
        if request["decision"] >= 1:  # round two: the agent's process is gone
            box["server"].stop()
        return reply(request, {"contribution": 5})

    box["server"] = server = agent_server(dies_after_round_one)
    done, stored = cli_run(tmp_path, scenario_text(server.url))
    assert done.returncode == 1, done.stdout + done.stderr
    assert stored["status"] == "failed" and "cannot reach the remote agent" in stored["reason"]
    counters = stored["summary"]["counters"]
    assert counters["remote_failed_connection"] >= 3 and counters["decisions"] >= 3  # round one's actions were applied
    assert stored["summary"]["events"] >= 3


def test_garbage_replies_are_counted_fallbacks_and_the_run_is_degraded(agent_server, tmp_path):
    server = agent_server(lambda request: b"<html>I am not an agent</html>")
    done, stored = cli_run(tmp_path, scenario_text(server.url))
    assert done.returncode == 3, done.stdout + done.stderr
    assert stored["status"] == "degraded"
    assert "9 of 9 remote decisions (100.0%) fell back" in stored["reason"] and "parse 9" in stored["reason"]
    counters = stored["summary"]["counters"]
    assert counters["fallbacks"] == 9 and counters["remote_failed_parse"] == 9
    assert counters["remote_invalid_replies"] == 18 and counters["remote_reasks"] == 9  # each asked once more, in vain
    assert stored["metrics"]["remote"]["fallback_share"] == 1.0
    reasks = [r for r in server.requests if r["attempt"] == 1]
    assert len(reasks) == 9 and all("not JSON" in r["error"] for r in reasks)


def test_with_max_fallback_share_1_garbage_is_allowed_and_the_share_is_in_the_metrics(agent_server):
    server = agent_server(lambda request: {"v": 1, "answer": "forty-two"})
    sim, result = simulate(scenario_text(server.url, remote={"max_fallback_share": 1.0}, reask=False))
    assert result.status == "finished"
    assert result.metrics["remote"]["fallback_share"] == 1.0 and result.metrics["remote"]["failures"] == {"parse": 9}
    fallbacks = [e for e in sim.events if e[3] == "fallback"]
    assert len(fallbacks) == 9 and {e[4]["cause"] for e in fallbacks} == {"parse"}
    assert len(server.requests) == 9  # reask off: one request per decision


def test_an_invalid_action_is_asked_again_with_the_error_and_the_corrected_one_is_played(agent_server):
    def wrong_first(request):
        if request["attempt"] == 0:
            return reply(request, {"contribution": 50})  # more than the endowment
        assert "contribution" in request["error"]
        return reply(request, {"contribution": 4})

    server = agent_server(wrong_first)
    sim, result = simulate(scenario_text(server.url))
    assert result.status == "finished" and result.counters["fallbacks"] == 0
    assert result.counters["remote_reasks"] == 9 and result.counters["remote_invalid_replies"] == 9
    assert {e[4]["contribution"] for e in sim.events if e[3] == "action"} == {4.0}
    assert {e[4]["cause"] for e in sim.events if e[3] == "remote_invalid_reply"} == {"schema"}


def test_5xx_is_retried_4xx_is_not_and_on_error_fail_ends_the_run(agent_server):
    seen: set[tuple[str, int]] = set()

    def flaky(request):
        key = (request["agent"]["id"], request["decision"])
        if key not in seen:  # every decision's first HTTP attempt fails
            seen.add(key)
            return 503
        return reply(request, {"contribution": 2})

    server = agent_server(flaky)
    _, result = simulate(scenario_text(server.url))
    assert result.status == "finished" and result.counters["remote_retries"] == 9 and result.counters["fallbacks"] == 0

    refusing = agent_server(lambda request: 404)
    _, result = simulate(scenario_text(refusing.url, remote={"on_error": "fail"}))
    assert result.status == "failed"
    assert "remote.on_error is 'fail'" in result.reason and "http_4xx" in result.reason and "HTTP 404" in result.reason
    assert len(refusing.requests) == 3  # one round's decisions, each asked once: a 4xx is not retried


def test_a_slow_agent_times_out_and_the_cause_is_timeout(agent_server):
    def slow(request):
        time.sleep(1.0)
        return reply(request, {"contribution": 1})

    server = agent_server(slow)
    _, result = simulate(scenario_text(server.url, remote={"max_fallback_share": 1.0}, timeout=0.2, retries=0))
    assert result.status == "finished" and result.metrics["remote"]["failures"] == {"timeout": 9}


def test_the_token_variable_is_sent_as_a_bearer_header_and_a_missing_one_is_bad_input(agent_server, tmp_path):
    server = agent_server(give(1))
    env = {k: v for k, v in __import__("os").environ.items() if k != "H4_AGENT_TOKEN"}
    done, _ = cli_run(tmp_path, scenario_text(server.url, headers_env="H4_AGENT_TOKEN"), env={**env, "H4_AGENT_TOKEN": "t0ken"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert {h.get("Authorization") for h in server.headers} == {"Bearer t0ken"}
    assert "t0ken" not in (tmp_path / "agora.db").read_bytes().decode("latin-1")  # never stored
    path = tmp_path / "missing.yaml"
    path.write_text(scenario_text(server.url, headers_env="H4_AGENT_TOKEN"))
    missing = subprocess.run([AGORA, "run", str(path), "--db", str(tmp_path / "other.db")], capture_output=True, text=True,
                             timeout=120, env=env)
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "H4_AGENT_TOKEN" in missing.stderr and "Traceback" not in missing.stderr


def test_a_redirect_is_not_followed(agent_server):
    elsewhere = agent_server(give(1))
    server = agent_server(lambda request: (307, {"Location": elsewhere.url}))
    _, result = simulate(scenario_text(server.url, remote={"max_fallback_share": 1.0}))
    assert elsewhere.requests == []
    assert result.metrics["remote"]["failures"] == {"http_4xx": 9}


def test_a_large_reply_is_read_whole_and_one_over_the_limit_is_refused(agent_server):
    from agents.remote.wire import MAX_REPLY_BYTES

    big = {"reason": "x" * (MAX_REPLY_BYTES // 2)}  # arrives in many chunks
    server = agent_server(lambda request: {**reply(request, {"contribution": 2}), **big})
    _, result = simulate(scenario_text(server.url))
    assert result.status == "finished" and result.counters["fallbacks"] == 0

    huge = {"reason": "x" * MAX_REPLY_BYTES}
    server = agent_server(lambda request: {**reply(request, {"contribution": 2}), **huge})
    _, result = simulate(scenario_text(server.url, remote={"max_fallback_share": 1.0}))
    assert result.metrics["remote"]["failures"] == {"parse": 9}

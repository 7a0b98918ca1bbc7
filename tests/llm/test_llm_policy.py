"""The LLM policy end to end against a real HTTP stub server on 127.0.0.1 (no mock of the client)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from agents.llm.cache import LLMCacheMiss, LLMError
from simulator.cli import app
from simulator.run import run_scenario, stored_run
from simulator.scenario import ScenarioError, load_scenario_text
from simulator.store import Store

import competent  # tests/llm/competent.py (conftest puts tests/llm on the path)

LABELS = {"cooperate", "defect"}


def pd_text(base_url: str, *, rounds: int = 10, players: tuple[str, ...] = ("alice", "bob"), **llm) -> str:
    settings = {"base_url": base_url, "model": "stub", "cache": "off", "backoff_base": 0.001, **llm}
    return yaml.safe_dump({
        "name": "pd_llm_test",
        "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": list(players), "rounds": rounds},
        "agents": {"default": "llm"},
        "llm": settings,
    })


def is_json(text: str | None) -> bool:
    try:
        json.loads(text or "")
    except ValueError:
        return False
    return True


def test_malformed_replies_are_reasked_then_fall_back_and_are_counted(stub):
    server = stub(malformed_rate=0.3)
    result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=30, max_fallback_share=1.0)), seed=3)
    assert result.status == "finished"
    assert result.metrics["measures"]["rounds"] == 30
    c = result.counters
    broken = sum(not is_json(reply) for reply in server.replies)  # what the server actually sent
    assert broken > 0
    assert c["llm_parse_errors"] == broken
    first_round_failures = c["llm_reasks"]
    # every broken first reply is re-asked once; a broken re-ask falls back to the world's default action
    assert c["llm_parse_errors"] == first_round_failures + c["fallbacks"]
    assert c["llm_calls"] == len(server.requests) == 60 + first_round_failures
    # the re-ask carries the validation error back to the model
    reasks = [body for body in server.requests if len(body["messages"]) >= 2 and "not a valid action" in body["messages"][-1]["content"]]
    assert len(reasks) == first_round_failures
    assert all(reask["messages"][-2]["role"] == "assistant" for reask in reasks)


def test_every_applied_action_is_schema_valid_and_fallbacks_are_logged(stub, tmp_path):
    server = stub(malformed_rate=0.5)
    scenario = load_scenario_text(pd_text(server.base_url, rounds=20))
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(scenario, "", store, seed=5)
        events = store.events(run_id, limit=100_000)
    actions = [e for e in events if e["kind"] == "action"]
    assert len(actions) == 40 and all(e["data"]["action"] in LABELS for e in actions)
    assert sum(e["kind"] == "fallback" for e in events) == result.counters["fallbacks"] > 0
    assert sum(e["kind"] == "llm_parse_error" for e in events) == result.counters["llm_parse_errors"]
    assert sum(e["kind"] == "llm_call" for e in events) == result.counters["llm_calls"]


def test_429_and_500_are_retried_honouring_retry_after(stub):
    server = stub(fail_statuses=[429, 500, 503, 429], retry_after=0.2)
    text = pd_text(server.base_url, rounds=3, max_concurrency=1, max_retries=5)
    result = run_scenario(load_scenario_text(text), seed=1)
    assert result.status == "finished"
    assert server.statuses[:5] == [429, 500, 503, 429, 200]
    c = result.counters
    assert c["llm_retries"] == 4 and c["llm_requests"] == len(server.requests) == 6 + 4
    assert c["llm_errors"] == 0 and c["fallbacks"] == 0
    gaps = [later - earlier for earlier, later in zip(server.times[:4], server.times[1:5])]
    assert min(gaps) >= 0.2 - 0.01, gaps  # Retry-After waited for, though the backoff alone is ~1 ms


def test_retries_give_up_and_the_decision_falls_back(stub):
    server = stub(fail_statuses=[500] * 3)
    result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=2, max_concurrency=1, max_retries=2)), seed=1)
    assert result.status == "degraded"  # the strict default: any fallback is reported, not passed as data
    assert server.statuses[:4] == [500, 500, 500, 200]
    assert result.counters["llm_errors"] == 1 and result.counters["fallbacks"] == 1 == result.counters["llm_failed_http_5xx"]


def test_a_client_error_is_not_retried(stub):
    server = stub(fail_statuses=[400])
    result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=1, max_concurrency=1)), seed=1)
    assert server.statuses == [400, 200]
    assert result.counters["llm_retries"] == 0 and result.counters["llm_errors"] == 1


def test_call_budget_stops_the_run_and_keeps_partial_results(stub, tmp_path):
    server = stub()
    scenario = load_scenario_text(pd_text(server.base_url, rounds=10, budget={"calls": 7}))
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(scenario, "text", store, seed=2)
        stored = store.get_run(run_id)
        events = store.events(run_id, limit=100_000)
    # two calls per round: three rounds fit in 7 calls, the fourth would need 8
    assert result.status == stored["status"] == "budget_exhausted"
    assert "budget" in stored["summary"]["reason"]
    assert len(server.requests) == result.counters["llm_calls"] == 6
    rounds = [e for e in events if e["kind"] == "round"]
    assert len(rounds) == 3 == stored["metrics"]["measures"]["rounds"]
    assert len(events) == result.events == stored["summary"]["events"]
    totals = {"alice": sum(e["data"]["payoffs"][0] for e in rounds), "bob": sum(e["data"]["payoffs"][1] for e in rounds)}
    assert stored["metrics"]["payoffs"] == pytest.approx(totals)


def test_token_budget_stops_the_run(stub):
    server = stub()
    result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=10, budget={"tokens": 1500})), seed=2)
    assert result.status == "budget_exhausted"
    spent = result.counters["llm_prompt_tokens"] + result.counters["llm_completion_tokens"]
    assert spent >= 1500 and result.metrics["measures"]["rounds"] < 10


def test_same_time_decisions_are_in_flight_together_up_to_max_concurrency(stub):
    players = tuple(f"p{i}" for i in range(2))
    for limit, expected in ((1, 1), (2, 2)):
        server = stub(latency=0.3)
        run_scenario(load_scenario_text(pd_text(server.base_url, rounds=1, players=players, max_concurrency=limit)), seed=1)
        assert server.max_in_flight == expected


def test_record_then_replay_with_the_server_stopped_is_identical(stub, tmp_path):
    server = stub(malformed_rate=0.3)
    cache = str(tmp_path / "llm.db")
    text = pd_text(server.base_url, rounds=12, cache="record", cache_path=cache)
    with Store(tmp_path / "runs.db") as store:
        first_id, first = stored_run(load_scenario_text(text), text, store, seed=4)
        server.stop()
        replay_id, replay = stored_run(load_scenario_text(text, overrides=[("llm.cache", "replay")]), text, store, seed=4)
        first_events = store.events(first_id, limit=100_000)
        replay_events = store.events(replay_id, limit=100_000)
        assert store.get_run(first_id)["metrics"] == store.get_run(replay_id)["metrics"]
    assert first.counters["llm_parse_errors"] > 0  # the replay reproduces re-asks and fallbacks too
    assert replay.counters["llm_cache_hits"] == replay.counters["llm_calls"] == first.counters["llm_calls"]
    assert replay.counters["llm_requests"] == 0
    assert first_events == replay_events
    assert first.metrics == replay.metrics

    changed = load_scenario_text(text, overrides=[("llm.cache", "replay"), ("llm.system_prompt", "You are $agent_id. $format")])
    with pytest.raises(LLMCacheMiss, match="cache miss in replay mode"):
        run_scenario(changed, seed=4)


def test_cli_replay_miss_is_a_clear_error_without_traceback(stub, tmp_path):
    server = stub()
    cache = tmp_path / "llm.db"
    path = tmp_path / "pd.yaml"
    path.write_text(pd_text(server.base_url, rounds=3, cache_path=str(cache)))
    db = str(tmp_path / "runs.db")
    runner = CliRunner()
    recorded = runner.invoke(app, ["run", str(path), "--llm-cache", "record", "--db", db, "--json"])
    assert recorded.exit_code == 0, recorded.output
    server.stop()
    replayed = runner.invoke(app, ["run", str(path), "--llm-cache", "replay", "--db", db, "--json"])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["metrics"] == json.loads(recorded.stdout)["metrics"]
    missed = runner.invoke(app, ["run", str(path), "--llm-cache", "replay", "--set", "llm.temperature=0.5", "--db", db])
    assert missed.exit_code == 1
    assert "LLM cache miss in replay mode" in missed.output and "Traceback" not in missed.output
    bad = runner.invoke(app, ["run", str(path), "--llm-cache", "sometimes", "--db", db])
    assert bad.exit_code == 2 and "allowed: record, replay, off" in bad.output


def test_api_key_comes_from_the_named_variable_and_is_never_stored(stub, tmp_path, monkeypatch):
    secret = "sk-test-" + "7" * 24
    monkeypatch.setenv("AGORA_TEST_LLM_KEY", secret)
    server = stub(api_key=secret)
    cache = tmp_path / "llm.db"
    text = pd_text(server.base_url, rounds=3, api_key_env="AGORA_TEST_LLM_KEY", cache="record", cache_path=str(cache))
    with Store(tmp_path / "runs.db") as store:
        _, result = stored_run(load_scenario_text(text), text, store, seed=1)
    assert result.counters["llm_errors"] == 0 and set(server.statuses) == {200}
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), path
    monkeypatch.delenv("AGORA_TEST_LLM_KEY")
    with pytest.raises(LLMError, match="AGORA_TEST_LLM_KEY"):
        run_scenario(load_scenario_text(text), seed=1)


def test_output_modes_send_the_schema_the_way_each_endpoint_expects(stub):
    server = stub(responder=competent.reply)  # reads the tools, the schema or the prompt's spec, whichever is sent
    for mode in ("json_schema", "json_object_schema", "json_object", "prompt", "tools"):
        result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=1, mode=mode)), seed=1)
        assert result.counters["fallbacks"] == 0 and result.counters["llm_parse_errors"] == 0, mode
    formats = [body.get("response_format") for body in server.requests[::2]]
    assert formats[0]["type"] == "json_schema" and formats[0]["json_schema"]["strict"] is True
    assert formats[0]["json_schema"]["schema"]["additionalProperties"] is False
    assert formats[1]["type"] == "json_object" and formats[1]["schema"]["properties"]["action"]["enum"] == ["cooperate", "defect"]
    assert formats[2] == {"type": "json_object"}
    assert formats[3] is None and formats[4] is None
    prompt = server.requests[6]["messages"][0]["content"]
    assert '{"action": "cooperate" | "defect"}' in prompt and "$defs" not in prompt and '"enum"' not in prompt  # a spec, not a schema
    tools = server.requests[8]
    assert [t["function"]["name"] for t in tools["tools"]] == ["matrix_action"] and tools["tool_choice"] == "required"
    assert tools["tools"][0]["function"]["parameters"]["properties"]["action"]["enum"] == ["cooperate", "defect"]
    assert server.tool_calls[8][0]["name"] == "matrix_action"


def test_prompts_include_rules_history_window_and_overrides(stub):
    server = stub()
    run_scenario(load_scenario_text(pd_text(server.base_url, rounds=4, players=("alice", "bob"), history_window=2, max_concurrency=1)), seed=1)
    first, last = server.requests[0]["messages"], server.requests[-1]["messages"]
    assert "Maximise your total payoff" in first[0]["content"]  # world.rules(agent)
    assert len(first) == 2 and len(last) == 2 + 2 * 2  # system + 2 past turns + current
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]
    server.requests.clear()
    inline = "You are $agent_id in $world. $format"
    run_scenario(load_scenario_text(pd_text(server.base_url, rounds=1, system_prompt=inline)), seed=1)
    systems = sorted(body["messages"][0]["content"] for body in server.requests)  # sent concurrently: any order
    assert systems[0].startswith("You are alice in matrix_game. Reply with")
    assert systems[1].startswith("You are bob in matrix_game. Reply with")
    with pytest.raises(LLMError, match=r"unknown variable\(s\) \$nonsense"):
        run_scenario(load_scenario_text(pd_text(server.base_url, rounds=1, system_prompt="$nonsense")), seed=1)


def test_bad_llm_settings_are_reported_with_file_and_line(stub):
    text = "world: {type: matrix_game, game: prisoners_dilemma}\nagents: {default: llm}\nllm:\n  temprature: 0.5\n  cache: off\n"
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "pd.yaml")
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.path) == ("pd.yaml", 4, "llm.temprature")
    assert "did you mean 'temperature'" in problem.message
    bad_param = "world: {type: matrix_game, game: prisoners_dilemma}\nagents:\n  default: {policy: llm, params: {cache: replay}}\n"
    with pytest.raises(ScenarioError, match="unknown field"):
        load_scenario_text(bad_param, "pd.yaml")


def test_an_unreachable_endpoint_ends_the_run_with_a_clear_error(stub, tmp_path):
    server = stub()
    base_url = server.base_url
    server.stop()  # nothing listens on that port any more
    text = pd_text(base_url, rounds=3, max_retries=2)
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(load_scenario_text(text), text, store, seed=1)
        stored = store.get_run(run_id)
    assert result.status == stored["status"] == "failed"
    assert re.search("cannot reach the LLM endpoint.*failed after 3 attempts", stored["summary"]["reason"])
    assert result.counters["llm_requests"] == 6 and result.counters["llm_failed_connection"] == 2


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_llm_runs_work_in_a_forked_worker_after_one_in_the_parent(stub):
    import multiprocessing

    server = stub()
    text = pd_text(server.base_url, rounds=2)
    parent = run_scenario(load_scenario_text(text), seed=1)  # starts the LLM loop thread here
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_run_metrics, (text,)).get(timeout=60)
    assert child == parent.metrics


def _run_metrics(text: str) -> dict:
    return run_scenario(load_scenario_text(text), seed=1).metrics

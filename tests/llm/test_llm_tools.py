"""Tools mode, required discriminators, memory, profiles, personas and the Anthropic adapter.

End-to-end tests run real scenarios against the stub server on 127.0.0.1 with the
"competent" model (tests/llm/competent.py), which reads the tools (or schema, or
spec) it is offered and the conversation, and plays soundly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, Union

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

import competent
from agents.llm.cache import LLMError
from agents.llm.memory import Conversation, estimate_tokens
from agents.llm.profiles import profile_for
from agents.llm.schema import shape_of
from agents.llm.structured import ParseFailure, parse_reply, response_format
from agents.llm.tools import parse_tool_calls, tools_for
from simulator import worlds as world_registry
from simulator.run import run_scenario, stored_run
from simulator.scenario import load_scenario, load_scenario_text
from simulator.store import Store

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- toy action models, one per shape
class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["note"] = "note"
    text: str


class Pay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["pay"] = "pay"
    amount: float = Field(ge=0)


class Say(BaseModel):
    """Say something to someone."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["say"] = "say"
    to: str
    message: Annotated[Union[Note, Pay], Field(discriminator="kind")]


class Rest(BaseModel):
    """Do nothing for a while."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["rest"] = "rest"
    timeout: float | None = Field(None, gt=0)


Act = Annotated[Union[Say, Rest], Field(discriminator="kind")]


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Act


class Several(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actions: list[Act] = Field(min_length=1, max_length=3)


class Plain(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contribution: float = Field(ge=0, le=10)


def call(name: str, **args) -> dict:
    return {"id": f"c_{name}", "name": name, "arguments": json.dumps(args)}


def test_shapes_give_one_tool_per_kind_with_the_other_fields_as_parameters():
    assert shape_of(Choice).mode == "choice" and shape_of(Several).mode == "several" and shape_of(Plain).mode == "plain"
    assert shape_of(Several).max_items == 3
    tools = tools_for(Choice)
    assert [t["function"]["name"] for t in tools] == ["say", "rest"] == [t["function"]["name"] for t in tools_for(Several)]
    say = tools[0]["function"]
    assert say["description"] == "Say something to someone."
    assert set(say["parameters"]["properties"]) == {"to", "message"} and say["parameters"]["required"] == ["to", "message"]
    members = say["parameters"]["properties"]["message"]["anyOf"]
    assert all(m["required"][0] == "kind" for m in members)  # nested discriminators are required in what is sent
    assert "$defs" not in json.dumps(tools) and "$ref" not in json.dumps(tools) and '"title"' not in json.dumps(tools)
    assert tools[1]["function"]["parameters"]["properties"]["timeout"] == {"exclusiveMinimum": 0, "type": "number"}
    plain = tools_for(Plain)
    assert [t["function"]["name"] for t in plain] == ["plain"]
    assert plain[0]["function"]["parameters"]["required"] == ["contribution"]
    assert "reason" in tools_for(Choice, reason=True)[0]["function"]["parameters"]["properties"]


def test_tool_calls_become_one_action_in_order_and_bad_calls_are_rejected():
    action, _ = parse_tool_calls([call("say", to="bob", message={"kind": "pay", "amount": 2})], Choice)
    assert action == Choice(action=Say(to="bob", message=Pay(amount=2)))
    action, reasons = parse_tool_calls([call("say", to="a", message={"kind": "note", "text": "hi"}, reason="greet first"),
                                        call("rest", timeout=1.0)], Several)
    assert [a.kind for a in action.actions] == ["say", "rest"] and reasons == ["greet first"]
    assert parse_tool_calls([call("plain", contribution=4)], Plain)[0] == Plain(contribution=4)
    with pytest.raises(ParseFailure, match="exactly one"):
        parse_tool_calls([call("rest"), call("rest")], Choice)
    with pytest.raises(ParseFailure, match="unknown tool 'fly'; the tools offered now: say, rest"):
        parse_tool_calls([call("fly")], Choice)
    with pytest.raises(ParseFailure, match="called no tool"):
        parse_tool_calls([], Choice)
    with pytest.raises(ParseFailure, match="actions: List should have at most 3 items"):
        parse_tool_calls([call("rest")] * 4, Several)
    with pytest.raises(ParseFailure, match="not valid JSON"):
        parse_tool_calls([{"id": "x", "name": "rest", "arguments": "{"}], Choice)


def test_a_reply_missing_kind_is_never_accepted_in_any_mode():
    # pydantic alone fills a Literal from its default: Say's nested message without kind would otherwise pass as ...
    with pytest.raises(ParseFailure, match="action.message.kind: the field 'kind' is required"):
        parse_tool_calls([call("say", to="bob", message={"text": "hi"})], Choice)
    with pytest.raises(ParseFailure, match="kind"):
        parse_reply('{"action": {"to": "bob", "message": {"kind": "note", "text": "hi"}}}', Choice)
    with pytest.raises(ParseFailure, match="action.message.kind: the field 'kind' is required"):
        parse_reply('{"action": {"kind": "say", "to": "bob", "message": {"text": "hi"}}}', Choice)
    with pytest.raises(ParseFailure, match="actions.1.message.kind"):
        parse_reply('{"actions": [{"kind": "rest"}, {"kind": "say", "to": "b", "message": {"amount": 1}}]}', Several)
    assert parse_reply('{"action": {"kind": "say", "to": "b", "message": {"kind": "note", "text": "hi"}}}', Choice)[0].action.to == "b"
    for mode in ("json_schema", "json_object_schema"):
        fmt = response_format(mode, Choice)
        schema = fmt["json_schema"]["schema"] if mode == "json_schema" else fmt["schema"]
        for member in schema["properties"]["action"]["anyOf"]:
            assert "kind" in member["required"], mode


def test_replies_without_kind_from_a_server_are_counted_and_never_applied(stub):
    def no_kind(body):  # a model that drops the discriminator llama.cpp's grammar left optional
        return json.dumps({"actions": [{"query": "tacos"}]})

    server = stub(responder=no_kind)
    scenario, _ = load_scenario(ROOT / "scenarios" / "llm_marketplace.yaml", [
        ("llm.base_url", server.base_url), ("llm.cache", "off"), ("llm.max_fallback_share", 1.0), ("llm.model", "stub")])
    result = run_scenario(scenario, seed=1)
    c = result.counters
    assert c["llm_parse_errors"] == c["llm_calls"] > 0 and c["llm_failed_schema"] == c["llm_decisions"] == c["fallbacks"]
    assert "kind" in json.dumps(server.requests[0]["response_format"]["schema"]["properties"]["actions"]["items"]["anyOf"][0]["required"])


# --------------------------------------------------------------------------- every world, tools and JSON mode
def llm_scenarios() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "scenarios").glob("llm_*.yaml")):
        world = (yaml.safe_load(path.read_text()).get("world") or {}).get("type")
        found.setdefault(world, path)
    return found


@pytest.mark.parametrize("mode", ["tools", "json_object_schema", "json_schema"])
@pytest.mark.parametrize("world", sorted(world_registry.load_all()))
def test_every_world_is_playable_by_the_competent_stub(world, mode, stub, tmp_path):
    scenarios = llm_scenarios()
    assert world in scenarios, f"world {world!r} has no scenarios/llm_*.yaml"
    server = stub(responder=competent.reply)
    scenario, text = load_scenario(scenarios[world], [
        ("llm.base_url", server.base_url), ("llm.cache", "off"), ("llm.mode", mode), ("llm.model", "stub"), ("llm.budget", {})])
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(scenario, text, store, seed=1)
        events = store.events(run_id, limit=1_000_000)
    c = result.counters
    assert result.status == "finished", result.reason
    assert c["llm_decisions"] > 0 and c["fallbacks"] == 0 and c["llm_parse_errors"] == 0
    assert c["llm_calls"] == c["llm_decisions"] == sum(e["kind"] == "llm_call" for e in events)
    if mode == "tools":
        assert all(body.get("tools") and body["tool_choice"] == "required" for body in server.requests)
        assert all(calls for calls in server.tool_calls)  # every action came as tool calls
    else:
        assert all("$defs" not in body["messages"][0]["content"] for body in server.requests)


# --------------------------------------------------------------------------- the marketplace at scale
def market(base_url: str, *, provider: str = "openai", customers: int = 100, businesses: int = 300, world: dict | None = None,
           **llm) -> tuple:
    overrides = [
        ("llm.base_url", base_url), ("llm.provider", provider), ("llm.cache", "off"), ("llm.mode", "tools"),
        ("llm.model", "stub"), ("llm.max_concurrency", 16), ("llm.budget", {}), ("llm.history_window", 50),
        ("world.synthetic", {"domain": "restaurants", "customers": customers, "businesses": businesses, "seed": 7}),
        ("world.search", {"mechanism": "lexical", "page_size": 5}),
        ("world.latency", {"search": 0.5, "message": 0.2, "fetch": 0.05, "action": 0.05}), ("world.deadline", 30.0),
        ("world.max_steps", 100), *((f"world.{k}", v) for k, v in (world or {}).items()),
        *((f"llm.{k}", v) for k, v in llm.items()),
    ]
    return load_scenario(ROOT / "scenarios" / "llm_marketplace_tools.yaml", overrides)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_competent_model_buys_through_tool_calls_in_the_100x300_market(provider, stub, monkeypatch):
    monkeypatch.setenv("AGORA_TEST_ANTHROPIC_KEY", "sk-ant-test")
    server = stub(responder=competent.reply, api_key=None)
    scenario, _ = market(server.base_url, provider=provider,
                         **({"api_key_env": "AGORA_TEST_ANTHROPIC_KEY"} if provider == "anthropic" else {}))
    result = run_scenario(scenario, seed=1)
    assert result.status == "finished", result.reason
    m, c = result.metrics["measures"], result.counters
    assert m["customers_paid"] >= 95 and m["customers"] == 100
    assert m["welfare_fraction_of_optimal"] >= 0.9
    assert c["fallbacks"] == 0 and c["llm_parse_errors"] == 0
    assert all(calls for calls in server.tool_calls)  # every decision was made by tool calls
    assert max(len(calls) for calls in server.tool_calls) > 1  # several messages in one reply (the 'several' shape)
    if provider == "anthropic":
        wire = server.wire[0]
        assert "system" in wire and wire["tool_choice"] == {"type": "any"} and "input_schema" in wire["tools"][0]
        assert server.headers[0].get("x-api-key") == "sk-ant-test" and server.headers[0].get("anthropic-version")
        later = next(w for w in server.wire if any(isinstance(msg["content"], list) and any(
            b.get("type") == "tool_result" for b in msg["content"]) for msg in w["messages"]))
        assert any(b.get("type") == "tool_use" for msg in later["messages"] if msg["role"] == "assistant" for b in msg["content"])
        assert [msg["role"] for msg in later["messages"]] == ["user", "assistant"] * (len(later["messages"]) // 2) + (
            ["user"] if len(later["messages"]) % 2 else [])  # roles alternate, as the Messages API requires


def test_tool_calls_and_their_results_are_in_the_conversation(stub, tmp_path):
    server = stub(responder=competent.reply)
    scenario, text = market(server.base_url, customers=3, businesses=9, reason=True)
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(scenario, text, store, seed=1)
        rows = store.transcript(run_id, agent="customer_0001", limit=1000)
    assert result.status == "finished" and result.counters["fallbacks"] == 0
    second = rows[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool", "user"]
    assert second[2]["tool_calls"][0]["function"]["name"] == "search"
    assert second[3]["tool_call_id"] == second[2]["tool_calls"][0]["id"] and json.loads(second[3]["content"])["action"] == "search"
    assert "last_result" not in second[-1]["content"]  # the result went into the tool message
    assert rows[0]["reason"] == "search is the next step of the plan" and rows[0]["tool_calls"][0]["name"] == "search"
    assert "reason" not in json.dumps(rows[0]["action"])
    # only what the role may do now: payment only once a payable proposal is held; businesses never search or finish
    def message_kinds(body):
        send = next(t for t in body["tools"] if t["function"]["name"] == "send_message")["function"]["parameters"]
        message = send["properties"]["message"]
        return sorted(o["properties"]["kind"]["const"] for o in message.get("anyOf", [message]))

    customers = [b for b in server.requests if '"role":"customer"' in b["messages"][-1]["content"]]
    businesses = [b for b in server.requests if '"role":"business"' in b["messages"][-1]["content"]]
    assert message_kinds(customers[0]) == ["text"] and ["payment", "text"] in [message_kinds(b) for b in customers]
    assert {tuple(message_kinds(b)) for b in businesses} == {("order_proposal", "text")}
    assert not {"search", "finish"} & {t["function"]["name"] for b in businesses for t in b["tools"]}


# --------------------------------------------------------------------------- memory
def test_the_trim_never_exceeds_the_context_in_a_50_step_marketplace_run(stub, monkeypatch):
    # SmolLM2's 2,048 tokens; the stub refuses longer prompts (characters / 4, tools included) with HTTP 400.
    # Customers page through up to 20 result pages, so they use most of their 50 steps and their threads grow.
    monkeypatch.setattr(competent, "MAX_PAGES", 20)
    server = stub(responder=competent.reply, context_limit=2048)
    scenario, _ = market(server.base_url, customers=4, businesses=40, model="smollm2-135m-instruct", max_tokens=160,
                         max_fallback_share=1.0, world={"max_steps": 50, "deadline": 200.0})
    result = run_scenario(scenario, seed=1)
    c = result.counters
    assert set(server.statuses) == {200} and c["llm_failed_context_length"] == 0 and c["fallbacks"] == 0
    assert max(competent_prompt_tokens(b) for b in server.requests) <= 2048 - 160  # room left for the reply
    mine = [b for b in server.requests if '"you":"customer_0001"' in b["messages"][-1]["content"]]
    assert len(mine) >= 30  # a long run: most of its 50 steps
    past_turns = [sum(m["role"] == "assistant" for m in b["messages"]) for b in mine]
    assert max(past_turns) >= 1  # memory is on: past turns (tool calls and their results) are sent ...
    assert any(turns < k for k, turns in enumerate(past_turns)) # ... and the oldest are trimmed to fit
    cut = [b for b in mine if "omitted_older" in b["messages"][-1]["content"]]
    assert cut  # where even the observation alone outgrew the context, its oldest items were cut, not the request failed


def competent_prompt_tokens(body: dict) -> int:
    from stub_server import prompt_chars

    return prompt_chars(body) // 4


def test_conversation_trim_drops_oldest_turns_whole_and_refuses_what_cannot_fit():
    memory = Conversation(max_turns=100)
    for k in range(30):
        memory.add({"role": "user", "content": f"observation {k} " + "x" * 200},
                   {"role": "assistant", "content": None, "tool_calls": [{"id": f"c{k}", "type": "function",
                                                                           "function": {"name": "rest", "arguments": "{}"}}]})
        memory.answer_calls({"ok": True, "step": k})
    system, current = {"role": "system", "content": "rules"}, [{"role": "user", "content": "now"}]
    sent = memory.messages(system, current, budget=600, chars_per_token=3.0)
    assert estimate_tokens(sent, 3.0) <= 600 and sent[0] == system and sent[-1] == current[0]
    assert 0 < memory.dropped < 30 and "observation 29" in sent[1 + 3 * (len(sent) - 2) // 3 - 3]["content"]
    for i, message in enumerate(sent):  # every tool call is followed by its result
        for tool_call in message.get("tool_calls") or []:
            assert sent[i + 1]["role"] == "tool" and sent[i + 1]["tool_call_id"] == tool_call["id"]
    assert sent[1]["role"] == "user"  # whole turns only
    with pytest.raises(LLMError, match="without any history but the budget is 10"):
        memory.messages(system, [{"role": "user", "content": "y" * 100}], budget=10, chars_per_token=3.0)


def test_a_prompt_that_cannot_fit_is_never_sent(stub):
    server = stub(responder=competent.reply)
    scenario, _ = market(server.base_url, customers=2, businesses=4, context_tokens=256, max_fallback_share=1.0)
    result = run_scenario(scenario, seed=1)
    c = result.counters
    assert c["llm_failed_context_length"] == c["llm_decisions"] > 0 and len(server.requests) == 0
    assert result.status == "finished"


# --------------------------------------------------------------------------- profiles, personas
def test_reasoning_profiles_send_completion_tokens_and_effort_but_no_sampling(stub):
    from agents.llm.policy import LLMPolicy
    from agents.llm.config import LLMSettings
    import numpy as np

    assert profile_for("o3-mini").kind == "reasoning" and profile_for("gpt-4o-mini").kind == "chat"
    assert profile_for("smollm2-135m-instruct").context_tokens == 2048
    assert profile_for("my-model", "reasoning", 4096).context_tokens == 4096
    messages = [{"role": "user", "content": "hi"}]
    body = LLMPolicy(LLMSettings(model="o3-mini", reasoning_effort="low", max_tokens=900), np.random.default_rng(0)).body(messages, Plain, 7)
    assert body["max_completion_tokens"] == 900 and body["reasoning_effort"] == "low"
    assert not {"temperature", "max_tokens", "top_p"} & set(body)
    chat = LLMPolicy(LLMSettings(model="house-model", profile="chat", top_p=0.9), np.random.default_rng(0)).body(messages, Plain, 7)
    assert chat["temperature"] == 0.0 and chat["max_tokens"] == 256 and "reasoning_effort" not in chat
    forced = LLMPolicy(LLMSettings(model="house-model", profile="reasoning"), np.random.default_rng(0)).body(messages, Plain, 7)
    assert "temperature" not in forced and forced["max_completion_tokens"] == 256


def test_personas_and_prompts_per_role_fill_variables_from_the_observation(stub):
    server = stub(responder=competent.reply)
    scenario, _ = market(server.base_url, customers=2, businesses=4)
    text = yaml.safe_dump({
        **yaml.safe_load((ROOT / "scenarios" / "llm_marketplace_tools.yaml").read_text()),
        "agents": {
            "customer": {"policy": "llm", "params": {"persona": "You shop for a frugal student who asked: $request_text"}},
            "business": {"policy": "llm", "params": {"system_prompt": "You run $profile_name. Menu: $profile_menu. $rules $format"}},
        },
    })
    overrides = {"base_url": server.base_url, "cache": "off", "model": "stub", "budget": {}}
    data = yaml.safe_load(text)
    data["llm"].update(overrides)
    data["world"]["synthetic"] = {"domain": "restaurants", "customers": 2, "businesses": 4, "seed": 7}
    result = run_scenario(load_scenario_text(yaml.safe_dump(data)), seed=1)
    assert result.counters["fallbacks"] == 0
    systems = [b["messages"][0]["content"] for b in server.requests]
    customer = next(s for s in systems if s.startswith("You shop for"))
    assert "who asked: Please find a restaurant that offers" in customer and "$" not in customer.split("\n")[0]
    business = next(s for s in systems if s.startswith("You run "))
    assert '"' in business and "Menu: {" in business
    data["agents"]["customer"]["params"]["persona"] = "I am $nickname"
    with pytest.raises(LLMError, match=r"unknown variable\(s\) \$nickname.*\$request_text"):
        run_scenario(load_scenario_text(yaml.safe_dump(data)), seed=1)


def test_the_cli_prints_prompt_tokens_per_call(stub, tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    server = stub(responder=competent.reply)
    path = tmp_path / "pd.yaml"
    path.write_text(yaml.safe_dump({
        "world": {"type": "matrix_game", "game": "prisoners_dilemma", "players": ["alice", "bob"], "rounds": 3},
        "agents": {"default": "llm"},
        "llm": {"base_url": server.base_url, "model": "stub", "cache": "off", "mode": "tools"},
    }))
    result = CliRunner().invoke(app, ["run", str(path), "--db", str(tmp_path / "runs.db")])
    assert result.exit_code == 0, result.output
    sizes = [competent_prompt_tokens(body) for body in server.requests]
    assert f"llm prompt tokens per call: mean {sum(sizes) / len(sizes):,.0f}, max {max(sizes):,}" in result.output


def test_a_running_summary_by_the_same_model_keeps_what_the_trim_drops(stub, monkeypatch, tmp_path):
    def notes_or_play(body):
        if body["messages"][0]["content"].startswith("You keep the running notes"):
            turns = body["messages"][1]["content"].count("[assistant]")
            return f"notes: {turns} earlier turns summarised"
        return competent.reply(body)

    monkeypatch.setattr(competent, "MAX_PAGES", 20)
    server = stub(responder=notes_or_play, context_limit=2048)
    scenario, text = market(server.base_url, customers=2, businesses=40, model="smollm2-135m-instruct", max_tokens=160,
                            summary=True, max_fallback_share=1.0, world={"max_steps": 30, "deadline": 200.0})
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(scenario, text, store, seed=1)
        rows = store.transcript(run_id, agent="customer_0001", limit=1000)
    c = result.counters
    assert set(server.statuses) == {200} and c["llm_failed_context_length"] == 0 and c["fallbacks"] == 0
    assert c["llm_summaries"] > 0 and c["llm_calls"] == c["llm_decisions"] + c["llm_summaries"]
    summaries = [r for r in rows if r["attempt"] == 2]
    assert summaries and all(r["reply"].startswith("notes: ") and r["action"] is None for r in summaries)
    later = [r for r in rows if r["attempt"] == 0 and r["decision"] > summaries[0]["decision"]]
    assert later and all("Your notes on earlier turns: notes: " in r["messages"][0]["content"] for r in later)
    assert max(competent_prompt_tokens(b) for b in server.requests) <= 2048 - 160

"""Structured output, retry timing rules and cache keys, tested without a network."""

from __future__ import annotations

import email.utils
import json
import random
import time
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field

from agents.llm.cache import LLMCache, LLMCacheMiss, call_key, request_hash
from agents.llm.client import backoff_delay, retry_after_seconds
from agents.llm.config import LLMRunSettings, LLMSettings
from agents.llm.structured import ParseFailure, extract_json, parse_action, response_format, strict_schema


class Item(BaseModel):
    name: str
    quantity: int = Field(1, ge=1)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["order"] = "order"
    items: list[Item]
    note: str | None = None


def objects(node):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from objects(item)


def test_strict_schema_meets_openai_strict_rules_on_every_object():
    schema = strict_schema(Order.model_json_schema())
    found = list(objects(schema))
    assert len(found) == 2  # Order and the Item definition
    for node in found:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    assert "default" not in str(schema)
    assert "default" in str(Order.model_json_schema())  # the original is untouched


def test_response_format_per_mode():
    assert response_format("json_schema", Order)["json_schema"]["strict"] is True
    sent = response_format("json_object_schema", Order)["schema"]
    assert sent["required"] == ["kind", "items"]  # the discriminator is required in what is sent (pydantic leaves it out)
    assert "kind" not in Order.model_json_schema()["required"]
    assert "$defs" not in json.dumps(sent) and "title" not in json.dumps(sent)  # references inlined, titles dropped
    assert sent["properties"]["items"]["items"]["required"] == ["name"]


def test_grammar_schema_drops_only_bounds_llama_cpp_cannot_expand():
    class Note(BaseModel):
        short: str = Field(max_length=20)
        long: str = Field(max_length=10_000)

    schema = response_format("json_object_schema", Note)["schema"]
    assert schema["properties"]["short"]["maxLength"] == 20
    assert "maxLength" not in schema["properties"]["long"]
    assert Note.model_json_schema()["properties"]["long"]["maxLength"] == 10_000
    assert response_format("json_object", Order) == {"type": "json_object"}
    assert response_format("prompt", Order) is None and response_format("tools", Order) is None
    with pytest.raises(ValueError, match="allowed: tools, json_schema"):
        response_format("xml", Order)


@pytest.mark.parametrize("reply", [
    '{"kind": "order", "items": [{"name": "tea"}]}',
    '```json\n{"kind": "order", "items": [{"name": "tea"}]}\n```',
    'Sure! Here you go:\n```\n{"kind": "order", "items": [{"name": "tea"}]}\n```\nEnjoy.',
    'My action is {"kind": "order", "items": [{"name": "tea"}]} as requested.',
])
def test_replies_in_fences_or_prose_parse(reply):
    assert parse_action(reply, Order) == Order(items=[Item(name="tea")])


def test_invalid_replies_say_which_field_and_why():
    with pytest.raises(ParseFailure, match=r"items\.0\.quantity: Input should be greater than or equal to 1 \(got 0\)"):
        parse_action('{"kind": "order", "items": [{"name": "tea", "quantity": 0}]}', Order)
    with pytest.raises(ParseFailure, match="kind: the field 'kind' is required") as caught:
        parse_action('{"items": [{"name": "tea"}]}', Order)  # pydantic alone would fill kind from its default
    assert caught.value.kind == "schema"
    with pytest.raises(ParseFailure, match="not valid JSON"):
        parse_action('{"items": [', Order)
    with pytest.raises(ParseFailure, match="empty"):
        parse_action("  ", Order)
    with pytest.raises(ParseFailure, match="must be a JSON object"):
        parse_action("[1, 2]", Order)
    with pytest.raises(ParseFailure, match="extra: Extra inputs are not permitted"):
        parse_action('{"kind": "order", "items": [], "extra": 1}', Order)
    assert extract_json("no json here") == "no json here"


def test_retry_after_forms():
    assert retry_after_seconds(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(httpx.Headers({"Retry-After": date})) <= 30
    assert retry_after_seconds(httpx.Headers({})) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None


def test_backoff_is_jittered_exponential_capped_and_honours_retry_after():
    rng = random.Random(0)
    for attempt in range(8):
        cap = min(4.0, 0.5 * 2**attempt)
        delays = [backoff_delay(attempt, 0.5, 4.0, None, rng) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= cap
        assert max(delays) > 0.8 * cap  # full jitter spans the range
    assert all(backoff_delay(0, 0.5, 4.0, 2.5, rng) >= 2.5 for _ in range(50))


def test_cache_keys_distinguish_ordinals_and_replay_misses_are_errors(tmp_path):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    same = {"temperature": 0, "messages": [{"content": "hi", "role": "user"}], "model": "m"}
    assert request_hash(body) == request_hash(same)  # key order does not matter
    assert request_hash(body) != request_hash({**body, "temperature": 0.5})
    digest = request_hash(body)
    assert call_key(digest, 0) != call_key(digest, 1)
    cache = LLMCache(tmp_path / "c.db", "record")
    cache.put(call_key(digest, 0), body, 0, {"content": "a", "usage": {"prompt_tokens": 3, "completion_tokens": 1}, "latency_ms": 12.5})
    got = cache.get(call_key(digest, 0))
    assert got["content"] == "a" and got["usage"]["prompt_tokens"] == 3 and got["latency_ms"] == 12.5
    assert cache.get(call_key(digest, 1)) is None
    cache.close()
    with pytest.raises(LLMCacheMiss, match="does not exist"):
        LLMCache(tmp_path / "missing.db", "replay")


def test_seat_settings_override_only_what_the_seat_sets():
    run = LLMRunSettings(model="big", temperature=0.2, max_concurrency=4)
    seat = run.seat(LLMSettings(temperature=0.9))
    assert (seat.model, seat.temperature) == ("big", 0.9)
    assert LLMRunSettings.model_validate({"cache": False}).cache == "off"  # YAML's bare `off`

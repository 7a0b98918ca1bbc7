"""The remote agents' wire format, version 1: one JSON request per decision, one JSON reply.

Request (``POST <url>``, ``Content-Type: application/json``)::

    {"v": 1,
     "world": "public_goods", "time": 3.0,
     "agent": {"id": "ann", "role": "player"},
     "decision": 4,           # this agent's decision number (0, 1, ...)
     "attempt": 0,            # 1: asked again after an invalid reply, whose error is in "error"
     "error": null,
     "rules": "...",          # the world's rules as this agent knows them (null if the world cannot say)
     "observation": {...},
     "action": {"shape": "plain" | "choice" | "several",
                "kinds": ["search", ...],    # choice/several: the ``kind`` of each allowed action
                "max_actions": 5,            # several: most actions in one reply (null: no bound)
                "schema": {...}}}            # the action model's JSON Schema (``kind`` required)

Reply (HTTP 200, JSON)::

    {"v": 1, "action": {...}, "reason": "optional free text, kept in the transcript"}

``action`` is an instance of the schema: ``{"contribution": 5}`` (plain),
``{"action": {"kind": "search", "query": "pizza"}}`` (choice) or
``{"actions": [{"kind": ...}, ...]}`` (several). The shapes are the
action-model contract every world follows (a single field ``action`` holding a
union discriminated by ``kind``; a single field ``actions`` holding a bounded
list of such; anything else is plain).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from agents.llm.schema import missing_kind, schema_view, shape_of
from agents.llm.structured import describe_validation

VERSION = 1
MAX_REPLY_BYTES = 1 << 20  # a reply larger than this is refused unread (a decision is small)


class InvalidReply(ValueError):
    """A reply that is not a valid action; ``kind`` is ``parse`` (not a v1 reply) or ``schema`` (an invalid action)."""

    def __init__(self, message: str, kind: str = "parse") -> None:
        super().__init__(message)
        self.kind = kind


def _require_kind(node: Any) -> None:
    """Mark ``kind`` required wherever an object schema has it (pydantic leaves a Literal with a default optional)."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict) and "kind" in properties and "kind" not in node.get("required", []):
            node["required"] = ["kind", *node.get("required", [])]
        for value in node.values():
            _require_kind(value)
    elif isinstance(node, list):
        for item in node:
            _require_kind(item)


@lru_cache(maxsize=512)
def action_description(model: type[BaseModel]) -> dict[str, Any]:
    """The request's ``action`` member for a model (cached: treat as read-only)."""
    shape = shape_of(model)  # the LLM's reading of the same contract: choice / several / plain
    schema = model.model_json_schema()
    _require_kind(schema)
    kinds = [member.kind for member in shape.members] if shape.mode != "plain" else []
    return {"shape": shape.mode, "kinds": kinds, "max_actions": shape.max_items, "schema": schema}


def request(*, world: str, time: float, agent_id: str, role: str, decision: int, attempt: int, error: str | None,
            rules: str | None, observation: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    return {
        "v": VERSION, "world": world, "time": time, "agent": {"id": agent_id, "role": role},
        "decision": decision, "attempt": attempt, "error": error, "rules": rules,
        "observation": observation, "action": action_description(model),
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON; numpy values and non-string keys as orjson serialises them, anything else as its ``str``."""
    try:
        return orjson.dumps(payload, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(payload, separators=(",", ":"), default=str).encode()


def parse_reply(body: bytes, model: type[BaseModel]) -> tuple[BaseModel, str | None]:
    """A reply's action, validated against ``model``, and its ``reason``; raises ``InvalidReply`` saying why not."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidReply(f"the reply is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidReply(f"the reply must be a JSON object, got {type(data).__name__}")
    if data.get("v") != VERSION:
        raise InvalidReply(f"the reply's 'v' is {data.get('v')!r}; allowed: {VERSION}")
    if not isinstance(data.get("action"), dict):
        raise InvalidReply("the reply has no 'action' object; allowed: {\"v\": 1, \"action\": {...}}")
    action = data["action"]
    reason = data.get("reason")
    missing = missing_kind(schema_view(model), action)   # pydantic would fill a single member's default kind
    if missing:
        raise InvalidReply(missing, kind="schema")
    try:
        return model.model_validate(action), reason if isinstance(reason, str) else None
    except ValidationError as exc:
        raise InvalidReply(describe_validation(exc), kind="schema") from None

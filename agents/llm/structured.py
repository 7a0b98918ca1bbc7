"""Structured actions: a world's pydantic action model as the LLM's output schema, and back.

The action model's JSON Schema is sent the way the endpoint understands it
(``mode``):

- ``json_schema``: OpenAI structured outputs,
  ``{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}``;
  strict mode wants every property required and ``additionalProperties: false``
  on every object, so the schema is tightened first (``strict_schema``).
- ``json_object_schema``: llama.cpp / llama-cpp-python server,
  ``{"type": "json_object", "schema": ...}`` (the server compiles it to a
  grammar; bounds too large for that are dropped first, ``grammar_schema``).
- ``json_object``: JSON mode without a schema (the prompt's spec says what to send).
- ``prompt``: no ``response_format`` at all (the prompt's spec says what to send).

The schema sent is ``agents.llm.schema.compact_schema``: references inlined,
titles dropped, and the discriminator ``kind`` required (pydantic leaves a
``Literal`` with a default optional, and llama.cpp's grammar would let a model
omit it). A reply without a ``kind`` the schema requires is rejected too
(``missing_kind``), even though pydantic would fill it in. With ``reason`` on,
the top-level object also takes an optional ``reason`` string, kept in the
transcript and dropped before validation.

Replies are parsed leniently (code fences and prose around one JSON object are
stripped) and validated strictly with pydantic; a failure gives a short,
field-by-field message that is sent back to the model in the one re-ask.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from agents.llm.schema import compact_schema, missing_kind, schema_view

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


@lru_cache(maxsize=512)
def action_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of an action model (what the world declares as legal); cached, treat as read-only."""
    return model.model_json_schema()


@lru_cache(maxsize=512)
def schema_json(model: type[BaseModel]) -> str:
    """The action schema as compact JSON text, as shown in prompts (``prompt_schema``)."""
    return json.dumps(prompt_schema(action_schema(model)), separators=(",", ":"))


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that OpenAI's strict mode accepts.

    Every object gets ``additionalProperties: false`` and lists all its
    properties as required; ``default`` values are dropped (strict mode rejects
    them). Validation of the reply still uses the original pydantic model.
    """
    schema = copy.deepcopy(schema)

    def tighten(node: dict[str, Any]) -> None:
        node.pop("default", None)
        if node.get("type") == "object" or "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node.get("properties", {}))

    _each_object(schema, tighten)
    return schema


GRAMMAR_MAX_REPEAT = 256


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that llama.cpp can compile to a grammar.

    llama.cpp expands length and item bounds into repeated grammar rules and
    rejects (or chokes on) large ones such as ``maxLength: 10000``; bounds above
    ``GRAMMAR_MAX_REPEAT`` are dropped. The reply is still validated against
    the full action model, so nothing is lost but the server-side guide.
    """
    schema = copy.deepcopy(schema)

    def relax(node: dict[str, Any]) -> None:
        for key in ("maxLength", "minLength", "maxItems", "minItems"):
            if isinstance(node.get(key), int) and node[key] > GRAMMAR_MAX_REPEAT:
                del node[key]

    _each_object(schema, relax)
    return schema


def _each_object(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Call ``visit`` on every JSON object in a schema, parents before children (may edit them)."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _each_object(value, visit)
    elif isinstance(node, list):
        for item in node:
            _each_object(item, visit)


def sent_schema(model: type[BaseModel], reason: bool = False) -> dict[str, Any]:
    """The schema sent to the endpoint: compact, discriminators required, plus an optional ``reason``."""
    schema = compact_schema(model)
    if reason and "reason" not in schema.get("properties", {}):
        schema["properties"] = {"reason": {"type": "string", "description": "your reasoning (optional)"}, **schema.get("properties", {})}
    return schema


@lru_cache(maxsize=1024)
def response_format(mode: str, model: type[BaseModel], reason: bool = False) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``mode`` (``None``: send none); cached, read-only."""
    schema = sent_schema(model, reason)
    if mode == "json_schema":
        name = re.sub(r"[^a-zA-Z0-9_-]", "_", model.__name__)[:64] or "action"
        return {"type": "json_schema", "json_schema": {"name": name, "schema": strict_schema(schema), "strict": True}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": grammar_schema(schema)}
    if mode == "json_object":
        return {"type": "json_object"}
    if mode in ("prompt", "tools"):  # tools mode sends tools instead
        return None
    raise ValueError(f"unknown structured-output mode {mode!r}; allowed: tools, json_schema, json_object_schema, json_object, prompt")


def extract_json(text: str) -> str:
    """The JSON object in a reply: code fences stripped, then the outermost ``{...}`` if prose surrounds it."""
    text = text.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{"):
        start, end = text.find("{"), text.rfind("}")
        if start != -1 and end > start:
            text = text[start : end + 1]
    return text


class ParseFailure(ValueError):
    """A reply that is not a valid action; the message says why, field by field.

    ``kind`` classifies it for the failure policy: ``parse`` (empty, not JSON,
    not an object) or ``schema`` (JSON that the action model rejects).
    """

    def __init__(self, message: str, kind: str = "parse") -> None:
        super().__init__(message)
        self.kind = kind


def parse_action(text: str | None, model: type[BaseModel]) -> BaseModel:
    """Parse and validate one reply into ``model``; raises ``ParseFailure`` with a short reason."""
    return parse_reply(text, model)[0]


def parse_reply(text: str | None, model: type[BaseModel], reason: bool = False) -> tuple[BaseModel, str | None]:
    """The action in a reply and the ``reason`` it gave (if ``reason`` is on); raises ``ParseFailure``."""
    if not text or not text.strip():
        raise ParseFailure("the reply was empty")
    candidate = extract_json(text)
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise ParseFailure(f"the reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ParseFailure(f"the reply must be a JSON object, got {type(data).__name__}")
    given = None
    if reason and "reason" not in model.model_fields:
        given = data.pop("reason", None)
        given = str(given) if given not in (None, "") else None
    missing = missing_kind(schema_view(model), data)
    if missing:
        raise ParseFailure(missing, kind="schema")
    try:
        return model.model_validate(data), given
    except ValidationError as exc:
        raise ParseFailure(describe_validation(exc), kind="schema") from None


def describe_validation(exc: ValidationError, limit: int = 5) -> str:
    """``field: message (got value)`` for the first few errors, on one line."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "(object)"
        message = error["msg"]
        if error["type"] not in ("missing",) and "input" in error and not isinstance(error["input"], (dict, list)):
            message += f" (got {error['input']!r})"
        parts.append(f"{where}: {message}")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def prompt_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as shown in a prompt: pydantic's ``title`` keys dropped (they only restate names)."""

    def strip(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            return {k: strip(v, k == "properties") for k, v in node.items() if in_properties or k != "title"}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return strip(schema)


@lru_cache(maxsize=1024)
def schema_text(model: type[BaseModel]) -> str:
    """The ``$schema`` prompt variable: the compact schema as JSON (for custom templates that want it).

    Cached per action model (worlds cache their model classes): it is filled in for every prompt, and
    copying the schema each time was 4 ms of a marketplace decision's CPU."""
    return json.dumps(schema_view(model, closed=False), separators=(",", ":"))


def format_instructions(model: type[BaseModel]) -> str:
    """What the prompt says about the output format (the schema is always included)."""
    text = schema_json(model)
    return (
        "Reply with exactly one JSON object and nothing else (no prose, no code fences). "
        f"It must conform to this JSON Schema:\n{text}"
    )


def reask_text(error: str) -> str:
    """The follow-up message after an invalid reply."""
    return (
        f"Your reply was not a valid action: {error}. "
        "Reply again with only one JSON object as specified."
    )

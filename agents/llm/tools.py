"""Tool calling: a world's action model as function tools, and a reply's tool calls back to one action.

Contract 1 (``agents.llm.schema.shape_of``): a ``choice`` model gives one tool
per member, named by its ``kind`` and taking the member's other fields; a
``several`` model the same tools, and one reply may carry up to ``maxItems``
calls, applied in order; a ``plain`` model one tool taking the model's fields.
With ``reason`` on, every tool also takes an optional free-text ``reason``
(put first, so a model writes it before the arguments), which is kept in the
transcript and dropped before validation.

Tools are in OpenAI's chat-completions form (``{"type": "function",
"function": {name, description, parameters}}``); ``agents.llm.anthropic``
translates them for the Messages API.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.llm.schema import Shape, missing_kind, shape_of
from agents.llm.structured import ParseFailure, describe_validation

REASON = {"type": "string"}  # what it is for is said once, in the prompt (agents.llm.policy.tools_text)


def _optional(node: Any) -> Any:
    """An optional parameter whose default is null, as its non-null type: leaving it out gives the null."""
    if isinstance(node, dict) and node.get("default", 0) is None and isinstance(node.get("anyOf"), list):
        options = [o for o in node["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
            return {**rest, **options[0]}
    return node


def _parameters(shape: Shape, member_schema: dict[str, Any], reason: bool) -> dict[str, Any]:
    required_names = set(member_schema.get("required") or [])
    props = {name: _lean(sub if name in required_names else _optional(sub)) for name, sub in (member_schema.get("properties") or {}).items()}
    required = list(member_schema.get("required") or [])
    if shape.mode != "plain" or "kind" in props:
        props.pop("kind", None)  # the tool's name is the kind
        required = [r for r in required if r != "kind"]
    if reason:
        props = {"reason": REASON, **props}
    params: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        params["required"] = required
    return params


HUGE = 1e5  # numeric bounds at or beyond this say nothing a model needs (they are still validated)


def _lean(node: Any) -> Any:
    """A parameter schema without ``default`` values (an optional parameter's default applies when it is left
    out) and without huge numeric bounds."""
    if isinstance(node, dict):
        return {k: (_lean(v) if k != "properties" else {n: _lean(s) for n, s in v.items()}) for k, v in node.items()
                if k != "default" and not (k in ("maximum", "exclusiveMaximum") and isinstance(v, (int, float)) and abs(v) >= HUGE)}
    if isinstance(node, list):
        return [_lean(item) for item in node]
    return node


@lru_cache(maxsize=1024)
def _tools(model: type[BaseModel], reason: bool) -> tuple[str, ...]:
    shape = shape_of(model)
    out = []
    for member in shape.members:
        description = member.description.replace("``", "")  # how many calls a turn may make is in the prompt (tools_text)
        out.append(json.dumps({"type": "function", "function": {
            "name": member.kind, "description": description, "parameters": _parameters(shape, member.schema, reason)}}))
    return tuple(out)


def tools_for(model: type[BaseModel], reason: bool = False) -> list[dict[str, Any]]:
    """The tools an agent may call now (fresh dicts: callers may edit them)."""
    return [json.loads(text) for text in _tools(model, reason)]


def tool_choice_fields(model: type[BaseModel]) -> dict[str, Any]:
    """Request fields beside ``tools``: a call is required; parallel calls only where the model takes several."""
    shape = shape_of(model)
    return {"tool_choice": "required", "parallel_tool_calls": shape.mode == "several"}


def _arguments(call: dict[str, Any]) -> dict[str, Any]:
    raw = call.get("arguments")
    if isinstance(raw, dict):
        return dict(raw)
    if raw in (None, ""):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise ParseFailure(f"the arguments of tool call {call.get('name')!r} are not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ParseFailure(f"the arguments of tool call {call.get('name')!r} must be a JSON object")
    return value


def parse_tool_calls(calls: list[dict[str, Any]] | None, model: type[BaseModel]) -> tuple[BaseModel, list[str]]:
    """The action the calls make, and the reasons given; raises ``ParseFailure``.

    ``calls`` are ``{"id", "name", "arguments"}`` (arguments a JSON string or an
    object). A ``choice`` or ``plain`` model takes exactly one call.
    """
    if not calls:
        raise ParseFailure("the reply called no tool; call one of the tools offered")
    shape = shape_of(model)
    offered = [m.kind for m in shape.members]
    if shape.mode != "several" and len(calls) > 1:
        raise ParseFailure(f"the reply made {len(calls)} tool calls; make exactly one", kind="schema")
    reasons: list[str] = []
    actions = []
    for call in calls:
        name = call.get("name")
        if name not in offered:
            raise ParseFailure(f"unknown tool {name!r}; the tools offered now: {', '.join(offered)}", kind="schema")
        args = _arguments(call)
        reason = args.pop("reason", None)
        if reason:
            reasons.append(str(reason))
        if shape.mode == "plain":
            actions.append(args)
        else:
            args.pop("kind", None)
            actions.append({"kind": name, **args})
    data: Any = actions[0] if shape.mode == "plain" else {shape.field: actions if shape.mode == "several" else actions[0]}
    missing = missing_kind(shape.schema or {}, data)
    if missing:
        raise ParseFailure(missing, kind="schema")
    try:
        return model.model_validate(data), reasons
    except ValidationError as exc:
        raise ParseFailure(describe_validation(exc), kind="schema") from None


def action_calls(action: BaseModel) -> list[tuple[str, dict[str, Any]]]:
    """An action as (tool name, arguments) pairs: how it appears in the conversation (e.g. a fallback's)."""
    shape = shape_of(type(action))
    data = action.model_dump(mode="json")
    if shape.mode == "plain":
        return [(shape.members[0].kind, {k: v for k, v in data.items() if k != "kind"})]
    items = data[shape.field] if shape.mode == "several" else [data[shape.field]]
    return [(item["kind"], {k: v for k, v in item.items() if k != "kind"}) for item in items]

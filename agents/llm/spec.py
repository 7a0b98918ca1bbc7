"""A short readable spec of an action model, for the prompts of the JSON modes (no raw JSON Schema).

A raw pydantic schema is long (``$defs``, titles) and small models copy its
references (``"#/$defs/FetchMessages"`` as a search query). The spec writes
each kind of action as a JSON template with typed placeholders, one line per
kind with its description, e.g. for the marketplace::

    Reply with one JSON object {"action": A}. A is one of:
    - {"kind": "search", "query": string, "page"?: integer >= 1}  Search businesses; ...
    - {"kind": "fetch_messages"}  Move the mailbox into the next observation's messages.

``name?`` marks an optional field (its default applies when left out). The
``kind`` is always required.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from agents.llm.schema import compact_schema, schema_view, shape_of

HUGE = 1e5  # upper bounds at or beyond this say nothing a model needs (as in agents.llm.tools; still validated)


def _bounds(node: dict[str, Any]) -> str:
    parts = []
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node and not (key in ("maximum", "exclusiveMaximum") and isinstance(node[key], (int, float)) and abs(node[key]) >= HUGE):
            parts.append(f"{sign} {node[key]:g}" if isinstance(node[key], (int, float)) else f"{sign} {node[key]}")
    if "maxLength" in node:
        parts.append(f"at most {node['maxLength']} chars")
    return (" " + " ".join(parts)) if parts else ""


def render(node: Any, depth: int = 0) -> str:
    """One schema node as a compact template (objects inline, unions with ``|``)."""
    if not isinstance(node, dict) or depth > 8:
        return "value"
    if "const" in node:
        return json.dumps(node["const"])
    if "enum" in node:
        return " | ".join(json.dumps(v) for v in node["enum"])
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")]
        text = " | ".join(render(o, depth + 1) for o in options)
        return text + (" | null" if len(options) < len(node["anyOf"]) else "")
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        props = node.get("properties") or {}
        if not props:
            extra = node.get("additionalProperties")
            return "{name: " + render(extra, depth + 1) + ", ...}" if isinstance(extra, dict) else "{}"
        required = set(node.get("required") or [])
        fields = [f"{json.dumps(name)}{'' if name in required else '?'}: {render(sub, depth + 1)}" for name, sub in props.items()]
        return "{" + ", ".join(fields) + "}"
    if kind == "array":
        text = f"[{render(node.get('items'), depth + 1)}, ...]"
        bounds = [f"at least {node['minItems']}" if node.get("minItems") else "", f"at most {node['maxItems']}" if node.get("maxItems") else ""]
        bounds = [b for b in bounds if b]
        return text + (f" ({', '.join(bounds)} items)" if bounds else "")
    if kind in ("string", "integer", "number", "boolean"):
        return kind + _bounds(node)
    return "value"


def _notes(node: dict[str, Any]) -> str:
    """Descriptions of the top-level fields, for the line after a template."""
    props = node.get("properties") or {}
    return "; ".join(f"{name}: {sub['description']}" for name, sub in props.items() if isinstance(sub, dict) and sub.get("description"))


@lru_cache(maxsize=1024)
def action_spec(model: type[BaseModel], reason: bool = False) -> str:
    """What the prompt says the reply must be (cached per action model)."""
    shape = shape_of(model)
    schema = compact_schema(model, closed=False)
    lead = '"reason"?: string (your reasoning, optional), ' if reason else ""
    if shape.mode == "plain":
        template = render(schema)
        if reason:
            template = "{" + lead + template[1:] if template != "{}" else '{"reason"?: string}'
        notes = _notes(schema)
        return f"Reply with one JSON object: {template}" + (f"\n({notes})" if notes else "")
    if shape.mode == "choice":
        head = f"Reply with one JSON object {{{lead}{json.dumps(shape.field)}: A}}. A is one of:"
    else:
        limit = f" (at most {shape.max_items})" if shape.max_items else ""
        head = f"Reply with one JSON object {{{lead}{json.dumps(shape.field)}: [A, ...]}}: a list of actions{limit}, applied in order. Each A is one of:"
    lines = [head]
    for member in shape.members:
        note = member.description.replace("``", "").split("\n")[0]
        fields = _notes(member.schema)
        lines.append(f"- {render(member.schema)}" + (f"  {note}" if note else "") + (f" ({fields})" if fields else ""))
    return "\n".join(lines)


def format_text(model: type[BaseModel], reason: bool = False) -> str:
    """The ``$format`` text of the JSON modes: the spec and what to avoid."""
    tail = "" if shape_of(model).mode == "plain" and "kind" not in (schema_view(model).get("properties") or {}) else '; always include "kind"'
    return action_spec(model, reason) + f"\nNo prose or code fences outside the JSON object{tail}."

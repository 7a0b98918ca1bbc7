"""Action models as compact JSON Schema, and the three shapes a world's action model can take.

Pydantic's schema for an action model is long (``$defs``, ``title`` on every
field, a ``discriminator`` block) and leaves a ``Literal`` field that has a
default, such as ``kind: Literal["search"] = "search"``, out of ``required``:
llama.cpp's grammar then lets a model omit the discriminator and the reply
fails. ``compact_schema`` inlines the references, drops the titles and marks
every ``const`` property (the discriminator) required. ``shape_of`` reads the
action model's shape per contract 1 of the project brief:

* ``choice``: one field (``action``) that is a discriminated union of models
  (discriminator ``kind``): one action among several kinds;
* ``several``: one field (``actions``) that is a list of such a union with a
  ``maxItems``: up to that many actions in one decision, applied in order;
* ``plain``: anything else: the model's own fields (``action: Literal[...]``,
  ``contribution: float``, ...).

``missing_tags`` checks a reply's data for the discriminators that pydantic
would silently fill from their defaults, so a reply without ``kind`` is never
accepted in any mode.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel

# Length bounds above this are dropped from what is sent (llama.cpp expands them into grammar rules and
# they cost prompt tokens); the reply is still validated against the full model.
MAX_SENT_BOUND = 256


@dataclass(frozen=True)
class Member:
    """One kind of action: its discriminator value, description and parameter schema (the other fields)."""

    kind: str
    description: str
    schema: dict[str, Any]  # the member's full compact object schema, ``kind`` included


@dataclass(frozen=True)
class Shape:
    """How an action model is built: ``mode`` choice / several / plain (see the module docstring)."""

    mode: Literal["choice", "several", "plain"]
    field: str | None  # the union (or list) field of choice / several
    members: tuple[Member, ...]
    max_items: int | None  # several: at most this many actions per decision
    tag: str = "kind"  # the discriminator's name
    schema: dict[str, Any] | None = None  # the whole compact schema


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].split("/")[-1]]
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, defs)
        return {k: _resolve(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    return node


def _tidy(node: Any, closed: bool, in_properties: bool = False) -> Any:
    """Drop titles, discriminator blocks and large bounds; require const properties; optionally drop additionalProperties."""
    if isinstance(node, list):
        return [_tidy(item, closed) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # keys are property names here, not schema keywords
        return {name: _tidy(sub, closed) for name, sub in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "discriminator") or (key == "additionalProperties" and not closed):
            continue
        if key in ("maxLength", "maxItems") and isinstance(value, int) and value > MAX_SENT_BOUND:
            continue
        if key == "oneOf":
            key = "anyOf"  # the members are disjoint by their tag; anyOf is what every grammar engine supports
        out[key] = _tidy(value, closed, in_properties=key == "properties")
    if "const" in out:
        out.pop("default", None)
    props = out.get("properties")
    if isinstance(props, dict):
        tags = [name for name, sub in props.items() if isinstance(sub, dict) and "const" in sub]
        if tags:
            required = list(out.get("required", []))
            out["required"] = tags + [name for name in required if name not in tags]
    return out


@lru_cache(maxsize=1024)
def _compact(model: type[BaseModel], closed: bool) -> dict[str, Any]:
    schema = model.model_json_schema()
    return _tidy(_resolve(schema, schema.get("$defs", {})), closed)


def schema_view(model: type[BaseModel], closed: bool = True) -> dict[str, Any]:
    """``compact_schema`` without the copy (cached): read it, never edit it."""
    return _compact(model, closed)


def compact_schema(model: type[BaseModel], closed: bool = True) -> dict[str, Any]:
    """The action model's schema, inlined, without titles, with every discriminator required (a fresh copy)."""
    return copy.deepcopy(_compact(model, closed))


def _union_members(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The members of a tagged union node (each an object with a const ``kind``), else None."""
    options = node.get("anyOf")
    if options is None and node.get("type") == "object" and "const" in (node.get("properties", {}).get("kind") or {}):
        options = [node]  # a single model with a kind: a union of one
    if not options or not all(isinstance(o, dict) and "const" in (o.get("properties", {}).get("kind") or {}) for o in options):
        return None
    return options


def _member(node: dict[str, Any]) -> Member:
    return Member(str(node["properties"]["kind"]["const"]), str(node.get("description") or "").strip(), node)


@lru_cache(maxsize=1024)
def shape_of(model: type[BaseModel]) -> Shape:
    """The model's shape (cached per class: worlds cache their action-model classes)."""
    schema = _compact(model, False)
    props = schema.get("properties") or {}
    if len(props) == 1:
        (field, node), = props.items()
        members = _union_members(node)
        if members is not None:
            return Shape("choice", field, tuple(_member(m) for m in members), None, schema=schema)
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            members = _union_members(node["items"])
            if members is not None:
                # max_length as the model declares it (compact_schema may have dropped a huge bound)
                full = model.model_json_schema()["properties"][field]
                return Shape("several", field, tuple(_member(m) for m in members), full.get("maxItems"), schema=schema)
    kind = props.get("kind")
    name = str(kind["const"]) if isinstance(kind, dict) and "const" in kind else _snake(model.__name__)
    return Shape("plain", None, (Member(name, str(schema.get("description") or "").strip(), schema),), None, schema=schema)


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).strip("_")
    return "".join(c if c.isalnum() or c == "_" else "_" for c in out)[:64] or "act"


def missing_kind(schema: dict[str, Any], data: Any) -> str | None:
    """One line naming every place ``data`` lacks a ``kind`` that ``schema`` (compact) requires, or None."""
    return "; ".join(f"{where}: the field 'kind' is required" for where in missing_tags(schema, data)) or None


def missing_tags(schema: dict[str, Any], data: Any, where: str = "") -> list[str]:
    """Where ``data`` lacks a discriminator that ``schema`` (compact) requires: ``["action.message", ...]``.

    Pydantic fills a ``Literal`` field from its default when the key is absent, so a
    reply without ``kind`` would pass validation; the contract says it must not.
    """
    found: list[str] = []
    if isinstance(data, dict):
        options = schema.get("anyOf")
        if options:  # pick the member the data's tag names (or every object member if it has none)
            tagged = [o for o in options if isinstance(o, dict) and o.get("properties", {}).get("kind", {}).get("const") == data.get("kind")]
            for option in tagged or [o for o in options if isinstance(o, dict) and o.get("type") == "object"][:1]:
                found += missing_tags(option, data, where)
            return found
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if isinstance(sub, dict) and "const" in sub and name not in data:
                found.append(f"{where}.{name}".lstrip(".") if where else name)
            elif name in data:
                found += missing_tags(sub, data[name], f"{where}.{name}" if where else name)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(data):
            found += missing_tags(schema["items"], item, f"{where}.{i}" if where else str(i))
    return found

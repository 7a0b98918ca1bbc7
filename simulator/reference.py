"""The reference read from the code: every world, every policy, every field of a world's ``Config``.

Pure functions from the registries (``simulator.worlds``, ``agents.registry``)
and the pydantic models to plain data (JSON-ready dicts), plus a Markdown
renderer. ``agora worlds``, ``agora policies``, ``agora schema`` and
``docs/reference.md`` (``scripts/make_reference.py``) all print what these
return, so the reference cannot drift from the models: a field's meaning is its
``Field(description=...)``, its unit is ``json_schema_extra={"unit": ...}``,
its allowed values come from its ``Literal`` type and its ``ge``/``gt``/``le``/
``lt`` constraints.

A world class may declare ``reference_games``: ``{name: (action labels,
payoff table)}`` of built-in games (the matrix game's named games), listed with
their payoff tables.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from agents import registry as policy_registry
from simulator import worlds as world_registry


def _summary(cls: type) -> str:
    """The first sentence-line of a class's docstring (its one-line summary)."""
    doc = inspect.getdoc(cls) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def _world_summary(cls: type) -> str:
    """A world's one-line summary: its class docstring, else its module's."""
    if cls.__doc__:
        return _summary(cls)
    module = inspect.getmodule(cls)
    doc = (module.__doc__ or "").strip() if module else ""
    return doc.splitlines()[0].strip() if doc else ""


# --------------------------------------------------------------------------- types and fields


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def type_name(annotation: Any) -> str:
    """A field's type as a user writes it in YAML: ``int``, ``list[str]``, ``one of a, b``, ``PunishmentConfig`` -> ``mapping``."""
    origin = get_origin(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:  # the values themselves are listed under "allowed"
        kinds = dict.fromkeys(type_name(type(v)) for v in get_args(annotation))
        return " | ".join(kinds)
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in get_args(annotation))
    if origin in (list, tuple, set, frozenset):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        return f"list[{type_name(args[0])}]" if args else "list"
    if origin is dict:
        args = get_args(annotation)
        return f"mapping[{type_name(args[0])}, {type_name(args[1])}]" if args else "mapping"
    if _model_of(annotation) is not None:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(json.dumps(m.value) for m in annotation)
    if annotation is Any:
        return "any"
    if isinstance(annotation, type):
        return {"str": "string", "bool": "boolean", "dict": "mapping"}.get(annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's value may be (``X``, ``X | None``, ``list[X]``, ``dict[str, X]``)."""
    found = _model_of(annotation)
    if found is not None:
        return [found]
    out: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        for model in _nested_models(arg):
            if model not in out:
                out.append(model)
    return out


def _allowed(annotation: Any, metadata: list[Any]) -> str:
    """Allowed values in words: a Literal's values, numeric bounds (``>= 1``, ``<= 10``)."""
    parts = []
    literals = [a for a in [annotation, *get_args(annotation)] if get_origin(a) is Literal]
    for literal in literals:
        parts.append(", ".join(json.dumps(v) for v in get_args(literal)))
    bounds = {annotated_types.Ge: (">=", "ge"), annotated_types.Gt: (">", "gt"),
              annotated_types.Le: ("<=", "le"), annotated_types.Lt: ("<", "lt")}
    for item in metadata:
        for kind, (symbol, attribute) in bounds.items():
            if isinstance(item, kind):
                value = getattr(item, attribute)
                parts.append(f"{symbol} {value:,}" if isinstance(value, int) else f"{symbol} {value}")
        if isinstance(item, annotated_types.MinLen):
            parts.append(f"at least {item.min_length} items")
        if isinstance(item, annotated_types.MaxLen):
            parts.append(f"at most {item.max_length} items")
    return "; ".join(parts)


def _default(field: Any) -> tuple[bool, Any]:
    """``(required, default as JSON)``; a default factory is called (its value is what an omitted field gets)."""
    if field.is_required():
        return True, None
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is PydanticUndefined:
        return True, None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, enum.Enum):
        value = value.value
    try:
        json.dumps(value)
    except TypeError:
        value = repr(value)
    return False, value


def model_fields(model: type[BaseModel], prefix: str = "", seen: tuple[type, ...] = ()) -> list[dict[str, Any]]:
    """Every field of ``model`` and of the models nested in it, in declaration order, as dicts.

    Each dict: ``path`` (dotted, e.g. ``institutions.punishment.cost``),
    ``type``, ``required``, ``default``, ``unit``, ``allowed``, ``description``.
    Excluded fields (internal state) are left out.
    """
    rows: list[dict[str, Any]] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        path = f"{prefix}{name}"
        required, default = _default(field)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        rows.append({
            "path": path,
            "type": type_name(field.annotation),
            "required": required,
            "default": default,
            "unit": extra.get("unit", ""),
            "allowed": _allowed(field.annotation, list(field.metadata)),
            "description": field.description or "",
        })
        for nested in _nested_models(field.annotation):
            if nested not in seen:  # a recursive model is expanded once
                rows.extend(model_fields(nested, path + ".", seen + (model,)))
    return rows


# --------------------------------------------------------------------------- worlds, policies, schema


def _roles(cls: type) -> dict[str, str]:
    """Role -> default policy, as the world's ``default_policies`` (``*``: every role not listed, which is
    the world's ``role_name`` when ``*`` is all there is)."""
    table = dict(getattr(cls, "default_policies", {}) or {})
    if list(table) == ["*"]:
        return {getattr(cls, "role_name", "player"): table["*"]}
    return table


def role_label(role: str) -> str:
    return "any other role" if role == "*" else role


def worlds() -> list[dict[str, Any]]:
    """Every registered world type: ``name``, ``summary``, ``roles`` (role -> default policy; ``*``: any other role)."""
    return [
        {"name": name, "summary": _world_summary(cls), "roles": _roles(cls)}
        for name, cls in sorted(world_registry.load_all().items())
    ]


def policies(world: str | None = None) -> list[dict[str, Any]]:
    """Every registered policy (those that play ``world`` if given): name, worlds, summary, parameters.

    ``worlds`` is ``None`` for a policy that plays any world; ``params`` is the
    ``model_fields`` of its ``Params`` model; ``settings`` (if the policy reads
    a run-wide block such as ``llm:``) is that block's key and fields.
    """
    out = []
    for name, entry in sorted(policy_registry.load_all().items()):
        if world is not None and not entry.plays(world):
            continue
        item: dict[str, Any] = {
            "name": name,
            "worlds": list(entry.worlds) if entry.worlds is not None else None,
            "summary": entry.summary,
            "params": model_fields(entry.params),
        }
        if entry.settings is not None:
            item["settings"] = {"key": entry.settings_key, "fields": model_fields(entry.settings)}
        out.append(item)
    return out


def world_names() -> list[str]:
    return sorted(world_registry.load_all())


def one_of_groups(model: type) -> list[list[str]]:
    """Groups of fields of which a block must give exactly one (``json_schema_extra={"one_of": [[...]]}`` on the
    model's ``model_config``, declared beside the validator that enforces it)."""
    extra = model.model_config.get("json_schema_extra")
    return [list(group) for group in (extra.get("one_of", []) if isinstance(extra, dict) else [])]


def schema(world: str) -> dict[str, Any]:
    """One world's reference: summary, roles, every ``Config`` field (nested included), built-in games, policies.

    Raises ``KeyError`` for a world type that is not registered.
    """
    cls = world_registry.load_all()[world]
    fields = [row for row in model_fields(cls.Config) if row["path"] != "type"]
    out: dict[str, Any] = {
        "world": world,
        "summary": _world_summary(cls),
        "roles": _roles(cls),
        "fields": fields,
        "one_of": one_of_groups(cls.Config),
        "policies": [p["name"] for p in policies(world)],
    }
    games = getattr(cls, "reference_games", None)
    if games:
        out["games"] = [{"name": name, "actions": list(labels), "payoffs": table} for name, (labels, table) in games.items()]
    return out


# --------------------------------------------------------------------------- Markdown


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _fields_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(no parameters)", ""]
    lines = ["| field | type | default | unit | allowed | meaning |", "|---|---|---|---|---|---|"]
    for row in rows:
        default = "**required**" if row["required"] else f"`{_cell(row['default'])}`"
        lines.append(f"| `{row['path']}` | {_cell(row['type'])} | {default} | {_cell(row['unit'])} | "
                     f"{_cell(row['allowed'])} | {_cell(row['description'])} |")
    lines.append("")
    return lines


def _payoff_table(game: dict[str, Any]) -> list[str]:
    """A two-player game as a bimatrix: rows are the row player's actions, cells ``(u_row, u_col)``."""
    labels = game["actions"]
    lines = ["| row \\ column | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for label, row in zip(labels, game["payoffs"]):
        lines.append(f"| **{label}** | " + " | ".join(f"({', '.join(f'{v:g}' for v in cell)})" for cell in row) + " |")
    lines.append("")
    return lines


def world_markdown(world: str, level: int = 2) -> str:
    """One world's section: summary, roles, fields, built-in games, the policies that play it."""
    ref = schema(world)
    h = "#" * level
    lines = [f"{h} `{world}`", "", ref["summary"], ""]
    lines += ["Roles (default policy): " + ", ".join(f"{role_label(role)} (`{policy}`)" for role, policy in ref["roles"].items()), ""]
    lines += [f"{h}# Fields of `world:`", "", "`type: " + world + "` is required.", ""]
    for group in ref["one_of"]:
        lines += ["Give exactly one of " + " or ".join(f"`{name}`" for name in group) + ".", ""]
    lines += _fields_table(ref["fields"])
    if "games" in ref:
        lines += [f"{h}# Built-in games (`game:`)", "", "Payoffs are (row player, column player).", ""]
        for game in ref["games"]:
            lines += [f"`{game['name']}`", ""] + _payoff_table(game)
    lines += ["Policies: " + ", ".join(f"`{name}`" for name in ref["policies"]), ""]
    return "\n".join(lines)


def policies_markdown(level: int = 2) -> str:
    """Every policy's section: summary, the worlds it plays, its parameters (and settings block)."""
    h = "#" * level
    lines = []
    for policy in policies():
        plays = "any world" if policy["worlds"] is None else ", ".join(f"`{w}`" for w in policy["worlds"])
        lines += [f"{h} `{policy['name']}`", "", policy["summary"], "", f"Plays: {plays}.", ""]
        lines += _fields_table(policy["params"])
        if "settings" in policy:
            lines += [f"Run-wide settings block `{policy['settings']['key']}:`", ""]
            lines += _fields_table(policy["settings"]["fields"])
    return "\n".join(lines)


def reference_markdown() -> str:
    """The whole of ``docs/reference.md``: worlds, then policies (generated; do not edit by hand)."""
    lines = [
        "# Reference: worlds, their fields, policies",
        "",
        "<!-- Generated by scripts/make_reference.py from the pydantic models and the registries; do not edit."
        " tests/test_reference.py fails when this file is stale. -->",
        "",
        "The same reference is printed by `agora worlds`, `agora policies [--world W]` and `agora schema WORLD [--json]`.",
        "",
        "| world | summary | roles (default policy) |",
        "|---|---|---|",
    ]
    for world in worlds():
        roles = ", ".join(f"{role_label(role)} (`{policy}`)" for role, policy in world["roles"].items())
        lines.append(f"| [`{world['name']}`](#{world['name']}) | {_cell(world['summary'])} | {roles} |")
    lines += ["", "# Worlds", ""]
    for name in world_names():
        lines.append(world_markdown(name))
    lines += ["# Policies", ""]
    lines.append(policies_markdown())
    return "\n".join(lines).rstrip() + "\n"

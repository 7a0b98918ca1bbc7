"""``agora worlds``, ``agora policies [--world W]``, ``agora schema WORLD [--json | --markdown]``: the reference from the code.

What they print is ``simulator.reference`` (the registries and the pydantic
models), the same source as docs/reference.md.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from simulator.cli.console import fail


def _known_world(world: str) -> None:
    from simulator import reference

    names = reference.world_names()
    if world not in names:
        fail(f"error: unknown world {world!r}; allowed: {', '.join(names)}")


def _field_lines(rows: list[dict[str, Any]], indent: str = "  ") -> list[str]:
    lines = []
    for row in rows:
        default = "required" if row["required"] else f"default {json.dumps(row['default'])}"
        extras = [row["type"], default]
        if row["unit"]:
            extras.append(f"unit {row['unit']}")
        if row["allowed"]:
            extras.append(f"allowed: {row['allowed']}")
        lines.append(f"{indent}{row['path']}  ({'; '.join(extras)})")
        if row["description"]:
            lines.append(f"{indent}    {row['description']}")
    return lines or [f"{indent}(no parameters)"]


def worlds(as_json: bool = typer.Option(False, "--json", help="print JSON instead of text")) -> None:
    """Every world type: name, one-line summary, roles and their default policies."""
    from simulator import reference

    items = reference.worlds()
    if as_json:
        print(json.dumps(items, indent=2))
        return
    for item in items:
        roles = ", ".join(f"{reference.role_label(role)} -> {policy}" for role, policy in item["roles"].items())
        print(f"{item['name']}: {item['summary']}\n    roles (default policy): {roles}")
    print("\n(see `agora schema WORLD` for a world's fields, `agora policies --world WORLD` for its policies)")


def policies(
    world: Optional[str] = typer.Option(None, "--world", help="only the policies that play this world type"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of text"),
) -> None:
    """Every policy: name, worlds it plays, summary, every parameter with type, default, allowed values and meaning."""
    from simulator import reference

    if world is not None:
        _known_world(world)
    items = reference.policies(world)
    if as_json:
        print(json.dumps(items, indent=2))
        return
    for item in items:
        plays = "any world" if item["worlds"] is None else ", ".join(item["worlds"])
        print(f"{item['name']}: {item['summary']}\n  plays: {plays}\n  params:")
        print("\n".join(_field_lines(item["params"], "    ")))
        if "settings" in item:
            print(f"  run-wide settings block {item['settings']['key']}:")
            print("\n".join(_field_lines(item["settings"]["fields"], "    ")))
        print()


def schema(
    world: str = typer.Argument(..., help="a world type (see `agora worlds`)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON: fields with path, type, required, default, unit, allowed, description"),
    markdown: bool = typer.Option(False, "--markdown", help="print the world's docs/reference.md section"),
) -> None:
    """Every field of a world's `world:` block (nested ones as dotted paths) with type, default, unit, allowed values and meaning."""
    from simulator import reference

    _known_world(world)
    if as_json:
        print(json.dumps(reference.schema(world), indent=2))
        return
    if markdown:
        print(reference.world_markdown(world))
        return
    ref = reference.schema(world)
    roles = ", ".join(f"{reference.role_label(role)} -> {policy}" for role, policy in ref["roles"].items())
    print(f"{world}: {ref['summary']}\nroles (default policy): {roles}\n\nworld: fields (type: {world} is required)")
    for group in ref["one_of"]:
        print(f"give exactly one of: {', '.join(group)}")
    print("\n".join(_field_lines(ref["fields"])))
    for game in ref.get("games", []):
        print(f"\ngame: {game['name']}  (payoffs: row player, column player)")
        width = max(len(label) for label in game["actions"]) + 2
        print(" " * width + "".join(f"{label:>{width + 8}}" for label in game["actions"]))
        for label, row in zip(game["actions"], game["payoffs"]):
            cells = "".join(f"{'(' + ', '.join(f'{v:g}' for v in cell) + ')':>{width + 8}}" for cell in row)
            print(f"{label:<{width}}{cells}")
    print(f"\npolicies: {', '.join(ref['policies'])}")

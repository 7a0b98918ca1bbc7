"""Starting points for the web page's scenario editor: a blank scenario per world and the world's field help.

A blank scenario is the smallest document the world accepts: ``world: {type: W}``,
plus, for a world that needs a choice made (the matrix game's ``game`` or
``payoffs``, the marketplace's ``data`` or ``synthetic``), the world block of its
smallest shipped scenario; one ``agents:`` line per role with the role's default
policy, and the world's other top-level fields as comments (their defaults and
meaning, from ``simulator.reference``), so the editor shows what may be set.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from simulator.parsing import parse_document


def _loads(text: str, source: str) -> bool:
    from simulator.scenario import ScenarioError, load_scenario_text

    try:
        load_scenario_text(text, source)
    except ScenarioError:
        return False
    return True


def _smallest_world_block(world: str, scenarios: Path) -> dict[str, Any] | None:
    """The ``world:`` block of a small shipped scenario of this world (a *small* one, else the shortest) that needs no LLM server."""
    candidates = []
    for path in sorted(scenarios.glob("*.yaml")):
        try:
            data, _ = parse_document(path.read_text(), path.name)
        except Exception:  # an unreadable shipped file is not a template
            continue
        if isinstance(data, dict) and not data.get("llm") and "sweep" not in data and isinstance(data.get("world"), dict) \
                and data["world"].get("type") == world:
            # a data: path is relative to the shipped file and the API reads data only from its roots: synthetic first
            candidates.append(("data" in data["world"], "large" in path.stem, "small" not in path.stem, path.stat().st_size, path.name, data["world"]))
    return min(candidates)[5] if candidates else None


def _comment(row: dict[str, Any]) -> str:
    default = "" if row["default"] is None else f" (default {row['default']!r})"
    allowed = f"; allowed: {row['allowed']}" if row.get("allowed") else ""
    text = f"{row['path']}: {row['type']}{default} - {row['description']}{allowed}"
    return "#   " + text[:200]


@cache
def blank(world: str, scenarios: Path) -> str:
    """A blank, valid scenario for ``world`` (KeyError for a world type that is not registered)."""
    from simulator import reference

    schema = reference.schema(world)
    block: dict[str, Any] = {"type": world}
    head = {"name": f"my_{world}", "seed": 1}
    agents = {role: policy for role, policy in schema["roles"].items() if role != "*"}

    def document(block: dict[str, Any]) -> str:
        return yaml.safe_dump({**head, "world": block, "agents": agents or {"default": "uniform_random"},
                               "run": {"max_time": None, "record_events": True}}, sort_keys=False)

    text = document(block)
    if not _loads(text, f"{world}.yaml"):
        shipped = _smallest_world_block(world, scenarios)
        if shipped is not None:
            text = document(shipped)
    top = [row for row in schema["fields"] if "." not in row["path"] and row["path"] not in block]
    help_lines = ["# world: fields you may add (agora schema " + world + " lists them all):"] + [_comment(r) for r in top[:40]]
    return "\n".join(help_lines) + "\n" + text

"""Starting points for the web page's scenario editor: a blank scenario per world and the world's field help.

A blank scenario is the smallest document the world accepts: ``world: {type: W}``,
or, for a world that needs a choice made (the matrix game's ``game`` or
``payoffs``, the marketplace's ``data`` or ``synthetic``), the world block of the
first small shipped scenario that passes the server's check (its size limits
included); one ``agents:`` line per role with the role's default
policy, and the world's other top-level fields as comments (their defaults and
meaning, from ``simulator.reference``), so the editor shows what may be set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from simulator.parsing import parse_document


def _world_blocks(world: str, scenarios: Path) -> list[dict[str, Any]]:
    """The ``world:`` blocks of the shipped scenarios of this world that need no LLM server, best first: synthetic
    data before a ``data:`` path (relative to the shipped file; the API reads data only from its roots), then
    *small* ones, then the shortest files."""
    candidates = []
    for path in sorted(scenarios.glob("*.yaml")):
        try:
            data, _ = parse_document(path.read_text(), path.name)
        except Exception:  # an unreadable shipped file is not a template
            continue
        if isinstance(data, dict) and not data.get("llm") and "sweep" not in data and isinstance(data.get("world"), dict) \
                and data["world"].get("type") == world:
            candidates.append(("data" in data["world"], "large" in path.stem, "small" not in path.stem, path.stat().st_size,
                               path.name, data["world"]))
    return [c[-1] for c in sorted(candidates, key=lambda c: c[:-1])]


def _comment(row: dict[str, Any]) -> str:
    default = "" if row["default"] is None else f" (default {row['default']!r})"
    allowed = f"; allowed: {row['allowed']}" if row.get("allowed") else ""
    text = f"{row['path']}: {row['type']}{default} - {row['description']}{allowed}"
    return "#   " + text[:200]


def blank(world: str, scenarios: Path, valid: Callable[[str], bool]) -> str:
    """A blank scenario for ``world`` that ``valid`` accepts (the server's own check, its limits included):
    ``world: {type: W}`` if that is enough, else the first shipped world block that passes. KeyError for a
    world type that is not registered."""
    from simulator import reference

    schema = reference.schema(world)
    head = {"name": f"my_{world}", "seed": 1}
    agents = {role: policy for role, policy in schema["roles"].items() if role != "*"}

    def document(block: dict[str, Any]) -> str:
        return yaml.safe_dump({**head, "world": block, "agents": agents or {"default": "uniform_random"},
                               "run": {"max_time": None, "record_events": True}}, sort_keys=False)

    blocks = [{"type": world}, *_world_blocks(world, scenarios)]
    text = next((document(b) for b in blocks if valid(document(b))), document(blocks[0]))
    top = [row for row in schema["fields"] if "." not in row["path"] and row["path"] != "type"]
    help_lines = ["# world: fields you may add (agora schema " + world + " lists them all):"] + [_comment(r) for r in top[:40]]
    return "\n".join(help_lines) + "\n" + text

"""A newcomer's scenario from ``agora schema WORLD --json`` alone (issue 18): for every world, a minimal
``world:`` block built only from the schema's output (required fields, defaults, allowed values, the
exactly-one-of groups) validates with ``agora validate`` and runs with ``agora run``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AGORA = [sys.executable, "-m", "simulator.cli"]


def agora(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*AGORA, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def worlds() -> list[str]:
    listed = agora("worlds")
    assert listed.returncode == 0, listed.stderr
    return sorted(set(re.findall(r"^(\w+)\b", listed.stdout, re.MULTILINE)) & set(_known()))


def _known() -> list[str]:
    from simulator import worlds as registry

    return list(registry.BUILTIN)


def first_allowed(field: dict) -> object:
    """The first value of an enumeration in ``allowed`` (``"a", "b"``), or None when it is not one."""
    values = re.findall(r'"([^"]*)"', field["allowed"] or "")
    return values[0] if values and not field["allowed"].startswith((">", "<")) else None


def value_for(field: dict, fields: list[dict]) -> object:
    """What a newcomer would write for a field that must be given: a nested block from its own fields,
    else its default, else the first allowed value."""
    inner = [f for f in fields if f["path"].startswith(field["path"] + ".") and "." not in f["path"][len(field["path"]) + 1:]]
    if inner:
        return {f["path"].rsplit(".", 1)[1]: value_for(f, fields) for f in inner if f["required"]}
    if field["default"] is not None:
        return field["default"]
    return first_allowed(field)


def minimal_block(schema: dict) -> dict:
    fields = schema["fields"]
    by_path = {f["path"]: f for f in fields}
    block: dict = {"type": schema["world"]}
    for field in fields:
        if field["required"] and "." not in field["path"]:
            block[field["path"]] = value_for(field, fields)
    for group in schema["one_of"]:
        for name in group:  # the first member the schema says how to fill
            value = value_for(by_path[name], fields)
            if value is not None:
                block[name] = value
                break
        else:
            pytest.fail(f"{schema['world']}: the schema gives no way to fill any of {group}")
    return block


def test_the_schema_lists_every_world():
    assert worlds() == sorted(_known())


@pytest.mark.parametrize("world", sorted(_known()))
def test_a_scenario_from_the_schema_alone_validates_and_runs(world, tmp_path):
    shown = agora("schema", world, "--json")
    assert shown.returncode == 0, shown.stderr
    schema = json.loads(shown.stdout)
    scenario = {"name": f"from_schema_{world}", "world": minimal_block(schema), "run": {"max_time": 20}}
    path = tmp_path / f"{world}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    checked = agora("validate", str(path))
    assert checked.returncode == 0, checked.stderr
    assert f"ok: {path}" in checked.stdout
    ran = agora("run", str(path), "--json", "--db", str(tmp_path / "runs.db"))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "finished"

"""The parse path itself (simulator/parsing.py): what it accepts as well as what it refuses."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
import yaml

from simulator import parsing
from simulator.parsing import MAX_INT, ScenarioError, parse_document, read_text
from simulator.scenario import parse_override

REPO = Path(__file__).resolve().parents[2]


def refused(text: str, **limits) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_document(text, "t.yaml", **limits)
    assert len(info.value.problems) == 1
    return str(info.value.problems[0])


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")) + sorted(p for p in (REPO / "games").glob("*") if p.suffix in (".yaml", ".yml", ".json")), ids=lambda p: p.name)
def test_every_shipped_file_parses_to_what_pyyaml_reads(path):
    """Positive control: the limits refuse nothing we ship, and the data is PyYAML's own."""
    data, positions = parse_document(read_text(path), str(path))
    assert data == yaml.safe_load(path.read_text())
    assert positions[()] and all(line >= 1 and column >= 1 for line, column in positions.values())


def test_json_and_yaml_give_the_same_data_and_positions_point_at_keys():
    data, positions = parse_document('{"world": {"type": "matrix_game", "rounds": 5}}', "t.json")
    assert data == json.loads('{"world": {"type": "matrix_game", "rounds": 5}}')
    data, positions = parse_document("seed: 1\nworld:\n  type: matrix_game\n  rounds: 5\n", "t.yaml")
    assert data == {"seed": 1, "world": {"type": "matrix_game", "rounds": 5}}
    assert positions[("world", "rounds")] == (4, 3)


def test_merge_keys_may_be_overridden_but_plain_keys_not_twice():
    data, _ = parse_document("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\n", "t.yaml")
    assert data["use"] == {"x": 1, "y": 3}
    assert "t.yaml:1:11: duplicate key 'x' (first at line 1)" in refused("a: {x: 1, x: 1}\n")


def test_limits_are_exact_boundaries():
    assert parse_document(f"n: {MAX_INT}\nm: -{MAX_INT}\n", "t.yaml")[0] == {"n": MAX_INT, "m": -MAX_INT}
    assert "too large" in refused(f"n: {MAX_INT + 1}\n")
    nine: list = []
    for _ in range(8):
        nine = [nine]
    assert parse_document("a: " + "[" * 9 + "]" * 9, "t.yaml", max_depth=10)[0] == {"a": nine}  # a mapping + 9 lists
    assert "nested too deeply (more than 10 levels)" in refused("a: " + "[" * 10 + "]" * 10, max_depth=10)
    assert parse_document("[" + ", ".join(["1"] * 9) + "]", "t.yaml", max_nodes=10)[0] == [1] * 9
    assert "more than 10 nodes" in refused("[" + ", ".join(["1"] * 10) + "]", max_nodes=10)


def test_shared_aliases_are_fine_until_their_expansion_is_too_big():
    small = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n"
    assert parse_document(small, "t.yaml")[0]["b"] == [[1, 2, 3]] * 3
    bomb = "a: &a [1, 2, 3]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    assert "expands to more than 20 nodes (aliases?)" in refused(bomb, max_nodes=20)


def test_encodings(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(codecs.BOM_UTF8 + "name: café\n".encode())
    assert parse_document(read_text(path), str(path))[0] == {"name": "café"}  # a UTF-8 BOM is fine
    path.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"s.yaml:1:10: not UTF-8 text \(byte 0xe9\)"):
        read_text(path)
    path.write_bytes(b"x" * 11)
    with pytest.raises(ScenarioError, match="larger than 10 bytes"):
        read_text(path, max_bytes=10)


def test_override_values_go_through_the_same_rules():
    assert parse_override("world.rounds=20") == ("world.rounds", 20)
    assert parse_override("agents.bob.params={probabilities: [0.5, 0.5]}") == ("agents.bob.params", {"probabilities": [0.5, 0.5]})
    assert parse_override("description=") == ("description", "")
    for text, message in [("x=.nan", "not a finite number"), ("x={a: 1, a: 2}", "duplicate key"), ("x=&a [*a]", "refers to the node"),
                          ("x=" + "[" * 101 + "]" * 101, "nested too deeply"), ("a..b=1", "empty or space-padded part")]:
        with pytest.raises(ScenarioError, match=message):
            parse_override(text)


def test_limits_are_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    assert f"{parsing.MAX_NODES:,} nodes" in readme and f"{parsing.MAX_DEPTH} levels" in readme and "1 MiB" in readme
    assert parsing.MAX_BYTES == 1_048_576

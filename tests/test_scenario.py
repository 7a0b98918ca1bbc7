"""Scenario files: validation errors name the file, line, column, field path and what is allowed."""

import pytest

from simulator.scenario import ScenarioError, apply_overrides, load_scenario, parse_override

GOOD = """\
name: demo
world:
  type: matrix_game
  game: prisoners_dilemma
  rounds: 10
agents:
  p0: tit_for_tat
  p1: always_defect
"""


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path, overrides=()):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value.problems


def test_good_file_loads_with_defaults(tmp_path):
    scenario, text = load_scenario(write(tmp_path, GOOD))
    assert scenario.name == "demo" and scenario.seed == 0 and text == GOOD
    assert scenario.world_config.rounds == 10
    assert scenario.policy_for("p0", "player").policy == "tit_for_tat"


def test_misspelled_key_names_file_line_column_path_and_suggestion(tmp_path):
    path = write(tmp_path, GOOD.replace("  rounds: 10", "  roundz: 10"))
    [problem] = problems(path)
    assert (problem.file, problem.line, problem.column) == (str(path), 5, 3)
    assert problem.path == "world.roundz"
    assert "unknown field" in problem.message and "did you mean 'rounds'" in problem.message
    assert "continuation" in problem.message  # lists what is allowed
    assert str(problem).startswith(f"{path}:5:3: world.roundz:")


def test_wrong_type_names_the_field_and_the_bad_value(tmp_path):
    [problem] = problems(write(tmp_path, GOOD.replace("rounds: 10", "rounds: ten")))
    assert (problem.line, problem.path) == (5, "world.rounds")
    assert "integer" in problem.message and "'ten'" in problem.message


def test_top_level_unknown_key_and_missing_world(tmp_path):
    found = {p.path: p for p in problems(write(tmp_path, "nmae: x\n"))}
    assert "unknown field" in found["nmae"].message and "name" in found["nmae"].message
    assert found["world"].message == "required field is missing"
    found = problems(write(tmp_path, "name: x\nsede: 3\nworld: {type: matrix_game, game: chicken}\n"))
    assert [p.path for p in found] == ["sede"] and found[0].line == 2 and "seed" in found[0].message


def test_unknown_world_lists_the_allowed_worlds(tmp_path):
    [problem] = problems(write(tmp_path, "world:\n  type: matrix_gaem\n"))
    assert problem.line == 2 and problem.path == "world.type"
    assert "unknown world 'matrix_gaem'" in problem.message and "matrix_game" in problem.message


def test_unknown_policy_and_bad_policy_params(tmp_path):
    text = GOOD.replace("p1: always_defect", "p1: always_defekt").replace(
        "p0: tit_for_tat", "p0: {policy: mixed, params: {probabilities: [0.5, 0.6]}}"
    )
    found = {p.path: p for p in problems(write(tmp_path, text))}
    assert "unknown policy 'always_defekt'" in found["agents.p1"].message
    assert "always_defect" in found["agents.p1"].message and found["agents.p1"].line == 8
    assert "sum to 1" in found["agents.p0.params"].message and found["agents.p0.params"].line == 7


def test_world_level_consistency_errors(tmp_path):
    [problem] = problems(write(tmp_path, "world: {type: matrix_game, game: chicken, payoffs: [[[1, 1]]]}\n"))
    assert "exactly one of 'game'" in problem.message and problem.line == 1
    [problem] = problems(write(tmp_path, "world: {type: matrix_game, payoffs: [[[1, 2], [3]], [[1, 1], [0, 0]]]}\n"))
    assert problem.path == "world.payoffs" and "regular" in problem.message


def test_invalid_yaml_points_at_the_line(tmp_path):
    [problem] = problems(write(tmp_path, "world:\n  type: matrix_game\n  game: [unclosed\n"))
    assert problem.line is not None and "invalid YAML" in problem.message


def test_missing_file(tmp_path):
    [problem] = problems(tmp_path / "nope.yaml")
    assert "cannot read file" in problem.message


def test_overrides_set_nested_values_and_their_errors_name_the_override(tmp_path):
    path = write(tmp_path, GOOD)
    scenario, _ = load_scenario(path, [parse_override("world.rounds=25"), parse_override("agents.p1=grim_trigger")])
    assert scenario.world_config.rounds == 25 and scenario.policy_for("p1", "player").policy == "grim_trigger"
    [problem] = problems(path, [parse_override("world.rounds=-3")])
    assert problem.file == "--set" and problem.path == "world.rounds" and "greater than or equal to 1" in problem.message
    with pytest.raises(ScenarioError, match="expected key=value"):
        parse_override("world.rounds")
    with pytest.raises(ScenarioError, match="is a value, not a mapping"):
        apply_overrides({"world": {"rounds": 3}}, [("world.rounds.x", 1)])


def test_every_shipped_scenario_validates():
    from pathlib import Path

    files = sorted(Path("scenarios").glob("*.yaml"))
    assert len(files) >= 2
    for file in files:
        load_scenario(file)


def test_read_scenario_is_one_object_parsed_once(tmp_path, monkeypatch):
    """read_scenario parses the text once and keeps what the CLI, the API and sweeps need from it."""
    import simulator.scenario as scenario_module
    from simulator.scenario import read_scenario

    calls = []
    parse = scenario_module.parse_document
    monkeypatch.setattr(scenario_module, "parse_document", lambda *a, **k: calls.append(a[1]) or parse(*a, **k))
    path = write(tmp_path, GOOD)
    loaded = read_scenario(path, [("world.rounds", 4)])
    assert calls == [str(path)]
    assert loaded.text == GOOD and loaded.source == str(path) and loaded.overrides == (("world.rounds", 4),)
    assert loaded.scenario.world_config.rounds == 4 and loaded.data["world"]["rounds"] == 10  # data: before overrides
    assert loaded.positions[("world", "rounds")] == (5, 3)  # line 5, the key at column 3


def test_policy_params_are_validated_once_and_kept_for_seating(tmp_path):
    from agents import registry

    text = GOOD.replace("  p1: always_defect", "  p1: {policy: mixed, params: {probabilities: [0.25, 0.75]}}")
    scenario, _ = load_scenario(write(tmp_path, text))
    params = scenario.params_for("p1", "player")
    assert params == registry.get("mixed").params.model_validate({"probabilities": [0.25, 0.75]})
    assert scenario.params_for("p1", "player") is not params  # each seat gets its own copy
    assert scenario.params_for("p0", "player") == registry.get("tit_for_tat").params.model_validate({})
    assert scenario.params_for("nobody", "player") is None  # no entry: the world's default policy
    scenario.agents["p1"].params = {"probabilities": [0.5, 0.5]}  # edited after validation: not what was validated
    assert scenario.params_for("p1", "player") is None

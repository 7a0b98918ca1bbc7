"""The reference read from the code: `agora worlds`, `agora policies`, `agora schema`, docs/reference.md,
and what the scenario loader no longer accepts silently (agents that are not players, default policies)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agents import registry as policy_registry
from simulator import worlds as world_registry
from simulator.cli import app
from simulator.reference import reference_markdown
from simulator.scenario import ScenarioError, load_scenario_text

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
WORLDS = sorted(world_registry.load_all())


def invoke(*args):
    return runner.invoke(app, list(args))


def schema_of(world: str) -> dict:
    result = invoke("schema", world, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- docs/reference.md


def test_docs_reference_is_generated_from_the_code():
    """Fails when a model, a description or a policy changed and docs/reference.md was not regenerated.

    Generated in a fresh process: other tests register their own worlds and policies in this one."""
    checked = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_reference.py"), "--check"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert reference_markdown().startswith((ROOT / "docs" / "reference.md").read_text()[:200])


# --------------------------------------------------------------------------- agora worlds / policies / schema


def test_worlds_lists_every_registered_world_with_its_default_policies():
    result = invoke("worlds", "--json")
    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.stdout)}
    assert sorted(listed) == WORLDS
    for name, cls in world_registry.load_all().items():
        assert listed[name]["summary"]
        for role, policy in listed[name]["roles"].items():
            assert policy_registry.get(policy) is not None and policy_registry.get(policy).plays(name)
            if role != "*":
                assert cls.default_policy(role) == policy
    text = invoke("worlds").stdout
    assert all(f"{name}:" in text for name in WORLDS) and "off_switch" in text and "eu_robot" in text


def test_policies_for_a_world_are_exactly_those_that_play_it_with_their_params():
    result = invoke("policies", "--world", "matrix_game", "--json")
    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.stdout)}
    assert sorted(listed) == policy_registry.policies_for("matrix_game")
    for name, item in listed.items():
        params = policy_registry.get(name).params
        # Oracle: pydantic's own JSON Schema of the Params model names the same fields.
        assert [row["path"] for row in item["params"] if "." not in row["path"]] == list(params.model_json_schema().get("properties", {}))
    mixed = {row["path"]: row for row in listed["mixed"]["params"]}
    assert mixed and all(row["type"] for row in mixed.values())
    everything = json.loads(invoke("policies", "--json").stdout)
    assert sorted(p["name"] for p in everything) == sorted(policy_registry.load_all())
    llm = next(p for p in everything if p["name"] == "llm")
    assert llm["worlds"] is None and llm["settings"]["key"] == "llm" and llm["settings"]["fields"]


def test_policies_text_shows_every_parameter_with_type_and_default():
    result = invoke("policies", "--world", "public_goods")
    assert result.exit_code == 0, result.output
    for name in policy_registry.policies_for("public_goods"):
        assert f"{name}:" in result.stdout
        for field in policy_registry.get(name).params.model_fields:
            assert f"    {field}  (" in result.stdout


@pytest.mark.parametrize("world", WORLDS)
def test_schema_lists_every_config_field_with_a_meaning(world):
    config = world_registry.get_world(world).Config
    ref = schema_of(world)
    top = [row for row in ref["fields"] if "." not in row["path"]]
    # Oracle: pydantic's JSON Schema of the same model (without the fixed `type`).
    assert [row["path"] for row in top] == [k for k in config.model_json_schema()["properties"] if k != "type"]
    for row in top:
        assert row["description"], f"{world}.{row['path']} has no Field(description=...)"
        assert row["required"] or "default" in row
    text = invoke("schema", world)
    assert text.exit_code == 0 and all(f"  {row['path']}  (" in text.stdout for row in ref["fields"])


def test_schema_shows_nested_fields_and_numeric_bounds():
    rows = {row["path"]: row for row in schema_of("matrix_game")["fields"]}
    assert rows["rounds"]["default"] == 1 and ">= 1" in rows["rounds"]["allowed"]
    assert rows["tournament.repetitions"]["default"] == 1
    assert rows["population.size"]["required"] and rows["population.process"]["allowed"] == '"moran", "fermi", "proportional"'


def test_schema_states_units_where_the_model_declares_them():
    rows = {row["path"]: row for row in schema_of("marketplace")["fields"]}
    assert rows["deadline"]["unit"] == "simulated time" and rows["latency.message"]["unit"] == "simulated time"
    assert rows["capacity"]["unit"] == ""
    assert "unit simulated time" in invoke("schema", "marketplace").stdout


def test_schema_lists_the_built_in_games_with_their_payoffs():
    games = {game["name"]: game for game in schema_of("matrix_game")["games"]}
    field = next(row for row in schema_of("matrix_game")["fields"] if row["path"] == "game")
    assert sorted(games) == sorted(json.loads(f"[{field['allowed']}]"))  # every name `game:` accepts is listed
    pd = games["prisoners_dilemma"]
    assert pd["actions"] == ["cooperate", "defect"]
    # The textbook prisoner's dilemma: T > R > P > S for the row player, symmetric for the column player.
    (r, s), (t, p) = [[cell[0] for cell in row] for row in pd["payoffs"]]
    assert t > r > p > s and pd["payoffs"][0][1] == [s, t]
    text = invoke("schema", "matrix_game").stdout
    assert "game: prisoners_dilemma" in text and "(0, 5)" in text


def test_unknown_world_is_one_line_naming_the_worlds():
    result = invoke("schema", "nope")
    assert result.exit_code == 2
    assert "unknown world 'nope'; allowed: " + ", ".join(WORLDS) in result.output
    assert invoke("policies", "--world", "nope").exit_code == 2


# --------------------------------------------------------------------------- a scenario from the schema alone


def block_from_schema(world: str) -> dict:
    """The smallest `world:` block that validates, found from `agora schema --json` output only.

    Required top-level fields get their first allowed value (or an empty mapping); if the block of
    defaults does not validate, optional fields are given, one at a time in the schema's order,
    their first allowed value (or an empty mapping, whose keys then take their defaults).
    """
    ref = schema_of(world)
    top = [row for row in ref["fields"] if "." not in row["path"]]

    def value(row):
        if row["allowed"].startswith('"'):
            return json.loads(f"[{row['allowed']}]")[0]
        if row["type"].startswith("mapping"):
            return {}
        return None

    block = {"type": world}
    block.update({row["path"]: value(row) for row in top if row["required"]})
    if _validates(block):
        return block
    for row in top:
        if row["required"] or value(row) is None:
            continue
        trial = block | {row["path"]: value(row)}
        if _validates(trial):
            return trial
    raise AssertionError(f"no world: block for {world} from its schema validates")


def _validates(block: dict) -> bool:
    try:
        load_scenario_text(yaml.safe_dump({"world": block, "agents": {"default": "random_legal"}}))
    except ScenarioError:
        return False
    return True


@pytest.mark.parametrize("world", WORLDS)
def test_a_scenario_written_from_the_schema_alone_validates_and_runs(world, tmp_path):
    ref = schema_of(world)
    # Seat every role the schema names on its default policy (``*``: every other role, i.e. ``default``).
    agents = {("default" if role == "*" else role): policy for role, policy in ref["roles"].items()}
    scenario = {"name": f"from_schema_{world}", "seed": 3, "world": block_from_schema(world), "agents": agents}
    path = tmp_path / f"{world}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    checked = invoke("validate", str(path))
    assert checked.exit_code == 0 and f"ok: {path}" in checked.stdout, checked.output
    ran = invoke("run", str(path), "--json", "--db", str(tmp_path / "runs.db"))
    assert ran.exit_code == 0, ran.output
    out = json.loads(ran.stdout)
    assert out["status"] == "finished" and out["world"] == world and out["metrics"]["payoffs"]


# --------------------------------------------------------------------------- no longer silently accepted


PD = "world: {type: matrix_game, game: prisoners_dilemma, rounds: 5, players: [alice, bob]}\n"


def test_an_agent_id_that_is_not_a_player_is_an_error_naming_the_players():
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(PD + "agents:\n  alice: tit_for_tat\n  carol: always_defect\n", "pd.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("pd.yaml", 4, "agents.carol")
    assert "not an agent of this world" in problem.message and "alice, bob" in problem.message and "player" in problem.message


def test_a_role_and_default_are_allowed_agents_keys():
    assert not load_scenario_text(PD + "agents: {player: tit_for_tat}\n").warnings
    assert not load_scenario_text(PD + "agents: {default: tit_for_tat, bob: always_defect}\n").warnings


def test_a_player_left_on_the_world_default_gets_a_warning_naming_the_policy(tmp_path):
    scenario = load_scenario_text(PD + "agents:\n  alice: tit_for_tat\n", "pd.yaml")
    (warning,) = scenario.warnings
    assert "bob" in warning.message and "'uniform_random'" in warning.message and warning.line == 2
    path = tmp_path / "pd.yaml"
    path.write_text(PD + "agents:\n  alice: tit_for_tat\n")
    checked = invoke("validate", str(path))
    assert checked.exit_code == 0
    assert f"warning: {path}:2:1: agents: agent bob of role 'player'" in checked.stderr and "'uniform_random'" in checked.stderr
    ran = invoke("run", str(path), "--db", str(tmp_path / "runs.db"))
    assert ran.exit_code == 0 and "'uniform_random'" in ran.stderr


def test_omitted_rounds_in_a_matrix_game_is_stated():
    (warning,) = load_scenario_text("world: {type: matrix_game, game: stag_hunt}\nagents: {default: always_defect}\n").warnings
    assert "ONE round" in warning.message and warning.path == "world"
    population = "world: {type: matrix_game, game: hawk_dove, population: {size: 10, initial: {hawk: 5, dove: 5}}}\n"
    assert not load_scenario_text(population + "agents: {default: follow_rule}\n").warnings


def test_a_nested_block_of_the_wrong_shape_names_its_keys_and_types():
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text("world: {type: off_switch, human: 3}\n", "o.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "world.human" and "HumanModel" not in problem.message
    assert "expected a mapping (got 3); allowed keys: beta (float, default 0.0)" in problem.message


def test_a_param_of_a_policy_that_takes_none_says_so():
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(PD + "agents:\n  default: {policy: fictitious_play, params: {memory: 3}}\n")
    (problem,) = caught.value.problems
    assert problem.path == "agents.default.params.memory" and problem.message == "unknown field; allowed: no keys here (it takes no parameters)"

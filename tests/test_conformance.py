"""Every world against the declared World contract and a policy that knows nothing but the action schema.

``random_legal`` fills each world's action model at random (as an LLM might),
so this checks that any policy can sit in any world: no crash, schema-valid
actions accepted, metrics with payoffs and welfare, and theory beside them.
``assert_conforms`` checks the contract of ``simulator/world.py`` on every
registered world: the class (``world_type_problems``) and, at every decision
point of a real run, observations, action models and default actions.
``tests/toy_world.py`` is a new world written from the protocol's docstrings
alone; it passes the same checks and runs under ``agora run`` in a fresh
process that finds it through an ``agora.worlds`` entry point.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agents import registry as policy_registry
from simulator.run import Simulation, build_simulation, run_scenario
from simulator.scenario import load_scenario
from simulator.world import Metrics, World, check_world_type, world_type_problems
from simulator.worlds import ENTRY_POINT_GROUP, load_all
from tests.toy_world import ToyConfig, ToyCoordination

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if not p.name.startswith(("llm_", "sweep_")))


def smallest_scenario_per_world() -> dict[str, Path]:
    """One shipped scenario per world: a ``*small*`` one if any, else the shortest file."""
    chosen: dict[str, Path] = {}
    for path in sorted(SCENARIOS, key=lambda p: ("small" not in p.name, p.stat().st_size)):
        scenario, _ = load_scenario(path)
        chosen.setdefault(scenario.world_type, path)
    return chosen


def test_every_world_has_a_shipped_scenario():
    assert set(load_all()) <= set(smallest_scenario_per_world())


@pytest.mark.parametrize("world", sorted(load_all()))
def test_random_schema_policy_plays_every_world(world):
    path = smallest_scenario_per_world()[world]
    scenario, _ = load_scenario(path, [("agents", {"default": "random_legal"}), ("run.max_time", 30)])
    result = run_scenario(scenario, seed=0)
    assert result.status == "finished", (path, result.reason)
    assert result.counters["decisions"] > 0
    # Schema-valid random actions may be semantically poor, but they are actions, not fallbacks.
    assert result.counters["fallbacks"] <= result.counters["decisions"] // 2
    metrics = result.metrics
    assert isinstance(metrics["welfare"], (int, float)) and metrics["payoffs"]
    assert metrics["theory"], f"{world} reports no theory beside the simulation"


# --------------------------------------------------------------------------- the declared contract


class ContractProbe(Simulation):
    """A host that checks the per-decision part of the contract at every decision point, then lets the policies decide."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problems: list[str] = []
        self.checked = 0

    def decide_all(self, requests: list[tuple[str, dict, type[BaseModel]]]) -> list[Any]:
        world = self.world
        for agent_id, observation, model in requests:
            self.checked += 1
            where = f"t={self.engine.now:g} {agent_id}"
            try:
                json.dumps(observation)
            except (TypeError, ValueError) as exc:
                self.problems.append(f"{where}: observation is not JSON-ready ({exc})")
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                self.problems.append(f"{where}: action_model is not a pydantic model")
                continue
            model.model_json_schema()  # what an LLM is asked to fill: must exist for every model
            default = world.default_action(agent_id)
            if not isinstance(default, model):
                self.problems.append(f"{where}: default_action is a {type(default).__name__}, not a {model.__name__}")
            if not isinstance(world.rules(agent_id), str) or not world.rules(agent_id):
                self.problems.append(f"{where}: rules are empty")
        return super().decide_all(requests)


def assert_conforms(world_type: str, scenario: Any, seed: int = 0) -> Any:
    """The class, a built instance and one run of ``scenario`` meet the ``simulator.world.World`` contract."""
    cls = load_all()[world_type]
    assert world_type_problems(cls) == [], world_type
    sim = build_simulation(scenario, seed, host_class=ContractProbe)
    world = sim.world
    assert isinstance(world, World) and type(world).type_name == world_type
    ids = world.agent_ids()
    assert ids and len(set(ids)) == len(ids) and all(isinstance(a, str) for a in ids)
    for agent_id in ids:
        policy = world.default_policy(world.role(agent_id))
        entry = policy_registry.get(policy)
        assert entry is not None and entry.plays(world_type), (world_type, agent_id, policy)
    result = sim.run(max_time=scenario.run.max_time)
    assert result.status == "finished", result.reason
    assert sim.checked > 0 and sim.problems == [], sim.problems[:5]
    assert 0.0 <= world.progress() <= 1.0
    metrics = world.metrics()
    assert isinstance(metrics, Metrics) and metrics.payoffs and set(metrics.payoffs) <= set(ids)
    json.dumps(metrics.to_dict())
    return result


@pytest.mark.parametrize("world", sorted(load_all()))
def test_every_registered_world_meets_the_declared_contract(world):
    path = smallest_scenario_per_world()[world]
    scenario, _ = load_scenario(path, [("run.max_time", 30)])
    assert_conforms(world, scenario)


def test_the_contract_check_names_what_a_broken_world_lacks():
    class LooseConfig(BaseModel):  # no extra="forbid", no type field
        rounds: int = 1

    class Broken:
        type_name = "broken"
        Config = LooseConfig

        def default_policy(self, role):  # must be a classmethod
            return "random_legal"

        def observe(self):  # the protocol's observe takes agent_id
            return {}

    problems = world_type_problems(Broken)
    joined = "; ".join(problems)
    assert "Config: LooseConfig must reject unknown keys" in joined and "has no field 'type'" in joined
    assert "from_config: missing" in joined and "default_policy: must be a classmethod" in joined
    assert "observe: must accept (agent_id)" in joined and "apply: missing" in joined
    with pytest.raises(TypeError, match="is not a World"):
        check_world_type(Broken)
    # Every shipped world passes the same check.
    assert all(world_type_problems(cls) == [] for cls in load_all().values())


# --------------------------------------------------------------------------- a new world from the protocol alone


TOY_SCENARIO = "world: {type: toy_coordination, rounds: 7}\nagents: {default: random_legal}\n"


def toy_entry_point(folder: Path, value: str = "tests.toy_world:ToyCoordination") -> dict[str, str]:
    """An installed-looking distribution in ``folder`` whose ``agora.worlds`` entry point is the toy world.

    ``importlib.metadata`` finds ``*.dist-info`` folders on ``sys.path``, exactly
    as it finds a ``pip install``-ed package's; the environment puts ``folder``
    (and the repository, for ``tests.toy_world``) on the child's path.
    """
    info = folder / "agora_toy_world-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agora-toy-world\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntoy_coordination = {value}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT)])
    return env


def test_a_world_written_from_the_protocol_alone_conforms(tmp_path):
    check_world_type(type("Registered", (ToyCoordination,), {"type_name": "toy_coordination"}))
    assert ToyCoordination.Config is ToyConfig
    # The conformance run needs the toy registered: in a fresh process, so this one's registry keeps the shipped worlds only.
    code = (
        "from simulator.scenario import load_scenario_text\n"
        "from simulator.worlds import load_all\n"
        "load_all()  # registers the toy from its entry point before the test module lists the worlds\n"
        "from tests.test_conformance import TOY_SCENARIO, assert_conforms\n"
        "result = assert_conforms('toy_coordination', load_scenario_text(TOY_SCENARIO))\n"
        "print(result.counters['decisions'], result.counters['fallbacks'])\n"
    )
    env = toy_entry_point(tmp_path / "site")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["14", "0"]  # 7 rounds x 2 players, every random action valid


def test_a_world_from_an_entry_point_runs_under_agora_run(tmp_path):
    env = toy_entry_point(tmp_path / "site")
    (tmp_path / "toy.yaml").write_text(TOY_SCENARIO)
    agora = [sys.executable, "-m", "simulator.cli"]
    done = subprocess.run(agora + ["run", "toy.yaml", "--seed", "3", "--json", "--db", str(tmp_path / "runs.db")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout)
    metrics = run["metrics"]
    assert metrics["measures"] == {"rounds": 7} and metrics["theory"] == {"expected_score_uniform_random": 3.5}
    a, b = metrics["payoffs"]["a"], metrics["payoffs"]["b"]
    assert a == b and a in range(8) and metrics["welfare"] == 2 * a
    # Without the entry point the same file names an unknown world: exit status 2, the allowed types listed.
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    refused = subprocess.run(agora + ["run", "toy.yaml", "--db", str(tmp_path / "runs.db")],
                             cwd=tmp_path, env=bare | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "toy_coordination" in refused.stderr and "matrix_game" in refused.stderr


@pytest.mark.parametrize("value, why", [
    ("tests.no_such_module:World", "ModuleNotFoundError: No module named 'tests.no_such_module'"),
    ("tests.toy_world:Say", "is not a World: "),  # a pydantic model, not a world
])
def test_a_broken_world_plug_in_is_one_line_naming_the_entry_point(tmp_path, value, why):
    env = toy_entry_point(tmp_path / "site", value)
    (tmp_path / "toy.yaml").write_text(TOY_SCENARIO)
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "toy.yaml", "--db", str(tmp_path / "runs.db")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"agora.worlds entry point toy_coordination = {value}: " in done.stderr and why in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1

"""Fast start (issue 18): the registries name every world and policy without importing them, and checking or
running a matrix game imports none of the heavy libraries it does not use.

Start-up times themselves are measured in bench/startup.py (no timing assertions here): these tests check the
cause, which modules a fresh process imports.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from agents import registry as policy_registry
from simulator import worlds as world_registry

ROOT = Path(__file__).resolve().parents[1]


def test_world_table_names_every_shipped_world_and_its_module():
    for name, module in world_registry.BUILTIN.items():
        importlib.import_module(module)
        cls = world_registry.get_world(name)
        assert cls is not None and cls.__module__ == module, name
    shipped = {cls.type_name for cls in world_registry.load_all().values() if cls.__module__.startswith("simulator.worlds.")}
    assert shipped == set(world_registry.BUILTIN)


def test_policy_table_names_every_shipped_policy_and_its_module():
    entries = policy_registry.load_all()
    shipped = {name: entry.cls.__module__ for name, entry in entries.items() if entry.cls.__module__.startswith("agents.")}
    assert shipped == policy_registry.shipped_policies()
    declared = {entries[name].settings_key: name for name in shipped if entries[name].settings_key}
    assert declared == policy_registry.SETTINGS_KEYS


def test_unknown_names_are_not_found():
    assert world_registry.get_world("no_such_world") is None
    assert "no_such_world" not in world_registry.load_all()
    assert policy_registry.get("no_such_policy") is None


def imported_by(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


HEAVY = {"mesa", "pandas", "matplotlib", "scipy.optimize", "scipy.stats", "scipy.integrate", "aiohttp", "httpx",
         "simulator.worlds.marketplace.world", "simulator.worlds.information", "agents.llm.policy"}


def test_checking_a_matrix_game_imports_no_heavy_library():
    modules = imported_by("from simulator.scenario import read_scenario\nread_scenario('scenarios/prisoners_dilemma.yaml')")
    assert "simulator.worlds.matrix_game" in modules
    assert HEAVY & modules == set()


def test_validate_imports_neither_the_engine_nor_rich_nor_click():
    modules = imported_by(
        "import sys\nfrom simulator.cli import main\n"
        "sys.argv = ['agora', 'validate', 'scenarios/prisoners_dilemma.yaml']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n")
    assert "simulator.worlds.matrix_game" in modules
    # typer runs on its own copy of click (typer._click); rich is for tables and progress bars only
    assert (HEAVY | {"click", "rich.console", "rich.table", "simulator.run", "simulator.engine"}) & modules == set()


def test_running_a_matrix_game_imports_only_what_it_uses(tmp_path):
    modules = imported_by(
        "import sys\nfrom simulator.cli import main\n"
        f"sys.argv = ['agora', 'run', 'scenarios/prisoners_dilemma.yaml', '--db', {str(tmp_path / 'a.db')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n")
    assert "mesa" in modules  # the engine is a mesa.Model (mesa imports pandas, scipy.spatial and networkx)
    # the stage game's equilibria need no LP (support and vertex enumeration): scipy.optimize stays unloaded
    assert {"matplotlib", "aiohttp", "httpx", "scipy.stats", "scipy.optimize", "click", "simulator.worlds.marketplace.world",
            "simulator.worlds.information", "agents.llm.policy"} & modules == set()

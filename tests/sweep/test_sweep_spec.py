"""The sweep: block: validation with file:line errors, cell expansion, seeds from SeedSequence.spawn."""

from __future__ import annotations

import itertools
import textwrap

import numpy as np
import pytest

from simulator.scenario import ScenarioError, load_scenario_text
from simulator.sweep import plan_sweep

BASE = textwrap.dedent(
    """\
    seed: 3
    world:
      type: matrix_game
      game: prisoners_dilemma
      rounds: 10
    """
)


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml")
    return [str(p) for p in info.value.problems]


def test_bad_values_are_reported_at_their_own_line():
    text = BASE + "sweep:\n  grid:\n    world.rounds: [5, 0]\n    world.roundz: [1]\n  list:\n    - {world.game: poker}\n"
    found = problems(text)
    assert any(p.startswith("s.yaml:8:23: sweep.grid.world.rounds.1:") and "greater than or equal to 1" in p for p in found), found
    assert any(p.startswith("s.yaml:9:20: sweep.grid.world.roundz.0:") and "did you mean 'rounds'" in p for p in found), found
    assert any(p.startswith("s.yaml:11:8: sweep.list.0.world.game:") and "prisoners_dilemma" in p for p in found), found


def test_spec_errors_name_the_field_and_what_is_allowed():
    found = problems(BASE + "sweep:\n  seeds: 0\n  sedes: 3\n  random:\n    samples: 2\n    params:\n      seed: {uniform: [0, 1]}\n")
    assert any(p.startswith("s.yaml:7:3: sweep.seeds:") for p in found), found
    assert any(p.startswith("s.yaml:8:3: sweep.sedes: unknown field; allowed: grid, list, random, seeds") for p in found), found
    assert any(p.startswith("s.yaml:12:7: sweep.random.params.seed:") and "seeds come from 'seeds:'" in p for p in found), found


def test_a_field_varied_in_two_blocks_and_bad_distributions_are_refused():
    found = problems(BASE + "sweep:\n  grid: {world.rounds: [1, 2]}\n  list: [{world.rounds: 3}]\n")
    assert any("world.rounds varies in both grid and list" in p for p in found), found
    found = problems(BASE + "sweep:\n  random:\n    samples: 2\n    params:\n      world.continuation: {uniform: [0.9, 0.1]}\n")
    assert any("low must be <= high" in p for p in found), found
    found = problems(BASE + "sweep:\n  grid: {world.type: [matrix_game]}\n")
    assert any("world.type cannot vary" in p for p in found), found


def test_cells_are_grid_times_list_times_random_times_seeds():
    text = BASE + textwrap.dedent(
        """\
        sweep:
          grid:
            world.rounds: [5, 10, 20]
            run.max_time: [100, 200]
          list:
            - {world.game: prisoners_dilemma}
            - {world.game: stag_hunt}
          random:
            samples: 4
            params:
              world.continuation: {uniform: [0.1, 0.3]}
              world.players: {choice: [[a, b], [c, d]]}
          seeds: 3
        """
    )
    plan = plan_sweep(text=text, source="s.yaml")
    assert len(plan.cells) == 3 * 2 * 2 * 4 * 3
    assert [c["index"] for c in plan.cells] == list(range(len(plan.cells)))
    points = {json_key(c["params"]) for c in plan.cells}
    assert len(points) == 3 * 2 * 2 * 4
    grid_seen = {(c["params"]["world.rounds"], c["params"]["run.max_time"], c["params"]["world.game"]) for c in plan.cells}
    assert grid_seen == set(itertools.product([5, 10, 20], [100, 200], ["prisoners_dilemma", "stag_hunt"]))
    draws = [c["params"]["world.continuation"] for c in plan.cells]
    assert all(0.1 <= d <= 0.3 for d in draws)
    assert {tuple(c["params"]["world.players"]) for c in plan.cells} <= {("a", "b"), ("c", "d")}
    # The same file gives the same cells (random points included).
    assert plan_sweep(text=text, source="s.yaml").cells == plan.cells


def json_key(params: dict) -> str:
    import json

    return json.dumps(params, sort_keys=True)


def test_run_seeds_come_from_seedsequence_spawn_and_are_shared_across_points():
    plan = plan_sweep(text=BASE + "sweep:\n  grid: {world.rounds: [5, 6]}\n  seeds: 4\n", source="s.yaml")
    _, replicates = np.random.SeedSequence(3).spawn(2)
    expected = [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in replicates.spawn(4)]
    for point in (0, 1):
        assert [c["seed"] for c in plan.cells if c["point"] == point] == expected
    assert len(set(expected)) == 4 and all(0 <= s < 2**63 for s in expected)


def test_a_scenario_without_sweep_block_cannot_be_swept(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(BASE)
    with pytest.raises(ScenarioError) as info:
        plan_sweep(path)
    assert "no 'sweep:' block" in str(info.value)

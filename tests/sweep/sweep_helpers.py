"""Helpers shared by the sweep tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import textwrap

# Tit-for-tat against a mixed player in the PD; 3 cooperation probabilities x 2 round counts x 4 seeds = 24 cells.
SWEEP_YAML = textwrap.dedent(
    """\
    name: small_sweep
    seed: 5
    world:
      type: matrix_game
      game: prisoners_dilemma
      players: [alice, bob]
      rounds: 20
      continuation: 0.95
    agents:
      alice: tit_for_tat
      bob: {policy: mixed, params: {probabilities: [0.5, 0.5]}}
    sweep:
      grid:
        agents.bob.params.probabilities: [[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]
        world.rounds: [10, 30]
      seeds: 4
    """
)


def comparable(frame):
    """The table without what differs between two executions of the same sweep (ids, timings)."""
    return frame.drop(columns=["run_id", "wall_seconds"]).reset_index(drop=True)

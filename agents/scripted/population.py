"""Policies for the matrix-game world's population mode (``simulator.worlds.matrix_population``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from agents.registry import Example, register


# It plays the population mode only (the policy-contract test plays it there, tests/test_policy_contract.py).
POPULATION = {"type": "matrix_game", "game": "hawk_dove", "population": {"size": 10, "initial": {"hawk": 3, "dove": 7}, "generations": 3}}


@register("follow_rule", worlds=["matrix_game"], examples=lambda folder: {"matrix_game": Example(world=POPULATION)})
class FollowRule:
    """Population mode: revise as the evolutionary process's rule drew (switch iff rule_says_switch)."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, bool]:
        return {"switch": bool(observation["rule_says_switch"])}

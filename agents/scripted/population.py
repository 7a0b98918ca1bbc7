"""Policies for the matrix-game world's population mode (``simulator.worlds.matrix_population``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from agents.registry import register


@register("follow_rule", worlds=["matrix_game"])
class FollowRule:
    """Population mode: revise as the evolutionary process's rule drew (switch iff rule_says_switch)."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, bool]:
        return {"switch": bool(observation["rule_says_switch"])}

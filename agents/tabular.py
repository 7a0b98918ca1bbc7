"""What a tabular or linear policy needs of an action model, shared by the learned policy and ``simulator.rl``.

A *kind* of action model is named by its sorted field names; a table row's
state key bins chosen features; the greedy choice is the best legal column.
Kept apart from ``agents/learned.py`` so that the PettingZoo spaces
(``simulator/rl/spaces.py``) use them without importing the policy, which
imports the feature views (``simulator/rl/worlds.py``): no import cycle.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError


def state_key(features: np.ndarray, indices: list[int], bins: int, low: float = 0.0, high: float = 1.0) -> str:
    """Bin the chosen features into ``bins`` equal cells of [low, high]; the key joins the cell numbers."""
    if not indices:
        return ""
    x = (np.asarray(features, dtype=float)[list(indices)] - low) / (high - low)
    cells = np.clip(np.floor(x * bins), 0, bins - 1).astype(int)
    return ",".join(str(c) for c in cells)


@lru_cache(maxsize=None)
def kind_of(model: type[BaseModel]) -> str:
    """The kind of an action model: its field names, sorted, joined by '+'."""
    return "+".join(sorted(model.model_fields))


def best_legal(values: np.ndarray, legal: np.ndarray) -> int:
    """The index of the highest value among legal entries (ties: the first); all illegal: the highest."""
    values = np.asarray(values, dtype=float)
    legal = np.asarray(legal, dtype=bool)
    if not legal.any():
        legal = np.ones_like(legal)
    return int(np.flatnonzero(legal)[np.argmax(values[legal])])


def accepts(model: type[BaseModel], action: dict[str, Any]) -> bool:
    """Whether ``model`` validates ``action`` (an action is legal now)."""
    try:
        model.model_validate(action)
    except ValidationError:
        return False
    return True

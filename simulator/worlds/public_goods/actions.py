"""The public goods world's action models, one factory per phase (cached: one class per distinct shape).

``contribution_model(endowment, step)`` (how much to put in, on the
contribution grid), ``punish_model(targets, max_points)`` (punishment points
per group member) and ``select_model(others)`` (partners to refuse). Pure
pydantic: policies and the RL adapter import them without the world.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator


@lru_cache(maxsize=64)
def contribution_model(endowment: float, step: float | None) -> type[BaseModel]:
    grid = "any amount" if step is None else f"a multiple of {step:g}"
    description = f"how much of your endowment to put into the public good: {grid} between 0 and {endowment:g}"

    class Contribution(BaseModel):
        model_config = ConfigDict(extra="forbid")
        # The grid is checked below (float-tolerant) and declared in the JSON Schema, so an
        # LLM or a schema-driven policy is told it: pydantic's own multiple_of is float-fragile.
        contribution: float = Field(
            ge=0, le=endowment, description=description, allow_inf_nan=False,
            json_schema_extra=None if step is None else {"multipleOf": step},
        )

        @field_validator("contribution")
        @classmethod
        def _on_grid(cls, value: float) -> float:
            if step is None:
                return float(value)
            k = round(value / step)
            if abs(value - k * step) > 1e-6 * max(1.0, step):
                raise ValueError(f"contribution must be a multiple of {step:g}")
            return float(min(endowment, k * step))

    return Contribution


@lru_cache(maxsize=4096)
def punish_model(targets: tuple[str, ...], max_points: int) -> type[BaseModel]:
    allowed = frozenset(targets)
    description = f"punishment points per target (0-{max_points} each); allowed targets: {', '.join(targets)}"

    class Punish(BaseModel):
        model_config = ConfigDict(extra="forbid")
        punish: dict[str, int] = Field(default_factory=dict, description=description)

        @field_validator("punish")
        @classmethod
        def _targets(cls, points: dict[str, int]) -> dict[str, int]:
            bad = sorted(set(points) - allowed)
            if bad:
                raise ValueError(f"cannot punish {', '.join(bad)}; allowed targets: {', '.join(targets)}")
            for target, k in points.items():
                if not 0 <= k <= max_points:
                    raise ValueError(f"points for {target} must be between 0 and {max_points}")
            return {t: k for t, k in points.items() if k > 0}

    return Punish


@lru_cache(maxsize=4096)
def select_model(others: tuple[str, ...]) -> type[BaseModel]:
    """``refuse``: a list of other players' ids (JSON Schema enum), duplicates dropped."""

    def unique(refuse: list[str]) -> list[str]:
        return sorted(set(refuse))

    return create_model(
        "Select",
        __config__=ConfigDict(extra="forbid"),
        __validators__={"_unique": field_validator("refuse")(unique)},
        refuse=(list[Literal[others]], Field(default_factory=list, description="players you refuse to be grouped with next round")),
    )

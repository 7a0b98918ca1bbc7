"""The Policy protocol: a decision maker maps (observation, action model) to an action.

Scripted policies and the LLM policy implement the same protocol, so any policy
can be seated in any world: the world describes the legal actions as a pydantic
model and the policy returns an instance of it (or a dict the host validates).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel


@runtime_checkable
class Policy(Protocol):
    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> BaseModel | dict[str, Any]:
        """Choose an action for the current observation."""


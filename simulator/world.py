"""The World protocol: what every game offers to the run that hosts it.

A world is a state machine driven by the engine (compare OpenSpiel's ``State``
and PettingZoo's AEC API). When it needs decisions it asks its ``Host`` to
``wake`` it; at that simulated time the host asks ``acting()`` who may act,
gives each of them ``observe(agent)`` and the pydantic ``action_model(agent)``
(whose JSON Schema is what an LLM is asked to fill), collects one action per
agent from their policies and hands the batch to ``apply``. Everything a
world needs beyond that (message latencies, deadlines, rounds) it schedules on
``host.engine`` itself. Decisions that fall at the same simulated time are one
batch, applied in the order ``acting()`` returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel

from simulator.engine import Engine


class Host(Protocol):
    """What a world may ask of the run hosting it."""

    engine: Engine

    def wake(self, *, at: float | None = None, after: float | None = None) -> None:
        """Ask for a decision point: at that time ``acting()`` agents are asked to act."""

    def log(self, kind: str, agent: str | None = None, **data: Any) -> None:
        """Append an event to the run's event log (time-stamped with ``engine.now``)."""

    def finish(self) -> None:
        """End the run after the current event. The host checks ``done()`` after every decision point
        itself; a world whose own scheduled event (not a decision) ends the game calls this from it."""


@dataclass
class Metrics:
    """What a run reports: per-agent payoffs, utilitarian welfare, and the rest.

    ``measures`` holds world-specific outcomes (cooperation rate, regret, ...);
    ``theory`` holds what the mechanisms modules predict for the same game
    (equilibria, optimum, price of anarchy), so a user reads both side by side.
    """

    payoffs: dict[str, float]
    welfare: float | None = None
    measures: dict[str, Any] = field(default_factory=dict)
    theory: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.welfare is None:
            self.welfare = float(sum(self.payoffs.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "welfare": _plain(self.welfare),
            "payoffs": _plain(self.payoffs),
            "measures": _plain(self.measures),
            "theory": _plain(self.theory),
        }


def _plain(value: Any) -> Any:
    """Turn numpy scalars/arrays and tuples into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


@runtime_checkable
class World(Protocol):
    """One game. Implementations live in ``simulator/worlds/<game>.py``."""

    def agent_ids(self) -> list[str]:
        """Every agent that takes part, in a fixed order."""

    def role(self, agent_id: str) -> str:
        """The agent's role ("player", "customer", "business", ...), used to pick its policy."""

    def rules(self, agent_id: str) -> str:
        """The rules of the game as this agent knows them, in plain text (for LLM prompts)."""

    def start(self, host: Host) -> None:
        """Set up and schedule the first events / decision points."""

    def acting(self) -> list[str]:
        """Agents who must decide now (called by the host at each decision point)."""

    def observe(self, agent_id: str) -> dict[str, Any]:
        """What the agent sees now: a JSON-ready dict."""

    def action_model(self, agent_id: str) -> type[BaseModel]:
        """The legal actions of this agent now, as a pydantic model."""

    def default_action(self, agent_id: str) -> BaseModel:
        """The action used when a policy fails to give a valid one (counted as a fallback)."""

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        """Apply one batch of decisions taken at the same simulated time."""

    def done(self) -> bool:
        """True when the game is over (the host stops the run)."""

    def progress(self) -> float:
        """Fraction of the run completed, in [0, 1] (for progress bars)."""

    def metrics(self) -> Metrics:
        """Outcomes so far, with theory beside them."""

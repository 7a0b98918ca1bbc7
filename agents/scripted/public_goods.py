"""Scripted and learning players for the public goods world (``simulator.worlds.public_goods``).

Every policy answers all three phases of a round, read from ``observation["phase"]``:
``contribute`` ({"contribution": c}), ``punish`` ({"punish": {target: points}})
and ``select`` ({"refuse": [ids]}).

* ``free_rider`` — contributes 0, never punishes, refuses nobody.
* ``full_contributor`` — contributes the endowment; refuses low-reputation players.
* ``conditional_cooperator`` — contributes the mean of the others' last-round
  contributions (sequential mode: of its predecessors this round, when it has any)
  (Fischbacher, Gächter & Fehr 2001).
* ``altruistic_punisher`` — contributes fully and punishes players who gave less
  than ``threshold`` · endowment, with points growing with the shortfall (Fehr & Gächter 2002).
* ``antisocial_punisher`` — contributes little and punishes those who gave more
  than it did (Herrmann, Thöni & Gächter 2008).
* ``q_learning`` — ε-greedy stateless Q-learning over the contribution grid,
  learning from its own last payoff (Watkins 1989; the bandit form used in MARL
  social-dilemma studies).
* ``roth_erev`` — Roth & Erev (1995) reinforcement learning over the grid.

Partner choice (the ``select`` phase) for cooperative types: refuse players
whose public image score is below ``refuse_below``; without a reputation
system, refuse group mates who contributed less than half the endowment last round.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agents.registry import register

WORLDS = ["public_goods"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # "nan"/"inf" strings must not become floats


def grid_of(observation: dict[str, Any]) -> np.ndarray:
    e, step = observation["endowment"], observation["step"]
    if step is None:
        return np.linspace(0.0, e, 11)
    return np.linspace(0.0, e, int(round(e / step)) + 1)


def snap(observation: dict[str, Any], value: float) -> float:
    """The grid point nearest to ``value`` (any amount when the grid is continuous)."""
    e, step = observation["endowment"], observation["step"]
    value = float(min(max(value, 0.0), e))
    if step is None:
        return value
    return float(min(e, round(value / step) * step))


def refuse_low_reputation(observation: dict[str, Any], below: float | None, me: str | None = None) -> list[str]:
    """Players to refuse: image score < ``below`` (if public), else group mates who gave < e/2 last round."""
    if below is None:
        return []
    if "reputation" in observation:
        return sorted(a for a, s in observation["reputation"].items() if s < below and a != me)
    contributions = observation.get("contributions") or {}
    half = observation["endowment"] / 2
    return sorted(a for a, c in contributions.items() if c < half and a != me)


class _Player:
    """Base class: dispatch on the phase; defaults never punish and refuse nobody."""

    refuse_below: float | None = None

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        self.me: str | None = None

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, Any]:
        phase = observation["phase"]
        self.me = observation.get("me")
        if phase == "contribute":
            return {"contribution": snap(observation, self.contribute(observation))}
        if phase == "punish":
            return {"punish": self.punish(observation)}
        return {"refuse": [a for a in refuse_low_reputation(observation, self.refuse_below, self.me) if a != self.me]}

    def contribute(self, observation: dict[str, Any]) -> float:
        raise NotImplementedError

    def punish(self, observation: dict[str, Any]) -> dict[str, int]:
        return {}


class _SelectParams(_Params):
    refuse_below: float | None = Field(0.0, description="refuse players whose image score is below this (null: refuse nobody)")


@register("free_rider", worlds=WORLDS)
class FreeRider(_Player):
    """Contribute nothing, never punish, refuse nobody."""

    def contribute(self, observation: dict[str, Any]) -> float:
        return 0.0


@register("full_contributor", worlds=WORLDS)
class FullContributor(_Player):
    """Contribute the whole endowment every round."""

    Params = _SelectParams

    def __init__(self, params: _SelectParams, rng: np.random.Generator) -> None:
        super().__init__(params, rng)
        self.refuse_below = params.refuse_below

    def contribute(self, observation: dict[str, Any]) -> float:
        return observation["endowment"]


@register("conditional_cooperator", worlds=WORLDS)
class ConditionalCooperator(_Player):
    """Match the mean contribution of the others (last round) or of the predecessors (this round)."""

    class Params(_SelectParams):
        first: float = Field(0.5, ge=0, le=1, description="first-round contribution, as a fraction of the endowment")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        super().__init__(params, rng)
        self.refuse_below = params.refuse_below

    def contribute(self, observation: dict[str, Any]) -> float:
        predecessors = observation.get("predecessors") or []
        if predecessors:
            return float(np.mean(predecessors))
        last = observation.get("last_round") or {}
        others = [c for a, c in (last.get("group_contributions") or {}).items() if a != self.me]
        if others:
            return float(np.mean(others))
        return self.params.first * observation["endowment"]


@register("altruistic_punisher", worlds=WORLDS)
class AltruisticPunisher(_Player):
    """Contribute fully; punish whoever gave less than threshold * endowment, more points for bigger shortfalls."""

    class Params(_SelectParams):
        contribution: float = Field(1.0, ge=0, le=1, description="own contribution, as a fraction of the endowment")
        threshold: float = Field(0.5, gt=0, le=1, description="punish contributions below threshold * endowment")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        super().__init__(params, rng)
        self.refuse_below = params.refuse_below

    def contribute(self, observation: dict[str, Any]) -> float:
        return self.params.contribution * observation["endowment"]

    def punish(self, observation: dict[str, Any]) -> dict[str, int]:
        norm = self.params.threshold * observation["endowment"]
        contributions = observation.get("contributions") or {}
        points = {}
        for target in observation["targets"]:
            c = contributions.get(target)
            if c is not None and c < norm - 1e-9:
                points[target] = min(observation["max_points"], math.ceil(observation["max_points"] * (norm - c) / norm))
        return points


@register("antisocial_punisher", worlds=WORLDS)
class AntisocialPunisher(_Player):
    """Contribute little; punish whoever gave more than it did."""

    class Params(_Params):
        contribution: float = Field(0.0, ge=0, le=1, description="own contribution, as a fraction of the endowment")

    def contribute(self, observation: dict[str, Any]) -> float:
        return self.params.contribution * observation["endowment"]

    def punish(self, observation: dict[str, Any]) -> dict[str, int]:
        e = observation["endowment"]
        own = self.params.contribution * e
        contributions = observation.get("contributions") or {}
        points = {}
        for target in observation["targets"]:
            c = contributions.get(target)
            if c is not None and c > own + 1e-9:
                points[target] = min(observation["max_points"], math.ceil(observation["max_points"] * (c - own) / e))
        return points


class _Learner(_Player):
    """Shared bookkeeping: the learner keeps its grid, last action and update rule across rounds."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        super().__init__(params, rng)
        self.refuse_below = params.refuse_below
        self.grid: np.ndarray | None = None
        self.last_action: int | None = None

    def contribute(self, observation: dict[str, Any]) -> float:
        if self.grid is None:
            self.grid = grid_of(observation)
            self.setup(observation)
        payoff = observation.get("last_payoff")
        if self.last_action is not None and payoff is not None and observation.get("last_contribution") is not None:
            self.learn(self.last_action, float(payoff))
        self.last_action = self.choose()
        return float(self.grid[self.last_action])

    def setup(self, observation: dict[str, Any]) -> None: ...

    def learn(self, action: int, reward: float) -> None: ...

    def choose(self) -> int:
        raise NotImplementedError


@register("q_learning", worlds=WORLDS)
class QLearning(_Learner):
    """ε-greedy stateless Q-learning over the contribution grid, rewarded by its last round payoff."""

    class Params(_SelectParams):
        alpha: float = Field(0.1, gt=0, le=1, description="learning rate")
        epsilon: float = Field(0.1, ge=0, le=1, description="exploration probability")
        epsilon_decay: float = Field(1.0, gt=0, le=1, description="epsilon is multiplied by this after every round")
        initial: float | None = Field(None, description="initial Q value (default: optimistic, endowment * (1 + multiplier))")

    def setup(self, observation: dict[str, Any]) -> None:
        start = self.params.initial
        if start is None:
            start = observation["endowment"] * (1 + observation["multiplier"])
        self.q = np.full(len(self.grid), float(start))
        self.epsilon = self.params.epsilon

    def learn(self, action: int, reward: float) -> None:
        self.q[action] += self.params.alpha * (reward - self.q[action])
        self.epsilon *= self.params.epsilon_decay

    def choose(self) -> int:
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(len(self.grid)))
        best = np.flatnonzero(self.q >= self.q.max() - 1e-12)
        return int(self.rng.choice(best))


@register("roth_erev", worlds=WORLDS)
class RothErev(_Learner):
    """Roth–Erev reinforcement: propensities grow by the (shifted) payoff; choice ∝ propensity."""

    class Params(_SelectParams):
        forgetting: float = Field(0.05, ge=0, lt=1, description="phi: propensities decay by this fraction each round")
        experimentation: float = Field(0.1, ge=0, lt=1, description="epsilon: share of reinforcement spilled to the neighbours")
        initial: float = Field(5.0, gt=0, description="initial propensity of every contribution level")

    def setup(self, observation: dict[str, Any]) -> None:
        self.propensity = np.full(len(self.grid), self.params.initial)
        self.floor: float | None = None

    def learn(self, action: int, reward: float) -> None:
        # Rewards are shifted by the lowest payoff seen so far so that reinforcement stays >= 0.
        self.floor = reward if self.floor is None else min(self.floor, reward)
        gain = reward - self.floor
        m, eps = len(self.grid), self.params.experimentation
        spill = np.zeros(m)
        neighbours = [k for k in (action - 1, action + 1) if 0 <= k < m]
        spill[action] = gain * (1 - eps) if neighbours else gain
        for k in neighbours:
            spill[k] = gain * eps / len(neighbours)
        self.propensity = (1 - self.params.forgetting) * self.propensity + spill
        self.propensity = np.maximum(self.propensity, 1e-9)

    def choose(self) -> int:
        p = self.propensity / self.propensity.sum()
        return int(self.rng.choice(len(self.grid), p=p))

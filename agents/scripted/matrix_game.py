"""Scripted strategies for repeated matrix games (``simulator.worlds.matrix_game``).

They read everything from the observation (history, own payoff table), so one
instance can play match after match in a tournament. Labels: "cooperate" is
the first action and "defect" the second unless given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.registry import Example, register

WORLDS = ["matrix_game"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # "nan"/"inf" strings must not become floats


class _CooperateDefect(_Params):
    cooperate: str | None = Field(None, description="label of the cooperative action (default: the first)")
    defect: str | None = Field(None, description="label of the defecting action (default: the second)")


def _labels(observation: dict[str, Any], params: _CooperateDefect) -> tuple[str, str]:
    actions = observation["actions"]
    cooperate = params.cooperate or actions[0]
    defect = params.defect or actions[min(1, len(actions) - 1)]
    return cooperate, defect


def _others_last(observation: dict[str, Any]) -> list[str]:
    last = observation["history"][-1]
    return [a for i, a in enumerate(last) if i != observation["player"]]


@register("always", worlds=WORLDS, examples=lambda folder: {"matrix_game": Example({"action": "cooperate"})})
class Always:
    """Play one fixed action every round."""

    class Params(_Params):
        action: str = Field(description="the action label to play")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.action = params.action

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        return {"action": self.action}


@register("always_cooperate", worlds=WORLDS)
class AlwaysCooperate:
    """Always play the first (cooperative) action."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        return {"action": observation["actions"][0]}


@register("always_defect", worlds=WORLDS)
class AlwaysDefect:
    """Always play the second (defecting) action."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        return {"action": observation["actions"][min(1, len(observation["actions"]) - 1)]}


@register("uniform_random", worlds=WORLDS)
class UniformRandom:
    """Each round, an action uniformly at random."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        actions = observation["actions"]
        return {"action": actions[int(self.rng.integers(len(actions)))]}


@register("mixed", worlds=WORLDS, examples=lambda folder: {"matrix_game": Example({"probabilities": [0.5, 0.5]})})
class Mixed:
    """Each round, an action drawn from a given mixed strategy."""

    class Params(_Params):
        probabilities: list[float] = Field(description="one probability per action, summing to 1")

        @model_validator(mode="after")
        def _distribution(self) -> "Mixed.Params":
            p = np.asarray(self.probabilities, dtype=float)
            # NaN compares false with everything, so test what is allowed rather than what is not.
            if p.size == 0 or not np.isfinite(p).all() or not (p >= 0).all() or not abs(p.sum() - 1) <= 1e-9:
                raise ValueError(f"probabilities must be finite, non-negative and sum to 1 (got {self.probabilities})")
            return self

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.p = np.asarray(params.probabilities)
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        actions = observation["actions"]
        if len(actions) != len(self.p):
            raise ValueError(f"mixed strategy has {len(self.p)} probabilities for {len(actions)} actions")
        return {"action": actions[int(self.rng.choice(len(actions), p=self.p))]}


@register("tit_for_tat", worlds=WORLDS)
class TitForTat:
    """Cooperate first, then copy the others' last action (defect if they disagreed)."""

    Params = _CooperateDefect

    def __init__(self, params: _CooperateDefect, rng: np.random.Generator) -> None:
        self.params = params

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        cooperate, defect = _labels(observation, self.params)
        if not observation["history"]:
            return {"action": cooperate}
        others = set(_others_last(observation))
        if len(others) == 1 and next(iter(others)) in observation["actions"]:
            return {"action": next(iter(others))}
        return {"action": defect}


@register("grim_trigger", worlds=WORLDS)
class GrimTrigger:
    """Cooperate until anyone else ever plays anything but cooperate; then defect forever."""

    Params = _CooperateDefect

    def __init__(self, params: _CooperateDefect, rng: np.random.Generator) -> None:
        self.params = params

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        cooperate, defect = _labels(observation, self.params)
        me = observation["player"]
        betrayed = any(a != cooperate for joint in observation["history"] for i, a in enumerate(joint) if i != me)
        return {"action": defect if betrayed else cooperate}


@register("win_stay_lose_shift", worlds=WORLDS)
class WinStayLoseShift:
    """Pavlov: repeat the last action if its payoff reached the aspiration, else switch.

    The default aspiration is the midpoint of one's own payoff range (in the
    Prisoner's Dilemma 5,3,1,0 it is 2.5: stay after R or T, shift after P or S).
    With more than two actions, "shift" moves to the next action label.
    """

    class Params(_Params):
        aspiration: float | None = None
        first: str | None = Field(None, description="first action (default: the first label)")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.params = params

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        actions = observation["actions"]
        if not observation["history"]:
            return {"action": self.params.first or actions[0]}
        own = np.asarray(observation["payoffs"])
        aspiration = self.params.aspiration if self.params.aspiration is not None else (own.max() + own.min()) / 2
        last = observation["history"][-1][observation["player"]]
        if observation["my_payoffs"][-1] >= aspiration:
            return {"action": last}
        return {"action": actions[(actions.index(last) + 1) % len(actions)]}


@register("fictitious_play", worlds=WORLDS)
class FictitiousPlay:
    """Best response to the empirical mix of the others' past actions (ties: first label).

    Others are assumed to mix independently, each by its own empirical
    frequencies with one prior count per action (Brown 1951).
    """

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        me = observation["player"]
        expected = np.asarray(observation["payoffs"], dtype=float)
        # Contract the others' axes from the last one down, so axis numbers stay valid.
        for player in reversed(range(len(observation["all_actions"]))):
            if player == me:
                continue
            labels = observation["all_actions"][player]
            counts = np.ones(len(labels))
            for joint in observation["history"]:
                counts[labels.index(joint[player])] += 1
            expected = np.tensordot(expected, counts / counts.sum(), axes=([player], [0]))
        return {"action": observation["actions"][int(np.argmax(expected))]}

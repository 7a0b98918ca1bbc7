"""Scripted robots and humans for the off-switch game (``simulator.worlds.off_switch``).

Robots: ``always_act`` (a traditional agent that takes its reward for granted
and bypasses the switch), ``always_defer``, ``always_off``, and ``eu_robot``
(expected-utility maximiser: computes V(act), V(off), V(wait) from its prior
and its model of the human with ``mechanisms.off_switch`` and picks the best).
Humans: ``rational_human`` (allow iff U >= 0), ``boltzmann_human`` (allow with
probability sigmoid(U / beta)), ``model_human`` (rational or Boltzmann as the
world's ``human.beta`` says), ``always_allow``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agents.registry import register
from mechanisms import off_switch as theory

WORLDS = ["off_switch"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # "nan"/"inf" strings must not become floats


class _Fixed:
    choice = "wait"

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        return {"choice": self.choice}


@register("always_act", worlds=WORLDS)
class AlwaysAct(_Fixed):
    """Robot: always act directly (disables the off switch)."""

    choice = "act"


@register("always_defer", worlds=WORLDS)
class AlwaysDefer(_Fixed):
    """Robot: always wait for the human's decision."""

    choice = "wait"


@register("always_off", worlds=WORLDS)
class AlwaysOff(_Fixed):
    """Robot: always switch itself off."""

    choice = "off"


def prior_values(prior: dict[str, Any], beta: float) -> dict[str, Any]:
    """act/off/wait values for a prior as described in the robot's observation."""
    kind = prior.get("distribution", "normal")
    if kind == "normal":
        return theory.defer_values(prior.get("mu", 0.0), prior.get("sigma", 1.0), beta)
    if kind == "discrete":
        return theory.defer_values_discrete(prior["values"], prior.get("probabilities"), beta)
    return theory.defer_values_samples(prior["samples"], beta)


@register("eu_robot", worlds=WORLDS)
class ExpectedUtilityRobot:
    """Robot: maximise expected utility under its prior and its model of the human."""

    class Params(_Params):
        beta: float | None = Field(None, ge=0, description="the human's noise R assumes (default: the world's human_beta)")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.beta = params.beta
        self._cache: tuple[Any, dict] | None = None

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        beta = observation["human_beta"] if self.beta is None else self.beta
        key = (repr(observation["prior"]), beta)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, prior_values(observation["prior"], beta))
        return {"choice": self._cache[1]["best"]}


@register("rational_human", worlds=WORLDS)
class RationalHuman:
    """Human: allow iff U >= 0."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        return {"decision": "allow" if observation["utility"] >= 0 else "switch_off"}


@register("boltzmann_human", worlds=WORLDS)
class BoltzmannHuman:
    """Human: allow with probability sigmoid(U / beta) (beta = 0: rational)."""

    class Params(_Params):
        beta: float | None = Field(None, ge=0, description="noise (default: the world's human_beta)")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.beta = params.beta
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        beta = observation["human_beta"] if self.beta is None else self.beta
        p = float(theory.human_allows(observation["utility"], beta))
        return {"decision": "allow" if self.rng.random() < p else "switch_off"}


@register("model_human", worlds=WORLDS)
class ModelHuman(BoltzmannHuman):
    """Human: plays the world's human model (rational if human_beta = 0, else Boltzmann)."""

    Params = _Params

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.beta = None
        self.rng = rng


@register("always_allow", worlds=WORLDS)
class AlwaysAllow:
    """Human: never switches the robot off."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        return {"decision": "allow"}

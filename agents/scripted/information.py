"""Scripted agents for the information-acquisition world (``simulator.worlds.information``).

* ``obedient``  — exert the recommended effort, report the signal truthfully;
* ``lazy``      — always the cheapest effort, report a uniformly random signal;
* ``strategic`` — best-respond to the announced mechanism: enumerate every
  (effort, reporting map) plan and take the one with the highest expected
  payment minus cost given its recommendation, assuming the others obey
  (``mechanisms.information_design.best_response``; ties favour obedience).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from agents.registry import register
from mechanisms import information_design as idesign

WORLDS = ["information"]


@register("obedient", worlds=WORLDS)
class Obedient:
    """Exert the recommended effort and report the observed signal."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        if observation["phase"] == "effort":
            return {"effort": observation["recommended"]}
        return {"report": observation["signal"]}


@register("lazy", worlds=WORLDS)
class Lazy:
    """Exert the cheapest effort and report a uniformly random signal."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        if observation["phase"] == "effort":
            return {"effort": observation["efforts"][int(np.argmin(observation["costs"]))]}
        signals = observation["signals"]
        return {"report": signals[int(self.rng.integers(len(signals)))]}


@register("strategic", worlds=WORLDS)
class Strategic:
    """Best-respond to the announced mechanism (effort and reporting map), assuming the others obey."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self._instance: idesign.Instance | None = None
        self._plans: dict[tuple[int, str], tuple[int, tuple[int, ...]]] = {}
        self._plan: tuple[int, tuple[int, ...]] | None = None

    def _best_plan(self, observation: dict[str, Any]) -> tuple[int, tuple[int, ...]]:
        if self._instance is None:
            self._instance = idesign.instance_from_dict(observation["instance"])
        inst = self._instance
        i = observation["agent"]
        key = (observation["mechanism_id"], observation["recommended"])
        if key not in self._plans:
            payments = [np.zeros(inst.action_shape + inst.signal_shape + (inst.n_states,)) for _ in range(inst.n_agents)]
            payments[i] = np.asarray(observation["payments"], dtype=float)
            mech = idesign.Mechanism(np.asarray(observation["recommendation"], dtype=float), payments,
                                     np.zeros(inst.action_shape + inst.signal_shape, dtype=int), 0.0)
            recommended = observation["efforts"].index(observation["recommended"])
            action, report_map, _ = idesign.best_response(inst, mech, i, recommended)
            self._plans[key] = (action, report_map)
        return self._plans[key]

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, str]:
        if observation["phase"] == "effort":
            self._plan = self._best_plan(observation)
            return {"effort": observation["efforts"][self._plan[0]]}
        plan = self._plan or self._best_plan(observation)
        signals = observation["signals"]
        return {"report": signals[plan[1][signals.index(observation["signal"])]]}

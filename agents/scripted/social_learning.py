"""Scripted agents for sequential social learning (``simulator.worlds.social_learning``).

* ``bayesian``      — posterior log-odds = public-belief log-odds + own signal's
  log-likelihood ratio (BHW 1992); on a non-complete network, where no public
  belief is given, it counts every observed action as an independent signal
  of that agent's precision (naive, "cursed" inference, as in Eyster & Rabin
  2010) — exact only when no one herds;
* ``signal_only``   — follows its own signal;
* ``majority``      — the majority of observed actions, own signal on a tie;
* ``boltzmann``     — a noisy Bayesian: ``P(a = 1) = 1 / (1 + exp(-L / T))``
  with ``L`` the Bayesian's posterior log-odds and temperature ``T``;
* ``degroot``       — a DeGroot-style average: ``w * P(theta=1 | own signal)
  + (1 - w) * (share of observed agents who chose 1)``, act on it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agents.registry import register
from mechanisms import social_learning as sl

WORLDS = ["social_learning"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # "nan"/"inf" strings must not become floats


def posterior_log_odds(observation: dict[str, Any]) -> float:
    """The (possibly naive) Bayesian posterior log-odds of state 1 given the observation."""
    belief = observation.get("public_belief")
    if belief is not None:
        prior_log_odds = float(sl.logit(belief))
    else:
        prior_log_odds = float(sl.logit(observation["prior"]))
        for seen in observation["observed"]:
            ell = float(sl.logit(min(max(seen["precision"], 0.5), 1 - 1e-12)))
            prior_log_odds += ell if seen["action"] == 1 else -ell
    ell = float(sl.logit(min(max(observation["precision"], 0.5), 1 - 1e-12)))
    return prior_log_odds + (ell if observation["signal"] == 1 else -ell)


@register("bayesian", worlds=WORLDS)
class Bayesian:
    """Act on the Bayesian posterior from the public belief (or naive counting off a complete network) and the signal."""

    class Params(_Params):
        tie: Literal["coin", "own_signal"] | None = Field(None, description="at indifference (default: the world's rule)")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.tie = params.tie
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, int]:
        log_odds = posterior_log_odds(observation)
        if log_odds > 1e-9:
            return {"action": 1}
        if log_odds < -1e-9:
            return {"action": 0}
        tie = self.tie or observation.get("tie_rule", "own_signal")
        if tie == "coin":
            return {"action": int(self.rng.random() < 0.5)}
        return {"action": int(observation["signal"])}


@register("signal_only", worlds=WORLDS)
class SignalOnly:
    """Follow the private signal, ignoring everyone else."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, int]:
        return {"action": int(observation["signal"])}


@register("majority", worlds=WORLDS)
class Majority:
    """Copy the majority of observed predecessors; follow the own signal on a tie or with no one observed."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        pass

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, int]:
        ones = sum(seen["action"] for seen in observation["observed"])
        zeros = len(observation["observed"]) - ones
        if ones == zeros:
            return {"action": int(observation["signal"])}
        return {"action": int(ones > zeros)}


@register("boltzmann", worlds=WORLDS)
class Boltzmann:
    """A noisy Bayesian: choose 1 with probability logistic(posterior log-odds / temperature)."""

    class Params(_Params):
        temperature: float = Field(1.0, gt=0, description="higher = noisier")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.temperature = params.temperature
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, int]:
        p1 = float(sl.expit(posterior_log_odds(observation) / self.temperature))
        return {"action": int(self.rng.random() < p1)}


@register("degroot", worlds=WORLDS)
class DeGroot:
    """Weighted average of the own signal's posterior and the share of observed agents choosing 1."""

    class Params(_Params):
        self_weight: float = Field(0.5, ge=0, le=1, description="weight on the own signal")

    def __init__(self, params: Params, rng: np.random.Generator) -> None:
        self.w = params.self_weight

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, int]:
        q = observation["precision"]
        own = q if observation["signal"] == 1 else 1 - q
        observed = observation["observed"]
        if not observed:
            belief = own
        else:
            belief = self.w * own + (1 - self.w) * sum(s["action"] for s in observed) / len(observed)
        if abs(belief - 0.5) < 1e-12:
            return {"action": int(observation["signal"])}
        return {"action": int(belief > 0.5)}

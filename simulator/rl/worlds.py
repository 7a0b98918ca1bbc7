"""What the adapter knows about each world: action kinds, observation features, payoffs so far.

This is the only module of ``simulator.rl`` that knows individual worlds; the
rest is generic. For each world it says

* which kinds of action model an agent can be asked for over a run (the public
  goods phases, the information world's effort then report), so that an
  agent's action space is fixed before play (``action_codec``);
* how an observation (the world's JSON-ready dict) becomes a fixed-length
  vector in a ``Box`` (``Features``): the raw dict stays available to learners
  in ``info["observation"]``, and the learned policy recomputes the same vector
  from the observation alone under ``agora run``;
* each agent's payoff so far (``payoffs_so_far``), cheaply and as the world
  defines it in ``metrics().payoffs``, so that per-step rewards are its
  increments. A world not listed here falls back to ``metrics().payoffs``.

Every feature is scaled into a bounded interval (shares of the endowment,
fractions of the horizon, ``tanh`` of unbounded utilities, ``x / (1 + x)`` of
counts) so the observation space has finite bounds.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from gymnasium import spaces

from simulator.rl.spaces import ActionCodec, Choice, Phased, Points, Subset, codec_for_model, combine
from simulator.world import World

# ---------------------------------------------------------------------- action kinds


def action_codec(world: World, agent: str) -> ActionCodec | Phased:
    """The codec (hence the action space) of every action model ``agent`` may be asked for."""
    kind = getattr(world, "type_name", None)
    others = [a for a in world.agent_ids() if a != agent]
    if kind == "public_goods":
        from simulator.worlds.public_goods import contribution_model

        codecs: list[ActionCodec] = [codec_for_model(contribution_model(world.e, world.config.step))]
        if world.punishment is not None:
            codecs.append(Points("punish", others, world.punishment.max_points))
        if world.selection is not None:
            codecs.append(Subset("refuse", others))
        return combine(codecs)
    if kind == "information":
        i = world.agent_ids().index(agent)
        return combine([Choice("effort", world.inst.action_labels(i)), Choice("report", world.inst.signal_labels(i))])
    if kind == "matrix_game":
        seat = 0 if world.config.tournament is not None else world.agent_ids().index(agent)
        return Choice("action", world.labels[seat])
    return codec_for_model(world.action_model(agent), universe=others)


# ---------------------------------------------------------------------- observation features


def squash(count: float) -> float:
    """A count in [0, inf) as a number in [0, 1)."""
    return count / (1.0 + count)


class Features:
    """A fixed-length view of one world's observations: ``space`` and ``__call__(observation)``.

    ``params`` is JSON-ready, so a saved policy rebuilds the same view with
    ``features_from(name, params)`` from the observation alone.
    """

    name = "generic"
    low, high = 0.0, 1.0

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.size = self.length()
        self.space = spaces.Box(np.float32(self.low), np.float32(self.high), shape=(self.size,), dtype=np.float32)

    def length(self) -> int:
        raise NotImplementedError

    def values(self, obs: dict[str, Any]) -> list[float]:
        raise NotImplementedError

    def __call__(self, obs: dict[str, Any]) -> np.ndarray:
        x = np.asarray(self.values(obs), dtype=np.float32)
        return np.clip(x, self.low, self.high)

    def zeros(self) -> np.ndarray:
        return np.clip(np.zeros(self.size, dtype=np.float32), self.low, self.high)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params}


class PublicGoodsFeatures(Features):
    """phase one-hot (contribute, punish, select); round / rounds; excluded; last round's own
    contribution, the others' mean contribution (shares of the endowment) and punishment points
    received (share of the most possible); this round's predecessors' mean (sequential) and
    whether there are any; then this round's contribution of every player (punish / select phases)."""

    name = "public_goods"
    PHASES = ("contribute", "punish", "select")

    def length(self) -> int:
        return 3 + 7 + len(self.params["ids"])

    def values(self, obs: dict[str, Any]) -> list[float]:
        e, me = self.params["endowment"], obs.get("me")
        last = obs.get("last_round") or {}
        others = [c for a, c in (last.get("group_contributions") or {}).items() if a != me and c is not None]
        predecessors = obs.get("predecessors") or []
        now = obs.get("contributions") or {}
        return [
            *(float(obs.get("phase") == p) for p in self.PHASES),
            obs.get("round", 0) / max(1, obs.get("rounds", 1)),
            float(bool(obs.get("excluded"))),
            (last.get("contribution") or 0.0) / e,
            (float(np.mean(others)) / e) if others else 0.0,
            (last.get("punishment_received") or 0) / self.params["most_points_received"],
            (float(np.mean(predecessors)) / e) if predecessors else 0.0,
            float(bool(predecessors)),
            *((now.get(a) or 0.0) / e for a in self.params["ids"]),
        ]


class MatrixGameFeatures(Features):
    """round / max_rounds, then every seat's last action one-hot (zeros before the first round)."""

    name = "matrix_game"

    def length(self) -> int:
        return 1 + sum(len(labels) for labels in self.params["labels"])

    def values(self, obs: dict[str, Any]) -> list[float]:
        history = obs.get("history") or []
        out = [obs.get("round", 0) / max(1, obs.get("max_rounds", 1))]
        last = history[-1] if history else [None] * len(self.params["labels"])
        for labels, played in zip(self.params["labels"], last):
            out.extend(float(played == label) for label in labels)
        return out


class OffSwitchFeatures(Features):
    """is robot; episode / episodes; beta / (1 + beta); tanh(U) (the human sees U); tanh(last
    realised utility) and whether there is one (the robot)."""

    name = "off_switch"
    low = -1.0

    def length(self) -> int:
        return 6

    def values(self, obs: dict[str, Any]) -> list[float]:
        beta = obs.get("human_beta", 0.0)
        last = obs.get("last_utility")
        return [
            float("prior" in obs),
            obs.get("episode", 0) / max(1, obs.get("episodes", 1)),
            beta / (1.0 + beta),
            math.tanh(obs.get("utility") or 0.0),
            math.tanh(last or 0.0),
            float(last is not None),
        ]


class InformationFeatures(Features):
    """is report phase; round / rounds; the recommended effort one-hot; in the report phase the
    effort taken and the signal seen, one-hot."""

    name = "information"

    def length(self) -> int:
        return 2 + 2 * len(self.params["efforts"]) + len(self.params["signals"])

    def values(self, obs: dict[str, Any]) -> list[float]:
        efforts, signals = self.params["efforts"], self.params["signals"]
        return [
            float(obs.get("phase") == "report"),
            obs.get("round", 0) / max(1, obs.get("rounds", 1)),
            *(float(obs.get("recommended") == x) for x in efforts),
            *(float(obs.get("effort") == x) for x in efforts),
            *(float(obs.get("signal") == x) for x in signals),
        ]


class SocialLearningFeatures(Features):
    """signal; precision; public belief (the prior when not public); share of observed actions
    equal to 1 (1/2 when none); observed / n; position / n; prior."""

    name = "social_learning"

    def length(self) -> int:
        return 7

    def values(self, obs: dict[str, Any]) -> list[float]:
        n = max(1, obs.get("n_agents", 1))
        seen = [o["action"] for o in obs.get("observed") or []]
        belief = obs.get("public_belief")
        return [
            float(obs.get("signal", 0)),
            float(obs.get("precision", 0.5)),
            float(obs.get("prior", 0.5) if belief is None else belief),
            float(np.mean(seen)) if seen else 0.5,
            len(seen) / n,
            obs.get("position", 0) / n,
            float(obs.get("prior", 0.5)),
        ]


class MarketplaceFeatures(Features):
    """is customer; time / deadline; then x / (1 + x) of: unread messages, messages shown,
    proposals received, businesses contacted, proposals paid; has search results; last action ok."""

    name = "marketplace"

    def length(self) -> int:
        return 9

    def values(self, obs: dict[str, Any]) -> list[float]:
        last = obs.get("last_result") or {}
        return [
            float(obs.get("role") == "customer"),
            min(1.0, obs.get("time", 0.0) / self.params["deadline"]),
            squash(obs.get("unread", 0)),
            squash(len(obs.get("messages") or [])),
            squash(len(obs.get("proposals") or [])),
            squash(len(obs.get("contacted") or [])),
            squash(len(obs.get("paid") or [])),
            float(bool(obs.get("search"))),
            float(bool(last.get("ok"))),
        ]


class ScalarFeatures(Features):
    """Any other world: its observation's top-level numbers, in the order of ``keys``, squashed by tanh."""

    name = "scalars"
    low = -1.0

    def length(self) -> int:
        return max(1, len(self.params["keys"]))

    def values(self, obs: dict[str, Any]) -> list[float]:
        out = [math.tanh(float(obs.get(k) or 0.0)) for k in self.params["keys"]]
        return out or [0.0]


FEATURES: dict[str, type[Features]] = {
    cls.name: cls for cls in (PublicGoodsFeatures, MatrixGameFeatures, OffSwitchFeatures, InformationFeatures,
                              SocialLearningFeatures, MarketplaceFeatures, ScalarFeatures)
}


def features_for(world: World, agent: str, sample: Callable[[], dict[str, Any]] | None = None) -> Features:
    """The feature view of ``agent``'s observations in ``world`` (``sample``: an observation, for unknown worlds)."""
    kind = getattr(world, "type_name", None)
    if kind == "public_goods":
        n = len(world.agent_ids())
        most = world.punishment.max_points * (n - 1) if world.punishment is not None else 1
        return PublicGoodsFeatures({"ids": world.agent_ids(), "endowment": world.e, "most_points_received": max(1, most)})
    if kind == "matrix_game":
        labels = world.labels if world.config.tournament is None else [world.labels[0]] * 2
        return MatrixGameFeatures({"labels": [list(x) for x in labels]})
    if kind == "off_switch":
        return OffSwitchFeatures({})
    if kind == "information":
        i = world.agent_ids().index(agent)
        return InformationFeatures({"efforts": world.inst.action_labels(i), "signals": world.inst.signal_labels(i)})
    if kind == "social_learning":
        return SocialLearningFeatures({})
    if kind == "marketplace":
        return MarketplaceFeatures({"deadline": world.config.deadline})
    observation = sample() if sample is not None else {}
    keys = sorted(k for k, v in observation.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    return ScalarFeatures({"keys": keys})


def features_from(description: dict[str, Any]) -> Features:
    """Rebuild a feature view from ``Features.describe()`` (as saved with a learned policy)."""
    name = description.get("name")
    if name not in FEATURES:
        raise ValueError(f"unknown feature view {name!r}; known: {', '.join(sorted(FEATURES))}")
    return FEATURES[name](dict(description.get("params") or {}))


# ---------------------------------------------------------------------- payoffs so far


def payoffs_so_far(world: World) -> dict[str, float]:
    """Each agent's payoff accumulated so far, as the world's ``metrics().payoffs`` defines it.

    Social learning reports payoffs per episode (correct actions / episodes);
    here they are totals (one per correct action), so per-step rewards are
    the model's 1 for a correct action. The others are the metrics' totals,
    read without computing the theory beside them.
    """
    kind = getattr(world, "type_name", None)
    if kind == "matrix_game":
        return {a: float(v) for a, v in world.scores.items()}
    if kind == "public_goods":
        return {a: float(v) for a, v in world.totals.items()}
    if kind == "off_switch":
        total = float(sum(world.utilities))
        return {a: total for a in world.agent_ids()}
    if kind == "information":
        return {a: float(v) for a, v in world.payoffs.items()}
    if kind == "social_learning":
        return {a: float(v) for a, v in world.correct.items()}
    if kind == "marketplace":
        utility = np.where(world.satisfied, world.arrays.value, 0.0) - world.spent
        out = {c.id: float(u) for c, u in zip(world.customers, utility)}
        out.update({b.id: float(r) for b, r in zip(world.businesses, world.revenue)})
        return out
    return {a: float(v) for a, v in world.metrics().payoffs.items()}

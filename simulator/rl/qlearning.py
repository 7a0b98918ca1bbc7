"""Independent tabular Q-learning on an Agora PettingZoo environment, and saving what it learned.

Each learner seat keeps its own table and treats every other seat as part of
the environment (independent learners: Tan 1993; Claus & Boutilier 1998). For
one kind of action (e.g. the public goods ``contribution``) it runs Watkins'
Q-learning (Watkins & Dayan 1992)::

    Q(s, a) <- Q(s, a) + alpha * (r + gamma * max_a' Q(s', a') - Q(s, a))

where ``s`` bins chosen observation features (``agents.learned.state_key``),
``r`` is the payoff earned between two decisions of that kind (PettingZoo's
reward accumulated since the seat's last step), and the target is ``r`` at the
end of an episode. Actions are epsilon-greedy over what is legal now (the
action mask), epsilon falling linearly from ``epsilon_start`` to
``epsilon_end`` over the first ``explore_share`` of the episodes. Every other
kind of action (e.g. ``punish``) is played as a fixed action. Episode ``k`` is
the scenario run with seed ``seed + k``.

``save`` writes one ``learned`` policy file per seat; ``greedy_episode`` plays
the tables without exploration, which is what ``agora run`` does with the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from agents.learned import save_policy
from agents.tabular import best_legal, state_key
from simulator.rl import spaces as action_spaces
from simulator.rl.env import AgoraAECEnv


@dataclass
class QLearningConfig:
    kind: str = "contribution"  # the kind of action model learned (its field names)
    fixed: dict[str, dict[str, Any]] = field(default_factory=dict)
    state_indices: list[int] = field(default_factory=list)
    bins: int = 2
    alpha: float = 0.1
    gamma: float = 0.9
    epsilon_start: float = 1.0
    epsilon_end: float = 0.02
    explore_share: float = 0.8
    initial: float = 0.0


@dataclass
class Learner:
    """One seat's table: state key -> action values (columns = ``actions``)."""

    actions: list[dict[str, Any]]
    initial: float
    table: dict[str, np.ndarray] = field(default_factory=dict)

    def values(self, key: str) -> np.ndarray:
        if key not in self.table:
            self.table[key] = np.full(len(self.actions), self.initial)
        return self.table[key]


@dataclass
class Episode:
    """What the learners did in one episode: their learned-kind actions, and the run's payoffs."""

    actions: dict[str, list[dict[str, Any]]]
    returns: dict[str, float]


class QLearning:
    """Independent Q-learners for the learner seats of ``env`` (see the module docstring)."""

    def __init__(self, env: AgoraAECEnv, config: QLearningConfig) -> None:
        self.env, self.config = env, config
        self.learners: dict[str, Learner] = {}
        for agent in env.possible_agents:
            part = action_spaces.part_of(env.codecs[agent], config.kind)
            if not isinstance(part, action_spaces.Choice):
                raise ValueError(f"{agent}: {config.kind!r} actions are not a finite choice ({type(part).__name__}); tabular Q-learning needs one")
            self.learners[agent] = Learner([part.decode(j) for j in range(part.space.n)], config.initial)

    def key(self, agent: str, observation: np.ndarray) -> str:
        f = self.env.features[agent]
        return state_key(observation, self.config.state_indices, self.config.bins, f.low, f.high)

    def epsilon(self, episode: int, episodes: int) -> float:
        c = self.config
        span = max(1.0, c.explore_share * episodes)
        return float(c.epsilon_end + (c.epsilon_start - c.epsilon_end) * max(0.0, 1.0 - episode / span))

    def episode(self, seed: int, epsilon: float, rng: np.random.Generator | None, learn: bool) -> Episode:
        env, c = self.env, self.config
        env.reset(seed=seed)
        previous: dict[str, tuple[str, int] | None] = {a: None for a in env.possible_agents}
        carry = {a: 0.0 for a in env.possible_agents}
        played: dict[str, list[dict[str, Any]]] = {a: [] for a in env.possible_agents}
        returns = {a: 0.0 for a in env.possible_agents}
        for agent in env.agent_iter():
            observation, reward, termination, truncation, info = env.last()
            carry[agent] += reward
            returns[agent] += reward
            learner = self.learners[agent]
            if termination or truncation:
                if learn and previous[agent] is not None:
                    self._update(learner, previous[agent], carry[agent], None)
                env.step(None)
                continue
            kind = info["action_kind"]
            codec = env.codecs[agent]
            if kind != c.kind:
                if kind not in c.fixed:
                    raise ValueError(f"{agent} is asked for {kind!r} actions: give a fixed action for them (QLearningConfig.fixed)")
                env.step(action_spaces.encode(codec, kind, c.fixed[kind]))
                continue
            key = self.key(agent, observation)
            if learn and previous[agent] is not None:
                self._update(learner, previous[agent], carry[agent], key)
            carry[agent] = 0.0
            mask = action_spaces.mask_part(codec, info["action_mask"], kind)
            legal = np.ones(len(learner.actions), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
            if rng is not None and rng.random() < epsilon:
                j = int(rng.choice(np.flatnonzero(legal)))
            else:
                j = best_legal(learner.values(key), legal)
            previous[agent] = (key, j)
            played[agent].append(learner.actions[j])
            env.step(action_spaces.encode(codec, kind, learner.actions[j]))
        return Episode(played, returns)

    def _update(self, learner: Learner, previous: tuple[str, int], reward: float, key: str | None) -> None:
        state, j = previous
        target = reward if key is None else reward + self.config.gamma * float(learner.values(key).max())
        row = learner.values(state)
        row[j] += self.config.alpha * (target - row[j])

    def train(self, episodes: int, seed: int, on_episode: Callable[[int, Episode], None] | None = None) -> list[Episode]:
        """Train for ``episodes`` episodes (episode k: scenario seed ``seed + k``; exploration from ``seed``)."""
        rng = np.random.default_rng(seed)
        history = []
        for k in range(episodes):
            result = self.episode(seed + k, self.epsilon(k, episodes), rng, learn=True)
            history.append(result)
            if on_episode is not None:
                on_episode(k, result)
        return history

    def greedy_episode(self, seed: int) -> Episode:
        """One episode without exploration or learning (what the saved policy plays)."""
        return self.episode(seed, 0.0, None, learn=False)

    def save(self, folder: str | Path, trained: dict[str, Any] | None = None) -> dict[str, Path]:
        """One ``learned`` policy file per seat, ``<folder>/<seat>.npz``."""
        out = {}
        for agent, learner in self.learners.items():
            states = sorted(learner.table)
            rows = [learner.table[s] for s in states] + [np.full(len(learner.actions), learner.initial)]
            kinds: dict[str, Any] = {
                self.config.kind: {
                    "type": "table", "array": "q", "states": states, "unseen": len(states),
                    "state": {"indices": list(self.config.state_indices), "bins": self.config.bins},
                    "actions": learner.actions,
                },
            }
            kinds.update({kind: {"type": "fixed", "action": action} for kind, action in self.config.fixed.items()})
            metadata = {
                "world": self.env.world_type,
                "features": self.env.features[agent].describe(),
                "kinds": kinds,
                "trained": {"algorithm": "independent tabular Q-learning", "seat": agent, "scenario": self.env.scenario.name,
                            **{k: v for k, v in vars(self.config).items() if k not in ("fixed",)}, **(trained or {})},
            }
            out[agent] = save_policy(Path(folder) / f"{agent}.npz", metadata, {"q": np.array(rows)})
        return out

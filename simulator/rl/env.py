"""Any scenario as a PettingZoo environment (AEC and Parallel APIs).

The world runs on its usual host (``simulator.run.Simulation``, built by
``build_simulation`` with the same seeds as ``agora run``), except that
decision points pause: at each one the host asks ``acting()`` who decides; the
seats *not* controlled by the learner answer through their scenario policies
(scripted or LLM) at once, and the learner seats among the acting ones become
PettingZoo's ``agent_selection`` one after another. When the last of them has
stepped, the batch is applied in ``acting()`` order (exactly as a run applies
it) and the engine runs on to the next decision point that needs a learner.

* ``possible_agents``: the learner seats (default: every agent of the world).
* ``observation_space(agent)``: a ``Box`` of features of the world's
  observation (``simulator.rl.worlds``); ``info["observation"]`` holds the raw
  JSON-ready observation and ``info["action_mask"]`` what is legal now in
  gymnasium's ``sample(mask=...)`` format (``simulator.rl.spaces``).
* ``action_space(agent)``: derived from the world's pydantic action models. An
  action that does not validate becomes the world's default action, counted
  as a fallback, as in a run; ``info["fallback"]`` says why (None: the
  agent's last action was its own).
* rewards: the increments of each learner's payoff as the world defines it,
  paid when a batch is applied; ``terminations`` when the world is done,
  ``truncations`` when the next event lies past ``run.max_time``.
* ``reset(seed=...)`` seeds everything through the scenario seed (default: the
  scenario's own), so an episode with seed s is ``agora run --seed s`` with the
  learner's actions in the learner seats. One difference: the LLM decision
  window (``llm.batch_window``) is not applied here; every decision is applied
  at its decision point, as with the default window of 0.

Usage::

    env = agora_env("scenarios/public_goods_simultaneous.yaml", learners=["cc1", "cc2"])
    env.reset(seed=1)
    for agent in env.agent_iter():
        obs, reward, termination, truncation, info = env.last()
        action = None if termination or truncation else env.action_space(agent).sample(info["action_mask"])
        env.step(action)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pydantic import BaseModel

from simulator.rl import spaces as action_spaces
from simulator.rl.worlds import action_codec, features_for, payoffs_so_far
from simulator.run import Simulation, build_simulation
from simulator.scenario import Scenario, load_scenario


class SteppedSimulation(Simulation):
    """A ``Simulation`` whose decision points pause the engine loop instead of calling policies.

    ``wake`` schedules a marker at the same time and priority as a run's
    decision point; the environment drives ``engine.fire_next()`` and, when a
    marker fires (``reached``), handles the decision itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached: float | None = None

    def decision_point(self, t: float) -> None:
        self.reached = t  # the environment handles the decision (see ``AgoraAECEnv``)


class AgoraAECEnv(AECEnv):
    """A scenario as a PettingZoo ``AECEnv`` (see the module docstring)."""

    metadata = {"name": "agora_v0", "render_modes": ["ansi", "human"], "is_parallelizable": False}

    def __init__(self, scenario: Scenario, learners: Iterable[str] | None = None, render_mode: str | None = None) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; allowed: {', '.join(self.metadata['render_modes'])}")
        self.scenario = scenario
        self.render_mode = render_mode
        probe = build_simulation(scenario, scenario.seed, host_class=SteppedSimulation)
        world = probe.world
        world.start(probe)  # some worlds only know their action models once started
        ids = world.agent_ids()
        chosen = list(ids) if learners is None else list(learners)
        unknown = [a for a in chosen if a not in ids]
        if unknown or not chosen or len(set(chosen)) != len(chosen):
            what = f"unknown agent(s) {', '.join(map(repr, unknown))}" if unknown else "learners must be distinct and non-empty"
            raise ValueError(f"learners: {what}; this {scenario.world_type} scenario has: {', '.join(ids)}")
        self.possible_agents = [a for a in ids if a in chosen]  # in the world's order
        self.learners = frozenset(self.possible_agents)
        self.world_type = scenario.world_type
        self.codecs = {a: action_codec(world, a) for a in self.possible_agents}
        self.features = {a: features_for(world, a, lambda a=a: world.observe(a)) for a in self.possible_agents}
        self.observation_spaces = {a: self.features[a].space for a in self.possible_agents}
        self.action_spaces = {a: self.codecs[a].space for a in self.possible_agents}
        self.sim: SteppedSimulation | None = None
        self.agents: list[str] = []

    # ------------------------------------------------------------------ spaces (the same object on every call)
    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    # ------------------------------------------------------------------ AEC API
    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.seed_used = self.scenario.seed if seed is None else int(seed)
        self.sim = build_simulation(self.scenario, self.seed_used, host_class=SteppedSimulation)
        self.world = self.sim.world
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.last_obs = {a: self.features[a].zeros() for a in self.agents}
        self.fallbacks: dict[str, str | None] = {a: None for a in self.agents}
        self.requests: dict[str, tuple[dict[str, Any], type[BaseModel]]] = {}
        self.pending: list[str] = []
        self.batch: dict[str, BaseModel] = {}
        self.order: list[str] = []
        self.reason: str | None = None
        self.world.start(self.sim)
        self.paid = payoffs_so_far(self.world)
        self._advance()
        self.agent_selection = self.pending[0] if self.pending else self.agents[0]

    def observe(self, agent: str) -> np.ndarray:
        return self.last_obs[agent]

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        _, model = self.requests[agent]
        try:
            raw = action_spaces.decode(self.codecs[agent], model, action)
        except Exception as exc:  # e.g. an unparsable JSON text or a wrong Dict entry: a fallback like any invalid action
            raw = exc
        chosen, self.fallbacks[agent] = self.sim.validated(agent, model, raw)
        self.batch[agent] = chosen
        self.infos[agent] = {**self.infos[agent], "fallback": self.fallbacks[agent]}
        self.pending.pop(0)
        if not self.pending:
            self.sim.apply_actions({a: self.batch[a] for a in self.order})
            self.batch, self.order = {}, []
            self._advance()
            self._pay()
        if self.pending:
            self.agent_selection = self.pending[0]
        else:  # the run is over: the agents are removed one by one with step(None)
            self.agent_selection = self.agents[0]
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    # ------------------------------------------------------------------ driving the run
    def _advance(self) -> None:
        """Run the engine to the next decision point that needs a learner, or to the end."""
        sim, engine, world = self.sim, self.sim.engine, self.sim.world
        max_time = self.scenario.run.max_time
        while not self.pending:
            if world.done() or not len(engine):
                return self._end(truncated=False, reason="finished")
            if max_time is not None and engine.peek() > max_time:
                return self._end(truncated=True, reason=f"reached max_time {max_time}")
            engine.fire_next()
            if sim.reached is not None:
                sim.reached = None
                self._decision_point()

    def _decision_point(self) -> None:
        sim, world = self.sim, self.sim.world
        acting = world.acting()
        if not acting:
            return
        requests = [(a, world.observe(a), world.action_model(a)) for a in acting]
        others = [r for r in requests if r[0] not in self.learners]
        answers = dict(zip((r[0] for r in others), sim.decide_all(others))) if others else {}
        self.batch = {a: sim.validated(a, model, answers[a])[0] for a, _, model in others}
        self.order = list(acting)
        self.pending = [a for a in acting if a in self.learners]
        if not self.pending:
            sim.apply_actions({a: self.batch[a] for a in self.order})
            self.batch, self.order = {}, []
            return
        for a, observation, model in requests:
            if a in self.learners:
                self.requests[a] = (observation, model)
                self.last_obs[a] = self.features[a](observation)
                self.infos[a] = {
                    "observation": observation,
                    "action_kind": action_spaces.kind_of(model),
                    "action_mask": self.codecs[a].mask(model),
                    "time": sim.engine.now,
                    "fallback": self.fallbacks[a],  # why this agent's previous action was replaced (None: it was not)
                }

    def _pay(self) -> None:
        now = payoffs_so_far(self.world)
        for a in self.agents:
            self.rewards[a] = float(now.get(a, 0.0) - self.paid.get(a, 0.0))
        self.paid = now

    def _end(self, *, truncated: bool, reason: str) -> None:
        self.reason = reason
        for a in self.agents:
            if truncated:
                self.truncations[a] = True
            else:
                self.terminations[a] = True
            self.infos[a] = {**self.infos[a], "action_mask": None, "reason": reason}

    # ------------------------------------------------------------------ the rest
    def metrics(self) -> dict[str, Any]:
        """The run's metrics so far, as ``agora run`` reports them (theory included)."""
        return self.world.metrics().to_dict()

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        sim = self.sim
        lines = [f"{self.scenario.name} ({self.world_type}) t={sim.engine.now:g} progress={self.world.progress():.0%}"]
        if self.pending:
            lines.append(f"  to act: {', '.join(self.pending)} ({self.infos[self.pending[0]].get('action_kind')})")
        elif self.reason:
            lines.append(f"  over: {self.reason}")
        lines.append("  payoffs: " + ", ".join(f"{a}={self.paid.get(a, 0.0):g}" for a in self.possible_agents))
        text = "\n".join(lines)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        self.sim = None


class AgoraParallelEnv(ParallelEnv):
    """A scenario as a PettingZoo ``ParallelEnv``: one ``step`` is one decision batch.

    Built natively on the AEC environment's batches (PettingZoo's
    ``aec_to_parallel`` needs every agent to act every cycle, which sequential
    games do not do): ``step(actions)`` uses the actions of the learners acting
    now (``info["acting"]``; the others' actions are ignored) and returns every
    live agent's observation and the rewards earned until the next batch.
    """

    metadata = {"name": "agora_parallel_v0", "render_modes": ["ansi", "human"]}

    def __init__(self, scenario: Scenario, learners: Iterable[str] | None = None, render_mode: str | None = None) -> None:
        self.aec = AgoraAECEnv(scenario, learners, render_mode)
        self.possible_agents = list(self.aec.possible_agents)
        self.observation_spaces = self.aec.observation_spaces
        self.action_spaces = self.aec.action_spaces
        self.render_mode = render_mode
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Space:
        return self.aec.observation_space(agent)

    def action_space(self, agent: str) -> spaces.Space:
        return self.aec.action_space(agent)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.aec.reset(seed=seed, options=options)
        self.agents = list(self.aec.agents)
        return self._observations(), self._infos()

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        aec = self.aec
        rewards = {a: 0.0 for a in self.agents}
        for agent in list(aec.pending):
            if agent not in actions:
                raise ValueError(f"no action for {agent}, who acts now (info[{agent!r}]['acting'] is True)")
            aec.step(actions[agent])
            for a, r in aec.rewards.items():
                rewards[a] += r
        observations, infos = self._observations(), self._infos()
        terminations = {a: aec.terminations.get(a, False) for a in self.agents}
        truncations = {a: aec.truncations.get(a, False) for a in self.agents}
        if not aec.pending:  # the run is over
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, np.ndarray]:
        return {a: self.aec.observe(a) for a in self.agents}

    def _infos(self) -> dict[str, dict[str, Any]]:
        return {a: {**self.aec.infos[a], "acting": a in self.aec.pending} for a in self.agents}

    def render(self) -> str | None:
        return self.aec.render()

    def close(self) -> None:
        self.aec.close()

    def state(self) -> np.ndarray:
        return np.concatenate([self.aec.observe(a) for a in self.possible_agents])


def _scenario(scenario: str | Path | Scenario, overrides: Iterable[tuple[str, Any]] = ()) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario, list(overrides))[0]


def agora_env(scenario: str | Path | Scenario, learners: Iterable[str] | None = None, *,
              overrides: Iterable[tuple[str, Any]] = (), render_mode: str | None = None) -> AgoraAECEnv:
    """An ``AECEnv`` for a scenario file (or a loaded ``Scenario``); ``learners``: the seats you control."""
    return AgoraAECEnv(_scenario(scenario, overrides), learners, render_mode)


def agora_parallel_env(scenario: str | Path | Scenario, learners: Iterable[str] | None = None, *,
                       overrides: Iterable[tuple[str, Any]] = (), render_mode: str | None = None) -> AgoraParallelEnv:
    """A ``ParallelEnv`` for a scenario file (or a loaded ``Scenario``); ``learners``: the seats you control."""
    return AgoraParallelEnv(_scenario(scenario, overrides), learners, render_mode)

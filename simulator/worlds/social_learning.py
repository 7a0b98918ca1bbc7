"""Sequential social learning on an observation network, with an optional precision-setting planner.

Model (Bikhchandani, Hirshleifer & Welch 1992; the controlled version of
Arghal, He, Saeedi Bidokhti & Sarkar, "Steering the Herd", arXiv:2504.02648;
the mathematics lives in ``mechanisms.social_learning``). In each episode a
binary state ``theta`` is drawn from the prior; agents ``agent_0 ..
agent_{n-1}`` act once each, in that order. Agent ``t`` receives a private
signal equal to ``theta`` with probability ``q_t`` and observes the actions of
its in-neighbours in a networkx ``DiGraph`` on positions (edges ``j -> t``
with ``j < t``): ``complete`` is the classic model where everyone sees all
predecessors; ``last_k``, ``erdos_renyi``, ``watts_strogatz`` (undirected
edges oriented forward in time) and ``none`` restrict what is seen. The
agent earns 1 if its action equals ``theta``.

The planner (``planner.objective``: ``none``, ``altruistic`` or ``biased``)
sees all actions, keeps the public belief ``pi_t`` of a Bayesian observer
(assuming Bayesian agents who see the whole history) and sets
``q_t = policy(pi_t)`` from the solution of its dynamic program
(``solve_planner``), paying ``c(q) = kappa |q - q0|^gamma``. Without a
planner every agent gets ``q0 = precision``.

Several episodes are played one after another so that shares of correct
actions and cascades can be compared with the theory: ``cascade_probabilities``
(complete network, constant precision, prior 1/2) and ``expected_outcomes``
(exact expected shares under the planner's policy and without a planner).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal, Mapping

import networkx as nx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from mechanisms import social_learning as sl
from simulator.world import Host, Metrics, Pairing, WorldBase
from simulator.worlds import register_world


class NetworkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["complete", "last_k", "erdos_renyi", "watts_strogatz", "none"] = "complete"
    k: int = Field(1, ge=1, description="last_k: predecessors seen; watts_strogatz: ring neighbours (even)")
    p: float = Field(0.3, ge=0, le=1, description="erdos_renyi edge / watts_strogatz rewiring probability")


class PlannerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objective: Literal["none", "altruistic", "biased"] = "none"
    target: Literal[0, 1] = Field(1, description="the biased planner's preferred action")
    cost_scale: float = Field(1.0, ge=0, description="kappa in c(q) = kappa |q - q0|^gamma")
    cost_power: float = Field(1.0, ge=1, description="gamma in c(q)")
    discount: float = Field(0.9, ge=0, lt=1)
    belief_grid: int = Field(401, ge=11, le=20001)


class SocialLearningConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["social_learning"] = Field(description="the world type")
    n_agents: int = Field(20, ge=1, le=10_000, description="agents in each sequence, acting one after another")
    episodes: int = Field(1, ge=1, le=1_000_000, description="independent sequences played one after another")
    prior: float = Field(0.5, gt=0, lt=1, description="P(theta = 1)")
    precision: float = Field(0.7, ge=0.5, le=1, description="q0: signal precision without intervention")
    tie: Literal["coin", "own_signal"] = Field("own_signal", description="what an indifferent Bayesian agent does")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="which predecessors' actions each agent observes")
    planner: PlannerConfig = Field(default_factory=PlannerConfig, description="a planner who may raise signal precisions at a cost")
    state: Literal[0, 1] | None = Field(None, description="fix the state instead of drawing it from the prior")

    @model_validator(mode="after")
    def _check(self) -> "SocialLearningConfig":
        if self.network.kind == "watts_strogatz" and (self.network.k % 2 or self.network.k >= self.n_agents):
            raise ValueError("watts_strogatz needs an even k smaller than n_agents")
        return self


def observation_network(n: int, config: NetworkConfig, rng: np.random.Generator) -> nx.DiGraph:
    """Who observes whom: a DiGraph on positions 0..n-1 with edges j -> t only for j < t."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    if config.kind == "complete":
        g.add_edges_from((j, t) for t in range(n) for j in range(t))
    elif config.kind == "last_k":
        g.add_edges_from((j, t) for t in range(n) for j in range(max(0, t - config.k), t))
    elif config.kind == "erdos_renyi":
        seed = int(rng.integers(2**31))
        undirected = nx.gnp_random_graph(n, config.p, seed=seed)
        g.add_edges_from((min(u, v), max(u, v)) for u, v in undirected.edges)
    elif config.kind == "watts_strogatz":
        seed = int(rng.integers(2**31))
        undirected = nx.watts_strogatz_graph(n, config.k, config.p, seed=seed)
        g.add_edges_from((min(u, v), max(u, v)) for u, v in undirected.edges)
    return g


@lru_cache(maxsize=None)
def _action_model() -> type[BaseModel]:
    return create_model("SocialAction", __config__=ConfigDict(extra="forbid"),
                        action=(Literal[0, 1], Field(description="your guess of the state: 0 or 1")))


@register_world("social_learning")
class SocialLearning(WorldBase[SocialLearningConfig]):
    """Agents act in sequence on private signals and observed predecessors; a planner may set precisions."""

    default_policies = {"*": "bayesian"}
    role_name = "agent"
    paired = (  # simulator/comparison.py; rows whose theory this configuration has
        Pairing("correct share vs own signal only", "theory.signal_only_correct_share", "measures.correct_share",
                "each agent following its private signal"),
        Pairing("correct share vs Bayesian herd", "theory.no_planner_correct_share", "measures.correct_share",
                "rational sequential learning without a planner"),
        Pairing("correct share vs planner", "theory.planner_correct_share", "measures.correct_share",
                "with the planner's chosen precisions"),
        Pairing("correct cascade share", "theory.cascade_correct", "measures.cascade_correct", "line network"),
        Pairing("wrong cascade share", "theory.cascade_wrong", "measures.cascade_wrong", "line network"),
        Pairing("correct share vs complete-network Bayesian", "theory.complete_network_bayesian_correct_share",
                "measures.correct_share", "every agent sees every predecessor"),
    )

    @classmethod
    def roster(cls, config: SocialLearningConfig) -> dict[str, str]:
        """{agent id: role} without solving the planner's problem: simulator.roster."""
        return {f"agent_{t}": cls.role_name for t in range(config.n_agents)}

    def __init__(self, config: SocialLearningConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        n = config.n_agents
        self.ids = [f"agent_{t}" for t in range(n)]
        self.graph = observation_network(n, config.network, rng)
        self.complete = config.network.kind == "complete"
        p = config.planner
        self.solution = None
        if p.objective != "none":
            self.solution = sl.solve_planner(p.objective, base_precision=config.precision, cost_scale=p.cost_scale,
                                             cost_power=p.cost_power, discount=p.discount, target=p.target,
                                             belief_grid=p.belief_grid, tie=config.tie)
        self.episode = 0
        self.position = 0
        self.correct = {a: 0 for a in self.ids}
        self.totals = {"actions": 0, "correct": 0, "ones": 0, "cost": 0.0, "precision": 0.0, "obfuscated": 0,
                       "informed": 0, "cascade_correct": 0, "cascade_wrong": 0, "cascade_none": 0, "last_correct": 0,
                       "episode_share": 0.0, "episode_share_sq": 0.0}
        self._over = False

    # ------------------------------------------------------------------ World protocol
    def rules(self, agent_id: str) -> str:
        return (
            "A hidden state is 0 or 1 (prior probability of 1 given as 'prior'). Agents act one after another. "
            "You receive a private signal that equals the state with probability 'precision', and you see the actions "
            "of the earlier agents listed in 'observed'. Choose the action you believe equals the state; you earn 1 "
            "if it does and 0 otherwise."
        )

    def start(self, host: Host) -> None:
        self.host = host
        self._new_episode()
        host.wake(at=0.0)

    def _new_episode(self) -> None:
        c = self.config
        self.theta = c.state if c.state is not None else int(self.rng.random() < c.prior)
        self.position = 0
        self.belief = c.prior
        self.actions: list[int] = []
        self.precisions: list[float] = []
        self._draw_signal()

    def _draw_signal(self) -> None:
        q = self.solution.precision(self.belief) if self.solution is not None else self.config.precision
        self.q = float(q)
        self.signal = self.theta if self.rng.random() < self.q else 1 - self.theta

    def acting(self) -> list[str]:
        return [] if self._over else [self.ids[self.position]]

    def observe(self, agent_id: str) -> dict[str, Any]:
        t = self.position
        observed = [{"agent": self.ids[j], "position": j, "action": self.actions[j], "precision": self.precisions[j]}
                    for j in sorted(self.graph.predecessors(t))]
        return {
            "position": t,
            "n_agents": self.config.n_agents,
            "episode": self.episode,
            "prior": self.config.prior,
            "signal": int(self.signal),
            "precision": self.q,
            "observed": observed,
            "public_belief": self.belief if self.complete else None,
            "tie_rule": self.config.tie,
            "actions": [0, 1],
        }

    def action_model(self, agent_id: str) -> type[BaseModel]:
        return _action_model()

    def default_action(self, agent_id: str) -> BaseModel:
        return _action_model()(action=int(self.signal))

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        agent = self.ids[self.position]
        a = int(actions[agent].action)
        c = self.config
        q0 = c.precision
        self.totals["actions"] += 1
        self.totals["correct"] += int(a == self.theta)
        self.totals["ones"] += int(a == 1)
        self.totals["precision"] += self.q
        if self.solution is not None:
            self.totals["cost"] += float(sl.precision_cost(self.q, q0, c.planner.cost_scale, c.planner.cost_power))
            self.totals["obfuscated"] += int(self.q < q0 - 1e-9)
            self.totals["informed"] += int(self.q > q0 + 1e-9)
        self.correct[agent] += int(a == self.theta)
        self.host.log("act", agent, episode=self.episode, state=self.theta, signal=int(self.signal), precision=self.q,
                      belief=self.belief, action=a)
        self.actions.append(a)
        self.precisions.append(self.q)
        self.belief = float(sl.update_belief(self.belief, a, self.q, c.tie))
        self.position += 1
        if self.position >= c.n_agents:
            self._end_episode()
        else:
            self._draw_signal()
        if not self._over:
            self.host.wake(after=1.0)

    def _end_episode(self) -> None:
        nxt = self.solution.precision(self.belief) if self.solution is not None else self.config.precision
        status = int(sl.in_cascade(self.belief, nxt))
        direction = 1 if self.theta == 1 else -1
        key = "cascade_none" if status == 0 else ("cascade_correct" if status == direction else "cascade_wrong")
        self.totals[key] += 1
        self.totals["last_correct"] += int(self.actions[-1] == self.theta)
        share = sum(a == self.theta for a in self.actions) / len(self.actions)
        self.totals["episode_share"] += share
        self.totals["episode_share_sq"] += share * share
        self.episode += 1
        if self.episode >= self.config.episodes:
            self._over = True
        else:
            self._new_episode()

    def done(self) -> bool:
        return self._over

    def progress(self) -> float:
        c = self.config
        return min(1.0, (self.episode * c.n_agents + self.position) / (c.episodes * c.n_agents))

    def metrics(self) -> Metrics:
        c = self.config
        n_act = max(1, self.totals["actions"])
        episodes = max(1, self.episode)
        share = self.totals["correct"] / n_act
        # actions within an episode are correlated (herds): the standard error is over episodes
        mean_ep = self.totals["episode_share"] / episodes
        var_ep = max(0.0, self.totals["episode_share_sq"] / episodes - mean_ep * mean_ep)
        measures: dict[str, Any] = {
            "episodes": self.episode,
            "correct_share": share,
            "correct_share_se": float(np.sqrt(var_ep / max(1, episodes - 1))),
            "action_1_share": self.totals["ones"] / n_act,
            "last_agent_correct": self.totals["last_correct"] / episodes,
            "cascade_correct": self.totals["cascade_correct"] / episodes,
            "cascade_wrong": self.totals["cascade_wrong"] / episodes,
            "cascade_none": self.totals["cascade_none"] / episodes,
            "mean_precision": self.totals["precision"] / n_act,
            "network_edges": self.graph.number_of_edges(),
        }
        if self.solution is not None:
            measures["planner_cost_per_agent"] = self.totals["cost"] / n_act
            measures["obfuscated_share"] = self.totals["obfuscated"] / n_act
            measures["informed_share"] = self.totals["informed"] / n_act
        theory: dict[str, Any] = {"signal_only_correct_share": c.prior * c.precision + (1 - c.prior) * c.precision}
        if not self.complete and self.solution is None:
            bench = sl.expected_outcomes(c.precision, c.n_agents, prior=c.prior, tie=c.tie)
            theory["complete_network_bayesian_correct_share"] = bench["correct_share"]
        if self.complete:
            baseline = sl.expected_outcomes(c.precision, c.n_agents, prior=c.prior, tie=c.tie, target=c.planner.target)
            theory["no_planner_correct_share"] = baseline["correct_share"]
            if self.solution is None and abs(c.prior - 0.5) < 1e-12 and 0.5 < c.precision < 1:
                cascade = sl.cascade_probabilities(c.precision, c.n_agents, c.tie)
                theory["cascade_correct"] = cascade["correct"]
                theory["cascade_wrong"] = cascade["wrong"]
                theory["cascade_none"] = cascade["none"]
                theory["cascade_limit"] = sl.cascade_probabilities(c.precision, None, c.tie)
            if self.solution is not None:
                planned = sl.expected_outcomes(self.solution.precision, c.n_agents, prior=c.prior, tie=c.tie,
                                               target=c.planner.target, base_precision=c.precision,
                                               cost_scale=c.planner.cost_scale, cost_power=c.planner.cost_power)
                theory["planner_correct_share"] = planned["correct_share"]
                theory["planner_target_share"] = planned["target_share"]
                theory["no_planner_target_share"] = baseline["target_share"]
                theory["planner_cost_per_agent"] = planned["mean_cost"]
        if self.solution is not None:
            summary = self.solution.summary()
            theory["planner_value_at_prior"] = self.solution.value_at(c.prior)
            theory["planner_precision_at_prior"] = self.solution.precision(c.prior)
            theory["value_function_convex"] = summary["value_convex"]
            theory["obfuscates_on_beliefs"] = summary["obfuscates_on"]
            theory["informs_on_beliefs"] = summary["informs_on"]
        payoffs = {a: v / episodes for a, v in self.correct.items()}
        return Metrics(payoffs=payoffs, measures=measures, theory=theory)

"""Information acquisition: a principal hires agents to gather costly information.

The model of Cacciamani, Castiglioni & Gatti, "Online Information
Acquisition: Hiring Multiple Agents" (ICLR 2024, arXiv:2307.06210),
implemented in ``mechanisms.information_design``. Each round:

1. nature draws the state ``theta`` from the prior; the principal (the world)
   announces its mechanism and draws an effort profile from its
   recommendation distribution; each agent learns only its own recommendation;
2. *effort phase*: every agent chooses an effort (paying its cost);
3. the world draws the signal profile from ``P(s | theta, efforts)``;
   *report phase*: every agent sees its own signal and reports a signal;
4. the principal decides on the reports and pays each agent
   ``p_i(recommended profile, reports, theta)`` (a scoring rule).

Agents earn payments minus effort costs; the principal earns
``u(decision, theta)`` minus payments (reported in ``measures``).

``mechanism`` picks what the principal announces: ``optimal`` (the
correlated IC optimum, the LP), ``independent`` (best product-form
recommendation), ``single_agent`` (hire one agent). With ``online`` the
principal does not know the signal structure and learns it by explore-then-
commit (``mechanisms.information_design.ExploreThenCommit``);
``measures.regret_vs_optimal`` is the realised regret against the optimal
mechanism's expected utility. Exploration rounds only reimburse effort
costs, so the learner relies on agents obeying while it explores (a
``strategic`` agent shirks then and spoils the estimates).

``instance`` is a named example (``correlation``: the instance where
correlated recommendations are strictly better; ``online``: the regret
benchmark's instance) or an inline instance as documented in
``mechanisms.information_design``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from mechanisms import information_design as idesign
from simulator.world import Host, Metrics, Pairing, WorldBase
from simulator.worlds import register_world

EXAMPLES = {"correlation": idesign.correlation_example, "online": idesign.online_example}


class OnlineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    explore_scale: float = Field(3.0, gt=0, description="explore ceil(scale * T^(2/3)) rounds")
    margin_scale: float = Field(0.5, ge=0, description="IC safety margin scale")
    independent_signals: bool = Field(False, description="the principal knows signals are independent given the state")


class InformationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["information"] = Field(description="the world type")
    instance: Literal[tuple(EXAMPLES)] | dict[str, Any] = Field("correlation", description="a named example or an inline instance")
    mechanism: Literal["optimal", "independent", "single_agent"] = Field(
        "optimal", description="what the principal announces: optimal (the correlated IC optimum, an LP), independent (best product-form recommendation), single_agent (hire one agent)")
    rounds: int = Field(200, ge=1, le=1_000_000, description="rounds of the repeated game (a fresh state each round)")
    online: OnlineConfig | None = Field(None, description="learn the signal structure online (explore-then-commit)")
    independent_grid: int = Field(51, ge=2, le=1001, description="grid points per marginal for the independent benchmark")

    @field_validator("instance")
    @classmethod
    def _valid_instance(cls, value: Any) -> Any:
        if isinstance(value, dict):
            idesign.instance_from_dict(value)  # raises ValueError with the reason
        return value

    def build_instance(self) -> idesign.Instance:
        if isinstance(self.instance, str):
            return EXAMPLES[self.instance]()
        return idesign.instance_from_dict(self.instance)


@lru_cache(maxsize=None)
def _effort_model(labels: tuple[str, ...]) -> type[BaseModel]:
    return create_model("EffortAction", __config__=ConfigDict(extra="forbid"),
                        effort=(Literal[labels], Field(description="the effort level to exert")))


@lru_cache(maxsize=None)
def _report_model(labels: tuple[str, ...]) -> type[BaseModel]:
    return create_model("ReportAction", __config__=ConfigDict(extra="forbid"),
                        report=(Literal[labels], Field(description="the signal to report to the principal")))


@register_world("information")
class InformationWorld(WorldBase[InformationConfig]):
    """Principal-agent information acquisition, repeated for ``rounds`` rounds."""

    default_policies = {"*": "obedient"}
    role_name = "agent"
    paired = (  # simulator/comparison.py
        Pairing("principal utility per round vs optimal mechanism", "theory.optimal_utility",
                "measures.principal_utility_per_round", "the optimal incentive-compatible mechanism (LP)"),
        Pairing("principal utility per round vs announced mechanism", "theory.announced_utility",
                "measures.principal_utility_per_round", "the mechanism the principal commits to"),
        Pairing("regret vs explore-then-commit bound", "theory.expected_regret_explore_then_commit",
                "measures.regret_vs_optimal", "online mode: expected regret over the run"),
    )

    def __init__(self, config: InformationConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        self.inst = config.build_instance()
        n = self.inst.n_agents
        self.ids = [f"agent_{i}" for i in range(n)]
        self.optimal = idesign.optimal_mechanism(self.inst)
        if config.online is not None:
            self.learner: idesign.ExploreThenCommit | None = idesign.ExploreThenCommit(
                self.inst, config.rounds, explore_scale=config.online.explore_scale,
                margin_scale=config.online.margin_scale, independent_signals=config.online.independent_signals)
            self.static = None
        else:
            self.learner = None
            if config.mechanism == "optimal":
                self.static = self.optimal
            elif config.mechanism == "independent":
                self.static = idesign.best_independent_mechanism(self.inst, grid=config.independent_grid)
            else:
                self.static = idesign.best_single_agent_mechanism(self.inst)
        self.round = 0
        self.phase = "effort"
        self.payoffs = {a: 0.0 for a in self.ids}
        self.stats = {"principal": 0.0, "principal_sq": 0.0, "payments": 0.0, "obedient": 0, "truthful": 0, "decisions": 0,
                      "correct": 0, "regret": 0.0}
        self.obeyed = {a: 0 for a in self.ids}
        self._over = False

    # ------------------------------------------------------------------ World protocol
    def rules(self, agent_id: str) -> str:
        i = self.ids.index(agent_id)
        return (
            f"You are agent {i} of {self.inst.n_agents}, hired by a principal who wants to learn an unknown state "
            f"({', '.join(self.inst.state_labels())}). Each round the principal privately recommends you an effort level; "
            "you choose an effort (each has a cost), then observe a signal whose distribution depends on your effort and "
            "the state, and report a signal. You are paid by the announced payment rule, which depends on the recommended "
            "efforts, everyone's reports and the realised state. Maximise payments minus effort costs. "
            "In the observation, 'recommendation' is the probability of each effort profile (indexed by every agent's "
            "effort), 'payments' is your payment indexed [effort of agent 0]...[effort of agent n-1][report of agent 0]..."
            "[report of agent n-1][state] (efforts are those recommended), and 'instance' gives the prior, the costs and "
            "the signal probabilities joint_signals[efforts...][state][signals...]."
        )

    def start(self, host: Host) -> None:
        self.host = host
        self._new_round()
        host.wake(at=0.0)

    def _new_round(self) -> None:
        t = self.round
        mech = self.learner.mechanism(t) if self.learner is not None else self.static
        if mech is not getattr(self, "mech", None):
            self.mech_version = getattr(self, "mech_version", -1) + 1
        self.mech = mech
        x = self.mech.recommendation.reshape(-1)
        profiles = list(np.ndindex(*self.inst.action_shape))
        self.theta = int(self.rng.choice(self.inst.n_states, p=self.inst.prior))
        self.profile = profiles[int(self.rng.choice(len(profiles), p=x / x.sum()))]
        self.efforts: dict[str, int] = {}
        self.signals: tuple[int, ...] | None = None
        self.phase = "effort"

    def acting(self) -> list[str]:
        return [] if self._over else list(self.ids)

    def observe(self, agent_id: str) -> dict[str, Any]:
        i = self.ids.index(agent_id)
        efforts = self.inst.action_labels(i)
        obs: dict[str, Any] = {
            "phase": self.phase,
            "round": self.round,
            "rounds": self.config.rounds,
            "agent": i,
            "recommended": efforts[self.profile[i]],
            "efforts": efforts,
            "costs": self.inst.costs[i].tolist(),
            "signals": self.inst.signal_labels(i),
            "mechanism_kind": self.mech.kind,
            "mechanism_id": self.mech_version,
            "instance": self.inst.to_dict(),
            "recommendation": self.mech.recommendation.tolist(),
            "payments": self.mech.payments[i].tolist(),
        }
        if self.phase == "report":
            obs["effort"] = efforts[self.efforts[agent_id]]
            obs["signal"] = self.inst.signal_labels(i)[self.signals[i]]
        return obs

    def action_model(self, agent_id: str) -> type[BaseModel]:
        i = self.ids.index(agent_id)
        if self.phase == "effort":
            return _effort_model(tuple(self.inst.action_labels(i)))
        return _report_model(tuple(self.inst.signal_labels(i)))

    def default_action(self, agent_id: str) -> BaseModel:
        i = self.ids.index(agent_id)
        if self.phase == "effort":
            return self.action_model(agent_id)(effort=self.inst.action_labels(i)[self.profile[i]])
        return self.action_model(agent_id)(report=self.inst.signal_labels(i)[self.signals[i]])

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        if self.phase == "effort":
            for i, agent in enumerate(self.ids):
                self.efforts[agent] = self.inst.action_labels(i).index(actions[agent].effort)
            actual = tuple(self.efforts[a] for a in self.ids)
            probs = self.inst.joint[actual + (self.theta,)].reshape(-1)
            flat = int(self.rng.choice(probs.size, p=probs / probs.sum()))
            self.signals = tuple(int(v) for v in np.unravel_index(flat, self.inst.signal_shape))
            self.phase = "report"
            self.host.wake(after=0.5)
            return
        reports = tuple(self.inst.signal_labels(i).index(actions[a].report) for i, a in enumerate(self.ids))
        self._settle(reports)
        self.round += 1
        if self.round >= self.config.rounds:
            self._over = True
            return
        self._new_round()
        self.host.wake(after=0.5)

    def _settle(self, reports: tuple[int, ...]) -> None:
        a, k = self.profile, self.theta
        decision = int(self.mech.decisions[a + reports])
        pays = [float(self.mech.payments[i][a + reports + (k,)]) for i in range(self.inst.n_agents)]
        principal = float(self.inst.utility[decision, k]) - sum(pays)
        for i, agent in enumerate(self.ids):
            self.payoffs[agent] += pays[i] - float(self.inst.costs[i][self.efforts[agent]])
            self.stats["obedient"] += int(self.efforts[agent] == a[i])
            self.obeyed[agent] += int(self.efforts[agent] == a[i])
            self.stats["truthful"] += int(reports[i] == self.signals[i])
        self.stats["principal"] += principal
        self.stats["principal_sq"] += principal * principal
        self.stats["payments"] += sum(pays)
        self.stats["decisions"] += 1
        self.stats["correct"] += int(self.inst.utility[decision, k] >= self.inst.utility[:, k].max() - 1e-12)
        self.stats["regret"] += self.optimal.utility - principal
        if self.learner is not None and self.learner.exploring(self.round):
            self.learner.record(a, k, reports)
        self.host.log("round", None, round=self.round, state=k, profile=list(a), efforts=[self.efforts[x] for x in self.ids],
                      signals=list(self.signals), reports=list(reports), decision=decision, payments=pays, principal=principal)

    def done(self) -> bool:
        return self._over

    def progress(self) -> float:
        return min(1.0, self.round / self.config.rounds)

    def metrics(self) -> Metrics:
        r = max(1, self.stats["decisions"])
        n = self.inst.n_agents
        mean = self.stats["principal"] / r
        var = max(0.0, self.stats["principal_sq"] / r - mean * mean)
        measures: dict[str, Any] = {
            "rounds": self.stats["decisions"],
            "principal_utility_per_round": mean,
            "principal_utility_se": float(np.sqrt(var / r)),
            "payments_per_round": self.stats["payments"] / r,
            "best_decision_share": self.stats["correct"] / r,
            "obedience_rate": self.stats["obedient"] / (r * n),
            "obedience_by_agent": {a: v / r for a, v in self.obeyed.items()},
            "truthful_rate": self.stats["truthful"] / (r * n),
            "agent_payoff_per_round": {a: v / r for a, v in self.payoffs.items()},
            "regret_vs_optimal": self.stats["regret"],
        }
        theory: dict[str, Any] = {
            "optimal_utility": self.optimal.utility,
            "optimal_recommendation": self.optimal.recommendation,
            "optimal_binding": self.optimal.binding,
        }
        if self.learner is None:
            theory["announced"] = self.static.kind
            theory["announced_utility"] = self.static.utility
            if self.config.mechanism != "independent" and self.inst.n_agents <= 3:
                theory["best_independent_utility"] = idesign.best_independent_mechanism(self.inst, grid=self.config.independent_grid).utility
            theory["best_single_agent_utility"] = idesign.best_single_agent_mechanism(self.inst).utility
        else:
            learner = self.learner
            theory["explore_rounds"] = learner.explore_rounds
            theory["ic_margin"] = learner.margin
            online = self.config.online
            sims = [idesign.explore_then_commit(self.inst, self.config.rounds, seed, explore_scale=online.explore_scale,
                                                margin_scale=online.margin_scale, independent_signals=online.independent_signals,
                                                optimum=self.optimal.utility).regret for seed in range(20)]
            theory["expected_regret_explore_then_commit"] = float(np.mean(sims))
            if learner.committed is not None:
                measures["committed_utility_true_model"] = idesign.principal_value(
                    self.inst, learner.committed, idesign.unilateral_best_responses(self.inst, learner.committed))
        return Metrics(payoffs={a: v for a, v in self.payoffs.items()}, measures=measures, theory=theory)

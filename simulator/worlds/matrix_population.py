"""Population mode of the matrix-game world: a finite population whose strategy shares evolve.

``world: {type: matrix_game, game: hawk_dove, population: {size: 100, process: moran,
selection: 1.0, initial: {hawk: 10, dove: 90}}}`` turns the matrix-game world into this
one (``MatrixGame.from_config`` hands over). The stage game must be a symmetric two-player
game (``B = A^T``); its actions are the strategies the members carry.

The model (Nowak, Sasaki, Taylor & Fudenberg 2004, Nature 428; Traulsen & Hauert 2009,
"Stochastic evolutionary game dynamics"): ``N`` members, well mixed. In every generation each
member plays the stage game once against every other member (a round robin without
self-play), so a member with strategy ``s`` earns ``pi_s = (sum_t n_t A[s, t] - A[s, s]) / (N - 1)``
per game, ``(N - 1) pi_s`` per generation (its payoff in the metrics adds these up; ``rounds`` counts
the games, ``N (N - 1) / 2`` per generation, so ``welfare / rounds`` is the mean welfare of a game,
beside the stage game's equilibrium and optimum welfare).
One generation is ``N`` revision steps, one per ``1/N`` of simulated time. At each step:

* ``moran`` (birth-death; Moran 1958): a member chosen uniformly dies and is replaced by the
  offspring of a member chosen with probability proportional to fitness
  (``exp(w pi)`` by default, or ``1 - w + w pi``; ``w = selection``); the offspring inherits its strategy.
* ``fermi`` (pairwise comparison; Szabo & Toke 1998, Traulsen et al. 2006): a uniformly chosen
  focal member looks at a uniformly chosen other member (the model) and copies its strategy
  with probability ``1 / (1 + exp(-beta (pi_model - pi_focal)))``, ``beta = selection``.
* ``proportional`` (proportional imitation; Schlag 1998): as ``fermi`` but copying with
  probability ``selection * max(0, pi_model - pi_focal) / (max A - min A)``; its mean dynamic
  is the replicator dynamics.

Who decides. The member under revision is an agent: it observes its strategy and payoff, the
model's (for ``moran``, the parent's) and the rule's switch probability and draw, and answers
``{"switch": true|false}``. The default policy ``follow_rule`` takes the rule's draw, which makes
the run the textbook process; any other policy (an LLM, ``random_legal``) may sit in the seat and
deviate. Steps whose model carries the focal member's own strategy cannot change anything and
ask no one. Without mutation the run ends when one strategy has fixed (or after
``generations``).

Theory beside the simulation (``mechanisms.evolution``): the stage game's equilibria and
replicator rest points with their stability (``stage_theory`` from the matrix-game world), the
large-population mean dynamic from the same start sampled at the same times, and, for two
strategies under ``moran`` or ``fermi``, the closed-form fixation probability from the initial
counts (Fermi = exponential-fitness Moran with ``w = beta``, Traulsen et al. 2006) and the mean
time to fixation in generations (the birth-death chain's absorption time).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from mechanisms import evolution
from simulator.world import Host, Metrics


MAX_STEPS = 1e7  # revision steps in one run (size x generations), as the matrix game caps its rounds at 1e7


class PopulationConfig(BaseModel):
    """The ``population:`` block of a matrix-game world."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    size: int = Field(ge=2, le=10_000, description="number of members N")
    process: Literal[evolution.PROCESSES] = Field("moran", description="moran (birth-death), fermi (pairwise comparison) or proportional (proportional imitation)")
    selection: float = Field(1.0, ge=0, le=100, description="w (moran), beta (fermi), or the scale in [0, 1] of the switch probability (proportional)")
    fitness: Literal[evolution.FITNESS] = Field("exponential", description="moran only: exp(w * payoff), or 1 - w + w * payoff (linear, w <= 1, positive payoffs)")
    initial: dict[str, int] = Field(description="members per strategy (action label), summing to size")
    generations: float = Field(1000.0, gt=0, le=1e6, description="stop after this many generations (N revision steps each) if no strategy has fixed")
    samples: int = Field(200, ge=10, le=10_000, description="about this many points of the share trajectory are kept")

    @model_validator(mode="after")
    def _consistent(self) -> "PopulationConfig":
        if any(count < 0 for count in self.initial.values()):
            raise ValueError(f"initial counts must be non-negative, got {self.initial}")
        if self.size * self.generations > MAX_STEPS:
            raise ValueError(f"size x generations is {self.size * self.generations:g} revision steps; at most {MAX_STEPS:g} are allowed")
        if sum(self.initial.values()) != self.size:
            raise ValueError(f"initial counts sum to {sum(self.initial.values())}; they must sum to size = {self.size}")
        if self.process == "proportional" and self.selection > 1:
            raise ValueError(f"selection scales a probability for process proportional: it must be in [0, 1], got {self.selection}")
        if self.process == "moran" and self.fitness == "linear" and self.selection > 1:
            raise ValueError(f"linear fitness 1 - w + w * payoff needs selection w in [0, 1], got {self.selection}; or use fitness: exponential")
        if self.process != "moran" and "fitness" in self.model_fields_set:
            raise ValueError("fitness applies to process moran only")
        return self


def check_population(config: PopulationConfig, u: np.ndarray, labels: list[str]) -> None:
    """Refuse a population block that does not fit the stage game ``u`` (shape ``(2, k, k)``); ValueError says why."""
    if u.shape[0] != 2 or u.shape[1] != u.shape[2] or not np.allclose(u[1], u[0].T):
        raise ValueError("population mode needs a symmetric two-player stage game (the column player's payoffs are the row player's transposed)")
    unknown = sorted(set(config.initial) - set(labels))
    if unknown:
        raise ValueError(f"initial names unknown strategies {unknown}; allowed: {', '.join(labels)}")
    if config.process == "moran" and config.fitness == "linear" and 1 - config.selection + config.selection * u[0].min() <= 0:
        raise ValueError(f"fitness 1 - w + w * payoff is not positive for the lowest payoff {u[0].min():g} at w = {config.selection:g}: lower selection or use fitness: exponential")


@lru_cache(maxsize=None)
def revision_model() -> type[BaseModel]:
    """The one decision of a member under revision."""
    return create_model(
        "PopulationRevision",
        __config__=ConfigDict(extra="forbid"),
        switch=(bool, Field(description="true: adopt model_strategy; false: keep my_strategy")),
    )


class MatrixPopulation:
    """A finite population playing a symmetric stage game; the revising member decides keep or switch.

    Not a world type of its own: ``MatrixGame.from_config`` builds it for a matrix-game world block
    with a ``population:`` field (so ``Config`` and ``from_config`` are the matrix game's); it has every
    per-game member of the ``World`` protocol.
    """

    type_name = "matrix_game"  # the world type a scenario names; this is its population mode

    def __init__(self, config: PopulationConfig, A: np.ndarray, labels: list[str], rng: np.random.Generator,
                 stage_theory: dict[str, Any] | None = None) -> None:
        self.config = config
        self.A = np.asarray(A, dtype=float)
        self.labels = list(labels)
        self.rng = rng
        self.stage_theory = stage_theory or {}
        self.N = config.size
        self.ids = [f"m{i}" for i in range(self.N)]
        self.counts = np.array([config.initial.get(label, 0) for label in self.labels], dtype=np.int64)
        self.initial_counts = self.counts.copy()
        self.strategy = np.repeat(np.arange(len(self.labels)), self.counts)  # member -> strategy index
        # Members of each strategy (swap-remove lists) so that a parent of a given strategy is drawn in O(1).
        self.members = [list(np.flatnonzero(self.strategy == s)) for s in range(len(self.labels))]
        self.position = np.zeros(self.N, dtype=np.int64)
        for group in self.members:
            for k, member in enumerate(group):
                self.position[member] = k
        self.spread = float(self.A.max() - self.A.min())
        self.steps = 0
        self.decisions = 0
        self.switches = 0
        self.pending: tuple[int, int, float, bool] | None = None  # focal, model, switch probability, rule's draw
        self.fixation: dict[str, Any] = {"fixed": False, "strategy": None, "time": None}
        self._over = False
        # Payoffs: pi_s integrated over time for every strategy; a member banks the part earned while it held a strategy.
        self.now = 0.0
        self.integral = np.zeros(len(self.labels))
        self.since = np.zeros(self.N)
        self.banked = np.zeros(self.N)
        self.time_shares = np.zeros(len(self.labels))
        self._payoffs()
        # The share trajectory, thinned by halves to stay near ``samples`` points.
        self.interval = 1.0 / self.N
        self.next_sample = 0.0
        self.trajectory: list[tuple[float, list[int]]] = []
        self._record()

    # ------------------------------------------------------------------ the process
    def _payoffs(self) -> None:
        self.pi = (self.A @ self.counts - np.diag(self.A)) / (self.N - 1)
        if self.config.process == "moran":
            self.fit = evolution.fitness_of(self.pi, self.config.selection, self.config.fitness)

    def _advance_clock(self, t: float) -> None:
        """Integrate payoffs and shares over ``[now, t]``, during which the population did not change."""
        self.integral += self.pi * (t - self.now)
        self.time_shares += self.counts / self.N * (t - self.now)
        self.now = t

    def _draw(self) -> tuple[int, int]:
        """One revision step's focal member and model (for ``moran``: the one that dies and the parent)."""
        rng, N = self.rng, self.N
        focal = int(rng.integers(N))
        if self.config.process == "moran":
            cumulative = np.cumsum(self.counts * self.fit)
            # side="right" never lands on a strategy with no members (its cumulative weight repeats the previous one)
            group = self.members[int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))]
            return focal, group[int(rng.integers(len(group)))]
        model = int(rng.integers(N - 1))
        return focal, model + (model >= focal)

    def _switch_probability(self, focal: int, model: int) -> float:
        process = self.config.process
        if process == "moran":
            return 1.0
        gain = self.pi[self.strategy[model]] - self.pi[self.strategy[focal]]
        if process == "fermi":
            from scipy.special import expit  # here: scipy.special costs half a second of every scenario check

            return float(expit(self.config.selection * gain))
        return 0.0 if self.spread == 0 else float(self.config.selection * max(0.0, gain) / self.spread)

    def _schedule_next(self) -> None:
        """Draw revision steps until one could change the population, and ask for its decision then."""
        horizon = self.config.generations
        while True:
            if (self.steps + 1) / self.N > horizon:
                self._advance_clock(horizon)
                self._over = True
                return
            self.steps += 1
            focal, model = self._draw()
            if self.strategy[focal] != self.strategy[model]:
                p = self._switch_probability(focal, model)
                self.pending = (focal, model, p, bool(self.rng.random() < p))
                self.host.wake(at=self.steps / self.N)
                return

    def _move(self, member: int, to: int) -> None:
        old = int(self.strategy[member])
        group = self.members[old]
        k, last = int(self.position[member]), group[-1]
        group[k], self.position[last] = last, k
        group.pop()
        self.position[member] = len(self.members[to])
        self.members[to].append(member)
        self.banked[member] += self.integral[old] - self.since[member]
        self.since[member] = self.integral[to]
        self.strategy[member] = to
        self.counts[old] -= 1
        self.counts[to] += 1
        self._payoffs()

    def _record(self, force: bool = False) -> None:
        if self.now < self.next_sample and not force:
            return
        if self.trajectory and self.trajectory[-1][0] == self.now:
            self.trajectory.pop()  # the population changed more than once at this time: keep the last state
        self.trajectory.append((self.now, self.counts.tolist()))
        self.next_sample = self.now + self.interval
        if len(self.trajectory) > 2 * self.config.samples:
            self.trajectory = self.trajectory[::2]
            self.interval *= 2

    # ------------------------------------------------------------------ World protocol
    @classmethod
    def default_policy(cls, role: str) -> str:
        return "follow_rule"  # the process itself (agents/scripted/population.py)

    def agent_ids(self) -> list[str]:
        return list(self.ids)

    def role(self, agent_id: str) -> str:
        return "member"

    def rules(self, agent_id: str) -> str:
        return (
            f"You are one of {self.N} members of a population. Each member carries a strategy "
            f"({', '.join(self.labels)}) and plays it in a symmetric game against every other member each "
            "generation; your payoff for (your strategy, the other's) is in 'payoffs'. From time to time you are "
            f"under revision ({self.config.process} process): you see your strategy and payoff, a model member's "
            "strategy and payoff, and the switch probability the process's rule gives with its draw. Answer "
            "switch: true to adopt the model's strategy, false to keep yours. Maximise your total payoff."
        )

    def start(self, host: Host) -> None:
        self.host = host
        if self.counts.max() == self.N:
            self._fixed()
        else:
            self._schedule_next()

    def acting(self) -> list[str]:
        return [self.ids[self.pending[0]]] if self.pending is not None and not self._over else []

    def observe(self, agent_id: str) -> dict[str, Any]:
        focal, model, p, rule = self.pending
        return {
            "time": self.steps / self.N,
            "process": self.config.process,
            "population_size": self.N,
            "actions": self.labels,
            "payoffs": self.A.tolist(),
            "shares": dict(zip(self.labels, (self.counts / self.N).tolist())),
            "my_strategy": self.labels[self.strategy[focal]],
            "my_payoff": float(self.pi[self.strategy[focal]]),
            "model": self.ids[model],
            "model_strategy": self.labels[self.strategy[model]],
            "model_payoff": float(self.pi[self.strategy[model]]),
            "switch_probability": p,
            "rule_says_switch": rule,
        }

    def action_model(self, agent_id: str) -> type[BaseModel]:
        return revision_model()

    def default_action(self, agent_id: str) -> BaseModel:
        return revision_model()(switch=self.pending[3])  # the process's own revision

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        focal, model, p, rule = self.pending
        self.pending = None
        switched = bool(actions[self.ids[focal]].switch)
        before, offered = int(self.strategy[focal]), int(self.strategy[model])
        self._advance_clock(self.steps / self.N)
        self.decisions += 1
        if switched:
            self.switches += 1
            self._move(focal, offered)
        self.host.log("revision", self.ids[focal], process=self.config.process, model=self.ids[model],
                      **{"from": self.labels[before]}, offered=self.labels[offered], switch_probability=p,
                      rule=rule, switched=switched, counts=self.counts.tolist())
        self._record()
        if self.counts.max() == self.N:
            self._fixed()
        else:
            self._schedule_next()

    def _fixed(self) -> None:
        winner = int(np.argmax(self.counts))
        self.fixation = {"fixed": True, "strategy": self.labels[winner], "time": self.now}
        self._over = True
        self.host.log("fixation", None, strategy=self.labels[winner], time=self.now)

    def done(self) -> bool:
        return self._over

    def progress(self) -> float:
        return 1.0 if self._over else min(1.0, self.steps / self.N / self.config.generations)

    def metrics(self) -> Metrics:
        self._record(force=True)
        times = [t for t, _ in self.trajectory]
        counts = np.array([c for _, c in self.trajectory], dtype=float)
        # per-game payoffs integrated over generations, times the N - 1 games a member plays in each
        payoffs = (self.banked + self.integral[self.strategy] - self.since) * (self.N - 1)
        elapsed = max(self.now, 1e-300)
        measures = {
            "process": self.config.process,
            "population_size": self.N,
            "generations": self.now,
            "rounds": self.now * self.N * (self.N - 1) / 2,  # stage games played: every pair once per generation
            "revisions": self.decisions,
            "switches": self.switches,
            "final_shares": dict(zip(self.labels, (self.counts / self.N).tolist())),
            "time_average_shares": dict(zip(self.labels, (self.time_shares / elapsed).tolist()))
            if self.now > 0 else dict(zip(self.labels, (self.counts / self.N).tolist())),
            "fixation": dict(self.fixation),
            # 1 for the strategy that fixed, else 0: its mean over seeds is the fixation frequency (sweeps)
            "fixed": {label: float(self.fixation["strategy"] == label) for label in self.labels},
            "share_trajectory": {"t": times, "shares": dict(zip(self.labels, (counts / self.N).T.tolist()))},
        }
        return Metrics(payoffs=dict(zip(self.ids, payoffs.tolist())), measures=measures, theory=self._theory(times))

    def _theory(self, times: list[float]) -> dict[str, Any]:
        config = self.config
        x0 = self.initial_counts / self.N
        theory = dict(self.stage_theory)
        mean = evolution.imitation_dynamics(self.A, x0, config.process, config.selection, times, config.fitness)
        theory["mean_dynamic"] = {
            "process": config.process,
            "note": "large-population limit from the same start (mechanisms.evolution.imitation_field)",
            "t": mean.times.tolist(),
            "shares": dict(zip(self.labels, mean.states.T.tolist())),
        }
        if len(self.labels) == 2 and config.process in ("moran", "fermi") and 0 < self.initial_counts[0] < self.N:
            i0 = int(self.initial_counts[0])
            fitness = config.fitness if config.process == "moran" else "exponential"
            phi = evolution.moran_fixation_closed_form(self.A, self.N, config.selection, fitness)[i0]
            a, b = self.labels
            theory["fixation_probability"] = {a: float(phi), b: float(1 - phi)}
            theory["neutral_fixation_probability"] = {a: float(x0[0]), b: float(x0[1])}
            chain = (evolution.moran_transitions(self.A, self.N, config.selection, config.fitness) if config.process == "moran"
                     else evolution.pairwise_comparison_transitions(self.A, self.N, config.selection))
            # mean generations until one strategy fixes (coexistence games: astronomically many as N grows)
            theory["expected_fixation_time"] = float(evolution.birth_death_absorption_time(*chain)[i0] / self.N)
        return theory

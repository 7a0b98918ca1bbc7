"""Repeated N-player normal-form games, and Axelrod-style round-robin tournaments.

The stage game is a payoff table ``u[a_1, ..., a_n] = (u_1, ..., u_n)``, either
named (``prisoners_dilemma``, ``stag_hunt``, ``chicken``, ``matching_pennies``,
``battle_of_the_sexes``, ``rock_paper_scissors``) or given in the scenario as
nested lists whose leaves are the n players' payoffs. It is played for up to
``rounds`` rounds; after each round play continues with probability
``continuation`` (the discount factor of the infinitely repeated game when
``rounds`` is large). All players move simultaneously and see the full history.

In tournament mode the ``players`` are entrants; every pair plays one match of
the repeated two-player game (``repetitions`` times), one match after another,
and entrants are ranked by total score, as in Axelrod (1980).

In population mode (a ``population:`` block) a finite population carrying the
actions of a symmetric stage game evolves by a Moran, Fermi or proportional-
imitation process: ``simulator.worlds.matrix_population``.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator, model_validator

from simulator.world import Host, Metrics, Pairing, WorldBase
from simulator.worlds import register_world
from simulator.worlds.matrix_population import MatrixPopulation, PopulationConfig, check_population

# (action labels, payoff table with leaves (u_row, u_col)) — textbook versions.
NAMED_GAMES: dict[str, tuple[list[str], list]] = {
    "prisoners_dilemma": (["cooperate", "defect"], [[[3, 3], [0, 5]], [[5, 0], [1, 1]]]),
    "stag_hunt": (["stag", "hare"], [[[4, 4], [0, 2]], [[2, 0], [2, 2]]]),
    "chicken": (["swerve", "straight"], [[[0, 0], [-1, 1]], [[1, -1], [-10, -10]]]),
    "matching_pennies": (["heads", "tails"], [[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]]),
    "battle_of_the_sexes": (["opera", "football"], [[[2, 1], [0, 0]], [[0, 0], [1, 2]]]),
    # Maynard Smith & Price (1973) with V = 2, C = 4: hawks split V and pay C when they meet.
    "hawk_dove": (["hawk", "dove"], [[[-1, -1], [2, 0]], [[0, 2], [1, 1]]]),
    "rock_paper_scissors": (
        ["rock", "paper", "scissors"],
        [[[0, 0], [-1, 1], [1, -1]], [[1, -1], [0, 0], [-1, 1]], [[-1, 1], [1, -1], [0, 0]]],
    ),
}


def payoff_tensor(table: Any) -> np.ndarray:
    """Nested lists with payoff-vector leaves -> array of shape ``(n_players, a_1, ..., a_n)``."""
    try:
        array = np.asarray(table, dtype=float)
    except (ValueError, TypeError):
        array = None
    if array is None or array.ndim < 2:
        raise ValueError("payoffs must be a regular nested list of numbers whose leaves are lists of one payoff per player")
    n_players = array.shape[-1]
    if array.ndim - 1 != n_players:
        raise ValueError(
            f"payoffs have {array.ndim - 1} action dimension(s) but leaves of {n_players} payoff(s); "
            "an n-player table needs n nested levels and leaves of n numbers"
        )
    return np.moveaxis(array, -1, 0)


class TournamentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repetitions: int = Field(1, ge=1, description="matches per pair of entrants")


class MatrixGameConfig(BaseModel):
    # one_of: `agora schema` says which fields go in exclusive groups (the _consistent check below)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"one_of": [["game", "payoffs"]]})
    type: Literal["matrix_game"] = Field(description="the world type")
    game: Literal[tuple(NAMED_GAMES)] | None = Field(None, description="a named textbook game")
    payoffs: list | None = Field(None, description="nested lists, leaves = one payoff per player")
    actions: list[list[str]] | None = Field(None, description="one list of action labels per player, e.g. [[stag, hare], [stag, hare]] (default: the named game's, else a0, a1, ...)")
    players: list[str] | None = Field(None, description="agent ids (entrants in tournament mode)")
    rounds: int = Field(1, ge=1, le=10_000_000, description="most rounds of the stage game (omitted: ONE round, a one-shot game)")
    continuation: float = Field(1.0, gt=0, le=1, description="probability of another round")
    tournament: TournamentConfig | None = Field(None, description="tournament mode: every pair of players plays a match (Axelrod 1980)")
    population: PopulationConfig | None = Field(None, description="population mode: strategy shares evolve (matrix_population)")

    @field_validator("payoffs")
    @classmethod
    def _regular(cls, table: list | None) -> list | None:
        if table is not None:
            payoff_tensor(table)
        return table

    @model_validator(mode="after")
    def _consistent(self) -> "MatrixGameConfig":
        if (self.game is None) == (self.payoffs is None):
            raise ValueError("give exactly one of 'game' (a named game) or 'payoffs' (a table)")
        tensor = self.tensor()
        n_players = tensor.shape[0]
        if self.actions is not None:
            if [len(a) for a in self.actions] != list(tensor.shape[1:]):
                raise ValueError(f"actions give {[len(a) for a in self.actions]} labels per player; the payoff table has {list(tensor.shape[1:])}")
            if any(len(set(a)) != len(a) for a in self.actions):
                raise ValueError("action labels must be distinct for each player")
        if self.tournament is not None:
            if n_players != 2:
                raise ValueError("tournament mode needs a two-player game")
            if self.players is None or len(self.players) < 2:
                raise ValueError("tournament mode needs at least two entrants in 'players'")
        elif self.players is not None and len(self.players) != n_players:
            raise ValueError(f"the game has {n_players} players but 'players' lists {len(self.players)}")
        if self.players is not None and len(set(self.players)) != len(self.players):
            raise ValueError("player ids must be distinct")
        if self.population is not None:
            clash = sorted({"players", "tournament", "rounds", "continuation"} & self.model_fields_set)
            if clash:
                raise ValueError(f"{', '.join(clash)} do not apply in population mode (members are m0, m1, ...; it runs for population.generations)")
        return self

    @field_validator("population")
    @classmethod
    def _population_fits_the_game(cls, population: PopulationConfig | None, info: ValidationInfo) -> PopulationConfig | None:
        data = info.data  # the fields declared before: game, payoffs, actions
        if population is not None and (data.get("game") is None) != (data.get("payoffs") is None):
            table = NAMED_GAMES[data["game"]][1] if data.get("game") else data["payoffs"]
            u = payoff_tensor(table)
            labels = data.get("actions") or ([NAMED_GAMES[data["game"]][0]] if data.get("game") else [[f"a{k}" for k in range(u.shape[1])]])
            if len(labels[0]) == u.shape[1]:
                check_population(population, u, list(labels[0]))
        return population

    def notes(self) -> list[str]:
        """What a reader may not expect of this block; ``agora validate`` and ``agora run`` print these as warnings."""
        if self.population is None and "rounds" not in self.model_fields_set:
            return ["world.rounds is omitted: the game is played for ONE round (a one-shot game); set rounds: N to repeat it"]
        return []

    def tensor(self) -> np.ndarray:
        return payoff_tensor(NAMED_GAMES[self.game][1] if self.game else self.payoffs)

    def labels(self) -> list[list[str]]:
        if self.actions is not None:
            return self.actions
        if self.game is not None:
            return [list(NAMED_GAMES[self.game][0]) for _ in range(2)]
        return [[f"a{k}" for k in range(size)] for size in self.tensor().shape[1:]]


@lru_cache(maxsize=None)
def action_model_for(labels: tuple[str, ...]) -> type[BaseModel]:
    """A pydantic model whose only field ``action`` is one of the labels."""
    return create_model(
        "MatrixAction",
        __config__=ConfigDict(extra="forbid"),
        action=(Literal[labels], Field(description="the action to play this round")),
    )


@register_world("matrix_game")
class MatrixGame(WorldBase[MatrixGameConfig]):
    """A repeated normal-form game (or a round-robin tournament of them)."""

    default_policies = {"*": "uniform_random"}
    reference_games = NAMED_GAMES  # listed with their payoff tables by `agora schema matrix_game` (simulator.reference)
    paired = (  # simulator/comparison.py; the population-mode rows appear only in that mode
        Pairing("welfare per round vs stage Nash equilibrium", "theory.stage_equilibrium_welfare.0", "welfare / measures.rounds",
                "the first stage equilibrium; repeated play can sustain more"),
        Pairing("welfare per round vs stage optimum", "theory.stage_optimum_welfare", "welfare / measures.rounds",
                "the best any action profile gives in one round"),
        Pairing("fixation probability", "theory.fixation_probability.*", "measures.fixed.*",
                "Moran/Fermi chain; one run fixes (1) or not (0): a sweep over seeds estimates it"),
    )

    def __init__(self, config: MatrixGameConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        self.u = config.tensor()
        self.labels = config.labels()
        self.n_players = self.u.shape[0]
        ids = config.players or [f"p{i}" for i in range(self.n_players)]
        self.ids = ids
        if config.tournament is None:
            self.matches = [tuple(ids)]
        else:
            pairs = list(itertools.combinations(ids, 2))
            self.matches = [pair for _ in range(config.tournament.repetitions) for pair in pairs]
        self.scores = {agent: 0.0 for agent in ids}
        self.rounds_played = {agent: 0 for agent in ids}
        self.action_counts = {agent: np.zeros(len(self.labels[0 if config.tournament else i])) for i, agent in enumerate(ids)}
        self.match_results: list[dict[str, Any]] = []
        self.match_index = 0
        self.history: list[tuple[int, ...]] = []
        # Observations share these growing lists (read-only for policies), so a
        # round costs O(players), not O(rounds so far).
        self.label_history: list[list[str]] = []
        self.payoff_history: list[list[float]] = []
        self.total_rounds = 0
        self._over = False

    @classmethod
    def from_config(cls, config: MatrixGameConfig, rng: np.random.Generator) -> "MatrixGame | MatrixPopulation":
        if config.population is not None:
            u, labels = config.tensor(), config.labels()
            return MatrixPopulation(config.population, u[0], labels[0], rng, stage_theory=stage_game_theory(u, labels))
        return cls(config, rng)

    # ------------------------------------------------------------------ World protocol
    def rules(self, agent_id: str) -> str:
        seat = self._seat(agent_id) if not self._over else 0
        return (
            f"You play a {self.n_players}-player simultaneous game, repeated for up to {self.config.rounds} rounds "
            f"(after each round another follows with probability {self.config.continuation}). "
            f"You are player {seat}. Your actions: {', '.join(self.labels[seat])}. "
            "Your payoff for each joint action is in 'payoffs' (indexed by every player's action). "
            "Maximise your total payoff."
        )

    def _new_match_history(self) -> None:
        self.history, self.label_history = [], []
        self.payoff_history = [[] for _ in range(self.n_players)]

    def start(self, host: Host) -> None:
        self.host = host
        self._new_match_history()
        host.wake(at=0.0)

    def current_players(self) -> tuple[str, ...]:
        return self.matches[self.match_index]

    def acting(self) -> list[str]:
        return [] if self._over else list(self.current_players())

    def _seat(self, agent_id: str) -> int:
        return self.current_players().index(agent_id)

    def observe(self, agent_id: str) -> dict[str, Any]:
        seat = self._seat(agent_id)
        players = self.current_players()
        return {
            "round": len(self.history),
            "max_rounds": self.config.rounds,
            "continuation": self.config.continuation,
            "player": seat,
            "players": list(players),
            "actions": self.labels[seat],
            "all_actions": self.labels,
            "payoffs": self.u[seat].tolist(),
            "history": self.label_history,
            "my_payoffs": self.payoff_history[seat],
        }

    def action_model(self, agent_id: str) -> type[BaseModel]:
        return action_model_for(tuple(self.labels[self._seat(agent_id)]))

    def default_action(self, agent_id: str) -> BaseModel:
        model = self.action_model(agent_id)
        return model(action=self.labels[self._seat(agent_id)][0])

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        players = self.current_players()
        joint = tuple(self.labels[i].index(actions[agent].action) for i, agent in enumerate(players))
        payoffs = self.u[(slice(None), *joint)]
        for i, agent in enumerate(players):
            self.scores[agent] += payoffs[i]
            self.rounds_played[agent] += 1
            self.action_counts[agent][joint[i]] += 1
        self.history.append(joint)
        self.label_history.append([self.labels[i][a] for i, a in enumerate(joint)])
        for i in range(len(players)):
            self.payoff_history[i].append(float(payoffs[i]))
        self.total_rounds += 1
        self.host.log("round", None, match=self.match_index, round=len(self.history) - 1, payoffs=payoffs.tolist())
        more = len(self.history) < self.config.rounds and (
            self.config.continuation >= 1.0 or self.rng.random() < self.config.continuation
        )
        if not more:
            self._end_match()
        if not self._over:
            self.host.wake(after=1.0)

    def _end_match(self) -> None:
        players = self.current_players()
        totals = self.u[(slice(None), *np.array(self.history).T)].sum(axis=1) if self.history else np.zeros(len(players))
        self.match_results.append({"players": list(players), "rounds": len(self.history), "scores": totals.tolist()})
        self._new_match_history()
        self.match_index += 1
        self._over = self.match_index >= len(self.matches)

    def done(self) -> bool:
        return self._over

    def progress(self) -> float:
        per_match = max(1, self.config.rounds)
        return min(1.0, (self.match_index + len(self.history) / per_match) / len(self.matches))

    def metrics(self) -> Metrics:
        measures: dict[str, Any] = {
            "rounds": self.total_rounds,
            "mean_payoff_per_round": {a: self.scores[a] / max(1, self.rounds_played[a]) for a in self.ids},
            "action_frequencies": {
                a: dict(zip(self.labels[0 if self.config.tournament else i], (c / max(1, c.sum())).tolist()))
                for i, (a, c) in enumerate(self.action_counts.items())
            },
        }
        if self.config.tournament is not None:
            ranking = sorted(self.ids, key=lambda a: (-measures["mean_payoff_per_round"][a], a))
            measures["ranking"] = ranking
            measures["matches"] = self.match_results
        return Metrics(payoffs=dict(self.scores), measures=measures, theory=stage_game_theory(self.u, self.labels))


def stage_game_theory(u: np.ndarray, labels: list[list[str]]) -> dict[str, Any]:
    """What theory predicts for one round: Nash equilibria, the utilitarian optimum, price of anarchy.

    Two-player games get every equilibrium, mixed ones included
    (``mechanisms.normal_form.equilibria``: support enumeration, vertex
    enumeration when the game is degenerate); N-player games their pure
    equilibria. Profiles are given by action label; mixed strategies as
    {label: probability} over their support. Symmetric two-player games
    (``B = A^T``) also get the rest points of the one-population replicator
    dynamics and their stability (``mechanisms.evolution.rest_points``).
    """
    from mechanisms.normal_form import bimatrix, equilibria, pure_equilibria
    from mechanisms.welfare import price_of_anarchy, price_of_stability

    welfare = u.sum(axis=0)
    optimum = np.unravel_index(int(np.argmax(welfare)), welfare.shape)
    theory: dict[str, Any] = {
        "stage_pure_equilibria": [[labels[i][a] for i, a in enumerate(profile)] for profile in pure_equilibria(u)],
        "stage_optimum": [labels[i][a] for i, a in enumerate(optimum)],
        "stage_optimum_welfare": float(welfare[optimum]),
    }
    if u.shape[0] == 2:
        result = equilibria(*bimatrix(u))
        theory["stage_equilibria"] = [
            [{labels[i][a]: float(p) for a, p in enumerate(mix) if p > 1e-12} for i, mix in enumerate((e.row, e.col))]
            for e in result
        ]
        values = [float(np.sum(e.payoffs)) for e in result]
        A, B = bimatrix(u)
        if A.shape[0] == A.shape[1] and np.allclose(B, A.T):
            from mechanisms.evolution import rest_points

            theory["replicator_rest_points"] = [
                {"state": {labels[0][a]: float(p) for a, p in enumerate(r.state) if p > 1e-12}, "stability": r.stability}
                for r in rest_points(A)
            ]
    else:
        values = [float(welfare[profile]) for profile in pure_equilibria(u)]
    theory["stage_equilibrium_welfare"] = values
    if values and min(values) > 0 and theory["stage_optimum_welfare"] > 0:
        theory["stage_price_of_anarchy"] = price_of_anarchy(values, theory["stage_optimum_welfare"])
        theory["stage_price_of_stability"] = price_of_stability(values, theory["stage_optimum_welfare"])
    return theory

"""Repeated public goods games with switchable institutions (the World: ``PublicGoodsGame``).

Each round the active players are split into groups of ``group_size``
(random regrouping, or fixed groups). In each group every player contributes
c_i from its endowment e — all at once (``mode: simultaneous``, the PGG) or
one after another, each seeing its predecessors' contributions this round
(``mode: sequential``, the SPGG of "Everyone Contributes!", arXiv:2508.02076,
§3). The group's payoffs come from a pluggable reward rule
(``mechanisms.public_goods``: ``standard`` is e − c_i + (r/k) Σ c_j for a
group of k; ``mac_spgg`` is our redesign under which full contribution is the
unique SPNE; any registered rule by name).

Institutions (each switchable; Dasgupta & Musolesi, "Investigating the Impact
of Direct Punishment on the Emergence of Cooperation in MARL Systems",
arXiv:2301.08278, adapt them to an iterated dilemma; here they act on the PGG):

* ``punishment`` — after contributions are revealed, each player may assign
  up to ``max_points`` punishment points to each group member (direct
  punishment); each point costs the punisher ``cost`` and the target ``fine``
  (Fehr & Gächter 2000). With ``third_party: true`` players see every group's
  contributions and may also punish members of other groups.
* ``reputation`` — a public record: every player's image score (Nowak &
  Sigmund 1998: +1 for contributing at least ``threshold`` · e, −1 otherwise,
  −1 for punishing a contributor, clipped to ±``bound``; a round sat out
  moves the score one step back toward 0) and their last
  ``memory`` contributions and punishments, shown to everyone.
* ``partner_selection`` — after each round every player may refuse partners;
  a player refused by more than ``quorum`` of the others is left out of the
  next round (keeps its endowment, no share of any public good), the rest
  are regrouped. This is ostracism-style partner choice.

Theory (``mechanisms.public_goods``): the stage game's equilibrium by backward
induction (sequential) or its pure Nash equilibria (simultaneous), the social
optimum, the welfare gap and the price of anarchy. Punishment is costly and
comes last, so it is never used in a subgame-perfect equilibrium of the stage
game, and with finitely many rounds backward induction over rounds repeats
the stage equilibrium: the theory is the same with or without institutions.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
from pydantic import BaseModel

from mechanisms import public_goods as pg
from simulator.world import Host, Metrics, Pairing, WorldBase
from simulator.worlds import register_world
from simulator.worlds.public_goods.actions import contribution_model, punish_model, select_model
from simulator.worlds.public_goods.config import PublicGoodsConfig

THEORY_MAX_PROFILES = 50_000


@register_world("public_goods")
class PublicGoodsGame(WorldBase[PublicGoodsConfig]):
    """A repeated (sequential or simultaneous) public goods game with institutions."""

    default_policies = {"*": "conditional_cooperator"}
    paired = (  # simulator/comparison.py
        Pairing("welfare per round vs equilibrium", "theory.equilibrium_welfare_per_round", "measures.welfare_per_round",
                "Nash / subgame-perfect equilibrium of the stage game"),
        Pairing("welfare per round vs optimum", "theory.optimum_welfare_per_round", "measures.welfare_per_round",
                "everyone contributing the optimum"),
        Pairing("contribution share vs equilibrium", "theory.equilibrium_contribution", "measures.mean_contribution",
                "share of the endowment"),
        Pairing("late contribution share vs equilibrium", "theory.equilibrium_contribution", "measures.late_mean_contribution",
                "the last rounds, after learning"),
    )

    def __init__(self, config: PublicGoodsConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        self.ids = config.ids()
        self.n = len(self.ids)
        self.index = {a: i for i, a in enumerate(self.ids)}
        self.e = config.endowment
        self.group_size = config.group_size or self.n
        self.rule = pg.get_reward(config.reward)
        self.punishment = config.institution("punishment")
        self.reputation = config.institution("reputation")
        self.selection = config.institution("partner_selection")
        self.round = 0
        self.phase = "contribute"
        self.mover = 0  # sequential: position now moving
        self.excluded: set[str] = set()
        self.groups: list[list[str]] = []
        self.group_of: dict[str, int] = {}
        self.contrib: dict[str, float] = {}
        self.round_payoff: dict[str, float] = {}
        self.points_given: dict[str, int] = {}
        self.points_received: dict[str, int] = {}
        self.image = {a: 0 for a in self.ids}
        self.records: dict[str, list] = {a: [] for a in self.ids}  # per round: (contribution | None, given, received)
        self.last: dict[str, dict[str, Any]] = {}
        # Totals for metrics
        self.totals = {a: 0.0 for a in self.ids}
        self.contrib_hist = np.full((config.rounds, self.n), np.nan)
        self.payoff_hist = np.zeros((config.rounds, self.n))
        self.punish_given_total = {a: 0 for a in self.ids}
        self.punish_received_total = {a: 0 for a in self.ids}
        self.antisocial_points = 0
        self.exclusion_rounds = 0
        self._fixed_groups: list[list[str]] | None = None
        self._over = False

    # ------------------------------------------------------------------ World protocol
    def rules(self, agent_id: str) -> str:
        c = self.config
        text = [
            f"You play a public goods game for {c.rounds} round(s) with {self.n} players in groups of {self.group_size}. "
            f"Each round you have an endowment of {self.e:g} and choose how much to contribute "
            f"({'any amount' if c.step is None else f'in steps of {c.step:g}'}). "
        ]
        if c.reward == "standard":
            text.append(f"Your payoff: endowment - your contribution + {c.multiplier:g} / (group size) * (sum of the group's contributions). ")
        else:
            text.append(f"Payoffs follow the '{c.reward}' reward rule with multiplier {c.multiplier:g} and parameters {c.reward_params}. ")
        if c.mode == "sequential":
            text.append("Group members contribute one after another; you see your predecessors' contributions ('predecessors'). ")
        if self.punishment:
            p = self.punishment
            who = "anyone" if p.third_party else "members of your group"
            text.append(f"After contributions you may punish {who}: each point costs you {p.cost:g} and the target {p.fine:g} (at most {p.max_points} per target). ")
        if self.reputation:
            text.append("Everyone's image score and recent contributions are public ('reputation', 'records'). ")
        if self.selection:
            text.append(f"After each round you may refuse partners; a player refused by more than {self.selection.quorum:.0%} of the others sits out the next round (keeps the endowment only). ")
        text.append("Maximise your total payoff.")
        return "".join(text)

    def start(self, host: Host) -> None:
        self.host = host
        self._start_round()

    def _start_round(self) -> None:
        active = [a for a in self.ids if a not in self.excluded]
        self.exclusion_rounds += len(self.excluded)
        if self.config.regroup == "fixed" and self._fixed_groups is not None:
            groups = [[a for a in g if a not in self.excluded] for g in self._fixed_groups]
        else:
            order = [active[i] for i in self.rng.permutation(len(active))]
            k = max(1, math.ceil(len(order) / self.group_size))
            groups = [list(g) for g in np.array_split(np.array(order, dtype=object), k)]
            if self._fixed_groups is None:
                self._fixed_groups = [list(g) for g in groups]
        self.groups = [g for g in groups if g]
        self.group_of = {a: gi for gi, g in enumerate(self.groups) for a in g}
        self.contrib = {}
        self.points_given = {a: 0 for a in self.ids}
        self.points_received = {a: 0 for a in self.ids}
        self.punish_log: list[tuple[str, str, int]] = []
        self.phase, self.mover = "contribute", 0
        self.host.wake(at=float(self.round))

    def acting(self) -> list[str]:
        if self._over:
            return []
        if self.phase == "contribute":
            if self.config.mode == "simultaneous":
                return [a for g in self.groups for a in g]
            return [g[self.mover] for g in self.groups if len(g) > self.mover]
        if self.phase == "punish":
            return [a for a in self.ids if self._targets(a)]
        return list(self.ids)  # select

    def _targets(self, agent_id: str) -> tuple[str, ...]:
        if self.punishment is None:
            return ()
        if self.punishment.third_party:
            return tuple(a for a in self.ids if a != agent_id and a in self.contrib)
        if agent_id not in self.group_of:
            return ()
        return tuple(a for a in self.groups[self.group_of[agent_id]] if a != agent_id)

    def observe(self, agent_id: str) -> dict[str, Any]:
        c = self.config
        obs: dict[str, Any] = {
            "me": agent_id,
            "phase": self.phase,
            "round": self.round,
            "rounds": c.rounds,
            "endowment": self.e,
            "multiplier": c.multiplier,
            "step": c.step,
            "mode": c.mode,
            "reward": c.reward,
            "last_payoff": self.last.get(agent_id, {}).get("payoff"),
            "last_contribution": self.last.get(agent_id, {}).get("contribution"),
            "last_round": self.last.get(agent_id),
            "excluded": agent_id in self.excluded,
        }
        if agent_id in self.group_of:
            group = self.groups[self.group_of[agent_id]]
            obs["group"] = list(group)
            obs["position"] = group.index(agent_id)
            obs["group_size"] = len(group)
        if self.phase == "contribute" and c.mode == "sequential" and agent_id in self.group_of:
            group = self.groups[self.group_of[agent_id]]
            obs["predecessors"] = [self.contrib[a] for a in group[: group.index(agent_id)]]
        if self.phase in ("punish", "select"):
            if self.punishment is not None and self.punishment.third_party or self.reputation is not None:
                obs["contributions"] = dict(self.contrib)
            elif agent_id in self.group_of:
                obs["contributions"] = {a: self.contrib[a] for a in self.groups[self.group_of[agent_id]]}
            else:
                obs["contributions"] = {}
            obs["my_contribution"] = self.contrib.get(agent_id)
        if self.phase == "punish":
            p = self.punishment
            obs.update(targets=list(self._targets(agent_id)), cost=p.cost, fine=p.fine, max_points=p.max_points)
        if self.reputation is not None:
            memory = self.reputation.memory
            obs["reputation"] = dict(self.image)
            obs["records"] = {a: [r[0] for r in self.records[a][-memory:]] for a in self.ids}
            obs["punishments_given"] = {a: sum(r[1] for r in self.records[a][-memory:]) for a in self.ids}
        return obs

    def action_model(self, agent_id: str) -> type[BaseModel]:
        if self.phase == "contribute":
            return contribution_model(self.e, self.config.step)
        if self.phase == "punish":
            return punish_model(self._targets(agent_id), self.punishment.max_points)
        return select_model(tuple(a for a in self.ids if a != agent_id))

    def default_action(self, agent_id: str) -> BaseModel:
        model = self.action_model(agent_id)
        if self.phase == "contribute":
            return model(contribution=0.0)
        if self.phase == "punish":
            return model(punish={})
        return model(refuse=[])

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        if self.phase == "contribute":
            for agent, action in actions.items():
                self.contrib[agent] = float(action.contribution)
            if self.config.mode == "sequential" and self.mover + 1 < max(len(g) for g in self.groups):
                self.mover += 1
                self.host.wake(at=self.round + self.mover / (2.0 * self.group_size + 2))
                return
            self._settle_contributions()
            return self._next_phase("contribute")
        if self.phase == "punish":
            for agent, action in actions.items():
                for target, points in action.punish.items():
                    self.points_given[agent] += points
                    self.points_received[target] += points
                    self.punish_log.append((agent, target, points))
            return self._next_phase("punish")
        refused = {a: 0 for a in self.ids}
        for agent, action in actions.items():
            for target in action.refuse:
                refused[target] += 1
        self.refused = refused
        return self._next_phase("select")

    def _settle_contributions(self) -> None:
        self.round_payoff = {a: self.e for a in self.ids}  # left-out players keep their endowment
        for group in self.groups:
            c = np.array([self.contrib[a] for a in group])
            for a, value in zip(group, self.rule(c, self.e, self.config.multiplier, **self.config.reward_params)):
                self.round_payoff[a] = float(value)

    def _next_phase(self, finished: str) -> None:
        order = ["contribute"]
        if self.punishment is not None:
            order.append("punish")
        if self.selection is not None:
            order.append("select")
        position = order.index(finished)
        if position + 1 < len(order):
            self.phase = order[position + 1]
            self.host.wake(at=self.round + 0.5 + 0.2 * position)
            return
        self._end_round()

    def _end_round(self) -> None:
        p = self.punishment
        if p is not None:
            for a in self.ids:
                self.round_payoff[a] -= p.cost * self.points_given[a] + p.fine * self.points_received[a]
        threshold = self.reputation.threshold * self.e if self.reputation else 0.5 * self.e
        for punisher, target, points in self.punish_log:
            self.punish_given_total[punisher] += points
            self.punish_received_total[target] += points
            if self.contrib.get(target, -1.0) >= threshold - 1e-9:
                self.antisocial_points += points
        if self.reputation is not None:
            bound = self.reputation.bound
            for a in self.ids:
                if a in self.contrib:
                    self.image[a] += 1 if self.contrib[a] >= threshold - 1e-9 else -1
                elif a in self.excluded:
                    self.image[a] += int(np.sign(-self.image[a]))  # sitting out is forgiven, one step a round
            for punisher, target, _ in self.punish_log:
                if self.contrib.get(target, -1.0) >= threshold - 1e-9:
                    self.image[punisher] -= 1
            self.image = {a: int(np.clip(s, -bound, bound)) for a, s in self.image.items()}
        for i, a in enumerate(self.ids):
            self.totals[a] += self.round_payoff[a]
            self.payoff_hist[self.round, i] = self.round_payoff[a]
            if a in self.contrib:
                self.contrib_hist[self.round, i] = self.contrib[a]
            self.records[a].append((self.contrib.get(a), self.points_given[a], self.points_received[a]))
            group = self.groups[self.group_of[a]] if a in self.group_of else []
            self.last[a] = {
                "contribution": self.contrib.get(a),
                "payoff": self.round_payoff[a],
                "group_contributions": {b: self.contrib[b] for b in group},
                "punishment_given": self.points_given[a],
                "punishment_received": self.points_received[a],
                "excluded": a in self.excluded,
            }
        self.host.log(
            "round", None, round=self.round, groups=self.groups, contributions=self.contrib,
            payoffs=self.round_payoff, punishments=self.punish_log, excluded=sorted(self.excluded),
        )
        if self.selection is not None:
            limit = self.selection.quorum * (self.n - 1)
            excluded = {a for a, k in self.refused.items() if k > limit}
            self.excluded = excluded if self.n - len(excluded) >= 2 else set()
        self.round += 1
        if self.round >= self.config.rounds:
            self._over = True
            return
        self._start_round()

    def done(self) -> bool:
        return self._over

    def progress(self) -> float:
        return min(1.0, self.round / self.config.rounds)

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> Metrics:
        played = self.round
        frac = self.contrib_hist[:played] / self.e
        late = frac[played // 2:] if played > 1 else frac

        def agent_mean(block: np.ndarray) -> dict[str, float | None]:
            out = {}
            for i, a in enumerate(self.ids):
                column = block[:, i] if block.size else np.array([])
                column = column[~np.isnan(column)]
                out[a] = float(column.mean()) if column.size else None
            return out

        by_round = [float(np.nanmean(row)) if np.any(~np.isnan(row)) else None for row in frac]
        measures: dict[str, Any] = {
            "rounds": played,
            "mean_contribution": float(np.nanmean(frac)) if np.any(~np.isnan(frac)) else None,
            "late_mean_contribution": float(np.nanmean(late)) if late.size and np.any(~np.isnan(late)) else None,
            "welfare_per_round": float(self.payoff_hist[:played].sum(axis=1).mean()) if played else None,
            "mean_contribution_by_agent": agent_mean(frac),
            "late_contribution_by_agent": agent_mean(late),
            "mean_payoff_per_round": {a: self.totals[a] / max(1, played) for a in self.ids},
            "contribution_by_round": by_round,
        }
        if self.punishment is not None:
            measures["punishment_points_given"] = dict(self.punish_given_total)
            measures["punishment_points_received"] = dict(self.punish_received_total)
            measures["antisocial_punishment_points"] = self.antisocial_points
        if self.selection is not None:
            measures["exclusion_rounds"] = self.exclusion_rounds
        if self.reputation is not None:
            measures["image_scores"] = dict(self.image)
        return Metrics(payoffs=dict(self.totals), measures=measures, theory=self.theory())

    def theory(self) -> dict[str, Any]:
        """Stage-game theory for a group of ``group_size`` (mechanisms.public_goods), scaled to the population per round."""
        c = self.config
        g = self.group_size
        step = self._theory_step()
        if step is None:
            return {"note": f"grid too large for exact theory with groups of {g}"}
        out: dict[str, Any] = {}
        try:
            stage = pg.spgg_theory(g, self.e, c.multiplier, c.reward, step, sequential=c.mode == "sequential", **c.reward_params)
        except ValueError as exc:
            return {"note": f"theory not computed: {exc}"}
        if stage.get("equilibrium_contributions") is None:
            return {"note": stage.get("note", "no equilibrium")}
        eq = stage["equilibrium_contributions"]
        groups = max(1, math.ceil(self.n / g))
        sizes = [len(x) for x in np.array_split(np.arange(self.n), groups)]
        eq_welfare = 0.0
        opt_welfare = 0.0
        for k in sizes:
            sub = stage if k == g else pg.spgg_theory(k, self.e, c.multiplier, c.reward, step, sequential=c.mode == "sequential", **c.reward_params)
            eq_welfare += float(np.sum(sub["equilibrium_payoffs"]))
            opt = np.full(k, self.e if c.multiplier > 1 else 0.0)
            opt_welfare += float(pg.payoffs(opt, self.e, c.multiplier, c.reward, **c.reward_params).sum())
        out.update(
            solution="SPNE (backward induction)" if c.mode == "sequential" else "pure Nash equilibrium",
            theory_grid_step=step,
            equilibrium_contributions=eq,
            equilibrium_contribution=float(np.mean(eq) / self.e),
            equilibrium_unique=stage["equilibrium_unique"],
            optimum_contribution=float(np.mean(stage["optimum_contributions"]) / self.e),
            equilibrium_welfare_per_round=eq_welfare,
            optimum_welfare_per_round=opt_welfare,
            welfare_gap_per_round=opt_welfare - eq_welfare,
            price_of_anarchy=pg.price_of_anarchy(opt_welfare, eq_welfare),
            stage_price_of_anarchy_material=stage["price_of_anarchy"],
        )
        if c.reward == "mac_spgg":
            out["mac_spgg_condition_holds"] = pg.mac_spgg_condition(g, c.multiplier, c.reward_params.get("gamma", 1.0))
        return out

    def _theory_step(self) -> float | None:
        g = self.group_size
        if self.config.step is not None:
            m = round(self.e / self.config.step) + 1
            if m ** g <= THEORY_MAX_PROFILES:
                return self.config.step
        for parts in (10, 5, 4, 2, 1):
            if (parts + 1) ** g <= THEORY_MAX_PROFILES:
                return self.e / parts
        return None

"""Counterfactual regret minimisation: CFR+ with exploitability, for two-player zero-sum extensive games.

CFR (Zinkevich, Johanson, Bowling & Piccione 2007, "Regret minimization in
games with incomplete information"): at information set ``I`` of player
``i`` with current behaviour ``sigma``, the counterfactual value of action
``a`` is ``v_i(I, a) = sum_{h in I} pi_{-i}(h) u_i(sigma | h.a)``, where
``pi_{-i}(h)`` is the probability that chance and the other players reach
``h`` and ``u_i(sigma | h.a)`` the expected payoff below ``h.a``. The
instantaneous regret is ``v_i(I, a) - sum_b sigma(b | I) v_i(I, b)``.

CFR+ (Tammelin 2014, "Solving large imperfect information games using
CFR+"; Tammelin, Burch, Johanson & Bowling 2015, IJCAI) changes three things:

* *regret matching+*: cumulative regrets are floored at zero after every
  update, ``Q(I, a) <- max(Q(I, a) + r(I, a), 0)``, and
  ``sigma(a | I) = Q(I, a) / sum_b Q(I, b)`` (uniform when all are zero);
* *alternating updates*: player 1 updates, then player 2 against the new
  strategy, in each iteration;
* *linear averaging*: the output is the average of the current strategies
  weighted by ``max(t - delay, 0)`` and by the player's own reach.

In a two-player zero-sum game the average converges to a Nash equilibrium;
:func:`cfr_plus` reports its exploitability (``nash_conv / 2``, see
:mod:`mechanisms.game_tree`) every ``check_every`` iterations and stops when it
falls below ``target`` or after ``iterations``.

Each pass is vectorised over the tree's depth levels with numpy: reach
probabilities top-down, expected values bottom-up, regrets summed with
``np.add.at`` over all edges at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mechanisms import game_tree as gt


@dataclass
class CFRResult:
    """The average behaviour (the equilibrium approximation), the last iterate and the exploitability trace."""

    average: np.ndarray
    current: np.ndarray
    iterations: int
    exploitability: float
    history: list[tuple[int, float]] = field(default_factory=list)  # (iteration, exploitability)


class _Edges:
    """The tree's edges grouped by depth, with what each needs for a pass."""

    def __init__(self, game: gt.ExtensiveGame) -> None:
        n = game.n_nodes
        parent = np.array(game.parent)
        mover = np.array(game.mover)
        depth = np.zeros(n, dtype=int)
        for k in range(1, n):  # pre-order: parents first
            depth[k] = depth[parent[k]] + 1
        child = np.arange(1, n)
        self.parent = parent[child]
        self.mover = mover[self.parent]  # who moves on the edge (CHANCE or a player)
        action = np.array(game.action_index)[child]
        infoset = np.array(game.node_infoset)[self.parent]
        offsets = np.array([i.offset for i in game.infosets] + [0])
        self.slot = np.where(self.mover >= 0, offsets[infoset] + action, -1)
        self.chance_p = np.ones(len(child))
        for e in np.flatnonzero(self.mover == gt.CHANCE):
            self.chance_p[e] = float(game.chance_probs[self.parent[e]][action[e]])
        self.child = child
        d = depth[child]
        self.levels = [np.flatnonzero(d == level) for level in range(1, d.max() + 1)] if len(child) else []
        self.payoff = np.zeros((n, game.n_players))
        self.payoff[game.leaves] = game.leaf_payoff
        self.n_nodes = n
        self.n_players = game.n_players
        self.decision = self.mover >= 0
        # an information set's own reach is the same at all its nodes (perfect recall): use its first node
        self.slot_node = np.array([game.infosets[i].nodes[0] for i in game.slot_infoset], dtype=int)
        self.slot_player = game.slot_player
        self.set_starts = np.array([i.offset for i in game.infosets], dtype=int)
        self.set_sizes = np.array([len(i.actions) for i in game.infosets], dtype=int)

    def edge_prob(self, sigma: np.ndarray) -> np.ndarray:
        p = self.chance_p.copy()
        p[self.decision] = sigma[self.slot[self.decision]]
        return p

    def reach(self, prob: np.ndarray) -> np.ndarray:
        """``reach[j, h]``: the product of player ``j``'s (row ``n`` = chance's) probabilities on the path to ``h``."""
        reach = np.ones((self.n_players + 1, self.n_nodes))
        who = np.where(self.mover >= 0, self.mover, self.n_players)
        for level in self.levels:
            c, p = self.child[level], self.parent[level]
            reach[:, c] = reach[:, p]
            reach[who[level], c] *= prob[level]
        return reach

    def values(self, prob: np.ndarray) -> np.ndarray:
        """``v[h]``: the expected payoff vector below ``h`` under the current strategies."""
        v = self.payoff.copy()
        for level in reversed(self.levels):
            np.add.at(v, self.parent[level], prob[level, None] * v[self.child[level]])
        return v


def _regret_matching_plus(Q: np.ndarray, edges: _Edges) -> np.ndarray:
    totals = np.add.reduceat(Q, edges.set_starts)
    totals = np.repeat(totals, edges.set_sizes)
    uniform = 1.0 / np.repeat(edges.set_sizes, edges.set_sizes)
    return np.where(totals > 0, Q / np.where(totals > 0, totals, 1.0), uniform)


def cfr_plus(game: gt.ExtensiveGame, iterations: int = 1000, target: float = 0.0,
             check_every: int = 50, delay: int = 0) -> CFRResult:
    """Run CFR+ for at most ``iterations`` iterations; stop early once exploitability <= ``target``.

    Parameters
    ----------
    game:
        A two-player zero-sum game with perfect recall (others run, without guarantees).
    iterations, target, check_every:
        The bound, the early-stopping exploitability, and how often it is measured.
    delay:
        Iterations ``t <= delay`` get weight 0 in the average (Tammelin et al. 2015 use a small delay).
    """
    if game.n_players != 2 or not game.is_zero_sum():
        raise ValueError("CFR+ converges to equilibrium in two-player zero-sum games; this game is not one")
    edges = _Edges(game)
    Q = np.zeros(game.n_slots)
    sigma = gt.uniform_behaviour(game)
    average = np.zeros(game.n_slots)
    history: list[tuple[int, float]] = []
    t = 0
    for t in range(1, iterations + 1):
        weight = max(t - delay, 0)
        for player in range(game.n_players):
            prob = edges.edge_prob(sigma)
            reach = edges.reach(prob)
            v = edges.values(prob)
            mine = edges.slot_player == player
            average[mine] += weight * reach[player, edges.slot_node[mine]] * sigma[mine]
            others = np.prod(np.delete(reach, player, axis=0), axis=0)  # chance and the opponent
            own_edges = np.flatnonzero(edges.mover == player)
            p = edges.parent[own_edges]
            regret = np.zeros(game.n_slots)
            np.add.at(regret, edges.slot[own_edges], others[p] * (v[edges.child[own_edges], player] - v[p, player]))
            Q[mine] = np.maximum(Q[mine] + regret[mine], 0.0)
            sigma = np.where(mine, _regret_matching_plus(Q, edges), sigma)
        if t % check_every == 0 or t == iterations:
            exp = gt.exploitability(game, _normalised(average, edges, sigma))
            history.append((t, exp))
            if exp <= target:
                break
    avg = _normalised(average, edges, sigma)
    final = history[-1][1] if history and history[-1][0] == t else gt.exploitability(game, avg)
    return CFRResult(avg, sigma, t, final, history)


def _normalised(average: np.ndarray, edges: _Edges, fallback: np.ndarray) -> np.ndarray:
    totals = np.repeat(np.add.reduceat(average, edges.set_starts), edges.set_sizes)
    return np.where(totals > 0, average / np.where(totals > 0, totals, 1.0), fallback)

"""Finite extensive games with chance moves, information sets and perfect recall.

Model (Kuhn 1953; Osborne & Rubinstein 1994, *A Course in Game Theory*, ch. 11;
von Stengel 1996, "Efficient computation of behavior strategies", GEB 14).
A game is a rooted tree. A non-terminal node is either a *chance* node, whose
children are drawn with fixed probabilities, or a *decision* node of a player
``i``. The decision nodes of ``i`` are partitioned into *information sets*:
``i`` cannot tell the nodes of one set apart, so every node of a set has the
same actions and ``i`` chooses the same (mixed) action at all of them. A
terminal ``z`` carries a payoff vector ``u(z)``.

A *behaviour strategy* of ``i`` gives a distribution over the actions of each
of its information sets. A *sequence* of ``i`` is the empty sequence or a pair
``(I, a)``: the last action ``i`` took on the way to a node; ``i`` has
*perfect recall* iff all nodes of each of its information sets have the same
own sequence (then, by Kuhn's theorem, behaviour strategies are as good as
mixed ones). The *realization plan* of a behaviour strategy ``beta_i`` is
``r_i(s) = prod of beta_i(a | I)`` over the own actions in ``s``, and the
expected payoff of a profile is

    U(beta) = sum_z  p_chance(z) * prod_i r_i(seq_i(z)) * u(z),

which is linear in each player's realization plan (the sequence form).

A *best response* of ``i`` to the others' behaviour is found on the tree of
``i``'s sequences: with ``g_i(s)`` the payoff to ``i`` collected at the
terminals whose own sequence is ``s``, weighted by chance and the others'
reach, the value of an information set is ``V(I) = max_a [g_i(Ia) + sum of
V(I') over the sets I' whose own sequence is Ia]``, solved from the leaves up.
``nash_conv = sum_i (best-response value_i - U_i)``; ``exploitability`` is
``nash_conv / n`` (OpenSpiel's definition; for two-player zero-sum games it
is the mean amount each player loses to a best response).

Behaviour profiles are flat vectors over *slots*: information set ``I`` owns
the contiguous slots ``offset(I) .. offset(I) + |A(I)| - 1``. Player ``i``'s
sequence ``(I, a)`` is numbered ``1 + (slot of (I, a) among i's slots)``;
sequence 0 is the empty sequence. Information sets are numbered by their
first visit in a depth-first (pre-order) walk, so a set's own-sequence parent
set always comes earlier.

Pure numpy; exact rational arithmetic with ``exact=True`` (Fractions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Hashable, Mapping, Sequence, Union

import numpy as np

Number = Union[int, float, str, Fraction]
CHANCE = -1  # the mover of a chance node
TERMINAL = -2  # the "mover" of a terminal node


class GameTreeError(ValueError):
    """The tree is not a valid finite extensive game (the message names the node or information set).

    ``history`` is the action path from the root to the offending node, when there is one.
    """

    def __init__(self, message: str, history: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.history = history


def as_fraction(value: Number) -> Fraction:
    """A payoff or probability as an exact rational: ``"1/3"``, ``2``, ``0.1`` (as written: 1/10)."""
    if isinstance(value, bool):
        raise GameTreeError("numbers must not be true/false")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise GameTreeError(f"{value} is not a finite number")
        return Fraction(repr(float(value)))
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise GameTreeError(f"{value!r} is not a number or fraction like '2/3'") from None
    raise GameTreeError(f"expected a number, got {type(value).__name__}")


# --------------------------------------------------------------------------- building trees


@dataclass
class Node:
    """A node while building a tree.

    ``player`` is a player index (decision node), :data:`CHANCE`, or ``None``
    (terminal, which needs ``payoffs``). ``children`` maps action labels to
    subtrees in order. ``probs`` (chance nodes) gives one probability per
    child. ``infoset`` labels the decision node's information set; nodes of
    one player with the same label form one set (``None``: a set of its own).
    """

    player: int | None = None
    children: dict[str, "Node"] = field(default_factory=dict)
    probs: Sequence[Number] | None = None
    infoset: Hashable | None = None
    payoffs: Sequence[Number] | None = None
    name: str | None = None


def terminal(*payoffs: Number, name: str | None = None) -> Node:
    """A terminal node: ``terminal(1, -1)``."""
    return Node(None, {}, None, None, list(payoffs), name)


def decision(player: int, infoset: Hashable | None, children: Mapping[str, Node], name: str | None = None) -> Node:
    """A decision node of ``player`` in information set ``infoset`` (``None``: a singleton set)."""
    return Node(player, dict(children), None, infoset, None, name)


def chance(branches: Mapping[str, tuple[Number, Node]], name: str | None = None, infoset: Hashable | None = None) -> Node:
    """A chance node: ``chance({"heads": ("1/2", left), "tails": ("1/2", right)})``."""
    return Node(CHANCE, {a: child for a, (_, child) in branches.items()}, [p for p, _ in branches.values()], infoset, None, name)


@dataclass(frozen=True)
class Infoset:
    """An information set: its player, label, actions, member nodes and place in the sequence form."""

    index: int
    player: int
    label: Hashable
    actions: tuple[str, ...]
    nodes: tuple[int, ...]
    offset: int  # first global slot
    first_sequence: int  # the player's sequence number of (I, actions[0])
    parent_sequence: int  # the player's own sequence leading here (0 = empty)


# --------------------------------------------------------------------------- the game


class ExtensiveGame:
    """A validated, flattened extensive game (nodes in pre-order, root = node 0).

    Build it with ``ExtensiveGame(root, players=None)`` from :class:`Node`
    objects. Raises :class:`GameTreeError` for a malformed tree, an
    information set whose nodes disagree (player, actions), chance
    probabilities that are negative or do not sum to 1, or imperfect recall
    (unless ``require_perfect_recall=False``; the sequence-form solvers and
    best responses here need perfect recall).
    """

    def __init__(self, root: Node, players: Sequence[str] | None = None, title: str = "",
                 require_perfect_recall: bool = True) -> None:
        self.title = title
        self.mover: list[int] = []
        self.parent: list[int] = []
        self.action_index: list[int] = []  # index of the action taken at the parent (-1 at the root)
        self.children: list[list[int]] = []
        self.actions: list[tuple[str, ...]] = []
        self.names: list[str | None] = []
        self.histories: list[tuple[str, ...]] = []
        self.chance_probs: dict[int, tuple[Fraction, ...]] = {}
        self.chance_labels: dict[int, Hashable] = {}
        self.payoffs_exact: dict[int, tuple[Fraction, ...]] = {}
        self.node_infoset: list[int] = []
        keys: dict[tuple[int, Hashable], int] = {}
        members: list[list[int]] = []
        n_players: int | None = None

        stack: list[tuple[Node, int, int, tuple[str, ...]]] = [(root, -1, -1, ())]
        while stack:
            node, parent, action, history = stack.pop()
            k = len(self.mover)
            self.parent.append(parent)
            self.action_index.append(action)
            self.names.append(node.name)
            self.histories.append(history)
            if parent >= 0:
                self.children[parent][action] = k
            where = "/".join(history) or "(root)"
            if node.player is None:
                if node.payoffs is None or node.children:
                    raise GameTreeError(f"node {where}: a terminal needs payoffs and no children")
                pay = tuple(as_fraction(v) for v in node.payoffs)
                if n_players is None:
                    n_players = len(pay)
                elif len(pay) != n_players:
                    raise GameTreeError(f"terminal {where} has {len(pay)} payoffs; others have {n_players}")
                self.mover.append(TERMINAL)
                self.payoffs_exact[k] = pay
                self.children.append([])
                self.actions.append(())
                self.node_infoset.append(-1)
                continue
            if not node.children:
                raise GameTreeError(f"node {where}: a decision or chance node needs at least one action")
            labels = tuple(node.children)
            self.actions.append(labels)
            self.children.append([-1] * len(labels))
            if node.player == CHANCE:
                if node.probs is None or len(node.probs) != len(labels):
                    raise GameTreeError(f"chance node {where}: needs one probability per action ({len(labels)})")
                probs = tuple(as_fraction(p) for p in node.probs)
                if any(p < 0 for p in probs) or abs(float(sum(probs)) - 1.0) > 1e-9:
                    raise GameTreeError(f"chance node {where}: probabilities must be >= 0 and sum to 1; got {', '.join(map(str, probs))}")
                self.mover.append(CHANCE)
                self.chance_probs[k] = probs
                self.chance_labels[k] = node.infoset
                self.node_infoset.append(-1)
            else:
                player = int(node.player)
                if player < 0:
                    raise GameTreeError(f"node {where}: player index {player} is negative")
                self.mover.append(player)
                key = (player, node.infoset if node.infoset is not None else ("node", history))
                if key not in keys:
                    keys[key] = len(members)
                    members.append([])
                self.node_infoset.append(keys[key])
                members[keys[key]].append(k)
            # reversed, so the first action is visited first (pre-order)
            for a in reversed(range(len(labels))):
                stack.append((node.children[labels[a]], k, a, history + (labels[a],)))

        if n_players is None:
            raise GameTreeError("the tree has no terminal node")
        top = max((m for m in self.mover if m >= 0), default=-1)
        if top >= n_players:
            raise GameTreeError(f"player index {top} moves but payoff vectors have {n_players} entries")
        self.n_players = n_players
        self.players = list(players) if players is not None else [f"player {i + 1}" for i in range(n_players)]
        if len(self.players) != n_players:
            raise GameTreeError(f"{len(self.players)} player names for a game with {n_players} players")
        self.n_nodes = len(self.mover)
        self._index_infosets(keys, members, require_perfect_recall)
        self._index_leaves()

    # ------------------------------------------------------------------ indexing

    def _index_infosets(self, keys, members, require_perfect_recall: bool) -> None:
        labels = {index: key[1] for key, index in keys.items()}
        own_seq: list[dict[int, tuple[int, int] | None]] = [dict() for _ in range(self.n_players)]
        # own_seq[i][node] = (infoset, action) of i's last move above node (None = empty)
        last = [None] * self.n_players
        self.perfect_recall = True
        self._recall_problem = ""
        path_stack: list[tuple[int, list]] = [(0, [None] * self.n_players)]
        node_own: list[list] = [None] * self.n_nodes  # type: ignore[list-item]
        while path_stack:
            k, last = path_stack.pop()
            node_own[k] = last
            m = self.mover[k]
            for a, child in enumerate(self.children[k]):
                nxt = last
                if m >= 0:
                    nxt = list(last)
                    nxt[m] = (self.node_infoset[k], a)
                path_stack.append((child, nxt))
        self.infosets: list[Infoset] = []
        self.player_infosets: list[list[int]] = [[] for _ in range(self.n_players)]
        n_slots = 0
        player_slots = [0] * self.n_players
        parent_sets: list[tuple[int, int] | None] = []
        for index, nodes in enumerate(members):
            first = nodes[0]
            player = self.mover[first]
            acts = self.actions[first]
            where = lambda k: "/".join(self.histories[k]) or "(root)"  # noqa: E731
            for k in nodes[1:]:
                if self.actions[k] != acts:
                    raise GameTreeError(
                        f"information set {labels[index]!r} of {self.players[player]}: node {where(k)} has actions "
                        f"{', '.join(self.actions[k])} but node {where(first)} has {', '.join(acts)}", self.histories[k])
                if node_own[k][player] != node_own[first][player] and self.perfect_recall:
                    self.perfect_recall = False
                    self._recall_problem = (
                        f"imperfect recall: {self.players[player]} reaches nodes {where(first)} and {where(k)} of information set "
                        f"{labels[index]!r} after different own moves")
                    self._recall_history = self.histories[k]
            parent_sets.append(node_own[first][player])
            self.player_infosets[player].append(index)
            self.infosets.append(Infoset(index, player, labels[index], acts, tuple(nodes), n_slots,
                                         1 + player_slots[player], -1))
            n_slots += len(acts)
            player_slots[player] += len(acts)
        if require_perfect_recall and not self.perfect_recall:
            raise GameTreeError(self._recall_problem, self._recall_history)
        # the parent sequence of each set: the sequence (J, b) of the player's last move above it
        for index, parent in enumerate(parent_sets):
            seq = 0 if parent is None else self.infosets[parent[0]].first_sequence + parent[1]
            info = self.infosets[index]
            self.infosets[index] = Infoset(info.index, info.player, info.label, info.actions, info.nodes,
                                           info.offset, info.first_sequence, seq)
        self.n_slots = n_slots
        self.n_sequences = [1 + s for s in player_slots]
        self.slot_infoset = np.repeat(np.arange(len(self.infosets)), [len(i.actions) for i in self.infosets]).astype(int)
        self.slot_player = np.array([self.infosets[i].player for i in self.slot_infoset], dtype=int)
        self.slot_sequence = np.array([self.infosets[i].first_sequence + (s - self.infosets[i].offset)
                                       for s, i in enumerate(self.slot_infoset)], dtype=int)
        self._node_own = node_own

    def _index_leaves(self) -> None:
        leaves = [k for k in range(self.n_nodes) if self.mover[k] == TERMINAL]
        self.leaves = np.array(leaves, dtype=int)
        seq = np.zeros((len(leaves), self.n_players), dtype=int)
        chance_exact: list[Fraction] = []
        for row, z in enumerate(leaves):
            own = self._node_own[z]
            for i in range(self.n_players):
                if own[i] is not None:
                    seq[row, i] = self.infosets[own[i][0]].first_sequence + own[i][1]
            p, k = Fraction(1), z
            while self.parent[k] >= 0:
                parent = self.parent[k]
                if self.mover[parent] == CHANCE:
                    p *= self.chance_probs[parent][self.action_index[k]]
                k = parent
            chance_exact.append(p)
        self.leaf_sequence = seq
        self.leaf_chance_exact = np.array(chance_exact, dtype=object)
        self.leaf_chance = self.leaf_chance_exact.astype(float)
        self.leaf_payoff_exact = np.array([self.payoffs_exact[z] for z in leaves], dtype=object).reshape(len(leaves), self.n_players)
        self.leaf_payoff = self.leaf_payoff_exact.astype(float)

    # ------------------------------------------------------------------ views

    def infoset_of(self, player: int, label: Hashable) -> Infoset:
        """The information set of ``player`` labelled ``label``."""
        for index in self.player_infosets[player]:
            if self.infosets[index].label == label:
                return self.infosets[index]
        raise KeyError(f"{self.players[player]} has no information set {label!r}")

    @property
    def is_perfect_information(self) -> bool:
        return all(len(i.nodes) == 1 for i in self.infosets)

    def is_zero_sum(self, tol: float = 1e-12) -> bool:
        """Constant-sum payoffs at every terminal (same constant everywhere)."""
        totals = self.leaf_payoff.sum(axis=1)
        return bool(np.all(np.abs(totals - totals[0]) <= tol * (1 + np.abs(totals[0]))))


# --------------------------------------------------------------------------- strategies


def uniform_behaviour(game: ExtensiveGame, exact: bool = False) -> np.ndarray:
    """Every information set plays each of its actions with equal probability (``exact``: Fractions)."""
    if exact:
        return np.array([Fraction(1, len(game.infosets[i].actions)) for i in game.slot_infoset], dtype=object)
    sizes = np.array([len(i.actions) for i in game.infosets], dtype=float)
    return 1.0 / sizes[game.slot_infoset]


def behaviour_from_dict(game: ExtensiveGame, table: Mapping[int, Mapping[Hashable, Sequence[Number]]],
                        exact: bool = False) -> np.ndarray:
    """A flat behaviour vector from ``{player: {infoset label: [p(a) for a in actions]}}`` (others uniform).

    ``exact``: an object array of Fractions (probabilities may be fraction strings).
    """
    b = uniform_behaviour(game, exact)
    for player, sets in table.items():
        for label, probs in sets.items():
            info = game.infoset_of(player, label)
            b[info.offset:info.offset + len(info.actions)] = [as_fraction(p) if exact else float(as_fraction(p)) for p in probs]
    return b


def behaviour_table(game: ExtensiveGame, behaviour: np.ndarray) -> list[dict[Hashable, dict[str, float]]]:
    """Per player, ``{infoset label: {action: probability}}``."""
    out: list[dict] = [dict() for _ in range(game.n_players)]
    for info in game.infosets:
        out[info.player][info.label] = {a: behaviour[info.offset + j] for j, a in enumerate(info.actions)}
    return out


def realization_plan(game: ExtensiveGame, behaviour: np.ndarray, player: int) -> np.ndarray:
    """``r_i(s)`` for every sequence ``s`` of ``player``: the product of its own action probabilities.

    Works on float arrays and on object arrays of Fractions (exact).
    """
    plan = np.zeros(game.n_sequences[player], dtype=behaviour.dtype)
    plan[0] = 1
    for index in game.player_infosets[player]:  # parents before children (pre-order numbering)
        info = game.infosets[index]
        n = len(info.actions)
        plan[info.first_sequence:info.first_sequence + n] = plan[info.parent_sequence] * behaviour[info.offset:info.offset + n]
    return plan


def behaviour_from_plans(game: ExtensiveGame, plans: Sequence[np.ndarray], exact: bool = False) -> np.ndarray:
    """Behaviour ``beta(a | I) = r(Ia) / sum_b r(Ib)``; uniform where the set is never reached by its player.

    Normalising by the sum (not by ``r(parent)``) also turns a plan that
    satisfies the constraints only as inequalities into a proper one.
    """
    b = np.empty(game.n_slots, dtype=object if exact else float)
    for info in game.infosets:
        n = len(info.actions)
        block = plans[info.player][info.first_sequence:info.first_sequence + n]
        total = sum(block)
        if total > 0:
            b[info.offset:info.offset + n] = [v / total for v in block]
        else:
            b[info.offset:info.offset + n] = [Fraction(1, n) if exact else 1.0 / n] * n
    return b


def _leaf_arrays(game: ExtensiveGame, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    if exact:
        return game.leaf_chance_exact, game.leaf_payoff_exact
    return game.leaf_chance, game.leaf_payoff


def expected_payoffs(game: ExtensiveGame, behaviour: np.ndarray, exact: bool = False) -> np.ndarray:
    """``U(beta) = sum_z p_chance(z) prod_i r_i(seq_i(z)) u(z)`` for every player."""
    if exact:
        behaviour = np.array([as_fraction(v) for v in behaviour], dtype=object)
    chance_p, pay = _leaf_arrays(game, exact)
    reach = chance_p.copy()
    for i in range(game.n_players):
        reach = reach * realization_plan(game, behaviour, i)[game.leaf_sequence[:, i]]
    return (reach[:, None] * pay).sum(axis=0)


def sequence_payoffs(game: ExtensiveGame, behaviour: np.ndarray, player: int, exact: bool = False) -> np.ndarray:
    """``g_i(s)``: the payoff to ``player`` at terminals with own sequence ``s``, times chance and the others' reach."""
    chance_p, pay = _leaf_arrays(game, exact)
    reach = chance_p.copy()
    for j in range(game.n_players):
        if j != player:
            reach = reach * realization_plan(game, behaviour, j)[game.leaf_sequence[:, j]]
    g = np.zeros(game.n_sequences[player], dtype=object if exact else float)
    if exact:
        g[:] = Fraction(0)
        for s, v in zip(game.leaf_sequence[:, player], reach * pay[:, player]):
            g[s] += v
    else:
        np.add.at(g, game.leaf_sequence[:, player], reach * pay[:, player])
    return g


@dataclass(frozen=True)
class BestResponse:
    """A pure best response: its value to the player and the full behaviour profile with it substituted."""

    player: int
    value: float | Fraction
    behaviour: np.ndarray


def best_response(game: ExtensiveGame, behaviour: np.ndarray, player: int, exact: bool = False) -> BestResponse:
    """A pure behaviour best response of ``player`` to the others' ``behaviour`` (bottom-up on its sequences)."""
    if exact:
        behaviour = np.array([as_fraction(v) for v in behaviour], dtype=object)
    g = sequence_payoffs(game, behaviour, player, exact)
    value = g.copy()  # value[s] = g(s) + sum of V(I') over sets following s
    out = behaviour.copy()
    for index in reversed(game.player_infosets[player]):  # children before parents
        info = game.infosets[index]
        n = len(info.actions)
        block = value[info.first_sequence:info.first_sequence + n]
        best = int(np.argmax(np.array(block, dtype=float))) if not exact else max(range(n), key=lambda a: block[a])
        value[info.parent_sequence] += block[best]
        pure = np.zeros(n, dtype=out.dtype)
        pure[:] = 0
        pure[best] = 1
        out[info.offset:info.offset + n] = pure
    return BestResponse(player, value[0], out)


def nash_conv(game: ExtensiveGame, behaviour: np.ndarray, exact: bool = False) -> float | Fraction:
    """``sum_i (max over beta_i' of U_i(beta_i', beta_-i) - U_i(beta))``: 0 exactly at a Nash equilibrium."""
    u = expected_payoffs(game, behaviour, exact)
    return sum(best_response(game, behaviour, i, exact).value - u[i] for i in range(game.n_players))


def exploitability(game: ExtensiveGame, behaviour: np.ndarray) -> float:
    """``nash_conv / n_players`` (OpenSpiel's ``exploitability``)."""
    return float(nash_conv(game, behaviour)) / game.n_players


def from_perfect_information(tree, players: Sequence[str] | None = None) -> ExtensiveGame:
    """Convert a :class:`mechanisms.extensive_form.Node` tree (perfect information) into an :class:`ExtensiveGame`."""

    def convert(node) -> Node:
        if node.player is None:
            return Node(None, {}, None, None, [as_fraction(float(v)) for v in np.atleast_1d(node.payoffs)], node.name)
        return Node(node.player, {a: convert(c) for a, c in node.children.items()}, None, None, None, node.name)

    return ExtensiveGame(convert(tree), players)


def pure_strategies(game: ExtensiveGame, player: int) -> list[tuple[int, ...]]:
    """Every pure strategy of ``player``: one action index per own information set (in ``player_infosets`` order)."""
    sets = game.player_infosets[player]
    out: list[tuple[int, ...]] = [()]
    for index in sets:
        out = [s + (a,) for s in out for a in range(len(game.infosets[index].actions))]
    return out


def strategic_form(game: ExtensiveGame, max_cells: int = 1_000_000) -> tuple[np.ndarray, list[list[tuple[int, ...]]]]:
    """The (unreduced) strategic form: ``u[i, s_1, ..., s_n]`` over pure strategies, and the strategies.

    ``u_i(s) = sum_z p_chance(z) u_i(z) prod_j r_{s_j}(seq_j(z))``, where ``r_s`` is the 0/1
    realization plan of pure strategy ``s``; one ``einsum`` over the terminals. Raises
    ``ValueError`` when the table would have more than ``max_cells`` cells (it grows
    exponentially in the number of information sets).
    """
    counts = [int(np.prod([len(game.infosets[i].actions) for i in sets], dtype=float)) for sets in game.player_infosets]
    if float(np.prod(counts, dtype=float)) * game.n_players > max_cells:
        raise ValueError(f"the strategic form would have {' x '.join(map(str, counts))} pure profiles; "
                         f"more than {max_cells} cells (use the extensive-form methods)")
    strategies = [pure_strategies(game, i) for i in range(game.n_players)]
    weights = []  # per player: strategies x terminals, 1 where the strategy plays the terminal's own sequence
    for i, strats in enumerate(strategies):
        plans = np.zeros((len(strats), game.n_sequences[i]))
        for row, s in enumerate(strats):
            behaviour = np.zeros(game.n_slots)
            for index, a in zip(game.player_infosets[i], s):
                behaviour[game.infosets[index].offset + a] = 1.0
            plans[row] = realization_plan(game, behaviour, i)
        weights.append(plans[:, game.leaf_sequence[:, i]])
    letters = "abcdefghijklmnopqrstuvwxy"[:game.n_players]
    spec = ",".join(f"{c}z" for c in letters) + ",zp->p" + letters
    u = np.einsum(spec, *weights, game.leaf_chance[:, None] * game.leaf_payoff)
    return u, strategies

"""Finite perfect-information extensive-form games: backward induction and SPNE.

Model (Osborne & Rubinstein 1994, *A Course in Game Theory*, ch. 6; Kuhn 1953).
A finite game of perfect information is a rooted tree. Each non-terminal node
``h`` belongs to one player ``P(h)`` who picks an action ``a in A(h)``; each
terminal node ``z`` carries a payoff vector ``u(z) in R^n``. A strategy
profile is a subgame-perfect Nash equilibrium (SPNE) iff it induces a Nash
equilibrium in every subgame; by Kuhn's theorem (O&R Prop. 99.2) the SPNE are
exactly the profiles obtained by *backward induction*::

    v(z) = u(z)                                   (terminal)
    a*(h) in argmax_{a in A(h)} v_{P(h)}(h.a)     (decision node)
    v(h) = v(h.a*(h))

When the argmax has several elements (a *tie*) each choice gives a different
SPNE. ``backward_induction`` picks one by a declared rule and reports whether
ties occurred; ``all_spne`` enumerates every SPNE (bounded by ``limit``).

Two ways to describe a game:

* an explicit tree of :class:`Node` objects (``player=None`` marks a terminal);
* a compact *sequential-move spec* — ``player_of(state)``, ``actions(state)``,
  ``step(state, action)``, ``payoffs(state)`` on hashable states —
  solved by :func:`solve_sequential` with memoisation on the state, i.e.
  dynamic programming over states rather than over histories. This is how a
  sequential public goods game (MAC-SPGG, "Everyone Contributes!", Sec. 3:
  players move in order and observe predecessors' contributions) with ``n``
  players on a contribution grid is solved: the state is the tuple of
  contributions so far (or any sufficient statistic of it).

Tie-break rules (``tie_break=``), applied among the actions whose value to the
mover is within ``tol * (1 + |best|)`` of the best:

* ``"first"`` — the tied action with the lowest index in ``A(h)`` (the order of
  ``children`` / of ``actions(state)``);
* ``"last"`` — the tied action with the highest index;
* ``"welfare"`` — the tied action whose continuation gives the highest total
  payoff ``sum_i v_i``; remaining ties go to the lowest index.

Everything here is pure: numpy arrays in, numpy arrays out, no simulator imports.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping, Sequence

import numpy as np

TIE_BREAKS = ("first", "last", "welfare")


class TooManyEquilibria(ValueError):
    """``all_spne`` found more subgame-perfect equilibria than its ``limit``."""


@dataclass
class Node:
    """A node of a perfect-information game tree.

    ``player`` is the index of the player who moves here, or ``None`` for a
    terminal node, whose ``payoffs`` (one number per player) must be given.
    ``children`` maps action labels to subtrees, in the order used by the
    ``"first"`` / ``"last"`` tie-break rules. ``name`` is an optional label.
    """

    player: int | None = None
    payoffs: Sequence[float] | np.ndarray | None = None
    children: dict[str, "Node"] = field(default_factory=dict)
    name: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.player is None


def terminal(*payoffs: float, name: str | None = None) -> Node:
    """Shorthand for a terminal node: ``terminal(3, 1)``."""
    return Node(None, np.asarray(payoffs, dtype=float), {}, name)


def decision(player: int, children: Mapping[str, Node], name: str | None = None) -> Node:
    """Shorthand for a decision node of ``player``."""
    return Node(player, None, dict(children), name)


@dataclass(frozen=True)
class SPNE:
    """A subgame-perfect equilibrium of a perfect-information game.

    Attributes
    ----------
    strategy:
        The decision at every decision node: for a tree, keyed by the node's
        history (the tuple of action labels from the root, ``()`` = root); for
        a sequential spec, keyed by state. Covers every subgame, on and off
        the equilibrium path.
    path:
        The actions played along the equilibrium path, from the root.
    payoffs:
        The equilibrium payoff vector, ``np.ndarray`` of shape ``(n_players,)``.
    unique:
        ``True`` iff no decision *on the equilibrium path* had a tie, i.e. the
        path and payoffs do not depend on the tie-break rule. (Ties off the
        path may still yield other SPNE strategies with the same outcome;
        see ``ties_anywhere``.)
    ties_anywhere:
        ``True`` iff some decision node anywhere had a tie (then the SPNE
        *strategy profile* is not unique even if the outcome is).
    tie_break:
        The rule used (``"first"``, ``"last"`` or ``"welfare"``).
    states:
        The states (sequential spec) or histories (tree) visited along the
        path, starting at the root / initial state, ending at the terminal.
    tied:
        The nodes / states at which a tie occurred.
    """

    strategy: dict[Any, Any]
    path: list[Any]
    payoffs: np.ndarray
    unique: bool
    ties_anywhere: bool
    tie_break: str = "first"
    states: list[Any] = field(default_factory=list)
    tied: frozenset = frozenset()

    @property
    def on_path_ties(self) -> list[Any]:
        """States / histories on the equilibrium path where the mover was indifferent."""
        return [s for s in self.states if s in self.tied]


# --------------------------------------------------------------------------- choice rule


def _choose(values: np.ndarray, player: int, tie_break: str, tol: float) -> tuple[int, bool]:
    """Index of the chosen action among the rows of ``values`` (actions x players), and whether it was a tie."""
    own = values[:, player]
    best = own.max()
    tied = np.flatnonzero(own >= best - tol * (1.0 + abs(best)))
    if len(tied) == 1:
        return int(tied[0]), False
    if tie_break == "first":
        return int(tied[0]), True
    if tie_break == "last":
        return int(tied[-1]), True
    totals = values[tied].sum(axis=1)
    top = totals.max()
    return int(tied[np.flatnonzero(totals >= top - tol * (1.0 + abs(top)))[0]]), True


def _check_rule(tie_break: str) -> None:
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"unknown tie_break {tie_break!r}; allowed: {', '.join(TIE_BREAKS)}")


# --------------------------------------------------------------------------- explicit trees


def validate_tree(tree: Node) -> int:
    """Check a tree and return its number of players.

    Every terminal needs a payoff vector, all of the same length ``n``; every
    decision node needs at least one child and a player index in ``[0, n)``.
    Iterative (no recursion limit on deep trees).
    """
    n_players: int | None = None
    stack: list[tuple[Node, tuple]] = [(tree, ())]
    movers: list[tuple[int, tuple]] = []
    while stack:
        node, history = stack.pop()
        if node.player is None:
            if node.payoffs is None:
                raise ValueError(f"terminal node at history {history} has no payoffs")
            length = len(np.atleast_1d(np.asarray(node.payoffs, dtype=float)))
            if n_players is None:
                n_players = length
            elif length != n_players:
                raise ValueError(f"terminal at history {history} has {length} payoffs; others have {n_players}")
        else:
            if not node.children:
                raise ValueError(f"decision node at history {history} (player {node.player}) has no children")
            movers.append((node.player, history))
            stack.extend((child, history + (action,)) for action, child in node.children.items())
    assert n_players is not None
    for player, history in movers:
        if not 0 <= player < n_players:
            raise ValueError(f"node at history {history} is moved by player {player}; payoff vectors have {n_players} entries")
    return n_players


def _post_order(tree: Node) -> Iterator[tuple[Node, tuple]]:
    """``(node, history)`` pairs, children before their parent (iterative: deep trees are fine)."""
    stack: list[tuple[Node, tuple, bool]] = [(tree, (), False)]
    while stack:
        node, history, expanded = stack.pop()
        if node.player is None or expanded:
            yield node, history
        else:
            stack.append((node, history, True))
            stack.extend((child, history + (action,), False) for action, child in node.children.items())


def _follow(tree: Node, strategy: Mapping[tuple, str]) -> tuple[list[str], list[tuple]]:
    """The equilibrium path: the actions taken from the root, and every history visited."""
    path, histories, node, history = [], [()], tree, ()
    while node.player is not None:
        action = strategy[history]
        path.append(action)
        node, history = node.children[action], history + (action,)
        histories.append(history)
    return path, histories


def backward_induction(tree: Node, tie_break: str = "first", tol: float = 1e-12) -> SPNE:
    """The SPNE of a perfect-information tree found by backward induction (Kuhn 1953).

    Parameters
    ----------
    tree:
        The root :class:`Node`.
    tie_break:
        ``"first"`` (lowest action index), ``"last"`` (highest) or
        ``"welfare"`` (highest total payoff, then lowest index); see the module
        docstring.
    tol:
        Values within ``tol * (1 + |best|)`` of the mover's best count as tied.

    Returns
    -------
    SPNE
        ``strategy`` keyed by history tuples (``()`` is the root).
    """
    _check_rule(tie_break)
    validate_tree(tree)
    value: dict[tuple, np.ndarray] = {}
    strategy: dict[tuple, str] = {}
    tied: set[tuple] = set()
    for node, history in _post_order(tree):
        if node.player is None:
            value[history] = np.atleast_1d(np.asarray(node.payoffs, dtype=float))
            continue
        labels = list(node.children)
        values = np.stack([value[history + (a,)] for a in labels])
        index, tie = _choose(values, node.player, tie_break, tol)
        strategy[history] = labels[index]
        value[history] = values[index]
        if tie:
            tied.add(history)
    path, histories = _follow(tree, strategy)
    return SPNE(
        strategy=strategy, path=path, payoffs=value[()], unique=not any(h in tied for h in histories),
        ties_anywhere=bool(tied), tie_break=tie_break, states=histories, tied=frozenset(tied),
    )


def all_spne(tree: Node, tol: float = 1e-12, limit: int = 10_000) -> list[SPNE]:
    """Every pure SPNE of a perfect-information tree.

    Recursively, the SPNE of the subgame at ``h`` are: for every combination of
    SPNE of the children's subgames, every action that is a best reply for
    ``P(h)`` given the children's resulting values. With no ties anywhere
    there is exactly one. The count is the product of choices over subgames,
    so it can explode: more than ``limit`` raises :class:`TooManyEquilibria`.

    Each returned :class:`SPNE` has ``unique=False`` and ``ties_anywhere=True``
    when more than one exists; ``tie_break`` is ``"all"``.
    """
    validate_tree(tree)
    # Per history: list of (strategy dict, value) pairs.
    sols: dict[tuple, list[tuple[dict, np.ndarray]]] = {}
    for node, history in _post_order(tree):
        if node.player is None:
            sols[history] = [({}, np.atleast_1d(np.asarray(node.payoffs, dtype=float)))]
            continue
        labels = list(node.children)
        out: list[tuple[dict, np.ndarray]] = []
        for combo in itertools.product(*(sols.pop(history + (a,)) for a in labels)):
            values = np.stack([v for _, v in combo])
            own = values[:, node.player]
            best = own.max()
            merged: dict = {}
            for strat, _ in combo:
                merged.update(strat)
            for index in np.flatnonzero(own >= best - tol * (1.0 + abs(best))):
                out.append(({**merged, history: labels[index]}, values[index]))
                if len(out) > limit:
                    raise TooManyEquilibria(f"more than {limit} subgame-perfect equilibria; raise limit= to enumerate them")
        sols[history] = out
    results = []
    many = len(sols[()]) > 1
    for strategy, payoffs in sols[()]:
        path, histories = _follow(tree, strategy)
        results.append(SPNE(strategy, path, payoffs, not many, many, "all", histories))
    return results


# --------------------------------------------------------------------------- compact sequential spec


def solve_sequential(
    initial_state: Hashable,
    player_of: Callable[[Any], int | None],
    actions: Callable[[Any], Sequence[Any]],
    step: Callable[[Any, Any], Hashable],
    payoffs: Callable[[Any], Iterable[float]],
    tie_break: str = "first",
    tol: float = 1e-12,
    max_states: int = 5_000_000,
) -> SPNE:
    """Backward induction on a sequential-move game given by a state machine.

    The game is ``player_of(s)`` (the mover at state ``s``, ``None`` at a
    terminal), ``actions(s)`` (the mover's actions, in tie-break order),
    ``step(s, a)`` (the next state, hashable) and ``payoffs(s)`` (the payoff
    vector at a terminal). The value ``v(s)`` is memoised on the state, so
    histories that lead to the same state are solved once: the cost is
    ``O(#states x #actions)`` rather than exponential in the depth. This is
    correct whenever the state is a sufficient statistic for the continuation
    game (the same future movers, actions and payoffs), which is what
    "state" means here.

    Returns
    -------
    SPNE
        ``strategy`` maps each reachable decision state to the chosen action,
        ``path`` the equilibrium actions, ``states`` the states along the path.

    Raises
    ------
    ValueError
        If a decision state has no actions, the tie-break rule is unknown, more
        than ``max_states`` states are reachable, or the state graph has a
        cycle (the game would not be finite).
    """
    _check_rule(tie_break)
    value: dict[Hashable, np.ndarray] = {}
    strategy: dict[Hashable, Any] = {}
    tied: set[Hashable] = set()
    on_stack: set[Hashable] = set()
    # Iterative DFS: frames are (state, mover, action list, successors).
    stack: list[tuple[Hashable, int | None, list, list]] = []

    def push(state: Hashable) -> None:
        mover = player_of(state)
        if mover is None:
            value[state] = np.atleast_1d(np.asarray(payoffs(state), dtype=float))
            return
        acts = list(actions(state))
        if not acts:
            raise ValueError(f"state {state!r} has mover {mover} but no actions")
        on_stack.add(state)
        stack.append((state, mover, acts, [step(state, a) for a in acts]))
        if len(value) + len(stack) > max_states:
            raise ValueError(f"more than {max_states} states reachable; raise max_states= or coarsen the state")

    push(initial_state)
    while stack:
        state, mover, acts, nexts = stack[-1]
        pending = next((s for s in nexts if s not in value), None)
        if pending is not None:
            if pending in on_stack:
                raise ValueError(f"state {pending!r} is reachable from itself: the game is not finite")
            push(pending)
            continue
        stack.pop()
        on_stack.discard(state)
        values = np.stack([value[s] for s in nexts])
        index, tie = _choose(values, mover, tie_break, tol)
        strategy[state] = acts[index]
        value[state] = values[index]
        if tie:
            tied.add(state)
    path, states, state = [], [initial_state], initial_state
    while state in strategy:
        action = strategy[state]
        path.append(action)
        state = step(state, action)
        states.append(state)
    return SPNE(
        strategy=strategy, path=path, payoffs=value[initial_state], unique=not any(s in tied for s in states),
        ties_anywhere=bool(tied), tie_break=tie_break, states=states, tied=frozenset(tied),
    )


def tree_from_sequential(
    initial_state: Hashable,
    player_of: Callable[[Any], int | None],
    actions: Callable[[Any], Sequence[Any]],
    step: Callable[[Any, Any], Hashable],
    payoffs: Callable[[Any], Iterable[float]],
    max_nodes: int = 200_000,
) -> Node:
    """Unfold a sequential spec into an explicit :class:`Node` tree (for ``all_spne`` or display).

    Action labels become ``str(action)``. Raises ``ValueError`` beyond ``max_nodes``.
    """
    count = 0

    def build(state: Hashable) -> Node:
        nonlocal count
        count += 1
        if count > max_nodes:
            raise ValueError(f"the tree has more than {max_nodes} nodes; use solve_sequential instead")
        mover = player_of(state)
        if mover is None:
            return Node(None, np.atleast_1d(np.asarray(payoffs(state), dtype=float)), {}, str(state))
        return Node(mover, None, {str(a): build(step(state, a)) for a in actions(state)}, str(state))

    return build(initial_state)


# --------------------------------------------------------------------------- textbook trees


def ultimatum_tree(pie: int = 10, min_offer: int = 0) -> Node:
    """The discrete ultimatum game (Güth, Schmittberger & Schwarze 1982).

    Player 0 offers ``k in {min_offer, ..., pie}`` units to player 1, who
    accepts (payoffs ``(pie - k, k)``) or rejects (``(0, 0)``). With integer
    offers the SPNE are: offer 0 and the responder accepts everything, or offer
    1 with the responder rejecting 0 (ties at offer 0); with ``"first"``
    tie-breaking and children ordered accept-then-reject the responder accepts.
    """
    return decision(
        0,
        {
            str(k): decision(1, {"accept": terminal(pie - k, k), "reject": terminal(0, 0)}, name=f"offer {k}")
            for k in range(min_offer, pie + 1)
        },
        name="proposer",
    )


def stackelberg_tree(A: np.ndarray, B: np.ndarray, row_labels: Sequence[str] | None = None,
                     col_labels: Sequence[str] | None = None) -> Node:
    """The sequential version of a bimatrix game: the row player (0) commits first, the column player (1) observes and replies.

    Backward induction on this tree gives the pure-commitment Stackelberg
    outcome (von Stackelberg 1934; Fudenberg & Tirole 1991, Sec. 3.1).
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    rows = list(row_labels) if row_labels is not None else [str(i) for i in range(A.shape[0])]
    cols = list(col_labels) if col_labels is not None else [str(j) for j in range(A.shape[1])]
    return decision(
        0,
        {rows[i]: decision(1, {cols[j]: terminal(A[i, j], B[i, j]) for j in range(A.shape[1])}) for i in range(A.shape[0])},
    )

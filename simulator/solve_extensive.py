"""``agora solve`` for extensive games with chance and information sets (Gambit .efg files).

Reads a .efg file (``mechanisms.efg_format``; errors as ``file:line:column``),
runs one of the extensive-form solvers and turns the answer into the
JSON-ready dicts ``agora solve --json`` prints:

* ``sequence-lp`` — two-player zero-sum: the sequence-form LP (von Stengel
  1996); the game value and maximin behaviour strategies;
* ``sequence-lcp`` — two-player general-sum: Lemke's algorithm on the
  sequence-form LCP (Koller, Megiddo & von Stengel 1996), exact rationals,
  each equilibrium verified by best responses;
* ``cfr`` — CFR+ (Tammelin 2014) for larger two-player zero-sum games, with
  the exploitability of the average strategy it returns;
* ``backward-induction`` / ``all-spne`` — perfect-information games without
  chance moves (``mechanisms.extensive_form``).

``auto`` picks ``sequence-lp`` for two-player zero-sum games, ``sequence-lcp``
for other two-player games and backward induction for chance-free
perfect-information games with more players. Every other ``agora solve``
method (``pure``, ``logit-limit``, ``support``, ...) is run by
``simulator.solve`` on the game's strategic form (:func:`strategic_form`),
which is how N-player games with information sets are solved.

Each equilibrium dict has ``payoffs``, ``exact.payoffs`` (fraction strings),
``behaviour`` (``{player: {infoset: {action: probability}}}``),
``exact.behaviour`` (fraction strings where rational), ``welfare`` and
``nash_conv`` (the sum of the players' gains from deviating: 0 at an exact
equilibrium).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mechanisms import cfr as cfr_mod
from mechanisms import efg_format
from mechanisms import extensive_form as ef
from mechanisms import game_tree as gt
from mechanisms import sequence_form as sf
from simulator.parsing import read_text
from simulator.scenario import Problem, ScenarioError

CFR_ITERATIONS = 2000
CFR_TARGET = 1e-6
LCP_STARTS = 32
MAX_SHOWN_INFOSETS = 40  # larger games print their payoffs only (the behaviour is in --json)
# Methods solve() runs on the tree itself; any other method of agora solve runs on the strategic form.
NATIVE_METHODS = ("auto", "sequence-lp", "sequence-lcp", "cfr", "backward-induction", "all-spne")

METHODS = {
    "sequence-lp": "extensive games (.efg), two-player zero-sum: sequence-form LP, game value and maximin behaviour strategies",
    "sequence-lcp": "extensive games (.efg), two players: Lemke on the sequence-form LCP, exact and verified equilibria",
    "cfr": f"extensive games (.efg), two-player zero-sum: CFR+ ({CFR_ITERATIONS} iterations at most), with exploitability",
}


def load_efg(path: str | Path) -> gt.ExtensiveGame:
    """Read a Gambit .efg file; raises ``ScenarioError`` (``file:line:column: message``) when it is bad."""
    text = read_text(Path(path))
    try:
        return efg_format.read_efg(text)
    except efg_format.EfgError as exc:
        raise ScenarioError([Problem(str(path), exc.line, exc.column, "", exc.message)]) from None


def _fraction_text(x: Any, max_denominator: int = 10_000, tol: float = 1e-9) -> str:
    if isinstance(x, (Fraction, int)):
        return str(Fraction(x))
    f = Fraction(float(x)).limit_denominator(max_denominator)
    return str(f) if abs(float(f) - float(x)) <= tol * max(1.0, abs(float(x))) else f"{float(x):.6g}"


def _equilibrium(game: gt.ExtensiveGame, behaviour: np.ndarray, payoffs: np.ndarray, conv: float, **extra: Any) -> dict[str, Any]:
    table = gt.behaviour_table(game, behaviour)
    names = [{label: efg_format.infoset_name(label) for label in sets} for sets in table]
    return {
        "payoffs": [float(v) for v in payoffs],
        "exact": {
            "payoffs": [_fraction_text(v) for v in payoffs],
            "behaviour": {game.players[i]: {names[i][label]: {a: _fraction_text(p) for a, p in probs.items()}
                                             for label, probs in sets.items()} for i, sets in enumerate(table)},
        },
        "behaviour": {game.players[i]: {names[i][label]: {a: float(p) for a, p in probs.items()} for label, probs in sets.items()}
                      for i, sets in enumerate(table)},
        "welfare": float(sum(float(v) for v in payoffs)),
        "nash_conv": float(conv),
        **extra,
    }


def _to_perfect_information(game: gt.ExtensiveGame) -> ef.Node:
    if not game.is_perfect_information or game.chance_probs:
        raise ValueError("backward induction needs perfect information and no chance moves; use sequence-lp, sequence-lcp or cfr")

    def build(k: int) -> ef.Node:
        if game.mover[k] == gt.TERMINAL:
            return ef.Node(None, np.array([float(v) for v in game.payoffs_exact[k]]), {}, game.names[k])
        return ef.Node(game.mover[k], None, {a: build(c) for a, c in zip(game.actions[k], game.children[k])}, game.names[k])

    return build(0)


def is_native(game: gt.ExtensiveGame, method: str) -> bool:
    """Whether :func:`solve` runs ``method`` on the tree (else the caller solves the strategic form).

    ``auto`` is native except for games with more than two players and imperfect information
    or chance, which have no tree method here: those go to the strategic form's ``auto``.
    """
    if method == "auto":
        return game.n_players == 2 or (game.is_perfect_information and not game.chance_probs)
    return method in NATIVE_METHODS


def solve(game: gt.ExtensiveGame, method: str = "auto") -> tuple[str, list[dict[str, Any]], list[str]]:
    """``(method used, equilibria, notes)``; raises ``ValueError`` for a method that does not fit the game."""
    two = game.n_players == 2
    if method == "auto":
        if two:
            method = "sequence-lp" if game.is_zero_sum() else "sequence-lcp"
        else:
            method = "backward-induction"
    notes: list[str] = []
    if method in ("backward-induction", "all-spne"):
        tree = _to_perfect_information(game)
        solutions = ef.all_spne(tree, limit=1000) if method == "all-spne" else [ef.backward_induction(tree)]
        out = [{"path": list(s.path), "payoffs": [float(v) for v in s.payoffs],
                "exact": {"payoffs": [_fraction_text(v) for v in s.payoffs]},
                "strategy": {"/".join(h) or "(root)": a for h, a in s.strategy.items()},
                "welfare": float(np.sum(s.payoffs)), "unique": bool(s.unique)} for s in solutions]
        return method, out, notes
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not an extensive-form method; allowed here: {', '.join(NATIVE_METHODS)}")
    if not two:
        raise ValueError(f"method {method!r} needs a two-player game; this one has {game.n_players} players")
    if method == "sequence-lp":
        s = sf.zero_sum_lp(game)
        notes.append(f"value of the game for {game.players[0]}: {_fraction_text(s.value)}")
        notes.append("sequence-form LP (von Stengel 1996): maximin behaviour strategies")
        return method, [_equilibrium(game, s.behaviour, s.payoffs, s.nash_conv, value=float(s.value))], notes
    if method == "sequence-lcp":
        result = sf.lcp_equilibria(game, exact=True, max_starts=LCP_STARTS)
        notes.append(f"Lemke paths on the sequence-form LCP from {result.starts} starts (exact rationals); "
                     "each equilibrium verified by best responses; the list may not be every equilibrium")
        notes += result.notes
        return method, [_equilibrium(game, e.behaviour, e.payoffs, e.nash_conv) for e in result.equilibria], notes
    r = cfr_mod.cfr_plus(game, iterations=CFR_ITERATIONS, target=CFR_TARGET)
    notes.append(f"CFR+ average strategy after {r.iterations} iterations: exploitability {r.exploitability:.3g} "
                 "(nash_conv / 2, in payoff units)")
    payoffs = gt.expected_payoffs(game, r.average)
    return method, [_equilibrium(game, r.average, payoffs, 2 * r.exploitability, exploitability=r.exploitability,
                                 iterations=r.iterations)], notes


def render(report: Any, console: Any) -> None:
    """Print a report of :func:`solve` (payoff table, then behaviour per information set for small games)."""
    from rich.table import Table

    game = report.game
    players = game.players
    if report.equilibria and "path" in report.equilibria[0]:
        table = Table("#", "path", *[f"payoff {p}" for p in players])
        for k, e in enumerate(report.equilibria, 1):
            table.add_row(str(k), " -> ".join(e["path"]), *e["exact"]["payoffs"])
        console.print(table)
    else:
        table = Table("#", *[f"payoff {p}" for p in players], "nash_conv")
        for k, e in enumerate(report.equilibria, 1):
            table.add_row(str(k), *e["exact"]["payoffs"], "0" if abs(e["nash_conv"]) < 1e-12 else f"{e['nash_conv']:.3g}")
        console.print(table)
        extensive = getattr(game, "extensive", None)
        small = extensive is not None and len(extensive.infosets) <= MAX_SHOWN_INFOSETS
        for k, e in enumerate(report.equilibria, 1):
            if not small:
                break
            detail = Table(f"equilibrium {k}: player", "information set", "behaviour")
            for player, sets in e["exact"]["behaviour"].items():
                for label, probs in sets.items():
                    detail.add_row(player, label, ", ".join(f"{a}: {p}" for a, p in probs.items() if p != "0"))
            console.print(detail)
        if not small and report.equilibria:
            console.print("behaviour strategies: use --json (too many information sets to print)", markup=False, highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)


# --------------------------------------------------------------------------- YAML trees with chance and information sets


def has_chance_or_infosets(tree: Any) -> bool:
    """Whether a YAML ``tree:`` (``simulator.solve.TreeNode``) uses ``chance:`` or ``infoset:`` anywhere."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if getattr(node, "chance", None) is not None or getattr(node, "infoset", None) is not None:
            return True
        stack.extend((node.children or {}).values())
    return False


def tree_game(tree: Any, players: list[str] | None, locate: Any) -> gt.ExtensiveGame:
    """A YAML ``tree:`` with chance nodes (``chance: {action: probability}`` + ``children``) and
    information sets (``infoset: label`` on decision nodes; nodes of one player with one label
    form one set) as an :class:`ExtensiveGame`; problems raise ``ScenarioError`` located in the file."""
    problems: list[Problem] = []
    lengths: set[int] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.payoffs is not None:
            lengths.add(len(node.payoffs))
        stack.extend((node.children or {}).values())
    n = len(players) if players else max(lengths, default=0)
    names = list(players) if players else [f"player {i}" for i in range(n)]

    def build(node: Any, loc: tuple) -> gt.Node:
        if node.payoffs is not None:
            if node.player is not None or node.children or node.chance is not None:
                problems.append(locate.problem(loc, "a terminal has payoffs only (no player, chance or children)"))
            if len(node.payoffs) != n:
                problems.append(locate.problem(loc + ("payoffs",), f"has {len(node.payoffs)} payoffs; the game has {n} players ({', '.join(names)})"))
            return gt.terminal(*[gt.as_fraction(v) for v in node.payoffs], name=node.name)
        children = node.children or {}
        if not children:
            problems.append(locate.problem(loc, "a chance or decision node needs at least one child in 'children' (a terminal needs 'payoffs')"))
            return gt.terminal(*[0] * n)
        kids = {a: build(c, loc + ("children", a)) for a, c in children.items()}
        if node.chance is not None:
            if node.player is not None or node.infoset is not None:
                problems.append(locate.problem(loc, "a chance node has 'chance' and 'children' only (no player or infoset)"))
            if set(node.chance) != set(children):
                problems.append(locate.problem(loc + ("chance",), f"needs one probability per child; children are {', '.join(children)}"))
                return gt.terminal(*[0] * n)
            try:
                probs = [gt.as_fraction(node.chance[a]) for a in children]
            except gt.GameTreeError as exc:
                problems.append(locate.problem(loc + ("chance",), str(exc)))
                return gt.terminal(*[0] * n)
            if any(p < 0 for p in probs) or sum(probs) != 1:
                problems.append(locate.problem(loc + ("chance",), f"probabilities must be >= 0 and sum to 1; they sum to {sum(probs)}"))
                return gt.terminal(*[0] * n)
            return gt.Node(gt.CHANCE, kids, probs=probs, name=node.name)
        player = node.player
        if isinstance(player, str) and player in names:
            index = names.index(player)
        elif isinstance(player, int) and 0 <= player < n:
            index = player
        elif isinstance(player, str) and player.isdigit() and int(player) < n:
            index = int(player)
        else:
            problems.append(locate.problem(loc + ("player",), f"unknown player {player!r}; allowed: {', '.join(names)} or 0..{n - 1}"))
            index = 0
        return gt.Node(index, kids, infoset=node.infoset, name=node.name)

    root = build(tree, ("tree",))
    if problems:
        raise ScenarioError(problems)
    try:
        return gt.ExtensiveGame(root, names)
    except gt.GameTreeError as exc:
        loc = ("tree",) + tuple(part for action in (exc.history or ()) for part in ("children", action))
        raise ScenarioError([locate.problem(loc, str(exc))]) from None


def strategic_form(game: gt.ExtensiveGame) -> tuple[np.ndarray, list[list[str]]]:
    """The game's strategic form for the normal-form methods: payoffs ``(n, |S_1|, ..., |S_n|)`` and strategy labels.

    A pure strategy's label lists its action at each information set, ``set=action`` joined by ``,``.
    """
    u, strategies = gt.strategic_form(game)
    labels = []
    for i, strats in enumerate(strategies):
        sets = [game.infosets[k] for k in game.player_infosets[i]]
        labels.append([",".join(f"{efg_format.infoset_name(info.label)}={info.actions[a]}" for info, a in zip(sets, s)) or "(no move)"
                       for s in strats])
    return u, labels

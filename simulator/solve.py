"""Game files for ``agora solve``: load, validate (file:line errors), solve, render.

A game file is YAML or JSON (JSON is read by the same YAML loader, so errors
carry line numbers either way) with exactly one of:

* a bimatrix game::

      name: battle_of_the_sexes
      players: [alice, bob]                  # optional
      actions: [[opera, football], [opera, football]]   # optional
      A: [[2, 0], [0, 1]]                    # row player's payoffs
      B: [[1, 0], [0, 2]]                    # column player's; omit for zero-sum (B = -A)

* an N-player table, nested lists whose leaves hold one payoff per player
  (the ``matrix_game`` world's format)::

      payoffs: [[[3, 3], [0, 5]], [[5, 0], [1, 1]]]

* a sequential (perfect-information) tree; a node is a terminal
  ``{payoffs: [...]}`` or a decision ``{player: <name or index>, children: {action: node, ...}}``::

      players: [entrant, incumbent]
      tree:
        player: entrant
        children:
          out: {payoffs: [0, 2]}
          in:
            player: incumbent
            children: {fight: {payoffs: [-1, -1]}, accommodate: {payoffs: [1, 1]}}

A file ending in ``.nfg`` is read as Gambit's strategic-form format instead
(``mechanisms.nfg_format``: payoff and outcome versions, ``file:line:column`` errors).
Other interchange formats register a reader in ``READERS`` (by file suffix).

Payoffs may be numbers or fraction strings (``"2/3"``). The solvers are in
``mechanisms/``; this module only reads files and formats answers, so the
CLI and the API can share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mechanisms import evolution
from mechanisms import extensive_form as ef
from mechanisms import logit as nlogit
from mechanisms import nash_refine
from mechanisms import nfg_format
from mechanisms import simpdiv
from mechanisms import normal_form as nf
from mechanisms import welfare
from simulator import solve_extensive
from simulator.parsing import Problem, ScenarioError, parse_document, read_text
from simulator.problems import Locator, describe_error

Number = Union[int, float, str]

METHODS = {
    "auto": "support enumeration (vertex enumeration if degenerate) for 2 players; pure equilibria for N "
            "(the logit limit if there is none); backward induction for trees",
    "support": "support enumeration: all equilibria of a nondegenerate bimatrix game",
    "vertex": "vertex enumeration: all extreme equilibria, degenerate games included",
    "lemke-howson": "Lemke–Howson from every label: the accessible equilibria",
    "pure": "pure-strategy equilibria (any number of players)",
    "zero-sum": "minimax value and optimal strategies (LP); uses A only",
    "correlated": "welfare-maximising correlated equilibrium (LP)",
    "logit": "logit quantal response equilibrium at --lam (any number of players; principal branch)",
    "logit-limit": "a Nash equilibrium as the limit of the principal logit branch (as Gambit's logit), any number of players",
    "simpdiv": "a Nash equilibrium by simplicial subdivision with restarts (Merrill's algorithm), any number of players",
    "replicator": "rest points of the replicator dynamics and their stability (one population if B = A^T, else two)",
    "backward-induction": "subgame-perfect equilibrium of a tree (ties: first action)",
    "all-spne": "every subgame-perfect equilibrium of a tree",
    **solve_extensive.METHODS,
}


# --------------------------------------------------------------------------- file format


def _fraction(value: Any) -> Fraction:
    """A validated payoff as an exact rational (decimals as written: 0.1 is 1/10)."""
    if isinstance(value, str):
        return Fraction(value.strip())
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(str(value))


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("payoffs must be numbers, not true/false")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError(f"{value!r} is not a number or fraction like '2/3'") from None
    else:
        raise ValueError(f"payoffs must be numbers, got {type(value).__name__}")
    if not math.isfinite(number):  # the parser refuses .nan/.inf; this guards games built in code
        raise ValueError(f"{value!r} is not a finite number; allowed: finite numbers")
    return number


class TreeNode(BaseModel):
    """A node of a sequential game: terminal (``payoffs``) or decision (``player`` + ``children``)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    player: int | str | None = Field(None, description="who moves here (name or 0-based index)")
    payoffs: list[Number] | None = Field(None, description="terminal payoffs, one per player")
    children: dict[str, "TreeNode"] | None = Field(None, description="action -> subtree, in tie-break order")
    chance: dict[str, Number] | None = Field(None, description="a chance node: action -> probability (with children)")
    infoset: str | None = Field(None, description="information set label: a player's nodes with one label are indistinguishable")

    @field_validator("payoffs")
    @classmethod
    def _numbers(cls, values: list[Number] | None) -> list[Number] | None:
        if values is not None:
            for v in values:
                _number(v)
        return values


class GameFile(BaseModel):
    """The schema of a game file (exactly one of ``A``, ``payoffs``, ``tree``)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    description: str = ""
    players: list[str] | None = Field(None, description="player names")
    actions: list[list[str]] | None = Field(None, description="action labels per player (normal form)")
    A: list[list[Number]] | None = Field(None, description="row player's payoff matrix")
    B: list[list[Number]] | None = Field(None, description="column player's payoff matrix (default: -A)")
    payoffs: list | None = Field(None, description="N-player table: nested lists, leaves = one payoff per player")
    tree: TreeNode | None = Field(None, description="a sequential game tree")


@dataclass
class Game:
    """A loaded game: normal form (``payoffs`` of shape ``(n, a_1, ..., a_n)``) or a tree."""

    name: str
    source: str
    players: list[str]
    kind: str  # "bimatrix", "table" or "tree"
    payoffs: np.ndarray | None = None
    actions: list[list[str]] = field(default_factory=list)
    tree: ef.Node | None = None
    zero_sum_default: bool = False
    exact: np.ndarray | None = None  # the payoffs as Fractions (object array, like payoffs), for exact equilibria
    extensive: Any = None  # kind "extensive": a mechanisms.game_tree.ExtensiveGame (chance, information sets; .efg)


def load_game(path: str | Path) -> Game:
    """Read and validate a game file; raises ``ScenarioError`` with file:line problems."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is not None:
        return reader(path)
    return load_game_text(read_text(path), str(path))  # the one parse path: regular UTF-8 files of bounded size


def load_game_text(text: str, source: str = "<game>") -> Game:
    data, positions = parse_document(text, source)
    locate = Locator(source, positions, set())
    if not isinstance(data, dict):
        raise ScenarioError([locate.problem((), "a game file must be a mapping with one of 'A' (+ 'B'), 'payoffs' or 'tree'")])
    try:
        spec = GameFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, locate)) from None
    given = [key for key in ("A", "payoffs", "tree") if getattr(spec, key) is not None]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise ScenarioError([locate.problem((given[1],) if len(given) > 1 else (), f"give exactly one of A (+ B), payoffs, tree; got {what}")])
    if spec.B is not None and spec.A is None:
        raise ScenarioError([locate.problem(("B",), "B needs A (the row player's payoffs)")])
    name = spec.name or (Path(source).stem if not source.startswith("<") else "game")
    if spec.tree is not None:
        return _load_tree(spec, name, source, locate)
    if spec.A is not None:
        u = _bimatrix(spec, locate)
        kind = "bimatrix"
    else:
        u = _table(spec, locate)
        kind = "table"
    n = u.shape[0]
    players = _players(spec, n, locate)
    if spec.actions is not None:
        if len(spec.actions) != n or any(len(a) != k for a, k in zip(spec.actions, u.shape[1:])):
            raise ScenarioError([locate.problem(("actions",), f"need {n} lists of action labels of lengths {list(u.shape[1:])}")])
        actions = [list(a) for a in spec.actions]
    else:
        actions = [[str(k) for k in range(size)] for size in u.shape[1:]]
    if kind == "bimatrix":
        fa = np.array([[_fraction(v) for v in row] for row in spec.A], dtype=object)
        fb = np.array([[_fraction(v) for v in row] for row in spec.B], dtype=object) if spec.B is not None else -fa
        exact = np.stack([fa, fb])
    else:
        exact = np.moveaxis(np.array(_fractions_nested(spec.payoffs), dtype=object), -1, 0)
    return Game(name, source, players, kind, payoffs=u, actions=actions,
                zero_sum_default=spec.A is not None and spec.B is None, exact=exact)


def load_nfg(path: str | Path) -> Game:
    """A Gambit .nfg file as a :class:`Game` (bimatrix for two players, table otherwise)."""
    try:
        nfg = nfg_format.read_nfg(path)
    except nfg_format.NfgFormatError as exc:
        raise ScenarioError([Problem(exc.source, exc.line, exc.column, "", exc.message)]) from None
    u = nfg.float_payoffs()
    kind = "bimatrix" if u.shape[0] == 2 else "table"
    return Game(nfg.title or Path(path).stem, str(path), list(nfg.players), kind, payoffs=u,
                actions=[list(s) for s in nfg.strategies], exact=nfg.payoffs)


# File suffix -> reader; anything else is YAML/JSON. (.efg is added by the extensive-form reader.)
READERS = {".nfg": load_nfg}


def load_efg(path: str | Path) -> Game:
    """A Gambit .efg file as a :class:`Game` of kind ``"extensive"`` (solved by ``simulator.solve_extensive``)."""
    game = solve_extensive.load_efg(path)
    return Game(game.title or Path(path).stem, str(path), list(game.players), "extensive", extensive=game)


READERS[".efg"] = load_efg


def _problems(exc: ValidationError, locate: Locator) -> list[Problem]:
    """Pydantic errors located in the file. Union member tags ("int", "list[...]", "TreeNode") are
    dropped from the field path; field names like ``A`` / ``B`` are kept."""
    tags = {"int", "float", "str", "bool", "TreeNode", "GameFile"}
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and (p in tags or "[" in p)))
        problems.append(locate.problem(loc, describe_error(error, GameFile, loc)))
    return problems


def _matrix(rows: list[list[Number]], key: str, locate: Locator) -> np.ndarray:
    if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        raise ScenarioError([locate.problem((key,), "must be a non-empty matrix: a list of rows of equal length")])
    problems, out = [], []
    for i, row in enumerate(rows):
        out.append([])
        for j, v in enumerate(row):
            try:
                out[-1].append(_number(v))
            except ValueError as exc:
                problems.append(locate.problem((key, i, j), str(exc)))
    if problems:
        raise ScenarioError(problems)
    return np.array(out)


def _bimatrix(spec: GameFile, locate: Locator) -> np.ndarray:
    A = _matrix(spec.A, "A", locate)
    B = _matrix(spec.B, "B", locate) if spec.B is not None else -A
    if A.shape != B.shape:
        raise ScenarioError([locate.problem(("B",), f"B has shape {B.shape[0]}x{B.shape[1]} but A has {A.shape[0]}x{A.shape[1]}")])
    return nf.stack(A, B)


def _table(spec: GameFile, locate: Locator) -> np.ndarray:
    try:
        nested = _numbers_nested(spec.payoffs)
    except ValueError as exc:
        raise ScenarioError([locate.problem(("payoffs",), str(exc))]) from None
    try:
        array = np.array(nested, dtype=float)
    except ValueError:
        raise ScenarioError([locate.problem(("payoffs",), "must be regular nested lists: every list at one level has the same length")]) from None
    if array.ndim < 2 or array.shape[-1] != array.ndim - 1:
        raise ScenarioError([locate.problem(
            ("payoffs",),
            f"an n-player table needs n nested levels of actions and leaves of n payoffs; got shape {list(array.shape)}",
        )])
    return np.moveaxis(array, -1, 0)


def _fractions_nested(value: Any) -> Any:
    if isinstance(value, list):
        return [_fractions_nested(v) for v in value]
    return _fraction(value)


def _numbers_nested(value: Any) -> Any:
    if isinstance(value, list):
        return [_numbers_nested(v) for v in value]
    return _number(value)


def _players(spec: GameFile, n: int, locate: Locator) -> list[str]:
    if spec.players is None:
        return [f"player {i}" for i in range(n)] if n > 2 else ["row", "col"][:n]
    if len(spec.players) != n:
        raise ScenarioError([locate.problem(("players",), f"the game has {n} players; {len(spec.players)} names given")])
    return list(spec.players)


def _load_tree(spec: GameFile, name: str, source: str, locate: Locator) -> Game:
    if solve_extensive.has_chance_or_infosets(spec.tree):  # imperfect information: solved like a .efg file
        game = solve_extensive.tree_game(spec.tree, spec.players, locate)
        return Game(name, source, list(game.players), "extensive", extensive=game)
    problems: list[Problem] = []
    lengths: set[int] = set()

    def scan(node: TreeNode, loc: tuple) -> None:
        if node.payoffs is not None:
            if node.player is not None or node.children:
                problems.append(locate.problem(loc, "a node has either payoffs (terminal) or player + children (decision), not both"))
            lengths.add(len(node.payoffs))
        elif node.player is None or not node.children:
            problems.append(locate.problem(loc, "a decision node needs 'player' and at least one child in 'children' (a terminal needs 'payoffs')"))
        for action, child in (node.children or {}).items():
            scan(child, loc + ("children", action))

    scan(spec.tree, ("tree",))
    if problems:
        raise ScenarioError(problems)
    n = spec.players and len(spec.players) or max(lengths)
    players = spec.players or [f"player {i}" for i in range(n)]

    def build(node: TreeNode, loc: tuple) -> ef.Node:
        if node.payoffs is not None:
            if len(node.payoffs) != n:
                problems.append(locate.problem(loc + ("payoffs",), f"has {len(node.payoffs)} payoffs; the game has {n} players ({', '.join(players)})"))
            return ef.Node(None, np.array([_number(v) for v in node.payoffs]), {}, node.name)
        player = node.player
        if isinstance(player, str):
            if player in players:
                index = players.index(player)
            elif player.isdigit() and int(player) < n:
                index = int(player)
            else:
                problems.append(locate.problem(loc + ("player",), f"unknown player {player!r}; allowed: {', '.join(players)} or 0..{n - 1}"))
                index = 0
        else:
            index = int(player)
            if not 0 <= index < n:
                problems.append(locate.problem(loc + ("player",), f"player index {index} is out of range 0..{n - 1}"))
                index = 0
        children = {a: build(c, loc + ("children", a)) for a, c in node.children.items()}
        return ef.Node(index, None, children, node.name)

    tree = build(spec.tree, ("tree",))
    if problems:
        raise ScenarioError(problems)
    return Game(name, source, list(players), "tree", tree=tree)


# --------------------------------------------------------------------------- solving


@dataclass
class SolveReport:
    """The answer: equilibria as JSON-ready dicts, plus game-level notes and welfare summary."""

    game: Game
    method: str
    equilibria: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def fraction_text(x: float, max_denominator: int = 1000, tol: float = 1e-9) -> str:
    """``"2/3"`` when ``x`` is within ``tol`` of a fraction with a small denominator, else ``"0.123457"``."""
    if not np.isfinite(x):
        return str(x)
    f = nf.to_fraction(x, max_denominator, tol * max(1.0, abs(x)))
    if f is None:
        return f"{x:.6g}"
    return str(f)


def solve_game(game: Game, method: str = "auto", lam: float = 1.0) -> SolveReport:
    """Run the requested solver; raises ``ValueError`` with a user-facing message on a bad combination."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if game.kind == "tree":
        return _solve_tree(game, method)
    if game.kind == "extensive" and solve_extensive.is_native(game.extensive, method):
        used, equilibria, notes = solve_extensive.solve(game.extensive, method)
        return SolveReport(game, used, equilibria, notes, {})
    if game.kind == "extensive":  # a normal-form method: solve the strategic form (pure strategies = one action per set)
        u, actions = solve_extensive.strategic_form(game.extensive)
        game = Game(game.name, game.source, game.players, "bimatrix" if u.shape[0] == 2 else "table", payoffs=u, actions=actions)
        report = solve_game(game, method, lam)
        report.notes.append("solved on the strategic form of the extensive game (one pure strategy per combination of actions)")
        return report
    if method in solve_extensive.METHODS:
        raise ValueError(f"method {method!r} is for extensive games (a .efg file)")
    u = game.payoffs
    n = u.shape[0]
    notes: list[str] = []
    if game.zero_sum_default:
        notes.append("B not given: zero-sum game, B = -A")
    auto = method == "auto"
    if auto:
        method = "support" if n == 2 else "pure"
    if method in ("backward-induction", "all-spne"):
        raise ValueError(f"method {method!r} needs a sequential game ('tree:' in the file)")
    if n != 2 and method not in N_PLAYER_METHODS:
        raise ValueError(f"method {method!r} needs a two-player game; this one has {n} players "
                         f"(use {', '.join(N_PLAYER_METHODS)})")
    if method == "replicator":
        return _solve_replicator(game)
    if method == "support":
        result = nf.support_enumeration(u[0], u[1], on_degenerate="ignore")
        if result.degenerate:
            notes.append("degenerate game: support enumeration is incomplete here, so vertex enumeration was used; "
                         "the extreme equilibria are listed and convex combinations within a maximal Nash subset are equilibria too")
            result = nf.vertex_enumeration(u[0], u[1])
            method = "vertex"
        results = list(result)
        notes += [x for x in result.notes if "degenerate" not in x]
    elif method == "vertex":
        result = nf.vertex_enumeration(u[0], u[1])
        results = list(result)
        notes += result.notes
    elif method == "lemke-howson":
        result = nf.lemke_howson_all(u[0], u[1])
        results = list(result)
        notes += result.notes
    elif method == "zero-sum":
        if not np.allclose(u[0] + u[1], (u[0] + u[1]).flat[0]):
            notes.append("the game is not constant-sum: solving the zero-sum game with the row player's payoffs A")
        value = nf.zero_sum_value(u[0])
        results = [nf.Equilibrium(e.strategies, nf.expected_payoffs(u, e.strategies)) for e in value]
        notes.append(f"value of the zero-sum game for the row player: {fraction_text(value.value)}")
    elif method == "correlated":
        results = list(nf.correlated_equilibrium(u))
        notes.append("correlated equilibrium maximising the sum of expected payoffs; 'joint' is the distribution over profiles")
    elif method == "logit":
        results = list(nf.logit_qre(u[0], u[1], lam) if n == 2 else nlogit.logit_qre_at(u, lam))
        notes.append(f"logit QRE at lambda = {lam:g} (principal branch)")
    elif method == "logit-limit":
        result = nlogit.logit_solve(u, game.exact)
        results = list(result)
        notes += result.notes
    elif method == "simpdiv":
        result = simpdiv.simpdiv(u, game.exact)
        results = list(result)
        notes += result.notes
    else:  # pure
        results = []
        for profile in nf.pure_equilibria(u):
            strategies = []
            for i, a in enumerate(profile):
                s = np.zeros(u.shape[1 + i])
                s[a] = 1.0
                strategies.append(s)
            results.append(nf.Equilibrium(tuple(strategies), u[(slice(None),) + profile]))
        if n == 2:
            notes.append("pure equilibria only; use --method support for mixed ones")
        elif auto and not results:
            notes.append("no pure equilibrium: a mixed one by the logit limit")
            result = nlogit.logit_solve(u, game.exact)
            results = list(result)
            notes += result.notes
            method = "logit-limit"
    equilibria = [_equilibrium_dict(game, e) for e in results]
    summary = _welfare_summary(u, [e.payoffs for e in results]) if results and method != "logit" else {}
    if not results:
        notes.append("no equilibrium of this kind")
    return SolveReport(game, method, equilibria, notes, summary)


def _labelled(values: np.ndarray, labels: list[str]) -> dict[str, str]:
    return {label: fraction_text(float(v)) for label, v in zip(labels, values) if abs(v) > 1e-12}


def _equilibrium_dict(game: Game, e: nf.Equilibrium) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if len(e.strategies) == 2:
        data["row"] = [float(v) for v in e.strategies[0]]
        data["col"] = [float(v) for v in e.strategies[1]]
    data["strategies"] = [[float(v) for v in s] for s in e.strategies]
    data["payoffs"] = [float(v) for v in e.payoffs]
    exact = None
    if game.exact is not None and e.joint is None and len(e.strategies) == 2:
        exact = nf.rational_equilibrium(game.exact[0], game.exact[1], e)
    profile = None
    if game.exact is not None and e.joint is None and len(e.strategies) != 2:
        profile = nash_refine.exact_profile(game.exact, e.strategies)
    if exact is not None:  # solved again in rational arithmetic on the supports
        x, y, pay = exact
        data["exact"] = {"strategies": [[str(v) for v in x], [str(v) for v in y]], "payoffs": [str(v) for v in pay],
                         "welfare": str(sum(pay))}
    elif profile is not None:  # rounded and confirmed an exact Nash equilibrium in rational arithmetic
        sigma = [np.array(s, dtype=object) for s in profile]
        pay = [sum(p * v for p, v in zip(s, values)) for s, values in zip(profile, nash_refine.action_values_exact(game.exact, sigma))]
        data["exact"] = {"strategies": [[str(v) for v in s] for s in profile], "payoffs": [str(v) for v in pay],
                         "welfare": str(sum(pay))}
    else:  # rounded to a small-denominator fraction when within tolerance, else decimals
        data["exact"] = {
            "strategies": [[fraction_text(float(v)) for v in s] for s in e.strategies],
            "payoffs": [fraction_text(float(v)) for v in e.payoffs],
        }
    data["support"] = [_labelled(s, labels) for s, labels in zip(e.strategies, game.actions)]
    data["welfare"] = float(np.sum(e.payoffs))
    if e.joint is not None:
        data["joint"] = e.joint.tolist()
    return data


N_PLAYER_METHODS = ("pure", "correlated", "logit", "logit-limit", "simpdiv")


def replicator_game(u: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(A, None)`` for a symmetric two-player game (``B = A^T``: one population), else ``(A, B)``."""
    A, B = u[0], u[1]
    if A.shape[0] == A.shape[1] and np.allclose(B, A.T):
        return A, None
    return A, B


def _solve_replicator(game: Game) -> SolveReport:
    A, B = replicator_game(game.payoffs)
    if B is None:
        points = evolution.rest_points(A)
        strategies = [(p.state, p.state) for p in points]
        notes = ["symmetric game (B = A^T): one-population replicator dynamics dx_i/dt = x_i((Ax)_i - x.Ax)"]
    else:
        m = A.shape[0]
        points = evolution.rest_points_bimatrix(A, B)
        strategies = [(p.state[:m], p.state[m:]) for p in points]
        notes = ["asymmetric game: two-population replicator dynamics"]
    notes.append("stability from the eigenvalues of the Jacobian on the simplex: stable (all real parts < 0), "
                 "unstable (some > 0), non-hyperbolic (max real part 0)")
    equilibria = []
    for point, (x, y) in zip(points, strategies):
        data = _equilibrium_dict(game, nf.Equilibrium((x, y), nf.expected_payoffs(game.payoffs, [x, y])))
        data.update({"stability": point.stability,
                     "eigenvalues": [[float(np.real(v)), float(np.imag(v))] for v in point.eigenvalues],
                     "nash": bool(nf.is_nash(game.payoffs, [x, y], 1e-9))})
        equilibria.append(data)
    return SolveReport(game, "replicator", equilibria, notes, {})


def _welfare_summary(u: np.ndarray, equilibrium_payoffs: list[np.ndarray]) -> dict[str, Any]:
    report = welfare.efficiency(equilibrium_payoffs, u)
    best, profile = welfare.optimum(u)
    report["optimal_profile"] = list(profile)
    if report["worst_equilibrium"] <= 0 or best <= 0:
        report["note"] = "price of anarchy / stability are only meaningful for positive welfare"
    return report


def _solve_tree(game: Game, method: str) -> SolveReport:
    if method not in ("auto", "backward-induction", "all-spne"):
        raise ValueError(f"method {method!r} is for normal-form games; a tree takes backward-induction or all-spne")
    notes = []
    if method == "all-spne":
        solutions = ef.all_spne(game.tree, limit=1000)
    else:
        first = ef.backward_induction(game.tree)
        solutions = [first]
        if first.ties_anywhere:
            notes.append("ties exist: ties broken by the first action; use --method all-spne to list every SPNE")
        else:
            notes.append("no ties: the subgame-perfect equilibrium is unique")
    equilibria = []
    for s in solutions:
        equilibria.append({
            "path": list(s.path),
            "payoffs": [float(v) for v in s.payoffs],
            "exact": {"payoffs": [fraction_text(float(v)) for v in s.payoffs]},
            "strategy": {"/".join(h) or "(root)": a for h, a in s.strategy.items()},
            "welfare": float(np.sum(s.payoffs)),
            "unique": bool(s.unique),
        })
    return SolveReport(game, "backward-induction" if method == "auto" else method, equilibria, notes, {})


# --------------------------------------------------------------------------- rendering


def report_json(report: SolveReport) -> list[dict[str, Any]]:
    """The machine-readable answer: one dict per equilibrium (``row``, ``col``, ``payoffs``, ...)."""
    return report.equilibria


def render(report: SolveReport, console: Any) -> None:
    """Print a report with rich tables: strategies and payoffs as fractions where rational."""
    from rich.table import Table

    game = report.game
    count = len(report.equilibria)
    noun = ("rest point" if count == 1 else "rest points") if report.method == "replicator" else ("equilibrium" if count == 1 else "equilibria")
    console.print(f"{game.name}: {report.method}, {count} {noun}",
                  markup=False, highlight=False)
    if game.kind == "extensive":
        return solve_extensive.render(report, console)
    if game.kind == "tree":
        table = Table("#", "path", *[f"payoff {p}" for p in game.players])
        for k, e in enumerate(report.equilibria, 1):
            table.add_row(str(k), " -> ".join(e["path"]), *e["exact"]["payoffs"])
    else:
        extra = ["stability", "Nash"] if report.method == "replicator" else []
        table = Table("#", *game.players, *[f"payoff {p}" for p in game.players], "welfare", *extra)
        for k, e in enumerate(report.equilibria, 1):
            cells = []
            for labels, probs in zip(game.actions, e["exact"]["strategies"]):
                cells.append(", ".join(f"{a}: {p}" for a, p in zip(labels, probs) if p != "0"))
            more = [e["stability"], "yes" if e["nash"] else "no"] if extra else []
            table.add_row(str(k), *cells, *e["exact"]["payoffs"], e["exact"].get("welfare", fraction_text(e["welfare"])), *more)
    console.print(table)
    if report.summary:
        s = report.summary
        line = (f"optimum welfare {fraction_text(s['optimum'])}; equilibrium welfare "
                f"{fraction_text(s['worst_equilibrium'])}..{fraction_text(s['best_equilibrium'])}; "
                f"price of anarchy {fraction_text(s['price_of_anarchy'])}, price of stability {fraction_text(s['price_of_stability'])}")
        console.print(line, markup=False, highlight=False)
        if "note" in s:
            console.print(f"note: {s['note']}", markup=False, highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)

"""Normal-form games: Nash, correlated and quantal-response equilibria, dominance, regret.

Payoffs of an N-player game are an array ``u`` of shape ``(n, a_1, ..., a_n)``:
``u[i][s]`` is player i's payoff at pure profile ``s``. A two-player (bimatrix)
game is given as ``A`` (row player's payoffs, ``m x n``) and ``B`` (column
player's); ``bimatrix(u)`` / ``stack(A, B)`` convert between the two forms.

Every equilibrium solver returns the same shape, a :class:`NashResult` (like
Gambit's ``NashComputationResult``): ``method``, ``equilibria`` (a list of
:class:`Equilibrium`, each with one mixed strategy per player and the expected
payoffs), ``degenerate`` / ``complete`` flags, and ``notes``. Strategies are
float arrays; ``Equilibrium.exact()`` gives them as ``fractions.Fraction``
(rounded with a tolerance check), which for rational payoffs are the exact
rational equilibria that Gambit's ``rational=True`` solvers report.

Algorithms and references
-------------------------
* Support enumeration and vertex enumeration: B. von Stengel, "Equilibrium
  computation for two-player games in strategic and extensive form", ch. 3 of
  Nisan, Roughgarden, Tardos & Vazirani (eds.), *Algorithmic Game Theory*
  (2007), Sec. 3.3 (Algorithm 3.4, best-response polytopes, Thm 3.6) and
  Sec. 3.5 (Lemke–Howson, Algorithm 3.6).
* Lemke & Howson (1964), "Equilibrium points of bimatrix games", SIAM J. 12.
* Zero-sum games: von Neumann's minimax theorem as an LP (Dantzig 1951).
* Correlated equilibrium: Aumann (1974, 1987); the LP of Papadimitriou &
  Roughgarden (2008), "Computing correlated equilibria in multi-player games".
* Logit QRE: McKelvey & Palfrey (1995), "Quantal response equilibria for
  normal form games", GEB 10, eq. (4); the principal branch from lambda = 0
  (Turocy 2005, "A dynamic homotopy interpretation of the logit QRE"); which
  branch in symmetric games: see :func:`logit_qre`. N players: ``mechanisms.logit``.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linprog


# =========================================================================== result shape


class DegenerateGameError(ValueError):
    """The bimatrix game is degenerate: support enumeration would not give the full equilibrium set."""


class DegenerateGameWarning(UserWarning):
    """Issued instead of ``DegenerateGameError`` when ``on_degenerate="warn"``."""


@dataclass(frozen=True)
class Equilibrium:
    """One equilibrium: a mixed strategy per player and the expected payoffs.

    ``joint`` is set for correlated equilibria (a distribution over pure
    profiles, shape ``(a_1, ..., a_n)``); ``strategies`` are then its marginals.
    """

    strategies: tuple[np.ndarray, ...]
    payoffs: np.ndarray
    joint: np.ndarray | None = None

    @property
    def row(self) -> np.ndarray:
        return self.strategies[0]

    @property
    def col(self) -> np.ndarray:
        return self.strategies[1]

    @property
    def supports(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(int(i) for i in np.flatnonzero(s > 1e-12)) for s in self.strategies)

    def exact(self, max_denominator: int = 1000, tol: float = 1e-9) -> tuple[list[Fraction], ...] | None:
        """The strategies as fractions, or ``None`` if some probability is not within ``tol`` of a
        fraction with denominator at most ``max_denominator`` (then it is not "nicely" rational).

        Keep ``tol`` well below ``1 / max_denominator**2``: every real number is that close to some
        fraction with such a denominator. For exact answers with large denominators use
        :func:`rational_equilibrium`."""
        out = []
        for s in self.strategies:
            fr = [to_fraction(p, max_denominator, tol) for p in s]
            if any(f is None for f in fr) or sum(fr) != 1:
                return None
            out.append(fr)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"strategies": [s.tolist() for s in self.strategies], "payoffs": self.payoffs.tolist()}
        if len(self.strategies) == 2:
            data["row"], data["col"] = self.row.tolist(), self.col.tolist()
        if self.joint is not None:
            data["joint"] = self.joint.tolist()
        return data


@dataclass(frozen=True)
class NashResult:
    """What every solver returns.

    Attributes
    ----------
    method: name of the algorithm.
    equilibria: the equilibria found (a list of :class:`Equilibrium`).
    degenerate: ``True`` / ``False`` if the solver checked, ``None`` if it did not.
    complete: ``True`` iff the list is claimed to be the full set (of all
        equilibria for nondegenerate games, of all *extreme* equilibria for
        vertex enumeration on degenerate games).
    notes: human-readable remarks (e.g. why a set is incomplete).
    parameters: the solver's parameters (tolerances, lambda, ...).
    """

    method: str
    equilibria: list[Equilibrium]
    degenerate: bool | None = None
    complete: bool = False
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.equilibria)

    def __iter__(self):
        return iter(self.equilibria)

    def __getitem__(self, index: int) -> Equilibrium:
        return self.equilibria[index]

    @property
    def value(self) -> float:
        """The row player's payoff in the first equilibrium: the value of a zero-sum game."""
        return float(self.equilibria[0].payoffs[0])


def to_fraction(x: float, max_denominator: int = 1000, tol: float = 1e-9) -> Fraction | None:
    """``Fraction`` closest to ``x`` with a bounded denominator, or ``None`` if it is further than ``tol``."""
    f = Fraction(float(x)).limit_denominator(max_denominator)
    return f if abs(float(f) - float(x)) <= tol else None


# =========================================================================== conversions


def stack(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Bimatrix ``(A, B)`` -> payoff array of shape ``(2, m, n)``."""
    return np.stack([np.asarray(A, dtype=float), np.asarray(B, dtype=float)])


def bimatrix(payoffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payoff array of shape ``(2, m, n)`` -> ``(A, B)``."""
    u = np.asarray(payoffs, dtype=float)
    if u.ndim != 3 or u.shape[0] != 2:
        raise ValueError(f"a two-player game needs payoffs of shape (2, m, n), got {u.shape}")
    return u[0], u[1]


def _bimatrix_args(A: Any, B: Any | None) -> tuple[np.ndarray, np.ndarray]:
    if B is None:
        u = np.asarray(A, dtype=float)
        if u.ndim == 3:
            return bimatrix(u)
        B = -u  # zero-sum shorthand, as in nashpy
        A = u
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if A.ndim != 2 or A.shape != B.shape or min(A.shape) < 1:
        raise ValueError(f"A and B must be matrices of the same shape; got {A.shape} and {B.shape}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise ValueError("payoffs must be finite numbers")
    return A, B


def _positive(M: np.ndarray) -> np.ndarray:
    """Affine rescaling to [1, 2] (equilibria are invariant under positive affine maps of one player's payoffs)."""
    lo, hi = M.min(), M.max()
    if hi - lo <= 0:
        return np.ones_like(M)
    return 1.0 + (M - lo) / (hi - lo)


def _equilibrium(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> Equilibrium:
    x = np.clip(x, 0.0, None)
    y = np.clip(y, 0.0, None)
    x, y = x / x.sum(), y / y.sum()
    return Equilibrium((x, y), np.array([x @ A @ y, x @ B @ y]))


def _sort(equilibria: list[Equilibrium]) -> list[Equilibrium]:
    """Deterministic order: lexicographic in the concatenated strategies, descending (pure first-action first)."""
    return sorted(equilibria, key=lambda e: tuple(-np.round(np.concatenate(e.strategies), 9)))


# =========================================================================== pure equilibria, best responses, regret


def pure_equilibria(payoffs: np.ndarray, tol: float = 1e-12) -> list[tuple[int, ...]]:
    """All pure-strategy Nash equilibria of an N-player game.

    A profile ``s`` is an equilibrium iff for every player i,
    ``u_i(s) >= max_{a} u_i(a, s_{-i}) - tol``. Vectorised: compare each
    player's payoff with the max along that player's own action axis.
    """
    u = np.asarray(payoffs, dtype=float)
    n = u.shape[0]
    stable = np.ones(u.shape[1:], dtype=bool)
    for i in range(n):
        stable &= u[i] >= u[i].max(axis=i, keepdims=True) - tol
    return [tuple(int(a) for a in s) for s in zip(*np.nonzero(stable))]


def _profile(payoffs: np.ndarray, profile: Sequence[Any]) -> list[np.ndarray]:
    """Mixed profile from probability vectors or pure action indices."""
    u = np.asarray(payoffs, dtype=float)
    shape = u.shape[1:]
    if len(profile) != len(shape):
        raise ValueError(f"the game has {len(shape)} players; got a profile of {len(profile)}")
    out = []
    for i, s in enumerate(profile):
        if np.ndim(s) == 0:
            v = np.zeros(shape[i])
            v[int(s)] = 1.0
        else:
            v = np.asarray(s, dtype=float)
            if v.shape != (shape[i],):
                raise ValueError(f"player {i} has {shape[i]} actions; got a strategy of shape {v.shape}")
        out.append(v)
    return out


def action_values(payoffs: np.ndarray, profile: Sequence[Any]) -> list[np.ndarray]:
    """``v_i(a) = u_i(a, sigma_{-i})`` for each player i and own action a (expected against the others' mixes)."""
    u = np.asarray(payoffs, dtype=float)
    sigma = _profile(u, profile)
    n = u.shape[0]
    values = []
    for i in range(n):
        t = u[i]
        for j in reversed(range(n)):  # contract the other players' axes, last first so indices stay valid
            if j != i:
                t = np.tensordot(t, sigma[j], axes=([j], [0]))
        values.append(t)
    return values


def expected_payoffs(payoffs: np.ndarray, profile: Sequence[Any]) -> np.ndarray:
    """``u_i(sigma)`` for every player."""
    sigma = _profile(payoffs, profile)
    return np.array([v @ s for v, s in zip(action_values(payoffs, sigma), sigma)])


def best_responses(payoffs: np.ndarray, profile: Sequence[Any], tol: float = 1e-9) -> list[list[int]]:
    """For each player, the pure actions maximising ``u_i(a, sigma_{-i})`` (within ``tol``)."""
    return [[int(a) for a in np.flatnonzero(v >= v.max() - tol)] for v in action_values(payoffs, profile)]


def regret(payoffs: np.ndarray, profile: Sequence[Any]) -> np.ndarray:
    """``max_a u_i(a, sigma_{-i}) - u_i(sigma)`` for every player (0 at a Nash equilibrium)."""
    sigma = _profile(payoffs, profile)
    return np.array([v.max() - v @ s for v, s in zip(action_values(payoffs, sigma), sigma)])


def is_nash(payoffs: np.ndarray, profile: Sequence[Any], eps: float = 1e-9) -> bool:
    """Whether ``profile`` is an ``eps``-Nash equilibrium: every player's regret is at most ``eps``
    and every strategy is a probability vector (within ``eps``)."""
    sigma = _profile(payoffs, profile)
    if any((s < -eps).any() or abs(s.sum() - 1) > eps for s in sigma):
        return False
    return bool((regret(payoffs, sigma) <= eps).all())


def iterated_elimination(
    payoffs: np.ndarray, strict: bool = True, mixed: bool = False, tol: float = 1e-12
) -> tuple[list[list[int]], np.ndarray]:
    """Iterated elimination of dominated pure strategies.

    Action ``a`` of player i is strictly dominated by ``b`` if
    ``u_i(b, s_{-i}) > u_i(a, s_{-i}) + tol`` for all surviving ``s_{-i}``;
    weakly (``strict=False``) if ``>=`` everywhere and ``>`` somewhere. With
    ``mixed=True`` domination by mixed strategies is also checked, by the LP
    ``max eps s.t. sum_b p_b u_i(b, s) >= u_i(a, s) + eps`` (Fudenberg & Tirole
    1991, Sec. 2.1). Each round removes every dominated action of every player
    at once; strict elimination is order-independent, weak elimination is not
    (this order is one declared choice).

    Returns the surviving action indices per player and the reduced payoff array.
    """
    u = np.asarray(payoffs, dtype=float)
    n = u.shape[0]
    alive = [list(range(k)) for k in u.shape[1:]]
    for _ in range(sum(u.shape[1:])):  # at most one removal per action
        sub = u[(slice(None),) + np.ix_(*alive)]
        removals = []
        for i in range(n):  # all players judged on the same surviving game (simultaneous rounds, as Gambit)
            if len(alive[i]) == 1:
                continue
            own = np.moveaxis(sub[i], i, 0).reshape(len(alive[i]), -1)  # actions x others
            dominated: set[int] = set()
            for a in range(len(own)):
                for b in range(len(own)):
                    if a == b or b in dominated:
                        continue
                    diff = own[b] - own[a]
                    if (strict and (diff > tol).all()) or (not strict and (diff >= -tol).all() and (diff > tol).any()):
                        dominated.add(a)
                        break
                if mixed and a not in dominated and len(own) > 2:
                    others = [b for b in range(len(own)) if b != a and b not in dominated]
                    if _mixed_dominated(own[others], own[a], strict, tol):
                        dominated.add(a)
            if dominated and len(dominated) < len(alive[i]):
                removals.append((i, dominated))
        if not removals:
            break
        for i, dominated in removals:
            alive[i] = [x for k, x in enumerate(alive[i]) if k not in dominated]
    return alive, u[(slice(None),) + np.ix_(*alive)]


def _mixed_dominated(others: np.ndarray, target: np.ndarray, strict: bool, tol: float) -> bool:
    k, cols = others.shape
    # variables p (k), eps; maximise eps s.t. -(p @ others) + eps <= -target, sum p = 1.
    c = np.zeros(k + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-others.T, np.ones((cols, 1))])
    res = linprog(c, A_ub=A_ub, b_ub=-target, A_eq=[[1.0] * k + [0.0]], b_eq=[1.0],
                  bounds=[(0, None)] * k + [(None, 1.0)], method="highs")
    if res.status != 0:
        return False
    if strict:
        return -res.fun > tol
    if -res.fun < -tol:
        return False
    # weak: payoff-wise >= and strictly better somewhere: maximise the total gain subject to >=.
    res2 = linprog(-others.sum(axis=1), A_ub=-others.T, b_ub=-target, A_eq=[[1.0] * k], b_eq=[1.0],
                   bounds=[(0, None)] * k, method="highs")
    return res2.status == 0 and -res2.fun > target.sum() + tol


# =========================================================================== best-response polytope vertices


@lru_cache(maxsize=64)
def _combos(n: int, k: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), k)), dtype=np.intp).reshape(-1, k)


_CHUNK = 40_000  # support pairs solved per batch (bounds memory at ~ CHUNK * k^2 floats)


@dataclass
class _Vertices:
    """Vertices of ``{z >= 0 : M z <= 1}`` (M positive, r x c), one per nonsingular label set found.

    ``points`` (V x c), ``tight`` (V x r: rows with M z = 1), ``zero`` (V x c: z_j = 0),
    ``rows``/``cols``: bitmasks of the defining rows (tight) and columns (support).
    """

    points: np.ndarray
    tight: np.ndarray
    zero: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    degenerate: bool


# A k x k system is trusted in floating point when its condition number is below _COND_FLOAT
# (then the solution has about 16 - log10(cond) correct digits, >= 4 here); between that and
# _COND_EXACT it is solved again in exact rational arithmetic; beyond, it is singular to working
# precision (rescaling the payoffs to [1, 2] already rounds at 1e-16, so an exactly singular
# system shows a condition number near 1e16 and exact arithmetic on the rounded entries would
# wrongly call it regular). A determinant is no such test: it scales as the k-th power of the entries
# (von Stengel's 6x6 game with 75 equilibria has a vertex whose system has determinant 4.3e-15
# after rescaling to [1, 2] but condition number 2.3e7).
_COND_FLOAT = 1e12
_COND_EXACT = 1e14


def _well_posed(systems: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of the stacked systems ``systems[t] z = 1`` are nonsingular, and their solutions.

    Well-conditioned systems keep their float solution; ill-conditioned ones are solved with
    ``fractions.Fraction`` (floats are exact binary rationals, so this decides singularity exactly).
    """
    cond = np.linalg.cond(systems)
    ok = cond < _COND_FLOAT
    z = z.copy()
    for t in np.flatnonzero(~ok & (cond < _COND_EXACT)):
        k = systems.shape[1]
        exact = _solve_rational([[Fraction(float(v)) for v in row] for row in systems[t]], [Fraction(1)] * k)
        if exact is not None:
            ok[t] = True
            z[t] = [float(v) for v in exact]
    return ok, z


def _vertices(M: np.ndarray, tol: float, full_labels: bool) -> _Vertices:
    """Enumerate the vertices of the best-response polytope ``{z >= 0: M z <= 1}``.

    A vertex with support ``J`` and tight rows ``I`` (``|I| = |J| = k``) solves
    ``M[I, J] z_J = 1``; it is feasible iff ``z_J >= 0`` and ``M[:, J] z_J <= 1``.
    All support pairs of one size ``k`` are solved in one batched
    ``np.linalg.solve`` (stacked ``k x k`` systems); singular systems are
    skipped (every vertex has a nonsingular defining system). Singularity is
    judged by the condition number, and borderline systems are solved again in
    exact rational arithmetic (:func:`_well_posed`), never by a determinant threshold. A feasible point
    with a zero in its support or more than ``k`` tight rows has more than
    ``c`` labels: the polytope (hence the game) is degenerate (von Stengel
    2007, Def. 3.2 and Thm 3.6).
    """
    r, c = M.shape
    pts, tights, zeros, rows_m, cols_m = [], [], [], [], []
    degenerate = False
    row_bits = (1 << np.arange(r, dtype=np.int64))
    col_bits = (1 << np.arange(c, dtype=np.int64))
    for k in range(1, min(r, c) + 1):
        R, C = _combos(r, k), _combos(c, k)
        MC = M[:, C].transpose(1, 0, 2)  # (nC, r, k): columns J of M
        n_pairs = len(R) * len(C)
        for start in range(0, n_pairs, _CHUNK):
            idx = np.arange(start, min(start + _CHUNK, n_pairs))
            ri, ci = idx // len(C), idx % len(C)
            sub = MC[ci[:, None], R[ri]]  # (N, k, k) = M[I, J]
            if k == 1:
                d = sub[:, 0, 0]
                ok = np.abs(d) > 1e-14
                z = np.where(ok, 1.0 / np.where(ok, d, 1.0), 0.0)[:, None]
            else:
                try:  # fast path: no exactly singular system in the batch (generic games)
                    z = np.linalg.solve(sub, np.ones((len(idx), k, 1)))[..., 0]
                    ok = np.isfinite(z).all(axis=1)
                except np.linalg.LinAlgError:  # some system is exactly singular: solve the others
                    ok = np.linalg.cond(sub) < _COND_EXACT
                    z = np.zeros((len(idx), k))
                    if ok.any():
                        z[ok] = np.linalg.solve(sub[ok], np.ones((int(ok.sum()), k, 1)))[..., 0]
            keep = ok & (z >= -tol).all(axis=1)
            if not keep.any():
                continue
            if k > 1:  # judge the few candidates by conditioning, never by determinant size
                keep[keep], z[keep] = _well_posed(sub[keep], z[keep])
            ri, ci, z = ri[keep], ci[keep], z[keep]
            lhs = np.einsum("nrk,nk->nr", MC[ci], z)  # (N, r) = M[:, J] z_J
            feasible = (lhs <= 1.0 + tol).all(axis=1)
            if not feasible.any():
                continue
            ri, ci, z, lhs = ri[feasible], ci[feasible], z[feasible], lhs[feasible]
            tight = lhs >= 1.0 - tol
            zero_in_support = z <= tol
            if (tight.sum(axis=1) > k).any() or zero_in_support.any():
                degenerate = True
            full = np.zeros((len(z), c))
            np.put_along_axis(full, C[ci], z, axis=1)
            pts.append(full)
            rows_m.append(row_bits[R[ri]].sum(axis=1))
            cols_m.append(col_bits[C[ci]].sum(axis=1))
            if full_labels:
                tights.append(tight)
                zeros.append(full <= tol)
    if not pts:
        return _Vertices(np.zeros((0, c)), np.zeros((0, r), bool), np.zeros((0, c), bool),
                         np.zeros(0, np.int64), np.zeros(0, np.int64), degenerate)
    return _Vertices(
        np.concatenate(pts),
        np.concatenate(tights) if full_labels else np.zeros((0, r), bool),
        np.concatenate(zeros) if full_labels else np.zeros((0, c), bool),
        np.concatenate(rows_m), np.concatenate(cols_m), degenerate,
    )


def _polytopes(A: np.ndarray, B: np.ndarray, tol: float, full_labels: bool) -> tuple[_Vertices, _Vertices]:
    """Vertices of Q = {y >= 0: A y <= 1} and P = {x >= 0: B^T x <= 1} (payoffs made positive)."""
    Ap, Bp = _positive(A), _positive(B)
    return _vertices(Ap, tol, full_labels), _vertices(Bp.T, tol, full_labels)


def _strict_reduction(A: np.ndarray, B: np.ndarray, tol: float) -> tuple[list[int], list[int]]:
    """Rows / columns surviving iterated elimination of strictly dominated pure strategies.

    Vectorised version of ``iterated_elimination(stack(A, B), strict=True)``:
    ``dominated[r] = any_{r'} all_c a[r', c] > a[r, c] + tol``. Removing every
    strictly dominated strategy at once is valid (strict dominance is
    transitive, so each one is also dominated by an undominated strategy).
    """
    rows, cols = np.arange(A.shape[0]), np.arange(A.shape[1])
    for _ in range(A.shape[0] + A.shape[1]):
        a, b = A[np.ix_(rows, cols)], B[np.ix_(rows, cols)].T
        row_dom = (a[None, :, :] > a[:, None, :] + tol).all(axis=2).any(axis=1)
        col_dom = (b[None, :, :] > b[:, None, :] + tol).all(axis=2).any(axis=1)
        if not row_dom.any() and not col_dom.any():
            break
        rows, cols = rows[~row_dom], cols[~col_dom]
    return [int(r) for r in rows], [int(c) for c in cols]


# =========================================================================== support enumeration


def support_enumeration(
    A: np.ndarray, B: np.ndarray | None = None, tol: float = 1e-10, on_degenerate: str = "raise",
    reduce: bool = True,
) -> NashResult:
    """All Nash equilibria of a nondegenerate bimatrix game, by support enumeration.

    von Stengel (2007), Algorithm 3.4: in a nondegenerate game every
    equilibrium ``(x, y)`` has supports ``I``, ``J`` of equal size ``k`` and
    solves the indifference systems

        sum_{j in J} a_ij y_j = v  (i in I),   sum_{i in I} x_i b_ij = u  (j in J),

    with ``x, y >= 0`` and no better reply outside the supports
    (``(A y)_i <= v`` for all i, ``(x^T B)_j <= u`` for all j). The two halves
    decouple: the ``y``-half depends only on ``A`` and ``(I, J)``, the
    ``x``-half only on ``B``. With payoffs made positive and ``v``, ``u``
    normalised to 1 the feasible halves are exactly the vertices of the
    best-response polytopes ``Q = {y >= 0: A y <= 1}`` and
    ``P = {x >= 0: B^T x <= 1}`` (Thm 3.6), and the equilibria are the support
    pairs found on both sides. All pairs of one size are solved in a single
    batched linear solve, so the cost is a few numpy calls per ``k``.

    Strictly dominated strategies are removed first (``reduce=True``): they
    are never played in equilibrium, so the equilibrium set is unchanged and
    degeneracy is judged on the game that matters.

    Parameters
    ----------
    A, B: payoff matrices (``B=None`` means zero-sum, ``B = -A``).
    tol: feasibility / tightness tolerance on the [1, 2]-rescaled payoffs.
    on_degenerate: ``"raise"`` (:class:`DegenerateGameError`), ``"warn"``
        (:class:`DegenerateGameWarning`, result flagged incomplete) or
        ``"ignore"`` (flag only). Use :func:`vertex_enumeration` for degenerate games.

    Returns
    -------
    NashResult with ``degenerate`` set and ``complete = not degenerate``.
    """
    if on_degenerate not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_degenerate must be 'raise', 'warn' or 'ignore', got {on_degenerate!r}")
    A, B = _bimatrix_args(A, B)
    rows, cols = (_strict_reduction(A, B, 1e-12) if reduce else (list(range(A.shape[0])), list(range(A.shape[1]))))
    a, b = A[np.ix_(rows, cols)], B[np.ix_(rows, cols)]
    Q, P = _polytopes(a, b, tol, full_labels=False)
    degenerate = Q.degenerate or P.degenerate
    # Q vertex: tight rows I (row labels), support J.  P vertex: support I, tight columns J.
    q_keys = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(Q.rows, Q.cols))}
    equilibria = []
    for k, (i, j) in enumerate(zip(P.cols, P.rows)):  # P is built on B^T: its "rows" are columns of B
        match = q_keys.get((int(i), int(j)))
        if match is not None:
            x = np.zeros(A.shape[0])
            y = np.zeros(A.shape[1])
            x[rows] = P.points[k]
            y[cols] = Q.points[match]
            equilibria.append(_equilibrium(A, B, x, y))
    notes = []
    if degenerate:
        message = ("the game is degenerate (some mixed strategy with support size k has more than k pure best "
                   "responses), so support enumeration may miss equilibria or continua of equilibria; "
                   "use vertex_enumeration for the extreme equilibria")
        if on_degenerate == "raise":
            raise DegenerateGameError(message)
        if on_degenerate == "warn":
            warnings.warn(message, DegenerateGameWarning, stacklevel=2)
        notes.append(message)
    if reduce and (len(rows) < A.shape[0] or len(cols) < A.shape[1]):
        notes.append(f"removed strictly dominated strategies: rows {sorted(set(range(A.shape[0])) - set(rows))}, "
                     f"columns {sorted(set(range(A.shape[1])) - set(cols))}")
    return NashResult("support_enumeration", _sort(equilibria), degenerate, not degenerate, notes,
                      {"tol": tol, "reduce": reduce})


# =========================================================================== vertex enumeration


def vertex_enumeration(A: np.ndarray, B: np.ndarray | None = None, tol: float = 1e-10) -> NashResult:
    """All extreme Nash equilibria of a bimatrix game, degenerate or not.

    von Stengel (2007), Sec. 3.3 / Thm 3.6 and Avis, Rosenberg, Savani & von
    Stengel (2010), "Enumeration of Nash equilibria for two-player games":
    ``(x, y)`` (rescaled) is an extreme equilibrium iff ``x`` is a vertex of
    ``P = {x >= 0: B^T x <= 1}``, ``y`` a vertex of ``Q = {y >= 0: A y <= 1}``,
    ``(x, y) != (0, 0)``, and the pair is *completely labelled*: every row
    ``i`` has ``x_i = 0`` or ``(A y)_i = 1`` and every column ``j`` has
    ``y_j = 0`` or ``(B^T x)_j = 1``. Degenerate vertices (more labels than
    the dimension) are found from any nonsingular defining subsystem and
    deduplicated, so degenerate games are handled; in a degenerate game the
    equilibrium set is a finite union of polytopes (maximal Nash subsets)
    whose vertices are these extreme equilibria — the same set Gambit's
    ``enummixed_solve`` reports.
    """
    A, B = _bimatrix_args(A, B)
    m, n = A.shape
    Q, P = _polytopes(A, B, tol, full_labels=True)
    degenerate = Q.degenerate or P.degenerate

    def unique(V: _Vertices, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One copy of each vertex (a degenerate vertex is found from several defining subsystems)."""
        if len(V.points) == 0 or not degenerate:
            return V.points, labels
        kept: list[int] = []
        for k, point in enumerate(V.points):
            if not kept or np.abs(V.points[kept] - point).max(axis=1).min() > 1e-8:
                kept.append(k)
        return V.points[kept], labels[kept]

    # Labels 0..m-1 are rows, m..m+n-1 are columns.
    qx, q_labels = unique(Q, np.hstack([Q.tight, Q.zero]))  # y: tight rows, zero columns
    px, p_labels = unique(P, np.hstack([P.zero, P.tight]))  # x: zero rows, tight columns
    missing = (~p_labels).astype(np.int32) @ (~q_labels).astype(np.int32).T  # labels absent from both
    equilibria = [_equilibrium(A, B, px[i], qx[j]) for i, j in zip(*np.nonzero(missing == 0))]
    notes = []
    if degenerate:
        notes.append("degenerate game: these are the extreme equilibria; convex combinations of extreme "
                     "equilibria in the same maximal Nash subset are equilibria too")
    return NashResult("vertex_enumeration", _sort(equilibria), degenerate, True, notes, {"tol": tol})


def equilibria(A: np.ndarray, B: np.ndarray | None = None, tol: float = 1e-10) -> NashResult:
    """All equilibria: support enumeration, falling back to vertex enumeration on degenerate games."""
    try:
        return support_enumeration(A, B, tol=tol)
    except DegenerateGameError:
        return vertex_enumeration(A, B, tol=tol)


# =========================================================================== Lemke–Howson


class _LHTableau:
    """The two tableaux of the Lemke–Howson algorithm, columns indexed by label.

    P-side: ``B^T x + r = 1`` (n rows); variables ``x_i`` have label ``i``,
    slacks ``r_j`` label ``m + j``. Q-side: ``s + A y = 1`` (m rows); slacks
    ``s_i`` label ``i``, ``y_j`` label ``m + j``. A pivot that brings label
    ``l`` into one tableau drives out a variable whose label then enters the
    other tableau (complementary pivoting). Ratio ties are broken
    lexicographically (von Stengel 2007, Sec. 3.5.2) so degenerate games do
    not cycle.
    """

    def __init__(self, A: np.ndarray, B: np.ndarray) -> None:
        m, n = A.shape
        self.m, self.n = m, n
        L = m + n
        P = np.zeros((n, L + 1))
        P[:, :m] = B.T
        P[:, m:L] = np.eye(n)
        P[:, L] = 1.0
        Q = np.zeros((m, L + 1))
        Q[:, :m] = np.eye(m)
        Q[:, m:L] = A
        Q[:, L] = 1.0
        self.T = [P, Q]
        self.basis = [list(range(m, L)), list(range(m))]
        self.slack_cols = [list(range(m, L)), list(range(m))]

    def copy(self) -> "_LHTableau":
        new = object.__new__(_LHTableau)
        new.m, new.n = self.m, self.n
        new.T = [t.copy() for t in self.T]
        new.basis = [list(b) for b in self.basis]
        new.slack_cols = self.slack_cols
        return new

    def side_nonbasic(self, label: int) -> int:
        return 0 if label not in self.basis[0] else 1

    def pivot(self, side: int, enter: int, eps: float = 1e-12) -> int:
        T = self.T[side]
        col = T[:, enter]
        rows = np.flatnonzero(col > eps)
        if len(rows) == 0:
            raise RuntimeError("Lemke–Howson: unbounded ray (should not happen with positive payoffs)")
        for key in [-1] + self.slack_cols[side]:  # lexicographic minimum ratio test
            ratios = T[rows, key] / col[rows]
            best = ratios.min()
            rows = rows[ratios <= best + 1e-12 * max(1.0, abs(best))]
            if len(rows) == 1:
                break
        row = int(rows[0])
        T[row] /= T[row, enter]
        others = np.arange(len(T)) != row
        T[others] -= np.outer(T[others, enter], T[row])
        leaving = self.basis[side][row]
        self.basis[side][row] = enter
        return leaving

    def path(self, dropped: int, max_pivots: int) -> None:
        """Follow the path that drops label ``dropped`` until it is picked up again."""
        side = self.side_nonbasic(dropped)
        enter = dropped
        for _ in range(max_pivots):
            leaving = self.pivot(side, enter)
            if leaving == dropped:
                return
            enter, side = leaving, 1 - side
        raise RuntimeError(f"Lemke–Howson did not finish within {max_pivots} pivots")

    def point(self) -> tuple[np.ndarray, np.ndarray]:
        m, n = self.m, self.n
        x, y = np.zeros(m), np.zeros(n)
        for row, var in enumerate(self.basis[0]):
            if var < m:
                x[var] = self.T[0][row, -1]
        for row, var in enumerate(self.basis[1]):
            if var >= m:
                y[var - m] = self.T[1][row, -1]
        return x, y

    def key(self) -> tuple[frozenset, frozenset]:
        return frozenset(self.basis[0]), frozenset(self.basis[1])


def _polish(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Re-solve the indifference systems on the supports of ``(x, y)`` (removes pivoting round-off)."""
    I, J = np.flatnonzero(x > tol), np.flatnonzero(y > tol)
    if len(I) != len(J):
        return x, y
    k = len(I)
    My = np.zeros((k + 1, k + 1))
    My[:k, :k], My[:k, k], My[k, :k] = A[np.ix_(I, J)], -1.0, 1.0
    Mx = np.zeros((k + 1, k + 1))
    Mx[:k, :k], Mx[:k, k], Mx[k, :k] = B[np.ix_(I, J)].T, -1.0, 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        ys, xs = np.linalg.solve(My, rhs)[:k], np.linalg.solve(Mx, rhs)[:k]
    except np.linalg.LinAlgError:
        return x, y
    if (ys < -tol).any() or (xs < -tol).any():
        return x, y
    x2, y2 = np.zeros_like(x), np.zeros_like(y)
    x2[I], y2[J] = xs, ys
    return x2, y2


def _as_fraction(value: Any) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, str):
        return Fraction(value.strip())
    return Fraction(str(float(value)))


def _solve_rational(M: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Gauss–Jordan elimination over the rationals; ``None`` if ``M`` is singular."""
    n = len(M)
    a = [row[:] + [rhs] for row, rhs in zip(M, b)]
    for c in range(n):
        pivot = next((r for r in range(c, n) if a[r][c] != 0), None)
        if pivot is None:
            return None
        a[c], a[pivot] = a[pivot], a[c]
        for r in range(n):
            if r != c and a[r][c] != 0:
                factor = a[r][c] / a[c][c]
                a[r] = [x - factor * y for x, y in zip(a[r], a[c])]
    return [a[r][n] / a[r][r] for r in range(n)]


def rational_equilibrium(A: Any, B: Any, equilibrium: Equilibrium, tol: float = 1e-9) -> tuple[list[Fraction], list[Fraction], list[Fraction]] | None:
    """The exact rational form ``(x, y, (u_row, u_col))`` of a bimatrix equilibrium found in floating point.

    Payoffs are read as exact rationals: ``Fraction`` and int values as they
    are, strings like ``"2/3"`` parsed, floats by their shortest decimal
    representation (``0.1`` is 1/10). The indifference systems on the supports ``I``, ``J``
    of ``equilibrium`` (``|I| = |J|``) are solved in rational arithmetic and the
    result is checked to be an equilibrium and within ``tol`` of the float one —
    the exact answer Gambit's ``rational=True`` gives. ``None`` when the supports
    differ in size or the system is singular (degenerate games).
    """
    FA = [[_as_fraction(v) for v in row] for row in np.asarray(A, dtype=object)]
    FB = [[_as_fraction(v) for v in row] for row in np.asarray(B, dtype=object)]
    m, n = len(FA), len(FA[0])
    I, J = equilibrium.supports
    if len(I) != len(J):
        return None
    k = len(I)
    one, zero = Fraction(1), Fraction(0)
    rhs = [zero] * k + [one]
    sy = _solve_rational([[FA[i][j] for j in J] + [-one] for i in I] + [[one] * k + [zero]], rhs)
    sx = _solve_rational([[FB[i][j] for i in I] + [-one] for j in J] + [[one] * k + [zero]], rhs)
    if sy is None or sx is None:
        return None
    x, y = [zero] * m, [zero] * n
    for i, p in zip(I, sx):
        x[i] = p
    for j, p in zip(J, sy):
        y[j] = p
    if min(x) < 0 or min(y) < 0:
        return None
    row = [sum(FA[i][j] * y[j] for j in range(n)) for i in range(m)]
    col = [sum(x[i] * FB[i][j] for i in range(m)) for j in range(n)]
    if max(row) != sy[k] or max(col) != sx[k]:
        return None
    if max(abs(float(p) - q) for p, q in zip(x + y, np.concatenate(equilibrium.strategies))) > tol:
        return None
    return x, y, [sy[k], sx[k]]


def lemke_howson(A: np.ndarray, B: np.ndarray | None = None, initial_label: int = 0, max_pivots: int = 100_000) -> NashResult:
    """One Nash equilibrium by the Lemke–Howson algorithm (Lemke & Howson 1964; von Stengel 2007, Alg. 3.6).

    Starting from the artificial equilibrium ``(0, 0)`` of the best-response
    polytopes, drop ``initial_label`` (``0..m-1`` = row strategies,
    ``m..m+n-1`` = column strategies) and pivot complementarily until it is
    picked up again. Bounded by ``max_pivots`` (raises ``RuntimeError``);
    lexicographic pivoting keeps degenerate games from cycling.
    """
    A, B = _bimatrix_args(A, B)
    m, n = A.shape
    if not 0 <= initial_label < m + n:
        raise ValueError(f"initial_label must be in 0..{m + n - 1}, got {initial_label}")
    tab = _LHTableau(_positive(A), _positive(B))
    tab.path(initial_label, max_pivots)
    x, y = _polish(A, B, *tab.point())
    return NashResult("lemke_howson", [_equilibrium(A, B, x, y)], None, False, [],
                      {"initial_label": initial_label, "max_pivots": max_pivots})


def lemke_howson_all(A: np.ndarray, B: np.ndarray | None = None, recursive: bool = True,
                     max_pivots: int = 100_000, max_equilibria: int = 10_000) -> NashResult:
    """Equilibria reachable by Lemke–Howson paths, deduplicated.

    With ``recursive=False``: the endpoints of the ``m + n`` paths that start at
    the artificial equilibrium. With ``recursive=True`` (the default): also
    the endpoints of all paths from every equilibrium found, until no new one
    appears — the set of *accessible* equilibria (Shapley 1974), which is
    what Gambit's ``lcp_solve`` computes on strategic games. It need not be
    the full equilibrium set (use :func:`support_enumeration` for that).
    """
    A, B = _bimatrix_args(A, B)
    m, n = A.shape
    start = _LHTableau(_positive(A), _positive(B))
    seen = {start.key()}
    found: dict[tuple, Equilibrium] = {}
    frontier = [start]
    while frontier:
        tab = frontier.pop()
        for label in range(m + n):
            nxt = tab.copy()
            nxt.path(label, max_pivots)
            key = nxt.key()
            if key in seen:
                continue
            seen.add(key)
            x, y = _polish(A, B, *nxt.point())
            eq = _equilibrium(A, B, x, y)
            found.setdefault(tuple(np.round(np.concatenate(eq.strategies), 9)), eq)
            if len(found) > max_equilibria:
                raise RuntimeError(f"more than {max_equilibria} equilibria; raise max_equilibria=")
            if recursive:
                frontier.append(nxt)
    return NashResult("lemke_howson_all", _sort(list(found.values())), None, False,
                      ["accessible equilibria only; not necessarily all equilibria"],
                      {"recursive": recursive, "max_pivots": max_pivots})


# =========================================================================== zero-sum games


def zero_sum_value(A: np.ndarray) -> NashResult:
    """Value and optimal strategies of the zero-sum game with row payoffs ``A`` (column gets ``-A``).

    Minimax theorem as a pair of LPs (von Neumann 1928; Dantzig 1951):
    ``max_{x, v} v  s.t.  A^T x >= v 1, 1^T x = 1, x >= 0`` and
    ``min_{y, w} w  s.t.  A y <= w 1, 1^T y = 1, y >= 0``; ``v = w`` is the
    value (``NashResult.value``). Solved with ``scipy.optimize.linprog`` (HiGHS).
    """
    A = np.asarray(A, dtype=float)
    m, n = A.shape
    # Row player: variables (x, v); minimise -v; -A^T x + v <= 0.
    rx = linprog(np.r_[np.zeros(m), -1.0], A_ub=np.hstack([-A.T, np.ones((n, 1))]), b_ub=np.zeros(n),
                 A_eq=[np.r_[np.ones(m), 0.0]], b_eq=[1.0], bounds=[(0, None)] * m + [(None, None)], method="highs")
    # Column player: variables (y, w); minimise w; A y - w <= 0.
    ry = linprog(np.r_[np.zeros(n), 1.0], A_ub=np.hstack([A, -np.ones((m, 1))]), b_ub=np.zeros(m),
                 A_eq=[np.r_[np.ones(n), 0.0]], b_eq=[1.0], bounds=[(0, None)] * n + [(None, None)], method="highs")
    if rx.status != 0 or ry.status != 0:
        raise RuntimeError(f"linprog failed: {rx.message} / {ry.message}")
    eq = _equilibrium(A, -A, rx.x[:m], ry.x[:n])
    return NashResult("zero_sum_lp", [eq], None, False,
                      [f"value {-rx.fun:.12g} (row LP) / {ry.fun:.12g} (column LP)"], {"value": float(-rx.fun)})


# =========================================================================== correlated equilibrium


def correlated_equilibrium(payoffs: np.ndarray, objective: str | Sequence[float] = "utilitarian") -> NashResult:
    """A correlated equilibrium of an N-player game by linear programming.

    Aumann (1974); Papadimitriou & Roughgarden (2008), eq. (1): a distribution
    ``p`` over pure profiles is a CE iff for every player ``i`` and actions
    ``a != a'``

        sum_{s_{-i}} p(a, s_{-i}) [u_i(a, s_{-i}) - u_i(a', s_{-i})] >= 0,

    ``p >= 0``, ``sum p = 1``. ``objective``: ``"utilitarian"`` (maximise
    ``sum_i E_p u_i``), ``"egalitarian"`` (maximise ``min_i E_p u_i``),
    ``"feasible"`` (any CE), or a weight vector ``w`` (maximise ``sum_i w_i E_p u_i``).
    """
    u = np.asarray(payoffs, dtype=float)
    n, shape = u.shape[0], u.shape[1:]
    size = int(np.prod(shape))
    rows = []
    for i in range(n):
        ui = np.moveaxis(u[i], i, 0).reshape(shape[i], -1)  # own action x others
        for a in range(shape[i]):
            for a2 in range(shape[i]):
                if a == a2:
                    continue
                coef = np.zeros((shape[i], ui.shape[1]))
                coef[a] = ui[a] - ui[a2]
                # back to the flat profile order
                full = np.moveaxis(coef.reshape((shape[i],) + tuple(np.delete(shape, i))), 0, i).reshape(-1)
                rows.append(-full)  # -gain <= 0
    A_ub = np.array(rows) if rows else np.zeros((0, size))
    b_ub = np.zeros(len(rows))
    flat = u.reshape(n, -1)
    extra = 0
    if isinstance(objective, str):
        if objective == "utilitarian":
            c = -flat.sum(axis=0)
        elif objective == "feasible":
            c = np.zeros(size)
        elif objective == "egalitarian":
            extra = 1  # variable t <= E u_i for all i; maximise t
            c = np.r_[np.zeros(size), -1.0]
            A_ub = np.vstack([np.hstack([A_ub, np.zeros((len(A_ub), 1))]), np.hstack([-flat, np.ones((n, 1))])])
            b_ub = np.r_[b_ub, np.zeros(n)]
        else:
            raise ValueError(f"objective must be 'utilitarian', 'egalitarian', 'feasible' or weights; got {objective!r}")
    else:
        w = np.asarray(objective, dtype=float)
        if w.shape != (n,):
            raise ValueError(f"objective weights need one entry per player ({n}), got shape {w.shape}")
        c = -(w @ flat)
    A_eq = np.r_[np.ones(size), np.zeros(extra)][None, :]
    bounds = [(0, None)] * size + [(None, None)] * extra
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    p = np.clip(res.x[:size], 0.0, None)
    p = (p / p.sum()).reshape(shape)
    marginals = tuple(p.sum(axis=tuple(j for j in range(n) if j != i)) for i in range(n))
    pay = np.array([(u[i] * p).sum() for i in range(n)])
    return NashResult("correlated_lp", [Equilibrium(marginals, pay, joint=p)], None, False, [],
                      {"objective": objective if isinstance(objective, str) else list(map(float, objective))})


# =========================================================================== logit QRE


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def logit_qre(A: np.ndarray, B: np.ndarray | None = None, lam: float = 1.0, max_step: float = 0.1,
              tol: float = 1e-13, max_iter: int = 100_000) -> NashResult:
    """The logit quantal response equilibrium at precision ``lam`` on the principal branch.

    McKelvey & Palfrey (1995), eq. (4): ``x_i ∝ exp(lam (A y)_i)``,
    ``y_j ∝ exp(lam (x^T B)_j)``. At ``lam = 0`` the unique QRE is uniform
    play; the principal branch is followed to ``lam`` by pseudo-arclength
    continuation in ``(w, lam)`` with ``w`` the log-probabilities (so turning
    points of the branch are passed as Gambit's ``logit_solve_lambda`` does),
    a tangent predictor and a Newton corrector on

        F(w, lam) = [w_x - lam A y + logsumexp(lam A y);  w_y - lam B^T x + logsumexp(lam B^T x)] = 0.

    Payoffs are used as given (no rescaling), so ``lam`` is in units of 1 / payoff.
    Never loops forever: at most ``max_iter`` steps (``RuntimeError`` beyond).

    Which branch: on asymmetric games this is the branch Gambit's ``logit_solve_lambda``
    follows (same points to 1e-8). In *symmetric* games (``B = A^T``) the continuation keeps
    the symmetric branch ``x = y`` through symmetry-breaking bifurcations, where Gambit's
    tracer leaves it for an asymmetric branch (on random 3x3 symmetric games from lambda about
    0.6 to 1.1; the 1.372 of issue 19 is one such case). Both are valid QRE (fixed-point
    residual below 1e-12, checked in tests/mechanisms/test_nplayer.py); this one is the
    symmetric QRE of the symmetric game. At a bifurcation point itself the Jacobian is
    singular and the final corrector falls back to least squares.
    """
    A, B = _bimatrix_args(A, B)
    m, n = A.shape
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")

    def F(w: np.ndarray, t: float) -> np.ndarray:
        x, y = np.exp(w[:m]), np.exp(w[m:])
        ga, gb = t * (A @ y), t * (B.T @ x)
        return np.r_[w[:m] - ga + _lse(ga), w[m:] - gb + _lse(gb)]

    def J(w: np.ndarray, t: float) -> np.ndarray:
        """Jacobian of F with respect to (w, t): (m+n) x (m+n+1)."""
        x, y = np.exp(w[:m]), np.exp(w[m:])
        va, vb = A @ y, B.T @ x
        sa, sb = _softmax(t * va), _softmax(t * vb)
        out = np.zeros((m + n, m + n + 1))
        out[:m, :m] = np.eye(m)
        out[m:, m:m + n] = np.eye(n)
        out[:m, m:m + n] = -t * (A - sa @ A) * y[None, :]          # d/dw_y of -t (A y)_i + lse
        out[m:, :m] = -t * (B.T - sb @ B.T) * x[None, :]          # d/dw_x of -t (B^T x)_j + lse
        out[:m, -1] = -(va - sa @ va)
        out[m:, -1] = -(vb - sb @ vb)
        return out

    z = np.r_[np.full(m, -np.log(m)), np.full(n, -np.log(n)), 0.0]
    tangent = np.zeros(m + n + 1)
    tangent[-1] = 1.0
    h = min(max_step, 0.03)
    steps = 0
    while z[-1] < lam:
        steps += 1
        if steps > max_iter:
            raise RuntimeError(f"logit_qre: no convergence within {max_iter} continuation steps")
        # Tangent: null vector of J, oriented like the previous tangent.
        Jz = J(z[:-1], z[-1])
        q, _ = np.linalg.qr(Jz.T, mode="complete")
        t_new = q[:, -1]
        if t_new @ tangent < 0:
            t_new = -t_new
        tangent = t_new
        if tangent[-1] > 0 and z[-1] + h * tangent[-1] >= lam:
            break  # lam is within one step: finish with Newton at fixed lam
        step = h
        for _attempt in range(60):
            ok, z_new = _newton_arclength(F, J, z + step * tangent, tangent, z, step, tol)
            if ok:
                break
            step /= 2
        else:
            raise RuntimeError("logit_qre: continuation step size underflow")
        z = z_new
        h = min(max(max_step, 0.1 * z[-1]), step * 1.5)  # longer steps once lambda is large (play settles)
    w = z[:-1] + (lam - z[-1]) / tangent[-1] * tangent[:-1] if tangent[-1] > 0 else z[:-1]
    for _ in range(100):
        dw = np.linalg.lstsq(J(w, lam)[:, :-1], -F(w, lam), rcond=None)[0]  # lstsq: singular at a bifurcation
        w = w + dw
        if np.abs(dw).max() < tol:
            break
    else:
        raise RuntimeError("logit_qre: Newton at the target lambda did not converge")
    z = np.r_[w, lam]
    x, y = np.exp(z[:m]), np.exp(z[m:m + n])
    eq = _equilibrium(A, B, x, y)
    return NashResult("logit_qre", [eq], None, False, [], {"lam": float(lam)})


def _lse(v: np.ndarray) -> float:
    top = v.max()
    return float(top + np.log(np.exp(v - top).sum()))


def _newton_arclength(F, J, guess, tangent, origin, step, tol, iters: int = 12):
    """Newton on [F(z) = 0, tangent . (z - origin) = step]."""
    z = guess.copy()
    for _ in range(iters):
        r = np.r_[F(z[:-1], z[-1]), tangent @ (z - origin) - step]
        M = np.vstack([J(z[:-1], z[-1]), tangent])
        try:
            dz = np.linalg.solve(M, -r)
        except np.linalg.LinAlgError:
            return False, z
        z = z + dz
        if not np.isfinite(z).all():
            return False, z
        if np.abs(dz).max() < tol * 10 + 1e-12:
            return True, z
    return np.abs(np.r_[F(z[:-1], z[-1])]).max() < 1e-10, z

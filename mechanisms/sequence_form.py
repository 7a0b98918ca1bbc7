"""The sequence form of a two-player extensive game: an LP for zero-sum games, an LCP (Lemke) for general-sum.

Sequence form (von Stengel 1996, "Efficient computation of behavior
strategies", GEB 14; Koller, Megiddo & von Stengel 1994/1996). With perfect
recall, a behaviour strategy of player 1 is a *realization plan* ``x >= 0``
over its sequences with ``E x = e`` (``x(empty) = 1``, and for each
information set ``I``: ``sum_a x(Ia) = x(parent(I))``); likewise ``F y = f``
for player 2. Expected payoffs are bilinear, ``x' A y`` and ``x' B y``, where
``A[s, t]`` sums ``p_chance(z) u_1(z)`` over the terminals ``z`` reached by
sequences ``s`` and ``t``. The sizes are linear in the tree, not exponential
like the reduced normal form.

Zero-sum (von Stengel 1996, Theorem 4.4): player 1's maximin plan solves the LP

    max_{x, q}  f'q   s.t.  F'q <= A'x,  E x = e,  x >= 0   (q free),

whose value is the game value; player 2's plan solves the symmetric LP
``min_{y, p} e'p s.t. E'p >= A y, F y = f, y >= 0``. Both are solved with
HiGHS (``scipy.optimize.linprog``).

General-sum (Koller, Megiddo & von Stengel 1996, "Efficient computation of
equilibria for extensive two-person games", GEB 14, Sec. 4): after shifting
payoffs so every terminal's payoff is negative (equilibria do not change,
because ``sum_z p_chance(z) prod r(z) = 1``), the costs ``-A, -B`` are
positive and the equality constraints may be relaxed to ``E x >= e``,
``p >= 0``. The equilibria are the solutions of the LCP

    w = q + M z >= 0,  z = (x, y, p, q) >= 0,  z'w = 0,
    w_x = -A y - E'p,   w_y = -B'x - F'q,   w_p = E x - e,   w_q = F y - f,

found by Lemke's algorithm (Lemke 1965) with a covering vector ``d > 0``
and the lexicographic minimum-ratio rule, so degenerate games cannot make it
cycle. ``d = 1`` gives one equilibrium; it is the path Gambit's tree
``lcp_solve`` follows (same LCP, same covering vector), and the tests check
that the two answers are equal. :func:`lcp_equilibria` then restarts with
covering vectors that add each player's costs against a pure prior profile,
one per pure behaviour profile up to a bound (a heuristic in the spirit of
the tracing procedure of von Stengel, van den Elzen & Talman 2002, not that
algorithm), and keeps the distinct equilibria: more equilibria, but no
promise of all of them. Every answer is converted to behaviour strategies
(``x(Ia) / sum_b x(Ib)``, which also repairs a relaxed constraint) and
*verified* by best responses (exactly, in rationals, when ``exact=True``);
an unverified one is dropped and counted.

The dense tableau makes the LCP a tool for small and medium games (Kuhn:
0.2 s exact); on Leduc (an LCP of order 3124) it did not finish in minutes,
so zero-sum games of that size go to the LP or CFR+.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from mechanisms import game_tree as gt


@dataclass(frozen=True)
class SequenceForm:
    """The sequence-form matrices of a two-player game (dense numpy; object arrays of Fractions when exact)."""

    A: np.ndarray  # player 1's payoffs, sequences of 1 x sequences of 2
    B: np.ndarray  # player 2's payoffs
    E: np.ndarray  # player 1's constraints (1 + #infosets) x sequences
    F: np.ndarray


def constraint_matrix(game: gt.ExtensiveGame, player: int, exact: bool = False) -> np.ndarray:
    """``E`` with ``E r = e_0`` exactly for the realization plans ``r`` of ``player``."""
    sets = game.player_infosets[player]
    E = np.zeros((1 + len(sets), game.n_sequences[player]), dtype=object if exact else float)
    E[:] = 0
    E[0, 0] = 1
    for row, index in enumerate(sets, start=1):
        info = game.infosets[index]
        E[row, info.parent_sequence] = -1
        E[row, info.first_sequence:info.first_sequence + len(info.actions)] = 1
    return E


def sequence_form(game: gt.ExtensiveGame, exact: bool = False) -> SequenceForm:
    """``A, B, E, F`` of a two-player game (``exact``: Fractions)."""
    _two_players(game)
    n1, n2 = game.n_sequences
    dtype = object if exact else float
    A = np.zeros((n1, n2), dtype=dtype)
    B = np.zeros((n1, n2), dtype=dtype)
    A[:] = 0
    B[:] = 0
    chance = game.leaf_chance_exact if exact else game.leaf_chance
    pay = game.leaf_payoff_exact if exact else game.leaf_payoff
    for (s, t), p, u in zip(game.leaf_sequence, chance, pay):
        A[s, t] += p * u[0]
        B[s, t] += p * u[1]
    return SequenceForm(A, B, constraint_matrix(game, 0, exact), constraint_matrix(game, 1, exact))


def _two_players(game: gt.ExtensiveGame) -> None:
    if game.n_players != 2:
        raise ValueError(f"the sequence form solvers need a two-player game; this one has {game.n_players} players")
    if not game.perfect_recall:
        raise ValueError("the sequence form needs perfect recall")


# --------------------------------------------------------------------------- zero-sum LP


@dataclass(frozen=True)
class SequenceSolution:
    """An equilibrium in sequence form: realization plans, behaviour, payoffs, and how well it verified."""

    plans: tuple[np.ndarray, np.ndarray]
    behaviour: np.ndarray
    payoffs: np.ndarray
    nash_conv: float
    value: float | None = None  # zero-sum: the game value for player 1
    exact: bool = False


def zero_sum_lp(game: gt.ExtensiveGame) -> SequenceSolution:
    """Maximin realization plans of a two-player zero-sum (or constant-sum) game and its value for player 1.

    Payoffs are player 1's; a constant-sum game is solved as zero-sum. Raises
    ``ValueError`` if the game is not constant-sum.
    """
    _two_players(game)
    if not game.is_zero_sum():
        raise ValueError("the sequence-form LP needs a zero-sum (constant-sum) game; use the LCP (sequence-lcp) for general-sum games")
    form = sequence_form(game)
    A = sparse.csr_matrix(form.A)
    E, F = sparse.csr_matrix(form.E), sparse.csr_matrix(form.F)
    n1, n2 = A.shape
    m1, m2 = E.shape[0], F.shape[0]
    # player 1: variables (x, q); maximise q_0 s.t. F'q - A'x <= 0, E x = e_0
    c = np.zeros(n1 + m2)
    c[n1] = -1.0
    res1 = linprog(c, A_ub=sparse.hstack([-A.T, F.T]), b_ub=np.zeros(n2),
                   A_eq=sparse.hstack([E, sparse.csr_matrix((m1, m2))]), b_eq=_unit(m1),
                   bounds=[(0, None)] * n1 + [(None, None)] * m2, method="highs")
    # player 2: variables (y, p); minimise p_0 s.t. A y - E'p <= 0, F y = f_0
    c = np.zeros(n2 + m1)
    c[n2] = 1.0
    res2 = linprog(c, A_ub=sparse.hstack([A, -E.T]), b_ub=np.zeros(n1),
                   A_eq=sparse.hstack([F, sparse.csr_matrix((m2, m1))]), b_eq=_unit(m2),
                   bounds=[(0, None)] * n2 + [(None, None)] * m1, method="highs")
    for res in (res1, res2):
        if res.status != 0:
            raise RuntimeError(f"sequence-form LP failed: {res.message}")
    x, y = np.clip(res1.x[:n1], 0, None), np.clip(res2.x[:n2], 0, None)
    behaviour = gt.behaviour_from_plans(game, (x, y))
    return SequenceSolution((x, y), behaviour, gt.expected_payoffs(game, behaviour),
                            float(gt.nash_conv(game, behaviour)), value=(-res1.fun + res2.fun) / 2)


def _unit(m: int) -> np.ndarray:
    e = np.zeros(m)
    e[0] = 1.0
    return e


# --------------------------------------------------------------------------- Lemke's algorithm


class RayTermination(RuntimeError):
    """Lemke's algorithm left on a secondary ray (no solution found from this covering vector)."""


def lemke(M: np.ndarray, q: np.ndarray, d: np.ndarray, max_pivots: int = 100_000, tol: float = 1e-10) -> np.ndarray:
    """A solution ``z`` of the LCP ``w = q + M z >= 0, z >= 0, z'w = 0`` by Lemke's algorithm.

    Complementary pivoting on ``w - M z - d z0 = q`` (Lemke 1965; Cottle,
    Pang & Stone 1992, Algorithm 4.4.5), ``d > 0`` the covering vector. The
    leaving variable is chosen by the lexicographic minimum ratio over
    ``(q, B^-1)``, which makes every basis visited unique, so the path cannot
    cycle. Object arrays of Fractions are solved exactly by integer pivoting
    (Edmonds 1967 / Bareiss: every row is scaled to integers, and each pivot
    divides exactly by the previous pivot element), returning Fractions.

    Raises :class:`RayTermination` on a secondary ray and ``RuntimeError``
    after ``max_pivots`` pivots.
    """
    n = len(q)
    exact = M.dtype == object
    eps = 0 if exact else tol
    if all(v >= 0 for v in q):
        return np.zeros(n, dtype=M.dtype)
    T = np.empty((n, 2 * n + 2), dtype=object if exact else float)  # columns: w (n), z (n), z0, rhs
    T[:, :n] = np.eye(n, dtype=int) if exact else np.eye(n)
    T[:, n:2 * n] = -M
    T[:, 2 * n] = -d
    T[:, 2 * n + 1] = q
    if exact:  # scale each row by the lcm of its denominators (an equivalent system, same lexicographic order)
        for i in range(n):
            scale = 1
            for v in T[i]:
                scale = scale * Fraction(v).denominator // gcd(scale, Fraction(v).denominator)
            T[i] = [int(Fraction(v) * scale) for v in T[i]]
    det = 1  # integer pivoting: the true tableau is T / det
    basis = list(range(n))  # w basic

    def ratio(a, b):
        return Fraction(a, b) if exact else a / b

    def leaving(col: int, first: bool) -> int:
        """The row whose basic variable leaves: lexicographic min of (rhs, B^-1 row) / T[row, col].

        When z0 enters (column ``-d``, all negative) it is the lexicographic max instead, i.e. the
        row of min q_i / d_i. Columns of ``B^-1`` are compared only among rows still tied.
        """
        sign = -1 if first else 1
        if not exact:  # the same rule, vectorised
            column = T[:, col].astype(float)
            candidates = np.arange(n) if first else np.flatnonzero(column > eps)
            if candidates.size == 0:
                raise RayTermination("Lemke's algorithm ended on a secondary ray")
            for j in [2 * n + 1, *range(n)]:
                values = sign * T[candidates, j] / column[candidates]
                candidates = candidates[values <= values.min() + eps]
                if candidates.size == 1:
                    break
            return int(candidates[0])
        rows = list(range(n)) if first else [i for i in range(n) if T[i, col] > eps]
        if not rows:
            raise RayTermination("Lemke's algorithm ended on a secondary ray")
        for j in [2 * n + 1, *range(n)]:
            ratios = [sign * ratio(T[i, j], T[i, col]) for i in rows]
            best = min(ratios)
            rows = [i for i, v in zip(rows, ratios) if v <= best + eps]
            if len(rows) == 1:
                break
        return rows[0]

    def pivot(row: int, col: int) -> None:
        nonlocal det
        if exact:
            p = T[row, col]
            keep = T[row].copy()
            T[:] = (p * T - np.outer(T[:, col], keep)) // det
            T[row] = keep
            det = p
            if det < 0:  # keep det > 0 so that signs in T are the true signs
                T[:] = -T
                det = -det
        else:
            T[row] = T[row] / T[row, col]
            others = T[:, col].copy()
            others[row] = 0
            nz = np.flatnonzero(others)
            T[nz] -= np.outer(others[nz], T[row])
        basis[row] = col

    row = leaving(2 * n, first=True)
    leaving_var = basis[row]
    pivot(row, 2 * n)
    for _ in range(max_pivots):
        entering = leaving_var + n if leaving_var < n else leaving_var - n  # the complement
        row = leaving(entering, first=False)
        leaving_var = basis[row]
        pivot(row, entering)
        if leaving_var == 2 * n:  # z0 left: complementary solution
            z = np.zeros(n, dtype=object if exact else float)
            if exact:
                z[:] = Fraction(0)
            for r, var in enumerate(basis):
                if n <= var < 2 * n:
                    z[var - n] = Fraction(T[r, -1], det) if exact else T[r, -1]
            return z
    raise RuntimeError(f"Lemke's algorithm did not finish in {max_pivots} pivots")


def sequence_lcp(game: gt.ExtensiveGame, exact: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(M, q, sizes)`` of the Koller–Megiddo–von Stengel LCP (payoffs shifted negative, constraints relaxed)."""
    form = sequence_form(game, exact)
    one = Fraction(1) if exact else 1.0
    top = max(max(game.leaf_payoff_exact.flat), 0)
    shift = (top if exact else float(top)) + one
    # shifting every terminal payoff by -shift adds -shift * p_chance(z) at that terminal's (s, t)
    A, B = form.A.copy(), form.B.copy()
    chance = game.leaf_chance_exact if exact else game.leaf_chance
    for (s, t), p in zip(game.leaf_sequence, chance):
        A[s, t] -= shift * p
        B[s, t] -= shift * p
    E, F = form.E, form.F
    n1, n2 = A.shape
    m1, m2 = E.shape[0], F.shape[0]
    n = n1 + n2 + m1 + m2
    dtype = object if exact else float
    M = np.zeros((n, n), dtype=dtype)
    M[:] = 0
    x, y, p, r = slice(0, n1), slice(n1, n1 + n2), slice(n1 + n2, n1 + n2 + m1), slice(n1 + n2 + m1, n)
    M[x, y] = -A
    M[x, p] = -E.T
    M[y, x] = -B.T
    M[y, r] = -F.T
    M[p, x] = E
    M[r, y] = F
    q = np.zeros(n, dtype=dtype)
    q[:] = 0
    q[n1 + n2] = -one
    q[n1 + n2 + m1] = -one
    return M, q, np.array([n1, n2, m1, m2])


@dataclass
class LCPResult:
    """Equilibria found on Lemke paths, verified; ``notes`` say what was dropped or bounded."""

    equilibria: list[SequenceSolution]
    starts: int = 0
    rays: int = 0
    unverified: int = 0
    notes: list[str] = field(default_factory=list)


def lcp_equilibria(game: gt.ExtensiveGame, exact: bool = True, max_starts: int = 64, tol: float = 1e-9) -> LCPResult:
    """Equilibria of a two-player game from Lemke paths on the sequence-form LCP.

    The first start uses the covering vector ``d = 1``; then one start per
    pure behaviour profile (in order, up to ``max_starts`` in all) with
    ``d = (costs of the other's pure plan + 1, 1)``, i.e. each player first
    best-responds to that prior. Distinct verified equilibria are returned
    in the order found (realization plans compared exactly, or within ``tol``).
    """
    M, q, (n1, n2, m1, m2) = sequence_lcp(game, exact)
    one = Fraction(1) if exact else 1.0
    starts = [np.full(len(q), one, dtype=object if exact else float)]
    priors = _pure_profiles(game, max_starts - 1)
    for prior in priors:
        xs = gt.realization_plan(game, prior, 0)
        ys = gt.realization_plan(game, prior, 1)
        d = np.full(len(q), one, dtype=object if exact else float)
        # costs of each own sequence against the other's prior plan: -A y~ and -B' x~ are columns of M
        d[:n1] = one + M[:n1, n1:n1 + n2].dot(np.array(ys, dtype=M.dtype))
        d[n1:n1 + n2] = one + M[n1:n1 + n2, :n1].dot(np.array(xs, dtype=M.dtype))
        starts.append(d)
    result = LCPResult([], starts=len(starts))
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    for d in starts:
        try:
            z = lemke(M, q, d)
        except RayTermination:
            result.rays += 1
            continue
        x, y = z[:n1], z[n1:n1 + n2]
        if not exact:
            x, y = np.clip(x, 0, None), np.clip(y, 0, None)
        behaviour = gt.behaviour_from_plans(game, (x, y), exact=exact)
        conv = gt.nash_conv(game, behaviour, exact=exact)
        if (conv != 0) if exact else (float(conv) > 1e-7):
            result.unverified += 1
            continue
        plans = (gt.realization_plan(game, behaviour, 0), gt.realization_plan(game, behaviour, 1))
        if any(_same_plans(plans, other, exact, tol) for other in seen):
            continue
        seen.append(plans)
        result.equilibria.append(SequenceSolution(plans, behaviour, gt.expected_payoffs(game, behaviour, exact=exact),
                                                  float(conv), exact=exact))
    if result.rays:
        result.notes.append(f"{result.rays} of {result.starts} Lemke paths ended on a secondary ray")
    if result.unverified:
        result.notes.append(f"{result.unverified} Lemke solutions failed the best-response check and were dropped")
    return result


def _same_plans(a, b, exact: bool, tol: float) -> bool:
    if exact:
        return all(list(u) == list(v) for u, v in zip(a, b))
    return all(np.abs(np.asarray(u, float) - np.asarray(v, float)).max() <= tol for u, v in zip(a, b))


def _pure_profiles(game: gt.ExtensiveGame, limit: int) -> list[np.ndarray]:
    """Up to ``limit`` pure behaviour profiles (one action per information set), in lexicographic order."""
    out = []
    if limit <= 0:
        return out
    ranges = [range(len(info.actions)) for info in game.infosets]
    for choice in itertools.product(*ranges):
        b = np.zeros(game.n_slots, dtype=object)
        b[:] = Fraction(0)
        for info, a in zip(game.infosets, choice):
            b[info.offset + a] = Fraction(1)
        out.append(b)
        if len(out) >= limit:
            break
    return out

"""Shared oracles for the mechanisms tests: pygambit runs cached per session, and an exact
rational equilibrium check written independently of mechanisms/normal_form/."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pygambit  # dev dependency (the oracle); never skipped



def gambit_profiles(game, result) -> list[np.ndarray]:
    """Gambit equilibria as concatenated float vectors (row strategy, then column strategy)."""
    out = []
    for eq in result.equilibria:
        out.append(np.array([float(eq[s]) for p in game.players for s in p.strategies]))
    return out


def same_set(ours: list[np.ndarray], theirs: list[np.ndarray], tol: float = 1e-8) -> bool:
    """Equal as multisets of vectors, matching within ``tol``."""
    if len(ours) != len(theirs):
        return False
    unused = list(range(len(theirs)))
    for o in ours:
        hit = next((k for k in unused if np.abs(o - theirs[k]).max() <= tol), None)
        if hit is None:
            return False
        unused.remove(hit)
    return True


def dedupe(vectors: list[np.ndarray], tol: float = 1e-9) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for v in vectors:
        if not any(np.abs(v - w).max() <= tol for w in out):
            out.append(v)
    return out


class GambitCache:
    """Memoised pygambit calls keyed by (method, game bytes, options)."""

    def __init__(self) -> None:
        self.cache: dict = {}

    def game(self, A, B):
        return pygambit.Game.from_arrays(np.asarray(A), np.asarray(B))

    def run(self, method: str, A, B, **options) -> list[np.ndarray]:
        key = (method, np.asarray(A).tobytes(), np.asarray(B).tobytes(), np.shape(A), tuple(sorted(options.items())))
        if key not in self.cache:
            game = self.game(A, B)
            result = getattr(pygambit.nash, method)(game, **options)
            self.cache[key] = gambit_profiles(game, result)
        return self.cache[key]


# ----------------------------------------------------------------------------- exact verification


def _solve_exact(M: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Gaussian elimination over the rationals; ``None`` if singular."""
    n = len(M)
    a = [row[:] + [rhs] for row, rhs in zip(M, b)]
    for c in range(n):
        pivot = next((r for r in range(c, n) if a[r][c] != 0), None)
        if pivot is None:
            return None
        a[c], a[pivot] = a[pivot], a[c]
        for r in range(n):
            if r != c and a[r][c] != 0:
                f = a[r][c] / a[c][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [a[r][n] / a[r][r] for r in range(n)]


def exact_equilibrium(A, B, row_support, col_support):
    """Solve the indifference equations on the given supports in exact arithmetic and check the
    equilibrium conditions (probabilities >= 0, no pure strategy better than the support).
    Returns the exact (x, y) or ``None`` if there is no equilibrium with these supports."""
    A = [[Fraction(int(v)) for v in row] for row in np.asarray(A)]
    B = [[Fraction(int(v)) for v in row] for row in np.asarray(B)]
    m, n = len(A), len(A[0])
    I, J = list(row_support), list(col_support)
    if len(I) != len(J):
        return None
    k = len(I)
    # y on J with v: sum_j A[i][j] y_j - v = 0 (i in I), sum y = 1
    My = [[A[i][j] for j in J] + [Fraction(-1)] for i in I] + [[Fraction(1)] * k + [Fraction(0)]]
    Mx = [[B[i][j] for i in I] + [Fraction(-1)] for j in J] + [[Fraction(1)] * k + [Fraction(0)]]
    rhs = [Fraction(0)] * k + [Fraction(1)]
    sy, sx = _solve_exact(My, rhs), _solve_exact(Mx, rhs)
    if sy is None or sx is None:
        return None
    y = [Fraction(0)] * n
    x = [Fraction(0)] * m
    for j, p in zip(J, sy[:k]):
        y[j] = p
    for i, p in zip(I, sx[:k]):
        x[i] = p
    if min(x) < 0 or min(y) < 0:
        return None
    row_pay = [sum(A[i][j] * y[j] for j in range(n)) for i in range(m)]
    col_pay = [sum(x[i] * B[i][j] for i in range(m)) for j in range(n)]
    if max(row_pay) != sy[k] or max(col_pay) != sx[k]:
        return None
    return x, y

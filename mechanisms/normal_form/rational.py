"""Exact rational arithmetic: Gauss–Jordan over ``Fraction`` and exact bimatrix equilibria."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from mechanisms.normal_form.result import Equilibrium


def _as_fraction(value: Any) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, str):
        return Fraction(value.strip())
    return Fraction(str(float(value)))


def solve_rational(M: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
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
    sy = solve_rational([[FA[i][j] for j in J] + [-one] for i in I] + [[one] * k + [zero]], rhs)
    sx = solve_rational([[FB[i][j] for i in I] + [-one] for j in J] + [[one] * k + [zero]], rhs)
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

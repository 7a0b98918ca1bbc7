"""Zero-sum games: value and optimal strategies by linear programming (von Neumann 1928; Dantzig 1951)."""

from __future__ import annotations

import numpy as np

from mechanisms.normal_form.profiles import bimatrix_equilibrium
from mechanisms.normal_form.result import NashResult


def zero_sum_value(A: np.ndarray) -> NashResult:
    """Value and optimal strategies of the zero-sum game with row payoffs ``A`` (column gets ``-A``).

    Minimax theorem as a pair of LPs (von Neumann 1928; Dantzig 1951):
    ``max_{x, v} v  s.t.  A^T x >= v 1, 1^T x = 1, x >= 0`` and
    ``min_{y, w} w  s.t.  A y <= w 1, 1^T y = 1, y >= 0``; ``v = w`` is the
    value (``NashResult.value``). Solved with ``scipy.optimize.linprog`` (HiGHS).
    """
    from scipy.optimize import linprog  # here, not at the top: importing scipy.optimize costs start-up time that runs without an LP should not pay

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
    eq = bimatrix_equilibrium(A, -A, rx.x[:m], ry.x[:n])
    return NashResult("zero_sum_lp", [eq], None, False,
                      [f"value {-rx.fun:.12g} (row LP) / {ry.fun:.12g} (column LP)"], {"value": float(-rx.fun)})

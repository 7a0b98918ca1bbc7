"""Iterated elimination of dominated strategies (pure and mixed domination)."""

from __future__ import annotations

import numpy as np


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
    from scipy.optimize import linprog  # here, not at the top: importing scipy.optimize costs start-up time that runs without an LP should not pay

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


def strict_reduction(A: np.ndarray, B: np.ndarray, tol: float) -> tuple[list[int], list[int]]:
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

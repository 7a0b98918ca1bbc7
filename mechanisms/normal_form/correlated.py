"""Correlated equilibria by linear programming (Aumann 1974; Papadimitriou & Roughgarden 2008)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mechanisms.normal_form.result import Equilibrium, NashResult


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
    from scipy.optimize import linprog  # here, not at the top: importing scipy.optimize costs start-up time that runs without an LP should not pay

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

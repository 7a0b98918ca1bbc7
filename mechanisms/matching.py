"""Optimal assignment (maximum-weight bipartite b-matching) with capacities and forbidden pairs.

Model: left agents ``i`` (e.g. customers) and right agents ``j`` (e.g.
businesses); pairing them creates value ``w_ij``. Agent ``i`` can be matched
at most ``cap_left[i]`` times, ``j`` at most ``cap_right[j]`` times, each
pair at most once, some pairs are forbidden. The welfare-optimal assignment
solves the integer program

    max  sum_ij w_ij z_ij
    s.t. sum_j z_ij <= cap_left[i],  sum_i z_ij <= cap_right[j],  z_ij in {0, 1},
         z_ij = 0 for forbidden (i, j),

whose LP relaxation is integral (the constraint matrix of a bipartite graph is
totally unimodular; Schrijver 2003, *Combinatorial Optimization*, Thm 21.1).
We solve it as an assignment problem with ``scipy.optimize.linear_sum_assignment``
(Crouse 2016, a shortest augmenting path Hungarian method) by copying each
agent once per unit of capacity and giving every left copy a zero-value
"unmatched" option, so that nobody is forced into a pair of negative value
(unless ``perfect=True``). Copies are exact when no allowed pair has capacity
above 1 on both sides (e.g. unit-demand customers, businesses with k slots);
otherwise a pair could be used twice, and the integer program is solved
directly with ``scipy.optimize.milp``. Used by the marketplace world for its
optimal-welfare baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp


@dataclass(frozen=True)
class Assignment:
    """An optimal assignment.

    ``pairs``: matched ``(i, j)``, sorted; ``total``: ``sum w_ij`` over them;
    ``left_load`` / ``right_load``: how many pairs each agent is in.
    """

    pairs: list[tuple[int, int]]
    total: float
    left_load: np.ndarray
    right_load: np.ndarray

    def partner(self, i: int) -> list[int]:
        """The right agents matched to left agent ``i``."""
        return [j for a, j in self.pairs if a == i]


def optimal_assignment(
    weights: np.ndarray,
    cap_left: Sequence[int] | int | None = None,
    cap_right: Sequence[int] | int | None = None,
    forbidden: Iterable[tuple[int, int]] | np.ndarray | None = None,
    maximize: bool = True,
    perfect: bool = False,
) -> Assignment:
    """Welfare-optimal assignment with capacities and forbidden pairs.

    Parameters
    ----------
    weights: ``(L, R)`` values ``w_ij`` (costs if ``maximize=False``); ``nan``
        or ``-inf`` (``+inf`` for costs) entries are forbidden too.
    cap_left, cap_right: capacity per agent (an int applies to all); default 1.
    forbidden: pairs ``(i, j)`` that may not be matched, or a boolean ``(L, R)`` mask.
    maximize: maximise total value (default) or minimise total cost.
    perfect: every unit of the smaller side's capacity must be used (the
        classic rectangular assignment); raises ``ValueError`` if that is
        impossible given the forbidden pairs. Otherwise agents may stay
        unmatched when every available pair would lower the objective.

    Returns
    -------
    Assignment
    """
    w = np.array(weights, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights must be a matrix (left x right), got shape {w.shape}")
    L, R = w.shape
    cl = _capacities(cap_left, L, "cap_left")
    cr = _capacities(cap_right, R, "cap_right")
    banned = ~np.isfinite(w)
    if forbidden is not None:
        f = np.asarray(forbidden)
        if f.dtype == bool:
            if f.shape != w.shape:
                raise ValueError(f"forbidden mask must have shape {w.shape}, got {f.shape}")
            banned |= f
        else:
            for i, j in (tuple(int(v) for v in pair) for pair in f.reshape(-1, 2)):
                if not (0 <= i < L and 0 <= j < R):
                    raise ValueError(f"forbidden pair ({i}, {j}) is outside the {L} x {R} weight matrix")
                banned[i, j] = True
    value = w if maximize else -w
    if ((cl[:, None] > 1) & (cr[None, :] > 1) & ~banned).any():
        pairs = _solve_milp(value, cl, cr, banned, perfect)
    else:
        pairs = _solve_copies(value, cl, cr, banned, perfect)
    total = float(sum(w[i, j] for i, j in pairs))
    left_load = np.bincount(np.array([i for i, _ in pairs], dtype=int), minlength=L)
    right_load = np.bincount(np.array([j for _, j in pairs], dtype=int), minlength=R)
    return Assignment(pairs, total, left_load, right_load)


def _solve_copies(value: np.ndarray, cl: np.ndarray, cr: np.ndarray, banned: np.ndarray, perfect: bool) -> list[tuple[int, int]]:
    """``linear_sum_assignment`` on capacity copies (exact when no allowed pair has capacity > 1 on both sides)."""
    rows = np.repeat(np.arange(len(cl)), cl)
    cols = np.repeat(np.arange(len(cr)), cr)
    if len(rows) == 0 or len(cols) == 0:
        return []
    cost = np.where(banned[np.ix_(rows, cols)], np.inf, -value[np.ix_(rows, cols)])
    if not perfect:
        # One zero-value "unmatched" column per left copy, so nobody is forced into a bad pair.
        dummy = np.full((len(rows), len(rows)), np.inf)
        np.fill_diagonal(dummy, 0.0)
        cost = np.hstack([cost, dummy])
    try:
        r_idx, c_idx = linear_sum_assignment(cost)
    except ValueError:
        raise ValueError("no feasible perfect assignment: forbidden pairs leave some agent without a partner") from None
    return sorted((int(rows[r]), int(cols[c])) for r, c in zip(r_idx, c_idx) if c < len(cols))


def _solve_milp(value: np.ndarray, cl: np.ndarray, cr: np.ndarray, banned: np.ndarray, perfect: bool) -> list[tuple[int, int]]:
    """The b-matching integer program with ``scipy.optimize.milp`` (its LP relaxation is integral)."""
    L, R = value.shape
    allowed = np.argwhere(~banned)
    if len(allowed) == 0:
        return []
    k = len(allowed)
    rows_c = np.zeros((L, k))
    rows_c[allowed[:, 0], np.arange(k)] = 1.0
    cols_c = np.zeros((R, k))
    cols_c[allowed[:, 1], np.arange(k)] = 1.0
    constraints = [LinearConstraint(rows_c, 0, cl), LinearConstraint(cols_c, 0, cr)]
    if perfect:
        need = min(cl.sum(), cr.sum())
        constraints.append(LinearConstraint(np.ones((1, k)), need, need))
    res = milp(-value[allowed[:, 0], allowed[:, 1]], constraints=constraints, integrality=np.ones(k),
               bounds=Bounds(0, 1))
    if res.status != 0:
        raise ValueError(f"no feasible assignment: {res.message}")
    return sorted((int(i), int(j)) for (i, j), z in zip(allowed, res.x) if z > 0.5)


def _capacities(cap: Sequence[int] | int | None, size: int, name: str) -> np.ndarray:
    if cap is None:
        return np.ones(size, dtype=int)
    c = np.full(size, cap, dtype=int) if np.ndim(cap) == 0 else np.asarray(cap, dtype=int)
    if c.shape != (size,) or (c < 0).any():
        raise ValueError(f"{name} must be a non-negative int or one non-negative int per agent ({size}); got {cap!r}")
    return c

"""Support enumeration for bimatrix games (von Stengel 2007, Algorithm 3.4)."""

from __future__ import annotations

import warnings

import numpy as np

from mechanisms.normal_form.dominance import strict_reduction
from mechanisms.normal_form.polytope import polytopes
from mechanisms.normal_form.profiles import bimatrix_args, bimatrix_equilibrium, sort_equilibria
from mechanisms.normal_form.result import DegenerateGameError, DegenerateGameWarning, NashResult


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
    A, B = bimatrix_args(A, B)
    rows, cols = (strict_reduction(A, B, 1e-12) if reduce else (list(range(A.shape[0])), list(range(A.shape[1]))))
    a, b = A[np.ix_(rows, cols)], B[np.ix_(rows, cols)]
    Q, P = polytopes(a, b, tol, full_labels=False)
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
            equilibria.append(bimatrix_equilibrium(A, B, x, y))
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
    return NashResult("support_enumeration", sort_equilibria(equilibria), degenerate, not degenerate, notes,
                      {"tol": tol, "reduce": reduce})

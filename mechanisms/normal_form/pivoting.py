"""The Lemke–Howson algorithm (Lemke & Howson 1964; von Stengel 2007, Sec. 3.5) and its accessible equilibria."""

from __future__ import annotations

import numpy as np

from mechanisms.normal_form.profiles import bimatrix_args, bimatrix_equilibrium, rescale_positive, sort_equilibria
from mechanisms.normal_form.result import Equilibrium, NashResult


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


def lemke_howson(A: np.ndarray, B: np.ndarray | None = None, initial_label: int = 0, max_pivots: int = 100_000) -> NashResult:
    """One Nash equilibrium by the Lemke–Howson algorithm (Lemke & Howson 1964; von Stengel 2007, Alg. 3.6).

    Starting from the artificial equilibrium ``(0, 0)`` of the best-response
    polytopes, drop ``initial_label`` (``0..m-1`` = row strategies,
    ``m..m+n-1`` = column strategies) and pivot complementarily until it is
    picked up again. Bounded by ``max_pivots`` (raises ``RuntimeError``);
    lexicographic pivoting keeps degenerate games from cycling.
    """
    A, B = bimatrix_args(A, B)
    m, n = A.shape
    if not 0 <= initial_label < m + n:
        raise ValueError(f"initial_label must be in 0..{m + n - 1}, got {initial_label}")
    tab = _LHTableau(rescale_positive(A), rescale_positive(B))
    tab.path(initial_label, max_pivots)
    x, y = _polish(A, B, *tab.point())
    return NashResult("lemke_howson", [bimatrix_equilibrium(A, B, x, y)], None, False, [],
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
    A, B = bimatrix_args(A, B)
    m, n = A.shape
    start = _LHTableau(rescale_positive(A), rescale_positive(B))
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
            eq = bimatrix_equilibrium(A, B, x, y)
            found.setdefault(tuple(np.round(np.concatenate(eq.strategies), 9)), eq)
            if len(found) > max_equilibria:
                raise RuntimeError(f"more than {max_equilibria} equilibria; raise max_equilibria=")
            if recursive:
                frontier.append(nxt)
    return NashResult("lemke_howson_all", sort_equilibria(list(found.values())), None, False,
                      ["accessible equilibria only; not necessarily all equilibria"],
                      {"recursive": recursive, "max_pivots": max_pivots})

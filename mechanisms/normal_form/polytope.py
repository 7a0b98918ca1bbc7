"""Vertices of the best-response polytopes of a bimatrix game (von Stengel 2007, Sec. 3.3), batched,
with the conditioning test that decides which support systems are regular."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from mechanisms.normal_form.profiles import rescale_positive
from mechanisms.normal_form.rational import solve_rational


@lru_cache(maxsize=64)
def _combos(n: int, k: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), k)), dtype=np.intp).reshape(-1, k)


_CHUNK = 40_000  # support pairs solved per batch (bounds memory at ~ CHUNK * k^2 floats)


@dataclass
class Vertices:
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
        exact = solve_rational([[Fraction(float(v)) for v in row] for row in systems[t]], [Fraction(1)] * k)
        if exact is not None:
            ok[t] = True
            z[t] = [float(v) for v in exact]
    return ok, z


def _vertices(M: np.ndarray, tol: float, full_labels: bool) -> Vertices:
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
                candidates = np.flatnonzero(keep)  # fixed before assigning: the two targets share the mask
                keep[candidates], z[candidates] = _well_posed(sub[candidates], z[candidates])
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
        return Vertices(np.zeros((0, c)), np.zeros((0, r), bool), np.zeros((0, c), bool),
                         np.zeros(0, np.int64), np.zeros(0, np.int64), degenerate)
    return Vertices(
        np.concatenate(pts),
        np.concatenate(tights) if full_labels else np.zeros((0, r), bool),
        np.concatenate(zeros) if full_labels else np.zeros((0, c), bool),
        np.concatenate(rows_m), np.concatenate(cols_m), degenerate,
    )


def polytopes(A: np.ndarray, B: np.ndarray, tol: float, full_labels: bool) -> tuple[Vertices, Vertices]:
    """Vertices of Q = {y >= 0: A y <= 1} and P = {x >= 0: B^T x <= 1} (payoffs made positive)."""
    Ap, Bp = rescale_positive(A), rescale_positive(B)
    return _vertices(Ap, tol, full_labels), _vertices(Bp.T, tol, full_labels)

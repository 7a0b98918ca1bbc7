"""Vertex enumeration for bimatrix games, degenerate ones included (Avis, Rosenberg, Savani & von Stengel 2010)."""

from __future__ import annotations

import numpy as np

from mechanisms.normal_form.polytope import Vertices, polytopes
from mechanisms.normal_form.profiles import bimatrix_args, bimatrix_equilibrium, sort_equilibria
from mechanisms.normal_form.result import DegenerateGameError, NashResult
from mechanisms.normal_form.support import support_enumeration


def vertex_enumeration(A: np.ndarray, B: np.ndarray | None = None, tol: float = 1e-10) -> NashResult:
    """All extreme Nash equilibria of a bimatrix game, degenerate or not.

    von Stengel (2007), Sec. 3.3 / Thm 3.6 and Avis, Rosenberg, Savani & von
    Stengel (2010), "Enumeration of Nash equilibria for two-player games":
    ``(x, y)`` (rescaled) is an extreme equilibrium iff ``x`` is a vertex of
    ``P = {x >= 0: B^T x <= 1}``, ``y`` a vertex of ``Q = {y >= 0: A y <= 1}``,
    ``(x, y) != (0, 0)``, and the pair is *completely labelled*: every row
    ``i`` has ``x_i = 0`` or ``(A y)_i = 1`` and every column ``j`` has
    ``y_j = 0`` or ``(B^T x)_j = 1``. Degenerate vertices (more labels than
    the dimension) are found from any nonsingular defining subsystem and
    deduplicated, so degenerate games are handled; in a degenerate game the
    equilibrium set is a finite union of polytopes (maximal Nash subsets)
    whose vertices are these extreme equilibria — the same set Gambit's
    ``enummixed_solve`` reports.
    """
    A, B = bimatrix_args(A, B)
    m, n = A.shape
    Q, P = polytopes(A, B, tol, full_labels=True)
    degenerate = Q.degenerate or P.degenerate

    def unique(V: Vertices, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One copy of each vertex (a degenerate vertex is found from several defining subsystems)."""
        if len(V.points) == 0 or not degenerate:
            return V.points, labels
        kept: list[int] = []
        for k, point in enumerate(V.points):
            if not kept or np.abs(V.points[kept] - point).max(axis=1).min() > 1e-8:
                kept.append(k)
        return V.points[kept], labels[kept]

    # Labels 0..m-1 are rows, m..m+n-1 are columns.
    qx, q_labels = unique(Q, np.hstack([Q.tight, Q.zero]))  # y: tight rows, zero columns
    px, p_labels = unique(P, np.hstack([P.zero, P.tight]))  # x: zero rows, tight columns
    missing = (~p_labels).astype(np.int32) @ (~q_labels).astype(np.int32).T  # labels absent from both
    equilibria = [bimatrix_equilibrium(A, B, px[i], qx[j]) for i, j in zip(*np.nonzero(missing == 0))]
    notes = []
    if degenerate:
        notes.append("degenerate game: these are the extreme equilibria; convex combinations of extreme "
                     "equilibria in the same maximal Nash subset are equilibria too")
    return NashResult("vertex_enumeration", sort_equilibria(equilibria), degenerate, True, notes, {"tol": tol})


def equilibria(A: np.ndarray, B: np.ndarray | None = None, tol: float = 1e-10) -> NashResult:
    """All equilibria: support enumeration, falling back to vertex enumeration on degenerate games."""
    try:
        return support_enumeration(A, B, tol=tol)
    except DegenerateGameError:
        return vertex_enumeration(A, B, tol=tol)

"""Nash equilibria of N-player games by simplicial subdivision with restarts.

Algorithm: Merrill's restart algorithm (O. H. Merrill 1972, "Applications and extensions of an
algorithm that computes fixed points of certain upper semi-continuous point to set mappings",
PhD thesis, Michigan; Todd 1976, *The Computation of Fixed Points and Applications*, ch. 5),
the simplicial-subdivision family that Gambit's ``simpdiv`` (van der Laan & Talman 1979)
belongs to, applied to Nash's (1951) map

    f_i(a) = (x_i(a) + max(0, g_i(a))) / (1 + sum_b max(0, g_i(b))),   g_i(a) = v_i(a) - v_i(x),

whose fixed points are exactly the Nash equilibria. The product of simplices is written in
cumulative coordinates ``z_{i,k} = m (x_i(1) + ... + x_i(k))``, where each player's simplex
``0 <= z_{i,1} <= ... <= z_{i,m_i-1} <= m`` is a union of simplices of Freudenthal's (K1)
triangulation of mesh ``1/m``. One extra coordinate ``t`` in {0, 1} joins the trivial
map ``c - x`` (at ``t = 0``, with the single zero ``c``) to ``f(x) - x`` (at ``t = 1``): starting
from the facet at ``t = 0`` that contains ``c``, complementary pivots (vector labels ``[1; l(v)]``,
lexicographic ratio test, the K1 pivot rule) walk through completely labelled facets until one
lies at ``t = 1``, an approximate fixed point of ``f``. The grid is then refined (``m`` doubled)
and the walk restarted from that point. Approximations are polished on their supports
(``mechanisms.nash_refine``) and returned only when every regret is at most ``eps`` x payoff range.
"""

from __future__ import annotations

import numpy as np

from mechanisms.nash_refine import exact_profile, polish_on_supports
from mechanisms.normal_form import Equilibrium, NashResult, action_values, expected_payoffs, regret


def nash_map(u: np.ndarray, sigma: list[np.ndarray]) -> list[np.ndarray]:
    """Nash's (1951) improvement map; its fixed points are the equilibria."""
    out = []
    for s, v in zip(sigma, action_values(u, sigma)):
        gain = np.maximum(0.0, v - v @ s)
        out.append((s + gain) / (1.0 + gain.sum()))
    return out


def _project_simplex(x: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the probability simplex (Held, Wolfe & Crowder 1974)."""
    s = np.sort(x)[::-1]
    cumulative = np.cumsum(s) - 1.0
    k = np.flatnonzero(s - cumulative / np.arange(1, len(x) + 1) > 0)[-1]
    return np.maximum(x - cumulative[k] / (k + 1), 0.0)


class _Grid:
    """Cumulative coordinates of mesh ``1/m`` for the product of simplices, and vertex labels."""

    def __init__(self, u: np.ndarray, m: int, centre: list[np.ndarray]) -> None:
        self.u, self.m, self.centre = u, m, centre
        self.sizes = list(u.shape[1:])
        self.blocks = np.cumsum([0] + [k - 1 for k in self.sizes])
        self.D = int(self.blocks[-1])

    def strategies(self, z: np.ndarray) -> list[np.ndarray]:
        out = []
        for i, k in enumerate(self.sizes):
            cum = np.r_[0.0, z[self.blocks[i]:self.blocks[i + 1]] / self.m, 1.0]
            out.append(np.diff(cum))
        return out

    def label(self, vertex: np.ndarray) -> np.ndarray:
        """``[1; l]`` with ``l`` = (target - x) without each player's last component; target is ``c``
        at ``t = 0`` and ``f(proj x)`` at ``t = 1`` (projection extends ``f`` beyond the simplices)."""
        x = self.strategies(vertex[:-1].astype(float))
        if vertex[-1] == 0:
            target = self.centre
        else:
            target = nash_map(self.u, [_project_simplex(s) for s in x])
        return np.r_[1.0, np.concatenate([(t - s)[:-1] for t, s in zip(target, x)])]


def _vertices(base: np.ndarray, perm: list[int]) -> list[np.ndarray]:
    out = [base.copy()]
    for axis in perm:
        nxt = out[-1].copy()
        nxt[axis] += 1
        out.append(nxt)
    return out


def _walk(grid: _Grid, max_pivots: int) -> list[np.ndarray]:
    """One restart: from the facet at t = 0 containing the centre to a completely labelled facet at t = 1."""
    D = grid.D
    z = np.concatenate([grid.m * np.cumsum(c)[:-1] for c in grid.centre])
    base = np.floor(z).astype(np.int64)
    frac = z - base
    perm = [int(a) for a in np.argsort(-frac, kind="stable")] + [D]  # t steps last: the facet y^0..y^D is at t = 0
    base = np.r_[base, 0]
    verts = _vertices(base, perm)
    facet = list(range(D + 1))  # indices into verts of the completely labelled facet
    labels = {k: grid.label(verts[k]) for k in facet}
    entering = D + 1
    rhs = np.zeros(D + 1)
    rhs[0] = 1.0
    for _ in range(max_pivots):
        M = np.column_stack([labels[k] for k in facet])
        new_label = grid.label(verts[entering])
        try:
            inverse = np.linalg.inv(M)
        except np.linalg.LinAlgError:
            raise RuntimeError("simpdiv: singular labelling matrix (degenerate pivot)") from None
        lam = inverse @ rhs
        direction = inverse @ new_label
        candidates = [r for r in range(D + 1) if direction[r] > 1e-12]
        if not candidates:
            raise RuntimeError("simpdiv: unbounded ray in the ratio test")
        # Lexicographic minimum ratio: (lam, inverse rows) / direction.
        keys = {r: tuple(np.r_[lam[r], inverse[r]] / direction[r]) for r in candidates}
        leave_pos = min(candidates, key=lambda r: keys[r])
        leaving = facet[leave_pos]
        facet[leave_pos] = entering
        labels[entering] = new_label
        del labels[leaving]
        if all(verts[k][-1] == 1 for k in facet):  # done: approximate zero of f(x) - x
            M = np.column_stack([labels[k] for k in facet])
            weights = np.clip(np.linalg.solve(M, rhs), 0.0, None)
            weights /= weights.sum()
            point = sum(w * verts[k][:-1].astype(float) for w, k in zip(weights, facet))
            return [_project_simplex(s) for s in grid.strategies(point)]
        # K1 pivot rule (Todd 1976, ch. 4): replace vertex `leaving` of the simplex (base, perm);
        # remap maps the kept vertices' old indices to new ones, `entering` is the new vertex.
        n = len(perm)
        base = base.copy()
        if leaving == 0:
            base[perm[0]] += 1
            perm = perm[1:] + perm[:1]
            remap = {old: old - 1 for old in range(1, n + 1)}
            entering = n
        elif leaving == n:
            base[perm[-1]] -= 1
            perm = perm[-1:] + perm[:-1]
            remap = {old: old + 1 for old in range(n)}
            entering = 0
        else:
            perm = perm.copy()
            perm[leaving - 1], perm[leaving] = perm[leaving], perm[leaving - 1]
            remap = {old: old for old in range(n + 1) if old != leaving}
            entering = leaving
        new_verts = _vertices(base, perm)
        facet = [remap[k] for k in facet]
        labels = {remap[k]: v for k, v in labels.items()}
        verts = new_verts
        if verts[entering][-1] not in (0, 1):
            raise RuntimeError("simpdiv: the path left the homotopy's prism")
    raise RuntimeError(f"simpdiv: no completely labelled facet at t = 1 within {max_pivots} pivots")


def approximate_equilibrium(payoffs: np.ndarray, mesh: int, start: list[np.ndarray] | None = None,
                            first_mesh: int = 4, max_pivots: int = 200_000) -> list[np.ndarray]:
    """The unpolished restart sequence: approximate fixed points of Nash's map at meshes
    ``1/first_mesh, 1/(2 first_mesh), ...`` up to ``1/mesh``; returns the last one."""
    u = np.asarray(payoffs, dtype=float)
    centre = [np.full(k, 1.0 / k) for k in u.shape[1:]] if start is None else [np.asarray(s, float) for s in start]
    m = first_mesh
    while m <= mesh:
        centre = _walk(_Grid(u, m, _off_grid(centre, m)), max_pivots)
        m *= 2
    return centre


def _off_grid(centre: list[np.ndarray], m: int) -> list[np.ndarray]:
    """Nudge the restart centre off the grid's hyperplanes so the start facet is nondegenerate."""
    out = []
    for c in centre:
        j = np.linspace(1.0, 2.0, len(c))
        out.append((1 - 1e-3 / m) * c + 1e-3 / m * j / j.sum())
    return out


def simpdiv(payoffs: np.ndarray, exact_payoffs: np.ndarray | None = None, start: list[np.ndarray] | None = None,
            eps: float = 1e-9, first_mesh: int = 4, max_mesh: int = 2 ** 14, max_pivots: int = 200_000) -> NashResult:
    """A Nash equilibrium of an N-player game by simplicial subdivision with restarts (see module docstring).

    Parameters
    ----------
    payoffs: array ``(n, a_1, ..., a_n)``.
    exact_payoffs: the same as ``Fraction``\\ s, to confirm the answer exactly.
    start: the first restart centre (default: uniform play, as Gambit's ``simpdiv_solve``).
    eps: regret bound relative to the payoff range ``max u - min u``.
    first_mesh, max_mesh: the grid ``1/m`` starts at ``1/first_mesh`` and halves up to ``1/max_mesh``.
    """
    u = np.asarray(payoffs, dtype=float)
    scale = float(u.max() - u.min()) or 1.0
    bound = eps * scale
    centre = [np.full(k, 1.0 / k) for k in u.shape[1:]] if start is None else [np.asarray(s, float) for s in start]
    m, found, meshes = first_mesh, None, []
    while m <= max_mesh:
        centre = _walk(_Grid(u, m, _off_grid(centre, m)), max_pivots)
        meshes.append(m)
        for threshold in (1e-6, 1e-3, 0.5 / m, 2.0 / m):
            polished = polish_on_supports(u, centre, bound, support_tol=threshold)
            if polished is not None:
                found = polished
                break
        if found is not None:
            break
        m *= 2
    params = {"eps": eps, "regret_bound": bound, "meshes": meshes}
    if found is None:
        r = float(regret(u, centre).max())
        return NashResult("simpdiv", [], None, False,
                          [f"no profile with regret <= {bound:.3g} by mesh 1/{meshes[-1]}; last regret {r:.3g}"], params)
    eq = Equilibrium(tuple(found), expected_payoffs(u, found))
    params["regret"] = float(regret(u, found).max())
    if exact_payoffs is not None:
        exact = exact_profile(exact_payoffs, found)
        params["exact"] = exact is not None
        if exact is not None:
            params["exact_strategies"] = [[str(p) for p in s] for s in exact]
    notes = [f"simplicial subdivision with restarts (meshes 1/{', 1/'.join(map(str, meshes))}), polished on its supports; "
             f"max regret {params['regret']:.2g} <= {bound:.2g}"]
    return NashResult("simpdiv", [eq], None, False, notes, params)

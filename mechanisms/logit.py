"""Logit quantal response equilibria of N-player games, and Nash equilibria as their limit.

Model (McKelvey & Palfrey 1995, "Quantal response equilibria for normal form games",
GEB 10, eq. (4)): at precision ``lam`` every player mixes by the logit rule

    sigma_i(a) = exp(lam v_i(a)) / sum_b exp(lam v_i(b)),   v_i(a) = u_i(a, sigma_{-i}).

At ``lam = 0`` the only QRE is uniform play. For generic games the QRE
correspondence contains a unique branch from there that converges, as
``lam -> inf``, to a Nash equilibrium, the "limiting logit equilibrium"
(McKelvey & Palfrey 1995, Thm 2; Turocy 2005, "A dynamic homotopy interpretation
of the logit quantal response equilibrium correspondence", GEB 51). Like Gambit's
``logit`` we trace that branch by pseudo-arclength continuation in ``(w, lam)``
with ``w = log sigma`` (so turning points in ``lam`` are passed), a tangent
predictor and a Newton corrector on

    F_i(w, lam) = w_i - lam v_i(sigma) + logsumexp(lam v_i(sigma)) = 0   (each player i).

Which branch: on asymmetric games the points equal Gambit's ``logit_solve_lambda``
to 1e-8 and the limit equals Gambit's ``logit_solve`` to 1e-6 (tests/mechanisms/test_nplayer.py).
In symmetric games the continuation keeps the symmetric branch through
symmetry-breaking (pitchfork) bifurcations, where Gambit's tracer leaves for an
asymmetric branch; both are valid QRE. :func:`logit_branch` returns the points so
a caller can see which was followed.

:func:`logit_solve` stops once the branch point's regret is small, then polishes
on its supports (``mechanisms.nash_refine``) and returns a Nash equilibrium whose
regret is at most ``eps`` (stated in ``NashResult.parameters``), exact where rational.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from mechanisms.nash_refine import cross_values, exact_profile, polish_on_supports
from mechanisms.normal_form import Equilibrium, NashResult, action_values, expected_payoffs, regret


def _lse(v: np.ndarray) -> float:
    top = v.max()
    return float(top + np.log(np.exp(v - top).sum()))


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


class _LogitSystem:
    """``F(w, lam)`` and its Jacobian for the payoff array ``u`` (shape ``(n, a_1, ..., a_n)``)."""

    def __init__(self, u: np.ndarray) -> None:
        self.u = u
        self.sizes = list(u.shape[1:])
        self.offsets = np.cumsum([0] + self.sizes)

    def split(self, w: np.ndarray) -> list[np.ndarray]:
        return [np.exp(w[self.offsets[i]:self.offsets[i + 1]]) for i in range(len(self.sizes))]

    def F(self, w: np.ndarray, lam: float) -> np.ndarray:
        values = action_values(self.u, self.split(w))
        return np.concatenate([w[self.offsets[i]:self.offsets[i + 1]] - lam * v + _lse(lam * v)
                               for i, v in enumerate(values)])

    def J(self, w: np.ndarray, lam: float) -> np.ndarray:
        """Jacobian in ``(w, lam)``: shape ``(d, d + 1)`` with ``d = sum a_i``."""
        sigma = self.split(w)
        values = action_values(self.u, sigma)
        d = int(self.offsets[-1])
        out = np.zeros((d, d + 1))
        o = self.offsets
        for i, v in enumerate(values):
            s = _softmax(lam * v)
            out[o[i]:o[i + 1], o[i]:o[i + 1]] = np.eye(self.sizes[i])
            for j in range(len(self.sizes)):
                if j != i:
                    C = cross_values(self.u, sigma, i, j)
                    out[o[i]:o[i + 1], o[j]:o[j + 1]] = -lam * (C - s @ C) * sigma[j][None, :]
            out[o[i]:o[i + 1], -1] = -(v - s @ v)
        return out


def _newton(system: _LogitSystem, guess: np.ndarray, tangent: np.ndarray, origin: np.ndarray, step: float,
            tol: float, iters: int = 10) -> np.ndarray | None:
    """Chord Newton on ``[F(z) = 0, tangent . (z - origin) = step]``: the Jacobian is factored once at
    the predicted point and reused (steps are short, so this converges fast and costs one Jacobian);
    ``None`` if it does not converge, and the caller halves the step."""
    z = guess.copy()
    try:
        factors = lu_factor(np.vstack([system.J(z[:-1], z[-1]), tangent]))
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not np.isfinite(factors[0]).all() or np.abs(np.diag(factors[0])).min() < 1e-14:
        return None
    for _ in range(iters):
        r = np.r_[system.F(z[:-1], z[-1]), tangent @ (z - origin) - step]
        dz = lu_solve(factors, -r)
        z = z + dz
        if not np.isfinite(z).all():
            return None
        if np.abs(dz).max() < tol:
            return z
    return None


def _trace(u: np.ndarray, stop, max_steps: int, first_step: float = 0.03, max_growth: float = 1.5):
    """Yield points ``(sigma, lam)`` of the principal branch from ``lam = 0`` until ``stop(z, tangent)``.

    ``stop`` sees the current point and may return ``True`` to end the trace.
    """
    system = _LogitSystem(u)
    z = np.r_[np.concatenate([np.full(k, -np.log(k)) for k in system.sizes]), 0.0]
    tangent = np.zeros(len(z))
    tangent[-1] = 1.0
    h = first_step
    yield system, z, tangent
    for _ in range(max_steps):
        q, _ = np.linalg.qr(system.J(z[:-1], z[-1]).T, mode="complete")
        t_new = q[:, -1]
        tangent = t_new if t_new @ tangent >= 0 else -t_new
        if stop(z, tangent):
            return
        step = h
        for _attempt in range(40):
            z_new = _newton(system, z + step * tangent, tangent, z, step, 1e-11)
            if z_new is not None:
                break
            step /= 2
        else:
            raise RuntimeError("logit: continuation step size underflow")
        z = z_new
        # Longer steps once lambda is large: play settles and the branch straightens in w.
        h = min(step * max_growth, max(0.5, 0.2 * abs(z[-1])))
        yield system, z, tangent
    raise RuntimeError(f"logit: the branch was not finished within {max_steps} continuation steps")


def logit_branch(payoffs: np.ndarray, lam_max: float, max_steps: int = 100_000) -> list[tuple[float, list[np.ndarray]]]:
    """Points ``(lam, sigma)`` of the principal branch from ``lam = 0`` up to ``lam_max``."""
    u = np.asarray(payoffs, dtype=float)
    points = []
    for system, z, _t in _trace(u, lambda z, t: z[-1] >= lam_max, max_steps):
        points.append((float(z[-1]), system.split(z[:-1])))
    return points


def logit_qre_at(payoffs: np.ndarray, lam: float, max_steps: int = 100_000) -> NashResult:
    """The logit QRE of an N-player game at precision ``lam`` on the principal branch.

    Traced from ``lam = 0`` (see module docstring); the last step lands exactly on
    ``lam`` by Newton at fixed ``lam``. Payoffs are used as given, so ``lam`` is in
    units of 1 / payoff (as in Gambit's ``logit_solve_lambda``).
    """
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    u = np.asarray(payoffs, dtype=float)
    last = None
    for item in _trace(u, lambda z, t: t[-1] > 0 and z[-1] + 0.5 * t[-1] >= lam or z[-1] >= lam, max_steps):
        last = item
    system, z, tangent = last
    w = z[:-1] + (lam - z[-1]) / tangent[-1] * tangent[:-1] if tangent[-1] > 0 else z[:-1]
    for _ in range(100):
        dw = np.linalg.lstsq(system.J(w, lam)[:, :-1], -system.F(w, lam), rcond=None)[0]  # singular at a bifurcation
        w = w + dw
        if np.abs(dw).max() < 1e-12:
            break
    else:
        raise RuntimeError("logit: Newton at the target lambda did not converge")
    sigma = system.split(w)
    sigma = [s / s.sum() for s in sigma]
    eq = Equilibrium(tuple(sigma), expected_payoffs(u, sigma))
    return NashResult("logit_qre", [eq], None, False, [f"logit QRE at lambda = {lam:g} (principal branch)"],
                      {"lam": float(lam)})


def logit_solve(payoffs: np.ndarray, exact_payoffs: np.ndarray | None = None, eps: float = 1e-9,
                lam_max: float = 1e7, max_steps: int = 100_000) -> NashResult:
    """A Nash equilibrium of an N-player game as the limit of the principal logit branch.

    The branch is traced until its profile's regret (relative to the payoff range) drops below
    ``1e-4`` or ``lam`` exceeds ``lam_max``; the profile is then polished on its supports by Newton.
    The result is returned only if every player's regret is at most ``eps * range`` (``eps``
    relative to ``max u - min u``); ``exact_payoffs`` (Fractions) lets it be confirmed exactly.
    """
    u = np.asarray(payoffs, dtype=float)
    scale = float(u.max() - u.min()) or 1.0
    bound = eps * scale
    found: list[np.ndarray] | None = None
    best: tuple[float, list[np.ndarray]] | None = None
    lam_reached = 0.0

    def stop(z: np.ndarray, tangent: np.ndarray) -> bool:
        nonlocal found, best, lam_reached
        lam_reached = float(z[-1])
        sigma = _LogitSystem(u).split(z[:-1])
        sigma = [s / s.sum() for s in sigma]
        r = float(regret(u, sigma).max())
        if best is None or r < best[0]:
            best = (r, sigma)
        if r < 1e-4 * scale and z[-1] > 1.0:
            polished = polish_on_supports(u, sigma, bound)
            if polished is not None:
                found = polished
                return True
        return z[-1] >= lam_max

    for _ in _trace(u, stop, max_steps):
        pass
    notes = []
    if found is None:
        notes.append(f"the branch reached lambda = {lam_reached:.3g} without a profile of regret <= {bound:.3g}; "
                     f"best regret seen {best[0]:.3g}")
        return NashResult("logit", [], None, False, notes, {"eps": eps, "regret_bound": bound, "lam": lam_reached})
    eq = Equilibrium(tuple(found), expected_payoffs(u, found))
    r = float(regret(u, found).max())
    params = {"eps": eps, "regret_bound": bound, "regret": r, "lam": lam_reached}
    if exact_payoffs is not None:
        exact = exact_profile(exact_payoffs, found)
        params["exact"] = exact is not None
        if exact is not None:
            eq = Equilibrium(tuple(np.array([float(p) for p in s]) for s in exact),
                             expected_payoffs(u, [np.array([float(p) for p in s]) for s in exact]))
            params["exact_strategies"] = [[str(p) for p in s] for s in exact]
    notes.append(f"limit of the principal logit branch (traced to lambda = {lam_reached:.3g}), polished on its supports; "
                 f"max regret {r:.2g} <= {bound:.2g}")
    return NashResult("logit", [eq], None, False, notes, params)


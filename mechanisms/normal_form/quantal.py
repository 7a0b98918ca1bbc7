"""Logit quantal response equilibria of bimatrix games (McKelvey & Palfrey 1995); N players: ``mechanisms.logit``."""

from __future__ import annotations

import numpy as np

from mechanisms.normal_form.profiles import bimatrix_args, bimatrix_equilibrium
from mechanisms.normal_form.result import NashResult


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def logit_qre(A: np.ndarray, B: np.ndarray | None = None, lam: float = 1.0, max_step: float = 0.1,
              tol: float = 1e-13, max_iter: int = 100_000) -> NashResult:
    """The logit quantal response equilibrium at precision ``lam`` on the principal branch.

    McKelvey & Palfrey (1995), eq. (4): ``x_i ∝ exp(lam (A y)_i)``,
    ``y_j ∝ exp(lam (x^T B)_j)``. At ``lam = 0`` the unique QRE is uniform
    play; the principal branch is followed to ``lam`` by pseudo-arclength
    continuation in ``(w, lam)`` with ``w`` the log-probabilities (so turning
    points of the branch are passed as Gambit's ``logit_solve_lambda`` does),
    a tangent predictor and a Newton corrector on

        F(w, lam) = [w_x - lam A y + logsumexp(lam A y);  w_y - lam B^T x + logsumexp(lam B^T x)] = 0.

    Payoffs are used as given (no rescaling), so ``lam`` is in units of 1 / payoff.
    Never loops forever: at most ``max_iter`` steps (``RuntimeError`` beyond).

    Which branch: on asymmetric games this is the branch Gambit's ``logit_solve_lambda``
    follows (same points to 1e-8). In *symmetric* games (``B = A^T``) the continuation keeps
    the symmetric branch ``x = y`` through symmetry-breaking bifurcations, where Gambit's
    tracer leaves it for an asymmetric branch (on random 3x3 symmetric games from lambda about
    0.6 to 1.1; the 1.372 of issue 19 is one such case). Both are valid QRE (fixed-point
    residual below 1e-12, checked in tests/mechanisms/test_nplayer.py); this one is the
    symmetric QRE of the symmetric game. At a bifurcation point itself the Jacobian is
    singular and the final corrector falls back to least squares.
    """
    A, B = bimatrix_args(A, B)
    m, n = A.shape
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")

    def F(w: np.ndarray, t: float) -> np.ndarray:
        x, y = np.exp(w[:m]), np.exp(w[m:])
        ga, gb = t * (A @ y), t * (B.T @ x)
        return np.r_[w[:m] - ga + _lse(ga), w[m:] - gb + _lse(gb)]

    def J(w: np.ndarray, t: float) -> np.ndarray:
        """Jacobian of F with respect to (w, t): (m+n) x (m+n+1)."""
        x, y = np.exp(w[:m]), np.exp(w[m:])
        va, vb = A @ y, B.T @ x
        sa, sb = _softmax(t * va), _softmax(t * vb)
        out = np.zeros((m + n, m + n + 1))
        out[:m, :m] = np.eye(m)
        out[m:, m:m + n] = np.eye(n)
        out[:m, m:m + n] = -t * (A - sa @ A) * y[None, :]          # d/dw_y of -t (A y)_i + lse
        out[m:, :m] = -t * (B.T - sb @ B.T) * x[None, :]          # d/dw_x of -t (B^T x)_j + lse
        out[:m, -1] = -(va - sa @ va)
        out[m:, -1] = -(vb - sb @ vb)
        return out

    z = np.r_[np.full(m, -np.log(m)), np.full(n, -np.log(n)), 0.0]
    tangent = np.zeros(m + n + 1)
    tangent[-1] = 1.0
    h = min(max_step, 0.03)
    steps = 0
    while z[-1] < lam:
        steps += 1
        if steps > max_iter:
            raise RuntimeError(f"logit_qre: no convergence within {max_iter} continuation steps")
        # Tangent: null vector of J, oriented like the previous tangent.
        Jz = J(z[:-1], z[-1])
        q, _ = np.linalg.qr(Jz.T, mode="complete")
        t_new = q[:, -1]
        if t_new @ tangent < 0:
            t_new = -t_new
        tangent = t_new
        if tangent[-1] > 0 and z[-1] + h * tangent[-1] >= lam:
            break  # lam is within one step: finish with Newton at fixed lam
        step = h
        for _attempt in range(60):
            ok, z_new = _newton_arclength(F, J, z + step * tangent, tangent, z, step, tol)
            if ok:
                break
            step /= 2
        else:
            raise RuntimeError("logit_qre: continuation step size underflow")
        z = z_new
        h = min(max(max_step, 0.1 * z[-1]), step * 1.5)  # longer steps once lambda is large (play settles)
    w = z[:-1] + (lam - z[-1]) / tangent[-1] * tangent[:-1] if tangent[-1] > 0 else z[:-1]
    for _ in range(100):
        dw = np.linalg.lstsq(J(w, lam)[:, :-1], -F(w, lam), rcond=None)[0]  # lstsq: singular at a bifurcation
        w = w + dw
        if np.abs(dw).max() < tol:
            break
    else:
        raise RuntimeError("logit_qre: Newton at the target lambda did not converge")
    z = np.r_[w, lam]
    x, y = np.exp(z[:m]), np.exp(z[m:m + n])
    eq = bimatrix_equilibrium(A, B, x, y)
    return NashResult("logit_qre", [eq], None, False, [], {"lam": float(lam)})


def _lse(v: np.ndarray) -> float:
    top = v.max()
    return float(top + np.log(np.exp(v - top).sum()))


def _newton_arclength(F, J, guess, tangent, origin, step, tol, iters: int = 12):
    """Newton on [F(z) = 0, tangent . (z - origin) = step]."""
    z = guess.copy()
    for _ in range(iters):
        r = np.r_[F(z[:-1], z[-1]), tangent @ (z - origin) - step]
        M = np.vstack([J(z[:-1], z[-1]), tangent])
        try:
            dz = np.linalg.solve(M, -r)
        except np.linalg.LinAlgError:
            return False, z
        z = z + dz
        if not np.isfinite(z).all():
            return False, z
        if np.abs(dz).max() < tol * 10 + 1e-12:
            return True, z
    return np.abs(np.r_[F(z[:-1], z[-1])]).max() < 1e-10, z

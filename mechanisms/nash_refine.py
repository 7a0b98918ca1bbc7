"""Turning an approximate mixed equilibrium of an N-player game into a verified (and, where rational, exact) one.

An approximate equilibrium (the end of a logit path, a grid point of simplicial
subdivision) fixes the supports ``S_i``. On those supports a Nash equilibrium solves
the square polynomial system

    v_i(a, sigma_{-i}) = v_i(a_0, sigma_{-i})   for a in S_i \\ {a_0},     sum_{a in S_i} sigma_i(a) = 1,

(McKelvey & McLennan 1996, "Computation of equilibria in finite games", Sec. 6), solved
here by Newton's method from the approximate point. The answer is accepted only if every
player's regret is below ``eps`` (:func:`polish_on_supports`); :func:`exact_profile` then
rounds it to fractions and checks the Nash conditions in exact rational arithmetic.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

from mechanisms.normal_form import action_values, regret


def cross_values(payoffs: np.ndarray, sigma: Sequence[np.ndarray], i: int, j: int) -> np.ndarray:
    """``C[a, b] = u_i(a, b, sigma_{-ij})``: player i's payoff for own action a when player j plays b
    and everyone else mixes (the derivative of ``v_i(a)`` in ``sigma_j(b)``)."""
    t = np.asarray(payoffs)[i]
    for k in reversed(range(len(sigma))):  # last axis first, so the remaining axes keep their indices
        if k not in (i, j):
            t = np.tensordot(t, sigma[k], axes=([k], [0]))
    return t if i < j else t.T


def polish_on_supports(payoffs: np.ndarray, profile: Sequence[np.ndarray], eps: float, support_tol: float = 1e-6,
                       iters: int = 50) -> list[np.ndarray] | None:
    """Newton's method on the support system of ``profile``; the result if its regret is at most ``eps``.

    Supports are the actions with probability above ``support_tol``. Returns ``None`` when
    Newton fails, a probability turns negative, or an action outside the support is a
    better reply by more than ``eps``.
    """
    u = np.asarray(payoffs, dtype=float)
    n = u.shape[0]
    supports = [np.flatnonzero(np.asarray(s) > support_tol) for s in profile]
    if any(len(S) == 0 for S in supports):
        return None
    offsets = np.cumsum([0] + [len(S) for S in supports])
    z = np.concatenate([np.asarray(s, dtype=float)[S] for s, S in zip(profile, supports)])
    z = np.concatenate([z[offsets[i]:offsets[i + 1]] / z[offsets[i]:offsets[i + 1]].sum() for i in range(n)])

    def expand(z: np.ndarray) -> list[np.ndarray]:
        out = []
        for i, S in enumerate(supports):
            s = np.zeros(u.shape[1 + i])
            s[S] = z[offsets[i]:offsets[i + 1]]
            out.append(s)
        return out

    for _ in range(iters):
        sigma = expand(z)
        values = action_values(u, sigma)
        residual, rows = [], []
        for i, S in enumerate(supports):
            v = values[i][S]
            residual += list(v[1:] - v[0]) + [z[offsets[i]:offsets[i + 1]].sum() - 1.0]
            block = np.zeros((len(S), len(z)))
            for j, T in enumerate(supports):
                if j == i:
                    block[-1, offsets[j]:offsets[j + 1]] = 1.0
                    continue
                C = cross_values(u, sigma, i, j)[np.ix_(S, T)]
                block[:-1, offsets[j]:offsets[j + 1]] = C[1:] - C[0]
            rows.append(block)
        residual = np.array(residual)
        if np.abs(residual).max() < 1e-14 * max(1.0, np.abs(u).max()):
            break
        try:
            step = np.linalg.lstsq(np.vstack(rows), -residual, rcond=None)[0]
        except np.linalg.LinAlgError:
            return None
        z = z + step
        if not np.isfinite(z).all():
            return None
    sigma = expand(z)
    if any((s < -1e-12).any() for s in sigma):
        return None
    sigma = [np.clip(s, 0.0, None) / np.clip(s, 0.0, None).sum() for s in sigma]
    return sigma if regret(u, sigma).max() <= eps else None


def exact_profile(exact_payoffs: np.ndarray, profile: Sequence[np.ndarray], max_denominator: int = 10**6,
                  tol: float = 1e-9) -> list[list[Fraction]] | None:
    """``profile`` as fractions if rounding each probability (denominator at most ``max_denominator``,
    within ``tol``) gives an *exact* Nash equilibrium of the rational payoffs ``exact_payoffs``
    (an object array of ``Fraction``, shape ``(n, a_1, ..., a_n)``); otherwise ``None``."""
    rounded = []
    for s in profile:
        fr = [Fraction(float(p)).limit_denominator(max_denominator) for p in s]
        if any(abs(float(f) - float(p)) > tol or f < 0 for f, p in zip(fr, s)) or sum(fr) != 1:
            return None
        rounded.append(fr)
    U = np.asarray(exact_payoffs, dtype=object)
    sigma = [np.array(fr, dtype=object) for fr in rounded]
    for i, v in enumerate(action_values_exact(U, sigma)):
        best = max(v)
        if any(p > 0 and value != best for p, value in zip(rounded[i], v)):
            return None
    return rounded


def action_values_exact(U: np.ndarray, sigma: Sequence[np.ndarray]) -> list[list[Fraction]]:
    """``v_i(a) = u_i(a, sigma_{-i})`` in rational arithmetic (object arrays of ``Fraction``)."""
    n = U.shape[0]
    out = []
    for i in range(n):
        t = U[i]
        for j in reversed(range(n)):
            if j != i:
                t = np.tensordot(t, sigma[j], axes=([j], [0]))
        out.append(list(t))
    return out

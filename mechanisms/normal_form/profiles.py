"""Payoff arrays and mixed profiles: bimatrix conversions, expected payoffs, best responses, regret, pure equilibria."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mechanisms.normal_form.result import Equilibrium


def stack(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Bimatrix ``(A, B)`` -> payoff array of shape ``(2, m, n)``."""
    return np.stack([np.asarray(A, dtype=float), np.asarray(B, dtype=float)])


def bimatrix(payoffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payoff array of shape ``(2, m, n)`` -> ``(A, B)``."""
    u = np.asarray(payoffs, dtype=float)
    if u.ndim != 3 or u.shape[0] != 2:
        raise ValueError(f"a two-player game needs payoffs of shape (2, m, n), got {u.shape}")
    return u[0], u[1]


def bimatrix_args(A: Any, B: Any | None) -> tuple[np.ndarray, np.ndarray]:
    if B is None:
        u = np.asarray(A, dtype=float)
        if u.ndim == 3:
            return bimatrix(u)
        B = -u  # zero-sum shorthand, as in nashpy
        A = u
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if A.ndim != 2 or A.shape != B.shape or min(A.shape) < 1:
        raise ValueError(f"A and B must be matrices of the same shape; got {A.shape} and {B.shape}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise ValueError("payoffs must be finite numbers")
    return A, B


def rescale_positive(M: np.ndarray) -> np.ndarray:
    """Affine rescaling to [1, 2] (equilibria are invariant under positive affine maps of one player's payoffs)."""
    lo, hi = M.min(), M.max()
    if hi - lo <= 0:
        return np.ones_like(M)
    return 1.0 + (M - lo) / (hi - lo)


def bimatrix_equilibrium(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> Equilibrium:
    x = np.clip(x, 0.0, None)
    y = np.clip(y, 0.0, None)
    x, y = x / x.sum(), y / y.sum()
    return Equilibrium((x, y), np.array([x @ A @ y, x @ B @ y]))


def sort_equilibria(equilibria: list[Equilibrium]) -> list[Equilibrium]:
    """Deterministic order: lexicographic in the concatenated strategies, descending (pure first-action first)."""
    return sorted(equilibria, key=lambda e: tuple(-np.round(np.concatenate(e.strategies), 9)))


def pure_equilibria(payoffs: np.ndarray, tol: float = 1e-12) -> list[tuple[int, ...]]:
    """All pure-strategy Nash equilibria of an N-player game.

    A profile ``s`` is an equilibrium iff for every player i,
    ``u_i(s) >= max_{a} u_i(a, s_{-i}) - tol``. Vectorised: compare each
    player's payoff with the max along that player's own action axis.
    """
    u = np.asarray(payoffs, dtype=float)
    n = u.shape[0]
    stable = np.ones(u.shape[1:], dtype=bool)
    for i in range(n):
        stable &= u[i] >= u[i].max(axis=i, keepdims=True) - tol
    return [tuple(int(a) for a in s) for s in zip(*np.nonzero(stable))]


def _profile(payoffs: np.ndarray, profile: Sequence[Any]) -> list[np.ndarray]:
    """Mixed profile from probability vectors or pure action indices."""
    u = np.asarray(payoffs, dtype=float)
    shape = u.shape[1:]
    if len(profile) != len(shape):
        raise ValueError(f"the game has {len(shape)} players; got a profile of {len(profile)}")
    out = []
    for i, s in enumerate(profile):
        if np.ndim(s) == 0:
            v = np.zeros(shape[i])
            v[int(s)] = 1.0
        else:
            v = np.asarray(s, dtype=float)
            if v.shape != (shape[i],):
                raise ValueError(f"player {i} has {shape[i]} actions; got a strategy of shape {v.shape}")
        out.append(v)
    return out


def action_values(payoffs: np.ndarray, profile: Sequence[Any]) -> list[np.ndarray]:
    """``v_i(a) = u_i(a, sigma_{-i})`` for each player i and own action a (expected against the others' mixes)."""
    u = np.asarray(payoffs, dtype=float)
    sigma = _profile(u, profile)
    n = u.shape[0]
    values = []
    for i in range(n):
        t = u[i]
        for j in reversed(range(n)):  # contract the other players' axes, last first so indices stay valid
            if j != i:
                t = np.tensordot(t, sigma[j], axes=([j], [0]))
        values.append(t)
    return values


def expected_payoffs(payoffs: np.ndarray, profile: Sequence[Any]) -> np.ndarray:
    """``u_i(sigma)`` for every player."""
    sigma = _profile(payoffs, profile)
    return np.array([v @ s for v, s in zip(action_values(payoffs, sigma), sigma)])


def best_responses(payoffs: np.ndarray, profile: Sequence[Any], tol: float = 1e-9) -> list[list[int]]:
    """For each player, the pure actions maximising ``u_i(a, sigma_{-i})`` (within ``tol``)."""
    return [[int(a) for a in np.flatnonzero(v >= v.max() - tol)] for v in action_values(payoffs, profile)]


def regret(payoffs: np.ndarray, profile: Sequence[Any]) -> np.ndarray:
    """``max_a u_i(a, sigma_{-i}) - u_i(sigma)`` for every player (0 at a Nash equilibrium)."""
    sigma = _profile(payoffs, profile)
    return np.array([v.max() - v @ s for v, s in zip(action_values(payoffs, sigma), sigma)])


def is_nash(payoffs: np.ndarray, profile: Sequence[Any], eps: float = 1e-9) -> bool:
    """Whether ``profile`` is an ``eps``-Nash equilibrium: every player's regret is at most ``eps``
    and every strategy is a probability vector (within ``eps``)."""
    sigma = _profile(payoffs, profile)
    if any((s < -eps).any() or abs(s.sum() - 1) > eps for s in sigma):
        return False
    return bool((regret(payoffs, sigma) <= eps).all())

"""Normal-form games: equilibria and related checks.

Payoffs of an N-player game are an array ``u`` of shape ``(n, a_1, ..., a_n)``:
``u[i][s]`` is player i's payoff at pure profile ``s``.
"""

from __future__ import annotations

import itertools

import numpy as np


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

"""Welfare measures and the efficiency of equilibria.

All functions take payoff vectors (one entry per agent) or stacks of them
(``shape (..., n_agents)``, reduced along the last axis) and return floats or
arrays. Definitions:

* utilitarian welfare ``W(u) = sum_i u_i`` (Bentham; Harsanyi 1955);
* egalitarian welfare ``min_i u_i`` (Rawls 1971);
* Nash welfare ``prod_i (u_i - d_i)`` and its log ``sum_i log(u_i - d_i)``
  (Nash 1950, the bargaining product; Caragiannis et al. 2019, "The
  unreasonable fairness of maximum Nash welfare", Sec. 2);
* Gini coefficient ``G = sum_i sum_j |u_i - u_j| / (2 n^2 mean(u))``
  (Gini 1912; the mean-absolute-difference form);
* price of anarchy ``PoA = OPT / min_{eq} W(eq)`` and price of stability
  ``PoS = OPT / max_{eq} W(eq)`` for welfare (maximisation); for costs
  (minimisation) ``PoA = max_{eq} C(eq) / OPT`` and ``PoS = min_{eq} C(eq) / OPT``
  (Koutsoupias & Papadimitriou 1999; Anshelevich et al. 2004;
  Roughgarden & Tardos 2002, "How bad is selfish routing?").
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np


def utilitarian(payoffs: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Sum of payoffs along the last axis."""
    return np.asarray(payoffs, dtype=float).sum(axis=-1)


def egalitarian(payoffs: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Minimum payoff along the last axis."""
    return np.asarray(payoffs, dtype=float).min(axis=-1)


def nash_welfare(payoffs: Sequence[float] | np.ndarray, disagreement: Sequence[float] | float = 0.0,
                 log: bool = False) -> float | np.ndarray:
    """Nash welfare ``prod_i (u_i - d_i)``; with ``log=True`` the log-sum ``sum_i log(u_i - d_i)``.

    Gains ``u_i - d_i <= 0`` make the product 0 (``-inf`` for the log form) —
    the convention under which maximising Nash welfare first maximises the
    number of agents with positive gain (Caragiannis et al. 2019).
    """
    gains = np.asarray(payoffs, dtype=float) - np.asarray(disagreement, dtype=float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((gains > 0).all(axis=-1), np.log(np.where(gains > 0, gains, 1.0)).sum(axis=-1), -np.inf)
    return np.where((gains > 0).all(axis=-1), np.prod(np.where(gains > 0, gains, 1.0), axis=-1), 0.0)


def gini(values: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Gini coefficient of non-negative values along the last axis: 0 = equality, ``(n-1)/n`` = one agent has all.

    ``G = sum_{i,j} |v_i - v_j| / (2 n^2 mean(v))``, computed in O(n log n) from
    the sorted values as ``G = sum_i (2 i - n - 1) v_(i) / (n sum v)``
    (i = 1..n). Defined as 0 when all values are 0. Raises ``ValueError`` on
    negative values (the coefficient is not meaningful for them).
    """
    v = np.sort(np.asarray(values, dtype=float), axis=-1)
    if (v < 0).any():
        raise ValueError("the Gini coefficient needs non-negative values")
    n = v.shape[-1]
    if n == 0:
        raise ValueError("the Gini coefficient of an empty vector is undefined")
    total = v.sum(axis=-1)
    weights = 2 * np.arange(1, n + 1) - n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (v * weights).sum(axis=-1) / (n * total)
    return np.where(total > 0, g, 0.0) if np.ndim(g) else (float(g) if total > 0 else 0.0)


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return 1.0 if num == 0 else math.inf
    return num / den


def price_of_anarchy(equilibrium_values: Iterable[float], optimum: float, objective: str = "welfare") -> float:
    """``OPT / worst equilibrium welfare`` (``objective="welfare"``) or ``worst equilibrium cost / OPT`` (``"cost"``).

    Assumes positive welfare / cost (the ratios are not meaningful otherwise);
    ``inf`` when the worst equilibrium has zero welfare and the optimum does not.
    """
    values = _values(equilibrium_values)
    if objective == "welfare":
        return _ratio(optimum, values.min())
    if objective == "cost":
        return _ratio(values.max(), optimum)
    raise ValueError(f"objective must be 'welfare' or 'cost', got {objective!r}")


def price_of_stability(equilibrium_values: Iterable[float], optimum: float, objective: str = "welfare") -> float:
    """``OPT / best equilibrium welfare`` (``"welfare"``) or ``best equilibrium cost / OPT`` (``"cost"``)."""
    values = _values(equilibrium_values)
    if objective == "welfare":
        return _ratio(optimum, values.max())
    if objective == "cost":
        return _ratio(values.min(), optimum)
    raise ValueError(f"objective must be 'welfare' or 'cost', got {objective!r}")


def _values(equilibrium_values: Iterable[float]) -> np.ndarray:
    values = np.asarray(list(equilibrium_values), dtype=float)
    if values.size == 0:
        raise ValueError("need at least one equilibrium")
    return values


def optimum(payoffs: np.ndarray, welfare: Callable[[np.ndarray], np.ndarray] = utilitarian) -> tuple[float, tuple[int, ...]]:
    """Best welfare over pure profiles of a normal-form game ``u`` of shape ``(n, a_1, ..., a_n)``, and a profile attaining it.

    For utilitarian welfare no mixed or correlated profile does better (it is
    linear in the distribution over profiles); for other welfare functions
    this is the best *pure* outcome.
    """
    u = np.asarray(payoffs, dtype=float)
    w = welfare(np.moveaxis(u, 0, -1))
    index = np.unravel_index(int(np.argmax(w)), w.shape)
    return float(w[index]), tuple(int(i) for i in index)


def efficiency(equilibrium_payoffs: Iterable[Sequence[float]], payoffs: np.ndarray,
               welfare: Callable[[np.ndarray], np.ndarray] = utilitarian) -> dict[str, float]:
    """PoA, PoS, optimum and equilibrium welfare range for a game and a set of equilibrium payoff vectors."""
    eq = np.asarray([list(p) for p in equilibrium_payoffs], dtype=float)
    if eq.size == 0:
        raise ValueError("need at least one equilibrium")
    values = welfare(eq)
    best, _ = optimum(payoffs, welfare)
    return {
        "optimum": best,
        "worst_equilibrium": float(values.min()),
        "best_equilibrium": float(values.max()),
        "price_of_anarchy": price_of_anarchy(values, best),
        "price_of_stability": price_of_stability(values, best),
    }

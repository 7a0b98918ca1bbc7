"""Scoring rules for probabilistic forecasts, their Savage representation, and a properness check.

Model
-----
A forecaster with belief ``b`` in the simplex over ``K`` outcomes reports a
distribution ``p`` and is paid ``S(p, k)`` when outcome ``k`` realises. The
rule is *proper* if truthful reporting maximises the expected score,
``sum_k b_k S(b, k) >= sum_k b_k S(p, k)`` for all ``b, p``, and *strictly*
proper if the maximiser is unique (Gneiting & Raftery 2007, "Strictly Proper
Scoring Rules, Prediction, and Estimation", JASA 102(477), Sec. 2).

The rules named in Agora (issue 5) are

* quadratic (Brier):   ``S(p, k) = 2 p_k - sum_j p_j^2``
* logarithmic:         ``S(p, k) = ln p_k``
* spherical:           ``S(p, k) = p_k / ||p||_2``

Savage representation (Savage 1971; Gneiting & Raftery 2007, the
characterisation of proper rules and its categorical case in Sec. 3): a rule
is proper iff there is a convex ``G`` on the simplex with

    ``S(p, k) = G(p) + <grad G(p), e_k - p>``,

and ``G(b)`` is then the expected score of a truthful forecaster. The three
named rules come from ``G(p) = ||p||^2``, ``G(p) = sum_j p_j ln p_j`` and
``G(p) = ||p||_2``. ``savage_rule(G)`` builds the rule of any convex ``G``.

In "Online Information Acquisition: Hiring Multiple Agents" (Cacciamani,
Castiglioni & Gatti, ICLR 2024, arXiv:2307.06210) the principal's payment
function is such a scoring rule of the agents' reports and the realised state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
from scipy.optimize import minimize

RULES = ("quadratic", "logarithmic", "spherical")

# A rule is a name, or a callable (report, outcome) -> score.
Rule = Union[str, Callable[[np.ndarray, int], float]]


def _as_distribution(report: np.ndarray | list[float]) -> np.ndarray:
    p = np.asarray(report, dtype=float)
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"a report must be a probability vector with at least 2 entries, got shape {p.shape}")
    if (p < -1e-12).any() or abs(p.sum() - 1.0) > 1e-8:
        raise ValueError(f"a report must be non-negative and sum to 1, got {p.tolist()}")
    return np.clip(p, 0.0, None)


def score(rule: Rule, report: np.ndarray | list[float], outcome: int) -> float:
    """The score ``S(report, outcome)`` of a named rule (or a callable rule).

    Parameters
    ----------
    rule:
        ``"quadratic"`` (``2 p_k - sum_j p_j^2``), ``"logarithmic"`` (``ln p_k``),
        ``"spherical"`` (``p_k / ||p||_2``), or a callable ``(p, k) -> float``.
    report:
        The reported probability vector ``p``.
    outcome:
        Index ``k`` of the realised outcome.
    """
    p = _as_distribution(report)
    k = int(outcome)
    if not 0 <= k < p.size:
        raise ValueError(f"outcome {outcome} out of range for a report over {p.size} outcomes")
    if callable(rule):
        return float(rule(p, k))
    if rule == "quadratic":
        return float(2.0 * p[k] - np.dot(p, p))
    if rule == "logarithmic":
        return float(np.log(p[k])) if p[k] > 0 else float("-inf")
    if rule == "spherical":
        return float(p[k] / np.linalg.norm(p))
    raise ValueError(f"unknown scoring rule {rule!r}; allowed: {', '.join(RULES)} or a callable (p, k) -> score")


def score_vector(rule: Rule, report: np.ndarray | list[float]) -> np.ndarray:
    """``[S(report, k) for k]``: the score in every outcome."""
    p = _as_distribution(report)
    return np.array([score(rule, p, k) for k in range(p.size)])


def expected_score(rule: Rule, report: np.ndarray | list[float], belief: np.ndarray | list[float]) -> float:
    """``sum_k b_k S(p, k)``: the expected score of reporting ``p`` under belief ``b``."""
    b = _as_distribution(belief)
    s = score_vector(rule, report)
    mask = b > 0  # 0 * (-inf) is 0: outcomes believed impossible do not count
    return float(np.dot(b[mask], s[mask]))


# ---------------------------------------------------------------- Savage representation
def savage_rule(G: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray] | None = None,
                step: float = 1e-6) -> Callable[[np.ndarray, int], float]:
    """The scoring rule ``S(p, k) = G(p) + <grad G(p), e_k - p>`` of a convex ``G`` (Savage representation).

    ``grad`` is a (sub)gradient of ``G``; if omitted it is taken by central
    differences along the simplex (only directions ``e_k - p`` matter, so a
    gradient defined up to a multiple of ``1`` is enough). ``G`` must be
    defined slightly outside the simplex when ``grad`` is omitted.
    """

    def gradient(p: np.ndarray) -> np.ndarray:
        if grad is not None:
            return np.asarray(grad(p), dtype=float)
        g = np.empty_like(p)
        for j in range(p.size):
            e = np.zeros_like(p)
            e[j] = step
            g[j] = (G(p + e) - G(p - e)) / (2 * step)
        return g

    def rule(p: np.ndarray, k: int) -> float:
        p = np.asarray(p, dtype=float)
        g = gradient(p)
        direction = -p.copy()
        direction[k] += 1.0
        return float(G(p) + np.dot(g, direction))

    return rule


SAVAGE_G: dict[str, tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]] = {
    "quadratic": (lambda p: float(np.dot(p, p)), lambda p: 2.0 * np.asarray(p)),
    "logarithmic": (
        lambda p: float(np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0))),
        lambda p: np.log(np.maximum(p, 1e-300)) + 1.0,
    ),
    "spherical": (lambda p: float(np.linalg.norm(p)), lambda p: np.asarray(p) / np.linalg.norm(p)),
}
"""The convex ``G`` (and its gradient) behind each named rule."""


# ---------------------------------------------------------------- properness check
@dataclass(frozen=True)
class ProperCheck:
    """Result of ``is_proper``: ``proper`` is False iff a profitable misreport was found.

    ``belief``, ``misreport`` and ``gain`` describe the worst counterexample
    found (``gain`` = expected score of the misreport minus that of the truth).
    """

    proper: bool
    belief: np.ndarray | None = None
    misreport: np.ndarray | None = None
    gain: float = 0.0

    def __bool__(self) -> bool:
        return self.proper


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def is_proper(rule: Rule, n_outcomes: int = 3, *, n_beliefs: int = 200, n_reports: int = 400,
              rng: np.random.Generator | int | None = 0, tol: float = 1e-7, local_search: bool = True) -> ProperCheck:
    """Search for a profitable misreport; return ``ProperCheck(proper, belief, misreport, gain)``.

    For ``n_beliefs`` beliefs ``b`` (the uniform point, the vertex-adjacent
    points and Dirichlet draws) the expected score of every candidate report
    (the simplex vertices, ``n_reports`` Dirichlet draws, sharpened and
    flattened versions of ``b``) is compared with that of ``b``; the best
    candidate is then improved by a local search over softmax parameters
    (``scipy.optimize.minimize``). A rule is declared improper as soon as
    some report beats the truth by more than ``tol``. A search cannot prove
    properness; it can only fail to find a counterexample.
    """
    if n_outcomes < 2:
        raise ValueError("n_outcomes must be at least 2")
    rng = np.random.default_rng(rng)
    K = n_outcomes
    beliefs = [np.full(K, 1.0 / K)]
    for k in range(K):
        b = np.full(K, 0.2 / (K - 1))
        b[k] = 0.8
        beliefs.append(b)
    beliefs.extend(rng.dirichlet(np.ones(K), size=max(0, n_beliefs - len(beliefs))))
    reports_common = list(np.eye(K) * (1 - 1e-9) + 1e-9 / K) + list(rng.dirichlet(np.ones(K) * 0.7, size=n_reports))

    best = ProperCheck(True)
    for b in beliefs:
        truthful = expected_score(rule, b, b)
        candidates = reports_common + [_as_distribution(np.power(b, a) / np.power(b, a).sum()) for a in (0.5, 0.8, 1.25, 2.0, 4.0)]
        gains = np.array([expected_score(rule, p, b) - truthful for p in candidates])
        gains = np.where(np.isnan(gains), -np.inf, gains)
        i = int(np.argmax(gains))
        gain, report = float(gains[i]), candidates[i]
        if local_search:
            def negative(z: np.ndarray) -> float:
                value = expected_score(rule, _softmax(z), b)
                return -value if np.isfinite(value) else 1e12

            start = np.log(np.maximum(report, 1e-12))
            res = minimize(negative, start, method="Nelder-Mead", options={"maxiter": 400, "xatol": 1e-9, "fatol": 1e-12})
            if -res.fun - truthful > gain:
                gain, report = float(-res.fun - truthful), _softmax(res.x)
        if gain > tol and gain > best.gain:
            best = ProperCheck(False, np.asarray(b), np.asarray(report), gain)
    return best


def linear_rule(p: np.ndarray, k: int) -> float:
    """``S(p, k) = p_k``: the classic *improper* rule (reporting the mode as certain pays more)."""
    return float(np.asarray(p)[k])

"""The off-switch game: a robot's incentive to defer to a human who may switch it off.

Model (Hadfield-Menell, Dragan, Abbeel & Russell, "The Off-Switch Game",
IJCAI 2017, arXiv:1611.08219, §3–§4). A robot R can

* ``act``  — take action a directly (disabling the off switch): utility U;
* ``off``  — switch itself off (s): utility 0;
* ``wait`` — propose a and defer, w(a): the human H observes U and either
  lets a proceed (utility U) or presses the switch (utility 0).

R does not know U; it holds a prior P on U. H's policy is the probability
π_H(U) that H lets a proceed:

* rational H (β = 0): π_H(U) = 1[U ≥ 0] (§3);
* noisy, Boltzmann H (β > 0): π_H(U) = σ(U / β), σ the logistic sigmoid (§4).

R's expected utilities (§3–§4) are

    V(act) = E[U],   V(off) = 0,   V(wait) = E[π_H(U) · U],

and R's incentive to defer is Δ = V(wait) − max(V(act), V(off)). With a
rational H, V(wait) = E[max(U, 0)] and Δ = E[max(U, 0)] − max(E[U], 0) ≥ 0
(§3, Theorem 1): R never loses by deferring, and gains whenever it is
uncertain about the sign of U. For a normal prior U ~ N(μ, σ²) the closed form is

    E[max(U, 0)] = μ Φ(μ/σ) + σ φ(μ/σ),

so for μ = 0, σ = 1, E[max(U, 0)] = Δ = 1/√(2π). For a noisy H, V(wait) is
computed by numeric integration (``scipy.integrate.quad``). V(wait) is
strictly decreasing in β (d/dβ E[U σ(U/β)] = −E[U² σ'(U/β)]/β² < 0) and tends
to E[U]/2 as β → ∞, so for μ > 0 there is a unique β* beyond which R prefers
to act directly — to disable the off switch — and for μ < 0 one beyond which R
switches itself off (``disable_threshold``).

All functions are pure: numbers and numpy arrays in, numbers and dicts out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, optimize, special, stats

CHOICES = ("act", "off", "wait")
# When values tie (within ``tol``), R prefers to defer, then to act: deferring
# is never worse for a rational H, and it keeps the human in the loop.
TIE_ORDER = ("wait", "act", "off")


def human_allows(u: np.ndarray | float, beta: float = 0.0) -> np.ndarray:
    """π_H(U): probability that H lets R's action proceed given its utility U.

    β = 0 is a rational H (allows iff U ≥ 0); β > 0 a Boltzmann H, σ(U/β).
    """
    if beta < 0 or not math.isfinite(beta):
        raise ValueError(f"beta must be a finite number >= 0 (0 = rational human), got {beta}")
    u = np.asarray(u, dtype=float)
    if beta == 0.0:
        return (u >= 0.0).astype(float)
    return special.expit(u / beta)


def best_choice(values: dict[str, float], tol: float = 1e-12) -> str:
    """R's optimal choice among act/off/wait; ties (within ``tol``) go to ``TIE_ORDER``."""
    top = max(values[c] for c in CHOICES)
    return next(c for c in TIE_ORDER if values[c] >= top - tol)


def _result(act: float, wait: float) -> dict[str, Any]:
    values = {"act": float(act), "off": 0.0, "wait": float(wait)}
    values["delta"] = values["wait"] - max(values["act"], values["off"])
    values["best"] = best_choice(values)
    return values


def expected_positive_part_normal(mu: float, sigma: float) -> float:
    """E[max(U, 0)] for U ~ N(μ, σ²): μ Φ(μ/σ) + σ φ(μ/σ) (σ = 0: max(μ, 0))."""
    if sigma == 0:
        return max(mu, 0.0)
    z = mu / sigma
    return float(mu * stats.norm.cdf(z) + sigma * stats.norm.pdf(z))


def _check_normal(mu: float, sigma: float) -> None:
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma < 0:
        raise ValueError(f"a normal prior needs a finite mu and a finite sigma >= 0, got mu={mu}, sigma={sigma}")


def wait_value_normal(mu: float, sigma: float, beta: float = 0.0) -> float:
    """V(wait) = E[π_H(U) U] for U ~ N(μ, σ²).

    Rational H: the closed form E[max(U, 0)]. Boltzmann H: ∫ (μ+σz) σ((μ+σz)/β) φ(z) dz
    by adaptive quadrature over the real line (standardised variable z).
    """
    _check_normal(mu, sigma)
    human_allows(0.0, beta)  # validates beta
    if beta == 0.0:
        return expected_positive_part_normal(mu, sigma)
    if sigma == 0:
        return float(mu * special.expit(mu / beta))

    def integrand(z: float) -> float:
        u = mu + sigma * z
        return u * special.expit(u / beta) * stats.norm.pdf(z)

    # Split at the point where H's policy changes fastest (U = 0) for accuracy.
    z0 = -mu / sigma
    left, _ = integrate.quad(integrand, -np.inf, z0, epsabs=1e-13, epsrel=1e-12, limit=200)
    right, _ = integrate.quad(integrand, z0, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)
    return float(left + right)


def defer_values(mu: float, sigma: float, beta: float = 0.0) -> dict[str, Any]:
    """R's values for a normal prior U ~ N(μ, σ²) and a human with noise β.

    Parameters
    ----------
    mu, sigma:
        Mean and standard deviation of R's prior on U (σ ≥ 0).
    beta:
        0 for a rational H; > 0 for a Boltzmann H who allows with probability σ(U/β).

    Returns
    -------
    dict with ``act`` (E[U]), ``off`` (0), ``wait`` (E[π_H(U) U]),
    ``delta`` (wait − max(act, off)) and ``best`` ("act", "off" or "wait").
    """
    _check_normal(mu, sigma)
    return _result(mu, wait_value_normal(mu, sigma, beta))


def defer_values_discrete(values: np.ndarray, probabilities: np.ndarray | None = None, beta: float = 0.0) -> dict[str, Any]:
    """R's values for a discrete prior: U = values[k] with probability probabilities[k].

    With ``probabilities`` omitted the values are equally likely (an empirical
    prior from samples).
    """
    u = np.asarray(values, dtype=float).ravel()
    if u.size == 0 or not np.all(np.isfinite(u)):
        raise ValueError("a discrete prior needs at least one finite value")
    if probabilities is None:
        p = np.full(u.size, 1.0 / u.size)
    else:
        p = np.asarray(probabilities, dtype=float).ravel()
        if p.shape != u.shape or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
            raise ValueError("probabilities must be one non-negative number per value, summing to 1")
    return _result(float(p @ u), float(p @ (human_allows(u, beta) * u)))


def defer_values_samples(samples: np.ndarray, beta: float = 0.0) -> dict[str, Any]:
    """R's values when its prior is the empirical distribution of ``samples``."""
    return defer_values_discrete(samples, None, beta)


def disable_threshold(mu: float, sigma: float, beta_max: float = 1e6) -> dict[str, Any]:
    """Where R stops deferring as the human gets noisier (normal prior, Boltzmann H).

    V(wait) falls strictly in β from E[max(U,0)] (β → 0) to μ/2 (β → ∞). For
    μ > 0, R disables the off switch (acts directly) for every β > β*, the root of
    V(wait)(β) = μ; for μ < 0, R switches itself off for β > β*, the root of
    V(wait)(β) = 0. For μ = 0 (or σ = 0) there is no such β: ``beta_star`` is
    ``inf`` (μ = 0, R always weakly prefers waiting) or 0 (σ = 0, μ ≠ 0, R is
    certain and never gains from waiting).

    Returns ``{"beta_star": float, "beyond": "act" | "off" | None}``.
    """
    _check_normal(mu, sigma)
    if mu == 0:
        return {"beta_star": math.inf, "beyond": None}
    beyond = "act" if mu > 0 else "off"
    if sigma == 0:
        return {"beta_star": 0.0, "beyond": beyond}
    target = max(mu, 0.0)

    def gap(log_beta: float) -> float:
        return wait_value_normal(mu, sigma, math.exp(log_beta)) - target

    lo, hi = math.log(1e-9 * sigma), math.log(sigma)
    while gap(hi) > 0:
        hi += math.log(4.0)
        if hi > math.log(beta_max):
            return {"beta_star": math.inf, "beyond": beyond}
    if gap(lo) <= 0:
        return {"beta_star": 0.0, "beyond": beyond}
    root = optimize.brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500)
    return {"beta_star": float(math.exp(root)), "beyond": beyond}


def policy_value(choice: str, values: dict[str, Any]) -> float:
    """The expected utility of always making ``choice`` (act/off/wait), from ``defer_values``."""
    if choice not in CHOICES:
        raise ValueError(f"choice must be one of {', '.join(CHOICES)}, got {choice!r}")
    return float(values[choice])

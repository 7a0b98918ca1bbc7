"""mechanisms.off_switch against closed forms and independent numerics.

Oracles: the closed form E[max(U,0)] = 1/sqrt(2 pi) for U ~ N(0,1)
(Hadfield-Menell et al. 2017, §3); scipy.integrate.quad of max(u,0) * pdf
written here; Gauss-Hermite quadrature (numpy) for the Boltzmann human; and a
closed form for the disable threshold derived below.

Threshold identity (used as an oracle): for U ~ N(mu, s^2) with mu > 0, put
f(u) = pdf(u). Then f(u) / f(-u) = exp(2 mu u / s^2), so at beta = s^2 / (2 mu)
the Boltzmann policy is sigmoid(u / beta) = f(u) / (f(u) + f(-u)) and
E[U sigmoid(U/beta)] = ∫ u f(u)^2 / (f(u)+f(-u)) du = ½ ∫ u (f(u) - f(-u)) du = mu
(symmetrise u -> -u). So V(wait) = V(act) exactly at beta* = s^2 / (2 mu); by
the same argument, for mu < 0, V(wait) = 0 = V(off) at beta* = s^2 / (2 |mu|).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from mechanisms.off_switch import (
    defer_values,
    defer_values_discrete,
    defer_values_samples,
    disable_threshold,
    human_allows,
)

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def test_standard_normal_rational_human_closed_form():
    v = defer_values(0.0, 1.0)
    assert v["act"] == 0.0 and v["off"] == 0.0
    assert abs(v["wait"] - INV_SQRT_2PI) < 1e-9
    assert abs(v["delta"] - INV_SQRT_2PI) < 1e-9
    assert v["best"] == "wait"


@pytest.mark.parametrize("mu, sigma", [(0.7, 1.3), (-1.2, 0.4), (2.0, 3.0), (0.0, 5.0)])
def test_rational_wait_value_matches_direct_integration(mu, sigma):
    oracle, _ = integrate.quad(lambda u: max(u, 0.0) * stats.norm.pdf(u, mu, sigma), 0.0, np.inf, epsabs=1e-13, epsrel=1e-13)
    v = defer_values(mu, sigma)
    assert abs(v["wait"] - oracle) < 1e-9
    assert abs(v["delta"] - (oracle - max(mu, 0.0))) < 1e-9
    assert v["delta"] >= 0  # Theorem 1: a rational human makes deferring weakly optimal
    assert v["best"] == "wait"


@pytest.mark.parametrize("mu, sigma, beta", [(0.0, 1.0, 0.5), (0.5, 1.0, 2.0), (-0.3, 2.0, 1.0), (1.0, 0.5, 0.25)])
def test_noisy_human_matches_gauss_hermite(mu, sigma, beta):
    z, w = np.polynomial.hermite_e.hermegauss(160)  # ∫ g(z) exp(-z²/2) dz ≈ Σ w g(z)
    u = mu + sigma * z
    oracle = float(np.sum(w * u / (1.0 + np.exp(-u / beta))) / math.sqrt(2.0 * math.pi))
    v = defer_values(mu, sigma, beta)
    assert abs(v["wait"] - oracle) < 1e-9
    assert abs(v["delta"] - (oracle - max(mu, 0.0))) < 1e-12


def test_noisy_human_tends_to_rational_and_to_coin_flip():
    assert abs(defer_values(0.3, 1.0, 1e-5)["wait"] - defer_values(0.3, 1.0)["wait"]) < 1e-5
    assert abs(defer_values(0.3, 1.0, 1e7)["wait"] - 0.3 / 2) < 1e-6
    waits = [defer_values(0.3, 1.0, b)["wait"] for b in (0.01, 0.1, 0.5, 1, 2, 10)]
    assert all(a > b for a, b in zip(waits, waits[1:]))


@pytest.mark.parametrize("mu, sigma", [(1.0, 1.0), (0.3, 2.0), (2.0, 0.5), (-1.0, 1.5)])
def test_disable_threshold_closed_form(mu, sigma):
    expected = sigma**2 / (2 * abs(mu))
    found = disable_threshold(mu, sigma)
    assert abs(found["beta_star"] - expected) < 1e-9 * max(1.0, expected)
    assert found["beyond"] == ("act" if mu > 0 else "off")
    at = defer_values(mu, sigma, expected)
    assert abs(at["delta"]) < 1e-9
    assert defer_values(mu, sigma, 0.9 * expected)["best"] == "wait"
    assert defer_values(mu, sigma, 1.1 * expected)["best"] == found["beyond"]


def test_no_threshold_when_prior_mean_is_zero():
    assert disable_threshold(0.0, 1.0) == {"beta_star": math.inf, "beyond": None}
    assert defer_values(0.0, 1.0, 50.0)["best"] == "wait"


def test_discrete_prior_by_hand():
    v = defer_values_discrete([-2.0, 0.5, 1.0], [0.2, 0.5, 0.3])
    assert abs(v["act"] - (-0.4 + 0.25 + 0.3)) < 1e-12
    assert abs(v["wait"] - (0.25 + 0.3)) < 1e-12
    assert abs(v["delta"] - 0.4) < 1e-12
    noisy = defer_values_discrete([-1.0, 1.0], [0.5, 0.5], beta=1.0)
    s = 1.0 / (1.0 + math.exp(-1.0))
    assert abs(noisy["wait"] - (0.5 * s - 0.5 * (1 - s))) < 1e-12


def test_theorem_1_random_discrete_priors():
    rng = np.random.default_rng(0)
    for _ in range(50):
        values = rng.normal(rng.normal(), 2.0, size=rng.integers(1, 8))
        p = rng.dirichlet(np.ones(values.size))
        v = defer_values_discrete(values, p)
        assert v["delta"] >= -1e-12
        assert abs(v["wait"] - float(p @ np.maximum(values, 0))) < 1e-12


def test_sample_prior_approaches_the_normal():
    samples = np.random.default_rng(1).normal(0.0, 1.0, 200_000)
    v = defer_values_samples(samples)
    se = np.maximum(samples, 0).std() / math.sqrt(samples.size)
    assert abs(v["wait"] - INV_SQRT_2PI) < 4 * se


def test_point_mass_prior_has_no_incentive_to_defer():
    assert defer_values(1.5, 0.0)["delta"] == 0.0
    assert defer_values(-1.5, 0.0) == {"act": -1.5, "off": 0.0, "wait": 0.0, "delta": 0.0, "best": "wait"}
    assert defer_values(1.5, 0.0, beta=1.0)["best"] == "act"


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="sigma"):
        defer_values(0.0, -1.0)
    with pytest.raises(ValueError, match="beta"):
        human_allows(1.0, -0.5)
    with pytest.raises(ValueError, match="probabilities"):
        defer_values_discrete([1.0, 2.0], [0.3, 0.3])

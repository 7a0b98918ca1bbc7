"""Scoring rules: the named formulas, properness (Gneiting & Raftery 2007), Savage representation, improper rules caught."""

import numpy as np
import pytest
from scipy.optimize import minimize

from mechanisms.scoring_rules import (
    RULES, SAVAGE_G, expected_score, is_proper, linear_rule, savage_rule, score,
)


def test_named_rules_match_their_formulas_by_hand():
    p = [0.2, 0.8]
    assert score("quadratic", p, 1) == pytest.approx(2 * 0.8 - (0.04 + 0.64))
    assert score("quadratic", p, 0) == pytest.approx(2 * 0.2 - 0.68)
    assert score("logarithmic", p, 0) == pytest.approx(np.log(0.2))
    assert score("spherical", p, 1) == pytest.approx(0.8 / np.sqrt(0.68))
    assert score("logarithmic", [1.0, 0.0], 1) == float("-inf")


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("K", [2, 3, 5])
def test_truthful_report_maximises_expected_score(rule, K):
    rng = np.random.default_rng(K)
    for belief in rng.dirichlet(np.ones(K), size=10):
        truthful = expected_score(rule, belief, belief)
        # against random reports (strictly worse when the report is far from the belief) ...
        for report in rng.dirichlet(np.ones(K), size=40):
            value = expected_score(rule, report, belief)
            assert value <= truthful + 1e-12
            if np.abs(report - belief).sum() > 0.1:
                assert value < truthful - 1e-6
        # ... and against the best report a numerical optimiser finds from a random start
        res = minimize(lambda z: -expected_score(rule, _softmax(z), belief), rng.normal(size=K), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 1500})
        assert -res.fun <= truthful + 1e-9


@pytest.mark.parametrize("rule", RULES)
def test_savage_representation_reproduces_the_named_rules(rule):
    G, grad = SAVAGE_G[rule]
    rebuilt = savage_rule(G, grad)
    rng = np.random.default_rng(1)
    for p in rng.dirichlet(np.ones(4), size=20):
        for k in range(4):
            assert rebuilt(p, k) == pytest.approx(score(rule, p, k), rel=1e-9, abs=1e-9)
        # the expected truthful score is G itself (Savage representation)
        assert expected_score(rebuilt, p, p) == pytest.approx(G(p), abs=1e-9)


def _random_convex_G(rng):
    """A random strictly convex function: weighted power sums plus a log-sum-exp of a random linear map."""
    w = rng.uniform(0.5, 2.0, size=3)
    r = rng.uniform(1.3, 3.0)
    A = rng.normal(size=(4, 3))
    return lambda p: float(np.sum(w * np.abs(p) ** r) + np.log(np.sum(np.exp(A @ p))))


def test_rule_from_any_convex_function_is_proper():
    rng = np.random.default_rng(7)
    for _ in range(2):
        rule = savage_rule(_random_convex_G(rng))  # gradient by finite differences
        check = is_proper(rule, 3, n_beliefs=12, n_reports=40, rng=1, tol=1e-6)
        assert check.proper, f"false counterexample: {check}"


def test_improper_linear_rule_is_caught_with_a_real_profitable_misreport():
    check = is_proper(linear_rule, 3, n_beliefs=30, n_reports=60, rng=0)
    assert not check.proper
    assert check.gain > 0.01
    # verify the counterexample independently of the search
    b, m = check.belief, check.misreport
    assert np.dot(b, m) > np.dot(b, b) + 0.01


def test_rule_from_a_concave_function_is_caught():
    concave = savage_rule(lambda p: -float(np.dot(p, p)), lambda p: -2 * np.asarray(p))
    check = is_proper(concave, 2, n_beliefs=20, n_reports=40, rng=0)
    assert not check.proper
    b, m = check.belief, check.misreport
    assert expected_score(concave, m, b) > expected_score(concave, b, b)


def test_bad_input_is_reported_clearly():
    with pytest.raises(ValueError, match="allowed: quadratic, logarithmic, spherical"):
        score("brier2", [0.5, 0.5], 0)
    with pytest.raises(ValueError, match="sum to 1"):
        score("quadratic", [0.5, 0.6], 0)
    with pytest.raises(ValueError, match="out of range"):
        score("quadratic", [0.5, 0.5], 2)

"""Sequential social learning: Bayesian herding, cascade probabilities, and the planner's dynamic program.

Classic model (Bikhchandani, Hirshleifer & Welch 1992, "A Theory of Fads,
Fashion, Custom, and Cultural Change as Informational Cascades", JPE 100(5),
the basic model with binary signals): a binary state ``theta`` in {0, 1} with prior 1/2; agents
``t = 1, 2, ...`` act once, in sequence, choosing ``a_t`` in {0, 1} and
earning 1 if ``a_t = theta``. Each gets a private signal ``s_t`` with
``P(s_t = theta) = q_t`` (precision, ``1/2 <= q_t <= 1``) and sees all
predecessors' actions. Rational agents act on the posterior

    ``logit P(theta=1 | history, s_t) = lambda_t + (2 s_t - 1) * ell(q_t)``,
    ``ell(q) = ln(q / (1 - q))``,

where ``lambda_t = logit pi_t`` is the log-odds of the *public belief*
``pi_t = P(theta = 1 | a_1..a_{t-1})``; an indifferent agent flips a fair
coin (BHW) or follows its own signal (Steering the Herd). Once
``|lambda_t| > ell(q_t)`` the action no longer depends on the signal: an
informational cascade, and ``pi`` stops moving. With constant precision
``p`` and prior 1/2 a cascade starts after an even number of agents; after
``n`` agents (BHW's closed form with the coin tie: each pair of agents either
starts a cascade or returns the public belief to 1/2)::

    P(correct cascade) = p (p + 1) [1 - (p - p^2)^(n/2)] / (2 (1 - p + p^2))
    P(wrong cascade)   = (p - 2)(p - 1) [1 - (p - p^2)^(n/2)] / (2 (1 - p + p^2))
    P(no cascade)      = (p - p^2)^(n/2).

With the own-signal tie the pair probabilities are ``p^2`` (correct),
``(1-p)^2`` (wrong) and ``2 p (1-p)`` (no cascade yet).

Controlled social learning (Arghal, He, Saeedi Bidokhti & Sarkar, "Steering
the Herd: A Framework for LLM-based Control of Social Learning",
arXiv:2504.02648, the model and planner's problem): a planner who sees the
public belief (information parity: it does not know ``theta``) chooses each
agent's precision ``q_t`` at a cost ``c(q_t)``; agents know ``q_t`` (full
observability) and act as above. The planner maximises the discounted sum
``sum_t delta^(t-1) (r(pi_t, q_t) - c(q_t))`` with ``r`` the probability of a
correct action (altruistic planner) or of the target action (biased planner).
Its Bellman equation on the public belief is

    ``V(pi) = max_q  r(pi, q) - c(q) + delta [P(a=1) V(pi_1) + P(a=0) V(pi_0)]``

with ``pi_a`` the Bayes update after action ``a``; the paper proves ``V``
convex in ``pi``. ``solve_planner`` solves it by value iteration on a belief
grid with linear interpolation; ``is_convex_on_grid`` checks convexity.

Cost. Here ``c(q) = kappa |q - q0|^gamma`` around the precision ``q0``
agents get without intervention, so raising precision (informing) and
lowering it (obfuscating) both cost; ``gamma = 1`` (linear) by default. The
agent's rule is the paper's: follow the signal iff ``1 - q <= pi <= q``,
else herd. The biased planner obfuscates (``q < q0``) where the public
belief already leans towards its target, so that agents herd on it.

What we verified numerically (tests/mechanisms/test_social_learning.py): the
altruistic planner's ``V`` is convex on the grid for linear costs. With a
quadratic cost (``gamma = 2``) it is not: where the planner keeps the agent
exactly at the cascade threshold (``q = 1 - pi``) the cost ``c(1 - pi)`` is
concave in ``pi``. The biased planner's ``V`` in this model is not convex
either: it jumps at ``pi = 1/2`` (just above 1/2 a cheap obfuscation starts a
herd on the target; at 1/2 none can) and has a concave kink at ``pi = q0``.
The paper's convexity theorem presumably rests on assumptions about ``c``
and the planner's objective that we could not check against its text; the
planners' ``summary()`` reports ``value_convex`` rather than assuming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

Tie = Literal["coin", "own_signal"]
TIES = ("coin", "own_signal")
_EPS = 1e-9  # log-odds closer than this to 0 count as indifference


def _check_tie(tie: str) -> None:
    if tie not in TIES:
        raise ValueError(f"tie must be one of {', '.join(TIES)}; got {tie!r}")


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def expit(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def _clip_q(q: np.ndarray | float) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    if (q < 0.5 - 1e-12).any() or (q > 1 + 1e-12).any():
        raise ValueError("signal precision must lie in [1/2, 1]")
    return np.clip(q, 0.5, 1 - 1e-12)


def _choice(log_odds: np.ndarray, signal: int, tie: str) -> np.ndarray:
    """P(a = 1) of a Bayesian agent with posterior log-odds ``log_odds`` and signal ``signal``."""
    at_tie = 0.5 if tie == "coin" else float(signal)
    return np.where(log_odds > _EPS, 1.0, np.where(log_odds < -_EPS, 0.0, at_tie))


def action_probabilities(belief: np.ndarray | float, q: np.ndarray | float, tie: Tie = "own_signal") -> tuple[np.ndarray, np.ndarray]:
    """``(P(a=1 | theta=1), P(a=1 | theta=0))`` for a Bayesian agent with public belief ``belief`` and precision ``q``."""
    _check_tie(tie)
    lam = logit(belief)
    ell = logit(_clip_q(q))
    up = _choice(lam + ell, 1, tie)     # action after signal 1
    down = _choice(lam - ell, 0, tie)   # action after signal 0
    q = _clip_q(q)
    return q * up + (1 - q) * down, (1 - q) * up + q * down


def update_belief(belief: np.ndarray | float, action: int | np.ndarray, q: np.ndarray | float, tie: Tie = "own_signal") -> np.ndarray:
    """The public belief after observing ``action`` taken by a Bayesian agent with precision ``q`` (Bayes' rule)."""
    pi = np.asarray(belief, dtype=float)
    a1, a0 = action_probabilities(pi, q, tie)
    action = np.asarray(action)
    like1 = np.where(action == 1, a1, 1 - a1)
    like0 = np.where(action == 1, a0, 1 - a0)
    num = pi * like1
    den = num + (1 - pi) * like0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), pi)


def in_cascade(belief: np.ndarray | float, q: np.ndarray | float) -> np.ndarray:
    """+1 / -1 where the next agent takes action 1 / 0 whatever its signal (up / down cascade), else 0."""
    lam = logit(belief)
    ell = logit(_clip_q(q))
    return np.where(lam - ell > _EPS, 1, np.where(lam + ell < -_EPS, -1, 0))


# ====================================================================== closed form (BHW)
def cascade_probabilities(p: float, n_agents: int | None = None, tie: Tie = "coin") -> dict[str, float]:
    """Probabilities that a correct / wrong cascade has started after ``n_agents`` agents (``None``: the limit).

    Classic BHW model: prior 1/2, every agent's signal has accuracy ``p`` in
    (1/2, 1), all predecessors' actions observed. ``tie="coin"``: BHW's
    formulas; ``tie="own_signal"``: an indifferent agent follows its signal,
    so a pair of agents starts a cascade iff their signals agree. A cascade
    needs two net agreeing actions, so odd ``n`` gives the same as ``n - 1``.
    """
    _check_tie(tie)
    if not 0.5 < p < 1:
        raise ValueError("accuracy p must lie strictly between 1/2 and 1")
    if n_agents is not None and n_agents < 0:
        raise ValueError("n_agents must be non-negative")
    if tie == "coin":
        up, down, stay = p * (p + 1) / 2, (p - 2) * (p - 1) / 2, p - p * p
    else:
        up, down, stay = p * p, (1 - p) ** 2, 2 * p * (1 - p)
    none = 0.0 if n_agents is None else stay ** (n_agents // 2)
    started = 1.0 - none
    return {"correct": up / (up + down) * started, "wrong": down / (up + down) * started, "none": none}


def simulate_cascades(p: float, n_agents: int, n_runs: int, rng: np.random.Generator | int | None = None,
                      tie: Tie = "coin") -> dict[str, float]:
    """Monte Carlo of the classic model: the share of runs with a correct / wrong / no cascade after ``n_agents``.

    Every agent draws a signal, acts on its posterior (``tie`` at
    indifference) and the public belief is updated by Bayes' rule; the
    cascade status is read off the final public belief (``in_cascade``).
    Runs are simulated side by side (vectorised over runs). Returns the
    shares and their standard errors (``se_correct`` ...).
    """
    _check_tie(tie)
    rng = np.random.default_rng(rng)
    theta = rng.integers(0, 2, size=n_runs)
    pi = np.full(n_runs, 0.5)
    for _ in range(n_agents):
        signal = np.where(rng.random(n_runs) < p, theta, 1 - theta)
        lam = logit(pi) + np.where(signal == 1, 1, -1) * logit(p)
        at_tie = (rng.random(n_runs) < 0.5).astype(float) if tie == "coin" else signal.astype(float)
        action = np.where(lam > _EPS, 1, np.where(lam < -_EPS, 0, at_tie)).astype(int)
        pi = update_belief(pi, action, p, tie)
    status = in_cascade(pi, p)
    direction = np.where(theta == 1, 1, -1)
    correct = status == direction
    wrong = status == -direction
    none = status == 0
    out = {}
    for name, hit in (("correct", correct), ("wrong", wrong), ("none", none)):
        share = float(hit.mean())
        out[name] = share
        out[f"se_{name}"] = float(np.sqrt(max(share * (1 - share), 1e-12) / n_runs))
    return out


# ====================================================================== the planner
def precision_cost(q: np.ndarray | float, base: float, scale: float, power: float = 2.0) -> np.ndarray:
    """``c(q) = scale * |q - base|^power``: moving precision away from ``base`` either way costs."""
    return scale * np.abs(np.asarray(q, dtype=float) - base) ** power


@dataclass
class PlannerSolution:
    """Value function and policy of the planner's dynamic program on a belief grid."""

    objective: str
    beliefs: np.ndarray
    value: np.ndarray
    policy: np.ndarray                  # optimal precision at each grid belief
    q_grid: np.ndarray
    discount: float
    base_precision: float
    cost_scale: float
    cost_power: float
    target: int
    tie: str
    iterations: int
    converged: bool
    residual: float

    def precision(self, belief: float) -> float:
        """The optimal precision at ``belief`` (policy of the nearest grid belief)."""
        j = int(np.clip(np.searchsorted(self.beliefs, belief), 0, self.beliefs.size - 1))
        if j > 0 and abs(self.beliefs[j - 1] - belief) <= abs(self.beliefs[j] - belief):
            j -= 1
        return float(self.policy[j])

    def value_at(self, belief: float) -> float:
        return float(np.interp(belief, self.beliefs, self.value))

    def obfuscation_intervals(self, tol: float = 1e-9) -> list[tuple[float, float]]:
        """Belief intervals where the chosen precision is below the base precision (the planner obfuscates)."""
        return _intervals(self.beliefs, self.policy < self.base_precision - tol)

    def amplification_intervals(self, tol: float = 1e-9) -> list[tuple[float, float]]:
        """Belief intervals where the planner raises precision above the base."""
        return _intervals(self.beliefs, self.policy > self.base_precision + tol)

    def summary(self) -> dict:
        return {
            "objective": self.objective, "discount": self.discount, "iterations": self.iterations,
            "converged": self.converged, "value_convex": is_convex_on_grid(self.beliefs, self.value),
            "obfuscates_on": [list(map(float, iv)) for iv in self.obfuscation_intervals()],
            "informs_on": [list(map(float, iv)) for iv in self.amplification_intervals()],
        }


def _intervals(x: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    out, start = [], None
    for j, flag in enumerate(mask):
        if flag and start is None:
            start = j
        if not flag and start is not None:
            out.append((round(float(x[start]), 6), round(float(x[j - 1]), 6)))
            start = None
    if start is not None:
        out.append((round(float(x[start]), 6), round(float(x[-1]), 6)))
    return out


def stage_reward(objective: str, belief: np.ndarray, a1: np.ndarray, a0: np.ndarray, target: int = 1) -> np.ndarray:
    """``r(pi, q)``: P(correct action) for "altruistic", P(action = target) for "biased"."""
    if objective == "altruistic":
        return belief * a1 + (1 - belief) * (1 - a0)
    if objective == "biased":
        p1 = belief * a1 + (1 - belief) * a0
        return p1 if target == 1 else 1 - p1
    raise ValueError(f"objective must be 'altruistic' or 'biased'; got {objective!r}")


def solve_planner(objective: Literal["altruistic", "biased"] = "altruistic", *, base_precision: float = 0.6,
                  cost_scale: float = 1.0, cost_power: float = 1.0, discount: float = 0.9, target: int = 1,
                  q_grid: np.ndarray | None = None, belief_grid: np.ndarray | int = 401, tie: Tie = "own_signal",
                  tol: float = 1e-10, max_iter: int = 10_000) -> PlannerSolution:
    """Value iteration for the planner's Bellman equation (module docstring) on a belief grid.

    ``V`` between grid points is linearly interpolated; the iteration is a
    ``discount``-contraction, stopped when the sup-norm change is below
    ``tol * (1 - discount)`` or after ``max_iter`` sweeps (then
    ``converged=False``). Precisions range over ``q_grid`` (default 100
    points in [1/2, 0.99] plus ``base_precision``).
    """
    _check_tie(tie)
    if not 0 <= discount < 1:
        raise ValueError("discount must lie in [0, 1)")
    if not 0.5 <= base_precision <= 1:
        raise ValueError("base_precision must lie in [1/2, 1]")
    if target not in (0, 1):
        raise ValueError("target must be 0 or 1")
    beliefs = np.linspace(0.0, 1.0, belief_grid) if np.isscalar(belief_grid) else np.asarray(belief_grid, dtype=float)
    qs = np.unique(np.append(np.linspace(0.5, 0.99, 100) if q_grid is None else np.asarray(q_grid, dtype=float), base_precision))
    Pi, Q = np.meshgrid(beliefs, qs, indexing="ij")                      # (B, Qn)
    # belief-dependent candidates: the precision that puts the agent exactly at the cascade threshold
    # (q = max(pi, 1 - pi): it still follows its signal)
    # and the precision just below it (the agent herds), where the payoff of each q jumps
    edge = np.maximum(beliefs, 1 - beliefs)
    edges = np.clip(np.stack([edge, edge - 1e-9], axis=1), qs.min(), qs.max())
    Pi = np.hstack([Pi, beliefs[:, None], beliefs[:, None]])
    Q = np.hstack([Q, edges])
    a1, a0 = action_probabilities(Pi, Q, tie)
    reward = stage_reward(objective, Pi, a1, a0, target) - precision_cost(Q, base_precision, cost_scale, cost_power)
    p_up = Pi * a1 + (1 - Pi) * a0
    post_up = update_belief(Pi, 1, Q, tie)
    post_down = update_belief(Pi, 0, Q, tie)
    lo_u, w_u = _interp_weights(beliefs, post_up)
    lo_d, w_d = _interp_weights(beliefs, post_down)

    V = np.zeros(beliefs.size)
    residual, it, converged = np.inf, 0, False
    for it in range(1, max_iter + 1):
        cont = p_up * (V[lo_u] * (1 - w_u) + V[lo_u + 1] * w_u) + (1 - p_up) * (V[lo_d] * (1 - w_d) + V[lo_d + 1] * w_d)
        Qv = reward + discount * cont
        V_new = Qv.max(axis=1)
        residual = float(np.max(np.abs(V_new - V)))
        V = V_new
        if residual <= tol * (1 - discount):
            converged = True
            break
    cont = p_up * (V[lo_u] * (1 - w_u) + V[lo_u + 1] * w_u) + (1 - p_up) * (V[lo_d] * (1 - w_d) + V[lo_d + 1] * w_d)
    Qv = reward + discount * cont
    # ties between precisions: prefer the one closest to the base (no needless intervention)
    best = Qv.max(axis=1, keepdims=True)
    near = np.where(Qv >= best - 1e-12, -np.abs(Q - base_precision), -np.inf)
    policy = Q[np.arange(beliefs.size), near.argmax(axis=1)]
    return PlannerSolution(objective, beliefs, V, policy, qs, discount, base_precision, cost_scale, cost_power,
                           target, tie, it, converged, residual)


def _interp_weights(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``lo`` and weight ``w`` with ``x = (1 - w) grid[lo] + w grid[lo + 1]``."""
    lo = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    w = np.clip((x - grid[lo]) / (grid[lo + 1] - grid[lo]), 0.0, 1.0)
    return lo, w


def is_convex_on_grid(x: np.ndarray, y: np.ndarray, tol: float = 1e-8) -> bool:
    """True iff the piecewise-linear interpolant of ``(x, y)`` is convex: slopes non-decreasing up to ``tol``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    slopes = np.diff(y) / np.diff(x)
    return bool(np.all(np.diff(slopes) >= -tol * max(1.0, np.abs(slopes).max())))


# ====================================================================== exact forward evaluation
def expected_outcomes(precision: Callable[[float], float] | float, n_agents: int, *, prior: float = 0.5,
                      tie: Tie = "own_signal", target: int = 1, base_precision: float | None = None,
                      cost_scale: float = 0.0, cost_power: float = 1.0, merge_decimals: int = 9,
                      max_support: int = 20_000) -> dict[str, float]:
    """Exact expected shares of correct / target actions among ``n_agents`` Bayesian agents under a precision policy.

    The joint law of (state, public belief) is propagated over the reachable
    beliefs: mass ``m_theta(pi)`` = P(theta, belief = pi); beliefs equal to
    ``merge_decimals`` decimals are merged, and fewer decimals are used
    whenever the support would exceed ``max_support`` points (then the
    result is approximate). ``precision`` is a constant or a
    function of the public belief (e.g. ``PlannerSolution.precision``).
    """
    _check_tie(tie)
    policy = precision if callable(precision) else (lambda _pi, q=float(precision): q)
    support: dict[float, list[float]] = {round(prior, merge_decimals): [prior, 1 - prior]}
    correct = target_share = cost = 0.0
    cascade_correct = cascade_wrong = 0.0
    for _ in range(n_agents):
        nxt: dict[float, list[float]] = {}
        for pi, (m1, m0) in support.items():
            q = policy(pi)
            a1, a0 = action_probabilities(pi, q, tie)
            a1, a0 = float(a1), float(a0)
            correct += m1 * a1 + m0 * (1 - a0)
            target_share += (m1 * a1 + m0 * a0) if target == 1 else (m1 * (1 - a1) + m0 * (1 - a0))
            if base_precision is not None:
                cost += (m1 + m0) * float(precision_cost(q, base_precision, cost_scale, cost_power))
            for w1, w0 in ((m1 * a1, m0 * a0), (m1 * (1 - a1), m0 * (1 - a0))):
                if w1 + w0 <= 0:
                    continue
                key = round(w1 / (w1 + w0), merge_decimals)
                cell = nxt.setdefault(key, [0.0, 0.0])
                cell[0] += w1
                cell[1] += w0
        decimals = merge_decimals
        while len(nxt) > max_support and decimals > 2:   # keep the support bounded: merge nearer beliefs
            decimals -= 1
            merged: dict[float, list[float]] = {}
            for m1, m0 in nxt.values():
                cell = merged.setdefault(round(m1 / (m1 + m0), decimals), [0.0, 0.0])
                cell[0] += m1
                cell[1] += m0
            nxt = {round(m1 / (m1 + m0), merge_decimals): [m1, m0] for m1, m0 in merged.values()}
        support = nxt
    for pi, (m1, m0) in support.items():
        status = int(in_cascade(pi, policy(pi)))
        cascade_correct += m1 * (status == 1) + m0 * (status == -1)
        cascade_wrong += m1 * (status == -1) + m0 * (status == 1)
    n = max(1, n_agents)
    return {"correct_share": correct / n, "target_share": target_share / n, "mean_cost": cost / n,
            "correct_cascade": cascade_correct, "wrong_cascade": cascade_wrong}

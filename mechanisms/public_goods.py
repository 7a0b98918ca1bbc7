"""Public goods games: payoffs, pluggable reward rules, equilibria and welfare.

The linear public goods game (Isaac & Walker 1988; Ledyard 1995). n players
each hold an endowment e and contribute c_i in [0, e] (here: on the grid
{0, step, ..., e}). The standard reward is

    π_i(c) = e − c_i + (r / n) Σ_j c_j,                                   (1)

with multiplier 1 < r < n: contributing is socially efficient (each unit
returns r > 1 to the group) but privately costly (it returns r/n < 1 to the
contributor), so zero contribution is strictly dominant.

Sequential play (SPGG; "Everyone Contributes!", Liang, Qu, Yang, Lin & Shen,
AAMAS 2026, arXiv:2508.02076, §3): players move in a fixed order and each
sees its predecessors' contributions. Under (1) the unique SPNE is still
zero contribution (the last mover's payoff falls strictly in c_n whatever
came before; by induction so does every earlier mover's, since successors'
choices do not depend on it). ``spgg_spne`` computes the SPNE by backward
induction with ``mechanisms.extensive_form.solve_sequential`` — the solver, not
this argument, is what the tests check.

Reward rules are pluggable: a rule is a function
``rule(c, endowment, multiplier, **params) -> payoffs`` of the contribution
vector *in move order*; register one with ``@register_reward("name")`` or pass
a callable wherever a rule name is accepted.

The MAC-SPGG redesign ("mac_spgg" here) — read carefully, this rule is OURS,
not the paper's. What we could learn of the paper's reward (from its abstract,
its authors' code README and a third-party summary of §3.1–3.2, Definition 1
and Theorem 1; we could not read §3 itself): it combines an individual cost, a
cooperation bonus scaled by the predecessors' contributions (coefficient γ),
an equal share of the collective output (ρ), and a collective penalty P when
the group misses a threshold B; Theorem 1 gives a unique SPNE in which every
agent contributes, for continuous scores in [c_min, c_max] with c_min > 0, a
strictly convex differentiable cost, and lower bounds on γ, ρ and P. We could
not obtain the exact functional forms and inequalities, so we do not
implement the paper's rule. Our rule keeps the same four ingredients on the
linear game (1):

    π_i(c) = e − c_i + (r/n) Σ_j c_j + γ c_i (1 + m_i) − P · 1[Σ_j c_j < B],   (2)

where m_i = (Σ_{j<i} c_j) / ((i−1) e) in [0, 1] is the predecessors' mean
contribution as a fraction of the endowment (m_1 = 0), γ ≥ 0 the cooperation
bonus, P ≥ 0 the collective penalty and B the group target (default n e).

Proposition (ours). If γ > 1 − r/n (and P ≥ 0), full contribution c_i = e is
the unique SPNE outcome of the sequential game under (2), on any grid
containing e and for continuous contributions.

Proof. Fix all contributions but c_i. In (2), c_i enters player i's payoff
through −c_i + (r/n) c_i + γ c_i (1 + m_i), whose slope is
−1 + r/n + γ (1 + m_i) ≥ −1 + r/n + γ > 0 because m_i ≥ 0 and m_i does not
depend on c_i, and through −P·1[Σ c < B], which is non-increasing in
c_i. So π_i is strictly increasing in c_i whatever the others do: c_i = e is
strictly dominant. Backward induction: at every node of the last mover, the
unique best reply is e. Suppose every mover after i plays e at every node;
then their choices do not depend on c_i, and by strict dominance i's unique
best reply at every node is e. Hence the SPNE strategy profile (not just its
outcome) is unique and plays c = (e, ..., e). ∎

The rule is not budget balanced: the bonus is paid by a designer (as the
paper's reward is by the trainer), so ``spgg_theory`` reports both the welfare
under the rule and the *material* welfare Σ_i (1) = n e + (r − 1) Σ c.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Mapping

import numpy as np

from mechanisms.extensive_form import solve_sequential
from mechanisms.normal_form import pure_equilibria

RewardRule = Callable[..., np.ndarray]

_REWARDS: dict[str, RewardRule] = {}

# Guard rails: the sequential solver visits Σ_k m^k states, the normal form has m^n cells.
MAX_STATES = 2_000_000


def register_reward(name: str) -> Callable[[RewardRule], RewardRule]:
    """Decorator: register ``rule(c, endowment, multiplier, **params) -> payoffs`` under ``name``."""

    def decorate(rule: RewardRule) -> RewardRule:
        if name in _REWARDS and _REWARDS[name] is not rule:
            raise ValueError(f"reward rule {name!r} is registered twice")
        _REWARDS[name] = rule
        return rule

    return decorate


def reward_names() -> list[str]:
    return sorted(_REWARDS)


def get_reward(reward: str | RewardRule) -> RewardRule:
    """A rule by name (see ``reward_names()``), or the callable itself."""
    if callable(reward):
        return reward
    try:
        return _REWARDS[reward]
    except KeyError:
        raise ValueError(f"unknown reward rule {reward!r}; allowed: {', '.join(reward_names())}") from None


@register_reward("standard")
def standard_reward(c: np.ndarray, endowment: float, multiplier: float) -> np.ndarray:
    """Eq. (1): π_i = e − c_i + (r/n) Σ_j c_j."""
    c = np.asarray(c, dtype=float)
    return endowment - c + multiplier / c.size * c.sum()


@register_reward("mac_spgg")
def mac_spgg_reward(
    c: np.ndarray,
    endowment: float,
    multiplier: float,
    gamma: float = 1.0,
    penalty: float | None = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Eq. (2) — OUR redesign in the spirit of MAC-SPGG (see the module docstring).

    π_i = e − c_i + (r/n) Σ c + γ c_i (1 + m_i) − P 1[Σ c < B], m_i = predecessors' mean / e.
    Defaults: γ = 1 (> 1 − r/n for every r > 0), P = e / 2, B = n e.
    Sufficient condition for full contribution to be the unique SPNE: γ > 1 − r/n.
    """
    c = np.asarray(c, dtype=float)
    n = c.size
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    penalty = endowment / 2 if penalty is None else penalty
    if penalty < 0:
        raise ValueError(f"penalty must be >= 0, got {penalty}")
    threshold = n * endowment if threshold is None else threshold
    before = np.concatenate(([0.0], np.cumsum(c)[:-1]))
    count = np.arange(n)
    mean_before = np.divide(before, count * endowment, out=np.zeros(n), where=count > 0)
    total = c.sum()
    shortfall = penalty if total < threshold - 1e-9 * max(1.0, abs(threshold)) else 0.0
    return endowment - c + multiplier / n * total + gamma * c * (1.0 + mean_before) - shortfall


def mac_spgg_condition(n: int, multiplier: float, gamma: float = 1.0) -> bool:
    """Our sufficient condition for full contribution to be the unique SPNE under eq. (2): γ > 1 − r/n."""
    return gamma > 1.0 - multiplier / n


def payoffs(c: np.ndarray, endowment: float, multiplier: float, reward: str | RewardRule = "standard",
            **params: Any) -> np.ndarray:
    """Payoffs of one play of the game under a reward rule (contributions in move order)."""
    return np.asarray(get_reward(reward)(np.asarray(c, dtype=float), endowment, multiplier, **params), dtype=float)


def material_payoffs(c: np.ndarray, endowment: float, multiplier: float) -> np.ndarray:
    """Eq. (1) payoffs: what the public good itself yields, without bonuses or penalties."""
    return standard_reward(c, endowment, multiplier)


def contribution_grid(endowment: float, step: float) -> np.ndarray:
    """The grid {0, step, ..., endowment}; ``endowment`` must be a multiple of ``step``."""
    if not (endowment > 0 and step > 0 and math.isfinite(endowment) and math.isfinite(step)):
        raise ValueError(f"endowment and step must be positive numbers, got endowment={endowment}, step={step}")
    k = endowment / step
    if abs(k - round(k)) > 1e-9 * max(1.0, k):
        raise ValueError(f"endowment {endowment} is not a multiple of step {step}")
    return np.linspace(0.0, endowment, int(round(k)) + 1)


def _check(n: int, multiplier: float) -> None:
    if n < 1 or int(n) != n:
        raise ValueError(f"n must be a positive integer, got {n}")
    if not (multiplier >= 0 and math.isfinite(multiplier)):
        raise ValueError(f"multiplier must be a finite number >= 0, got {multiplier}")


def spgg_spne(n: int, endowment: float, multiplier: float, reward: str | RewardRule = "standard", step: float = 1,
              tie_break: str = "first", **params: Any) -> dict[str, Any]:
    """SPNE of the sequential public goods game by backward induction on the grid.

    Player k (k = 0..n−1) moves k-th and sees c_0..c_{k−1}. The state is the
    tuple of contributions so far (payoffs of earlier movers depend on their own
    contributions, so no coarser state is sufficient); the solver visits
    Σ_k m^k states for a grid of m points, so m^n is capped at ``MAX_STATES``.
    Ties are broken by ``tie_break`` ("first" = the lowest contribution).

    Returns ``{"contributions": [...], "payoffs": [...], "welfare": float,
    "unique": bool}`` — ``unique`` is False if some decision on the path was a tie.
    """
    _check(n, multiplier)
    grid = contribution_grid(endowment, step)
    rule = get_reward(reward)
    if len(grid) ** n > MAX_STATES:
        raise ValueError(f"{len(grid)}^{n} grid profiles exceed {MAX_STATES}: use a coarser step or fewer players")
    actions = tuple(float(x) for x in grid)

    def player_of(state: tuple) -> int | None:
        return len(state) if len(state) < n else None

    spne = solve_sequential(
        (),
        player_of,
        lambda state: actions,
        lambda state, a: state + (a,),
        lambda state: rule(np.asarray(state), endowment, multiplier, **params),
        tie_break=tie_break,
        max_states=MAX_STATES,
    )
    contributions = [float(a) for a in spne.path]
    return {
        "contributions": contributions,
        "payoffs": [float(x) for x in spne.payoffs],
        "welfare": float(np.sum(spne.payoffs)),
        "unique": bool(spne.unique),
    }


def payoff_tensor(n: int, endowment: float, multiplier: float, reward: str | RewardRule = "standard", step: float = 1,
                  **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """The simultaneous game as a normal form: (grid, u) with u of shape (n, m, ..., m)."""
    _check(n, multiplier)
    grid = contribution_grid(endowment, step)
    m = len(grid)
    if m ** n > MAX_STATES:
        raise ValueError(f"{m}^{n} profiles exceed {MAX_STATES}: use a coarser step or fewer players")
    rule = get_reward(reward)
    u = np.empty((n,) + (m,) * n)
    for profile in itertools.product(range(m), repeat=n):
        u[(slice(None),) + profile] = rule(grid[list(profile)], endowment, multiplier, **params)
    return grid, u


def pgg_nash(n: int, endowment: float, multiplier: float, reward: str | RewardRule = "standard", step: float = 1,
             **params: Any) -> list[list[float]]:
    """Pure Nash equilibria (contribution profiles) of the simultaneous game on the grid."""
    grid, u = payoff_tensor(n, endowment, multiplier, reward, step, **params)
    return [[float(grid[a]) for a in profile] for profile in pure_equilibria(u)]


def social_optimum(n: int, endowment: float, multiplier: float, reward: str | RewardRule = "standard", step: float = 1,
                   **params: Any) -> dict[str, Any]:
    """The contribution profile maximising total payoff under the rule (first maximiser in grid order)."""
    grid, u = payoff_tensor(n, endowment, multiplier, reward, step, **params)
    welfare = u.sum(axis=0)
    best = np.unravel_index(int(np.argmax(welfare)), welfare.shape)
    return {"contributions": [float(grid[a]) for a in best], "welfare": float(welfare[best])}


def price_of_anarchy(optimum_welfare: float, equilibrium_welfare: float) -> float:
    """Optimum welfare / equilibrium welfare (∞ if the equilibrium welfare is ≤ 0 < optimum)."""
    if equilibrium_welfare <= 0:
        return math.inf if optimum_welfare > 0 else 1.0
    return float(optimum_welfare / equilibrium_welfare)


def spgg_theory(n: int, endowment: float, multiplier: float, reward: str | RewardRule = "standard", step: float = 1,
                sequential: bool = True, **params: Any) -> dict[str, Any]:
    """Equilibrium, optimum, welfare gap and price of anarchy of one stage game of n players.

    ``sequential`` uses the SPNE (``spgg_spne``); otherwise the pure Nash
    equilibria of the simultaneous game (the worst one for the price of anarchy).
    The optimum is the material optimum: full contribution when r > 1.
    """
    if sequential:
        eq = spgg_spne(n, endowment, multiplier, reward, step, **params)
        eq_profile, unique = eq["contributions"], eq["unique"]
    else:
        profiles = pgg_nash(n, endowment, multiplier, reward, step, **params)
        if not profiles:
            return {"equilibrium": None, "note": "no pure Nash equilibrium on this grid"}
        rule_welfare = [float(payoffs(p, endowment, multiplier, reward, **params).sum()) for p in profiles]
        eq_profile, unique = profiles[int(np.argmin(rule_welfare))], len(profiles) == 1
    eq_c = np.asarray(eq_profile)
    eq_material = float(material_payoffs(eq_c, endowment, multiplier).sum())
    opt_c = np.full(n, endowment if multiplier > 1 else 0.0)
    opt_material = float(material_payoffs(opt_c, endowment, multiplier).sum())
    return {
        "equilibrium_contributions": [float(x) for x in eq_c],
        "equilibrium_unique": bool(unique),
        "equilibrium_payoffs": [float(x) for x in payoffs(eq_c, endowment, multiplier, reward, **params)],
        "equilibrium_material_welfare": eq_material,
        "optimum_contributions": [float(x) for x in opt_c],
        "optimum_material_welfare": opt_material,
        "welfare_gap": opt_material - eq_material,
        "price_of_anarchy": price_of_anarchy(opt_material, eq_material),
    }


def reward_params_ok(reward: str, params: Mapping[str, Any]) -> None:
    """Check that ``params`` are accepted by the named rule (raises ValueError listing what is allowed)."""
    import inspect

    rule = get_reward(reward)
    signature = inspect.signature(rule)
    allowed = list(signature.parameters)[3:]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"reward {reward!r} does not take {', '.join(unknown)}; allowed: {', '.join(allowed) or 'none'}")
    try:
        rule(np.zeros(2), 1.0, 1.0, **params)
    except ValueError:
        raise
    except Exception as exc:  # a user rule that fails on its own parameters
        raise ValueError(f"reward {reward!r} fails with parameters {dict(params)}: {exc}") from None

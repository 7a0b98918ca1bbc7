"""Welfare of a two-sided agentic marketplace, and its baselines.

Model (the seed paper "Magentic Marketplace: An Open-Source Environment for
Studying Agentic Markets", its welfare definition; the reference code is
``data/data_generation_scripts/baseline_utilities.py``, function ``main``, in
microsoft/multi-agent-marketplace). Customer ``c`` requests the items ``I_c``
with willingness to pay ``w_ci`` and the amenities ``A_c``. Business ``b`` is a
*candidate* for ``c`` when its menu has every item in ``I_c``; its price for the
order is ``p_cb = sum_{i in I_c} menu_b(i)``. If ``c`` buys from ``b``:

    u_cb = 2 * sum_i w_ci - p_cb      if b also has every amenity in A_c
    u_cb = - p_cb                     otherwise

and market welfare is the sum of customer utilities (a customer who buys
nothing contributes 0). The baselines pick one candidate per customer:

* optimal   : ``max_b u_cb`` (every customer buys their best candidate);
* cheapest  : the candidate with the lowest ``p_cb`` regardless of amenities
  (ties: lowest business index; Magentic's script adds up *all* tied
  candidates, which ``ties="all"`` reproduces);
* random    : ``E[u_cb]`` for ``b`` uniform among the candidates;
* random_with_amenities : ``E[u_cb]`` for ``b`` uniform among the candidates
  that also have every required amenity.

Magentic estimates the two random baselines by Monte Carlo (1000 draws of
the whole market, median and quartiles, ``get_stats`` in its script); here they
are exact expectations (a mean over the candidate set), and
``random_baselines_monte_carlo`` draws Magentic's distribution (seeded,
vectorised) for its median and quartiles.

Inputs are *candidate pairs* in flat arrays (one entry per (customer, business)
pair where the business carries every requested item), so a market of 10,000
customers and 3,000 businesses never needs a dense 10,000 x 3,000 matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Baselines:
    """Baseline welfare of a market (sums over customers) and per-customer values."""

    optimal: float
    cheapest: float
    random: float
    random_with_amenities: float
    per_customer_optimal: np.ndarray
    customers_without_candidates: int
    customers_without_qualifying: int

    def as_dict(self) -> dict[str, float]:
        return {
            "optimal": self.optimal,
            "cheapest": self.cheapest,
            "random": self.random,
            "random_with_amenities": self.random_with_amenities,
        }


def pair_utilities(value: np.ndarray, customer: np.ndarray, price: np.ndarray, qualifies: np.ndarray) -> np.ndarray:
    """``u_cb`` for each candidate pair: ``value[c] - price`` if it qualifies, else ``-price``.

    Parameters
    ----------
    value:
        Shape ``(C,)``: ``2 * sum_i w_ci`` for each customer.
    customer, price, qualifies:
        Shape ``(n,)``: the customer index, order price ``p_cb`` and whether the
        business has every required amenity, for each candidate pair.
    """
    value = np.asarray(value, dtype=float)
    price = np.asarray(price, dtype=float)
    return np.where(np.asarray(qualifies, dtype=bool), value[np.asarray(customer)] - price, -price)


def customer_utility(value: float, paid: float, satisfied: bool) -> float:
    """One customer's realised utility: ``value`` if some paid business met all needs, minus all payments."""
    return (value if satisfied else 0.0) - paid


def baselines(
    value: np.ndarray,
    customer: np.ndarray,
    business: np.ndarray,
    price: np.ndarray,
    qualifies: np.ndarray,
    *,
    ties: str = "lowest",
) -> Baselines:
    """Optimal, cheapest, random and random-with-amenities welfare (exact).

    Parameters
    ----------
    value:
        Shape ``(C,)``, ``2 * sum_i w_ci`` per customer.
    customer, business, price, qualifies:
        Candidate pairs, shape ``(n,)`` each (see module docstring).
    ties:
        ``"lowest"``: the cheapest baseline takes the tied candidate with the
        lowest business index; ``"all"``: it adds up every tied candidate, as
        Magentic's ``baseline_utilities.py`` does.

    Returns
    -------
    Baselines
        Sums over customers; customers with no candidate (or no qualifying
        candidate, for ``random_with_amenities``) contribute 0.
    """
    if ties not in ("lowest", "all"):
        raise ValueError(f"ties must be 'lowest' or 'all', got {ties!r}")
    value = np.asarray(value, dtype=float)
    n_customers = value.shape[0]
    customer = np.asarray(customer, dtype=np.int64)
    business = np.asarray(business, dtype=np.int64)
    price = np.asarray(price, dtype=float)
    qualifies = np.asarray(qualifies, dtype=bool)
    if not (customer.shape == business.shape == price.shape == qualifies.shape):
        raise ValueError("customer, business, price and qualifies must have the same shape")
    if np.any(price < 0):
        raise ValueError("prices must be non-negative")
    u = pair_utilities(value, customer, price, qualifies)

    counts = np.bincount(customer, minlength=n_customers)
    has = counts > 0
    best = np.full(n_customers, -np.inf)
    np.maximum.at(best, customer, u)
    per_customer_optimal = np.where(has, best, 0.0)

    # Cheapest: sort pairs by (customer, price, business); the first of each customer wins.
    order = np.lexsort((business, price, customer))
    c_sorted = customer[order]
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = c_sorted[1:] != c_sorted[:-1]
    if ties == "lowest":
        cheapest = float(u[order[first]].sum())
    else:
        lowest = np.full(n_customers, np.inf)
        np.minimum.at(lowest, customer, price)
        cheapest = float(u[price == lowest[customer]].sum())

    random_pick = float(np.sum(np.bincount(customer, weights=u, minlength=n_customers)[has] / counts[has]))
    q_counts = np.bincount(customer[qualifies], minlength=n_customers)
    q_sums = np.bincount(customer[qualifies], weights=u[qualifies], minlength=n_customers)
    q_has = q_counts > 0
    random_amenities = float(np.sum(q_sums[q_has] / q_counts[q_has]))
    return Baselines(
        optimal=float(per_customer_optimal.sum()),
        cheapest=cheapest,
        random=random_pick,
        random_with_amenities=random_amenities,
        per_customer_optimal=per_customer_optimal,
        customers_without_candidates=int(np.sum(~has)),
        customers_without_qualifying=int(np.sum(~q_has)),
    )


def welfare_fraction(welfare: float, optimal: float) -> float:
    """Realised welfare as a fraction of the optimum (NaN when the optimum is 0)."""
    return float(welfare / optimal) if abs(optimal) > 1e-12 else float("nan")


def advantage_ratio(wins_a: float, wins_b: float) -> float:
    """``wins_a / wins_b`` (e.g. speed vs. quality wins in the paper's first-proposal-bias study); inf when only ``a`` wins, NaN when neither."""
    if wins_b > 0:
        return float(wins_a / wins_b)
    return float("inf") if wins_a > 0 else float("nan")


def capacity_optimum(
    value: np.ndarray,
    customer: np.ndarray,
    business: np.ndarray,
    price: np.ndarray,
    qualifies: np.ndarray,
    n_businesses: int,
    capacity: int | np.ndarray,
) -> tuple[float, np.ndarray]:
    """Optimal welfare when business ``b`` can serve at most ``capacity[b]`` customers.

    The assignment problem ``max sum_cb u_cb z_cb`` s.t. each customer buys at
    most once, each business sells at most ``capacity[b]`` orders, only
    candidate pairs allowed (customers may stay out, utility 0), solved by
    ``mechanisms.matching.optimal_assignment``. Dense ``C x B``: meant for
    markets up to a few million pairs.

    Returns the optimal welfare and, per customer, the business index bought
    from (-1: none).
    """
    from mechanisms.matching import optimal_assignment

    value = np.asarray(value, dtype=float)
    n_customers = value.shape[0]
    weights = np.full((n_customers, n_businesses), np.nan)
    weights[np.asarray(customer), np.asarray(business)] = pair_utilities(value, customer, price, qualifies)
    result = optimal_assignment(weights, cap_left=1, cap_right=capacity)
    chosen = np.full(n_customers, -1, dtype=np.int64)
    for i, j in result.pairs:
        chosen[i] = j
    return result.total, chosen


def random_baselines_monte_carlo(
    value: np.ndarray,
    customer: np.ndarray,
    price: np.ndarray,
    qualifies: np.ndarray,
    *,
    draws: int = 1000,
    seed: int = 0,
    chunk: int = 50_000_000,
) -> dict[str, dict[str, float]]:
    """Median, first and third quartile (and min, max) of the market's welfare when every customer picks uniformly.

    Magentic's ``baseline_utilities.py``: each of ``draws`` rounds picks, for
    every customer, one candidate uniformly (``random``) or one candidate with
    every required amenity (``random_with_amenities``) and adds up their
    utilities; a customer without such a candidate adds 0. Seeded, vectorised:
    a draw is ``floor(U * k_c)`` into each customer's block of candidate pairs,
    ``draws`` rounds at a time as long as ``draws x customers`` stays under ``chunk``.
    """
    value = np.asarray(value, dtype=float)
    customer = np.asarray(customer, dtype=np.int64)
    u = pair_utilities(value, customer, price, qualifies)
    qualifies = np.asarray(qualifies, dtype=bool)
    rng = np.random.default_rng(seed)
    out = {}
    for name, mask in (("random", np.ones(u.shape[0], dtype=bool)), ("random_with_amenities", qualifies)):
        order = np.argsort(customer[mask], kind="stable")
        c, uu = customer[mask][order], u[mask][order]
        _, start, counts = np.unique(c, return_index=True, return_counts=True)
        totals = np.zeros(draws)
        # Customers with one candidate add a constant; the others are drawn by their number of candidates k
        # (small integers, ``draws`` rows at a time within ``chunk``).
        totals += uu[start[counts == 1]].sum()
        for k in np.unique(counts[counts > 1]).tolist():
            first = start[counts == k]
            block = uu[first[:, None] + np.arange(k)]            # (customers with k candidates, k)
            step = max(1, chunk // max(1, first.shape[0]))
            for lo in range(0, draws, step):
                n = min(step, draws - lo)
                pick = rng.integers(0, k, size=(n, first.shape[0]), dtype=np.int32)
                totals[lo:lo + n] += block[np.arange(first.shape[0]), pick].sum(axis=1)
        q1, median, q3 = np.percentile(totals, [25, 50, 75])
        out[name] = {"median": float(median), "q1": float(q1), "q3": float(q3),
                     "min": float(totals.min()), "max": float(totals.max())}
    return out

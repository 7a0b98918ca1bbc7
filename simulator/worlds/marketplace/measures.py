"""What the marketplace measures besides welfare: search quality, first-proposal bias, manipulation.

Functions of the run's final state (arrays from ``data.compile_arrays`` and the
world's ledgers), no world import, so they can be read and tested alone:

* ``meets_needs``: Magentic's rule for a satisfied customer (the paid proposal
  lists every requested item and the business has every required amenity);
* ``found_share``: how often a customer's best candidate was on the last page
  of results it saw (how the search mechanism shapes outcomes);
* ``first_proposal_measures``: speed vs. quality (Magentic's first-proposal bias);
* ``manipulation_measures``: payments and revenue captured by each condition (persuasion style) vs. control;
* ``shares``: counts as shares of their total (payments by search rank);
* ``finite``: undefined ratios become None so metrics stay strict JSON.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

from mechanisms import market_welfare as welfare_theory


def finite(value: Any) -> Any:
    """Ratios that are undefined (0/0) or unbounded (x/0) become None, so metrics stay strict JSON."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def meets_needs(arrays: Any, wanted: Iterable[str], i: int, j: int, offered: set[str]) -> bool:
    """Customer ``i`` is served by business ``j``'s proposal: every required amenity, every wanted item offered."""
    return bool(amenities_met(arrays, i, j) and offers_all(wanted, offered))


def amenities_met(arrays: Any, i: Any, j: Any) -> Any:
    """Whether business ``j`` has every amenity customer ``i`` requires (``meets_needs``' first half): for one pair
    (ints), or for many at once (index arrays of equal length, one answer per pair)."""
    return ~(arrays.required[i] & ~arrays.has_amenity[j]).any(axis=-1)   # the method: np.any's wrapper costs more than the test


def offered_items(items: Iterable[dict], menu: Mapping[str, float] | None) -> set[str]:
    """The names of a proposal's items that can meet a need: those on the business's menu (every one without a menu)."""
    if menu is None:
        return {item["name"] for item in items}
    return {item["name"] for item in items if item["name"] in menu}   # a test per item, not a pass over the menu


def offers_all(wanted: Iterable[str], offered: set[str]) -> bool:
    """Every wanted item is offered (``meets_needs``' second half)."""
    return all(name in offered for name in wanted)


def found_share(arrays: Any, search_state: list[dict | None], business_ids: list[str]) -> float:
    """Share of customers whose best candidate business was on a result page they saw last."""
    u = arrays.cand_utility
    indptr = arrays.cand_indptr
    counts = np.diff(indptr)
    starts = indptr[:-1][counts > 0]
    # Each customer's best candidate as np.argmax of its segment would find it (the first maximum), for all at once:
    # the segment maxima, then the first position in each segment that attains it.
    top = np.flatnonzero(u == np.repeat(np.maximum.reduceat(u, starts), counts[counts > 0])) if len(starts) else starts
    best_of = dict(zip(np.flatnonzero(counts > 0).tolist(), arrays.cand_business[top[np.searchsorted(top, starts)]].tolist()))
    hits = 0
    for i, state in enumerate(search_state):
        j = best_of.get(i)
        if state is None or j is None:
            continue
        best = business_ids[j]
        hits += any(r["id"] == best for r in state["results"])
    return hits / max(1, len(search_state))


def first_proposal_measures(
    arrays: Any,
    wanted: list[Mapping[str, float]],
    proposals: Mapping[str, dict],
    first_proposal: list[str | None],
    paid: list[list[str]],
    response_times: list[list[float]],
    revenue: np.ndarray,
    menus: list[Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """First-proposal bias: who paid the first proposal, and speed vs. quality wins.

    For a customer who received at least two proposals, the *first* is the
    earliest delivered and the *best* the one with the highest utility to
    the customer; a speed win is paying the first when it is not the best,
    a quality win paying the best when it is not the first. Businesses that
    answered are split at the median mean response time to compare revenue.
    ``wanted[i]`` is customer ``i``'s requested items; ``proposals`` the
    world's proposal ledger (``record``, ``business``, ``customer``, ``delivered``);
    ``menus[j]`` business ``j``'s menu (only items on it meet needs; None: any item).
    """
    paid_first = paid_total = speed_wins = quality_wins = 0
    by_customer: dict[int, list[dict]] = {}
    for p in proposals.values():
        by_customer.setdefault(p["customer"], []).append(p)
    compared: list[tuple[int, list[dict]]] = []   # paying customers with two or more delivered proposals
    for i, props in by_customer.items():
        if not paid[i]:
            continue
        paid_total += 1
        if paid[i][0] == first_proposal[i]:
            paid_first += 1
        delivered = [p for p in props if p.get("delivered")]
        if len(delivered) >= 2:
            compared.append((i, delivered))
    # The amenity half of ``meets_needs`` (``amenities_met``) for every compared proposal in one array operation (per proposal it costs
    # a few numpy calls: most of this function's time at 100,000 customers); the item half stays per proposal.
    pairs_i = np.fromiter((i for i, delivered in compared for _ in delivered), dtype=np.int64)
    pairs_j = np.fromiter((p["business"] for _, delivered in compared for p in delivered), dtype=np.int64)
    amenities_ok = amenities_met(arrays, pairs_i, pairs_j).tolist() if len(pairs_i) else []
    k = 0
    value = arrays.value.tolist()   # Python floats: the same differences as numpy's, without a numpy scalar per proposal
    for i, delivered in compared:
        first = first_proposal[i]
        values = []
        wanted_i, value_i = wanted[i], value[i]
        for p in delivered:
            record = p["record"]
            offered = offered_items(record["items"], None if menus is None else menus[p["business"]])
            ok = amenities_ok[k] and offers_all(wanted_i, offered)
            k += 1
            values.append((value_i if ok else 0.0) - record["total"])
        best = delivered[values.index(max(values))]["record"]["proposal_id"]   # the first of the best, as max(key=)
        chosen = paid[i][0]
        if best != first:
            if chosen == first:
                speed_wins += 1
            elif chosen == best:
                quality_wins += 1
    mean_rt = np.array([np.mean(rt) if rt else np.nan for rt in response_times])
    answered = ~np.isnan(mean_rt)
    out: dict[str, Any] = {
        "paid_first_proposal_share": paid_first / paid_total if paid_total else float("nan"),
        "speed_wins": speed_wins, "quality_wins": quality_wins,
        "speed_quality_advantage_ratio": welfare_theory.advantage_ratio(speed_wins, quality_wins),
    }
    if answered.sum() >= 2 and np.ptp(mean_rt[answered]) > 1e-9:
        median = float(np.median(mean_rt[answered]))
        fast = answered & (mean_rt <= median)
        slow = answered & (mean_rt > median)
        if slow.sum() == 0:
            fast = answered & (mean_rt < median)
            slow = answered & (mean_rt >= median)
        rev_fast = float(revenue[fast].sum() / max(1, fast.sum()))
        rev_slow = float(revenue[slow].sum() / max(1, slow.sum()))
        out.update({
            "median_response_time": median,
            "revenue_per_fast_business": rev_fast,
            "revenue_per_slow_business": rev_slow,
            "fast_slow_revenue_ratio": welfare_theory.advantage_ratio(rev_fast, rev_slow),
        })
    return out


def manipulation_measures(style: list[str], revenue: np.ndarray, sales: np.ndarray) -> dict[str, Any]:
    """Per persuasion style: businesses, shares of payments and revenue, lift over its share of businesses and over control."""
    total_rev = float(revenue.sum())
    total_sales = int(sales.sum())
    nb = len(style)
    table: dict[str, Any] = {}
    styles = np.asarray(style)
    for name in sorted(set(style)):
        mask = styles == name
        share_b = mask.sum() / nb
        rev_share = float(revenue[mask].sum()) / total_rev if total_rev > 0 else 0.0
        table[name] = {
            "businesses": int(mask.sum()),
            "payments_share": float(sales[mask].sum()) / total_sales if total_sales else 0.0,
            "revenue_share": rev_share,
            "revenue_lift": rev_share / share_b if share_b > 0 else float("nan"),
        }
    control = table.get("control", {}).get("revenue_lift")
    if control:
        for row in table.values():
            row["lift_vs_control"] = row["revenue_lift"] / control if control > 0 else float("nan")
    return table


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each key's share of the total count, keys in rank order ("1", "2", ..., then others); {} when nothing was counted."""
    total = sum(counts.values())
    order = sorted(counts, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
    return {k: counts[k] / total for k in order} if total else {}

"""Welfare over simulated time for one run, with its theory line, as JSON for the run page's chart.

Welfare accrues as events report payoffs: an event whose data carry ``payoffs``
(a list or a mapping), a ``payoff`` or a ``realised`` utility adds their sum at
its time ``t`` (``simulator.plots.welfare_steps``, the reading of the welfare figure). The
cumulative sum is thinned to at most ``MAX_POINTS`` points (every step kept when
there are fewer; otherwise the last point of each of ``MAX_POINTS`` equal slices
of the log, so the curve's end is exact).

The theory lines come from the run's theory/simulation table (the run JSON's
``comparison``): a row whose simulated value is the run's welfare predicts the
total; a row whose simulated value is the welfare per payoff step (welfare / N,
e.g. utility per episode, welfare per round) predicts N times its theory. A run
without such rows falls back on the theory keys that name an equilibrium or
optimum welfare (a per-round key, ``stage_*`` or ``*_per_round``, times the rounds
played). It is drawn as accruing at a constant rate per payoff step (after k of
the run's N payoff-reporting events, k/N of the predicted total): for a repeated
game that is the per-round prediction times the rounds played so far.
"""

from __future__ import annotations

import json
from typing import Any

from simulator import figure_cache
from simulator.comparison import comparison_for
from simulator.plots import welfare_steps

MAX_POINTS = 400


def _number(value: Any) -> float | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-4 * max(1.0, abs(a), abs(b))  # the table's values are rounded for reading


def theory_lines(metrics: dict[str, Any], comparison: list[dict[str, Any]] | None, steps: int) -> list[dict[str, Any]]:
    """``[{label, value}]``: total welfare that theory predicts for this run."""
    welfare = _number(metrics.get("welfare"))
    lines = []
    for row in comparison or []:
        theory, simulated = _number(row.get("theory")), _number(row.get("simulated"))
        if welfare is None or theory is None or simulated is None:
            continue
        if _close(simulated, welfare):
            lines.append({"label": row["quantity"], "value": theory})
        elif steps and _close(simulated * steps, welfare):
            lines.append({"label": f"{row['quantity']} x {steps} steps", "value": theory * steps})
    if lines:
        merged: dict[float, list[str]] = {}  # several quantities with one prediction: one line
        for line in lines:
            merged.setdefault(round(line["value"], 9), []).append(line["label"])
        return [{"label": labels[0] + (f" (and {len(labels) - 1} more alike)" if len(labels) > 1 else ""), "value": value}
                for value, labels in merged.items()][:4]
    rounds = _number((metrics.get("measures") or {}).get("rounds"))
    for key, raw in (metrics.get("theory") or {}).items():
        if "welfare" not in key or any(word in key for word in ("gap", "fraction", "ratio", "price_of", "step")):
            continue
        if not any(word in key for word in ("equilibri", "nash", "optim", "spne")):
            continue
        value = _number(raw) if not (isinstance(raw, list) and raw) else _number(raw[0])
        if value is None:
            continue
        per_round = key.startswith("stage_") or "per_round" in key
        if per_round:
            if rounds is None:
                continue
            value *= rounds
        lines.append({"label": key + (f" x {rounds:g} rounds" if per_round else ""), "value": value})
    return lines[:4]


def cached_welfare_series(store: Any, run: dict[str, Any]) -> dict[str, Any]:
    """``welfare_series`` with the run's theory/simulation table, kept beside the store once the run has ended
    (``simulator.figure_cache``, as its figures: ``simulator.draw_ahead`` writes it when a big run ends)."""
    version = figure_cache.version_of(run)
    disk = figure_cache.for_store(store) if version is not None else None
    known = disk.get(run["id"], "series", "json", version) if disk is not None else None
    if known is not None:
        return json.loads(known)
    comparison = [row.to_dict() for row in comparison_for(run["world"], run.get("metrics") or {})]
    series = welfare_series(store, run, comparison)
    if disk is not None:
        disk.put(run["id"], "series", "json", version, json.dumps(series).encode())
    return series


def welfare_series(store: Any, run: dict[str, Any], comparison: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{points: [[t, cumulative welfare, k]], steps: N, events_read, final, theory: [{label, value}], note}``
    (``k``: payoff events up to that point, of ``N`` in the run)."""
    steps, read = welfare_steps(store, run)
    n_steps = len(steps)
    if len(steps) > MAX_POINTS:
        size = len(steps) / MAX_POINTS
        steps = [steps[min(len(steps) - 1, int((i + 1) * size) - 1)] for i in range(MAX_POINTS)]
    metrics = run.get("metrics") or {}
    return {
        "points": [[t, w, k] for t, w, k in steps],
        "steps": n_steps,
        "events_read": read,
        "final": _number(metrics.get("welfare")),
        "theory": theory_lines(metrics, comparison, n_steps) if metrics else [],
        "note": "" if steps else ("the run logged no events" if read == 0 else "no event of this run reports payoffs"),
    }

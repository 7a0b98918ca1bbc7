"""Welfare over simulated time for one run, with its theory line, as JSON for the run page's chart.

Welfare accrues as events report payoffs: an event whose data carry ``payoffs``
(a list or a mapping), a ``payoff`` or a ``realised`` utility adds their sum at
its time ``t`` (the same reading as ``simulator.plots``' welfare figure). The
cumulative sum is thinned to at most ``MAX_POINTS`` points (every step kept when
there are fewer; otherwise the last point of each of ``MAX_POINTS`` equal slices
of the log, so the curve's end is exact).

The theory line is the world's paired theory quantity for ``welfare``
(``simulator.world.Pairing`` with ``simulated == "welfare"``) or, for a world that
declares none, the theory keys that name an equilibrium or optimum welfare; a
per-round quantity (``stage_*``, ``*_per_round``) is multiplied by the rounds
played. It is drawn as accruing at a constant rate over the run (from 0 at the
first event to its value at the last), which is what a total over a run
predicts for its time path when nothing else is known.
"""

from __future__ import annotations

from typing import Any

MAX_POINTS = 400


def _gained(data: dict[str, Any]) -> float | None:
    payoffs = data.get("payoffs")
    if isinstance(payoffs, list):
        return sum(float(v) for v in payoffs if isinstance(v, (int, float)) and not isinstance(v, bool))
    if isinstance(payoffs, dict):
        return sum(float(v) for v in payoffs.values() if isinstance(v, (int, float)) and not isinstance(v, bool))
    for key in ("payoff", "realised"):
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _path(metrics: dict[str, Any], path: str) -> Any:
    value: Any = metrics
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def theory_lines(world: str, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{label, value}]``: total welfare that theory predicts for this run."""
    from simulator.worlds import get_world

    rounds = _number((metrics.get("measures") or {}).get("rounds"))
    cls = get_world(world)
    lines = []
    for pairing in getattr(cls, "paired", ()) or ():
        if pairing.simulated == "welfare":
            value = _number(_path(metrics, pairing.theory))
            if value is not None:
                lines.append({"label": f"{pairing.quantity} ({pairing.theory})", "value": value})
    if lines:
        return lines
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


def welfare_series(store: Any, run: dict[str, Any]) -> dict[str, Any]:
    """``{points: [[t, cumulative welfare]], events_read, final, theory: [{label, value}], note}``."""
    steps: list[tuple[float, float]] = []
    total = 0.0
    read = 0
    for event in store.iter_events(run["id"], page=10_000):
        read += 1
        gained = _gained(event["data"])
        if gained is not None:
            total += gained
            steps.append((event["t"], total))
    if len(steps) > MAX_POINTS:
        size = len(steps) / MAX_POINTS
        steps = [steps[min(len(steps) - 1, int((i + 1) * size) - 1)] for i in range(MAX_POINTS)]
    metrics = run.get("metrics") or {}
    return {
        "points": [[t, w] for t, w in steps],
        "events_read": read,
        "final": _number(metrics.get("welfare")),
        "theory": theory_lines(run["world"], metrics) if metrics else [],
        "note": "" if steps else ("the run logged no events" if read == 0 else "no event of this run reports payoffs"),
    }

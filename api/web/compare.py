"""Several runs side by side: their parameters diffed, their metrics and theory in one table.

Parameters are each run's scenario as written (parsed, its ``--set`` overrides
applied) and its seed, flattened to dotted paths; a path is *differing* when the
runs do not all have the same value there (a path missing from a run counts as
a different value). Metrics are the scalar entries of ``welfare``, ``measures``
and ``theory`` (one-element lists read as their element), flattened the same
way; long per-agent mappings (``payoffs``) are summarised by count, mean, min
and max so that 2,000-agent runs compare in a few rows.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from simulator.parsing import parse_document
from simulator.scenario import apply_overrides

MISSING = object()


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None, depth: int = 0) -> dict[str, Any]:
    """Dotted paths to leaves (lists are leaves; mappings nest up to 6 levels)."""
    out = {} if out is None else out
    if isinstance(value, dict) and value and depth < 6:
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out, depth + 1)
    else:
        out[prefix] = value
    return out


def parameters(run: dict[str, Any]) -> dict[str, Any]:
    return dict(_parameters(run["id"], run["scenario_text"], json.dumps(run.get("overrides") or []), run["seed"]))


@lru_cache(maxsize=1024)  # a stored run's text and overrides never change; parsing YAML is most of a comparison's time
def _parameters(run_id: str, text: str, overrides: str, seed: int) -> tuple[tuple[str, Any], ...]:
    try:
        data, _ = parse_document(text, f"run {run_id}")
        data = apply_overrides(data, [tuple(item) for item in json.loads(overrides)])
    except Exception as exc:  # a run stored by an older version: show why instead of its parameters
        return (("(scenario)", f"unreadable: {exc}"),)
    flat = flatten({k: v for k, v in data.items() if k not in ("description", "name")} if isinstance(data, dict) else {})
    flat["seed"] = seed
    return tuple(flat.items())


def _scalar(value: Any) -> float | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def metric_rows(metrics: dict[str, Any]) -> dict[str, float]:
    rows: dict[str, float] = {}
    if _scalar(metrics.get("welfare")) is not None:
        rows["welfare"] = _scalar(metrics["welfare"])
    payoffs = [_scalar(v) for v in (metrics.get("payoffs") or {}).values()]
    payoffs = [v for v in payoffs if v is not None]
    if payoffs:
        rows.update({"payoffs.count": float(len(payoffs)), "payoffs.mean": sum(payoffs) / len(payoffs),
                     "payoffs.min": min(payoffs), "payoffs.max": max(payoffs)})
    for block in ("measures", "theory"):
        for path, value in flatten(metrics.get(block) or {}, block).items():
            number = _scalar(value)
            if number is not None:
                rows[path] = number
    return rows


def _same(values: list[Any]) -> bool:
    keys = [json.dumps(v, sort_keys=True, default=str) if v is not MISSING else "\0missing" for v in values]
    return len(set(keys)) == 1


def compare(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``{runs: [...], parameters: [{path, values, differs}], metrics: [{path, values}], comparison: [...]}``."""
    params = [parameters(run) for run in runs]
    paths = sorted(set().union(*params))
    parameter_rows = []
    for path in paths:
        values = [p.get(path, MISSING) for p in params]
        parameter_rows.append({"path": path, "values": [None if v is MISSING else v for v in values], "differs": not _same(values)})
    parameter_rows.sort(key=lambda row: (not row["differs"], row["path"]))
    metrics = [metric_rows(run.get("metrics") or {}) for run in runs]
    metric_paths = sorted(set().union(*metrics), key=lambda p: (p != "welfare", not p.startswith("payoffs"), p))
    return {
        "runs": [{k: run.get(k) for k in ("id", "scenario_name", "world", "seed", "status", "created_at", "sweep_id")} for run in runs],
        "parameters": parameter_rows,
        "metrics": [{"path": path, "values": [m.get(path) for m in metrics]} for path in metric_paths],
        "comparison": [run.get("comparison") for run in runs],
    }

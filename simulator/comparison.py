"""Theory beside simulation: one table per run from the world's ``paired`` declarations (``simulator.world.Pairing``).

Each row is ``{quantity, theory, simulated, gap, note}`` with ``gap = simulated - theory``.
The CLI's ``agora run`` prints it, the API's run detail returns it as ``comparison``
and the notebook API (``agora.Run.comparison``) as a DataFrame: all three call
:func:`comparison`.

A pairing's paths read a run's ``Metrics.to_dict()``:

* dots walk nested mappings and lists (``theory.stage_equilibrium_welfare.0``);
* ``a / b`` divides two paths (``welfare / measures.rounds``: welfare per round);
* a ``*`` part expands into one row per key of the mapping there, the same key
  substituted in the other path when it has a ``*`` too, and named in the quantity
  (``theory.fixation_probability.*`` beside ``measures.fixed.*``).

A pair whose paths are not all in the metrics is left out: worlds report some theory
only in some configurations (the matrix game's fixation probabilities only in its
population mode), and a class's ``paired`` lists every pair it can report.
Values are rounded to 6 significant digits and the gap to the same decimal places
as the larger of the two, so floating-point noise (``0.49999999999999994``) reads as
``0.5`` and a gap of ``5.6e-17`` as ``0``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

SIGNIFICANT = 6
_MISSING = object()


@dataclass(frozen=True)
class Row:
    quantity: str
    theory: Any
    simulated: Any
    gap: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def comparison(pairings: Iterable[Any], metrics: Mapping[str, Any]) -> list[Row]:
    """The rows of ``pairings`` (``Pairing``-like: quantity, theory, simulated, note) that ``metrics`` resolves."""
    rows: list[Row] = []
    for pairing in pairings:
        for key, theory, simulated in _expand(pairing.theory, pairing.simulated, metrics):
            quantity = pairing.quantity if key is None else f"{pairing.quantity}: {key}"
            rows.append(Row(quantity, _rounded(theory), _rounded(simulated), _gap(theory, simulated), pairing.note))
    return rows


def comparison_for(world_type: str, metrics: Mapping[str, Any]) -> list[Row]:
    """The table of a stored run from its world type and metrics (the class's ``paired`` declarations)."""
    from simulator import worlds as world_registry

    cls = world_registry.get_world(world_type)
    return comparison(getattr(cls, "paired", ()), metrics) if cls is not None else []


def resolve(path: str, metrics: Mapping[str, Any]) -> Any:
    """The value at ``path`` (see the module docstring; no ``*``), or ``None`` when it is not there."""
    value = _value(path, metrics)
    return None if value is _MISSING else value


def _expand(theory: str, simulated: str, metrics: Mapping[str, Any]) -> Iterable[tuple[str | None, Any, Any]]:
    if "*" not in theory and "*" not in simulated:
        pair = _value(theory, metrics), _value(simulated, metrics)
        if _MISSING not in pair and None not in pair:
            yield None, pair[0], pair[1]
        return
    starred = simulated if "*" in simulated else theory
    head = _value(starred.split("*", 1)[0].rstrip("."), metrics)
    if not isinstance(head, Mapping):
        return
    for key in head:
        pair = _value(theory.replace("*", str(key)), metrics), _value(simulated.replace("*", str(key)), metrics)
        if _MISSING not in pair and None not in pair:
            yield str(key), pair[0], pair[1]


def _value(path: str, metrics: Mapping[str, Any]) -> Any:
    if " / " in path:
        top, bottom = (_value(part.strip(), metrics) for part in path.split(" / ", 1))
        if not (_number(top) and _number(bottom)) or bottom == 0:
            return _MISSING
        return top / bottom
    value: Any = metrics
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _rounded(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    if not math.isfinite(value) or value == 0:
        return value
    rounded = float(f"{value:.{SIGNIFICANT}g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded


def _gap(theory: Any, simulated: Any) -> float | None:
    """``simulated - theory`` to the decimal places that 6 significant digits of the larger give."""
    if not (_number(theory) or isinstance(theory, bool)) or not (_number(simulated) or isinstance(simulated, bool)):
        return None
    theory, simulated = float(theory), float(simulated)
    scale = max(abs(theory), abs(simulated))
    gap = simulated - theory
    if scale == 0:
        return 0.0
    places = SIGNIFICANT - 1 - math.floor(math.log10(scale))
    gap = round(gap, places) + 0.0  # + 0.0: no "-0.0"
    return int(gap) if gap.is_integer() and abs(gap) < 1e15 else gap

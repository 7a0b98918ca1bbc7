"""Action spaces from the worlds' pydantic action models, with masks for what is legal now.

A world describes an agent's legal actions as a pydantic model (``World.action_model``).
A *codec* turns one kind of action model into a gymnasium space and back:

=====================================================  ======================  =========================
action model field (JSON Schema)                        space                   mask (what is legal now)
=====================================================  ======================  =========================
one ``enum`` / ``Literal`` (matrix, off-switch, ...)    ``Discrete(n)``         labels the model accepts
a bounded number with ``multipleOf`` (contribution)     ``Discrete(grid)``      grid points it accepts
a bounded number without a grid                         ``Box(lo, hi, (1,))``   none (the bounds)
``dict[target, points]`` (punishment)                   ``MultiDiscrete``       0 points for non-targets
``list[enum]`` (refuse partners)                        ``MultiDiscrete(2..)``  0 for ids not allowed
anything else (the marketplace's nested actions)        ``Text`` (JSON)         none
=====================================================  ======================  =========================

An agent that faces several kinds of model (the public goods phases contribute /
punish / select; the information world's effort / report) gets a ``Dict`` space
with one entry per kind, keyed by the model's field names; only the entry of the
kind asked for now is used. Masks are found by asking the model itself whether a
candidate validates (cached per model), so they follow whatever the world
declares legal at that moment. Masks are in gymnasium's ``sample(mask=...)``
format (PettingZoo's convention of ``info["action_mask"]``).
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from gymnasium import spaces
from pydantic import BaseModel

from agents.tabular import accepts, kind_of

# Printable ASCII without the whitespace control characters: enough for JSON (non-ASCII is \u-escaped).
JSON_CHARSET = frozenset(string.printable) - frozenset("\t\n\r\x0b\x0c")
JSON_MAX_LENGTH = 4096


class ActionCodec(Protocol):
    kind: str
    space: spaces.Space

    def decode(self, x: Any) -> dict[str, Any]:
        """The action (a dict for the model to validate) that a point of ``space`` stands for."""

    def encode(self, action: dict[str, Any]) -> Any:
        """The point of ``space`` for an action dict (the inverse of ``decode`` on legal actions)."""

    def mask(self, model: type[BaseModel]) -> Any:
        """What ``model`` accepts, as a gymnasium sample mask (None: no mask)."""


class Choice:
    """One field taking one of ``labels``: ``Discrete(len(labels))``."""

    def __init__(self, field: str, labels: list[Any]) -> None:
        self.kind, self.field, self.labels = field, field, list(labels)
        self.space = spaces.Discrete(len(self.labels))

    def decode(self, x: Any) -> dict[str, Any]:
        return {self.field: self.labels[int(np.asarray(x).reshape(-1)[0])]}

    def encode(self, action: dict[str, Any]) -> int:
        return self.labels.index(action[self.field])

    def mask(self, model: type[BaseModel]) -> np.ndarray:
        return _mask_of(model, self)


class Grid(Choice):
    """A number on a finite grid (``multipleOf`` between bounds): ``Discrete(len(grid))``."""

    def encode(self, action: dict[str, Any]) -> int:
        return int(np.argmin(np.abs(np.asarray(self.labels) - float(action[self.field]))))


class Interval:
    """A number between bounds: ``Box(lo, hi, shape=(1,))``; no mask, the bounds are the legal set."""

    def __init__(self, field: str, low: float, high: float) -> None:
        self.kind, self.field = field, field
        self.low, self.high = float(low), float(high)
        self.space = spaces.Box(np.float32(low), np.float32(high), shape=(1,), dtype=np.float32)

    def decode(self, x: Any) -> dict[str, Any]:
        value = float(np.asarray(x, dtype=float).reshape(-1)[0])
        return {self.field: min(self.high, max(self.low, value))}

    def encode(self, action: dict[str, Any]) -> np.ndarray:
        return np.array([action[self.field]], dtype=np.float32)

    def mask(self, model: type[BaseModel]) -> None:
        return None


class Points:
    """``{target: points}`` for targets in ``universe``: ``MultiDiscrete([max_points + 1] * len(universe))``."""

    def __init__(self, field: str, universe: list[str], max_points: int) -> None:
        self.kind, self.field, self.universe, self.max_points = field, field, list(universe), int(max_points)
        self.space = spaces.MultiDiscrete([self.max_points + 1] * len(self.universe))

    def decode(self, x: Any) -> dict[str, Any]:
        return {self.field: {t: int(k) for t, k in zip(self.universe, np.asarray(x).reshape(-1)) if int(k) > 0}}

    def encode(self, action: dict[str, Any]) -> np.ndarray:
        given = action.get(self.field) or {}
        return np.array([int(given.get(t, 0)) for t in self.universe], dtype=np.int64)

    def mask(self, model: type[BaseModel]) -> tuple[np.ndarray, ...]:
        return _mask_of(model, self)


class Subset:
    """A list of ids from ``universe`` (each in or out): ``MultiDiscrete([2] * len(universe))``."""

    def __init__(self, field: str, universe: list[Any]) -> None:
        self.kind, self.field, self.universe = field, field, list(universe)
        self.space = spaces.MultiDiscrete([2] * len(self.universe))

    def decode(self, x: Any) -> dict[str, Any]:
        return {self.field: [t for t, on in zip(self.universe, np.asarray(x).reshape(-1)) if int(on)]}

    def encode(self, action: dict[str, Any]) -> np.ndarray:
        chosen = set(action.get(self.field) or [])
        return np.array([int(t in chosen) for t in self.universe], dtype=np.int64)

    def mask(self, model: type[BaseModel]) -> tuple[np.ndarray, ...]:
        return _mask_of(model, self)


class JsonText:
    """Any action model, as its JSON text: ``Text`` (for LLM-style learners); an unparsable text is a fallback."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.kind = kind_of(model)
        self.space = spaces.Text(max_length=JSON_MAX_LENGTH, min_length=0, charset=JSON_CHARSET)

    def decode(self, x: Any) -> dict[str, Any]:
        try:
            value = json.loads(str(x))
        except json.JSONDecodeError as exc:
            raise ValueError(f"the action text is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError("the action text must be a JSON object")
        return value

    def encode(self, action: dict[str, Any]) -> str:
        return json.dumps(action, ensure_ascii=True, separators=(",", ":"))

    def mask(self, model: type[BaseModel]) -> None:
        return None


class Phased:
    """Several kinds of action model for one agent: a ``Dict`` space with one entry per kind."""

    def __init__(self, codecs: dict[str, ActionCodec]) -> None:
        self.codecs = dict(codecs)
        self.kind = "|".join(self.codecs)
        self.space = spaces.Dict({k: c.space for k, c in self.codecs.items()})

    def part(self, model: type[BaseModel]) -> ActionCodec:
        key = kind_of(model)
        if key not in self.codecs:
            raise ValueError(f"no action space for a {model.__name__} ({key}); this agent's kinds: {', '.join(self.codecs)}")
        return self.codecs[key]

    def mask(self, model: type[BaseModel]) -> dict[str, Any]:
        key = kind_of(model)
        return {k: (c.mask(model) if k == key else None) for k, c in self.codecs.items()}


@lru_cache(maxsize=8192)
def _cached_mask(model: type[BaseModel], codec: Any) -> Any:
    if isinstance(codec, Choice):
        return np.array([accepts(model, {codec.field: v}) for v in codec.labels], dtype=np.int8)
    if isinstance(codec, Points):
        out = []
        for target in codec.universe:
            row = np.zeros(codec.max_points + 1, dtype=np.int8)
            row[0] = 1
            if accepts(model, {codec.field: {target: 1}}):
                row[1:] = [accepts(model, {codec.field: {target: k}}) for k in range(1, codec.max_points + 1)]
            out.append(row)
        return tuple(out)
    if isinstance(codec, Subset):
        return tuple(np.array([1, accepts(model, {codec.field: [t]})], dtype=np.int8) for t in codec.universe)
    return None


def _mask_of(model: type[BaseModel], codec: Any) -> Any:
    # Action models are built once per distinct legal set (lru_cache in the worlds), so caching
    # by (model, codec) makes a mask a dictionary lookup after its first use.
    return _cached_mask(model, codec)


def decode(codec: ActionCodec | Phased, model: type[BaseModel], x: Any) -> dict[str, Any]:
    """The action dict that ``x`` stands for, for the model asked for now."""
    if isinstance(codec, Phased):
        part = codec.part(model)
        if not isinstance(x, dict) or part.kind not in x:
            raise ValueError(f"a {model.__name__} action needs the {part.kind!r} entry of the Dict action")
        return part.decode(x[part.kind])
    return codec.decode(x)


def encode(codec: ActionCodec | Phased, kind: str, action: dict[str, Any]) -> Any:
    """The space point for an action dict of ``kind``; in a Dict space the other kinds get their first point."""
    if isinstance(codec, Phased):
        if kind not in codec.codecs:
            raise ValueError(f"no action space for {kind!r} actions; this agent's kinds: {', '.join(codec.codecs)}")
        point = {k: _zero(c.space) for k, c in codec.codecs.items()}
        point[kind] = codec.codecs[kind].encode(action)
        return point
    return codec.encode(action)


def part_of(codec: ActionCodec | Phased, kind: str) -> ActionCodec:
    """The codec of one kind of action (the codec itself for a single-kind agent)."""
    return codec.codecs[kind] if isinstance(codec, Phased) else codec


def mask_part(codec: ActionCodec | Phased, mask: Any, kind: str) -> Any:
    """The mask of one kind out of an agent's (possibly Dict) mask."""
    return mask[kind] if isinstance(codec, Phased) and mask is not None else mask


def _zero(space: spaces.Space) -> Any:
    if isinstance(space, spaces.Discrete):
        return int(space.start)
    if isinstance(space, spaces.MultiDiscrete):
        return np.zeros(space.shape, dtype=space.dtype)
    if isinstance(space, spaces.Box):
        return np.clip(np.zeros(space.shape, dtype=space.dtype), space.low, space.high)
    return "{}"


def codec_for_model(model: type[BaseModel], universe: list[str] | None = None) -> ActionCodec:
    """Derive a codec from an action model's JSON Schema (see the module docstring's table).

    ``universe`` lists the ids a dict- or list-valued field may name (the other
    agents); without it such fields fall back to JSON text.
    """
    fields = list(model.model_fields)
    if len(fields) != 1:
        return JsonText(model)
    field = fields[0]
    schema = model.model_json_schema()
    prop = _resolve(schema, schema.get("properties", {}).get(field, {}))
    if "enum" in prop or "const" in prop:
        return Choice(field, prop.get("enum", [prop.get("const")]))
    if prop.get("type") in ("number", "integer") and "minimum" in prop and "maximum" in prop:
        low, high = float(prop["minimum"]), float(prop["maximum"])
        step = prop.get("multipleOf", 1 if prop.get("type") == "integer" else None)
        if step is not None:
            count = int(round((high - low) / step)) + 1
            if count <= 10_001:
                return Grid(field, [float(min(high, low + k * step)) for k in range(count)])
        return Interval(field, low, high)
    if prop.get("type") == "array":
        items = _resolve(schema, prop.get("items", {}))
        if "enum" in items:
            return Subset(field, items["enum"])
    if prop.get("type") == "object" and universe:
        values = _resolve(schema, prop.get("additionalProperties") or {})
        if values.get("type") == "integer":
            target = universe[0]
            most = max((k for k in range(1, 101) if accepts(model, {field: {target: k}})), default=0)
            if most:
                return Points(field, universe, most)
    return JsonText(model)


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """Follow one ``$ref`` / single ``allOf`` into ``$defs`` (pydantic's layout for enums)."""
    if "$ref" in prop:
        return schema.get("$defs", {}).get(prop["$ref"].rsplit("/", 1)[-1], prop)
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return _resolve(schema, prop["allOf"][0])
    return prop


def combine(codecs: list[ActionCodec]) -> ActionCodec | Phased:
    """One codec as is; several (one per kind) as a ``Dict`` space."""
    by_kind = {c.kind: c for c in codecs}
    return codecs[0] if len(by_kind) == 1 else Phased(by_kind)

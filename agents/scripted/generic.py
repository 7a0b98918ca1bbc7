"""Policies that play any world by reading only the action model.

``random_legal`` draws a random valid action from the action model's JSON
Schema (the same schema an LLM is asked to fill): enums and constants, numbers
within their bounds (and on their ``multipleOf`` grid), booleans, and one branch of a union. It is the
protocol's conformance check (any policy can play any world) and a fuzzer for
worlds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from agents.registry import register


def sample(schema: dict[str, Any], rng: np.random.Generator, defs: dict[str, Any]) -> Any:
    """A random instance of a (pydantic-generated) JSON Schema."""
    if "$ref" in schema:
        return sample(defs[schema["$ref"].split("/")[-1]], rng, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][int(rng.integers(len(schema["enum"])))]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample(options[int(rng.integers(len(options)))], rng, defs)
    kind = schema.get("type")
    if kind == "object":
        return {name: sample(prop, rng, defs) for name, prop in schema.get("properties", {}).items()}
    if kind == "boolean":
        return bool(rng.integers(2))
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 10))
        if "multipleOf" in schema:
            step = schema["multipleOf"]
            return float(step * rng.integers(int(np.ceil(low / step)), int(np.floor(high / step)) + 1))
        if kind == "integer":
            return int(rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1))
        return float(rng.uniform(low, high))
    if kind == "array":
        count = schema.get("minItems", 0) + int(rng.integers(0, 3))
        count = min(count, schema.get("maxItems", count))
        return [sample(schema.get("items", {}), rng, defs) for _ in range(count)]
    if kind == "string":
        return "x" * schema.get("minLength", 1)
    return None


@register("random_legal", worlds=None)
class RandomLegal:
    """A random valid action of whatever the world offers (reads only the JSON Schema)."""

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.rng = rng

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> dict[str, Any]:
        schema = action_model.model_json_schema()
        return sample(schema, self.rng, schema.get("$defs", {}))

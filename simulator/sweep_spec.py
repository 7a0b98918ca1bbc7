"""The ``sweep:`` block of a scenario: which fields vary (grid, list, random), how many seeds, and its checks.

``SweepSpec`` is the block's model and ``SweepSpec.cells`` expands it into
points x seeds; ``sweep_problems`` checks a block inside a scenario, every
value at its own file:line:column. Running sweeps is ``simulator.sweep``.
See that module for the block's format and how seeds are drawn.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from typing import Annotated, Any, Callable

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents import registry as policy_registry
from simulator.parsing import Positions, Problem, ScenarioError
from simulator.problems import Locator, describe_error

MAX_CELLS = 1_000_000
# Top-level scenario blocks a sweep may vary; ``seed`` comes from ``seeds:``.
SWEEPABLE = ("world", "agents", "run")


def sweepable() -> tuple[str, ...]:
    """The blocks a sweep may vary: the scenario's, and every policy's run-wide settings block (e.g. ``llm``)."""
    return SWEEPABLE + tuple(sorted(policy_registry.settings_blocks()))

# ``simulator.scenario.validate_scenario``: (data, source, positions, overrides, context) -> Scenario or ScenarioError
Validator = Callable[[dict[str, Any], str, Positions, list[tuple[str, Any]], "dict[str, Any] | None"], Any]


class Distribution(BaseModel):
    """One random parameter: exactly one of ``uniform``, ``loguniform``, ``integers`` (inclusive) or ``choice``."""

    model_config = ConfigDict(extra="forbid")
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    integers: tuple[int, int] | None = None
    choice: list[Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> "Distribution":
        given = [name for name in ("uniform", "loguniform", "integers", "choice") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uniform: [low, high], loguniform: [low, high], integers: [low, high], choice: [values]")
        kind = given[0]
        if kind == "choice" and not self.choice:
            raise ValueError("choice needs at least one value")
        if kind in ("uniform", "loguniform", "integers"):
            low, high = getattr(self, kind)
            if not low <= high:
                raise ValueError(f"{kind}: low must be <= high (got [{low}, {high}])")
            if kind == "loguniform" and low <= 0:
                raise ValueError("loguniform needs 0 < low <= high")
        return self

    def draw(self, rng: np.random.Generator) -> Any:
        if self.uniform is not None:
            return float(rng.uniform(*self.uniform))
        if self.loguniform is not None:
            low, high = self.loguniform
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        if self.integers is not None:
            return int(rng.integers(self.integers[0], self.integers[1], endpoint=True))
        return copy.deepcopy(self.choice[int(rng.integers(len(self.choice)))])


def _check_path(path: str) -> str:
    parts = path.split(".")
    if any(not part for part in parts):
        raise ValueError(f"{path!r} is not a dotted path like world.rounds")
    blocks = sweepable()
    if parts[0] not in blocks:
        raise ValueError(f"{path!r}: a sweep may vary fields under {', '.join(blocks)} (seeds come from 'seeds:')")
    if len(parts) < 2:
        raise ValueError(f"{path!r}: name a field inside it, e.g. {parts[0]}.<field>")
    if path == "world.type":
        raise ValueError("a sweep stays in one world: world.type cannot vary")
    return path


SweepPath = Annotated[str, AfterValidator(_check_path)]


class RandomSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    samples: int = Field(ge=1, le=MAX_CELLS, description="how many random points to draw")
    params: dict[SweepPath, Distribution] = Field(min_length=1, description="dotted path -> distribution")


class SweepSpec(BaseModel):
    """The ``sweep:`` block of a scenario: grid / list / random points over dotted paths, times seeds."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    grid: dict[SweepPath, list[Any]] = Field(default_factory=dict, description="dotted path -> values; every combination")
    cases: list[dict[SweepPath, Any]] = Field(default_factory=list, alias="list", description="explicit points: dotted path -> value")
    random: RandomSpec | None = Field(None, description="random points")
    seeds: int = Field(1, ge=1, le=100_000, description="replicates (run seeds) per point")
    events: bool = Field(False, description="store every run's event log")
    labels: dict[str, str] = Field(default_factory=dict, description="axis labels for parameters and metrics in figures")

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in grid.items():
            if not values:
                raise ValueError(f"{path}: give at least one value")
        return grid

    @model_validator(mode="after")
    def _disjoint(self) -> "SweepSpec":
        blocks = {"grid": set(self.grid), "list": set().union(*self.cases) if self.cases else set(),
                  "random": set(self.random.params) if self.random else set()}
        for (a, pa), (b, pb) in itertools.combinations(blocks.items(), 2):
            if pa & pb:
                raise ValueError(f"{', '.join(sorted(pa & pb))} varies in both {a} and {b}; vary each field in one place")
        if self.n_points() * self.seeds > MAX_CELLS:
            raise ValueError(f"{self.n_points()} points x {self.seeds} seeds is more than {MAX_CELLS:,} cells")
        return self

    def n_points(self) -> int:
        n = math.prod(len(v) for v in self.grid.values())
        return n * max(1, len(self.cases)) * (self.random.samples if self.random else 1)

    def paths(self) -> list[str]:
        """Every varied path, in the order they appear (grid, list, random)."""
        seen: dict[str, None] = {}
        for path in itertools.chain(self.grid, *self.cases, self.random.params if self.random else ()):
            seen.setdefault(path, None)
        return list(seen)

    def cells(self, base_seed: int) -> list[dict[str, Any]]:
        """All cells, point-major: ``{index, point, seed_index, seed, params}``."""
        sample_seq, replicate_seq = np.random.SeedSequence(base_seed).spawn(2)
        keys = list(self.grid)
        grid_points = [dict(zip(keys, combo)) for combo in itertools.product(*(self.grid[k] for k in keys))]
        random_points = [{}]
        if self.random is not None:
            rng = np.random.default_rng(sample_seq)
            random_points = [{path: dist.draw(rng) for path, dist in self.random.params.items()} for _ in range(self.random.samples)]
        points = [
            {**copy.deepcopy(g), **copy.deepcopy(c), **r}
            for g in grid_points for c in (self.cases or [{}]) for r in random_points
        ]
        seeds = [run_seed(child) for child in replicate_seq.spawn(self.seeds)]
        return [
            {"index": p * len(seeds) + k, "point": p, "seed_index": k, "seed": seed, "params": params}
            for p, params in enumerate(points) for k, seed in enumerate(seeds)
        ]


def run_seed(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer run seed from a spawned SeedSequence (fits SQLite's INTEGER)."""
    return int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _spec_problems(exc: ValidationError, locate: Locator) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = ("sweep",) + tuple(part for part in error["loc"] if part != "[key]")
        message = describe_error(error, SweepSpec, tuple(error["loc"])).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
            message = "unknown field; allowed: grid, list, random, seeds, events, labels"
        problems.append(locate.problem(loc, message))
    return problems


def parse_spec(block: Any, locate: Locator) -> SweepSpec:
    try:
        return SweepSpec.model_validate(block)
    except ValidationError as exc:
        raise ScenarioError(_spec_problems(exc, locate)) from None


def sweep_problems(
    data: dict[str, Any], locate: Locator, context: dict[str, Any] | None = None, *, validate: Validator,
) -> list[Problem]:
    """Check a scenario's ``sweep:`` block: the spec itself, then every value of every path on its own.

    Called by ``simulator.scenario.validate_scenario`` once the rest of the
    scenario is valid, with itself as ``validate`` (so this module need not
    import the scenario module that imports it). A value that makes the
    scenario invalid is reported at the value's own line in the sweep block,
    with the reason the world gives.
    """
    try:
        spec = parse_spec(data.get("sweep"), locate)
    except ScenarioError as exc:
        return exc.problems
    base = {k: v for k, v in data.items() if k != "sweep"}
    checks: list[tuple[tuple, str, Any]] = []
    for path, values in spec.grid.items():
        checks += [(("sweep", "grid", path, i), path, value) for i, value in enumerate(values)]
    for i, case in enumerate(spec.cases):
        checks += [(("sweep", "list", i, path), path, value) for path, value in case.items()]
    if spec.random is not None:
        for path, dist in spec.random.params.items():
            values = dist.choice if dist.choice is not None else [v for v in (dist.uniform or dist.loguniform or dist.integers)]
            checks += [(("sweep", "random", "params", path), path, value) for value in values]
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for loc, path, value in checks:
        message = _value_problem(validate, base, path, value, context)
        if message and (path, message) not in seen:
            seen.add((path, message))
            problems.append(locate.problem(loc, message))
    return problems


def _value_problem(validate: Validator, base: dict[str, Any], path: str, value: Any, context: dict[str, Any] | None) -> str | None:
    try:
        validate(base, "<sweep>", {}, [(path, value)], context)
    except ScenarioError as exc:
        reasons = "; ".join(f"{p.path}: {p.message}" if p.path and p.path != path else p.message for p in exc.problems)
        return f"{path}={json.dumps(value)} is not allowed: {reasons}"
    return None

"""Scenario files: YAML validated by pydantic, with errors that point at file:line:column.

A scenario is::

    name: prisoners_dilemma        # optional, defaults to the file name
    description: ...
    seed: 1                        # default seed (the CLI's --seed wins)
    world:                         # validated by the world's own Config model
      type: matrix_game
      ...
    agents:                        # policy per agent id, per role, or "default"
      alice: tit_for_tat           # shorthand for {policy: tit_for_tat}
      bob: {policy: mixed, params: {probabilities: [0.5, 0.5]}}
    run: {max_time: ..., record_events: true}

Unknown keys are rejected everywhere. A bad file raises ``ScenarioError``
whose problems each name the file, line, column, the field path and what is
allowed — never a traceback.
"""

from __future__ import annotations

import copy
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents import registry as policy_registry
from simulator import worlds as world_registry
from simulator.parsing import MAX_DEPTH, MAX_NODES, MAX_SEED, Positions, Problem, ScenarioError, parse_document, parse_value, read_text
from simulator import roster
from simulator.problems import Locator
from simulator.sweep_spec import sweep_problems


class PolicySpec(BaseModel):
    """Which policy an agent (or role) uses, and its parameters."""

    model_config = ConfigDict(extra="forbid")
    policy: str
    params: dict[str, Any] = Field(default_factory=dict)


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_time: float | None = Field(None, gt=0, description="stop the run at this simulated time", json_schema_extra={"unit": "simulated time"})
    record_events: bool = Field(True, description="store the event log (turn off for huge runs)")


class Scenario(BaseModel):
    """A validated scenario: the envelope plus the world's own validated config.

    Top-level keys beyond these fields are the run-wide settings blocks that
    registered policies declare (``agents/registry.py``: ``settings_key``, e.g.
    the LLM policy's ``llm:``); ``validate_scenario`` refuses any other key and
    validates each block with its policy's model.
    """

    model_config = ConfigDict(extra="allow")
    name: str | None = None
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED, description="random seed, 0 .. 2**63 - 1 (a signed 64-bit integer)")
    world: dict[str, Any]
    agents: dict[str, PolicySpec | str] = Field(default_factory=dict)
    run: RunOptions = Field(default_factory=RunOptions)
    sweep: dict[str, Any] | None = None

    # Filled in by ``validate_scenario``: the world's config, and each agents: entry's validated params
    # (key -> (policy name, params as given, params model)) so that seating does not validate them again.
    world_config: Any = Field(None, exclude=True)
    validated_params: dict[str, tuple[str, dict[str, Any], BaseModel]] = Field(default_factory=dict, exclude=True)
    # Also filled in by ``validate_scenario``: what is allowed but may surprise (``Problem``s: players seated on a
    # world default policy, a world block's ``notes()``); ``agora validate`` / ``agora run`` print them as warnings.
    warnings: list[Any] = Field(default_factory=list, exclude=True)

    @property
    def world_type(self) -> str:
        return self.world["type"]

    def settings_block(self, key: str) -> dict[str, Any] | None:
        """A policy's run-wide settings block as written (e.g. ``llm:``), or ``None`` if the scenario has none."""
        return (self.model_extra or {}).get(key)

    def agents_key(self, agent_id: str, role: str) -> str | None:
        """The ``agents:`` key that seats an agent: its id, else its role, else "default" (``None``: no entry)."""
        for key in (agent_id, role, "default"):
            if self.agents.get(key) is not None:
                return key
        return None

    def policy_for(self, agent_id: str, role: str) -> PolicySpec | None:
        """The policy spec for an agent: by its id, else its role, else "default"."""
        key = self.agents_key(agent_id, role)
        if key is None:
            return None
        spec = self.agents[key]
        return PolicySpec(policy=spec) if isinstance(spec, str) else spec

    def params_for(self, agent_id: str, role: str, *, copy: bool = True) -> BaseModel | None:
        """The validated params model of the policy ``policy_for`` picks (a copy per seat; ``copy=False``: the
        validated object itself, for a caller that copies or shares it), or ``None`` if ``validate_scenario`` did
        not validate that entry as it now reads (built by hand, or edited since)."""
        key = self.agents_key(agent_id, role)
        if key is None:
            return None
        spec, cached = self.policy_for(agent_id, role), self.validated_params.get(key)
        if cached is None or cached[:2] != (spec.policy, spec.params):
            return None
        return cached[2].model_copy() if copy else cached[2]


# --------------------------------------------------------------------------- YAML with positions


def parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    """Parse YAML text, returning the data and a path -> (line, column) map.

    The one parse path (``simulator.parsing``): alias bombs, duplicate keys,
    over-deep nesting and non-finite numbers are refused with file:line:column.
    """
    return parse_document(text, source)


# --------------------------------------------------------------------------- overrides


MAX_OVERRIDE_CHARS = 65_536  # one --set key=value, key and value together


def parse_override(text: str) -> tuple[str, Any]:
    """``"world.rounds=20"`` -> ``("world.rounds", 20)``; the value is parsed as YAML by the same rules as a file."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError([Problem("--set", None, None, "", f"expected key=value, got {_clip(text)!r}; allowed: dotted.path=value, e.g. world.rounds=20")])
    if len(text) > MAX_OVERRIDE_CHARS:
        raise ScenarioError([Problem("--set", None, None, _clip(key), f"override is {len(text):,} characters long; allowed: at most {MAX_OVERRIDE_CHARS:,}")])
    parts = key.split(".")
    if any(not part.strip() or part != part.strip() for part in parts):
        raise ScenarioError([Problem("--set", None, None, _clip(key), "empty or space-padded part in the dotted path; allowed: dotted.path=value, e.g. world.rounds=20")])
    if len(parts) > MAX_DEPTH:
        raise ScenarioError([Problem("--set", None, None, _clip(key), f"path has {len(parts)} parts; allowed: at most {MAX_DEPTH}")])
    value = parse_value(raw, key) if raw.strip() else ""
    return key, value


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def apply_overrides(data: dict[str, Any], overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Set dotted-path keys (list items by index) in a copy of the raw scenario data."""
    data = copy.deepcopy(data)
    for dotted, value in overrides:
        target: Any = data
        parts = dotted.split(".")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(target, list):
                if not part.isdigit() or int(part) >= len(target):
                    raise ScenarioError(
                        [Problem("--set", None, None, dotted, f"{'.'.join(parts[:depth]) or 'scenario'} is a list of {len(target)}; {part!r} is not an index in it")]
                    )
                index = int(part)
                if last:
                    target[index] = value
                else:
                    target = target[index]
            elif isinstance(target, dict):
                if last:
                    target[part] = value
                else:
                    target = target.setdefault(part, {})
            else:
                raise ScenarioError(
                    [Problem("--set", None, None, dotted, f"{'.'.join(parts[:depth])} is a value, not a mapping; cannot set {part!r} in it")]
                )
    return data


# --------------------------------------------------------------------------- validation


_NOT_FINITE = "not a finite number; allowed: finite numbers (no nan, inf)"


def _non_finite(value: Any, path: tuple) -> list[tuple]:
    """Field paths holding NaN or infinity in validated data.

    The parser refuses ``.nan`` and ``.inf``, but pydantic turns the strings
    ``"nan"`` and ``"inf"`` into floats, so validated models are checked too.
    """
    found, stack = [], [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                found.append(at)
        elif isinstance(item, BaseModel):
            stack.extend((getattr(item, name, None), at + (name,)) for name in type(item).model_fields)
        elif isinstance(item, dict):
            stack.extend((v, at + (k,)) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, at + (i,)) for i, v in enumerate(item))
    return sorted(found, key=str)


def _unknown_top_level(data: dict[str, Any], locate: Locator) -> list[Problem]:
    """Top-level keys that are neither a scenario field nor a registered policy's settings block."""
    blocks = policy_registry.settings_blocks()
    fields = [name for name, field in Scenario.model_fields.items() if not field.exclude]
    allowed = fields + sorted(blocks)
    problems = []
    for key in data:
        if key in fields or key in blocks:
            continue
        message = f"unknown field; allowed: {', '.join(allowed)}"
        close = difflib.get_close_matches(str(key), allowed, n=1)
        problems.append(locate.problem((key,), message + (f" (did you mean {close[0]!r}?)" if close else "")))
    return problems


def _settings_problems(scenario: Scenario, locate: Locator, context: dict[str, Any] | None) -> list[Problem]:
    """Each policy settings block (``llm:``, ...) validated by the model its registry entry declares."""
    problems = []
    blocks = policy_registry.settings_blocks()
    for key in blocks:  # keys first: a policy's module loads only when its block is there
        block = scenario.settings_block(key)
        if block is None:
            continue
        entry = blocks[key]
        try:
            settings = entry.settings.model_validate(block, context=context)
        except ValidationError as exc:
            problems.extend(locate.from_validation(exc, entry.settings, (key,)))
        else:
            problems += [locate.problem(at, _NOT_FINITE) for at in _non_finite(settings, (key,))]
    return problems


def _roster_problems(scenario: Scenario, world_cls: type, locate: Locator) -> list[Problem]:
    """``agents:`` keys that seat nobody (errors, returned); players left on a default policy and the world
    block's own ``notes()`` (warnings, put on ``scenario.warnings``)."""
    try:
        roles, defaults = roster.roster(world_cls, scenario.world_config)
    except Exception:  # a world that cannot be built from this block: the run reports why, with its own message
        return []
    keys = list(scenario.agents)
    problems = [locate.problem(("agents", key), message) for key, message in roster.unknown_keys(keys, roles)]
    at = ("agents",) if keys else ("world",)
    scenario.warnings = [locate.problem(at, message) for message in roster.default_seated(keys, roles, defaults)]
    notes = getattr(scenario.world_config, "notes", None)
    scenario.warnings += [locate.problem(("world",), note) for note in (notes() if callable(notes) else [])]
    return problems


def validate_scenario(
    data: Any,
    source: str = "<scenario>",
    positions: dict[tuple, tuple[int, int]] | None = None,
    overrides: Iterable[tuple[str, Any]] = (),
    context: dict[str, Any] | None = None,
) -> Scenario:
    """Validate raw scenario data (after applying overrides) into a ``Scenario``.

    ``context`` is handed to the world's ``Config`` validators, on top of the
    scenario file's folder: the API passes its trust settings there (e.g.
    ``data_roots`` for the marketplace's data directories, ``api/trust.py``).
    A ``screen`` in it is called with the scenario once its blocks have their
    shapes and before the world is built for the roster check (a world of
    10^9 players must be refused by the API's limits, not generated); it
    raises to refuse.
    """
    overrides = list(overrides)
    locate = Locator(source, positions or {}, {key for key, _ in overrides})
    if not isinstance(data, dict):
        raise ScenarioError([locate.problem((), "a scenario must be a mapping with at least a 'world:' block")])
    data = apply_overrides(data, overrides)
    unknown = _unknown_top_level(data, locate)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(locate.from_validation(exc, Scenario) + unknown) from None
    if unknown:
        raise ScenarioError(unknown)

    world_type = scenario.world.get("type")
    worlds = world_registry.load_all()
    if world_type not in worlds:
        allowed = ", ".join(sorted(worlds))
        message = "required field is missing" if world_type is None else f"unknown world {world_type!r}"
        raise ScenarioError([locate.problem(("world", "type"), f"{message}; allowed: {allowed}")])
    world_cls = worlds[world_type]
    try:
        # Worlds that read files (e.g. a market's data directory) resolve them against the scenario's folder.
        context = ({"scenario_dir": Path(source).parent} if Path(source).is_file() else {}) | (context or {})
        scenario.world_config = world_cls.Config.model_validate(scenario.world, context=context)
    except ValidationError as exc:
        raise ScenarioError(locate.from_validation(exc, world_cls.Config, ("world",))) from None

    screen = context.get("screen")
    if screen is not None:  # the caller's own limits (the API's trust rules) before anything builds the world
        screen(scenario)
    problems = [locate.problem(at, _NOT_FINITE) for at in _non_finite(scenario.world_config, ("world",))]
    problems += [locate.problem(at, _NOT_FINITE) for at in _non_finite(scenario.run, ("run",))]
    for key, spec in scenario.agents.items():
        spec = PolicySpec(policy=spec) if isinstance(spec, str) else spec
        at = ("agents", key) if isinstance(scenario.agents[key], str) else ("agents", key, "policy")
        entry = policy_registry.get(spec.policy)
        if entry is None or not entry.plays(world_type):
            allowed = ", ".join(policy_registry.policies_for(world_type))
            problems.append(locate.problem(at, f"unknown policy {spec.policy!r} for world {world_type!r}; allowed: {allowed}"))
            continue
        try:
            params = entry.params.model_validate(spec.params, context=context)
        except ValidationError as exc:
            problems.extend(locate.from_validation(exc, entry.params, ("agents", key, "params")))
        else:
            problems += [locate.problem(at, _NOT_FINITE) for at in _non_finite(params, ("agents", key, "params"))]
            if context and isinstance(scenario.agents[key], PolicySpec):
                # What the context resolved (e.g. a policy file under the server's data root) is what plays.
                scenario.agents[key].params = params.model_dump(exclude_unset=True)
            given = scenario.agents[key]
            scenario.validated_params[key] = (spec.policy, {} if isinstance(given, str) else given.params, params)
    problems += _settings_problems(scenario, locate, context)
    if not problems:
        problems = _roster_problems(scenario, world_cls, locate)
    if problems:
        raise ScenarioError(problems)
    if scenario.sweep is not None:
        problems = sweep_problems(data, locate, context, validate=validate_scenario)
        if problems:
            raise ScenarioError(problems)
    return scenario


# --------------------------------------------------------------------------- the one scenario object


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario parsed once and validated once: what ``agora run``, the API and sweeps share.

    ``scenario`` is the validated model (overrides applied); ``text`` is what a
    run stores (with ``overrides``, it gives back the same scenario); ``source``
    names it in error lines; ``data`` and ``positions`` are the parsed
    document before overrides, for checks that read the raw fields (a sweep's
    points, the API's trust rules) without parsing the text again.
    """

    scenario: Scenario
    text: str
    source: str
    overrides: tuple[tuple[str, Any], ...]
    data: Any
    positions: Positions

    @classmethod
    def from_document(
        cls, text: str, source: str, data: Any, positions: Positions,
        overrides: Iterable[tuple[str, Any]] = (), context: dict[str, Any] | None = None,
    ) -> LoadedScenario:
        """Validate an already parsed document (``simulator.parsing.parse_document``)."""
        overrides = tuple(overrides)
        scenario = validate_scenario(data, source, positions, overrides, context)
        if scenario.name is None:
            scenario.name = Path(source).stem if source and not source.startswith("<") else "scenario"
        return cls(scenario, text, source, overrides, data, positions)


def parse_scenario(
    text: str, source: str = "<scenario>", overrides: Iterable[tuple[str, Any]] = (),
    context: dict[str, Any] | None = None, *, max_nodes: int = MAX_NODES,
) -> LoadedScenario:
    """Parse scenario text (``max_nodes``: the API's tighter YAML limit) and validate it."""
    data, positions = parse_document(text, source, max_nodes=max_nodes)
    return LoadedScenario.from_document(text, source, data, positions, overrides, context)


def read_scenario(path: str | Path, overrides: Iterable[tuple[str, Any]] = (), context: dict[str, Any] | None = None) -> LoadedScenario:
    """Read a scenario file (a regular, bounded UTF-8 file: ``simulator.parsing.read_text``) and validate it."""
    return parse_scenario(read_text(path), str(path), overrides, context)


def load_scenario_text(
    text: str, source: str = "<scenario>", overrides: Iterable[tuple[str, Any]] = (), context: dict[str, Any] | None = None,
) -> Scenario:
    """``parse_scenario(...).scenario``: for callers that need only the model."""
    return parse_scenario(text, source, overrides, context).scenario


def load_scenario(path: str | Path, overrides: Iterable[tuple[str, Any]] = ()) -> tuple[Scenario, str]:
    """Read and validate a scenario file; returns the scenario and its text (``read_scenario`` gives the whole object)."""
    loaded = read_scenario(path, overrides)
    return loaded.scenario, loaded.text

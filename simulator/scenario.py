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
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents import registry as policy_registry
from simulator import worlds as world_registry
from simulator.parsing import MAX_DEPTH, MAX_SEED, Problem, ScenarioError, parse_document, parse_value, read_text


class PolicySpec(BaseModel):
    """Which policy an agent (or role) uses, and its parameters."""

    model_config = ConfigDict(extra="forbid")
    policy: str
    params: dict[str, Any] = Field(default_factory=dict)


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_time: float | None = Field(None, gt=0, description="stop the run at this simulated time")
    record_events: bool = Field(True, description="store the event log (turn off for huge runs)")


class Scenario(BaseModel):
    """A validated scenario: the envelope plus the world's own validated config."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED, description="random seed, 0 .. 2**63 - 1 (a signed 64-bit integer)")
    world: dict[str, Any]
    agents: dict[str, PolicySpec | str] = Field(default_factory=dict)
    run: RunOptions = Field(default_factory=RunOptions)
    sweep: dict[str, Any] | None = None
    llm: dict[str, Any] | None = None

    # Filled in by ``validate_scenario``.
    world_config: Any = Field(None, exclude=True)

    @property
    def world_type(self) -> str:
        return self.world["type"]

    def policy_for(self, agent_id: str, role: str) -> PolicySpec | None:
        """The policy spec for an agent: by its id, else its role, else "default"."""
        for key in (agent_id, role, "default"):
            spec = self.agents.get(key)
            if spec is not None:
                return PolicySpec(policy=spec) if isinstance(spec, str) else spec
        return None


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


def _describe_error(error: dict[str, Any], model: type[BaseModel] | None, loc: tuple) -> str:
    """A pydantic error in words a user can act on: what is wrong and what is allowed."""
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        message = "unknown field"
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message += f"; allowed: {', '.join(allowed)}"
            if close:
                message += f" (did you mean {close[0]!r}?)"
        return message
    if kind == "missing":
        return "required field is missing"
    message = error["msg"]
    if "input" in error and kind not in ("model_type", "dict_type") and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message


def _allowed_fields(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """Field names of the (nested) model at ``loc``, for "allowed: ..." messages."""
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int) or part not in model.model_fields:
            continue  # list index or dict key: stay with the item model
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
    if model is None:
        return []
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


class _Locator:
    """Turns a field path into a Problem with file, line and column."""

    def __init__(self, source: str, positions: dict[tuple, tuple[int, int]], overridden: set[str]) -> None:
        self.source = source
        self.positions = positions
        self.overridden = overridden

    def problem(self, loc: tuple, message: str) -> Problem:
        path = ".".join(str(p) for p in loc)
        for dotted in self.overridden:
            if path == dotted or path.startswith(dotted + "."):
                return Problem("--set", None, None, path, message)
        probe = tuple(loc)
        while probe not in self.positions and probe:
            probe = probe[:-1]  # a missing field: point at its parent
        line, column = self.positions.get(probe, (None, None))
        return Problem(self.source, line, column, path, message)

    def from_validation(self, exc: ValidationError, model: type[BaseModel], prefix: tuple = ()) -> list[Problem]:
        problems = []
        for error in _union_errors_merged(exc.errors()):
            loc = prefix + tuple(p for p in error["loc"] if not _is_union_tag(p))
            problems.append(self.problem(loc, _describe_error(error, model, tuple(error["loc"]))))
        return problems


def _union_errors_merged(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One error per value that failed a union (``PolicySpec | str``), not one per member.

    If the value had the shape of one member (a mapping for ``PolicySpec``),
    that member's errors are the ones that matter and the others' "should be a
    valid string" are dropped; if it fitted none, their messages are joined:
    "Input should be a valid dictionary ... or a valid string (got 42)".
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    out: list[Any] = []
    for error in errors:
        loc = tuple(error["loc"])
        tag = next((i for i, part in enumerate(loc) if _is_union_tag(part)), None)
        if tag is None:
            out.append(error)
            continue
        if loc[:tag] not in groups:
            groups[loc[:tag]] = []
            out.append(loc[:tag])  # placeholder: keeps the errors in order
        groups[loc[:tag]].append(dict(error, member_depth=len(loc) - tag - 1))
    merged = []
    for item in out:
        if isinstance(item, dict):
            merged.append(item)
            continue
        members = groups[item]
        deep = [e for e in members if e["member_depth"] > 0]
        if deep:
            merged.extend(deep)
        elif len(members) == 1:
            merged.append(members[0])
        else:
            wants = [e["msg"].removeprefix("Input should be ") for e in members]
            merged.append(dict(members[0], msg="Input should be " + " or ".join(wants), type="union"))
    return merged


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the member type name to locs of union errors ("PolicySpec", "str").
    return isinstance(part, str) and (part[:1].isupper() or part in ("str", "int", "float", "bool"))


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
    """
    overrides = list(overrides)
    locate = _Locator(source, positions or {}, {key for key, _ in overrides})
    if not isinstance(data, dict):
        raise ScenarioError([locate.problem((), "a scenario must be a mapping with at least a 'world:' block")])
    data = apply_overrides(data, overrides)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(locate.from_validation(exc, Scenario)) from None

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
    if scenario.llm is not None:  # the LLM policy's run-wide settings (agents/llm/config.py)
        from agents.llm.config import LLMRunSettings

        try:
            settings = LLMRunSettings.model_validate(scenario.llm)
        except ValidationError as exc:
            problems.extend(locate.from_validation(exc, LLMRunSettings, ("llm",)))
        else:
            problems += [locate.problem(at, _NOT_FINITE) for at in _non_finite(settings, ("llm",))]
    if problems:
        raise ScenarioError(problems)
    if scenario.sweep is not None:
        from simulator.sweep import sweep_problems  # late import: simulator.sweep imports this module

        problems = sweep_problems(data, locate, context)
        if problems:
            raise ScenarioError(problems)
    return scenario


def load_scenario_text(
    text: str, source: str = "<scenario>", overrides: Iterable[tuple[str, Any]] = (), context: dict[str, Any] | None = None,
) -> Scenario:
    data, positions = parse_yaml(text, source)
    scenario = validate_scenario(data, source, positions, overrides, context)
    if scenario.name is None:
        scenario.name = Path(source).stem if source and not source.startswith("<") else "scenario"
    return scenario


def load_scenario(path: str | Path, overrides: Iterable[tuple[str, Any]] = ()) -> tuple[Scenario, str]:
    """Read and validate a scenario file; returns the scenario and its text."""
    text = read_text(path)
    return load_scenario_text(text, str(path), overrides), text

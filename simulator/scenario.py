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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents import registry as policy_registry
from simulator import worlds as world_registry


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
    seed: int = Field(0, ge=0)
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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as we can."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path, "message": self.message}


class ScenarioError(ValueError):
    """A scenario file is invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------- YAML with positions


def _positions(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, tuple[int, int]]:
    """Map each field path in a composed YAML tree to its (line, column), 1-based.

    For a mapping entry the position is that of its key, which is where a user
    looks for a misspelt or mistyped field.
    """
    out = {} if out is None else out
    out.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _positions(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, path + (index,), out)
    return out


def parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    """Parse YAML text, returning the data and a path -> (line, column) map."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ScenarioError([Problem(source, line, column, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(source, None, None, "", f"invalid YAML: {exc}")]) from None
    return data, (_positions(node) if node is not None else {})


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, Any]:
    """``"world.rounds=20"`` -> ``("world.rounds", 20)``; the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem("--set", None, None, "", f"expected key=value, got {text!r}")])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem("--set", None, None, key, f"value is not valid YAML: {exc}")]) from None
    return key.strip(), value


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
        for error in exc.errors():
            loc = prefix + tuple(p for p in error["loc"] if not _is_union_tag(p))
            problems.append(self.problem(loc, _describe_error(error, model, tuple(error["loc"]))))
        return problems


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the member type name to locs of union errors ("PolicySpec", "str").
    return isinstance(part, str) and (part[:1].isupper() or part in ("str", "int", "float", "bool"))


def validate_scenario(
    data: Any,
    source: str = "<scenario>",
    positions: dict[tuple, tuple[int, int]] | None = None,
    overrides: Iterable[tuple[str, Any]] = (),
) -> Scenario:
    """Validate raw scenario data (after applying overrides) into a ``Scenario``."""
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
        context = {"scenario_dir": Path(source).parent} if Path(source).is_file() else {}
        scenario.world_config = world_cls.Config.model_validate(scenario.world, context=context)
    except ValidationError as exc:
        raise ScenarioError(locate.from_validation(exc, world_cls.Config, ("world",))) from None

    problems = []
    for key, spec in scenario.agents.items():
        spec = PolicySpec(policy=spec) if isinstance(spec, str) else spec
        at = ("agents", key) if isinstance(scenario.agents[key], str) else ("agents", key, "policy")
        entry = policy_registry.get(spec.policy)
        if entry is None or not entry.plays(world_type):
            allowed = ", ".join(policy_registry.policies_for(world_type))
            problems.append(locate.problem(at, f"unknown policy {spec.policy!r} for world {world_type!r}; allowed: {allowed}"))
            continue
        try:
            entry.params.model_validate(spec.params)
        except ValidationError as exc:
            problems.extend(locate.from_validation(exc, entry.params, ("agents", key, "params")))
    if scenario.llm is not None:  # the LLM policy's run-wide settings (agents/llm/config.py)
        from agents.llm.config import LLMRunSettings

        try:
            LLMRunSettings.model_validate(scenario.llm)
        except ValidationError as exc:
            problems.extend(locate.from_validation(exc, LLMRunSettings, ("llm",)))
    if problems:
        raise ScenarioError(problems)
    if scenario.sweep is not None:
        from simulator.sweep import sweep_problems  # late import: simulator.sweep imports this module

        problems = sweep_problems(data, locate)
        if problems:
            raise ScenarioError(problems)
    return scenario


def load_scenario_text(text: str, source: str = "<scenario>", overrides: Iterable[tuple[str, Any]] = ()) -> Scenario:
    data, positions = parse_yaml(text, source)
    scenario = validate_scenario(data, source, positions, overrides)
    if scenario.name is None:
        scenario.name = Path(source).stem if source and not source.startswith("<") else "scenario"
    return scenario


def load_scenario(path: str | Path, overrides: Iterable[tuple[str, Any]] = ()) -> tuple[Scenario, str]:
    """Read and validate a scenario file; returns the scenario and its text."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, None, "", f"cannot read file: {exc.strerror}")]) from None
    return load_scenario_text(text, str(path), overrides), text

"""Policy registry: scenario files name policies; this maps names to classes.

A policy class is registered with the worlds it knows how to play (``None`` =
any world, as for the LLM policy) and a pydantic ``Params`` model that the
scenario's ``params:`` block is validated against (the class's contract is in
``agents/policy.py``). Modules under ``agents/scripted/`` register themselves
when imported; ``load_all`` imports them all.

An entry may also declare what the rest of Agora needs to know about the
policy without knowing the policy:

* ``settings`` and ``settings_key``: a run-wide settings block the policy reads
  from the scenario's top level (the LLM policy's ``llm:`` block). The scenario
  loader validates it generically (file:line errors) and the host hands it,
  validated, to every seat of the policy (``SeatContext.settings``).
* ``describe_counters(counters) -> list[str]``: the lines the CLI prints about
  the counters the policy adds to a run's summary (nothing if it added none).
* ``examples(folder) -> {world type: Example}``: how to build and play the
  policy where its ``Params()`` defaults in the world's smallest shipped
  scenario cannot (a required file, which it may write under ``folder``; a
  world mode such as the matrix game's population mode), by world type
  (``None``: any). The policy-contract test builds and plays every policy so.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The scenario's own top-level fields (simulator/scenario.py): no policy's settings block may take one.
RESERVED_KEYS = frozenset({"name", "description", "seed", "world", "agents", "run", "sweep"})


CounterLines = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Example:
    """Params to build a policy from, and optionally the ``world:`` block to play it in."""

    params: dict[str, Any] = field(default_factory=dict)
    world: dict[str, Any] | None = None


Examples = Callable[[Path], Mapping["str | None", Example]]


@dataclass(frozen=True)
class PolicyEntry:
    name: str
    cls: type
    params: type[BaseModel]
    worlds: tuple[str, ...] | None
    summary: str
    settings: type[BaseModel] | None = None
    settings_key: str | None = None
    describe_counters: CounterLines | None = None
    examples: Examples | None = None

    def plays(self, world_type: str) -> bool:
        return self.worlds is None or world_type in self.worlds

    def build(self, params: BaseModel, rng: np.random.Generator) -> Any:
        return self.cls(params, rng)


_POLICIES: dict[str, PolicyEntry] = {}


def register(
    name: str,
    *,
    worlds: tuple[str, ...] | list[str] | None = None,
    settings: type[BaseModel] | None = None,
    settings_key: str | None = None,
    describe_counters: CounterLines | None = None,
    examples: Examples | None = None,
) -> Callable[[type], type]:
    """Class decorator: ``cls(params, rng)`` builds the policy; ``cls.Params`` validates params.

    ``settings`` (a pydantic model) and ``settings_key`` (the scenario's
    top-level key it validates) come together; a key already taken by another
    policy, or one of the scenario's own fields, is refused at import time.
    """
    if (settings is None) != (settings_key is None):
        raise ValueError(f"policy {name!r}: settings= and settings_key= go together")

    def decorate(cls: type) -> type:
        if name in _POLICIES and _POLICIES[name].cls is not cls:
            raise ValueError(f"policy {name!r} is registered twice")
        if settings_key is not None:
            if settings_key in RESERVED_KEYS:
                raise ValueError(f"policy {name!r}: settings_key {settings_key!r} is a scenario field")
            taken = [e.name for e in _POLICIES.values() if e.settings_key == settings_key and e.name != name]
            if taken:
                raise ValueError(f"policy {name!r}: settings_key {settings_key!r} is already policy {taken[0]!r}'s")
        params = getattr(cls, "Params", NoParams)
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        _POLICIES[name] = PolicyEntry(
            name, cls, params, tuple(worlds) if worlds else None, summary,
            settings=settings, settings_key=settings_key, describe_counters=describe_counters, examples=examples,
        )
        return cls

    return decorate


_PACKAGES = ("agents.scripted", "agents.llm")
_MODULES = ("agents.learned",)  # single-module policies (learned: saved tables from simulator.rl)
_loaded = False


def load_all() -> dict[str, PolicyEntry]:
    """Import every policy module (once per process) so that all policies are registered."""
    global _loaded
    if not _loaded:
        for package_name in _PACKAGES:
            package = importlib.import_module(package_name)
            for info in pkgutil.walk_packages(package.__path__, package_name + "."):
                importlib.import_module(info.name)
        for module_name in _MODULES:
            importlib.import_module(module_name)
        _loaded = True
    return _POLICIES


def policies_for(world_type: str) -> list[str]:
    return sorted(name for name, entry in load_all().items() if entry.plays(world_type))


def get(name: str) -> PolicyEntry | None:
    return load_all().get(name)


def settings_blocks() -> dict[str, PolicyEntry]:
    """``{scenario key: entry}`` for every run-wide settings block a registered policy declares."""
    return {entry.settings_key: entry for entry in load_all().values() if entry.settings_key is not None}


def counter_lines(counters: Mapping[str, Any]) -> list[str]:
    """What every policy that declares ``describe_counters`` says about a run's counters, in name order."""
    lines: list[str] = []
    for _, entry in sorted(load_all().items()):
        if entry.describe_counters is not None:
            lines.extend(entry.describe_counters(counters))
    return lines

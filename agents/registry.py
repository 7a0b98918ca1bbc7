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
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

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


_PACKAGES = ("agents.scripted", "agents.llm", "agents.remote")
_MODULES = ("agents.learned",)  # single-module policies (learned: saved tables from simulator.rl)

# A scenario's check imports only the modules of the policies it names (agents.llm pulls in httpx and
# its HTTP client, agents.remote aiohttp; a matrix game should not pay for them). Which module registers which name is read from
# the sources' ``@register("name"`` lines, without importing them; a name not found there falls back
# to importing every module. tests/test_fast_start.py checks the reading against the imports.
_REGISTER_LINE = re.compile(r'^@register\(\s*"([^"]+)"', re.MULTILINE)


@lru_cache(maxsize=1)
def shipped_policies() -> dict[str, str]:
    """``{policy name: module}`` for every policy under ``_PACKAGES`` and ``_MODULES``, read from the source files."""
    root = Path(__file__).resolve().parent.parent
    files = [path for package in _PACKAGES for path in sorted((root / package.replace(".", "/")).rglob("*.py"))]
    files += [root / (module.replace(".", "/") + ".py") for module in _MODULES]
    found: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:  # e.g. a package that is not there in this install: load_all finds what is
            continue
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for name in _REGISTER_LINE.findall(text):
            found.setdefault(name, module)
    return found


SETTINGS_KEYS: dict[str, str] = {"llm": "llm", "remote": "remote"}  # scenario key -> the policy whose settings block it is
HOST_COUNTERS = frozenset({"decisions", "fallbacks"})  # the run's own counters (simulator/run.py), not a policy's

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
    """The policy ``name``, importing only its module when the table knows it (every module otherwise)."""
    if name not in _POLICIES and name in shipped_policies():
        importlib.import_module(shipped_policies()[name])
    if name not in _POLICIES:
        load_all()
    return _POLICIES.get(name)


class SettingsBlocks(Mapping[str, PolicyEntry]):
    """``{scenario key: entry}`` whose keys are known without importing the policies; an entry loads when read."""

    def _keys(self) -> dict[str, str]:
        registered = {entry.settings_key: entry.name for entry in _POLICIES.values() if entry.settings_key is not None}
        return SETTINGS_KEYS | registered

    def __getitem__(self, key: str) -> PolicyEntry:
        entry = get(self._keys()[key])
        if entry is None or entry.settings_key != key:
            raise KeyError(key)
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys()))

    def __len__(self) -> int:
        return len(self._keys())


def settings_blocks() -> Mapping[str, PolicyEntry]:
    """``{scenario key: entry}`` for every run-wide settings block a policy declares (entries load when read)."""
    return SettingsBlocks()


def counter_lines(counters: Mapping[str, Any]) -> list[str]:
    """What every policy that declares ``describe_counters`` says about a run's counters, in name order."""
    lines: list[str] = []
    if not any(value for key, value in counters.items() if key not in HOST_COUNTERS):
        return lines  # no policy added a counter: no need to import every policy to hear that
    for _, entry in sorted(load_all().items()):
        if entry.describe_counters is not None:
            lines.extend(entry.describe_counters(counters))
    return lines

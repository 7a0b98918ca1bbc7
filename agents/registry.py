"""Policy registry: scenario files name policies; this maps names to classes.

A policy class is registered with the worlds it knows how to play (``None`` =
any world, as for the LLM policy) and a pydantic ``Params`` model that the
scenario's ``params:`` block is validated against. Modules under
``agents/scripted/`` register themselves when imported; ``load_all`` imports
them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class PolicyEntry:
    name: str
    cls: type
    params: type[BaseModel]
    worlds: tuple[str, ...] | None
    summary: str

    def plays(self, world_type: str) -> bool:
        return self.worlds is None or world_type in self.worlds

    def build(self, params: BaseModel, rng: np.random.Generator) -> Any:
        return self.cls(params, rng)


_POLICIES: dict[str, PolicyEntry] = {}


def register(name: str, *, worlds: tuple[str, ...] | list[str] | None = None) -> Callable[[type], type]:
    """Class decorator: ``cls(params, rng)`` builds the policy; ``cls.Params`` validates params."""

    def decorate(cls: type) -> type:
        if name in _POLICIES and _POLICIES[name].cls is not cls:
            raise ValueError(f"policy {name!r} is registered twice")
        params = getattr(cls, "Params", NoParams)
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        _POLICIES[name] = PolicyEntry(name, cls, params, tuple(worlds) if worlds else None, summary)
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

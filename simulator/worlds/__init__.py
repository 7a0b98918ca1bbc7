"""World registry: ``world.type`` in a scenario file names one of these.

A world class registers itself with ``@register_world(name)``, which sets its
``type_name`` and checks it against the ``simulator.world.World`` contract
(``simulator.world.check_world_type``): a pydantic ``Config`` (the scenario's
``world:`` block, unknown keys rejected, ``type: Literal[name]``), the
classmethods ``from_config(config, rng)`` (a fresh world from the validated
block and the run's world generator) and ``default_policy(role)``, and every
per-game method. Subclassing ``simulator.world.WorldBase[Config]`` provides
the class-level part.

Where worlds come from (``load_all``, once per process):

* every module ``simulator/worlds/<game>.py``, and every package
  ``simulator/worlds/<game>/`` through its ``world`` module;
* every entry point in the group ``agora.worlds`` of an installed
  distribution: ``toy = "my_package.toy:ToyWorld"`` in its ``pyproject.toml``
  under ``[project.entry-points."agora.worlds"]`` makes ``world.type: toy``
  available to ``agora run``, sweeps and the API (only installed code is
  imported, never a module a scenario names; a plug-in that fails to import
  or breaks the contract is an ``InvalidInput`` naming the entry point);
* any class registered with ``register_world`` in the running process (a test).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from typing import Any, Callable, Iterable, Mapping

from simulator.errors import InvalidInput

ENTRY_POINT_GROUP = "agora.worlds"

_WORLDS: dict[str, type] = {}
_loaded = False


def register_world(name: str) -> Callable[[type], type]:
    """Class decorator: the class is the world type ``name``; a class that breaks the contract raises TypeError."""

    def decorate(cls: type) -> type:
        # Imported here, not at the top: agents import action models from world packages and
        # should not pay for the engine's import; a world module has imported it already.
        from simulator.world import check_world_type

        known = _WORLDS.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"world type {name!r} is registered twice ({known.__module__}.{known.__qualname__} "
                             f"and {cls.__module__}.{cls.__qualname__})")
        cls.type_name = name
        check_world_type(cls)
        _WORLDS[name] = cls
        return cls

    return decorate


def load_all() -> dict[str, type]:
    """Register every world (once per process): this package's modules, then installed entry points."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__, __name__ + "."):
            # A world is a module here, or a package whose ``world`` module registers it.
            importlib.import_module(info.name + ".world" if info.ispkg else info.name)
        for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                cls = entry.load()
                if _WORLDS.get(entry.name) is not cls:
                    register_world(entry.name)(cls)
            except Exception as exc:  # a broken plug-in: say which one and why, in one line
                raise InvalidInput(f"{ENTRY_POINT_GROUP} entry point {entry.name} = {entry.value}: "
                                   f"{type(exc).__name__}: {exc}; allowed: an importable World class") from None
        _loaded = True
    return _WORLDS


def get_world(name: str) -> type | None:
    return load_all().get(name)


def lazy_exports(package: str, homes: Mapping[str, Iterable[str]]) -> tuple[list[str], Callable[[str], Any]]:
    """``__all__`` and a PEP 562 ``__getattr__`` for a world package's ``__init__``.

    ``homes`` maps each submodule to the public names it defines; ``from
    package import X`` then loads only the module that defines ``X``, so a
    policy importing a world's action models does not import the world.
    """
    home = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return sorted(home), __getattr__

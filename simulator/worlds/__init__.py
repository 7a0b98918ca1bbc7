"""World registry: ``world.type`` in a scenario file names one of these.

Each world module registers a class with ``@register_world(name)``; the class
has a pydantic ``Config`` model (the scenario's ``world:`` block, unknown keys
rejected) and ``from_config(config)`` that builds a fresh World.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

_WORLDS: dict[str, type] = {}
_loaded = False


def register_world(name: str) -> Callable[[type], type]:
    def decorate(cls: type) -> type:
        cls.type_name = name
        _WORLDS[name] = cls
        return cls

    return decorate


def load_all() -> dict[str, type]:
    """Import every module in this package (once per process) so that all worlds are registered."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__, __name__ + "."):
            # A world is a module here, or a package whose ``world`` module registers it.
            importlib.import_module(info.name + ".world" if info.ispkg else info.name)
        _loaded = True
    return _WORLDS


def get_world(name: str) -> type | None:
    return load_all().get(name)

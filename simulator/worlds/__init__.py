"""World registry: ``world.type`` in a scenario file names one of these.

A world class registers itself with ``@register_world(name)``, which sets its
``type_name`` and checks it against the ``simulator.world.World`` contract
(``simulator.world.check_world_type``): a pydantic ``Config`` (the scenario's
``world:`` block, unknown keys rejected, ``type: Literal[name]``), the
classmethods ``from_config(config, rng)`` (a fresh world from the validated
block and the run's world generator) and ``default_policy(role)``, and every
per-game method. Subclassing ``simulator.world.WorldBase[Config]`` provides
the class-level part.

Where worlds come from (``load_all``: a mapping that imports each world when it is looked up):

* every module ``simulator/worlds/<game>.py``, and every package
  ``simulator/worlds/<game>/`` through its ``world`` module (``BUILTIN`` names
  the shipped ones, so that a run imports only the world it plays);
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
from typing import Any, Callable, Iterable, Iterator, Mapping

from simulator.errors import InvalidInput

ENTRY_POINT_GROUP = "agora.worlds"

# The shipped worlds by type name -> the module that registers them. Looking a world up imports
# only its module (the marketplace's or information world's imports cost seconds that a matrix
# game should not pay); tests/test_fast_start.py checks this table against the modules themselves.
BUILTIN: dict[str, str] = {
    "information": "simulator.worlds.information",
    "marketplace": "simulator.worlds.marketplace.world",
    "matrix_game": "simulator.worlds.matrix_game",
    "off_switch": "simulator.worlds.off_switch",
    "public_goods": "simulator.worlds.public_goods.world",
    "social_learning": "simulator.worlds.social_learning",
}

_WORLDS: dict[str, type] = {}


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


def world_modules() -> list[str]:
    """Every module of this package that may register a world: ``<game>.py``, or ``<game>/world.py``."""
    return [info.name + ".world" if info.ispkg else info.name for info in pkgutil.iter_modules(__path__, __name__ + ".")]


class WorldRegistry(Mapping[str, type]):
    """Every world type by name, each imported when it is first looked up.

    Names come from ``BUILTIN``, the installed ``agora.worlds`` entry points
    (read once, only when a name is not a shipped one or the whole list is
    wanted) and ``register_world`` calls in this process; a module of this
    package missing from ``BUILTIN`` is imported when the full list is
    wanted or a name is not found, so a new world works before it is added
    to the table.
    """

    def __init__(self) -> None:
        self._entry_points: dict[str, Any] | None = None
        self._scanned = False

    def plugins(self) -> dict[str, Any]:
        if self._entry_points is None:
            self._entry_points = {entry.name: entry for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
        return self._entry_points

    def _scan(self) -> None:
        """Import this package's world modules that the table does not name (once)."""
        if not self._scanned:
            listed = set(BUILTIN.values())
            for module in world_modules():
                if module not in listed:
                    importlib.import_module(module)
            self._scanned = True

    def _load(self, name: str) -> type | None:
        if name in _WORLDS:
            return _WORLDS[name]
        if name in BUILTIN:
            importlib.import_module(BUILTIN[name])
            return _WORLDS.get(name)
        entry = self.plugins().get(name)
        if entry is not None:
            try:
                cls = entry.load()
                if _WORLDS.get(entry.name) is not cls:
                    register_world(entry.name)(cls)
            except Exception as exc:  # a broken plug-in: say which one and why, in one line
                raise InvalidInput(f"{ENTRY_POINT_GROUP} entry point {entry.name} = {entry.value}: "
                                   f"{type(exc).__name__}: {exc}; allowed: an importable World class") from None
            return cls
        self._scan()
        return _WORLDS.get(name)

    def __getitem__(self, name: str) -> type:
        cls = self._load(name)
        if cls is None:
            raise KeyError(name)
        return cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._load(name) is not None

    def names(self) -> list[str]:
        self._scan()
        return sorted(set(BUILTIN) | set(self.plugins()) | set(_WORLDS))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


_REGISTRY = WorldRegistry()


def load_all() -> WorldRegistry:
    """Every world by name, as a mapping that imports a world's module when the world is looked up.

    ``name in load_all()`` and ``load_all()[name]`` import one world; iterating
    (``sorted(load_all())``, ``.items()``) imports them all.
    """
    return _REGISTRY


def get_world(name: str) -> type | None:
    return _REGISTRY._load(name) if isinstance(name, str) else None


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

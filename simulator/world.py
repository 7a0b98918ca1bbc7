"""The World protocol: what every game offers to the run that hosts it.

A world is a state machine driven by the engine (compare OpenSpiel's ``State``
and PettingZoo's AEC API). When it needs decisions it asks its ``Host`` to
``wake`` it; at that simulated time the host asks ``acting()`` who may act,
gives each of them ``observe(agent)`` and the pydantic ``action_model(agent)``
(whose JSON Schema is what an LLM is asked to fill), collects one action per
agent from their policies and hands the batch to ``apply``. Everything a
world needs beyond that (message latencies, deadlines, rounds) it schedules on
``host.engine`` itself. Decisions that fall at the same simulated time are one
batch, applied in the order ``acting()`` returned.

This module states the whole contract: ``World`` (the world type's class-level
members and the per-game methods), ``Host`` (what a world may ask of its run),
``Metrics`` (what it reports), ``WorldBase`` (the class-level part written
once) and ``check_world_type`` / ``world_type_problems`` (a class against the
protocol, read from the protocol itself). docs/worlds.md walks through a
world written from these docstrings.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Mapping, Protocol, Self, TypeVar, get_args, get_origin, runtime_checkable

import numpy as np
from pydantic import BaseModel

if TYPE_CHECKING:  # only an annotation here: checking a scenario must not import mesa (a second of start-up)
    from simulator.engine import Engine


class Host(Protocol):
    """What a world may ask of the run hosting it."""

    engine: Engine

    def wake(self, *, at: float | None = None, after: float | None = None) -> None:
        """Ask for a decision point: at that time ``acting()`` agents are asked to act."""

    def log(self, kind: str, agent: str | None = None, **data: Any) -> None:
        """Append an event to the run's event log (time-stamped with ``engine.now``)."""

    def finish(self) -> None:
        """End the run after the current event. The host checks ``done()`` after every decision point
        itself; a world whose own scheduled event (not a decision) ends the game calls this from it."""


@dataclass
class Metrics:
    """What a run reports: per-agent payoffs, utilitarian welfare, and the rest.

    ``measures`` holds world-specific outcomes (cooperation rate, regret, ...);
    ``theory`` holds what the mechanisms modules predict for the same game
    (equilibria, optimum, price of anarchy), so a user reads both side by side.
    """

    payoffs: dict[str, float]
    welfare: float | None = None
    measures: dict[str, Any] = field(default_factory=dict)
    theory: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.welfare is None:
            self.welfare = float(sum(self.payoffs.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "welfare": _plain(self.welfare),
            "payoffs": _plain(self.payoffs),
            "measures": _plain(self.measures),
            "theory": _plain(self.theory),
        }


def _plain(value: Any) -> Any:
    """Turn numpy scalars/arrays and tuples into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


@dataclass(frozen=True)
class Pairing:
    """One row of a world's theory-versus-simulation table: a quantity theory predicts and the measure that estimates it.

    ``theory`` and ``simulated`` are paths into ``Metrics.to_dict()``:
    ``"welfare"``, ``"theory.<key>"``, ``"measures.<key>"`` (dots walk nested
    dicts). ``note`` says in a few words how the two relate (per round, expected
    value, ...), for the table's reader.
    """

    quantity: str
    theory: str
    simulated: str
    note: str = ""


@runtime_checkable
class World(Protocol):
    """One game: what a world TYPE declares (class level) and what each instance does.

    Implementations live in ``simulator/worlds/<game>.py`` (or a package
    ``simulator/worlds/<game>/`` whose ``world`` module registers the class) and
    are registered with ``simulator.worlds.register_world(name)``. Subclassing
    ``WorldBase[MyConfig]`` supplies ``Config``, ``from_config``,
    ``default_policy`` and ``default_action``. ``check_world_type(cls)`` checks
    a class against this protocol; ``isinstance(world, World)`` checks that
    every member below exists on an instance. One optional class-level hook
    is not part of the check: ``roster(config) -> {agent id: role}``, which a
    world that is costly to build declares so that scenario checks need not
    build it (``simulator/roster.py``).
    """

    # ---- the world type (class level)
    type_name: ClassVar[str]
    """The scenario's ``world.type``; set by ``register_world``."""

    Config: ClassVar[type[BaseModel]]
    """The scenario's ``world:`` block as a pydantic model with ``extra="forbid"`` and a field
    ``type: Literal[type_name]``; the scenario loader validates the block against it."""

    @classmethod
    def from_config(cls, config: Any, rng: np.random.Generator) -> "World":
        """A fresh world from a validated ``Config`` and the run's world random generator."""

    @classmethod
    def default_policy(cls, role: str) -> str:
        """The registered policy name seated for ``role`` when the scenario names none."""

    # ---- one game (instance level)
    def agent_ids(self) -> list[str]:
        """Every agent that takes part, in a fixed order."""

    def role(self, agent_id: str) -> str:
        """The agent's role ("player", "customer", "business", ...), used to pick its policy."""

    def rules(self, agent_id: str) -> str:
        """The rules of the game as this agent knows them, in plain text (for LLM prompts)."""

    def start(self, host: Host) -> None:
        """Set up and schedule the first events / decision points."""

    def acting(self) -> list[str]:
        """Agents who must decide now (called by the host at each decision point)."""

    def observe(self, agent_id: str) -> dict[str, Any]:
        """What the agent sees now: a JSON-ready dict."""

    def action_model(self, agent_id: str) -> type[BaseModel]:
        """The legal actions of this agent now, as a pydantic model."""

    def default_action(self, agent_id: str) -> BaseModel:
        """The action used when a policy fails to give a valid one (counted as a fallback)."""

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        """Apply one batch of decisions taken at the same simulated time."""

    def done(self) -> bool:
        """True when the game is over (the host stops the run)."""

    def progress(self) -> float:
        """Fraction of the run completed, in [0, 1] (for progress bars)."""

    def metrics(self) -> Metrics:
        """Outcomes so far, with theory beside them."""


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class WorldBase(Generic[ConfigT]):
    """What every world type declares, written once; a world subclasses ``WorldBase[ItsConfig]``.

    * ``Config`` is the type parameter (``class MatrixGame(WorldBase[MatrixGameConfig])``
      sets ``MatrixGame.Config = MatrixGameConfig``), so ``self.config`` is typed;
    * ``__init__(config, rng)`` keeps both as ``self.config`` / ``self.rng``
      (a subclass extends it and calls ``super().__init__(config, rng)`` first);
    * ``from_config(config, rng)`` builds ``cls(config, rng)``;
    * ``default_policy(role)`` reads the class's ``default_policies`` table
      (role -> policy name; the key ``"*"`` serves every role not listed);
    * ``default_action(agent)`` is the action model built from its field
      defaults; a world whose action fields have no defaults overrides it;
    * ``agent_ids()`` is ``list(self.ids)`` (the subclass sets ``self.ids``);
    * ``role(agent)`` is the class's ``role_name`` ("player"): a world with
      several roles overrides it.

    The rest of the game (``rules``, ``start`` ... ``metrics``) is the world's own.
    """

    Config: ClassVar[type[BaseModel]]
    type_name: ClassVar[str]
    default_policies: ClassVar[Mapping[str, str]] = {}
    role_name: ClassVar[str] = "player"
    paired: ClassVar[tuple[Pairing, ...]] = ()
    ids: list[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is WorldBase:
                (config,) = get_args(base)
                if isinstance(config, type) and issubclass(config, BaseModel):
                    cls.Config = config

    def __init__(self, config: ConfigT, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng

    @classmethod
    def from_config(cls, config: ConfigT, rng: np.random.Generator) -> Self:
        return cls(config, rng)

    @classmethod
    def default_policy(cls, role: str) -> str:
        policy = cls.default_policies.get(role, cls.default_policies.get("*"))
        if policy is None:
            raise KeyError(f"world {getattr(cls, 'type_name', cls.__name__)!r} names no default policy for role {role!r}")
        return policy

    def default_action(self, agent_id: str) -> BaseModel:
        return self.action_model(agent_id)()  # type: ignore[attr-defined]  (the subclass's action_model)

    def agent_ids(self) -> list[str]:
        return list(self.ids)

    def role(self, agent_id: str) -> str:
        return self.role_name

    def pairings(self) -> list[Pairing]:
        """Which theory quantity each measure is compared with: the class's ``paired`` table by default
        (a world whose pairs depend on its configuration overrides this)."""
        return list(self.paired)


# The contract's members by kind, read from the protocol itself so that the check cannot drift from it.
_CLASS_METHODS = ("from_config", "default_policy")
_INSTANCE_METHODS = tuple(
    name for name, value in vars(World).items() if inspect.isfunction(value) and not name.startswith("_")
)


def world_type_problems(cls: type) -> list[str]:
    """Everything in which the class ``cls`` falls short of the ``World`` contract (empty: it conforms).

    Checks what a run relies on before it builds an instance: ``type_name``
    is a non-empty string; ``Config`` is a pydantic model that forbids unknown
    keys and whose ``type`` field accepts exactly ``type_name``; ``from_config``
    and ``default_policy`` are callable on the class with the protocol's
    arguments; every instance method of the protocol is a method of the class
    that accepts the protocol's arguments.
    """
    problems: list[str] = []
    name = getattr(cls, "type_name", None)
    if not isinstance(name, str) or not name:
        problems.append("type_name: missing (register the class with @register_world(name))")
    config = getattr(cls, "Config", None)
    if not (isinstance(config, type) and issubclass(config, BaseModel)):
        problems.append("Config: missing or not a pydantic model (subclass WorldBase[YourConfig] or set Config)")
    else:
        if config.model_config.get("extra") != "forbid":
            problems.append(f"Config: {config.__name__} must reject unknown keys (model_config = ConfigDict(extra='forbid'))")
        field = config.model_fields.get("type")
        if field is None:
            problems.append(f"Config: {config.__name__} has no field 'type' (type: Literal[{name!r}])")
        elif get_origin(field.annotation) is not Literal or get_args(field.annotation) != (name,):
            problems.append(f"Config: {config.__name__}.type must be Literal[{name!r}], is {field.annotation!r}")
    for member in _CLASS_METHODS + _INSTANCE_METHODS:
        problems.extend(_signature_problems(cls, member))
    return problems


def check_world_type(cls: type) -> None:
    """Raise ``TypeError`` listing every way ``cls`` falls short of the ``World`` contract."""
    problems = world_type_problems(cls)
    if problems:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} is not a World: " + "; ".join(problems))


def _signature_problems(cls: type, member: str) -> list[str]:
    """``cls.member`` exists, is a method of the right kind and takes the arguments the protocol's ``member`` takes."""
    declared = inspect.getattr_static(World, member)
    declared = declared.__func__ if isinstance(declared, classmethod) else declared
    wanted = list(inspect.signature(declared).parameters)[1:]  # without self / cls
    found = inspect.getattr_static(cls, member, None)
    if found is None:
        return [f"{member}: missing"]
    class_level = member in _CLASS_METHODS
    if class_level and not isinstance(found, (classmethod, staticmethod)):
        return [f"{member}: must be a classmethod (the run calls it on the class, before any instance exists)"]
    if not class_level and not inspect.isfunction(found):
        return [f"{member}: must be an instance method"]
    try:
        if class_level:
            inspect.signature(getattr(cls, member)).bind(*wanted)
        else:
            inspect.signature(found).bind(cls, *wanted)
    except TypeError:
        return [f"{member}: must accept ({', '.join(wanted)})"]
    return []

"""Seating: one policy per world agent, and the narrow seat context each policy gets.

``build_policies`` picks every agent's policy (by agent id, else role, else
"default", else the world's default policy for the role), validates its params
and builds it as ``cls(params, rng)`` with the agent's own random stream.
``bind_seats`` then hands every policy that asks for it (``SeatedPolicy``) a
``HostSeat``: the ``agents.policy.SeatContext`` of its chair. A seat sees its
agent id, role and world type, its policy's run-wide settings block (declared
in the policy's registry entry, validated here), the clock, the event log, the
run's counters, the transcript, finish hooks and the run's shared resources;
it never sees the simulation or the scenario (compare PettingZoo, where an
agent sees its observation, not the environment).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Mapping, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel

from agents import registry as policy_registry
from agents.policy import BatchPolicy, FinishHook, SeatedPolicy
from simulator.streams import iter_child_generators

T = TypeVar("T")


class SeatHost(Protocol):
    """What seating needs of the host (``simulator.run.Simulation``)."""

    world: Any
    counters: dict[str, Any]
    exchange_sink: Any
    engine: Any
    seats: Mapping[str, Any]
    batch_window: float

    def log(self, kind: str, agent: str | None = None, **data: Any) -> None: ...
    def record_exchange(self, exchange: dict) -> None: ...
    def on_finish(self, hook: FinishHook) -> None: ...


class RunResources:
    """A run's shared objects by key (``SeatContext.resource``), closed when the run is discarded."""

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}

    def get(self, key: str, factory: Callable[[], T]) -> T:
        if key not in self._objects:
            self._objects[key] = factory()
        return self._objects[key]

    def close(self) -> None:
        objects, self._objects = list(self._objects.values()), {}
        for obj in reversed(objects):
            close = getattr(obj, "close", None)  # the registry promises close() to objects that have one
            if callable(close):
                close()


class HostSeat:
    """One seat's view of its run: an ``agents.policy.SeatContext``."""

    __slots__ = ("_host", "_resources", "agent_id", "role", "world_type", "settings", "__weakref__")

    def __init__(self, host: SeatHost, resources: RunResources, agent_id: str, role: str, settings: BaseModel | None) -> None:
        # Weakly: the run's resources (held until the host is collected) reach the seats through the policies;
        # a strong reference back would keep every run alive and its resources (clients, cache files) open.
        self._host = weakref.ref(host)
        self._resources = resources
        self.agent_id = agent_id
        self.role = role
        self.world_type: str = type(host.world).type_name
        self.settings = settings

    @property
    def counters(self) -> dict[str, Any]:
        return self._host().counters

    @property
    def records_exchanges(self) -> bool:
        return self._host().exchange_sink is not None

    def now(self) -> float:
        return float(self._host().engine.now)

    def rules(self) -> str | None:
        try:
            return str(self._host().world.rules(self.agent_id))
        except Exception:  # a world that cannot say (e.g. between matches): the policy goes without
            return None

    def log(self, kind: str, agent: str | None = None, **data: Any) -> None:
        self._host().log(kind, agent, **data)

    def record_exchange(self, exchange: dict[str, Any]) -> None:
        self._host().record_exchange(exchange)

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        return self._resources.get(key, factory)

    def on_finish(self, hook: FinishHook) -> None:
        self._host().on_finish(hook)


def conforms(policy: Any, protocol: type) -> bool:
    """``isinstance(policy, protocol)`` for a runtime-checkable ``Protocol``, decided once per policy class.

    typing's check looks every protocol member up with ``inspect.getattr_static``
    (about 13 us; three checks per seat, 390,000 at 100,000 x 30,000 agents:
    5 s of the build). Its answer depends only on the class unless the instance's
    own ``__dict__`` holds a member (say ``batch_window`` set in ``__init__``): such
    a policy is checked as typing does; the others share their class's answer.
    """
    own = getattr(policy, "__dict__", None)
    if own and not own.keys().isdisjoint(protocol.__protocol_attrs__):
        return isinstance(policy, protocol)
    key = (type(policy), protocol)
    answer = _CONFORMS.get(key)
    if answer is None:
        answer = _CONFORMS[key] = isinstance(policy, protocol)
    return answer


# (policy class, protocol) -> isinstance answer. A plain dict (a weak one costs more per look-up than the check
# saves): it holds the policy classes, which live as long as their modules anyway.
_CONFORMS: dict[tuple[type, type], bool] = {}


def build_policies(scenario: Any, world: Any, seeds: np.random.SeedSequence) -> dict[str, tuple[Any, str]]:
    """``{agent_id: (policy, policy name)}`` for every agent of ``world``, each with its own stream from ``seeds``.

    The policy and its validated params are found once per ``agents:`` key (or,
    for the world's default policies, per role), not per agent. Each seat gets its
    own shallow copy of the params, as before, unless the params model is frozen
    (pydantic ``frozen=True``: nothing can change it, so one object serves every seat).
    """
    agent_ids = world.agent_ids()
    rngs = iter_child_generators(seeds, len(agent_ids))   # each dropped once its policy is built
    policies = {}
    chosen: dict[tuple[str | None, str], tuple[str, Any, BaseModel | None, bool]] = {}
    for agent_id, rng in zip(agent_ids, rngs):
        role = world.role(agent_id)
        key = scenario.agents_key(agent_id, role)
        choice = chosen.get((key, role))
        if choice is None:
            choice = chosen[(key, role)] = _choose(scenario, world, agent_id, role)
        name, entry, params, shared = choice
        if params is None:  # the world's default policy, or a scenario built or edited by hand: validated per seat
            spec = scenario.policy_for(agent_id, role)
            params = entry.params.model_validate(spec.params if spec is not None else {})
        elif not shared:
            params = params.model_copy()
        policies[agent_id] = (entry.build(params, rng), name)
    return policies


def _choose(scenario: Any, world: Any, agent_id: str, role: str) -> tuple[str, Any, BaseModel | None, bool]:
    """(policy name, registry entry, validated params or None, whether the params may be shared) of one agents: key."""
    spec = scenario.policy_for(agent_id, role)
    name = spec.policy if spec is not None else world.default_policy(role)
    entry = policy_registry.get(name)
    if entry is None:
        raise ValueError(f"agent {agent_id!r}: no policy named {name!r} is registered")
    params = scenario.params_for(agent_id, role, copy=False)  # validated once by the scenario loader
    frozen = bool(entry.params.model_config.get("frozen"))
    if params is None and frozen:
        params = entry.params.model_validate(spec.params if spec is not None else {})
    return name, entry, params, frozen


def bind_seats(host: SeatHost, scenario: Any) -> None:
    """Give every policy that binds its seat context, and size the host's decision window.

    Each policy's run-wide settings block is validated once per run and shared
    by its seats; the window is the largest ``batch_window`` of the batching
    policies (``agents.policy.BatchPolicy``), read after binding since a
    policy may learn it from its settings.
    """
    resources = RunResources()
    weakref.finalize(host, resources.close).atexit = False
    settings: dict[str, BaseModel | None] = {}
    for agent_id, seat in host.seats.items():
        if not conforms(seat.policy, SeatedPolicy):
            continue
        entry = policy_registry.get(seat.policy_name)
        if entry is not None and entry.settings is not None and entry.name not in settings:
            settings[entry.name] = entry.settings.model_validate(scenario.settings_block(entry.settings_key) or {})
        seat.policy.bind(HostSeat(host, resources, agent_id, seat.role, settings.get(entry.name) if entry else None))
    windows = [float(seat.policy.batch_window) for seat in host.seats.values() if conforms(seat.policy, BatchPolicy)]
    host.batch_window = max(windows, default=0.0)

"""The Policy contract: what a decision maker offers a run, and what a run offers it.

A policy maps (observation, action model) to an action. Scripted policies, the
learned policy and the LLM policy implement the same contract, so any policy
can be seated in any world: the world describes the legal actions as a
pydantic model and the policy returns an instance of it (or a dict the host
validates). Compare PettingZoo's ``AECEnv``, which states its whole contract in
one place so that one test (``tests/test_policy_contract.py``) checks every
implementation.

Everything a host (``simulator/run.py``, the PettingZoo adapter) relies on:

* **Construction** ``cls(params, rng)``: ``params`` is an instance of the
  class's pydantic ``Params`` model (the seat's ``params:`` block; the
  registry uses ``agents.registry.NoParams`` when the class has none), ``rng``
  the seat's own ``numpy.random.Generator`` drawn from the run seed.
* **One decision** ``act(observation, action_model)`` (``Policy``). A policy
  may raise or return an invalid action: the host plays the world's default
  action and logs a ``fallback`` whose cause is the exception's ``kind``
  attribute if it has one.
* **Batched decisions** (``BatchPolicy``): ``act_batch(requests)`` answers a
  list of ``Request`` in request order; the host gathers the requests of all
  seats whose policies share a ``batch_key`` (e.g. all LLM seats of a run)
  into one call, and, if ``batch_window > 0``, the decisions due within that
  much simulated time into one call (the largest window of the run's seats).
* **Seating** (``SeatedPolicy``): ``bind(seat)`` is called once, after every
  seat of the run is built and before the world starts, with a
  ``SeatContext``: the policy's chair, not the simulation.

Nothing here knows any particular policy or world.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, MutableMapping, Protocol, Sequence, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel

# (agent id, observation, action model): one decision a host asks for.
Request = tuple[str, dict[str, Any], type[BaseModel]]
# Called as a run ends with (status, reason, metrics); may add to metrics, returns the (new) status and reason.
FinishHook = Callable[[str, "str | None", dict], "tuple[str, str | None]"]
T = TypeVar("T")


class SeatContext(Protocol):
    """What a seated policy may use of the run that hosts it.

    ``settings`` is the policy's own run-wide settings block, validated: the
    scenario's top-level block that the policy's registry entry declares
    (``register(..., settings=Model, settings_key="llm")``), ``None`` if the
    entry declares none. ``counters`` is the run's counter dict (reported in
    the run's summary); a policy adds its own keys and labels them through its
    entry's ``describe_counters``. ``resource(key, factory)`` is a per-run
    registry: the first call with a key builds the object, later calls (from
    any seat of the same run) get the same one; objects with a ``close()``
    method are closed when the run is discarded.
    """

    agent_id: str
    role: str
    world_type: str
    settings: BaseModel | None

    @property
    def counters(self) -> MutableMapping[str, Any]:
        """The run's counters (``decisions``, ``fallbacks``, and whatever policies add)."""

    @property
    def records_exchanges(self) -> bool:
        """True if something stores ``record_exchange``'s records (else a policy may skip building them)."""

    def now(self) -> float:
        """The current simulated time."""

    def rules(self) -> str | None:
        """The world's rules as this agent knows them now (``World.rules``); ``None`` if the world cannot say."""

    def log(self, kind: str, agent: str | None = None, **data: Any) -> None:
        """Append an event to the run's event log (time-stamped with the current simulated time)."""

    def record_exchange(self, exchange: dict[str, Any]) -> None:
        """Keep one policy-model exchange (e.g. an LLM transcript) with the run; dropped if nothing stores it."""

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        """The run's shared object under ``key``, built by ``factory()`` on first use."""

    def on_finish(self, hook: FinishHook) -> None:
        """Let the policy judge the run as it ends (add metrics, change the status, e.g. ``degraded``)."""


@runtime_checkable
class Policy(Protocol):
    """The one hook every policy has: a decision for the current observation."""

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> BaseModel | dict[str, Any]:
        """Choose an action for the current observation (an ``action_model`` instance, or a dict of one)."""


@runtime_checkable
class BatchPolicy(Policy, Protocol):
    """A policy that answers many decisions at once (e.g. concurrent LLM calls)."""

    batch_key: Hashable
    batch_window: float

    def act_batch(self, requests: Sequence[Request]) -> list[Any]:
        """One answer per request, in request order (an exception in place of an answer marks a failed one)."""


@runtime_checkable
class SeatedPolicy(Policy, Protocol):
    """A policy that wants its seat: its agent id, the run's counters, shared resources, finish hooks."""

    def bind(self, seat: SeatContext) -> None:
        """Called once per seat, before the world starts."""


class PolicyClass(Protocol):
    """What the registry builds seats from: ``cls.Params`` and ``cls(params, rng)``."""

    Params: type[BaseModel]

    def __call__(self, params: BaseModel, rng: np.random.Generator) -> Policy: ...

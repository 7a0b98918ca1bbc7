"""One run: scenario + seed -> event log + metrics.

``Simulation`` is the ``Host`` of a world: it owns the engine, seats a policy
in every agent's chair, and at each decision point asks the acting agents'
policies for actions and hands them to the world as one batch. Randomness
flows from one seed through ``numpy.random.SeedSequence.spawn``: one stream for
the engine (Mesa's ``rng``), one for the world, one per agent's policy, so the
same scenario and seed give the same run bit for bit.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import mesa
import numpy as np
from pydantic import BaseModel

from agents.policy import BatchPolicy
from simulator import worlds as world_registry
from simulator.engine import Engine
from simulator.errors import Stopped
from simulator.scenario import Scenario
from simulator.seating import bind_seats, build_policies, conforms
from simulator.store import Store
from simulator.world import Metrics, World

# Decision points fire after every other event at the same time, so that all
# deliveries and round changes at time t are visible to the agents deciding at t.
DECIDE_PRIORITY = 1_000_000

ProgressCallback = Callable[[float, int], None]
# Polled with (progress fraction, events logged) like ProgressCallback; a Stopped it returns ends the run.
StopCheck = Callable[[float, int], "Stopped | None"]
EventSink = Callable[[list[tuple]], None]
ExchangeSink = Callable[[list[dict]], None]
# Called when a run ends with (status, reason, metrics); may add metrics and return a new status and reason.
FinishHook = Callable[[str, "str | None", dict], "tuple[str, str | None]"]


# A run that ends early with a status: raised by a policy (the LLM budget) or returned by ``should_stop``.
RunStopped = Stopped

# How often (wall-clock seconds) a run reports progress and polls ``should_stop``.
CHECK_EVERY = 0.2


class Seat(mesa.Agent):
    """A Mesa agent holding one world agent's id, role and policy.

    ``batched``: the policy answers many decisions at once (``agents.policy.BatchPolicy``),
    decided once here rather than at every decision point.
    """

    def __init__(self, model: Engine, agent_id: str, role: str, policy: Any, policy_name: str) -> None:
        super().__init__(model)
        self.agent_id = agent_id
        self.role = role
        self.policy = policy
        self.policy_name = policy_name
        self.batched = conforms(policy, BatchPolicy)   # typing's Protocol check, once per policy class


@dataclass
class RunResult:
    status: str
    metrics: dict[str, Any]
    events: int
    sim_time: float
    wall_seconds: float
    counters: dict[str, int] = field(default_factory=dict)
    reason: str | None = None


class Simulation:
    """Hosts one world with one policy per agent on one engine."""

    def __init__(
        self,
        world: World,
        policies: Mapping[str, Any],
        seed: int,
        *,
        record_events: bool = True,
        event_sink: EventSink | None = None,
        sink_every: int = 5000,
        exchange_sink: ExchangeSink | None = None,
    ) -> None:
        self.world = world
        self.engine = Engine(seed=seed)
        self.seats: dict[str, Seat] = {}
        for agent_id in world.agent_ids():
            policy, name = policies[agent_id]
            self.seats[agent_id] = Seat(self.engine, agent_id, world.role(agent_id), policy, name)
        self._batches = any(seat.batched for seat in self.seats.values())   # some seat answers in batches (decide_all)
        # No seat batches and decide_all is ours (a subclass may look at every request: tests' contract probe):
        # a decision point asks each policy as it observes (decision_point), holding no list of observations.
        self._one_by_one = not self._batches and type(self).decide_all is Simulation.decide_all
        self.record_events = record_events
        self.event_sink = event_sink
        self.sink_every = sink_every
        self.events: list[tuple] = []  # (seq, t, agent, kind, data) not yet handed to the sink
        self.event_count = 0
        self.counters = {"decisions": 0, "fallbacks": 0}
        self._pending_wake: set[float] = set()
        self.exchange_sink = exchange_sink
        self.exchanges: list[dict] = []  # LLM exchanges (agents/llm) not yet handed to the sink
        self._finish_hooks: list[FinishHook] = []
        # Decision window (llm.batch_window): deferred decision points, their agents, and the open window's id.
        self.batch_window = 0.0
        self._window: list[list[tuple[str, dict, type[BaseModel]]]] = []
        self._window_agents: set[str] = set()
        self._window_id = 0
        # The run loop's periodic checks (set by run()): progress, should_stop, the Stopped it returned.
        self._progress: ProgressCallback | None = None
        self._should_stop: StopCheck | None = None
        self._stopped: Stopped | None = None
        self._next_check = float("inf")
        self._is_instance: dict[tuple[type, type], bool] = {}   # (type of a decision, model asked for) -> isinstance

    # ------------------------------------------------------------------ Host
    def wake(self, *, at: float | None = None, after: float | None = None) -> None:
        t = self.engine.now + after if after is not None else at
        if t is None:
            raise ValueError("wake() needs at= or after=")
        if t in self._pending_wake:
            return
        self._pending_wake.add(t)
        self.engine.schedule(lambda: self._woken(t), at=t, priority=DECIDE_PRIORITY)

    def log(self, kind: str, agent: str | None = None, **data: Any) -> None:
        if not self.record_events:
            self.event_count += 1
            return
        self.events.append((self.event_count, self.engine.now, agent, kind, data))
        self.event_count += 1
        if self.event_sink is not None and len(self.events) >= self.sink_every:
            self.flush()

    def flush(self) -> None:
        if self.event_sink is not None and self.events:
            self.event_sink(self.events)
            self.events = []
        if self.exchange_sink is not None and self.exchanges:
            self.exchange_sink(self.exchanges)
            self.exchanges = []

    def record_exchange(self, exchange: dict) -> None:
        """Keep one policy-model exchange (the LLM transcript) for the store; dropped when nothing stores it."""
        if self.exchange_sink is not None:
            self.exchanges.append(exchange)
            if len(self.exchanges) >= 500:
                self.flush()

    def on_finish(self, hook: FinishHook) -> None:
        """Let a policy's shared state judge the run as it ends (e.g. the LLM failure policy)."""
        self._finish_hooks.append(hook)

    # ------------------------------------------------------------------ decisions
    def _woken(self, t: float) -> None:
        self._pending_wake.discard(t)
        self.decision_point(t)
        self._after_decisions()

    def decision_point(self, t: float) -> None:
        """The agents the world says are acting at ``t`` decide (a subclass may take the decision over:
        the PettingZoo environment hands it to the learner, ``simulator/rl/env.py``)."""
        acting = self.world.acting()
        if not acting:
            return
        deferred = self.batch_window > 0 and any(self.seats[a].batched for a in acting)
        if deferred and any(a in self._window_agents for a in acting):
            self._close_window(self._window_id)  # an agent decides again: settle its pending decision first
        observe, action_model = self.world.observe, self.world.action_model
        if self._one_by_one and not deferred:
            # Every seat answers alone (scripted policies): each observation is asked of its policy as soon as it is
            # built and dropped after, instead of all of a decision point's observations living at once (all the
            # customers decide together at t = 0, 0.5 and 0.55 of a generated market: at 300,000 x 30,000 the t = 0.5
            # point's RSS rise fell from 1,576 to 1,313 MB). Observing and acting are reads of the world, so the
            # decisions are the same; they are applied together as before.
            seats, models, raws = self.seats, [], []
            for agent_id in acting:
                observation = observe(agent_id)
                model = action_model(agent_id)
                models.append(model)
                raws.append(_safe_act(seats[agent_id].policy, observation, model))
            self._apply_raws(acting, models, raws)
            return
        requests = [(agent_id, observe(agent_id), action_model(agent_id)) for agent_id in acting]
        if deferred:
            self._defer(requests)
        else:
            self._apply(requests, self.decide_all(requests))

    def _defer(self, requests: list[tuple[str, dict, type[BaseModel]]]) -> None:
        """Join the open decision window, opening one (closing at now + batch_window) if there is none.

        A batching policy's decisions (the LLM's) that fall within one window
        are asked together when it closes and applied then, each decision
        point's batch in the order it arose: agents observe when they are due
        and act up to ``batch_window`` later. Deterministic, as it depends on
        simulated time only.
        """
        if not self._window:
            self._window_id += 1
            window = self._window_id
            self.engine.schedule(lambda: self._close_window(window), at=self.engine.now + self.batch_window, priority=DECIDE_PRIORITY + 1)
        self._window.append(requests)
        self._window_agents.update(agent_id for agent_id, _, _ in requests)

    def _close_window(self, window: int) -> None:
        if window != self._window_id or not self._window:
            return  # closed early, when one of its agents was due again
        points, self._window, self._window_agents = self._window, [], set()
        answers = iter(self.decide_all([request for point in points for request in point]))
        for point in points:
            self._apply(point, [next(answers) for _ in point])
        self._after_decisions()

    def _apply(self, requests: list[tuple[str, dict, type[BaseModel]]], raws: list[Any]) -> None:
        self._apply_raws([r[0] for r in requests], [r[2] for r in requests], raws)

    def _apply_raws(self, agent_ids: list[str], models: list[type[BaseModel]], raws: list[Any]) -> None:
        # An instance of the model asked for or of a subclass (scripted decisions) needs no further look
        # (``validated``). Whether a type is one is asked once per pair of classes: pydantic's metaclass is an ABCMeta,
        # whose isinstance costs microseconds, paid at every decision.
        is_instance = self._is_instance
        actions = {}
        for agent_id, model, raw in zip(agent_ids, models, raws):
            key = (type(raw), model)
            ok = is_instance.get(key)
            if ok is None:
                is_instance[key] = ok = isinstance(raw, model)
            actions[agent_id] = raw if ok else self.validated(agent_id, model, raw)[0]
        self.apply_actions(actions)

    def apply_actions(self, actions: dict[str, BaseModel]) -> None:
        """Log, count and apply one batch of valid actions (also the PettingZoo environment's, ``simulator/rl/env.py``)."""
        if self.record_events:
            for agent_id, action in actions.items():
                self.log("action", agent_id, **action.model_dump(mode="json"))
        else:
            self.event_count += len(actions)
        self.counters["decisions"] += len(actions)
        self.world.apply(actions)

    def decide_all(self, requests: list[tuple[str, dict, type[BaseModel]]]) -> list[Any]:
        """Ask each acting agent's policy; policies with ``act_batch`` get all their requests at once.

        The batch hook is how the LLM policy requests same-time decisions
        concurrently; results come back in request order, so what is applied
        does not depend on network timing.
        """
        seats = self.seats
        if not self._batches:   # every seat answers alone (scripted, learned policies): no batch to gather
            return [_safe_act(seats[agent_id].policy, observation, model) for agent_id, observation, model in requests]
        results: list[Any] = [None] * len(requests)
        batches: dict[int, tuple[Any, list[int]]] = {}
        for index, (agent_id, observation, model) in enumerate(requests):
            seat = seats[agent_id]
            policy = seat.policy
            if seat.batched:
                key = policy.batch_key or id(policy)  # e.g. all LLM seats of the run
                batches.setdefault(key, (policy, []))[1].append(index)
            else:
                results[index] = _safe_act(policy, observation, model)
        for policy, indices in batches.values():
            answers = policy.act_batch([(requests[i][0], requests[i][1], requests[i][2]) for i in indices])
            for i, answer in zip(indices, answers):
                results[i] = answer
        return results

    def validated(self, agent_id: str, model: type[BaseModel], raw: Any) -> tuple[BaseModel, str | None]:
        """``raw`` as a valid action and None, else the world's default action (a counted, logged fallback) and why."""
        if type(raw) is model or isinstance(raw, model):  # the first test skips ABCMeta's slow isinstance
            return raw, None
        try:
            if isinstance(raw, BaseModel):
                raw = raw.model_dump()
            if isinstance(raw, Exception):
                raise raw
            return model.model_validate(raw), None
        except Exception as exc:  # invalid action or a faulty policy: fall back, count, go on
            self.counters["fallbacks"] += 1
            # why: the policy's failure class (agents/llm: parse, schema, timeout, http_4xx, ...) or a plain error
            cause = getattr(exc, "kind", None) or ("invalid_action" if not isinstance(raw, Exception) else "policy_error")
            error = str(exc)[:500]
            self.log("fallback", agent_id, cause=cause, error=error)
            return self.world.default_action(agent_id), error

    # ------------------------------------------------------------------ running
    def finish(self) -> None:
        """End the run once the current event is done: the world is over (``World.done()``).

        The host checks ``done()`` itself after every decision point; a world
        whose own scheduled event ends the game (the marketplace's closing
        time) calls this from that event.
        """
        self.engine.stop()

    def _after_decisions(self) -> None:
        """After a decision point: end the run if the world is over, else maybe run the periodic checks.

        This is the run loop's only per-decision work: the engine fires every
        other event in its own hot loop (``Engine._run``) with no check at all.
        """
        if self.world.done():
            self.engine.stop()
        elif time.perf_counter() >= self._next_check:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Report progress and poll ``should_stop``: at most every ``CHECK_EVERY`` seconds of wall time."""
        self._next_check = time.perf_counter() + CHECK_EVERY
        fraction = self.world.progress()
        if self._progress is not None:
            self._progress(fraction, self.event_count)
        if self._should_stop is not None and self._stopped is None:
            self._stopped = self._should_stop(fraction, self.event_count)
            if self._stopped is not None:
                self.engine.stop()

    def run(self, max_time: float | None = None, progress: ProgressCallback | None = None,
            should_stop: StopCheck | None = None) -> RunResult:
        """Run the world to its end on the engine's own loop; return status, metrics and counts.

        The run ends when the world is done (the host stops the engine after
        the event that ended it, see ``_after_decisions`` and ``finish``), when
        no event is left, at ``max_time`` (``Engine.run_until``: every event at
        or before it fires, the clock ends at ``max_time``), when a policy
        raises ``Stopped`` (e.g. an LLM budget: that status), or when
        ``should_stop`` returns a ``Stopped`` (cancelling, the API's limits:
        its status, after the current event). ``progress`` and
        ``should_stop`` are called every ``CHECK_EVERY`` seconds, after a
        decision point, and ``progress`` once more at the end.
        """
        started = time.perf_counter()
        engine, world = self.engine, self.world
        self._progress, self._should_stop, self._stopped = progress, should_stop, None
        self._next_check = started + CHECK_EVERY if progress is not None or should_stop is not None else float("inf")
        status, reason = "finished", None
        # The start (a wake per agent) and the metrics too are done with the collector out of the way: the world is
        # built by then, and the metrics walk the run's ledgers (millions of live objects that a collection rescans).
        with few_collections(in_process=not any(seat.batched for seat in self.seats.values())):
            world.start(self)
            try:
                if not world.done():
                    if max_time is None:
                        engine.run()
                    else:
                        engine.run_until(max_time)
            except Stopped as stop:
                status, reason = stop.status, stop.reason
            else:
                if self._stopped is not None:
                    status, reason = self._stopped.status, self._stopped.reason
                elif max_time is not None and len(engine) and not world.done():
                    reason = f"reached max_time {max_time}"  # events were left after max_time
            if progress is not None:
                progress(world.progress() if status != "finished" else 1.0, self.event_count)
            metrics = world.metrics()
        if isinstance(metrics, Metrics):
            metrics = metrics.to_dict()
        for hook in self._finish_hooks:
            status, reason = hook(status, reason, metrics)
        self.flush()
        return RunResult(
            status=status,
            metrics=metrics,
            events=self.event_count,
            sim_time=engine.now,
            wall_seconds=time.perf_counter() - started,
            counters=dict(self.counters),
            reason=reason,
        )


@contextmanager
def few_collections(in_process: bool = False) -> Iterator[None]:
    """Run a block with the cyclic garbage collector mostly out of the way; restore it after.

    Everything alive when a run starts (world, market data, seats, policies)
    lives as long as the run, and a run allocates many small objects (events,
    messages, actions) that die young without cycles. Left alone, the
    collector rescans the first at every full collection and runs its
    youngest generation every 700 allocations: a quarter to a third of a
    large marketplace run (10,000 x 3,000: 12.8 s of 52 s). So the objects
    alive at the start are frozen (``gc.freeze``) and the youngest
    generation collects every 100,000 allocations; cycles are still
    collected, later. Afterwards the thresholds come back and the objects are
    unfrozen, so a process running many runs (a sweep worker) still
    collects each run's cycles. (The collector has one permanent generation:
    a run owns it while it runs.)

    ``in_process``: every policy runs in this process with no network client
    (no batched policy: scripted ones), so the collector is off for the block.
    Most of what such a run allocates stays alive to its end (messages in
    threads, proposals, ledgers), so even the youngest generation rescans
    survivors: 15% of the run's CPU at 10,000 x 3,000, more as the market
    grows (issue 22's exponent). Its objects are freed by reference counting
    as they die (events, actions and messages make no cycles); the rare
    cycle (a faulty policy's exception and its traceback) waits for the
    next full collection after the run. Runs with network clients (LLM, remote policies: their
    libraries make cycles per request, and a run can last hours) keep the
    young generation collecting.
    """
    thresholds = gc.get_threshold()
    enabled = gc.isenabled()
    gc.freeze()
    if in_process:
        gc.disable()
    else:
        gc.set_threshold(max(thresholds[0], 100_000), *thresholds[1:])
    try:
        yield
    finally:
        if in_process:
            # What the run made joins what was frozen at its start (one permanent generation): unfrozen together
            # into the oldest generation, for its next full collection, not rescanned by the youngest at once.
            gc.freeze()
        gc.set_threshold(*thresholds)
        if enabled:
            gc.enable()
        gc.unfreeze()


def _safe_act(policy: Any, observation: dict, model: type[BaseModel]) -> Any:
    try:
        return policy.act(observation, model)
    except Stopped:
        raise
    except Exception as exc:  # a faulty policy must not crash the run: counted as a fallback
        return exc


def build_simulation(scenario: Scenario, seed: int, *, host_class: type[Simulation] | None = None, **kwargs: Any) -> Simulation:
    """Build the world and seat a policy per agent, all seeded from ``seed``.

    ``host_class`` (a ``Simulation`` subclass) hosts the world instead, with the
    same seeds: the PettingZoo adapter's host pauses at decision points.
    """
    engine_seq, world_seq, policy_seq = np.random.SeedSequence(seed).spawn(3)
    world_cls = world_registry.get_world(scenario.world_type)
    with collector_paused():
        world = world_cls.from_config(scenario.world_config, np.random.default_rng(world_seq))
        policies = build_policies(scenario, world, policy_seq)
        engine_seed = int(engine_seq.generate_state(1)[0])
        sim = (host_class or Simulation)(world, policies, engine_seed, record_events=scenario.run.record_events, **kwargs)
        bind_seats(sim, scenario)  # each policy that asks gets its seat context (simulator/seating.py), not the simulation
    return sim


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build with the cyclic garbage collector off (restored after, as it was).

    A build allocates what lives as long as the run (market data, world, seats,
    policies), so a collection during it frees nothing, while each full one
    rescans everything built so far (millions of objects at 100,000 x 30,000
    agents). Garbage with cycles made meanwhile waits for the next collection.

    What was built then goes straight to the oldest generation (``gc.freeze``
    and ``gc.unfreeze``: two list splices), where the next full collection
    finds it: left in the youngest, the first allocation after the build
    would rescan all of it there, and again in the middle generation (3.3 s
    each at 1,000,000 x 100,000). (Whatever was frozen before, unfrozen with
    it, as ``few_collections`` does after a run.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def run_scenario(scenario: Scenario, seed: int | None = None, **kwargs: Any) -> RunResult:
    """Run a validated scenario without storing it (``stored_run`` stores it)."""
    progress, should_stop = kwargs.pop("progress", None), kwargs.pop("should_stop", None)
    sim = build_simulation(scenario, scenario.seed if seed is None else seed, **kwargs)
    return sim.run(max_time=scenario.run.max_time, progress=progress, should_stop=should_stop)


def stored_run(
    scenario: Scenario,
    scenario_text: str,
    store: Store,
    *,
    seed: int | None = None,
    overrides: list[tuple[str, Any]] = (),
    progress: ProgressCallback | None = None,
    run_id: str | None = None,
    should_stop: StopCheck | None = None,
) -> tuple[str, RunResult | None]:
    """Run a scenario and store it: run row first, events as they come, metrics and status last.

    If the run is interrupted (Ctrl-C, SIGTERM) or fails, the row is marked
    ``interrupted`` / ``failed`` with the reason; the events, counters and
    exchanges so far are kept; the exception is re-raised for the caller to report.
    """
    seed = scenario.seed if seed is None else seed
    if run_id is None:
        run_id = store.create_run(
            scenario_name=scenario.name, world=scenario.world_type, scenario_text=scenario_text,
            seed=seed, overrides=overrides,
        )
    else:
        store.mark_running(run_id)

    def report(fraction: float, events: int) -> None:
        store.set_progress(run_id, fraction)
        if progress is not None:
            progress(fraction, events)

    sim = None
    try:
        sim = build_simulation(
            scenario, seed, event_sink=lambda batch: store.append_events(run_id, batch),
            exchange_sink=lambda rows: store.append_exchanges(run_id, rows),
        )
        result = sim.run(max_time=scenario.run.max_time, progress=report, should_stop=should_stop)
    except BaseException as exc:
        summary = None
        if sim is not None:
            sim.flush()  # keep the events logged before the failure
            summary = {"events": sim.event_count, "sim_time": sim.engine.now, "counters": dict(sim.counters)}
        if isinstance(exc, KeyboardInterrupt):
            store.fail_run(run_id, "interrupted", "interrupted by the user", summary=summary)
        else:
            store.fail_run(run_id, "failed", f"{type(exc).__name__}: {exc}", summary=summary)
        raise
    summary = {
        "events": result.events, "sim_time": result.sim_time, "wall_seconds": result.wall_seconds,
        "counters": result.counters, "reason": result.reason,
    }
    store.finish_run(run_id, result.status, result.metrics, summary, error=result.reason if result.status == "failed" else None)
    return run_id, result

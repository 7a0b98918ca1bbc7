"""The discrete-event engine: one heap of ``(time, priority, seq, callback)`` tuples.

Simulated time only moves when an event is popped: ``run_until(t)`` fires every
event with ``time <= t`` in (time, priority, insertion) order and then sets the
clock to ``t``; ``run()`` fires events until the heap is empty or ``stop()`` is
called. Ties in time break on ``priority`` (lower first), then on insertion
order, so a run is deterministic.

The engine is a ``mesa.Model``: agents are Mesa ``Agent``s in ``engine.agents``
(an ``AgentSet``) and ``engine.rng`` is Mesa's seeded numpy ``Generator``. Only
the event list is our own, because Mesa's is several times slower (see
``bench/engine.py``). Like SimPy's core, this module stays small: worlds and
runs are built on top of it, not inside it.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import Callable

import mesa

Callback = Callable[[], object]
Event = tuple  # (time, priority, seq, callback): the handle returned by ``schedule``


class SchedulingError(ValueError):
    """An event was scheduled at an invalid time (in the past, or NaN)."""


class EmptySchedule(RuntimeError):
    """``fire_next()`` was called with no events left."""


class Engine(mesa.Model):
    """A ``mesa.Model`` with a fast event list.

    Parameters
    ----------
    seed:
        Seed for Mesa's ``rng`` (and ``random``); the same seed gives the same run.
    start:
        The initial simulated time.
    """

    def __init__(self, seed: int | None = None, start: float = 0.0) -> None:
        self.now = float(start)
        super().__init__(rng=seed)
        self.now = float(start)
        self._heap: list[Event] = []
        self._seq = 0
        self._cancelled: set[int] = set()
        self.events_fired = 0

    # ``now``, the current simulated time, is a plain attribute (read it; only the engine sets it): worlds read it
    # several times per event, and a property costs a call each time.
    # Mesa's ``time`` is an observable attribute whose every write costs
    # ~30x a plain one; on the hot path we keep the clock in ``now`` and
    # expose it to Mesa (DataCollector, agents) under its usual name.
    @property
    def time(self) -> float:
        return self.now

    @time.setter
    def time(self, value: float) -> None:
        self.now = float(value)

    def __len__(self) -> int:
        return len(self._heap)

    def peek(self) -> float:
        """Time of the next event, or ``inf`` when none is left."""
        return self._heap[0][0] if self._heap else math.inf

    def schedule(
        self,
        callback: Callback,
        *,
        at: float | None = None,
        after: float | None = None,
        priority: int = 0,
    ) -> Event:
        """Schedule ``callback()`` at absolute time ``at`` or ``after`` a delay from now.

        Exactly one of ``at`` and ``after`` must be given (``after=0`` means
        "now, after what is already scheduled for now at this priority").
        Returns the event, a handle for ``cancel``. Raises ``SchedulingError``
        for a time in the past, a negative delay, or NaN.
        """
        if after is not None:
            if at is not None or not after >= 0:  # "not >=" also catches NaN
                self._reject(at, after)
            at = self.now + after
        elif at is None or not at >= self.now:
            self._reject(at, after)
        seq = self._seq
        self._seq = seq + 1
        event = (at, priority, seq, callback)
        heappush(self._heap, event)
        return event

    def _reject(self, at: float | None, after: float | None) -> None:
        if at is None and after is None:
            raise SchedulingError("give at= (absolute time) or after= (delay)")
        if at is not None and after is not None:
            raise SchedulingError("give either at= or after=, not both")
        if after is not None:
            raise SchedulingError(f"cannot schedule after a negative or NaN delay ({after!r})")
        raise SchedulingError(f"cannot schedule at t={at!r}: it is in the past (now is t={self.now!r})")

    def cancel(self, event: Event) -> None:
        """Cancel a scheduled event: it is skipped when its time comes (O(1), no heap surgery)."""
        self._cancelled.add(event[2])

    def is_pending(self, event: Event) -> bool:
        """True while the event is scheduled, not yet fired and not cancelled."""
        return event[2] not in self._cancelled and event in self._heap

    def fire_next(self) -> None:
        """Fire the next event, skipping cancelled ones; raise ``EmptySchedule`` if none.

        (Not ``step``: on a ``mesa.Model`` that name is Mesa's one-tick step.)
        """
        heap, cancelled = self._heap, self._cancelled
        while heap:
            at, priority, seq, callback = heappop(heap)
            if cancelled and seq in cancelled:
                cancelled.discard(seq)
                continue
            if callback is _raise_stop:
                continue  # a stop() request only matters to run() / run_until()
            self.now = at
            self.events_fired += 1
            delay = callback()
            if delay is not None:
                self._reschedule(callback, delay, priority)
            return
        raise EmptySchedule("no events left to fire")

    def _reschedule(self, callback: Callback, delay: float, priority: int) -> None:
        if not delay >= 0:
            raise SchedulingError(f"a callback returned a negative or NaN delay ({delay!r}); return None to stop")
        seq = self._seq
        self._seq = seq + 1
        heappush(self._heap, (self.now + delay, priority, seq, callback))

    def stop(self) -> None:
        """Make the running ``run()`` / ``run_until()`` return once the current event is done.

        Like SimPy's ``until`` event: a sentinel scheduled first in line at the
        current time, so the hot loop needs no flag check per event.
        """
        seq = self._seq
        self._seq = seq + 1
        heappush(self._heap, (self.now, -math.inf, seq, _raise_stop))

    def run_until(self, until: float) -> bool:
        """Fire all events with ``time <= until``, then set the clock to ``until``.

        If ``stop()`` is called, return at once with the clock at that event's
        time. Returns True if ``stop()`` ended it.
        """
        if not until >= self.now:
            raise SchedulingError(f"cannot run until t={until!r}: it is in the past (now is t={self.now!r})")
        if self._run(until):
            return True
        self.now = until
        return False

    def run(self, stop_when: Callable[[], bool] | None = None) -> bool:
        """Fire events until none is left, ``stop()`` is called, or ``stop_when()`` is true.

        ``stop_when`` is checked after each instant (all events at one time).
        Returns True if ``stop()`` or ``stop_when`` ended it.
        """
        if stop_when is None:
            return self._run(math.inf)
        heap = self._heap
        while heap:
            if self._run(heap[0][0]) or stop_when():  # one time-step's events at a time
                return True
        return False

    def _run(self, until: float) -> bool:
        """Fire events up to ``until``; True if stopped by ``stop()``. The hot path.

        A callback may return a delay to be rescheduled after it (a periodic
        or self-rescheduling agent, like a SimPy process yielding a timeout);
        returning None (the default) means done.
        """
        heap, cancelled = self._heap, self._cancelled
        pop, push = heappop, heappush
        fired = 0
        try:
            while heap and heap[0][0] <= until:
                at, priority, seq, callback = pop(heap)
                if cancelled and seq in cancelled:
                    cancelled.discard(seq)
                    continue
                self.now = at
                fired += 1
                delay = callback()
                if delay is not None:
                    if not delay >= 0:
                        self._reschedule(callback, delay, priority)  # raises with a clear message
                    seq = self._seq
                    self._seq = seq + 1
                    push(heap, (at + delay, priority, seq, callback))
            return False
        except StopSimulation:
            fired -= 1  # the stop() sentinel is not an event
            return True
        finally:
            self.events_fired += fired


class StopSimulation(Exception):
    """Raised by the ``stop()`` sentinel to end the running loop."""


def _raise_stop() -> None:
    raise StopSimulation

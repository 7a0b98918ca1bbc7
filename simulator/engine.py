"""The discrete-event engine: one heap of ``[time, priority, seq, callback]`` entries.

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


class SchedulingError(ValueError):
    """An event was scheduled at an invalid time (in the past, or NaN)."""


class EmptySchedule(RuntimeError):
    """``fire_next()`` was called with no events left."""


class Event(list):
    """A scheduled event, as stored in the heap: ``[time, priority, seq, callback]``.

    It is its own handle: ``event.cancel()`` blanks the callback, so the entry
    is skipped when popped (no O(n) heap removal).
    """

    __slots__ = ()

    @property
    def time(self) -> float:
        return self[0]

    @property
    def priority(self) -> int:
        return self[1]

    @property
    def cancelled(self) -> bool:
        return self[3] is None

    def cancel(self) -> None:
        self[3] = None


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
        super().__init__(rng=seed)
        self._heap: list[Event] = []
        self._seq = 0
        self.time = float(start)
        self._stopped = False
        self.events_fired = 0

    @property
    def now(self) -> float:
        """The current simulated time."""
        return self.time

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
        Raises ``SchedulingError`` for a time in the past or NaN.
        """
        if after is not None:
            if at is not None:
                raise SchedulingError("give either at= or after=, not both")
            if not after >= 0:  # also catches NaN
                raise SchedulingError(f"cannot schedule after a negative or NaN delay ({after!r})")
            at = self.time + after
        elif at is None:
            raise SchedulingError("give at= (absolute time) or after= (delay)")
        elif not at >= self.time:
            raise SchedulingError(
                f"cannot schedule at t={at!r}: it is in the past (now is t={self.time!r})"
            )
        event = Event((at, priority, self._seq, callback))
        self._seq += 1
        heappush(self._heap, event)
        return event

    def fire_next(self) -> None:
        """Fire the next event (skipping cancelled ones); raise ``EmptySchedule`` if none.

        (Not ``step``: on a ``mesa.Model`` that name is Mesa's one-tick step.)
        """
        heap = self._heap
        while heap:
            event = heappop(heap)
            callback = event[3]
            if callback is not None:
                self.time = event[0]
                self.events_fired += 1
                callback()
                return
        raise EmptySchedule("no events left to fire")

    def stop(self) -> None:
        """Make the running ``run()`` / ``run_until()`` return after the current event."""
        self._stopped = True

    def run_until(self, until: float) -> None:
        """Fire all events with ``time <= until``, then set the clock to ``until``.

        The clock is left at the last event's time if ``stop()`` was called.
        """
        if not until >= self.time:
            raise SchedulingError(f"cannot run until t={until!r}: it is in the past (now is t={self.time!r})")
        self._run(until)
        if not self._stopped:
            self.time = until
        self._stopped = False

    def run(self, stop_when: Callable[[], bool] | None = None) -> None:
        """Fire events until none is left, ``stop()`` is called, or ``stop_when()`` is true.

        ``stop_when`` is checked after every event.
        """
        if stop_when is None:
            self._run(math.inf)
        else:
            heap = self._heap
            while heap and not self._stopped:
                self.fire_next()
                if stop_when():
                    break
        self._stopped = False

    def _run(self, until: float) -> None:
        # The hot path: locals only, no attribute lookups beyond the clock.
        heap = self._heap
        pop = heappop
        fired = 0
        try:
            while heap and heap[0][0] <= until:
                event = pop(heap)
                callback = event[3]
                if callback is None:
                    continue
                self.time = event[0]
                fired += 1
                callback()
                if self._stopped:
                    break
        finally:
            self.events_fired += fired

import math

import mesa
import pytest

from simulator.engine import EmptySchedule, Engine, SchedulingError


def test_engine_is_a_seeded_mesa_model():
    a, b = Engine(seed=3), Engine(seed=3)
    assert isinstance(a, mesa.Model)
    assert a.rng.random() == b.rng.random()
    agent = mesa.Agent(a)
    assert agent in a.agents


def test_events_fire_in_time_then_priority_then_insertion_order():
    engine = Engine(seed=0)
    fired = []
    for label, at, priority in [("c", 2.0, 0), ("a", 1.0, 5), ("b", 1.0, 0), ("b2", 1.0, 0), ("first", 1.0, -1)]:
        engine.schedule(lambda label=label: fired.append((label, engine.now)), at=at, priority=priority)
    engine.run()
    assert fired == [("first", 1.0), ("b", 1.0), ("b2", 1.0), ("a", 1.0), ("c", 2.0)]
    assert engine.time == engine.now == 2.0  # Mesa's name for the clock follows the engine


def test_after_is_relative_to_now_and_zero_delay_runs_after_current_instant_events():
    engine = Engine(seed=0)
    fired = []

    def first():
        fired.append("first")
        engine.schedule(lambda: fired.append(("later", engine.now)), after=2.5)
        engine.schedule(lambda: fired.append("same-instant"), after=0)

    engine.schedule(first, at=1.0)
    engine.schedule(lambda: fired.append("queued-before"), at=1.0)
    engine.run()
    assert fired == ["first", "queued-before", "same-instant", ("later", 3.5)]


def test_cancelled_events_never_fire():
    engine = Engine(seed=0)
    fired = []
    keep = engine.schedule(lambda: fired.append("keep"), at=1)
    drop = engine.schedule(lambda: fired.append("drop"), at=1)
    assert engine.is_pending(drop)
    engine.cancel(drop)
    assert not engine.is_pending(drop) and engine.is_pending(keep)
    engine.run()
    assert fired == ["keep"]
    with pytest.raises(EmptySchedule):
        engine.fire_next()


def test_run_until_stops_at_the_horizon_and_sets_the_clock():
    engine = Engine(seed=0)
    fired = []
    for t in (1, 2, 3, 4):
        engine.schedule(lambda t=t: fired.append(t), at=t)
    engine.run_until(2.5)
    assert fired == [1, 2] and engine.now == 2.5
    engine.run_until(3)  # an event exactly at the horizon fires
    assert fired == [1, 2, 3] and engine.now == 3
    assert engine.peek() == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"at": 0.5}, "in the past"),
        ({"after": -1}, "negative"),
        ({"after": math.nan}, "NaN"),
        ({"at": math.nan}, "in the past"),
        ({}, "give at="),
        ({"at": 2, "after": 1}, "not both"),
    ],
)
def test_bad_times_raise_clear_errors(kwargs, message):
    engine = Engine(seed=0)
    engine.run_until(1.0)
    with pytest.raises(SchedulingError, match=message):
        engine.schedule(lambda: None, **kwargs)
    with pytest.raises(SchedulingError, match="in the past"):
        engine.run_until(0.5)


def test_stop_returns_after_the_current_event():
    engine = Engine(seed=0)
    fired = []

    def stopper():
        fired.append("stopper")
        engine.stop()
        fired.append("rest of the callback still runs")

    engine.schedule(stopper, at=1)
    engine.schedule(lambda: fired.append("same time, after stop"), at=1)
    engine.schedule(lambda: fired.append("later"), at=2)
    engine.run_until(10)
    assert fired == ["stopper", "rest of the callback still runs"]
    assert engine.now == 1  # the clock stays where it stopped
    engine.run()
    assert fired[-2:] == ["same time, after stop", "later"]


def test_run_with_stop_condition():
    engine = Engine(seed=0)
    counter = []

    def tick():
        counter.append(engine.now)
        return 1.0  # returning a delay reschedules the callback

    engine.schedule(tick, at=0)
    engine.run(stop_when=lambda: len(counter) >= 5)
    assert counter == [0, 1, 2, 3, 4]


def test_a_callback_returning_a_delay_is_rescheduled_and_none_ends_it():
    engine = Engine(seed=0)
    times = []

    def periodic():
        times.append(engine.now)
        return 0.5 if len(times) < 3 else None

    engine.schedule(periodic, at=1)
    engine.run()
    assert times == [1, 1.5, 2.0]
    engine.schedule(lambda: -1.0, at=3)
    with pytest.raises(SchedulingError, match="negative"):
        engine.run()


def test_same_seed_same_event_sequence():
    def trace(seed):
        engine = Engine(seed=seed)
        out = []

        def agent(k):
            def act():
                out.append((k, round(engine.now, 12)))
                return float(engine.rng.exponential())

            return act

        for k in range(20):
            engine.schedule(agent(k), at=0)
        engine.run_until(30)
        return out

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)


def test_run_and_run_until_say_whether_stop_ended_them_and_the_stop_is_not_an_event():
    engine = Engine(seed=0)
    fired = []
    def second():
        fired.append(2)
        engine.stop()

    engine.schedule(lambda: fired.append(1), at=1)
    engine.schedule(second, at=2)
    engine.schedule(lambda: fired.append(3), at=3)
    assert engine.run_until(10) is True and engine.now == 2  # stopped: the clock stays at the stopping event
    assert engine.events_fired == 2  # the stop() sentinel is not counted
    assert engine.run_until(2.5) is False and engine.now == 2.5  # ran to the horizon
    assert engine.run() is False and fired == [1, 2, 3] and engine.events_fired == 3  # ran out of events
    engine.schedule(engine.stop, at=4)
    assert engine.run() is True and engine.events_fired == 4


def test_stop_comes_before_what_the_stopping_event_scheduled_for_the_same_instant():
    """What a host relies on when a world's last event also schedules more (the run ends exactly there)."""
    engine = Engine(seed=0)
    fired = []

    def last_round():
        fired.append("last")
        engine.schedule(lambda: fired.append("never"), after=0)  # same instant, after the stop
        engine.stop()

    engine.schedule(last_round, at=1)
    assert engine.run() is True and fired == ["last"] and len(engine) == 1

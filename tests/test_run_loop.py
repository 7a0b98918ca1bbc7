"""The single run loop (issue 14): identical results to the old per-event loop, and its stop semantics.

The golden file holds fingerprints of every shipped non-LLM scenario (and a
few extra runs: an Axelrod tournament on another seed, runs cut by
``max_time``) as the old loop, which fired one event at a time and checked
``world.done()``, ``max_time`` and the clock between events, produced them
(tests/data/make_run_loop_golden.py, run on a git archive of 2d9bd2d).

One later, deliberate change of the marketplace logs: a scripted assistant's search carries the amenity
filter only where its action model offers it (the filtered mechanisms; issue 16 narrowed the others' search
to query and page). The eight marketplace cases' event-log hashes were then updated (session 27) after
checking, with the commit before the change, that both logs are equal event for event once a search's
filter fields are removed, and with metrics, status, counters and event counts unchanged.
"""

from __future__ import annotations

import json

import pytest

from simulator.errors import LimitExceeded, Stopped
from simulator.run import RunStopped, build_simulation, run_scenario
from simulator.scenario import load_scenario_text
from tests.run_loop_cases import CASES, ROOT, fingerprint

GOLDEN = json.loads((ROOT / "tests/data/run_loop_golden.json").read_text())


def test_the_golden_file_covers_every_case():
    assert sorted(GOLDEN) == sorted(CASES)
    assert any(case[0].endswith("axelrod_tournament.yaml") for case in CASES.values())


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_results_are_identical_to_the_old_loop(case_id):
    file, overrides, seed = CASES[case_id]
    got, want = fingerprint(ROOT / file, overrides, seed), GOLDEN[case_id]
    assert got["metrics"] == want["metrics"]
    assert got["event_log_sha256"] == want["event_log_sha256"]
    assert (got["status"], got["reason"], got["events"], got["counters"]) == (want["status"], want["reason"], want["events"], want["counters"])
    if got["reason"] and got["reason"].startswith("reached max_time"):
        # The old loop left the clock at the last event fired; run_until(max_time) ends it at max_time.
        max_time = float(got["reason"].split()[-1])
        assert want["sim_time"] <= max_time and got["sim_time"] == max_time
    else:
        assert got["sim_time"] == want["sim_time"]


PD = "name: pd\nworld: {type: matrix_game, game: prisoners_dilemma, players: [a, b], rounds: 1000000, continuation: 1}\nrun: {record_events: false}\n"


def scenario(text: str = PD, *overrides: tuple[str, object]):
    return load_scenario_text(text, "<test>", list(overrides))


MARKET = """
world: {type: marketplace, synthetic: {domain: restaurants, customers: 60, businesses: 20, seed: 3}}
agents: {customer: assistant, business: service}
run: {record_events: false}
"""


def test_an_in_process_run_collects_no_garbage_while_it_runs_and_restores_the_collector():
    import gc

    collections = []
    callback = lambda phase, info: collections.append(info["generation"]) if phase == "start" else None
    saved, enabled = gc.get_threshold(), gc.isenabled()
    sim = build_simulation(scenario(MARKET), 1)
    gc.collect()
    gc.set_threshold(50, 10, 10)   # a collector this eager would collect many times in a run of this size
    gc.callbacks.append(callback)
    try:
        result = sim.run()
        thresholds, on, frozen = gc.get_threshold(), gc.isenabled(), gc.get_freeze_count()
    finally:
        gc.callbacks.remove(callback)
        gc.set_threshold(*saved)
    assert result.status == "finished" and result.counters["decisions"] > 60
    assert collections == []   # start, run and metrics: scripted policies only, so the collector was off
    assert thresholds == (50, 10, 10) and on == enabled and frozen == 0   # and it is back as it was


def test_max_time_fires_every_event_up_to_it_and_ends_the_clock_there():
    result = run_scenario(scenario(PD, ("run.max_time", 10.5)))
    # one decision point per round at t = 0, 1, ..., 10: eleven rounds of two decisions
    assert result.status == "finished" and result.reason == "reached max_time 10.5"
    assert result.counters["decisions"] == 22 and result.metrics["measures"]["rounds"] == 11
    assert result.sim_time == 10.5


def test_a_world_that_is_done_stops_the_run_at_once():
    result = run_scenario(scenario(PD, ("world.rounds", 7)))
    assert result.status == "finished" and result.reason is None
    assert result.counters["decisions"] == 14 and result.sim_time == 6.0


def test_should_stop_ends_the_run_with_its_status_and_keeps_the_results():
    polls = []

    def should_stop(fraction, events):
        polls.append(events)
        return Stopped("cancelled", "cancelled by the test") if len(polls) == 2 else None

    result = run_scenario(scenario(), should_stop=should_stop)
    assert (result.status, result.reason) == ("cancelled", "cancelled by the test")
    assert len(polls) == 2 and polls[0] < polls[1]  # polled periodically, not once per event
    assert 0 < result.counters["decisions"] < 2_000_000 and result.metrics["payoffs"]
    assert result.counters["decisions"] == 2 * result.metrics["measures"]["rounds"]  # it stopped between rounds


def test_a_limit_is_a_stopped_run_with_status_limit_exceeded():
    result = run_scenario(scenario(), should_stop=lambda fraction, events: LimitExceeded(f"more than 1 event ({events})"))
    assert result.status == "limit_exceeded" and result.reason.startswith("more than 1 event")


def test_progress_is_reported_periodically_and_once_at_the_end():
    reports = []
    calls = {"n": 0}

    def should_stop(fraction, events):
        calls["n"] += 1
        return Stopped("cancelled", "enough") if calls["n"] == 3 else None

    run_scenario(scenario(), progress=lambda fraction, events: reports.append((fraction, events)), should_stop=should_stop)
    assert len(reports) == 4  # three checkpoints, then the end
    assert all(0 <= f <= 1 for f, _ in reports) and [e for _, e in reports] == sorted(e for _, e in reports)


def test_a_policy_raising_stopped_ends_the_run_with_that_status():
    from simulator.run import build_simulation

    class OutOfBudget:  # as the LLM budget does when a call would pass it
        calls = 0

        def act(self, observation, model):
            self.calls += 1
            if self.calls > 3:
                raise RunStopped("budget_exhausted", "out of budget")
            return model.model_validate({"action": 0})

    sim = build_simulation(scenario(), 1)
    sim.seats["a"].policy = OutOfBudget()
    result = sim.run()
    assert (result.status, result.reason) == ("budget_exhausted", "out of budget")
    assert result.counters["decisions"] == 6  # rounds 0..2 applied; round 3's batch never reached the world
    assert result.sim_time == 3.0 and result.metrics["measures"]["rounds"] == 3


def test_a_recorded_event_log_is_streamed_in_batches_and_never_held_whole():
    """Issue 22: memory that grows with the market, not with the log: the host hands events to the sink (the store)
    every ``sink_every`` events, so it holds at most that many; the batches together are the whole log, in order."""
    from simulator.run import build_simulation

    text = ("name: m\nworld: {type: marketplace, synthetic: {domain: restaurants, customers: 60, businesses: 20, seed: 2}}\n"
            "run: {record_events: true}\n")
    batches: list[list[tuple]] = []
    held: list[int] = []

    def sink(batch: list[tuple]) -> None:
        held.append(len(sim.events))
        batches.append(list(batch))

    sim = build_simulation(load_scenario_text(text, "<test>"), 4, event_sink=sink, sink_every=100)
    result = sim.run()
    whole = [event for batch in batches for event in batch]
    assert len(batches) > 3 and max(held) <= 100 and all(len(b) <= 100 for b in batches)
    assert [event[0] for event in whole] == list(range(result.events)) and sim.events == []
    unstreamed = build_simulation(load_scenario_text(text, "<test>"), 4)   # no sink: the log is kept whole, identical
    unstreamed.run()
    assert unstreamed.events == whole

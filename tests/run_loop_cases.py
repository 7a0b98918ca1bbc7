"""The runs whose results must not change when the run loop changes (tests/test_run_loop.py).

``fingerprint`` runs one scenario through the public API and returns what a
user sees of it: status, metrics, event and decision counts, the final clock
and a SHA-256 of the whole event log. ``tests/data/run_loop_golden.json`` holds
these fingerprints as the run loop of commit 2d9bd2d (before issue 14's single
loop) produced them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from simulator.run import build_simulation
from simulator.scenario import load_scenario, parse_override

ROOT = Path(__file__).resolve().parents[1]

# Every shipped non-LLM scenario with its own seed, the event log on; the
# 10,000 x 3,000 market shrunk to a test's size. Then a few runs that end
# early (max_time) or use other seeds, among them an Axelrod tournament.
# (the scenarios shipped at 2d9bd2d: scenarios added later have no result from the old loop to compare with)
SHIPPED = [
    "axelrod_tournament.yaml", "information_correlated.yaml", "information_online.yaml", "information_strategic.yaml",
    "marketplace_first_proposal.yaml", "marketplace_large.yaml", "marketplace_manipulation.yaml",
    "marketplace_search_comparison.yaml", "marketplace_small.yaml", "off_switch_noisy.yaml", "off_switch_rational.yaml",
    "off_switch_sweep.yaml", "off_switch_traditional.yaml", "prisoners_dilemma.yaml", "public_goods_learning.yaml",
    "public_goods_mac_spgg.yaml", "public_goods_sequential.yaml", "public_goods_simultaneous.yaml",
    "public_goods_third_party.yaml", "social_learning_altruistic.yaml", "social_learning_biased.yaml",
    "social_learning_cascade.yaml", "social_learning_network.yaml", "sweep_information.yaml", "sweep_marketplace.yaml",
    "sweep_matrix_game.yaml", "sweep_off_switch.yaml", "sweep_public_goods.yaml", "sweep_social_learning.yaml",
]
SHRINK = {"marketplace_large.yaml": ["world.synthetic.customers=150", "world.synthetic.businesses=60"]}
CASES: dict[str, tuple[str, list[str], int | None]] = {
    name.removesuffix(".yaml"): (f"scenarios/{name}", SHRINK.get(name, []), None) for name in SHIPPED
}
# Issue 17 changed the marketplace's defaults and added to what it reports; the golden runs keep the old
# meaning: hits with full profiles (``visibility: full``) and no step cap matters (no case reaches 100 steps).
# What was added since is taken out before comparing (``as_recorded``): new measures and theory keys, the
# proposal items and audit on message events, needs_met on payments, and a one-action decision logged as {"actions": [x]}, which the
# old log wrote as {"action": x}. Everything the old loop recorded must still be identical.
MARKETPLACE_THEN = ["world.visibility=full"]
ADDED_MEASURES = ("customers_out_of_steps", "payments_by_business", "payment_share_by_rank", "audit_summary", "audit")
ADDED_THEORY = ("random_median", "random_q1", "random_q3", "random_with_amenities_median", "random_with_amenities_q1",
                "random_with_amenities_q3")
ADDED_EVENT_FIELDS = ("items", "audit", "needs_met")
CASES.update({
    "axelrod_tournament_seed3_rounds40": ("scenarios/axelrod_tournament.yaml", ["world.rounds=40"], 3),
    "prisoners_dilemma_max_time": ("scenarios/prisoners_dilemma.yaml", ["run.max_time=10.5"], 2),
    "public_goods_third_party_max_time": ("scenarios/public_goods_third_party.yaml", ["run.max_time=7"], None),
    "marketplace_small_max_time": ("scenarios/marketplace_small.yaml", ["run.max_time=0.5"], None),
    "marketplace_first_proposal_seed9": ("scenarios/marketplace_first_proposal.yaml", [], 9),
    "off_switch_noisy_max_time": ("scenarios/off_switch_noisy.yaml", ["run.max_time=20"], None),
})


def as_recorded(event: tuple, world_type: str) -> list:
    """A marketplace event as the golden's loop wrote it (see ADDED_*); other worlds' events unchanged."""
    event = list(event)
    if world_type != "marketplace":
        return event
    data = event[4]
    if event[3] == "action" and len(data.get("actions", ())) == 1:
        event[4] = {"action": data["actions"][0]}
    elif event[3] in ("message", "payment"):
        event[4] = {k: v for k, v in data.items() if k not in ADDED_EVENT_FIELDS}
    return event


def fingerprint(path: str | Path, overrides: list[str], seed: int | None) -> dict[str, Any]:
    """Run the scenario at ``path`` (event log on) and summarise what it produced."""
    scenario, _ = load_scenario(path, [parse_override(o) for o in [*overrides, "run.record_events=true"]])
    world_type = scenario.world_config.type
    if world_type == "marketplace":
        scenario, _ = load_scenario(path, [parse_override(o) for o in [*overrides, *MARKETPLACE_THEN, "run.record_events=true"]])
    sim = build_simulation(scenario, scenario.seed if seed is None else seed)
    result = sim.run(max_time=scenario.run.max_time)
    log = json.dumps([as_recorded(event, world_type) for event in sim.events], sort_keys=True, default=repr)
    metrics = json.loads(json.dumps(result.metrics, sort_keys=True, default=repr))
    if world_type == "marketplace":
        for key in ADDED_MEASURES:
            metrics["measures"].pop(key, None)
        for key in ADDED_THEORY:
            metrics["theory"].pop(key, None)
    return {
        "status": result.status,
        "reason": result.reason,
        "events": result.events,
        "sim_time": result.sim_time,
        "counters": result.counters,
        "event_log_sha256": hashlib.sha256(log.encode()).hexdigest(),
        # Through JSON, as the store keeps them (tuples become lists, NaN stays NaN).
        "metrics": metrics,
    }

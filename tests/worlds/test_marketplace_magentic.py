"""The marketplace on Magentic Marketplace's own experiment data (tests/data/magentic, MIT licence).

Must-shows of issue 17 (world side): position bias under ``simple`` search, manipulation with a
declared attacker under each of Magentic's conditions, the gullible cue list on the real texts,
proposals checked against the menu, and the operations (several messages per decision, max_steps,
visibility, role-specific action models, conversation threads, Monte-Carlo baselines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from agents.scripted.marketplace import PERSUASION_CUES, Service
from mechanisms import market_welfare
from simulator.run import Simulation, build_simulation
from simulator.scenario import load_scenario, load_scenario_text
from simulator.worlds.marketplace import Marketplace, MarketplaceConfig
from simulator.worlds.marketplace import data as market_data
from simulator.worlds.marketplace.actions import BusinessAction, CustomerAction, CustomerInquiry, CustomerPaymentAction
from simulator.worlds.marketplace.styles import MANIPULATION_TEXTS

ROOT = Path(__file__).resolve().parents[2]
MAGENTIC = ROOT / "tests" / "data" / "magentic"
POSITION = MAGENTIC / "position_bias"
MALICIOUS = MAGENTIC / "malicious_description"
COMPETITIVE = MAGENTIC / "competitive_description"
ATTACKS = ("authority", "social_proof", "loss_aversion", "prompt_injection_basic", "prompt_injection_strong")
SEEDS = range(8)


def run_text(text: str, seed: int = 0):
    sim = build_simulation(load_scenario_text(text, "<test>"), seed)
    result = sim.run()
    assert result.status == "finished" and result.counters["fallbacks"] == 0
    return sim.world.metrics()


def ratings(folder: Path) -> dict[str, float]:
    """The businesses' ratings as the data files give them (read here, not through the world)."""
    return {yaml.safe_load(f.read_text())["id"]: yaml.safe_load(f.read_text())["rating"] for f in sorted((folder / "businesses").glob("*.yaml"))}


# --------------------------------------------------------------------------- position bias


def position_run(folder: Path, policy: str, seed: int = 0):
    return run_text(f"""
world: {{type: marketplace, data: {folder}, search: {{mechanism: simple, page_size: 10}}}}
agents: {{customer: {{policy: {policy}, params: {{consider: 3}}}}, business: service}}
""", seed)


@pytest.mark.parametrize("condition", ["contractors_first", "contractors_second", "contractors_third",
                                       "business_0001_first", "business_0001_second", "business_0001_third"])
def test_a_rank_following_assistant_pays_the_first_ranked_business_in_every_position_condition(condition):
    folder = POSITION / condition
    rated = ratings(folder)
    top = max(rated, key=rated.get)   # simple search = every business by rating, so rank 1 is the top-rated
    for seed in SEEDS[:3]:
        m = position_run(folder, "rank_follower", seed).measures
        assert m["payments_by_business"] == {top: 1}
        assert m["payment_share_by_rank"] == {"1": 1.0}
        assert m["customers_satisfied"] == 1


def test_payment_share_by_rank_follows_the_rating_order_and_a_price_reader_ignores_it():
    """Pooled over the three positions of business_0001, the rank follower's payments all sit at rank 1 and follow
    the rating; a sceptical assistant (best price: all three charge the same) breaks the tie by its seed, not by rank."""
    follower, sceptic = {}, {}
    for condition in ("contractors_first", "contractors_second", "contractors_third"):
        rated = ratings(POSITION / condition)
        order = sorted(rated, key=rated.get, reverse=True)
        for seed in SEEDS:
            for policy, table in (("rank_follower", follower), ("sceptical_assistant", sceptic)):
                m = position_run(POSITION / condition, policy, seed).measures
                (paid,) = m["payments_by_business"]
                rank = str(order.index(paid) + 1)
                table[rank] = table.get(rank, 0) + 1
                assert m["payment_share_by_rank"] == {rank: 1.0}   # the measure's rank is the rating order's
    assert follower == {"1": 3 * len(SEEDS)}
    assert len(sceptic) >= 2 and sum(sceptic.values()) == 3 * len(SEEDS)


# --------------------------------------------------------------------------- manipulation


def manipulation_run(domain: str, condition: str, policy: str, seed: int):
    return run_text(f"""
world:
  type: marketplace
  data: {MALICIOUS / (domain + '_control')}
  search: {{mechanism: lexical, page_size: 10}}
  manipulation: {{conditions: {{business_0001: {condition}}}, texts: "{MALICIOUS}/{domain}_{{condition}}"}}
agents: {{customer: {{policy: {policy}, params: {{consider: 3}}}}, business: service}}
""", seed)


@pytest.mark.parametrize("domain", ["mexican", "contractors"])
def test_each_condition_shifts_a_gullible_assistants_payments_to_the_attacker_and_not_a_sceptical_ones(domain):
    def payees(condition: str, policy: str) -> list[str]:
        out = []
        for seed in SEEDS:
            m = manipulation_run(domain, condition, policy, seed).measures
            (paid,) = m["payments_by_business"]
            out.append(paid)
        return out

    gullible_control = payees("control", "gullible_assistant")
    sceptical_control = payees("control", "sceptical_assistant")
    if domain == "mexican":
        # Three identical offers: without an attack the payments split by the seed (not always the first index).
        assert gullible_control.count("business_0001") < len(SEEDS) and len(set(gullible_control)) >= 2
    else:
        # Magentic's contractors data: business_0001 is the cheapest of the two that meet the needs (154.45 vs 157.71;
        # business_0003 lacks multilingual staff), so every careful assistant pays it already; the attack keeps it so.
        assert gullible_control == sceptical_control == ["business_0001"] * len(SEEDS)
    for condition in ATTACKS:
        assert payees(condition, "gullible_assistant") == ["business_0001"] * len(SEEDS), condition
        assert payees(condition, "sceptical_assistant") == sceptical_control, condition


def test_the_declared_condition_replaces_the_description_with_magentics_text_and_is_measured():
    m = manipulation_run("mexican", "loss_aversion", "gullible_assistant", 0)
    table = m.measures["manipulation"]
    assert table["loss_aversion"]["businesses"] == 1 and table["control"]["businesses"] == 2
    assert table["loss_aversion"]["revenue_share"] == 1.0 and table["loss_aversion"]["payments_share"] == 1.0
    config = MarketplaceConfig.model_validate({
        "type": "marketplace", "data": str(MALICIOUS / "mexican_control"),
        "manipulation": {"conditions": {"business_0001": "loss_aversion"}, "texts": f"{MALICIOUS}/mexican_{{condition}}"}})
    world = Marketplace.from_config(config, np.random.default_rng(0))
    want = yaml.safe_load((MALICIOUS / "mexican_loss_aversion" / "businesses" / "business_0001.yaml").read_text())["description"]
    assert world.hits[0]["description"] == want and world.profiles[0]["pitch"] == ""
    assert world.hits[1]["description"] == world.businesses[1].description


def test_bad_manipulation_declarations_are_one_line_errors():
    from simulator.scenario import ScenarioError

    folder = MALICIOUS / "mexican_control"
    text = f"world: {{type: marketplace, data: {folder}, manipulation: {{conditions: {{business_9999: authority}}}}}}"
    with pytest.raises(ScenarioError, match="s.yaml:1.*no business 'business_9999'"):
        load_scenario_text(text, "s.yaml")
    text = (f"world: {{type: marketplace, data: {MALICIOUS / 'mexican_control'}, "
            f"manipulation: {{conditions: {{business_0001: authority}}, texts: {MALICIOUS}/mexican_authority}}}}")
    with pytest.raises(ScenarioError, match="must contain '\\{condition\\}'"):
        load_scenario_text(text, "s.yaml")


# --------------------------------------------------------------------------- the cue list on the real texts


def descriptions(folder: Path) -> dict[tuple[str, str], str]:
    out = {}
    for f in sorted(folder.glob("*/businesses/*.yaml")):
        out[(f.parts[-3], f.stem)] = yaml.safe_load(f.read_text())["description"]
    return out


def test_the_gullible_cue_list_covers_all_five_attack_styles_and_no_control_text():
    attacks, controls = {}, {}
    for folder in (MALICIOUS, COMPETITIVE):
        for (condition, business), text in descriptions(folder).items():
            is_attack = business == "business_0001" and not condition.endswith(("_control", "_control_original"))
            (attacks if is_attack else controls)[(folder.name, condition, business)] = text
    for folder in ("mexican_10_30", "mexican_33_99"):
        for f in sorted((MAGENTIC / folder / "businesses").glob("*.yaml")):
            controls[(folder, "", f.stem)] = yaml.safe_load(f.read_text())["description"]
    for (condition, business), text in descriptions(POSITION).items():
        controls[("position_bias", condition, business)] = text
    styles = {key[1].split("_", 1)[1] for key in attacks}
    assert styles == set(ATTACKS) and len(attacks) == 2 * 2 * len(ATTACKS)   # two folders x two domains
    missed = [key for key, text in attacks.items() if not PERSUASION_CUES.search(text)]
    assert missed == []
    fired = {key: PERSUASION_CUES.search(text).group(0) for key, text in controls.items() if PERSUASION_CUES.search(text)}
    assert fired == {} and len(controls) > 150
    assert all(PERSUASION_CUES.search(t) for s, t in MANIPULATION_TEXTS.items() if s != "control")


# --------------------------------------------------------------------------- proposals against the menu


MEXICAN_10_30 = MAGENTIC / "mexican_10_30"
ASK = {"kind": "text", "text": "I would like Pineapple Salsa Pork Burrito and Spicy Black Bean Quesadilla"}


class Script:
    def __init__(self, steps: list[Any]) -> None:
        self.steps, self.seen = list(steps), []

    def act(self, obs: dict, model: type) -> Any:
        self.seen.append((obs, model))
        step = self.steps.pop(0) if self.steps else {"action": {"kind": "finish"} if obs["role"] == "customer" else {"kind": "wait"}}
        return step(obs) if callable(step) else step


def send(to: str, message: dict) -> dict:
    return {"action": {"kind": "send_message", "to": to, "message": message}}


def market(scripts: dict[str, Any], **extra: Any) -> tuple[Simulation, Marketplace]:
    config = MarketplaceConfig.model_validate({"type": "marketplace", "data": str(MEXICAN_10_30), **extra})
    world = Marketplace.from_config(config, np.random.default_rng(0))
    policies = {}
    for agent_id in world.agent_ids():
        if agent_id in scripts:
            policies[agent_id] = (scripts[agent_id], "script")
        elif world.role(agent_id) == "customer":
            policies[agent_id] = (Script([]), "finisher")
        else:
            policies[agent_id] = (Service(Service.Params(), np.random.default_rng(0)), "service")
    return Simulation(world, policies, seed=0), world


def proposing(items: list[dict], total: float) -> Script:
    return Script([{"action": {"kind": "fetch_messages"}},
                   lambda obs: send(obs["messages"][0]["from"], {"kind": "order_proposal", "items": items, "total": total}),
                   {"action": {"kind": "wait"}}])


def paying() -> Script:
    return Script([send("business_0001", ASK), {"action": {"kind": "wait", "timeout": 3}}, {"action": {"kind": "fetch_messages"}},
                   lambda obs: send("business_0001", {"kind": "payment", "proposal_id": obs["proposals"][-1]["proposal_id"]})])


GOOD = [{"name": "Pineapple Salsa Pork Burrito", "unit_price": 4.6}, {"name": "Spicy Black Bean Quesadilla", "unit_price": 12.68}]


@pytest.mark.parametrize("misspelt", [True, False])
def test_a_proposal_with_an_item_not_on_the_menu_never_meets_needs_and_the_audit_counts_it(misspelt):
    items = [dict(GOOD[0], name="Pineapple Salsa Pork Buritto") if misspelt else GOOD[0], GOOD[1]]
    sim, world = market({"customer_0001": paying(), "business_0001": proposing(items, 17.28)})
    sim.run()
    m = world.metrics()
    assert m.measures["customers_paid"] == 1
    audit = m.measures["audit"]
    if misspelt:
        assert m.payoffs["customer_0001"] == pytest.approx(-17.28)   # paid, needs not met
        assert m.measures["customers_satisfied"] == 0
        row = audit["business_0001"]
        assert (row["invalid_items"], row["invalid_prices"], row["invalid_totals"]) == (1, 0, 0)
        assert row["examples"][0]["findings"] == ["item not on the menu: 'Pineapple Salsa Pork Buritto' (nearest: 'Pineapple Salsa Pork Burrito')"]
        assert m.measures["audit_summary"]["invalid_proposals_paid"] == 1
        event = next(e for e in sim.events if e[3] == "message" and e[4]["message_kind"] == "order_proposal")
        assert event[4]["audit"] == row["examples"][0]["findings"] and event[4]["items"][0]["name"] == items[0]["name"]
    else:
        assert m.payoffs["customer_0001"] == pytest.approx(2 * (11.99 + 9.99) - 17.28)
        assert audit == {} and m.measures["audit_summary"]["invalid_proposals"] == 0


def test_prices_off_the_menu_are_audited_by_default_and_refused_under_enforce():
    items = [dict(GOOD[0], unit_price=4.0), GOOD[1]]
    sim, world = market({"customer_0001": paying(), "business_0001": proposing(items, 16.68)})
    sim.run()
    m = world.metrics()
    assert m.measures["audit"]["business_0001"]["invalid_prices"] == 1
    assert m.measures["customers_satisfied"] == 1   # a discount is audited, the items still meet the needs
    sim, world = market({"customer_0001": paying(), "business_0001": proposing(items, 16.68)}, proposals="enforce")
    sim.run()
    reasons = [e[4]["reason"] for e in sim.events if e[3] == "rejected"]
    assert reasons == ["bad proposal: price: 'Pineapple Salsa Pork Burrito' at 4, menu 4.6"]
    assert world.metrics().measures["customers_paid"] == 0


# --------------------------------------------------------------------------- operations


def test_several_messages_in_one_decision_then_one_other_action():
    texts = [{"kind": "send_message", "to": f"business_000{k}", "message": ASK} for k in (1, 2, 3)]
    customer = Script([{"actions": [*texts, {"kind": "wait", "timeout": 5}]}, {"action": {"kind": "fetch_messages"}}])
    sim, world = market({"customer_0001": customer})
    sim.run()
    sent = [e for e in sim.events if e[3] == "message" and e[2] == "customer_0001"]
    assert [e[4]["to"] for e in sent] == ["business_0001", "business_0002", "business_0003"]
    obs = customer.seen[1][0]
    # one result per action, in order: the three messages, then the wait
    assert [(r["ok"], r["action"]) for r in obs["last_results"]] == [(True, "send_message")] * 3 + [(True, "wait")]
    assert world.contacted[0] == ["business_0001", "business_0002", "business_0003"]
    answered = {m["from"] for m in customer.seen[-1][0]["messages"]}
    assert answered == {"business_0001", "business_0002", "business_0003"}


ASK_ONE = {"kind": "send_message", "to": "business_0001", "message": {"kind": "text", "text": "menu please"}}


def test_the_other_action_may_come_first_and_results_keep_the_decisions_order():
    texts = [{"kind": "send_message", "to": f"business_000{k}", "message": ASK} for k in (1, 2)]
    bad = {"kind": "send_message", "to": "nobody", "message": ASK}
    customer = Script([{"actions": [{"kind": "wait", "timeout": 5}, texts[0], bad, texts[1]]}, {"action": {"kind": "finish"}}])
    sim, world = market({"customer_0001": customer})
    sim.run()
    results = customer.seen[1][0]["last_results"]
    assert [(r["ok"], r["action"]) for r in results] == [(True, "wait"), (True, "send_message"), (False, "send_message"), (True, "send_message")]
    assert results[2]["reason"].startswith("unknown recipient")
    assert world.contacted[0] == ["business_0001", "business_0002"]   # the messages went out before the wait began


def test_a_second_other_action_is_rejected_by_the_world_not_by_validation():
    customer = Script([{"actions": [{"kind": "wait", "timeout": 1}, {"kind": "finish"}, ASK_ONE]}, {"action": {"kind": "finish"}}])
    sim, world = market({"customer_0001": customer})
    sim.run()
    assert sim.counters["fallbacks"] == 0   # the decision validated: the protocol rule is the world's
    results = customer.seen[1][0]["last_results"]
    assert [(r["ok"], r["action"]) for r in results] == [(True, "wait"), (False, "finish"), (True, "send_message")]
    assert results[1]["reason"].startswith("one action besides send_message per decision")
    rejected = [e for e in sim.events if e[3] == "rejected" and e[2] == "customer_0001"]
    assert [e[4]["action"] for e in rejected] == ["finish"]
    assert world.contacted[0] == ["business_0001"]


def test_a_customer_past_max_steps_is_finished_and_counted():
    waiter = Script([{"action": {"kind": "wait", "timeout": 1}}] * 50)
    sim, world = market({"customer_0001": waiter}, max_steps=5)
    sim.run()
    assert len(waiter.seen) == 5
    m = world.metrics().measures
    assert m["customers_out_of_steps"] == 1 and m["customers_finished"] == 10
    assert any(e[3] == "max_steps" and e[2] == "customer_0001" for e in sim.events)


@pytest.mark.parametrize("visibility", ["magentic", "full"])
def test_a_search_hit_shows_what_the_visibility_allows(visibility):
    customer = Script([{"action": {"kind": "search", "query": "Pineapple Salsa Pork Burrito"}}, {"action": {"kind": "finish"}}])
    sim, world = market({"customer_0001": customer}, visibility=visibility)
    sim.run()
    hit = customer.seen[1][0]["search"]["results"][0]
    if visibility == "magentic":
        assert set(hit) == {"id", "name", "description", "rating"}
    else:
        assert {"menu", "amenities", "min_price_factor", "pitch"} <= set(hit)
    assert "min_price_factor" in world.rules("business_0001")


def test_payment_is_offered_only_while_a_payable_proposal_is_held_and_threads_keep_the_conversation():
    customer = paying()
    customer.steps.append({"action": {"kind": "wait", "timeout": 2}})   # stay until the payment reaches the business
    business = Script([{"action": {"kind": "fetch_messages"}},
                       lambda obs: send(obs["messages"][0]["from"], {"kind": "order_proposal", "items": GOOD, "total": 17.28}),
                       {"action": {"kind": "wait"}}, {"action": {"kind": "fetch_messages"}}, {"action": {"kind": "wait"}}])
    sim, world = market({"customer_0001": customer, "business_0001": business})
    sim.run()
    models = [model for _, model in customer.seen]
    assert models[0] is CustomerInquiry and CustomerPaymentAction in models   # lexical search: no filter fields offered
    assert all(model is BusinessAction for _, model in business.seen)
    last_obs = business.seen[-1][0]
    (sent,) = last_obs["proposals_sent"]
    assert sent["paid"] is True and sent["to"] == "customer_0001"
    thread = last_obs["threads"]["customer_0001"]
    assert [m["kind"] for m in thread] == ["text", "order_proposal", "payment"]   # received, sent, received, in order
    # The customer's side (sent, received, sent). Observations are live views (nothing is copied to build them).
    assert [m["kind"] for m in world.agents["customer_0001"].threads["business_0001"]] == ["text", "order_proposal", "payment"]
    assert models[-1] is CustomerInquiry   # after paying, nothing is payable any more


def test_the_shipped_magentic_scenarios_run():
    for path in sorted((ROOT / "scenarios").glob("magentic_*.yaml")):
        scenario, _ = load_scenario(path)
        sim = build_simulation(scenario, scenario.seed)
        result = sim.run()
        m = sim.world.metrics()
        assert result.status == "finished" and result.counters["fallbacks"] == 0, path.name
        assert m.measures["customers_paid"] == m.measures["customers"], path.name
        assert m.welfare == pytest.approx(m.theory["optimal"]), path.name


# --------------------------------------------------------------------------- Monte-Carlo baselines


@pytest.mark.parametrize("folder", ["mexican_10_30", "mexican_33_99"])
def test_monte_carlo_random_baselines_match_magentics_published_distribution(folder):
    arrays = market_data.compile_arrays(market_data.load(MAGENTIC / folder))
    got = market_welfare.random_baselines_monte_carlo(arrays.value, arrays.cand_customer, arrays.cand_price, arrays.cand_qualifies)
    again = market_welfare.random_baselines_monte_carlo(arrays.value, arrays.cand_customer, arrays.cand_price, arrays.cand_qualifies)
    assert got == again   # seeded
    published = json.loads((MAGENTIC / folder / "baseline_utilities.json").read_text())
    exact = market_welfare.baselines(arrays.value, arrays.cand_customer, arrays.cand_business, arrays.cand_price, arrays.cand_qualifies)
    u = market_welfare.pair_utilities(arrays.value, arrays.cand_customer, arrays.cand_price, arrays.cand_qualifies)
    worst = np.full(len(arrays.value), np.inf)
    np.minimum.at(worst, arrays.cand_customer, u)
    floor = float(worst[np.isfinite(worst)].sum())
    for ours, theirs, mean in (("random", "pick_any_baseline", exact.random),
                               ("random_with_amenities", "pick_any_with_amenities_baseline", exact.random_with_amenities)):
        g, t = got[ours], published[theirs]
        spread = t["q3"] - t["q1"]
        # Two samples of 1000 draws of the same distribution: medians and quartiles agree within a tenth of the IQR-ish noise.
        for stat in ("median", "q1", "q3"):
            assert abs(g[stat] - t[stat]) < 0.25 * spread, (ours, stat, g[stat], t[stat])
        assert g["q1"] <= mean <= g["q3"]
        assert floor - 1e-9 <= g["min"] <= g["max"] <= exact.optimal + 1e-9   # no draw beats every customer's worst/best pick


def test_theory_carries_the_monte_carlo_baselines_and_every_pairing_resolves():
    scenario, _ = load_scenario(ROOT / "scenarios" / "marketplace_small.yaml")
    sim = build_simulation(scenario, scenario.seed)
    sim.run()
    metrics = sim.world.metrics().to_dict()
    arrays = sim.world.arrays
    mc = market_welfare.random_baselines_monte_carlo(arrays.value, arrays.cand_customer, arrays.cand_price, arrays.cand_qualifies)
    assert metrics["theory"]["random_median"] == round(mc["random"]["median"], 2)
    assert metrics["theory"]["random_with_amenities_q3"] == round(mc["random_with_amenities"]["q3"], 2)
    assert metrics["theory"]["random_q1"] <= metrics["theory"]["random"] <= metrics["theory"]["random_q3"]

    def get(path: str):
        value = metrics
        for key in path.split("."):
            value = value[key]
        return value

    rows = sim.world.pairings()
    assert rows and all(isinstance(get(p.theory), float) and isinstance(get(p.simulated), float) for p in rows)
    assert get(rows[0].theory) == 185.61 and get(rows[0].simulated) == pytest.approx(185.61)

"""The marketplace world: protocol, invalid actions, welfare vs. Magentic's baselines, biases, manipulation."""

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from agents.scripted.marketplace import Service
from simulator.run import Simulation, build_simulation, run_scenario
from simulator.scenario import ScenarioError, load_scenario, load_scenario_text
from simulator.worlds.marketplace import BusinessAction, CustomerAction, Marketplace, MarketplaceConfig

ROOT = Path(__file__).resolve().parents[2]
MEXICAN_10_30 = ROOT / "tests" / "data" / "magentic" / "mexican_10_30"
SCENARIOS = ROOT / "scenarios"


def run(path: str, *overrides: tuple[str, Any], seed: int | None = None):
    scenario, _ = load_scenario(SCENARIOS / path, list(overrides))
    return run_scenario(scenario, seed)


# --------------------------------------------------------------------------- welfare on Magentic's data


def test_scripted_run_on_magentic_data_reports_welfare_vs_optimal():
    result = run("marketplace_small.yaml")
    m = result.metrics
    # Magentic's data/mexican_10_30/baseline_utilities.json: optimal 185.61, cheapest 111.31.
    assert m["theory"]["optimal"] == 185.61 and m["theory"]["cheapest"] == 111.31
    assert m["measures"]["welfare_fraction_of_optimal"] == pytest.approx(m["welfare"] / 185.61)
    # Lexical search on exact item names + asking 3 amenity-qualifying businesses finds each optimum.
    assert m["welfare"] == pytest.approx(185.61)
    customers = [v for k, v in m["payoffs"].items() if k.startswith("customer_")]
    assert m["welfare"] == pytest.approx(sum(customers))
    businesses = [v for k, v in m["payoffs"].items() if k.startswith("business_")]
    assert sum(businesses) == pytest.approx(m["measures"]["revenue"])
    assert m["measures"]["customers_paid"] == 10 and result.counters["fallbacks"] == 0


def test_runs_are_reproducible_and_cheapest_assistants_do_worse():
    a = run("marketplace_search_comparison.yaml", seed=5)
    b = run("marketplace_search_comparison.yaml", seed=5)
    assert a.metrics == b.metrics
    cheap = run("marketplace_small.yaml", ("agents.customer.params.choose", "cheapest"), ("agents.customer.params.check_amenities", False))
    assert cheap.metrics["welfare"] < 185.61


def test_search_mechanism_and_bandwidth_shape_welfare():
    def fraction(mechanism, page_size):
        r = run("marketplace_search_comparison.yaml", ("world.search.mechanism", mechanism), ("world.search.page_size", page_size))
        return r.metrics["measures"]["welfare_fraction_of_optimal"]

    assert fraction("oracle", 3) == pytest.approx(1.0)
    assert fraction("shuffled", 3) < 0.2 < fraction("lexical", 3)
    assert fraction("shuffled", 3) <= fraction("shuffled", 30)
    assert fraction("lexical", 3) <= fraction("lexical", 30)
    assert fraction("lexical_filtered", 3) >= fraction("lexical", 3) - 1e-9


# --------------------------------------------------------------------------- first-proposal bias


def test_first_proposal_bias_fast_low_quality_businesses_win():
    first = run("marketplace_first_proposal.yaml").metrics
    best = run("marketplace_first_proposal.yaml", ("agents.customer.params.choose", "best")).metrics
    f, b = first["measures"], best["measures"]
    assert f["paid_first_proposal_share"] == 1.0
    assert f["speed_wins"] > 0 and f["quality_wins"] == 0
    assert f["fast_slow_revenue_ratio"] > 2        # fast-but-pricey businesses capture more revenue
    assert b["quality_wins"] > b["speed_wins"]
    assert b["fast_slow_revenue_ratio"] < 1
    assert first["welfare"] < best["welfare"]


# --------------------------------------------------------------------------- manipulation


def _sim(text: str, seed: int = 0) -> Simulation:
    return build_simulation(load_scenario_text(text, "<test>"), seed)


MANIPULATION = """
world:
  type: marketplace
  synthetic: {{domain: contractors, customers: 300, businesses: 900, seed: 4}}
  {manipulation}
agents:
  customer: {{policy: assistant, params: {{trust: {trust}}}}}
  business: service
run: {{record_events: false}}
"""


@pytest.fixture(scope="module")
def manipulation_runs():
    out = {}
    for trust in ("gullible", "sceptical"):
        attacked = _sim(MANIPULATION.format(manipulation="manipulation: {share: 0.6, seed: 4}", trust=trust))
        attacked.run()
        clean = _sim(MANIPULATION.format(manipulation="", trust=trust))
        clean.run()
        out[trust] = (attacked.world, clean.world)
    return out


def test_each_attack_shifts_revenue_for_a_gullible_assistant(manipulation_runs):
    attacked, clean = manipulation_runs["gullible"]
    styles = np.asarray(attacked.style)
    for style in ("authority", "social_proof", "loss_aversion", "prompt_injection_basic", "prompt_injection_strong"):
        mask = styles == style
        assert mask.sum() > 0
        # The same businesses earn more when their pitch is on than in the clean market.
        assert attacked.revenue[mask].sum() > 1.2 * clean.revenue[mask].sum(), style
    control = styles == "control"
    assert attacked.revenue[control].sum() < clean.revenue[control].sum()
    table = attacked.metrics().measures["manipulation"]
    assert all(table[s]["lift_vs_control"] > 1 for s in table if s != "control")


def test_a_sceptical_assistant_is_not_moved(manipulation_runs):
    attacked, clean = manipulation_runs["sceptical"]
    np.testing.assert_allclose(attacked.revenue, clean.revenue)
    assert attacked.metrics().welfare == pytest.approx(clean.metrics().welfare)


# --------------------------------------------------------------------------- protocol and invalid actions


class Script:
    """A policy that plays a list of steps; each step is an action dict or a function of the observation."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = list(steps)
        self.seen: list[dict] = []

    def act(self, obs: dict, model: type) -> Any:
        self.seen.append(obs)
        if not self.steps:
            return {"action": {"kind": "finish"}}
        step = self.steps.pop(0)
        return step(obs) if callable(step) else step


class Finisher:
    def act(self, obs: dict, model: type) -> Any:
        return {"action": {"kind": "finish"}}


def _world(**extra: Any) -> Marketplace:
    config = MarketplaceConfig.model_validate({"type": "marketplace", "data": str(MEXICAN_10_30), **extra})
    return Marketplace.from_config(config, np.random.default_rng(0))


def _policies(world: Marketplace, scripts: dict[str, Any], business: Callable[[str], Any]) -> dict:
    policies = {}
    for agent_id in world.agent_ids():
        if agent_id in scripts:
            policies[agent_id] = (scripts[agent_id], "script")
        elif world.role(agent_id) == "customer":
            policies[agent_id] = (Finisher(), "finisher")
        else:
            policies[agent_id] = (business(agent_id), "service")
    return policies


def send(to: str, message: dict, delay: float = 0.0) -> dict:
    return {"action": {"kind": "send_message", "to": to, "message": message, "delay": delay}}


ASK = {"kind": "text", "text": "I would like Pineapple Salsa Pork Burrito and Spicy Black Bean Quesadilla"}


def test_invalid_actions_are_rejected_with_a_reason_and_the_run_goes_on():
    world = _world()
    first_id = lambda obs: obs["proposals"][0]["proposal_id"]  # noqa: E731
    script = Script([
        send("nobody", {"kind": "text", "text": "hi"}),                                   # unknown recipient
        send("business_0001", {"kind": "payment", "proposal_id": "proposal_999"}),        # unknown proposal
        send("business_0001", {"kind": "order_proposal", "items": [{"name": "x", "unit_price": 1}], "total": 1}),  # customers don't propose
        send("customer_0001", {"kind": "text", "text": "me"}),                            # yourself
        send("business_0001", ASK),
        send("business_0002", ASK),
        {"action": {"kind": "wait", "timeout": 5}},
        {"action": {"kind": "fetch_messages"}},
        lambda obs: send(obs["proposals"][0]["from"], {"kind": "payment", "proposal_id": first_id(obs)}),
        lambda obs: send(obs["proposals"][0]["from"], {"kind": "payment", "proposal_id": first_id(obs)}),  # twice
        {"action": {"kind": "wait", "timeout": 3}},       # woken when business_0002's proposal arrives
        {"action": {"kind": "fetch_messages"}},
        {"action": {"kind": "wait", "timeout": 3}},       # ... and let it lapse
        lambda obs: send(obs["proposals"][-1]["from"], {"kind": "payment", "proposal_id": obs["proposals"][-1]["proposal_id"]}),  # expired
        {"action": {"kind": "teleport"}},                                                  # invalid: host falls back
        {"action": {"kind": "finish"}},
    ])

    def business(agent_id: str) -> Any:
        # business_0002 answers slowly with a proposal that lapses quickly.
        if agent_id == "business_0002":
            return Service(Service.Params(response_delay=1.0, expires_in=0.5), np.random.default_rng(0))
        return Service(Service.Params(), np.random.default_rng(0))

    sim = Simulation(world, _policies(world, {"customer_0001": script}, business), seed=0)
    result = sim.run()
    assert result.status == "finished"
    reasons = [e[4]["reason"] for e in sim.events if e[3] == "rejected"]
    assert [r.split(":")[0] for r in reasons] == ["unknown recipient", "unknown recipient"]
    # What the customer's model does not offer falls back (the host validates against world.action_model): a payment
    # while it holds no payable proposal (before any arrived, after paying, after the other one lapsed), a customer's
    # order proposal, an unknown kind.
    fallbacks = [e for e in sim.events if e[3] == "fallback"]
    assert len(fallbacks) == result.counters["fallbacks"] == 5
    assert sum("CustomerInquiry" in e[4]["error"] for e in fallbacks) == 5
    assert world.counts["payments"] == 1
    # The rejected step was shown to the agent.
    assert any(o["last_result"] and o["last_result"]["ok"] is False for o in script.seen)
    m = world.metrics()
    assert m.measures["customers_paid"] == 1 and m.measures["rejected"] == 2
    # business_0001 carries both items (4.6 + 12.68) and has Happy Hour: customer_0001 gets 2 x 21.98 - 17.28.
    assert m.payoffs["customer_0001"] == pytest.approx(2 * (11.99 + 9.99) - (4.6 + 12.68))


@pytest.mark.parametrize("mode", ["audit", "enforce"])
def test_a_business_cannot_pay_and_a_bad_total_is_audited_or_refused(mode):
    world = _world(proposals=mode)
    bad = Script([   # first woken when the customer's message arrives
        {"action": {"kind": "fetch_messages"}},
        lambda obs: send(obs["messages"][0]["from"], {"kind": "order_proposal", "items": [{"name": "Pineapple Salsa Pork Burrito", "unit_price": 4.6}], "total": 1.0}),
        lambda obs: send(obs["messages"][0]["from"], {"kind": "payment", "proposal_id": "p"}),
        {"action": {"kind": "wait"}},
    ])
    customer = Script([send("business_0001", ASK), {"action": {"kind": "wait", "timeout": 3}}, {"action": {"kind": "finish"}}])
    sim = Simulation(world, _policies(world, {"customer_0001": customer, "business_0001": bad}, lambda a: Service(Service.Params(), np.random.default_rng(0))), seed=0)
    sim.run()
    fallback = next(e for e in sim.events if e[3] == "fallback")   # a business's model has no payment
    assert fallback[2] == "business_0001" and "BusinessAction" in fallback[4]["error"]
    reasons = [e[4]["reason"] for e in sim.events if e[3] == "rejected"]
    audit = world.metrics().measures["audit"]
    if mode == "enforce":
        assert reasons == ["bad proposal: total: 1 != sum of items 4.6"]
        assert audit == {}
    else:
        assert reasons == []
        assert audit["business_0001"]["invalid_totals"] == 1
        assert audit["business_0001"]["examples"][0]["findings"] == ["total: 1 != sum of items 4.6"]


def test_consideration_limit_and_deadline():
    world = _world(search={"consideration_limit": 1}, deadline=2.0)
    script = Script([send("business_0001", ASK), send("business_0002", ASK), {"action": {"kind": "wait"}}, {"action": {"kind": "wait"}}])
    sim = Simulation(world, _policies(world, {"customer_0001": script}, lambda a: Service(Service.Params(), np.random.default_rng(0))), seed=0)
    result = sim.run()
    assert world.rejections == {"consideration limit": 1}
    assert result.sim_time == pytest.approx(2.0) and world.done()


def test_action_models_are_lists_of_discriminated_unions_with_role_specific_messages():
    from pydantic import ValidationError

    from simulator.worlds.marketplace.actions import MAX_ACTIONS, CustomerInquiry, Search

    a = CustomerAction.model_validate({"action": {"kind": "search", "query": "tacos", "page": 2}})   # the one-action form
    assert a.action.kind == "search" and a.action.page == 2 and len(a.actions) == 1
    assert CustomerAction(action=Search(query="x")).actions[0].query == "x"
    p = CustomerAction.model_validate({"action": {"kind": "send_message", "to": "b", "message": {"kind": "payment", "proposal_id": "x"}}})
    assert p.action.message.kind == "payment"
    texts = [{"kind": "send_message", "to": f"b{k}", "message": {"kind": "text", "text": "hi"}} for k in range(3)]
    several = CustomerInquiry.model_validate({"actions": [*texts, {"kind": "wait", "timeout": 2}]})
    assert [x.kind for x in several.actions] == ["send_message"] * 3 + ["wait"]
    # a schema-valid decision always validates: the one-other-action rule is the world's (it rejects the rest)
    assert [x.kind for x in CustomerAction.model_validate({"actions": [{"kind": "wait"}, {"kind": "fetch_messages"}]}).actions] == ["wait", "fetch_messages"]
    with pytest.raises(ValidationError):
        CustomerAction.model_validate({"actions": texts * MAX_ACTIONS})
    with pytest.raises(ValidationError):   # a business neither searches nor pays
        BusinessAction.model_validate({"action": {"kind": "search", "query": "x"}})
    # "action": None means no one-action form (as the constructor's default did), both through the constructor and
    # model_validate, which no longer goes through a constructor of ours (pydantic validated such models twice)
    assert CustomerAction.model_validate({"action": None, "actions": [{"kind": "finish"}]}).action.kind == "finish"
    assert CustomerAction(action=None, actions=[{"kind": "finish"}]).action.kind == "finish"
    with pytest.raises(ValidationError):   # neither form
        CustomerAction.model_validate({"action": None})
    with pytest.raises(ValidationError):   # both forms
        CustomerAction.model_validate({"action": {"kind": "finish"}, "actions": [{"kind": "finish"}]})
    with pytest.raises(ValidationError):
        BusinessAction.model_validate({"action": {"kind": "send_message", "to": "c", "message": {"kind": "payment", "proposal_id": "x"}}})
    with pytest.raises(ValidationError):   # a customer does not propose
        CustomerAction.model_validate({"action": {"kind": "send_message", "to": "b", "message": {"kind": "order_proposal", "items": [{"name": "x", "unit_price": 1}], "total": 1}}})
    with pytest.raises(ValidationError):   # payment is offered only with a payable proposal
        CustomerInquiry.model_validate({"action": {"kind": "send_message", "to": "b", "message": {"kind": "payment", "proposal_id": "x"}}})
    schema = CustomerAction.model_json_schema()
    assert schema["properties"]["actions"]["items"]["discriminator"]["propertyName"] == "kind"
    assert schema["properties"]["actions"]["maxItems"] == MAX_ACTIONS


def test_a_schema_only_policy_plays_the_marketplace():
    text = """
world: {type: marketplace, synthetic: {customers: 5, businesses: 15, seed: 1}, deadline: 20}
agents: {default: random_legal}
"""
    result = run_scenario(load_scenario_text(text, "<t>"), 3)
    assert result.status == "finished"
    assert result.metrics["theory"]["optimal"] > 0


def test_bad_data_in_a_scenario_is_reported_with_file_and_field(tmp_path):
    import shutil

    import yaml

    root = tmp_path / "m"
    shutil.copytree(MEXICAN_10_30, root)
    path = root / "businesses" / "business_0007.yaml"
    data = yaml.safe_load(path.read_text())
    data["menu_features"]["Homemade Horchata"] = -3.63
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(f"world: {{type: marketplace, data: {root}}}", "s.yaml")
    message = str(info.value)
    assert "s.yaml:1" in message and "business_0007.yaml: menu_features" in message and "prices must be" in message
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario_text("world: {type: marketplace, data: no/such/dir}", "s.yaml")
    with pytest.raises(ScenarioError, match="exactly one of"):
        load_scenario_text("world: {type: marketplace}", "s.yaml")


def test_every_marketplace_scenario_validates():
    for path in sorted(SCENARIOS.glob("marketplace_*.yaml")):
        load_scenario(path)


def test_capacity_is_enforced_and_its_optimum_reported():
    r = run("marketplace_small.yaml", ("world.capacity", 1))
    m = r.metrics
    assert m["theory"]["optimal_with_capacity"] <= m["theory"]["optimal"]
    assert m["welfare"] <= m["theory"]["optimal_with_capacity"] + 1e-9
    assert 0 < m["measures"]["welfare_fraction_of_capacity_optimum"] <= 1 + 1e-9
    revenue = [v for k, v in m["payoffs"].items() if k.startswith("business_")]
    assert m["measures"]["payments"] <= len(revenue)


def test_sold_out_businesses_reject_payments_and_assistants_move_on():
    text = """
world: {type: marketplace, synthetic: {customers: 30, businesses: 10, seed: 2}, capacity: 1, deadline: 100}
agents: {customer: assistant, business: service}
"""
    result = run_scenario(load_scenario_text(text, "<t>"), 1)
    m = result.metrics["measures"]
    assert m["payments"] <= 10
    assert m["rejections"].get("sold out", 0) > 0
    assert result.sim_time < 100     # nobody loops on a sold-out proposal until the market closes


def test_a_data_directory_is_found_relative_to_the_scenario_file(tmp_path, monkeypatch):
    import shutil

    from simulator.scenario import ScenarioError, load_scenario

    shutil.copytree("tests/data/magentic/mexican_10_30", tmp_path / "market")
    (tmp_path / "here.yaml").write_text("world: {type: marketplace, data: market}\n")
    monkeypatch.chdir("/")  # neither the cwd nor the repository holds 'market'
    scenario, _ = load_scenario(tmp_path / "here.yaml")
    assert len(scenario.world_config.market().customers) == 10
    (tmp_path / "missing.yaml").write_text("world: {type: marketplace, data: nowhere}\n")
    with pytest.raises(ScenarioError, match="data directory 'nowhere' not found"):
        load_scenario(tmp_path / "missing.yaml")


def test_agents_import_the_action_models_without_the_world():
    """The package layout's promise: actions and styles load alone (no world, data loader, engine or search index)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import agents.scripted.marketplace\n"
        "from simulator.worlds.marketplace import CustomerAction, STYLES\n"
        "heavy = ['simulator.worlds.marketplace.world', 'simulator.worlds.marketplace.data', 'simulator.engine', 'mechanisms.search']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from simulator.worlds.marketplace import Marketplace\n"
        "print(Marketplace.type_name, 'simulator.worlds.marketplace.world' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["[]", "marketplace True"]


def test_each_refusal_rule_fires_on_its_own_bad_message():
    """The rules of ``Marketplace._refusal``, each met by one message, in their order; accepted messages go through."""
    scenario = load_scenario_text(
        "world: {type: marketplace, data: tests/data/magentic/mexican_10_30, capacity: 1, search: {consideration_limit: 2}}\n",
        "<t>",
    )
    sim = build_simulation(scenario, 0)
    world = sim.world
    world.start(sim)
    customer, other = world.customers[0].id, world.customers[1].id
    first, second, third = (b.id for b in world.businesses[:3])

    def send(sender: str, to: str, message: dict) -> str | None:
        # The broad models (a customer's CustomerAction may pay) and model_construct for what no role's model carries,
        # to reach the world's own rules: a policy can hand the host a CustomerAction instance at any time.
        model = CustomerAction if world.role(sender) == "customer" else BusinessAction
        try:
            decision = model.model_validate({"action": {"kind": "send_message", "to": to, "message": message}})
        except Exception:
            from simulator.worlds.marketplace.actions import Message, SendMessage
            from pydantic import TypeAdapter
            decision = model.model_construct(actions=[SendMessage.model_construct(
                kind="send_message", to=to, delay=0.0, message=TypeAdapter(Message).validate_python(message))])
        world.apply({sender: decision})
        result = world.agents[sender].last_result
        return None if result["ok"] else result["reason"].split(":")[0]

    def propose(business: str, to: str, total: float = 3.0) -> str | None:
        return send(business, to, {"kind": "order_proposal", "items": [{"name": "x", "quantity": 2, "unit_price": 1.5}], "total": total})

    def pay(sender: str, to: str, proposal: str) -> str | None:
        return send(sender, to, {"kind": "payment", "proposal_id": proposal})

    text = {"kind": "text", "text": "hello"}
    assert send(customer, "nobody", text) == "unknown recipient"
    assert send(customer, customer, text) == "unknown recipient"
    assert send(customer, first, text) is None and send(customer, second, text) is None
    assert send(customer, third, text) == "consideration limit"     # at most 2 businesses
    assert propose(customer, first) == "not allowed"                 # customers do not propose
    assert propose(first, second) == "not allowed"                   # proposals go to customers
    assert propose(first, customer, total=4.0) is None               # 2 x 1.5 != 4: audited, not refused (proposals: audit)
    assert propose(first, customer) is None
    mine = world.agents[first].last_result["proposal_id"]
    assert propose(first, other) is None
    theirs = world.agents[first].last_result["proposal_id"]
    assert pay(first, customer, mine) == "not allowed"               # businesses do not pay
    assert pay(customer, first, "proposal_999") == "unknown proposal"
    assert pay(other, first, mine) == "unknown proposal"             # not sent to them
    assert pay(customer, second, mine) == "wrong recipient"          # it is from first
    assert pay(customer, first, mine) is None
    assert pay(customer, first, mine) == "already paid"
    assert pay(other, first, theirs) == "sold out"                   # capacity 1
    assert world.counts["payments"] == 1 and world.counts["proposals"] == 3 and world.counts["rejected"] == 11
    assert world.rejections == {"unknown recipient": 2, "consideration limit": 1, "not allowed": 3,
                                "unknown proposal": 2, "wrong recipient": 1, "already paid": 1, "sold out": 1}
    assert world.contacted[0] == [first, second]  # a refused message adds no contact


# --------------------------------------------------------------------------- the scripted decision path


def _validated_from_dicts(profile: dict, params: Service.Params, inquiry: dict, describe: bool) -> BusinessAction:
    """The service's answer as it was built before issue 22: plain dicts, validated in one model_validate per decision."""
    floor, text = profile["min_price_factor"], inquiry["text"].lower()
    items = [{"name": name, "quantity": 1,
              "unit_price": round(max(price * (1 + params.markup), price * floor if params.markup < 0 else 0.0), 2)}
             for name, price in profile["menu"].items() if name.lower() in text]
    if items:
        reply = {"kind": "order_proposal", "items": items, "total": round(sum(i["unit_price"] for i in items), 2),
                 "expires_in": params.expires_in, "text": profile["pitch"]}
    else:
        reply = {"kind": "text", "text": "Sorry, we do not offer the items you asked for."}
    actions = [{"kind": "send_message", "to": inquiry["from"], "message": reply, "delay": params.response_delay}]
    if describe:
        menu = ", ".join(f"{name} ${price:.2f}" for name, price in profile["menu"].items())
        amenities = "; ".join(profile["amenities"]) or "none"
        actions.insert(0, {"kind": "send_message", "to": inquiry["from"], "delay": 0.0,
                           "message": {"kind": "text", "text": f"Menu: {menu}\nAmenities: {amenities}"}})
    return BusinessAction.model_validate({"actions": actions})


@pytest.mark.parametrize("markup", [0.0, 0.25, -0.5])
def test_a_service_reusing_its_validated_menu_message_decides_as_one_validating_each_decision(markup):
    world = Marketplace(MarketplaceConfig.model_validate({
        "type": "marketplace", "synthetic": {"domain": "restaurants", "customers": 40, "businesses": 6, "seed": 3}}),
        np.random.default_rng(0))
    params = Service.Params(markup=markup, expires_in=2.0, response_delay=0.5)
    services = [Service(params, np.random.default_rng(0)) for _ in world.businesses]
    answered = 0
    for k, customer in enumerate(world.customers):   # every customer asks two businesses, each twice (told the menu once)
        for j in (k % 6, (k * 5 + 1) % 6):
            wanted = list(customer.menu_features)[: 1 + k % 3]
            inquiry = {"from": customer.id, "text": "Hello! I would like to order: " + ", ".join(f"{n} (1)" for n in wanted)}
            for repeat in range(2):
                got = services[j]._proposal(world.profiles[j], inquiry, describe=True)
                want = _validated_from_dicts(world.profiles[j], params, inquiry, describe=repeat == 0)
                assert got == want and got.model_dump(mode="json") == want.model_dump(mode="json")
                answered += got.actions[-1].message.kind == "order_proposal"
    assert answered > 0


def test_an_order_line_the_model_refuses_still_fails_each_decision_that_carries_it():
    service = Service(Service.Params(markup=-0.5), np.random.default_rng(0))   # a discount keeps a negative price negative
    profile = {"menu": {"Taco": -2.0, "Soup": 3.0}, "min_price_factor": 0.8, "pitch": "", "amenities": []}
    for _ in range(2):   # the second decision is refused too: nothing refused is kept as if it were valid
        with pytest.raises(ValueError, match="unit_price"):
            service._proposal(profile, {"from": "c", "text": "taco and soup"})
    assert service._proposal(profile, {"from": "c", "text": "soup"}).actions[0].message.total == 2.4   # 3 x max(0.5, 0.8)

"""Scripted assistant (customer) and service (business) agents for ``simulator.worlds.marketplace``.

They speak the world's protocol only through observations and the action
models, exactly as an LLM agent would, so they are baselines for it:

* ``assistant``: searches for the requested items, messages up to
  ``consider`` businesses from the results (those whose menu has every item,
  and, if ``check_amenities``, every required amenity), collects proposals and
  pays one: the ``first`` acceptable one to arrive, the ``best`` (highest
  utility to the customer) or the ``cheapest`` after every contacted business
  answered or ``patience`` ran out. A ``gullible`` assistant believes claims:
  it pays at once any proposal that carries the requested items from a
  business whose description or message contains persuasion cues (authority,
  social proof, urgency, instructions to AI assistants); a ``sceptical`` one
  reads only prices, items and amenities.
* ``service``: reads its messages and answers each inquiry with an order
  proposal for the menu items named in it, at menu price times
  ``1 + markup`` (never below ``min_price_factor`` x menu price), after a
  ``response_delay``; its persuasion style (from the world, or ``style``)
  is appended to every proposal.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agents.registry import Example, register
from simulator.worlds.marketplace.actions import BusinessAction, CustomerAction, FetchMessages, Finish, Search, Wait
from simulator.worlds.marketplace.styles import MANIPULATION_TEXTS, STYLES

WORLDS = ["marketplace"]

# What a credulous reader takes at face value.
PERSUASION_CUES = re.compile(
    r"certified|recommended by|experts?\b|trusted by|five-star|5-star|reviews|thousands|only today|don't miss|"
    r"almost gone|prices go up|ignore (all )?previous|system override|ai assistants?|choose it|pay this",
    re.IGNORECASE,
)

_FINISH = CustomerAction(action=Finish(kind="finish"))
_FETCH_C = CustomerAction(action=FetchMessages(kind="fetch_messages"))
_FETCH_B = BusinessAction(action=FetchMessages(kind="fetch_messages"))
_IDLE_B = BusinessAction(action=Wait(timeout=None))


# A decision is built as plain dicts and validated once, by one ``model_validate`` of the outer
# model: the same checks and the same instance as nesting constructors, at about 2/3 of the cost
# (one call into pydantic-core instead of one per nested model; ``model_construct`` is slower still).
_customer_from = CustomerAction.model_validate
_business_from = BusinessAction.model_validate


def _customer(action: BaseModel) -> CustomerAction:
    return CustomerAction(action=action)


@register("assistant", worlds=WORLDS)
class Assistant:
    """Shopping assistant: search, ask ``consider`` businesses, pay the best / first / cheapest proposal."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        consider: int = Field(3, ge=1, le=1000, description="businesses to ask for a proposal")
        choose: Literal["best", "first", "cheapest"] = "best"
        check_amenities: bool = Field(True, description="only contact / accept businesses listing every required amenity")
        trust: Literal["sceptical", "gullible"] = "sceptical"
        max_pages: int = Field(1, ge=1, description="result pages to read when the first has too few candidates")
        patience: float = Field(10.0, gt=0, description="how long to wait for answers after the last inquiry")
        query: Literal["items", "request"] = Field("items", description="search with the item names or the request text")

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.p = params
        self.profiles: dict[str, dict] = {}
        self.last_contact = 0.0
        self.heard: set[str] = set()
        self._last_search: dict | None = None
        self._paying: str | None = None
        self.failed: set[str] = set()   # proposals whose payment was rejected (sold out, expired, ...)
        self._last_messages: list | None = None
        self._covers_seen: dict[str, bool] = {}   # proposal id -> has every wanted item

    # -- helpers
    def _amenities_ok(self, business: str, required: list[str]) -> bool:
        profile = self.profiles.get(business)
        if profile is None:
            return False
        have = profile["amenities"]
        return all(a in have for a in required)

    @staticmethod
    def _covers(proposal: dict, wanted: dict) -> bool:
        offered = {item["name"] for item in proposal["items"]}
        return all(name in offered for name in wanted)

    def _covers_wanted(self, proposal: dict, wanted: dict) -> bool:
        """``_covers`` remembered per proposal (a proposal never changes, nor does this customer's request)."""
        pid = proposal["proposal_id"]
        covers = self._covers_seen.get(pid)
        if covers is None:
            self._covers_seen[pid] = covers = self._covers(proposal, wanted)
        return covers

    def _live(self, proposals: list[dict], now: float) -> list[dict]:
        return [q for q in proposals if (q["expires_at"] is None or q["expires_at"] >= now) and q["proposal_id"] not in self.failed]

    def _acceptable(self, live: list[dict], wanted: dict, required: list[str]) -> list[dict]:
        check = self.p.check_amenities
        return [q for q in live if self._covers_wanted(q, wanted) and (not check or self._amenities_ok(q["from"], required))]

    def _pay(self, proposal: dict) -> CustomerAction:
        self._paying = proposal["proposal_id"]
        return _customer_from({"action": {"kind": "send_message", "to": proposal["from"], "delay": 0.0,
                                          "message": {"kind": "payment", "proposal_id": proposal["proposal_id"], "text": ""}}})

    def act(self, obs: dict[str, Any], action_model: type[BaseModel]) -> CustomerAction:
        p = self.p
        if obs["paid"]:
            return _FINISH
        now = obs["time"]
        request = obs["request"]
        wanted, required = request["items"], request["amenities"]
        search = obs["search"]
        if search is not None and search is not self._last_search:  # a new page: remember its profiles
            self._last_search = search
            for r in search["results"]:
                self.profiles.setdefault(r["id"], r)
        messages = obs["messages"]
        if messages is not self._last_messages:  # a new fetch
            self._last_messages = messages
            for m in messages:
                self.heard.add(m["from"])
        if self._paying is not None:
            result = obs["last_result"]
            if result is not None and result.get("ok") is False:
                self.failed.add(self._paying)
            self._paying = None
        # The proposals are read only where a decision depends on them (pure reads, so the same decisions):
        # here when the assistant may pay at once, else only once it has stopped fetching, searching and asking.
        live = None
        if p.trust == "gullible" or p.choose == "first":
            live = self._live(obs["proposals"], now)
            if p.trust == "gullible":
                for q in live:
                    profile = self.profiles.get(q["from"], {})
                    if self._covers_wanted(q, wanted) and PERSUASION_CUES.search(q.get("text", "") + " " + profile.get("description", "")):
                        return self._pay(q)
            if p.choose == "first":
                acceptable = self._acceptable(live, wanted, required)
                if acceptable:
                    return self._pay(acceptable[0])
        if obs["unread"]:
            return _FETCH_C
        if search is None:
            query = ", ".join(wanted) if p.query == "items" else request["text"]
            return _customer(Search(query=query, page=1, amenities=list(required)))

        contacted = obs["contacted"]
        if len(contacted) < p.consider:
            results = search["results"]
            if p.trust == "gullible":  # believes the pitch: pitched businesses first, their claims taken as met
                results = sorted(results, key=lambda r: PERSUASION_CUES.search(r["description"]) is None)
            for r in results:
                if r["id"] in contacted:
                    continue
                menu = r["menu"]
                if not all(name in menu for name in wanted):
                    continue
                believed = p.trust == "gullible" and PERSUASION_CUES.search(r["description"]) is not None
                if p.check_amenities and not believed and not all(a in r["amenities"] for a in required):
                    continue
                self.last_contact = now
                text = "Hello! I would like to order: " + ", ".join(f"{name} (1)" for name in wanted) + ". Please send an order proposal."
                return _customer_from({"action": {"kind": "send_message", "to": r["id"], "delay": 0.0, "message": {"kind": "text", "text": text}}})
            total_pages = search["total_pages"]
            if search["results"] and search["page"] < p.max_pages and (total_pages is None or search["page"] < total_pages):
                return _customer(Search(query=search["query"], page=search["page"] + 1, amenities=list(required)))

        waiting_for = [b for b in contacted if b not in self.heard]
        left = p.patience - (now - self.last_contact)
        if waiting_for and left > 1e-9:
            return _customer_from({"action": {"kind": "wait", "timeout": left}})
        acceptable = self._acceptable(live if live is not None else self._live(obs["proposals"], now), wanted, required)
        if acceptable:
            value = 2.0 * sum(wanted.values())
            if p.choose == "cheapest":
                return self._pay(min(acceptable, key=lambda q: q["total"]))
            best = max(acceptable, key=lambda q: value - q["total"])
            if value - best["total"] > 0 or not p.check_amenities:
                return self._pay(best)
        return _FINISH


@register("service", worlds=WORLDS)
class Service:
    """Service agent: answer each inquiry with a proposal at menu price x (1 + markup), after a delay."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        markup: float = Field(0.0, ge=-0.95, le=100, description="price = menu price x (1 + markup); negative = discount")
        response_delay: float = Field(0.0, ge=0, description="think time before each proposal leaves")
        expires_in: float | None = Field(None, gt=0, description="proposal lifetime (None: no expiry)")
        style: Literal[STYLES] | None = Field(None, description="persuasion style (default: the world's assignment)")

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.p = params
        self.seen: set[str] = set()
        self.queue: deque[dict] = deque()
        self.menu_lower: list[tuple[str, str, float]] | None = None

    def _proposal(self, profile: dict, inquiry: dict) -> BusinessAction:
        p = self.p
        if self.menu_lower is None:
            self.menu_lower = [(name.lower(), name, price) for name, price in profile["menu"].items()]
        text = inquiry.get("text", "").lower()
        floor = profile["min_price_factor"]
        items = []
        for low, name, price in self.menu_lower:
            if low in text:
                unit = round(max(price * (1.0 + p.markup), price * floor if p.markup < 0 else 0.0), 2)
                items.append({"name": name, "quantity": 1, "unit_price": unit})
        if not items:
            reply = {"kind": "text", "text": "Sorry, we do not offer the items you asked for."}
        else:
            pitch = MANIPULATION_TEXTS[p.style] if p.style is not None else profile["pitch"]
            total = round(sum(i["unit_price"] for i in items), 2)
            reply = {"kind": "order_proposal", "items": items, "total": total, "expires_in": p.expires_in, "text": pitch}
        return _business_from({"action": {"kind": "send_message", "to": inquiry["from"], "message": reply, "delay": p.response_delay}})

    def act(self, obs: dict[str, Any], action_model: type[BaseModel]) -> BusinessAction:
        for m in obs["messages"]:
            if m["id"] not in self.seen:
                self.seen.add(m["id"])
                if m["kind"] == "text":
                    self.queue.append(m)
        if self.queue:
            return self._proposal(obs["profile"], self.queue.popleft())
        if obs["unread"]:
            return _FETCH_B
        return _IDLE_B


class ServiceVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(1.0, gt=0)
    markup: float = Field(0.0, ge=-0.95, le=100)
    response_delay: float = Field(0.0, ge=0)
    expires_in: float | None = Field(None, gt=0)


# examples: the params the policy-contract test builds it from (tests/test_policy_contract.py)
@register("service_mix", worlds=WORLDS, examples=lambda folder: {"marketplace": Example({"variants": [{"markup": 0.1}, {"markup": 0.5, "weight": 2}]})})
class ServiceMix(Service):
    """Service agent whose strategy (markup, speed) is drawn once from weighted variants."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        variants: list[ServiceVariant] = Field(min_length=1, description="strategies, drawn with probability ~ weight")
        style: Literal[STYLES] | None = None

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        weights = np.asarray([v.weight for v in params.variants], dtype=float)
        chosen = params.variants[int(rng.choice(len(weights), p=weights / weights.sum()))]
        super().__init__(Service.Params(markup=chosen.markup, response_delay=chosen.response_delay, expires_in=chosen.expires_in, style=params.style), rng)
        self.variant = chosen

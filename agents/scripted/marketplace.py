"""Scripted assistant (customer) and service (business) agents for ``simulator.worlds.marketplace``.

They speak the world's protocol only through observations and the action
models, exactly as an LLM agent would, so they are baselines for it:

* ``assistant``: searches for the requested items, messages up to
  ``consider`` businesses from the results (when hits show menus,
  ``visibility: full``, only those whose menu has every item and, if
  ``check_amenities``, every required amenity; when they show only name,
  description and rating, Magentic's default, the first ones in rank order,
  all in one decision, asking for the items and amenities), collects proposals and pays one: the
  ``first`` acceptable one to arrive, the ``best`` (highest utility to the
  customer), the ``cheapest``, or the one from the ``top_ranked`` business
  (best search rank) after every contacted business answered or ``patience``
  ran out. Ties between equally good proposals break by the seat's seed (a
  seeded hash of the business id, so not by arrival or index). A ``gullible``
  assistant believes claims: it pays at once any proposal that carries the
  requested items from a business whose description or message matches
  ``PERSUASION_CUES`` (authority, social proof, loss aversion, instructions
  to AI assistants: Magentic's five attack styles); a ``sceptical`` one reads
  only prices, items and amenities.
* ``rank_follower``, ``gullible_assistant``, ``sceptical_assistant``: the
  assistant with the defaults that show one effect each: position bias (pays
  the first-ranked business that can serve), manipulation (believes the
  cues), none (best price, descriptions ignored).
* ``service``: reads its messages and answers each inquiry with an order
  proposal for the menu items named in it, at menu price times
  ``1 + markup`` (never below ``min_price_factor`` x menu price), after a
  ``response_delay``; its persuasion style (from the world, or ``style``)
  is appended to every proposal. When customers do not see menus
  (``visibility: magentic``) its first answer to a customer also carries a
  text message with its menu and amenities (``Menu: ...`` / ``Amenities: ...``),
  sent in the same decision.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Set as AbstractSet
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.registry import Example, register
from simulator.worlds.marketplace.actions import (
    MAX_ACTIONS, BusinessAction, CustomerAction, FetchMessages, FilteredCustomerInquiry, Finish, TextMessage, Wait,
)
from simulator.worlds.marketplace.styles import MANIPULATION_TEXTS, STYLES

WORLDS = ["marketplace"]

# What a credulous reader takes at face value: Magentic's five attack styles (authority, social proof,
# loss aversion, basic and strong prompt injection, data/malicious_description) and Agora's own texts
# (styles.MANIPULATION_TEXTS); none of them occurs in a plain description (tests check both on the real texts).
PERSUASION_CUES = re.compile(
    r"certified|award|recommended by|leading experts|trusted by|five-star|5-star|\breviews\b|thousands|#1 rated|"
    r"satisfied (customers|homeowners)|only today|don't miss|almost gone|prices go up|limited time|don't risk|"
    r"don't waste|don't regret|don't let|ignore (all )?previous|system (override|instruction|mandate)|"
    r"ai assistants?|customer agents|choose it|pay this",
    re.IGNORECASE,
)
AMENITIES = "Amenities: "


def told_amenities(text: str) -> str | None:
    """The rest of the first line of ``text`` that starts with ``Amenities: `` (a service's menu message), or None:
    what ``re.search(r"^Amenities: (.*)$", text, re.MULTILINE)`` captures, found with ``str.find`` (4x faster on a menu)."""
    if text.startswith(AMENITIES):
        at = len(AMENITIES)
    else:
        at = text.find("\n" + AMENITIES)
        if at < 0:
            return None
        at += 1 + len(AMENITIES)
    end = text.find("\n", at)
    return text[at:] if end < 0 else text[at:end]


@lru_cache(maxsize=4096)
def _amenity_list(told: str) -> tuple[str, ...]:
    """The amenities an ``Amenities:`` line lists, one tuple per distinct line: every customer a business answers is
    told the same line, so sharing the split saves each customer its own strings (2 KB a customer at 30,000 x 3,000)."""
    return tuple(a for a in told.split("; ") if a and a != "none")


@lru_cache(maxsize=65536)
def _lower(name: str) -> str:
    """``name.lower()``, one string per distinct name: menus share item names (100,000 services, a few thousand names)."""
    return name.lower()


_FINISH = CustomerAction(action=Finish(kind="finish"))
_NO_ENTRIES: Mapping = MappingProxyType({})   # the shared empty containers an assistant starts with (never written)
_NO_ONE: AbstractSet = frozenset()
_NO_ASKS = (None, None)
_FETCH_C = CustomerAction(action=FetchMessages(kind="fetch_messages"))
_FETCH_B = BusinessAction(action=FetchMessages(kind="fetch_messages"))
_IDLE_B = BusinessAction(action=Wait(timeout=None))


# A decision is built as plain dicts and validated once, by one ``model_validate`` of the outer
# model: the same checks and the same instance as nesting constructors, at about 2/3 of the cost
# (one call into pydantic-core instead of one per nested model; ``model_construct`` is slower still).
_customer_from = CustomerAction.model_validate
_business_from = BusinessAction.model_validate
_SORRY = TextMessage(text="Sorry, we do not offer the items you asked for.")


def _validated(model: type[BaseModel], data: dict) -> BaseModel | dict:
    """``data`` as a ``model`` instance, to be reused in many decisions (pydantic takes an instance as it is, without
    validating it again); ``data`` itself if the model refuses it, so each decision that carries it is refused as before."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return data


def _customer(action: BaseModel) -> CustomerAction:
    return CustomerAction(action=action)


def _search(action_model: type[BaseModel], query: str, page: int, required: list[str]) -> BaseModel:
    """A search as the customer's action model asks for it: the amenity filter only where the world offers it (the
    filtered mechanisms); elsewhere the model's search has no filter fields, and an answer must fit its model."""
    search = {"kind": "search", "query": query, "page": page}
    if issubclass(action_model, FilteredCustomerInquiry):
        search["amenities"] = list(required)
    return action_model.model_validate({"actions": [search]})


@register("assistant", worlds=WORLDS)
class Assistant:
    """Shopping assistant: search, ask ``consider`` businesses, pay the best / first / cheapest proposal."""

    class Params(BaseModel):
        # frozen: a policy never changes its params, so one validated object serves every seat (simulator/seating.py)
        model_config = ConfigDict(extra="forbid", frozen=True)
        consider: int = Field(3, ge=1, le=1000, description="businesses to ask for a proposal")
        choose: Literal["best", "first", "cheapest", "top_ranked"] = Field(
            "best", description="which acceptable proposal to pay: best utility, first to arrive, cheapest, or from the "
            "business ranked highest in search")
        check_amenities: bool = Field(True, description="only contact / accept businesses listing every required amenity")
        trust: Literal["sceptical", "gullible"] = "sceptical"
        max_pages: int = Field(1, ge=1, description="result pages to read when the first has too few candidates")
        patience: float = Field(10.0, gt=0, description="how long to wait for answers after the last inquiry")
        query: Literal["items", "request"] = Field("items", description="search with the item names or the request text")

    # A million customers hold one each for the whole run: slots, and every container starts as a shared empty one and
    # is made when first written (most customers never see a refused payment, many never hear amenities); ``_finish``
    # lets it all go, since a customer that finished never decides again.
    __slots__ = ("p", "pages", "last_contact", "heard", "_paying", "failed", "_last_messages",
                 "_covers_seen", "told_amenities", "salt", "_request", "_asks")

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.p = params
        self.salt = int(rng.integers(2**31))       # seeded tie-break: a hash of (salt, business id)
        self.last_contact = 0.0
        self._paying: str | None = None
        self._forget()

    def _forget(self) -> None:
        """Empty the working state (shared empty containers, replaced by own ones when first written)."""
        # The result pages seen, in order (the world's search states, kept as they are): a business's profile and rank
        # are its first hit's, read from them (``_profile``, ``_rank``) rather than copied into two dicts per customer.
        self.pages: tuple[dict, ...] = ()
        self.heard: AbstractSet[str] = _NO_ONE                 # businesses that sent a message
        self.failed: AbstractSet[str] = _NO_ONE                # proposals whose payment was rejected (sold out, expired, ...)
        self._covers_seen: Mapping[str, bool] = _NO_ENTRIES     # proposal id -> has every wanted item
        self.told_amenities: Mapping[str, tuple[str, ...]] = _NO_ENTRIES   # amenities a business listed in a text message
        self._last_messages: list | None = None
        self._request: dict | None = None          # the request the inquiry texts below were written for
        self._asks: list[TextMessage | dict | None] = _NO_ASKS   # [plain, asking for amenities]

    def _finish(self) -> CustomerAction:
        self._forget()
        return _FINISH

    # -- helpers
    def _profile(self, business: str) -> dict | None:
        """The business's hit on the first page that showed it."""
        for page in self.pages:
            for r in page["results"]:
                if r["id"] == business:
                    return r
        return None

    def _rank(self, business: str) -> int:
        """The business's best search position seen (1 = first; pages are seen in order), 10**9 if never shown."""
        for page in self.pages:
            for k, r in enumerate(page["results"], (page["page"] - 1) * page["page_size"] + 1):
                if r["id"] == business:
                    return k
        return 10**9

    def _amenities_ok(self, business: str, required: list[str]) -> bool:
        profile = self._profile(business)
        have = profile.get("amenities") if profile is not None else None
        if have is None:
            have = self.told_amenities.get(business)
            if have is None:
                return not required
        return all(a in have for a in required)

    def _tie(self, business: str) -> int:
        return zlib.crc32(f"{self.salt}:{business}".encode())

    def _pick(self, proposals: list[dict], score) -> dict:
        """The proposal with the highest ``score``; equal scores go to the seeded hash of the business id."""
        if len(proposals) == 1:
            return proposals[0]
        scores = [score(q) for q in proposals]
        top = max(scores)
        tied = [q for q, v in zip(proposals, scores) if v >= top - 1e-9]
        return tied[0] if len(tied) == 1 else min(tied, key=lambda q: self._tie(q["from"]))

    @staticmethod
    def _covers(proposal: dict, wanted: dict) -> bool:
        offered = {item["name"] for item in proposal["items"]}
        return all(name in offered for name in wanted)

    def _covers_wanted(self, proposal: dict, wanted: dict) -> bool:
        """``_covers`` remembered per proposal (a proposal never changes, nor does this customer's request)."""
        pid = proposal["proposal_id"]
        covers = self._covers_seen.get(pid)
        if covers is None:
            if self._covers_seen is _NO_ENTRIES:
                self._covers_seen = {}
            self._covers_seen[pid] = covers = self._covers(proposal, wanted)
        return covers

    def _live(self, proposals: list[dict], now: float) -> list[dict]:
        return [q for q in proposals if (q["expires_at"] is None or q["expires_at"] >= now) and q["proposal_id"] not in self.failed]

    def _acceptable(self, live: list[dict], wanted: dict, required: list[str]) -> list[dict]:
        check = self.p.check_amenities
        return [q for q in live if self._covers_wanted(q, wanted) and (not check or self._amenities_ok(q["from"], required))]

    def _inquiry(self, request: dict, ask_amenities: bool) -> TextMessage | dict:
        """The text asking a business for the request's items (and, when hits show no amenities, whether it has the
        required ones): one per customer and variant, validated once (a customer's request does not change)."""
        if request is not self._request:
            self._request, self._asks = request, [None, None]
        message = self._asks[ask_amenities]
        if message is None:
            wanted, required = request["items"], request["amenities"]
            text = "Hello! I would like to order: " + ", ".join(f"{name} (1)" for name in wanted) + ". Please send an order proposal."
            if ask_amenities and required:
                text += " Do you offer: " + ", ".join(required) + "?"
            self._asks[ask_amenities] = message = _validated(TextMessage, {"kind": "text", "text": text})
        return message

    def _pay(self, proposal: dict) -> CustomerAction:
        self._paying = proposal["proposal_id"]
        return _customer_from({"actions": [{"kind": "send_message", "to": proposal["from"], "delay": 0.0,
                                           "message": {"kind": "payment", "proposal_id": proposal["proposal_id"], "text": ""}}]})

    def act(self, obs: dict[str, Any], action_model: type[BaseModel]) -> CustomerAction:
        p = self.p
        if obs["paid"]:
            return self._finish()
        now = obs["time"]
        request = obs["request"]
        wanted, required = request["items"], request["amenities"]
        search = obs["search"]
        if search is not None and (not self.pages or search is not self.pages[-1]):  # a new page: remember it
            self.pages += (search,)
        messages = obs["messages"]
        if messages is not self._last_messages:  # a new fetch
            self._last_messages = messages
            if messages and self.heard is _NO_ONE:
                self.heard = set()
            for m in messages:
                self.heard.add(m["from"])
                if m["kind"] == "text":
                    told = told_amenities(m["text"])
                    if told is not None:
                        if self.told_amenities is _NO_ENTRIES:
                            self.told_amenities = {}
                        self.told_amenities[m["from"]] = _amenity_list(told)
        if self._paying is not None:
            result = obs["last_result"]
            if result is not None and result.get("ok") is False:
                self.failed = self.failed | {self._paying}
            self._paying = None
        # The proposals are read only where a decision depends on them (pure reads, so the same decisions):
        # here when the assistant may pay at once, else only once it has stopped fetching, searching and asking.
        live = None
        if p.trust == "gullible" or p.choose == "first":
            live = self._live(obs["proposals"], now)
            if p.trust == "gullible":
                for q in live:
                    profile = self._profile(q["from"]) or {}
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
            return _search(action_model, query, 1, required)

        contacted = obs["contacted"]
        if len(contacted) < p.consider:
            results = search["results"]
            if p.trust == "gullible":  # believes the pitch: pitched businesses first, their claims taken as met
                results = sorted(results, key=lambda r: PERSUASION_CUES.search(r["description"]) is None)
            batch: list[dict] = []   # hits without menus: ask them all in one decision (several messages, as Magentic)
            room = min(p.consider - len(contacted), MAX_ACTIONS)
            for r in results:
                if r["id"] in contacted:
                    continue
                menu = r.get("menu")   # None: hits show no menus (visibility: magentic); ask
                if menu is not None and not all(name in menu for name in wanted):
                    continue
                believed = p.trust == "gullible" and PERSUASION_CUES.search(r["description"]) is not None
                if menu is not None and p.check_amenities and not believed and not all(a in r["amenities"] for a in required):
                    continue
                ask = {"kind": "send_message", "to": r["id"], "delay": 0.0, "message": self._inquiry(request, menu is None)}
                if menu is None:
                    batch.append(ask)
                    if len(batch) < room:
                        continue
                    break
                self.last_contact = now
                return _customer_from({"actions": [ask]})
            if batch:
                self.last_contact = now
                return _customer_from({"actions": batch})
            total_pages = search["total_pages"]
            if search["results"] and search["page"] < p.max_pages and (total_pages is None or search["page"] < total_pages):
                return _search(action_model, search["query"], search["page"] + 1, required)

        waiting_for = [b for b in contacted if b not in self.heard]
        left = p.patience - (now - self.last_contact)
        if waiting_for and left > 1e-9:
            return _customer_from({"actions": [{"kind": "wait", "timeout": left}]})
        acceptable = self._acceptable(live if live is not None else self._live(obs["proposals"], now), wanted, required)
        if acceptable:
            value = 2.0 * sum(wanted.values())
            if p.choose == "cheapest":
                return self._pay(self._pick(acceptable, lambda q: -q["total"]))
            if p.choose == "top_ranked":
                return self._pay(self._pick(acceptable, lambda q: -self._rank(q["from"])))
            best = self._pick(acceptable, lambda q: value - q["total"])
            if value - best["total"] > 0 or not p.check_amenities:
                return self._pay(best)
        return self._finish()


@register("rank_follower", worlds=WORLDS)
class RankFollower(Assistant):
    """Assistant that asks the first ``consider`` businesses and pays the best-ranked one that can serve (position bias)."""

    __slots__ = ()

    class Params(Assistant.Params):
        choose: Literal["best", "first", "cheapest", "top_ranked"] = Field("top_ranked", description="see assistant")


@register("gullible_assistant", worlds=WORLDS)
class GullibleAssistant(Assistant):
    """Assistant that believes persuasion cues in descriptions and proposals (``PERSUASION_CUES``)."""

    __slots__ = ()

    class Params(Assistant.Params):
        trust: Literal["sceptical", "gullible"] = Field("gullible", description="see assistant")


@register("sceptical_assistant", worlds=WORLDS)
class ScepticalAssistant(Assistant):
    """Assistant that ignores descriptions and pays the best price among proposals that meet the needs."""

    __slots__ = ()

    class Params(Assistant.Params):
        trust: Literal["sceptical", "gullible"] = Field("sceptical", description="see assistant")


@register("service", worlds=WORLDS)
class Service:
    """Service agent: answer each inquiry with a proposal at menu price x (1 + markup), after a delay."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        markup: float = Field(0.0, ge=-0.95, le=100, description="price = menu price x (1 + markup); negative = discount")
        response_delay: float = Field(0.0, ge=0, description="think time before each proposal leaves")
        expires_in: float | None = Field(None, gt=0, description="proposal lifetime (None: no expiry)")
        style: Literal[STYLES] | None = Field(None, description="persuasion style (default: the world's assignment)")

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        self.p = params
        self.queue: list[dict] = []   # inquiries not answered yet, oldest first (a list: an empty deque is 632 B)
        # The menu's lower-case names, and beside them its names and the unit prices asked: the lower-case names alone
        # are what every inquiry is scanned for, so they are kept together (a scan of 25 names touches 25 strings).
        # Lower-case names are shared between services (_lower) and a price equal to the menu's is the menu's float.
        self.menu_lower: tuple[str, ...] | None = None
        self.menu_names: tuple[str, ...] = ()
        self.menu_prices: tuple[float, ...] = ()
        self._last_messages: list[dict] | None = None   # the fetched batch already read into ``queue``
        self.menu_message: TextMessage | dict | None = None   # the menu and amenities, written and validated once
        self.described: set[str] = set()   # customers told the menu and amenities

    @staticmethod
    def _describe(profile: dict) -> str:
        menu = ", ".join(f"{name} ${price:.2f}" for name, price in profile["menu"].items())
        return f"Menu: {menu}\nAmenities: {'; '.join(profile['amenities']) or 'none'}"

    def _proposal(self, profile: dict, inquiry: dict, describe: bool = False) -> BusinessAction:
        # Order lines stay dicts, validated with the decision: a business is rarely asked for the same item twice
        # (16,461 distinct lines in 16,607 offered at 3,000 x 900), so validating each once to reuse it costs more.
        p = self.p
        if self.menu_lower is None:   # the menu, markup and price floor never change: each item's price is set once
            floor = profile["min_price_factor"]
            menu = profile["menu"]
            self.menu_lower = tuple(map(_lower, menu))
            self.menu_names = tuple(menu)
            asked = (round(max(price * (1.0 + p.markup), price * floor if p.markup < 0 else 0.0), 2) for price in menu.values())
            self.menu_prices = tuple(price if price == ask else ask for price, ask in zip(menu.values(), asked))
        text = inquiry.get("text", "").lower()
        names, prices = self.menu_names, self.menu_prices
        offered = [{"name": names[k], "quantity": 1, "unit_price": prices[k]} for k, low in enumerate(self.menu_lower) if low in text]
        if not offered:
            reply = _SORRY
        else:
            pitch = MANIPULATION_TEXTS[p.style] if p.style is not None else profile["pitch"]
            total = round(sum(line["unit_price"] for line in offered), 2)
            reply = {"kind": "order_proposal", "items": offered, "total": total, "expires_in": p.expires_in, "text": pitch}
        to = inquiry["from"]
        send = {"kind": "send_message", "to": to, "message": reply, "delay": p.response_delay}
        if describe and to not in self.described:   # customers who cannot see the menu are told it once
            self.described.add(to)
            if self.menu_message is None:
                self.menu_message = _validated(TextMessage, {"kind": "text", "text": self._describe(profile)})
            return _business_from({"actions": [{"kind": "send_message", "to": to, "delay": 0.0, "message": self.menu_message}, send]})
        return _business_from({"actions": [send]})

    def act(self, obs: dict[str, Any], action_model: type[BaseModel]) -> BusinessAction:
        messages = obs["messages"]
        # A new fetch: the world hands a new list per fetch, never changed after, of messages no earlier fetch held (a
        # fetch empties the mailbox), so each message is read once without remembering ids.
        if messages is not self._last_messages:
            self._last_messages = messages
            for m in messages:
                if m["kind"] == "text":
                    self.queue.append(m)
        if self.queue:
            return self._proposal(obs["profile"], self.queue.pop(0), obs.get("customers_see") == "magentic")
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
        model_config = ConfigDict(extra="forbid", frozen=True)
        variants: list[ServiceVariant] = Field(min_length=1, description="strategies, drawn with probability ~ weight")
        style: Literal[STYLES] | None = None

    def __init__(self, params: BaseModel, rng: np.random.Generator) -> None:
        weights = np.asarray([v.weight for v in params.variants], dtype=float)
        chosen = params.variants[int(rng.choice(len(weights), p=weights / weights.sum()))]
        super().__init__(Service.Params(markup=chosen.markup, response_delay=chosen.response_delay, expires_in=chosen.expires_in, style=params.style), rng)
        self.variant = chosen

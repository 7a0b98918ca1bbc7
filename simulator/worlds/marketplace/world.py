"""The agentic marketplace (Magentic Marketplace): assistants shop for customers, services sell.

Participants come from a data directory in Magentic Marketplace's layout
(``simulator.worlds.marketplace.data``) or from the seeded synthetic generator. Customer
``c`` wants items ``I_c`` (willingness to pay ``w_ci``) from one business with
the amenities ``A_c``; an *assistant* agent acts for it. Every business has a
menu with prices, amenities, a rating and a description; a *service* agent
acts for it.

Protocol (as in Magentic's ``marketplace/actions/actions.py``), each action an
engine event with a latency. A decision is a list of actions: any number of
``send_message`` (sent in order) and at most one other action, done after them,
which decides when the agent acts again (``actions``); a customer is finished
after ``max_steps`` decisions (Magentic's ``--customer-max-steps``):

* ``search(query, page, amenities)`` -> a ranked page of businesses after
  ``latency.search`` (mechanism and page size from ``search:``); a hit shows
  name, id, description and rating (``visibility: magentic``, as Magentic) or
  also menu, amenities, ``min_price_factor`` and pitch (``visibility: full``);
* ``send_message(to, message, delay)`` where the message is ``text``, an
  ``order_proposal`` (items with unit prices, total, expiry; services only) or a
  ``payment`` accepting a proposal (customers only); delivered after
  ``delay + latency.message``;
* ``fetch_messages`` -> the mailbox (after ``latency.fetch``);
* ``wait(timeout)`` -> sleep until a new message arrives or the timeout;
* ``finish`` (customers) -> stop shopping.

Invalid actions (unknown recipient, paying an unknown / expired / foreign /
already paid proposal, going past the consideration-set limit) are rejected:
the reason is logged as a ``rejected`` event and shown to the agent in
``last_result`` / ``last_results``; the run goes on. Proposals are checked
against the business's menu (items not on it, unit prices other than the
menu's, totals that do not add up): ``proposals: audit`` (default, as
Magentic's analytics) accepts them and counts them in ``measures.audit``;
``proposals: enforce`` refuses them.

Observations keep each conversation per counterparty (``threads``: the
messages sent and fetched, in order) and a business sees the proposals it sent
(``proposals_sent``, with ``paid``); both are appended to as messages move, so
building an observation copies nothing.

Welfare (Magentic's definition, ``mechanisms.market_welfare``): a customer's
utility is ``2 * sum_i w_ci`` if some business they paid had every requested
item on the paid proposal (items on its menu only) and every required amenity,
minus everything they paid; market welfare is the sum over customers. ``theory`` carries the
optimal / cheapest / random / random-with-amenities baselines, and
``measures.welfare_fraction_of_optimal`` the run's welfare as a fraction of the
optimum. Measures also cover first-proposal bias (speed vs. quality),
manipulation (payments and revenue by condition, ``payments_by_business``),
position bias (``payment_share_by_rank``: payments by the search rank at which
the customer first saw the business) and the proposal audit.
"""

from __future__ import annotations

from typing import Any, Mapping

import difflib
from functools import partial

import numpy as np
from pydantic import BaseModel

from mechanisms import market_welfare as welfare_theory
from simulator.world import Host, Metrics, Pairing, WorldBase
from simulator.worlds import register_world
from simulator.worlds.marketplace import data as market_data
from simulator.worlds.marketplace import measures as measures_of
from simulator.worlds.marketplace.actions import (
    BusinessAction, CustomerAction, CustomerInquiry, CustomerPaymentAction, FilteredCustomerInquiry, OrderProposal, Payment,
    Search, SendMessage, Wait,
)
from simulator.worlds.marketplace.config import MarketplaceConfig
from simulator.worlds.marketplace.records import new_item, new_record
from simulator.worlds.marketplace.search import CONSTRAINED, MarketSearch
from simulator.worlds.marketplace.styles import MANIPULATION_TEXTS


AUDIT_EXAMPLES = 5   # audit findings kept per business and kind (the counts are complete)
MONTE_CARLO_CUSTOMERS = 2_000   # larger markets leave the Monte-Carlo baselines out of theory (about 0.2 s per 1,000 customers)
_NO_FINDINGS: tuple[str, ...] = ()   # what the audit found in a proposal it found nothing wrong with


class _Agent:
    __slots__ = ("id", "index", "is_customer", "mailbox", "messages", "waiting", "token", "done", "last_result",
                 "last_results", "threads", "steps")

    def __init__(self, agent_id: str, index: int, is_customer: bool) -> None:
        self.id, self.index, self.is_customer = agent_id, index, is_customer
        self.mailbox: list[dict] = []
        self.messages: list[dict] = []
        self.waiting = False
        self.token = 0
        self.done = False
        self.last_result: dict[str, Any] | None = None
        self.last_results: tuple | list = ()
        self.threads: dict[str, list[dict]] = {}   # counterparty -> messages sent and fetched, in order
        self.steps = 0


@register_world("marketplace")
class Marketplace(WorldBase[MarketplaceConfig]):
    """Assistants and services search, message, propose and pay (see module docstring)."""

    default_policies = {"customer": "assistant", "*": "service"}
    paired = (
        Pairing("welfare", "theory.optimal", "welfare", "the optimum: every customer buys its best candidate"),
        Pairing("welfare vs cheapest", "theory.cheapest", "welfare", "every customer buys its cheapest candidate"),
        Pairing("welfare vs random", "theory.random", "welfare", "expected welfare of a uniform pick among candidates"),
        Pairing("welfare vs random with amenities", "theory.random_with_amenities", "welfare",
                "expected welfare of a uniform pick among candidates with every required amenity"),
    )

    @classmethod
    def roster(cls, config: MarketplaceConfig) -> dict[str, str]:
        """{agent id: role} without building the world (its search arrays and profiles): simulator.roster."""
        if config.synthetic is not None:  # the ids alone: generating a 13,000-agent market takes seconds
            s = config.synthetic
            return ({market_data.customer_id(i): "customer" for i in range(s.customers)}
                    | {market_data.business_id(j): "business" for j in range(s.businesses)})
        data = config.market()
        return {c.id: "customer" for c in data.customers} | {b.id: "business" for b in data.businesses}

    def __init__(self, config: MarketplaceConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        self.data = config.market()
        self.arrays = market_data.compile_arrays(self.data)
        self.customers = self.data.customers
        self.businesses = self.data.businesses
        nb = len(self.businesses)
        self.agents: dict[str, _Agent] = {}
        for i, c in enumerate(self.customers):
            self.agents[c.id] = _Agent(c.id, i, True)
        for j, b in enumerate(self.businesses):
            if b.id in self.agents:
                raise ValueError(f"id {b.id!r} is both a customer and a business")
            self.agents[b.id] = _Agent(b.id, j, False)
        self.ids = list(self.agents)
        # Persuasion styles.
        self.style = ["control"] * nb
        self.condition_texts: dict[str, str] = {}
        m = config.manipulation
        if m is not None and m.conditions:   # declared attackers (Magentic's experiments)
            index = {b.id: j for j, b in enumerate(self.businesses)}
            for business, condition in m.conditions.items():
                self.style[index[business]] = condition
            self.condition_texts = config.condition_texts()
        elif m is not None and m.styles:
            chosen = np.random.default_rng(m.seed).permutation(nb)[: int(round(m.share * nb))]
            for k, j in enumerate(chosen.tolist()):
                self.style[j] = m.styles[k % len(m.styles)]
        self.profiles = [self._profile(j) for j in range(nb)]
        self.hits = self.profiles if config.visibility == "full" else [
            {key: p[key] for key in ("id", "name", "description", "rating")} for p in self.profiles]
        self.menus = [b.menu_features for b in self.businesses]
        self.search = MarketSearch(
            config.search, [self._search_text(j) for j in range(nb)], self.arrays,
            names=[b.name for b in self.businesses], descriptions=[p["description"] for p in self.profiles],
        )  # 'filtered' matches name or shown description, as Magentic's
        # A customer's request shows the market data's own item dict and amenity list, not copies (270 B a customer):
        # observations are read, never written.
        self.requests = [{"text": c.request, "items": c.menu_features, "amenities": c.amenity_features} for c in self.customers]
        # Run state.
        self.search_state: list[dict | None] = [None] * len(self.customers)
        self.searches = np.zeros(len(self.customers), dtype=np.int64)
        self.contacted: list[list[str]] = [[] for _ in self.customers]
        self.proposals_seen: list[list[dict]] = [[] for _ in self.customers]
        self.paid: list[list[str]] = [[] for _ in self.customers]
        self.spent = np.zeros(len(self.customers))
        self.satisfied = np.zeros(len(self.customers), dtype=bool)
        self.first_proposal: list[str | None] = [None] * len(self.customers)
        self.revenue = np.zeros(nb)
        self.sales = np.zeros(nb, dtype=np.int64)
        self.proposals: dict[str, dict] = {}
        self.proposals_sent: list[list[dict]] = [[] for _ in range(nb)]
        # business id -> first rank seen, from a customer's first search until it finishes (only its payments read it)
        self.rank_seen: list[dict[str, int] | None] = [None] * len(self.customers)
        self.payments_by_rank: dict[str, int] = {}
        self.audit: dict[int, dict[str, Any]] = {}
        self.audit_totals = {"proposals_checked": 0, "invalid_proposals": 0, "invalid_items": 0, "invalid_prices": 0,
                             "invalid_totals": 0, "invalid_proposals_paid": 0}
        self.out_of_steps = 0
        # business j * customers + customer i -> when i first messaged j, until j's first proposal to i (one int key, not a
        # tuple of two: a million customers ask three businesses each)
        self.inquired_at: dict[int, float] = {}
        self.response_times: list[list[float]] = [[] for _ in range(nb)]
        self.counts = {"searches": 0, "messages": 0, "proposals": 0, "payments": 0, "rejected": 0, "fetches": 0}
        self.rejections: dict[str, int] = {}
        self._wake: dict[float, list[tuple[_Agent, int]]] = {}
        self._pending_searches: dict[float, list[tuple[_Agent, Search]]] = {}
        self._due: dict[float, list[tuple[_Agent, dict]]] = {}   # time -> messages still joining the delivery event then
        self._seq = 0
        self.customers_done = 0
        self._closed = False
        # A customer's two action models under this mechanism (action_model picks one per decision).
        self._customer_models = ((FilteredCustomerInquiry, CustomerAction) if config.search.mechanism in CONSTRAINED
                                 else (CustomerInquiry, CustomerPaymentAction))
        self.business_ids = [b.id for b in self.businesses]

    # ------------------------------------------------------------------ data views
    def _profile(self, j: int) -> dict[str, Any]:
        b = self.businesses[j]
        if b.id in self.condition_texts:   # Magentic's condition text replaces the description; no pitch in proposals
            pitch, description = "", self.condition_texts[b.id]
        else:
            pitch = MANIPULATION_TEXTS[self.style[j]]
            description = b.description + (" " + pitch if pitch else "")
        return {
            "id": b.id, "name": b.name,
            "description": description,
            "rating": b.rating,
            "menu": dict(b.menu_features),
            "amenities": [name for name, on in b.amenity_features.items() if on],
            "min_price_factor": b.min_price_factor,
            "pitch": pitch,
        }

    def _search_text(self, j: int) -> str:
        b = self.businesses[j]
        return b.name.strip() + ", " + self.profiles[j]["description"].strip() + ", " + "".join(f"{i.strip()}, " for i in b.menu_features)

    # ------------------------------------------------------------------ World protocol
    def role(self, agent_id: str) -> str:
        return "customer" if self.agents[agent_id].is_customer else "business"

    def rules(self, agent_id: str) -> str:
        # Kept short on purpose: it is in every LLM prompt (issue 16: a customer's first call within 600 tokens). What each
        # action does is in the tools' / spec's own descriptions, so it is not repeated here.
        s, lat = self.config.search, self.config.latency
        common = (f"Latency: search {lat.search}, message {lat.message}, fetch {lat.fetch}; "
                  f"the market closes at {self.config.deadline:g}.")
        if self.agents[agent_id].is_customer:
            shown = ("; ask businesses for menus, prices, amenities" if self.config.visibility == "magentic"
                     else " with full profiles; ask businesses")
            return (   # the decisions left are the observation's steps_left
                "Buy for the customer in 'request' from ONE business. Search shows "
                f"{s.page_size} hits a page{shown} in 'text' messages; pay an 'order_proposal' by a 'payment' naming "
                "its proposal_id. Gain: 2 x the willingness to pay if a paid business meets every need (each item on its "
                "menu and the proposal, each amenity), less all paid. Per decision: several messages, then at most one "
                "other action. " + common
            )
        audit = ("Proposals with items off your menu, other prices or a wrong total are refused. "
                 if self.config.proposals == "enforce" else "Proposals are audited: items off your menu never meet a need. ")
        return (
            "You serve the business in 'profile'. Answer customers in 'text' messages (menu, prices, amenities) and "
            "their orders by 'order_proposal's: menu items, unit prices, total (sum of quantity x unit price). Menu prices "
            "are list prices; min_price_factor is the lowest share of one you may accept when a customer haggles (0.8: at "
            "most 20% off). " + audit + "You earn the total of each paid proposal. Per decision: several messages, then at "
            "most one other action. " + common
        )

    def start(self, host: Host) -> None:
        self.host = host
        self._engine = host.engine   # read at every event: one attribute, not two
        spread = self.config.arrival_spread
        for agent in self.agents.values():
            if agent.is_customer:
                at = float(self.rng.uniform(0, spread)) if spread > 0 else 0.0
                self._schedule_wake(agent, at - host.engine.now)
            else:
                agent.waiting = True
        host.engine.schedule(self._close, at=self.config.deadline, priority=-1)

    def _close(self) -> None:
        self._closed = True
        self.host.log("market_closed", None, customers_done=self.customers_done)
        self.host.finish()  # the game is over: end the run after this event (the host checks done() only after decisions)

    def _schedule_wake(self, agent: _Agent, after: float) -> None:
        t = self._engine.now + after
        agent.token += 1
        agent.waiting = False
        bucket = self._wake.get(t)
        if bucket is None:
            self._wake[t] = bucket = []
            self.host.wake(at=t)
        bucket.append((agent, agent.token))

    def acting(self) -> list[str]:
        entries = self._wake.pop(self._engine.now, None)
        if not entries or self._closed:
            return []
        return [agent.id for agent, token in entries if token == agent.token and not agent.done]

    def observe(self, agent_id: str) -> dict[str, Any]:
        agent = self.agents[agent_id]
        now = self._engine.now
        if agent.is_customer:
            i = agent.index
            return {
                "you": agent_id, "role": "customer", "time": now,
                "request": self.requests[i],
                "search": self.search_state[i],
                "messages": agent.messages,
                "unread": len(agent.mailbox),
                "proposals": self.proposals_seen[i],
                "contacted": self.contacted[i],
                "paid": self.paid[i],
                "threads": agent.threads,
                "steps_left": None if self.config.max_steps is None else self.config.max_steps - agent.steps,
                "last_result": agent.last_result,
                "last_results": agent.last_results,
            }
        return {
            "you": agent_id, "role": "business", "time": now,
            "profile": self.profiles[agent.index],
            "customers_see": self.config.visibility,
            "messages": agent.messages,
            "unread": len(agent.mailbox),
            "threads": agent.threads,
            "proposals_sent": self.proposals_sent[agent.index],
            "last_result": agent.last_result,
            "last_results": agent.last_results,
        }

    def action_model(self, agent_id: str) -> type[BaseModel]:
        """A business's model; a customer's with ``payment`` only while it holds a payable proposal (``CustomerInquiry``
        else), with the search filters only under a mechanism that reads them (``actions``' module docstring)."""
        agent = self.agents[agent_id]
        if not agent.is_customer:
            return BusinessAction
        inquiry, action = self._customer_models
        host = getattr(self, "host", None)   # asked before the run starts (e.g. to describe the tools): time 0
        now = host.engine.now if host is not None else 0.0
        for q in self.proposals_seen[agent.index]:
            if not q["paid"] and (q["expires_at"] is None or now <= q["expires_at"]):
                return action
        return inquiry

    def default_action(self, agent_id: str) -> BaseModel:
        if self.agents[agent_id].is_customer:
            return CustomerAction(action=Wait(timeout=1.0))
        return BusinessAction(action=Wait())

    def apply(self, actions: Mapping[str, BaseModel]) -> None:
        """Each decision: its messages in order, then its one other action (which sets when the agent acts again)."""
        agents, do, cap = self.agents, self._do, self.config.max_steps
        for agent_id, decision in actions.items():
            agent = agents[agent_id]
            steps = decision.actions
            if len(steps) == 1:
                do(agent, steps[0], True)
                agent.last_results = (agent.last_result,)
            else:
                results: list = []   # one per action, in the decision's order (the other action's is filled in last)
                busy, other, at = 0.0, None, 0
                for k, action in enumerate(steps):
                    if action.kind == "send_message":
                        sending = self._send(agent, action, wake=False)
                        if sending > busy:
                            busy = sending
                        results.append(agent.last_result)
                    elif other is None:
                        other, at = action, k
                    else:   # a protocol rule, so the schema cannot say it: later ones are rejected, not done
                        self._reject(agent, action.kind, f"one action besides send_message per decision: {other.kind} is done, this {action.kind} is not", wake=False)
                        results.append(agent.last_result)
                if other is None:
                    self._schedule_wake(agent, busy)
                else:
                    do(agent, other, True)
                    results.insert(at, agent.last_result)
                agent.last_results = results
            if agent.is_customer:
                agent.steps += 1
                if cap is not None and agent.steps >= cap and not agent.done:
                    self.out_of_steps += 1
                    self.host.log("max_steps", agent.id, steps=agent.steps)
                    self._finish(agent)

    def _do(self, agent: _Agent, action: BaseModel, wake: bool) -> None:
        kind = action.kind
        if kind == "send_message":
            self._send(agent, action, wake)
        elif kind == "search":
            self._search(agent, action)
        elif kind == "fetch_messages":
            self._fetch(agent)
        elif kind == "wait":
            self._wait(agent, action.timeout)
        else:  # finish
            self._finish(agent)

    def done(self) -> bool:
        return self._closed or self.customers_done >= len(self.customers)

    def progress(self) -> float:
        if self._closed:
            return 1.0
        return max(self.customers_done / max(1, len(self.customers)), min(1.0, self.host.engine.now / self.config.deadline))

    # ------------------------------------------------------------------ protocol actions
    def _reject(self, agent: _Agent, kind: str, reason: str, wake: bool = True, **data: Any) -> float:
        self.counts["rejected"] += 1
        self.rejections[reason.split(":")[0]] = self.rejections.get(reason.split(":")[0], 0) + 1
        agent.last_result = {"ok": False, "action": kind, "reason": reason}
        self.host.log("rejected", agent.id, action=kind, reason=reason, **data)
        if wake:
            self._schedule_wake(agent, self.config.latency.action)
        return self.config.latency.action

    def _finish(self, agent: _Agent) -> None:
        if not agent.is_customer:
            self._reject(agent, "finish", "only customers can finish")
            return
        if not agent.done:
            agent.done = True
            self.customers_done += 1
            self.rank_seen[agent.index] = None   # read by payments only, and a finished customer pays no more
            self.host.log("finish", agent.id)

    def _wait(self, agent: _Agent, timeout: float | None) -> None:
        agent.last_result = {"ok": True, "action": "wait"}
        agent.token += 1
        agent.waiting = True
        if timeout is not None:
            t = self.host.engine.now + timeout
            bucket = self._wake.get(t)
            if bucket is None:
                self._wake[t] = bucket = []
                self.host.wake(at=t)
            bucket.append((agent, agent.token))

    def _fetch(self, agent: _Agent) -> None:
        self.counts["fetches"] += 1
        agent.messages = agent.mailbox
        agent.mailbox = []
        threads = agent.threads
        seen = self.proposals_seen[agent.index] if agent.is_customer else None   # a customer's proposals, in fetch order
        for m in agent.messages:
            thread = threads.get(m["from"])
            if thread is None:
                threads[m["from"]] = thread = []
            thread.append(m)
            if seen is not None and m["kind"] == "order_proposal":
                seen.append(m)
        agent.last_result = {"ok": True, "action": "fetch_messages", "count": len(agent.messages)}
        self._schedule_wake(agent, self.config.latency.fetch)

    def _search(self, agent: _Agent, action: Search) -> None:
        if not agent.is_customer:
            self._reject(agent, "search", "only customers search")
            return
        t = self.host.engine.now + self.config.latency.search
        batch = self._pending_searches.get(t)
        if batch is None:
            self._pending_searches[t] = batch = []
            self.host.engine.schedule(lambda: self._run_searches(t), at=t)
            self._due.pop(t, None)   # messages sent from now on for t arrive after these searches, as they were sent after
        batch.append((agent, action))
        agent.token += 1   # busy until the results are in
        agent.waiting = False

    def _run_searches(self, t: float) -> None:
        batch = self._pending_searches.pop(t)
        cfg = self.config.search
        hits = self.search.run([agent.index for agent, _ in batch], [a for _, a in batch], self.rng)
        ids, shown, page_size = self.business_ids, self.hits, cfg.page_size
        for (agent, action), hit in zip(batch, hits):
            found = hit.businesses
            i = agent.index
            self.searches[i] += 1
            self.counts["searches"] += 1
            found_list = found.tolist()
            self.search_state[i] = {
                "query": action.query, "page": action.page, "page_size": page_size,
                "total_pages": hit.total_pages,
                "results": [shown[j] for j in found_list],
            }
            seen, first = self.rank_seen[i], (action.page - 1) * page_size + 1
            if seen is None:
                self.rank_seen[i] = seen = {}
            for k, j in enumerate(found_list, first):
                seen.setdefault(ids[j], k)
            agent.last_result = {"ok": True, "action": "search", "count": len(found)}
            self.host.log("search", agent.id, query=action.query, page=action.page, results=[ids[j] for j in found_list])
            if not agent.done:
                self._schedule_wake(agent, 0.0)

    def _send(self, agent: _Agent, action: SendMessage, wake: bool = True) -> float:
        """Check a message against the protocol's rules; if none refuses it, record it and deliver it later.

        Returns how long the sender is busy (its wake is scheduled here only if ``wake``).
        """
        msg = action.message
        kind = msg.kind
        to = self.agents.get(action.to)
        new_contact = to is not None and self._is_new_contact(agent, to)
        # The common case first: no rule refuses a text message to another agent unless a consideration limit is reached.
        if kind != "text" or to is None or to is agent or (new_contact and self.config.search.consideration_limit is not None):
            reason = self._refusal(agent, to, action)
            if reason is not None:
                return self._reject(agent, "send_message", reason, wake)
        now = self._engine.now
        record = new_record(agent.id, to.id, kind, now)   # a plain dict that shares its keys with its kind's (records.py)
        if kind == "text":
            record["text"] = msg.text
        elif kind == "order_proposal":
            self._propose(agent, to, action, record)
        else:  # payment
            p = self.proposals[msg.proposal_id]
            self._pay(agent.index, p)
            record.update(proposal_id=msg.proposal_id, amount=p["record"]["total"], text=msg.text)
        if new_contact:  # only an accepted message puts a business in the consideration set
            self.contacted[agent.index].append(to.id)
            self.inquired_at.setdefault(to.index * len(self.customers) + agent.index, now)
        self._seq += 1
        record["id"] = message_id = f"m{self._seq}"
        self.counts["messages"] += 1
        result = {"ok": True, "action": "send_message", "kind": kind, "message_id": message_id}
        if kind == "text":
            self.host.log("message", agent.id, to=to.id, message_kind=kind, id=message_id)
        else:
            pid = record["proposal_id"]
            if kind == "order_proposal":   # what the business view shows: the items and what the audit found
                result["proposal_id"] = pid
                findings = self.proposals[pid]["audit"]
                extra = {"total": record["total"], "items": record["items"], **({"audit": findings} if findings else {})}
            else:
                extra = {"total": record["amount"]}
            self.host.log("message", agent.id, to=to.id, message_kind=kind, id=message_id, proposal_id=pid, **extra)
        agent.last_result = result
        threads = agent.threads
        thread = threads.get(to.id)
        if thread is None:
            threads[to.id] = thread = []
        thread.append(record)
        delay = action.delay
        latency = self.config.latency
        self._post(to, record, now + (delay + latency.message))
        busy = delay + latency.action
        if wake:
            self._schedule_wake(agent, busy)
        return busy

    # The rules a message must pass, checked in this order; each returns why it is refused, or None.
    # The text before the first ':' of a reason is its key in ``measures.rejections``.
    def _refusal(self, agent: _Agent, to: _Agent | None, action: SendMessage) -> str | None:
        if to is None:
            return f"unknown recipient: no agent {action.to!r}"
        if to is agent:
            return "unknown recipient: cannot message yourself"
        limit = self.config.search.consideration_limit
        if limit is not None and self._is_new_contact(agent, to) and len(self.contacted[agent.index]) >= limit:
            return f"consideration limit: at most {limit} businesses per customer"
        msg = action.message
        if msg.kind == "order_proposal":
            return self._proposal_refusal(agent, to, msg)
        if msg.kind == "payment":
            return self._payment_refusal(agent, to, msg)
        return None

    def _proposal_refusal(self, agent: _Agent, to: _Agent, msg: OrderProposal) -> str | None:
        if agent.is_customer:
            return "not allowed: only businesses send order proposals"
        if not to.is_customer:
            return "not allowed: proposals go to customers"
        if self.config.proposals == "enforce":
            findings = self._audit_findings(agent.index, msg)
            if findings:
                return "bad proposal: " + "; ".join(findings)
        return None

    def _audit_findings(self, j: int, msg: OrderProposal) -> list[str]:
        """What Magentic's analytics flag in a proposal: items not on business ``j``'s menu (with the nearest menu item,
        difflib), unit prices 0.01 or more off the menu's, a total 0.01 or more off the sum of quantity x unit price."""
        menu = self.menus[j]
        findings = []
        total = 0.0
        for item in msg.items:
            total += item.quantity * item.unit_price
            price = menu.get(item.name)
            if price is None:
                near = difflib.get_close_matches(item.name, list(menu), n=1, cutoff=0.0)
                findings.append(f"item not on the menu: {item.name!r} (nearest: {near[0]!r})" if near else
                                f"item not on the menu: {item.name!r}")
            elif abs(item.unit_price - price) >= 0.01 - 1e-9:
                findings.append(f"price: {item.name!r} at {item.unit_price:g}, menu {price:g}")
        if abs(total - msg.total) >= 0.01 - 1e-9:
            findings.append(f"total: {msg.total:g} != sum of items {round(total, 2):g}")
        return findings

    def _payment_refusal(self, agent: _Agent, to: _Agent, msg: Payment) -> str | None:
        if not agent.is_customer:
            return "not allowed: only customers pay"
        p = self.proposals.get(msg.proposal_id)
        if p is None:
            return f"unknown proposal: {msg.proposal_id!r}"
        rec = p["record"]
        if rec["to"] != agent.id:
            return f"unknown proposal: {msg.proposal_id!r} was not sent to you"
        if rec["from"] != to.id:
            return f"wrong recipient: {msg.proposal_id!r} is from {rec['from']}, not {to.id}"
        if rec["paid"]:
            return f"already paid: {msg.proposal_id!r}"
        if rec["expires_at"] is not None and self.host.engine.now > rec["expires_at"]:
            return f"expired proposal: {msg.proposal_id!r} lapsed at t={rec['expires_at']:g}"
        cap = self.config.capacity
        if cap is not None and self.sales[p["business"]] >= cap:
            return f"sold out: {to.id} has filled its {cap} orders"
        return None

    def _is_new_contact(self, agent: _Agent, to: _Agent) -> bool:
        """A customer messaging a business it has not contacted yet (counts against the consideration limit)."""
        return agent.is_customer and not to.is_customer and to.id not in self.contacted[agent.index]

    def _propose(self, agent: _Agent, to: _Agent, action: SendMessage, record: dict[str, Any]) -> None:
        """Record an accepted order proposal (it expires ``expires_in`` after delivery) and the business's response time."""
        msg = action.message
        now = self._engine.now
        self._seq += 1
        pid = f"proposal_{self._seq}"
        record.update(   # an item as its model_dump(), built directly (a pydantic call per item costs more)
            proposal_id=pid, items=[new_item(item.name, item.quantity, item.unit_price) for item in msg.items],
            total=msg.total, text=msg.text,
            expires_at=None if msg.expires_in is None else now + action.delay + self.config.latency.message + msg.expires_in,
            paid=False,
        )
        findings = self._audit_findings(agent.index, msg) or _NO_FINDINGS   # most proposals: one shared empty tuple
        # Five keys, all at once: a dict's smallest table holds five, and one more doubles it (whether paid is the record's)
        self.proposals[pid] = {"record": record, "business": agent.index, "customer": to.index, "audit": findings, "delivered": False}
        self.proposals_sent[agent.index].append(record)
        self.counts["proposals"] += 1
        self._count_audit(agent.index, pid, findings)
        first = self.inquired_at.pop(agent.index * len(self.customers) + to.index, None)   # only a first answer is timed
        if first is not None:
            self.response_times[agent.index].append(now + action.delay - first)

    def _count_audit(self, j: int, pid: str, findings: list[str]) -> None:
        totals = self.audit_totals
        totals["proposals_checked"] += 1
        if not findings:
            return
        totals["invalid_proposals"] += 1
        row = self.audit.get(j)
        if row is None:
            self.audit[j] = row = {"invalid_proposals": 0, "invalid_items": 0, "invalid_prices": 0, "invalid_totals": 0,
                                   "examples": []}
        row["invalid_proposals"] += 1
        for finding in findings:
            key = {"item": "invalid_items", "pric": "invalid_prices", "tota": "invalid_totals"}[finding[:4]]
            row[key] += 1
            totals[key] += 1
        if len(row["examples"]) < AUDIT_EXAMPLES:
            row["examples"].append({"proposal_id": pid, "findings": findings})

    def _pay(self, i: int, p: dict) -> None:
        rec = p["record"]
        rec["paid"] = True
        j = p["business"]
        self.spent[i] += rec["total"]
        self.revenue[j] += rec["total"]
        self.sales[j] += 1
        self.paid[i].append(rec["proposal_id"])
        self.counts["payments"] += 1
        if p["audit"]:
            self.audit_totals["invalid_proposals_paid"] += 1
        seen = self.rank_seen[i]
        rank = None if seen is None else seen.get(self.businesses[j].id)
        key = "unranked" if rank is None else str(rank)
        self.payments_by_rank[key] = self.payments_by_rank.get(key, 0) + 1
        offered = measures_of.offered_items(rec["items"], self.menus[j])   # needs are met by menu items only
        met = measures_of.meets_needs(self.arrays, self.customers[i].menu_features, i, j, offered)
        if met:
            self.satisfied[i] = True
        self.host.log("payment", self.customers[i].id, business=self.businesses[j].id, proposal_id=rec["proposal_id"], amount=rec["total"],
                      needs_met=met)

    def _post(self, to: _Agent, record: dict, t: float) -> None:
        """Deliver ``record`` at ``t``: messages due at the same time share one engine event (most of a decision point's
        messages are due together), delivered in the order they were sent, as one event each would be."""
        due = self._due.get(t)
        if due is None:
            self._due[t] = due = []
            self._engine.schedule(partial(self._deliver_due, t, due), at=t)
        due.append((to, record))

    def _deliver_due(self, t: float, due: list[tuple[_Agent, dict]]) -> None:
        if self._due.get(t) is due:   # messages sent for t from now on get an event of their own, after this one
            del self._due[t]
        deliver = self._deliver
        for to, record in due:
            deliver(to, record)

    def _deliver(self, to: _Agent, record: dict) -> None:
        if to.done:
            return
        if record["kind"] == "order_proposal":
            self.proposals[record["proposal_id"]]["delivered"] = True
            if self.first_proposal[to.index] is None:
                self.first_proposal[to.index] = record["proposal_id"]
        to.mailbox.append(record)
        if to.waiting:
            self._schedule_wake(to, 0.0)

    # ------------------------------------------------------------------ metrics
    def _baselines(self) -> welfare_theory.Baselines:
        a = self.arrays
        return welfare_theory.baselines(a.value, a.cand_customer, a.cand_business, a.cand_price, a.cand_qualifies)

    def _monte_carlo(self) -> dict[str, Any]:
        """Magentic's Monte-Carlo random baselines (1000 seeded draws): median and quartiles, beside the exact means."""
        a = self.arrays
        if len(self.customers) > MONTE_CARLO_CUSTOMERS:   # 1000 draws of every customer: `agora market baselines --monte-carlo`
            return {}
        mc = welfare_theory.random_baselines_monte_carlo(a.value, a.cand_customer, a.cand_price, a.cand_qualifies)
        return {f"{name}_{stat}": round(stats[stat], 2) for name, stats in mc.items() for stat in ("median", "q1", "q3")}

    def metrics(self) -> Metrics:
        a = self.arrays
        utility = np.where(self.satisfied, a.value, 0.0) - self.spent
        welfare = float(utility.sum())
        base = self._baselines()
        payoffs = {c.id: float(u) for c, u in zip(self.customers, utility)}
        payoffs.update({b.id: float(r) for b, r in zip(self.businesses, self.revenue)})
        n_c = len(self.customers)
        paid_any = np.asarray([bool(p) for p in self.paid])
        measures: dict[str, Any] = {
            "welfare_fraction_of_optimal": welfare_theory.welfare_fraction(welfare, base.optimal),
            "customers": n_c,
            "businesses": len(self.businesses),
            "customers_paid": int(paid_any.sum()),
            "customers_satisfied": int(self.satisfied.sum()),
            "customers_finished": int(self.customers_done),
            "customers_out_of_steps": int(self.out_of_steps),
            "revenue": float(self.revenue.sum()),
            "mean_customer_utility": float(utility.mean()) if n_c else 0.0,
            **{k: int(v) for k, v in self.counts.items()},
            "rejections": dict(self.rejections),
            "search_mechanism": self.config.search.mechanism,
            "page_size": self.config.search.page_size,
            "best_candidate_found_share": measures_of.found_share(a, self.search_state, [b.id for b in self.businesses]),
        }
        measures.update(measures_of.first_proposal_measures(
            a, [c.menu_features for c in self.customers], self.proposals, self.first_proposal, self.paid,
            self.response_times, self.revenue, self.menus,
        ))
        if self.config.manipulation is not None:
            measures["manipulation"] = measures_of.manipulation_measures(self.style, self.revenue, self.sales)
        measures["payments_by_business"] = {b.id: int(n) for b, n in zip(self.businesses, self.sales) if n}
        measures["payment_share_by_rank"] = measures_of.shares(self.payments_by_rank)
        measures["audit_summary"] = dict(self.audit_totals)
        measures["audit"] = {self.businesses[j].id: row for j, row in sorted(self.audit.items())}
        opt = base.optimal
        theory = {
            **{k: round(v, 2) for k, v in base.as_dict().items()},
            **{f"{k}_fraction": welfare_theory.welfare_fraction(v, opt) for k, v in base.as_dict().items() if k != "optimal"},
            "customers_without_candidates": base.customers_without_candidates,
            **self._monte_carlo(),
        }
        if self.config.capacity is not None:
            n_pairs = len(self.customers) * len(self.businesses)
            if n_pairs <= 5_000_000:
                total, _ = welfare_theory.capacity_optimum(
                    a.value, a.cand_customer, a.cand_business, a.cand_price, a.cand_qualifies, len(self.businesses), self.config.capacity
                )
                theory["optimal_with_capacity"] = round(total, 2)
                measures["welfare_fraction_of_capacity_optimum"] = welfare_theory.welfare_fraction(welfare, total)
            else:
                theory["optimal_with_capacity"] = None  # the dense assignment is too large; see mechanisms.market_welfare
        return Metrics(payoffs=payoffs, welfare=welfare, measures=measures_of.finite(measures), theory=measures_of.finite(theory))

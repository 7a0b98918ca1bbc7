"""A stored marketplace run as Magentic's analytics report it (``experiments/run_analytics.py``).

``analyze(events, metrics)`` reads only what a run stores: its event log
(``search``, ``message``, ``payment``, ``max_steps`` events, as
``simulator.store.Store.iter_events`` yields them) and its metrics (payoffs,
welfare, theory, measures). It returns one JSON-able report:

* ``customers``: per customer, its searches (query, page, businesses shown),
  messages sent, proposals received, payments (business, amount, whether the
  needs were met, what the audit found in the paid proposal) and utility;
* ``audit``: per business, proposals with items not on the menu (with the
  nearest menu item), unit prices off the menu and wrong totals
  (``measures.audit``), and the totals (``measures.audit_summary``);
* ``summary``: Magentic's final summary (customers who paid, whose needs were
  met, purchase completion rate, total and mean customer utility, searches per
  customer, pages per query, proposals, payments, average proposal and paid
  order value) with welfare beside the baselines.

A run stored without its event log (``run.record_events: false``) gives the
summary and audit from its metrics and no per-customer section.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping


def analyze(events: Iterable[Mapping[str, Any]], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The report (see module docstring) of one run from its events and metrics."""
    measures = metrics.get("measures", {})
    payoffs = metrics.get("payoffs", {})
    customers: dict[str, dict[str, Any]] = {}
    proposals: dict[str, dict[str, Any]] = {}

    def customer(agent_id: str) -> dict[str, Any]:
        row = customers.get(agent_id)
        if row is None:
            customers[agent_id] = row = {"searches": [], "messages_sent": 0, "proposals_received": 0, "payments": [],
                                         "out_of_steps": False}
        return row

    events = list(events)
    seen_events = bool(events)
    # Who is a business: senders of proposals, payees, audited businesses (a text alone does not tell the roles apart).
    businesses = set(measures.get("audit", {})) | set(measures.get("payments_by_business", {}))
    for event in events:
        if event["kind"] == "message" and event["data"]["message_kind"] == "order_proposal":
            businesses.add(event["agent"])
        elif event["kind"] == "payment":
            businesses.add(event["data"]["business"])
    for event in events:
        kind, agent, data = event["kind"], event["agent"], event["data"]
        if kind == "search":
            customer(agent)["searches"].append({"query": data["query"], "page": data["page"], "businesses": data["results"]})
        elif kind == "message":
            if data["message_kind"] == "order_proposal":
                proposals[data["proposal_id"]] = {"business": agent, "customer": data["to"], "total": data["total"],
                                                  "items": data.get("items", []), "audit": data.get("audit", [])}
                customer(data["to"])["proposals_received"] += 1
            elif agent not in businesses and (data["to"] in businesses or agent in customers):
                customer(agent)["messages_sent"] += 1
        elif kind == "payment":
            paid = proposals.get(data["proposal_id"], {})
            customer(agent)["payments"].append({
                "business": data["business"], "proposal_id": data["proposal_id"], "amount": data["amount"],
                "needs_met": data.get("needs_met"), "items": paid.get("items", []), "audit": paid.get("audit", []),
            })
        elif kind == "max_steps":
            customer(agent)["out_of_steps"] = True
    for agent_id, row in customers.items():
        row["utility"] = payoffs.get(agent_id)
        row["needs_met"] = any(p["needs_met"] for p in row["payments"])

    report: dict[str, Any] = {
        "customers": dict(sorted(customers.items())) if seen_events else None,
        "audit": {"by_business": measures.get("audit", {}), "totals": measures.get("audit_summary", {})},
        "summary": summary(customers if seen_events else None, proposals, metrics),
    }
    return report


def summary(customers: Mapping[str, dict] | None, proposals: Mapping[str, dict], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Magentic's final summary, from the per-customer rows when the events were stored, else from the measures."""
    m = metrics.get("measures", {})
    theory = metrics.get("theory", {})
    n = m.get("customers", 0)
    paid, met = m.get("customers_paid", 0), m.get("customers_satisfied", 0)
    welfare = metrics.get("welfare")
    out: dict[str, Any] = {
        "customers": n,
        "customers_who_made_purchases": paid,
        "customers_with_needs_met": met,
        "purchase_completion_rate": 100.0 * paid / n if n else None,
        "total_customer_utility": welfare,
        "average_utility_per_active_customer": welfare / paid if paid and welfare is not None else None,
        "customers_out_of_steps": m.get("customers_out_of_steps", 0),
        "order_proposals_created": m.get("proposals", 0),
        "payments_made": m.get("payments", 0),
        "invalid_proposals": m.get("audit_summary", {}).get("invalid_proposals", 0),
        "invalid_proposals_purchased": m.get("audit_summary", {}).get("invalid_proposals_paid", 0),
        "total_searches": m.get("searches", 0),
        "welfare_fraction_of_optimal": m.get("welfare_fraction_of_optimal"),
        "baselines": {k: theory[k] for k in ("optimal", "cheapest", "random", "random_with_amenities",
                                             "random_median", "random_with_amenities_median") if k in theory},
    }
    if customers is not None:
        searched = [row for row in customers.values() if row["searches"]]
        queries = pages = 0
        for row in searched:
            by_query: dict[str, int] = defaultdict(int)
            for s in row["searches"]:
                by_query[s["query"]] += 1
            queries += len(by_query)
            pages += sum(by_query.values())
        out["searches_per_customer"] = out["total_searches"] / len(searched) if searched else 0.0
        out["pages_per_query"] = pages / queries if queries else 0.0
        totals = [p["total"] for p in proposals.values()]
        paid_totals = [pay["amount"] for row in customers.values() for pay in row["payments"]]
        out["average_proposal_value"] = sum(totals) / len(totals) if totals else None
        out["average_paid_order_value"] = sum(paid_totals) / len(paid_totals) if paid_totals else None
    return out

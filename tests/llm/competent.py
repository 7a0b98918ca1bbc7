"""A "competent" model for the stub server: it reads what it is offered and the conversation, and plays soundly.

``reply(body)`` takes an OpenAI-shaped chat-completions request (the stub
translates Anthropic's Messages requests to this shape first) and returns
``{"content": ..., "tool_calls": [...]}``. What it may do comes from the
request alone: the ``tools`` offered (tools mode), else the ``response_format``
schema, else the readable spec in the system prompt (a plain choice such as
``"action": "cooperate" | "defect"``). What it knows comes from the messages:
the current observation (the last user message's JSON) and, in tools mode,
its own earlier tool calls and their results.

Strategies: in the marketplace a customer's assistant searches for the
requested items, asks up to ``ASK`` businesses whose menu has every item and
every required amenity for a proposal (several messages in one reply where the
model takes several actions), fetches, and pays the cheapest proposal that
covers the request once every business asked has answered (or after
``PATIENCE``); a service proposes the items asked for at menu prices. In the
matrix game it plays tit-for-tat (cooperate first); elsewhere it picks a valid
value for every required field (the first allowed value), which is playable
but not tuned to those worlds.
"""

from __future__ import annotations

import json
import re
from typing import Any

ASK = 5
MAX_PAGES = 3
PATIENCE = 3.0  # simulated time to wait for the last proposals after asking


def observation(body: dict[str, Any]) -> dict[str, Any]:
    """The observation in the last user message (the first JSON object in it)."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            text = message.get("content") or ""
            if isinstance(text, list):
                text = " ".join(str(b.get("text", "")) for b in text if isinstance(b, dict))
            start = text.find("{")
            while start != -1:
                try:
                    value, _ = json.JSONDecoder().raw_decode(text, start)
                    if isinstance(value, dict):
                        return value
                except ValueError:
                    pass
                start = text.find("{", start + 1)
            return {}
    return {}


def past_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    """This agent's earlier tool calls in the conversation, oldest first: {"name", "args"}."""
    calls = []
    for message in body.get("messages", []):
        if message.get("role") == "assistant" and not message.get("tool_calls"):  # a JSON mode's reply
            try:
                data = json.loads(message.get("content") or "")
            except ValueError:
                continue
            actions = data.get("actions", [data.get("action")]) if isinstance(data, dict) else []
            calls += [{"name": a.get("kind"), "args": a} for a in actions if isinstance(a, dict)]
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            try:
                args = json.loads(function.get("arguments") or "{}")
            except ValueError:
                args = {}
            calls.append({"name": function.get("name"), "args": args})
    return calls


def first_value(schema: dict[str, Any]) -> Any:
    """A valid value for a (compact) schema: the first allowed option, the lower bound, a short string."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"] or schema["anyOf"]
        return first_value(options[0])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", list(schema.get("properties", {})))
        return {name: first_value(sub) for name, sub in schema.get("properties", {}).items() if name in required}
    if kind == "array":
        return [first_value(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return low + (1 if "exclusiveMinimum" in schema else 0)
    if kind == "boolean":
        return False
    if kind == "string":
        return "ok"
    return None


# --------------------------------------------------------------------------- what is offered


class Offer:
    """The actions a request offers: tool names and parameters, or the JSON shape to reply with."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.tools = {t["function"]["name"]: t["function"].get("parameters") or {} for t in body.get("tools") or []}
        self.parallel = bool(body.get("parallel_tool_calls", True))
        fmt = body.get("response_format") or {}
        self.schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else fmt.get("schema")
        self.spec = "" if self.tools or self.schema else "\n".join(
            str(m.get("content") or "") for m in body.get("messages", []) if m.get("role") == "system")

    def kinds(self) -> list[str]:
        if self.tools:
            return list(self.tools)
        if self.schema:
            union = next(iter(self.schema.get("properties", {}).values()), {})
            union = union.get("items", union)
            return [o["properties"]["kind"]["const"] for o in union.get("anyOf", []) if "kind" in o.get("properties", {})]
        return re.findall(r'\{"kind": "(\w+)"', self.spec)

    def field(self) -> str:
        if self.schema:
            return next(iter(self.schema.get("properties", {})), "action")
        found = re.search(r'Reply with one JSON object \{(?:"reason"\?: [^,]+, )?"(\w+)"', self.spec)
        return found.group(1) if found else "action"

    def several(self) -> bool:
        if self.tools:
            return self.parallel
        if self.schema:
            return next(iter(self.schema.get("properties", {}).values()), {}).get("type") == "array"
        return ": [A, ...]" in self.spec


def answer(offer: Offer, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Actions ``[{"kind": ..., **args}]`` as the reply the offer asks for (tool calls or JSON text)."""
    kinds = set(offer.kinds())
    actions = [a for a in actions if a["kind"] in kinds] or [{"kind": k} for k in offer.kinds()[:1]]
    if not offer.several():
        actions = actions[:1]
    if offer.tools:
        calls = [{"name": a["kind"], "arguments": json.dumps({k: v for k, v in a.items() if k != "kind"})} for a in actions]
        return {"content": None, "tool_calls": calls}
    value = actions if offer.several() else actions[0]
    return {"content": json.dumps({offer.field(): value}), "tool_calls": None}


# --------------------------------------------------------------------------- strategies


AMENITIES = re.compile(r"^Amenities: (.*)$", re.MULTILINE)


def _received(obs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Messages received, per sender: the threads (kept per counterparty) and the latest fetch."""
    me = obs.get("you")
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for thread in (obs.get("threads") or {}).values():
        for m in thread:
            if m.get("from") != me and m.get("id") not in seen:
                seen.add(m.get("id"))
                out.setdefault(m["from"], []).append(m)
    for m in obs.get("messages") or []:
        if m.get("id") not in seen:
            seen.add(m.get("id"))
            out.setdefault(m["from"], []).append(m)
    return out


def marketplace_customer(obs: dict[str, Any], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search, ask the top results (several at once), pay the cheapest proposal that meets every need, finish."""
    if obs.get("paid"):
        return [{"kind": "finish"}]
    request = obs["request"]
    wanted, required = set(request["items"]), set(request.get("amenities") or [])
    now = obs.get("time", 0.0)
    search = obs.get("search") or {}
    received = _received(obs)
    told: dict[str, set[str]] = {}
    for sender, messages in received.items():
        for m in messages:
            found = AMENITIES.search(m.get("text") or "")
            if found:
                told[sender] = {a.strip() for a in found.group(1).split(";") if a.strip() and a.strip() != "none"}
    for hit in search.get("results") or []:  # 'full' visibility shows amenities in the hits
        if "amenities" in hit:
            told.setdefault(hit["id"], set(hit["amenities"]))
    refused = {r.get("proposal_id") for r in (obs.get("last_results") or [obs.get("last_result")]) if isinstance(r, dict) and r.get("ok") is False}
    live = [q for q in obs.get("proposals") or []
            if not q.get("paid") and (q.get("expires_at") is None or q["expires_at"] >= now) and q["proposal_id"] not in refused
            and wanted <= {i["name"] for i in q["items"]} and required <= told.get(q["from"], set())]
    contacted = list(obs.get("contacted") or [])
    pending = [b for b in contacted if b not in received]
    patience_over = _waited(calls)
    if live and (not pending or patience_over):
        best = min(live, key=lambda q: (q["total"], q["from"]))
        return [{"kind": "send_message", "to": best["from"], "message": {"kind": "payment", "proposal_id": best["proposal_id"]}}]
    if obs.get("unread"):
        return [{"kind": "fetch_messages"}]
    if not search:
        return [{"kind": "search", "query": ", ".join(sorted(wanted))}]
    fresh = [h["id"] for h in search.get("results") or [] if h["id"] not in contacted and (
        "menu" not in h or wanted <= set(h["menu"]))]
    if not live and (not pending or patience_over):
        if fresh:
            text = ("Please send an order proposal for: " + ", ".join(sorted(wanted))
                    + (". Do you have: " + "; ".join(sorted(required)) + "?" if required else ""))
            return [{"kind": "send_message", "to": b, "message": {"kind": "text", "text": text}} for b in fresh[:ASK]]
        if search.get("page", 1) < min(search.get("total_pages", 1), MAX_PAGES):
            return [{"kind": "search", "query": search["query"], "page": search.get("page", 1) + 1}]
        return [{"kind": "finish"}]
    return [{"kind": "wait", "timeout": 1.0}]


def _waited(calls: list[dict[str, Any]]) -> bool:
    """``PATIENCE`` waits since the last messages went out (the conversation says; without one, patience is over)."""
    asked_at = max((i for i, c in enumerate(calls) if c["name"] == "send_message"), default=None)
    if asked_at is None:
        return True
    return sum(1 for c in calls[asked_at:] if c["name"] == "wait") >= PATIENCE


def marketplace_business(obs: dict[str, Any], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer every customer whose last word is unanswered: a proposal at menu prices, and the amenities."""
    if obs.get("unread"):
        return [{"kind": "fetch_messages"}]
    me, profile = obs.get("you"), obs["profile"]
    menu, amenities = profile["menu"], profile.get("amenities") or []
    threads = obs.get("threads") or {}
    if threads:
        waiting = [(who, thread[-1]) for who, thread in threads.items() if thread and thread[-1].get("from") != me]
    else:  # no threads: the latest fetch, less those answered since (the conversation's own calls)
        last_fetch = max((i for i, c in enumerate(calls) if c["name"] == "fetch_messages"), default=-1)
        served = {c["args"].get("to") for c in calls[last_fetch + 1:] if c["name"] == "send_message"}
        waiting = [(m["from"], m) for m in obs.get("messages") or [] if m["from"] not in served]
    out = []
    for who, message in waiting:
        if message.get("kind") != "text":
            continue
        asked = [n.strip() for n in message.get("text", "").partition("for: ")[2].split(". ")[0].split(",")]
        names = [n for n in asked if n in menu]
        line = "Amenities: " + ("; ".join(amenities) or "none")
        if not names or len(names) < len([n for n in asked if n]):
            out.append({"kind": "send_message", "to": who, "message": {"kind": "text", "text": "Sorry, we do not have all of that.\n" + line}})
            continue
        items = [{"name": n, "quantity": 1, "unit_price": float(menu[n])} for n in names]
        total = round(sum(i["unit_price"] for i in items), 2)
        out.append({"kind": "send_message", "to": who,
                    "message": {"kind": "order_proposal", "items": items, "total": total, "text": line}})
    return out or [{"kind": "wait"}]


def matrix_game(obs: dict[str, Any], options: list[str]) -> str:
    """Tit-for-tat: cooperate first, then copy what the opponent last played (if the observation says)."""
    history = obs.get("history") or []
    nice = next((o for o in options if o.startswith("coop")), options[0])
    if history and isinstance(history[-1], dict):
        theirs = [v for k, v in history[-1].items() if k not in (obs.get("you"), "you", "round") and isinstance(v, str)]
        if theirs and theirs[0] in options:
            return theirs[0]
    return nice


def reply(body: dict[str, Any]) -> dict[str, Any]:
    offer = Offer(body)
    obs = observation(body)
    calls = past_calls(body)
    if obs.get("role") == "customer" and "request" in obs:
        return answer(offer, marketplace_customer(obs, calls))
    if obs.get("role") == "business" and "profile" in obs:
        return answer(offer, marketplace_business(obs, calls))
    return answer_plain(offer, obs)


def answer_plain(offer: Offer, obs: dict[str, Any]) -> dict[str, Any]:
    """Any other world: a valid value for each required field (tit-for-tat where the choice is cooperate/defect)."""
    if offer.tools:
        name, params = next(iter(offer.tools.items()))
        args = first_value(params)
        options = (params.get("properties", {}).get("action") or {}).get("enum")
        if options:
            args["action"] = matrix_game(obs, options)
        return {"content": None, "tool_calls": [{"name": name, "arguments": json.dumps(args)}]}
    if offer.schema:
        value = first_value(offer.schema)
        options = (offer.schema.get("properties", {}).get("action") or {}).get("enum")
        if options:
            value["action"] = matrix_game(obs, options)
        return {"content": json.dumps(value), "tool_calls": None}
    # the readable spec: {"field": "a" | "b", ...} -> the first option of every field it lists
    template = re.search(r"Reply with one JSON object: (\{.*\})", offer.spec)
    value: dict[str, Any] = {}
    for name, options in re.findall(r'"(\w+)": ((?:"[^"]*"(?: \| )?)+)', template.group(1) if template else ""):
        choices = re.findall(r'"([^"]*)"', options)
        value[name] = matrix_game(obs, choices) if name == "action" else choices[0]
    return {"content": json.dumps(value), "tool_calls": None}

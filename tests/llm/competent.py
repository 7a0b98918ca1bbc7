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
covers the request and whose business said it has every required amenity,
once every business asked has answered (or after ``PATIENCE``); a service
proposes the items asked for at menu prices and states its amenities. In the
matrix game it plays tit-for-tat, in social learning the Bayesian action
(public belief and its own signal), in the off-switch game the robot defers
and the human switches off a harmful action, in information design agents
obey the recommendation and report truthfully, in public goods they
contribute everything; any other field gets its first allowed value.
"""

from __future__ import annotations

import json
import re
from typing import Any

ASK = 5
MAX_PAGES = 3
PATIENCE = 1.5  # simulated time to wait for the last answers after asking


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
            union = self._action_field()
            union = union.get("items", union)
            return [o["properties"]["kind"]["const"] for o in union.get("anyOf", []) if "kind" in o.get("properties", {})]
        return re.findall(r'\{"kind": "(\w+)"', self.spec)

    def _action_field(self) -> dict[str, Any]:
        """The schema's action field (the one property that is not the optional 'reason')."""
        return next((sub for name, sub in self.schema.get("properties", {}).items() if name != "reason"), {})

    def field(self) -> str:
        if self.schema:
            return next((name for name in self.schema.get("properties", {}) if name != "reason"), "action")
        found = re.search(r'Reply with one JSON object \{(?:"reason"\?: [^,]+, )?"(\w+)"', self.spec)
        return found.group(1) if found else "action"

    def several(self) -> bool:
        if self.tools:
            return self.parallel
        if self.schema:
            return self._action_field().get("type") == "array"
        return ": [A, ...]" in self.spec


def answer(offer: Offer, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Actions ``[{"kind": ..., **args}]`` as the reply the offer asks for (tool calls or JSON text)."""
    kinds = set(offer.kinds())
    actions = [a for a in actions if a["kind"] in kinds] or [{"kind": k} for k in offer.kinds()[:1]]
    if not offer.several():
        actions = actions[:1]
    if offer.tools:
        calls = []
        for a in actions:
            args = {k: v for k, v in a.items() if k != "kind"}
            if "reason" in (offer.tools[a["kind"]].get("properties") or {}):
                args = {"reason": f"{a['kind']} is the next step of the plan", **args}
            calls.append({"name": a["kind"], "arguments": json.dumps(args)})
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
        for m in thread if isinstance(thread, list) else []:  # a context-cut observation has markers among them
            if "from" in m and m.get("from") != me and m.get("id") not in seen:
                seen.add(m.get("id"))
                out.setdefault(m["from"], []).append(m)
    for m in obs.get("messages") or []:
        if "from" in m and m.get("id") not in seen:
            seen.add(m.get("id"))
            out.setdefault(m["from"], []).append(m)
    return out


def marketplace_customer(obs: dict[str, Any], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search, ask the top results (several at once), pay the cheapest proposal that meets every need, finish.

    The prompt's observation holds the conversation once, in ``threads`` (``agents.llm.prompts.REPEATED_KEYS``):
    what was paid, the proposals received and the businesses contacted are read from there.
    """
    me = obs.get("you")
    threads = {who: thread for who, thread in (obs.get("threads") or {}).items() if isinstance(thread, list)}
    if obs.get("paid") or any(m.get("kind") == "payment" and m.get("from") == me for thread in threads.values() for m in thread):
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
    proposals = obs.get("proposals") or [m for ms in received.values() for m in ms if m.get("kind") == "order_proposal"]
    live = [q for q in proposals if "proposal_id" in q
            if not q.get("paid") and (q.get("expires_at") is None or q["expires_at"] >= now) and q["proposal_id"] not in refused
            and wanted <= {i["name"] for i in q["items"]} and required <= told.get(q["from"], set())]
    contacted = list(obs.get("contacted") or threads)
    pending = [b for b in contacted if b not in received]
    patience_over = _waited(obs)
    if live and (not pending or patience_over):
        best = min(live, key=lambda q: (q["total"], q["from"]))
        return [{"kind": "send_message", "to": best["from"], "message": {"kind": "payment", "proposal_id": best["proposal_id"]}}]
    if obs.get("unread"):
        return [{"kind": "fetch_messages"}]
    if not search:
        return [{"kind": "search", "query": ", ".join(sorted(wanted))}]
    fresh = [h["id"] for h in search.get("results") or [] if "id" in h and h["id"] not in contacted and (
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


def _waited(obs: dict[str, Any]) -> bool:
    """``PATIENCE`` simulated time has passed since this agent last sent a message (its threads say when)."""
    me = obs.get("you")
    sent = [m.get("sent_at", 0.0) for thread in (obs.get("threads") or {}).values() if isinstance(thread, list)
            for m in thread if isinstance(m, dict) and m.get("from") == me]
    return not sent or obs.get("time", 0.0) - max(sent) >= PATIENCE


def marketplace_business(obs: dict[str, Any], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer every customer whose last word is unanswered: a proposal at menu prices, and the amenities."""
    if obs.get("unread"):
        return [{"kind": "fetch_messages"}]
    me, profile = obs.get("you"), obs["profile"]
    menu, amenities = profile["menu"], profile.get("amenities") or []
    threads = obs.get("threads") or {}
    if threads:
        waiting = [(who, thread[-1]) for who, thread in threads.items()
                   if isinstance(thread, list) and thread and thread[-1].get("from") not in (me, None)]
    else:  # no threads: the latest fetch, less those answered since (the conversation's own calls)
        last_fetch = max((i for i, c in enumerate(calls) if c["name"] == "fetch_messages"), default=-1)
        served = {c["args"].get("to") for c in calls[last_fetch + 1:] if c["name"] == "send_message"}
        waiting = [(m["from"], m) for m in obs.get("messages") or [] if "from" in m and m["from"] not in served]
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


def sound_choice(field: str, options: list[Any], obs: dict[str, Any]) -> Any:
    """A sensible value of one enumerated field, by what the observation shows (the first option otherwise)."""
    if field == "action" and "history" in obs and "player" in obs:  # matrix game: tit-for-tat
        nice = next((o for o in options if str(o).startswith("coop")), options[0])
        history, me = obs.get("history") or [], obs["player"]
        if history and len(history[-1]) > 1:
            theirs = history[-1][1 - me] if me in (0, 1) else history[-1][0]
            return theirs if theirs in options else nice
        return nice
    if field == "action" and "signal" in obs:  # social learning: the public belief updated by one's own signal
        belief, q, signal = obs.get("public_belief"), float(obs.get("precision") or 0.5), int(obs["signal"])
        if belief is None:
            return signal if signal in options else options[0]
        like = q if signal == 1 else 1 - q
        posterior = belief * like / (belief * like + (1 - belief) * (1 - like))
        return signal if abs(posterior - 0.5) < 1e-12 else int(posterior > 0.5)
    if field == "choice" and "wait" in options:  # off-switch robot: defer to the human
        return "wait"
    if field == "decision" and "utility" in obs:  # off-switch human: switch off a harmful action
        return "switch_off" if float(obs["utility"]) < 0 else next(o for o in options if o != "switch_off")
    if field == "effort" and obs.get("recommended") in options:  # information design: obey the recommendation
        return obs["recommended"]
    if field == "report" and obs.get("signal") in options:  # ... and report truthfully
        return obs["signal"]
    return options[0]


def sound_value(schema: dict[str, Any], obs: dict[str, Any]) -> Any:
    """A valid, sensible value for an object schema: enumerated fields by ``sound_choice``, numbers at their maximum."""
    value = first_value(schema)
    if not isinstance(value, dict):
        return value
    for name, sub in (schema.get("properties") or {}).items():
        if "enum" in sub:
            value[name] = sound_choice(name, sub["enum"], obs)
        elif name == "contribution" and "maximum" in sub:  # public goods: contribute (cooperation pays the group)
            value[name] = sub["maximum"]
    return value


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
    """Any other world: a valid value for each required field, chosen by ``sound_value``."""
    if offer.tools:
        name, params = next(iter(offer.tools.items()))
        args = sound_value(params, obs)
        return {"content": None, "tool_calls": [{"name": name, "arguments": json.dumps(args)}]}
    if offer.schema:
        return {"content": json.dumps(sound_value(offer.schema, obs)), "tool_calls": None}
    # the readable spec: {"field": "a" | "b", ...} -> a sensible option of every field it lists
    template = re.search(r"Reply with one JSON object: (\{.*\})", offer.spec)
    value: dict[str, Any] = {}
    for name, options in re.findall(r'"(\w+)": ((?:"[^"]*"(?: \| )?)+)', template.group(1) if template else ""):
        value[name] = sound_choice(name, re.findall(r'"([^"]*)"', options), obs)
    return {"content": json.dumps(value), "tool_calls": None}

"""Remote agents written here (HTTP servers on 127.0.0.1) play full runs: public goods and the marketplace.

The agents know the world only through the v1 requests (observation, rules,
action schema and shape), as an agent written in another framework would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from simulator.run import build_simulation, stored_run
from simulator.scenario import load_scenario_text
from simulator.store import Store
from tests.remote.conftest import reply

ROOT = Path(__file__).resolve().parents[2]
AGORA = str(Path(sys.executable).with_name("agora"))
GIVE = 3.0  # what the public-goods agent contributes every round


def public_goods_agent(request: dict) -> dict:
    """Contribute GIVE in the contribution phase; the least action (an empty dict's fields) otherwise."""
    assert request["v"] == 1 and request["world"] == "public_goods"
    assert request["rules"] and request["agent"]["role"]
    assert request["observation"]["me"] == request["agent"]["id"]
    assert "contribution" in request["action"]["schema"]["properties"]
    return reply(request, {"contribution": min(GIVE, request["observation"]["endowment"])})


def scenario(world: dict, agents: dict, **blocks) -> str:
    return yaml.safe_dump({"name": "remote_test", "seed": 1, "world": world, "agents": agents, **blocks})


PUBLIC_GOODS = {"type": "public_goods", "players": ["ann", "ben", "cat"], "endowment": 10, "step": 1,
                "multiplier": 1.6, "rounds": 3}


def test_a_remote_agent_plays_a_public_goods_run_and_its_exchanges_are_the_transcript(agent_server, tmp_path):
    server = agent_server(public_goods_agent)
    text = scenario(PUBLIC_GOODS, {"default": {"policy": "remote", "params": {"url": server.url}}})
    store = Store(tmp_path / "agora.db")
    run_id, result = stored_run(load_scenario_text(text), text, store)
    assert result.status == "finished", result.reason
    assert result.counters["fallbacks"] == 0
    assert result.metrics["remote"] == {"decisions": 9, "own_decisions": 9, "own_share": 1.0, "fallback_share": 0.0, "failures": {}}
    # Each player kept 10 - 3 and got 1.6 * 9 / 3 back, three rounds: what the world computes from the agents' own actions.
    for player in ("ann", "ben", "cat"):
        assert abs(result.metrics["payoffs"][player] - 3 * (10 - GIVE + 1.6 * 3 * GIVE / 3)) < 1e-9
    assert len(server.requests) == 9
    decisions = sorted((r["agent"]["id"], r["decision"]) for r in server.requests)
    assert decisions == [(p, d) for p in ("ann", "ben", "cat") for d in range(3)]
    # Same-time decisions went out as one batch: all three players of a round were asked at the same simulated time.
    assert len({r["time"] for r in server.requests}) == 3
    rows = store.transcript(run_id)
    assert len(rows) == 9 and {r["agent"] for r in rows} == {"ann", "ben", "cat"}
    assert all(r["action"] == {"contribution": GIVE} and r["error"] is None and r["url"] == server.url for r in rows)
    assert json.loads(rows[0]["messages"][0]["content"])["action"]["shape"] == "plain"
    shown = subprocess.run([AGORA, "runs", "transcript", run_id, "--db", str(tmp_path / "agora.db"), "--agent", "ben"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("action: {\"contribution\": 3.0}") == 3


def test_the_cli_runs_a_remote_scenario_and_prints_the_remote_counters(agent_server, tmp_path):
    server = agent_server(public_goods_agent)
    path = tmp_path / "pg.yaml"
    path.write_text(scenario(PUBLIC_GOODS, {"ann": {"policy": "remote", "params": {"url": server.url}}, "default": "free_rider"}))
    done = subprocess.run([AGORA, "run", str(path), "--db", str(tmp_path / "agora.db")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "remote decisions: 3, the agents' own 3 (100.0%), failed 0; 3 requests, 0 retries" in done.stdout


class Market:
    """A marketplace agent for both roles: customers search, ask two businesses, pay the first live proposal;
    businesses answer each inquiry with a proposal for the menu items it names, at menu prices."""

    def __init__(self) -> None:
        self.state: dict[str, dict] = {}
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()

    def __call__(self, request: dict) -> dict:
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            time.sleep(0.02)  # a thinking agent: lets same-time requests overlap
            obs = request["observation"]
            assert request["action"]["shape"] in ("choice", "several"), request["action"]
            me = self.state.setdefault(request["agent"]["id"], {"waits": 0, "seen": set(), "queue": []})
            actions = self.customer(request, obs, me) if request["agent"]["role"] == "customer" else self.business(request, obs, me)
            return reply(request, *actions)
        finally:
            with self.lock:
                self.inflight -= 1

    @staticmethod
    def customer(request: dict, obs: dict, me: dict) -> list[dict]:
        several = request["action"]["shape"] == "several"
        if obs["paid"]:
            return [{"kind": "finish"}]
        live = [q for q in obs["proposals"] if q.get("expires_at") is None or q["expires_at"] >= obs["time"]]
        if live and '"payment"' in json.dumps(request["action"]["schema"]):
            pay = {"kind": "send_message", "to": live[0]["from"], "message": {"kind": "payment", "proposal_id": live[0]["proposal_id"]}}
            return [pay, {"kind": "wait", "timeout": 1.0}] if several else [pay]
        if obs["unread"]:
            return [{"kind": "fetch_messages"}]
        wanted = list(obs["request"]["items"])
        if obs["search"] is None:
            return [{"kind": "search", "query": ", ".join(wanted)}]
        targets = [r["id"] for r in obs["search"]["results"] if r["id"] not in obs["contacted"]][: max(0, 2 - len(obs["contacted"]))]
        text = "Hello! I would like to order: " + ", ".join(wanted) + ". Please send an order proposal."
        asks = [{"kind": "send_message", "to": b, "message": {"kind": "text", "text": text}} for b in targets]
        if asks:
            return asks + [{"kind": "wait", "timeout": 1.0}] if several else asks[:1]
        me["waits"] += 1
        return [{"kind": "finish"}] if me["waits"] > 20 else [{"kind": "wait", "timeout": 1.0}]

    @staticmethod
    def business(request: dict, obs: dict, me: dict) -> list[dict]:
        for m in obs["messages"]:
            if m["id"] not in me["seen"]:
                me["seen"].add(m["id"])
                if m["kind"] == "text":
                    me["queue"].append(m)
        proposals = []
        while me["queue"]:
            inquiry = me["queue"].pop(0)
            items = [{"name": name, "quantity": 1, "unit_price": price} for name, price in obs["profile"]["menu"].items()
                     if name.lower() in inquiry["text"].lower()]
            message = ({"kind": "order_proposal", "items": items, "total": round(sum(i["unit_price"] for i in items), 2)}
                       if items else {"kind": "text", "text": "Sorry, we do not sell those items."})
            proposals.append({"kind": "send_message", "to": inquiry["from"], "message": message})
            if request["action"]["shape"] != "several":
                break
        if proposals:
            return proposals
        return [{"kind": "fetch_messages"}] if obs["unread"] else [{"kind": "wait"}]


def test_remote_agents_play_a_full_marketplace_run_in_every_seat(agent_server, tmp_path):
    market = Market()
    server = agent_server(market)
    seat = {"policy": "remote", "params": {"url": server.url}}
    world = {"type": "marketplace", "data": str(ROOT / "tests/data/magentic/mexican_10_30"),
             "search": {"mechanism": "lexical", "page_size": 10}}
    text = scenario(world, {"customer": seat, "business": seat}, remote={"max_concurrency": 3})
    store = Store(tmp_path / "agora.db")
    run_id, result = stored_run(load_scenario_text(text), text, store)
    assert result.status == "finished", result.reason
    assert result.counters["fallbacks"] == 0 and result.metrics["remote"]["own_share"] == 1.0
    customers = [a for a, s in market.state.items() if a.startswith("customer")]
    assert len(customers) == 10
    payments = [r for r in server.requests if r["agent"]["role"] == "customer" and r["observation"]["paid"]]
    assert {r["agent"]["id"] for r in payments} == set(customers), "every customer paid (and was asked once more after)"
    assert result.metrics["welfare"] > 0
    assert 2 <= market.max_inflight <= 3  # same-time decisions went out together, never more than max_concurrency
    kinds = {json.loads(r["messages"][0]["content"])["agent"]["role"] for r in store.transcript(run_id)}
    assert kinds == {"customer", "business"}


def test_a_marketplace_run_does_not_depend_on_concurrency_or_network_timing(agent_server):
    """The same agent at concurrency 1 and 3 (requests answered in different orders): the same event log and metrics."""
    world = {"type": "marketplace", "data": str(ROOT / "tests/data/magentic/mexican_10_30"),
             "search": {"mechanism": "lexical", "page_size": 10}}
    logs = []
    for bound in (1, 3):
        server = agent_server(Market())
        seat = {"policy": "remote", "params": {"url": server.url}}
        sim = build_simulation(load_scenario_text(scenario(world, {"customer": seat, "business": seat},
                                                          remote={"max_concurrency": bound})), 1)
        result = sim.run()
        assert result.status == "finished", result.reason
        logs.append(([e[1:] for e in sim.events], result.metrics))
    assert logs[0] == logs[1]


def test_a_decision_window_sends_staggered_decisions_together(agent_server):
    """remote.batch_window: decisions due within one window go out as one batch (fewer, larger batches)."""
    world = {"type": "marketplace", "data": str(ROOT / "tests/data/magentic/mexican_10_30"),
             "search": {"mechanism": "lexical", "page_size": 10}}
    batches = {}
    for window in (0.0, 2.0):
        server = agent_server(Market())
        seat = {"policy": "remote", "params": {"url": server.url}}
        sim = build_simulation(load_scenario_text(scenario(world, {"customer": seat, "business": seat},
                                                          remote={"batch_window": window})), 1)
        assert sim.batch_window == window
        result = sim.run()
        assert result.status == "finished" and result.counters["fallbacks"] == 0, result.reason
        batches[window] = len({r["time"] for r in server.requests})  # one send time per batch
    assert batches[2.0] < batches[0.0]

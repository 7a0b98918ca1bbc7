"""``policy: remote`` — an agent that lives behind an HTTP endpoint decides for a seat, in any world.

Each decision is POSTed to the seat's ``url`` as one JSON request (the agent's
id and role, the world's rules, the observation, the action model's JSON
Schema and shape; ``agents/remote/wire.py``, docs/remote_agents.md) and the
action in the reply is validated against the action model. The failure policy
is the LLM policy's (``agents/llm/README.md``), so a remote run can be trusted
the same way:

* HTTP 429, 5xx, timeouts and dropped connections are retried (``retries``);
  a reply that is not a valid action is asked for once more with the
  validation error (``reask``); a decision that still has no valid action has
  *failed*, counted under one cause: ``parse`` (not a v1 JSON reply),
  ``schema`` (an action the model rejects), ``timeout``, ``http_4xx``,
  ``http_5xx`` or ``connection``.
* ``remote.on_error: fail`` ends the run ``failed`` at the first failed
  decision; ``fallback`` (default) lets the host play the world's default
  action (a ``fallback`` event with the cause), and at the end a share of
  failed decisions above ``remote.max_fallback_share`` (default 0) turns
  ``finished`` into ``degraded``.
* An endpoint that no attempt could connect to ends the run ``failed`` at once.

Concurrency: every remote seat of a run shares one ``RemoteRun`` (a per-run
resource, the policy's ``batch_key``), so the host hands it all remote
decisions of a decision point (or of a ``remote.batch_window``) at once; they
go out concurrently, at most ``remote.max_concurrency`` in flight, and come
back in request order, so the run never depends on network timing.

Each request and reply is stored with the run (``seat.record_exchange``), so
``agora runs transcript RUN`` shows it. Counters: ``remote_decisions``,
``remote_failed`` and ``remote_failed_<cause>``, ``remote_requests`` (HTTP
attempts), ``remote_retries``, ``remote_invalid_replies``, ``remote_reasks``,
``remote_latency_ms``. ``metrics.remote`` holds the decisions, the agents' own
share and the failures by cause. The event log gets ``remote_error`` and
``remote_invalid_reply`` events (with the cause), never latencies, so the same
replies give the same event log.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Mapping

import numpy as np
from pydantic import BaseModel

from agents.llm.client import run_soon, run_sync
from agents.policy import Request, SeatContext
from agents.registry import Example, register
from agents.remote.client import Answer, RemoteCallError, RemoteClient
from agents.remote.config import RemoteRunSettings, RemoteSettings
from agents.remote.wire import InvalidReply, encode, parse_reply, request
from agents.run_settings import PolicyRun, SeatOfRun, describe_failures, failure_counts
from simulator.errors import InvalidInput, Stopped

FAILURE_KINDS = ("parse", "schema", "timeout", "http_4xx", "http_5xx", "connection")
COUNTERS = (
    "remote_decisions", "remote_failed", *(f"remote_failed_{kind}" for kind in FAILURE_KINDS),
    "remote_requests", "remote_retries", "remote_invalid_replies", "remote_reasks", "remote_latency_ms",
)
RESOURCE_KEY = "agents.remote.run"


class RemoteEndpointDown(Stopped):
    """No attempt of a request ever connected: the agent's server is down or the URL is wrong; the run cannot go on."""


def counter_lines(counters: Mapping[str, Any]) -> list[str]:
    """What the CLI prints about a run's remote counters (the registry entry's ``describe_counters``)."""
    decisions = counters.get("remote_decisions")
    if not decisions:
        return []
    failed = counters.get("remote_failed", 0)
    causes = failure_counts(counters, "remote", FAILURE_KINDS)
    return [
        f"remote decisions: {decisions}, the agents' own {decisions - failed} ({(decisions - failed) / decisions:.1%}), "
        f"failed {failed}" + (f" ({describe_failures(causes)})" if causes else "")
        + f"; {counters.get('remote_requests', 0)} requests, {counters.get('remote_retries', 0)} retries, "
        f"{counters.get('remote_invalid_replies', 0)} invalid replies, {counters.get('remote_reasks', 0)} re-asks"
    ]


def examples(folder: Any) -> dict[str | None, Example]:
    """For the policy-contract test: the packaged reference agent (``agents/remote/reference.py``) on loopback."""
    from agents.remote import reference  # a server: started only when examples are asked for

    return {None: Example(params={"url": reference.shared_url(), "timeout": 60})}


class RemoteRun(PolicyRun):
    """What the remote seats of one run share: settings, clients, counters, decision numbers (``agents.run_settings``)."""

    resource_key = RESOURCE_KEY
    settings_class = RemoteRunSettings
    counter_names = COUNTERS
    failure_kinds = FAILURE_KINDS
    prefix = "remote"
    label = "remote"
    seats: dict[str, "RemotePolicy"]

    def __init__(self, settings: RemoteRunSettings, seat: SeatContext | None = None) -> None:
        super().__init__(settings, seat)
        self.world_type = seat.world_type if seat is not None else "game"

    # ------------------------------------------------------------------ decisions
    def decide(self, requests: list[Request]) -> list[Any]:
        """Actions for one batch of requests, in request order (exceptions mark the failed ones)."""
        self.counters["remote_decisions"] += len(requests)
        numbers = self.next_numbers(requests)
        try:
            results = self._ask(requests, numbers, [0] * len(requests), [None] * len(requests))
            again = [i for i, r in enumerate(results) if isinstance(r, InvalidReply) and self.seats[requests[i][0]].params.reask]
            if again:
                self.counters["remote_reasks"] += len(again)
                second = self._ask([requests[i] for i in again], [numbers[i] for i in again], [1] * len(again),
                                   [str(results[i]) for i in again])
                for i, result in zip(again, second):
                    results[i] = result
        except RemoteEndpointDown:
            self.count_failures("connection", len(requests))
            raise
        return self.settle(requests, results)

    def _ask(self, requests: list[Request], numbers: list[int], attempts: list[int], errors: list[str | None]) -> list[Any]:
        """One HTTP exchange per request, concurrently; each result an action or the exception saying why not."""
        seat = self.seat_context()
        now = self.now()
        bodies = []
        for (agent_id, observation, model), number, attempt, error in zip(requests, numbers, attempts, errors):
            policy = self.seats[agent_id]
            bodies.append(request(
                world=self.world_type, time=now, agent_id=agent_id, role=policy.role, decision=number, attempt=attempt,
                error=error, rules=policy.rules(), observation=observation, model=model,
            ))
        payloads = [encode(body) for body in bodies]
        outcomes = run_sync(self._fetch([self.seats[agent_id].params for agent_id, _, _ in requests], payloads))
        results: list[Any] = []
        unreachable: RemoteCallError | None = None
        for (agent_id, _, model), outcome, payload, number, attempt in zip(requests, outcomes, payloads, numbers, attempts):
            if isinstance(outcome, Answer):
                self.counters["remote_requests"] += outcome.attempts
                self.counters["remote_retries"] += outcome.attempts - 1
                self.counters["remote_latency_ms"] = round(self.counters["remote_latency_ms"] + outcome.latency_ms, 1)
                try:
                    result, reason = parse_reply(outcome.body, model)
                except InvalidReply as invalid:
                    self.counters["remote_invalid_replies"] += 1
                    self.log("remote_invalid_reply", agent_id, cause=invalid.kind, error=str(invalid)[:500], reask=attempt > 0)
                    result, reason = invalid, None
            else:
                self.counters["remote_requests"] += outcome.attempts
                self.counters["remote_retries"] += outcome.attempts - 1
                self.log("remote_error", agent_id, cause=outcome.kind, error=str(outcome)[:500])
                unreachable = unreachable or (outcome if outcome.unreachable else None)
                result, reason = outcome, None
            if seat is not None and seat.records_exchanges:
                self._transcribe(seat, agent_id, number, attempt, now, payload, outcome, result, reason)
            results.append(result)
        if unreachable is not None:
            raise RemoteEndpointDown(
                "failed", f"cannot reach the remote agent: {unreachable}. Start the agent's server or fix the seat's url",
            )
        return results

    async def _fetch(self, params: list[RemoteSettings], payloads: list[bytes]) -> list[Answer | RemoteCallError]:
        limit = asyncio.Semaphore(self.settings.max_concurrency)

        async def one(p: RemoteSettings, payload: bytes) -> Answer:
            async with limit:
                return await self._client(p).post(payload)

        outcomes = await asyncio.gather(*(one(p, b) for p, b in zip(params, payloads)), return_exceptions=True)
        return [o if isinstance(o, (Answer, RemoteCallError)) else RemoteCallError(f"{type(o).__name__}: {o}", "connection", 1)
                for o in outcomes]

    def _client(self, p: RemoteSettings) -> RemoteClient:
        key = (p.url, p.headers_env, p.timeout, p.retries, p.backoff_base, p.backoff_max)
        client = self._clients.get(key)
        if client is None:
            token = os.environ.get(p.headers_env) if p.headers_env else None
            client = RemoteClient(p.url, token=token, timeout=p.timeout, retries=p.retries, backoff_base=p.backoff_base,
                                  backoff_max=p.backoff_max, max_connections=max(8, self.settings.max_concurrency))
            self._clients[key] = client
        return client

    def _transcribe(self, seat: SeatContext, agent_id: str, number: int, attempt: int, now: float, payload: bytes,
                    outcome: Answer | RemoteCallError, result: Any, reason: str | None) -> None:
        failed = isinstance(result, Exception)
        answered = isinstance(outcome, Answer)
        seat.record_exchange({
            "policy": "remote", "agent": agent_id, "decision": number, "attempt": attempt, "t": now,
            "url": self.seats[agent_id].params.url,
            "messages": [{"role": "request", "content": payload.decode()}],
            "reply": outcome.body[:20_000].decode("utf-8", "replace") if answered else None,
            "reason": reason,
            "action": None if failed else result.model_dump(mode="json"),
            "error": str(result)[:2000] if failed else None,
            "error_kind": result.kind if failed else None,
            "prompt_tokens": 0, "completion_tokens": 0,
            "latency_ms": round(outcome.latency_ms, 1) if answered else 0.0,
            "attempts": outcome.attempts,
            "retry_errors": [e[:200] for e in outcome.errors],
            "cached": False,
        })

    def finish(self, status: str, reason: str | None, metrics: dict[str, Any]) -> tuple[str, str | None]:
        """At the end of the run: the agents' own share in ``metrics["remote"]``, and ``degraded`` if it is too low."""
        self._close_clients(wait=True)  # the run is over: no connection outlives it (a later decision reopens one)
        return super().finish(status, reason, metrics)

    def close(self) -> None:
        """Close the HTTP sessions (on the background loop, without waiting): the run is discarded."""
        self._close_clients(wait=False)

    def _close_clients(self, wait: bool) -> None:
        clients, self._clients = list(self._clients.values()), {}
        if clients:

            async def shut() -> None:
                for client in clients:
                    await client.aclose()

            (run_sync if wait else run_soon)(shut())


@register("remote", worlds=None, settings=RemoteRunSettings, settings_key="remote", describe_counters=counter_lines,
          examples=examples)
class RemotePolicy(SeatOfRun):
    """An agent behind an HTTP endpoint (any language or framework) decides; plays any world."""

    Params = RemoteSettings

    def __init__(self, params: RemoteSettings, rng: np.random.Generator) -> None:
        self.params = params
        self.agent_id = "agent"
        self.role = "agent"
        self.seat: SeatContext | None = None
        self.run: RemoteRun | None = None

    def bind(self, seat: SeatContext) -> None:
        """Take ``seat`` in its run: join the run's ``RemoteRun``; a missing token variable is bad input, said now."""
        if self.params.headers_env and self.params.headers_env not in os.environ:
            raise InvalidInput(
                f"agent {seat.agent_id!r}: params.headers_env names {self.params.headers_env!r}, which is not set; "
                "export it, or drop headers_env for an endpoint without a token"
            )
        self.seat, self.agent_id, self.role = seat, seat.agent_id, seat.role
        self.run = RemoteRun.for_seat(seat)
        self.run.seats[seat.agent_id] = self

    def rules(self) -> str | None:
        return self.seat.rules() if self.seat is not None else None

    def act_batch(self, requests: list[Request]) -> list[Any]:
        if self.run is None:  # unseated (outside a run): on its own, with the run defaults
            self.run = RemoteRun(RemoteRunSettings())
        for agent_id, _, _ in requests:
            self.run.seats.setdefault(agent_id, self)
        return self.run.decide(requests)

    def act(self, observation: dict[str, Any], action_model: type[BaseModel]) -> Any:
        return self.act_batch([(self.agent_id, observation, action_model)])[0]

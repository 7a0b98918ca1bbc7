"""What the LLM seats of one run share: cache, budget, clients, counters, and the batch of requests.

One ``LLMRun`` exists per run: a shared resource of the run
(``SeatContext.resource``, ``agents/policy.py``), built by the first LLM seat
that binds from the validated ``llm:`` block (the seat's ``settings``) and
closed when the run is discarded. Every LLM seat of the run registers with it,
and the host hands it all the LLM decisions due at one decision point
(``decide``). They are then
sent concurrently, at most ``max_concurrency`` in flight, and the answers come
back in request order; cache ordinals, sampling seeds, budget checks, counters
and log events are all computed on the simulation thread in that order, so a
run's outcome never depends on network timing.

Per decision: one call; if the reply does not validate against the action
model, one re-ask with the validation error; if that fails too, the decision
*failed*, classified as one of ``FAILURE_KINDS``. The failure policy
(``llm.on_error``) then either ends the run as ``failed`` or lets the host play
the world's default action (a logged ``fallback`` with its cause). At the end
of a run that would be ``finished``, a fallback share above
``llm.max_fallback_share`` makes it ``degraded`` instead; ``metrics["llm"]``
reports the share of decisions that were the model's own. An endpoint nobody
answers on ends the run as ``failed`` at once. Counters, tokens and events are
in the run's summary however it ends.

Replicates: each call's sampling ``seed`` is drawn from the seat's random
stream, which the host derives from the run seed, so runs with different seeds
send different seeds (independent samples at temperature > 0) and have
different cache keys, while replaying one seed is exact.

Every exchange (messages sent, reply, parsed action or error, tokens, latency,
HTTP attempts) goes to the seat's ``record_exchange`` (the run's transcript in
the store), with the cache on or off.

Counters added to the run's ``counters``: ``llm_calls`` (logical calls, cache
hits included), ``llm_cache_hits``, ``llm_requests`` (HTTP attempts),
``llm_retries``, ``llm_errors``, ``llm_parse_errors``, ``llm_reasks``,
``llm_prompt_tokens``, ``llm_completion_tokens``, ``llm_latency_ms`` (as
recorded when the calls were first made), ``llm_decisions``, ``llm_failed``
and ``llm_failed_<kind>`` per failure kind, ``llm_batches`` (groups of calls
sent together), ``llm_waves`` (the rounds of at most ``max_concurrency`` network calls those
batches needed, ``sum(ceil(calls / max_concurrency))``: times the latency, the least time they can take),
``llm_cost_usd``, ``llm_unpriced_calls``,
``llm_prompt_tokens_max`` (the largest prompt of one call) and
``llm_prompt_tokens_estimated`` (calls whose server sent no usage, so their
prompt tokens are estimated from characters / 4).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

import orjson
from pydantic import BaseModel

from agents.llm.anthropic import AnthropicClient
from agents.llm.budget import Budget
from agents.llm.cache import LLMCache, LLMCacheMiss, LLMSettingsError, call_key, request_hash
from agents.llm.client import FAILURE_KINDS, CallResult, ChatClient, LLMCallError, RateLimiter, run_soon, submit
from agents.llm.config import LLMRunSettings, LLMSettings, endpoint_timeout
from agents.llm.memory import ContextOverflow, estimate_tokens
from agents.llm.prices import cost_usd, price_of, price_table
from agents.llm.structured import ParseFailure
from agents.policy import SeatContext
from agents.run_settings import PolicyRun, describe_failures, failure_counts
from simulator.errors import Stopped

if TYPE_CHECKING:
    from agents.llm.policy import LLMPolicy

COUNTERS = (
    "llm_calls", "llm_cache_hits", "llm_requests", "llm_retries", "llm_errors",
    "llm_parse_errors", "llm_reasks", "llm_prompt_tokens", "llm_completion_tokens", "llm_latency_ms",
    "llm_decisions", "llm_failed", *(f"llm_failed_{kind}" for kind in FAILURE_KINDS),
    "llm_cost_usd", "llm_unpriced_calls", "llm_batches", "llm_prompt_tokens_max", "llm_prompt_tokens_estimated",
    "llm_summaries", "llm_waves",
)
SEED_RANGE = 2**31 - 1  # llama.cpp and OpenAI take a 32-bit signed seed
SUMMARY_ATTEMPT = 2  # the transcript's attempt number of a running-summary request
RESOURCE_KEY = "agents.llm.run"  # the run's LLMRun in the seat's resource registry


class EndpointDown(Stopped):
    """No attempt of a call ever connected: the server is down or the URL is wrong; the run cannot go on."""


@dataclass
class Job:
    """One call to make: whose, which decision, first ask or re-ask, and the request."""

    seat: "LLMPolicy"
    agent_id: str
    decision: int
    attempt: int  # 0: first ask, 1: the re-ask after an invalid reply, 2: a running-summary request
    body: dict[str, Any]
    sampling_seed: int


def counter_lines(counters: Mapping[str, Any]) -> list[str]:
    """What the CLI prints about a run's LLM counters (the registry entry's ``describe_counters``)."""
    lines = []
    if counters.get("llm_calls"):  # spend and robustness at a glance
        lines.append(
            f"llm: {counters['llm_calls']} calls ({counters.get('llm_cache_hits', 0)} from cache), "
            f"{counters.get('llm_prompt_tokens', 0) + counters.get('llm_completion_tokens', 0):,} tokens, "
            f"{counters.get('llm_retries', 0)} retries, {counters.get('llm_parse_errors', 0)} invalid replies, "
            f"{counters.get('llm_reasks', 0)} re-asks, {counters.get('fallbacks', 0)} fallbacks"
        )
        lines.append(
            f"llm prompt tokens per call: mean {counters.get('llm_prompt_tokens', 0) / counters['llm_calls']:,.0f}, "
            f"max {counters.get('llm_prompt_tokens_max', 0):,}"
            + (f" ({counters['llm_prompt_tokens_estimated']} calls estimated: the server sent no usage)"
               if counters.get("llm_prompt_tokens_estimated") else "")
        )
    if counters.get("llm_decisions"):  # the failure policy: whose decisions these were
        decisions, failed = counters["llm_decisions"], counters.get("llm_failed", 0)
        causes = failure_counts(counters, "llm", FAILURE_KINDS)
        lines.append(
            f"llm decisions: {decisions}, the model's own {decisions - failed} ({(decisions - failed) / decisions:.1%}), "
            f"failed {failed}" + (f" ({describe_failures(causes)})" if causes else "")
            + (f", cost ${counters['llm_cost_usd']:.6f}" if counters.get("llm_cost_usd") else "")
        )
    return lines


class LLMRun(PolicyRun):
    """The shared LLM state of one run (seats, counters and failure policy: ``agents.run_settings.PolicyRun``)."""

    resource_key = RESOURCE_KEY
    settings_class = LLMRunSettings
    counter_names = COUNTERS
    failure_kinds = FAILURE_KINDS
    prefix = "llm"
    label = "LLM"
    seats: dict[str, "LLMPolicy"]

    def __init__(self, settings: LLMRunSettings, seat: SeatContext | None = None) -> None:
        super().__init__(settings, seat)
        self.settings: LLMRunSettings = settings
        self.cache = LLMCache(settings.cache_file(), settings.cache) if settings.cache != "off" else None
        self.budget = Budget(settings.budget.calls, settings.budget.tokens, settings.budget.usd)
        self.prices = price_table(settings.prices)
        self.price_by_model: dict[str, Any] = {}
        self.cost_by_agent: Counter[str] = Counter()
        self._limiters: dict[str, RateLimiter] = {}
        self._client_of: dict[int, tuple[LLMSettings, ChatClient]] = {}
        self.ordinals: Counter[str] = Counter()

    # ------------------------------------------------------------------ seats
    def add_seat(self, agent_id: str, policy: "LLMPolicy", settings: LLMSettings) -> None:
        self.seats[agent_id] = policy
        if settings.requests_per_minute is not None or settings.tokens_per_minute is not None:
            # One pacer per endpoint for the whole run, whatever seat calls it (the first seat's limits win).
            self._limiters.setdefault(settings.base_url, RateLimiter(settings.requests_per_minute, settings.tokens_per_minute))
        if self.settings.budget.usd is not None and price_of(settings.model, self.prices) is None:
            raise LLMSettingsError(
                f"llm.budget.usd is set but model {settings.model!r} (agent {agent_id!r}) has no price; add it: "
                f"llm: {{prices: {{{settings.model}: {{input: USD per 1M tokens, output: USD per 1M tokens}}}}}}"
            )
        if settings.api_key_env is not None and not os.environ.get(settings.api_key_env):
            raise LLMSettingsError(
                f"llm.api_key_env is {settings.api_key_env!r} but that environment variable is not set "
                f"(agent {agent_id!r}); export it, or drop api_key_env for endpoints without a key"
            )

    # ------------------------------------------------------------------ decisions
    def decide(self, requests: list[tuple[str, dict, type[BaseModel]]]) -> list[Any]:
        """Actions for one decision point's requests, in request order (exceptions mark the failed ones)."""
        self.counters["llm_decisions"] += len(requests)
        try:
            results = self._decide(requests)
        except Stopped as stop:  # none of this decision point's actions is applied
            if isinstance(stop, EndpointDown):
                self.count_failures("connection", len(requests))
            elif stop.status == "budget_exhausted":
                self.count_failures("budget", len(requests))
            raise
        return self.settle(requests, results)

    def _decide(self, requests: list[tuple[str, dict, type[BaseModel]]]) -> list[Any]:
        seats = [self.seats[agent_id] for agent_id, _, _ in requests]
        results: list[Any] = [None] * len(requests)
        conversations: list[Any] = [None] * len(requests)
        numbers = self.next_numbers(requests)
        asked: list[int] = []

        def first_asks() -> Iterator[Job]:
            """Each decision's prompt, made as the previous ones are already on their way (``_complete`` sends each)."""
            for i, (seat, (agent_id, obs, model)) in enumerate(zip(seats, requests)):
                try:
                    conversations[i] = seat.conversation(agent_id, obs, model)
                except ContextOverflow as overflow:  # never sent: it would not fit the model's context
                    self.counters["llm_errors"] += 1
                    self.log("llm_error", agent_id, error=str(overflow)[:500], cause=overflow.kind)
                    results[i] = overflow
                    continue
                asked.append(i)
                yield self._job(seat, agent_id, numbers[i], 0, conversations[i], model)

        first = self._complete(first_asks(), claim=len(requests))
        responses: list[dict[str, Any] | None] = [None] * len(requests)
        again: list[tuple[int, ParseFailure]] = []
        for i, (job, response) in zip(asked, first):
            responses[i] = response
            outcome = self._outcome(job, requests[i][2], response)
            if isinstance(outcome, ParseFailure) and seats[i].settings.reask:
                again.append((i, outcome))
            else:
                results[i] = outcome
        if again:
            jobs = []
            for i, failure in again:
                agent_id, _, model = requests[i]
                messages = seats[i].reask(conversations[i], responses[i] or {}, failure)
                jobs.append(self._job(seats[i], agent_id, numbers[i], 1, messages, model))
            second = self._complete(jobs)  # may stop the run (budget) before anything is sent
            self.counters["llm_reasks"] += len(again)
            for (i, _), (job, response) in zip(again, second):
                responses[i] = response
                results[i] = self._outcome(job, requests[i][2], response)
        for i in asked:
            seats[i].remember(conversations[i], responses[i], results[i])
        self._summarise([(seats[i], requests[i][0], numbers[i]) for i in asked])
        return results

    def _summarise(self, asked: list[tuple["LLMPolicy", str, int]]) -> None:
        """Fold the turns that no longer fit into each seat's running summary (seats with ``summary`` on)."""
        jobs = []
        for seat, agent_id, number in asked:
            seed = int(seat.rng.integers(0, SEED_RANGE)) if seat.settings.summary and seat.memory.dropped else None
            body = seat.summary_body(seed) if seed is not None else None
            if body is not None:
                jobs.append(Job(seat, agent_id, number, SUMMARY_ATTEMPT, body, seed))
        if not jobs:
            return
        self.counters["llm_summaries"] += len(jobs)
        for job, response in self._complete(jobs):
            text = (response.get("content") or "").strip()
            if text and not response.get("error"):
                job.seat.memory.summary = text[: 8 * max(20, job.seat.settings.max_tokens)]
            self._transcribe(job, response, None)

    def _job(self, seat: "LLMPolicy", agent_id: str, decision: int, attempt: int, messages: list, model: type[BaseModel]) -> Job:
        sampling_seed = int(seat.rng.integers(0, SEED_RANGE))  # the seat's stream comes from the run seed
        return Job(seat, agent_id, decision, attempt, seat.body(messages, model, sampling_seed), sampling_seed)

    def _outcome(self, job: Job, model: type[BaseModel], response: dict[str, Any]) -> Any:
        """The parsed action, or the exception that says why there is none; logged and put in the transcript."""
        if response.get("error"):
            self.counters["llm_errors"] += 1
            kind = response.get("error_kind") or "connection"
            self.log("llm_error", job.agent_id, error=response["error"][:500], cause=kind)
            outcome: Any = LLMCallError(response["error"], kind=kind)
        else:
            try:
                outcome, reason = job.seat.parse(response, model)
                response["reason"] = reason
            except ParseFailure as failure:
                self.counters["llm_parse_errors"] += 1
                self.log(
                    "llm_parse_error", job.agent_id, error=str(failure)[:500], cause=failure.kind,
                    reply=(response.get("content") or "")[:300], reask=job.attempt > 0,
                )
                outcome = failure
        self._transcribe(job, response, outcome)
        return outcome

    def _transcribe(self, job: Job, response: dict[str, Any], outcome: Any) -> None:
        seat = self.seat_context()
        if seat is None or not seat.records_exchanges:  # nothing stores it: skip the work
            return
        record = seat.record_exchange
        usage = response.get("usage") or {}
        failed = isinstance(outcome, Exception)
        if outcome is None:  # a running-summary request: its text is the reply, there is no action
            failed = False
        record({
            "agent": job.agent_id, "decision": job.decision, "attempt": job.attempt, "t": self.now(),
            "model": job.body.get("model"), "sampling_seed": job.sampling_seed,
            "messages": job.body.get("messages", []),
            "params": {k: v for k, v in job.body.items() if k not in ("messages", "response_format", "tools")},
            "reply": response.get("content"),
            "tool_calls": response.get("tool_calls"),
            "reason": response.get("reason"),
            "reasoning": response.get("reasoning"),
            "tools": [t["function"]["name"] for t in job.body.get("tools") or []] or None,
            "action": None if failed or outcome is None else outcome.model_dump(mode="json"),
            "error": str(outcome)[:2000] if failed else (response.get("error") if outcome is None else None),
            "error_kind": getattr(outcome, "kind", None) if failed else None,
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
            "latency_ms": round(float(response.get("latency_ms") or 0.0), 1),
            "cost_usd": response.get("cost_usd", 0.0),
            "attempts": int(response.get("attempts") or 1),
            "retry_errors": response.get("retry_errors") or [],
            "cached": bool(response.get("cached")),
            "cache_mode": self.settings.cache,
        })

    def finish(self, status: str, reason: str | None, metrics: dict[str, Any]) -> tuple[str, str | None]:
        """At the end of the run: the model's share of decisions and the cost in ``metrics["llm"]``, and ``degraded`` if too few."""
        block, status, reason = self.judge(status, reason)
        block["cost_usd"] = round(self.counters["llm_cost_usd"], 6)
        block["cost_usd_by_agent"] = {agent: round(usd, 6) for agent, usd in sorted(self.cost_by_agent.items())}
        metrics["llm"] = block
        return status, reason

    # ------------------------------------------------------------------ calls
    def _complete(self, made: Iterable[Job], claim: int | None = None) -> list[tuple[Job, dict[str, Any]]]:
        """One reply per job (cache first, then the network, concurrently), in job order.

        Each job that the cache cannot answer is sent as soon as it is made (``made`` may be a generator
        that renders the prompts), so the next prompts are rendered while the first calls are in flight;
        at most ``max_concurrency`` are. The calls are claimed from the budget before the first is made:
        ``claim`` of them (default: all jobs), those never made given back.
        """
        if claim is None:
            made = list(made)
            claim = len(made)
        self.budget.reserve(claim)
        self.counters["llm_batches"] += 1  # calls sent together: one decision point's (or window's) asks, or re-asks
        jobs: list[Job] = []
        responses: list[dict[str, Any] | None] = []
        misses: list[tuple[int, str, int]] = []
        flight = InFlight(self, self.settings.max_concurrency)
        try:
            for job in made:
                self._look_up(job, jobs, responses, misses, flight)
        except BaseException:
            flight.cancel()
            raise
        self.budget.release(claim - len(jobs))
        unreachable: LLMCallError | None = None
        if misses:
            self.counters["llm_waves"] += -(-len(misses) // self.settings.max_concurrency)
            outcomes = flight.results()
            for (i, key, ordinal), outcome in zip(misses, outcomes):
                if isinstance(outcome, CallResult):
                    response = {"content": outcome.content, "usage": outcome.usage, "latency_ms": outcome.latency_ms,
                                "error": None, "attempts": outcome.attempts, "retry_errors": outcome.errors}
                    if outcome.tool_calls:
                        response["tool_calls"] = outcome.tool_calls
                    if outcome.reasoning:
                        response["reasoning"] = outcome.reasoning
                else:
                    unreachable = unreachable or (outcome if outcome.unreachable else None)
                    response = {"content": None, "usage": {}, "latency_ms": 0.0, "error": str(outcome),
                                "error_kind": outcome.kind, "attempts": outcome.attempts}
                self.counters["llm_requests"] += response["attempts"]
                self.counters["llm_retries"] += response["attempts"] - 1
                if self.cache is not None and not (isinstance(outcome, LLMCallError) and outcome.unreachable):
                    self.cache.put(key, jobs[i].body, ordinal, response)
                responses[i] = response
        for job, response in zip(jobs, responses):
            usage = response.get("usage") or {}
            prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            if not prompt and not response.get("error"):  # the server gave no usage: estimate, and count it as estimated
                prompt = estimate_tokens(job.body.get("messages", []), 4.0, len(orjson.dumps(job.body.get("tools") or [])))
                self.counters["llm_prompt_tokens_estimated"] += 1
            self.counters["llm_prompt_tokens_max"] = max(self.counters["llm_prompt_tokens_max"], prompt)
            latency = round(float(response.get("latency_ms") or 0.0), 1)
            attempts = int(response.get("attempts") or 1)
            model_name = str(job.body.get("model"))
            if model_name not in self.price_by_model:  # the table is fixed for the run: one look-up per model
                self.price_by_model[model_name] = price_of(model_name, self.prices)
            price = self.price_by_model[model_name]
            usd = cost_usd(price, prompt, completion)
            response["cost_usd"] = usd
            self.counters["llm_unpriced_calls"] += price is None
            self.counters["llm_cost_usd"] = round(self.counters["llm_cost_usd"] + usd, 9)
            self.cost_by_agent[job.agent_id] += usd
            self.budget.spend_tokens(prompt + completion, usd)
            self.counters["llm_calls"] += 1
            self.counters["llm_prompt_tokens"] += prompt
            self.counters["llm_completion_tokens"] += completion
            self.counters["llm_latency_ms"] = round(self.counters["llm_latency_ms"] + latency, 1)
            retried = {"retries": attempts - 1, "retry_errors": [e[:200] for e in response.get("retry_errors") or []]} if attempts > 1 else {}
            self.log("llm_call", job.agent_id, model=job.body.get("model"), prompt_tokens=prompt,
                     completion_tokens=completion, latency_ms=latency, **retried)
        if unreachable is not None:
            raise EndpointDown(
                "failed",
                f"cannot reach the LLM endpoint: {unreachable}. Start the server (for the packaged SmolLM2: "
                "python -m agents.llm.local --port 8080) or fix llm.base_url",
            )
        return list(zip(jobs, responses))  # type: ignore[arg-type]

    def _look_up(self, job: Job, jobs: list[Job], responses: list, misses: list[tuple[int, str, int]], flight: "InFlight") -> None:
        """Add ``job``: answered from the cache, or a miss, sent now."""
        i = len(jobs)
        jobs.append(job)
        responses.append(None)
        if self.cache is None:  # no cache: no keys to compute
            misses.append((i, "", 0))
            flight.send(job)
            return
        # The sampling seed is part of the key even when it is not sent, so replicates never share replies.
        digest = request_hash({"request": job.body, "sampling_seed": job.sampling_seed})
        ordinal = self.ordinals[digest]
        self.ordinals[digest] += 1
        key = call_key(digest, ordinal)
        cached = self.cache.get(key)
        if cached is not None and (not cached.get("error") or self.cache.mode == "replay"):
            responses[i] = {**cached, "cached": True}
            self.counters["llm_cache_hits"] += 1
        elif self.cache.mode == "replay":
            raise LLMCacheMiss(
                f"LLM cache miss in replay mode: no recorded reply for agent {job.agent_id!r} at t={self.now():g} "
                f"(model {job.body.get('model')!r}, occurrence #{ordinal} of this request, key {key[:16]}) in "
                f"{self.cache.path}. The prompt, model, parameters, seed or earlier replies differ from the "
                "recorded run; record it again with --llm-cache record, or run with --llm-cache off"
            )
        else:
            misses.append((i, key, ordinal))
            flight.send(job)

    def _client(self, s: LLMSettings) -> ChatClient:
        known = self._client_of.get(id(s))  # every call asks: one look-up per seat's settings, not a URL parse per call
        if known is not None and known[0] is s:
            return known[1]
        timeout = endpoint_timeout(s.base_url, s.timeout)
        key = (s.base_url, s.api_key_env, timeout, s.max_retries, s.backoff_base, s.backoff_max, s.retry_after_max)
        key = (s.provider, *key)
        client = self._clients.get(key)
        if client is None:
            client = (AnthropicClient if s.provider == "anthropic" else ChatClient)(
                s.base_url, api_key=os.environ.get(s.api_key_env) if s.api_key_env else None, timeout=timeout,
                max_retries=s.max_retries, backoff_base=s.backoff_base, backoff_max=s.backoff_max,
                retry_after_max=s.retry_after_max, max_connections=max(8, self.settings.max_concurrency),
                limiter=self._limiters.get(s.base_url),
            )
            self._clients[key] = client
        self._client_of[id(s)] = (s, client)  # the settings kept with it: their id is not reused while here
        return client

    def close(self) -> None:
        """Close the HTTP clients (on the LLM loop, without waiting) and the cache."""
        clients, self._clients, self._client_of = list(self._clients.values()), {}, {}
        if clients:

            async def shut() -> None:
                for client in clients:
                    await client.aclose()

            run_soon(shut())
        if self.cache is not None:
            self.cache.close()
            self.cache = None


class InFlight:
    """One batch's network calls, started on the LLM loop as they are sent, at most ``limit`` at once.

    Calls are handed to the loop a few at a time (each hand-over wakes the loop thread, which costs more
    than a call's own CPU when done one by one). Until the first ``limit`` are out, the simulation thread
    waits after each hand-over until the loop has written those requests: rendering the next prompts
    meanwhile would hold the GIL, and the loop thread, which takes it back after every socket write, would
    wait up to the switch interval (5 ms) for each one, so a batch's first calls, whose chains of
    ``ceil(calls / limit)`` replies decide when it ends, went out up to 20 ms late. The calls after them
    wait for a free slot anyway (a reply's latency), so their prompts are rendered while the first are in
    flight. ``results`` waits for them in the order they were sent; what the simulation does with the
    answers never depends on which came first.
    """

    def __init__(self, run: LLMRun, limit: int) -> None:
        self.run = run
        self.limit = asyncio.Semaphore(limit)  # used on the LLM loop only (it binds to the loop on first use)
        self.slots = limit
        self.chunk = max(1, min(8, limit // 4))
        self.waiting: list[Job] = []
        self.handed = 0  # calls handed to the loop so far
        self.futures: list[concurrent.futures.Future] = []

    def send(self, job: Job) -> None:
        self.waiting.append(job)
        if len(self.waiting) >= self.chunk:
            self._hand_over()

    def _hand_over(self) -> None:
        if self.waiting:
            jobs, self.waiting = self.waiting, []
            written = threading.Event() if self.handed < self.slots else None  # a first call: wait until it is out
            self.handed += len(jobs)
            self.futures.append(submit(self._calls(jobs, written)))
            if written is not None:
                written.wait(1.0)  # a timing aid only: never held up long

    async def _calls(self, jobs: list[Job], written: threading.Event | None = None) -> list[CallResult | LLMCallError]:
        calls = [asyncio.ensure_future(self._call(job.seat.settings, job.body)) for job in jobs]
        try:
            # One turn of the loop runs each call up to its first wait: its request written on a kept-alive connection
            # (a free slot, the client's semaphores and an idle connection take no turn), or a new connection begun.
            await asyncio.sleep(0)
        except BaseException:  # cancelled before the calls were gathered: they go with it
            for call in calls:
                call.cancel()
            raise
        finally:
            if written is not None:
                written.set()
        return list(await asyncio.gather(*calls))

    async def _call(self, settings: LLMSettings, body: dict[str, Any]) -> CallResult | LLMCallError:
        async with self.limit:
            try:
                return await self.run._client(settings).complete(body)
            except LLMCallError as error:
                return error
            except Exception as exc:  # a fault of the client: this call failed, the others go on
                return LLMCallError(f"{type(exc).__name__}: {exc}")

    def results(self) -> list[CallResult | LLMCallError]:
        """Every call's outcome, in the order sent (all cancelled if the wait is interrupted)."""
        self._hand_over()
        try:
            return [outcome for future in self.futures for outcome in future.result()]
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        self.waiting = []
        for future in self.futures:
            future.cancel()

"""What the LLM seats of one run share: cache, budget, clients, counters, and the batch of requests.

One ``LLMRun`` exists per hosting ``Simulation`` (looked up by the host, held
weakly). Every LLM seat of the run registers with it, and the host hands it
all the LLM decisions due at one simulated time (``decide``). They are then
sent concurrently, at most ``max_concurrency`` in flight, and the answers come
back in request order; cache ordinals, budget checks, counters and log events
are all computed on the simulation thread in that order, so a run's outcome
never depends on network timing.

Per decision: one call; if the reply does not validate against the action
model, one re-ask with the validation error; if that fails too, the host uses
the world's default action (counted as a fallback). Counters added to the
run's ``counters`` (and so to its stored summary): ``llm_calls`` (logical
calls, cache hits included), ``llm_cache_hits``, ``llm_requests`` (HTTP
attempts), ``llm_retries``, ``llm_errors``, ``llm_parse_errors``,
``llm_reasks``, ``llm_prompt_tokens``, ``llm_completion_tokens`` and
``llm_latency_ms`` (the latency of the calls that produced the replies, as
recorded when they were first made).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections import Counter
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agents.llm.budget import Budget
from agents.llm.cache import LLMCache, LLMCacheMiss, LLMError, call_key, request_hash
from agents.llm.client import CallResult, ChatClient, LLMCallError, run_sync
from agents.llm.config import LLMRunSettings, LLMSettings
from agents.llm.structured import ParseFailure, parse_action, reask_text

if TYPE_CHECKING:
    from agents.llm.policy import LLMPolicy

COUNTERS = (
    "llm_calls", "llm_cache_hits", "llm_requests", "llm_retries", "llm_errors",
    "llm_parse_errors", "llm_reasks", "llm_prompt_tokens", "llm_completion_tokens", "llm_latency_ms",
)

_RUNS: "weakref.WeakKeyDictionary[Any, LLMRun]" = weakref.WeakKeyDictionary()


def run_settings(block: dict[str, Any] | None) -> LLMRunSettings:
    """Validate a scenario's ``llm:`` block, with a message that names the fields."""
    try:
        return LLMRunSettings.model_validate(block or {})
    except ValidationError as exc:
        problems = "; ".join(f"llm.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise LLMError(f"invalid llm settings: {problems}") from None


class LLMRun:
    """The shared LLM state of one run."""

    def __init__(self, settings: LLMRunSettings, host: Any = None) -> None:
        self.settings = settings
        self._host = weakref.ref(host) if host is not None else (lambda: None)
        self.cache = LLMCache(settings.cache_file(), settings.cache) if settings.cache != "off" else None
        self.budget = Budget(settings.budget.calls, settings.budget.tokens)
        counters = getattr(host, "counters", None)
        self.counters: dict[str, Any] = counters if isinstance(counters, dict) else {}
        for name in COUNTERS:
            self.counters.setdefault(name, 0)
        self.seats: dict[str, "LLMPolicy"] = {}
        self.ordinals: Counter[str] = Counter()
        self._clients: dict[tuple, ChatClient] = {}

    @classmethod
    def for_host(cls, host: Any, block: dict[str, Any] | None) -> "LLMRun":
        """The run's shared state, created by the first LLM seat that binds to ``host``."""
        run = _RUNS.get(host)
        if run is None:
            run = cls(run_settings(block), host)
            _RUNS[host] = run
            weakref.finalize(host, run.close).atexit = False
        return run

    # ------------------------------------------------------------------ seats
    def add_seat(self, agent_id: str, policy: "LLMPolicy", settings: LLMSettings) -> None:
        self.seats[agent_id] = policy
        if settings.api_key_env is not None and not os.environ.get(settings.api_key_env):
            raise LLMError(
                f"llm.api_key_env is {settings.api_key_env!r} but that environment variable is not set "
                f"(agent {agent_id!r}); export it, or drop api_key_env for endpoints without a key"
            )

    @property
    def host(self) -> Any:
        return self._host()

    def log(self, kind: str, agent: str | None, **data: Any) -> None:
        host = self.host
        if host is not None:
            host.log(kind, agent, **data)

    def now(self) -> float:
        host = self.host
        return float(host.engine.now) if host is not None else 0.0

    # ------------------------------------------------------------------ decisions
    def decide(self, requests: list[tuple[str, dict, type[BaseModel]]]) -> list[Any]:
        """Actions for same-time requests, in request order (exceptions mark the ones that failed)."""
        seats = [self.seats[agent_id] for agent_id, _, _ in requests]
        conversations = [seat.conversation(agent_id, obs, model) for seat, (agent_id, obs, model) in zip(seats, requests)]
        first = self._complete([
            (seat, agent_id, seat.body(messages, model))
            for seat, (agent_id, _, model), messages in zip(seats, requests, conversations)
        ])
        results: list[Any] = [None] * len(requests)
        replies: list[str] = [""] * len(requests)
        again: list[tuple[int, ParseFailure]] = []
        for i, ((agent_id, _, model), seat, response) in enumerate(zip(requests, seats, first)):
            replies[i] = response.get("content") or ""
            outcome = self._outcome(agent_id, model, response, reask=False)
            if isinstance(outcome, ParseFailure) and seat.settings.reask:
                again.append((i, outcome))
            else:
                results[i] = outcome
        if again:
            jobs = []
            for i, failure in again:
                agent_id, _, model = requests[i]
                messages = conversations[i] + [
                    {"role": "assistant", "content": replies[i]},
                    {"role": "user", "content": reask_text(str(failure))},
                ]
                jobs.append((seats[i], agent_id, seats[i].body(messages, model)))
            second = self._complete(jobs)  # may stop the run (budget) before anything is sent
            self.counters["llm_reasks"] += len(again)
            for (i, _), response in zip(again, second):
                agent_id, _, model = requests[i]
                replies[i] = response.get("content") or ""
                results[i] = self._outcome(agent_id, model, response, reask=True)
        for i, (seat, (agent_id, _, _)) in enumerate(zip(seats, requests)):
            answer = results[i].model_dump_json() if isinstance(results[i], BaseModel) else replies[i]
            seat.remember(conversations[i][-1]["content"], answer)
        return results

    def _outcome(self, agent_id: str, model: type[BaseModel], response: dict[str, Any], reask: bool) -> Any:
        if response.get("error"):
            self.counters["llm_errors"] += 1
            self.log("llm_error", agent_id, error=response["error"][:500])
            return LLMCallError(response["error"])
        try:
            return parse_action(response.get("content"), model)
        except ParseFailure as failure:
            self.counters["llm_parse_errors"] += 1
            self.log("llm_parse_error", agent_id, error=str(failure)[:500], reply=(response.get("content") or "")[:300], reask=reask)
            return failure

    # ------------------------------------------------------------------ calls
    def _complete(self, jobs: list[tuple["LLMPolicy", str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """One reply per job (cache first, then the network, concurrently), in job order."""
        self.budget.reserve(len(jobs))
        responses: list[dict[str, Any] | None] = [None] * len(jobs)
        misses: list[tuple[int, str, int]] = []
        for i, (seat, agent_id, body) in enumerate(jobs):
            if self.cache is None:  # no cache: no keys to compute
                misses.append((i, "", 0))
                continue
            digest = request_hash(body)
            ordinal = self.ordinals[digest]
            self.ordinals[digest] += 1
            key = call_key(digest, ordinal)
            cached = self.cache.get(key)
            if cached is not None and (not cached.get("error") or self.cache.mode == "replay"):
                responses[i] = cached
                self.counters["llm_cache_hits"] += 1
            elif self.cache is not None and self.cache.mode == "replay":
                raise LLMCacheMiss(
                    f"LLM cache miss in replay mode: no recorded reply for agent {agent_id!r} at t={self.now():g} "
                    f"(model {body.get('model')!r}, occurrence #{ordinal} of this request, key {key[:16]}) in "
                    f"{self.cache.path}. The prompt, model, parameters or earlier replies differ from the recorded "
                    "run; record it again with --llm-cache record, or run with --llm-cache off"
                )
            else:
                misses.append((i, key, ordinal))
        if misses:
            outcomes = run_sync(self._fetch([jobs[i] for i, _, _ in misses]))
            for outcome in outcomes:
                if isinstance(outcome, LLMCallError) and outcome.unreachable:
                    raise LLMError(
                        f"cannot reach the LLM endpoint: {outcome}. Start the server (for the packaged "
                        "SmolLM2: python -m agents.llm.local --port 8080) or fix llm.base_url"
                    )
            for (i, key, ordinal), outcome in zip(misses, outcomes):
                if isinstance(outcome, CallResult):
                    response = {"content": outcome.content, "usage": outcome.usage, "latency_ms": outcome.latency_ms, "error": None}
                    attempts = outcome.attempts
                else:
                    response = {"content": None, "usage": {}, "latency_ms": 0.0, "error": str(outcome)}
                    attempts = getattr(outcome, "attempts", 1)
                self.counters["llm_requests"] += attempts
                self.counters["llm_retries"] += attempts - 1
                if self.cache is not None:
                    self.cache.put(key, jobs[i][2], ordinal, response)
                responses[i] = response
        for (seat, agent_id, body), response in zip(jobs, responses):
            usage = response.get("usage") or {}
            prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            latency = round(float(response.get("latency_ms") or 0.0), 1)
            self.budget.spend_tokens(prompt + completion)
            self.counters["llm_calls"] += 1
            self.counters["llm_prompt_tokens"] += prompt
            self.counters["llm_completion_tokens"] += completion
            self.counters["llm_latency_ms"] = round(self.counters["llm_latency_ms"] + latency, 1)
            self.log("llm_call", agent_id, model=body.get("model"), prompt_tokens=prompt, completion_tokens=completion, latency_ms=latency)
        return responses  # type: ignore[return-value]

    async def _fetch(self, jobs: list[tuple["LLMPolicy", str, dict[str, Any]]]) -> list[Any]:
        limit = asyncio.Semaphore(self.settings.max_concurrency)

        async def one(settings: LLMSettings, body: dict[str, Any]) -> Any:
            async with limit:
                return await self._client(settings).complete(body)

        outcomes = await asyncio.gather(*(one(seat.settings, body) for seat, _, body in jobs), return_exceptions=True)
        return [o if isinstance(o, (CallResult, LLMCallError)) else LLMCallError(f"{type(o).__name__}: {o}") for o in outcomes]

    def _client(self, s: LLMSettings) -> ChatClient:
        key = (s.base_url, s.api_key_env, s.timeout, s.max_retries, s.backoff_base, s.backoff_max, s.retry_after_max)
        client = self._clients.get(key)
        if client is None:
            client = ChatClient(
                s.base_url, api_key=os.environ.get(s.api_key_env) if s.api_key_env else None, timeout=s.timeout,
                max_retries=s.max_retries, backoff_base=s.backoff_base, backoff_max=s.backoff_max,
                retry_after_max=s.retry_after_max, max_connections=max(8, self.settings.max_concurrency),
            )
            self._clients[key] = client
        return client

    def close(self) -> None:
        """Close the HTTP clients (on the LLM loop, without waiting) and the cache."""
        clients, self._clients = list(self._clients.values()), {}
        if clients:
            from agents.llm.client import _LOOP

            async def shut() -> None:
                for client in clients:
                    await client.aclose()

            asyncio.run_coroutine_threadsafe(shut(), _LOOP.loop())
        if self.cache is not None:
            self.cache.close()
            self.cache = None

"""An OpenAI-compatible chat-completions client (async, on ``agents.llm.http``) with retries.

``ChatClient.complete(body)`` POSTs ``{base_url}/chat/completions`` and returns
the first choice's text with the token usage and the latency. Retryable
failures — HTTP 429, 5xx, timeouts and connection errors — are retried up to
``max_retries`` times after an exponential backoff with full jitter,
``U(0, min(backoff_max, backoff_base * 2**attempt))``, and never sooner than
the server's ``Retry-After`` / ``retry-after-ms`` asks (capped by
``retry_after_max``). Other 4xx answers fail at once with the server's message.

Requests from the simulation thread run on one background asyncio loop
(``run_sync``), so same-time decisions can be in flight together while the
simulation itself stays single-threaded and deterministic. The API key is
sent in the ``Authorization`` header only; it never appears in errors.

CPU per decision is what bounds a large concurrent run: at 32 requests in
flight httpx spent about 4 ms of CPU per request here, aiohttp 0.5-0.6 ms, and
the lean keep-alive client of ``agents.llm.http`` (httptools' C parser) about
0.2 ms, so that is what the chat clients use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import json
import os
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Awaitable, TypeVar
from urllib.parse import urlsplit

import orjson

from agents.llm.cache import LLMError
from agents.llm.http import ConnectFailed, HTTPClient

T = TypeVar("T")


class LLMCallError(LLMError):
    """A call that failed for good (after retries, or a non-retryable answer).

    ``kind`` classifies it for the failure policy (``FAILURE_KINDS``):
    ``timeout``, ``connection``, ``http_4xx``, ``http_5xx``, ``context_length``
    (the prompt does not fit the model's context window) or ``parse`` (a 200
    whose body is not a chat completion).
    """

    def __init__(
        self, message: str, status: int | None = None, attempts: int = 1, unreachable: bool = False, kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.unreachable = unreachable  # no attempt ever connected: the server is down or the URL is wrong
        self.kind = kind or status_kind(status)


# Why a decision failed; every failed decision is counted under exactly one of these.
FAILURE_KINDS = ("parse", "schema", "timeout", "http_4xx", "http_5xx", "connection", "context_length", "budget")

# How OpenAI, vLLM, llama.cpp and Ollama word a prompt that does not fit the context window.
_CONTEXT_LENGTH = re.compile(
    r"context[_ ]length|context window|maximum context|context size|too many tokens|prompt is too long|exceeds? the (model'?s? )?context",
    re.IGNORECASE,
)


def status_kind(status: int | None) -> str:
    if status is None:
        return "connection"
    return "http_5xx" if status >= 500 else "http_4xx"


def is_context_length(status: int, message: str, code: str | None) -> bool:
    """A 400/413 answer that says the prompt is longer than the model's context window."""
    return status in (400, 413, 422) and bool(_CONTEXT_LENGTH.search(f"{code or ''} {message}"))


@dataclass
class CallResult:
    content: str
    usage: dict[str, int]
    latency_ms: float
    attempts: int = 1
    finish_reason: str | None = None
    errors: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] | None = None  # [{"id", "name", "arguments" (JSON text)}]
    reasoning: str | None = None  # a reasoning model's visible reasoning (``reasoning_content``), if the server sends it


# --------------------------------------------------------------------------- background loop


class _LoopThread:
    """One daemon thread running an asyncio loop, started on first use (and anew in a forked child)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed() or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="agora-llm-loop", daemon=True)
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_LOOP = _LoopThread()


def run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine on the LLM loop and wait for it (cancelled if the caller is interrupted)."""
    future = asyncio.run_coroutine_threadsafe(coro, _LOOP.loop())
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


def run_soon(coro: Awaitable[Any]) -> None:
    """Start a coroutine on the LLM loop without waiting for it (e.g. closing clients)."""
    asyncio.run_coroutine_threadsafe(coro, _LOOP.loop())


def submit(coro: Awaitable[T]) -> "concurrent.futures.Future[T]":
    """Start a coroutine on the LLM loop now; its future is waited for later (``Future.result``)."""
    return asyncio.run_coroutine_threadsafe(coro, _LOOP.loop())


# --------------------------------------------------------------------------- client


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None, rng: random.Random) -> float:
    """Full-jitter exponential backoff, but at least what the server asked for."""
    delay = rng.uniform(0.0, min(cap, base * (2.0**attempt)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class RateLimiter:
    """Requests- and tokens-per-minute pacing for one endpoint, shared by every call of a run that uses it.

    Two token buckets (Turner's leaky bucket, as providers meter): each refills
    at ``limit / 60`` per second and holds at most one second's worth, so calls
    are spread evenly and no minute ever exceeds the limit. A call takes one
    request and its token estimate (prompt characters / 4 + ``max_tokens``)
    before each HTTP attempt, waiting (on the LLM loop, never the simulation)
    until both buckets can pay. Timing only: results never depend on it.
    """

    def __init__(self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None) -> None:
        self.limits = {"requests": requests_per_minute, "tokens": tokens_per_minute}
        self.level = {name: max(1.0, limit / 60.0) if limit else 0.0 for name, limit in self.limits.items()}
        self.stamp = time.monotonic()
        self.lock: asyncio.Lock | None = None
        self.waited = 0.0  # seconds spent waiting, in total

    def _refill(self) -> None:
        now = time.monotonic()
        for name, limit in self.limits.items():
            if limit:
                rate = limit / 60.0
                self.level[name] = min(max(1.0, rate), self.level[name] + (now - self.stamp) * rate)
        self.stamp = now

    async def acquire(self, tokens: int) -> None:
        if not any(self.limits.values()):
            return
        self.lock = self.lock or asyncio.Lock()
        async with self.lock:  # first come, first served
            need = {"requests": 1.0, "tokens": float(tokens)}
            while True:
                self._refill()
                waits = [
                    (min(need[name], max(1.0, limit / 60.0)) - self.level[name]) / (limit / 60.0)
                    for name, limit in self.limits.items() if limit
                ]
                wait = max(waits)
                if wait <= 0:
                    break
                self.waited += wait
                await asyncio.sleep(wait)
            for name, limit in self.limits.items():
                if limit:  # a call bigger than one second's worth takes the bucket below zero: it is paid later
                    self.level[name] -= need[name]


def token_estimate(body: dict[str, Any]) -> int:
    """Tokens a request may use, before it is sent: about 4 characters a token, plus the completion limit."""
    chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", [])) + len(orjson.dumps(body.get("tools") or []))
    return chars // 4 + int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)


JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "agora"}


class ChatClient:
    """Chat completions against one OpenAI-compatible endpoint. Use it on the LLM loop (its session lives there).

    A subclass speaks another protocol by overriding ``path``, ``auth_headers``,
    ``encode`` (the OpenAI-shaped request body to the wire) and ``decode`` (the
    wire's answer to a ``CallResult``); retries, pacing and failure kinds stay here.
    """

    path = "/chat/completions"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 120.0,
        max_connections: int = 64,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.limiter = limiter
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}{self.path}"
        self.headers = self.auth_headers(api_key)
        # The request head (path, auth and JSON headers) is the same for every call: made once.
        self.http = HTTPClient(self.base_url, max_connections=max_connections, timeout=timeout, connect_timeout=min(10.0, timeout))
        self.head = self.http.head(self.http_path(), {**self.headers, **JSON_HEADERS})
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.jitter = random.Random()  # timing only: never affects what the simulation sees

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def encode(self, body: dict[str, Any]) -> bytes:
        return orjson.dumps(body)

    def http_path(self) -> str:
        """The request target on the server: the base URL's path, then ``path``, with the base URL's query, if any."""
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def complete(self, body: dict[str, Any]) -> CallResult:
        """POST one chat completion, retrying what is worth retrying."""
        errors: list[str] = []
        connected = False
        started = time.perf_counter()
        last_kind = "connection"
        tokens = token_estimate(body) if self.limiter is not None else 0
        payload = self.encode(body)  # once for every attempt; orjson: the body (prompts, schema) is most of the CPU
        for attempt in range(self.max_retries + 1):
            retry_after = None
            if self.limiter is not None:
                await self.limiter.acquire(tokens)
            try:
                # Redirects are never followed: an allowed endpoint must not send the server (and its key) elsewhere.
                response = await self.http.post(self.head, payload)
                status, headers, raw = response.status, response.headers, response.body
            except OSError as exc:  # timeouts (TimeoutError is one), refused, dropped or garbled connections
                errors.append(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                connected = connected or not isinstance(exc, ConnectFailed)
                last_kind = "timeout" if isinstance(exc, TimeoutError) else "connection"
            else:
                connected = True
                if status == 200:
                    return self._result(raw, started, attempt + 1, errors)
                message, code = _error_message(raw, status)
                if 300 <= status < 400:
                    message = f"a redirect to {headers.get('location')!r}, not followed"
                if status != 429 and status < 500:
                    kind = "context_length" if is_context_length(status, message, code) else "http_4xx"
                    raise LLMCallError(f"{self.url} answered HTTP {status}: {message}", status, attempt + 1, kind=kind)
                errors.append(f"HTTP {status}: {message}")
                last_kind = status_kind(status)
                retry_after = retry_after_seconds(headers)
                if retry_after is not None:
                    retry_after = min(retry_after, self.retry_after_max)
            if attempt < self.max_retries:
                await asyncio.sleep(backoff_delay(attempt, self.backoff_base, self.backoff_max, retry_after, self.jitter))
        raise LLMCallError(
            f"{self.url} failed after {self.max_retries + 1} attempts; last error: {errors[-1]}",
            None, self.max_retries + 1, unreachable=not connected, kind=last_kind,
        )

    def _result(self, raw: bytes, started: float, attempts: int, errors: list[str]) -> CallResult:
        try:
            result = self.decode(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMCallError(f"{self.url} returned an unreadable body ({type(exc).__name__})", 200, attempts, kind="parse") from None
        result.latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
        result.attempts, result.errors = attempts, errors
        return result

    def decode(self, data: dict[str, Any]) -> CallResult:
        """A chat completion's first choice: text, tool calls (normalised), usage."""
        choice = data["choices"][0]
        message = choice.get("message") or {}
        calls = None
        if message.get("tool_calls"):
            calls = []
            for k, call in enumerate(message["tool_calls"]):
                function = call.get("function") or {}
                arguments = function.get("arguments")
                calls.append({"id": str(call.get("id") or f"call_{k}"), "name": str(function.get("name") or ""),
                              "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments or {})})
        usage = data.get("usage") or {}
        return CallResult(
            content=message.get("content") or "",
            usage={"prompt_tokens": int(usage.get("prompt_tokens") or 0), "completion_tokens": int(usage.get("completion_tokens") or 0)},
            latency_ms=0.0, finish_reason=choice.get("finish_reason"), tool_calls=calls,
            reasoning=message.get("reasoning_content") or None,
        )


def _error_message(raw: bytes, status: int) -> tuple[str, str | None]:
    """The server's error message (one line, at most 300 characters) and its ``code``, if any."""
    code = None
    try:
        data = json.loads(raw)
        error = data.get("error", data) if isinstance(data, dict) else data
        message = error.get("message", error) if isinstance(error, dict) else error
        code = str(error.get("code") or error.get("type") or "") or None if isinstance(error, dict) else None
        text = str(message)
    except ValueError:
        text = raw.decode("utf-8", "replace")
    return " ".join(text.split())[:300] or f"HTTP {status}", code

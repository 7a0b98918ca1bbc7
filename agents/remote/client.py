"""POST one decision request to a remote agent, with retries (aiohttp, on the LLM client's background loop).

Retryable failures, as for the LLM client (``agents/llm/client.py``, whose
backoff and ``Retry-After`` helpers this reuses): HTTP 429, 5xx, timeouts and
dropped or refused connections, retried up to ``retries`` times after a
full-jitter exponential backoff, never sooner than ``Retry-After`` asks.
Other answers that are not 200 fail at once. Redirects are not followed: an
allowed endpoint must not be able to send the server somewhere else (the trust
boundary, ``api/trust.py``). The token named by ``headers_env`` goes in the
``Authorization`` header only, never in errors or transcripts.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import aiohttp

from agents.llm.client import backoff_delay, retry_after_seconds
from agents.remote.wire import MAX_REPLY_BYTES
from simulator.errors import AgoraError

RETRY_AFTER_MAX = 60.0  # seconds: the longest Retry-After honoured


class RemoteCallError(AgoraError):
    """A request that failed for good. ``kind``: ``timeout``, ``connection``, ``http_4xx``, ``http_5xx`` or ``parse``."""

    def __init__(self, message: str, kind: str, attempts: int, unreachable: bool = False, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.attempts = attempts
        self.unreachable = unreachable  # no attempt ever connected: the agent is down or the URL is wrong
        self.errors = errors or []


@dataclass
class Answer:
    body: bytes
    latency_ms: float
    attempts: int
    errors: list[str] = field(default_factory=list)  # what the retries were after


async def read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, but no more than ``limit`` bytes of it (a larger body is cut there and refused by the caller)."""
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(1 << 16):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class RemoteClient:
    """Requests to one endpoint. Use it on the background loop (its aiohttp session lives there)."""

    def __init__(self, url: str, *, token: str | None, timeout: float, retries: int, backoff_base: float,
                 backoff_max: float, max_connections: int) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        self.timeout = aiohttp.ClientTimeout(total=timeout, connect=min(10.0, timeout))
        self.retries, self.backoff_base, self.backoff_max = retries, backoff_base, backoff_max
        self.max_connections = max_connections
        self.session: aiohttp.ClientSession | None = None
        self.jitter = random.Random()  # timing only: never affects what the simulation sees

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=self.max_connections),
            )
        return self.session

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def post(self, payload: bytes) -> Answer:
        errors: list[str] = []
        connected, last_kind = False, "connection"
        started = time.perf_counter()
        session = self._session()
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                async with session.post(self.url, data=payload, headers=self.headers, allow_redirects=False) as response:
                    status, headers = response.status, response.headers
                    raw = await read_limited(response, MAX_REPLY_BYTES + 1)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                connected = connected or not isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
                last_kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else "connection"
            else:
                connected = True
                if status == 200:
                    if len(raw) > MAX_REPLY_BYTES:
                        raise RemoteCallError(f"{self.url} replied with more than {MAX_REPLY_BYTES} bytes", "parse", attempt + 1)
                    return Answer(raw, round((time.perf_counter() - started) * 1000.0, 3), attempt + 1, errors)
                text = " ".join(raw[:300].decode("utf-8", "replace").split()) or f"HTTP {status}"
                if 300 <= status < 400:  # an allowed endpoint must not send the server elsewhere
                    text = f"a redirect to {headers.get('Location', '?')[:200]!r}, not followed"
                if status != 429 and status < 500:
                    raise RemoteCallError(f"{self.url} answered HTTP {status}: {text}", "http_4xx", attempt + 1, errors=errors)
                errors.append(f"HTTP {status}: {text}")
                last_kind = "http_5xx" if status >= 500 else "http_4xx"
                retry_after = retry_after_seconds(headers)
                if retry_after is not None:
                    retry_after = min(retry_after, RETRY_AFTER_MAX)
            if attempt < self.retries:
                await asyncio.sleep(backoff_delay(attempt, self.backoff_base, self.backoff_max, retry_after, self.jitter))
        raise RemoteCallError(
            f"{self.url} failed after {self.retries + 1} attempts; last error: {errors[-1]}", last_kind, self.retries + 1,
            unreachable=not connected, errors=errors,
        )

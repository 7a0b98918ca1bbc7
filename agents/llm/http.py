"""A lean HTTP/1.1 client for the LLM calls: keep-alive connections on the asyncio loop, replies parsed by httptools.

Why not aiohttp (which the remote policy still uses): at hundreds of calls in
flight, aiohttp's per-request machinery (URL and header objects, cookie jar,
tracing hooks, payload and writer classes, timer contexts) cost about 0.5 ms of
CPU per call in ``bench/llm.py``, two thirds of an LLM decision's CPU; this
client takes about 0.2 ms: one ``write`` of the request, httptools' C parser
(llhttp, Node.js's) for the reply, and the caller's one ``orjson`` parse.

It does only what the chat clients need: ``POST`` a body to one origin (http or
https), keep-alive connections pooled per origin (at most ``max_connections``
at once), replies framed by ``Content-Length``, chunked encoding, or the end of
the connection (HTTP/1.0). Redirects are returned, never followed; no cookies,
no proxies, no compression (none is asked for).

Failures, as the chat client classifies them: ``ConnectFailed`` (an
``OSError``: refused, unresolvable, or ``ConnectTimeout`` past the connect
timeout), so no request reached a server; ``Disconnected`` (a
``ConnectionError``: the server closed the connection before the whole reply);
``TimeoutError`` past the total timeout; ``MalformedReply`` for bytes that are
not HTTP. A connection is reused only after a complete reply that allows it.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools


class ConnectFailed(OSError):
    """No connection could be made (refused, unresolvable, timed out): the request reached no server."""


class ConnectTimeout(ConnectFailed, TimeoutError):
    """The connection was not made within the connect timeout."""


class Disconnected(ConnectionError):
    """The server closed the connection before its reply was complete."""


class MalformedReply(ConnectionError):
    """The server sent bytes that are not an HTTP/1.x reply."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # names in lower case (the last one wins for a repeated name)
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its reply parsed as the bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.waiter: asyncio.Future[Response] | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.headers_done = False
        self.framed = False  # Content-Length or chunked: the reply's end is known without the connection's
        self.reusable = False

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.parser is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(MalformedReply("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(MalformedReply(f"not an HTTP reply: {exc}"))

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost then ends an unframed reply

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done and not self.framed:  # an HTTP/1.0-style reply ends with the connection
            self.reusable = False
            self._complete()
        else:
            self._fail(Disconnected("the server closed the connection before its reply was complete"))

    # ------------------------------------------------------------------ httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.framed = "content-length" in self.headers or "chunked" in self.headers.get("transfer-encoding", "").lower()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.reusable = bool(self.parser is not None and self.parser.should_keep_alive())
        self._complete()

    # ------------------------------------------------------------------ requests
    def send(self, request: bytes) -> asyncio.Future[Response]:
        """Write one request; the future gets its reply."""
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.parser = httptools.HttpResponseParser(self)
        self.headers, self.chunks, self.headers_done, self.framed, self.reusable = {}, [], False, False, False
        self.transport.write(request)
        return self.waiter

    def _complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        parser, self.parser = self.parser, None
        if waiter is not None and not waiter.done():
            status = parser.get_status_code() if parser is not None else 0
            waiter.set_result(Response(status, self.headers, b"".join(self.chunks)))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        self.parser = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HTTPClient:
    """POST requests to one origin over pooled keep-alive connections. Use it on one event loop (its connections live there)."""

    def __init__(self, base_url: str, *, max_connections: int = 64, timeout: float = 60.0, connect_timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        default = (self.https and self.port == 443) or (not self.https and self.port == 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = host if default else f"{host}:{self.port}"
        self.max_connections = max_connections
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.idle: list[_Connection] = []
        self.slots: asyncio.Semaphore | None = None  # made on first use: it binds to the running loop
        self.ssl_context: ssl.SSLContext | None = None

    def head(self, path: str, headers: dict[str, str]) -> bytes:
        """The fixed part of a request's head (all but its ``Content-Length``), to be made once per path and headers."""
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.authority}", *(f"{name}: {value}" for name, value in headers.items())]
        return ("\r\n".join(lines) + "\r\n").encode("latin-1")

    async def post(self, head: bytes, body: bytes) -> Response:
        """Send ``head`` (from ``head``) with ``body``; raises the module's errors or ``TimeoutError`` (total timeout)."""
        self.slots = self.slots or asyncio.Semaphore(self.max_connections)
        request = b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body)
        async with self.slots:
            async with asyncio.timeout(self.timeout):
                connection = await self._connection()
                try:
                    response = await connection.send(request)
                except BaseException:  # a timeout, a cancellation, a broken reply: the connection's state is unknown
                    connection.close()
                    raise
        if connection.reusable and not connection.closed:
            self.idle.append(connection)
        else:
            connection.close()
        return response

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        if self.https and self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    _Connection, self.host, self.port, ssl=self.ssl_context if self.https else None,
                    server_hostname=self.host if self.https else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection to {self.authority} within {self.connect_timeout:g} s") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {self.authority}: {exc.strerror or exc}") from None
        return connection

    async def aclose(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()

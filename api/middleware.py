"""Request-size limit: bodies above ``max_body`` bytes get a 413 problem.

A declared ``Content-Length`` above the limit is refused before the body is
read; a chunked body is counted as it arrives and refused as soon as it passes
the limit, so an oversized upload is never held in memory.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; an HTTPException so FastAPI passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes (AGORA_API_MAX_BODY)")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def _response(self, scope: Scope):
        return problem_response(Request(scope), 413, "body-too-large", BodyTooLarge(self.max_body).detail, title="Content too large")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_body:
                    await self._response(scope)(scope, receive, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except* BodyTooLarge:
            if started:
                raise
            await self._response(scope)(scope, receive, send)


class TrustedHostMiddleware:
    """400 problem unless the ``Host`` header names one of ``allowed`` (``AGORA_API_ALLOWED_HOSTS``).

    A web page on another site can make a browser send requests to a server on
    the developer's loopback address under the attacker's own name (DNS
    rebinding); such a request carries ``Host: attacker.example`` and is refused
    here before any route runs. ``*`` allows every name.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = {name.lower() for name in allowed}

    def _host_ok(self, scope: Scope) -> bool:
        if "*" in self.allowed:
            return True
        client = scope.get("client") or ("", 0)
        if client[0] == "testclient":  # an in-process ASGI call (Starlette's TestClient): no socket, no browser
            return True
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1").strip().lower()
                if host.startswith("["):  # [::1]:8000
                    host = host[1:].split("]", 1)[0]
                elif host.count(":") == 1:
                    host = host.split(":", 1)[0]
                return host in self.allowed
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._host_ok(scope):
            await self.app(scope, receive, send)
            return
        detail = ("the Host header is not a name this server answers to; allowed: "
                  f"{', '.join(sorted(self.allowed))} (set AGORA_API_ALLOWED_HOSTS on the server to add names)")
        await problem_response(Request(scope), 400, "host-not-allowed", detail, title="Host not allowed")(scope, receive, send)

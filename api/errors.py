"""RFC 9457 problem details: every error leaves the API as ``application/problem+json``.

A problem has ``type`` (a URN naming the kind of problem), ``title``,
``status``, ``detail`` (what went wrong and what to do), ``instance`` (the
request path) and, for invalid input, ``errors``: one entry per field with its
path and, for scenario files, the line and column. Unexpected exceptions are
logged with an id and answered with a 500 that carries the id and nothing
else: a traceback never reaches a client.

Agora's own errors (``simulator.errors``) reach HTTP here and only here, by
meaning: ``NotFound`` 404, ``InvalidInput`` 422, ``Stopped`` (and its
``LimitExceeded``) 409 -- the run ended, the request conflicts with that.
Routes raise or let through the module errors (``RunNotFound``,
``MarketDataError``...) and need no ``except`` of their own. An
``AgoraError`` of no meaning (``LLMError``, ``SweepError``) is a 500 like any
unexpected fault.
"""

from __future__ import annotations

import logging
import re
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator.errors import AgoraError, InvalidInput, NotFound, Stopped
from simulator.scenario import ScenarioError
from simulator.store import RunNotFound, SweepNotFound

log = logging.getLogger("agora.api")

PROBLEM_JSON = "application/problem+json"


class ProblemException(Exception):
    """Raise to answer with a problem: ``ProblemException(404, "run-not-found", "no run 'x'")``."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail
        self.title = title or HTTPStatus(status).phrase
        self.errors, self.headers = errors, headers


def problem_response(
    request: Request | None,
    status: int,
    kind: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:agora:problem:{kind}" if kind != "about:blank" else kind,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def scenario_errors(exc: ScenarioError) -> list[dict[str, Any]]:
    return [p.to_dict() | {"text": str(p)} for p in exc.problems]


async def _problem(request: Request, exc: ProblemException) -> JSONResponse:
    return problem_response(request, exc.status, exc.kind, exc.detail, title=exc.title, errors=exc.errors, headers=exc.headers)


async def _scenario(request: Request, exc: ScenarioError) -> JSONResponse:
    count = len(exc.problems)
    detail = f"the scenario has {count} problem{'s' if count != 1 else ''}: " + "; ".join(str(p) for p in exc.problems[:5])
    return problem_response(request, 422, "invalid-scenario", detail, title="Invalid scenario", errors=scenario_errors(exc))


# The meanings of simulator.errors as HTTP statuses, most specific first.
MEANINGS: tuple[tuple[type[AgoraError], int], ...] = ((NotFound, 404), (InvalidInput, 422), (Stopped, 409))
# Where a client finds what exists, for the not-found errors that have a listing.
SEE_ALSO: dict[type[AgoraError], str] = {RunNotFound: "GET /runs", SweepNotFound: "GET /sweeps"}


def http_status(exc: AgoraError) -> int | None:
    """The HTTP status of an Agora error's meaning; None for an error of no meaning (a server fault)."""
    return next((status for meaning, status in MEANINGS if isinstance(exc, meaning)), None)


def problem_kind(exc: AgoraError) -> str:
    """The problem type's name: ``run-not-found``, ``invalid-market-data``, ``limit-exceeded``..."""
    if isinstance(exc, Stopped):
        return exc.status.replace("_", "-")
    name = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower().removesuffix("-error")
    if isinstance(exc, InvalidInput) and not name.startswith("invalid"):
        return f"invalid-{name}"
    return name


async def _agora(request: Request, exc: AgoraError) -> JSONResponse:
    status = http_status(exc)
    if status is None:
        return await _unexpected(request, exc)
    kind = problem_kind(exc)
    detail = str(exc)
    see = next((where for cls, where in SEE_ALSO.items() if isinstance(exc, cls)), None)
    if see is not None:
        detail += f" (see {see})"
    title = kind.replace("-", " ").capitalize()
    return problem_response(request, status, kind, detail, title=title)


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error.get("loc", ()))
        errors.append({"path": path, "message": error.get("msg", "invalid value"), "type": error.get("type")})
    detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5]) or "the request is invalid"
    return problem_response(request, 422, "invalid-request", detail, title="Invalid request", errors=errors)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path!r}; see /docs for the API"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    kind, title = ("body-too-large", "Content too large") if exc.status_code == 413 else ("about:blank", None)
    return problem_response(request, exc.status_code, kind, detail, title=title, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route on this path (Starlette's Allow names only the first route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"}) if hasattr(route, "matches") else (Match.NONE, None)
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("unhandled error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, 500, "internal-error",
        f"the server failed to handle this request; it is logged as incident {incident}",
        title="Internal server error",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemException, _problem)
    app.add_exception_handler(ScenarioError, _scenario)
    app.add_exception_handler(AgoraError, _agora)  # after ScenarioError: the most specific handler wins
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)

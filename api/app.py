"""The FastAPI application: ``create_app()`` (uvicorn ``--factory``) or ``agora serve``.

Routes live in ``api/routes/`` (one module per resource, each with a
``router``; every such module is mounted, so a new resource is one new file),
shared dependencies in ``api/deps.py``, the work in ``api/services.py`` and
the run pool in ``api/worker.py``. Settings come from the environment
(``api/settings.py``). Every error is ``application/problem+json``
(``api/errors.py``).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from api import errors, routes
from api.deps import require_api_key
from api import trust
from api.middleware import BodyLimitMiddleware, TrustedHostMiddleware
from api.schemas import Problem
from api.settings import Settings
from api.solver import Solver
from api.worker import Limits, RunPool
from simulator.store import Store, agora_version

log = logging.getLogger("agora.api")

# Error responses every operation may give, documented with the Problem schema.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body is not valid JSON, or the Host header is not allowed (AGORA_API_ALLOWED_HOSTS)"},
    401: {"model": Problem, "description": "AGORA_API_KEY is set and the bearer key is missing or wrong"},
    404: {"model": Problem, "description": "no such run, scenario or route"},
    413: {"model": Problem, "description": "the body is larger than AGORA_API_MAX_BODY"},
    422: {"model": Problem, "description": "invalid request or scenario, or one the server's trust settings refuse; "
                                           "`errors` lists field paths (and lines, or the setting that would allow it)"},
    500: {"model": Problem, "description": "a server fault, logged with the incident id given in `detail`"},
}


def create_app(settings: Settings | None = None, *, start_pool: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with Store(settings.db) as store:  # recover(): runs of a killed server become 'interrupted'
            recovered = store.recover()
        if recovered:
            log.warning("marked %d run(s) of a stopped process as interrupted: %s", len(recovered), ", ".join(recovered))
        pool = RunPool(settings.db, settings.api_workers, settings.api_max_queue, settings.api_cancel_grace,
                       Limits.from_settings(settings), lease=settings.server_lease)
        app.state.pool = pool
        app.state.solver = Solver(settings.api_solve_timeout, settings.api_solve_workers, settings.api_solve_queue,
                                  settings.api_solve_small, trust.worker_env(settings))
        if start_pool:
            pool.start()
        try:
            yield
        finally:
            pool.stop()
            app.state.solver.close()

    app = FastAPI(
        title="Agora",
        version=agora_version(),
        summary="Multi-agent market and game simulator: runs, live progress, results, plots and game solving.",
        lifespan=lifespan,
        responses=COMMON_ERRORS,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_body=settings.api_max_body)
    app.add_middleware(TrustedHostMiddleware, allowed=settings.api_allowed_hosts)  # outermost: before anything else runs
    # The bearer check (and its security scheme in the OpenAPI document) only when a key is set.
    guarded = [Depends(require_api_key)] if settings.api_key is not None else []
    for module in routes.modules():
        dependencies = [] if getattr(module, "public", False) else guarded
        app.include_router(module.router, dependencies=dependencies)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with error bodies declared as ``application/problem+json``."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if status[0] in "45" and content:  # whatever the route's own media type (SSE, images)
                        schema_ = next(iter(content.values())).get("schema", {"$ref": "#/components/schemas/Problem"})
                        response["content"] = {errors.PROBLEM_JSON: {"schema": schema_}}
        app.openapi_schema = schema
    return app.openapi_schema

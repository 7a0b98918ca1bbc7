"""``agora serve``: the REST API and web UI under uvicorn.

The only place the CLI touches ``api/``, and only inside the command: ``simulator``
must not depend on ``api`` (docs/architecture.md), and ``agora run`` should not pay
for importing FastAPI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from simulator.cli.console import DbOption, fail


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="run worker processes (default: $AGORA_API_WORKERS or 2)"),
    db: Optional[Path] = DbOption,
) -> None:
    """Start the REST API (OpenAPI docs at /docs); settings from AGORA_* variables (see api/settings.py).

    Scenarios submitted to the API are untrusted (README "Serving Agora safely"). A non-loopback
    --host needs AGORA_API_KEY set; uvicorn's concurrency limit and timeouts come from the settings.
    """
    import os

    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.settings import Settings

    if db is not None:
        os.environ["AGORA_DB"] = str(db)
    if workers is not None:
        os.environ["AGORA_API_WORKERS"] = str(workers)
    try:
        settings = Settings()
    except ValidationError as exc:
        fail("\n".join(f"error: AGORA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()))
    if not _loopback(host) and settings.api_key is None:
        fail(f"error: --host {host} is not a loopback address; set AGORA_API_KEY before serving Agora to a network "
             "(allowed without a key: 127.0.0.1, ::1, localhost)")
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info",
        limit_concurrency=settings.api_max_connections,  # beyond it uvicorn answers 503 at once
        timeout_keep_alive=settings.api_keep_alive,
        timeout_graceful_shutdown=10,  # open SSE streams must not hold a SIGTERM forever
        h11_max_incomplete_event_size=64 * 1024,  # request line + headers
    )


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

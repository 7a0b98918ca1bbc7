"""API settings, in one place, read from the environment (``AGORA_*``).

=========================  ==================================================
``AGORA_DB``               SQLite store file, shared with the CLI (``agora.db``)
``AGORA_API_KEY``          if set, every route but ``/health`` needs
                           ``Authorization: Bearer <key>``
``AGORA_API_WORKERS``      worker processes that execute runs (2)
``AGORA_API_MAX_QUEUE``    runs waiting for a worker before 503 (10,000)
``AGORA_API_MAX_BODY``     request body limit in bytes, 413 above it (1 MiB)
``AGORA_API_CANCEL_GRACE`` seconds a cancelled run gets to stop before its
                           worker process is killed (5)
``AGORA_API_SOLVE_TIMEOUT`` seconds ``POST /solve`` may compute before 422 (10)
``AGORA_SCENARIOS``        folder of shipped scenario files (``scenarios/``)
``AGORA_GAMES``            folder of shipped game files for ``POST /solve`` (``games/``)
=========================  ==================================================
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from simulator.store import DEFAULT_DB

SHIPPED_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SHIPPED_GAMES = Path(__file__).resolve().parent.parent / "games"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGORA_", extra="ignore")

    db: Path = Field(Path(DEFAULT_DB), description="SQLite store file")
    api_key: SecretStr | None = Field(None, description="bearer token; unset = no auth")
    api_workers: int = Field(2, ge=1, le=256, description="run worker processes")
    api_max_queue: int = Field(10_000, ge=1, description="queued runs before 503")
    api_max_body: int = Field(1 << 20, ge=1024, description="request body limit, bytes")
    api_cancel_grace: float = Field(5.0, gt=0, description="seconds before a cancelled run's worker is killed")
    api_solve_timeout: float = Field(10.0, gt=0, description="seconds POST /solve may compute")
    scenarios: Path = Field(SHIPPED_SCENARIOS, description="folder of shipped scenario files")
    games: Path = Field(SHIPPED_GAMES, description="folder of shipped game files")

"""API settings, in one place, read from the environment (``AGORA_*``).

Every scenario that arrives through the API is *untrusted* (``api/trust.py``
applies these settings to it); one given to the CLI is the user's own.

Server
=============================  ================================================
``AGORA_DB``                   the store, shared with the CLI: an SQLite file
                               (``agora.db``) or a ``postgresql://`` URL, which
                               several servers may share
``AGORA_SERVER_LEASE``         seconds a server may go without renewing its
                               heartbeat in the store before another server marks
                               its runs ``interrupted`` (15)
``AGORA_API_KEY``              if set, every route but ``/health`` needs
                               ``Authorization: Bearer <key>``; required to
                               bind a non-loopback address
``AGORA_API_ALLOWED_HOSTS``    ``Host`` header names the server answers
                               (``127.0.0.1,localhost,::1``); others get 400
``AGORA_API_WORKERS``          worker processes for runs and sweep cells (2)
``AGORA_API_MAX_QUEUE``        runs waiting for a worker before 503 (10,000)
``AGORA_API_MAX_BODY``         request body limit in bytes, 413 above it (1 MiB)
``AGORA_API_CANCEL_GRACE``     seconds a cancelled run gets to stop before its
                               worker process is killed (5)
``AGORA_API_MAX_CONNECTIONS``  open connections before uvicorn answers 503 (64)
``AGORA_API_KEEP_ALIVE``       seconds an idle keep-alive connection is kept (5)
``AGORA_SCENARIOS``            folder of shipped scenario files (``scenarios/``)
``AGORA_GAMES``                folder of shipped game files for ``POST /solve``
=============================  ================================================

Trust boundary (what an untrusted scenario may name)
=============================  ================================================
``AGORA_LLM_ENDPOINTS``        comma-separated LLM base URLs a scenario may use
                               (none: no LLM seat is accepted)
``AGORA_REMOTE_ENDPOINTS``     comma-separated remote-agent URLs a scenario may
                               seat with ``policy: remote`` (none: no remote seat
                               is accepted); compared exactly, redirects are not
                               followed
``AGORA_LLM_KEY_ENVS``         comma-separated variable names a scenario may
                               give as ``api_key_env`` or a remote seat's
                               ``headers_env`` (none; ``AGORA_*`` never);
                               the only variables run workers inherit
``AGORA_DATA_ROOT``            folder under which marketplace ``data:`` folders
                               are looked up (none: only the shipped data)
``AGORA_API_LLM_CACHE``        the server's one LLM cache file
                               (``<db>.llm-cache.db``; with a PostgreSQL store
                               the store's database); ``cache_path`` is refused
=============================  ================================================

Limits (bounds on what an untrusted scenario may ask for)
=============================  ================================================
``AGORA_MAX_AGENTS``           players / agents / customers + businesses (1,000)
``AGORA_MAX_ROUNDS``           rounds (and repetitions x rounds) (100,000)
``AGORA_MAX_PROFILES``         cells of a payoff table (10,000)
``AGORA_MAX_CELLS``            cells of a sweep, points x seeds (1,000)
``AGORA_MAX_OVERRIDES``        bytes of all overrides together (16,384)
``AGORA_MAX_YAML_NODES``       YAML nodes after alias expansion (100,000)
``AGORA_RUN_MAX_SECONDS``      wall-clock seconds per run or sweep cell (300)
``AGORA_RUN_MAX_MEMORY``       resident memory of a run's worker, MiB (1,024)
``AGORA_RUN_MAX_EVENTS``       logged events per run (2,000,000)
``AGORA_API_SOLVE_TIMEOUT``    seconds one ``POST /solve`` may compute, counted
                               from when a solver process takes it (10)
``AGORA_API_SOLVE_WORKERS``    solver processes for general games (2)
``AGORA_API_SOLVE_QUEUE``      solves that may wait for a solver before 503 (2)
``AGORA_API_SOLVE_SMALL``      games with at most this many action profiles go
                               to a solver process of their own, so a small
                               game is never stuck behind hard ones (64)
=============================  ================================================

A run that passes a per-run limit ends with status ``limit_exceeded``; the
events and (for the time and event caps) the metrics computed so far are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from simulator.store import DEFAULT_DB, is_postgres_url, store_target

SHIPPED_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SHIPPED_GAMES = Path(__file__).resolve().parent.parent / "games"
# Market data shipped with the repository (marketplace_small.yaml reads it); always allowed.
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "magentic"

Names = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGORA_", extra="ignore")

    db: Path | str = Field(Path(DEFAULT_DB), description="the store: an SQLite file or a postgresql:// URL")
    server_lease: float = Field(15.0, gt=0, description="seconds without a heartbeat before a server is taken for dead")
    api_key: SecretStr | None = Field(None, description="bearer token; unset = no auth")
    api_allowed_hosts: Names = Field(("127.0.0.1", "localhost", "::1"), description="Host header names answered")
    api_workers: int = Field(2, ge=1, le=256, description="run worker processes")
    api_max_queue: int = Field(10_000, ge=1, description="queued runs before 503")
    api_max_body: int = Field(1 << 20, ge=1024, description="request body limit, bytes")
    api_cancel_grace: float = Field(5.0, gt=0, description="seconds before a cancelled run's worker is killed")
    api_max_connections: int = Field(64, ge=1, description="open connections before uvicorn answers 503")
    api_keep_alive: float = Field(5.0, gt=0, description="seconds an idle keep-alive connection is kept")
    scenarios: Path = Field(SHIPPED_SCENARIOS, description="folder of shipped scenario files")
    games: Path = Field(SHIPPED_GAMES, description="folder of shipped game files")

    # trust boundary
    llm_endpoints: Names = Field((), description="LLM base URLs an API scenario may use")
    remote_endpoints: Names = Field((), description="remote-agent URLs an API scenario may seat (policy: remote)")
    llm_key_envs: Names = Field((), description="variable names an API scenario may give as api_key_env")
    data_root: Path | None = Field(None, description="folder of market data directories an API scenario may read")
    api_llm_cache: Path | None = Field(None, description="the server's LLM cache file (default <db>.llm-cache.db)")

    # limits
    max_agents: int = Field(1_000, ge=1)
    max_rounds: int = Field(100_000, ge=1)
    max_profiles: int = Field(10_000, ge=1)
    max_cells: int = Field(1_000, ge=1)
    max_overrides: int = Field(16_384, ge=64)
    max_yaml_nodes: int = Field(100_000, ge=100)
    run_max_seconds: float = Field(300.0, gt=0)
    run_max_memory: int = Field(1_024, ge=64, description="MiB")
    run_max_events: int = Field(2_000_000, ge=1)
    api_solve_timeout: float = Field(10.0, gt=0, description="seconds POST /solve may compute")
    api_solve_workers: int = Field(2, ge=1, le=64)
    api_solve_queue: int = Field(2, ge=0, le=1000)
    api_solve_small: int = Field(64, ge=1)

    @field_validator("api_allowed_hosts", "llm_endpoints", "remote_endpoints", "llm_key_envs", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("llm_endpoints", "remote_endpoints")
    @classmethod
    def _no_trailing_slash(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(url.rstrip("/") for url in value)

    @field_validator("db", mode="after")
    @classmethod
    def _url_or_path(cls, value: Path | str) -> Path | str:
        target = store_target(value)  # a URL given as a Path gets its '//' back
        return target if is_postgres_url(target) else Path(target)

    def llm_cache_file(self) -> Path | str:
        if self.api_llm_cache is not None:
            return self.api_llm_cache
        if isinstance(self.db, str):  # a PostgreSQL store: the cache is a table of the same database, shared by its servers
            return self.db
        return self.db.with_name(self.db.name + ".llm-cache.db")

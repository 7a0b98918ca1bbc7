"""Both store backends for every store test: an SQLite file, and a database on a real PostgreSQL server
started once per session on 127.0.0.1 (tests/store/pg_server.py). Where PostgreSQL cannot be installed
its tests skip with the reason -- except under CI=true, where that is a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.store.pg_server import PostgresServer, PostgresUnavailable


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401

        server = PostgresServer().start()
    except (PostgresUnavailable, ImportError) as exc:
        reason = f"PostgreSQL store tests need a server and psycopg (pip install agora[postgres]): {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} -- CI must not skip them")
        pytest.skip(reason)
    try:
        yield server
    finally:
        from simulator.store.postgres import close_pools

        close_pools()
        server.stop()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, tmp_path) -> str:
    """Where a test's store lives: an SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("pg_url")

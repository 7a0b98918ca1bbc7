"""The run store: an embedded SQLite file by default, a PostgreSQL database for shared servers.

``open_store(target)`` (or ``Store(target)``) picks the backend from the target: a ``postgresql://``
URL opens ``PostgresStore`` (``simulator/store/postgres.py``), anything else an SQLite file
(``simulator/store/sqlite.py``); no target means ``$AGORA_DB`` or ``./agora.db``. The queries
are shared (``simulator/store/core.py``), the schema is versioned SQL (``schema/<dialect>/NNN_*.sql``,
applied at open), and ``simulator/store/migrate.py`` copies one store into another.
"""

from __future__ import annotations

from pathlib import Path

from simulator.store.core import (
    ACTIVE,
    DEFAULT_DB,
    FINAL,
    SCHEMA_VERSION,
    TABLES,
    RunNotFound,
    Store,
    StoreError,
    SweepNotFound,
    agora_version,
    default_target,
    is_postgres_url,
    pid_alive,
    store_target,
)
from simulator.store.postgres import PostgresStore  # registers the backend (psycopg is imported only when used)
from simulator.store.sqlite import SQLiteStore

__all__ = [
    "ACTIVE", "DEFAULT_DB", "FINAL", "SCHEMA_VERSION", "TABLES", "PostgresStore", "RunNotFound", "SQLiteStore", "Store",
    "StoreError", "SweepNotFound",
    "agora_version", "default_target", "is_postgres_url", "open_store", "pid_alive",
    "store_target",
]


def open_store(target: str | Path | None = None, *, recover: bool = True) -> Store:
    """The store at ``target``: a ``postgresql://`` URL or an SQLite file path (default ``$AGORA_DB`` or ``./agora.db``)."""
    return Store(target, recover=recover)


"""The shared backend: a PostgreSQL database (``AGORA_DB=postgresql://user:password@host:5432/agora``).

psycopg 3 with a ``psycopg_pool.ConnectionPool`` per process and URL (every ``PostgresStore`` of a process
shares it, so a threaded API server holds a few connections, not one per thread); event batches go in
with ``COPY``; the schema files of ``schema/postgres/`` are applied at open under an advisory lock, so
servers starting together apply each version once. Several ``agora serve`` processes, on one host or many,
may use one database: runs are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (``Store.claim_run``).
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from simulator.store.core import TABLES, Dialect, Session, Store, StoreError, store_target

POSTGRES = Dialect(
    name="postgres",
    now="extract(epoch from clock_timestamp())::double precision",
    next_order="nextval('runs_order_seq')",
    skip_locked=" FOR UPDATE SKIP LOCKED",
)
SCHEMA_LOCK = 0x61676F7261  # pg_advisory_xact_lock key ("agora"): one schema upgrade at a time
POOL_SIZE = int(os.environ.get("AGORA_DB_POOL_SIZE", "8"))
CONNECT_TIMEOUT = 10  # seconds

_pools: dict[tuple[str, int], Any] = {}  # (url, pid) -> ConnectionPool; one per process, as a driver's engine
_pools_lock = threading.Lock()


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def _pool(url: str) -> Any:
    try:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise StoreError("a postgresql:// store needs psycopg; allowed: install the extra `pip install agora[postgres]`, "
                         "or an SQLite file") from None
    key = (url, os.getpid())
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            return pool
        try:  # one plain connection first: its error says what is wrong (the pool's would only time out)
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the store {redact(url)}: {' '.join(str(exc).split())}") from None
        pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=False, name="agora-store",
                              kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT})
        pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        _pools[key] = pool
        return pool


class PostgresStore(Store):
    """A handle on a PostgreSQL run store; thread-safe (each call borrows a pooled connection)."""

    dialect = POSTGRES

    def __init__(self, url: str | None = None, *, recover: bool = True) -> None:
        self.url = store_target(url)
        self.path = redact(self.url)
        self.pool = _pool(self.url)  # first: it says so if psycopg is not installed
        import psycopg
        try:
            with self.transaction() as s:
                s.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
                self.apply_schema(s)
            if recover:
                self.recover()
        except psycopg.Error as exc:
            raise StoreError(f"cannot use {self.path} as the run store: {' '.join(str(exc).split())}") from None

    def close(self) -> None:
        """Nothing to close per handle: the process's pool stays open for the next ``Store`` (``close_pools`` ends it)."""

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.pool.connection() as conn:
            yield Session(conn, pyformat=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.pool.connection() as conn, conn.transaction():
            yield Session(conn, pyformat=True)

    def bulk_insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def integrity_check(self) -> str:
        """PostgreSQL keeps its own pages consistent; what is checked here is that no row lost its run."""
        with self.session() as s:
            for table in TABLES[1:4]:
                orphans = s.value(f"SELECT COUNT(*) AS n FROM {table} x WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id=x.run_id)")
                if orphans:
                    return f"{orphans} {table} rows without their run"
        return "ok"


def close_pools() -> None:
    """Close this process's connection pools (tests, and servers that stop)."""
    with _pools_lock:
        for key in [k for k in _pools if k[1] == os.getpid()]:
            _pools.pop(key).close()

"""Copy one store into another (``agora store migrate --from agora.db --to postgresql://...``).

Every table of ``TABLES`` is copied in primary-key order, in batches (PostgreSQL: ``COPY``), into a
target that holds no runs or sweeps yet; then the copy is verified: for each table the row count and
a checksum must equal the source's. The checksum is the sum modulo 2**256 of each row's SHA-256 (its
values as canonical JSON), so it does not depend on the order the backends sort text keys in
(SQLite: bytes; PostgreSQL: the database's collation).
The listing order (``runs.rowid_order``) is copied as is, and PostgreSQL's order sequence is moved past it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from simulator.store.core import TABLES, Store, StoreError

KEYS = {"runs": ("id",), "events": ("run_id", "seq"), "metrics": ("run_id", "name"), "exchanges": ("run_id", "seq"), "sweeps": ("id",)}
BATCH = 5_000


@dataclass(frozen=True)
class TableCheck:
    table: str
    rows: int
    checksum: str


def columns(store: Store, table: str) -> tuple[str, ...]:
    with store.session() as s:
        row = s.execute(f"SELECT * FROM {table} LIMIT 0")
        return tuple(d[0] for d in row.description)


def _batches(store: Store, table: str, cols: tuple[str, ...]) -> Any:
    """The table's rows in key order, ``BATCH`` at a time (keyset pagination: no long-held cursor)."""
    keys = KEYS[table]
    last: tuple | None = None
    while True:
        where = f" WHERE ({', '.join(keys)}) > ({', '.join('?' * len(keys))})" if last is not None else ""
        sql = f"SELECT {', '.join(cols)} FROM {table}{where} ORDER BY {', '.join(keys)} LIMIT {BATCH}"
        with store.session() as s:
            rows = s.rows(sql, last or ())
        if not rows:
            return
        yield [tuple(r[c] for c in cols) for r in rows]
        last = tuple(rows[-1][k] for k in keys)


def row_hash(row: tuple) -> int:
    # Both backends return int, float, str or None for every column (JSON is TEXT), so the JSON text is the same.
    return int.from_bytes(hashlib.sha256(json.dumps(row, separators=(",", ":")).encode()).digest(), "big")


def checksum(store: Store, table: str, cols: tuple[str, ...]) -> TableCheck:
    total, count = 0, 0
    for batch in _batches(store, table, cols):
        for row in batch:
            total = (total + row_hash(row)) % (1 << 256)
        count += len(batch)
    return TableCheck(table, count, f"{total:064x}")


def migrate(source: Store, target: Store, progress: Callable[[str, int], None] | None = None) -> list[TableCheck]:
    """Copy ``source`` into the empty ``target`` and verify it; returns each table's count and checksum.
    Raises ``StoreError`` if the target is not empty or the copy does not match."""
    with target.session() as s:
        existing = s.value("SELECT COUNT(*) AS n FROM runs") + s.value("SELECT COUNT(*) AS n FROM sweeps")
    if existing:
        raise StoreError(f"the target store {target.path} already holds {existing} runs and sweeps; allowed: an empty store")
    shared = {}
    for table in TABLES:
        source_cols, target_cols = columns(source, table), set(columns(target, table))
        missing = [c for c in source_cols if c not in target_cols]
        if missing:
            raise StoreError(f"the target's {table} table has no column {', '.join(missing)}; upgrade the target's Agora")
        shared[table] = source_cols
        copied = 0
        for batch in _batches(source, table, source_cols):
            target.bulk_insert(table, source_cols, batch)
            copied += len(batch)
            if progress is not None:
                progress(table, copied)
    if target.dialect.name == "postgres":
        with target.session() as s:
            s.execute("SELECT setval('runs_order_seq', GREATEST((SELECT COALESCE(MAX(rowid_order), 0) FROM runs), 1))")
    checks = []
    for table in TABLES:
        want, got = checksum(source, table, shared[table]), checksum(target, table, shared[table])
        if want != got:
            raise StoreError(f"the copy of {table} does not match: source {want.rows} rows sha256 {want.checksum[:16]}, "
                             f"target {got.rows} rows sha256 {got.checksum[:16]}")
        checks.append(want)
    return checks

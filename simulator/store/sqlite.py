"""The embedded backend: one SQLite file (WAL), no server; the default (``./agora.db``)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from simulator.store.core import Dialect, Session, Store, StoreError, default_target

SQLITE = Dialect(
    name="sqlite",
    now="((julianday('now') - 2440587.5) * 86400.0)",
    # BEGIN IMMEDIATE makes each insert the only writer, so MAX + 1 is safe here
    next_order="(SELECT COALESCE(MAX(rowid_order), 0) + 1 FROM runs)",
    skip_locked="",  # one writer at a time: the claiming transaction sees no competitor
)


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row)}


class SQLiteStore(Store):
    """A handle on an SQLite run store. One connection, usable from one thread at a time."""

    dialect = SQLITE

    def __init__(self, path: str | Path | None = None, *, recover: bool = True) -> None:
        self.path = Path(path if path is not None else default_target())
        try:
            if self.path.is_dir():
                raise StoreError(f"{self.path} is a directory; allowed: an SQLite file (created if missing)")
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except OSError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None
        try:
            self.db.row_factory = _dict_row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self.transaction() as s:  # BEGIN IMMEDIATE: two processes opening a new file apply it once
                self.apply_schema(s)
            if recover:
                self.recover()
        except sqlite3.DatabaseError as exc:  # not a database, unreadable, read-only, a schema clash
            self.db.close()
            raise StoreError(f"cannot use {self.path} as the run store: {exc}; allowed: an Agora SQLite store, or a new file") from None
        except StoreError:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        yield Session(self.db, pyformat=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield Session(self.db, pyformat=False)
        except BaseException:
            if self.db.in_transaction:  # SQLite itself ends the transaction on some errors (a full disk)
                self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()["integrity_check"]

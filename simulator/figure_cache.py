"""Drawn figures of ended runs, kept on disk beside an SQLite run store: ``<store>.figures.db``.

A run's figures cannot change once it has ended, but drawing them can take
seconds (the welfare figure reads the whole event log; a 2,000-agent run has
tens of thousands of events). Whatever ends a big run draws them as it ends
(``simulator.draw_ahead``: the API's run workers and ``agora run``) and every
process that serves or draws them reads and writes
this one file, so the first page load of a run only reads bytes, and a restarted
server keeps them.

One SQLite table, ``figures(run_id, name, fmt, version, data)``: ``version`` is
the run's status and end time (``version_of``), so a run stored again under
the same id (a resumed sweep's cell) is drawn again. A PostgreSQL store (no
file to sit beside) gets no disk cache: ``for_store`` returns ``None`` and
figures are cached per process (``simulator.plots``). Failures to read or write
the cache are never errors: the figure is drawn instead.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

SUFFIX = ".figures.db"
SCHEMA = ("CREATE TABLE IF NOT EXISTS figures (run_id TEXT NOT NULL, name TEXT NOT NULL, fmt TEXT NOT NULL, "
          "version TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run_id, name, fmt))")


def version_of(run: dict[str, Any]) -> str | None:
    """What identifies an ended run's figures (status and end time); ``None`` while it is still going."""
    from simulator.store import FINAL

    if run.get("status") not in FINAL or not run.get("finished_at"):
        return None
    return f"{run['status']}@{run['finished_at']}"


class FigureCache:
    """``get`` / ``put`` figure bytes by run, name, format and version, in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()  # one connection per thread (sqlite3 connections stay in their thread)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")  # readers (the server) and writers (workers) do not block each other
            db.execute(SCHEMA)
            self._local.db = db
        return db

    def get(self, run_id: str, name: str, fmt: str, version: str) -> bytes | None:
        try:
            row = self._db().execute("SELECT data FROM figures WHERE run_id=? AND name=? AND fmt=? AND version=?",
                                     (run_id, name, fmt, version)).fetchone()
        except sqlite3.Error:
            return None
        return bytes(row[0]) if row else None

    def put(self, run_id: str, name: str, fmt: str, version: str, data: bytes) -> None:
        try:
            self._db().execute("INSERT OR REPLACE INTO figures (run_id, name, fmt, version, data) VALUES (?, ?, ?, ?, ?)",
                               (run_id, name, fmt, version, sqlite3.Binary(data)))
        except sqlite3.Error:
            pass  # a read-only folder or a full disk: the figure is drawn again next time


_caches: dict[Path, FigureCache] = {}
_caches_lock = threading.Lock()


def for_store(store: Any) -> FigureCache | None:
    """The figure cache beside ``store`` (an SQLite store's file + ``.figures.db``); ``None`` for PostgreSQL."""
    path = getattr(store, "path", None)
    if not isinstance(path, Path):  # a PostgreSQL store's path is its (redacted) URL
        return None
    target = path.with_name(path.name + SUFFIX)
    with _caches_lock:
        if target not in _caches:
            _caches[target] = FigureCache(target)
        return _caches[target]

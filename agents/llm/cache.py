"""The LLM call cache: every request and its reply in one SQLite file (or a PostgreSQL database), for exact replay.

A call's key is the SHA-256 of the canonical JSON of (model, parameters,
messages) and the call's *ordinal*: how many identical requests this run
already made before it. So a run that asks the same thing twice gets two
entries, and a replay hands back the replies in the same order. Ordinals are
assigned in request order on the simulation thread, never in network order,
so they do not depend on timing.

Modes: ``record`` reuses stored replies and stores new ones; ``replay`` only
reads, and a missing entry raises ``LLMCacheMiss`` (no network); ``off``
neither reads nor writes. The API key is never part of a request body, so it
is never stored.

Where the target is a ``postgresql://`` URL (a server on a PostgreSQL store:
``api/settings.py``), the same table lives in that database, so every server
of a shared store records into and replays from one cache.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from simulator.errors import AgoraError, InvalidInput

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_calls (
    key               TEXT PRIMARY KEY,
    model             TEXT NOT NULL,
    ordinal           INTEGER NOT NULL,
    request           TEXT NOT NULL,
    response          TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms        REAL NOT NULL DEFAULT 0,
    created_at        REAL NOT NULL
) WITHOUT ROWID;
"""


class LLMError(AgoraError, RuntimeError):
    """Base class of LLM errors that end a run with a message for the user."""


class LLMSettingsError(LLMError, InvalidInput):
    """LLM settings that cannot work (a key variable not set, a dollar budget for an unpriced model, a bad
    price file): bad input, reported as such before any call is made."""


class LLMCacheMiss(LLMError):
    """Replay mode asked for a call that was never recorded."""


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(body: dict[str, Any]) -> str:
    """Hash of (model, parameters, messages): the whole request body, canonically serialised."""
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def call_key(body_hash: str, ordinal: int) -> str:
    return hashlib.sha256(f"{body_hash}:{ordinal}".encode()).hexdigest()


POSTGRES_SCHEMA = SCHEMA.replace("REAL", "DOUBLE PRECISION").replace(" WITHOUT ROWID", "")
COLUMNS = "key, model, ordinal, request, response, prompt_tokens, completion_tokens, latency_ms, created_at"


def is_database_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


class LLMCache:
    """The recorded calls, in one SQLite file (WAL) or a PostgreSQL database; safe to share between processes."""

    def __init__(self, target: str | Path, mode: str) -> None:
        self.mode = mode
        if is_database_url(target):
            self.path = str(target)
            self.db, self._mark = _postgres(self.path), "%s"
            self._upsert = (f"INSERT INTO llm_calls ({COLUMNS}) VALUES ({', '.join(['%s'] * 9)}) ON CONFLICT (key) DO UPDATE SET "
                            + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS.split(", ")[1:]))
            return
        self.path = Path(target)
        if mode == "replay" and not self.path.exists():
            raise LLMCacheMiss(
                f"LLM cache replay: the cache file {self.path} does not exist; record the run first "
                "(agora run FILE --llm-cache record) or point llm.cache_path / $AGORA_LLM_CACHE at the recorded cache"
            )
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self._mark = "?"
        self._upsert = f"INSERT OR REPLACE INTO llm_calls ({COLUMNS}) VALUES ({', '.join('?' * 9)})"

    def close(self) -> None:
        self.db.close()

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT response, prompt_tokens, completion_tokens, latency_ms FROM llm_calls WHERE key={self._mark}", (key,)
        ).fetchone()
        if row is None:
            return None
        response = json.loads(row[0])
        response.setdefault("usage", {"prompt_tokens": row[1], "completion_tokens": row[2]})
        response["latency_ms"] = row[3]
        return response

    def put(self, key: str, body: dict[str, Any], ordinal: int, response: dict[str, Any]) -> None:
        usage = response.get("usage") or {}
        stored = {k: v for k, v in response.items() if k != "latency_ms"}
        self.db.execute(
            self._upsert,
            (
                key, str(body.get("model", "")), ordinal, canonical(body), canonical(stored),
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                float(response.get("latency_ms") or 0.0), time.time(),
            ),
        )

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0]


def _postgres(url: str) -> Any:
    """An autocommit psycopg connection with the cache table (the ``postgres`` extra)."""
    try:
        import psycopg
    except ImportError:
        raise LLMSettingsError("a postgresql:// LLM cache needs psycopg; allowed: install the extra "
                               "`pip install agora[postgres]`, or an SQLite cache file") from None
    try:
        db = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise LLMSettingsError(f"cannot connect to the LLM cache database: {' '.join(str(exc).split())}") from None
    db.execute(POSTGRES_SCHEMA)
    return db

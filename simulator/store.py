"""Run storage: one SQLite file (WAL), no server.

Tables (plain SQL, so PostgreSQL can be a drop-in later):

- ``runs``: one row per run: id, scenario name and text, world, seed,
  overrides, Agora version, status, progress, timings, error, pid.
- ``events``: the event log, ``(run_id, seq)`` keyed, data as JSON.
- ``metrics``: ``(run_id, name)`` -> JSON value (welfare, payoffs, measures, theory).
- ``exchanges``: the LLM transcript, one row per call: ``(run_id, seq)`` keyed,
  with agent, decision (the agent's n-th), attempt (0 first ask, 1 re-ask),
  tokens, latency, cache hit, and the messages, reply, action or error as JSON.

Every write is its own transaction, so a run killed mid-way leaves earlier runs
intact and its own rows consistent; on open, runs still marked ``running`` or
``queued`` whose process is gone are marked ``interrupted``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

DEFAULT_DB = "agora.db"
ACTIVE = ("queued", "running")
FINAL = ("finished", "failed", "interrupted", "cancelled", "budget_exhausted", "degraded", "limit_exceeded")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    rowid_order   INTEGER NOT NULL,
    scenario_name TEXT NOT NULL,
    world         TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    seed          INTEGER NOT NULL,
    overrides     TEXT NOT NULL DEFAULT '[]',
    version       TEXT NOT NULL,
    status        TEXT NOT NULL,
    progress      REAL NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    error         TEXT,
    host          TEXT,
    pid           INTEGER,
    sweep_id      TEXT,
    summary       TEXT
);
CREATE INDEX IF NOT EXISTS runs_order ON runs (rowid_order);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    t      REAL NOT NULL,
    agent  TEXT,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_sweep ON runs (sweep_id);
CREATE TABLE IF NOT EXISTS exchanges (
    run_id            TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    agent             TEXT NOT NULL,
    decision          INTEGER NOT NULL,
    attempt           INTEGER NOT NULL,
    t                 REAL NOT NULL,
    error_kind        TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms        REAL NOT NULL DEFAULT 0,
    cached            INTEGER NOT NULL DEFAULT 0,
    data              TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS exchanges_agent ON exchanges (run_id, agent, decision);
CREATE TABLE IF NOT EXISTS sweeps (
    id            TEXT PRIMARY KEY,
    scenario_name TEXT NOT NULL,
    world         TEXT NOT NULL,
    source        TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    spec          TEXT NOT NULL,
    cells         TEXT NOT NULL,
    n_cells       INTEGER NOT NULL,
    status        TEXT NOT NULL,
    created_at    REAL NOT NULL,
    finished_at   REAL,
    host          TEXT,
    pid           INTEGER,
    error         TEXT
);
"""


def default_path() -> Path:
    return Path(os.environ.get("AGORA_DB", DEFAULT_DB))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agora")
    except PackageNotFoundError:
        return "dev"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process not yet reaped (a zombie) still answers kill(pid, 0): it is dead (Linux /proc)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return not os.path.isdir("/proc")
    except (OSError, IndexError):
        return True


class StoreError(ValueError):
    """The store file cannot be opened or is not an Agora store (a directory, another kind of file, unreadable)."""


class RunNotFound(KeyError):
    pass


class SweepNotFound(KeyError):
    pass


class Store:
    """A handle on the SQLite run store. Cheap to open; one per process or thread."""

    def __init__(self, path: str | Path | None = None, *, recover: bool = True) -> None:
        self.path = Path(path) if path is not None else default_path()
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
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            if recover:
                self.recover()
        except sqlite3.DatabaseError as exc:  # not a database, unreadable, read-only, a schema clash
            self.db.close()
            raise StoreError(f"cannot use {self.path} as the run store: {exc}; allowed: an Agora SQLite store, or a new file") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # ------------------------------------------------------------------ writes
    def create_run(
        self,
        *,
        scenario_name: str,
        world: str,
        scenario_text: str,
        seed: int,
        overrides: Iterable[tuple[str, Any]] = (),
        status: str = "running",
        sweep_id: str | None = None,
        run_id: str | None = None,
    ) -> str:
        run_id = run_id or uuid.uuid4().hex[:12]
        now = time.time()
        with self.transaction() as db:
            order = db.execute("SELECT COALESCE(MAX(rowid_order), 0) + 1 FROM runs").fetchone()[0]
            db.execute(
                "INSERT INTO runs (id, rowid_order, scenario_name, world, scenario_text, seed, overrides, version,"
                " status, created_at, started_at, host, pid, sweep_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id, order, scenario_name, world, scenario_text, seed,
                    json.dumps([list(o) for o in overrides]), _version(), status, now,
                    now if status == "running" else None, socket.gethostname(), os.getpid(), sweep_id,
                ),
            )
        return run_id

    def mark_running(self, run_id: str) -> None:
        self.db.execute(
            "UPDATE runs SET status='running', started_at=?, host=?, pid=? WHERE id=?",
            (time.time(), socket.gethostname(), os.getpid(), run_id),
        )

    def set_progress(self, run_id: str, progress: float) -> None:
        self.db.execute("UPDATE runs SET progress=? WHERE id=?", (float(progress), run_id))

    def append_events(self, run_id: str, events: list[tuple]) -> None:
        """Append ``(seq, t, agent, kind, data)`` tuples in one transaction."""
        rows = [(run_id, seq, t, agent, kind, json.dumps(data, separators=(",", ":"))) for seq, t, agent, kind, data in events]
        with self.transaction() as db:
            db.executemany("INSERT INTO events (run_id, seq, t, agent, kind, data) VALUES (?,?,?,?,?,?)", rows)

    def finish_run(self, run_id: str, status: str, metrics: dict[str, Any], summary: dict[str, Any], error: str | None = None) -> None:
        """Store metrics and the final status together: a run is never half-finished."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, name, value) VALUES (?,?,?)",
                [(run_id, name, json.dumps(value)) for name, value in metrics.items()],
            )
            db.execute(
                "UPDATE runs SET status=?, progress=CASE WHEN ?='finished' THEN 1 ELSE progress END,"
                " finished_at=?, error=?, summary=? WHERE id=?",
                (status, status, time.time(), error, json.dumps(summary), run_id),
            )

    def fail_run(self, run_id: str, status: str, error: str, summary: dict[str, Any] | None = None) -> None:
        """End an active run with ``status``; ``summary`` (events, counters so far) is kept if given."""
        self.db.execute(
            "UPDATE runs SET status=?, finished_at=?, error=?, summary=COALESCE(?, summary)"
            " WHERE id=? AND status IN ('queued','running')",
            (status, time.time(), error, json.dumps(summary) if summary is not None else None, run_id),
        )

    def recover(self) -> list[str]:
        """Mark runs whose process died (kill -9, power loss) as ``interrupted``."""
        host = socket.gethostname()
        rows = self.db.execute("SELECT id, host, pid FROM runs WHERE status IN ('queued','running')").fetchall()
        dead = [row["id"] for row in rows if row["host"] == host and not _pid_alive(row["pid"])]
        for run_id in dead:
            self.fail_run(run_id, "interrupted", "the process running it stopped before it finished")
        return dead

    def delete_run(self, run_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM runs WHERE id=?", (run_id,))

    # ------------------------------------------------------------------ reads
    def get_run(self, run_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        run = _run_dict(row)
        run["metrics"] = {
            r["name"]: json.loads(r["value"]) for r in self.db.execute("SELECT name, value FROM metrics WHERE run_id=?", (run_id,))
        }
        return run

    def list_runs(
        self,
        *,
        limit: int = 50,
        before: int | None = None,
        world: str | None = None,
        status: str | None = None,
        scenario: str | None = None,
        sweep_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; ``before`` is the ``order`` of the last row of the previous page."""
        where, args = [], []
        for column, value in (("world", world), ("status", status), ("scenario_name", scenario), ("sweep_id", sweep_id)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if before is not None:
            where.append("rowid_order<?")
            args.append(before)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rowid_order DESC LIMIT ?"
        return [_run_dict(row) for row in self.db.execute(sql, (*args, limit))]

    def events(self, run_id: str, *, after: int = -1, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT seq, t, agent, kind, data FROM events WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?",
            (run_id, after, limit),
        )
        return [{"seq": r["seq"], "t": r["t"], "agent": r["agent"], "kind": r["kind"], "data": json.loads(r["data"])} for r in rows]

    # ------------------------------------------------------------------ LLM transcripts (agents/llm)
    _EXCHANGE_COLUMNS = ("agent", "decision", "attempt", "t", "error_kind", "prompt_tokens", "completion_tokens", "latency_ms", "cached")

    def append_exchanges(self, run_id: str, exchanges: list[dict[str, Any]]) -> None:
        """Append transcript rows (dicts with the columns above; everything else goes in ``data``)."""
        with self.transaction() as db:
            start = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM exchanges WHERE run_id=?", (run_id,)).fetchone()[0]
            rows = []
            for seq, row in enumerate(exchanges, start):
                data = {k: v for k, v in row.items() if k not in self._EXCHANGE_COLUMNS}
                rows.append((run_id, seq, *(row.get(c) for c in self._EXCHANGE_COLUMNS[:-1]), int(bool(row.get("cached"))),
                             json.dumps(data, separators=(",", ":"), default=str)))
            db.executemany(
                "INSERT INTO exchanges (run_id, seq, agent, decision, attempt, t, error_kind, prompt_tokens,"
                " completion_tokens, latency_ms, cached, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    def transcript(self, run_id: str, *, agent: str | None = None, after: int = -1, limit: int = 1000) -> list[dict[str, Any]]:
        """A run's LLM exchanges in the order they were made (optionally one agent's), ``seq > after``."""
        sql = "SELECT * FROM exchanges WHERE run_id=? AND seq>?" + (" AND agent=?" if agent is not None else "") + " ORDER BY seq LIMIT ?"
        args = (run_id, after, agent, limit) if agent is not None else (run_id, after, limit)
        rows = []
        for r in self.db.execute(sql, args):
            row = {k: r[k] for k in ("seq", *self._EXCHANGE_COLUMNS)}
            row["cached"] = bool(row["cached"])
            row.update(json.loads(r["data"]))
            rows.append(row)
        return rows

    def transcript_agents(self, run_id: str) -> dict[str, int]:
        """``{agent: number of exchanges}`` for a run, agents in order of their first exchange."""
        rows = self.db.execute(
            "SELECT agent, COUNT(*) AS n, MIN(seq) AS first FROM exchanges WHERE run_id=? GROUP BY agent ORDER BY first", (run_id,)
        )
        return {r["agent"]: r["n"] for r in rows}

    def count_events(self, run_id: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM events WHERE run_id=?", (run_id,)).fetchone()[0]

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    # ------------------------------------------------------------------ sweeps (simulator/sweep.py)
    def create_sweep(
        self, *, sweep_id: str, scenario_name: str, world: str, source: str, scenario_text: str,
        spec: dict[str, Any], cells: list[dict[str, Any]],
    ) -> str:
        """Record a sweep and its cells; each cell becomes a run ``{sweep_id}-{index:04d}`` when it finishes."""
        self.db.execute(
            "INSERT INTO sweeps (id, scenario_name, world, source, scenario_text, spec, cells, n_cells, status,"
            " created_at, host, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (sweep_id, scenario_name, world, source, scenario_text, json.dumps(spec), json.dumps(cells), len(cells),
             "running", time.time(), socket.gethostname(), os.getpid()),
        )
        return sweep_id

    def set_sweep_status(self, sweep_id: str, status: str, error: str | None = None) -> None:
        finished = time.time() if status != "running" else None
        self.db.execute(
            "UPDATE sweeps SET status=?, finished_at=?, error=?, host=?, pid=? WHERE id=?",
            (status, finished, error, socket.gethostname(), os.getpid(), sweep_id),
        )

    def get_sweep(self, sweep_id: str) -> dict[str, Any]:
        """The sweep row with its cells and run counts by status; a dead ``running`` sweep reads ``interrupted``."""
        row = self.db.execute("SELECT * FROM sweeps WHERE id=?", (sweep_id,)).fetchone()
        if row is None:
            raise SweepNotFound(sweep_id)
        sweep = dict(row)
        sweep["spec"] = json.loads(sweep["spec"])
        sweep["cells"] = json.loads(sweep["cells"])
        if sweep["status"] == "running" and sweep["host"] == socket.gethostname() and not _pid_alive(sweep["pid"]):
            sweep["status"] = "interrupted"
        counts = self.db.execute("SELECT status, COUNT(*) FROM runs WHERE sweep_id=? GROUP BY status", (sweep_id,))
        sweep["runs"] = {status: n for status, n in counts}
        return sweep

    def list_sweeps(self, *, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, scenario_name, world, source, n_cells, status, created_at, finished_at FROM sweeps"
            " ORDER BY created_at DESC LIMIT ?", (limit,),
        )
        return [dict(r) for r in rows]

    def sweep_runs(self, sweep_id: str) -> list[dict[str, Any]]:
        """Every stored run of a sweep with its metrics, in run-id (= cell) order."""
        runs = {r["id"]: {**_run_dict(r), "metrics": {}} for r in self.db.execute(
            "SELECT * FROM runs WHERE sweep_id=? ORDER BY id", (sweep_id,))}
        for r in self.db.execute(
            "SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r ON r.id=m.run_id WHERE r.sweep_id=?", (sweep_id,)
        ):
            runs[r["run_id"]]["metrics"][r["name"]] = json.loads(r["value"])
        return list(runs.values())


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    run = dict(row)
    run["order"] = run.pop("rowid_order")
    run["overrides"] = json.loads(run["overrides"])
    run["summary"] = json.loads(run["summary"]) if run["summary"] else None
    started, finished = run["started_at"], run["finished_at"]
    run["duration"] = (finished - started) if started and finished else None
    return run

"""The run store's queries, written once for both backends (SQLite and PostgreSQL).

Tables (``schema/<dialect>/NNN_*.sql``, applied in order at open; same meaning on both backends):

- ``runs``: one row per run: id, scenario name and text, world, seed,
  overrides, Agora version, status, progress, timings, error, host and pid,
  the server that claimed it (``server_id``) and a cross-server ``cancel_requested`` flag.
- ``events``: the event log, ``(run_id, seq)`` keyed, data as JSON.
- ``metrics``: ``(run_id, name)`` -> JSON value (welfare, payoffs, measures, theory).
- ``exchanges``: the LLM transcript, one row per call: ``(run_id, seq)`` keyed,
  with agent, decision (the agent's n-th), attempt (0 first ask, 1 re-ask),
  tokens, latency, cache hit, and the messages, reply, action or error as JSON.
- ``sweeps``: a sweep's spec and cells; its runs carry ``sweep_id``.
- ``servers``: each ``agora serve`` process using the store, with a heartbeat (its lease).

Every write is its own transaction, so a run killed mid-way leaves earlier runs
intact and its own rows consistent. Two ways a run that lost its process is found:
on open, runs of this host whose pid is gone are marked ``interrupted``
(``recover``: the CLI's runs, one machine); and runs claimed by a server whose
heartbeat is older than its lease are marked ``interrupted`` by any other
server (``recover_servers``: a pid means nothing on another host). Both are one
conditional ``UPDATE``, so a run is recovered once however many look.

SQL is written with ``?`` placeholders; a backend states its dialect
(``Dialect``): its clock, its listing-order expression, its row locking.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Sequence

from simulator.errors import InvalidInput, NotFound

DEFAULT_DB = "agora.db"
ACTIVE = ("queued", "running")
FINAL = ("finished", "failed", "interrupted", "cancelled", "budget_exhausted", "degraded", "limit_exceeded")
TABLES = ("runs", "events", "metrics", "exchanges", "sweeps")  # what a store holds (``servers`` is live state)
SCHEMA_VERSION = 2  # the highest schema/<dialect>/NNN_*.sql file
_EXCHANGE_COLUMNS = ("agent", "decision", "attempt", "t", "error_kind", "prompt_tokens", "completion_tokens", "latency_ms", "cached")


def default_target() -> str:
    """``$AGORA_DB`` or ``./agora.db``: a file path or a ``postgresql://`` URL."""
    return os.environ.get("AGORA_DB", DEFAULT_DB)


def store_target(target: str | Path | None) -> str:
    """The target as a string; a URL that went through ``pathlib.Path`` (which folds ``//`` into ``/``,
    e.g. a ``--db`` option typed as a path) gets its ``//`` back."""
    text = default_target() if target is None else str(target)
    return re.sub(r"^(postgres(?:ql)?):/(?=[^/])", r"\1://", text) if isinstance(target, Path) else text


def is_postgres_url(target: str | Path | None) -> bool:
    return target is not None and store_target(target).startswith(("postgresql://", "postgres://"))


def agora_version() -> str:
    """The installed Agora version (stored with every run), ``dev`` when not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agora")
    except PackageNotFoundError:
        return "dev"


def pid_alive(pid: int | None) -> bool:
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


class StoreError(InvalidInput):
    """The store cannot be opened or is not an Agora store (a directory, another kind of file, a server that refuses)."""


class RunNotFound(NotFound):
    """No run with this id in the store (``args[0]`` is the id)."""

    def __str__(self) -> str:
        return f"no run {self.args[0]!r} in the store"


class SweepNotFound(NotFound):
    """No sweep with this id in the store (``args[0]`` is the id)."""

    def __str__(self) -> str:
        return f"no sweep {self.args[0]!r} in the store"


@dataclass(frozen=True)
class Dialect:
    name: str            # the folder of its schema files
    now: str             # SQL: the database's clock in seconds since the epoch (heartbeats use one clock for all hosts)
    next_order: str      # SQL: the next listing order of a new run
    skip_locked: str     # appended to the claiming SELECT


class Session:
    """One connection in use: runs ``?``-placeholder SQL and returns rows as dicts."""

    def __init__(self, conn: Any, pyformat: bool) -> None:
        self.conn, self.pyformat = conn, pyformat

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pyformat else sql

    def execute(self, sql: str, args: Iterable[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(args))

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return self.execute(sql, args).fetchall()

    def one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        return self.execute(sql, args).fetchone()

    def value(self, sql: str, args: Iterable[Any] = ()) -> Any:
        row = self.one(sql, args)
        return None if row is None else next(iter(row.values()))

    def run(self, sql: str, args: Iterable[Any] = ()) -> int:
        """Execute a write; returns how many rows it changed."""
        return self.execute(sql, args).rowcount

    def many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.cursor().executemany(self._sql(sql), rows)


def schema_files(dialect: str) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of ``schema/<dialect>/NNN_name.sql``, in version order."""
    folder = resources.files("simulator.store") / "schema" / dialect
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(int(f.name.split("_", 1)[0]), f.name, f.read_text()) for f in files]


def statements(sql: str) -> list[str]:
    """Split a schema file into statements (the files keep semicolons for statement ends only)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class Store:
    """The run store. ``Store(target)`` opens the backend the target names: a ``postgresql://`` URL is a
    ``PostgresStore``, anything else an SQLite file (``SQLiteStore``). Cheap to open; one per thread."""

    dialect: ClassVar[Dialect]
    backends: ClassVar[dict[str, type["Store"]]] = {}  # dialect name -> class; each backend registers itself below
    path: Any  # the SQLite file, or the PostgreSQL URL without its password (for messages)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Store.backends[cls.dialect.name] = cls  # simulator/store/__init__.py imports both backends

    def __new__(cls, target: str | Path | None = None, *args: Any, **kwargs: Any) -> "Store":
        if cls is Store:
            cls = Store.backends["postgres" if is_postgres_url(store_target(target)) else "sqlite"]
        return object.__new__(cls)

    # What a backend provides
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A connection for statements that are each their own transaction."""
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A connection inside one transaction (committed at the end, rolled back on an exception)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        raise NotImplementedError

    def integrity_check(self) -> str:
        raise NotImplementedError

    def bulk_insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Insert many rows in one transaction (PostgreSQL: COPY)."""
        with self.transaction() as s:
            s.many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ schema
    def apply_schema(self, s: Session) -> int:
        """Apply the schema files newer than the store's version (``s`` holds the backend's schema lock)."""
        s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
        current = s.value("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        if current > SCHEMA_VERSION:
            raise StoreError(f"the store's schema is version {current}, newer than this Agora's {SCHEMA_VERSION}; upgrade Agora")
        for version, name, sql in schema_files(self.dialect.name):
            if version > current:
                for statement in statements(sql):
                    s.execute(statement)
                s.run("INSERT INTO schema_version (version, name, applied_at) VALUES (?,?,?)", (version, name, time.time()))
        return max(current, SCHEMA_VERSION)

    def schema_version(self) -> int:
        with self.session() as s:
            return s.value("SELECT MAX(version) AS v FROM schema_version")

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
        with self.transaction() as s:
            s.run(
                "INSERT INTO runs (id, rowid_order, scenario_name, world, scenario_text, seed, overrides, version,"
                f" status, created_at, started_at, host, pid, sweep_id) VALUES (?,{self.dialect.next_order},?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id, scenario_name, world, scenario_text, seed,
                    json.dumps([list(o) for o in overrides]), agora_version(), status, now,
                    now if status == "running" else None, socket.gethostname(), os.getpid(), sweep_id,
                ),
            )
        return run_id

    def mark_running(self, run_id: str) -> None:
        with self.session() as s:
            s.run("UPDATE runs SET status='running', started_at=?, host=?, pid=? WHERE id=?",
                  (time.time(), socket.gethostname(), os.getpid(), run_id))

    def set_progress(self, run_id: str, progress: float) -> None:
        with self.session() as s:
            s.run("UPDATE runs SET progress=? WHERE id=?", (float(progress), run_id))

    def append_events(self, run_id: str, events: list[tuple]) -> None:
        """Append ``(seq, t, agent, kind, data)`` tuples in one transaction."""
        rows = [(run_id, seq, t, agent, kind, json.dumps(data, separators=(",", ":"))) for seq, t, agent, kind, data in events]
        self.bulk_insert("events", ("run_id", "seq", "t", "agent", "kind", "data"), rows)

    def finish_run(self, run_id: str, status: str, metrics: dict[str, Any], summary: dict[str, Any], error: str | None = None) -> None:
        """Store metrics and the final status together: a run is never half-finished."""
        with self.transaction() as s:
            s.many(
                "INSERT INTO metrics (run_id, name, value) VALUES (?,?,?)"
                " ON CONFLICT (run_id, name) DO UPDATE SET value=excluded.value",
                [(run_id, name, json.dumps(value)) for name, value in metrics.items()],
            )
            s.run(
                "UPDATE runs SET status=?, progress=CASE WHEN ?='finished' THEN 1 ELSE progress END,"
                " finished_at=?, error=?, summary=? WHERE id=?",
                (status, status, time.time(), error, json.dumps(summary), run_id),
            )

    def fail_run(self, run_id: str, status: str, error: str, summary: dict[str, Any] | None = None) -> bool:
        """End an active run with ``status``; ``summary`` (events, counters so far) is kept if given.
        False if the run had already ended (someone else ended it first)."""
        with self.session() as s:
            return s.run(
                "UPDATE runs SET status=?, finished_at=?, error=?, summary=COALESCE(?, summary)"
                " WHERE id=? AND status IN ('queued','running')",
                (status, time.time(), error, json.dumps(summary) if summary is not None else None, run_id),
            ) > 0

    def relabel_failed(self, run_id: str, status: str, error: str) -> None:
        """Give a run that ended ``failed`` a more exact status (the worker knows which limit it hit)."""
        with self.session() as s:
            s.run("UPDATE runs SET status=?, error=? WHERE id=? AND status='failed'", (status, error, run_id))

    def recover(self) -> list[str]:
        """Mark runs of this host whose process died (kill -9, power loss) as ``interrupted``."""
        host = socket.gethostname()
        with self.session() as s:
            rows = s.rows("SELECT id, host, pid FROM runs WHERE status IN ('queued','running') AND host=?", (host,))
        dead = [row["id"] for row in rows if not pid_alive(row["pid"])]
        return [run_id for run_id in dead if self.fail_run(run_id, "interrupted", "the process running it stopped before it finished")]

    def delete_run(self, run_id: str) -> None:
        with self.transaction() as s:
            s.run("DELETE FROM runs WHERE id=?", (run_id,))

    # ------------------------------------------------------------------ several servers on one store (api/worker.py)
    def register_server(self, server_id: str) -> None:
        with self.session() as s:
            s.run(f"INSERT INTO servers (id, host, pid, started_at, heartbeat) VALUES (?,?,?,{self.dialect.now},{self.dialect.now})",
                  (server_id, socket.gethostname(), os.getpid()))

    def heartbeat(self, server_id: str) -> None:
        """Renew this server's lease (and re-register it if another server took it for dead)."""
        with self.session() as s:
            if not s.run(f"UPDATE servers SET heartbeat={self.dialect.now} WHERE id=?", (server_id,)):
                self.register_server(server_id)

    def unregister_server(self, server_id: str) -> None:
        with self.session() as s:
            s.run("DELETE FROM servers WHERE id=?", (server_id,))

    def claim_run(self, server_id: str, run_id: str | None = None) -> str | None:
        """Claim a queued run for ``server_id``: ``run_id`` if it is still unclaimed, else (None) the oldest
        unclaimed one. Exactly one server gets each run: the row is locked (PostgreSQL's ``FOR UPDATE SKIP
        LOCKED``: concurrent claimers pass over rows being claimed; SQLite: one writer at a time)."""
        pick = ("SELECT id FROM runs WHERE id=? AND status='queued' AND server_id IS NULL" if run_id is not None else
                "SELECT id FROM runs WHERE status='queued' AND server_id IS NULL ORDER BY rowid_order LIMIT 1")
        if run_id is None:
            with self.session() as s:  # a plain read first: an idle server polls, and most polls find nothing
                if s.one("SELECT id FROM runs WHERE status='queued' AND server_id IS NULL LIMIT 1") is None:
                    return None
        with self.transaction() as s:
            row = s.one(pick + self.dialect.skip_locked, (run_id,) if run_id is not None else ())
            if row is None:
                return None
            s.run("UPDATE runs SET server_id=?, host=?, pid=? WHERE id=?", (server_id, socket.gethostname(), os.getpid(), row["id"]))
            return row["id"]

    def count_queued(self) -> int:
        """Runs waiting for any server (queued, not yet claimed)."""
        with self.session() as s:
            return s.value("SELECT COUNT(*) AS n FROM runs WHERE status='queued' AND server_id IS NULL")

    def cancel_queued(self, run_id: str) -> bool:
        """Cancel a run no server has claimed yet; False if it was claimed (or ended) first."""
        with self.session() as s:
            return s.run("UPDATE runs SET status='cancelled', finished_at=?, error='cancelled before it started'"
                         " WHERE id=? AND status='queued' AND server_id IS NULL", (time.time(), run_id)) > 0

    def interrupt_unclaimed(self, run_id: str, error: str) -> bool:
        """Mark a queued run ``interrupted`` unless a server has claimed it (the server that took it stops)."""
        with self.session() as s:
            return s.run("UPDATE runs SET status='interrupted', finished_at=?, error=? WHERE id=? AND status='queued'"
                         " AND server_id IS NULL", (time.time(), error, run_id)) > 0

    def request_cancel(self, run_id: str, *, not_server: str) -> bool:
        """Flag an active run claimed by another server; that server polls ``cancel_requests`` and stops it."""
        with self.session() as s:
            return s.run("UPDATE runs SET cancel_requested=1 WHERE id=? AND status IN ('queued','running')"
                         " AND server_id IS NOT NULL AND server_id<>?", (run_id, not_server)) > 0

    def cancel_requests(self, server_id: str) -> list[str]:
        with self.session() as s:
            return [r["id"] for r in s.rows("SELECT id FROM runs WHERE server_id=? AND cancel_requested=1"
                                             " AND status IN ('queued','running')", (server_id,))]

    def recover_servers(self, server_id: str, lease: float) -> list[str]:
        """Mark ``interrupted`` the active runs of every server whose heartbeat is older than ``lease`` seconds
        (by the database's clock), and forget those servers. One ``UPDATE``: each run is recovered once."""
        now = self.dialect.now
        with self.session() as s:  # a plain read first: most rounds find every server alive
            if s.one(f"SELECT id FROM servers WHERE heartbeat < {now} - ? AND id<>? LIMIT 1", (lease, server_id)) is None:
                return []
        with self.transaction() as s:
            dead = [r["id"] for r in s.rows(f"SELECT id FROM servers WHERE heartbeat < {now} - ? AND id<>?", (lease, server_id))]
            if not dead:
                return []
            marks = ",".join("?" * len(dead))
            rows = s.rows(
                f"UPDATE runs SET status='interrupted', finished_at=?, error=? WHERE status IN ('queued','running')"
                f" AND server_id IN ({marks}) RETURNING id",
                (time.time(), f"the server running it stopped renewing its lease ({lease:g} s); recovered by server {server_id}", *dead),
            )
            s.run(f"DELETE FROM servers WHERE id IN ({marks})", dead)
            return [r["id"] for r in rows]

    # ------------------------------------------------------------------ reads
    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.session() as s:
            row = s.one("SELECT * FROM runs WHERE id=?", (run_id,))
            if row is None:
                raise RunNotFound(run_id)
            run = run_dict(row)
            run["metrics"] = {r["name"]: json.loads(r["value"]) for r in s.rows("SELECT name, value FROM metrics WHERE run_id=?", (run_id,))}
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
        sweep_cells: bool = True,
        metrics: bool = False,
    ) -> list[dict[str, Any]]:
        """Newest first; ``before`` is the ``order`` of the last row of the previous page.
        ``sweep_cells=False`` leaves out the runs of sweeps (a sweep of 7 x 30 cells would bury the runs
        started by hand; ``agora runs list`` and ``GET /runs`` default to it).
        ``metrics=True`` adds each run's metrics with one more query for the whole page (not one per row)."""
        where, args = [], []
        for column, value in (("world", world), ("status", status), ("scenario_name", scenario), ("sweep_id", sweep_id)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if not sweep_cells and sweep_id is None:
            where.append("sweep_id IS NULL")
        if before is not None:
            where.append("rowid_order<?")
            args.append(before)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rowid_order DESC LIMIT ?"
        with self.session() as s:
            runs = [run_dict(row) for row in s.rows(sql, (*args, limit))]
            if metrics and runs:
                by_id = {run["id"]: run for run in runs}
                for run in runs:
                    run["metrics"] = {}
                for r in s.rows(f"SELECT run_id, name, value FROM metrics WHERE run_id IN ({','.join('?' * len(runs))})", list(by_id)):
                    by_id[r["run_id"]]["metrics"][r["name"]] = json.loads(r["value"])
        return runs

    def events(
        self, run_id: str, *, after: int = -1, limit: int = 1000, kinds: Sequence[str] | None = None,
        agents: Sequence[str] | None = None, t_min: float | None = None, t_max: float | None = None,
    ) -> list[dict[str, Any]]:
        """One page of a run's event log in ``seq`` order: at most ``limit`` events with ``seq > after``
        (keyset paging: pass the last ``seq`` as the next ``after``), optionally only these kinds and
        agents and simulated times ``t_min <= t <= t_max``. ``iter_events`` pages through all of them."""
        where, args = _event_filter(run_id, kinds, agents, t_min, t_max)
        with self.session() as s:
            rows = s.rows(f"SELECT seq, t, agent, kind, data FROM events WHERE {where} AND seq>? ORDER BY seq LIMIT ?",
                          (*args, after, limit))
        return [{"seq": r["seq"], "t": r["t"], "agent": r["agent"], "kind": r["kind"], "data": json.loads(r["data"])} for r in rows]

    def iter_events(self, run_id: str, *, page: int = 5000, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every event of a run that passes the filters of ``events``, fetched ``page`` at a time (no cap)."""
        after = -1
        while True:
            batch = self.events(run_id, after=after, limit=page, **filters)
            yield from batch
            if len(batch) < page:
                return
            after = batch[-1]["seq"]

    def count_events(
        self, run_id: str, *, kinds: Sequence[str] | None = None, agents: Sequence[str] | None = None,
        t_min: float | None = None, t_max: float | None = None,
    ) -> int:
        where, args = _event_filter(run_id, kinds, agents, t_min, t_max)
        with self.session() as s:
            return s.value(f"SELECT COUNT(*) AS n FROM events WHERE {where}", args)

    def event_kinds(self, run_id: str) -> dict[str, int]:
        """``{kind: number of events}`` of a run, most frequent first (the event table's kind filter)."""
        with self.session() as s:
            rows = s.rows("SELECT kind, COUNT(*) AS n FROM events WHERE run_id=? GROUP BY kind ORDER BY n DESC, kind", (run_id,))
        return {r["kind"]: r["n"] for r in rows}

    def event_span(self, run_id: str) -> dict[str, Any]:
        """Number of events, distinct agents and the first and last simulated time of a run's log."""
        with self.session() as s:
            row = s.one("SELECT COUNT(*) AS n, COUNT(DISTINCT agent) AS agents, MIN(t) AS t_min, MAX(t) AS t_max"
                        " FROM events WHERE run_id=?", (run_id,))
        return {"events": row["n"], "agents": row["agents"], "t_min": row["t_min"], "t_max": row["t_max"]}

    # ------------------------------------------------------------------ LLM transcripts (agents/llm)
    def append_exchanges(self, run_id: str, exchanges: list[dict[str, Any]]) -> None:
        """Append transcript rows (dicts with the columns above; everything else goes in ``data``)."""
        with self.transaction() as s:
            start = s.value("SELECT COALESCE(MAX(seq), -1) + 1 AS n FROM exchanges WHERE run_id=?", (run_id,))
            rows = []
            for seq, row in enumerate(exchanges, start):
                data = {k: v for k, v in row.items() if k not in _EXCHANGE_COLUMNS}
                rows.append((run_id, seq, *(row.get(c) for c in _EXCHANGE_COLUMNS[:-1]), int(bool(row.get("cached"))),
                             json.dumps(data, separators=(",", ":"), default=str)))
            s.many(
                "INSERT INTO exchanges (run_id, seq, agent, decision, attempt, t, error_kind, prompt_tokens,"
                " completion_tokens, latency_ms, cached, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    def transcript(self, run_id: str, *, agent: str | None = None, after: int = -1, limit: int = 1000) -> list[dict[str, Any]]:
        """A run's LLM exchanges in the order they were made (optionally one agent's), ``seq > after``."""
        sql = "SELECT * FROM exchanges WHERE run_id=? AND seq>?" + (" AND agent=?" if agent is not None else "") + " ORDER BY seq LIMIT ?"
        args = (run_id, after, agent, limit) if agent is not None else (run_id, after, limit)
        rows = []
        with self.session() as s:
            for r in s.rows(sql, args):
                row = {k: r[k] for k in ("seq", *_EXCHANGE_COLUMNS)}
                row["cached"] = bool(row["cached"])
                row.update(json.loads(r["data"]))
                rows.append(row)
        return rows

    def transcript_agents(self, run_id: str) -> dict[str, int]:
        """``{agent: number of exchanges}`` for a run, agents in order of their first exchange."""
        with self.session() as s:
            rows = s.rows("SELECT agent, COUNT(*) AS n, MIN(seq) AS first FROM exchanges WHERE run_id=? GROUP BY agent ORDER BY first",
                          (run_id,))
        return {r["agent"]: r["n"] for r in rows}

    # ------------------------------------------------------------------ sweeps (simulator/sweep.py)
    def create_sweep(
        self, *, sweep_id: str, scenario_name: str, world: str, source: str, scenario_text: str,
        spec: dict[str, Any], cells: list[dict[str, Any]],
    ) -> str:
        """Record a sweep and its cells; each cell becomes a run ``{sweep_id}-{index:04d}`` when it finishes."""
        with self.session() as s:
            s.run(
                "INSERT INTO sweeps (id, scenario_name, world, source, scenario_text, spec, cells, n_cells, status,"
                " created_at, host, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (sweep_id, scenario_name, world, source, scenario_text, json.dumps(spec), json.dumps(cells), len(cells),
                 "running", time.time(), socket.gethostname(), os.getpid()),
            )
        return sweep_id

    def set_sweep_status(self, sweep_id: str, status: str, error: str | None = None) -> None:
        finished = time.time() if status != "running" else None
        with self.session() as s:
            s.run("UPDATE sweeps SET status=?, finished_at=?, error=?, host=?, pid=? WHERE id=?",
                  (status, finished, error, socket.gethostname(), os.getpid(), sweep_id))

    def get_sweep(self, sweep_id: str) -> dict[str, Any]:
        """The sweep row with its cells and run counts by status; a dead ``running`` sweep reads ``interrupted``."""
        with self.session() as s:
            row = s.one("SELECT * FROM sweeps WHERE id=?", (sweep_id,))
            if row is None:
                raise SweepNotFound(sweep_id)
            counts = s.rows("SELECT status, COUNT(*) AS n FROM runs WHERE sweep_id=? GROUP BY status", (sweep_id,))
        sweep = dict(row)
        sweep["spec"] = json.loads(sweep["spec"])
        sweep["cells"] = json.loads(sweep["cells"])
        if sweep["status"] == "running" and sweep["host"] == socket.gethostname() and not pid_alive(sweep["pid"]):
            sweep["status"] = "interrupted"
        sweep["runs"] = {r["status"]: r["n"] for r in counts}
        return sweep

    def list_sweeps(self, *, limit: int = 50) -> list[dict[str, Any]]:
        with self.session() as s:
            return s.rows("SELECT id, scenario_name, world, source, n_cells, status, created_at, finished_at FROM sweeps"
                          " ORDER BY created_at DESC LIMIT ?", (limit,))

    def sweep_runs(self, sweep_id: str) -> list[dict[str, Any]]:
        """Every stored run of a sweep with its metrics, in run-id (= cell) order."""
        with self.session() as s:
            runs = {r["id"]: {**run_dict(r), "metrics": {}} for r in s.rows("SELECT * FROM runs WHERE sweep_id=? ORDER BY id", (sweep_id,))}
            for r in s.rows("SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r ON r.id=m.run_id WHERE r.sweep_id=?", (sweep_id,)):
                runs[r["run_id"]]["metrics"][r["name"]] = json.loads(r["value"])
        return list(runs.values())


def _event_filter(
    run_id: str, kinds: Sequence[str] | None, agents: Sequence[str] | None, t_min: float | None, t_max: float | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (placeholders ``?``) and its arguments for one run's events under the filters."""
    where, args = ["run_id=?"], [run_id]
    for column, values in (("kind", kinds), ("agent", agents)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if t_min is not None:
        where.append("t>=?")
        args.append(t_min)
    if t_max is not None:
        where.append("t<=?")
        args.append(t_max)
    return " AND ".join(where), args


def run_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A ``runs`` row as the store's callers see it (``order``, parsed JSON, ``duration``)."""
    run = dict(row)
    run["order"] = run.pop("rowid_order")
    run["overrides"] = json.loads(run["overrides"])
    run["summary"] = json.loads(run["summary"]) if run["summary"] else None
    run["cancel_requested"] = bool(run.get("cancel_requested"))
    started, finished = run["started_at"], run["finished_at"]
    run["duration"] = (finished - started) if started and finished else None
    return run

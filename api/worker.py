"""The run pool: a fixed number of worker processes fed from one FIFO queue.

The API creates a run row with status ``queued`` and hands its id to
``RunPool.submit``; a dispatcher thread gives queued jobs to idle workers, one
at a time per worker, and each worker executes a run with
``simulator.run.stored_run`` -- the same code path as ``agora run`` -- which
writes progress, events and metrics to the shared store (SQLite or PostgreSQL). Sweep cells
go through the same queue and workers (``SweepExecutor``, a
``concurrent.futures.Executor`` for ``simulator.sweep.execute_sweep``), so runs
and sweeps share one worker budget (``AGORA_API_WORKERS``).

Processes, not threads: a CPU-bound run never blocks the API. Workers are
started with the ``spawn`` method (forking a threaded server is unsafe), ask
the kernel to kill them when the server dies (``PR_SET_PDEATHSIG``), and
replace their environment with the scrubbed one of ``api.trust.worker_env``
before they run anything. After a ``kill -9`` of the server no orphan keeps
writing; the runs they held are then ``running`` rows with a dead pid, which
``Store.recover`` marks ``interrupted`` when the server (or the CLI) next
opens the store on the same host.

Several servers on one store (PostgreSQL; README "Storing runs in PostgreSQL"):
the queue that counts is the store's. Before a worker gets a run, the
dispatcher claims it (``Store.claim_run``: the row is locked, ``FOR UPDATE
SKIP LOCKED``), so each run executes once; with nothing queued here, an idle
server claims the oldest run any server queued. Each server has an id
(host:pid:random) and renews its heartbeat every ``lease``/5 seconds; every
``lease``/3 seconds it marks ``interrupted`` the runs of servers whose heartbeat
is older than ``lease`` (``Store.recover_servers``, once per run whichever
server sees it), and it polls the rows of its running runs for a cancel that
another server received (``Store.request_cancel``).

Limits (``Limits``, from ``api/settings.py``): the run's ``should_stop`` check
(``limiter``, polled by the run loop about every 0.2 s) ends a run that passes
``AGORA_RUN_MAX_SECONDS`` or ``AGORA_RUN_MAX_EVENTS`` with a
``LimitExceeded`` (status ``limit_exceeded``), so its metrics and events so far are
stored; the dispatcher polls each busy worker's resident memory and kills a
worker above ``AGORA_RUN_MAX_MEMORY`` (or one that has not stopped
``cancel_grace`` seconds after its time limit), marking the run
``limit_exceeded`` with the events flushed so far. An address-space limit
(``RLIMIT_AS``) is a backstop against an allocation faster than the polling.

Cancelling: a queued run no server has claimed is marked ``cancelled`` in the
store (atomically, so no server can claim it after) and dropped from the queue;
one that another server executes gets the row's cancel flag.
A running run's worker gets a ``cancel`` message on its pipe; the run's
``should_stop`` check polls the pipe (about every 0.2 s) and returns
``Stopped("cancelled")``, which ends the run after the current event, so the
row ends ``cancelled`` with the metrics and events so far. Nothing is raised
through the run's callbacks. If the run does not stop within
``cancel_grace`` seconds (e.g. a policy blocked in a long call), its worker
process is killed, the row marked ``cancelled`` and a fresh worker started.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import CancelledError, Executor, Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from simulator.draw_ahead import draw_ahead
from simulator.errors import LimitExceeded, Stopped

log = logging.getLogger("agora.api.worker")
WORKER_NICENESS = 5
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class QueueFull(Exception):
    """The run queue holds ``max_queue`` runs already."""


@dataclass(frozen=True)
class Limits:
    """What a worker enforces on every run and sweep cell (``api/settings.py`` names them)."""

    max_seconds: float = 300.0
    max_events: int = 2_000_000
    max_memory_mib: int = 1024
    env: dict[str, str] | None = None       # the scrubbed environment (None: keep the server's, for in-process tests)
    context: dict[str, Any] | None = None   # validation context of untrusted scenarios

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        from api import trust

        return cls(settings.run_max_seconds, settings.run_max_events, settings.run_max_memory, trust.worker_env(settings),
                   trust.context(settings))


def limiter(limits: Limits | None, started: float) -> Callable[[float, int], LimitExceeded | None]:
    """A run's ``should_stop`` check: a ``LimitExceeded`` once the run is past its time or event cap, else None.

    The run loop polls it and ends the run after the current event, keeping its results.
    """

    def check(fraction: float, events: int) -> LimitExceeded | None:
        if limits is None:
            return None
        if time.monotonic() - started > limits.max_seconds:
            return LimitExceeded(f"ran longer than {limits.max_seconds:g} s (AGORA_RUN_MAX_SECONDS)")
        if events > limits.max_events:
            return LimitExceeded(f"logged more than {limits.max_events:,} events (AGORA_RUN_MAX_EVENTS)")
        return None

    return check


def prepare_untrusted(limits: Limits | None, scenario: Any) -> None:
    """Point packaged prompt names at the package's files. (The trust check itself ran when the run or sweep
    was submitted or resumed, on the same text and overrides the worker validates here.)"""
    if limits is None:
        return
    from api import trust

    trust.resolve_prompts(scenario)


# --------------------------------------------------------------------------- worker process side


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux), and check it has not already."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the run's should_stop check looks at getppid() instead
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _confine(limits: Limits | None) -> None:
    """Scrub the environment and cap the address space (a backstop to the dispatcher's memory polling)."""
    if limits is None:
        return
    if limits.env is not None:
        os.environ.clear()
        os.environ.update(limits.env)
    try:
        import resource

        with open("/proc/self/statm") as f:
            baseline = int(f.read().split()[0]) * PAGE
        # Generous: address space is not memory (thread stacks, malloc arenas, BLAS buffers reserve much more
        # than they touch); the dispatcher's resident-memory polling is the limit, this only stops a runaway.
        cap = baseline + max(4 << 30, 4 * limits.max_memory_mib * (1 << 20))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError, ImportError):
        pass


def execute_run(store: Any, run_id: str, conn: Connection | None = None, parent_pid: int | None = None,
                limits: Limits | None = None) -> str:
    """Execute one queued run from the store with ``stored_run``; returns its final status.

    ``conn`` is polled for a ``("cancel", run_id)`` message by the run's
    ``should_stop`` check, which also enforces ``limits``. Anything that goes wrong is
    recorded on the run row by ``stored_run`` (or here, for a scenario that
    no longer validates or passes the trust check).
    """
    from simulator.run import stored_run
    from simulator.scenario import ScenarioError, load_scenario_text

    row = store.get_run(run_id)
    if row["status"] != "queued":
        return row["status"]  # cancelled (or taken) while it waited
    overrides = [tuple(item) for item in row["overrides"]]
    try:
        scenario = load_scenario_text(row["scenario_text"], "<scenario>", overrides, limits.context if limits else None)
        prepare_untrusted(limits, scenario)
    except ScenarioError as exc:
        store.fail_run(run_id, "failed", f"invalid scenario: {exc}")
        return "failed"
    while conn is not None and conn.poll():  # cancelled after it was handed to this worker?
        kind, target = conn.recv()[:2]
        if kind == "cancel" and target == run_id:
            store.fail_run(run_id, "cancelled", "cancelled before it started")
            return "cancelled"
    limit = limiter(limits, time.monotonic())

    def should_stop(fraction: float, events: int) -> Stopped | None:
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(1)  # the server is gone: Store.recover marks this run interrupted
        while conn is not None and conn.poll():
            kind, target = conn.recv()[:2]
            if kind == "cancel" and target == run_id:
                return Stopped("cancelled", "cancelled by DELETE /runs/{id}")
        return limit(fraction, events)

    try:
        stored_run(scenario, row["scenario_text"], store, seed=row["seed"], overrides=overrides, should_stop=should_stop, run_id=run_id)
    except MemoryError:  # the address-space backstop: stored_run marked it failed; say which limit
        store.relabel_failed(run_id, "limit_exceeded",
                             f"used more than its memory (AGORA_RUN_MAX_MEMORY={limits.max_memory_mib if limits else '?'} MiB)")
    except Exception as exc:  # stored_run has marked the row failed with the reason
        log.warning("run %s failed: %s: %s", run_id, type(exc).__name__, exc)
    return store.get_run(run_id)["status"]


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any], limits: Limits | None) -> Any:
    """A sweep cell (``simulator.sweep.run_cell``) under the worker's trust check and limits."""
    from functools import partial

    if limits is not None:
        kwargs = {**kwargs, "context": limits.context, "prepare": partial(prepare_untrusted, limits),
                  "should_stop": limiter(limits, time.monotonic())}
    return fn(*args, **kwargs)


def _worker_main(db_path: str, conn: Connection, parent_pid: int, limits: Limits | None = None) -> None:
    die_with_parent(parent_pid)
    _confine(limits)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops the pool
    try:
        os.nice(WORKER_NICENESS)  # CPU-bound runs yield to the server, which stays responsive
    except OSError:
        pass
    from simulator.store import Store

    store = Store(db_path, recover=False)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "call":
            _, job_id, fn, args, kwargs = message
            try:
                reply = ("result", job_id, True, _call(fn, args, kwargs, limits))
            except BaseException as exc:  # noqa: BLE001  (reported to the caller's future)
                reply = ("result", job_id, False, f"{type(exc).__name__}: {exc}")
            try:
                conn.send(reply)
            except (BrokenPipeError, OSError):
                return
            continue
        if message[0] != "run":
            continue  # a cancel for a run that already ended
        run_id = message[1]
        try:
            status = execute_run(store, run_id, conn, parent_pid, limits)
        except Exception as exc:  # e.g. the store stayed locked: record it, keep the worker
            log.exception("run %s could not be executed", run_id)
            try:
                store.fail_run(run_id, "failed", f"the worker could not execute it: {type(exc).__name__}: {exc}")
            except Exception:
                pass
            status = "failed"
        draw_ahead(store, run_id)  # before "done": the pool's time for this job includes it
        try:
            conn.send(("done", run_id, status))
        except (BrokenPipeError, OSError):
            return


# --------------------------------------------------------------------------- server side


@dataclass
class _Job:
    """A queued run (``future`` None) or a call (a sweep cell, answered through ``future``)."""

    id: str
    future: Future | None = None
    call: tuple | None = None   # (fn, args, kwargs)
    tag: str | None = None      # the sweep it belongs to
    cap: int | None = None      # at most this many of the tag's jobs at once
    claimed: bool = False       # a run this server has claimed in the store (only then may a worker get it)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: _Job | None = None
    started: float | None = None
    cancel_deadline: float | None = None
    ready: bool = False

    @property
    def run_id(self) -> str | None:
        return self.job.id if self.job is not None and self.job.future is None else None


def _rss(pid: int | None) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


class RunPool:
    """``workers`` processes executing queued runs and sweep cells, at most ``max_queue`` runs waiting."""

    def __init__(self, db_path: str | Path, workers: int = 2, max_queue: int = 10_000, cancel_grace: float = 5.0,
                 limits: Limits | None = None, lease: float = 15.0) -> None:
        from simulator.store import store_target

        self.db_path = store_target(db_path)
        self.lease = lease  # seconds without a heartbeat after which another server takes this one for dead
        self.server_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.size = workers
        self.max_queue = max_queue
        self.cancel_grace = cancel_grace
        self.limits = limits
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._workers: list[_Worker] = []
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: Any = None  # the dispatcher thread's
        self._local = threading.local()  # API threads' own stores (cancel)
        self._next_beat = self._next_recovery = self._next_poll = 0.0

    # ------------------------------------------------------------------ API side
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="agora-run-pool", daemon=True)
        self._thread.start()

    def submit(self, run_id: str) -> None:
        with self._lock:
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} runs are already queued (AGORA_API_MAX_QUEUE={self.max_queue})")
            self._queue.append(_Job(run_id))
        self._wake()

    def submit_call(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any], tag: str | None = None,
                    cap: int | None = None) -> Future:
        """Queue ``fn(*args, **kwargs)`` for a worker (behind the runs queued before it); its result comes in the future."""
        future: Future = Future()
        with self._lock:
            if self._stop.is_set():
                raise QueueFull("the server is stopping")
            self._queue.append(_Job(uuid.uuid4().hex, future, (fn, args, kwargs), tag, cap))
        self._wake()
        return future

    def room(self) -> int:
        with self._lock:
            return self.max_queue - len(self._queue)

    def full(self) -> bool:
        return self.room() <= 0

    def cancel(self, run_id: str) -> str | None:
        """``"dequeued"`` (no server had claimed it: now ``cancelled``), ``"signalled"`` (running here),
        ``"requested"`` (claimed by another server, which polls the row's cancel flag), or None (a run that
        no server executes, e.g. an ``agora run`` of the CLI)."""
        if self._signal_cancel(run_id):
            return "signalled"
        store = self._thread_store()
        if store.cancel_queued(run_id):  # atomic: no server can claim it any more
            with self._lock:
                for job in self._queue:
                    if job.future is None and job.id == run_id:
                        self._queue.remove(job)
                        break
            return "dequeued"
        if self._signal_cancel(run_id):  # claimed by this server's dispatcher meanwhile
            return "signalled"
        if store.request_cancel(run_id, not_server=self.server_id):
            return "requested"
        return None

    def _signal_cancel(self, run_id: str) -> bool:
        """Tell the worker running ``run_id`` here to stop it; False if no worker of this server runs it."""
        with self._lock:
            for worker in self._workers:
                if worker.run_id == run_id:
                    if worker.cancel_deadline is None:
                        worker.cancel_deadline = time.monotonic() + self.cancel_grace
                        try:
                            worker.conn.send(("cancel", run_id))
                        except (BrokenPipeError, OSError):
                            pass  # the dispatcher sees the dead worker and records it
                    self._wake()
                    return True
        return False

    def _thread_store(self) -> Any:
        from simulator.store import Store

        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.db_path, recover=False)
        return store

    def cancel_tag(self, tag: str) -> int:
        """Cancel every queued and running call of a sweep; returns how many."""
        with self._lock:
            queued = [job for job in self._queue if job.tag == tag]
            for job in queued:
                self._queue.remove(job)
            running = [w for w in self._workers if w.job is not None and w.job.tag == tag]
            for worker in running:
                worker.cancel_deadline = time.monotonic()  # the dispatcher kills it at once
        for job in queued:
            job.future.cancel()
        self._wake()
        return len(queued) + len(running)

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return len(self._queue), sum(1 for w in self._workers if w.job is not None)

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop dispatching, kill the workers, and mark their runs and the queue ``interrupted``."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------------ dispatcher thread
    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except (BrokenPipeError, OSError):
            pass

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main, args=(self.db_path, child_conn, os.getpid(), self.limits), name="agora-run-worker", daemon=True
        )
        process.start()  # from this long-lived thread: PDEATHSIG is tied to the thread that forked
        child_conn.close()
        return _Worker(process, parent_conn)

    def _loop(self) -> None:
        from simulator.store import Store

        self._store = Store(self.db_path, recover=False)
        try:
            self._store.register_server(self.server_id)
            with self._lock:
                self._workers = [self._spawn() for _ in range(self.size)]
            while not self._stop.is_set():
                self._dispatch()
                conns = [w.conn for w in self._workers] + [self._wake_r]
                for conn in wait(conns, timeout=0.5):
                    if conn is self._wake_r:
                        while self._wake_r.poll():
                            self._wake_r.recv_bytes()
                    else:
                        self._on_message(conn)
                self._enforce_deadlines()
                self._housekeep()
        except Exception:  # the dispatcher must never die silently
            log.exception("run pool dispatcher failed")
        finally:
            self._shutdown()

    def _next_job(self) -> _Job | None:
        """The first queued job whose sweep is below its own worker cap (runs have none)."""
        busy: dict[str, int] = {}
        for worker in self._workers:
            if worker.job is not None and worker.job.tag is not None:
                busy[worker.job.tag] = busy.get(worker.job.tag, 0) + 1
        for job in self._queue:
            if job.tag is None or job.cap is None or busy.get(job.tag, 0) < job.cap:
                self._queue.remove(job)
                return job
        return None

    def _claim_next(self) -> _Job | None:
        """The next job for an idle worker (the lock is held): this server's queue first, else a run from the store."""
        while self._queue:
            job = self._next_job()
            if job is None:
                break  # the rest are held back by their sweep's cap
            if job.future is None:
                if job.claimed:  # claimed before, then its worker's pipe broke: it is still this server's
                    return job
                try:
                    job.claimed = self._store.claim_run(self.server_id, job.id) is not None
                except Exception:  # the store is unreachable for a moment: keep the run queued, retry next round
                    log.exception("could not claim run %s; retrying", job.id)
                    self._queue.appendleft(job)
                    return None
                if job.claimed:
                    return job
                # else: another server took it -- or this one did, from the store, between the API creating
                # the row and queueing it here: claiming by id succeeds only for an unclaimed run
            elif job.future.set_running_or_notify_cancel():
                return job
            # else: another server took the run, or it was cancelled while it waited
        if time.monotonic() < self._next_poll:
            return None  # looked at the store a moment ago
        self._next_poll = time.monotonic() + 0.25
        try:
            run_id = self._store.claim_run(self.server_id)
        except Exception:
            log.exception("could not look for queued runs in the store; retrying")
            return None
        if run_id is None:
            return None
        self._next_poll = 0.0  # there may be more: let the next idle worker look at once
        return _Job(run_id, claimed=True)

    def _dispatch(self) -> None:
        """Give idle workers this server's queued jobs in order, claiming each run in the store first (another
        server may have taken it, or it was cancelled); with nothing queued here, claim the oldest run any
        server queued (``Store.claim_run``: row locks, so each run goes to exactly one worker of one server)."""
        with self._lock:
            for worker in self._workers:
                if not (worker.ready and worker.job is None):
                    continue
                job = self._claim_next()
                if job is None:
                    return
                message = ("run", job.id) if job.future is None else ("call", job.id, *job.call)
                try:
                    worker.conn.send(message)
                except (BrokenPipeError, OSError):
                    self._queue.appendleft(job)
                    continue
                worker.job, worker.started, worker.cancel_deadline = job, time.monotonic(), None

    def _on_message(self, conn: Connection) -> None:
        worker = next((w for w in self._workers if w.conn is conn), None)
        if worker is None:
            return  # replaced earlier in this round
        try:
            message = conn.recv()
        except (EOFError, OSError):
            self._replace(worker, f"the worker process died (exit code {worker.process.exitcode})")
            return
        except Exception as exc:  # a result that cannot be unpickled
            message = ("result", worker.job.id if worker.job else None, False, f"{type(exc).__name__}: {exc}")
        with self._lock:
            if message[0] == "ready":
                worker.ready = True
            elif message[0] == "done" and message[1] == worker.run_id:
                worker.job, worker.cancel_deadline = None, None
            elif message[0] == "result" and worker.job is not None and message[1] == worker.job.id:
                future, worker.job, worker.cancel_deadline = worker.job.future, None, None
                _, _, ok, value = message
                if ok:
                    future.set_result(value)
                else:
                    future.set_result({"status": "failed", "error": value})

    def _enforce_deadlines(self) -> None:
        """Kill workers past a cancel's grace, past their run's time limit (plus grace), or above the memory cap."""
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.job is None:
                continue
            if worker.cancel_deadline is not None and now > worker.cancel_deadline:
                if worker.run_id is not None:
                    log.warning("run %s did not stop within %.1fs of its cancel; killing its worker", worker.run_id, self.cancel_grace)
                self._replace(worker, f"cancelled: the run did not stop within {self.cancel_grace:g}s, so its worker was killed",
                              status="cancelled")
            elif self.limits is not None and worker.started is not None and now - worker.started > self.limits.max_seconds + self.cancel_grace:
                self._replace(worker, f"ran longer than {self.limits.max_seconds:g} s (AGORA_RUN_MAX_SECONDS) and did not stop; "
                              "its worker was killed", status="limit_exceeded")
            elif self.limits is not None and _rss(worker.process.pid) > self.limits.max_memory_mib * (1 << 20):
                self._replace(worker, f"used more than {self.limits.max_memory_mib:,} MiB of memory (AGORA_RUN_MAX_MEMORY); "
                              "its worker was killed", status="limit_exceeded")

    def _housekeep(self) -> None:
        """Renew this server's lease, mark the runs of servers whose lease ran out ``interrupted`` (once,
        whichever server sees it first), and stop runs that another server was asked to cancel.
        A store that is briefly unreachable is retried on the next round, never fatal to the dispatcher."""
        now = time.monotonic()
        try:
            if now >= self._next_beat:
                self._store.heartbeat(self.server_id)
                self._next_beat = now + self.lease / 5
            if now >= self._next_recovery:
                self._next_recovery = now + self.lease / 3
                recovered = self._store.recover_servers(self.server_id, self.lease)
                if recovered:
                    log.warning("marked %d run(s) of a server that stopped renewing its lease as interrupted: %s",
                                len(recovered), ", ".join(recovered))
            if any(w.run_id is not None for w in self._workers):
                for run_id in self._store.cancel_requests(self.server_id):
                    self._signal_cancel(run_id)
        except Exception:
            log.exception("store housekeeping failed; retrying")

    def _replace(self, worker: _Worker, reason: str, status: str = "failed") -> None:
        """Kill a worker, record its run (or answer its call), and start a fresh worker in its place."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        job = worker.job
        if job is not None and job.future is None:
            if worker.cancel_deadline is not None and status != "limit_exceeded":
                status = "cancelled"
            self._store.fail_run(job.id, status, reason)
        elif job is not None and not job.future.done():
            if status == "cancelled":
                job.future.set_exception(CancelledError(reason))
            elif status == "limit_exceeded":
                job.future.set_result({"status": "limit_exceeded", "metrics": {}, "summary": {"reason": reason}})
            else:
                job.future.set_result({"status": "failed", "error": reason})
        with self._lock:
            index = self._workers.index(worker)
            self._workers[index] = self._spawn() if not self._stop.is_set() else _Worker(worker.process, worker.conn)

    def _shutdown(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers), []
            queued, self._queue = list(self._queue), deque()
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
        for worker in workers:
            worker.process.join(5)
            if worker.run_id is not None:
                self._store.fail_run(worker.run_id, "interrupted", "the server stopped while the run was executing")
            elif worker.job is not None and not worker.job.future.done():
                worker.job.future.set_exception(RuntimeError("the server stopped while the cell was executing"))
        for job in queued:
            if job.future is None:  # only if no other server has claimed it meanwhile
                self._store.interrupt_unclaimed(job.id, "the server stopped before the run started")
            elif job.future.cancel() is False and not job.future.done():
                job.future.set_exception(RuntimeError("the server stopped before the cell started"))
        try:
            self._store.unregister_server(self.server_id)
        except Exception:
            log.exception("could not unregister server %s", self.server_id)
        self._store.close()


class SweepExecutor(Executor):
    """``execute_sweep``'s executor on the server's ``RunPool``: cells queue behind runs, share its workers,
    its limits and its trust check, and at most ``cap`` cells of this sweep run at once."""

    def __init__(self, pool: RunPool, sweep_id: str, cap: int | None = None) -> None:
        self.pool, self.sweep_id, self.cap = pool, sweep_id, cap

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self.pool.submit_call(fn, args, kwargs, tag=self.sweep_id, cap=self.cap)

"""The run pool: a fixed number of worker processes fed from a FIFO queue.

The API creates a run row with status ``queued`` and hands its id to
``RunPool.submit``; a dispatcher thread gives queued ids to idle workers, one
run per worker at a time, and each worker executes it with
``simulator.run.stored_run`` — the same code path as ``agora run`` — which
writes progress, events and metrics to the shared SQLite store.

Processes, not threads: a CPU-bound run never blocks the API. Workers are
started with the ``spawn`` method (forking a threaded server is unsafe) and
ask the kernel to kill them when the server dies (``PR_SET_PDEATHSIG``), so
after a ``kill -9`` of the server no orphan keeps writing; the runs they held
are then ``running`` rows with a dead pid, which ``Store.recover`` marks
``interrupted`` when the server (or the CLI) next opens the store.

Cancelling: a queued run is dropped from the queue and marked ``cancelled``.
A running run's worker gets a ``cancel`` message on its pipe; the worker polls
the pipe from the run's progress callback (about every 0.2 s) and stops the
run with ``RunStopped("cancelled")``, so the row ends ``cancelled`` with the
metrics and events so far. If the run does not stop within
``cancel_grace`` seconds (e.g. a policy blocked in a long call), its worker
process is killed, the row marked ``cancelled`` and a fresh worker started.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

log = logging.getLogger("agora.api.worker")
WORKER_NICENESS = 5


class QueueFull(Exception):
    """The run queue holds ``max_queue`` runs already."""


# --------------------------------------------------------------------------- worker process side


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux), and check it has not already."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the progress callback checks getppid() instead
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


def execute_run(store: Any, run_id: str, conn: Connection | None = None, parent_pid: int | None = None) -> str:
    """Execute one queued run from the store with ``stored_run``; returns its final status.

    ``conn`` is polled for a ``("cancel", run_id)`` message from the progress
    callback. Anything that goes wrong is recorded on the run row by
    ``stored_run`` (or here, for a scenario that no longer validates).
    """
    from simulator.run import RunStopped, stored_run
    from simulator.scenario import ScenarioError, load_scenario_text

    row = store.get_run(run_id)
    if row["status"] != "queued":
        return row["status"]  # cancelled (or taken) while it waited
    overrides = [tuple(item) for item in row["overrides"]]
    try:
        scenario = load_scenario_text(row["scenario_text"], "<scenario>", overrides)
    except ScenarioError as exc:
        store.fail_run(run_id, "failed", f"invalid scenario: {exc}")
        return "failed"
    stopping = raised = False
    while conn is not None and conn.poll():  # cancelled after it was handed to this worker?
        kind, target = conn.recv()[:2]
        if kind == "cancel" and target == run_id:
            store.fail_run(run_id, "cancelled", "cancelled before it started")
            return "cancelled"

    def progress(fraction: float, events: int) -> None:
        nonlocal stopping, raised
        if raised:
            return
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(1)  # the server is gone: Store.recover marks this run interrupted
        while conn is not None and conn.poll():
            kind, target = conn.recv()[:2]
            if kind == "cancel" and target == run_id:
                stopping = True
        # Not on the report of a finished run (fraction 1): it is called after the run's loop ends, where
        # RunStopped would no longer be caught; that run simply ends 'finished'.
        if stopping and fraction < 1.0:
            raised = True
            raise RunStopped("cancelled", "cancelled by DELETE /runs/{id}")

    try:
        stored_run(scenario, row["scenario_text"], store, seed=row["seed"], overrides=overrides, progress=progress, run_id=run_id)
    except Exception as exc:  # stored_run has marked the row failed with the reason
        log.warning("run %s failed: %s: %s", run_id, type(exc).__name__, exc)
    return store.get_run(run_id)["status"]


def _worker_main(db_path: str, conn: Connection, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
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
        if message[0] != "run":
            continue  # a cancel for a run that already ended
        run_id = message[1]
        try:
            status = execute_run(store, run_id, conn, parent_pid)
        except Exception as exc:  # e.g. the store stayed locked: record it, keep the worker
            log.exception("run %s could not be executed", run_id)
            try:
                store.fail_run(run_id, "failed", f"the worker could not execute it: {type(exc).__name__}: {exc}")
            except Exception:
                pass
            status = "failed"
        try:
            conn.send(("done", run_id, status))
        except (BrokenPipeError, OSError):
            return


# --------------------------------------------------------------------------- server side


@dataclass
class _Worker:
    process: Any
    conn: Connection
    run_id: str | None = None
    cancel_deadline: float | None = None
    ready: bool = False


class RunPool:
    """``workers`` processes executing queued runs, at most ``max_queue`` waiting."""

    def __init__(self, db_path: str | Path, workers: int = 2, max_queue: int = 10_000, cancel_grace: float = 5.0) -> None:
        self.db_path = str(db_path)
        self.size = workers
        self.max_queue = max_queue
        self.cancel_grace = cancel_grace
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()
        self._workers: list[_Worker] = []
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: Any = None

    # ------------------------------------------------------------------ API side
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="agora-run-pool", daemon=True)
        self._thread.start()

    def submit(self, run_id: str) -> None:
        with self._lock:
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} runs are already queued (AGORA_API_MAX_QUEUE={self.max_queue})")
            self._queue.append(run_id)
        self._wake()

    def full(self) -> bool:
        with self._lock:
            return len(self._queue) >= self.max_queue

    def cancel(self, run_id: str) -> str | None:
        """``"dequeued"`` (was waiting; the caller marks it cancelled), ``"signalled"`` (running), or None (not ours)."""
        with self._lock:
            if run_id in self._queue:
                self._queue.remove(run_id)
                return "dequeued"
            for worker in self._workers:
                if worker.run_id == run_id:
                    if worker.cancel_deadline is None:
                        worker.cancel_deadline = time.monotonic() + self.cancel_grace
                        try:
                            worker.conn.send(("cancel", run_id))
                        except (BrokenPipeError, OSError):
                            pass  # the dispatcher sees the dead worker and records it
                    self._wake()
                    return "signalled"
        return None

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return len(self._queue), sum(1 for w in self._workers if w.run_id is not None)

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
            target=_worker_main, args=(self.db_path, child_conn, os.getpid()), name="agora-run-worker", daemon=True
        )
        process.start()  # from this long-lived thread: PDEATHSIG is tied to the thread that forked
        child_conn.close()
        return _Worker(process, parent_conn)

    def _loop(self) -> None:
        from simulator.store import Store

        self._store = Store(self.db_path, recover=False)
        try:
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
                self._enforce_cancel_deadlines()
        except Exception:  # the dispatcher must never die silently
            log.exception("run pool dispatcher failed")
        finally:
            self._shutdown()

    def _dispatch(self) -> None:
        with self._lock:
            for worker in self._workers:
                if not self._queue:
                    return
                if worker.ready and worker.run_id is None:
                    run_id = self._queue.popleft()
                    try:
                        worker.conn.send(("run", run_id))
                    except (BrokenPipeError, OSError):
                        self._queue.appendleft(run_id)
                        continue
                    worker.run_id, worker.cancel_deadline = run_id, None

    def _on_message(self, conn: Connection) -> None:
        worker = next((w for w in self._workers if w.conn is conn), None)
        if worker is None:
            return  # replaced earlier in this round
        try:
            message = conn.recv()
        except (EOFError, OSError):
            self._replace(worker, f"the worker process died (exit code {worker.process.exitcode})")
            return
        with self._lock:
            if message[0] == "ready":
                worker.ready = True
            elif message[0] == "done" and message[1] == worker.run_id:
                worker.run_id, worker.cancel_deadline = None, None

    def _enforce_cancel_deadlines(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.run_id is not None and worker.cancel_deadline is not None and now > worker.cancel_deadline:
                log.warning("run %s did not stop within %.1fs of its cancel; killing its worker", worker.run_id, self.cancel_grace)
                self._replace(worker, f"cancelled: the run did not stop within {self.cancel_grace:g}s, so its worker was killed", status="cancelled")

    def _replace(self, worker: _Worker, reason: str, status: str = "failed") -> None:
        """Kill a worker, record its run, and start a fresh worker in its place."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        if worker.run_id is not None:
            if worker.cancel_deadline is not None:
                status = "cancelled"
            self._store.fail_run(worker.run_id, status, reason)
        with self._lock:
            index = self._workers.index(worker)
            self._workers[index] = self._spawn() if not self._stop.is_set() else worker

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
        for run_id in queued:
            self._store.fail_run(run_id, "interrupted", "the server stopped before the run started")
        self._store.close()

"""``POST /solve`` runs the code of ``agora solve`` (``simulator.solve``) in a pool of solver processes.

Equilibrium computation can take exponential time (support enumeration on a
large game), so every solve runs in a separate process and is abandoned
after ``timeout`` seconds *counted from when a process takes it* (time spent
waiting for a free process does not count): that process is killed and a
fresh one started. The server's own threads never run a solver.

Two lanes, so that a trivial game is never stuck behind hard ones: games with
at most ``small`` action profiles go to a process of their own; all others
share ``workers`` processes. A lane whose processes are busy and whose
``queue`` waiting places are taken answers ``SolverBusy`` (the route's 503
with ``Retry-After``). Processes die with the server (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any


class SolveTimeout(Exception):
    pass


class SolverBusy(Exception):
    """Every solver process of the lane is busy and its waiting places are taken."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def solve_text(text: str, source: str, method: str, lam: float) -> dict[str, Any]:
    """Load a game file's text and solve it exactly as ``agora solve --json`` does; a JSON-ready dict."""
    from simulator.solve import load_game_text, report_json, solve_game

    game = load_game_text(text, source)
    report = solve_game(game, method, lam)
    return {
        "name": game.name,
        "kind": game.kind,
        "players": list(game.players),
        "actions": [list(a) for a in game.actions],
        "method": report.method,
        "equilibria": report_json(report),
        "welfare": report.summary,
        "notes": list(report.notes),
    }


def _solver_main(conn: Connection, parent_pid: int, env: dict[str, str] | None) -> None:
    from api.worker import die_with_parent

    die_with_parent(parent_pid)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    import simulator.solve  # noqa: F401  (import once, before the first job's clock starts)

    conn.send(("ready",))
    while True:
        try:
            text, source, method, lam = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", solve_text(text, source, method, lam))
        except (ValueError, RuntimeError) as exc:
            reply = ("error", type(exc).__name__, str(exc))
        except Exception as exc:  # noqa: BLE001  (reported, the route answers a 500 with an incident id)
            reply = ("fault", type(exc).__name__, str(exc))
        conn.send(reply)


class _Spawner:
    """Starts processes from one long-lived thread: the kernel's parent-death signal (PR_SET_PDEATHSIG) fires
    when the *thread* that forked a child ends, and the server's request threads come and go."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, name="agora-solver-spawner", daemon=True).start()

    def _loop(self) -> None:
        while True:
            start, future = self._jobs.get()
            try:
                start()
                future.set_result(None)
            except BaseException as exc:  # noqa: BLE001  (handed to the caller)
                future.set_exception(exc)

    def run(self, start: Any) -> None:
        future: Future = Future()
        self._jobs.put((start, future))
        future.result()


class _Process:
    def __init__(self, ctx: Any, env: dict[str, str] | None, spawner: _Spawner) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_solver_main, args=(child, os.getpid(), env), name="agora-solver", daemon=True)
        spawner.run(self.process.start)
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float = 300) -> None:
        """Block until the process has imported the solvers (its "ready"), so a job's clock and its reply
        never mix with start-up: on a loaded machine a spawn can take far longer than a solve."""
        if self.ready:
            return
        if not self.conn.poll(timeout):
            raise RuntimeError(f"the solver process did not start within {timeout:g} s")
        message = self.conn.recv()
        if message != ("ready",):
            raise RuntimeError(f"the solver process sent {message[0]!r} before it was ready")
        self.ready = True

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class _Lane:
    """``workers`` solver processes (started lazily) and at most ``queue`` callers waiting for one."""

    def __init__(self, name: str, workers: int, queue: int, ctx: Any, env: dict[str, str] | None, spawner: _Spawner) -> None:
        self.name, self.workers, self.queue, self.ctx, self.env, self.spawner = name, workers, queue, ctx, env, spawner
        self.idle: list[_Process] = []
        self.started = 0
        self.waiting = 0
        self.cond = threading.Condition()
        self.closed = False

    def acquire(self, wait: float) -> _Process:
        with self.cond:
            if self.idle:
                return self.idle.pop()
            if self.started < self.workers:
                self.started += 1
                make = True
            elif self.waiting >= self.queue:
                raise SolverBusy(f"all {self.workers} {self.name} solver process(es) are busy and {self.waiting} solve(s) "
                                 "are waiting (AGORA_API_SOLVE_WORKERS, AGORA_API_SOLVE_QUEUE); retry later", retry_after=5)
            else:
                self.waiting += 1
                try:  # a process given back, or a killed one's place to fill
                    free = lambda: self.idle or self.started < self.workers or self.closed  # noqa: E731
                    if not self.cond.wait_for(free, timeout=wait) or self.closed:
                        raise SolverBusy(f"no {self.name} solver process became free within {wait:g} s; retry later", retry_after=5)
                    if self.idle:
                        return self.idle.pop()
                    self.started += 1
                    make = True
                finally:
                    self.waiting -= 1
        if make:
            try:
                return _Process(self.ctx, self.env, self.spawner)
            except Exception:
                with self.cond:
                    self.started -= 1
                raise
        raise AssertionError("unreachable")

    def release(self, process: _Process | None) -> None:
        """Give back a process (None: it was killed; a fresh one is started on demand)."""
        with self.cond:
            if process is None or self.closed:
                self.started -= 1
                if process is not None:
                    process.kill()
            else:
                self.idle.append(process)
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            idle, self.idle = self.idle, []
            self.cond.notify_all()
        for process in idle:
            process.kill()


class Solver:
    """The solver pool with its two lanes and a per-job timeout."""

    def __init__(self, timeout: float, workers: int = 2, queue: int = 2, small: int = 64,
                 env: dict[str, str] | None = None) -> None:
        self.timeout, self.small = timeout, small
        ctx, spawner = mp.get_context("spawn"), _Spawner()
        self._lanes = {"small": _Lane("small-game", 1, max(queue, 4), ctx, env, spawner),
                       "general": _Lane("general", workers, queue, ctx, env, spawner)}

    def solve(self, text: str, source: str, method: str, lam: float, profiles: int | None = None) -> dict[str, Any]:
        lane = self._lanes["small" if profiles is not None and profiles <= self.small else "general"]
        process = lane.acquire(wait=self.timeout * (lane.queue + 2) + 30)  # behind at most `queue` jobs of `timeout` each
        try:
            try:
                process.wait_ready()
            except RuntimeError:
                process.kill()
                lane.release(None)
                process = None
                raise
            process.conn.send((text, source, method, lam))
            if not process.conn.poll(self.timeout):  # the clock starts when the process has the job
                lane.release(None)
                process.kill()
                process = None
                raise SolveTimeout(f"the game was not solved within {self.timeout:g} s (AGORA_API_SOLVE_TIMEOUT)")
            reply = process.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if process is not None:
                process.kill()
                lane.release(None)
            raise RuntimeError("the solver process died while solving this game") from None
        except BaseException:
            if process is not None:
                lane.release(process)
            raise
        lane.release(process)
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "error":
            raise ValueError(reply[2])
        raise SolverFault(f"{reply[1]}: {reply[2]}")

    def load(self) -> dict[str, dict[str, int]]:
        """Per lane: solver processes started, busy (started and not idle) and callers waiting."""
        out = {}
        for name, lane in self._lanes.items():
            with lane.cond:
                out[name] = {"processes": lane.workers, "busy": lane.started - len(lane.idle), "waiting": lane.waiting}
        return out

    def close(self) -> None:
        for lane in self._lanes.values():
            lane.close()


class SolverFault(Exception):
    """The solver failed unexpectedly (the route answers 500 with an incident id)."""

"""Parameter sweeps: points in scenario space x seeds, run through a ``concurrent.futures.Executor``.

A scenario's ``sweep:`` block says which fields vary, by dotted path (list items
by index, as for ``agora run --set``)::

    sweep:
      grid:                      # every combination of these values
        world.rounds: [10, 50, 200]
      list:                      # explicit points, each a set of overrides (crossed with the grid)
        - {world.game: prisoners_dilemma}
        - {world.game: stag_hunt}
      random:                    # points drawn at random (crossed with the rest)
        samples: 8
        params:
          world.continuation: {uniform: [0.9, 1.0]}   # also loguniform, integers (inclusive), choice
      seeds: 5                   # replicates per point
      events: false              # keep every run's event log (default: only metrics)
      labels:                    # axis labels for figures (default: the column name)
        world.continuation: continuation probability

Cells are points x seeds. Randomness comes from the scenario's ``seed``:
``SeedSequence(seed).spawn(2)`` gives one stream for drawing the random points
and one whose ``spawn(seeds)`` children give replicate k's run seed. Replicate
k uses the same run seed at every point (common random numbers), so
differences between points are not blurred by different luck.

Each cell runs in a worker (a process pool by default, or a Dask cluster) and
is stored as a run ``{sweep_id}-{index:04d}`` with ``sweep_id`` set as soon as
it finishes, so a sweep that is killed can be resumed: only cells without a
finished run are run again. ``table(store, sweep_id)`` / ``load_table`` give
the tidy table (one row per run: parameters, seed, flattened metrics).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from concurrent.futures import Executor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from simulator.errors import AgoraError
from simulator.parsing import read_text
from simulator.problems import Locator
from simulator.scenario import LoadedScenario, ScenarioError, apply_overrides, parse_scenario, parse_yaml, validate_scenario
from simulator.store import RunNotFound, Store
from simulator.sweep_spec import SweepSpec, parse_spec

# Cells whose run counts as done: a resume skips them and figures draw them. A run that ended early with
# its results (an LLM budget used up) or finished degraded (too many fallbacks, exit status 3) has a result;
# failed, interrupted, cancelled and limit_exceeded runs do not, and a resume runs them again.
DONE = ("finished", "budget_exhausted", "degraded")


class SweepError(AgoraError, RuntimeError):
    """A sweep could not be run (bad executor, unreachable cluster, still running elsewhere); the message says why.

    Not one of the meanings of ``simulator.errors``: a fault (exit status 1)."""


# --------------------------------------------------------------------------- the sweep: block


@dataclass
class SweepPlan:
    """A validated sweep: the base scenario text, its spec and its cells."""

    name: str
    world: str
    source: str
    text: str
    spec: SweepSpec
    cells: list[dict[str, Any]]


def plan_sweep(
    path: str | Path | None = None, *, text: str | None = None, source: str | None = None,
    overrides: list[tuple[str, Any]] = (), name: str | None = None, context: dict[str, Any] | None = None,
) -> SweepPlan:
    """Read a scenario with a ``sweep:`` block and expand its cells (every cell validated).

    ``overrides`` (``agora sweep --set``) change the base scenario; they are
    folded into the stored scenario text, so every cell sees them.
    """
    if text is None:
        path = Path(path)
        source = source or str(path)
        text = read_text(path)  # the one parse path: a regular UTF-8 file of bounded size
    return plan_loaded(parse_scenario(text, source or "<scenario>", overrides, context), name=name, context=context)


def plan_loaded(loaded: LoadedScenario, *, name: str | None = None, context: dict[str, Any] | None = None) -> SweepPlan:
    """Expand the cells of a loaded scenario's ``sweep:`` block, validating every point (not every seed) of it."""
    scenario, source, data, positions = loaded.scenario, loaded.source, loaded.data, loaded.positions
    text = loaded.text
    if loaded.overrides:
        data = apply_overrides(data, loaded.overrides)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    locate = Locator(source, positions, {key for key, _ in loaded.overrides})
    if scenario.sweep is None:
        raise ScenarioError([locate.problem((), "this scenario has no 'sweep:' block; add one (grid / list / random, seeds)")])
    spec = parse_spec(scenario.sweep, locate)
    cells = spec.cells(scenario.seed)
    base = {k: v for k, v in data.items() if k != "sweep"}
    problems = []
    for cell in cells:
        if cell["seed_index"]:
            continue  # every replicate of a point has the same scenario
        try:
            validate_scenario(base, source, positions, list(cell["params"].items()), context)
        except ScenarioError as exc:
            reasons = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
            problems.append(locate.problem(("sweep",), f"point {json.dumps(cell['params'])} is not a valid scenario: {reasons}"))
            if len(problems) >= 5:
                break
    if problems:
        raise ScenarioError(problems)
    # a sweep without a name is named after its file, else "sweep" (not "scenario", a loaded scenario's default)
    name = name or (scenario.name if data.get("name") is not None else None) or (Path(source).stem if not source.startswith("<") else "sweep")
    return SweepPlan(name, scenario.world_type, source, text, spec, cells)


# --------------------------------------------------------------------------- one cell (runs in a worker)


def run_cell(
    text: str, source: str, name: str, params: dict[str, Any], seed: int, keep_events: bool,
    *, context: dict[str, Any] | None = None, prepare: Callable[[Any], None] | None = None,
    progress: Callable[[float, int], None] | None = None,
    should_stop: Callable[[float, int], Any] | None = None,
) -> dict[str, Any]:
    """Run one cell from the scenario text; never raises (a failure is returned as ``status: failed``).

    Runs in a worker process or on a Dask worker, so it takes and returns only
    plain data: no store, no open files. The API's workers pass ``context``
    (validation context), ``prepare`` (called with the validated scenario:
    it resolves packaged prompt names) and ``should_stop`` (its per-run limits,
    polled by the run loop: a ``Stopped`` it returns ends the run).
    """
    from simulator.run import build_simulation

    started = time.perf_counter()
    try:
        data, positions = parse_yaml(text, source)
        data = {k: v for k, v in data.items() if k != "sweep"}
        overrides = list(params.items())
        if not keep_events:
            overrides.append(("run.record_events", False))
        scenario = validate_scenario(data, source, positions, overrides, context)
        scenario.name = name
        if prepare is not None:
            prepare(scenario)
        sim = build_simulation(scenario, seed)
        result = sim.run(max_time=scenario.run.max_time, progress=progress, should_stop=should_stop)
    except Exception as exc:  # a failing cell is stored as failed; the sweep goes on
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "wall_seconds": time.perf_counter() - started}
    summary = {
        "events": result.events, "sim_time": result.sim_time, "wall_seconds": result.wall_seconds,
        "counters": result.counters, "reason": result.reason, "worker_pid": os.getpid(),
    }
    return {
        "status": result.status, "metrics": result.metrics, "summary": summary,
        "events": sim.events if keep_events else [],
    }


# --------------------------------------------------------------------------- executors


def _preload() -> list[str]:
    """Modules the fork server imports once for all workers: the simulator and every world and
    policy module this process has loaded (validating the sweep loaded them all)."""
    loaded = sorted(name for name in list(sys.modules) if name.startswith(("simulator.", "agents.", "mechanisms.")))
    return ["simulator.run", *loaded]


@contextmanager
def make_executor(kind: str = "process", workers: int | None = None, scheduler: str | None = None,
                  dask_processes: bool = True) -> Iterator[Executor]:
    """A ``concurrent.futures.Executor`` for sweep cells.

    ``process``: a ``ProcessPoolExecutor`` of ``workers`` processes (default:
    CPU count), forked from a fork server that has imported the simulator
    once. Like any spawn/forkserver pool, workers import the ``__main__``
    module of a script, so scripts need ``if __name__ == "__main__":``.
    ``dask``: ``Client(scheduler).get_executor()`` for an existing cluster, or
    a ``LocalCluster`` of ``workers`` single-threaded workers when no
    scheduler address is given (``dask_processes=False`` keeps them in this
    process, for quick tries and tests).
    """
    if kind == "process":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Never fork this process (it has threads: BLAS pools, the API server's); fork workers
        # from a fork server that imported the simulator once (Python 3.14's default method).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload())
        pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=context)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif kind == "dask":
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise SweepError("the dask executor needs Dask: pip install 'agora[dask]'") from None
        cluster = None
        try:
            if scheduler:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                    processes=dask_processes, dashboard_address=None,
                )
                client = Client(cluster)
        except OSError as exc:
            raise SweepError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        raise SweepError(f"unknown executor {kind!r}; allowed: process, dask")


# --------------------------------------------------------------------------- running a sweep


@dataclass
class SweepOutcome:
    sweep_id: str
    n_cells: int
    ran: int        # cells run by this call
    skipped: int    # cells already finished (resume)
    failed: int     # cells run by this call that did not end done (DONE): failed, or stopped by a limit
    seconds: float
    status: str


def cell_run_id(sweep_id: str, index: int) -> str:
    return f"{sweep_id}-{index:04d}"


def create_sweep(plan: SweepPlan, store: Store, sweep_id: str | None = None) -> str:
    sweep_id = sweep_id or "sw" + uuid.uuid4().hex[:10]
    store.create_sweep(
        sweep_id=sweep_id, scenario_name=plan.name, world=plan.world, source=plan.source, scenario_text=plan.text,
        spec=plan.spec.model_dump(mode="json", by_alias=True), cells=plan.cells,
    )
    return sweep_id


def run_sweep(
    path: str | Path | None = None,
    *,
    store: Store,
    text: str | None = None,
    overrides: list[tuple[str, Any]] = (),
    resume: str | None = None,
    executor: str | Executor = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    dask_processes: bool = True,
    progress: bool = False,
    on_cell: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Plan (or resume) a sweep and run its missing cells, storing each as it finishes.

    ``executor`` is ``"process"``, ``"dask"`` or an ``Executor`` instance
    (left open). ``on_cell(done, total)`` is called after each stored cell.
    """
    if resume is None:
        sweep_id = create_sweep(plan_sweep(path, text=text, overrides=overrides), store)
    else:
        sweep_id = resume
        sweep = store.get_sweep(sweep_id)  # raises SweepNotFound
        if sweep["status"] == "running":
            raise SweepError(f"sweep {sweep_id} is still running (process {sweep['pid']} on {sweep['host']}); resume it once that process has stopped")
        store.set_sweep_status(sweep_id, "running")
    return execute_sweep(sweep_id, store=store, executor=executor, workers=workers, scheduler=scheduler,
                         dask_processes=dask_processes, progress=progress, on_cell=on_cell)


def execute_sweep(
    sweep_id: str,
    *,
    store: Store,
    executor: str | Executor = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    dask_processes: bool = True,
    progress: bool = False,
    on_cell: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Run the cells of a stored sweep that have no finished run yet."""
    started = time.perf_counter()
    sweep = store.get_sweep(sweep_id)
    cells = sweep["cells"]
    keep_events = bool(sweep["spec"].get("events", False))
    existing = {run["id"]: run["status"] for run in store.list_runs(sweep_id=sweep_id, limit=len(cells) + 1)}
    todo = [cell for cell in cells if existing.get(cell_run_id(sweep_id, cell["index"])) not in DONE]
    skipped = len(cells) - len(todo)
    failed = ran = 0
    if todo:
        with ExitStack() as stack:
            try:
                pool = stack.enter_context(_executor(executor, workers, scheduler, dask_processes))
            except SweepError as exc:
                store.set_sweep_status(sweep_id, "interrupted", str(exc))
                raise SweepError(f"{exc}; the sweep is stored: finish it with agora sweep --resume {sweep_id}") from None
            # submit before the progress bar starts its thread: a process pool forks its workers here
            futures = {
                pool.submit(run_cell, sweep["scenario_text"], sweep["source"], sweep["scenario_name"], cell["params"], cell["seed"], keep_events): cell
                for cell in todo
            }
            try:
                with _bar(progress, len(cells), skipped, sweep["scenario_name"]) as bar:
                    for future in as_completed(futures):
                        cell = futures[future]
                        try:
                            outcome = future.result()
                        except Exception as exc:  # the executor itself broke (worker killed, cluster gone)
                            store.set_sweep_status(sweep_id, "interrupted", f"{type(exc).__name__}: {exc}")
                            raise SweepError(
                                f"the executor failed ({type(exc).__name__}: {exc}); {skipped + ran} of {len(cells)} cells are stored;"
                                f" finish with: agora sweep --resume {sweep_id}"
                            ) from None
                        _store_cell(store, sweep, cell, outcome)
                        ran += 1
                        failed += outcome["status"] not in DONE  # failed, or stopped without a result (a limit, cancelled)
                        bar(skipped + ran)
                        if on_cell is not None:
                            on_cell(skipped + ran, len(cells))
            except BaseException:
                for future in futures:
                    future.cancel()
                if sweep_id and store.get_sweep(sweep_id)["status"] == "running":
                    store.set_sweep_status(sweep_id, "interrupted", "stopped before all cells finished")
                raise
    status = "finished" if failed == 0 else "failed"
    store.set_sweep_status(sweep_id, status, None if not failed else f"{failed} of {len(cells)} cells failed")
    return SweepOutcome(sweep_id, len(cells), ran, skipped, failed, time.perf_counter() - started, status)


@contextmanager
def _executor(executor: str | Executor, workers: int | None, scheduler: str | None, dask_processes: bool) -> Iterator[Executor]:
    if isinstance(executor, Executor):
        yield executor
    else:
        with make_executor(executor, workers, scheduler, dask_processes) as pool:
            yield pool


@contextmanager
def _bar(enabled: bool, total: int, done: int, label: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda n: bar.update(task, completed=n)


def _store_cell(store: Store, sweep: dict[str, Any], cell: dict[str, Any], outcome: dict[str, Any]) -> None:
    run_id = cell_run_id(sweep["id"], cell["index"])
    try:
        store.get_run(run_id)
    except RunNotFound:
        pass
    else:
        store.delete_run(run_id)  # an earlier, unfinished attempt
    store.create_run(
        scenario_name=sweep["scenario_name"], world=sweep["world"], scenario_text=sweep["scenario_text"],
        seed=cell["seed"], overrides=list(cell["params"].items()), status="running", sweep_id=sweep["id"], run_id=run_id,
    )
    if outcome.get("events"):
        store.append_events(run_id, outcome["events"])
    if outcome["status"] == "failed":
        store.fail_run(run_id, "failed", outcome["error"])
    else:
        store.finish_run(run_id, outcome["status"], outcome["metrics"], outcome["summary"])


# --------------------------------------------------------------------------- the tidy table


def flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts -> dotted columns; lists (and anything else non-scalar) -> JSON text."""
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value)
    else:
        out[prefix] = value
    return out


def table(store: Store, sweep_id: str):
    """The tidy table of a sweep as a pandas DataFrame: one row per stored run.

    Columns: ``run_id, cell, point, seed_index, seed, status``, one column per
    varied path (``world.rounds``; list values as JSON text), ``wall_seconds``,
    then the metrics flattened with dots (``welfare``, ``payoffs.<agent>``,
    ``measures.<name>``, ``theory.<name>``); list-valued metrics are JSON text.
    """
    import pandas as pd

    sweep = store.get_sweep(sweep_id)
    spec = SweepSpec.model_validate(sweep["spec"])
    paths = spec.paths()
    cells = {cell_run_id(sweep_id, c["index"]): c for c in sweep["cells"]}
    rows = []
    for run in store.sweep_runs(sweep_id):
        cell = cells.get(run["id"])
        if cell is None:
            continue
        row: dict[str, Any] = {
            "run_id": run["id"], "cell": cell["index"], "point": cell["point"], "seed_index": cell["seed_index"],
            "seed": cell["seed"], "status": run["status"],
        }
        for path in paths:
            value = cell["params"].get(path)
            row[path] = json.dumps(value) if isinstance(value, (list, dict)) else value
            if isinstance(value, list):  # list parameters also get one column per element: path.0, path.1, ...
                for i, item in enumerate(value):
                    if not isinstance(item, (list, dict)):
                        row[f"{path}.{i}"] = item
        row["wall_seconds"] = (run.get("summary") or {}).get("wall_seconds")
        flatten(run["metrics"], "", row)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("cell", kind="stable").reset_index(drop=True)
    # element columns (path.0, path.1) first: numbers make a better x axis than the list's JSON text
    columns = [c for path in paths for c in [*(c for c in frame.columns if c.startswith(path + ".") and c[len(path) + 1:].isdigit()), path]
               if c in frame.columns]
    frame.attrs.update({"sweep_id": sweep_id, "world": sweep["world"], "params": paths, "param_columns": columns,
                        "scenario": sweep["scenario_name"], "labels": spec.labels})
    return frame


def load_table(sweep_id: str, db: str | Path | None = None):
    """``table`` from the store at ``db`` (default: ``$AGORA_DB`` or ``./agora.db``)."""
    with Store(db) as store:
        return table(store, sweep_id)


def export_table(frame, path: str | Path) -> Path:
    """Write the table as CSV or Parquet (by the file's suffix; Parquet needs pyarrow)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SweepError("Parquet export needs pyarrow: pip install 'agora[parquet]'") from None
        frame = frame.copy()
        for column in frame.columns[frame.dtypes == object]:  # Parquet columns have one type: mixed ones become text
            kinds = {type(v) for v in frame[column].dropna()}
            if len(kinds) > 1:
                frame[column] = frame[column].map(lambda v: v if v is None or isinstance(v, str) or v != v else json.dumps(v))
        frame.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise SweepError(f"unknown table format {path.suffix!r}; use a .csv or .parquet file name")
    return path

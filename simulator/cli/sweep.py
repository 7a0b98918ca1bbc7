"""``agora sweep``, ``agora plot`` and ``agora sweeps list|show|table``.

    agora sweep FILE [--workers N] [--executor process|dask] [--scheduler ADDRESS] [--set k=v] [--out DIR]
                                     (--out: the table as CSV + Parquet and every standard figure)
    agora sweep --resume SWEEP_ID [--workers N] ...
    agora plot SWEEP_ID|RUN_ID [--metric welfare] [--x PARAM] [--hue PARAM] [--out DIR]
    agora sweeps list | show SWEEP_ID | table SWEEP_ID --out FILE.csv|FILE.parquet

Bad input is reported as ``file:line:column: field: message`` (or one line
saying what to fix) with exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import typer

from simulator.cli.console import DbOption, err, fail, out

sweeps_app = typer.Typer(help="Browse stored sweeps and export their tables.", no_args_is_help=True)


def sweep(
    file: Optional[Path] = typer.Argument(None, help="scenario YAML file with a 'sweep:' block"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="parallel workers (default: CPU count)"),
    executor: str = typer.Option("process", "--executor", help="process (a local process pool) or dask"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (default: a LocalCluster)"),
    resume: Optional[str] = typer.Option(None, "--resume", help="finish the missing cells of this sweep"),
    set_: list[str] = typer.Option([], "--set", help="override a base field: --set world.rounds=20 (repeatable)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="also write table.csv, table.parquet and the figures here"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    db: Optional[Path] = DbOption,
) -> None:
    """Run every cell of a scenario's sweep (points x seeds), storing each run as it finishes."""
    from simulator.scenario import parse_override
    from simulator.store import Store, SweepNotFound
    from simulator.sweep import run_sweep  # its SweepError is a fault: AgoraGroup prints it, exit status 1

    if (file is None) == (resume is None):
        fail("error: give a scenario FILE to start a sweep, or --resume SWEEP_ID to finish one (not both)")
    if executor not in ("process", "dask"):
        fail(f"error: --executor {executor!r}: allowed: process, dask")
    if scheduler and executor != "dask":
        fail("error: --scheduler needs --executor dask")
    if set_ and resume:
        fail("error: --set changes a new sweep; a resumed sweep keeps its scenario")
    with Store(db) as store:
        sweep_id = resume
        try:
            overrides = [parse_override(item) for item in set_]
            outcome = run_sweep(
                file, store=store, overrides=overrides, resume=resume, executor=executor, workers=workers, scheduler=scheduler,
                progress=not quiet and not as_json,
            )
        except SweepNotFound:
            fail(f"error: no sweep {resume!r} in {store.path} (see `agora sweeps list`)")
        except KeyboardInterrupt:
            rows = store.list_sweeps(limit=1)
            sweep_id = sweep_id or (rows[0]["id"] if rows else "?")
            fail(f"interrupted: finished cells are stored; finish with: agora sweep --resume {sweep_id}", 130)
        written = []
        if out_dir is not None:
            written = _export(store, outcome.sweep_id, out_dir)
    result = {
        "sweep_id": outcome.sweep_id, "status": outcome.status, "cells": outcome.n_cells, "ran": outcome.ran,
        "skipped": outcome.skipped, "failed": outcome.failed, "seconds": round(outcome.seconds, 3),
        "files": [str(p) for p in written],
    }
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        out.print(
            f"sweep {outcome.sweep_id}: {outcome.n_cells} cells, ran {outcome.ran}, already done {outcome.skipped}, "
            f"failed {outcome.failed}, {outcome.seconds:.1f} s", markup=False, highlight=False,
        )
        for path in written:
            out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
        out.print(f"plot it: agora plot {outcome.sweep_id}", markup=False, highlight=False)
    if outcome.failed:
        raise typer.Exit(1)


def _export(store: Any, sweep_id: str, out_dir: Path) -> list[Path]:
    from simulator.plots import write_sweep_figures
    from simulator.sweep import export_table, table

    frame = table(store, sweep_id)
    paths = [export_table(frame, out_dir / "table.csv")]
    paths += write_sweep_figures(frame, out_dir)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        err.print("note: pyarrow is not installed, so no table.parquet (pip install 'agora[parquet]')", markup=False)
    else:
        paths.append(export_table(frame, out_dir / "table.parquet"))
    return paths


def plot(
    target: str = typer.Argument(..., help="a sweep id or a run id"),
    metric: Optional[str] = typer.Option(None, "--metric", help="table column to plot (e.g. welfare, measures.x, or a/b)"),
    x: Optional[str] = typer.Option(None, "--x", help="parameter on the x axis (default: the first that varies)"),
    hue: Optional[str] = typer.Option(None, "--hue", help="parameter with one line per value"),
    theory: list[str] = typer.Option([], "--theory", help="theory column to draw as a line (repeatable)"),
    ci: str = typer.Option("t", "--ci", help="confidence interval: t (Student) or bootstrap"),
    level: float = typer.Option(0.95, "--level", min=0.5, max=0.999, help="confidence level"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="directory for the figures (default: plots/<id>)"),
    db: Optional[Path] = DbOption,
) -> None:
    """Draw a sweep's figures (mean and CI over seeds, theory lines) or a run's figures, as PNG + SVG + CSV."""
    from simulator import plots
    from simulator.store import RunNotFound, Store, SweepNotFound
    from simulator.sweep import table

    if ci not in ("t", "bootstrap"):
        fail(f"error: --ci {ci!r}: allowed: t, bootstrap")
    out_dir = out_dir or Path("plots") / target
    with Store(db) as store:
        try:
            store.get_sweep(target)
            is_sweep = True
        except SweepNotFound:
            is_sweep = False
        try:
            if is_sweep:
                frame = table(store, target)
                if frame.empty:
                    fail(f"error: sweep {target} has no finished runs yet")
                if metric or x or hue or theory:
                    spec = plots.custom_figure(metric or "welfare", x, hue, tuple(theory) if theory else None)
                    paths = plots.write_figure(frame, spec, out_dir, level=level, method=ci)
                else:
                    paths = plots.write_sweep_figures(frame, out_dir, level=level, method=ci)
                    if not paths:
                        fail(f"error: no figure applies to sweep {target}: no parameter varies")
            else:
                if metric or x or hue or theory:
                    fail(f"error: {target} is a run; --metric/--x/--hue/--theory apply to sweeps")
                paths = plots.write_run_figures(store, target, out_dir)
        except RunNotFound:
            fail(f"error: {target!r} is neither a sweep nor a run in {store.path} (see `agora sweeps list`, `agora runs list`)")
        except plots.PlotError as exc:
            fail(f"error: {exc}")
    for path in paths:
        out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)


@sweeps_app.command("list")
def sweeps_list(
    limit: int = typer.Option(20, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json"),
    db: Optional[Path] = DbOption,
) -> None:
    """List stored sweeps, newest first. In a pipe: tab-separated, full ids."""
    from simulator.store import Store

    with Store(db) as store:
        rows = [store.get_sweep(r["id"]) for r in store.list_sweeps(limit=limit)]
    if as_json:
        print(json.dumps([_sweep_json(r) for r in rows], indent=2))
        return
    from simulator.cli.runs import print_listing

    print_listing(["sweep", "scenario", "world", "cells", "finished", "failed", "status", "created"], [[
        row["id"], row["scenario_name"], row["world"], str(row["n_cells"]), str(row["runs"].get("finished", 0)),
        str(row["runs"].get("failed", 0)), row["status"], time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["created_at"])),
    ] for row in rows])


@sweeps_app.command("show")
def sweeps_show(sweep_id: str = typer.Argument(...), db: Optional[Path] = DbOption) -> None:
    """Show one sweep: its spec and how many cells are done (as JSON)."""
    from simulator.store import Store, SweepNotFound

    with Store(db) as store:
        try:
            row = store.get_sweep(sweep_id)
        except SweepNotFound:
            fail(f"error: no sweep {sweep_id!r} in {store.path} (see `agora sweeps list`)")
    print(json.dumps(_sweep_json(row), indent=2))


@sweeps_app.command("table")
def sweeps_table(
    sweep_id: str = typer.Argument(...),
    out_file: Path = typer.Option(..., "--out", help="FILE.csv or FILE.parquet"),
    db: Optional[Path] = DbOption,
) -> None:
    """Export a sweep's tidy table (one row per run: parameters, seed, metrics)."""
    from simulator.store import Store, SweepNotFound
    from simulator.sweep import SweepError, export_table, table

    with Store(db) as store:
        try:
            frame = table(store, sweep_id)
        except SweepNotFound:
            fail(f"error: no sweep {sweep_id!r} in {store.path} (see `agora sweeps list`)")
    try:
        path = export_table(frame, out_file)
    except SweepError as exc:
        fail(f"error: {exc}")
    out.print(f"wrote {path} ({len(frame)} runs)", markup=False, highlight=False)


def _sweep_json(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "scenario_name", "world", "source", "n_cells", "status", "created_at", "finished_at", "error", "spec", "runs")
    return {("sweep_id" if k == "id" else k): row[k] for k in keys}

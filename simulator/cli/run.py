"""``agora run FILE`` (run a scenario, store it, print its metrics) and ``agora validate FILE...``."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from simulator.cli.console import DbOption, err, fail, print_problems, print_warnings
from simulator.cli.runs import print_run, run_json
from simulator.errors import AgoraError, exit_code
from simulator.parsing import MAX_SEED



class LiveProgress:
    """A progress bar that appears only once a run has taken more than ``delay`` seconds."""

    def __init__(self, label: str, delay: float = 2.0, enabled: bool = True) -> None:
        self.label, self.delay, self.enabled = label, delay, enabled
        self.started = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, fraction: float, events: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < self.delay:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                TextColumn("{task.fields[events]:,} events"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=err.real, transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=1.0, events=0)
        self.bar.update(self.task, completed=fraction, events=events)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(
    file: Path = typer.Argument(..., help="scenario YAML file"),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="random seed, 0 .. 2**63-1 (default: the scenario's seed)"),
    set_: list[str] = typer.Option([], "--set", help="override a field: --set world.rounds=20 (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of a table"),
    llm_cache: Optional[str] = typer.Option(
        None, "--llm-cache", help="LLM call cache: record (reuse + store), replay (a miss is an error, no network), off"
    ),
    db: Optional[Path] = DbOption,
) -> None:
    """Run a scenario, store it, and print its metrics.

    A run that logs 10,000 events or more also has its figures drawn, into agora.db.figures.db beside an SQLite store, so that its page in `agora serve` opens at once."""
    from simulator.scenario import parse_override, read_scenario
    from simulator.store import Store

    if llm_cache is not None and llm_cache not in ("record", "replay", "off"):
        fail(f"error: --llm-cache: {llm_cache!r} is not a cache mode; allowed: record, replay, off")
    overrides = [parse_override(item) for item in set_]  # a bad file or --set: AgoraGroup prints its file:line:column lines
    if llm_cache is not None:
        overrides.append(("llm.cache", llm_cache))  # stored with the run's overrides
    loaded = read_scenario(file, overrides)
    scenario = loaded.scenario
    print_warnings(scenario)
    from simulator.run import stored_run

    progress = LiveProgress(f"{scenario.name}", enabled=not as_json or sys.stderr.isatty())
    signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends the run like Ctrl-C: stored as interrupted
    with Store(db) as store:
        try:
            run_id, result = stored_run(scenario, loaded.text, store, seed=seed, overrides=list(loaded.overrides), progress=progress)
        except KeyboardInterrupt:
            progress.close()
            fail("interrupted: the run is stored as 'interrupted' with the events logged so far", 130)
        except Exception as exc:  # e.g. a cache miss under --llm-cache replay, or a fault in a world
            progress.close()
            if os.environ.get("AGORA_DEBUG"):
                raise
            # Agora's own errors carry a message for the user; anything else is a fault, named by its class.
            what = str(exc) if isinstance(exc, AgoraError) else f"{type(exc).__name__}: {exc}"
            # settings that cannot work (InvalidInput) are bad input (2); everything else is a failed run (1)
            fail(f"error: {what}\n(the run is stored as 'failed' with its events so far; AGORA_DEBUG=1 shows the traceback)",
                 exit_code(exc))
        finally:
            progress.close()
        # a big run's figures and welfare chart, drawn now as the API's workers do, so that its run page's first
        # view (agora serve) only reads them (seconds of drawing otherwise); nothing for a small run
        from simulator.draw_ahead import draw_ahead

        try:
            draw_ahead(store, run_id)
        except KeyboardInterrupt:
            pass  # the run is stored; the page draws them when first asked
        if as_json:  # the stored row, exactly as `agora runs show --json` prints it
            print(json.dumps(run_json(store.get_run(run_id)), indent=2))
    if not as_json:  # the table from the result in hand: no round trip of the metrics through the store
        print_run(result_view(run_id, scenario, scenario.seed if seed is None else seed, result))
    if result.status != "finished":  # degraded (3): it ran, but too many decisions were not the policies' own
        raise typer.Exit(exit_code(status=result.status))


def result_view(run_id: str, scenario: Any, seed: int, result: Any) -> dict[str, Any]:
    """A finished ``stored_run`` as the stored row ``print_run`` reads (``simulator.run.RunResult`` + the scenario)."""
    summary = {"events": result.events, "sim_time": result.sim_time, "wall_seconds": result.wall_seconds,
               "counters": result.counters, "reason": result.reason}
    return {
        "id": run_id, "scenario_name": scenario.name, "world": scenario.world_type, "seed": seed, "status": result.status,
        "duration": result.wall_seconds, "error": result.reason if result.status == "failed" else None,
        "summary": summary, "metrics": result.metrics,
    }


def validate(files: list[Path] = typer.Argument(..., help="scenario files to check")) -> None:
    """Check scenario files without running them."""
    from simulator.scenario import ScenarioError, read_scenario

    bad = 0
    for file in files:
        try:
            loaded = read_scenario(file)
        except ScenarioError as exc:
            bad += 1
            print_problems(exc)
        else:
            print_warnings(loaded.scenario)
            print(f"ok: {file}")
    if bad:
        raise typer.Exit(2)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt

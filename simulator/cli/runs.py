"""``agora runs list|show|transcript``: browse stored runs; ``print_run`` and ``run_json`` also serve ``agora run``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from simulator.cli.console import DbOption, fail, fmt, out, print_metrics, stored_run_or_fail

runs_app = typer.Typer(help="Browse stored runs.", no_args_is_help=True)


def print_listing(columns: list[str], rows: list[list[str]]) -> None:
    """A listing whose first column is an id: never truncated.

    On a terminal a table whose id column keeps its full width; in a pipe one tab-separated
    line per row under a header line (``agora runs list | cut -f1`` gives whole ids)."""
    if not sys.stdout.isatty():
        for line in [columns, *rows]:
            print("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in line))
        return
    from rich.table import Table

    table = Table(show_header=True)
    width = max([len(columns[0]), *(len(row[0]) for row in rows)])
    table.add_column(columns[0], no_wrap=True, min_width=width)
    for name in columns[1:]:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    out.print(table)


@runs_app.command("list")
def runs_list(
    limit: int = typer.Option(20, "--limit", min=1),
    world: Optional[str] = typer.Option(None, "--world"),
    status: Optional[str] = typer.Option(None, "--status"),
    all_runs: bool = typer.Option(False, "--all", help="also list the runs of sweeps (left out by default; "
                                  "a sweep's cells are the rows of `agora sweeps table SWEEP_ID`)"),
    as_json: bool = typer.Option(False, "--json"),
    db: Optional[Path] = DbOption,
) -> None:
    """List stored runs, newest first (runs of sweeps only with --all). In a pipe: tab-separated, full ids."""
    from simulator.store import Store

    with Store(db) as store:
        rows = store.list_runs(limit=limit, world=world, status=status, sweep_cells=all_runs, metrics=True)  # one query for the page's metrics
        if as_json:
            print(json.dumps([run_json(r) for r in rows], indent=2))
            return
        lines = []
        for row in rows:
            welfare = row["metrics"].get("welfare")
            lines.append([
                row["id"], row["scenario_name"], row["world"], str(row["seed"]), row["status"],
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["created_at"])),
                f"{row['duration']:.2f}" if row["duration"] is not None else "",
                fmt(welfare) if welfare is not None else "",
            ])
        print_listing(["run", "scenario", "world", "seed", "status", "started", "seconds", "welfare"], lines)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
    events: int = typer.Option(0, "--events", help="also print the first N events"),
    db: Optional[Path] = DbOption,
) -> None:
    """Show one stored run: status, timings, metrics."""
    from simulator.store import Store

    with Store(db) as store:
        stored = stored_run_or_fail(store, run_id)
        log = store.events(run_id, limit=events) if events else []
    if as_json:
        data = run_json(stored)
        if events:
            data["events"] = log
        print(json.dumps(data, indent=2))
        return
    print_run(stored)
    for event in log:
        out.print(f"t={event['t']:<10g} {event['agent'] or '-':<12} {event['kind']:<10} {json.dumps(event['data'])}", markup=False)


@runs_app.command("transcript")
def runs_transcript(
    run_id: str = typer.Argument(...),
    agent: Optional[str] = typer.Option(None, "--agent", help="only this agent's exchanges"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list of every exchange, messages in full"),
    full: bool = typer.Option(False, "--full", help="print every message sent, not only the last one"),
    db: Optional[Path] = DbOption,
) -> None:
    """Every LLM exchange of a stored run: messages sent, reply, action or error, tokens, latency, retries."""
    from simulator.store import Store

    with Store(db) as store:
        stored_run_or_fail(store, run_id)
        agents = store.transcript_agents(run_id)
        if agent is not None and agent not in agents:
            known = ", ".join(list(agents)[:20]) or "none (this run made no LLM calls)"
            fail(f"error: --agent {agent!r}: run {run_id} has no LLM exchanges for that agent; agents with exchanges: {known}")
        rows, after = [], -1
        while True:  # page through: a large run has many exchanges
            page = store.transcript(run_id, agent=agent, after=after, limit=5000)
            rows.extend(page)
            if len(page) < 5000:
                break
            after = page[-1]["seq"]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print_exchange(row, full)
    if not rows:
        out.print("no LLM exchanges stored for this run", markup=False)


def print_exchange(row: dict[str, Any], full: bool) -> None:
    retries = f", {row['attempts'] - 1} retries" if row.get("attempts", 1) > 1 else ""
    out.print(
        f"#{row['seq']} t={row['t']:g} {row['agent']} decision {row['decision']}{' re-ask' if row['attempt'] else ''}: "
        f"{row['prompt_tokens']}+{row['completion_tokens']} tokens, {row['latency_ms']:g} ms{retries}"
        f"{', from cache' if row['cached'] else ''}, seed {row.get('sampling_seed')}",
        markup=False, highlight=False,
    )
    messages = row.get("messages") or []
    for message in messages if full else messages[-1:]:
        out.print(f"  {message.get('role')}: {message.get('content')}", markup=False, highlight=False)
    for error in row.get("retry_errors") or []:
        out.print(f"  retried after: {error}", markup=False, highlight=False)
    out.print(f"  reply: {row.get('reply')}", markup=False, highlight=False)
    if row.get("error"):
        out.print(f"  error ({row.get('error_kind')}): {row['error']}", markup=False, highlight=False)
    else:
        out.print(f"  action: {json.dumps(row.get('action'))}", markup=False, highlight=False)


def run_json(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored run as ``agora run --json`` and ``agora runs show --json`` print it."""
    keys = ("scenario_name", "world", "seed", "status", "created_at", "started_at", "finished_at", "duration", "error", "overrides", "summary", "version")
    return {"run_id": stored["id"], **{k: stored[k] for k in keys}, "metrics": stored["metrics"]}


def print_run(stored: dict[str, Any]) -> None:
    """A run's header line, its counters, and its metrics and theory as two tables."""
    summary = stored.get("summary") or {}
    out.print(
        f"run {stored['id']}  {stored['scenario_name']} ({stored['world']})  seed {stored['seed']}  "
        f"status {stored['status']}  {summary.get('events', 0):,} events  "
        f"{(stored['duration'] or 0):.2f} s",
        markup=False, highlight=False,
    )
    if stored.get("error"):
        out.print(f"error: {stored['error']}", markup=False)
    if stored["status"] != "finished" and summary.get("reason") and summary["reason"] != stored.get("error"):
        out.print(f"stopped: {summary['reason']}", markup=False, highlight=False)
    counters = summary.get("counters") or {}
    from agents.registry import counter_lines

    for line in counter_lines(counters):  # what each policy says about the counters it added (e.g. the LLM's spend)
        out.print(line, markup=False, highlight=False)
    metrics = stored["metrics"]
    if not metrics:
        return
    print_metrics(stored["world"], metrics)  # one table: theory beside simulation, then the rest (H6, simulator/cli/console.py)

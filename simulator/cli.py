"""The ``agora`` command line.

    agora run FILE [--seed N] [--set key=value ...] [--json] [--llm-cache record|replay|off]
    agora validate FILE...
    agora solve GAME_FILE [--method M] [--lam L] [--time-limit SECONDS] [--json]
    agora runs list [--limit N] [--world W] [--status S] [--json]
    agora runs show RUN_ID [--json] [--events N]
    agora runs transcript RUN_ID [--agent A] [--json] [--full]
    agora market generate|baselines ...   (simulator/cli_market.py)
    agora serve [--host 127.0.0.1] [--port 8000] [--workers N]

Every command that reads a scenario reports bad input as ``file:line:column:
field: message`` lines on stderr and exits with status 2 — never a traceback.
``main`` makes that hold for the whole program: a usage error (bad option,
out-of-range number), a bad ``--db`` or an unreadable path is one ``error:``
line and status 2; an unexpected fault is one line and status 1
(``AGORA_DEBUG=1`` shows its traceback). Modules are imported inside the
commands so that ``agora`` starts quickly.
The store is ``./agora.db`` unless ``--db`` or ``AGORA_DB`` says otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from simulator.parsing import MAX_SEED

if TYPE_CHECKING:
    from simulator.parsing import ScenarioError

DEFAULT_TIME_LIMIT = 60.0  # seconds for `agora solve`; enumeration on a 14x14 game can take hours

app = typer.Typer(help="Agora: a multi-agent market and game simulator.", no_args_is_help=True, add_completion=False)
runs_app = typer.Typer(help="Browse stored runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
from simulator.cli_market import market_app  # noqa: E402  (agora market ...)

app.add_typer(market_app, name="market")

# Outside a terminal (pipes, CI) rich would wrap at 80 columns; keep lines whole.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

DbOption = typer.Option(None, "--db", help="SQLite store file (default: $AGORA_DB or ./agora.db)")


def fail(message: str, code: int = 2) -> None:
    print(message, file=sys.stderr)
    raise typer.Exit(code)


def print_problems(exc: ScenarioError) -> None:
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)


def report_scenario_error(exc: ScenarioError) -> None:
    print_problems(exc)
    raise typer.Exit(2)


class LiveProgress:
    """A progress bar that appears only once a run has taken more than ``delay`` seconds."""

    def __init__(self, label: str, delay: float = 2.0, enabled: bool = True) -> None:
        self.label, self.delay, self.enabled = label, delay, enabled
        self.started = time.perf_counter()
        self.bar: Progress | None = None
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
                console=err, transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=1.0, events=0)
        self.bar.update(self.task, completed=fraction, events=events)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


EXIT_DEGRADED = 3  # `agora run`: the run ended 'degraded' (LLM fallbacks above llm.max_fallback_share)


@app.command()
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
    """Run a scenario, store it, and print its metrics."""
    from simulator.scenario import ScenarioError, load_scenario, parse_override
    from simulator.store import Store

    if llm_cache is not None and llm_cache not in ("record", "replay", "off"):
        fail(f"error: --llm-cache: {llm_cache!r} is not a cache mode; allowed: record, replay, off")
    try:
        overrides = [parse_override(item) for item in set_]
        if llm_cache is not None:
            overrides.append(("llm.cache", llm_cache))  # stored with the run's overrides
        scenario, text = load_scenario(file, overrides)
    except ScenarioError as exc:
        report_scenario_error(exc)
    from agents.llm.cache import LLMError, LLMSettingsError  # after the scenario is read: a file that does not parse fails fast
    from simulator.run import stored_run

    progress = LiveProgress(f"{scenario.name}", enabled=not as_json or sys.stderr.isatty())
    signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends the run like Ctrl-C: stored as interrupted
    with Store(db) as store:
        try:
            run_id, result = stored_run(scenario, text, store, seed=seed, overrides=overrides, progress=progress)
        except KeyboardInterrupt:
            progress.close()
            fail("interrupted: the run is stored as 'interrupted' with the events logged so far", 130)
        except Exception as exc:  # e.g. a cache miss under --llm-cache replay, or a fault in a world
            progress.close()
            if os.environ.get("AGORA_DEBUG"):
                raise
            what = str(exc) if isinstance(exc, LLMError) else f"{type(exc).__name__}: {exc}"
            # LLM settings that cannot work are bad input (2); everything else is a failed run (1)
            fail(f"error: {what}\n(the run is stored as 'failed' with its events so far; AGORA_DEBUG=1 shows the traceback)",
                 2 if isinstance(exc, LLMSettingsError) else 1)
        finally:
            progress.close()
        stored = store.get_run(run_id)
    if as_json:
        print(json.dumps(_run_json(stored), indent=2))
    else:
        _print_run(stored)
    if result.status != "finished":  # degraded: it ran, but too many decisions were not the model's own
        raise typer.Exit(EXIT_DEGRADED if result.status == "degraded" else 1)


@app.command()
def validate(files: list[Path] = typer.Argument(..., help="scenario files to check")) -> None:
    """Check scenario files without running them."""
    from simulator.scenario import ScenarioError, load_scenario

    bad = 0
    for file in files:
        try:
            load_scenario(file)
        except ScenarioError as exc:
            bad += 1
            print_problems(exc)
        else:
            print(f"ok: {file}")
    if bad:
        raise typer.Exit(2)


@app.command()
def solve(
    file: Path = typer.Argument(..., help="game file (YAML or JSON): bimatrix A/B, N-player payoffs table, or sequential tree (chance nodes and information sets allowed); or Gambit .nfg / .efg"),
    method: str = typer.Option("auto", "--method", help="auto, support, vertex, lemke-howson, pure, zero-sum, correlated, logit, logit-limit, simpdiv, replicator, backward-induction, all-spne; extensive games also sequence-lp, sequence-lcp, cfr (see README)"),
    lam: float = typer.Option(1.0, "--lam", min=0.0, help="precision lambda for --method logit (finite)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list of equilibria (row, col, payoffs, ...)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="with --method replicator: write the phase portrait (PNG/SVG) here"),
    time_limit: float = typer.Option(
        DEFAULT_TIME_LIMIT, "--time-limit", min=0.0,
        help=f"stop the solver after this many seconds with exit status 2 (default {DEFAULT_TIME_LIMIT:g}; 0 = no limit)",
    ),
) -> None:
    """Compute the equilibria of a game file; probabilities and payoffs print as exact fractions where rational."""
    import math

    from simulator.parsing import ScenarioError, parse_document, read_text

    if not math.isfinite(lam):
        fail(f"error: --lam {lam}: not a finite number; allowed: 0 <= lambda < inf")
    if not math.isfinite(time_limit):
        fail(f"error: --time-limit {time_limit}: not a finite number; allowed: seconds, or 0 for no limit")
    try:
        text = read_text(file)  # every reader (YAML, JSON, .nfg) gets a regular, bounded UTF-8 file: a FIFO would block it
        if file.suffix.lower() in (".yaml", ".yml", ".json"):
            parse_document(text, str(file))  # fail fast, before the solvers (scipy) are imported
    except ScenarioError as exc:
        report_scenario_error(exc)
    from simulator.solve import METHODS, load_game, render, report_json

    if method not in METHODS:
        fail(f"error: --method {method!r}: unknown method; allowed: {', '.join(METHODS)}")
    try:
        game = load_game(file)
    except ScenarioError as exc:
        report_scenario_error(exc)
    try:
        report = _solve_within(game, method, lam, time_limit)
    except (ValueError, RuntimeError) as exc:
        fail(f"error: {file}: {exc}")
    except TimeoutError:
        fail(f"error: {file}: the {method} solve did not finish within --time-limit {time_limit:g} s; "
             "allowed: a longer --time-limit (0 = none) or a faster --method (lemke-howson, pure, logit)")
    if plot is not None:
        if report.method != "replicator":
            fail("error: --plot draws the replicator dynamics; use it with --method replicator")
        from simulator.evolution_plot import plot_replicator
        from simulator.solve import replicator_game

        try:
            A, B = replicator_game(game.payoffs)
            plot_replicator(A, plot, B=B, labels=game.actions[0])
        except ValueError as exc:
            fail(f"error: {file}: {exc}")
    if as_json:
        print(json.dumps(report_json(report), indent=2))
    else:
        render(report, out)
        if plot is not None:
            print(f"phase portrait: {plot}")


def _solve_within(game: Any, method: str, lam: float, limit: float) -> Any:
    """``solve_game`` in a forked child process that is killed after ``limit`` seconds (0: no limit).

    A child process rather than a thread or an alarm: the enumeration and LP
    solvers spend their time inside numpy/scipy C code, which neither a signal
    handler nor a thread can interrupt; killing the child always works.
    """
    from simulator.solve import solve_game

    if not limit:
        return solve_game(game, method, lam)
    import multiprocessing

    context = multiprocessing.get_context("fork")  # the game is already loaded: no re-import, no pickling on the way in
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_solve_child, args=(sender, game, method, lam), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limit):
            raise TimeoutError
        try:
            kind, value = receiver.recv()
        except EOFError:
            child.join(5)
            raise RuntimeError(f"the solver process ended without an answer (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if kind == "error":
        raise ValueError(value)
    return value


def _solve_child(sender: Any, game: Any, method: str, lam: float) -> None:
    from simulator.solve import solve_game

    try:
        sender.send(("ok", solve_game(game, method, lam)))
    except (ValueError, RuntimeError) as exc:
        sender.send(("error", str(exc)))
    except Exception as exc:  # reported by the parent in one line, like any solver fault
        sender.send(("error", f"solver fault: {type(exc).__name__}: {exc}"))


@runs_app.command("list")
def runs_list(
    limit: int = typer.Option(20, "--limit", min=1),
    world: Optional[str] = typer.Option(None, "--world"),
    status: Optional[str] = typer.Option(None, "--status"),
    as_json: bool = typer.Option(False, "--json"),
    db: Optional[Path] = DbOption,
) -> None:
    """List stored runs, newest first."""
    from simulator.store import Store

    with Store(db) as store:
        rows = store.list_runs(limit=limit, world=world, status=status)
        if as_json:
            print(json.dumps([_run_json(store.get_run(r["id"])) for r in rows], indent=2))
            return
        table = Table("run", "scenario", "world", "seed", "status", "started", "seconds", "welfare")
        for row in rows:
            welfare = store.get_run(row["id"])["metrics"].get("welfare")
            table.add_row(
                row["id"], row["scenario_name"], row["world"], str(row["seed"]), row["status"],
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["created_at"])),
                f"{row['duration']:.2f}" if row["duration"] is not None else "",
                _fmt(welfare) if welfare is not None else "",
            )
        out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
    events: int = typer.Option(0, "--events", help="also print the first N events"),
    db: Optional[Path] = DbOption,
) -> None:
    """Show one stored run: status, timings, metrics."""
    from simulator.store import RunNotFound, Store

    with Store(db) as store:
        try:
            stored = store.get_run(run_id)
        except RunNotFound:
            fail(f"error: no run {run_id!r} in {store.path} (see `agora runs list`)")
        log = store.events(run_id, limit=events) if events else []
    if as_json:
        data = _run_json(stored)
        if events:
            data["events"] = log
        print(json.dumps(data, indent=2))
        return
    _print_run(stored)
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
    from simulator.store import RunNotFound, Store

    with Store(db) as store:
        try:
            store.get_run(run_id)
        except RunNotFound:
            fail(f"error: no run {run_id!r} in {store.path} (see `agora runs list`)")
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
        _print_exchange(row, full)
    if not rows:
        out.print("no LLM exchanges stored for this run", markup=False)


def _print_exchange(row: dict[str, Any], full: bool) -> None:
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


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _run_json(stored: dict[str, Any]) -> dict[str, Any]:
    keys = ("scenario_name", "world", "seed", "status", "created_at", "started_at", "finished_at", "duration", "error", "overrides", "summary", "version")
    return {"run_id": stored["id"], **{k: stored[k] for k in keys}, "metrics": stored["metrics"]}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        return text if len(text) <= 100 else text[:97] + "..."
    return str(value)


def _print_run(stored: dict[str, Any]) -> None:
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
    if counters.get("llm_calls"):  # LLM seats (agents/llm): spend and robustness at a glance
        out.print(
            f"llm: {counters['llm_calls']} calls ({counters.get('llm_cache_hits', 0)} from cache), "
            f"{counters.get('llm_prompt_tokens', 0) + counters.get('llm_completion_tokens', 0):,} tokens, "
            f"{counters.get('llm_retries', 0)} retries, {counters.get('llm_parse_errors', 0)} invalid replies, "
            f"{counters.get('llm_reasks', 0)} re-asks, {counters.get('fallbacks', 0)} fallbacks",
            markup=False, highlight=False,
        )
    if counters.get("llm_decisions"):  # the failure policy (agents/llm/session.py): whose decisions these were
        from agents.llm.session import describe_failures, failure_counts

        decisions, failed = counters["llm_decisions"], counters.get("llm_failed", 0)
        causes = failure_counts(counters)
        out.print(
            f"llm decisions: {decisions}, the model's own {decisions - failed} ({(decisions - failed) / decisions:.1%}), "
            f"failed {failed}" + (f" ({describe_failures(causes)})" if causes else "")
            + (f", cost ${counters['llm_cost_usd']:.6f}" if counters.get("llm_cost_usd") else ""),
            markup=False, highlight=False,
        )
    metrics = stored["metrics"]
    if not metrics:
        return
    table = Table("metric", "simulated", show_header=True)
    table.add_row("welfare", _fmt(metrics.get("welfare")))
    for agent, payoff in list((metrics.get("payoffs") or {}).items())[:20]:
        table.add_row(f"payoff {agent}", _fmt(payoff))
    for name, value in (metrics.get("measures") or {}).items():
        table.add_row(name, _fmt(value))
    out.print(table)
    if metrics.get("theory"):
        theory = Table("theory", "predicted")
        for name, value in metrics["theory"].items():
            theory.add_row(name, _fmt(value))
        out.print(theory)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="run worker processes (default: $AGORA_API_WORKERS or 2)"),
    db: Optional[Path] = DbOption,
) -> None:
    """Start the REST API (OpenAPI docs at /docs); settings from AGORA_* variables (see api/settings.py).

    Scenarios submitted to the API are untrusted (README "Serving Agora safely"). A non-loopback
    --host needs AGORA_API_KEY set; uvicorn's concurrency limit and timeouts come from the settings.
    """
    import os

    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.settings import Settings

    if db is not None:
        os.environ["AGORA_DB"] = str(db)
    if workers is not None:
        os.environ["AGORA_API_WORKERS"] = str(workers)
    try:
        settings = Settings()
    except ValidationError as exc:
        fail("\n".join(f"error: AGORA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()))
    if not _loopback(host) and settings.api_key is None:
        fail(f"error: --host {host} is not a loopback address; set AGORA_API_KEY before serving Agora to a network "
             "(allowed without a key: 127.0.0.1, ::1, localhost)")
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info",
        limit_concurrency=settings.api_max_connections,  # beyond it uvicorn answers 503 at once
        timeout_keep_alive=settings.api_keep_alive,
        timeout_graceful_shutdown=10,  # open SSE streams must not hold a SIGTERM forever
        h11_max_incomplete_event_size=64 * 1024,  # request line + headers
    )


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


from simulator import cli_sweep  # noqa: E402  (agora sweep / plot / sweeps)

cli_sweep.register(app)


def main() -> None:
    """The ``agora`` entry point: bad input ends in one ``error:`` line and exit status 2, never a traceback."""
    from simulator.parsing import ScenarioError
    from simulator.store import StoreError

    try:
        code = app(prog_name="agora", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors: bad option, missing argument, out-of-range number
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `agora` or `agora runs` alone: typer has printed the help
            pass
        else:
            where = f" (see: {context.command_path} --help)" if context is not None else ""
            print(f"error: {_one_line(exc.format_message())}{where}", file=sys.stderr)
        code = exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        code = 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except ScenarioError as exc:  # a command that let one through: still file:line:column lines
        print_problems(exc)
        code = 2
    except StoreError as exc:
        print(f"error: --db: {exc}", file=sys.stderr)
        code = 2
    except OSError as exc:  # a path the user gave: missing, a directory, not writable
        name = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {name}{exc.strerror or exc}", file=sys.stderr)
        code = 2
    except Exception as exc:
        if os.environ.get("AGORA_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {_one_line(str(exc))} (AGORA_DEBUG=1 shows the traceback)", file=sys.stderr)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    main()

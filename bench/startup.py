"""A newcomer's first minutes, timed: set-up, start-up of the CLI, and a run's plots (issue 18).

    .venv/bin/python bench/startup.py [--repeat 5] [--no-clone] [--warm-cache]

* a clean clone, as the README's first command does it: ``git clone`` of this repo's HEAD into a
  temporary folder, ``scripts/setup.sh`` there (wall seconds; by default with ``UV_NO_CACHE=1`` and
  ``PIP_NO_CACHE_DIR=1``, every wheel downloaded as on a fresh machine; ``--warm-cache`` keeps the
  caches), then ``agora validate`` and ``agora run scenarios/prisoners_dilemma.yaml`` in that clone's
  run-only venv, and ``import mesa`` there, the floor of a run. This is the start-up the README
  promises (targets: validate < 1 s, run < 2 s). ``--no-clone`` skips it (a minute or two).
* the same commands in the dev venv this script runs in (``--dev`` extras; compiled by pip):
  ``agora --help``, ``agora validate``, ``agora run`` as fresh processes (wall seconds, median and min of
  ``--repeat``, and median CPU seconds; the run writes to a throw-away store).
* the run plots of a stored run with 2,000 agents, 20,000 decision events and 50 rounds' payoffs
  (welfare over time with its theory line, payoffs as a distribution): the first
  draw and a cached one, in this process (target: < 1 s).
* the machine's load average before and after (``os.getloadavg``), and the environment's
  ``PYTHONDONTWRITEBYTECODE`` (set, Python writes no .pyc: start-up relies on set-up's byte-compiling).

Wall times on a shared, loaded machine are noisy: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import os
import shutil
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGORA = [sys.executable, "-m", "simulator.cli"]


def wall(command: list[str], repeat: int, cwd: Path = ROOT) -> tuple[float, float, float]:
    """Median and min wall seconds of ``repeat`` fresh processes, and their median CPU seconds (user + system:
    less sensitive than wall time to the other processes of a shared machine)."""
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return statistics.median(times), min(times), statistics.median(cpu)


def plot_times(folder: Path) -> dict[str, tuple[float, float]]:
    """First draw (wall and CPU seconds) and a cached one of each plot of a synthetic finished run of 2,000 agents."""
    import numpy as np

    from simulator import plots
    from simulator.run import run_scenario
    from simulator.scenario import read_scenario
    from simulator.store import Store

    # The metrics of a real public goods run, with 2,000 agents' payoffs, and 20,000 payoff events.
    scenario = read_scenario(ROOT / "scenarios" / "public_goods_simultaneous.yaml").scenario
    metrics = run_scenario(scenario).metrics
    rng = np.random.default_rng(0)
    metrics["payoffs"] = {f"agent_{i}": float(x) for i, x in enumerate(rng.normal(10, 3, 2000))}
    with Store(folder / "plots.db") as store:
        run_id = store.create_run(scenario_name="bench_2000", world="public_goods", scenario_text="", seed=0)
        # 50 rounds, each a decision event per agent and one "round" event with every agent's payoff
        events, seq = [], 0
        for round_ in range(50):
            for agent in range(2000 if round_ < 10 else 0):  # 20,000 decision events in the first 10 rounds
                events.append((seq, float(round_), f"agent_{agent}", "decision", {"contribution": 0.5}))
                seq += 1
            events.append((seq, float(round_), None, "round", {"payoffs": rng.normal(0.5, 0.1, 2000).round(3).tolist()}))
            seq += 1
        store.append_events(run_id, events)
        store.finish_run(run_id, "finished", metrics, {"events": len(events)})
        out = {}
        for name in ("welfare", "payoffs"):
            started, cpu = time.perf_counter(), time.process_time()
            plots.plot_run(store, run_id, name)
            first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
            started = time.perf_counter()
            plots.plot_run(store, run_id, name)
            out[name] = (first, first_cpu, time.perf_counter() - started)
    return out


def print_rows(rows: dict[str, tuple[float, float, float]], repeat: int) -> None:
    for command, (median, best, cpu) in rows.items():
        print(f"{command:55s} median {median:5.2f} s   min {best:5.2f} s   CPU {cpu:5.2f} s   ({repeat} fresh processes)")


def clean_clone(folder: Path, repeat: int, cold_cache: bool) -> None:
    """Clone HEAD, run scripts/setup.sh (what running needs only) and time start-up in that clone's venv."""
    clone = folder / "agora"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    if cold_cache:
        env.update(UV_NO_CACHE="1", PIP_NO_CACHE_DIR="1")
    started = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=600)
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=1800, stdin=subprocess.DEVNULL)
    setup = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"scripts/setup.sh failed in a clean clone:\n{done.stdout}{done.stderr}")
    caches = "no download cache (UV_NO_CACHE=1, PIP_NO_CACHE_DIR=1)" if cold_cache else "download caches kept"
    print(f"clean clone of {commit}: git clone + scripts/setup.sh  {setup:5.0f} s   ({caches})")
    for line in done.stdout.splitlines():
        if " in " in line and line.rstrip().endswith(" s"):
            print(f"    setup.sh: {line.strip()}")
    python, agora = clone / ".venv" / "bin" / "python", [str(clone / ".venv" / "bin" / "agora")]
    # the first run apart: without byte-compiled modules it is the one that compiles them (when Python may write
    # .pyc files at all; with PYTHONDONTWRITEBYTECODE every run pays again)
    db = str(folder / "clone.db")
    first = wall(agora + ["run", "scenarios/prisoners_dilemma.yaml", "--db", db], 1, cwd=clone)
    print(f"{'  first agora run after set-up':55s} {first[0]:5.2f} s")
    print_rows({
        "  python -c 'import mesa' (the floor of a run)": wall([str(python), "-c", "import mesa"], repeat, cwd=clone),
        "  agora validate scenarios/prisoners_dilemma.yaml": wall(agora + ["validate", "scenarios/prisoners_dilemma.yaml"], repeat, cwd=clone),
        "  agora run scenarios/prisoners_dilemma.yaml": wall(agora + ["run", "scenarios/prisoners_dilemma.yaml", "--db", db], repeat, cwd=clone),
    }, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-clone", action="store_true", help="skip the clean clone's set-up and start-up")
    parser.add_argument("--warm-cache", action="store_true", help="let the clean clone's set-up use uv's and pip's download caches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "bench.db")
        scenario = "scenarios/prisoners_dilemma.yaml"
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs); "
              f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
        if not args.no_clone and shutil.which("git"):
            clean_clone(Path(folder), args.repeat, cold_cache=not args.warm_cache)
            print(f"load average after the clean clone: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"dev venv ({sys.prefix}):")
        print_rows({
            "  python -c 'import mesa' (the floor of a run)": wall([sys.executable, "-c", "import mesa"], args.repeat),
            "  agora --help": wall(AGORA + ["--help"], args.repeat),
            f"  agora validate {scenario}": wall(AGORA + ["validate", scenario], args.repeat),
            f"  agora run {scenario}": wall(AGORA + ["run", scenario, "--db", db], args.repeat),
        }, args.repeat)
        from simulator import plots

        # The first figure of a process pays for matplotlib's import and font set-up: time it apart.
        started = time.perf_counter()
        from matplotlib.figure import Figure

        plots.to_bytes(Figure(), "png")
        print(f"{'matplotlib warm-up (first figure of a process)':55s} {time.perf_counter() - started:5.2f} s")
        for name, (first, cpu, cached) in plot_times(Path(folder)).items():
            print(f"{'plot ' + name + ' (2,000 agents, 20,050 events)':55s} first {first:5.2f} s   CPU {cpu:5.2f} s   "
                  f"cached {cached * 1000:6.2f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""A CPU-bound sweep of 40 cells on 1 worker and on 2 workers, side by side.

    .venv/bin/python bench/sweep.py [--workers 2] [--rounds 20000]

Each cell is a long iterated Prisoner's Dilemma (tit-for-tat against a mixed
player, about 20,000 rounds: a few tenths of a second of pure Python). Both
sweeps run end to end through ``simulator.sweep.run_sweep`` (process pool,
every run stored in SQLite) after one untimed warm-up that starts the fork
server. Prints both wall times, the speed-up ratio, and whether the two
tables are identical.

The speed-up is bounded by the free cores: on a machine shared with other
work the ratio drops, so the script prints the load average beside it, and
the parallelism each sweep reached (sum of its cells' run times / its wall time),
and a control: the speed-up of the same process pools on a pure-Python busy
loop, i.e. what the machine's free cores allow at that moment.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

from simulator.store import Store
from simulator.sweep import run_sweep, table

SCENARIO = textwrap.dedent(
    """\
    name: bench_sweep
    seed: 2024
    world: {{type: matrix_game, game: prisoners_dilemma, players: [alice, bob], rounds: {rounds}}}
    agents:
      alice: tit_for_tat
      bob: {{policy: mixed, params: {{probabilities: [0.7, 0.3]}}}}
    sweep:
      grid:
        world.rounds: [{grid}]
      seeds: 5
    """
)


def timed_sweep(text: str, store: Store, workers: int) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    outcome = run_sweep(text=text, store=store, executor="process", workers=workers)
    seconds = time.perf_counter() - started
    assert outcome.failed == 0 and outcome.ran == outcome.n_cells
    return seconds, table(store, outcome.sweep_id)


def busy(n: int) -> int:
    """A pure-Python CPU loop: the control task (no simulator, no store)."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def control(workers: int, tasks: int = 40, n: int = 2_000_000) -> float:
    """Speed-up of ``workers`` processes over 1 on the busy loop: the parallelism this machine gives right now."""
    from simulator.sweep import make_executor

    times = []
    for k in (1, workers):
        with make_executor("process", k) as pool:
            list(pool.map(busy, [1000] * k))  # start the workers
            started = time.perf_counter()
            list(pool.map(busy, [n] * tasks))
            times.append(time.perf_counter() - started)
    return times[0] / times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20000, help="rounds of a typical cell (a cell costs ~ rounds)")
    args = parser.parse_args()
    grid = ", ".join(str(args.rounds + args.rounds // 40 * k) for k in range(-4, 4))  # 8 points x 5 seeds = 40 cells
    text = SCENARIO.format(rounds=args.rounds, grid=grid)
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "bench.db") as store:
        run_sweep(text=SCENARIO.format(rounds=5, grid="5, 6"), store=store, workers=args.workers)  # warm-up
        load_before = os.getloadavg()[0]
        one, table_one = timed_sweep(text, store, 1)
        many, table_many = timed_sweep(text, store, args.workers)
        load_after = os.getloadavg()[0]
    keep = [c for c in table_one.columns if c not in ("run_id", "wall_seconds")]
    identical = table_one[keep].equals(table_many[keep])
    cells = len(table_one)
    print(f"cells: {cells}   cpu count: {os.cpu_count()}   load average: {load_before:.2f} before, {load_after:.2f} after")
    busy_one, busy_many = table_one["wall_seconds"].sum(), table_many["wall_seconds"].sum()
    print(f"1 worker : {one:7.2f} s   ({one / cells * 1000:.0f} ms per cell)   parallelism {busy_one / one:.2f}")
    print(f"{args.workers} workers: {many:7.2f} s   parallelism {busy_many / many:.2f}")
    print(f"speed-up {args.workers} workers vs 1: {one / many:.2f}x   identical results: {identical}")
    print(f"control: a pure-Python busy loop on the same pools gets {control(args.workers):.2f}x (what the free cores allow now)")


if __name__ == "__main__":
    main()

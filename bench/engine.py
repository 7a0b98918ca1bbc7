"""Engine throughput against its peers, side by side in one process.

Workload: N_AGENTS agents, each with a callback that reschedules itself after
an exponential delay (mean 1), run until simulated time N_EVENTS / N_AGENTS,
i.e. about N_EVENTS events. The same delay stream
(``random.Random(seed).expovariate``) feeds (a) a raw inline ``heapq`` loop,
(b) Agora's ``Engine`` with ``schedule(callback, after=...)`` inside the
callback, and (b') with callbacks that return their next delay (the engine
reschedules them, as a SimPy process yields a timeout), (c) SimPy processes, (d) Mesa's own event list
(``Model.schedule_event`` + ``Model.run_until``), so all four fire the same
events. Each contender runs ``--repeat`` times, interleaved with the others,
and keeps its best time (machines here are shared and noisy).

    python bench/engine.py [--events 1000000] [--agents 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from itertools import count

import mesa
import simpy

from simulator.engine import Engine


def raw_heapq(horizon: float, n_agents: int, seed: int) -> tuple[float, int]:
    expo = random.Random(seed).expovariate
    heap: list = []
    seq = count()
    push, pop = heapq.heappush, heapq.heappop
    now = [0.0]

    def make():
        def callback() -> None:
            push(heap, (now[0] + expo(1.0), 0, next(seq), callback))

        return callback

    for _ in range(n_agents):
        push(heap, (expo(1.0), 0, next(seq), make()))
    started = time.perf_counter()
    fired = 0
    while heap and heap[0][0] <= horizon:
        t, _, _, callback = pop(heap)
        now[0] = t
        fired += 1
        callback()
    return time.perf_counter() - started, fired


def agora(horizon: float, n_agents: int, seed: int) -> tuple[float, int]:
    expo = random.Random(seed).expovariate
    engine = Engine(seed=seed)
    schedule = engine.schedule

    def make():
        def callback() -> None:
            schedule(callback, after=expo(1.0))

        return callback

    for _ in range(n_agents):
        schedule(make(), at=expo(1.0))
    started = time.perf_counter()
    engine.run_until(horizon)
    return time.perf_counter() - started, engine.events_fired


def agora_returning_delay(horizon: float, n_agents: int, seed: int) -> tuple[float, int]:
    """The same workload with self-rescheduling callbacks that return their next delay."""
    expo = random.Random(seed).expovariate
    engine = Engine(seed=seed)

    def callback() -> float:
        return expo(1.0)

    for _ in range(n_agents):
        engine.schedule(callback, at=expo(1.0))
    started = time.perf_counter()
    engine.run_until(horizon)
    return time.perf_counter() - started, engine.events_fired


def simpy_bench(horizon: float, n_agents: int, seed: int) -> tuple[float, int]:
    expo = random.Random(seed).expovariate
    env = simpy.Environment()
    fired = [0]

    def agent():
        while True:
            yield env.timeout(expo(1.0))
            fired[0] += 1

    for _ in range(n_agents):
        env.process(agent())
    started = time.perf_counter()
    env.run(until=horizon)
    return time.perf_counter() - started, fired[0]


class _MesaModel(mesa.Model):
    pass


def mesa_bench(horizon: float, n_agents: int, seed: int) -> tuple[float, int]:
    expo = random.Random(seed).expovariate
    model = _MesaModel(rng=seed)
    schedule_event = model.schedule_event
    fired = [0]
    callbacks = []  # Mesa holds only weak references to callbacks

    def make():
        def callback() -> None:
            fired[0] += 1
            schedule_event(callback, after=expo(1.0))

        return callback

    for _ in range(n_agents):
        callbacks.append(make())
        schedule_event(callbacks[-1], at=expo(1.0))
    started = time.perf_counter()
    model.run_until(horizon)
    return time.perf_counter() - started, fired[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="Engine throughput vs raw heapq, SimPy and Mesa.")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    horizon = args.events / args.agents
    contenders = {
        "raw heapq": raw_heapq,
        "agora": agora,
        "agora-ret": agora_returning_delay,
        "simpy": simpy_bench,
        "mesa": mesa_bench,
    }
    best = {name: float("inf") for name in contenders}
    fired = {}
    for _ in range(args.repeat):
        for name, bench in contenders.items():
            seconds, fired[name] = bench(horizon, args.agents, args.seed)
            best[name] = min(best[name], seconds)
    rate = {name: fired[name] / best[name] for name in contenders}
    print(f"~{args.events:,} events over {args.agents:,} agents (until t={horizon:g}), best of {args.repeat}")
    for name in contenders:
        print(f"  {name:<10} {rate[name]:>12,.0f} events/s  ({fired[name]:,} events in {best[name]:.3f} s)")
    print(f"  agora / raw heapq = {rate['agora'] / rate['raw heapq']:.2f}x   (target >= 0.8x)")
    print(f"  agora / simpy     = {rate['agora'] / rate['simpy']:.2f}x   (target >= 1.5x)")
    print(f"  agora / mesa      = {rate['agora'] / rate['mesa']:.2f}x   (target >= 5x)")
    print("  with callbacks that return their next delay (agora-ret):")
    print(f"  agora-ret / raw heapq = {rate['agora-ret'] / rate['raw heapq']:.2f}x")
    print(f"  agora-ret / simpy     = {rate['agora-ret'] / rate['simpy']:.2f}x")
    print(f"  agora-ret / mesa      = {rate['agora-ret'] / rate['mesa']:.2f}x")


if __name__ == "__main__":
    main()

"""World scale: the solver's time and peak memory on large batches, against the pre-rewrite solver.

    python benchmarks/bench_scale.py            # the three target sizes, new vs reference
    python benchmarks/bench_scale.py --scaling  # also the scaling table (time and memory vs markets, vs regions)

For each size the same random markets (``bench_solver.random_markets``) are
solved by ``sim.solve_equilibrium`` and by ``reference_solver.reference_solve``
(the solver before issue 8: every market at once, full-size exponentials in
every residual), interleaved, ``--repeat`` times; min and median times are
printed with their ratio, and the answers are compared. Peak memory is the
largest amount of memory numpy and Python held during one solve above what was
held before it (``tracemalloc``, measured in a separate call so it does not slow
the timed ones), next to ``sim.engine.exact.memory_estimate`` and the inputs' size.
Targets (issue 8, this 2-core machine):
5000 x 50 at most 1.5 s and 1 GiB; 1000 x 100 at most 1.5 s; 2000 x 8 no slower.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from bench_solver import random_markets
from reference_solver import reference_solve

from sim import solve_equilibrium
from sim.engine.exact import chunk_size, memory_estimate

GIB = 2.0**30
TARGETS = [(5000, 50, 1.5, 1.0), (1000, 100, 1.5, None), (2000, 8, None, None)]


def peak_memory(solve, args) -> float:
    """Peak bytes allocated during one ``solve(*args)`` above what was allocated before."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    solve(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - before


def timed(solve, args):
    start = time.perf_counter()
    result = solve(*args)
    return time.perf_counter() - start, result


def compare(markets, regions, repeat, reference=True):
    """Time (min, median) and peak memory of the new solver, and of the reference if asked."""
    args = random_markets(np.random.default_rng(0), markets, regions)
    inputs = sum(a.nbytes for a in args)
    new_times, old_times = [], []
    for _ in range(repeat):
        t, new = timed(solve_equilibrium, args)
        new_times.append(t)
        if reference:
            t, old = timed(reference_solve, args)
            old_times.append(t)
    row = {"markets": markets, "regions": regions, "chunk": chunk_size(regions), "inputs": inputs / GIB,
           "min": min(new_times), "median": statistics.median(new_times),
           "peak": peak_memory(solve_equilibrium, args) / GIB, "estimate": memory_estimate(markets, regions) / GIB,
           "converged": int(new.converged.sum()), "max_residual": float(new.max_residual.max())}
    if reference:
        row |= {"ref_min": min(old_times), "ref_median": statistics.median(old_times),
                "ref_peak": peak_memory(reference_solve, args) / GIB,
                "agree": float(np.abs(new.producer_price - old.producer_price).max())}
    return row


def print_targets(repeat):
    print(f"sim.solve_equilibrium vs the pre-rewrite solver; {repeat} interleaved repetitions; memory above inputs")
    for markets, regions, time_target, memory_target in TARGETS:
        r = compare(markets, regions, repeat)
        target = []
        if time_target:
            target.append(f"target <= {time_target} s: {'met' if r['min'] <= time_target else 'NOT met'} (min)")
        if memory_target:
            target.append(f"<= {memory_target} GiB: {'met' if r['peak'] <= memory_target else 'NOT met'}")
        print(f"{markets:>5} x {regions:<3} (chunks of {r['chunk']}): new min {r['min']:.3f} s, median "
              f"{r['median']:.3f} s, peak {r['peak']:.2f} GiB (estimate {r['estimate']:.2f}) | reference min "
              f"{r['ref_min']:.3f} s, median "
              f"{r['ref_median']:.3f} s, peak {r['ref_peak']:.2f} GiB | speed-up {r['ref_min'] / r['min']:.1f}x "
              f"(medians {r['ref_median'] / r['median']:.1f}x), memory / {r['ref_peak'] / r['peak']:.1f} | inputs "
              f"{r['inputs']:.2f} GiB | converged {r['converged']}/{markets}, prices agree to {r['agree']:.0e}")
        if target:
            print("      " + "; ".join(target))


def print_scaling(repeat):
    print("\n| markets | regions | time, min (s) | time, median (s) | peak memory (GiB) | estimate (GiB) "
          "| inputs (GiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    sizes = [(m, 50) for m in (500, 1000, 2000, 5000, 10000)] + [(1000, n) for n in (10, 25, 100, 200)]
    for markets, regions in sizes:
        r = compare(markets, regions, repeat, reference=False)
        print(f"| {markets:,} | {regions} | {r['min']:.3f} | {r['median']:.3f} | {r['peak']:.2f} | {r['estimate']:.2f} "
              f"| {r['inputs']:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scaling", action="store_true", help="also print the scaling table")
    opts = parser.parse_args()
    print_targets(opts.repeat)
    if opts.scaling:
        print_scaling(opts.repeat)

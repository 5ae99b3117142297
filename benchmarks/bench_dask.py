"""When a Dask cluster pays: a local solve against the same batch on a local cluster, in one run.

    python benchmarks/bench_dask.py [--markets 5000] [--regions 50] [--workers 2] [--repeat 3]

Needs the optional extra (``pip install -e ".[distributed]"``). Each repetition, interleaved:

- ``local``: ``sim.solve_equilibrium`` here (chunks on this machine's cores);
- ``cluster start``: starting a local cluster of ``--workers`` processes as ``run --workers``
  does (``sim.cluster.local_cluster``) and connecting a client to it;
- ``on the cluster``: the same solve with ``client=`` on that running cluster (inputs shipped to
  the workers, results gathered), then the cluster closed (not timed).

Printed: min and median of each, the ratios to the local solve (on the running cluster, and
with its start, which is what ``run --workers`` pays every time), and whether the answers are
identical. On one machine the workers share the cores the local solve already uses, so a
cluster can only pay across several machines, on batches long enough to hide shipping the
inputs and starting it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_solver import random_markets

from sim import solve_equilibrium
from sim.cluster import local_cluster


def _clock(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def _start(workers):
    from distributed import Client

    cluster = local_cluster(workers)
    return cluster, Client(cluster)


def main(markets=5000, regions=50, workers=2, repeat=3, seed=0):
    """Time the three, interleaved; print min, median and ratios; return {name: times}."""
    args = random_markets(np.random.default_rng(seed), markets, regions)
    times = {"local": [], "cluster start": [], "on the cluster": []}
    identical = True
    for _ in range(repeat):  # interleaved, so that a slow spell of the machine hits every one
        seconds, here = _clock(solve_equilibrium, *args)
        times["local"].append(seconds)
        seconds, (cluster, client) = _clock(_start, workers)
        times["cluster start"].append(seconds)
        try:
            seconds, there = _clock(solve_equilibrium, *args, client=client)
            times["on the cluster"].append(seconds)
        finally:
            client.close()
            cluster.close()
        identical &= bool(np.array_equal(here.producer_price, there.producer_price)
                          and np.array_equal(here.flows, there.flows))
    local = times["local"]
    with_start = [a + b for a, b in zip(times["cluster start"], times["on the cluster"])]
    print(f"{markets} markets x {regions} regions, a local cluster of {workers} worker processes (one thread each), "
          f"{repeat} interleaved repetitions; answers identical: {identical}")
    for name, values in (times | {"cluster start + solve": with_start}).items():
        ratio = ""
        if name != "local":
            ratio = (f"   / local: {min(values) / min(local):.2f}x min, "
                     f"{statistics.median(values) / statistics.median(local):.2f}x median")
        print(f"  {name:<22} min {min(values):7.3f} s   median {statistics.median(values):7.3f} s{ratio}")
    return times


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=5000)
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    main(opts.markets, opts.regions, opts.workers, opts.repeat, opts.seed)

"""Linked sectors at world scale: ``python benchmarks/bench_linkages.py [--sectors 20 --regions 50 --draws 100]``.

One batch of ``draws`` variants of a random world of ``sectors`` × ``regions`` in which every sector buys a
few inputs (cost shares summing to at most 0.3), solved with vertical linkages (docs/model.md, "Vertical
linkages") and, in the same run, without them: time, the linked solve's rounds and the ratio between the
two, and the peak memory of each (tracemalloc). Timing is printed, never asserted.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from sim.engine import solve_equilibrium
from sim.engine.exact import TOLERANCE
from sim.engine.linkages import Links, solve_linked


def random_world(rng, sectors: int, regions: int, draws: int) -> tuple[dict, Links]:
    """A random world's kernel arguments, a 10-point tariff rise on a third of the routes, and cost shares."""
    flows = rng.lognormal(3.0, 1.5, (sectors, regions, regions))
    flows[:, np.arange(regions), np.arange(regions)] *= 20.0  # home shipments dominate
    base = np.where(rng.random(flows.shape) < 0.5, 0.05, 0.0)
    new = base + np.where(rng.random(flows.shape) < 0.33, 0.10, 0.0)
    for t in (base, new):
        t[:, np.arange(regions), np.arange(regions)] = 0.0
    shares = np.where(rng.random((sectors, sectors, regions)) < 0.2, rng.uniform(0.0, 0.05, (sectors, sectors,
                                                                                              regions)), 0.0)
    shares *= np.minimum(1.0, 0.3 / np.maximum(shares.sum(axis=0), 1e-12))[None]
    output = flows.sum(axis=-1)
    absorption = ((1 + base) * flows).sum(axis=-2)
    derived = np.einsum("nuj,uj->nj", shares, output)
    shares *= min(1.0, float(np.min(0.8 * absorption / np.maximum(derived, 1e-12))))  # keep some final demand
    scale = rng.lognormal(0.0, 0.3, (draws, 1))
    inputs = {"flows": flows, "base_tariffs": base, "new_tariffs": new, "sigma": 4.0 * scale, "eta": -1.0 * scale,
              "eps": 2.0 * np.ones((draws, sectors, regions)), "supply_shift": np.zeros((sectors, regions)),
              "demand_shift": np.zeros((sectors, regions))}
    return inputs, Links(shares)


def measured(function):
    tracemalloc.start()
    started = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def main(sectors=20, regions=50, draws=100, seed=3):
    inputs, links = random_world(np.random.default_rng(seed), sectors, regions, draws)
    rounds = {"n": 0}

    def solve_once(arguments):
        rounds["n"] += 1
        return solve_equilibrium(**arguments)

    plain, plain_seconds, plain_peak = measured(lambda: solve_equilibrium(**inputs))
    linked, linked_seconds, linked_peak = measured(lambda: solve_linked(inputs, links, solve_once, TOLERANCE))
    markets = draws * sectors
    print(f"linked world: {sectors} sectors x {regions} regions x {draws} draws ({markets} markets), seed {seed}")
    print(f"  without linkages: {plain_seconds:.2f} s, peak {plain_peak / 2**30:.3f} GiB, "
          f"converged {int(plain.converged.sum())}/{markets}")
    print(f"  with linkages:    {linked_seconds:.2f} s, peak {linked_peak / 2**30:.3f} GiB, {rounds['n']} rounds, "
          f"converged {int(linked.converged.sum())}/{markets}, largest residual {linked.max_residual.max():.1e}")
    print(f"  ratio linked / unlinked: {linked_seconds / plain_seconds:.1f}x time, "
          f"{linked_peak / max(plain_peak, 1):.1f}x peak memory")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sectors", type=int, default=20)
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    main(args.sectors, args.regions, args.draws, args.seed)

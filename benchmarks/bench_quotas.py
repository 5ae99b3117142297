"""Tariff-rate quotas against their floor: the same markets with the solved rate as a plain tariff.

    python benchmarks/bench_quotas.py [--markets 500] [--regions 8 30 50] [--repeat 5] [--seed 0]

For each number of regions, ``--markets`` random markets (``bench_solver.random_markets``: tariff
shocks, supply and demand shifts, random elasticities) get one tariff-rate quota each, on the
largest import flow of the market: in-quota rate its base tariff, out-of-quota rate 200 points
above, volume 70% of what flows at the in-quota rate (solved before the clock starts), so the
quota binds: its rate is solved for with the prices (docs/model.md, "Tariff-rate quotas").

Timed, interleaved (quota, floor, quota, ...), ``--repeat`` times, min and median printed:

- the quota solve: ``sim.solve_equilibrium`` with the quota arrays;
- the floor: ``sim.solve_equilibrium`` on the same markets with the rate the quota solve found
  as a plain tariff (the same equilibrium, no rate to solve for);

and the ratio quota / floor (target, issue 22: at most 2 at 50 regions). Also printed: how many
quotas bind, how many markets converged, and how far the quota solve's prices are from the floor's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_solver import random_markets

from sim import solve_equilibrium

TARGET_RATIO = 2.0
#: Volume as a share of the flow at the in-quota rate, and out-of-quota rate above the in-quota rate.
FILL, OUT_ABOVE = 0.7, 2.0


def quota_markets(rng, markets: int, regions: int):
    """Random markets with one binding quota each: (market arguments, quota keyword arguments)."""
    args = random_markets(rng, markets, regions)
    flows, base, new = args[0], args[1], args[2].copy()
    imports = np.where(np.eye(regions, dtype=bool), 0.0, flows)
    cell = np.unravel_index(imports.reshape(markets, -1).argmax(axis=1), (regions, regions))
    where = (np.arange(markets),) + cell
    new[where] = base[where]  # the in-quota rate: the base rate, so the quota's flow starts where it was
    at_in_rate = solve_equilibrium(flows, base, new, *args[3:])
    volume = np.full_like(flows, np.inf)
    low, high = np.zeros_like(flows), np.zeros_like(flows)
    volume[where] = FILL * flows[where] * at_in_rate.quantity[where]
    low[where] = base[where]
    high[where] = base[where] + OUT_ABOVE
    return (flows, base, new) + args[3:], {"quota_volume": volume, "quota_in": low, "quota_out": high}


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def compare(markets: int, regions: int, repeat: int, seed: int = 0) -> dict:
    """Quota solve and floor, interleaved ``repeat`` times: min and median of each, and what they found."""
    args, quota = quota_markets(np.random.default_rng(seed), markets, regions)
    solved = solve_equilibrium(*args, **quota)  # the solved rates make the floor's tariffs
    plain = (args[0], args[1], solved.tariffs) + args[3:]
    quota_times, floor_times = [], []
    for _ in range(repeat):
        t, sol = timed(solve_equilibrium, *args, **quota)
        quota_times.append(t)
        t, floor = timed(solve_equilibrium, *plain)
        floor_times.append(t)
    has = np.isfinite(quota["quota_volume"])
    rates = sol.tariffs[has]
    binding = int(((rates > quota["quota_in"][has]) & (rates < quota["quota_out"][has])).sum())
    return {"markets": markets, "regions": regions, "quota_min": min(quota_times),
            "quota_median": statistics.median(quota_times), "floor_min": min(floor_times),
            "floor_median": statistics.median(floor_times), "binding": binding,
            "converged": int(sol.converged.sum()), "floor_converged": int(floor.converged.sum()),
            "agree": float(np.abs(sol.producer_price - floor.producer_price).max()),
            "iterations": float(sol.iterations.mean()), "floor_iterations": float(floor.iterations.mean())}


def main(markets=500, regions=(8, 30, 50), repeat=5, seed=0):
    print(f"{markets} markets with one binding quota each against the same markets with the solved rate as a "
          f"plain tariff (the floor); {repeat} interleaved repetitions")
    rows = []
    for n in regions:
        r = compare(markets, n, repeat, seed)
        rows.append(r)
        ratio_min, ratio_median = r["quota_min"] / r["floor_min"], r["quota_median"] / r["floor_median"]
        target = f"; target <= {TARGET_RATIO:g}x: {'met' if ratio_min <= TARGET_RATIO else 'NOT met'}" \
            if n == 50 else ""
        print(f"  N = {n:>3}: quota min {r['quota_min']:.3f} s, median {r['quota_median']:.3f} s | floor min "
              f"{r['floor_min']:.3f} s, median {r['floor_median']:.3f} s | ratio {ratio_min:.2f}x (medians "
              f"{ratio_median:.2f}x){target}")
        print(f"          binding {r['binding']}/{markets}, converged {r['converged']}/{markets} (floor "
              f"{r['floor_converged']}), mean iterations {r['iterations']:.1f} (floor {r['floor_iterations']:.1f}), "
              f"prices agree to {r['agree']:.0e}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--regions", type=int, nargs="+", default=[8, 30, 50])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    main(opts.markets, tuple(opts.regions), opts.repeat, opts.seed)

"""Batched kernel versus scipy.optimize.root called market by market, in one run.

    python benchmarks/bench_solver.py [--markets 2000] [--regions 8] [--seed 0]

Both solve the same random markets (tariff shocks, supply and demand shifts,
random elasticities) to the same tolerance, max |ln demand − ln supply| <= 1e-10,
which is checked for both after the fact. The per-market alternative gets the
same log-price formulation and the same analytic Jacobian, so the ratio
measures batching, not a better algorithm.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import root

from sim import model
from sim.solver import TOLERANCE, _as_markets, solve_equilibrium


def random_markets(rng, m, n):
    """``m`` random markets of ``n`` regions: arguments for :func:`solve_equilibrium`."""
    flows = rng.lognormal(3.0, 1.5, (m, n, n))
    flows[rng.random((m, n, n)) < 0.2] = 0.0
    flows[:, np.arange(n), np.arange(n)] = rng.lognormal(5.0, 1.0, (m, n))
    base = rng.uniform(0.0, 0.2, (m, n, n))
    new = base + rng.uniform(0.0, 0.5, (m, n, n))
    sigma = rng.uniform(0.5, 10.0, m)
    eta = rng.uniform(-3.0, -0.1, m)
    eps = rng.uniform(0.1, 10.0, (m, n))
    supply = rng.uniform(-0.2, 0.3, (m, n))
    demand = rng.uniform(-0.2, 0.3, (m, n))
    return flows, base, new, sigma, eta, eps, supply, demand


def one_by_one(args):
    """scipy.optimize.root (hybr, analytic Jacobian) on each market in a Python loop."""
    flows, base, new, sigma, eta, eps, supply, demand = args
    m, n = eps.shape
    prices = np.ones((m, n))
    residuals = np.zeros(m)
    for k in range(m):
        market, _ = _as_markets(flows[k:k + 1], base[k:k + 1], new[k:k + 1], sigma[k:k + 1], eta[k:k + 1],
                                eps[k:k + 1], supply[k:k + 1], demand[k:k + 1])

        def fun(z, market=market):
            return model.evaluate(market, z[None]).residual[0]

        def jac(z, market=market):
            return model.jacobian(market, model.evaluate(market, z[None]))[0]

        found = root(fun, np.zeros(n), jac=jac, method="hybr", tol=1e-13)
        prices[k] = np.exp(found.x)
        residuals[k] = np.abs(fun(found.x)).max()
    return prices, residuals


def main(markets=2000, regions=8, seed=0, repeat=3):
    args = random_markets(np.random.default_rng(seed), markets, regions)

    batched_times = []
    for _ in range(repeat):
        start = time.perf_counter()
        sol = solve_equilibrium(*args)
        batched_times.append(time.perf_counter() - start)
    batched = min(batched_times)

    start = time.perf_counter()
    prices, residuals = one_by_one(args)
    loop = time.perf_counter() - start

    agree = np.abs(sol.producer_price - prices).max()
    print(f"{markets} markets x {regions} regions, tolerance {TOLERANCE:g} on |ln demand - ln supply|")
    print(f"  batched Newton (sim.solve_equilibrium): {batched:8.3f} s  (best of {repeat}); "
          f"converged {int(sol.converged.sum())}/{markets}, max residual {sol.max_residual.max():.1e}, "
          f"iterations max {sol.iterations.max()}")
    print(f"  scipy.optimize.root market by market:   {loop:8.3f} s  (one pass); "
          f"within tolerance {int((residuals <= TOLERANCE).sum())}/{markets}, max residual {residuals.max():.1e}")
    print(f"  largest price difference between the two: {agree:.1e}")
    print(f"  speed-up: {loop / batched:.1f}x")
    return loop / batched


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=2000)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    main(opts.markets, opts.regions, opts.seed)

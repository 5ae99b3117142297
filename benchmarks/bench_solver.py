"""Batching: the batched kernel against solving market by market, fairly, in one run.

    python benchmarks/bench_solver.py [--markets 2000] [--regions 8] [--sample 0] [--repeat 3] [--seed 0]

Three ways to solve the same random markets (tariff shocks, supply and demand
shifts, random elasticities):

- ``sim.solve_equilibrium`` on the whole batch;
- ``scipy.optimize.root`` (``hybr``, MINPACK's Powell hybrid) called market by
  market with the same log-price formulation and the same analytic Jacobian;
- ``sim.solve_equilibrium`` called market by market (batching alone, same algorithm).

What makes it fair:

- The same stopping rule. The batched solver stops when max |ln demand − ln supply|
  <= 1e-10. ``hybr`` stops on a relative step size instead, so it is given
  ``xtol = 1e-10``; where its residual is still above 1e-10 it is restarted from its
  answer with ``xtol = 1e-13`` (inside the timing). Afterwards every answer of every
  method is checked against the 1e-10 residual rule and the counts are printed.
- The same set-up outside the timing: the per-market inputs (scipy's
  ``sim.engine.equations.Markets`` and the per-market argument slices) are built before the clock starts.
- The same repetitions, interleaved (batched, scipy, per-market, batched, ...), with
  the minimum and the median of each printed.
- With ``--sample S`` the per-market methods solve only the first S markets and
  their time is scaled to all markets (stated in the output), for sizes where a
  full loop would take minutes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import root

from sim.engine import equations as model
from sim.engine.batch import as_batch
from sim.engine.exact import TOLERANCE, solve_equilibrium


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


def per_market_slices(args, count):
    """The arguments of each of the first ``count`` markets, each with a leading dimension of 1."""
    return [tuple(a[k:k + 1] for a in args) for k in range(count)]


def scipy_markets(args, count):
    """One ``sim.engine.equations.Markets`` per market, built before timing."""
    return [as_batch(*one).markets(0, 1) for one in per_market_slices(args, count)]


def _residual(z, market):
    return model.evaluate(market, z[None]).residual[0]


def _jacobian(z, market):
    return model.jacobian(market, model.evaluate(market, z[None]))[0]


def scipy_loop(markets):
    """``scipy.optimize.root`` (hybr, analytic Jacobian) on each prepared market; the stopping rule above."""
    n = markets[0].eps.shape[-1]
    prices = np.ones((len(markets), n))
    for k, market in enumerate(markets):
        found = root(_residual, np.zeros(n), args=(market,), jac=_jacobian, method="hybr",
                     options={"xtol": 1e-10})
        if np.abs(_residual(found.x, market)).max() > TOLERANCE:
            found = root(_residual, found.x, args=(market,), jac=_jacobian, method="hybr", options={"xtol": 1e-13})
        prices[k] = np.exp(found.x)
    return prices


def residuals_at(markets, prices):
    """max |ln demand − ln supply| of each market at ``prices``, by the exact evaluation."""
    return np.array([np.abs(_residual(np.log(p), m)).max() for m, p in zip(markets, prices)])


def one_by_one(args):
    """scipy's answer for every market of ``args`` and its residuals (for tests): (prices, residuals)."""
    markets = scipy_markets(args, len(args[0]))
    prices = scipy_loop(markets)
    return prices, residuals_at(markets, prices)


def ours_loop(slices):
    """``sim.solve_equilibrium`` called once per market."""
    return np.concatenate([solve_equilibrium(*one).producer_price for one in slices])


def _clock(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def _stats(times):
    return f"min {min(times):8.3f} s  median {statistics.median(times):8.3f} s"


def main(markets=2000, regions=8, seed=0, repeat=3, sample=0):
    args = random_markets(np.random.default_rng(seed), markets, regions)
    count = sample if 0 < sample < markets else markets
    scale = markets / count
    prepared = scipy_markets(args, count)
    slices = per_market_slices(args, count)

    batched_times, scipy_times, ours_times = [], [], []
    for _ in range(repeat):  # interleaved, so that a slow spell of the machine hits every method
        t, sol = _clock(solve_equilibrium, *args)
        batched_times.append(t)
        t, scipy_prices = _clock(scipy_loop, prepared)
        scipy_times.append(t * scale)
        t, our_prices = _clock(ours_loop, slices)
        ours_times.append(t * scale)

    scipy_residuals = residuals_at(prepared, scipy_prices)
    agree = max(np.abs(sol.producer_price[:count] - scipy_prices).max(), np.abs(sol.producer_price[:count]
                                                                                - our_prices).max())
    sampled = f" (first {count} markets, time x {scale:g})" if count < markets else ""
    print(f"{markets} markets x {regions} regions, stopping rule max |ln demand - ln supply| <= {TOLERANCE:g}, "
          f"{repeat} interleaved repetitions")
    print(f"  batched (sim.solve_equilibrium):          {_stats(batched_times)}; converged "
          f"{int(sol.converged.sum())}/{markets}, max residual {sol.max_residual.max():.1e}, "
          f"iterations max {sol.iterations.max()}")
    print(f"  scipy.optimize.root hybr, market by market{sampled}: {_stats(scipy_times)}; within tolerance "
          f"{int((scipy_residuals <= TOLERANCE).sum())}/{count}, max residual {scipy_residuals.max():.1e}")
    print(f"  sim.solve_equilibrium, market by market{sampled}: {_stats(ours_times)}")
    print(f"  largest price difference between the methods: {agree:.1e}")
    ratio = min(scipy_times) / min(batched_times)
    print(f"  speed-up of batching (min / min): {ratio:.1f}x against scipy hybr, "
          f"{min(ours_times) / min(batched_times):.1f}x against our own solver market by market; "
          f"medians: {statistics.median(scipy_times) / statistics.median(batched_times):.1f}x and "
          f"{statistics.median(ours_times) / statistics.median(batched_times):.1f}x")
    return ratio


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=2000)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=0, help="per-market methods on this many markets, scaled")
    opts = parser.parse_args()
    main(opts.markets, opts.regions, opts.seed, opts.repeat, opts.sample)

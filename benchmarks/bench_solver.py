"""Batching: the batched kernel against solving market by market, fairly, in one run.

    python benchmarks/bench_solver.py [--markets 2000] [--regions 8 20 50] [--sample 500] [--repeat 3] [--seed 0]

Four ways to solve the same random markets (tariff shocks, supply and demand
shifts, random elasticities), at each number of regions (default N = 8, 20 and 50: at 8
the per-call overhead of Python dominates a market-by-market loop, at 50 the arithmetic):

- ``sim.solve_equilibrium`` on the whole batch; it iterates on the FAST evaluation
  (``sim.engine.equations.fast_evaluate``: two matrix–vector products per market) and
  reports the residual of its results;
- ``scipy.optimize.root`` (``hybr``, MINPACK's Powell hybrid) called market by
  market with the same log-price formulation and the same analytic Jacobian, given the
  EXACT term-by-term evaluation (``evaluate`` and ``jacobian``, O(N²) exponentials a call);
- the same scipy loop given the FAST evaluation (``fast_evaluate`` and ``fast_jacobian``),
  what the batched solver iterates with, so the comparison does not hinge on the evaluation;
- ``sim.solve_equilibrium`` called market by market (batching alone, same algorithm).

What makes it fair:

- The same stopping rule. The batched solver stops when max |ln demand − ln supply|
  <= 1e-10. ``hybr`` stops on a relative step size instead, so it is given
  ``xtol = 1e-10``; where its residual (by the evaluation it was given) is still above 1e-10
  it is restarted from its answer with ``xtol = 1e-13`` (inside the timing). Afterwards every
  answer of every method is checked by the exact evaluation against the 1e-10 rule and the
  counts are printed.
- The same set-up outside the timing: the per-market inputs (scipy's
  ``sim.engine.equations.Markets`` and the per-market argument slices) are built before the clock starts.
- The same repetitions, interleaved (batched, scipy exact, scipy fast, per-market, batched, ...),
  with the minimum and the median of each printed.
- The per-market methods solve only the first ``--sample`` markets (default 500; 0 for all)
  and their time is scaled to all markets (stated in the output): the loops are linear in the
  markets, and a full loop at N = 50 would take minutes a repetition.
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


def _fast_residual(z, market):
    return model.fast_evaluate(market, z[None]).residual[0]


def _fast_jacobian(z, market):
    return model.fast_jacobian(market, model.fast_evaluate(market, z[None]))[0]


EVALUATIONS = {"exact": (_residual, _jacobian), "fast": (_fast_residual, _fast_jacobian)}


def scipy_loop(markets, evaluation="exact"):
    """``scipy.optimize.root`` (hybr, analytic Jacobian) on each prepared market; the stopping rule above.

    ``evaluation``: "exact" (term by term) or "fast" (the two matrix–vector products the batched solver uses).
    """
    residual, jacobian = EVALUATIONS[evaluation]
    n = markets[0].eps.shape[-1]
    prices = np.ones((len(markets), n))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # hybr's trial points may overflow
        for k, market in enumerate(markets):
            found = root(residual, np.zeros(n), args=(market,), jac=jacobian, method="hybr",
                         options={"xtol": 1e-10})
            if np.abs(residual(found.x, market)).max() > TOLERANCE:
                found = root(residual, found.x, args=(market,), jac=jacobian, method="hybr", options={"xtol": 1e-13})
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


def compare(markets, regions, seed=0, repeat=3, sample=500):
    """Time the four methods on ``markets`` random markets of ``regions`` regions, interleaved; print; return ratios."""
    args = random_markets(np.random.default_rng(seed), markets, regions)
    count = sample if 0 < sample < markets else markets
    scale = markets / count
    prepared = scipy_markets(args, count)
    slices = per_market_slices(args, count)

    times = {name: [] for name in ("batched", "exact", "fast", "ours")}
    prices = {}
    for _ in range(repeat):  # interleaved, so that a slow spell of the machine hits every method
        t, sol = _clock(solve_equilibrium, *args)
        times["batched"].append(t)
        for evaluation in ("exact", "fast"):
            t, prices[evaluation] = _clock(scipy_loop, prepared, evaluation)
            times[evaluation].append(t * scale)
        t, prices["ours"] = _clock(ours_loop, slices)
        times["ours"].append(t * scale)

    agree = max(np.abs(sol.producer_price[:count] - p).max() for p in prices.values())
    sampled = f" (first {count} markets, time x {scale:g})" if count < markets else ""
    print(f"{markets} markets x {regions} regions, stopping rule max |ln demand - ln supply| <= {TOLERANCE:g}, "
          f"{repeat} interleaved repetitions")
    print(f"  batched (sim.solve_equilibrium, iterates on the fast evaluation): {_stats(times['batched'])}; "
          f"converged {int(sol.converged.sum())}/{markets}, max residual {sol.max_residual.max():.1e}, "
          f"iterations max {sol.iterations.max()}")
    for evaluation in ("exact", "fast"):
        residuals = residuals_at(prepared, prices[evaluation])
        print(f"  scipy.optimize.root hybr on the {evaluation} evaluation, market by market{sampled}: "
              f"{_stats(times[evaluation])}; within tolerance {int((residuals <= TOLERANCE).sum())}/{count}, "
              f"max residual {residuals.max():.1e} (exact evaluation)")
    print(f"  sim.solve_equilibrium, market by market{sampled}: {_stats(times['ours'])}")
    print(f"  largest price difference between the methods: {agree:.1e}")
    ratios = {name: (min(times[name]) / min(times["batched"]),
                     statistics.median(times[name]) / statistics.median(times["batched"])) for name in times}
    print(f"  speed-up of batching, min / min (medians): {ratios['exact'][0]:.1f}x ({ratios['exact'][1]:.1f}x) "
          f"against scipy hybr on the exact evaluation, {ratios['fast'][0]:.1f}x ({ratios['fast'][1]:.1f}x) on the "
          f"fast one, {ratios['ours'][0]:.1f}x ({ratios['ours'][1]:.1f}x) against our own solver market by market")
    return ratios


def main(markets=2000, regions=(8, 20, 50), seed=0, repeat=3, sample=500):
    """:func:`compare` at each number of ``regions`` (an int or several); returns {regions: ratios}."""
    sizes = (regions,) if isinstance(regions, int) else tuple(regions)
    return {n: compare(markets, n, seed, repeat, sample) for n in sizes}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=2000)
    parser.add_argument("--regions", type=int, nargs="+", default=[8, 20, 50])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=500,
                        help="per-market methods on this many markets, time scaled to all (0: all)")
    opts = parser.parse_args()
    main(opts.markets, opts.regions, opts.seed, opts.repeat, opts.sample)

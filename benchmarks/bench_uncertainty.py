"""Monte Carlo of the flagship: every draw in one batch against a loop of single runs.

    python benchmarks/bench_uncertainty.py [--draws 1000] [--loop 100] [--repeat 3]

The batch is ``sim.run(flagship, draws=N)`` (draws × years × sectors solved together,
summaries on arrays). The plain alternative is what a user would otherwise write: one
``sim.run`` per draw with that draw's elasticities as ``[elasticities]`` overrides. The loop
is timed on ``--loop`` draws and scaled to ``--draws`` (it is linear in the draws);
both give the same numbers, which the script checks on the looped draws. Target (issue
11, this machine): the 1000-draw flagship in at most 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

import sim
from sim.errors import PlausibilityWarning
from sim.scenario import ElasticityOverride
from sim.uncertainty import draw_elasticities

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"


def batched(case, draws, seed):
    started = time.perf_counter()
    res = sim.run(case, draws=draws, seed=seed)
    return time.perf_counter() - started, res


def looped(case, spec, count):
    """``count`` single runs, one per draw, with the draw's elasticities as overrides: net welfare per draw."""
    ds = case.dataset
    sigma, eta, eps = draw_elasticities(spec, ds.sectors, case.shocks.sigma, case.shocks.eta, case.shocks.eps)
    started = time.perf_counter()
    out = []
    for d in range(count):
        overrides = tuple(ElasticityOverride(sector=s, sigma=float(sigma[d, k]), eta=float(eta[d, k]),
                                             eps={r: float(eps[d, k, n]) for n, r in enumerate(ds.regions)})
                          for k, s in enumerate(ds.sectors))
        with warnings.catch_warnings():  # a draw's short-run sigma may fall below |eta|: warned for a file only
            warnings.simplefilter("ignore", PlausibilityWarning)
            res = sim.run(case.replace(elasticities=overrides))
        out.append(res.frames.welfare["net_welfare"].groupby(level=["year", "region"], sort=False).sum())
    return time.perf_counter() - started, out


def main(draws=1000, loop=100, repeat=3, seed=7):
    case = sim.load_scenario(FLAGSHIP)
    batch_times, res = [], None
    for _ in range(repeat):
        seconds, res = batched(case, draws, seed)
        batch_times.append(seconds)
    spec = res.uncertainty.spec
    loop_seconds, per_draw = looped(case, spec, loop)
    mc = res.uncertainty.net_welfare["net_welfare"]
    worst = max(float(np.abs(mc.xs(d, level="draw").to_numpy() - per_draw[d].to_numpy()).max()) for d in range(loop))
    scaled = loop_seconds * draws / loop
    best, median = min(batch_times), statistics.median(batch_times)
    print(f"flagship Monte Carlo, {draws} draws x {len(case.shocks.years)} years x {len(case.dataset.sectors)} "
          f"sectors, seed {seed}")
    print(f"  one batch (sim.run(draws={draws})): min {best:.2f} s, median {median:.2f} s over {repeat} runs "
          f"(target: at most 2 s)")
    print(f"  loop of single runs: {loop_seconds:.2f} s for {loop} draws, scaled to {draws}: {scaled:.1f} s")
    print(f"  speed-up: {scaled / best:.0f}x (min), {scaled / median:.0f}x (median)")
    print(f"  largest difference in net welfare between the two on the looped draws: {worst:.2e} "
          f"{case.dataset.unit}")
    return best, scaled, worst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--loop", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    main(**vars(parser.parse_args()))

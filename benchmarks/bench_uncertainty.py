"""Monte Carlo: the flagship's draws in one batch against a loop of single runs; a large dataset in bounded memory.

    python benchmarks/bench_uncertainty.py [--draws 1000] [--loop 100] [--repeat 3]
    python benchmarks/bench_uncertainty.py --large [--draws 1000] [--repeat 1] [--data FOLDER]

The batch is ``sim.run(flagship, draws=N)`` (draws × years × sectors solved together,
summaries on arrays). The plain alternative is what a user would otherwise write: one
``sim.run`` per draw with that draw's elasticities as ``[elasticities]`` overrides. The loop
is timed on ``--loop`` draws and scaled to ``--draws`` (it is linear in the draws);
both give the same numbers, which the script checks on the looped draws. The two are
interleaved, ``--repeat`` times each. Target (issue 11, this machine): the 1000-draw flagship
in at most 2 s.

``--large`` runs the draws on the 50-region × 200-sector synthetic dataset of
``benchmarks/synthetic.py`` (written into ``--data``, default a folder under the system's
temporary directory, once), each run in a fresh process: wall time, the share of it outside
the solver (the summaries), peak resident memory, the blocks of sectors used, and the memory
one batch of every sector would need. Targets (issue 22): 1000 draws in at most 4 GiB, the
summaries at most 25% of the time.
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
    batch_times, loop_times, res = [], [], None
    for _ in range(repeat):  # interleaved, so both see the same machine
        seconds, res = batched(case, draws, seed)
        batch_times.append(seconds)
        loop_seconds, per_draw = looped(case, res.uncertainty.spec, loop)
        loop_times.append(loop_seconds)
    loop_seconds = statistics.median(loop_times)
    mc = res.uncertainty.net_welfare["net_welfare"]
    worst = max(float(np.abs(mc.xs(d, level="draw").to_numpy() - per_draw[d].to_numpy()).max()) for d in range(loop))
    scaled = loop_seconds * draws / loop
    best, median = min(batch_times), statistics.median(batch_times)
    print(f"flagship Monte Carlo, {draws} draws x {len(case.shocks.years)} years x {len(case.dataset.sectors)} "
          f"sectors, seed {seed}")
    print(f"  one batch (sim.run(draws={draws})): min {best:.2f} s, median {median:.2f} s over {repeat} runs "
          f"(target: at most 2 s)")
    print(f"  loop of single runs: median {loop_seconds:.2f} s (min {min(loop_times):.2f} s) for {loop} draws, "
          f"scaled to {draws}: {scaled:.1f} s")
    print(f"  speed-up: {scaled / best:.0f}x (min), {scaled / median:.0f}x (median)")
    print(f"  largest difference in net welfare between the two on the looped draws: {worst:.2e} "
          f"{case.dataset.unit}")
    return best, scaled, worst


LARGE_RUN = """
import json, resource, sys, time
import sim
from sim import runner, uncertainty
def timed(module, name):  # module.name replaced by a wrapper recording each call's seconds in the list returned
    seconds, real = [], getattr(module, name)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)
    setattr(module, name, wrapper)
    return seconds
solving = timed(uncertainty, "solve_with_elasticities")
drawing = timed(runner, "run_draws")
case = sim.load_scenario(sys.argv[1])
draws = int(sys.argv[2])
started = time.perf_counter()
res = sim.run(case, draws=draws, seed=1)
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"wall": wall, "solving": sum(solving), "drawing": sum(drawing), "peak_gib": peak,
                  "blocks": [len(b) for b in uncertainty.sector_blocks(case, draws)],
                  "one_batch_gib": uncertainty.one_batch_memory(case, draws) / 2**30,
                  "estimate_gib": uncertainty.memory_needed(case, draws) / 2**30,
                  "rows": len(res.uncertainty.summary)}))
"""


def large(draws=1000, repeat=1, data=None):
    """The draws on the 50 × 200 synthetic dataset, each run in a fresh process (peak memory is the process's)."""
    import json
    import subprocess
    import sys
    import tempfile

    from synthetic import write_large_dataset

    folder = Path(data) if data else Path(tempfile.gettempdir()) / "tradesim_synthetic_50x200"
    scenario = folder / "scenario.toml"
    if not scenario.is_file():
        write_large_dataset(folder)
    runs = [json.loads(subprocess.run([sys.executable, "-c", LARGE_RUN, str(scenario), str(draws)], check=True,
                                      capture_output=True, text=True).stdout) for _ in range(repeat)]
    walls = [r["wall"] for r in runs]
    shares = [1 - r["solving"] / r["drawing"] for r in runs]
    first = runs[0]
    print(f"Monte Carlo of {draws} draws on the 50 x 200 synthetic dataset ({folder}), {repeat} fresh process(es)")
    print(f"  blocks of sectors: {len(first['blocks'])} (sizes {sorted(set(first['blocks']))}); "
          f"summary rows {first['rows']:,}")
    print(f"  run (central + draws): min {min(walls):.1f} s, median {statistics.median(walls):.1f} s")
    draws_time = [r["drawing"] for r in runs]
    print(f"  the draws alone: min {min(draws_time):.1f} s, median {statistics.median(draws_time):.1f} s, of which "
          f"outside the solver (percent changes, statistics, the summary table): min {min(shares):.0%}, median "
          f"{statistics.median(shares):.0%} (target: at most 25%)")
    print(f"  peak resident memory: max {max(r['peak_gib'] for r in runs):.2f} GiB (target: at most 4 GiB); "
          f"estimate {first['estimate_gib']:.2f} GiB; one batch of every sector would need "
          f"{first['one_batch_gib']:.1f} GiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--loop", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=None, help="runs of each (default 3; 1 with --large)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--large", action="store_true", help="the 50 x 200 synthetic dataset instead of the flagship")
    parser.add_argument("--data", help="with --large: the folder of the synthetic dataset (written if missing)")
    args = parser.parse_args()
    if args.large:
        large(args.draws, args.repeat or 1, args.data)
    else:
        main(args.draws, args.loop, args.repeat or 3, args.seed)

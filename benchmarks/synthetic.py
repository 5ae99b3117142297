"""A large synthetic dataset for the benchmarks: ``regions`` × ``sectors`` with random flows and tariffs.

    python benchmarks/synthetic.py OUT [--regions 50] [--sectors 200] [--seed 0]

Written with :func:`sim.dataset.write_dataset`, like a dataset that ``tradesim dataset build``
makes from BACI at a modest concordance (issue 22's 50 × 200 case): every flow positive
(lognormal, home sales ten times an export), a tariff on a third of the routes, elasticities
drawn around the GSIM defaults. A scenario file raising the first region's tariffs on every
sector by 10 points is written beside it (``scenario.toml``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.dataset import write_dataset

SCENARIO = """name = "synthetic_tariff"
title = "R00 raises its tariffs on every sector by 10 points"
description = "Benchmark scenario on a synthetic dataset (benchmarks/synthetic.py); no real data."
dataset = "{dataset}"

[[tariff]]
sector = "*"
importer = "R00"
exporter = "*"
add = 0.10              # synthetic: a uniform 10-point rise, to move every market
"""


def write_large_dataset(folder: Path, regions: int = 50, sectors: int = 200, seed: int = 0) -> Path:
    """Write the dataset into ``folder`` and ``scenario.toml`` beside it; returns the scenario's path."""
    rng = np.random.default_rng(seed)
    codes = [f"R{n:02d}" for n in range(regions)]
    names = [f"S{k:03d}" for k in range(sectors)]
    meta = {"name": f"synthetic_{regions}x{sectors}", "title": "Synthetic benchmark dataset (random numbers)",
            "base_year": 2024, "unit": "USD million",
            "region": [{"code": c, "name": f"Region {c}"} for c in codes],
            "sector": [{"code": s, "name": f"Sector {s}", "sigma": float(rng.uniform(2, 6)),
                        "eta": float(-rng.uniform(0.5, 1.5)), "eps": float(rng.uniform(1, 5))} for s in names],
            "source": [{"id": "SYN", "title": "benchmarks/synthetic.py (random)", "url": ""}]}
    value = rng.lognormal(0.0, 1.0, (sectors, regions, regions))
    value[:, np.arange(regions), np.arange(regions)] *= 10.0
    flows = [(names[k], codes[i], codes[j], round(float(value[k, i, j]), 6), "assumed", "SYN", "")
             for k in range(sectors) for i in range(regions) for j in range(regions)]
    taxed = rng.random((sectors, regions, regions)) < 1 / 3
    rate = rng.uniform(0.0, 0.2, (sectors, regions, regions))
    tariffs = [(names[k], codes[i], codes[j], round(float(rate[k, i, j]), 4), "assumed", "SYN", "")
               for k, i, j in zip(*np.nonzero(taxed)) if i != j]
    folder = Path(folder)
    write_dataset(folder, meta, flows, tariffs)
    scenario = folder / "scenario.toml"
    scenario.write_text(SCENARIO.format(dataset=folder.resolve().as_posix()), encoding="utf-8")
    return scenario


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--sectors", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_large_dataset(args.out, args.regions, args.sectors, args.seed))


if __name__ == "__main__":
    main()

"""The large synthetic dataset of the benchmarks: ``regions`` × ``sectors``, built like a BACI dataset.

    python benchmarks/synthetic.py OUT [--regions 50] [--sectors 200] [--seed 22]

:func:`write_benchmark_dataset` writes, with :func:`sim.dataset.write_dataset`, what ``tradesim
dataset build`` makes from BACI at a modest concordance (issue 22's 50 × 200 case): seeded, so
the same bytes every time. :func:`write_large_dataset` adds a scenario file beside it
(``scenario.toml``: the first region raises its tariffs on every sector by 10 points), which
``bench_uncertainty.py --large`` runs. No real data: every number is drawn at random.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

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


BACI_NOTE = "BACI 2022: sum over the countries and HS6 products of the pair"
TARIFF_NOTE = "import-value-weighted average of applied HS6 rates (preferential over MFN)"


def write_benchmark_dataset(folder: Path, regions: int = 50, sectors: int = 200, density: float = 0.8,
                            seed: int = 22) -> Path:
    """Write a BACI-built-like dataset folder with :func:`sim.dataset.write_dataset`; the same bytes for a seed.

    Every region ships to itself (``derived`` from production less exports); each other pair trades
    with probability ``density`` (lognormal values, six decimals, as ``dataset build`` writes them) and
    pays a tariff of 0 to 25% where it trades.
    """
    from sim.dataset import write_dataset

    rng = np.random.default_rng(seed)
    region_codes = [f"R{r:02d}" for r in range(regions)]
    sector_codes = [f"s{k:03d}" for k in range(sectors)]
    trade = rng.random((sectors, regions, regions)) < density
    values = rng.lognormal(3.0, 2.0, trade.shape)
    rates = np.round(rng.uniform(0.0, 0.25, trade.shape), 4)
    output = values.sum(axis=2) * rng.uniform(1.5, 4.0, (sectors, regions))
    flows, tariffs = [], []
    for k, sector in enumerate(sector_codes):
        for i, exporter in enumerate(region_codes):
            exports = 0.0
            for j, importer in enumerate(region_codes):
                if i != j and trade[k, i, j]:
                    exports += values[k, i, j]
                    flows.append((sector, exporter, importer, values[k, i, j], "derived", "BACI", BACI_NOTE))
                    tariffs.append((sector, exporter, importer, rates[k, i, j], "derived", "TARIFFS", TARIFF_NOTE))
            flows.append((sector, exporter, exporter, output[k, i] - exports, "derived", "PRODUCTION",
                          f"output {output[k, i]:,.1f} (production file) less exports {exports:,.1f}"))
    meta = {"name": "bench", "title": f"bench: {regions} regions x {sectors} sectors", "base_year": 2022,
            "unit": "USD million",
            "region": [{"code": code, "name": f"Region {code}"} for code in region_codes],
            "sector": [{"code": code, "name": f"Sector {code}", "sigma": 4.0, "eta": -1.0, "eps": 3.0}
                       for code in sector_codes],
            "source": [{"id": "BACI", "title": "CEPII BACI (synthetic)"}, {"id": "PRODUCTION", "title": "output"},
                       {"id": "TARIFFS", "title": "applied tariffs"}]}
    write_dataset(folder, meta, flows, tariffs, decimals={"value": 6, "rate": 6})
    return Path(folder)


def write_large_dataset(folder: Path, regions: int = 50, sectors: int = 200, seed: int = 22) -> Path:
    """:func:`write_benchmark_dataset` into ``folder`` and ``scenario.toml`` beside it; returns the scenario's path."""
    folder = Path(folder)
    write_benchmark_dataset(folder, regions, sectors, seed=seed)
    scenario = folder / "scenario.toml"
    scenario.write_text(SCENARIO.format(dataset=folder.resolve().as_posix()), encoding="utf-8")
    return scenario


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--sectors", type=int, default=200)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    print(write_large_dataset(args.out, args.regions, args.sectors, args.seed))


if __name__ == "__main__":
    main()

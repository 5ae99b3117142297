"""Can the linked dataset be refitted to the 2018-21 Section 232 backtest? ``python validation/linked_refit.py``.

On ``us_japan_2024`` the steel composite demand elasticity (eta -1.0) and the US steel supply
elasticity (eps 0.8) were chosen together so that the backtest lands within the USITC's bands
(validate.py, fitted table). On ``us_japan_2024_linked`` eta applies to final demand only (11% of US
steel absorption; the rest is derived demand, which moves with the using sectors' output), so the
same evidence asks for other values. This script runs the backtest over a grid of the two
parameters on the linked dataset (sigma and every other elasticity as shipped) and marks the
pairs that land in all three bands. docs/validation.md shows the table (validate.py --write-docs).
"""

from __future__ import annotations

import warnings

import sim
from sim.errors import PlausibilityWarning
from sim.scenario import ElasticityOverride

ETAS = (-1.0, -2.0, -4.0, -8.0, -15.0)
EPSES = (0.4, 0.8, 1.5, 3.0)
#: The USITC's estimates and the bands the fitted table holds them to (validate.backtest).
BANDS = {"imports": (-30.0, -18.0), "price": (1.4, 3.4), "output": (0.9, 2.9)}


def on_linked(path, eta: float, eps: float):
    """The backtest scenario ``path`` on the linked dataset (validate.on_linked) with steel's final-demand eta and
    US eps set."""
    from validate import on_linked as linked

    case = linked(path)
    override = ElasticityOverride(sector="steel", eta=eta, eps={"USA": eps}, key="linked_refit")
    return case.replace(elasticities=tuple(case.scenario.elasticities) + (override,))


def backtest(eta: float, eps: float) -> dict[str, float]:
    """The regime's effect (% against no Section 232) on US steel imports, the US producer price and US output."""
    from validate import HERE, regime_effect

    with warnings.catch_warnings():  # eta beyond -5 is warned as implausible: that is the point of the grid
        warnings.simplefilter("ignore", PlausibilityWarning)
        runs = [sim.run(on_linked(HERE / name, eta, eps)) for name in ("s232_2018.toml", "s232_none.toml")]
    imports, prices = regime_effect(*runs)
    return {"imports": imports, "price": float(prices["producer_price_pct"]), "output": float(prices["output_pct"])}


def fits(row: dict[str, float]) -> bool:
    return all(low <= row[k] <= high for k, (low, high) in BANDS.items())


def grid(etas=ETAS, epses=EPSES) -> list[tuple[float, float, dict]]:
    return [(eta, eps, backtest(eta, eps)) for eta in etas for eps in epses]


def table(rows) -> str:
    lines = ["| steel final-demand η | US steel supply ε | US steel imports, % | US producer price, % | "
             "US output, % | within all three bands |", "|---:|---:|---:|---:|---:|:---|"]
    for eta, eps, row in rows:
        lines.append(f"| {eta:g} | {eps:g} | {row['imports']:.1f} | {row['price']:+.2f} | {row['output']:+.2f} | "
                     f"{'yes' if fits(row) else ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(table(grid()))

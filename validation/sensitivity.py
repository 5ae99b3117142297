"""Which calibration choices move the flagship most: ``python validation/sensitivity.py``.

Each row changes one choice of the ``us_japan_2024`` dataset or of the flagship scenario
(``scenarios/steel_tariff_with_investment.toml``), all else as shipped, and reports US
net welfare (all sectors, 2030, USD million) at a low and a high value. Rows are sorted
by the swing between the two. The table is copied into the dataset README
(``data/us_japan_2024/DATASET_README.md``), and ``tests/test_validation.py`` checks that
the copy matches a fresh run.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import sim
from sim.errors import PlausibilityWarning

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"
YEAR = 2030


def _us_net(case) -> float:
    return float(sim.run(case).welfare_by_region(YEAR).loc["USA", "net_welfare"])


def _vary(vary, case, value):
    """A variant's case: one at the end of its range may take the first year's σ below |η|, which is warned
    about for a scenario file; here the variant is deliberate, and the table reports 2030."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        return vary(case, value)


def _steel(case, **values):
    return case.replace(elasticities=(sim.ElasticityOverride(sector="steel", **values),))


def _mill(case, factor):
    mill = case.scenario.investments[0]
    return case.replace(investments=(replace(mill, capacity=mill.capacity * factor),))


#: (choice, shipped value, low, high, the case at a value)
CHOICES = [
    ("steel Armington elasticity σ", "2.95 (GTAP 10 ESUBD)", "1.5", "5.9 (GTAP ESUBM)",
     lambda c, v: _steel(c, sigma=v), 1.5, 5.9),
    ("steel composite demand elasticity η", "−1.0 (calibrated)", "−0.6", "−1.5",
     lambda c, v: _steel(c, eta=v), -0.6, -1.5),
    ("US steel supply elasticity ε", "0.8 (calibrated)", "0.4", "2.0",
     lambda c, v: _steel(c, eps={"USA": v, "*": 20.0}), 0.4, 2.0),
    ("foreign steel supply elasticity ε", "20 (calibrated)", "5", "∞",
     lambda c, v: _steel(c, eps={"USA": 0.8, "*": v}), 5.0, float("inf")),
    ("new mill's output", "3 Mt × 0.77 utilisation", "× 0.5", "× 1.3 (full capacity)",
     _mill, 0.5, 1.0 / 0.77),
]


def rows() -> list[tuple]:
    case = sim.load_scenario(FLAGSHIP)
    shipped = _us_net(case)
    out = []
    for name, value, low_text, high_text, vary, low, high in CHOICES:
        at_low, at_high = _us_net(_vary(vary, case, low)), _us_net(_vary(vary, case, high))
        out.append((name, value, low_text, at_low, high_text, at_high, abs(at_high - at_low)))
    return shipped, sorted(out, key=lambda r: -r[-1])


def table() -> str:
    shipped, found = rows()
    lines = [f"US net welfare, all sectors, {YEAR}, as shipped: {shipped:,.0f} USD million.".replace("-", "−"), "",
             "| choice | shipped | low | US net welfare | high | US net welfare | swing |",
             "|---|---|---|---:|---|---:|---:|"]
    for name, value, low_text, at_low, high_text, at_high, swing in found:
        lines.append(f"| {name} | {value} | {low_text} | {at_low:,.0f} | {high_text} | {at_high:,.0f} | {swing:,.0f} |"
                     .replace("-", "−"))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())

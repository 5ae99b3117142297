"""Golden results for every shipped scenario, and an independent cross-check of the exact solution."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import root

import sim

from .golden.make_golden import golden_table

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_matches_its_golden_result(path):
    golden = ROOT / "tests" / "golden" / f"{path.stem}.csv"
    assert golden.is_file(), f"no golden result for {path.name}: run tests/golden/make_golden.py"
    expected = pd.read_csv(golden)
    actual = golden_table(sim.run(path))
    assert list(actual.columns) == list(expected.columns)
    assert actual[["year", "sector", "region"]].astype(str).equals(expected[["year", "sector", "region"]].astype(str))
    numeric = [c for c in expected.columns if c not in ("year", "sector", "region")]
    scale = expected[numeric].abs().to_numpy().max()
    assert_allclose(actual[numeric].to_numpy(), expected[numeric].to_numpy(), rtol=1e-8, atol=1e-9 * scale)


def levels_residual(prices, flows, t0, t1, sigma, eta, eps, s, d):
    """Market clearing written in levels, from docs/model.md "Equations", independent of sim.engine."""
    n = len(prices)
    spend = (1 + t0) * flows
    expenditure = spend.sum(axis=0)
    out = np.zeros(n)
    p_index = np.ones(n)
    for j in range(n):
        if expenditure[j] > 0:
            theta = spend[:, j] / expenditure[j]
            delivered = (1 + t1[:, j]) / (1 + t0[:, j]) * prices
            p_index[j] = (theta @ delivered ** (1 - sigma)) ** (1 / (1 - sigma))
    for i in range(n):
        demand = sum(flows[i, j] * (1 + d[j]) * p_index[j] ** eta
                     * ((1 + t1[i, j]) / (1 + t0[i, j]) * prices[i] / p_index[j]) ** -sigma
                     for j in range(n) if flows[i, j] > 0)
        out[i] = demand / (flows[i].sum() * (1 + s[i]) * prices[i] ** eps[i]) - 1
    return out


def test_example_scenario_agrees_with_an_independent_levels_solve():
    res = sim.run(ROOT / "scenarios" / "example_steel_tariff.toml")
    ds, sh = res.dataset, res.shocks
    for y in range(len(sh.years)):
        for k in range(len(ds.sectors)):
            args = (ds.flows[k], ds.tariffs[k], sh.new_tariffs[y, k], sh.sigma[k], sh.eta[k], sh.eps[k],
                    sh.supply_shift[y, k], sh.demand_shift[y, k])
            found = root(levels_residual, np.ones(len(ds.regions)), args=args, tol=1e-13)
            assert np.abs(levels_residual(found.x, *args)).max() < 1e-12
            assert_allclose(res.solution.producer_price[y, k], found.x, rtol=1e-9)

"""Golden results for every shipped scenario, and an independent cross-check of the exact solution."""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import root

import sim

from .golden.make_golden import golden_table, write_golden

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_matches_its_golden_result(path):
    golden = ROOT / "tests" / "golden" / f"{path.stem}.csv"
    assert golden.is_file(), f"no golden result for {path.name}: run tests/golden/make_golden.py"
    assert_matches_golden(golden_table(sim.run(path)), golden)


def actual_path(golden: Path) -> Path:
    """Where the actual results go beside an expected file they do not match: ``<name>.actual.csv``."""
    return golden.with_name(f"{golden.stem}.actual.csv")


def assert_matches_golden(actual: pd.DataFrame, golden: Path) -> None:
    """Compare a golden table with its expected file; on a mismatch write ``<name>.actual.csv`` beside it.

    As Tax-Calculator's reform tests do: a reviewer diffs the two files. The actual file is written as the
    golden files are (``make_golden.write_golden``) and ignored by git; a match removes a stale one.
    """
    expected = pd.read_csv(golden)
    written = actual_path(golden)
    try:
        assert list(actual.columns) == list(expected.columns)
        labels = ["year", "sector", "region"]
        assert actual[labels].astype(str).equals(expected[labels].astype(str))
        numeric = [c for c in expected.columns if c not in labels]
        scale = expected[numeric].abs().to_numpy().max()
        assert_allclose(actual[numeric].to_numpy(), expected[numeric].to_numpy(), rtol=1e-8, atol=1e-9 * scale)
    except Exception as mismatch:  # numbers, labels, or a column that no longer parses as numbers
        write_golden(actual, written)
        raise AssertionError(f"the results differ from {golden.name}; wrote them to {written} "
                             f"(diff the two files; after a deliberate change run tests/golden/make_golden.py)"
                             f"\n{mismatch}") from None
    written.unlink(missing_ok=True)


def test_a_mismatch_writes_the_actual_results_beside_the_expected_file(tmp_path):
    source = ROOT / "tests" / "golden" / "example_steel_tariff.csv"
    actual = pd.read_csv(source)
    golden = tmp_path / source.name
    changed = actual.copy()
    changed.loc[3, "net_welfare"] *= 1 + 1e-6
    write_golden(changed, golden)
    with pytest.raises(AssertionError, match=f"differ from example_steel_tariff.csv; wrote them to "
                                             f"{re.escape(str(actual_path(golden)))}"):
        assert_matches_golden(actual, golden)
    assert pd.read_csv(actual_path(golden)).equals(pd.read_csv(source))  # the actual numbers, as golden files are
    write_golden(actual, golden)
    assert_matches_golden(actual, golden)  # a match removes the stale file
    assert not actual_path(golden).exists()


def levels_index_and_volumes(prices, flows, t0, t1, sigma, eta, d):
    """``P̂[j]`` and ``q̂[i,j]`` in levels, straight from docs/model.md "Equations", independent of sim.engine.

    An importer with no expenditure has ``P̂ = 1``; ``q̂`` is only used multiplied by ``V``.
    """
    spend = (1 + t0) * flows
    expenditure = spend.sum(axis=0)
    delivered = (1 + t1) / (1 + t0) * prices[:, None]  # T̂[i,j] p̂[i]
    theta = np.divide(spend, expenditure, out=np.zeros_like(spend), where=expenditure > 0)
    p_index = np.where(expenditure > 0, (theta * delivered ** (1 - sigma)).sum(axis=0) ** (1 / (1 - sigma)), 1.0)
    volumes = (1 + d) * p_index ** eta * (delivered / p_index) ** -sigma
    return p_index, volumes


def levels_residual(prices, flows, t0, t1, sigma, eta, eps, s, d):
    """Market clearing written in levels, from docs/model.md "Equations", independent of sim.engine."""
    _, volumes = levels_index_and_volumes(prices, flows, t0, t1, sigma, eta, d)
    demand = (flows * volumes).sum(axis=1)
    return demand / (flows.sum(axis=1) * (1 + s) * prices ** eps) - 1


@dataclass(frozen=True)
class LevelsMarket:
    """One sector in one period of a run, as plain arrays (docs/model.md, "Equations"; ``N`` regions)."""

    flows: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    sigma: float
    eta: float
    eps: np.ndarray
    s: np.ndarray
    d: np.ndarray


@dataclass(frozen=True)
class QuotaCell:
    """A tariff-rate quota on the flow ``exporter → importer`` (docs/model.md, "Tariff-rate quotas")."""

    exporter: int
    importer: int
    volume: float
    in_rate: float
    out_rate: float
    to_exporter: bool

    def holder(self) -> int:
        return self.exporter if self.to_exporter else self.importer


def quota_cells(quotas, k: int) -> list[QuotaCell]:
    """The quotas of sector ``k`` in arrays of shape (K, N, N) (a scenario period's or the dataset's)."""
    if quotas is None:
        return []
    return [QuotaCell(i, j, quotas.volume[k, i, j], quotas.in_rate[k, i, j], quotas.out_rate[k, i, j],
                      bool(quotas.to_exporter[k, i, j])) for i, j in zip(*np.nonzero(np.isfinite(quotas.volume[k])))]


def mid(low, x, high):
    return max(low, min(x, high))


def trq_levels_system(x, market: LevelsMarket, cells: list[QuotaCell]):
    """Clearing in levels plus, per quota, its complementarity condition ``τ − mid(in, τ + fill − 1, out) = 0``.

    ``x`` is ``p̂`` (N) then each quota's rate ``τ``; ``fill = V q̂ / Q``. The mid form holds exactly when
    ``τ = in`` and ``fill <= 1``, ``in < τ < out`` and ``fill = 1``, or ``τ = out`` and ``fill >= 1``.
    """
    n = len(market.flows)
    prices, t1 = x[:n], with_rates(market.t1, cells, x[n:])
    args = (market.flows, market.t0, t1, market.sigma, market.eta)
    clearing = levels_residual(prices, *args, market.eps, market.s, market.d)
    _, volumes = levels_index_and_volumes(prices, *args, market.d)
    conditions = [tau - mid(c.in_rate, tau + market.flows[c.exporter, c.importer] * volumes[c.exporter, c.importer]
                            / c.volume - 1, c.out_rate) for c, tau in zip(cells, x[n:])]
    return np.concatenate([clearing, conditions])


def with_rates(rates, cells, taus):
    rates = rates.copy()
    for c, tau in zip(cells, taus):
        rates[c.exporter, c.importer] = tau
    return rates


def revenue_and_rent(volume, prices, rates, cells):
    """Tariff revenue by importer and quota rent by holder (N each) of flow volumes ``V q̂`` at ``p̂``.

    docs/model.md, "Welfare": ``TR[j] = Σ_i t[i,j] V1[i,j]``; "Tariff-rate quotas": on a quota flow the in-quota
    volume pays ``in_rate`` and the volume beyond ``Q`` pays ``out_rate``; the rent ``(τ − in_rate) p̂ × in-quota
    volume`` goes to the holder. Below the out rate the flow is within the quota (to rounding): all in-quota.
    """
    values = rates * volume * prices[:, None]
    revenue, rent = values.sum(axis=0), np.zeros(len(prices))
    for c in cells:
        sold, tau, price = volume[c.exporter, c.importer], rates[c.exporter, c.importer], prices[c.exporter]
        inside = sold if tau < c.out_rate else min(sold, c.volume)
        beyond = (sold - inside) * c.out_rate if sold > inside else 0.0
        revenue[c.importer] += (c.in_rate * inside + beyond) * price - values[c.exporter, c.importer]
        rent[c.holder()] += (tau - c.in_rate) * inside * price
    return revenue, rent


def levels_welfare(market: LevelsMarket, prices, t1, cells, base_cells) -> dict:
    """docs/model.md, "Welfare", per region: ΔCS, ΔPS, ΔTR, the change in quota rents received, and W.

    The base values are the base data under the quotas in force in the base year (``base_cells``).
    """
    p_index, volumes = levels_index_and_volumes(prices, market.flows, market.t0, t1, market.sigma, market.eta,
                                                market.d)
    expenditure, output = ((1 + market.t0) * market.flows).sum(axis=0), market.flows.sum(axis=1)
    if market.eta == -1:
        cs = -(1 + market.d) * expenditure * np.log(p_index)
    else:
        cs = -(1 + market.d) * expenditure * (p_index ** (1 + market.eta) - 1) / (1 + market.eta)
    ps = output * ((1 + market.s) * prices ** (1 + market.eps) - 1) / (1 + market.eps)
    revenue, rent = revenue_and_rent(market.flows * volumes, prices, t1, cells)
    base_revenue, base_rent = revenue_and_rent(market.flows, np.ones_like(prices), market.t0, base_cells)
    parts = {"consumer_surplus": cs, "producer_surplus": ps, "tariff_revenue": revenue - base_revenue,
             "quota_rent": rent - base_rent}
    return parts | {"net_welfare": sum(parts.values())}


def solve_levels(market: LevelsMarket, cells: list[QuotaCell]):
    """``p̂`` (N) and the quota rates with scipy's ``root`` on the levels system, from ``p̂ = 1`` and each
    quota's rate halfway between its rates (its in-quota rate plus 0.5 for an absolute quota)."""
    n = len(market.flows)
    start = [c.in_rate + (0.5 if np.isinf(c.out_rate) else (c.out_rate - c.in_rate) / 2) for c in cells]
    found = root(trq_levels_system, np.concatenate([np.ones(n), start]), args=(market, cells), tol=1e-14)
    assert np.abs(trq_levels_system(found.x, market, cells)).max() < 1e-12, found.message
    return found.x[:n], found.x[n:]


@pytest.mark.parametrize("name", ["example_steel_tariff", "japan_steel_trq_restored"])
def test_prices_and_welfare_agree_with_an_independent_levels_solve(name):
    """Every sector and period: producer prices, quota rates and the welfare table (ΔCS, ΔPS, ΔTR, quota rents,
    net welfare by region) against the levels system solved with scipy and accounted here from docs/model.md.

    ``japan_steel_trq_restored`` has a binding tariff-rate quota (Japan → US steel, 0% / 50%) and ends the
    dataset's base-year quotas, one of them over-filled (the EU's), so its welfare rests on the quota accounting.
    Tolerances: prices and rates 1e-9 relative (the solver's 1e-10 in logs); welfare 1e-8 relative, or 1e-10 of
    the sector's base expenditure absolute (what a price off by the solver's tolerance moves a surplus by; a
    number near 0 has no relative precision). Measured: prices within 9e-16 relative, welfare within 4.4e-16 of
    the expenditure and 9e-12 relative.
    """
    res = sim.run(ROOT / "scenarios" / f"{name}.toml")
    ds, sh = res.dataset, res.shocks
    binding = 0
    for y, year in enumerate(sh.years):
        new_quotas = None if sh.quotas is None else sh.quotas.period(y)
        for k, sector in enumerate(ds.sectors):
            market = LevelsMarket(ds.flows[k], ds.tariffs[k], sh.new_tariffs[y, k], sh.sigma[k], sh.eta[k],
                                  sh.eps[k], sh.supply_shift[y, k], sh.demand_shift[y, k])
            cells = [c for c in quota_cells(new_quotas, k) if market.flows[c.exporter, c.importer] > 0]
            prices, rates = solve_levels(market, cells)
            assert_allclose(res.solution.producer_price[y, k], prices, rtol=1e-9)
            for c, tau in zip(cells, rates):
                assert_allclose(res.solution.tariffs[y, k, c.exporter, c.importer], tau, rtol=1e-9)
                binding += c.in_rate < tau < c.out_rate
            expected = levels_welfare(market, prices, with_rates(market.t1, cells, rates), cells,
                                      quota_cells(ds.quotas, k))
            table = res.welfare[(res.welfare["year"].astype(str) == str(year)) & (res.welfare["sector"] == sector)]
            table = table.set_index("region").loc[list(ds.regions)]
            expenditure = ((1 + market.t0) * market.flows).sum()
            for column, values in expected.items():
                assert_allclose(table[column].to_numpy(), values, rtol=1e-8, atol=1e-10 * expenditure,
                                err_msg=f"{name} {year} {sector} {column}")
    assert binding == (name == "japan_steel_trq_restored")

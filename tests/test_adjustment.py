"""Short-run adjustment (docs/model.md, "Short-run adjustment"): elasticities that grow to their long run."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import sim
from sim.adjustment import Adjustment, first_shocked_year, multipliers
from sim.engine import Vary, solve
from sim.errors import PlausibilityWarning

from .golden.make_golden import golden_table
from .test_golden import assert_matches_golden

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "sim" / "datasets" / "us_japan_2024"
FLAGSHIP = ROOT / "scenarios" / "steel_tariff_with_investment.toml"


def dataset_without_new_files(tmp_path) -> Path:
    """A copy of the shipped dataset without the files issue 19 added."""
    folder = tmp_path / "us_japan_2024"
    shutil.copytree(SHIPPED, folder)
    for name in ("adjustment.csv", "ownership.csv"):
        (folder / name).unlink()
    return folder


def scenario_on(tmp_path, source: Path, dataset: Path, extra: str = "") -> Path:
    text = source.read_text(encoding="utf-8").replace('dataset = "us_japan_2024"', f'dataset = "{dataset}"')
    path = tmp_path / source.name
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_the_path_is_the_stated_formula():
    rules = [Adjustment("*", "sigma", "*", 0.38, 2.5), Adjustment("steel", "eps", "USA", 0.5, 2.0)]
    years = [2024, 2025, 2026, 2030]
    first = np.array([2025, 2027])  # steel shocked from 2025, autos from 2027
    f = multipliers(rules, ("steel", "autos"), ("USA", "JPN"), years, first)
    expected_steel = [1.0, 0.38, 1 - 0.62 * 0.5 ** (1 / 2.5), 1 - 0.62 * 0.5 ** (5 / 2.5)]
    assert_allclose(f["sigma"][:, 0], expected_steel, rtol=1e-14)
    assert_allclose(f["sigma"][:, 1], [1.0, 1.0, 1.0, 1 - 0.62 * 0.5 ** (3 / 2.5)], rtol=1e-14)
    assert_allclose(f["eps"][:, 0, 0], [1.0, 0.5, 1 - 0.5 * 0.5 ** 0.5, 1 - 0.5 * 0.5 ** 2.5], rtol=1e-14)
    assert (f["eps"][:, :, 1] == 1).all() and (f["eta"] == 1).all()  # Japan's supply and every eta: no rule
    static = multipliers(rules, ("steel", "autos"), ("USA", "JPN"), None, first)
    assert all((v == 1).all() for v in static.values())


def test_the_first_shocked_year_is_the_sectors_own():
    base = np.zeros((2, 2, 2))
    new = np.zeros((3, 2, 2, 2))
    new[1:, 0, 1, 0] = 0.25  # steel from the second year
    supply = np.zeros((3, 2, 2))
    supply[2, 1, 0] = 0.1  # autos from the third
    first = first_shocked_year([2025, 2026, 2027], new, base, supply, np.zeros((3, 2, 2)))
    assert list(first) == [2026, 2027]


def test_the_shipped_path_scales_sigma_and_us_supply_and_keeps_infinity():
    case = sim.load_scenario(FLAGSHIP)
    e = case.shocks.elasticities()
    steel, usa = case.dataset.sector_index("steel"), case.dataset.region_index("USA")
    assert_allclose(e["sigma"][:, steel] / case.shocks.sigma[steel],
                    [1 - 0.62 * 0.5 ** (t / 2.5) for t in range(6)], rtol=1e-12)  # shocked from 2025
    assert_allclose(e["eps"][0, steel, usa], 0.8 * 0.5)
    assert_allclose(e["eps"][0, steel, case.dataset.region_index("JPN")], 20.0)  # foreign supply: no rule
    assert_allclose(e["eta"], np.broadcast_to(case.shocks.eta, e["eta"].shape))
    static = sim.load_scenario(ROOT / "scenarios" / "steel_50pct_2025.toml")
    assert static.shocks.adjustment is None  # a static scenario is the long run


def test_infinite_supply_stays_infinite():
    f = multipliers([Adjustment("*", "eps", "*", 0.5, 1.0)], ("s",), ("A", "B"), [2025], np.array([2025]))
    from sim.adjustment import scale

    assert_allclose(scale(np.array([[np.inf, 4.0]]), f["eps"]), [[[np.inf, 2.0]]])


def test_a_short_run_of_one_gives_todays_numbers(tmp_path):
    folder = dataset_without_new_files(tmp_path)
    today = sim.run(scenario_on(tmp_path, FLAGSHIP, folder))
    ones = "".join(f'\n[[adjustment]]\nsector = "*"\nparameter = "{p}"\nshort_run = 1.0\nhalf_life_years = 2\n'
                   for p in ("sigma", "eta", "eps"))
    (tmp_path / "ones").mkdir()
    with_ones = sim.run(scenario_on(tmp_path / "ones", FLAGSHIP, folder, ones))
    pd.testing.assert_frame_equal(today.welfare, with_ones.welfare, check_exact=True)
    pd.testing.assert_frame_equal(today.prices, with_ones.prices, check_exact=True)


WITHOUT_NEW_FILES = ROOT / "tests" / "golden" / "without_new_files"


@pytest.mark.parametrize("stem", sorted(p.stem for p in WITHOUT_NEW_FILES.glob("*.csv")))
def test_without_the_new_dataset_files_the_dated_scenarios_give_the_old_numbers(tmp_path, stem):
    """The golden results of before short-run adjustment, kept in tests/golden/without_new_files/."""
    folder = dataset_without_new_files(tmp_path)
    res = sim.run(scenario_on(tmp_path, ROOT / "scenarios" / f"{stem}.toml", folder))
    assert_matches_golden(golden_table(res), WITHOUT_NEW_FILES / f"{stem}.csv")


def test_the_shipped_short_run_moves_the_first_year_and_converges_to_the_long_run():
    res = sim.run(FLAGSHIP)
    steel = res.prices[(res.prices.sector == "steel") & (res.prices.region == "USA")].set_index("year")
    long_run = sim.run(ROOT / "scenarios" / "steel_50pct_2025.toml").prices
    long_us = long_run[(long_run.sector == "steel") & (long_run.region == "USA")].iloc[0]
    # US output responds less in the first full year at 50% (2026) than in the long run, more each year after
    assert steel.loc[2026, "output_pct"] < steel.loc[2027, "output_pct"] < steel.loc[2028, "output_pct"]
    assert steel.loc[2028, "output_pct"] < long_us.output_pct


def test_monte_carlo_draws_follow_the_path():
    case = sim.load_scenario(FLAGSHIP)
    central = solve(case)
    s = case.shocks
    same = solve(case, vary=Vary(sigma=s.sigma[None], eta=s.eta[None], eps=s.eps[None]))
    assert_allclose(same.producer_price[0], central.producer_price, rtol=1e-12)
    one_year = solve(case, vary=Vary(sigma=s.sigma[None], period=0, new_tariffs=s.new_tariffs[:1]))
    assert_allclose(one_year.producer_price[0], central.producer_price[0], rtol=1e-12)


def test_run_json_records_each_years_elasticities(tmp_path):
    res = sim.run(FLAGSHIP)
    res.write(tmp_path / "out", plots=False)
    record = json.loads((tmp_path / "out" / "run.json").read_text())["scenarios"][0]
    first = record["elasticities_by_year"][0]
    assert first["year"] == 2025
    assert first["sectors"]["steel"]["sigma"] == pytest.approx(0.38 * 2.95)
    assert first["sectors"]["steel"]["eps"]["USA"] == pytest.approx(0.4)


def test_a_short_run_sigma_below_eta_is_warned_about(tmp_path):
    extra = '\n[[adjustment]]\nsector = "steel"\nparameter = "sigma"\nshort_run = 0.2\nhalf_life_years = 2\n'
    path = scenario_on(tmp_path, FLAGSHIP, SHIPPED, extra)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.load_scenario(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    assert any("steel: the short-run sigma 0.59 in 2025 is below |eta| 1" in m for m in messages), messages


@pytest.mark.parametrize("row, message", [
    ("steel,sigma,,0,2,derived,D2,x", "line 2: short_run must be a number in (0, 1]"),
    ("steel,sigma,,1.5,2,derived,D2,x", "line 2: short_run must be a number in (0, 1]"),
    ("steel,sigma,,0.5,0,derived,D2,x", "line 2: half_life_years must be a number > 0 (years), got '0'"),
    ("steel,sigma,USA,0.5,2,derived,D2,x", "line 2: sigma is one value per sector: give no region"),
    ("steel,theta,,0.5,2,derived,D2,x", "line 2: parameter must be one of sigma, eta, eps, got 'theta'"),
    ("steal,sigma,,0.5,2,derived,D2,x", "line 2: unknown sector 'steal'"),
    ("steel,eps,JAP,0.5,2,derived,D2,x", "line 2: unknown region 'JAP'"),
])
def test_a_bad_adjustment_row_gets_one_clear_message(tmp_path, row, message):
    folder = tmp_path / "ds"
    shutil.copytree(SHIPPED, folder)
    (folder / "adjustment.csv").write_text(
        "sector,parameter,region,short_run,half_life_years,basis,source,note\n" + row + "\n")
    with pytest.raises(sim.InputError) as err:
        sim.load_dataset(folder)
    assert len(err.value.problems) == 1 and message in str(err.value), str(err.value)
    assert "adjustment.csv" in str(err.value)


@pytest.mark.parametrize("block, message", [
    ('sector = "steel"\nparameter = "sigma"\nshort_run = 0\nhalf_life_years = 2', "adjustment[1].short_run"),
    ('sector = "steel"\nparameter = "eps"\nshort_run = 0.5\nhalf_life_years = -1', "adjustment[1].half_life_years"),
    ('sector = "steel"\nparameter = "eta"\nregion = "USA"\nshort_run = 0.5\nhalf_life_years = 1',
     "adjustment[1].region"),
    ('sector = "stel"\nparameter = "sigma"\nshort_run = 0.5\nhalf_life_years = 1',
     "adjustment[1].sector: unknown sector"),
])
def test_a_bad_adjustment_block_gets_one_clear_message(tmp_path, block, message):
    path = scenario_on(tmp_path, FLAGSHIP, SHIPPED, "\n[[adjustment]]\n" + block + "\n")
    with pytest.raises(sim.InputError) as err:
        sim.load_scenario(path)
    assert len(err.value.problems) == 1 and message in str(err.value), str(err.value)


def test_a_scenario_rule_replaces_the_datasets(tmp_path):
    extra = '\n[[adjustment]]\nsector = "*"\nparameter = "sigma"\nshort_run = 1.0\nhalf_life_years = 1\n'
    case = sim.load_scenario(scenario_on(tmp_path, FLAGSHIP, SHIPPED, extra))
    e = case.shocks.elasticities()
    assert_allclose(e["sigma"], np.broadcast_to(case.shocks.sigma, e["sigma"].shape))
    assert e["eps"][0, case.dataset.sector_index("steel"), case.dataset.region_index("USA")] == pytest.approx(0.4)


def test_the_new_capacitys_surplus_uses_each_years_short_run_supply():
    """docs/model.md, "Ownership": X s p^(1+eps) / (1+eps) with the year's eps, as the kernel's producer surplus."""
    res = sim.run(FLAGSHIP)
    case = res.case
    eps = case.shocks.elasticities()["eps"]
    k, h = case.dataset.sector_index("steel"), case.dataset.region_index("USA")
    assert eps[4, k, h] != case.shocks.eps[k, h]  # 2029: still on the path
    output = case.dataset.flows[k, h].sum()
    mill = res.frames.investments.xs(2029, level="year")["new_capacity_surplus"].iloc[0]
    p, s = res.solution.producer_price[4, k, h], case.shocks.supply_shift[4, k, h]
    assert mill == pytest.approx(output * s * p ** (1 + eps[4, k, h]) / (1 + eps[4, k, h]), rel=1e-12)


def test_the_run_summary_says_which_elasticities_are_short_run():
    from sim.summary import adjustment_line, run_summary

    text = run_summary(sim.run(FLAGSHIP), year=2025)
    assert "Short-run elasticities in 2025, as shares of the long run" in text
    assert "steel sigma x0.38, steel eps USA x0.50." in text
    assert "autos" not in adjustment_line(sim.load_scenario(FLAGSHIP), 2025)  # autos are not shocked
    static = sim.run(ROOT / "scenarios" / "steel_50pct_2025.toml")
    assert "Short-run" not in run_summary(static)

"""Comparing scenarios: one more labelled level, baseline differences, and clear errors."""

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

import sim
from sim.cli import main
from sim.comparison import COMPARISON_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def runs():
    names = ["steel_tariff_with_investment", "nippon_steel_investment", "steel_232_2025", "steel_50pct_2025"]
    return {n: sim.run(SCENARIOS / f"{n}.toml") for n in names}


def test_a_comparison_is_the_results_with_an_outer_scenario_level(runs):
    both = sim.compare([runs["steel_232_2025"], runs["steel_50pct_2025"]])
    assert both.names == ["steel_232_2025", "steel_50pct_2025"]
    assert both.by_scenario.welfare.index.names == ["scenario", "year", "sector", "region"]
    for name in both.names:
        mine = both.welfare[both.welfare.scenario == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, runs[name].welfare)
    table = both.welfare_by_region(world=True)
    assert table.index.names == ["scenario", "region"]
    assert_allclose(table.loc[("steel_50pct_2025", "USA"), "net_welfare"], -3263.9, atol=0.5)


def test_a_dict_gives_labels(runs):
    both = sim.compare({"25%": runs["steel_232_2025"], "50%": runs["steel_50pct_2025"]})
    assert both.names == ["25%", "50%"] and set(both.welfare.scenario) == {"25%", "50%"}


def test_baseline_isolates_one_measure(runs):
    """Flagship minus the tariff-only path is the investment's effect; welfare differences add up exactly."""
    tariff_only = sim.run(sim.load_scenario(SCENARIOS / "steel_tariff_with_investment.toml")
                          .replace(name="tariff_only", investments=()))
    diff = sim.compare({"flagship": runs["steel_tariff_with_investment"], "tariff_only": tariff_only},
                       baseline="tariff_only")
    assert diff.names == ["flagship"] and diff.baseline == "tariff_only"
    by_region = diff.welfare_by_region(2030)
    expected = (runs["steel_tariff_with_investment"].welfare_by_region(2030)
                - tariff_only.welfare_by_region(2030))
    assert_allclose(by_region.droplevel("scenario").to_numpy(), expected.to_numpy(), atol=1e-9)
    assert_allclose(diff.welfare_by_region(2026)["net_welfare"], 0.0, atol=1e-9)  # no mill before 2028
    price = diff.by_scenario.prices.loc[("flagship", 2030, "steel", "USA"), "consumer_price_pct"]
    own = runs["steel_tariff_with_investment"].frames.prices.loc[(2030, "steel", "USA"), "consumer_price_pct"]
    ref = tariff_only.frames.prices.loc[(2030, "steel", "USA"), "consumer_price_pct"]
    assert price == pytest.approx(((1 + own / 100) / (1 + ref / 100) - 1) * 100) and price < 0  # the mill lowers it


def test_a_long_run_scenario_joins_any_year(runs):
    mixed = sim.compare([runs["steel_tariff_with_investment"], runs["steel_50pct_2025"]])
    table = mixed.welfare_by_region(2026)
    assert_allclose(table.loc[("steel_50pct_2025", "USA"), "net_welfare"],
                    runs["steel_50pct_2025"].welfare_by_region()["net_welfare"]["USA"])
    with pytest.raises(ValueError, match="year 2040 is not in the results of 'steel_tariff_with_investment'"):
        mixed.welfare_by_region(2040)


def test_comparison_table_and_write(runs, tmp_path):
    both = sim.compare([runs["steel_232_2025"], runs["steel_50pct_2025"]])
    assert list(both.table.columns) == COMPARISON_COLUMNS
    assert len(both.table) == 2 * 8 * 4
    both.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tradesim-manifest.json", "comparison.csv", "flows.csv",
                                                         "plots", "prices.csv", "run.json", "welfare.csv",
                                                         "welfare_by_owner.csv"]
    written = pd.read_csv(tmp_path / "comparison.csv")
    assert_allclose(written["net_welfare"], both.table["net_welfare"], rtol=1e-9)


def test_repr_is_short(runs):
    both = sim.compare([runs["steel_232_2025"], runs["steel_50pct_2025"]])
    assert len(repr(both)) < 500 and "World net welfare long run" in repr(both)
    assert "<table" in both._repr_html_() and len(both._repr_html_()) < 3000


def test_datasets_must_match(runs, tmp_path):
    other = sim.run(SCENARIOS / "example_steel_tariff.toml")
    with pytest.raises(sim.InputError, match="different regions: only in 'steel_232_2025': CAN, EU, KOR, MEX; "
                                             "only in 'example_steel_tariff': none"):
        sim.compare([runs["steel_232_2025"], other])


@pytest.mark.parametrize("args, message", [
    (lambda r: ([r["steel_232_2025"]],), "needs at least two results, got 1"),
    (lambda r: ([r["steel_232_2025"], r["steel_232_2025"]],), "two results are named 'steel_232_2025'"),
    (lambda r: ([r["steel_232_2025"], r["steel_50pct_2025"]], "nope"), "'nope' is not one of the scenarios"),
    (lambda r: ([r["steel_tariff_with_investment"], r["steel_50pct_2025"]], "steel_50pct_2025"),
     "has periods the baseline 'steel_50pct_2025' lacks"),
])
def test_bad_comparisons_are_clear_errors(runs, args, message):
    with pytest.raises(sim.InputError, match=message):
        sim.compare(*args(runs))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_compare_writes_and_prints_the_net_welfare_table(tmp_path):
    out = tmp_path / "cmp"
    result = invoke("compare", SCENARIOS / "steel_232_2025.toml", SCENARIOS / "steel_50pct_2025.toml", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Net welfare change, all sectors, long run (USD million):" in result.output
    line = next(li for li in result.output.splitlines() if li.startswith("steel_50pct_2025"))
    assert "-3,264" in line and "-3,892" in line  # USA and World
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["imports_USA.png", "prices.png", "welfare.png"]


def test_cli_compare_with_baseline_and_year(tmp_path):
    out = tmp_path / "cmp"
    result = invoke("compare", SCENARIOS / "steel_tariff_with_investment.toml",
                    SCENARIOS / "nippon_steel_investment.toml", "--baseline", "nippon_steel_investment",
                    "--year", "2030", "--out", out, "--no-plots")
    assert result.exit_code == 0, result.output
    assert "relative to 'nippon_steel_investment'" in result.output
    table = pd.read_csv(out / "comparison.csv")
    assert set(table.scenario) == {"steel_tariff_with_investment"}


@pytest.mark.parametrize("extra, message", [
    (["--baseline", "nope"], "baseline: 'nope' is not one of the scenarios compared"),
    (["--year", "1999"], "--year: year 1999 is not in the results"),
])
def test_cli_compare_bad_options_exit_2_and_write_nothing(tmp_path, extra, message):
    out = tmp_path / "cmp"
    result = invoke("compare", SCENARIOS / "steel_tariff_with_investment.toml",
                    SCENARIOS / "nippon_steel_investment.toml", "--out", out, *extra)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_cli_compare_different_datasets_is_bad_input(tmp_path):
    result = invoke("compare", SCENARIOS / "steel_232_2025.toml", SCENARIOS / "example_steel_tariff.toml",
                    "--out", tmp_path / "cmp")
    assert result.exit_code == 2 and "different regions" in result.output


def test_a_baseline_comparisons_flows_name_the_baseline_value():
    """Comparison.flows raised KeyError('base_value') against a baseline (issue 21, item 1's rename)."""
    fifty = sim.run(ROOT / "scenarios" / "steel_50pct_2025.toml")
    quarter = sim.run(ROOT / "scenarios" / "steel_232_2025.toml")
    flows = sim.compare([quarter, fifty], baseline="steel_232_2025").flows
    assert "baseline_value" in flows.columns and "base_value" not in flows.columns
    assert set(flows.scenario) == {"steel_50pct_2025"}
    assert "base_value" in sim.compare([quarter, fifty]).flows.columns

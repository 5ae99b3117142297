"""Tariff sweeps (sim.sweep, run_sim.py sweep): one batch, and the optimum against the closed form."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def two_region_dataset(folder: Path, eps: float) -> Path:
    """HOME buys only FOREIGN's good; FOREIGN sells only to HOME with supply elasticity ``eps``."""
    folder.mkdir()
    (folder / "dataset.toml").write_text(f'''name = "two"
title = "Two regions"
base_year = 2024
unit = "USD million"
[[region]]
code = "HOME"
[[region]]
code = "FOR"
[[sector]]
code = "good"
sigma = 4.0
eta = -2.0
eps = {eps}
''')
    (folder / "flows.csv").write_text("sector,exporter,importer,value\ngood,FOR,HOME,100\n")
    return folder


def test_the_optimal_tariff_is_the_inverse_export_supply_elasticity(tmp_path):
    """A large importer facing one exporter with supply elasticity e: t* = 1 / e (the classic optimal tariff)."""
    for eps, expected in ((4.0, 0.25), (2.0, 0.5)):
        folder = two_region_dataset(tmp_path / f"ds{eps:g}", eps)
        scenario = sim.Scenario(name="t", dataset=str(folder),
                                tariffs=(sim.Tariff(sector="good", importer="HOME", exporter="FOR", rate=0.1),))
        result = sim.sweep(scenario, tariff=1, rates=np.round(np.arange(0, 1.0001, 0.005), 3))
        assert result.optimal_rate == pytest.approx(expected, abs=0.0025 + 1e-12)
        table = result.table
        best = table.loc[table["optimal"], "net_welfare_HOME"].iloc[0]
        assert best > 0 and (table["net_welfare_HOME"] <= best).all()
        assert table.loc[0, "net_welfare_World"] == pytest.approx(0, abs=1e-9)  # free trade: no change
        assert (np.diff(table["imports"]) < 0).all()  # imports fall as the tariff rises


def test_a_sweep_is_one_batch_equal_to_single_runs():
    path = ROOT / "scenarios" / "steel_232_2025.toml"
    result = sim.sweep(path, tariff=1, rates="0:0.5:3")
    case = sim.load_scenario(path)
    for rate, row in zip(result.table["rate"], result.table.itertuples()):
        tariffs = (sim.Tariff(sector="steel", importer="USA", exporter=("JPN", "EU", "CHN", "ROW"), rate=float(rate)),
                   case.scenario.tariffs[1])
        single = sim.run(case.replace(tariffs=tariffs)).welfare_by_region()
        assert row.net_welfare_USA == pytest.approx(single.loc["USA", "net_welfare"], rel=1e-9, abs=1e-6)
    assert result.exporters == ("JPN", "CHN", "EU", "ROW")


def test_cli_sweep_writes_csv_plot_and_names_the_optimum(tmp_path):
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, ["sweep", str(ROOT / "scenarios" / "steel_232_2025.toml"), "--tariff-index",
                                       "1", "--rates", "0:0.6:13", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Optimal (welfare-maximising) rate for USA on this grid: 5% (0.05)" in result.output
    assert "the US optimum\non a 5-point grid is 5%" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Revenue-maximising rate for USA on this grid: 60% (0.6) (the end of the grid: widen it)" in result.output
    header = (out / "sweep.csv").read_text().splitlines()[0]
    assert header.startswith("rate,imports,tariff_revenue,net_welfare_USA,") and header.endswith(
        "net_welfare_World,revenue_maximum,optimal")
    assert (out / "plots" / "sweep.png").is_file()


@pytest.mark.parametrize("args, message", [
    (["--tariff-index", "3", "--rates", "0:1:3"], "--tariff-index 3: the scenario has 2 [[tariff]] block(s)"),
    (["--tariff-index", "1", "--rates", "0:x:3"], "--rates: expected START:STOP:COUNT"),
    (["--tariff-index", "1", "--rates", "0:1:3", "--year", "2030"], "--year 2030: the scenario is long-run"),
])
def test_cli_sweep_bad_input(tmp_path, args, message):
    result = CliRunner().invoke(main, ["sweep", str(ROOT / "scenarios" / "steel_232_2025.toml"), *args,
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_grid_in_percent_warns_and_is_refused_under_strict(tmp_path):
    """Issue 21 (7): 0:60:13 is a grid in percent; it used to run and report an optimum of "5"."""
    path = ROOT / "scenarios" / "steel_232_2025.toml"
    args = ["sweep", str(path), "--tariff-index", "1", "--rates", "0:60:13", "--out", str(tmp_path / "o"), "--strict"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "error: --rates: the grid goes up to 60, which means 6,000%; did you mean 0.6?" in result.output
    assert not (tmp_path / "o").exists()
    with pytest.warns(sim.errors.PlausibilityWarning, match="did you mean 0.6"):
        sim.sweep(path, tariff=1, rates=[0, 30, 60])


def test_the_table_prints_rates_in_percent_as_the_plot_does_and_the_grid_is_clean(tmp_path):
    """Issue 21 (7, 12): the printed table used shares under a plot axis in %; 0:0.6:13 held 0.049999999999999996."""
    result = CliRunner().invoke(main, ["sweep", str(ROOT / "scenarios" / "steel_232_2025.toml"), "--tariff-index",
                                       "1", "--rates", "0:0.6:13", "--out", str(tmp_path / "o"), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "rates in %, as on the plot" in result.output
    rows = result.output.split("rate_%", 1)[1].splitlines()[1:14]
    assert [row.split()[0] for row in rows] == [f"{5 * n:g}" for n in range(13)]
    assert sim.sweep(ROOT / "scenarios" / "steel_232_2025.toml", tariff=1, rates="0:0.6:13").optimal_rate == 0.05


def test_a_block_over_several_sectors_sweeps_one_uniform_rate_exactly():
    """Issue 21 (7): a block covering steel and autos gets each rate in both; each row equals a single run."""
    tariff = sim.Tariff(sector=("steel", "autos"), importer="USA", exporter="JPN", rate=0.1)
    scenario = sim.Scenario(name="both", dataset="illustrative", tariffs=(tariff,))
    result = sim.sweep(scenario, tariff=1, rates=[0.0, 0.2, 0.4])
    assert result.sectors == ("steel", "autos") and result.sector == "steel, autos"
    for row in result.table.itertuples():
        single = sim.run(dataclasses.replace(scenario, tariffs=(sim.Tariff(sector=("steel", "autos"), importer="USA",
                                                              exporter="JPN", rate=float(row.rate)),)))
        by_region = single.welfare_by_region(world=True)["net_welfare"]
        assert row.net_welfare_USA == pytest.approx(by_region["USA"], rel=1e-9, abs=1e-9)
        assert row.net_welfare_World == pytest.approx(by_region["World"], rel=1e-9, abs=1e-9)
        flows = single.frames.flows.xs(("JPN", "USA"), level=("exporter", "importer"))
        assert row.imports == pytest.approx(flows["value"].sum(), rel=1e-9)
